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
 *  1. a connection input filter (xf_connect_read.c), above mod_ssl's
 *     and below the HTTP protocol filters, looks at the request line (the
 *     first non-empty GETLINE read after pre_read_request) and, for
 *     xapi's CONNECT routes only (xf_connectline_match), hands the core
 *     "GET" instead of "CONNECT"; it keeps the head's raw bytes;
 *  2. post_read_request (xf_connect_read.c, first of all) makes the
 *     request a CONNECT again: r->uri is /console, so <Location> and the
 *     catch-all's ProxyPass map it as any request;
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
 * first (xf_tunnel.c's byte count does it, for every tunnel of ours).
 */
#include "xf_connect.h"

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
#include "xf_proxy.h"
#include "xf_proxyproto.h"
#include "xf_tunnel.h"

/* mod_proxy's name for this handler in its own log lines */
#define XF_CONNECT_FUNC "CONNECT"
/* the largest answer head accepted from xapi (its heads are ~80 bytes) */
#define XF_CONNECT_HEAD_MAX 16384

/* ---- 3. the scheme handler -------------------------------------------- */

/* the PROXY line (line: NULL for none) and the head as the client sent
 * it */
static int send_head(request_rec *r, conn_rec *b, const char *line,
                     apr_size_t len, const char *head)
{
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, b->bucket_alloc);
    apr_status_t st;

    if (line)
        apr_brigade_write(bb, NULL, NULL, line, len);
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
                         apr_size_t hlen, xf_tunnel_count_t *n)
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
        n->from_backend += len;
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
    xf_tunnel_count_t *n = xf_tunnel_count_new(r);
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, c->bucket_alloc);
    proxy_tunnel_rec *tunnel = NULL;
    const char *how = "refused";
    apr_status_t st;
    int rc = OK;

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
        /* the idle limit holds for a refusal's body too */
        apr_socket_timeout_set(ap_get_conn_socket(b), idle);
        copy_refusal(r, b, head, hlen, n);
    }
    else {
        xf_tunnel_count_add(n, b);
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
    r->bytes_sent = n->from_backend;
    apr_table_setn(r->subprocess_env, "XAPI_FORWARD_TUNNEL_IN",
                   apr_off_t_toa(r->pool, n->to_backend));
    apr_table_setn(r->subprocess_env, "XAPI_FORWARD_TUNNEL_OUT",
                   apr_off_t_toa(r->pool, n->from_backend));
    ap_log_rerror(
        APLOG_MARK, rc == OK ? APLOG_DEBUG : APLOG_INFO, 0, r,
        XF_LOGNO(0830) "console over CONNECT %s: %d, %s: %" APR_OFF_T_FMT
                       " bytes to xapi, %" APR_OFF_T_FMT " bytes from it",
        r->uri, status, how, n->to_backend, n->from_backend);
    c->keepalive = AP_CONN_CLOSE;
}

int xf_connect_handler(request_rec *r, proxy_worker *worker,
                       proxy_server_conf *conf, char *url,
                       const char *proxyname, apr_port_t proxyport)
{
    const char *head = xf_connect_head(r);
    const xf_dir_conf_t *d;
    proxy_conn_rec *backend = NULL;
    apr_uri_t *uri;
    char portstr[32], *ahead = NULL;
    apr_size_t alen = 0;
    apr_interval_time_t idle;
    const char *line;
    apr_size_t line_len = 0;
    int status, astatus = 0;

    if (!head || strncasecmp(url, "http://", 7))
        return DECLINED;
    /* The PROXY line is XapiForwardProxyProtocol's, decided as for every
     * request of the catch-all; the connection is ours, so we write it.
     * Taken before the connection is made: its pre_connection hooks then
     * add no line of their own. */
    line = xf_proxyproto_take(r, &line_len);
    d = xf_config_dir_get(r);
    idle = xf_dir_tunnel_timeout(d);
    if (idle < 0)
        idle = xf_proxy_io_timeout(r, worker, conf);
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
    status = send_head(r, backend->connection, line, line_len, head);
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

    xf_connect_read_register(p);
    /* mod_proxy_http's handler is APR_HOOK_FIRST too: run before it */
    proxy_hook_scheme_handler(xf_connect_handler, NULL, http_succ,
                              APR_HOOK_FIRST);
}
