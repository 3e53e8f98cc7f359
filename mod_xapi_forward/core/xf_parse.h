/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_parse.h - the small parsers behind the envelope, each reproducing what
 * xapi's OCaml stack does to a request (String.trim, ocaml-uri, xapi's
 * cookie handling, ocaml-base64). Pure core: libc and APR only.
 */
#ifndef XF_PARSE_H
#define XF_PARSE_H

#include <apr_pools.h>

/** A run of bytes inside some other string; may hold NUL bytes. */
typedef struct xf_span_t {
    const char *p; /* first byte, not NUL-terminated; any value when n is 0 */
    apr_size_t n;  /* length in bytes */
} xf_span_t;

/** Receives one key/value pair of a query or cookie map. */
typedef void xf_parse_kv_fn(void *baton, const xf_span_t *k,
                            const xf_span_t *v);

/**
 * Strip leading and trailing whitespace as OCaml's String.trim does
 * (space, \\t, \\n, \\r and \\f).
 * @param s  a NUL-terminated string
 * @return the trimmed part of s (no copy)
 */
xf_span_t xf_parse_trim(const char *s);

/** @return the value of hex digit c (either case), or -1. */
int xf_parse_hex_value(char c);

/**
 * Percent-decode as ocaml-uri's Uri.pct_decode: "%XX" with two hex digits
 * becomes one byte (possibly NUL); every other byte, including a '%' not
 * followed by two hex digits, is copied as is.
 * @param dst   out: at least n bytes; may not overlap src
 * @param src   the encoded bytes
 * @param n     length of src
 * @param plus  1: '+' becomes a space first (query strings)
 * @return the decoded length (<= n)
 */
apr_size_t xf_parse_pct_decode(char *dst, const char *src, apr_size_t n,
                               int plus);

/**
 * Split a request target into its encoded path and query as ocaml-uri
 * reads it: a scheme ("x:") and, after a scheme, an authority ("//h") are
 * skipped; the path ends at '?' or '#'; the query ends at '#'.
 * @param path       out: the encoded path
 * @param query      out: the encoded query, without '?'
 * @param has_query  out: 1 when the target has a '?' before any '#'
 * @param target     the raw request target
 */
void xf_parse_target(xf_span_t *path, xf_span_t *query, int *has_query,
                     const char *target);

/**
 * Walk a query string as ocaml-uri's Uri.query (plus xapi's re-join of
 * ','-split values): pieces split on '&', each cut at its first '=', '+'
 * turned to space, percent-decoded; empty pieces give ("","").
 * @param q      the encoded query (without '?'); "" gives one ("","")
 * @param fn     called once per pair, in order; spans valid only during it
 * @param baton  passed to fn
 * @param p      pool for one scratch buffer
 */
void xf_parse_query(xf_span_t q, xf_parse_kv_fn *fn, void *baton,
                    apr_pool_t *p);

/**
 * Walk a Cookie header value as xapi's Http.parse_cookies followed by
 * Xapi_services.fix_cookie leave it: split on ';' (or on '&' when there is
 * no ';'), percent-decode, re-join as "k=v; k=v", split on [;,][ \\t]*,
 * drop items starting with '$', keep the text before the first and second
 * '='. Empty items are skipped (xapi fails the request on them).
 * @param v      the trimmed header value
 * @param fn     called once per pair, in order; spans valid only during it
 * @param baton  passed to fn
 * @param p      pool for one scratch buffer
 */
void xf_parse_cookie(xf_span_t v, xf_parse_kv_fn *fn, void *baton,
                     apr_pool_t *p);

/**
 * Check a Content-Length value: one or more ASCII digits, at most
 * 9223372036854775807.
 * @param digits  out: the digits without leading zeros ("0" for zero),
 *                as Int64.to_string writes the number
 * @param v       the trimmed header value
 * @return 1 when valid, else 0
 */
int xf_parse_content_length(xf_span_t *digits, xf_span_t v);

/**
 * Decode base64 exactly as ocaml-base64's Base64.decode with its defaults
 * (standard alphabet, pad = true), including its leniencies ("x===" and a
 * trailing run of "====" groups are accepted, unused bits are ignored).
 * @param dst   out: at least 3 * (n / 4) bytes
 * @param dlen  out: decoded length
 * @param src   the encoded bytes
 * @param n     length of src
 * @return 1 on success, 0 when ocaml-base64 returns an error
 */
int xf_parse_base64(char *dst, apr_size_t *dlen, const char *src, apr_size_t n);

/**
 * Read an Authorization value as xapi's authorization_of_string: exactly
 * "Basic " then base64 (xf_parse_base64) of "user:password", cut at the
 * first ':'.
 * @param user  out: the user name (pool memory)
 * @param pass  out: the password, may contain ':' (pool memory)
 * @param v     the trimmed header value
 * @param p     pool for the decoded bytes
 * @return 1 for Basic credentials, 0 when xapi would say UnknownAuth
 */
int xf_parse_basic(xf_span_t *user, xf_span_t *pass, xf_span_t v,
                   apr_pool_t *p);

#endif /* XF_PARSE_H */
