/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_types.h - plain data types shared by the pure core and the glue:
 * the request view that the envelope builder serializes, key/value pairs and
 * the envelope options. No httpd header may be included here (pure core:
 * docs/development.md, Source layout).
 */
#ifndef XF_TYPES_H
#define XF_TYPES_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_network_io.h>

/** Version of the envelope schema this module emits (xapi Http.Request.t). */
#define XF_ENVELOPE_VERSION 1

/** xapi's fd-send-recv buffer: daemons read one 16 KiB recvmsg. */
#define XF_ENVELOPE_DEFAULT_MAX 16384

/** One header or parameter, as received. */
typedef struct xf_kv_t {
    const char *key; /* as sent (headers: any case); never NULL */
    const char *val; /* as sent, untrimmed; never NULL ("" when empty) */
} xf_kv_t;

/** Which key(s) carry the request path (xapi < 25.38 reads "uri"). */
typedef enum {
    XF_PATHKEY_URI = 1,  /* "uri" only */
    XF_PATHKEY_PATH = 2, /* "path" only */
    XF_PATHKEY_BOTH = 3  /* "uri" then "path" (default) */
} xf_pathkey_e;

/** What the request looks like, read once from request_rec (xf_reqview.c).
 *  The envelope builder never sees request_rec. */
typedef struct xf_reqview_t {
    const char *method;          /* request method as sent, e.g. "GET", "get" */
    const char *target;          /* raw request target (r->unparsed_uri) */
    const char *version;         /* "1.1", "1.0": the protocol minus "HTTP/";
                                  * HTTP/2 streams are given as "1.1" */
    apr_array_header_t *headers; /* xf_kv_t, wire order (a repeated header
                                  * may arrive merged, comma-joined) */
    const char *stunnel_proxy;   /* "TCP6 <cip> <sip> <cport> <sport>"
                                  * for TLS clients; NULL = not TLS or
                                  * disabled */
} xf_reqview_t;

/** How the envelope is built; every field must be set by the caller. */
typedef struct xf_envelope_opts_t {
    xf_pathkey_e path_keys; /* which path key(s) to emit */
    int force_close;        /* 1: "close":true always (default);
                             * 0: computed from version/Connection as xapi */
    int traceparent_top;    /* 1: also emit a top-level "traceparent" */
    int forward_auth;       /* 0: omit "auth" (credentials not forwarded) */
    const char *const *strip_params; /* NULL-terminated list of cookie and
                                      * query keys never forwarded
                                      * (e.g. "pool_secret"); may be NULL */
    apr_size_t max_size; /* refuse envelopes larger than this, bytes */
} xf_envelope_opts_t;

#endif /* XF_TYPES_H */
