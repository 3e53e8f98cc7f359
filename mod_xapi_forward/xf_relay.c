/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_relay.c - relay mode (SPEC 4): the daemon gets one end of a
 * socketpair with the same envelope; httpd writes the request body into the
 * other end (HTTP_IN has already served buffered bytes, de-chunked and sent
 * 100-continue), parses the daemon's HTTP/1.x response (xf_http.c) and
 * streams it through r->output_filters, so TLS, HTTP/2, keep-alive and the
 * access log work. Memory is bounded: one 64 KiB buffer in flight.
 */
#include "xf_relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include <apr_buckets.h>
#include <apr_strings.h>

#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_proxy.h"
#include "util_filter.h"

#include "xf_fdpass.h"
#include "xf_http.h"
#include "xf_private.h"
#include "xf_stats.h"

#define XF_RELAY_BUFSIZE 65536
#define XF_HEAD_BUFSIZE 8192

typedef struct relay_t {
    request_rec *r;
    int fd;           /* our end of the socketpair: blocking, as the
                       * daemon's end must be; we use MSG_DONTWAIT */
    int timeout_ms;   /* I/O timeout toward the daemon */
    apr_bucket_brigade *bb;
    xf_http_resp_t *resp; /* the daemon's response, parsed as it comes */
    char *hbuf;       /* XF_HEAD_BUFSIZE bytes: the last read of the head */
    apr_size_t hn;    /* bytes in hbuf */
    apr_size_t hoff;  /* where the body starts in hbuf (head complete) */
    int head;         /* 0: incomplete, 1: complete, -1: malformed,
                       * -2: the daemon closed first */
    const char *reason; /* head == -1: what was wrong */
    int client_gone;  /* passing the response to the client failed */
} relay_t;

int xf_relay_available(void)
{
    return 1;
}

static apr_status_t close_fd_cleanup(void *data)
{
    close((int)(intptr_t)data);
    return APR_SUCCESS;
}

/* Wait for events on the daemon's end; APR_TIMEUP after the timeout. */
static apr_status_t wait_fd(const relay_t *rl, short events, short *prevents)
{
    struct pollfd pfd;
    int rc;

    pfd.fd = rl->fd;
    pfd.events = events;
    pfd.revents = 0;
    do {
        rc = poll(&pfd, 1, rl->timeout_ms > 0 ? rl->timeout_ms : -1);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return APR_FROM_OS_ERROR(errno);
    if (rc == 0)
        return APR_TIMEUP;
    *prevents = pfd.revents;
    return APR_SUCCESS;
}

static apr_status_t read_some(relay_t *rl, char *buf, apr_size_t size,
                              apr_size_t *pn, int flush_first, int wait);

/* Read the daemon's answer so far into the head parser. Interim answers
 * (100 Continue) are consumed; rl->head says when the final head is
 * complete, malformed, or will never come. */
static apr_status_t head_feed(relay_t *rl, int wait)
{
    apr_size_t n = 0, used = 0;
    apr_status_t st;

    st = read_some(rl, rl->hbuf, XF_HEAD_BUFSIZE, &n, 0, wait);
    if (st == APR_EOF) {
        rl->head = -2;
        return APR_SUCCESS;
    }
    if (st != APR_SUCCESS)
        return st;
    rl->hn = n;
    st = xf_http_resp_head(rl->resp, rl->hbuf, n, &used, &rl->reason);
    if (st == APR_EGENERAL)
        rl->head = -1;
    else if (st == APR_SUCCESS) {
        rl->head = 1;
        rl->hoff = used;
    }
    return APR_SUCCESS;
}

/* Write toward the daemon. *pearly is set when the daemon has answered
 * (a final response head, not a 100 Continue) or closed before it has
 * taken everything: the caller then stops sending the body and relays the
 * response. */
static apr_status_t write_all(relay_t *rl, const char *buf, apr_size_t len,
                              int *pearly)
{
    while (len > 0 && !*pearly) {
        ssize_t n = send(rl->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        short rev = 0;
        apr_status_t st;

        if (n >= 0) {
            buf += n;
            len -= (apr_size_t)n;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EPIPE || errno == ECONNRESET) {
            *pearly = 1;
            break;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return APR_FROM_OS_ERROR(errno);
        st = wait_fd(rl, POLLOUT | POLLIN, &rev);
        if (st != APR_SUCCESS)
            return st;
        if (rev & (POLLIN | POLLHUP | POLLERR)) {
            st = head_feed(rl, 0);
            if (st != APR_SUCCESS && st != APR_EAGAIN)
                return st;
            if (rl->head != 0)
                *pearly = 1;
        }
    }
    return APR_SUCCESS;
}

/* Copy the request body (as HTTP_IN delivers it) into the daemon's end,
 * chunked again when the envelope says so. */
static int send_body(relay_t *rl, int chunked)
{
    request_rec *r = rl->r;
    apr_bucket_brigade *bb = rl->bb;
    int early = 0, seen_eos = 0;
    apr_status_t st;

    while (!seen_eos && !early) {
        apr_bucket *b;

        st = ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES,
                            APR_BLOCK_READ, XF_RELAY_BUFSIZE);
        if (st != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, st, r, XF_LOGNO(0107)
                          "reading the request body from the client failed; "
                          "closing the daemon's end");
            apr_brigade_cleanup(bb);
            return ap_map_http_request_error(st, HTTP_BAD_REQUEST);
        }
        for (b = APR_BRIGADE_FIRST(bb);
             b != APR_BRIGADE_SENTINEL(bb) && !early;
             b = APR_BUCKET_NEXT(b)) {
            const char *data;
            apr_size_t dlen;

            if (APR_BUCKET_IS_EOS(b)) {
                seen_eos = 1;
                break;
            }
            if (APR_BUCKET_IS_METADATA(b))
                continue;
            st = apr_bucket_read(b, &data, &dlen, APR_BLOCK_READ);
            if (st == APR_SUCCESS && dlen && chunked) {
                char hex[24];
                int hl = apr_snprintf(hex, sizeof(hex), "%" APR_UINT64_T_HEX_FMT
                                      "\r\n", (apr_uint64_t)dlen);
                st = write_all(rl, hex, (apr_size_t)hl, &early);
                if (st == APR_SUCCESS)
                    st = write_all(rl, data, dlen, &early);
                if (st == APR_SUCCESS)
                    st = write_all(rl, "\r\n", 2, &early);
            }
            else if (st == APR_SUCCESS && dlen)
                st = write_all(rl, data, dlen, &early);
            if (st != APR_SUCCESS) {
                apr_brigade_cleanup(bb);
                if (st == APR_TIMEUP) {
                    ap_log_rerror(APLOG_MARK, APLOG_ERR, st, r,
                                  XF_LOGNO(0104) "timed out writing the "
                                  "request body to the daemon");
                    return HTTP_GATEWAY_TIME_OUT;
                }
                ap_log_rerror(APLOG_MARK, APLOG_ERR, st, r, XF_LOGNO(0105)
                              "writing the request body to the daemon "
                              "failed");
                return HTTP_BAD_GATEWAY;
            }
        }
        apr_brigade_cleanup(bb);
    }
    if (early)
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, XF_LOGNO(0110)
                      "daemon answered before taking the whole request "
                      "body");
    else if (chunked) {
        st = write_all(rl, "0\r\n\r\n", 5, &early);
        if (st != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, st, r, XF_LOGNO(0105)
                          "writing the request body to the daemon failed");
            return st == APR_TIMEUP ? HTTP_GATEWAY_TIME_OUT
                                    : HTTP_BAD_GATEWAY;
        }
    }
    return OK;
}

/* Read what the daemon has; when nothing is there, APR_EAGAIN, or (wait)
 * wait up to the timeout, passing a FLUSH down first (flush_first) so that
 * what was relayed so far reaches the client while we wait. */
static apr_status_t read_some(relay_t *rl, char *buf, apr_size_t size,
                              apr_size_t *pn, int flush_first, int wait)
{
    for (;;) {
        ssize_t n = recv(rl->fd, buf, size, MSG_DONTWAIT);
        short rev = 0;
        apr_status_t st;

        if (n > 0) {
            *pn = (apr_size_t)n;
            return APR_SUCCESS;
        }
        if (n == 0)
            return APR_EOF;
        if (errno == EINTR)
            continue;
        if (errno == ECONNRESET)
            return APR_EOF;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return APR_FROM_OS_ERROR(errno);
        if (!wait)
            return APR_EAGAIN;
        if (flush_first) {
            request_rec *r = rl->r;
            APR_BRIGADE_INSERT_TAIL(rl->bb, apr_bucket_flush_create(
                                                r->connection->bucket_alloc));
            st = ap_pass_brigade(r->output_filters, rl->bb);
            apr_brigade_cleanup(rl->bb);
            if (st != APR_SUCCESS) {
                rl->client_gone = 1;
                return st;
            }
            flush_first = 0;
        }
        st = wait_fd(rl, POLLIN, &rev);
        if (st != APR_SUCCESS)
            return st;
    }
}

static int is_hop_by_hop(const char *name, const char *connection)
{
    static const char *const hop[] = {
        "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding",
        "TE", "Trailer", "Upgrade", "Content-Length", NULL};
    int i;

    for (i = 0; hop[i]; i++)
        if (!strcasecmp(name, hop[i]))
            return 1;
    if (connection) {
        /* fields named in Connection: are hop-by-hop too */
        const char *p = ap_strcasestr(connection, name);
        apr_size_t l = strlen(name);
        while (p) {
            if ((p == connection || p[-1] == ',' || p[-1] == ' ')
                && (p[l] == '\0' || p[l] == ',' || p[l] == ' '))
                return 1;
            p = ap_strcasestr(p + 1, name);
        }
    }
    return 0;
}

/* Status line and headers of the daemon's response into r. */
static void take_head(request_rec *r, const xf_http_resp_t *resp)
{
    const apr_array_header_t *arr =
        apr_table_elts(xf_http_resp_headers(resp));
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    const char *conn = apr_table_get(xf_http_resp_headers(resp),
                                     "Connection");
    const char *reason = xf_http_resp_reason(resp);
    int i;

    r->status = xf_http_resp_status(resp);
    r->status_line = *reason ? apr_psprintf(r->pool, "%d %s", r->status,
                                            reason)
                             : NULL;
    apr_table_clear(r->headers_out);
    for (i = 0; i < arr->nelts; i++) {
        if (!e[i].key || is_hop_by_hop(e[i].key, conn))
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
        const char *cl = apr_table_get(xf_http_resp_headers(resp),
                                       "Content-Length");
        if (cl && *cl && strspn(cl, "0123456789") == strlen(cl))
            apr_table_setn(r->headers_out, "Content-Length", cl);
    }
}

/* Read, parse and pass on the daemon's response. */
static int relay_response(relay_t *rl)
{
    request_rec *r = rl->r;
    apr_bucket_alloc_t *ba = r->connection->bucket_alloc;
    xf_http_resp_t *resp;
    const char *reason = NULL;
    apr_size_t n = 0, used = 0, off = 0;
    apr_off_t total = 0;
    char *buf;
    apr_bucket *hb = NULL;
    apr_status_t st;

    while (rl->head == 0) {
        st = head_feed(rl, 1);
        if (st == APR_TIMEUP) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, st, r, XF_LOGNO(0104)
                          "timed out waiting for the daemon's response");
            return HTTP_GATEWAY_TIME_OUT;
        }
        if (st != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, st, r, XF_LOGNO(0105)
                          "reading the daemon's response failed");
            return HTTP_BAD_GATEWAY;
        }
    }
    if (rl->head == -2) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, XF_LOGNO(0102)
                      "daemon closed the connection before a complete "
                      "response head");
        return HTTP_BAD_GATEWAY;
    }
    if (rl->head == -1) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, XF_LOGNO(0103)
                      "bad response head from the daemon: %s", rl->reason);
        return HTTP_BAD_GATEWAY;
    }
    resp = rl->resp;
    buf = rl->hbuf;
    n = rl->hn;
    if (xf_http_resp_status(resp) == 101) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, XF_LOGNO(0108)
                      "daemon switched protocols (101): not supported in "
                      "relay mode");
        return HTTP_BAD_GATEWAY;
    }
    take_head(r, resp);
    off = rl->hoff;

    /* the body: zero-copy spans of heap buckets owning each read buffer */
    for (;;) {
        const char *data = NULL;
        apr_size_t dlen = 0;

        while (off < n) {
            st = xf_http_resp_body(resp, buf + off, n - off, &used, &data,
                                   &dlen, &reason);
            off += used;
            if (dlen) {
                apr_bucket *b;
                if (hb) {
                    apr_bucket_copy(hb, &b);
                    b->start = data - buf;
                    b->length = dlen;
                }
                else
                    b = apr_bucket_transient_create(data, dlen, ba);
                APR_BRIGADE_INSERT_TAIL(rl->bb, b);
                total += (apr_off_t)dlen;
            }
            if (st == APR_EOF)
                goto done;
            if (st == APR_EGENERAL) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, XF_LOGNO(0106)
                              "response body from the daemon broken after "
                              "%" APR_OFF_T_FMT " bytes: %s", total, reason);
                goto broke;
            }
            if (st == APR_INCOMPLETE)
                break;
        }
        if (hb) {
            apr_bucket_destroy(hb);
            hb = NULL;
        }
        if (xf_http_resp_framing(resp) == XF_BODY_NONE)
            goto done;
        if (!APR_BRIGADE_EMPTY(rl->bb)) {
            st = ap_pass_brigade(r->output_filters, rl->bb);
            apr_brigade_cleanup(rl->bb);
            if (st != APR_SUCCESS) {
                rl->client_gone = 1;
                goto client_gone;
            }
        }
        buf = apr_bucket_alloc(XF_RELAY_BUFSIZE, ba);
        hb = apr_bucket_heap_create(buf, XF_RELAY_BUFSIZE, apr_bucket_free,
                                    ba);
        st = read_some(rl, buf, XF_RELAY_BUFSIZE, &n, 1, 1);
        off = 0;
        if (st == APR_EOF) {
            apr_bucket_destroy(hb);
            hb = NULL;
            if (xf_http_resp_eof(resp) == APR_SUCCESS)
                goto done;
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, XF_LOGNO(0106)
                          "daemon closed the connection after %"
                          APR_OFF_T_FMT " body bytes: response truncated",
                          total);
            goto broke;
        }
        if (st != APR_SUCCESS && rl->client_gone) {
            apr_bucket_destroy(hb);
            hb = NULL;
            goto client_gone;
        }
        if (st != APR_SUCCESS) {
            apr_bucket_destroy(hb);
            hb = NULL;
            ap_log_rerror(APLOG_MARK, APLOG_ERR, st, r, XF_LOGNO(0106)
                          "%s after %" APR_OFF_T_FMT " body bytes",
                          st == APR_TIMEUP ? "timed out reading the "
                                             "daemon's response body"
                                           : "reading the daemon's "
                                             "response body failed",
                          total);
            goto broke;
        }
    }

done:
    if (hb)
        apr_bucket_destroy(hb);
    APR_BRIGADE_INSERT_TAIL(rl->bb, apr_bucket_eos_create(ba));
    st = ap_pass_brigade(r->output_filters, rl->bb);
    apr_brigade_cleanup(rl->bb);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, st, r, XF_LOGNO(0109)
                  "relayed the daemon's %d response (%" APR_OFF_T_FMT
                  " body bytes)", r->status, total);
    return OK;

client_gone:
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, st, r, XF_LOGNO(0111)
                  "client went away during the response (%" APR_OFF_T_FMT
                  " body bytes relayed)", total);
    apr_brigade_cleanup(rl->bb);
    r->connection->aborted = 1;
    return OK;

broke:
    if (hb)
        apr_bucket_destroy(hb);
    ap_proxy_backend_broke(r, rl->bb);
    ap_pass_brigade(r->output_filters, rl->bb);
    apr_brigade_cleanup(rl->bb);
    return OK;
}

int xf_relay_run(request_rec *r, int uds, const char *payload,
                 apr_size_t len, apr_interval_time_t timeout)
{
    relay_t rl;
    const char *reason = NULL, *te;
    int sv[2], status;
    apr_status_t st;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_FROM_OS_ERROR(errno), r,
                      XF_LOGNO(0100) "socketpair() failed");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(r->pool, (void *)(intptr_t)sv[0],
                              close_fd_cleanup, apr_pool_cleanup_null);
    st = xf_fdpass_send(&reason, uds, sv[1], payload, len,
                        (int)(timeout / 1000), r->pool);
    close(sv[1]);
    if (st != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, st, r, XF_LOGNO(0101)
                      "passing the relay socket to the daemon failed: %s",
                      reason);
        return st == APR_TIMEUP ? HTTP_GATEWAY_TIME_OUT : HTTP_BAD_GATEWAY;
    }
    apr_table_setn(r->subprocess_env, "XAPI_FORWARD", "relay");
    xf_stats_handed(r);

    rl.r = r;
    rl.fd = sv[0];
    rl.timeout_ms = (int)(timeout / 1000);
    rl.bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    xf_http_resp_create(&rl.resp, r->header_only, NULL, r->pool);
    rl.hbuf = apr_palloc(r->pool, XF_HEAD_BUFSIZE);
    rl.hn = rl.hoff = 0;
    rl.head = 0;
    rl.reason = NULL;
    rl.client_gone = 0;
    if (ap_request_has_body(r)) {
        te = apr_table_get(r->headers_in, "Transfer-Encoding");
        status = send_body(&rl, te && ap_find_last_token(r->pool, te,
                                                         "chunked"));
        if (status != OK) {
            apr_pool_cleanup_run(r->pool, (void *)(intptr_t)sv[0],
                                 close_fd_cleanup);
            return status;
        }
    }
    status = relay_response(&rl);
    apr_pool_cleanup_run(r->pool, (void *)(intptr_t)sv[0], close_fd_cleanup);
    return status;
}
