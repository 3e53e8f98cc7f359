/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_parse.c - request-value parsers for the envelope. Each one mirrors the
 * OCaml code xapi runs on the same input (see xf_parse.h and
 * research/xapi-forwarded.md); differences are marked "Divergence".
 */
#include "xf_parse.h"

#include <string.h>

/* OCaml String.trim's notion of whitespace. */
static int is_ocaml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

int xf_parse_hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

xf_span_t xf_parse_trim(const char *s)
{
    xf_span_t r;
    apr_size_t n;

    while (is_ocaml_space(*s)) {
        s++;
    }
    n = strlen(s);
    while (n > 0 && is_ocaml_space(s[n - 1])) {
        n--;
    }
    r.p = s;
    r.n = n;
    return r;
}

apr_size_t xf_parse_pct_decode(char *dst, const char *src, apr_size_t n,
                               int plus)
{
    apr_size_t i = 0, j = 0;
    int hi, lo;

    /* Uri.pct_decode copies a '%' that lacks two hex digits and goes on
     * with the next byte; that is the same as this one-byte step. Query
     * strings get '+' -> ' ' before decoding, so "%2B" stays '+'. */
    while (i < n) {
        char c = src[i];

        if (c == '%' && n - i > 2 &&
            (hi = xf_parse_hex_value(src[i + 1])) >= 0 &&
            (lo = xf_parse_hex_value(src[i + 2])) >= 0) {
            dst[j++] = (char)(hi << 4 | lo);
            i += 3;
        }
        else {
            dst[j++] = (plus && c == '+') ? ' ' : c;
            i++;
        }
    }
    return j;
}

void xf_parse_target(xf_span_t *path, xf_span_t *query, int *has_query,
                     const char *target)
{
    const char *s = target;
    const char *e = s + strcspn(s, ":/?#");

    /* ocaml-uri: a scheme is any run without ":/?#" ended by ':'. After a
     * scheme, "//" starts an authority, which can hold none of "/?#".
     * Divergence: Uri stops an authority early at a byte that is not
     * valid there (making it part of the path); we skip to the first
     * "/?#". Divergence: without a scheme, Uri also reads "//h/x" as
     * authority "h" + path "/x"; httpd treats it as the path "//h/x" and
     * authorizes that, so the daemon must see the same path. */
    if (*e == ':') {
        s = e + 1;
        if (s[0] == '/' && s[1] == '/') {
            s += 2;
            s += strcspn(s, "/?#");
        }
    }
    e = s + strcspn(s, "?#");
    path->p = s;
    path->n = (apr_size_t)(e - s);
    if (*e == '?') {
        s = e + 1;
        query->p = s;
        query->n = strcspn(s, "#");
        *has_query = 1;
    }
    else {
        query->p = e;
        query->n = 0;
        *has_query = 0;
    }
}

void xf_parse_query(xf_span_t q, xf_parse_kv_fn *fn, void *baton, apr_pool_t *p)
{
    char *buf = apr_palloc(p, q.n + 1);
    const char *s = q.p, *end = q.p + q.n;
    xf_span_t k, v;

    /* Stringext.split keeps empty pieces, and Uri maps an empty query to
     * [("", [])]: so every '&'-piece, even "", gives exactly one pair. */
    for (;;) {
        const char *amp = memchr(s, '&', (apr_size_t)(end - s));
        const char *eq;

        if (amp == NULL) {
            amp = end;
        }
        eq = memchr(s, '=', (apr_size_t)(amp - s));
        k.p = buf;
        k.n = xf_parse_pct_decode(buf, s, (apr_size_t)((eq ? eq : amp) - s), 1);
        v.p = buf + k.n;
        v.n = eq ? xf_parse_pct_decode(buf + k.n, eq + 1,
                                       (apr_size_t)(amp - eq - 1), 1)
                 : 0;
        fn(baton, &k, &v);
        if (amp == end) {
            break;
        }
        s = amp + 1;
    }
}

/* One item of fix_cookie's split: drop "$..." items, keep the text before
 * the first '=' as name and up to the second '=' as value. */
static void cookie_item(const char *s, apr_size_t n, xf_parse_kv_fn *fn,
                        void *baton)
{
    const char *eq, *eq2;
    xf_span_t k, v;

    /* Divergence: xapi raises on an empty item (s.[0]) and answers 404;
     * an empty item only comes from a ',' or ';' at the very end or
     * doubled, so we skip it instead of failing the request. */
    if (n == 0 || s[0] == '$') {
        return;
    }
    eq = memchr(s, '=', n);
    k.p = s;
    k.n = eq ? (apr_size_t)(eq - s) : n;
    v.p = s + n;
    v.n = 0;
    if (eq) {
        v.p = eq + 1;
        eq2 = memchr(v.p, '=', (apr_size_t)(s + n - v.p));
        v.n = (apr_size_t)((eq2 ? eq2 : s + n) - v.p);
    }
    fn(baton, &k, &v);
}

void xf_parse_cookie(xf_span_t v, xf_parse_kv_fn *fn, void *baton,
                     apr_pool_t *p)
{
    char sep = memchr(v.p, ';', v.n) ? ';' : '&';
    const char *s = v.p, *end = v.p + v.n;
    apr_size_t nseg = 1, n = 0, i, j;
    char *buf;

    for (i = 0; i < v.n; i++) {
        nseg += v.p[i] == sep;
    }
    /* Step 1, Http.parse_cookies + fix_cookie's re-join: every segment
     * becomes decoded(key) "=" decoded(rest), joined by "; ". Each
     * segment grows by at most one '=', each separator by one byte. */
    buf = apr_palloc(p, v.n + 2 * nseg + 1);
    for (;;) {
        const char *e = memchr(s, sep, (apr_size_t)(end - s));
        const char *eq;

        if (e == NULL) {
            e = end;
        }
        eq = memchr(s, '=', (apr_size_t)(e - s));
        n +=
            xf_parse_pct_decode(buf + n, s, (apr_size_t)((eq ? eq : e) - s), 0);
        buf[n++] = '=';
        if (eq) {
            n += xf_parse_pct_decode(buf + n, eq + 1, (apr_size_t)(e - eq - 1),
                                     0);
        }
        if (e == end) {
            break;
        }
        buf[n++] = ';';
        buf[n++] = ' ';
        s = e + 1;
    }
    /* Step 2, fix_cookie: split on the regex [;,][ \t]* (decoded bytes
     * count, so "%3B" separates too). */
    for (i = 0;;) {
        for (j = i; j < n && buf[j] != ';' && buf[j] != ','; j++) {
        }
        cookie_item(buf + i, j - i, fn, baton);
        if (j == n) {
            break;
        }
        for (i = j + 1; i < n && (buf[i] == ' ' || buf[i] == '\t'); i++) {
        }
    }
}

int xf_parse_content_length(xf_span_t *digits, xf_span_t v)
{
    static const char max[] = "9223372036854775807";
    apr_size_t i;

    /* Divergence: Int64.of_string also takes a sign, "0x"/"0o"/"0b"/"0u"
     * prefixes and '_' separators; HTTP allows only digits, and httpd
     * itself rejects anything else when it reads a body. */
    if (v.n == 0) {
        return 0;
    }
    for (i = 0; i < v.n; i++) {
        if (v.p[i] < '0' || v.p[i] > '9') {
            return 0;
        }
    }
    while (v.n > 1 && v.p[0] == '0') {
        v.p++;
        v.n--;
    }
    if (v.n > sizeof(max) - 1 ||
        (v.n == sizeof(max) - 1 && memcmp(v.p, max, v.n) > 0)) {
        return 0;
    }
    *digits = v;
    return 1;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    return c == '/' ? 63 : -1;
}

int xf_parse_base64(char *dst, apr_size_t *dlen, const char *src, apr_size_t n)
{
    const unsigned char *u = (const unsigned char *)src, *g;
    apr_size_t i, j = 0, keep;
    unsigned long x;
    int k, pad, d;

    for (i = 0; i < n; i += 4) {
        if (n - i < 4) {
            return 0; /* "Wrong padding": length not a multiple of 4 */
        }
        /* ocaml-base64 reads a group from its end: '=' is allowed only
         * in a run at the end of the group. */
        g = u + i;
        x = 0;
        pad = 0;
        for (k = 3; k >= 0; k--) {
            d = b64_value(g[k]);
            if (d < 0) {
                if (g[k] != '=' || pad != 3 - k) {
                    return 0; /* "Malformed input" */
                }
                d = 0;
                pad++;
            }
            x |= (unsigned long)d << (6 * (3 - k));
        }
        if (i + 4 == n) {
            keep = pad == 4 ? 0 : (apr_size_t)(3 - pad);
        }
        else if (pad == 0) {
            keep = 3;
        }
        else if (pad == 4) {
            /* "====" may be followed only by more '=': the result is
             * what came before it. */
            for (i += 4; i < n; i++) {
                if (u[i] != '=') {
                    return 0;
                }
            }
            break;
        }
        else {
            return 0; /* "Too much input" after padding */
        }
        if (keep > 0) {
            dst[j++] = (char)(x >> 16 & 0xff);
        }
        if (keep > 1) {
            dst[j++] = (char)(x >> 8 & 0xff);
        }
        if (keep > 2) {
            dst[j++] = (char)(x & 0xff);
        }
    }
    *dlen = j;
    return 1;
}

int xf_parse_basic(xf_span_t *user, xf_span_t *pass, xf_span_t v, apr_pool_t *p)
{
    static const char basic[] = "Basic ";
    const apr_size_t bn = sizeof(basic) - 1;
    const char *colon;
    apr_size_t len;
    char *buf;

    if (v.n < bn || memcmp(v.p, basic, bn) != 0) {
        return 0;
    }
    buf = apr_palloc(p, (v.n - bn) / 4 * 3 + 1);
    if (!xf_parse_base64(buf, &len, v.p + bn, v.n - bn)) {
        return 0;
    }
    colon = memchr(buf, ':', len);
    if (colon == NULL) {
        return 0;
    }
    user->p = buf;
    user->n = (apr_size_t)(colon - buf);
    pass->p = colon + 1;
    pass->n = len - user->n - 1;
    return 1;
}
