/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_http.h - incremental parser for a daemon's HTTP/1.x response in relay
 * mode: status line, header fields, then the body framing (Content-Length,
 * chunked, until close, or none), handing out body bytes without copying.
 * Pure core: no httpd headers.
 */
#ifndef XF_HTTP_H
#define XF_HTTP_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_tables.h>

/** How the response body is delimited. */
typedef enum {
    XF_BODY_NONE = 0,    /* no body (HEAD, 1xx, 204, 304, or length 0) */
    XF_BODY_LENGTH = 1,  /* Content-Length bytes */
    XF_BODY_CHUNKED = 2, /* Transfer-Encoding: chunked (decoded here) */
    XF_BODY_CLOSE = 3    /* until the daemon closes */
} xf_body_e;

/** Limits; 0 fields get the defaults in brackets. */
typedef struct xf_http_limits_t {
    apr_size_t max_line; /* longest status/header line, bytes [8192] */
    apr_size_t max_head; /* whole head incl. 1xx heads, bytes [65536] */
    int max_fields;      /* header fields [100] */
} xf_http_limits_t;

typedef struct xf_http_resp_t xf_http_resp_t;

/**
 * Create a parser.
 * @param pr        out: the parser, allocated from p
 * @param head_req  1 when the request was HEAD (no body whatever the
 *                  headers say)
 * @param lim       limits, or NULL for the defaults
 * @param p         pool for the parser, its header table and strings
 */
void xf_http_resp_create(xf_http_resp_t **pr, int head_req,
                         const xf_http_limits_t *lim, apr_pool_t *p);

/**
 * Feed bytes of the response head. Interim 1xx responses (except 101) are
 * parsed and skipped.
 * @param r         the parser
 * @param buf, len  the next bytes from the daemon
 * @param pused     out: how many bytes of buf belong to the head; the rest
 *                  (after APR_SUCCESS) starts the body
 * @param preason   out: on APR_EGENERAL, what was wrong (no data in it)
 * @return APR_SUCCESS when the final head is complete; APR_INCOMPLETE when
 *         more bytes are needed; APR_EGENERAL for a malformed or too large
 *         head
 */
apr_status_t xf_http_resp_head(xf_http_resp_t *r, const char *buf,
                               apr_size_t len, apr_size_t *pused,
                               const char **preason);

/**
 * Take body bytes. Call repeatedly on the same buffer until it is used up
 * or APR_EOF; each call hands out at most one span of decoded body data,
 * pointing into buf.
 * @param pused     out: bytes of buf consumed (data and framing)
 * @param pdata     out: start of a span of body data (or NULL)
 * @param pdlen     out: its length (0 when none)
 * @return APR_SUCCESS (call again with the rest), APR_INCOMPLETE (buf used
 *         up, more needed), APR_EOF (body complete; bytes after it are
 *         not consumed), APR_EGENERAL (bad chunk framing, *preason set).
 *         A span can come with APR_SUCCESS, APR_INCOMPLETE and APR_EOF
 *         alike (the last bytes of a body come with APR_EOF): pass it on
 *         whenever *pdlen > 0 before looking at the return value.
 */
apr_status_t xf_http_resp_body(xf_http_resp_t *r, const char *buf,
                               apr_size_t len, apr_size_t *pused,
                               const char **pdata, apr_size_t *pdlen,
                               const char **preason);

/**
 * The daemon closed its end. @return APR_SUCCESS when that ends the body
 * properly (XF_BODY_CLOSE, or the body was already complete), APR_EOF
 * when the response is truncated.
 */
apr_status_t xf_http_resp_eof(xf_http_resp_t *r);

/** Status code of the final response (after xf_http_resp_head). */
int xf_http_resp_status(const xf_http_resp_t *r);
/** Reason phrase (may be ""). */
const char *xf_http_resp_reason(const xf_http_resp_t *r);
/** "1.1" or "1.0" (from the status line). */
const char *xf_http_resp_version(const xf_http_resp_t *r);
/** Header fields of the final response, names as sent, in order, repeated
 *  fields kept as separate entries (Set-Cookie). */
const apr_table_t *xf_http_resp_headers(const xf_http_resp_t *r);
/** Body framing. */
xf_body_e xf_http_resp_framing(const xf_http_resp_t *r);
/** For XF_BODY_LENGTH: the Content-Length; else -1. */
apr_off_t xf_http_resp_length(const xf_http_resp_t *r);

#endif /* XF_HTTP_H */
