/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * test_xf_http.c - the relay-mode response parser. Every input is fed in
 * one piece, split at every position, byte by byte and in random pieces
 * (each piece in its own malloc'd buffer, so ASan/valgrind see overreads),
 * and every run must give the same result as the one-piece run.
 */
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "xf_test.h"

#include "xf_http.h"

#define NOT_REACHED ((apr_status_t)-1)

/* What a run of the parser over one input gave */
typedef struct {
    apr_status_t head_rv; /* last xf_http_resp_head() result */
    apr_status_t body_rv; /* last xf_http_resp_body() result, or NOT_REACHED */
    apr_status_t eof_rv;  /* xf_http_resp_eof() at end of input, or
                           * NOT_REACHED after an error */
    const char *why;      /* reason of an APR_EGENERAL, else NULL */
    int status;
    const char *reason;
    const char *version;
    xf_body_e framing;
    apr_off_t length;
    const apr_table_t *headers;
    char *body; /* reassembled body bytes */
    apr_size_t blen;
    apr_size_t used; /* bytes consumed by head and body */
} result_t;

/* Feed in[0..n) as pieces of the given lengths, as the relay glue does */
static void run(result_t *res, const char *in, apr_size_t n,
                const apr_size_t *pieces, apr_size_t npieces, int head_req,
                const xf_http_limits_t *lim, apr_pool_t *p)
{
    xf_http_resp_t *r;
    apr_size_t i, pos = 0;
    int stage = 0; /* 0 head, 1 body, 2 stopped */

    memset(res, 0, sizeof(*res));
    res->head_rv = res->body_rv = res->eof_rv = NOT_REACHED;
    res->body = apr_palloc(p, n + 1);
    xf_http_resp_create(&r, head_req, lim, p);

    for (i = 0; i < npieces && stage < 2; i++) {
        apr_size_t len = pieces[i], off = 0, used = 99;
        char *buf = malloc(len ? len : 1);

        assert_non_null(buf);
        memcpy(buf, in + pos, len);
        pos += len;
        if (stage == 0) {
            res->head_rv = xf_http_resp_head(r, buf, len, &used, &res->why);
            assert_true(used <= len);
            off = used;
            res->used += used;
            if (res->head_rv == APR_INCOMPLETE) {
                assert_int_equal(used, len);
            }
            else {
                stage = res->head_rv == APR_SUCCESS ? 1 : 2;
            }
        }
        while (stage == 1) {
            const char *d = buf;
            apr_size_t dl = 99;
            apr_status_t rv = xf_http_resp_body(r, buf + off, len - off, &used,
                                                &d, &dl, &res->why);

            assert_true(used <= len - off);
            if (dl > 0) {
                /* a span of the buffer we fed, inside what was consumed */
                assert_true(d >= buf + off && d + dl <= buf + off + used);
                memcpy(res->body + res->blen, d, dl);
                res->blen += dl;
            }
            else {
                assert_null(d);
            }
            off += used;
            res->used += used;
            res->body_rv = rv;
            if (rv == APR_SUCCESS) {
                assert_true(used > 0 && off < len);
                continue;
            }
            if (rv == APR_INCOMPLETE) {
                assert_int_equal(off, len);
                break;
            }
            stage = 2;
            if (rv == APR_EOF) {
                /* once ended, nothing more is taken */
                rv = xf_http_resp_body(r, buf + off, len - off, &used, &d, &dl,
                                       &res->why);
                assert_int_equal(rv, APR_EOF);
                assert_int_equal(used, 0);
                assert_int_equal(dl, 0);
            }
        }
        free(buf);
    }
    if (res->head_rv != APR_EGENERAL && res->body_rv != APR_EGENERAL) {
        res->eof_rv = xf_http_resp_eof(r);
    }
    if (res->head_rv == APR_SUCCESS) {
        res->status = xf_http_resp_status(r);
        res->reason = xf_http_resp_reason(r);
        res->version = xf_http_resp_version(r);
        res->framing = xf_http_resp_framing(r);
        res->length = xf_http_resp_length(r);
        res->headers = xf_http_resp_headers(r);
    }
}

static void assert_str_same(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        assert_ptr_equal(a, b);
    }
    else {
        assert_string_equal(a, b);
    }
}

static void compare(const result_t *a, const result_t *b)
{
    assert_int_equal(a->head_rv, b->head_rv);
    assert_int_equal(a->body_rv, b->body_rv);
    assert_int_equal(a->eof_rv, b->eof_rv);
    assert_str_same(a->why, b->why);
    if (a->why == NULL) {
        /* after an error, what earlier pieces used depends on the split */
        assert_int_equal(a->used, b->used);
    }
    assert_int_equal(a->blen, b->blen);
    assert_memory_equal(a->body, b->body, a->blen);
    if (a->head_rv == APR_SUCCESS) {
        const apr_array_header_t *ea = apr_table_elts(a->headers);
        const apr_array_header_t *eb = apr_table_elts(b->headers);
        const apr_table_entry_t *ta = (const apr_table_entry_t *)ea->elts;
        const apr_table_entry_t *tb = (const apr_table_entry_t *)eb->elts;
        int i;

        assert_int_equal(a->status, b->status);
        assert_string_equal(a->reason, b->reason);
        assert_string_equal(a->version, b->version);
        assert_int_equal(a->framing, b->framing);
        assert_int_equal(a->length, b->length);
        assert_int_equal(ea->nelts, eb->nelts);
        for (i = 0; i < ea->nelts; i++) {
            assert_string_equal(ta[i].key, tb[i].key);
            assert_string_equal(ta[i].val, tb[i].val);
        }
    }
}

static unsigned long rng = 12345;

static apr_size_t rand_below(apr_size_t n)
{
    rng = rng * 6364136223846793005UL + 1442695040888963407UL;
    return (apr_size_t)((rng >> 33) % n);
}

static void run_cmp(const result_t *whole, const char *in, apr_size_t n,
                    const apr_size_t *pieces, apr_size_t npieces, int head_req,
                    const xf_http_limits_t *lim, apr_pool_t *p)
{
    apr_pool_t *sub;
    result_t res;

    apr_pool_create(&sub, p);
    run(&res, in, n, pieces, npieces, head_req, lim, sub);
    compare(whole, &res);
    apr_pool_destroy(sub);
}

/* Run in one piece, then check every other way of splitting it agrees */
static const result_t *check_lim(const char *in, apr_size_t n, int head_req,
                                 const xf_http_limits_t *lim, apr_pool_t *p)
{
    result_t *whole = apr_pcalloc(p, sizeof(*whole));
    apr_size_t *pieces = malloc((n + 1) * sizeof(*pieces));
    apr_size_t k, step = n <= 2048 ? 1 : n / 1024;
    int round;

    assert_non_null(pieces);
    pieces[0] = n;
    run(whole, in, n, pieces, 1, head_req, lim, p);
    for (k = 1; k < n; k += step) {
        pieces[0] = k;
        pieces[1] = n - k;
        run_cmp(whole, in, n, pieces, 2, head_req, lim, p);
    }
    for (k = 0; k < n; k++) {
        pieces[k] = 1;
    }
    if (n > 0) {
        run_cmp(whole, in, n, pieces, n, head_req, lim, p);
    }
    for (round = 0; round < 20 && n > 0; round++) {
        apr_size_t left = n, np = 0;

        while (left > 0) {
            apr_size_t len = 1 + rand_below(left < 40 ? left : 40);
            pieces[np++] = len;
            left -= len;
        }
        run_cmp(whole, in, n, pieces, np, head_req, lim, p);
    }
    free(pieces);
    return whole;
}

static const result_t *check(const char *in, apr_pool_t *p)
{
    return check_lim(in, strlen(in), 0, NULL, p);
}

static void assert_fails(const char *in, const char *why,
                         const xf_http_limits_t *lim, apr_pool_t *p)
{
    const result_t *res = check_lim(in, strlen(in), 0, lim, p);

    if (res->head_rv == APR_SUCCESS) {
        assert_int_equal(res->body_rv, APR_EGENERAL);
    }
    else {
        assert_int_equal(res->head_rv, APR_EGENERAL);
    }
    assert_int_equal(res->eof_rv, NOT_REACHED);
    assert_string_equal(res->why, why);
}

static const char *field(const result_t *res, const char *name)
{
    return apr_table_get(res->headers, name);
}

static int nfields(const result_t *res)
{
    return apr_table_elts(res->headers)->nelts;
}

static void test_content_length(void **state)
{
    const char *in = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                     "Content-Length: 11\r\n\r\nhello world";
    const result_t *res = check(in, *state);

    assert_int_equal(res->head_rv, APR_SUCCESS);
    assert_int_equal(res->status, 200);
    assert_string_equal(res->reason, "OK");
    assert_string_equal(res->version, "1.1");
    assert_int_equal(res->framing, XF_BODY_LENGTH);
    assert_int_equal(res->length, 11);
    assert_int_equal(nfields(res), 2);
    assert_string_equal(field(res, "content-type"), "text/plain");
    assert_int_equal(res->blen, 11);
    assert_memory_equal(res->body, "hello world", 11);
    assert_int_equal(res->body_rv, APR_EOF);
    assert_int_equal(res->eof_rv, APR_SUCCESS);
    assert_int_equal(res->used, strlen(in));
}

static void test_http10_until_close(void **state)
{
    const char *in = "HTTP/1.0 200 Fine Thanks\r\nServer: x\r\n\r\n"
                     "line one\r\nline two";
    const result_t *res = check(in, *state);

    assert_int_equal(res->status, 200);
    assert_string_equal(res->reason, "Fine Thanks");
    assert_string_equal(res->version, "1.0");
    assert_int_equal(res->framing, XF_BODY_CLOSE);
    assert_int_equal(res->length, -1);
    assert_int_equal(res->blen, 18);
    assert_memory_equal(res->body, "line one\r\nline two", 18);
    assert_int_equal(res->body_rv, APR_INCOMPLETE);
    assert_int_equal(res->eof_rv, APR_SUCCESS);
    assert_int_equal(res->used, strlen(in));
}

static void test_chunked(void **state)
{
    const char *in = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                     "Content-Length: 99\r\n\r\n"
                     "5;name=val\r\nhello\r\n"
                     "A ; x=\"y\" ;z\r\n, 01234567\r\n"
                     "1a\r\nabcdefghijklmnopqrstuvwxyz\r\n"
                     "00000000000000000001\r\n!\r\n"
                     "0;last\r\nX-Trailer: 1\r\nY: two\r\n\r\n";
    const char *want = "hello, 01234567abcdefghijklmnopqrstuvwxyz!";
    const result_t *res = check(in, *state);

    assert_int_equal(res->framing, XF_BODY_CHUNKED);
    assert_int_equal(res->length, -1);
    assert_int_equal(res->blen, strlen(want));
    assert_memory_equal(res->body, want, strlen(want));
    assert_int_equal(res->body_rv, APR_EOF);
    assert_int_equal(res->eof_rv, APR_SUCCESS);
    assert_int_equal(res->used, strlen(in));
    assert_null(field(res, "X-Trailer"));
}

static void test_chunked_bare_lf_and_hex_case(void **state)
{
    const char *in = "HTTP/1.1 200 OK\nTransfer-Encoding: gzip, Chunked\n\n"
                     "b\nhello world\nB\r\nHELLO WORLD\r\n0\n\nNEXT";
    const result_t *res = check(in, *state);

    assert_int_equal(res->framing, XF_BODY_CHUNKED);
    assert_int_equal(res->blen, 22);
    assert_memory_equal(res->body, "hello worldHELLO WORLD", 22);
    assert_int_equal(res->body_rv, APR_EOF);
    assert_int_equal(res->used, strlen(in) - 4);
}

static void test_transfer_encoding(void **state)
{
    const result_t *res;

    res = check("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n"
                "Content-Length: 3\r\n\r\nabcdef",
                *state);
    assert_int_equal(res->framing, XF_BODY_CLOSE);
    assert_int_equal(res->blen, 6);
    res = check("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
                "3\r\nabc\r\n0\r\n\r\n",
                *state);
    assert_int_equal(res->framing, XF_BODY_CLOSE);
    res = check("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n"
                "transfer-encoding: chunked ,\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                *state);
    assert_int_equal(res->framing, XF_BODY_CHUNKED);
    assert_int_equal(nfields(res), 2);
    /* an invalid Content-Length does not matter next to chunked */
    res = check("HTTP/1.1 200 OK\r\nContent-Length: x\r\n"
                "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                *state);
    assert_int_equal(res->framing, XF_BODY_CHUNKED);
    assert_int_equal(res->body_rv, APR_EOF);
    assert_int_equal(res->blen, 0);
}

static void test_interim(void **state)
{
    const char *in = "HTTP/1.1 100 Continue\r\n\r\n"
                     "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n"
                     "Content-Length: junk\r\n\r\n"
                     "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
    const result_t *res = check(in, *state);

    assert_int_equal(res->status, 201);
    assert_string_equal(res->reason, "Created");
    assert_int_equal(nfields(res), 1);
    assert_null(field(res, "Link"));
    assert_int_equal(res->framing, XF_BODY_LENGTH);
    assert_memory_equal(res->body, "ok", 2);
    assert_int_equal(res->used, strlen(in));
}

static void test_101_is_final(void **state)
{
    const char *in = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: ws\r\n"
                     "Connection: Upgrade\r\n\r\n\x81\x05hello";
    const result_t *res = check(in, *state);

    assert_int_equal(res->status, 101);
    assert_int_equal(res->framing, XF_BODY_NONE);
    assert_int_equal(nfields(res), 2);
    assert_int_equal(res->body_rv, APR_EOF);
    assert_int_equal(res->blen, 0);
    assert_int_equal(res->used, strlen(in) - 7);
}

static void test_204_304_no_body(void **state)
{
    static const char *const ins[] = {
        "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"};
    apr_size_t i;

    for (i = 0; i < sizeof(ins) / sizeof(ins[0]); i++) {
        const char *in = apr_pstrcat(*state, ins[i], "0123456789", NULL);
        const result_t *res = check(in, *state);

        assert_int_equal(res->framing, XF_BODY_NONE);
        assert_int_equal(res->length, -1);
        assert_int_equal(res->body_rv, APR_EOF);
        assert_int_equal(res->blen, 0);
        assert_int_equal(res->eof_rv, APR_SUCCESS);
        assert_int_equal(res->used, strlen(ins[i]));
    }
}

static void test_head_request(void **state)
{
    const char *in = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
    const result_t *res = check_lim(in, strlen(in), 1, NULL, *state);

    assert_int_equal(res->framing, XF_BODY_NONE);
    assert_int_equal(res->length, -1);
    assert_string_equal(field(res, "Content-Length"), "1000");
    assert_int_equal(res->body_rv, APR_EOF);
    assert_int_equal(res->eof_rv, APR_SUCCESS);
    in = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    res = check_lim(in, strlen(in), 1, NULL, *state);
    assert_int_equal(res->framing, XF_BODY_NONE);
}

static void test_set_cookie_kept_apart(void **state)
{
    const char *in = "HTTP/1.1 200 OK\r\nSet-Cookie: a=1; Path=/\r\n"
                     "X-Odd_Name!:   padded value \t \r\n"
                     "set-cookie: b=2, c=3\r\nEmpty:\r\n"
                     "Content-Length: 0\r\n\r\n";
    const result_t *res = check(in, *state);
    const apr_array_header_t *arr = apr_table_elts(res->headers);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;

    assert_int_equal(arr->nelts, 5);
    assert_string_equal(e[0].key, "Set-Cookie");
    assert_string_equal(e[0].val, "a=1; Path=/");
    assert_string_equal(e[1].key, "X-Odd_Name!");
    assert_string_equal(e[1].val, "padded value");
    assert_string_equal(e[2].key, "set-cookie");
    assert_string_equal(e[2].val, "b=2, c=3");
    assert_string_equal(e[3].key, "Empty");
    assert_string_equal(e[3].val, "");
}

static void test_bare_lf(void **state)
{
    const char *in = "HTTP/1.1 200 OK\nA: 1\nContent-Length: 3\n\nabc";
    const result_t *res = check(in, *state);

    assert_int_equal(res->status, 200);
    assert_string_equal(field(res, "A"), "1");
    assert_int_equal(res->blen, 3);
    assert_int_equal(res->body_rv, APR_EOF);
}

static void test_status_lines(void **state)
{
    static const char *const bad[] = {
        "HTTP/1.1 OK\r\n\r\n",      "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",   "HTTP/1.1 2000\r\n\r\n",
        "HTTP/1.1  200 OK\r\n\r\n", "ICY 200 OK\r\n\r\n",
        "\r\nHTTP/1.1 200 OK\r\n",  "HTTP/1.1 099 x\r\n\r\n",
        "HTTP/1.1 600 x\r\n\r\n",   "http/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",   "HTTP/1.1 200 O\x01K\r\n\r\n",
        "HTTP/1.x 200 OK\r\n\r\n",  "HTTP/1.1 2a0 OK\r\n\r\n",
        "HTTP/1.1 200 A\rB\r\n\r\n"};
    const result_t *res;
    apr_size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_fails(bad[i], "malformed status line", NULL, *state);
    }
    res = check("HTTP/1.1 404\r\n\r\n", *state);
    assert_int_equal(res->status, 404);
    assert_string_equal(res->reason, "");
    assert_int_equal(res->framing, XF_BODY_CLOSE);
    res = check("HTTP/1.1 599 \r\n\r\n", *state);
    assert_int_equal(res->status, 599);
    assert_string_equal(res->reason, "");
    res = check("HTTP/1.1 500 Not \tso  Fine\xff\r\n\r\n", *state);
    assert_string_equal(res->reason, "Not \tso  Fine\xff");
}

static void test_eof_early(void **state)
{
    static const char *const ins[] = {"", "HTTP/1.1 20", "HTTP/1.1 200 OK\r\n",
                                      "HTTP/1.1 100 Continue\r\n\r\n",
                                      "HTTP/1.1 200 OK\r\nA: b\r\n\r"};
    apr_size_t i;

    for (i = 0; i < sizeof(ins) / sizeof(ins[0]); i++) {
        const result_t *res = check(ins[i], *state);

        assert_int_equal(res->head_rv, APR_INCOMPLETE);
        assert_int_equal(res->body_rv, NOT_REACHED);
        assert_int_equal(res->eof_rv, APR_EOF);
        assert_int_equal(res->used, strlen(ins[i]));
    }
}

/* pre, then 'v' up to total bytes, then post */
static const char *pad(apr_pool_t *p, const char *pre, apr_size_t total,
                       const char *post)
{
    apr_size_t n = strlen(pre);
    char *v = apr_palloc(p, total - n + 1);

    memset(v, 'v', total - n);
    v[total - n] = '\0';
    return apr_pstrcat(p, pre, v, post, NULL);
}

static void test_line_too_long(void **state)
{
    xf_http_limits_t lim = {32, 0, 0};
    const result_t *res;
    const char *in;

    /* a line of exactly 32 bytes passes, with CRLF or LF */
    in = pad(*state, "HTTP/1.1 200 OK\r\nX: ", 17 + 32, "\r\n\r\n");
    res = check_lim(in, strlen(in), 0, &lim, *state);
    assert_int_equal(strlen(field(res, "X")), 29);
    in = pad(*state, "HTTP/1.1 200 OK\nX: ", 16 + 32, "\n\n");
    res = check_lim(in, strlen(in), 0, &lim, *state);
    assert_int_equal(res->head_rv, APR_SUCCESS);
    in = pad(*state, "HTTP/1.1 200 OK ", 32, "\r\n\r\n");
    res = check_lim(in, strlen(in), 0, &lim, *state);
    assert_int_equal(strlen(res->reason), 19);
    /* 33 fail, also when the 33rd byte is a CR that is not the line end */
    assert_fails(pad(*state, "HTTP/1.1 200 OK\r\nX: ", 17 + 33, "\r\n\r\n"),
                 "header line too long", &lim, *state);
    assert_fails(pad(*state, "HTTP/1.1 200 OK\nX: ", 16 + 33, "\n\n"),
                 "header line too long", &lim, *state);
    assert_fails(pad(*state, "HTTP/1.1 200 OK\r\nX: ", 17 + 32, "\r\r\n\r\n"),
                 "header line too long", &lim, *state);
    assert_fails(pad(*state, "HTTP/1.1 200 OK ", 33, "\r\n\r\n"),
                 "header line too long", &lim, *state);
    assert_fails(pad(*state, "HTTP/1.1 200 OK\r\nX: ", 17 + 40, ""),
                 "header line too long", &lim, *state);
    /* the default: 8192 */
    res = check(pad(*state, "HTTP/1.1 200 OK\r\nX: ", 17 + 8192, "\r\n\r\n"),
                *state);
    assert_int_equal(strlen(field(res, "X")), 8189);
    assert_fails(pad(*state, "HTTP/1.1 200 OK\r\nX: ", 17 + 8193, "\r\n\r\n"),
                 "header line too long", NULL, *state);
}

static void test_head_too_large(void **state)
{
    xf_http_limits_t lim = {0, 64, 0};
    const char *pre = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nD: ";
    const result_t *res;
    const char *in;

    /* 64 bytes exactly pass; the body does not count */
    in = pad(*state, pre, 64 - 4, "\r\n\r\nbody");
    res = check_lim(in, strlen(in), 0, &lim, *state);
    assert_int_equal(res->head_rv, APR_SUCCESS);
    assert_int_equal(res->used, 64 + 4);
    assert_int_equal(res->blen, 4);
    assert_fails(pad(*state, pre, 64 - 3, "\r\n\r\n"),
                 "response head too large", &lim, *state);
    /* interim heads count too */
    assert_fails("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
                 "HTTP/1.1 200 OK\r\n\r\n",
                 "response head too large", &lim, *state);
    /* the default: 65536 */
    in = "HTTP/1.1 200 OK\r\n";
    while (strlen(in) < 65536 - 8000) {
        in = pad(*state, apr_pstrcat(*state, in, "X: ", NULL),
                 strlen(in) + 8000 - 2, "\r\n");
    }
    res = check(pad(*state, apr_pstrcat(*state, in, "Y: ", NULL), 65536 - 4,
                    "\r\n\r\n"),
                *state);
    assert_int_equal(res->head_rv, APR_SUCCESS);
    assert_fails(pad(*state, apr_pstrcat(*state, in, "Y: ", NULL), 65536 - 3,
                     "\r\n\r\n"),
                 "response head too large", NULL, *state);
}

/* Found by fuzz_http (fuzz/regress/http/head-limits): a header line over
 * both the line and the head limit was "header line too long" when read
 * at once but "response head too large" when it came in pieces. The limit
 * passed first in the byte stream is reported, whatever the reads. */
static void test_head_limits_any_split(void **state)
{
    xf_http_limits_t lim = {32, 80, 0};
    const char *st = "HTTP/1.1 200 OK\r\n";
    const char *a3 = "A: 1\r\nA: 1\r\nA: 1\r\n";

    /* 35 bytes of head, then a line of 40: the line limit first */
    assert_fails(
        apr_pstrcat(*state, st, a3, pad(*state, "V: ", 40, "\r\n\r\n"), NULL),
        "header line too long", &lim, *state);
    /* 71 bytes of head, then the same line: the head limit first */
    assert_fails(apr_pstrcat(*state, st, a3, a3, pad(*state, "W: ", 16, "\r\n"),
                             pad(*state, "V: ", 40, "\r\n\r\n"), NULL),
                 "response head too large", &lim, *state);
    /* a CR at the line limit counts only once a byte other than LF
     * follows it */
    assert_fails(
        apr_pstrcat(*state, st, pad(*state, "V: ", 32, "\rx\r\n\r\n"), NULL),
        "header line too long", &lim, *state);
}

static void test_too_many_fields(void **state)
{
    xf_http_limits_t lim = {0, 0, 3};
    const char *in = "HTTP/1.1 200 OK\r\nA: 1\r\nA: 2\r\nA: 3\r\n\r\n";
    const result_t *res;
    int i;

    res = check_lim(in, strlen(in), 0, &lim, *state);
    assert_int_equal(nfields(res), 3);
    assert_fails("HTTP/1.1 200 OK\r\nA: 1\r\nA: 2\r\nA: 3\r\nA: 4\r\n\r\n",
                 "too many header fields", &lim, *state);
    /* default 100, counted per head */
    in = "HTTP/1.1 103 Hints\r\nA: 1\r\nA: 2\r\n\r\nHTTP/1.1 200 OK\r\n";
    for (i = 0; i < 100; i++) {
        in = apr_pstrcat(*state, in, "F: x\r\n", NULL);
    }
    res = check(apr_pstrcat(*state, in, "\r\n", NULL), *state);
    assert_int_equal(nfields(res), 100);
    assert_fails(apr_pstrcat(*state, in, "F: x\r\n\r\n", NULL),
                 "too many header fields", NULL, *state);
}

static void test_bad_fields(void **state)
{
    assert_fails("HTTP/1.1 200 OK\r\nA: 1\r\n continued\r\n\r\n",
                 "obsolete line folding", NULL, *state);
    assert_fails("HTTP/1.1 200 OK\r\nA: 1\r\n\tcontinued\r\n\r\n",
                 "obsolete line folding", NULL, *state);
    assert_fails("HTTP/1.1 200 OK\r\n A: 1\r\n\r\n", "obsolete line folding",
                 NULL, *state);
    assert_fails("HTTP/1.1 200 OK\r\nA : 1\r\n\r\n", "malformed header field",
                 NULL, *state);
    assert_fails("HTTP/1.1 200 OK\r\n: 1\r\n\r\n", "malformed header field",
                 NULL, *state);
    assert_fails("HTTP/1.1 200 OK\r\nNo colon\r\n\r\n",
                 "malformed header field", NULL, *state);
    assert_fails("HTTP/1.1 200 OK\r\nA(b): 1\r\n\r\n", "malformed header field",
                 NULL, *state);
    assert_fails("HTTP/1.1 200 OK\r\nA: 1\rB: 2\r\n\r\n",
                 "invalid character in header field value", NULL, *state);
    assert_fails("HTTP/1.1 200 OK\r\nA: 1\x7f\r\n\r\n",
                 "invalid character in header field value", NULL, *state);
    assert_fails("HTTP/1.1 100 Continue\r\nA b: 1\r\n\r\n",
                 "malformed header field", NULL, *state);
}

static void test_content_length_values(void **state)
{
    static const char *const bad[] = {"12a",
                                      "-1",
                                      "",
                                      "+5",
                                      "1 2",
                                      "5, 6",
                                      "0x10",
                                      "5,",
                                      ",5",
                                      "99999999999999999999",
                                      "9223372036854775808"};
    const result_t *res;
    apr_size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_fails(apr_psprintf(*state,
                                  "HTTP/1.1 200 OK\r\nContent-Length: %s\r\n"
                                  "\r\n",
                                  bad[i]),
                     "invalid Content-Length", NULL, *state);
    }
    assert_fails("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                 "content-length: 6\r\n\r\n",
                 "invalid Content-Length", NULL, *state);
    res = check("HTTP/1.1 200 OK\r\nContent-Length: 5 , 5\r\n"
                "Content-Length:005\r\n\r\nabcdefg",
                *state);
    assert_int_equal(res->framing, XF_BODY_LENGTH);
    assert_int_equal(res->length, 5);
    assert_int_equal(res->blen, 5);
    assert_int_equal(res->used, 67);
    /* largest value accepted; the body is then truncated */
    res = check("HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\n"
                "\r\nabc",
                *state);
    assert_int_equal(res->length, APR_INT64_MAX);
    assert_int_equal(res->body_rv, APR_INCOMPLETE);
    assert_int_equal(res->eof_rv, APR_EOF);
    /* framing NONE makes a bad value irrelevant */
    res = check("HTTP/1.1 204 No\r\nContent-Length: x\r\n\r\n", *state);
    assert_int_equal(res->framing, XF_BODY_NONE);
}

static void test_bad_chunks(void **state)
{
    static const char *const bad[] = {"zz\r\n",
                                      "\r\n",
                                      "\n",
                                      "-5\r\n",
                                      " 5\r\n",
                                      "5 x\r\n",
                                      "5\rX\r\nhello\r\n",
                                      "5\r\nhelloX\r\n",
                                      "5\r\nhello\rX",
                                      "5\r\nhello\r\r\n",
                                      "0x5\r\nhello\r\n",
                                      "5;a\rb\r\nhello\r\n",
                                      "10000000000000000\r\n",
                                      "8000000000000000\r\n"};
    const result_t *res;
    apr_size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_fails(apr_pstrcat(*state,
                                 "HTTP/1.1 200 OK\r\n"
                                 "Transfer-Encoding: chunked\r\n\r\n",
                                 bad[i], NULL),
                     "bad chunk", NULL, *state);
    }
    /* the largest size parses; the body is then truncated */
    res = check("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                "7FFFFFFFFFFFFFFF \t; ext\r\nabc",
                *state);
    assert_int_equal(res->body_rv, APR_INCOMPLETE);
    assert_int_equal(res->blen, 3);
    assert_int_equal(res->eof_rv, APR_EOF);
}

static void test_chunk_limits(void **state)
{
    xf_http_limits_t lim = {32, 80, 0};
    const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    const char *tr = "T: 1\r\nT: 1\r\nT: 1\r\nT: 1\r\nT: 1\r\nT: 1\r\n";
    const result_t *res;
    const char *in;

    /* 32 bytes per line, 80 bytes of trailers pass */
    in =
        apr_pstrcat(*state, head, pad(*state, "1;", 32, "\r\nx\r\n0\r\n"),
                    pad(*state, "T: ", 32, "\r\n"), tr, "U: 123\r\n\r\n", NULL);
    res = check_lim(in, strlen(in), 0, &lim, *state);
    assert_int_equal(res->body_rv, APR_EOF);
    assert_int_equal(res->blen, 1);
    assert_int_equal(res->used, strlen(in));
    assert_fails(
        apr_pstrcat(*state, head, pad(*state, "1;", 33, "\r\nx"), NULL),
        "chunk size line too long", &lim, *state);
    assert_fails(apr_pstrcat(*state, head,
                             pad(*state, "0\r\nT: ", 3 + 33, "\r\n\r\n"), NULL),
                 "trailer line too long", &lim, *state);
    assert_fails(apr_pstrcat(*state, head, "0\r\n",
                             pad(*state, "T: ", 32, "\r\n"), tr,
                             "U: 1234\r\n\r\n", NULL),
                 "trailer section too large", &lim, *state);
}

/* Found by fuzz_http (fuzz/regress/http/trailer-limits): a trailer line
 * over both limits was "line too long" when read at once but "section too
 * large" when it came in pieces. Now the limit passed first in the byte
 * stream is reported, whatever the reads. */
static void test_trailer_limits_any_split(void **state)
{
    xf_http_limits_t lim = {32, 80, 0};
    const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    const char *tr = "T: 1\r\nT: 1\r\nT: 1\r\nT: 1\r\nT: 1\r\nT: 1\r\n";

    /* 36 bytes of trailers, then a line of 40: the section (80) is passed
     * at its 45th byte, the line limit (32) at its 33rd */
    assert_fails(apr_pstrcat(*state, head, "0\r\n", tr,
                             pad(*state, "V: ", 40, "\r\n\r\n"), NULL),
                 "trailer line too long", &lim, *state);
    /* 66 bytes of trailers, then the same line: the section first */
    assert_fails(apr_pstrcat(*state, head, "0\r\n", tr,
                             pad(*state, "W: ", 28, "\r\n"),
                             pad(*state, "V: ", 40, "\r\n\r\n"), NULL),
                 "trailer section too large", &lim, *state);
}

static void test_truncated(void **state)
{
    const result_t *res;

    res = check("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345", *state);
    assert_int_equal(res->body_rv, APR_INCOMPLETE);
    assert_int_equal(res->blen, 5);
    assert_int_equal(res->eof_rv, APR_EOF);
    res = check("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                "5\r\nhello\r\n0\r\n",
                *state);
    assert_int_equal(res->body_rv, APR_INCOMPLETE);
    assert_int_equal(res->blen, 5);
    assert_int_equal(res->eof_rv, APR_EOF);
    res =
        check("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", *state);
    assert_int_equal(res->eof_rv, APR_EOF);
    res = check("HTTP/1.1 200 OK\r\n\r\n", *state);
    assert_int_equal(res->body_rv, APR_INCOMPLETE);
    assert_int_equal(res->eof_rv, APR_SUCCESS);
}

static void test_bytes_after_body(void **state)
{
    const char *in = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1";
    const result_t *res = check(in, *state);

    assert_int_equal(res->body_rv, APR_EOF);
    assert_int_equal(res->blen, 3);
    assert_int_equal(res->used, strlen(in) - 8);
    in = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
         "3\r\nabc\r\n0\r\nT: 1\r\n\r\nHTTP/1.1";
    res = check(in, *state);
    assert_int_equal(res->body_rv, APR_EOF);
    assert_int_equal(res->used, strlen(in) - 8);
}

static void test_api_edges(void **state)
{
    xf_http_limits_t lim = {0, 0, 0};
    xf_http_resp_t *r;
    const char *why = NULL, *d;
    apr_size_t used, dl;
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";

    /* body before the head is complete */
    xf_http_resp_create(&r, 0, &lim, *state);
    assert_int_equal(xf_http_resp_body(r, "x", 1, &used, &d, &dl, &why),
                     APR_EGENERAL);
    assert_non_null(why);
    assert_int_equal(xf_http_resp_eof(r), APR_EOF);

    /* an error sticks */
    xf_http_resp_create(&r, 0, NULL, *state);
    why = NULL;
    assert_int_equal(xf_http_resp_head(r, "XTTP/1.1 200\n", 13, &used, &why),
                     APR_EGENERAL);
    assert_string_equal(why, "malformed status line");
    why = NULL;
    assert_int_equal(xf_http_resp_head(r, ok, sizeof(ok) - 1, &used, &why),
                     APR_EGENERAL);
    assert_int_equal(used, 0);
    assert_string_equal(why, "malformed status line");
    assert_int_equal(xf_http_resp_eof(r), APR_EOF);

    /* once the head is done, more head calls take nothing */
    xf_http_resp_create(&r, 0, NULL, *state);
    assert_int_equal(xf_http_resp_head(r, ok, sizeof(ok) - 1, &used, &why),
                     APR_SUCCESS);
    assert_int_equal(used, sizeof(ok) - 2);
    assert_int_equal(xf_http_resp_head(r, "x", 1, &used, &why), APR_SUCCESS);
    assert_int_equal(used, 0);
    assert_int_equal(xf_http_resp_body(r, "", 0, &used, &d, &dl, &why),
                     APR_INCOMPLETE);
    assert_null(d);
    assert_int_equal(xf_http_resp_body(r, "xy", 2, &used, &d, &dl, &why),
                     APR_EOF);
    assert_int_equal(used, 1);
    assert_int_equal(dl, 1);
}

#define BIG (10 * 1024 * 1024)
#define PIECE (64 * 1024)

static char *big_stream(const char *head, apr_size_t chunk, apr_size_t *plen)
{
    apr_size_t hl = strlen(head), len = hl + BIG + (BIG / 16 + 64), i, o;
    char *s = malloc(len);

    assert_non_null(s);
    memcpy(s, head, hl);
    o = hl;
    for (i = 0; i < BIG; i++) {
        if (chunk && i % chunk == 0) {
            apr_size_t n = BIG - i < chunk ? BIG - i : chunk;
            o += (apr_size_t)sprintf(s + o, "%s%lx\r\n", i ? "\r\n" : "",
                                     (unsigned long)n);
        }
        s[o++] = (char)(i * 7 + i / 251);
    }
    if (chunk) {
        memcpy(s + o, "\r\n0\r\n\r\n", 7);
        o += 7;
    }
    *plen = o;
    return s;
}

/* 10 MiB in 64 KiB recv()-sized pieces: spans point into the pieces,
 * and for LENGTH/CLOSE each call hands out the whole rest of its piece */
static void big_body(const char *head, apr_size_t chunk, xf_body_e want,
                     apr_pool_t *p)
{
    apr_size_t len, off, used, dl, got = 0, calls = 0;
    char *s = big_stream(head, chunk, &len);
    const char *why = NULL, *d;
    xf_http_resp_t *r;
    apr_status_t rv = APR_INCOMPLETE;

    xf_http_resp_create(&r, 0, NULL, p);
    assert_int_equal(xf_http_resp_head(r, s, PIECE, &used, &why), APR_SUCCESS);
    assert_int_equal(used, strlen(head));
    assert_int_equal(xf_http_resp_framing(r), want);
    off = used;
    while (off < len) {
        apr_size_t end = (off / PIECE + 1) * PIECE, k = 0;

        if (end > len) {
            end = len;
        }
        while (off < end) {
            rv = xf_http_resp_body(r, s + off, end - off, &used, &d, &dl, &why);
            assert_true(rv == APR_SUCCESS || rv == APR_INCOMPLETE ||
                        rv == APR_EOF);
            assert_true(dl > 0 || chunk > 0);
            assert_true(dl == 0 || (d >= s + off && d + dl <= s + end));
            if (chunk == 0) {
                /* no copy: the span is the buffer we fed, all of it */
                assert_ptr_equal(d, s + off);
                assert_int_equal(dl, end - off);
            }
            for (; k < dl; k += 4093) {
                apr_size_t i = got + k;
                assert_int_equal(d[k], (char)(i * 7 + i / 251));
            }
            k = 0;
            got += dl;
            off += used;
            calls++;
        }
    }
    assert_int_equal(got, BIG);
    if (want == XF_BODY_CLOSE) {
        assert_int_equal(rv, APR_INCOMPLETE);
        assert_int_equal(xf_http_resp_eof(r), APR_SUCCESS);
    }
    else {
        assert_int_equal(rv, APR_EOF);
    }
    /* one span per recv() piece, plus one per chunk boundary */
    assert_true(calls <= len / PIECE + 1 + (chunk ? BIG / chunk + 1 : 0));
    free(s);
}

static void test_big_body(void **state)
{
    big_body("HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\n\r\n", 0,
             XF_BODY_LENGTH, *state);
    big_body("HTTP/1.0 200 OK\r\n\r\n", 0, XF_BODY_CLOSE, *state);
    big_body("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 100000,
             XF_BODY_CHUNKED, *state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        XF_TEST(test_content_length),
        XF_TEST(test_http10_until_close),
        XF_TEST(test_chunked),
        XF_TEST(test_chunked_bare_lf_and_hex_case),
        XF_TEST(test_transfer_encoding),
        XF_TEST(test_interim),
        XF_TEST(test_101_is_final),
        XF_TEST(test_204_304_no_body),
        XF_TEST(test_head_request),
        XF_TEST(test_set_cookie_kept_apart),
        XF_TEST(test_bare_lf),
        XF_TEST(test_status_lines),
        XF_TEST(test_eof_early),
        XF_TEST(test_line_too_long),
        XF_TEST(test_head_too_large),
        XF_TEST(test_too_many_fields),
        XF_TEST(test_bad_fields),
        XF_TEST(test_content_length_values),
        XF_TEST(test_bad_chunks),
        XF_TEST(test_chunk_limits),
        XF_TEST(test_trailer_limits_any_split),
        XF_TEST(test_head_limits_any_split),
        XF_TEST(test_truncated),
        XF_TEST(test_bytes_after_body),
        XF_TEST(test_api_edges),
        XF_TEST(test_big_body),
    };

    if (xf_test_init() != 0) {
        return 1;
    }
    return cmocka_run_group_tests_name("xf_http", tests, NULL, NULL);
}
