/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_connect.c - consoles over CONNECT (XapiForwardConnect).
 *
 * XenCenter, `xe console` and xo-server open a VM console with
 * "CONNECT /console?ref=..&session_id=.. HTTP/1.0" (xapi's own client,
 * ocaml/libs/http-lib/xmlrpc_client.ml, sends the session as a cookie).
 * httpd's core parses a CONNECT target as host:port (server/protocol.c
 * ap_parse_uri: apr_uri_parse_hostinfo) and answers 400 before any module
 * hook runs. So:
 *  1. a connection input filter, above mod_ssl's and below the HTTP
 *     protocol filters, looks at the request line (the first non-empty
 *     GETLINE read after pre_read_request) and, for xapi's CONNECT routes
 *     only (xf_connectline_match), hands the core "GET" instead of
 *     "CONNECT"; it keeps the head's raw bytes as they arrived;
 *  2. post_read_request (first of all) makes the request a CONNECT again:
 *     r->uri is /console, so <Location> and the catch-all's ProxyPass map
 *     it as any request; the raw head goes in a note;
 *  3. the proxy scheme handler claims these requests on http:// workers:
 *     its own fresh connection to the worker's address (TCP or unix
 *     socket), the PROXY line when the client came over TLS, the head as
 *     received; xapi's answer head goes back raw, as mod_proxy_connect
 *     writes its 200 straight to the connection; then httpd's proxy
 *     tunnel (ap_proxy_tunnel_run) carries the bytes both ways, first what
 *     httpd already buffered past the head, half-closes passed on.
 * A console holds its worker thread (prefork: its process) for its whole
 * life, as mod_proxy_http's upgrade tunnels do.
 *
 * TLS: when xapi ends its side, httpd's tunnel shuts the client's TCP
 * write side without a TLS close_notify (mod_ssl has no half-close), which
 * a TLS client takes for a truncation (OpenSSL 3: "unexpected eof"; it may
 * then refuse to send more). As stunnel does, the client gets close_notify
 * first: the connection's SSL comes from mod_ssl's pre_handshake hook.
 */
#include "xf_connect.h"

#include <openssl/ssl.h>

#include <apr_optional_hooks.h>
#include <apr_strings.h>

#include "http_connection.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_ssl.h"
#include "util_filter.h"

#include "xf_config.h"
#include "xf_connectline.h"
#include "xf_private.h"
#include "xf_proxyline.h"

#define XF_CONNECT_FILTER "XAPI_FORWARD_CONNECT"
#define XF_CONNECT_IN "XAPI_FORWARD_CONNECT_IN"
#define XF_CONNECT_OUT "XAPI_FORWARD_CONNECT_OUT"
/* r->notes: the raw request head of a console request */
#define XF_CONNECT_NOTE "xapi-forward-connect-head"
/* mod_proxy's name for this handler in its own log lines */
#define XF_CONNECT_FUNC "CONNECT"
/* the largest answer head accepted from xapi (its heads are ~80 bytes) */
#define XF_CONNECT_HEAD_MAX 16384

/* mod_ssl's optional hook (modules/ssl/mod_ssl_openssl.h, a header Debian
 * does not install) */
typedef int ssl_HOOK_pre_handshake_t(conn_rec *c, SSL *ssl, int is_proxy);

/* per client connection, when its server has XapiForwardConnect On */
typedef struct connect_ctx_t {
    apr_pool_t *pool;         /* cleared per request */
    apr_bucket_brigade *held; /* a request line read in pieces */
    apr_bucket_brigade *head; /* the raw head of a console request */
    int want_line;            /* the next non-empty line is a request line */
    int capturing;            /* copying the head's lines into head */
    int at_bol;               /* the last captured piece ended a line */
    int matched;              /* this request's line was let through */
    SSL *ssl;                 /* a TLS client's (mod_ssl's), or NULL */
} connect_ctx_t;

typedef struct connect_count_t {
    apr_off_t to_xapi;   /* client -> xapi bytes after the head */
    apr_off_t from_xapi; /* xapi -> client bytes after its head */
    request_rec *r;      /* the console request */
    SSL *ssl;            /* the client's TLS, NULL: plain HTTP */
    int notified;        /* close_notify was sent to the client */
} connect_count_t;

static ap_filter_rec_t *line_filter, *count_in_filter, *count_out_filter;

int xf_connect_proxyline_wanted(request_rec *r)
{
    return ap_ssl_conn_is_ssl(r->connection);
}

/* ---- 1. the connection filter --------------------------------------- */

/* last data byte of b, -1 when none; *eos: b holds an EOS */
static int last_byte(apr_bucket_brigade *b, int *eos)
{
    apr_bucket *e;
    int last = -1;

    *eos = 0;
    for (e = APR_BRIGADE_FIRST(b); e != APR_BRIGADE_SENTINEL(b);
         e = APR_BUCKET_NEXT(e)) {
        const char *data;
        apr_size_t n;

        if (APR_BUCKET_IS_EOS(e))
            *eos = 1;
        if (APR_BUCKET_IS_METADATA(e) ||
            apr_bucket_read(e, &data, &n, APR_BLOCK_READ) != APR_SUCCESS)
            continue;
        if (n)
            last = (unsigned char)data[n - 1];
    }
    return last;
}

/* copy a header line (or a piece of one) into the kept head; stop after
 * the empty line that ends the head */
static void capture(connect_ctx_t *x, apr_bucket_brigade *bb)
{
    apr_bucket *e;
    apr_size_t total = 0;
    char first[2] = {0, 0};
    int last = -1;

    for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb);
         e = APR_BUCKET_NEXT(e)) {
        const char *data;
        apr_size_t n, i;

        if (APR_BUCKET_IS_METADATA(e) ||
            apr_bucket_read(e, &data, &n, APR_BLOCK_READ) != APR_SUCCESS || !n)
            continue;
        for (i = 0; i < n && total + i < 2; i++)
            first[total + i] = data[i];
        total += n;
        last = (unsigned char)data[n - 1];
        apr_brigade_write(x->head, NULL, NULL, data, n);
    }
    if (!total)
        return;
    if (x->at_bol && last == '\n' &&
        (total == 1 || (total == 2 && first[0] == '\r')))
        x->capturing = 0;
    x->at_bol = last == '\n';
}

/* the request line: read it whole, then let it through as it is, or, for
 * xapi's CONNECT routes, as "GET ..." for the core's parser */
static apr_status_t request_line(ap_filter_t *f, connect_ctx_t *x,
                                 apr_bucket_brigade *bb, apr_read_type_e block)
{
    apr_off_t limit = f->c->base_server->limit_req_line + 2, len = 0;
    char *line;
    apr_size_t n;
    apr_status_t st;
    int last, eos;

    for (;;) {
        st = ap_get_brigade(f->next, bb, AP_MODE_GETLINE, block, 0);
        if (st != APR_SUCCESS) {
            /* keep a piece while the caller will read again */
            if (APR_BRIGADE_EMPTY(x->held) || APR_STATUS_IS_EAGAIN(st))
                return st;
            APR_BRIGADE_CONCAT(bb, x->held);
            x->want_line = 0;
            return APR_SUCCESS;
        }
        APR_BRIGADE_CONCAT(x->held, bb);
        last = last_byte(x->held, &eos);
        if (last == '\n' || eos ||
            (apr_brigade_length(x->held, 1, &len) == APR_SUCCESS &&
             len >= limit))
            break;
    }
    if (apr_brigade_pflatten(x->held, &line, &n, x->pool) != APR_SUCCESS)
        n = 0;
    if (n && (n > 2 || (line[0] != '\r' && line[0] != '\n')))
        x->want_line = 0; /* else: an empty line the core skips */
    if (!n || !xf_connectline_match(line, n)) {
        APR_BRIGADE_CONCAT(bb, x->held);
        return APR_SUCCESS;
    }
    apr_brigade_cleanup(x->held);
    apr_brigade_write(x->head, NULL, NULL, line, n);
    x->matched = 1;
    x->capturing = 1;
    x->at_bol = 1;
    /* "CONNECT /console ..." -> "GET /console ...", restored in
     * post_read_request; the heap bucket copies the bytes */
    line += XF_CONNECTLINE_METHOD_LEN - 3;
    memcpy(line, "GET", 3);
    APR_BRIGADE_INSERT_TAIL(
        bb, apr_bucket_heap_create(line, n - (XF_CONNECTLINE_METHOD_LEN - 3),
                                   NULL, f->c->bucket_alloc));
    return APR_SUCCESS;
}

static apr_status_t connect_in(ap_filter_t *f, apr_bucket_brigade *bb,
                               ap_input_mode_t mode, apr_read_type_e block,
                               apr_off_t readbytes)
{
    connect_ctx_t *x = f->ctx;
    apr_status_t st;

    if (mode != AP_MODE_GETLINE || (!x->want_line && !x->capturing))
        return ap_get_brigade(f->next, bb, mode, block, readbytes);
    if (x->want_line)
        return request_line(f, x, bb, block);
    st = ap_get_brigade(f->next, bb, mode, block, readbytes);
    if (st == APR_SUCCESS)
        capture(x, bb);
    return st;
}

static connect_ctx_t *ctx_of(conn_rec *c)
{
    return ap_get_module_config(c->conn_config, &xapi_forward_module);
}

/* the filter goes on every connection whose server (by address and port)
 * has XapiForwardConnect On; it is idle unless pre_read_request wakes it */
static int connect_pre_connection(conn_rec *c, void *csd)
{
    connect_ctx_t *x;

    if (c->master || !xf_srv_connect(xf_config_srv_get(c->base_server)))
        return OK;
    x = apr_pcalloc(c->pool, sizeof(*x));
    if (apr_pool_create(&x->pool, c->pool) != APR_SUCCESS)
        return OK;
    apr_pool_tag(x->pool, "xf_connect");
    x->held = apr_brigade_create(c->pool, c->bucket_alloc);
    x->head = apr_brigade_create(c->pool, c->bucket_alloc);
    ap_set_module_config(c->conn_config, &xapi_forward_module, x);
    ap_add_input_filter_handle(line_filter, x, NULL, c);
    return OK;
}

static int connect_pre_handshake(conn_rec *c, SSL *ssl, int is_proxy)
{
    connect_ctx_t *x = is_proxy ? NULL : ctx_of(c);

    if (x)
        x->ssl = ssl;
    return DECLINED;
}

static void connect_pre_read_request(request_rec *r, conn_rec *c)
{
    connect_ctx_t *x = ctx_of(c);

    if (!x)
        return;
    apr_brigade_cleanup(x->held);
    apr_brigade_cleanup(x->head);
    apr_pool_clear(x->pool);
    x->want_line = 1;
    x->capturing = 0;
    x->matched = 0;
}

/* ---- 2. a CONNECT again ----------------------------------------------- */

static int connect_post_read_request(request_rec *r)
{
    conn_rec *c = r->connection;
    connect_ctx_t *x = ctx_of(c);
    char *head = NULL;
    apr_size_t n = 0;

    if (!x || !x->matched || r->prev || r->main)
        return DECLINED;
    x->matched = 0;
    x->want_line = x->capturing = 0;
    if (strncmp(r->the_request, "GET ", 4) ||
        apr_brigade_pflatten(x->head, &head, &n, r->pool) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      XF_LOGNO(0820) "console over CONNECT: the request "
                                     "head was not kept");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_brigade_cleanup(x->head);
    r->method = "CONNECT";
    r->method_number = M_CONNECT;
    r->the_request = apr_pstrcat(r->pool, "CONNECT", r->the_request + 3, NULL);
    /* nothing HTTP follows a CONNECT on this connection */
    c->keepalive = AP_CONN_CLOSE;
    if (!xf_srv_connect(xf_config_srv_get(r->server))) {
        /* the name-based vhost the Host header selected does not take
         * consoles: httpd's own answer */
        ap_log_rerror(
            APLOG_MARK, APLOG_DEBUG, 0, r,
            XF_LOGNO(0821) "console over CONNECT: XapiForwardConnect is "
                           "Off in the virtual host %s: 400",
            r->server->server_hostname ? r->server->server_hostname : "-");
        return HTTP_BAD_REQUEST;
    }
    apr_table_setn(r->notes, XF_CONNECT_NOTE, apr_pstrmemdup(r->pool, head, n));
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  XF_LOGNO(0822) "console over CONNECT %s (%s)", r->uri,
                  r->protocol);
    return DECLINED;
}

/* ---- 3. the scheme handler -------------------------------------------- */

/* xapi ended its side: a TLS client gets close_notify now, after what
 * xapi sent and before the tunnel shuts the TCP write side; mod_ssl keeps
 * reading what the client still sends */
static void tls_half_close(connect_count_t *n)
{
    conn_rec *c = n->r->connection;
    apr_bucket_brigade *bb;
    int rc;

    if (!n->ssl || n->notified)
        return;
    n->notified = 1;
    rc = SSL_shutdown(n->ssl);
    bb = apr_brigade_create(n->r->pool, c->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_flush_create(c->bucket_alloc));
    ap_pass_brigade(c->output_filters, bb);
    apr_brigade_cleanup(bb);
    ap_log_rerror(APLOG_MARK, APLOG_TRACE2, 0, n->r,
                  "console over CONNECT: xapi closed, close_notify to the "
                  "client (%d)",
                  rc);
}

static apr_status_t count_in(ap_filter_t *f, apr_bucket_brigade *bb,
                             ap_input_mode_t mode, apr_read_type_e block,
                             apr_off_t readbytes)
{
    connect_count_t *n = f->ctx;
    apr_off_t len = 0;
    apr_status_t st = ap_get_brigade(f->next, bb, mode, block, readbytes);

    if (st == APR_SUCCESS && apr_brigade_length(bb, 0, &len) == APR_SUCCESS &&
        len > 0)
        n->from_xapi += len;
    if (st == APR_SUCCESS && len > 0 && !APR_BRIGADE_EMPTY(bb) &&
        APR_BUCKET_IS_EOS(APR_BRIGADE_LAST(bb))) {
        /* the last bytes with the EOF: they go first, the next read finds
         * the EOF again */
        apr_bucket_delete(APR_BRIGADE_LAST(bb));
    }
    else if (APR_STATUS_IS_EOF(st) ||
             (st == APR_SUCCESS && !APR_BRIGADE_EMPTY(bb) &&
              APR_BUCKET_IS_EOS(APR_BRIGADE_LAST(bb))))
        tls_half_close(n);
    return st;
}

static apr_status_t count_out(ap_filter_t *f, apr_bucket_brigade *bb)
{
    connect_count_t *n = f->ctx;
    apr_off_t len = 0;

    if (apr_brigade_length(bb, 0, &len) == APR_SUCCESS && len > 0)
        n->to_xapi += len;
    return ap_pass_brigade(f->next, bb);
}

static apr_interval_time_t io_timeout(request_rec *r, proxy_worker *w,
                                      proxy_server_conf *conf)
{
    if (w->s->timeout_set)
        return w->s->timeout;
    if (conf->timeout_set)
        return conf->timeout;
    return r->server->timeout;
}

/* the PROXY line (TLS clients) and the head as the client sent it */
static int send_head(request_rec *r, conn_rec *b, const char *head)
{
    conn_rec *c = r->connection;
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, b->bucket_alloc);
    char line[XF_PROXYLINE_MAX];
    apr_status_t st;
    int n;

    if (xf_connect_proxyline_wanted(r)) {
        n = xf_proxyline_format(line, c->client_ip, c->client_addr->port,
                                c->local_ip, c->local_addr->port);
        if (n < 0) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          XF_LOGNO(0823) "console over CONNECT: no PROXY "
                                         "line for client %s, local %s",
                          c->client_ip, c->local_ip);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        apr_brigade_write(bb, NULL, NULL, line, (apr_size_t)n);
    }
    apr_brigade_puts(bb, NULL, NULL, head);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_flush_create(b->bucket_alloc));
    st = ap_pass_brigade(b->output_filters, bb);
    apr_brigade_cleanup(bb);
    if (st != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, st, r,
                      XF_LOGNO(0824) "console over CONNECT: cannot send the "
                                     "request to xapi");
        return HTTP_BAD_GATEWAY;
    }
    return OK;
}

/* xapi's answer head, raw, into *phead; its status into *pstatus */
static int read_head(char **phead, apr_size_t *plen, int *pstatus,
                     request_rec *r, conn_rec *b)
{
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, b->bucket_alloc);
    char *buf = apr_palloc(r->pool, XF_CONNECT_HEAD_MAX + 1);
    apr_size_t total = 0, bol = 0;
    apr_status_t st;

    for (;;) {
        apr_off_t len = 0;
        apr_size_t n;

        st = ap_get_brigade(b->input_filters, bb, AP_MODE_GETLINE,
                            APR_BLOCK_READ, 0);
        if (st == APR_SUCCESS && APR_BRIGADE_EMPTY(bb))
            st = APR_EOF;
        if (st == APR_SUCCESS)
            st = apr_brigade_length(bb, 1, &len);
        if (st != APR_SUCCESS) {
            ap_log_rerror(
                APLOG_MARK, APLOG_ERR, st, r,
                XF_LOGNO(0825) "console over CONNECT: no answer head from "
                               "xapi (%" APR_SIZE_T_FMT " bytes of it)",
                total);
            return APR_STATUS_IS_TIMEUP(st) ? HTTP_GATEWAY_TIME_OUT
                                            : HTTP_BAD_GATEWAY;
        }
        if (len > (apr_off_t)(XF_CONNECT_HEAD_MAX - total)) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          XF_LOGNO(0826) "console over CONNECT: xapi's "
                                         "answer head exceeds %d bytes",
                          XF_CONNECT_HEAD_MAX);
            return HTTP_BAD_GATEWAY;
        }
        n = (apr_size_t)len;
        apr_brigade_flatten(bb, buf + total, &n);
        apr_brigade_cleanup(bb);
        total += n;
        if (!total || buf[total - 1] != '\n')
            continue; /* a line in pieces */
        if (bol && (total - bol == 1 || (total - bol == 2 && buf[bol] == '\r')))
            break; /* the empty line */
        if (!bol && (*pstatus = xf_connectline_status(buf, total)) < 0) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          XF_LOGNO(0827) "console over CONNECT: xapi's "
                                         "answer is not HTTP");
            return HTTP_BAD_GATEWAY;
        }
        bol = total;
    }
    buf[total] = '\0';
    *phead = buf;
    *plen = total;
    return OK;
}

/* a refusal (not 2xx): its body, framed by Content-Length or xapi's
 * close, then the end */
static void copy_refusal(request_rec *r, conn_rec *b, const char *head,
                         apr_size_t hlen, connect_count_t *n)
{
    conn_rec *c = r->connection;
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, c->bucket_alloc);
    apr_off_t left = xf_connectline_content_length(head, hlen);
    apr_status_t st = APR_SUCCESS;

    while (left != 0) {
        apr_off_t want = left > 0 && left < 8192 ? left : 8192, len = 0;

        st = ap_get_brigade(b->input_filters, bb, AP_MODE_READBYTES,
                            APR_BLOCK_READ, want);
        if (st != APR_SUCCESS || APR_BRIGADE_EMPTY(bb))
            break;
        apr_brigade_length(bb, 1, &len);
        n->from_xapi += len;
        if (left > 0)
            left -= len;
        st = ap_pass_brigade(c->output_filters, bb);
        apr_brigade_cleanup(bb);
        if (st != APR_SUCCESS)
            break;
    }
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_flush_create(c->bucket_alloc));
    ap_pass_brigade(c->output_filters, bb);
    apr_brigade_cleanup(bb);
}

/* xapi's head to the client, then the tunnel (2xx) or the refusal's body */
static void relay(request_rec *r, conn_rec *b, const char *head,
                  apr_size_t hlen, int status, apr_interval_time_t idle)
{
    conn_rec *c = r->connection;
    connect_count_t *n = apr_pcalloc(r->pool, sizeof(*n));
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, c->bucket_alloc);
    connect_ctx_t *x = ctx_of(c);
    proxy_tunnel_rec *tunnel = NULL;
    const char *how = "refused";
    apr_status_t st;
    int rc = OK;

    n->r = r;
    n->ssl = x && ap_ssl_conn_is_ssl(c) ? x->ssl : NULL;
    r->status = status;
    r->sent_bodyct = 1;
    /* connection filters only, as ap_proxy_tunnel_create() leaves them:
     * nothing HTTP of httpd's own follows xapi's head (a refusal too) */
    r->output_filters = r->proto_output_filters = c->output_filters;
    r->input_filters = r->proto_input_filters = c->input_filters;
    apr_brigade_write(bb, NULL, NULL, head, hlen);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_flush_create(c->bucket_alloc));
    st = ap_pass_brigade(c->output_filters, bb);
    apr_brigade_cleanup(bb);
    if (st != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, st, r,
                      XF_LOGNO(0828) "console over CONNECT: the client left "
                                     "before xapi's answer");
        c->aborted = 1;
        return;
    }
    if (!ap_is_HTTP_SUCCESS(status)) {
        copy_refusal(r, b, head, hlen, n);
    }
    else {
        ap_add_input_filter_handle(count_in_filter, n, NULL, b);
        ap_add_output_filter_handle(count_out_filter, n, NULL, b);
        st = ap_proxy_tunnel_create(&tunnel, r, b, XF_CONNECT_FUNC);
        if (st != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, st, r,
                          XF_LOGNO(0829) "console over CONNECT: cannot "
                                         "create httpd's proxy tunnel");
            how = "failed";
        }
        else {
            tunnel->timeout = idle;
            rc = ap_proxy_tunnel_run(tunnel);
            how = rc == OK                      ? "closed by both sides"
                  : rc == HTTP_GATEWAY_TIME_OUT ? "idle for longer than its "
                                                  "limit"
                                                : "failed";
        }
    }
    r->bytes_sent = n->from_xapi;
    apr_table_setn(r->subprocess_env, "XAPI_FORWARD_TUNNEL_IN",
                   apr_off_t_toa(r->pool, n->to_xapi));
    apr_table_setn(r->subprocess_env, "XAPI_FORWARD_TUNNEL_OUT",
                   apr_off_t_toa(r->pool, n->from_xapi));
    ap_log_rerror(
        APLOG_MARK, rc == OK ? APLOG_DEBUG : APLOG_INFO, 0, r,
        XF_LOGNO(0830) "console over CONNECT %s: %d, %s: %" APR_OFF_T_FMT
                       " bytes to xapi, %" APR_OFF_T_FMT " bytes from it",
        r->uri, status, how, n->to_xapi, n->from_xapi);
    c->keepalive = AP_CONN_CLOSE;
}

int xf_connect_handler(request_rec *r, proxy_worker *worker,
                       proxy_server_conf *conf, char *url,
                       const char *proxyname, apr_port_t proxyport)
{
    const char *head = apr_table_get(r->notes, XF_CONNECT_NOTE);
    const xf_dir_conf_t *d;
    proxy_conn_rec *backend = NULL;
    apr_uri_t *uri;
    char portstr[32], *ahead = NULL;
    apr_size_t alen = 0;
    apr_interval_time_t idle;
    int status, astatus = 0;

    if (!head || r->method_number != M_CONNECT ||
        strncasecmp(url, "http://", 7))
        return DECLINED;
    d = xf_config_dir_get(r);
    idle = xf_dir_tunnel_timeout(d);
    if (idle < 0)
        idle = io_timeout(r, worker, conf);
    apr_table_setn(r->subprocess_env, "XAPI_FORWARD", "connect");

    status = ap_proxy_acquire_connection(XF_CONNECT_FUNC, &backend, worker,
                                         r->server);
    if (status != OK) {
        backend = NULL;
        goto cleanup;
    }
    /* a connection of its own: never one kept alive for another request
     * (its PROXY line may name another client), never kept afterwards */
    backend->close = 1;
    uri = apr_pcalloc(r->pool, sizeof(*uri));
    /* no ProxyRemote: xapi is the worker's address itself */
    status =
        ap_proxy_determine_connection(r->pool, r, conf, worker, backend, uri,
                                      &url, NULL, 0, portstr, sizeof(portstr));
    backend->close = 1;
    if (status != OK)
        goto cleanup;
    if (ap_proxy_connect_backend(XF_CONNECT_FUNC, backend, worker, r->server)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      XF_LOGNO(0831) "console over CONNECT: cannot connect "
                                     "to xapi at %s",
                      worker->s->name);
        status = HTTP_SERVICE_UNAVAILABLE;
        goto cleanup;
    }
    status = ap_proxy_connection_create_ex(XF_CONNECT_FUNC, backend, r);
    if (status != OK)
        goto cleanup;
    status = send_head(r, backend->connection, head);
    if (status == OK)
        status = read_head(&ahead, &alen, &astatus, r, backend->connection);
    if (status != OK)
        goto cleanup;

    /* From here the client hears xapi: no HTTP answer of httpd's own. */
    relay(r, backend->connection, ahead, alen, astatus, idle);
    status = DONE;

cleanup:
    if (backend) {
        backend->close = 1;
        ap_proxy_release_connection(XF_CONNECT_FUNC, backend, r->server);
    }
    return status;
}

void xf_connect_register(apr_pool_t *p)
{
    static const char *const http_succ[] = {"mod_proxy_http.c", NULL};
    static const char *const ssl_succ[] = {"mod_ssl.c", NULL};

    line_filter = ap_register_input_filter(XF_CONNECT_FILTER, connect_in, NULL,
                                           AP_FTYPE_CONNECTION);
    count_in_filter = ap_register_input_filter(XF_CONNECT_IN, count_in, NULL,
                                               AP_FTYPE_CONNECTION);
    count_out_filter = ap_register_output_filter(XF_CONNECT_OUT, count_out,
                                                 NULL, AP_FTYPE_CONNECTION);
    /* before mod_ssl's: its pre_handshake hook finds the context */
    ap_hook_pre_connection(connect_pre_connection, NULL, ssl_succ,
                           APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ssl, pre_handshake, connect_pre_handshake, NULL, NULL,
                      APR_HOOK_MIDDLE);
    ap_hook_pre_read_request(connect_pre_read_request, NULL, NULL,
                             APR_HOOK_MIDDLE);
    /* before mod_ssl's Host checks and every other module: they see the
     * CONNECT as it is */
    ap_hook_post_read_request(connect_post_read_request, NULL, NULL,
                              APR_HOOK_REALLY_FIRST);
    /* mod_proxy_http's handler is APR_HOOK_FIRST too: run before it */
    proxy_hook_scheme_handler(xf_connect_handler, NULL, http_succ,
                              APR_HOOK_FIRST);
}
