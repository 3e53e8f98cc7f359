/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * fuzz_parse.c - the request parsers (xf_parse.c) and the credential finder
 * (xf_auth.c) on arbitrary bytes.
 *
 * Input: byte 0 chooses the parser, the rest is its input (for the
 * credential finder: Cookie, query and Authorization separated by NUL).
 *
 * Invariants: spans handed out lie inside the input or the parser's own
 * buffer and are never longer than the decoded input; decoders never
 * grow their input; Content-Length digits are canonical; Basic user names
 * hold no ':'; what the credential finder reports is consistent (a kind
 * with its value, never a NUL inside it) and a session found in the query
 * comes back when the cookie is dropped.
 */
#include "fuzz.h"

#include <string.h>

#include <apr_strings.h>

#include "xf_auth.h"
#include "xf_parse.h"

typedef struct walk_t {
    apr_size_t limit; /* longest key or value possible */
    int pairs;
} walk_t;

static void on_pair(void *baton, const xf_span_t *k, const xf_span_t *v)
{
    walk_t *w = baton;
    volatile char sink = 0;
    apr_size_t i;

    FUZZ_CHECK(k->n <= w->limit && v->n <= w->limit);
    /* every byte readable (ASan reports a span pointing elsewhere) */
    for (i = 0; i < k->n; i++)
        sink ^= k->p[i];
    for (i = 0; i < v->n; i++)
        sink ^= v->p[i];
    (void)sink;
    w->pairs++;
}

static void check_cred(const xf_cred_t *c)
{
    switch (c->kind) {
    case XF_CRED_NONE:
        FUZZ_CHECK(!c->value && !c->user && !c->pass);
        break;
    case XF_CRED_SESSION:
    case XF_CRED_POOL_SECRET:
        FUZZ_CHECK(c->value && *c->value && !c->user && !c->pass);
        FUZZ_CHECK(c->source && (strcmp(c->source, "cookie") == 0 ||
                                 strcmp(c->source, "query") == 0));
        break;
    case XF_CRED_BASIC:
        FUZZ_CHECK(!c->value && c->user && c->pass);
        FUZZ_CHECK(!strchr(c->user, ':'));
        FUZZ_CHECK(c->source && strcmp(c->source, "authorization") == 0);
        break;
    default:
        FUZZ_CHECK(!"unknown credential kind");
    }
}

static void fuzz_find(const char *in, apr_size_t n, apr_pool_t *p)
{
    const char *part[3] = {NULL, NULL, NULL};
    apr_size_t pos = 0;
    xf_cred_t c, c2;
    int k;

    for (k = 0; k < 3 && pos <= n; k++) {
        part[k] = in + pos;
        pos += strlen(in + pos) + 1;
    }
    xf_auth_find(&c, part[0], part[1], part[2], p);
    check_cred(&c);
    if (c.kind == XF_CRED_SESSION && strcmp(c.source, "query") == 0) {
        /* the query is the second place: without a cookie, same answer */
        xf_auth_find(&c2, NULL, part[1], part[2], p);
        FUZZ_CHECK(c2.kind == XF_CRED_SESSION);
        FUZZ_CHECK(strcmp(c2.value, c.value) == 0);
    }
    if (c.kind == XF_CRED_BASIC) {
        /* Basic is the last resort: only when nothing else is there */
        xf_auth_find(&c2, NULL, NULL, part[2], p);
        FUZZ_CHECK(c2.kind == XF_CRED_BASIC);
        FUZZ_CHECK(strcmp(c2.user, c.user) == 0);
        FUZZ_CHECK(strcmp(c2.pass, c.pass) == 0);
    }
    xf_auth_find(&c2, NULL, NULL, NULL, p);
    FUZZ_CHECK(c2.kind == XF_CRED_NONE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    apr_size_t n, dn;
    xf_span_t a, b, s;
    walk_t w = {0, 0};
    char *in, *dst;
    int has_q, ok;

    if (size < 1)
        return 0;
    p = fuzz_pool();
    n = size - 1;
    /* exact-size copies: ASan sees any read past the end */
    in = malloc(n + 1);
    memcpy(in, data + 1, n);
    in[n] = '\0';
    s.p = in;
    s.n = n;
    w.limit = n;

    switch (data[0] % 8) {
    case 0:
        xf_parse_query(s, on_pair, &w, p);
        FUZZ_CHECK(w.pairs >= 1);
        break;
    case 1:
        xf_parse_cookie(s, on_pair, &w, p);
        break;
    case 2:
        if (xf_parse_basic(&a, &b, s, p)) {
            FUZZ_CHECK(!memchr(a.p, ':', a.n));
            FUZZ_CHECK(a.n + b.n + 1 <= 3 * (n / 4));
        }
        break;
    case 3:
        if (xf_parse_content_length(&a, s)) {
            apr_size_t i;

            FUZZ_CHECK(a.n >= 1 && a.n <= 19 && a.n <= n);
            for (i = 0; i < a.n; i++)
                FUZZ_CHECK(a.p[i] >= '0' && a.p[i] <= '9');
            FUZZ_CHECK(a.p[0] != '0' || a.n == 1);
            FUZZ_CHECK(a.p >= in && a.p + a.n <= in + n);
        }
        break;
    case 4:
        xf_parse_target(&a, &b, &has_q, in);
        FUZZ_CHECK(a.p >= in && a.p + a.n <= in + strlen(in));
        FUZZ_CHECK(b.n == 0 || (b.p >= in && b.p + b.n <= in + strlen(in)));
        FUZZ_CHECK(has_q || b.n == 0);
        break;
    case 5:
        dst = malloc(3 * (n / 4) + 1);
        ok = xf_parse_base64(dst, &dn, in, n);
        if (ok)
            FUZZ_CHECK(dn <= 3 * (n / 4));
        free(dst);
        break;
    case 6:
        dst = malloc(n + 1);
        dn = xf_parse_pct_decode(dst, in, n, data[0] & 8);
        FUZZ_CHECK(dn <= n);
        if (!memchr(in, '%', n) && !(data[0] & 8))
            FUZZ_CHECK(dn == n && memcmp(dst, in, n) == 0);
        free(dst);
        a = xf_parse_trim(in);
        FUZZ_CHECK(a.p >= in && a.p + a.n <= in + strlen(in));
        break;
    default:
        fuzz_find(in, n, p);
        break;
    }
    free(in);
    apr_pool_destroy(p);
    return 0;
}
