/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * fuzz_envelope.c - xf_envelope_build() on an arbitrary request: method,
 * target, version, STUNNEL_PROXY and headers (cookies, Authorization,
 * Content-Length, ...) all come from the input.
 *
 * Input: byte 0 = option bits (path keys, force close, top-level
 * traceparent, forward auth, strip credentials, TLS client), byte 1 = a
 * small size cap, then NUL-separated pieces: method, target, version,
 * [STUNNEL_PROXY when TLS], then header name, value, name, value, ...
 *
 * Invariants: the envelope is one JSON object that json-c reads to the last
 * byte; every header value comes back trimmed under its field (the last one
 * of a field wins) or in additional_headers (the first one in wire order
 * wins there, as the list is reversed); the method, version, close flag and
 * STUNNEL_PROXY come back; stripped keys never appear in query or cookie;
 * a size cap either refuses with the exact size or gives the same bytes.
 */
#include "fuzz.h"

#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include <json.h>

#include "xf_envelope.h"

#define BIG_MAX (1u << 24)

/* Own copy of OCaml's String.trim, to check the builder's against. */
static void trim(const char *s, const char **pb, size_t *pn)
{
    size_t n = strlen(s);

    while (n > 0 && strchr(" \t\n\r\f", s[0]) && s[0]) {
        s++;
        n--;
    }
    while (n > 0 && strchr(" \t\n\r\f", s[n - 1]) && s[n - 1])
        n--;
    *pb = s;
    *pn = n;
}

static char *lower(const char *s, apr_pool_t *p)
{
    char *l = apr_pstrdup(p, s), *c;

    for (c = l; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    return l;
}

/* A string member equals v[0..n). */
static int member_is(json_object *o, const char *key, const char *v, size_t n)
{
    json_object *m = NULL;

    if (!json_object_object_get_ex(o, key, &m) ||
        !json_object_is_type(m, json_type_string))
        return 0;
    return (size_t)json_object_get_string_len(m) == n &&
           memcmp(json_object_get_string(m), v, n) == 0;
}

/* Header names with a field of their own, and that field's JSON key.
 * connection and content-length only count when their value is one the
 * builder takes (close/keep-alive, digits), so they are checked apart. */
static const char *const fields[][2] = {
    {"transfer-encoding", "transfer_encoding"},
    {"accept", "accept"},
    {"task-id", "task"},
    {"subtask-of", "subtask_of"},
    {"content-type", "content_type"},
    {"host", "host"},
    {"user-agent", "user_agent"},
    {"cookie", NULL},
    {"authorization", NULL},
};

static int field_index(const char *lname)
{
    size_t i;

    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (strcmp(lname, fields[i][0]) == 0)
            return (int)i;
    return -1;
}

static int ieq(const char *v, size_t n, const char *l)
{
    return n == strlen(l) && strncasecmp(v, l, n) == 0;
}

static int all_digits(const char *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (v[i] < '0' || v[i] > '9')
            return 0;
    return n > 0;
}

static void check_json(const char *json, apr_size_t len, const xf_reqview_t *rv,
                       const xf_envelope_opts_t *o, int nul_keys, apr_pool_t *p)
{
    json_tokener *tok = json_tokener_new();
    json_object *top, *m = NULL, *add = NULL, *close = NULL, *map = NULL;
    const xf_kv_t *h = (const xf_kv_t *)rv->headers->elts;
    int i, j, nh = rv->headers->nelts;

    FUZZ_CHECK(tok != NULL);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    top = json_tokener_parse_ex(tok, json, (int)len);
    FUZZ_CHECK(top != NULL);
    FUZZ_CHECK(json_tokener_get_error(tok) == json_tokener_success);
    FUZZ_CHECK(json_tokener_get_parse_end(tok) == len);
    FUZZ_CHECK(json_object_is_type(top, json_type_object));

    /* method */
    FUZZ_CHECK(json_object_object_get_ex(top, "m", &m));
    if (json_object_is_type(m, json_type_array)) {
        json_object *u = json_object_array_get_idx(m, 0);
        json_object *v = json_object_array_get_idx(m, 1);

        FUZZ_CHECK(json_object_array_length(m) == 2);
        FUZZ_CHECK(u && strcmp(json_object_get_string(u), "Unknown") == 0);
        FUZZ_CHECK(v &&
                   (size_t)json_object_get_string_len(v) == strlen(rv->method));
        FUZZ_CHECK(memcmp(json_object_get_string(v), rv->method,
                          strlen(rv->method)) == 0);
        FUZZ_CHECK(strcmp(rv->method, "GET") && strcmp(rv->method, "POST") &&
                   strcmp(rv->method, "PUT") && strcmp(rv->method, "CONNECT") &&
                   strcmp(rv->method, "OPTIONS"));
    }
    else {
        FUZZ_CHECK(json_object_is_type(m, json_type_string));
    }
    FUZZ_CHECK(member_is(top, "version", rv->version, strlen(rv->version)));
    FUZZ_CHECK(json_object_object_get_ex(top, "close", &close));
    FUZZ_CHECK(json_object_is_type(close, json_type_boolean));
    if (o->force_close)
        FUZZ_CHECK(json_object_get_boolean(close));
    FUZZ_CHECK(json_object_object_get_ex(top, "frame", NULL));
    FUZZ_CHECK((o->path_keys & XF_PATHKEY_URI) ==
               (json_object_object_get_ex(top, "uri", NULL) ? 1 : 0));
    FUZZ_CHECK(((o->path_keys & XF_PATHKEY_PATH) != 0) ==
               (json_object_object_get_ex(top, "path", NULL) ? 1 : 0));

    /* additional_headers: the first wire occurrence of a name wins */
    FUZZ_CHECK(json_object_object_get_ex(top, "additional_headers", &add));
    FUZZ_CHECK(json_object_is_type(add, json_type_object));
    for (i = 0; i < nh; i++) {
        const char *ln = lower(h[i].key, p), *v;
        size_t n;
        int other;

        trim(h[i].val, &v, &n);
        if (strcmp(ln, "connection") == 0)
            other = !ieq(v, n, "close") && !ieq(v, n, "keep-alive");
        else if (strcmp(ln, "content-length") == 0)
            other = !(all_digits(v, n) &&
                      (n < 19 ||
                       (n == 19 && memcmp(v, "9223372036854775807", 19) <= 0)));
        else
            other = field_index(ln) < 0;
        if (!other)
            continue;
        for (j = 0; j < i; j++) /* an earlier header of that name wins */
            if (strcasecmp(h[j].key, h[i].key) == 0)
                break;
        if (j == i)
            FUZZ_CHECK(member_is(add, ln, v, n) ||
                       /* an earlier Connection/Content-Length taken as a
                        * field is not in the list: then a later one is */
                       strcmp(ln, "connection") == 0 ||
                       strcmp(ln, "content-length") == 0);
    }
    if (rv->stunnel_proxy)
        FUZZ_CHECK(member_is(add, "STUNNEL_PROXY", rv->stunnel_proxy,
                             strlen(rv->stunnel_proxy)));

    /* fields of their own: the last occurrence wins */
    for (j = 0; j < (int)(sizeof(fields) / sizeof(fields[0])); j++) {
        const char *v = NULL;
        size_t n = 0;

        if (!fields[j][1])
            continue;
        for (i = 0; i < nh; i++)
            if (strcasecmp(h[i].key, fields[j][0]) == 0)
                trim(h[i].val, &v, &n);
        if (v)
            FUZZ_CHECK(member_is(top, fields[j][1], v, n));
        else
            FUZZ_CHECK(!json_object_object_get_ex(top, fields[j][1], NULL));
    }
    if (o->traceparent_top) {
        const char *v = NULL;
        size_t n = 0;

        for (i = 0; i < nh; i++)
            if (strcasecmp(h[i].key, "traceparent") == 0)
                trim(h[i].val, &v, &n);
        if (v)
            FUZZ_CHECK(member_is(top, "traceparent", v, n));
    }
    if (!o->forward_auth)
        FUZZ_CHECK(!json_object_object_get_ex(top, "auth", NULL));

    /* stripped keys are gone (json-c cuts a key at a NUL, so a decoded
     * "%00" could fake one: skip then) */
    if (o->strip_params && !nul_keys) {
        const char *const maps[] = {"query", "cookie"};

        for (j = 0; j < 2; j++) {
            FUZZ_CHECK(json_object_object_get_ex(top, maps[j], &map));
            FUZZ_CHECK(json_object_is_type(map, json_type_object));
            for (i = 0; o->strip_params[i]; i++)
                FUZZ_CHECK(
                    !json_object_object_get_ex(map, o->strip_params[i], NULL));
        }
    }
    json_object_put(top);
    json_tokener_free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const strip[] = {"session_id", "pool_secret", NULL};
    apr_pool_t *p;
    xf_reqview_t rv;
    xf_envelope_opts_t o;
    const char *piece[3] = {"", "", ""}, *json = NULL, *json2 = NULL;
    const char *why = NULL;
    apr_size_t len = 0, len2 = 0, pos;
    apr_status_t st, st2;
    char *in;
    int k = 0, nul_keys;

    if (size < 2)
        return 0;
    p = fuzz_pool();
    memset(&o, 0, sizeof(o));
    o.path_keys = (data[0] & 3) ? (xf_pathkey_e)(data[0] & 3) : XF_PATHKEY_BOTH;
    o.force_close = (data[0] >> 2) & 1;
    o.traceparent_top = (data[0] >> 3) & 1;
    o.forward_auth = (data[0] >> 4) & 1;
    o.strip_params = ((data[0] >> 5) & 1) ? strip : NULL;
    o.max_size = BIG_MAX;

    /* NUL-terminated copy; pieces split at NUL bytes */
    in = apr_palloc(p, size - 2 + 1);
    memcpy(in, data + 2, size - 2);
    in[size - 2] = '\0';
    nul_keys = 0;
    memset(&rv, 0, sizeof(rv));
    rv.headers = apr_array_make(p, 8, sizeof(xf_kv_t));
    for (pos = 0; pos <= size - 2;) {
        const char *s = in + pos;

        if (k < 3)
            piece[k] = s;
        else if (k == 3 && (data[0] & 0x40))
            rv.stunnel_proxy = s;
        else if (((k - 3 - ((data[0] & 0x40) ? 1 : 0)) & 1) == 0)
            ((xf_kv_t *)apr_array_push(rv.headers))->key = s;
        else
            ((xf_kv_t *)rv.headers->elts)[rv.headers->nelts - 1].val = s;
        nul_keys |= strstr(s, "%00") != NULL;
        pos += strlen(s) + 1;
        k++;
    }
    if (rv.headers->nelts > 0 &&
        !((xf_kv_t *)rv.headers->elts)[rv.headers->nelts - 1].val)
        ((xf_kv_t *)rv.headers->elts)[rv.headers->nelts - 1].val = "";
    rv.method = piece[0];
    rv.target = piece[1];
    rv.version = piece[2];

    st = xf_envelope_build(&json, &len, &why, &rv, &o, p);
    FUZZ_CHECK(st == APR_SUCCESS);
    FUZZ_CHECK(json != NULL && strlen(json) == len && len <= o.max_size);
    check_json(json, len, &rv, &o, nul_keys, p);

    /* a small cap: refused with the exact size, or the very same bytes */
    o.max_size = 256 + (apr_size_t)data[1] * 8;
    st2 = xf_envelope_build(&json2, &len2, &why, &rv, &o, p);
    if (len <= o.max_size) {
        FUZZ_CHECK(st2 == APR_SUCCESS);
        FUZZ_CHECK(len2 == len && memcmp(json, json2, len) == 0);
    }
    else {
        FUZZ_CHECK(st2 == APR_ENOSPC);
        FUZZ_CHECK(json2 == NULL);
        FUZZ_CHECK(len2 == 0 || len2 == len);
        FUZZ_CHECK(why != NULL);
    }
    apr_pool_destroy(p);
    return 0;
}
