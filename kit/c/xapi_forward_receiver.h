/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xapi_forward_receiver.h - receive requests that mod_xapi_forward (or
 * xapi) hands to a daemon or custom service. Link with -lxfrecv
 * (pkg-config xapi-forward-receiver).
 */
#ifndef XAPI_FORWARD_RECEIVER_H
#define XAPI_FORWARD_RECEIVER_H

/*
 * NAME
 *     xapi_forward_receiver - the receiving end of xapi's fd hand-off
 *
 * SYNOPSIS
 *     #include <xapi_forward_receiver.h>
 *
 *     int xfr_listen(const char *path, int backlog);
 *     int xfr_receive(xfr_request **preq, int conn, size_t max_size);
 *     const char *xfr_strerror(int err);
 *     const char *xfr_query(const xfr_request *req, const char *key);
 *     const char *xfr_cookie(const xfr_request *req, const char *key);
 *     const char *xfr_header(const xfr_request *req, const char *name);
 *     int xfr_read_body(const xfr_request *req, char **pbody,
 *                       size_t *plen, size_t limit);
 *     int xfr_respond(int fd, int status, const char *content_type,
 *                     const void *body, size_t len);
 *     int xfr_request_take_fd(xfr_request *req);
 *     void xfr_request_free(xfr_request *req);
 *
 * DESCRIPTION
 *     The front door (httpd with mod_xapi_forward, "channel" way, or xapi
 *     itself) connects to the service's AF_UNIX stream socket and sends ONE
 *     message: the request as xapi's Http.Request JSON (the "envelope"),
 *     with the client's socket -- or one end of a socketpair when httpd
 *     stays in the byte path (TLS, HTTP/2) -- as SCM_RIGHTS data. The
 *     service answers the HTTP client by writing an HTTP/1.x response on
 *     that descriptor; the body of a PUT/POST is read from it. The service
 *     cannot tell a hand-off from a relay.
 *
 *     xfr_listen() creates a listening socket at path (replacing a stale
 *     socket file, mode 0666), close-on-exec. Accept with accept4().
 *
 *     xfr_receive() does one recvmsg(MSG_CMSG_CLOEXEC) of at most max_size
 *     bytes (0: XFR_DEFAULT_MAX) on an accepted connection and parses the
 *     envelope. Up to XFR_MAX_FDS descriptors are taken; the first is the
 *     client's, the others are closed. On success *preq holds the request
 *     (free it with xfr_request_free()), whose fd is blocking and
 *     close-on-exec; on failure every received descriptor is closed and
 *     *preq is NULL. Both path keys are understood: "path" (xapi >= 25.38)
 *     wins over "uri".
 *
 *     xfr_query(), xfr_cookie() and xfr_header() return the first value of
 *     a query parameter, a cookie, or a header of additional_headers (name
 *     compared without case; the envelope carries host, user-agent,
 *     content-type, content-length and transfer-encoding as fields of
 *     their own: see xfr_request), or NULL.
 *
 *     xfr_read_body() reads a Content-Length body (at most limit bytes)
 *     from the request's fd into a malloc()ed buffer (NUL-terminated; free
 *     it). Chunked bodies are refused (EPROTO): read them yourself.
 *
 *     xfr_respond() writes a complete HTTP/1.1 response with
 *     Content-Length and "Connection: close" on fd.
 *
 *     xfr_request_take_fd() returns the client's fd and leaves -1 in the
 *     request, so that xfr_request_free() does not close it.
 *
 * RETURN VALUE
 *     xfr_listen() returns the socket, or -1 with errno set.
 *     xfr_receive() returns XFR_OK or one of the xfr_error values;
 *     xfr_strerror() describes them. xfr_read_body() and xfr_respond()
 *     return 0, or -1 with errno set (EPROTO: chunked body; EFBIG: over
 *     limit; ECONNRESET: the client closed early).
 *
 * EXAMPLE
 *     A complete service (10 lines, error handling aside):
 *
 *         int l = xfr_listen("/var/lib/xcp/plugin/hello", 64);
 *         for (;;) {
 *             int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
 *             xfr_request *req;
 *             if (c >= 0 && xfr_receive(&req, c, 0) == XFR_OK) {
 *                 xfr_respond(req->fd, 200, "text/plain", req->path,
 *                             strlen(req->path));
 *                 xfr_request_free(req);
 *             }
 *             close(c);
 *         }
 *
 * SEE ALSO
 *     recvmsg(2), unix(7), cmsg(3); kit/python/xapi_forward_receiver.py
 *     for the same in Python (which also serves the "http" way).
 */

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The largest message taken by default (what xcp-rrdd and xenopsd read). */
#define XFR_DEFAULT_MAX 16384
/** Descriptors taken per message; a message with more is XFR_ECTRUNC. */
#define XFR_MAX_FDS 8

/** What xfr_receive() returns. */
typedef enum xfr_error {
    XFR_OK = 0,
    XFR_ESYS = 1,      /* recvmsg() failed: errno says why */
    XFR_ECLOSED = 2,   /* the peer closed without sending anything */
    XFR_ETOOBIG = 3,   /* longer than max_size (or MSG_TRUNC) */
    XFR_ECTRUNC = 4,   /* ancillary data truncated (MSG_CTRUNC) */
    XFR_ENOFD = 5,     /* a message without a descriptor */
    XFR_EJSON = 6,     /* not JSON */
    XFR_EENVELOPE = 7, /* JSON, but not an envelope (types, no path) */
    XFR_ENOMEM = 8     /* out of memory */
} xfr_error;

/** A name and its value, as in the envelope (wire order). */
typedef struct xfr_kv {
    const char *key;
    const char *value;
} xfr_kv;

/** A received request. Strings live as long as the request. */
typedef struct xfr_request {
    const char *method;  /* "GET", "PUT", "POST", "HEAD", ... */
    const char *path;    /* "path", else "uri": decoded path */
    const char *version; /* "1.1", "1.0" */
    const xfr_kv *query; /* query parameters */
    size_t n_query;
    const xfr_kv *cookie; /* cookies */
    size_t n_cookie;
    const xfr_kv *headers; /* additional_headers (lower-case) */
    size_t n_headers;
    long long content_length;      /* -1: absent */
    const char *transfer_encoding; /* NULL: absent; "chunked" */
    const char *host;              /* NULL: absent */
    const char *user_agent;        /* NULL: absent */
    const char *content_type;      /* NULL: absent */
    int close;                     /* the envelope's "close" */
    const char *envelope;          /* the bytes received, NUL-terminated */
    size_t envelope_len;
    int fd;     /* the client's socket; -1 once taken */
    void *priv; /* internal */
} xfr_request;

int xfr_listen(const char *path, int backlog);
int xfr_receive(xfr_request **preq, int conn, size_t max_size);
const char *xfr_strerror(int err);
const char *xfr_query(const xfr_request *req, const char *key);
const char *xfr_cookie(const xfr_request *req, const char *key);
const char *xfr_header(const xfr_request *req, const char *name);
int xfr_read_body(const xfr_request *req, char **pbody, size_t *plen,
                  size_t limit);
int xfr_respond(int fd, int status, const char *content_type, const void *body,
                size_t len);
int xfr_request_take_fd(xfr_request *req);
void xfr_request_free(xfr_request *req);

#ifdef __cplusplus
}
#endif

#endif /* XAPI_FORWARD_RECEIVER_H */
