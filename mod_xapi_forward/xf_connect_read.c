/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_connect_read.c - consoles over CONNECT, the request side: the
 * connection filter that lets xapi's origin-form CONNECT request lines
 * through httpd's core, and the hooks around it (pre_connection,
 * pre_read_request, post_read_request).
 * xf_connect.c tunnels the requests it lets through.
 */
#include "xf_connect.h"

#include <apr_strings.h>

#include "http_connection.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"

#include "xf_config.h"
#include "xf_connectline.h"
#include "xf_private.h"

#define XF_CONNECT_FILTER "XAPI_FORWARD_CONNECT"
/* r->notes: the raw request head of a console request */
#define XF_CONNECT_NOTE "xapi-forward-connect-head"

/* per client connection, when its server has XapiForwardConnect On */
typedef struct connect_ctx_t {
    apr_pool_t *pool;         /* cleared per request */
    apr_bucket_brigade *held; /* a request line read in pieces */
    apr_bucket_brigade *head; /* the raw head of a console request */
    int want_line;            /* the next non-empty line is a request line */
    int capturing;            /* copying the head's lines into head */
    int at_bol;               /* the last captured piece ended a line */
    int matched;              /* this request's line was let through */
} connect_ctx_t;

static ap_filter_rec_t *line_filter;

const char *xf_connect_head(const request_rec *r)
{
    return r->method_number == M_CONNECT
               ? apr_table_get(r->notes, XF_CONNECT_NOTE)
               : NULL;
}

int xf_connect_is_console(const request_rec *r)
{
    return xf_connect_head(r) != NULL;
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

    /* client connections only: a backend connection (mod_proxy's, to
     * xapi or a daemon) has the request's server as its base_server */
    if (c->outgoing || c->master ||
        !xf_srv_connect(xf_config_srv_get(c->base_server)))
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

void xf_connect_read_register(apr_pool_t *p)
{
    line_filter = ap_register_input_filter(XF_CONNECT_FILTER, connect_in, NULL,
                                           AP_FTYPE_CONNECTION);
    ap_hook_pre_connection(connect_pre_connection, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_pre_read_request(connect_pre_read_request, NULL, NULL,
                             APR_HOOK_MIDDLE);
    /* before mod_ssl's Host checks and every other module: they see the
     * CONNECT as it is */
    ap_hook_post_read_request(connect_post_read_request, NULL, NULL,
                              APR_HOOK_REALLY_FIRST);
}
