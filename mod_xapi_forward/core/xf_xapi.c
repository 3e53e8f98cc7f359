/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_xapi.c - one JSON-RPC call to XAPI per xf_xapi_call(): the request is
 * built with json-c, sent with a fresh libcurl easy handle (thread safe,
 * bounded in time and size, http/https only, no redirects, no proxies) and
 * the reply mapped to an xf_xapi_code_e. Pure core: no httpd headers.
 */
#include "xf_xapi.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include <curl/curl.h>
#include <json.h>

/* Largest reply body accepted. A pool-admin's RBAC permission list holds
 * some thousands of names (~100 KiB); anything near this is not xapi. */
#define MAX_REPLY (4u * 1024u * 1024u)
/* Longest XAPI error name kept in rep->error. */
#define MAX_ERROR_NAME 128
/* Deepest JSON nesting accepted in a reply. */
#define MAX_JSON_DEPTH 32
/* Bound of a call whose endpoint sets no timeout: never wait forever. */
#define DEFAULT_TIMEOUT_MS 10000L

/* json_tokener_get_parse_end() came with json-c 0.15 */
#if defined(JSON_C_VERSION_NUM) && JSON_C_VERSION_NUM >= ((0 << 16) | (15 << 8))
#define PARSE_END(tok) json_tokener_get_parse_end(tok)
#else
#define PARSE_END(tok) ((size_t)(tok)->char_offset)
#endif

/* ---- process-wide init ------------------------------------------------- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_rc = CURLE_FAILED_INIT;

static void init_curl(void)
{
    init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

apr_status_t xf_xapi_init(void)
{
    pthread_once(&init_once, init_curl);
    return init_rc == CURLE_OK ? APR_SUCCESS : APR_EGENERAL;
}

/* ---- reply body buffer ------------------------------------------------- */

typedef struct body_t {
    char *buf;    /* malloc'd, NUL-terminated when len > 0 */
    size_t len;   /* bytes received */
    size_t cap;   /* bytes allocated */
    int oversize; /* 1: more than MAX_REPLY bytes were offered */
} body_t;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    body_t *b = ud;
    size_t n = size * nmemb;

    if (n > MAX_REPLY - b->len) {
        b->oversize = 1;
        return 0; /* CURLE_WRITE_ERROR: stop reading */
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        char *nb;

        while (cap < b->len + n + 1)
            cap *= 2;
        if (!(nb = realloc(b->buf, cap)))
            return 0;
        b->buf = nb;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, data, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return n;
}

/* ---- reply interpretation ---------------------------------------------- */

static void set_error(xf_xapi_reply_t *rep, xf_xapi_code_e code,
                      const char *error)
{
    rep->code = code;
    rep->error = error;
}

/* A JSON string as a pool string; NULL if it is not a string or holds a
 * NUL (its C string would say something else). */
static const char *dup_string(json_object *o, apr_pool_t *p)
{
    const char *s;
    size_t n;

    if (!json_object_is_type(o, json_type_string))
        return NULL;
    s = json_object_get_string(o);
    n = (size_t)json_object_get_string_len(o);
    if (memchr(s, '\0', n))
        return NULL;
    return apr_pstrmemdup(p, s, n);
}

/* An XAPI error name, made safe to log: printable ASCII only, capped. */
static const char *error_name(json_object *o, apr_pool_t *p)
{
    const char *s;
    char *out;
    size_t i, n;

    if (!json_object_is_type(o, json_type_string))
        return NULL;
    s = json_object_get_string(o);
    n = (size_t)json_object_get_string_len(o);
    if (n == 0)
        return NULL;
    if (n > MAX_ERROR_NAME)
        n = MAX_ERROR_NAME;
    out = apr_pstrmemdup(p, s, n);
    for (i = 0; i < n; i++)
        if (!isprint((unsigned char)out[i]))
            out[i] = '?';
    return out;
}

/* A master address as xapi reports it: a host name, an IPv4 address or an
 * IPv6 literal (bare or bracketed). Nothing that could change a URL. */
static int valid_host(const char *h)
{
    size_t i, n = strlen(h);

    if (n == 0 || n > 253)
        return 0;
    if (h[0] == '[') {
        /* "[v6]" or "[v6]:port" */
        const char *e = strchr(h, ']');
        if (!e || e - h < 2)
            return 0;
        if (e[1]) {
            const char *d = e + 2;
            if (e[1] != ':' || !*d)
                return 0;
            for (; *d; d++)
                if (!isdigit((unsigned char)*d))
                    return 0;
        }
        n = (size_t)(e - h) - 1;
        h++;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];

        if (!isalnum(c) && c != '.' && c != '-' && c != ':' && c != '_')
            return 0;
    }
    return 1;
}

/* Fill rep from an XAPI error: name plus its parameters (data). */
static void map_error(xf_xapi_reply_t *rep, const char *name, json_object *data,
                      apr_pool_t *p)
{
    json_object *m = NULL;

    if (strcmp(name, "SESSION_INVALID") == 0) {
        set_error(rep, XF_XAPI_SESSION_INVALID, name);
        return;
    }
    if (strcmp(name, "SESSION_AUTHENTICATION_FAILED") == 0) {
        set_error(rep, XF_XAPI_AUTH_FAILED, name);
        return;
    }
    if (strcmp(name, "HOST_IS_SLAVE") == 0) {
        if (data && json_object_is_type(data, json_type_array) &&
            json_object_array_length(data) > 0)
            m = json_object_array_get_idx(data, 0);
        if ((rep->master = dup_string(m, p)) && valid_host(rep->master)) {
            set_error(rep, XF_XAPI_HOST_IS_SLAVE, name);
            return;
        }
        rep->master = NULL;
        /* no usable master: the caller cannot retry, so a plain error */
    }
    set_error(rep, XF_XAPI_API_ERROR, name);
}

/* Fill rep from a successful result. */
static void map_result(xf_xapi_reply_t *rep, json_object *res, apr_pool_t *p)
{
    size_t i, n;

    switch (json_object_get_type(res)) {
    case json_type_string:
        if (!(rep->str = dup_string(res, p)))
            return; /* GARBAGE */
        break;
    case json_type_boolean:
        rep->boolean = json_object_get_boolean(res) ? 1 : 0;
        break;
    case json_type_array:
        n = json_object_array_length(res);
        rep->list = apr_pcalloc(p, (n + 1) * sizeof(*rep->list));
        for (i = 0; i < n; i++) {
            rep->list[i] = dup_string(json_object_array_get_idx(res, i), p);
            if (!rep->list[i]) {
                rep->list = NULL;
                set_error(rep, XF_XAPI_GARBAGE, "non-string in result list");
                return;
            }
        }
        break;
    default:
        break; /* null, numbers, records: OK with nothing filled */
    }
    set_error(rep, XF_XAPI_OK, NULL);
}

/* Map a reply body (JSON-RPC 2.0, or 1.0 as older clients get it). */
static void map_body(xf_xapi_reply_t *rep, const body_t *b, apr_pool_t *p)
{
    json_tokener *tok = json_tokener_new_ex(MAX_JSON_DEPTH);
    json_object *top = NULL, *err = NULL, *res = NULL;
    const char *name = NULL;
    size_t end;

    set_error(rep, XF_XAPI_GARBAGE, "reply is not JSON-RPC");
    if (!tok || b->len == 0 || b->len > MAX_REPLY)
        goto cleanup;
    top = json_tokener_parse_ex(tok, b->buf, (int)b->len);
    if (!top || json_tokener_get_error(tok) != json_tokener_success)
        goto cleanup;
    for (end = PARSE_END(tok); end < b->len; end++)
        if (!isspace((unsigned char)b->buf[end]))
            goto cleanup;
    if (!json_object_is_type(top, json_type_object))
        goto cleanup;
    json_object_object_get_ex(top, "error", &err);
    json_object_object_get_ex(top, "result", &res);

    if (err && json_object_is_type(err, json_type_object)) {
        /* 2.0: {"code":1,"message":"NAME","data":[params]} */
        json_object *msg = NULL, *data = NULL;

        json_object_object_get_ex(err, "message", &msg);
        json_object_object_get_ex(err, "data", &data);
        if ((name = error_name(msg, p)))
            map_error(rep, name, data, p);
    }
    else if (err && json_object_is_type(err, json_type_array)) {
        /* 1.0: "error":["NAME", param, ...] */
        json_object *rest = json_object_new_array();
        size_t i, n = json_object_array_length(err);

        if (rest && n > 0 &&
            (name = error_name(json_object_array_get_idx(err, 0), p))) {
            for (i = 1; i < n; i++)
                json_object_array_add(
                    rest, json_object_get(json_object_array_get_idx(err, i)));
            map_error(rep, name, rest, p);
        }
        json_object_put(rest);
    }
    else if (!err || json_object_is_type(err, json_type_null)) {
        if (json_object_object_get_ex(top, "result", NULL) &&
            rep->http_status == 200)
            map_result(rep, res, p);
    }

cleanup:
    json_object_put(top);
    if (tok)
        json_tokener_free(tok);
}

/* ---- the call ---------------------------------------------------------- */

static json_object *param_json(const xf_xapi_param_t *prm)
{
    json_object *arr;
    size_t i;

    switch (prm->type) {
    case XF_XAPI_FLOAT:
        return json_object_new_double(prm->f);
    case XF_XAPI_STRINGS:
        if (!(arr = json_object_new_array()))
            return NULL;
        for (i = 0; prm->list && prm->list[i]; i++)
            json_object_array_add(arr, json_object_new_string(prm->list[i]));
        return arr;
    default:
        return json_object_new_string(prm->s ? prm->s : "");
    }
}

static const char *request_json(const char *method,
                                const xf_xapi_param_t *params, int n,
                                apr_pool_t *p)
{
    json_object *req = json_object_new_object();
    json_object *arr = json_object_new_array();
    const char *out = NULL;
    int i;

    if (!req || !arr) {
        json_object_put(arr);
        goto cleanup;
    }
    json_object_object_add(req, "jsonrpc", json_object_new_string("2.0"));
    json_object_object_add(req, "method", json_object_new_string(method));
    for (i = 0; i < n; i++)
        json_object_array_add(arr, param_json(&params[i]));
    json_object_object_add(req, "params", arr);
    json_object_object_add(req, "id", json_object_new_int(1));
    out = apr_pstrdup(
        p, json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));

cleanup:
    json_object_put(req);
    return out;
}

/* Every option of a call; the first failure stops (an option that does
 * not take, e.g. the protocol limit, must not go unnoticed). */
static CURLcode set_options(CURL *h, const xf_xapi_endpoint_t *ep,
                            const char *url, const char *sock, const char *json,
                            struct curl_slist *hdrs, body_t *body, char *errbuf)
{
    long tmo = ep->timeout_ms > 0 ? ep->timeout_ms : DEFAULT_TIMEOUT_MS;
    long verify = ep->verify ? 1L : 0L;
    CURLcode rc = CURLE_OK;

#define SET(opt, val)                                                          \
    do {                                                                       \
        if (rc == CURLE_OK)                                                    \
            rc = curl_easy_setopt(h, opt, val);                                \
    } while (0)

    SET(CURLOPT_URL, url);
    /* threads: no SIGALRM for DNS timeouts */
    SET(CURLOPT_NOSIGNAL, 1L);
    /* CURLOPT_PROTOCOLS_STR came with 7.85.0 */
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_PROXY, ""); /* no http_proxy from httpd's environment */
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SET(CURLOPT_TIMEOUT_MS, tmo);
    SET(CURLOPT_CONNECTTIMEOUT_MS, tmo);
    SET(CURLOPT_HTTPHEADER, hdrs);
    SET(CURLOPT_POSTFIELDS, json);
    SET(CURLOPT_POSTFIELDSIZE, (long)strlen(json));
    SET(CURLOPT_MAXFILESIZE, (long)MAX_REPLY);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, body);
    SET(CURLOPT_ERRORBUFFER, errbuf);
    if (sock) {
        SET(CURLOPT_UNIX_SOCKET_PATH, sock);
    }
    else {
        if (ep->ca_file)
            SET(CURLOPT_CAINFO, ep->ca_file);
        SET(CURLOPT_SSL_VERIFYPEER, verify);
        SET(CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
    }
#undef SET
    return rc;
}

apr_status_t xf_xapi_call(xf_xapi_reply_t *rep, const xf_xapi_endpoint_t *ep,
                          const char *method, const char *const *params,
                          apr_pool_t *p)
{
    xf_xapi_param_t *typed;
    int i, n = 0;

    while (params && params[n])
        n++;
    typed = apr_pcalloc(p, sizeof(*typed) * (n ? n : 1));
    for (i = 0; i < n; i++)
        typed[i].s = params[i]; /* XF_XAPI_STRING */
    return xf_xapi_call_ex(rep, ep, method, typed, n, p);
}

/* Where a failed call went: libcurl's message names its placeholder URL
 * ("localhost port 80") for a unix socket, so name the socket instead. */
static const char *transport_error(const xf_xapi_endpoint_t *ep,
                                   const char *sock, CURL *h, CURLcode rc,
                                   const char *errbuf, apr_pool_t *p)
{
    long oserr = 0;
    char buf[128];

    if (!sock)
        return apr_pstrdup(p, errbuf[0] ? errbuf : curl_easy_strerror(rc));
    if (curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr) == CURLE_OK &&
        oserr > 0)
        return apr_psprintf(
            p, "%s: %s (%s)", ep->url, curl_easy_strerror(rc),
            apr_strerror((apr_status_t)oserr, buf, sizeof(buf)));
    return apr_psprintf(p, "%s: %s", ep->url, curl_easy_strerror(rc));
}

apr_status_t xf_xapi_call_ex(xf_xapi_reply_t *rep, const xf_xapi_endpoint_t *ep,
                             const char *method, const xf_xapi_param_t *params,
                             int nparams, apr_pool_t *p)
{
    CURL *h = NULL;
    struct curl_slist *hdrs = NULL, *h2;
    body_t body = {NULL, 0, 0, 0};
    char errbuf[CURL_ERROR_SIZE];
    const char *json, *url, *sock = NULL;
    apr_status_t rv = APR_SUCCESS;
    CURLcode rc;
    long status = 0;
    size_t n;

    memset(rep, 0, sizeof(*rep));
    set_error(rep, XF_XAPI_UNREACHABLE, "bad XAPI endpoint");
    if (!ep || !ep->url || !method) {
        rv = APR_EINVAL;
        goto cleanup;
    }
    if (strncmp(ep->url, "unix:", 5) == 0) {
        sock = ep->url + 5;
        if (*sock != '/') {
            rv = APR_EINVAL;
            goto cleanup;
        }
        url = "http://localhost/jsonrpc";
    }
    else {
        n = strlen(ep->url);
        while (n > 0 && ep->url[n - 1] == '/')
            n--;
        url = apr_pstrcat(p, apr_pstrmemdup(p, ep->url, n), "/jsonrpc", NULL);
    }
    if (!(json = request_json(method, params, nparams, p))) {
        set_error(rep, XF_XAPI_UNREACHABLE, "out of memory");
        rv = APR_ENOMEM;
        goto cleanup;
    }

    set_error(rep, XF_XAPI_UNREACHABLE, "libcurl setup failed");
    if (!(h = curl_easy_init()))
        goto cleanup;
    hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    if (hdrs && (h2 = curl_slist_append(hdrs, "Accept: application/json")))
        hdrs = h2;
    if (hdrs && (h2 = curl_slist_append(hdrs, "Expect:")))
        hdrs = h2;
    if (!hdrs)
        goto cleanup;
    errbuf[0] = '\0';
    if (set_options(h, ep, url, sock, json, hdrs, &body, errbuf) != CURLE_OK)
        goto cleanup;

    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    rep->http_status = (int)status;
    if (body.oversize || rc == CURLE_FILESIZE_EXCEEDED) {
        set_error(rep, XF_XAPI_GARBAGE, "reply larger than 4 MiB");
    }
    else if (rc == CURLE_OPERATION_TIMEDOUT) {
        set_error(rep, XF_XAPI_TIMEOUT, "timed out");
    }
    else if (rc != CURLE_OK) {
        set_error(rep, XF_XAPI_UNREACHABLE,
                  transport_error(ep, sock, h, rc, errbuf, p));
    }
    else {
        map_body(rep, &body, p);
        if (rep->code == XF_XAPI_GARBAGE && status != 200)
            rep->error = apr_psprintf(p,
                                      "HTTP status %ld without a "
                                      "JSON-RPC reply",
                                      status);
    }

cleanup:
    if (h)
        curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    free(body.buf);
    return rv;
}

xf_xapi_endpoint_t *xf_xapi_master_endpoint(const xf_xapi_endpoint_t *ep,
                                            const char *master, apr_pool_t *p)
{
    xf_xapi_endpoint_t *m;

    if (!master || !valid_host(master))
        return NULL;
    m = apr_pmemdup(p, ep, sizeof(*ep));
    /* a bare IPv6 literal has two colons or more; "host:port" has one */
    if (master[0] != '[' && strchr(master, ':') &&
        strchr(strchr(master, ':') + 1, ':'))
        m->url = apr_pstrcat(p, "https://[", master, "]", NULL);
    else
        m->url = apr_pstrcat(p, "https://", master, NULL);
    return m;
}

void xf_xapi_reply_parse(xf_xapi_reply_t *rep, const char *body, apr_size_t len,
                         int http_status, apr_pool_t *p)
{
    body_t b = {(char *)body, len, len, 0};

    memset(rep, 0, sizeof(*rep));
    rep->http_status = http_status;
    map_body(rep, &b, p);
}
