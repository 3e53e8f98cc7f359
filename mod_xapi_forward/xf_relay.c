/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_relay.c - relay mode: the daemon gets one end of a
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

enum { B_SENDING = 0, B_DONE, B_STOPPED };

typedef struct relay_t {
    request_rec *r;
    int fd;         /* our end of the socketpair: blocking, as the
                     * daemon's end must be; we use MSG_DONTWAIT */
    int timeout_ms; /* I/O timeout toward the daemon
                     * (xf_fdpass_timeout_ms) */
    apr_bucket_alloc_t *ba;

    /* the request body, toward the daemon */
    apr_bucket_brigade *ibb; /* what HTTP_IN gave and is not sent yet */
    int chunked;             /* chunk it again (the envelope says chunked) */
    int body;                /* B_SENDING, B_DONE (all sent), B_STOPPED (the
                              * daemon stopped reading, or the client failed) */
    int seen_eos;            /* HTTP_IN gave its EOS */
    int last_chunk;          /* the final "0\r\n\r\n" is queued */
    struct iovec iov[3];     /* bytes being sent: chunk size, data, CRLF */
    int niov;                /* iov entries still to send (0: none) */
    char chead[24];          /* chunk size line */
    apr_off_t sent;          /* body bytes the daemon has taken */

    /* the daemon's response, toward the client */
    apr_bucket_brigade *obb;
    xf_http_resp_t *resp; /* parsed as it comes */
    char *hbuf;           /* XF_HEAD_BUFSIZE bytes: the last read of the head */
    int head;             /* 0: incomplete, 1: complete, -1: malformed,
                           * -2: the daemon closed first */
    const char *reason;   /* head == -1: what was wrong */
    int resp_eof;         /* the daemon closed its write side */
    int done;             /* response finished: EOS passed, or gave up */
    int unflushed;        /* passed to the client since the last FLUSH */
    apr_off_t total;      /* response body bytes relayed */
    int status;           /* handler result once decided (OK until then) */
} relay_t;

/* ---- the request body ------------------------------------------------ */

/* Queue the next bytes of the request body (iov), reading the client as
 * HTTP_IN delivers (de-chunked, 100-continue answered). APR_EAGAIN when a
 * non-blocking read found nothing. */
static apr_status_t body_fill(relay_t *rl, apr_read_type_e block)
{
    request_rec *r = rl->r;
    apr_status_t st;

    while (rl->niov == 0 && rl->body == B_SENDING) {
        apr_bucket *b = APR_BRIGADE_FIRST(rl->ibb);
        const char *data;
        apr_size_t dlen;

        if (b == APR_BRIGADE_SENTINEL(rl->ibb)) {
            if (rl->seen_eos && rl->chunked && !rl->last_chunk) {
                rl->last_chunk = 1;
                rl->iov[0].iov_base = (void *)"0\r\n\r\n";
                rl->iov[0].iov_len = 5;
                rl->niov = 1;
                break;
            }
            if (rl->seen_eos) {
                rl->body = B_DONE;
                break;
            }
            st = ap_get_brigade(r->input_filters, rl->ibb, AP_MODE_READBYTES,
                                block, XF_RELAY_BUFSIZE);
            if (st == APR_SUCCESS)
                continue;
            if (APR_STATUS_IS_EAGAIN(st) && block == APR_NONBLOCK_READ)
                return APR_EAGAIN;
            return st;
        }
        if (APR_BUCKET_IS_EOS(b))
            rl->seen_eos = 1;
        if (APR_BUCKET_IS_METADATA(b)) {
            apr_bucket_delete(b);
            continue;
        }
        st = apr_bucket_read(b, &data, &dlen, APR_BLOCK_READ);
        if (st != APR_SUCCESS)
            return st;
        if (!dlen) {
            apr_bucket_delete(b);
            continue;
        }
        /* the bucket stays in ibb until the daemon has taken it */
        if (rl->chunked) {
            int hl = apr_snprintf(rl->chead, sizeof(rl->chead),
                                  "%" APR_UINT64_T_HEX_FMT "\r\n",
                                  (apr_uint64_t)dlen);
            rl->iov[0].iov_base = rl->chead;
            rl->iov[0].iov_len = (apr_size_t)hl;
            rl->iov[1].iov_base = (void *)data;
            rl->iov[1].iov_len = dlen;
            rl->iov[2].iov_base = (void *)"\r\n";
            rl->iov[2].iov_len = 2;
            rl->niov = 3;
        }
        else {
            rl->iov[0].iov_base = (void *)data;
            rl->iov[0].iov_len = dlen;
            rl->niov = 1;
        }
    }
    return APR_SUCCESS;
}

/* The daemon will take no more of the body (it closed its read side, or
 * the client's body broke): drop what is queued. */
static void body_stop(relay_t *rl)
{
    rl->body = B_STOPPED;
    rl->niov = 0;
    apr_brigade_cleanup(rl->ibb);
}

/* The daemon takes no more of the body although the request goes on
 * (why: what it did); the client's rest is discarded by httpd. */
static void body_refused(relay_t *rl, const char *why)
{
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, rl->r,
                  XF_LOGNO(0110) "daemon %s after %" APR_OFF_T_FMT
                                 " request body bytes: "
                                 "the rest is not sent",
                  why, rl->sent);
    body_stop(rl);
}

/* Send what is queued, without blocking. APR_EAGAIN when the daemon's
 * buffer is full. */
static apr_status_t body_send(relay_t *rl)
{
    struct msghdr mh;
    ssize_t n;
    int i;

    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = rl->iov;
    mh.msg_iovlen = (size_t)rl->niov;
    do {
        n = sendmsg(rl->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return APR_EAGAIN;
        if (errno == EPIPE || errno == ECONNRESET) {
            /* what mod_proxy_http sees from a backend that stops reading:
             * the rest of the body is not the daemon's any more */
            body_refused(rl, "closed its end");
            return APR_SUCCESS;
        }
        return APR_FROM_OS_ERROR(errno);
    }
    /* drop what went out; the iov entries stay packed at the front */
    for (i = 0; i < rl->niov && n > 0; i++) {
        apr_size_t k = (apr_size_t)n < rl->iov[i].iov_len ? (apr_size_t)n
                                                          : rl->iov[i].iov_len;
        rl->iov[i].iov_base = (char *)rl->iov[i].iov_base + k;
        rl->iov[i].iov_len -= k;
        n -= (ssize_t)k;
    }
    while (rl->niov > 0 && rl->iov[0].iov_len == 0) {
        memmove(rl->iov, rl->iov + 1, sizeof(rl->iov[0]) * (rl->niov - 1));
        rl->niov--;
    }
    if (rl->niov == 0) {
        apr_bucket *b = APR_BRIGADE_FIRST(rl->ibb);
        if (b != APR_BRIGADE_SENTINEL(rl->ibb) && !rl->last_chunk) {
            rl->sent += (apr_off_t)b->length;
            apr_bucket_delete(b);
        }
    }
    return APR_SUCCESS;
}

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

/* ---- the response ----------------------------------------------------- */

/* Pass what obb holds to the client (with a FLUSH when asked). */
static apr_status_t pass_out(relay_t *rl, int flush)
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
        rl->done = 1;
        body_stop(rl);
    }
    return st;
}

/* The response is complete: EOS, and out at once (the request body may
 * still be flowing, and the client may be waiting for this answer). */
static void resp_finish(relay_t *rl)
{
    conn_rec *c = rl->r->connection;
    apr_bucket_brigade *bb;

    APR_BRIGADE_INSERT_TAIL(rl->obb, apr_bucket_eos_create(rl->ba));
    if (pass_out(rl, 0) != APR_SUCCESS)
        return;
    rl->done = 1;
    ap_log_rerror(
        APLOG_MARK, APLOG_DEBUG, 0, rl->r,
        XF_LOGNO(0109) "relayed the daemon's %d response (%" APR_OFF_T_FMT
                       " body bytes)",
        rl->r->status, rl->total);
    if (rl->body == B_SENDING) {
        bb = apr_brigade_create(rl->r->pool, rl->ba);
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_flush_create(rl->ba));
        ap_pass_brigade(c->output_filters, bb);
        apr_brigade_destroy(bb);
    }
}

/* The response broke after its head went out: the client sees an
 * aborted response. */
static void resp_broke(relay_t *rl)
{
    ap_proxy_backend_broke(rl->r, rl->obb);
    ap_pass_brigade(rl->r->output_filters, rl->obb);
    apr_brigade_cleanup(rl->obb);
    rl->done = 1;
    body_stop(rl);
}

/* Body bytes of the response in buf (owned by hb when not NULL) to obb. */
static apr_status_t resp_body(relay_t *rl, char *buf, apr_size_t n,
                              apr_bucket *hb)
{
    apr_size_t off = 0, used = 0;
    const char *reason = NULL;

    while (off < n) {
        const char *data = NULL;
        apr_size_t dlen = 0;
        apr_status_t st = xf_http_resp_body(rl->resp, buf + off, n - off, &used,
                                            &data, &dlen, &reason);
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

/* Read what the daemon has (it polled readable) and move it on: the head
 * into r, the body to the client. */
static void resp_read(relay_t *rl)
{
    request_rec *r = rl->r;
    apr_bucket *hb = NULL;
    char *buf;
    apr_size_t size, used = 0;
    ssize_t n;
    apr_status_t st;

    if (rl->head == 0) {
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
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (hb)
            apr_bucket_destroy(hb);
        return;
    }
    if (n < 0 && errno != ECONNRESET) {
        st = APR_FROM_OS_ERROR(errno);
        if (hb)
            apr_bucket_destroy(hb);
        if (rl->head == 0) {
            ap_log_rerror(
                APLOG_MARK, APLOG_ERR, st, r,
                XF_LOGNO(0105) "reading the daemon's response failed");
            rl->status = HTTP_BAD_GATEWAY;
            rl->done = 1;
        }
        else {
            ap_log_rerror(
                APLOG_MARK, APLOG_ERR, st, r,
                XF_LOGNO(0112) "reading the daemon's response body failed "
                               "after %" APR_OFF_T_FMT " body bytes",
                rl->total);
            resp_broke(rl);
        }
        return;
    }
    if (n <= 0) { /* EOF (or reset: what was sent is read first) */
        rl->resp_eof = 1;
        if (hb)
            apr_bucket_destroy(hb);
        if (rl->head == 0) {
            ap_log_rerror(
                APLOG_MARK, APLOG_ERR, 0, r,
                XF_LOGNO(0102) "daemon closed the connection before a complete "
                               "response head");
            rl->status = HTTP_BAD_GATEWAY;
            rl->done = 1;
        }
        else if (xf_http_resp_eof(rl->resp) == APR_SUCCESS)
            resp_finish(rl);
        else {
            ap_log_rerror(
                APLOG_MARK, APLOG_ERR, 0, r,
                XF_LOGNO(
                    0113) "daemon closed the connection after %" APR_OFF_T_FMT
                          " body bytes: response truncated",
                rl->total);
            resp_broke(rl);
        }
        return;
    }

    if (rl->head == 0) {
        st =
            xf_http_resp_head(rl->resp, buf, (apr_size_t)n, &used, &rl->reason);
        if (st == APR_INCOMPLETE)
            return;
        if (st != APR_SUCCESS) {
            ap_log_rerror(
                APLOG_MARK, APLOG_ERR, 0, r,
                XF_LOGNO(0103) "bad response head from the daemon: %s",
                rl->reason);
            rl->status = HTTP_BAD_GATEWAY;
            rl->done = 1;
            return;
        }
        if (xf_http_resp_status(rl->resp) == 101) {
            ap_log_rerror(
                APLOG_MARK, APLOG_ERR, 0, r,
                XF_LOGNO(0108) "daemon switched protocols (101): not supported "
                               "in relay mode (XapiForwardRelay tunnel passes "
                               "raw bytes)");
            rl->status = HTTP_BAD_GATEWAY;
            rl->done = 1;
            return;
        }
        rl->head = 1;
        if (rl->body == B_SENDING)
            ap_log_rerror(
                APLOG_MARK, APLOG_DEBUG, 0, r,
                XF_LOGNO(0120) "daemon answered %d after %" APR_OFF_T_FMT
                               " request body bytes: relaying the response "
                               "while the body keeps flowing",
                xf_http_resp_status(rl->resp), rl->sent);
        take_head(r, rl->resp);
        st = resp_body(rl, buf + used, (apr_size_t)n - used, NULL);
        if (st == APR_SUCCESS && xf_http_resp_framing(rl->resp) == XF_BODY_NONE)
            st = APR_EOF;
    }
    else {
        st = resp_body(rl, buf, (apr_size_t)n, hb);
        apr_bucket_destroy(hb);
    }
    if (st == APR_EOF)
        resp_finish(rl);
    else if (st == APR_EGENERAL)
        resp_broke(rl);
    else
        /* the head goes out at once: a client uploading a body may wait
         * for it; the body is flushed before the relay waits */
        pass_out(rl, rl->total == 0);
}

/* Did the daemon refuse the rest of the body with a complete answer?
 * (curl's rule: an error status on a connection the server closes.) */
static int refused(const relay_t *rl)
{
    const char *conn;

    if (rl->status != OK || rl->r->status < 300)
        return 0;
    if (rl->resp_eof)
        return 1;
    conn = apr_table_get(xf_http_resp_headers(rl->resp), "Connection");
    if (conn && ap_find_token(rl->r->pool, conn, "close"))
        return 1;
    return !strcmp(xf_http_resp_version(rl->resp), "1.0") &&
           !(conn && ap_find_token(rl->r->pool, conn, "keep-alive"));
}

/* ---- the loop ----------------------------------------------------------- */

/* One loop for both directions: the request body goes to the daemon for
 * as long as the daemon takes it, and whatever the daemon answers goes to
 * the client as it comes, also while the body is still flowing (xcp-rrdd
 * answers PUT /rrd before reading the body). The body stops when the
 * request ends, when the daemon stops reading (EPIPE: closed its end or
 * its read side), or when a complete error answer says the connection
 * closes. */
static int relay_loop(relay_t *rl)
{
    request_rec *r = rl->r;
    apr_status_t st;

    for (;;) {
        struct pollfd pfd;
        int rc;

        if (rl->done && rl->body == B_SENDING && rl->status == OK &&
            refused(rl))
            body_refused(rl, "refused the request with a complete answer");
        if (rl->done && (rl->body != B_SENDING || rl->status != OK))
            break;
        if (rl->body == B_SENDING && rl->niov == 0) {
            st = body_fill(rl, APR_NONBLOCK_READ);
            if (st == APR_EAGAIN) {
                /* nothing from the client now: serve the daemon's answer
                 * if it has one, else wait for the client */
                pfd.fd = rl->fd;
                pfd.events = POLLIN;
                if (!rl->done && !rl->resp_eof && poll(&pfd, 1, 0) > 0)
                    goto daemon;
                if (rl->unflushed && pass_out(rl, 1) != APR_SUCCESS)
                    continue;
                st = body_fill(rl, APR_BLOCK_READ);
            }
            if (st != APR_SUCCESS) {
                ap_log_rerror(
                    APLOG_MARK, APLOG_INFO, st, r,
                    XF_LOGNO(0107) "reading the request body from the client "
                                   "failed; closing the daemon's end");
                body_stop(rl);
                r->connection->keepalive = AP_CONN_CLOSE;
                if (rl->head == 0) {
                    rl->status =
                        ap_map_http_request_error(st, HTTP_BAD_REQUEST);
                    break;
                }
                shutdown(rl->fd, SHUT_WR);
            }
            continue;
        }
    daemon:
        pfd.fd = rl->fd;
        pfd.events =
            (rl->done || rl->resp_eof ? 0 : POLLIN) | (rl->niov ? POLLOUT : 0);
        pfd.revents = 0;
        if (!pfd.events)
            break; /* cannot happen: nothing left to wait for */
        if (rl->unflushed && pass_out(rl, 1) != APR_SUCCESS)
            continue;
        do {
            /* 0 (Timeout 0) has always meant no limit here */
            rc = poll(&pfd, 1, rl->timeout_ms > 0 ? rl->timeout_ms : -1);
        } while (rc < 0 && errno == EINTR);
        if (rc == 0) {
            if (rl->head == 0) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_TIMEUP, r,
                              XF_LOGNO(0104) "timed out %s the daemon",
                              rl->niov ? "writing the request body to"
                                       : "waiting for the response of");
                rl->status = HTTP_GATEWAY_TIME_OUT;
                break;
            }
            if (rl->done) {
                /* answered, but it does not take the rest of the body */
                body_refused(rl, "answered and stopped reading");
                break;
            }
            ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_TIMEUP, r,
                          XF_LOGNO(0114) "timed out %s after %" APR_OFF_T_FMT
                                         " response body bytes",
                          rl->niov ? "writing the request body"
                                   : "reading the daemon's response body",
                          rl->total);
            resp_broke(rl);
            break;
        }
        if (rc < 0) {
            st = APR_FROM_OS_ERROR(errno);
            ap_log_rerror(
                APLOG_MARK, APLOG_ERR, st, r,
                XF_LOGNO(0115) "poll() on the daemon's socket failed");
            if (rl->head == 0) {
                rl->status = HTTP_BAD_GATEWAY;
                break;
            }
            resp_broke(rl);
            break;
        }
        if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) && !rl->done)
            resp_read(rl);
        if ((pfd.revents & (POLLOUT | POLLERR | POLLHUP)) && rl->niov &&
            rl->body == B_SENDING) {
            st = body_send(rl);
            if (st != APR_SUCCESS && st != APR_EAGAIN) {
                ap_log_rerror(
                    APLOG_MARK, APLOG_ERR, st, r,
                    XF_LOGNO(0116) "writing the request body to the daemon "
                                   "failed");
                if (rl->head == 0) {
                    rl->status = HTTP_BAD_GATEWAY;
                    break;
                }
                body_stop(rl);
            }
        }
    }
    /* a rest of the body the daemon did not take is read and dropped by
     * httpd (ap_discard_request_body) unless the status closes the
     * connection, as with mod_proxy_http */
    return rl->status;
}

int xf_relay_pair(int pair[2], request_rec *r)
{
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_FROM_OS_ERROR(errno), r,
                      XF_LOGNO(0100) "socketpair() failed");
        pair[0] = pair[1] = -1;
        /* out of descriptors: as temporary as a missing daemon */
        return HTTP_SERVICE_UNAVAILABLE;
    }
    xf_fdpass_own(pair[0], r->pool);
    xf_fdpass_own(pair[1], r->pool);
    return OK;
}

/* Pass the daemon's end of the pair with the message, and close it here. */
int xf_relay_pass_pair(int pair[2], request_rec *r, int uds,
                       const char *payload, apr_size_t len,
                       apr_interval_time_t timeout)
{
    const char *reason = NULL;
    apr_status_t st;

    st = xf_fdpass_send(&reason, uds, pair[1], payload, len,
                        xf_fdpass_timeout_ms(timeout), r->pool);
    xf_fdpass_close(pair[1], r->pool);
    pair[1] = -1;
    if (st != APR_SUCCESS) {
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, st, r,
            XF_LOGNO(0101) "passing the relay socket to the daemon failed: %s",
            reason);
        return st == APR_TIMEUP ? HTTP_GATEWAY_TIME_OUT : HTTP_BAD_GATEWAY;
    }
    return OK;
}

int xf_relay_run(int pair[2], request_rec *r, int uds, const char *payload,
                 apr_size_t len, apr_interval_time_t timeout)
{
    relay_t rl;
    const char *te;
    int fd = pair[0], status;

    status = xf_relay_pass_pair(pair, r, uds, payload, len, timeout);
    if (status != OK)
        return status;
    apr_table_setn(r->subprocess_env, "XAPI_FORWARD", "relay");
    xf_stats_handed(r);

    memset(&rl, 0, sizeof(rl));
    rl.r = r;
    rl.fd = fd;
    rl.timeout_ms = xf_fdpass_timeout_ms(timeout);
    rl.ba = r->connection->bucket_alloc;
    rl.ibb = apr_brigade_create(r->pool, rl.ba);
    rl.obb = apr_brigade_create(r->pool, rl.ba);
    xf_http_resp_create(&rl.resp, r->header_only, NULL, r->pool);
    rl.hbuf = apr_palloc(r->pool, XF_HEAD_BUFSIZE);
    rl.status = OK;
    if (ap_request_has_body(r)) {
        te = apr_table_get(r->headers_in, "Transfer-Encoding");
        rl.chunked = te && ap_find_last_token(r->pool, te, "chunked");
        rl.body = B_SENDING;
    }
    else
        rl.body = B_DONE;
    status = relay_loop(&rl);
    apr_brigade_cleanup(rl.ibb);
    return status;
}
