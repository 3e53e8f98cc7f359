/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_relay_resp.c - relay mode, the daemon's response towards the client:
 * the HTTP/1.x head parsed (xf_http.c) into r, the body streamed through
 * r->output_filters as it comes (so TLS, HTTP/2, keep-alive and the
 * access log work), one 64 KiB buffer in flight.
 */
#include "xf_relay_int.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <apr_strings.h>

#include "http_log.h"
#include "http_protocol.h"
#include "mod_proxy.h"
#include "util_filter.h"

#include "xf_private.h"

/* Hop-by-hop fields that are not named in Connection: (those, and
 * Connection and Proxy-Connection, go with httpd's
 * ap_proxy_clear_connection(), which takes any table). Content-Length and
 * Transfer-Encoding are httpd's to set for the client. */
static int is_hop_by_hop(const char *name)
{
    static const char *const hop[] = {
        "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding",
        "TE",         "Trailer",    "Upgrade",          "Content-Length",
        NULL};
    int i;

    for (i = 0; hop[i]; i++)
        if (!strcasecmp(name, hop[i]))
            return 1;
    return 0;
}

/* Status line and headers of the daemon's response into r. */
static void take_head(request_rec *r, const xf_http_resp_t *resp)
{
    APR_OPTIONAL_FN_TYPE(ap_proxy_clear_connection) *clear_connection =
        APR_RETRIEVE_OPTIONAL_FN(ap_proxy_clear_connection);
    apr_table_t *h = apr_table_copy(r->pool, xf_http_resp_headers(resp));
    const apr_array_header_t *arr;
    const apr_table_entry_t *e;
    const char *reason = xf_http_resp_reason(resp);
    int i;

    /* mod_proxy registers it; without it only the fixed list goes */
    if (clear_connection)
        clear_connection(r, h);
    arr = apr_table_elts(h);
    e = (const apr_table_entry_t *)arr->elts;

    r->status = xf_http_resp_status(resp);
    r->status_line =
        *reason ? apr_psprintf(r->pool, "%d %s", r->status, reason) : NULL;
    apr_table_clear(r->headers_out);
    for (i = 0; i < arr->nelts; i++) {
        if (!e[i].key || is_hop_by_hop(e[i].key))
            continue;
        if (!strcasecmp(e[i].key, "Content-Type"))
            ap_set_content_type(r, apr_pstrdup(r->pool, e[i].val));
        else
            apr_table_addn(r->headers_out, e[i].key, e[i].val);
    }
    if (xf_http_resp_framing(resp) == XF_BODY_LENGTH)
        ap_set_content_length(r, xf_http_resp_length(resp));
    else if (r->header_only) {
        /* HEAD: the length of the body a GET would get, if the daemon
         * said (httpd keeps it when no body follows) */
        const char *cl =
            apr_table_get(xf_http_resp_headers(resp), "Content-Length");
        if (cl && *cl && strspn(cl, "0123456789") == strlen(cl))
            apr_table_setn(r->headers_out, "Content-Length", cl);
    }
}

/* Give up before a head went out: the handler answers status. */
static void resp_fail(xf_relay_t *rl, int status)
{
    rl->status = status;
    rl->resp = XF_RESP_FAILED;
}

apr_status_t xf_relay_resp_pass(xf_relay_t *rl, int flush)
{
    apr_status_t st;

    if (flush)
        APR_BRIGADE_INSERT_TAIL(rl->obb, apr_bucket_flush_create(rl->ba));
    if (APR_BRIGADE_EMPTY(rl->obb))
        return APR_SUCCESS;
    st = ap_pass_brigade(rl->r->output_filters, rl->obb);
    apr_brigade_cleanup(rl->obb);
    rl->unflushed = !flush;
    if (st != APR_SUCCESS) {
        ap_log_rerror(
            APLOG_MARK, APLOG_DEBUG, st, rl->r,
            XF_LOGNO(
                0111) "client went away during the response (%" APR_OFF_T_FMT
                      " body bytes relayed)",
            rl->total);
        rl->r->connection->aborted = 1;
        rl->resp = XF_RESP_BROKEN;
        xf_relay_body_stop(rl);
    }
    return st;
}

/* The response is complete: EOS, and out at once (the request body may
 * still be flowing, and the client may be waiting for this answer). */
static void resp_finish(xf_relay_t *rl)
{
    conn_rec *c = rl->r->connection;
    apr_bucket_brigade *bb;

    APR_BRIGADE_INSERT_TAIL(rl->obb, apr_bucket_eos_create(rl->ba));
    if (xf_relay_resp_pass(rl, 0) != APR_SUCCESS)
        return;
    rl->resp = XF_RESP_DONE;
    rl->unflushed = 0; /* nothing more goes through r's filters */
    ap_log_rerror(
        APLOG_MARK, APLOG_DEBUG, 0, rl->r,
        XF_LOGNO(0109) "relayed the daemon's %d response (%" APR_OFF_T_FMT
                       " body bytes)",
        rl->r->status, rl->total);
    if (rl->req == XF_REQ_READ || rl->req == XF_REQ_WRITE) {
        bb = apr_brigade_create(rl->r->pool, rl->ba);
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_flush_create(rl->ba));
        ap_pass_brigade(c->output_filters, bb);
        apr_brigade_destroy(bb);
    }
}

void xf_relay_resp_broke(xf_relay_t *rl)
{
    ap_proxy_backend_broke(rl->r, rl->obb);
    ap_pass_brigade(rl->r->output_filters, rl->obb);
    apr_brigade_cleanup(rl->obb);
    rl->resp = XF_RESP_BROKEN;
    xf_relay_body_stop(rl);
}

/* Body bytes of the response in buf (owned by hb when not NULL) to obb.
 * APR_EOF: the body is complete; APR_EGENERAL: it is malformed (logged). */
static apr_status_t resp_body(xf_relay_t *rl, char *buf, apr_size_t n,
                              apr_bucket *hb)
{
    apr_size_t off = 0, used = 0;
    const char *reason = NULL;

    while (off < n) {
        const char *data = NULL;
        apr_size_t dlen = 0;
        apr_status_t st = xf_http_resp_body(rl->parse, buf + off, n - off,
                                            &used, &data, &dlen, &reason);
        off += used;
        if (dlen) {
            apr_bucket *b;
            if (hb) {
                apr_bucket_copy(hb, &b);
                b->start = data - buf;
                b->length = dlen;
            }
            else
                b = apr_bucket_transient_create(data, dlen, rl->ba);
            APR_BRIGADE_INSERT_TAIL(rl->obb, b);
            rl->total += (apr_off_t)dlen;
        }
        if (st == APR_EOF)
            return APR_EOF;
        if (st == APR_EGENERAL) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, rl->r,
                          XF_LOGNO(0106) "response body from the daemon broken "
                                         "after %" APR_OFF_T_FMT " bytes: %s",
                          rl->total, reason);
            return APR_EGENERAL;
        }
        if (st == APR_INCOMPLETE)
            break;
    }
    return APR_SUCCESS;
}

/* The daemon closed its write side (or reset: what it sent is read
 * first). */
static void resp_eof(xf_relay_t *rl)
{
    rl->eof = 1;
    if (rl->resp == XF_RESP_HEAD) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, rl->r,
                      XF_LOGNO(0102) "daemon closed the connection before a "
                                     "complete response head");
        resp_fail(rl, HTTP_BAD_GATEWAY);
    }
    else if (xf_http_resp_eof(rl->parse) == APR_SUCCESS)
        resp_finish(rl);
    else {
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, 0, rl->r,
            XF_LOGNO(0113) "daemon closed the connection after %" APR_OFF_T_FMT
                           " body bytes: response truncated",
            rl->total);
        xf_relay_resp_broke(rl);
    }
}

/* n bytes of the head in buf: parse it; once complete, into r, and what
 * follows it in buf is body. XF_RESP_HEAD -> XF_RESP_BODY (or FAILED). */
static apr_status_t resp_head(xf_relay_t *rl, char *buf, apr_size_t n)
{
    request_rec *r = rl->r;
    const char *reason = NULL;
    apr_size_t used = 0;
    apr_status_t st;

    st = xf_http_resp_head(rl->parse, buf, n, &used, &reason);
    if (st == APR_INCOMPLETE)
        return APR_INCOMPLETE;
    if (st != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      XF_LOGNO(0103) "bad response head from the daemon: %s",
                      reason);
        resp_fail(rl, HTTP_BAD_GATEWAY);
        return st;
    }
    if (xf_http_resp_status(rl->parse) == 101) {
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, 0, r,
            XF_LOGNO(0108) "daemon switched protocols (101): not supported "
                           "in relay mode (XapiForwardRelay tunnel passes "
                           "raw bytes)");
        resp_fail(rl, HTTP_BAD_GATEWAY);
        return APR_EGENERAL;
    }
    rl->resp = XF_RESP_BODY;
    if (rl->req == XF_REQ_READ || rl->req == XF_REQ_WRITE)
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      XF_LOGNO(0120) "daemon answered %d after %" APR_OFF_T_FMT
                                     " request body bytes: relaying the "
                                     "response while the body keeps flowing",
                      xf_http_resp_status(rl->parse), rl->sent);
    take_head(r, rl->parse);
    st = resp_body(rl, buf + used, n - used, NULL);
    if (st == APR_SUCCESS && xf_http_resp_framing(rl->parse) == XF_BODY_NONE)
        st = APR_EOF;
    return st;
}

void xf_relay_resp_read(xf_relay_t *rl)
{
    apr_bucket *hb = NULL;
    char *buf;
    apr_size_t size;
    ssize_t n;
    apr_status_t st;

    if (rl->resp == XF_RESP_HEAD) {
        buf = rl->hbuf;
        size = XF_HEAD_BUFSIZE;
    }
    else {
        buf = apr_bucket_alloc(XF_RELAY_BUFSIZE, rl->ba);
        hb = apr_bucket_heap_create(buf, XF_RELAY_BUFSIZE, apr_bucket_free,
                                    rl->ba);
        size = XF_RELAY_BUFSIZE;
    }
    do {
        n = recv(rl->fd, buf, size, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    rl->more = n == (ssize_t)size;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (hb)
            apr_bucket_destroy(hb);
        return;
    }
    if (n < 0 && errno != ECONNRESET) {
        st = APR_FROM_OS_ERROR(errno);
        if (hb)
            apr_bucket_destroy(hb);
        if (rl->resp == XF_RESP_HEAD) {
            ap_log_rerror(
                APLOG_MARK, APLOG_ERR, st, rl->r,
                XF_LOGNO(0105) "reading the daemon's response failed");
            resp_fail(rl, HTTP_BAD_GATEWAY);
        }
        else {
            ap_log_rerror(
                APLOG_MARK, APLOG_ERR, st, rl->r,
                XF_LOGNO(0112) "reading the daemon's response body failed "
                               "after %" APR_OFF_T_FMT " body bytes",
                rl->total);
            xf_relay_resp_broke(rl);
        }
        return;
    }
    if (n <= 0) {
        if (hb)
            apr_bucket_destroy(hb);
        resp_eof(rl);
        return;
    }

    if (rl->resp == XF_RESP_HEAD) {
        st = resp_head(rl, buf, (apr_size_t)n);
        if (st == APR_INCOMPLETE || rl->resp == XF_RESP_FAILED)
            return;
    }
    else {
        st = resp_body(rl, buf, (apr_size_t)n, hb);
        apr_bucket_destroy(hb);
    }
    if (st == APR_EOF)
        resp_finish(rl);
    else if (st == APR_EGENERAL)
        xf_relay_resp_broke(rl);
    else
        /* the head goes out at once: a client uploading a body may wait
         * for it; the body is flushed before the relay waits */
        xf_relay_resp_pass(rl, rl->total == 0);
}

int xf_relay_resp_refuses_body(const xf_relay_t *rl)
{
    const char *conn;

    if (rl->r->status < 300)
        return 0;
    if (rl->eof)
        return 1;
    conn = apr_table_get(xf_http_resp_headers(rl->parse), "Connection");
    if (conn && ap_find_token(rl->r->pool, conn, "close"))
        return 1;
    return !strcmp(xf_http_resp_version(rl->parse), "1.0") &&
           !(conn && ap_find_token(rl->r->pool, conn, "keep-alive"));
}
