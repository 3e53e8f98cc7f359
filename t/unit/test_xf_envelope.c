/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * test_xf_envelope.c - xf_envelope_build() against xapi's own output: the
 * worked examples A-D of research/xapi-forwarded.md byte for byte, then
 * one test per odd case (escaping, query, cookies, auth, close, size cap).
 */
#include "xf_test.h"

#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include <json.h>

#include "xf_envelope.h"
#include "xf_parse.h"

/* ---- fixtures and helpers ---------------------------------------------- */

/* hdrs: name, value, name, value, ..., NULL */
static xf_reqview_t *view(apr_pool_t *p, const char *method, const char *target,
                          const char *version, const char *const *hdrs)
{
    xf_reqview_t *rv = apr_pcalloc(p, sizeof(*rv));
    int i;

    rv->method = method;
    rv->target = target;
    rv->version = version;
    rv->headers = apr_array_make(p, 8, sizeof(xf_kv_t));
    for (i = 0; hdrs && hdrs[i]; i += 2) {
        xf_kv_t *kv = apr_array_push(rv->headers);

        kv->key = hdrs[i];
        kv->val = hdrs[i + 1];
    }
    return rv;
}

/* What xapi itself does: computed close, "path" key, auth forwarded. */
static void opts_init(xf_envelope_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->path_keys = XF_PATHKEY_PATH;
    o->force_close = 0;
    o->traceparent_top = 0;
    o->forward_auth = 1;
    o->strip_params = NULL;
    o->max_size = XF_ENVELOPE_DEFAULT_MAX;
}

/* json-c must accept all n bytes as one JSON object. */
static void assert_json_valid(const char *s, apr_size_t n)
{
    struct json_tokener *tok = json_tokener_new();
    struct json_object *obj;

    assert_non_null(tok);
    obj = json_tokener_parse_ex(tok, s, (int)n);
    assert_non_null(obj);
    assert_int_equal(json_tokener_get_error(tok), json_tokener_success);
    assert_int_equal(json_tokener_get_parse_end(tok), n);
    assert_true(json_object_is_type(obj, json_type_object));
    json_object_put(obj);
    json_tokener_free(tok);
}

static const char *build(apr_pool_t *p, const xf_reqview_t *rv,
                         const xf_envelope_opts_t *o)
{
    const char *json = NULL, *reason = NULL;
    apr_size_t len = 0;
    apr_status_t st = xf_envelope_build(&json, &len, &reason, rv, o, p);

    assert_int_equal(st, APR_SUCCESS);
    assert_non_null(json);
    /* every byte < 0x20 is escaped, so no NUL inside the JSON */
    assert_int_equal(strlen(json), len);
    assert_true(len <= o->max_size);
    assert_json_valid(json, len);
    return json;
}

static void expect(apr_pool_t *p, const xf_reqview_t *rv,
                   const xf_envelope_opts_t *o, const char *want)
{
    const char *got = build(p, rv, o);

    assert_string_equal(got, want);
    assert_memory_equal(got, want, strlen(want) + 1);
}

/* The envelope of a plain "GET target HTTP/1.1" with the given path and
 * query JSON. */
static const char *plain(apr_pool_t *p, const char *path, const char *query)
{
    return apr_psprintf(p,
                        "{\"m\":\"Get\",\"path\":\"%s\",\"query\":%s,"
                        "\"version\":\"1.1\",\"frame\":false,\"cookie\":{},"
                        "\"close\":false,\"additional_headers\":{}}",
                        path, query);
}

static void expect_target(apr_pool_t *p, const char *target, const char *path,
                          const char *query)
{
    xf_envelope_opts_t o;

    opts_init(&o);
    expect(p, view(p, "GET", target, "1.1", NULL), &o, plain(p, path, query));
}

static void expect_cookie(apr_pool_t *p, const char *value, const char *cookie)
{
    const char *h[] = {"Cookie", value, NULL};
    xf_envelope_opts_t o;

    opts_init(&o);
    expect(p, view(p, "GET", "/", "1.1", h), &o,
           apr_psprintf(p,
                        "{\"m\":\"Get\",\"path\":\"/\",\"query\":{},"
                        "\"version\":\"1.1\",\"frame\":false,\"cookie\":%s,"
                        "\"close\":false,\"additional_headers\":{}}",
                        cookie));
}

static void expect_auth(apr_pool_t *p, const char *value, const char *auth)
{
    const char *h[] = {"Authorization", value, NULL};
    xf_envelope_opts_t o;

    opts_init(&o);
    expect(p, view(p, "GET", "/", "1.1", h), &o,
           apr_psprintf(p,
                        "{\"m\":\"Get\",\"path\":\"/\",\"query\":{},"
                        "\"version\":\"1.1\",\"frame\":false,\"auth\":%s,"
                        "\"cookie\":{},\"close\":false,"
                        "\"additional_headers\":{}}",
                        auth));
}

/* ---- golden examples A-D (research/xapi-forwarded.md section 2) -------- */

/* clang-format off */
static const char *const hdr_a[] = {
    "Host", "192.0.2.1",
    "User-Agent", "curl/8.0",
    "Accept", "*/*",
    "Cookie", "session_id=OpaqueRef:1234; lang=en",
    "Accept-Encoding", "gzip",
    NULL
};
/* clang-format on */

#define GOLDEN_A_HEAD "{\"m\":\"Get\","
#define GOLDEN_A_TAIL                                                          \
    "\"query\":{\"start\":\"1687352958\",\"host\":\"true\","                   \
    "\"cf\":\"AVERAGE\"},\"version\":\"1.1\",\"frame\":false,"                 \
    "\"accept\":\"*/*\",\"cookie\":{\"session_id\":\"OpaqueRef:1234\","        \
    "\"lang\":\"en\"},\"host\":\"192.0.2.1\",\"user_agent\":\"curl/8.0\","     \
    "\"close\":true,\"additional_headers\":{\"accept-encoding\":\"gzip\","     \
    "\"STUNNEL_PROXY\":\"TCP6 ::ffff:192.0.2.10 ::ffff:192.0.2.1 53772 "       \
    "443\"}}"

static xf_reqview_t *view_a(apr_pool_t *p)
{
    xf_reqview_t *rv = view(p, "GET",
                            "/rrd_updates?start=1687352958&host=true"
                            "&cf=AVERAGE",
                            "1.1", hdr_a);

    rv->stunnel_proxy = "TCP6 ::ffff:192.0.2.10 ::ffff:192.0.2.1 53772 443";
    return rv;
}

static void test_golden_a(void **state)
{
    xf_envelope_opts_t o;

    opts_init(&o);
    o.force_close = 1; /* the rrd forwarder forces close */
    expect(*state, view_a(*state), &o,
           GOLDEN_A_HEAD "\"path\":\"/rrd_updates\"," GOLDEN_A_TAIL);
}

static void test_golden_a_both_keys(void **state)
{
    xf_envelope_opts_t o;

    opts_init(&o);
    o.force_close = 1;
    o.path_keys = XF_PATHKEY_BOTH;
    expect(*state, view_a(*state), &o,
           GOLDEN_A_HEAD "\"uri\":\"/rrd_updates\","
                         "\"path\":\"/rrd_updates\"," GOLDEN_A_TAIL);
}

static void test_golden_a_uri_only(void **state)
{
    xf_envelope_opts_t o;

    opts_init(&o);
    o.force_close = 1;
    o.path_keys = XF_PATHKEY_URI;
    expect(*state, view_a(*state), &o,
           GOLDEN_A_HEAD "\"uri\":\"/rrd_updates\"," GOLDEN_A_TAIL);
}

static void test_golden_b(void **state)
{
    /* clang-format off */
    const char *h[] = { "Authorization", "Basic cm9vdDpzM2NyM3Q=",
                        "Content-Length", "13",
                        "Content-Type", "text/xml",
                        "Host", "192.0.2.1",
                        NULL };
    /* clang-format on */
    xf_envelope_opts_t o;

    opts_init(&o);
    expect(*state, view(*state, "POST", "/rrd_unarchive?uuid=abc", "1.1", h),
           &o,
           "{\"m\":\"Post\",\"path\":\"/rrd_unarchive\",\"query\":{\"uuid\":"
           "\"abc\"},\"version\":\"1.1\",\"frame\":false,\"content_length\":"
           "13,\"auth\":[\"Basic\",\"root\",\"s3cr3t\"],\"cookie\":{},"
           "\"content_type\":\"text/xml\",\"host\":\"192.0.2.1\",\"close\":"
           "false,\"additional_headers\":{}}");
}

static void test_golden_c(void **state)
{
    const char *h[] = {"Connection", "close", NULL};
    const char *want =
        "{\"m\":\"Get\",\"path\":\"/host_rrd\",\"query\":{\"json\":\"true\"},"
        "\"version\":\"1.0\",\"frame\":false,\"cookie\":{},\"close\":true,"
        "\"additional_headers\":{}}";
    xf_envelope_opts_t o;

    opts_init(&o);
    expect(*state, view(*state, "GET", "/host_rrd?json=true", "1.0", h), &o,
           want);
    o.force_close = 1;
    expect(*state, view(*state, "GET", "/host_rrd?json=true", "1.0", h), &o,
           want);
}

#define TRACEPARENT "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
#define GOLDEN_D                                                               \
    "{\"m\":[\"Unknown\",\"DELETE\"],\"path\":\"/vm_rrd\",\"query\":"          \
    "{\"uuid\":\"x\"},\"version\":\"1.1\",\"frame\":false,\"cookie\":{},"      \
    "\"task\":\"OpaqueRef:t1\",\"subtask_of\":\"OpaqueRef:t0\",\"host\":"      \
    "\"h\",\"close\":false,\"additional_headers\":{\"traceparent\":"           \
    "\"" TRACEPARENT "\"}"

/* clang-format off */
static const char *const hdr_d[] = {
    "Host", "h",
    "task-id", "OpaqueRef:t1",
    "subtask-of", "OpaqueRef:t0",
    "traceparent", TRACEPARENT,
    NULL
};
/* clang-format on */

static void test_golden_d(void **state)
{
    xf_envelope_opts_t o;

    opts_init(&o);
    expect(*state, view(*state, "DELETE", "/vm_rrd?uuid=x", "1.1", hdr_d), &o,
           GOLDEN_D "}");
}

static void test_traceparent_top(void **state)
{
    xf_envelope_opts_t o;

    opts_init(&o);
    o.traceparent_top = 1;
    expect(*state, view(*state, "DELETE", "/vm_rrd?uuid=x", "1.1", hdr_d), &o,
           GOLDEN_D ",\"traceparent\":\"" TRACEPARENT "\"}");
    /* no traceparent header: no top-level field either */
    expect(*state, view(*state, "GET", "/", "1.1", NULL), &o,
           plain(*state, "/", "{}"));
}

/* ---- headers ----------------------------------------------------------- */

static void test_no_headers(void **state)
{
    xf_reqview_t *rv = view(*state, "GET", "/", "1.1", NULL);
    xf_envelope_opts_t o;

    opts_init(&o);
    expect(*state, rv, &o, plain(*state, "/", "{}"));
    rv->headers = NULL;
    expect(*state, rv, &o, plain(*state, "/", "{}"));
}

static void test_duplicate_headers(void **state)
{
    /* clang-format off */
    const char *h[] = { "Host", "first", "X-A", "1", "X-B", "2",
                        "HOST", "second", "X-A", "3", "Accept", "a/b",
                        "accept", "c/d", NULL };
    /* clang-format on */
    xf_envelope_opts_t o;

    opts_init(&o);
    expect(*state, view(*state, "GET", "/", "1.1", h), &o,
           "{\"m\":\"Get\",\"path\":\"/\",\"query\":{},\"version\":\"1.1\","
           "\"frame\":false,\"accept\":\"c/d\",\"cookie\":{},\"host\":"
           "\"second\",\"close\":false,\"additional_headers\":{\"x-a\":\"3\","
           "\"x-b\":\"2\",\"x-a\":\"1\"}}");
}

static void test_200_headers(void **state)
{
    apr_pool_t *p = *state;
    xf_reqview_t *rv = view(p, "GET", "/", "1.1", NULL);
    char *want = "";
    xf_envelope_opts_t o;
    int i;

    for (i = 0; i < 200; i++) {
        xf_kv_t *kv = apr_array_push(rv->headers);

        kv->key = apr_psprintf(p, "X-Header-%d", i);
        kv->val = apr_psprintf(p, "value %d", i);
        /* additional_headers come out in reverse order */
        want = apr_psprintf(p, "\"x-header-%d\":\"value %d\"%s%s", i, i,
                            i > 0 ? "," : "", want);
    }
    opts_init(&o);
    o.max_size = 1 << 20;
    expect(p, rv, &o,
           apr_psprintf(p,
                        "{\"m\":\"Get\",\"path\":\"/\",\"query\":{},"
                        "\"version\":\"1.1\",\"frame\":false,\"cookie\":{},"
                        "\"close\":false,\"additional_headers\":{%s}}",
                        want));
}

static void test_escapes(void **state)
{
    /* clang-format off */
    const char *h[] = { "X-Ctl", "a\001b\037c\177d",
                        "X-Ws", "t\tn\nr\rf\fb\bq\"s\\/e",
                        "X-Utf8", "caf\303\251 \377",
                        "X-\"Odd\\Name", "v",
                        NULL };
    /* clang-format on */
    xf_envelope_opts_t o;

    opts_init(&o);
    expect(*state, view(*state, "GET", "/", "1.1", h), &o,
           "{\"m\":\"Get\",\"path\":\"/\",\"query\":{},\"version\":\"1.1\","
           "\"frame\":false,\"cookie\":{},\"close\":false,"
           "\"additional_headers\":{\"x-\\\"odd\\\\name\":\"v\","
           "\"x-utf8\":\"caf\303\251 \377\","
           "\"x-ws\":\"t\\tn\\nr\\rf\\fb\\bq\\\"s\\\\/e\","
           "\"x-ctl\":\"a\\u0001b\\u001fc\\u007fd\"}}");
}

static void test_trim(void **state)
{
    /* clang-format off */
    const char *h[] = { "Host", " \t\r\n\fh \f\n", "X-Empty", "",
                        "X-Blank", " \t ", "X-In", " a  b ", NULL };
    /* clang-format on */
    xf_envelope_opts_t o;

    opts_init(&o);
    expect(*state, view(*state, "GET", "/", "1.1", h), &o,
           "{\"m\":\"Get\",\"path\":\"/\",\"query\":{},\"version\":\"1.1\","
           "\"frame\":false,\"cookie\":{},\"host\":\"h\",\"close\":false,"
           "\"additional_headers\":{\"x-in\":\"a  b\",\"x-blank\":\"\","
           "\"x-empty\":\"\"}}");
}

static void test_stunnel_proxy_only(void **state)
{
    xf_reqview_t *rv = view(*state, "GET", "/", "1.1", NULL);
    xf_envelope_opts_t o;

    rv->stunnel_proxy = "TCP6 ::1 ::1 1 2";
    opts_init(&o);
    expect(*state, rv, &o,
           "{\"m\":\"Get\",\"path\":\"/\",\"query\":{},\"version\":\"1.1\","
           "\"frame\":false,\"cookie\":{},\"close\":false,"
           "\"additional_headers\":{\"STUNNEL_PROXY\":\"TCP6 ::1 ::1 1 2\"}}");
}

static void test_content_length(void **state)
{
    static const struct {
        const char *in;
        const char *out; /* NULL: kept as an additional header */
    } cases[] = {
        {"0", "0"},
        {"007", "7"},
        {"9223372036854775807", "9223372036854775807"},
        {"09223372036854775807", "9223372036854775807"},
        {"9223372036854775808", NULL},
        {"-1", NULL},
        {"+1", NULL},
        {"0x10", NULL},
        {"1_000", NULL},
        {"5, 5", NULL},
        {"", NULL},
    };
    apr_pool_t *p = *state;
    xf_envelope_opts_t o;
    size_t i;

    opts_init(&o);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *h[] = {"Content-Length", cases[i].in, NULL};
        const char *want;

        if (cases[i].out) {
            want = apr_psprintf(p,
                                "{\"m\":\"Put\",\"path\":\"/\",\"query\":{},"
                                "\"version\":\"1.1\",\"frame\":false,"
                                "\"content_length\":%s,\"cookie\":{},"
                                "\"close\":false,\"additional_headers\":{}}",
                                cases[i].out);
        }
        else {
            want = apr_psprintf(p,
                                "{\"m\":\"Put\",\"path\":\"/\",\"query\":{},"
                                "\"version\":\"1.1\",\"frame\":false,"
                                "\"cookie\":{},\"close\":false,"
                                "\"additional_headers\":"
                                "{\"content-length\":\"%s\"}}",
                                cases[i].in);
        }
        expect(p, view(p, "PUT", "/", "1.1", h), &o, want);
    }
}

/* ---- path and query ---------------------------------------------------- */

static void test_query_forms(void **state)
{
    apr_pool_t *p = *state;

    expect_target(p, "/x", "/x", "{}");
    expect_target(p, "/x?", "/x", "{\"\":\"\"}");
    expect_target(p, "/x?a", "/x", "{\"a\":\"\"}");
    expect_target(p, "/x?a=", "/x", "{\"a\":\"\"}");
    expect_target(p, "/x?=v", "/x", "{\"\":\"v\"}");
    expect_target(p, "/x?a=1&&b=2", "/x",
                  "{\"a\":\"1\",\"\":\"\",\"b\":\"2\"}");
    expect_target(p, "/x?&", "/x", "{\"\":\"\",\"\":\"\"}");
    expect_target(p, "/x?a=1&a=2&a", "/x",
                  "{\"a\":\"1\",\"a\":\"2\",\"a\":\"\"}");
    expect_target(p, "/x?a=b=c", "/x", "{\"a\":\"b=c\"}");
    expect_target(p, "/x?a=1,2;b=3", "/x", "{\"a\":\"1,2;b=3\"}");
}

static void test_plus_and_pct(void **state)
{
    apr_pool_t *p = *state;

    expect_target(p, "/a+b%2Fc%20d?q=a+b%2Fc%2B%26%3D&k+1=v", "/a+b/c d",
                  "{\"q\":\"a b/c+&=\",\"k 1\":\"v\"}");
    /* invalid escapes stay as they are */
    expect_target(p, "/%zz%4%%41%?%g=%4", "/%zz%4%A%", "{\"%g\":\"%4\"}");
    expect_target(p, "/%e2%82%ac", "/\342\202\254", "{}");
}

static void test_nul_via_pct00(void **state)
{
    expect_target(*state, "/a%00b?k%00=v%00w%01", "/a\\u0000b",
                  "{\"k\\u0000\":\"v\\u0000w\\u0001\"}");
}

static void test_fragment(void **state)
{
    apr_pool_t *p = *state;

    expect_target(p, "/p?x=1#frag", "/p", "{\"x\":\"1\"}");
    expect_target(p, "/p#frag?x=1", "/p", "{}");
    expect_target(p, "/p?#", "/p", "{\"\":\"\"}");
}

static void test_absolute_form(void **state)
{
    apr_pool_t *p = *state;

    expect_target(p, "http://example.com/a%20b?x=1#f", "/a b", "{\"x\":\"1\"}");
    expect_target(p, "https://u:pw@[::1]:8443/rrd?y", "/rrd", "{\"y\":\"\"}");
    expect_target(p, "http://h", "", "{}");
    expect_target(p, "http://h?q=1", "", "{\"q\":\"1\"}");
    expect_target(p, "http:/x", "/x", "{}");
    /* no scheme: a leading "//" is part of the path, as httpd sees it */
    expect_target(p, "//h/x", "//h/x", "{}");
    /* authority-form (CONNECT): ocaml-uri reads "h" as a scheme */
    expect_target(p, "h:443", "443", "{}");
    expect_target(p, "*", "*", "{}");
}

/* ---- cookies ----------------------------------------------------------- */

static void test_cookie_basic(void **state)
{
    apr_pool_t *p = *state;

    expect_cookie(p, "a=1", "{\"a\":\"1\"}");
    expect_cookie(p, "x=1; session_id=S", "{\"x\":\"1\",\"session_id\":\"S\"}");
    expect_cookie(p, "x=1;session_id=S", "{\"x\":\"1\",\"session_id\":\"S\"}");
    expect_cookie(p, "x=1;\t \tsession_id=S",
                  "{\"x\":\"1\",\"session_id\":\"S\"}");
    expect_cookie(p, "a=1; a=2", "{\"a\":\"1\",\"a\":\"2\"}");
    expect_cookie(p, "a", "{\"a\":\"\"}");
    expect_cookie(p, "a=", "{\"a\":\"\"}");
    expect_cookie(p, "", "{\"\":\"\"}");
    expect_cookie(p, "=v", "{\"\":\"v\"}");
}

static void test_cookie_dollar(void **state)
{
    expect_cookie(*state, "$Version=1; a=1; $Path=/; b=2",
                  "{\"a\":\"1\",\"b\":\"2\"}");
}

static void test_cookie_extra_equals(void **state)
{
    apr_pool_t *p = *state;

    expect_cookie(p, "a=b=c", "{\"a\":\"b\"}");
    expect_cookie(p, "a=b=c; d==e", "{\"a\":\"b\",\"d\":\"\"}");
    /* decoded '=' counts as well */
    expect_cookie(p, "a%3Db=c", "{\"a\":\"b\"}");
}

static void test_cookie_separators(void **state)
{
    apr_pool_t *p = *state;

    /* without ';' xapi splits on '&' */
    expect_cookie(p, "a=1&b=2", "{\"a\":\"1\",\"b\":\"2\"}");
    /* with a ';' the '&' stays in the value */
    expect_cookie(p, "a=1&b=2; c=3", "{\"a\":\"1&b\",\"c\":\"3\"}");
    /* ',' always splits (httpd joins repeated Cookie headers with ", ") */
    expect_cookie(p, "a=1, b=2", "{\"a\":\"1\",\"b\":\"2\"}");
    expect_cookie(p, "a=1,2", "{\"a\":\"1\",\"2\":\"\"}");
    /* decoded separators split too */
    expect_cookie(p, "a=1%3Bb=2%2C%20c=3",
                  "{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}");
    /* empty items (xapi: 404) are skipped */
    expect_cookie(p, "a=1,,b=2,", "{\"a\":\"1\",\"b\":\"2\"}");
    expect_cookie(p, "a=1;", "{\"a\":\"1\",\"\":\"\"}");
    expect_cookie(p, "a=%20x%00", "{\"a\":\" x\\u0000\"}");
}

/* ---- method, close ----------------------------------------------------- */

static void test_methods(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"GET", "\"Get\""},
        {"POST", "\"Post\""},
        {"PUT", "\"Put\""},
        {"CONNECT", "\"Connect\""},
        {"OPTIONS", "\"Options\""},
        {"HEAD", "[\"Unknown\",\"HEAD\"]"},
        {"DELETE", "[\"Unknown\",\"DELETE\"]"},
        {"get", "[\"Unknown\",\"get\"]"},
        {"Post", "[\"Unknown\",\"Post\"]"},
        {"", "[\"Unknown\",\"\"]"},
        {"M\"\\", "[\"Unknown\",\"M\\\"\\\\\"]"},
    };
    apr_pool_t *p = *state;
    xf_envelope_opts_t o;
    size_t i;

    opts_init(&o);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        expect(p, view(p, cases[i].in, "/", "1.1", NULL), &o,
               apr_psprintf(p,
                            "{\"m\":%s,\"path\":\"/\",\"query\":{},"
                            "\"version\":\"1.1\",\"frame\":false,"
                            "\"cookie\":{},\"close\":false,"
                            "\"additional_headers\":{}}",
                            cases[i].out));
    }
}

/* close for a version and an optional Connection header; extra is the
 * additional_headers content expected. */
static void expect_close(apr_pool_t *p, int force, const char *version,
                         const char *conn, const char *close, const char *extra)
{
    const char *h[] = {"Connection", conn, NULL};
    xf_envelope_opts_t o;

    opts_init(&o);
    o.force_close = force;
    expect(p, view(p, "GET", "/", version, conn ? h : NULL), &o,
           apr_psprintf(p,
                        "{\"m\":\"Get\",\"path\":\"/\",\"query\":{},"
                        "\"version\":\"%s\",\"frame\":false,\"cookie\":{},"
                        "\"close\":%s,\"additional_headers\":{%s}}",
                        version, close, extra));
}

static void test_close_computed(void **state)
{
    apr_pool_t *p = *state;

    expect_close(p, 0, "1.0", NULL, "true", "");
    expect_close(p, 0, "1.1", NULL, "false", "");
    expect_close(p, 0, "1.0", "keep-alive", "false", "");
    expect_close(p, 0, "1.0", " Keep-Alive ", "false", "");
    expect_close(p, 0, "1.1", "close", "true", "");
    expect_close(p, 0, "1.1", "CLOSE", "true", "");
    expect_close(p, 0, "1.1", "Upgrade", "false", "\"connection\":\"Upgrade\"");
    expect_close(p, 0, "1.0", "close, Upgrade", "true",
                 "\"connection\":\"close, Upgrade\"");
    expect_close(p, 0, "2.0", NULL, "false", "");
}

static void test_close_forced(void **state)
{
    apr_pool_t *p = *state;

    expect_close(p, 1, "1.1", NULL, "true", "");
    expect_close(p, 1, "1.1", "keep-alive", "true", "");
    expect_close(p, 1, "1.1", "Upgrade", "true", "\"connection\":\"Upgrade\"");
}

static void test_close_last_wins(void **state)
{
    /* clang-format off */
    const char *h[] = { "Connection", "close", "Connection", "keep-alive",
                        NULL };
    /* clang-format on */
    xf_envelope_opts_t o;

    opts_init(&o);
    expect(*state, view(*state, "GET", "/", "1.1", h), &o,
           plain(*state, "/", "{}"));
}

/* ---- auth -------------------------------------------------------------- */

static void test_auth_basic(void **state)
{
    apr_pool_t *p = *state;

    expect_auth(p, "Basic dTpw", "[\"Basic\",\"u\",\"p\"]");
    expect_auth(p, "  Basic dTpw  ", "[\"Basic\",\"u\",\"p\"]");
    expect_auth(p, "Basic dTpwYTpzcw==", "[\"Basic\",\"u\",\"pa:ss\"]");
    expect_auth(p, "Basic dTpwcQ==", "[\"Basic\",\"u\",\"pq\"]");
    expect_auth(p, "Basic dToA", "[\"Basic\",\"u\",\"\\u0000\"]");
    expect_auth(p, "Basic Og==", "[\"Basic\",\"\",\"\"]");
}

static void test_auth_unknown(void **state)
{
    apr_pool_t *p = *state;

    /* no colon */
    expect_auth(p, "Basic bm9jb2xvbg==",
                "[\"UnknownAuth\","
                "\"Basic bm9jb2xvbg==\"]");
    /* bad base64: length, alphabet, padding in the middle, blank */
    expect_auth(p, "Basic dTpwcQ", "[\"UnknownAuth\",\"Basic dTpwcQ\"]");
    expect_auth(p, "Basic dTp!", "[\"UnknownAuth\",\"Basic dTp!\"]");
    expect_auth(p, "Basic dA==dTpw", "[\"UnknownAuth\",\"Basic dA==dTpw\"]");
    expect_auth(p, "Basic  dTpw", "[\"UnknownAuth\",\"Basic  dTpw\"]");
    expect_auth(p, "Basic", "[\"UnknownAuth\",\"Basic\"]");
    expect_auth(p, "Basic ", "[\"UnknownAuth\",\"Basic\"]");
    /* other schemes, other case */
    expect_auth(p, "Bearer abc.def", "[\"UnknownAuth\",\"Bearer abc.def\"]");
    expect_auth(p, "basic dTpw", "[\"UnknownAuth\",\"basic dTpw\"]");
}

static void test_base64_quirks(void **state)
{
    static const struct {
        const char *in;
        int ok;
        const char *out;
        apr_size_t n;
    } cases[] = {
        {"", 1, "", 0},
        {"QQ==", 1, "A", 1},
        {"QUI=", 1, "AB", 2},
        {"QUJD", 1, "ABC", 3},
        {"QR==", 1, "A", 1}, /* unused bits ignored */
        {"Q===", 1, "", 0},  /* ocaml-base64 accepts this */
        {"====", 1, "", 0},
        {"QUJD====", 1, "ABC", 3}, /* trailing "====" groups */
        {"QUJD=====", 1, "ABC", 3},
        {"QUJD====QUJD", 0, NULL, 0},
        {"QQ==QUJD", 0, NULL, 0}, /* "Too much input" */
        {"QUJ", 0, NULL, 0},      /* "Wrong padding" */
        {"Q=J=", 0, NULL, 0},
        {"QUJD\n", 0, NULL, 0},
        {"QU-_", 0, NULL, 0}, /* not the URL alphabet */
    };
    char buf[16];
    apr_size_t i, n;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = 99;
        assert_int_equal(
            xf_parse_base64(buf, &n, cases[i].in, strlen(cases[i].in)),
            cases[i].ok);
        if (cases[i].ok) {
            assert_int_equal(n, cases[i].n);
            assert_memory_equal(buf, cases[i].out, n);
        }
    }
    expect_auth(*state, "Basic dTpw====", "[\"Basic\",\"u\",\"p\"]");
}

static void test_forward_auth_off(void **state)
{
    const char *h[] = {"Authorization", "Basic dTpw", NULL};
    xf_envelope_opts_t o;

    opts_init(&o);
    o.forward_auth = 0;
    expect(*state, view(*state, "GET", "/", "1.1", h), &o,
           plain(*state, "/", "{}"));
}

/* ---- strip_params, size cap, invalid input ----------------------------- */

static void test_strip_params(void **state)
{
    static const char *const strip[] = {"pool_secret", "x", NULL};
    const char *h[] = {"Cookie", "pool_secret=s; session_id=S; x=1; X=2", NULL};
    xf_envelope_opts_t o;

    opts_init(&o);
    o.strip_params = strip;
    expect(
        *state,
        view(*state, "GET", "/p?pool_secret=s&a=1&pool%5Fsecret=t&x", "1.1", h),
        &o,
        "{\"m\":\"Get\",\"path\":\"/p\",\"query\":{\"a\":\"1\"},"
        "\"version\":\"1.1\",\"frame\":false,\"cookie\":{\"session_id\":"
        "\"S\",\"X\":\"2\"},\"close\":false,\"additional_headers\":{}}");
    /* only stripped keys: empty maps */
    expect(*state, view(*state, "GET", "/?x=1", "1.1", NULL), &o,
           plain(*state, "/", "{}"));
}

static void test_over_cap(void **state)
{
    apr_pool_t *p = *state;
    xf_reqview_t *rv = view_a(p);
    const char *json, *reason;
    apr_size_t full, len;
    xf_envelope_opts_t o;

    opts_init(&o);
    full = strlen(build(p, rv, &o));

    o.max_size = full;
    assert_int_equal(strlen(build(p, rv, &o)), full);

    o.max_size = full - 1;
    json = "x";
    reason = NULL;
    len = 0;
    assert_int_equal(xf_envelope_build(&json, &len, &reason, rv, &o, p),
                     APR_ENOSPC);
    assert_null(json);
    assert_int_equal(len, full);
    assert_string_equal(reason, apr_psprintf(p,
                                             "envelope is %" APR_SIZE_T_FMT
                                             " bytes, over the limit of "
                                             "%" APR_SIZE_T_FMT,
                                             full, full - 1));

    o.max_size = 0;
    assert_int_equal(xf_envelope_build(&json, &len, &reason, rv, &o, p),
                     APR_ENOSPC);
    assert_int_equal(len, full);
}

static void test_over_cap_big_header(void **state)
{
    apr_pool_t *p = *state;
    char *big = apr_palloc(p, 40001);
    const char *h[] = {"X-Big", big, NULL};
    xf_reqview_t *rv;
    const char *json, *reason;
    apr_size_t len, full;
    xf_envelope_opts_t o;

    memset(big, '\001', 40000); /* 6 bytes each once escaped */
    big[40000] = '\0';
    rv = view(p, "GET", "/", "1.1", h);
    opts_init(&o);
    o.max_size = 1 << 20;
    full = strlen(build(p, rv, &o));
    assert_true(full > 240000);

    o.max_size = XF_ENVELOPE_DEFAULT_MAX;
    assert_int_equal(xf_envelope_build(&json, &len, &reason, rv, &o, p),
                     APR_ENOSPC);
    assert_int_equal(len, full);
    assert_non_null(reason);
}

static void test_einval(void **state)
{
    apr_pool_t *p = *state;
    xf_reqview_t *rv = view(p, "GET", "/", "1.1", NULL);
    const char *json = "x", *reason = NULL;
    apr_size_t len = 7;
    xf_envelope_opts_t o;

    opts_init(&o);
    rv->method = NULL;
    assert_int_equal(xf_envelope_build(&json, &len, &reason, rv, &o, p),
                     APR_EINVAL);
    assert_null(json);
    assert_int_equal(len, 0);
    assert_non_null(reason);

    rv->method = "GET";
    rv->target = NULL;
    reason = NULL;
    assert_int_equal(xf_envelope_build(&json, &len, &reason, rv, &o, p),
                     APR_EINVAL);
    assert_non_null(reason);

    rv->target = "/";
    rv->version = NULL;
    reason = NULL;
    assert_int_equal(xf_envelope_build(&json, &len, &reason, rv, &o, p),
                     APR_EINVAL);
    assert_non_null(reason);

    rv->version = "1.1";
    o.path_keys = (xf_pathkey_e)0;
    assert_int_equal(xf_envelope_build(&json, &len, &reason, rv, &o, p),
                     APR_EINVAL);
}

/* The path the envelope carries, which the glue compares with r->uri:
 * decoded, dot-segments and slashes left as they are. */
static void test_envelope_path(void **state)
{
    apr_pool_t *p = *state;
    const char *path;
    apr_size_t n;

    n = xf_envelope_path(&path, "/a/%2e%2E/b/./c//d?x=%2e#f", p);
    assert_int_equal(n, strlen("/a/../b/./c//d"));
    assert_string_equal(path, "/a/../b/./c//d");
    n = xf_envelope_path(&path, "http://h:1/r%41?q", p);
    assert_string_equal(path, "/rA");
    n = xf_envelope_path(&path, "/x%00y", p);
    assert_int_equal(n, 4);
    assert_memory_equal(path, "/x\0y", 4);
    n = xf_envelope_path(&path, "*", p);
    assert_string_equal(path, "*");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        XF_TEST(test_golden_a),
        XF_TEST(test_golden_a_both_keys),
        XF_TEST(test_golden_a_uri_only),
        XF_TEST(test_golden_b),
        XF_TEST(test_golden_c),
        XF_TEST(test_golden_d),
        XF_TEST(test_traceparent_top),
        XF_TEST(test_no_headers),
        XF_TEST(test_duplicate_headers),
        XF_TEST(test_200_headers),
        XF_TEST(test_escapes),
        XF_TEST(test_trim),
        XF_TEST(test_stunnel_proxy_only),
        XF_TEST(test_content_length),
        XF_TEST(test_query_forms),
        XF_TEST(test_plus_and_pct),
        XF_TEST(test_nul_via_pct00),
        XF_TEST(test_fragment),
        XF_TEST(test_absolute_form),
        XF_TEST(test_cookie_basic),
        XF_TEST(test_cookie_dollar),
        XF_TEST(test_cookie_extra_equals),
        XF_TEST(test_cookie_separators),
        XF_TEST(test_methods),
        XF_TEST(test_close_computed),
        XF_TEST(test_close_forced),
        XF_TEST(test_close_last_wins),
        XF_TEST(test_auth_basic),
        XF_TEST(test_auth_unknown),
        XF_TEST(test_base64_quirks),
        XF_TEST(test_forward_auth_off),
        XF_TEST(test_strip_params),
        XF_TEST(test_over_cap),
        XF_TEST(test_over_cap_big_header),
        XF_TEST(test_einval),
        XF_TEST(test_envelope_path),
    };

    if (xf_test_init() != 0) {
        return 1;
    }
    return cmocka_run_group_tests_name("xf_envelope", tests, NULL, NULL);
}
