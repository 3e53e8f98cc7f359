/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_relay_int.h - what the relay's three files share: the state of one
 * relayed request, one state per direction. xf_relay_body.c moves the
 * request body towards the daemon, xf_relay_resp.c the daemon's response
 * towards the client, xf_relay.c runs the loop that drives both.
 */
#ifndef XF_RELAY_INT_H
#define XF_RELAY_INT_H

#include <sys/uio.h>

#include <apr_buckets.h>

#include "httpd.h"

#include "xf_http.h"

#define XF_RELAY_BUFSIZE 65536
#define XF_HEAD_BUFSIZE 8192

/** The request body, client -> daemon. */
typedef enum {
    XF_REQ_READ = 0, /* nothing queued: read the client next */
    XF_REQ_WRITE,    /* iov holds bytes the daemon has not taken yet */
    XF_REQ_DONE,     /* all of it sent (or the request had none) */
    XF_REQ_STOPPED   /* the daemon takes no more, or the client's body
                      * broke: the rest is not sent */
} xf_req_state_e;

/** The daemon's response, daemon -> client. */
typedef enum {
    XF_RESP_HEAD = 0, /* reading the status line and headers */
    XF_RESP_BODY,     /* head passed on; relaying the body */
    XF_RESP_DONE,     /* complete: EOS passed to the client */
    XF_RESP_BROKEN,   /* given up after the head went out: the client
                       * sees an aborted response, or has gone away */
    XF_RESP_FAILED    /* given up before a head: the handler answers
                       * with status */
} xf_resp_state_e;

typedef struct xf_relay_t {
    request_rec *r;
    int fd;         /* our end of the socketpair: blocking, as the
                     * daemon's end must be; we use MSG_DONTWAIT */
    int timeout_ms; /* I/O timeout toward the daemon, <= 0: none */
    apr_bucket_alloc_t *ba;
    int status; /* the handler's result: OK, or the error status of
                 * XF_RESP_FAILED */

    /* the request body, toward the daemon */
    xf_req_state_e req;
    apr_bucket_brigade *ibb; /* what HTTP_IN gave and is not sent yet */
    int chunked;             /* chunk it again (the envelope says chunked) */
    int seen_eos;            /* HTTP_IN gave its EOS */
    int last_chunk;          /* the final "0\r\n\r\n" is queued or sent */
    struct iovec iov[3];     /* XF_REQ_WRITE: chunk size, data, CRLF */
    int niov;                /* iov entries still to send */
    char chead[24];          /* chunk size line */
    apr_off_t sent;          /* body bytes the daemon has taken */

    /* the daemon's response, toward the client */
    xf_resp_state_e resp;
    apr_bucket_brigade *obb;
    xf_http_resp_t *parse; /* the response, parsed as it comes */
    char *hbuf;            /* XF_HEAD_BUFSIZE bytes: reads of the head */
    int eof;               /* the daemon closed its write side */
    int unflushed;         /* passed to the client since the last FLUSH */
    int more;              /* the last read filled its buffer: read again
                            * before waiting */
    apr_off_t total;       /* response body bytes relayed */
} xf_relay_t;

/* xf_relay_body.c */

/* Queue the next bytes of the request body (XF_REQ_READ -> XF_REQ_WRITE,
 * or XF_REQ_DONE at its end). APR_EAGAIN: a non-blocking read found
 * nothing; another error: the client's body broke. */
apr_status_t xf_relay_body_fill(xf_relay_t *rl, apr_read_type_e block);

/* Send what is queued without blocking (XF_REQ_WRITE -> XF_REQ_READ once
 * all went, XF_REQ_STOPPED when the daemon closed its end). APR_EAGAIN:
 * the daemon's buffer is full. */
apr_status_t xf_relay_body_send(xf_relay_t *rl);

/* No more of the body goes (XF_REQ_STOPPED): drop what is queued. */
void xf_relay_body_stop(xf_relay_t *rl);

/* The daemon takes no more of the body although the request goes on
 * (why: what it did): logged, then stopped. */
void xf_relay_body_refused(xf_relay_t *rl, const char *why);

/* xf_relay_resp.c */

/* Read what the daemon has (its socket polled readable) and move it on:
 * the head into r, the body to the client. */
void xf_relay_resp_read(xf_relay_t *rl);

/* Pass what is queued for the client, with a FLUSH when asked; on failure
 * the client has gone (XF_RESP_BROKEN). */
apr_status_t xf_relay_resp_pass(xf_relay_t *rl, int flush);

/* The response broke after its head went out (XF_RESP_BROKEN). */
void xf_relay_resp_broke(xf_relay_t *rl);

/* Did the daemon refuse the rest of the body with its complete answer?
 * (curl's rule: an error status on a connection the server closes.)
 * Only asked in XF_RESP_DONE. */
int xf_relay_resp_refuses_body(const xf_relay_t *rl);

#endif /* XF_RELAY_INT_H */
