/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_envelope.c - writes xapi's Http.Request.t as the JSON that ocaml-rpc
 * and Yojson.Safe.to_string produce, byte for byte, into one
 * growing pool buffer in a single pass over the request view.
 */
#include "xf_envelope.h"

#include <string.h>

#include <apr_strings.h>

#include "xf_parse.h"

/* JSON writer. Once the output passes the size cap it stops storing and
 * only counts, so the caller can still say how big the envelope was. */
typedef struct json_writer {
    char *buf;      /* cap + 1 bytes (room for the final NUL) */
    apr_size_t len; /* bytes produced; may exceed cap when over max */
    apr_size_t cap; /* bytes buf can hold */
    apr_size_t max; /* never store more than this */
    apr_pool_t *p;
} json_writer;

/* Make room for need more bytes; 0 when that would pass max. */
static int jw_grow(json_writer *w, apr_size_t need)
{
    apr_size_t want = w->len + need, cap = w->cap * 2;
    char *nb;

    if (w->len > w->cap || want > w->max || want < w->len) {
        return 0;
    }
    if (cap < want) {
        cap = want;
    }
    if (cap > w->max) {
        cap = w->max;
    }
    nb = apr_palloc(w->p, cap + 1);
    memcpy(nb, w->buf, w->len);
    w->buf = nb;
    w->cap = cap;
    return 1;
}

static void jw_mem(json_writer *w, const char *s, apr_size_t n)
{
    if (w->len + n > w->cap && !jw_grow(w, n)) {
        w->len += n;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void jw_putc(json_writer *w, char c)
{
    if (w->len >= w->cap && !jw_grow(w, 1)) {
        w->len++;
        return;
    }
    w->buf[w->len++] = c;
}

#define JW_LIT(w, s) jw_mem((w), (s), sizeof(s) - 1)

/* Yojson's write_string_body: 0 = byte written as is, else the letter
 * after the backslash ('u' = \u00xx with lower-case hex). '/' and bytes
 * >= 0x80 are written raw, invalid UTF-8 included. */
/* clang-format off */
static const char json_escape[256] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    ['"'] = '"', ['\\'] = '\\', [0x7f] = 'u'
};
/* clang-format on */

static void jw_escape(json_writer *w, unsigned char c, char e)
{
    static const char hex[] = "0123456789abcdef";
    char b[6];

    b[0] = '\\';
    b[1] = e;
    b[2] = '0';
    b[3] = '0';
    b[4] = hex[c >> 4];
    b[5] = hex[c & 0xf];
    jw_mem(w, b, e == 'u' ? 6 : 2);
}

/* A JSON string; runs of plain bytes are copied with one memcpy. */
static void jw_str(json_writer *w, const char *s, apr_size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t i, run = 0;

    jw_putc(w, '"');
    for (i = 0; i < n; i++) {
        char e = json_escape[u[i]];

        if (e) {
            jw_mem(w, s + run, i - run);
            jw_escape(w, u[i], e);
            run = i + 1;
        }
    }
    jw_mem(w, s + run, n - run);
    jw_putc(w, '"');
}

/* A header name as xapi keeps it: ASCII lower-cased, not trimmed. */
static void jw_str_lower(json_writer *w, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t i;

    jw_putc(w, '"');
    for (i = 0; u[i]; i++) {
        unsigned char c = u[i];
        char e;

        if (c >= 'A' && c <= 'Z') {
            c = (unsigned char)(c + ('a' - 'A'));
        }
        e = json_escape[c];
        if (e) {
            jw_escape(w, c, e);
        }
        else {
            jw_putc(w, (char)c);
        }
    }
    jw_putc(w, '"');
}

static void jw_span(json_writer *w, xf_span_t v)
{
    jw_str(w, v.p, v.n);
}

/* ,"name":"value" for an option field that is Some value. */
static void jw_field(json_writer *w, const char *name, apr_size_t nlen,
                     xf_span_t v)
{
    jw_mem(w, name, nlen);
    jw_span(w, v);
}

#define JW_FIELD(w, name, v) jw_field((w), (name), sizeof(name) - 1, (v))

/* Header classes: a field of its own in Http.Request.t, or not. */
enum {
    HDR_OTHER = 0,   /* goes to additional_headers */
    HDR_TRACEPARENT, /* additional_headers too, and maybe top-level */
    HDR_CONNECTION,  /* "close" or "keep-alive": only sets close */
    HDR_CONTENT_LENGTH,
    HDR_COOKIE,
    HDR_TRANSFER_ENCODING,
    HDR_ACCEPT,
    HDR_AUTHORIZATION,
    HDR_TASK,
    HDR_SUBTASK_OF,
    HDR_CONTENT_TYPE,
    HDR_HOST,
    HDR_USER_AGENT,
    HDR_COUNT
};

static const struct {
    const char *name; /* lower case */
    apr_size_t len;
    int cls;
} known_headers[] = {
    {"content-length", 14, HDR_CONTENT_LENGTH},
    {"cookie", 6, HDR_COOKIE},
    {"transfer-encoding", 17, HDR_TRANSFER_ENCODING},
    {"accept", 6, HDR_ACCEPT},
    {"authorization", 13, HDR_AUTHORIZATION},
    {"task-id", 7, HDR_TASK},
    {"subtask-of", 10, HDR_SUBTASK_OF},
    {"content-type", 12, HDR_CONTENT_TYPE},
    {"host", 4, HDR_HOST},
    {"user-agent", 10, HDR_USER_AGENT},
    {"connection", 10, HDR_CONNECTION},
    {"traceparent", 11, HDR_TRACEPARENT},
};

/* ASCII-only case-insensitive compare of s (n bytes) with lower-case l. */
static int ascii_ieq(const char *s, const char *l, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        char c = s[i];

        if (c >= 'A' && c <= 'Z') {
            c = (char)(c + ('a' - 'A'));
        }
        if (c != l[i]) {
            return 0;
        }
    }
    return 1;
}

static int span_ieq(xf_span_t v, const char *l)
{
    return v.n == strlen(l) && ascii_ieq(v.p, l, v.n);
}

/* Class of one header, as http_svr.ml's read_request_exn sorts them. */
static int classify(const char *key, xf_span_t v)
{
    apr_size_t n = strlen(key), i;
    xf_span_t digits;

    for (i = 0; i < sizeof(known_headers) / sizeof(known_headers[0]); i++) {
        if (n != known_headers[i].len ||
            !ascii_ieq(key, known_headers[i].name, n)) {
            continue;
        }
        switch (known_headers[i].cls) {
        case HDR_CONNECTION:
            /* Any other Connection value lands in additional_headers. */
            return span_ieq(v, "close") || span_ieq(v, "keep-alive")
                       ? HDR_CONNECTION
                       : HDR_OTHER;
        case HDR_CONTENT_LENGTH:
            /* Our choice: xapi answers 500 when Int64.of_string fails; we
             * keep such a value as an ordinary header, send no
             * content_length, and let the daemon decide. */
            return xf_parse_content_length(&digits, v) ? HDR_CONTENT_LENGTH
                                                       : HDR_OTHER;
        default:
            return known_headers[i].cls;
        }
    }
    return HDR_OTHER;
}

/* Emits one pair of the query or cookie map, minus stripped keys. */
typedef struct map_writer {
    json_writer *w;
    const char *const *strip; /* NULL-terminated, or NULL */
    int count;                /* pairs written so far */
} map_writer;

static void map_pair(void *baton, const xf_span_t *k, const xf_span_t *v)
{
    map_writer *m = baton;
    const char *const *s;

    for (s = m->strip; s && *s; s++) {
        if (strlen(*s) == k->n && memcmp(*s, k->p, k->n) == 0) {
            return;
        }
    }
    if (m->count++ > 0) {
        jw_putc(m->w, ',');
    }
    jw_span(m->w, *k);
    jw_putc(m->w, ':');
    jw_span(m->w, *v);
}

static void write_method(json_writer *w, const char *method)
{
    static const char *const wire[] = {"GET", "POST", "PUT", "CONNECT",
                                       "OPTIONS"};
    static const char *const json[] = {"\"Get\"", "\"Post\"", "\"Put\"",
                                       "\"Connect\"", "\"Options\""};
    apr_size_t i;

    /* Http.method_t_of_string: exact, case-sensitive match. */
    for (i = 0; i < sizeof(wire) / sizeof(wire[0]); i++) {
        if (strcmp(method, wire[i]) == 0) {
            jw_mem(w, json[i], strlen(json[i]));
            return;
        }
    }
    JW_LIT(w, "[\"Unknown\",");
    jw_str(w, method, strlen(method));
    jw_putc(w, ']');
}

static void write_auth(json_writer *w, xf_span_t v, apr_pool_t *p)
{
    xf_span_t user, pass;

    if (xf_parse_basic(&user, &pass, v, p)) {
        JW_LIT(w, ",\"auth\":[\"Basic\",");
        jw_span(w, user);
        jw_putc(w, ',');
        jw_span(w, pass);
    }
    else {
        JW_LIT(w, ",\"auth\":[\"UnknownAuth\",");
        jw_span(w, v);
    }
    jw_putc(w, ']');
}

static apr_status_t fail(const char **preason, const char *why)
{
    if (preason) {
        *preason = why;
    }
    return APR_EINVAL;
}

apr_size_t xf_envelope_path(const char **ppath, const char *target,
                            apr_pool_t *p)
{
    xf_span_t path, query;
    int has_query;
    char *dec;
    apr_size_t n;

    xf_parse_target(&path, &query, &has_query, target);
    dec = apr_palloc(p, path.n + 1);
    n = xf_parse_pct_decode(dec, path.p, path.n, 0);
    dec[n] = '\0';
    *ppath = dec;
    return n;
}

apr_status_t xf_envelope_build(const char **pjson, apr_size_t *plen,
                               const char **preason, const xf_reqview_t *rv,
                               const xf_envelope_opts_t *o, apr_pool_t *p)
{
    const xf_kv_t *h = NULL;
    int nh = 0, i, last[HDR_COUNT], conn_close, has_query;
    unsigned char *cls = NULL;
    xf_span_t *val = NULL, path, query, cl;
    apr_size_t est, path_len = 0;
    const char *path_dec;
    json_writer w;
    map_writer m;

    *pjson = NULL;
    if (plen) {
        *plen = 0;
    }
    if (rv == NULL || o == NULL || rv->method == NULL || rv->target == NULL ||
        rv->version == NULL) {
        return fail(preason, "envelope: method, target or version missing");
    }
    if (o->path_keys < XF_PATHKEY_URI || o->path_keys > XF_PATHKEY_BOTH) {
        return fail(preason, "envelope: invalid path key setting");
    }
    if (rv->headers && rv->headers->nelts > 0) {
        if (rv->headers->elt_size != (int)sizeof(xf_kv_t)) {
            return fail(preason, "envelope: header array of wrong type");
        }
        h = (const xf_kv_t *)rv->headers->elts;
        nh = rv->headers->nelts;
        cls = apr_palloc(p, (apr_size_t)nh);
        val = apr_palloc(p, (apr_size_t)nh * sizeof(*val));
    }

    /* Pass 1 over the headers: trim, classify, remember the last of each
     * class (xapi folds the headers in order, so the last one wins). */
    for (i = 0; i < HDR_COUNT; i++) {
        last[i] = -1;
    }
    conn_close = strcmp(rv->version, "1.0") == 0;
    est = 192 + 3 * strlen(rv->target);
    for (i = 0; i < nh; i++) {
        const char *key = h[i].key ? h[i].key : "";

        val[i] = xf_parse_trim(h[i].val ? h[i].val : "");
        cls[i] = (unsigned char)classify(key, val[i]);
        last[cls[i]] = i;
        if (cls[i] == HDR_CONNECTION) {
            conn_close = span_ieq(val[i], "close");
        }
        est += strlen(key) + val[i].n + 8;
    }
    if (o->force_close) {
        conn_close = 1;
    }
    if (rv->stunnel_proxy) {
        est += strlen(rv->stunnel_proxy) + 20;
    }
    est += est / 8;

    w.p = p;
    w.len = 0;
    w.max = o->max_size;
    w.cap = est < w.max ? est : w.max;
    w.buf = apr_palloc(p, w.cap + 1);
    m.w = &w;
    m.strip = o->strip_params;

    /* m, then the path under "uri" and/or "path". */
    JW_LIT(&w, "{\"m\":");
    write_method(&w, rv->method);
    path_len = xf_envelope_path(&path_dec, rv->target, p);
    xf_parse_target(&path, &query, &has_query, rv->target);
    if (o->path_keys & XF_PATHKEY_URI) {
        JW_LIT(&w, ",\"uri\":");
        jw_str(&w, path_dec, path_len);
    }
    if (o->path_keys & XF_PATHKEY_PATH) {
        JW_LIT(&w, ",\"path\":");
        jw_str(&w, path_dec, path_len);
    }

    JW_LIT(&w, ",\"query\":{");
    m.count = 0;
    if (has_query) {
        xf_parse_query(query, map_pair, &m, p);
    }
    JW_LIT(&w, "},\"version\":");
    jw_str(&w, rv->version, strlen(rv->version));
    JW_LIT(&w, ",\"frame\":false");

    if (last[HDR_TRANSFER_ENCODING] >= 0) {
        JW_FIELD(&w,
                 ",\"transfer_encoding\":", val[last[HDR_TRANSFER_ENCODING]]);
    }
    if (last[HDR_ACCEPT] >= 0) {
        JW_FIELD(&w, ",\"accept\":", val[last[HDR_ACCEPT]]);
    }
    if (last[HDR_CONTENT_LENGTH] >= 0) {
        /* int64 is written as a bare number (Yojson `Intlit). */
        xf_parse_content_length(&cl, val[last[HDR_CONTENT_LENGTH]]);
        JW_LIT(&w, ",\"content_length\":");
        jw_mem(&w, cl.p, cl.n);
    }
    if (o->forward_auth && last[HDR_AUTHORIZATION] >= 0) {
        write_auth(&w, val[last[HDR_AUTHORIZATION]], p);
    }

    JW_LIT(&w, ",\"cookie\":{");
    m.count = 0;
    if (last[HDR_COOKIE] >= 0) {
        xf_parse_cookie(val[last[HDR_COOKIE]], map_pair, &m, p);
    }
    jw_putc(&w, '}');

    if (last[HDR_TASK] >= 0) {
        JW_FIELD(&w, ",\"task\":", val[last[HDR_TASK]]);
    }
    if (last[HDR_SUBTASK_OF] >= 0) {
        JW_FIELD(&w, ",\"subtask_of\":", val[last[HDR_SUBTASK_OF]]);
    }
    if (last[HDR_CONTENT_TYPE] >= 0) {
        JW_FIELD(&w, ",\"content_type\":", val[last[HDR_CONTENT_TYPE]]);
    }
    if (last[HDR_HOST] >= 0) {
        JW_FIELD(&w, ",\"host\":", val[last[HDR_HOST]]);
    }
    if (last[HDR_USER_AGENT] >= 0) {
        JW_FIELD(&w, ",\"user_agent\":", val[last[HDR_USER_AGENT]]);
    }
    if (conn_close) {
        JW_LIT(&w, ",\"close\":true");
    }
    else {
        JW_LIT(&w, ",\"close\":false");
    }

    /* xapi prepends each other header to a list that starts with
     * STUNNEL_PROXY: reverse wire order, STUNNEL_PROXY last. */
    JW_LIT(&w, ",\"additional_headers\":{");
    m.count = 0;
    for (i = nh - 1; i >= 0; i--) {
        if (cls[i] != HDR_OTHER && cls[i] != HDR_TRACEPARENT) {
            continue;
        }
        if (m.count++ > 0) {
            jw_putc(&w, ',');
        }
        jw_str_lower(&w, h[i].key ? h[i].key : "");
        jw_putc(&w, ':');
        jw_span(&w, val[i]);
    }
    if (rv->stunnel_proxy) {
        if (m.count++ > 0) {
            jw_putc(&w, ',');
        }
        JW_LIT(&w, "\"STUNNEL_PROXY\":");
        jw_str(&w, rv->stunnel_proxy, strlen(rv->stunnel_proxy));
    }
    jw_putc(&w, '}');

    /* xapi v23.14-v24.39 had "traceparent" as the last record field. */
    if (o->traceparent_top && last[HDR_TRACEPARENT] >= 0) {
        JW_FIELD(&w, ",\"traceparent\":", val[last[HDR_TRACEPARENT]]);
    }
    jw_putc(&w, '}');

    if (plen) {
        *plen = w.len;
    }
    if (w.len > o->max_size) {
        if (preason) {
            *preason = apr_psprintf(p,
                                    "envelope is %" APR_SIZE_T_FMT
                                    " bytes, over the limit of "
                                    "%" APR_SIZE_T_FMT,
                                    w.len, o->max_size);
        }
        return APR_ENOSPC;
    }
    w.buf[w.len] = '\0';
    *pjson = w.buf;
    return APR_SUCCESS;
}
