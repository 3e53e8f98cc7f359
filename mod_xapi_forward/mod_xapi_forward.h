/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * mod_xapi_forward.h - public interface of mod_xapi_forward, installed with
 * the module. Another module can register its own "flusher": the step that
 * turns a request into the message sent with the client's socket, chosen
 * per worker with mod_proxy's flusher= parameter:
 *   ProxyPass /x "unix:/run/x.sock|xapi://x/" flusher=myname
 */
#ifndef MOD_XAPI_FORWARD_H
#define MOD_XAPI_FORWARD_H

#include "httpd.h"

/** Provider group and version for ap_register_provider(). */
#define XAPI_FORWARD_FLUSHER "xapi_forward_flusher"
#define XAPI_FORWARD_FLUSHER_VERSION "0"

/** Built-in flusher names. */
#define XAPI_FORWARD_FLUSHER_XAPI "xapi" /* xapi Http.Request JSON */
#define XAPI_FORWARD_FLUSHER_FDPASS                                            \
    "fdpass" /* one NUL byte, as                                               \
              * mod_proxy_fdpass sends */

typedef struct xapi_forward_flusher {
    const char *name; /* provider name, as given to flusher= */
    /**
     * Build the payload sent together with the client socket.
     * Called before the daemon's socket is connected, unless the flusher
     * sets writes_to_client: then it is called after the connect, just
     * before the hand-off, and may write to the client through
     * r->output_filters (the fdpass flusher sends the status line and
     * headers this way).
     * @param r        the request
     * @param ppayload out: the bytes to send (at least one), from r->pool
     * @param plen     out: their length
     * @param context  the provider's context field
     * @return OK, or an HTTP status to answer with (the flusher logs why)
     */
    int (*flusher)(request_rec *r, const char **ppayload, apr_size_t *plen,
                   void *context);
    int writes_to_client; /* 1: writes to the client itself, so only a
                           * raw hand-off of the client socket makes sense
                           * (never relayed) */
    void *context;        /* handed to flusher() */
} xapi_forward_flusher;

#endif /* MOD_XAPI_FORWARD_H */
