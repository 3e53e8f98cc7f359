/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_relay.c - relay mode: the daemon gets one end of a socketpair with
 * the same envelope, httpd keeps the other and relays HTTP through it. The
 * loop here drives two directions, each an explicit state: the request
 * body towards the daemon (xf_relay_body.c) and the daemon's response
 * towards the client (xf_relay_resp.c).
 */
#include "xf_relay.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "http_log.h"
#include "http_protocol.h"

#include "xf_fdpass.h"
#include "xf_private.h"
#include "xf_relay_int.h"

static int req_open(const xf_relay_t *rl)
{
    return rl->req == XF_REQ_READ || rl->req == XF_REQ_WRITE;
}

static int resp_open(const xf_relay_t *rl)
{
    return rl->resp == XF_RESP_HEAD || rl->resp == XF_RESP_BODY;
}

/* Nothing is left to do: the response failed or broke (the body is then
 * stopped too), or it is complete and so is the body. */
static int finished(const xf_relay_t *rl)
{
    return rl->resp == XF_RESP_FAILED || rl->resp == XF_RESP_BROKEN ||
           (rl->resp == XF_RESP_DONE && !req_open(rl));
}

/* The client's body broke (st): the daemon gets no more of it. Before the
 * daemon's head the handler answers; after it, the daemon sees the end of
 * the body and its response goes on. */
static void client_body_failed(xf_relay_t *rl, apr_status_t st)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, st, rl->r,
                  XF_LOGNO(0107) "reading the request body from the client "
                                 "failed; closing the daemon's end");
    xf_relay_body_stop(rl);
    rl->r->connection->keepalive = AP_CONN_CLOSE;
    if (rl->resp == XF_RESP_HEAD) {
        rl->status = ap_map_http_request_error(st, HTTP_BAD_REQUEST);
        rl->resp = XF_RESP_FAILED;
    }
    else
        shutdown(rl->fd, SHUT_WR);
}

static int daemon_readable_now(const xf_relay_t *rl)
{
    struct pollfd pfd;

    pfd.fd = rl->fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    return poll(&pfd, 1, 0) > 0;
}

/* XF_REQ_READ: the body wants bytes from the client. Take what HTTP_IN
 * has without waiting; when it has nothing, serve the daemon's answer if
 * one is there, else flush what the client has been given and wait for
 * the client. */
static void step_client(xf_relay_t *rl)
{
    apr_status_t st = xf_relay_body_fill(rl, APR_NONBLOCK_READ);

    if (st == APR_EAGAIN) {
        if (resp_open(rl) && daemon_readable_now(rl)) {
            xf_relay_resp_read(rl);
            return;
        }
        if (rl->unflushed && xf_relay_resp_pass(rl, 1) != APR_SUCCESS)
            return;
        st = xf_relay_body_fill(rl, APR_BLOCK_READ);
    }
    if (st != APR_SUCCESS)
        client_body_failed(rl, st);
}

/* Waiting on the daemon timed out. */
static void daemon_timeout(xf_relay_t *rl)
{
    const char *what =
        rl->req == XF_REQ_WRITE ? "writing the request body" : NULL;

    switch (rl->resp) {
    case XF_RESP_HEAD:
        ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_TIMEUP, rl->r,
                      XF_LOGNO(0104) "timed out %s the daemon",
                      what ? "writing the request body to"
                           : "waiting for the response of");
        rl->status = HTTP_GATEWAY_TIME_OUT;
        rl->resp = XF_RESP_FAILED;
        break;
    case XF_RESP_DONE:
        /* answered, but it does not take the rest of the body */
        xf_relay_body_refused(rl, "answered and stopped reading");
        break;
    default:
        ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_TIMEUP, rl->r,
                      XF_LOGNO(0114) "timed out %s after %" APR_OFF_T_FMT
                                     " response body bytes",
                      what ? what : "reading the daemon's response body",
                      rl->total);
        xf_relay_resp_broke(rl);
        break;
    }
}

/* Send the queued body bytes without waiting. 0: the daemon's buffer is
 * full (wait for it); 1: progress, or the body stopped. */
static int body_send_now(xf_relay_t *rl)
{
    apr_status_t st = xf_relay_body_send(rl);

    if (st == APR_EAGAIN)
        return 0;
    if (st != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, st, rl->r,
                      XF_LOGNO(0116) "writing the request body to the "
                                     "daemon failed");
        if (rl->resp == XF_RESP_HEAD) {
            rl->status = HTTP_BAD_GATEWAY;
            rl->resp = XF_RESP_FAILED;
        }
        else
            xf_relay_body_stop(rl);
    }
    return 1;
}

/* The request body has bytes for the daemon (XF_REQ_WRITE), or has ended
 * while the response is still open. What is likely to go without waiting
 * goes first (body bytes to a daemon whose buffer may have room, another
 * read after one that filled its buffer), with no poll() each time; else
 * flush what the client has been given and wait until the daemon takes
 * bytes or has some, with the I/O timeout. */
static void step_daemon(xf_relay_t *rl)
{
    struct pollfd pfd;
    apr_status_t st;
    int rc;

    if (rl->req == XF_REQ_WRITE && body_send_now(rl))
        return;
    if (rl->more && resp_open(rl)) {
        xf_relay_resp_read(rl);
        return;
    }
    /* never empty: finished() holds when neither side waits on it */
    pfd.fd = rl->fd;
    pfd.events =
        (resp_open(rl) ? POLLIN : 0) | (rl->req == XF_REQ_WRITE ? POLLOUT : 0);
    pfd.revents = 0;
    if (rl->unflushed && xf_relay_resp_pass(rl, 1) != APR_SUCCESS)
        return;
    do {
        /* 0 (Timeout 0) has always meant no limit here */
        rc = poll(&pfd, 1, rl->timeout_ms > 0 ? rl->timeout_ms : -1);
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) {
        daemon_timeout(rl);
        return;
    }
    if (rc < 0) {
        st = APR_FROM_OS_ERROR(errno);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, st, rl->r,
                      XF_LOGNO(0115) "poll() on the daemon's socket failed");
        if (rl->resp == XF_RESP_HEAD) {
            rl->status = HTTP_BAD_GATEWAY;
            rl->resp = XF_RESP_FAILED;
        }
        else
            xf_relay_resp_broke(rl);
        return;
    }
    if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) && resp_open(rl))
        xf_relay_resp_read(rl);
    if ((pfd.revents & (POLLOUT | POLLERR | POLLHUP)) &&
        rl->req == XF_REQ_WRITE)
        body_send_now(rl);
}

/* Both directions at once: the request body goes to the daemon for as
 * long as the daemon takes it, and whatever the daemon answers goes to
 * the client as it comes, also while the body is still flowing (xcp-rrdd
 * answers PUT /rrd before reading the body). The body stops when the
 * request ends, when the daemon stops reading (EPIPE: closed its end or
 * its read side), or when a complete error answer says the connection
 * closes. A rest of the body the daemon did not take is read and dropped
 * by httpd (ap_discard_request_body) unless the status closes the
 * connection, as with mod_proxy_http. */
static int relay_loop(xf_relay_t *rl)
{
    while (!finished(rl)) {
        if (rl->resp == XF_RESP_DONE && xf_relay_resp_refuses_body(rl)) {
            xf_relay_body_refused(rl, "refused the request with a complete "
                                      "answer");
            continue;
        }
        if (rl->req == XF_REQ_READ)
            step_client(rl);
        else
            step_daemon(rl);
    }
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
                 apr_size_t len, apr_interval_time_t timeout,
                 xf_fwd_stats_t *fs)
{
    xf_relay_t rl;
    const char *te;
    int status;

    memset(&rl, 0, sizeof(rl));
    rl.fd = pair[0];
    status = xf_relay_pass_pair(pair, r, uds, payload, len, timeout);
    if (status != OK)
        return status;
    apr_table_setn(r->subprocess_env, "XAPI_FORWARD", "relay");
    fs->handed = xf_stats_since(r);

    rl.r = r;
    rl.timeout_ms = xf_fdpass_timeout_ms(timeout);
    rl.ba = r->connection->bucket_alloc;
    rl.status = OK;
    rl.ibb = apr_brigade_create(r->pool, rl.ba);
    rl.obb = apr_brigade_create(r->pool, rl.ba);
    xf_http_resp_create(&rl.parse, r->header_only, NULL, r->pool);
    rl.hbuf = apr_palloc(r->pool, XF_HEAD_BUFSIZE);
    rl.resp = XF_RESP_HEAD;
    if (ap_request_has_body(r)) {
        te = apr_table_get(r->headers_in, "Transfer-Encoding");
        rl.chunked = te && ap_find_last_token(r->pool, te, "chunked");
        rl.req = XF_REQ_READ;
    }
    else
        rl.req = XF_REQ_DONE;
    status = relay_loop(&rl);
    apr_brigade_cleanup(rl.ibb);
    return status;
}
