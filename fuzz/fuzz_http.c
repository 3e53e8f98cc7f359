/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * fuzz_http.c - the relay's response parser (xf_http.c) on arbitrary bytes
 * from a daemon, fed once whole and once cut into pieces.
 *
 * Input: byte 0 = bit 0 HEAD request, bit 1 small limits; byte 1 seeds the
 * cuts; the rest is what the daemon sends before closing.
 *
 * Invariants: the parser never consumes more than it is given; body spans
 * lie inside the bytes consumed; after the end of the body nothing more is
 * taken; and the result (status, reason, version, framing, length, header
 * fields, body bytes, how it ended and why, bytes consumed when no error)
 * is the same for every way of cutting the input, one byte at a time
 * included.
 */
#include "fuzz.h"

#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "xf_http.h"

#define NOT_REACHED ((apr_status_t)-12345)

typedef struct outcome_t {
    apr_status_t head_rv, body_rv, eof_rv;
    int status;
    const char *reason, *version;
    xf_body_e framing;
    apr_off_t length;
    const char *headers; /* every field as "name: value\n" */
    const char *why;     /* reason of an APR_EGENERAL */
    char *body;
    apr_size_t blen, used;
} outcome_t;

typedef struct fields_t {
    apr_pool_t *p;
    const char *s;
} fields_t;

static int collect(void *baton, const char *k, const char *v)
{
    fields_t *f = baton;

    f->s = apr_pstrcat(f->p, f->s, k, ": ", v, "\n", NULL);
    return 1;
}

/* One pass over in[0..n) cut at the given offsets (ascending, < n). */
static void parse(outcome_t *o, const char *in, apr_size_t n,
                  const apr_size_t *cuts, int ncuts, int flags, apr_pool_t *p)
{
    xf_http_limits_t small = {64, 256, 4};
    xf_http_resp_t *r;
    apr_size_t pos = 0;
    int i, stage = 0; /* head, body, stopped */

    memset(o, 0, sizeof(*o));
    o->head_rv = o->body_rv = o->eof_rv = NOT_REACHED;
    o->body = apr_palloc(p, n + 1);
    xf_http_resp_create(&r, flags & 1, (flags & 2) ? &small : NULL, p);

    for (i = 0; i <= ncuts && stage < 2; i++) {
        apr_size_t end = i < ncuts ? cuts[i] : n, len = end - pos, off = 0;
        apr_size_t used = (apr_size_t)-1;
        char *buf = malloc(len ? len : 1); /* exact size for ASan */

        FUZZ_CHECK(buf != NULL);
        memcpy(buf, in + pos, len);
        pos = end;
        if (stage == 0) {
            const char *why = NULL;

            o->head_rv = xf_http_resp_head(r, buf, len, &used, &why);
            FUZZ_CHECK(used <= len);
            off = used;
            o->used += used;
            if (o->head_rv == APR_INCOMPLETE)
                FUZZ_CHECK(used == len);
            else if (o->head_rv == APR_SUCCESS)
                stage = 1;
            else {
                FUZZ_CHECK(o->head_rv == APR_EGENERAL && why != NULL);
                o->why = why;
                stage = 2;
            }
        }
        while (stage == 1) {
            const char *d = NULL, *why = NULL;
            apr_size_t dl = (apr_size_t)-1;
            apr_status_t rv;

            rv = xf_http_resp_body(r, buf + off, len - off, &used, &d, &dl,
                                   &why);
            FUZZ_CHECK(used <= len - off);
            if (dl > 0) {
                FUZZ_CHECK(d >= buf + off && d + dl <= buf + off + used);
                memcpy(o->body + o->blen, d, dl);
                o->blen += dl;
                FUZZ_CHECK(o->blen <= n);
            }
            off += used;
            o->used += used;
            o->body_rv = rv;
            if (rv == APR_SUCCESS) {
                /* progress, and something left to feed */
                FUZZ_CHECK(used > 0 && off < len);
                continue;
            }
            if (rv == APR_INCOMPLETE) {
                FUZZ_CHECK(off == len);
                break;
            }
            stage = 2;
            if (rv == APR_EOF) {
                rv = xf_http_resp_body(r, buf + off, len - off, &used, &d, &dl,
                                       &why);
                FUZZ_CHECK(rv == APR_EOF && used == 0 && dl == 0);
            }
            else {
                FUZZ_CHECK(rv == APR_EGENERAL && why != NULL);
                o->why = why;
            }
        }
        free(buf);
    }
    if (o->head_rv != APR_EGENERAL && o->body_rv != APR_EGENERAL)
        o->eof_rv = xf_http_resp_eof(r);
    if (o->head_rv == APR_SUCCESS) {
        fields_t f = {p, ""};

        o->status = xf_http_resp_status(r);
        o->reason = xf_http_resp_reason(r);
        o->version = xf_http_resp_version(r);
        o->framing = xf_http_resp_framing(r);
        o->length = xf_http_resp_length(r);
        apr_table_do(collect, &f, xf_http_resp_headers(r), NULL);
        o->headers = f.s;
        FUZZ_CHECK(o->status >= 100 && o->status <= 999);
        FUZZ_CHECK(o->reason && o->version);
        FUZZ_CHECK((o->framing == XF_BODY_LENGTH) == (o->length >= 0));
        if (o->framing == XF_BODY_NONE)
            FUZZ_CHECK(o->blen == 0);
        if (o->framing == XF_BODY_LENGTH)
            FUZZ_CHECK((apr_off_t)o->blen <= o->length);
    }
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void same(const outcome_t *a, const outcome_t *b)
{
    FUZZ_CHECK(a->head_rv == b->head_rv);
    FUZZ_CHECK(a->body_rv == b->body_rv);
    FUZZ_CHECK(a->eof_rv == b->eof_rv);
    FUZZ_CHECK(a->status == b->status);
    FUZZ_CHECK(same_str(a->reason, b->reason));
    FUZZ_CHECK(same_str(a->version, b->version));
    FUZZ_CHECK(a->framing == b->framing);
    FUZZ_CHECK(a->length == b->length);
    FUZZ_CHECK(same_str(a->headers, b->headers));
    FUZZ_CHECK(a->blen == b->blen && memcmp(a->body, b->body, a->blen) == 0);
    if (!same_str(a->why, b->why))
        fprintf(stderr, "whole: %s; cut: %s\n", a->why ? a->why : "-",
                b->why ? b->why : "-");
    FUZZ_CHECK(same_str(a->why, b->why));
    /* after an error, what earlier pieces took depends on the cuts */
    if (!a->why)
        FUZZ_CHECK(a->used == b->used);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    outcome_t whole, cut;
    apr_size_t n, *cuts, i;
    unsigned int seed;
    const char *in;
    int ncuts = 0;

    if (size < 2 || size > 8192) /* one byte at a time is quadratic */
        return 0;
    p = fuzz_pool();
    in = (const char *)data + 2;
    n = size - 2;
    cuts = apr_palloc(p, (n + 1) * sizeof(*cuts));

    parse(&whole, in, n, NULL, 0, data[0], p);

    /* cuts from a small generator seeded by byte 1 */
    seed = data[1] * 2654435761u + 1;
    for (i = 1; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        if (((seed >> 16) & 7) == 0)
            cuts[ncuts++] = i;
    }
    parse(&cut, in, n, cuts, ncuts, data[0], p);
    same(&whole, &cut);

    /* one byte at a time */
    for (ncuts = 0, i = 1; i < n; i++)
        cuts[ncuts++] = i;
    parse(&cut, in, n, cuts, ncuts, data[0], p);
    same(&whole, &cut);

    apr_pool_destroy(p);
    return 0;
}
