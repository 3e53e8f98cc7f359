/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_http.c - incremental parser for the daemon's HTTP/1.x response in
 * relay mode: head lines (bounded line buffer, only used when a line spans
 * calls), framing per RFC 9112 6.3, and a body path that hands out spans
 * of the caller's buffer, decoding chunked framing in place.
 */
#include "xf_http.h"

#include <string.h>

#include <apr_strings.h>

#include "xf_parse.h"

#define DEF_MAX_LINE 8192
#define DEF_MAX_HEAD 65536
#define DEF_MAX_FIELDS 100

typedef enum {
    H_STATUS, /* expecting a status line */
    H_FIELDS, /* expecting a header field or the empty line */
    H_DONE    /* final head complete */
} head_state_e;

typedef enum {
    C_SIZE,     /* hex digits of the chunk size */
    C_SIZE_WS,  /* BWS after the size */
    C_EXT,      /* chunk extensions, skipped up to the line end */
    C_DATA,     /* chunk data, ch_left bytes to go */
    C_DATA_END, /* CRLF (or LF) after the data */
    C_TRAILER,  /* trailer fields up to the empty line */
    C_DONE      /* last chunk and trailers consumed */
} chunk_state_e;

struct xf_http_resp_t {
    apr_pool_t *pool;
    int head_req;        /* request was HEAD: no body */
    apr_size_t max_line; /* bytes per line, excluding CRLF */
    apr_size_t max_head; /* bytes of all heads (and of the trailers) */
    int max_fields;      /* fields per head */

    head_state_e hstate;
    char *line;            /* max_line + 1 bytes (room for a CR); NULL
                            * until a line spans two calls */
    apr_size_t line_len;   /* bytes held in line */
    apr_size_t head_total; /* head bytes consumed, interim heads included */
    int nfields;           /* fields of the current head */
    const char *err;       /* reason of the first error, NULL while none */

    int status;           /* 0 until a status line is parsed */
    const char *reason;   /* "" when none */
    const char *version;  /* "1.0" or "1.1" */
    apr_table_t *headers; /* fields of the final head */
    int te_seen;          /* a Transfer-Encoding field was present */
    int te_chunked;       /* its last coding was chunked */
    int cl_bad;           /* Content-Length invalid or conflicting */
    apr_off_t cl;         /* Content-Length, -1 when absent */

    xf_body_e framing;
    int body_done;  /* body complete (EOF returned or NONE) */
    apr_off_t left; /* LENGTH: bytes to go */
    chunk_state_e cstate;
    apr_off_t ch_left;   /* chunk bytes to go / size being parsed */
    int ch_digits;       /* hex digits seen on the size line */
    int ch_cr;           /* a CR was seen: LF must follow */
    apr_size_t ch_line;  /* bytes of the current size/trailer line */
    apr_size_t tr_total; /* trailer bytes consumed */
};

static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* CTLs other than HT are not allowed in a reason or a field value */
static int is_bad_ctl(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

static int ows(char c)
{
    return c == ' ' || c == '\t';
}

/* ASCII case-insensitive compare of s[0..n) with the lower-case lit */
static int lit_eq(const char *s, apr_size_t n, const char *lit)
{
    apr_size_t i;

    if (strlen(lit) != n) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (c != lit[i]) {
            return 0;
        }
    }
    return 1;
}

static apr_status_t fail(xf_http_resp_t *r, const char *why,
                         const char **preason)
{
    if (r->err == NULL) {
        r->err = why;
    }
    if (preason) {
        *preason = r->err;
    }
    return APR_EGENERAL;
}

void xf_http_resp_create(xf_http_resp_t **pr, int head_req,
                         const xf_http_limits_t *lim, apr_pool_t *p)
{
    xf_http_resp_t *r = apr_pcalloc(p, sizeof(*r));

    r->pool = p;
    r->head_req = head_req;
    r->max_line = (lim && lim->max_line) ? lim->max_line : DEF_MAX_LINE;
    r->max_head = (lim && lim->max_head) ? lim->max_head : DEF_MAX_HEAD;
    r->max_fields =
        (lim && lim->max_fields > 0) ? lim->max_fields : DEF_MAX_FIELDS;
    r->hstate = H_STATUS;
    r->reason = "";
    r->version = "1.1";
    r->headers = apr_table_make(p, 16);
    r->cl = -1;
    r->framing = XF_BODY_NONE;
    r->cstate = C_SIZE;
    *pr = r;
}

/* "HTTP/1.x SP 3DIGIT [SP reason]", CR already stripped */
static const char *parse_status(xf_http_resp_t *r, const char *s, apr_size_t n)
{
    apr_size_t i;
    int code;

    if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9' ||
        s[8] != ' ') {
        return "malformed status line";
    }
    for (i = 9, code = 0; i < 12; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return "malformed status line";
        }
        code = code * 10 + (s[i] - '0');
    }
    if (code < 100 || code > 599 || (n > 12 && s[12] != ' ')) {
        return "malformed status line";
    }
    for (i = 13; i < n; i++) {
        if (is_bad_ctl((unsigned char)s[i])) {
            return "malformed status line";
        }
    }
    r->status = code;
    r->version = s[7] == '0' ? "1.0" : "1.1";
    if (code < 200 && code != 101) {
        r->reason = ""; /* interim: nothing kept */
    }
    else {
        r->reason = n > 13 ? apr_pstrmemdup(r->pool, s + 13, n - 13) : "";
    }
    return NULL;
}

/* One Content-Length value: a list of digit strings that must agree */
static void note_content_length(xf_http_resp_t *r, const char *v, apr_size_t n)
{
    apr_size_t i = 0;

    do {
        apr_off_t val = 0;
        apr_size_t digits = 0;

        while (i < n && ows(v[i])) {
            i++;
        }
        for (; i < n && v[i] >= '0' && v[i] <= '9'; i++, digits++) {
            if (val > (APR_INT64_MAX - (v[i] - '0')) / 10) {
                r->cl_bad = 1;
                return;
            }
            val = val * 10 + (v[i] - '0');
        }
        while (i < n && ows(v[i])) {
            i++;
        }
        if (digits == 0 || (i < n && v[i] != ',') ||
            (r->cl >= 0 && r->cl != val)) {
            r->cl_bad = 1;
            return;
        }
        r->cl = val;
    } while (i++ < n);
}

/* One Transfer-Encoding value: remember whether its last coding is
 * chunked (empty list elements are skipped) */
static void note_transfer_encoding(xf_http_resp_t *r, const char *v,
                                   apr_size_t n)
{
    apr_size_t i = 0;

    r->te_seen = 1;
    while (i < n) {
        apr_size_t start, end;

        while (i < n && (ows(v[i]) || v[i] == ',')) {
            i++;
        }
        start = i;
        while (i < n && v[i] != ',' && v[i] != ';') {
            i++;
        }
        end = i;
        while (end > start && ows(v[end - 1])) {
            end--;
        }
        while (i < n && v[i] != ',') {
            i++; /* transfer parameters */
        }
        if (end > start) {
            r->te_chunked = lit_eq(v + start, end - start, "chunked");
        }
    }
}

static const char *parse_field(xf_http_resp_t *r, const char *s, apr_size_t n)
{
    const char *colon;
    apr_size_t nlen, i, vs, ve;

    if (ows(s[0])) {
        return "obsolete line folding";
    }
    colon = memchr(s, ':', n);
    if (colon == NULL || colon == s) {
        return "malformed header field";
    }
    nlen = (apr_size_t)(colon - s);
    for (i = 0; i < nlen; i++) {
        if (!is_tchar((unsigned char)s[i])) {
            return "malformed header field";
        }
    }
    for (vs = nlen + 1; vs < n && ows(s[vs]); vs++)
        ;
    for (ve = n; ve > vs && ows(s[ve - 1]); ve--)
        ;
    for (i = vs; i < ve; i++) {
        if (is_bad_ctl((unsigned char)s[i])) {
            return "invalid character in header field value";
        }
    }
    if (++r->nfields > r->max_fields) {
        return "too many header fields";
    }
    if (r->status < 200 && r->status != 101) {
        return NULL; /* interim head: checked, not kept */
    }
    if (lit_eq(s, nlen, "transfer-encoding")) {
        note_transfer_encoding(r, s + vs, ve - vs);
    }
    else if (lit_eq(s, nlen, "content-length")) {
        note_content_length(r, s + vs, ve - vs);
    }
    apr_table_addn(r->headers, apr_pstrmemdup(r->pool, s, nlen),
                   apr_pstrmemdup(r->pool, s + vs, ve - vs));
    return NULL;
}

/* The empty line: an interim head starts over, a final one gets its
 * framing */
static const char *end_of_head(xf_http_resp_t *r)
{
    if (r->status < 200 && r->status != 101) {
        r->hstate = H_STATUS;
        r->status = 0;
        r->nfields = 0;
        return NULL;
    }
    r->hstate = H_DONE;
    if (r->head_req || r->status < 200 || r->status == 204 ||
        r->status == 304) {
        r->framing = XF_BODY_NONE;
    }
    else if (r->te_seen) {
        r->framing = r->te_chunked ? XF_BODY_CHUNKED : XF_BODY_CLOSE;
    }
    else if (r->cl_bad) {
        return "invalid Content-Length";
    }
    else if (r->cl > 0) {
        r->framing = XF_BODY_LENGTH;
        r->left = r->cl;
    }
    else {
        r->framing = r->cl == 0 ? XF_BODY_NONE : XF_BODY_CLOSE;
    }
    r->body_done = r->framing == XF_BODY_NONE;
    return NULL;
}

/* Which limit the next take bytes of a head line pass first, byte by byte,
 * so that the error is the same however the line was cut into reads. A CR
 * counts in the line once a byte other than LF follows it. */
static const char *head_limit(const xf_http_resp_t *r, const char *p,
                              apr_size_t take)
{
    apr_size_t i, room = r->max_head - r->head_total, len = r->line_len;

    for (i = 0; i < take; i++) {
        if (i >= room) {
            return "response head too large";
        }
        if (p[i] == '\n') {
            break;
        }
        if (++len - (p[i] == '\r') > r->max_line) {
            return "header line too long";
        }
    }
    return take > room ? "response head too large" : "header line too long";
}

apr_status_t xf_http_resp_head(xf_http_resp_t *r, const char *buf,
                               apr_size_t len, apr_size_t *pused,
                               const char **preason)
{
    apr_size_t off = 0;

    *pused = 0;
    if (r->err) {
        return fail(r, r->err, preason);
    }
    while (off < len && r->hstate != H_DONE) {
        const char *nl = memchr(buf + off, '\n', len - off);
        apr_size_t take = nl ? (apr_size_t)(nl - (buf + off)) + 1 : len - off;
        apr_size_t have = r->line_len + take; /* line bytes incl. CR/LF */
        const char *s, *why;
        apr_size_t n;

        /* the line must fit max_line once a final CR is stripped */
        if (nl) {
            n = have - 1;
            if (n > 0 && (take >= 2 ? buf[off + take - 2]
                                    : r->line[r->line_len - 1]) == '\r') {
                n--;
            }
        }
        else {
            n = buf[len - 1] == '\r' ? have - 1 : have;
        }
        if (n > r->max_line || take > r->max_head - r->head_total) {
            return fail(r, head_limit(r, buf + off, take), preason);
        }
        r->head_total += take;
        if (nl == NULL) {
            if (r->line == NULL) {
                r->line = apr_palloc(r->pool, r->max_line + 1);
            }
            memcpy(r->line + r->line_len, buf + off, take);
            r->line_len += take;
            off += take;
            break;
        }
        if (r->line_len > 0) {
            memcpy(r->line + r->line_len, buf + off, take - 1);
            s = r->line;
            n = r->line_len + take - 1;
            r->line_len = 0;
        }
        else {
            s = buf + off;
            n = take - 1;
        }
        off += take;
        if (n > 0 && s[n - 1] == '\r') {
            n--;
        }
        if (r->hstate == H_STATUS) {
            why = parse_status(r, s, n);
            r->hstate = H_FIELDS;
        }
        else {
            why = n == 0 ? end_of_head(r) : parse_field(r, s, n);
        }
        if (why) {
            return fail(r, why, preason);
        }
    }
    *pused = off;
    return r->hstate == H_DONE ? APR_SUCCESS : APR_INCOMPLETE;
}

/* Chunked decoding: consume framing, hand out at most one data span, and
 * keep consuming framing after it, so that a buffer ending with the last
 * chunk reports APR_EOF in the same call. */
static apr_status_t body_chunked(xf_http_resp_t *r, const char *buf,
                                 apr_size_t len, apr_size_t *poff,
                                 const char **pdata, apr_size_t *pdlen,
                                 const char **preason)
{
    apr_size_t off = 0;

    while (off < len && r->cstate != C_DONE) {
        char c = buf[off];
        int h;

        if (r->cstate == C_DATA) {
            apr_size_t n = len - off;

            if (*pdata) {
                break; /* one span per call */
            }
            if ((apr_off_t)n > r->ch_left) {
                n = (apr_size_t)r->ch_left;
            }
            *pdata = buf + off;
            *pdlen = n;
            off += n;
            r->ch_left -= (apr_off_t)n;
            if (r->ch_left == 0) {
                r->cstate = C_DATA_END;
            }
            continue;
        }
        if (r->cstate == C_TRAILER) {
            /* skip a trailer line; an empty one ends the message */
            const char *nl = memchr(buf + off, '\n', len - off);
            apr_size_t take =
                nl ? (apr_size_t)(nl - (buf + off)) + 1 : len - off;
            apr_size_t i, room = r->max_head - r->tr_total;

            /* byte by byte: the limit passed first wins, however the
             * line was cut into reads */
            for (i = 0; i < take && !r->err; i++) {
                if (i >= room) {
                    r->err = "trailer section too large";
                }
                else if (buf[off + i] != '\r' && buf[off + i] != '\n' &&
                         ++r->ch_line > r->max_line) {
                    r->err = "trailer line too long";
                }
            }
            if (r->err) {
                break;
            }
            r->tr_total += take;
            off += take;
            if (nl) {
                if (r->ch_line == 0) {
                    r->cstate = C_DONE;
                }
                r->ch_line = 0;
            }
            continue;
        }
        if (++r->ch_line > r->max_line + 2) {
            r->err = "chunk size line too long";
            break;
        }
        off++;
        /* after a CR only LF; a size line needs a digit before its end */
        if (r->ch_cr ? c != '\n'
                     : ((c == '\r' || c == '\n') && r->cstate == C_SIZE &&
                        r->ch_digits == 0)) {
            r->err = "bad chunk";
        }
        else if (c == '\r') {
            r->ch_cr = 1;
        }
        else if (c == '\n') {
            /* end of a size line, or of the CRLF after the data */
            if (r->cstate == C_DATA_END) {
                r->cstate = C_SIZE;
            }
            else {
                r->cstate = r->ch_left == 0 ? C_TRAILER : C_DATA;
            }
            r->ch_cr = 0;
            r->ch_digits = 0;
            r->ch_line = 0;
        }
        else if (r->cstate == C_SIZE && (h = xf_parse_hex_value(c)) >= 0) {
            if (r->ch_left > (APR_INT64_MAX >> 4)) {
                r->err = "bad chunk";
            }
            else {
                r->ch_left = (r->ch_left << 4) | h;
                r->ch_digits++;
            }
        }
        else if (r->cstate == C_SIZE || r->cstate == C_SIZE_WS) {
            if (c == ';') {
                r->cstate = C_EXT;
            }
            else if (ows(c) && r->ch_digits > 0) {
                r->cstate = C_SIZE_WS;
            }
            else {
                r->err = "bad chunk";
            }
        }
        else if (r->cstate != C_EXT) {
            r->err = "bad chunk";
        }
        if (r->err) {
            break;
        }
    }
    *poff = off;
    if (r->err) {
        return fail(r, r->err, preason);
    }
    if (r->cstate == C_DONE) {
        r->body_done = 1;
        return APR_EOF;
    }
    return off < len ? APR_SUCCESS : APR_INCOMPLETE;
}

apr_status_t xf_http_resp_body(xf_http_resp_t *r, const char *buf,
                               apr_size_t len, apr_size_t *pused,
                               const char **pdata, apr_size_t *pdlen,
                               const char **preason)
{
    apr_size_t n = len;

    *pused = 0;
    *pdata = NULL;
    *pdlen = 0;
    if (r->err) {
        return fail(r, r->err, preason);
    }
    if (r->hstate != H_DONE) {
        return fail(r, "response head not complete", preason);
    }
    if (r->body_done) {
        return APR_EOF;
    }
    switch (r->framing) {
    case XF_BODY_CHUNKED:
        return body_chunked(r, buf, len, pused, pdata, pdlen, preason);
    case XF_BODY_LENGTH:
        if ((apr_off_t)n > r->left) {
            n = (apr_size_t)r->left;
        }
        r->left -= (apr_off_t)n;
        r->body_done = r->left == 0;
        break;
    default: /* XF_BODY_CLOSE */
        break;
    }
    *pused = n;
    *pdata = n ? buf : NULL;
    *pdlen = n;
    return r->body_done ? APR_EOF : APR_INCOMPLETE;
}

apr_status_t xf_http_resp_eof(xf_http_resp_t *r)
{
    if (r->err == NULL && r->hstate == H_DONE &&
        (r->body_done || r->framing == XF_BODY_CLOSE)) {
        r->body_done = 1;
        return APR_SUCCESS;
    }
    return APR_EOF;
}

int xf_http_resp_status(const xf_http_resp_t *r)
{
    return r->status;
}

const char *xf_http_resp_reason(const xf_http_resp_t *r)
{
    return r->reason;
}

const char *xf_http_resp_version(const xf_http_resp_t *r)
{
    return r->version;
}

const apr_table_t *xf_http_resp_headers(const xf_http_resp_t *r)
{
    return r->headers;
}

xf_body_e xf_http_resp_framing(const xf_http_resp_t *r)
{
    return r->framing;
}

apr_off_t xf_http_resp_length(const xf_http_resp_t *r)
{
    return r->framing == XF_BODY_LENGTH ? r->cl : -1;
}
