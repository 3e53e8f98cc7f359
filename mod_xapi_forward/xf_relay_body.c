/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_relay_body.c - relay mode, the request body towards the daemon: read
 * as HTTP_IN delivers it (de-chunked, 100-continue answered), chunked
 * again when the envelope says so, written to the socketpair without
 * blocking. One HTTP_IN bucket in flight at a time.
 */
#include "xf_relay_int.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <apr_strings.h>

#include "http_log.h"
#include "util_filter.h"

#include "xf_private.h"

/* Queue one data bucket of the body (it stays in ibb until sent). */
static void queue_data(xf_relay_t *rl, const char *data, apr_size_t dlen)
{
    if (rl->chunked) {
        int hl =
            apr_snprintf(rl->chead, sizeof(rl->chead),
                         "%" APR_UINT64_T_HEX_FMT "\r\n", (apr_uint64_t)dlen);
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
    rl->req = XF_REQ_WRITE;
}

apr_status_t xf_relay_body_fill(xf_relay_t *rl, apr_read_type_e block)
{
    apr_status_t st;

    while (rl->req == XF_REQ_READ) {
        apr_bucket *b = APR_BRIGADE_FIRST(rl->ibb);
        const char *data;
        apr_size_t dlen;

        if (b == APR_BRIGADE_SENTINEL(rl->ibb)) {
            if (rl->seen_eos && rl->chunked && !rl->last_chunk) {
                rl->last_chunk = 1;
                rl->iov[0].iov_base = (void *)"0\r\n\r\n";
                rl->iov[0].iov_len = 5;
                rl->niov = 1;
                rl->req = XF_REQ_WRITE;
                break;
            }
            if (rl->seen_eos) {
                rl->req = XF_REQ_DONE;
                break;
            }
            st = ap_get_brigade(rl->r->input_filters, rl->ibb,
                                AP_MODE_READBYTES, block, XF_RELAY_BUFSIZE);
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
        queue_data(rl, data, dlen);
    }
    return APR_SUCCESS;
}

void xf_relay_body_stop(xf_relay_t *rl)
{
    rl->req = XF_REQ_STOPPED;
    rl->niov = 0;
    apr_brigade_cleanup(rl->ibb);
}

void xf_relay_body_refused(xf_relay_t *rl, const char *why)
{
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, rl->r,
                  XF_LOGNO(0110) "daemon %s after %" APR_OFF_T_FMT
                                 " request body bytes: "
                                 "the rest is not sent",
                  why, rl->sent);
    xf_relay_body_stop(rl);
}

apr_status_t xf_relay_body_send(xf_relay_t *rl)
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
            xf_relay_body_refused(rl, "closed its end");
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
        /* the bucket the iov pointed into (none for the last chunk) */
        apr_bucket *b = APR_BRIGADE_FIRST(rl->ibb);
        if (b != APR_BRIGADE_SENTINEL(rl->ibb) && !rl->last_chunk) {
            rl->sent += (apr_off_t)b->length;
            apr_bucket_delete(b);
        }
        rl->req = XF_REQ_READ;
    }
    return APR_SUCCESS;
}
