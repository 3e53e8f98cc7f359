/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * test_xf_auth.c - credentials in xapi's order (a table of cookie, query and
 * Authorization inputs), cookie and query decoding, strict Basic, the
 * constant-time compare, keyed cache ids, cached decisions and RBAC sets,
 * secret files and the key of the cache ids derived from one.
 */
#include "xf_test.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>

#include "xf_auth.h"

/* 31 characters and the NUL: XF_AUTH_KEY_BYTES bytes each */
static const unsigned char key_a[XF_AUTH_KEY_BYTES] =
    "0123456789abcdef0123456789abcde";
static const unsigned char key_b[XF_AUTH_KEY_BYTES] =
    "0123456789abcdef0123456789abcdX";

/* ---- the credential table ---------------------------------------------- */

typedef struct find_case_t {
    const char *cookie, *args, *authz; /* inputs (NULL: header absent) */
    xf_cred_kind_e kind;               /* expected kind */
    const char *value;                 /* SESSION/POOL_SECRET value */
    const char *user, *pass;           /* BASIC */
    const char *source;                /* expected source, or NULL */
} find_case_t;

/* "dXNlcjpwYXNz" = "user:pass"; "dXNlcg==" = "user" */
static const find_case_t find_cases[] = {
    /* nothing */
    {NULL, NULL, NULL, XF_CRED_NONE, NULL, NULL, NULL, NULL},
    {"", "", "", XF_CRED_NONE, NULL, NULL, NULL, NULL},
    {"a=b; c=d", "x=1&y=2", NULL, XF_CRED_NONE, NULL, NULL, NULL, NULL},
    /* the order: cookie > query > pool_secret cookie > query > Basic */
    {"session_id=C", "session_id=Q&pool_secret=PQ", "Basic dXNlcjpwYXNz",
     XF_CRED_SESSION, "C", NULL, NULL, "cookie"},
    {"pool_secret=PC", "session_id=Q", "Basic dXNlcjpwYXNz", XF_CRED_SESSION,
     "Q", NULL, NULL, "query"},
    {"pool_secret=PC", "pool_secret=PQ", "Basic dXNlcjpwYXNz",
     XF_CRED_POOL_SECRET, "PC", NULL, NULL, "cookie"},
    {"x=1", "pool_secret=PQ", "Basic dXNlcjpwYXNz", XF_CRED_POOL_SECRET, "PQ",
     NULL, NULL, "query"},
    {"x=1", "y=2", "Basic dXNlcjpwYXNz", XF_CRED_BASIC, NULL, "user", "pass",
     "authorization"},
    /* found after "; " (xapi misses this one), ',' and '&' separators */
    {"a=b; session_id=OpaqueRef:S", NULL, NULL, XF_CRED_SESSION, "OpaqueRef:S",
     NULL, NULL, "cookie"},
    {"a=b,session_id=S2", NULL, NULL, XF_CRED_SESSION, "S2", NULL, NULL,
     "cookie"},
    {"a=b&session_id=S3", NULL, NULL, XF_CRED_SESSION, "S3", NULL, NULL,
     "cookie"},
    {"  session_id = S4 ;x=y", NULL, NULL, XF_CRED_SESSION, "S4", NULL, NULL,
     "cookie"},
    /* RFC 2965 "$" attributes, quoted values, %-decoding */
    {"$Version=1; session_id=\"S5\"; $Path=/", NULL, NULL, XF_CRED_SESSION,
     "S5", NULL, NULL, "cookie"},
    {"$session_id=X; session_id=S6", NULL, NULL, XF_CRED_SESSION, "S6", NULL,
     NULL, "cookie"},
    {"session_id=OpaqueRef%3Aab+c", NULL, NULL, XF_CRED_SESSION,
     "OpaqueRef:ab+c", NULL, NULL, "cookie"},
    {"xsession_id=X; session_idx=Y", NULL, NULL, XF_CRED_NONE, NULL, NULL, NULL,
     NULL},
    /* query: '+' is a space, %-decoding, key decoded, first '=' */
    {NULL, "a=1&session_id=a+b%2Bc%3D&z", NULL, XF_CRED_SESSION, "a b+c=", NULL,
     NULL, "query"},
    {NULL, "session%5Fid=K", NULL, XF_CRED_SESSION, "K", NULL, NULL, "query"},
    {NULL, "session_id=a=b", NULL, XF_CRED_SESSION, "a=b", NULL, NULL, "query"},
    {NULL, "session_id=%zz%4", NULL, XF_CRED_SESSION, "%zz%4", NULL, NULL,
     "query"},
    /* a NUL after decoding is never a credential */
    {NULL, "session_id=a%00b", NULL, XF_CRED_NONE, NULL, NULL, NULL, NULL},
    /* empty values are skipped, the search goes on */
    {"session_id=", NULL, NULL, XF_CRED_NONE, NULL, NULL, NULL, NULL},
    {"session_id=\"\"", NULL, NULL, XF_CRED_NONE, NULL, NULL, NULL, NULL},
    {"session_id=; session_id=S7", NULL, NULL, XF_CRED_SESSION, "S7", NULL,
     NULL, "cookie"},
    {"session_id=", "session_id=&session_id", NULL, XF_CRED_NONE, NULL, NULL,
     NULL, NULL},
    {"session_id=", "session_id=", "Basic dXNlcjpwYXNz", XF_CRED_BASIC, NULL,
     "user", "pass", "authorization"},
    {"session_id=", "pool_secret=P8", NULL, XF_CRED_POOL_SECRET, "P8", NULL,
     NULL, "query"},
    /* Basic: scheme any case, strict base64, cut at the first ':' */
    {NULL, NULL, "bAsIc   dXNlcjpwYXNz  ", XF_CRED_BASIC, NULL, "user", "pass",
     "authorization"},
    {NULL, NULL, "Basic cm9vdDpwOnc6", XF_CRED_BASIC, NULL, "root",
     "p:w:", "authorization"},
    {NULL, NULL, "Basic dTo=", XF_CRED_BASIC, NULL, "u", "", "authorization"},
    {NULL, NULL, "Basic dXNlcg==", XF_CRED_NONE, NULL, NULL, NULL, NULL},
    {NULL, NULL, "Basic OnBhc3M=", XF_CRED_NONE, NULL, NULL, NULL, NULL},
    {NULL, NULL, "Basic dXNlcjpwYXNz=", XF_CRED_NONE, NULL, NULL, NULL, NULL},
    {NULL, NULL, "Basic dXNl cjpwYXNz", XF_CRED_NONE, NULL, NULL, NULL, NULL},
    {NULL, NULL, "Basic dXNlcjpwYXN*", XF_CRED_NONE, NULL, NULL, NULL, NULL},
    {NULL, NULL, "Basic dTp=", XF_CRED_NONE, NULL, NULL, NULL, NULL},
    {NULL, NULL, "Basic dTpAAA==", XF_CRED_NONE, NULL, NULL, NULL, NULL},
    {NULL, NULL, "Basic", XF_CRED_NONE, NULL, NULL, NULL, NULL},
    {NULL, NULL, "Basic ", XF_CRED_NONE, NULL, NULL, NULL, NULL},
    {NULL, NULL, "Basicx dXNlcjpwYXNz", XF_CRED_NONE, NULL, NULL, NULL, NULL},
    {NULL, NULL, "Bearer dXNlcjpwYXNz", XF_CRED_NONE, NULL, NULL, NULL, NULL},
    {NULL, NULL, "Bearer eyJhbGciOi.x.y", XF_CRED_NONE, NULL, NULL, NULL, NULL},
};

/* Equal strings, or both NULL; says which table case failed. */
static void check_str(size_t i, const char *what, const char *got,
                      const char *want)
{
    if (want == NULL && got == NULL)
        return;
    if (want == NULL || got == NULL || strcmp(got, want) != 0)
        fail_msg("case %zu: %s is \"%s\", expected \"%s\"", i, what,
                 got ? got : "(null)", want ? want : "(null)");
}

static void test_find_table(void **state)
{
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(find_cases) / sizeof(find_cases[0]); i++) {
        const find_case_t *c = &find_cases[i];
        xf_cred_t cred;

        memset(&cred, 0x5a, sizeof(cred));
        xf_auth_find(&cred, c->cookie, c->args, c->authz, p);
        if (cred.kind != c->kind)
            fail_msg("case %zu: kind %d, expected %d", i, (int)cred.kind,
                     (int)c->kind);
        check_str(i, "value", cred.value, c->value);
        check_str(i, "user", cred.user, c->user);
        check_str(i, "pass", cred.pass, c->pass);
        check_str(i, "source", cred.source, c->source);
    }
}

/* A long cookie header with session_id at the very end. */
static void test_find_long_cookie(void **state)
{
    apr_pool_t *p = *state;
    const char *cookie = "";
    xf_cred_t cred;
    int i;

    for (i = 0; i < 200; i++)
        cookie = apr_psprintf(p, "%sc%d=v%d; ", cookie, i, i);
    cookie = apr_pstrcat(p, cookie, "session_id=OpaqueRef:last", NULL);
    xf_auth_find(&cred, cookie, NULL, NULL, p);
    assert_int_equal(cred.kind, XF_CRED_SESSION);
    assert_string_equal(cred.value, "OpaqueRef:last");
}

/* ---- constant-time compare --------------------------------------------- */

/* task_id as xapi's ref_param_of_req finds it: cookie, then query. */
static void test_param_find(void **state)
{
    apr_pool_t *p = *state;
    const char *v;

    assert_null(xf_auth_param_find(NULL, NULL, "task_id", p));
    v = xf_auth_param_find(NULL, "start=1&task_id=OpaqueRef%3At1", "task_id",
                           p);
    assert_string_equal(v, "OpaqueRef:t1");
    v = xf_auth_param_find("task_id=OpaqueRef:c; x=y", "task_id=OpaqueRef:q",
                           "task_id", p);
    assert_string_equal(v, "OpaqueRef:c"); /* the cookie first */
    v = xf_auth_param_find("x=y", "task_id=&task_id=OpaqueRef:q2", "task_id",
                           p);
    assert_string_equal(v, "OpaqueRef:q2"); /* empty values do not count */
    assert_null(xf_auth_param_find("task_idx=1", "xtask_id=2&task_ids=3",
                                   "task_id", p));
    assert_null(xf_auth_param_find(NULL, "task_id=a%00b", "task_id", p));
}

static void test_ct_equal(void **state)
{
    (void)state;
    assert_true(xf_auth_ct_equal("secret", 6, "secret", 6));
    assert_true(xf_auth_ct_equal("", 0, "", 0));
    assert_true(xf_auth_ct_equal(NULL, 0, NULL, 0));
    assert_false(xf_auth_ct_equal("secret", 6, "Secret", 6));
    assert_false(xf_auth_ct_equal("secret", 6, "secreT", 6));
    assert_false(xf_auth_ct_equal("secret", 6, "secret!", 7));
    assert_false(xf_auth_ct_equal("secret!", 7, "secret", 6));
    assert_false(xf_auth_ct_equal("", 0, "x", 1));
    /* binary data, NUL included */
    assert_true(xf_auth_ct_equal("a\0b", 3, "a\0b", 3));
    assert_false(xf_auth_ct_equal("a\0b", 3, "a\0c", 3));
}

/* ---- cache ids --------------------------------------------------------- */

static const char *cache_id(apr_pool_t *p, const unsigned char *key,
                            xf_cred_kind_e kind, const char *value,
                            const char *user, const char *pass,
                            const char *perms)
{
    char out[XF_AUTH_CACHE_ID_LEN + 1];
    xf_cred_t cred;
    size_t i;

    memset(&cred, 0, sizeof(cred));
    cred.kind = kind;
    cred.value = value;
    cred.user = user;
    cred.pass = pass;
    memset(out, 'Z', sizeof(out));
    xf_auth_cache_id(out, key, &cred, perms);
    assert_int_equal(strlen(out), XF_AUTH_CACHE_ID_LEN);
    for (i = 0; i < XF_AUTH_CACHE_ID_LEN; i++)
        assert_non_null(strchr("0123456789abcdef", out[i]));
    return apr_pstrdup(p, out);
}

static void test_cache_id(void **state)
{
    apr_pool_t *p = *state;
    const char *ids[9];
    size_t i, j;

    ids[0] = cache_id(p, key_a, XF_CRED_SESSION, "OpaqueRef:S", NULL, NULL, "");
    ids[1] =
        cache_id(p, key_a, XF_CRED_POOL_SECRET, "OpaqueRef:S", NULL, NULL, "");
    ids[2] = cache_id(p, key_b, XF_CRED_SESSION, "OpaqueRef:S", NULL, NULL, "");
    ids[3] = cache_id(p, key_a, XF_CRED_SESSION, "OpaqueRef:S", NULL, NULL,
                      "http/get_services");
    ids[4] = cache_id(p, key_a, XF_CRED_SESSION, "OpaqueRef:T", NULL, NULL, "");
    ids[5] = cache_id(p, key_a, XF_CRED_BASIC, NULL, "root", "pw", "");
    ids[6] = cache_id(p, key_a, XF_CRED_BASIC, NULL, "root", "pX", "");
    ids[7] = cache_id(p, key_a, XF_CRED_BASIC, NULL, "rooT", "pw", "");
    ids[8] = cache_id(p, key_a, XF_CRED_SESSION, "root:pw", NULL, NULL, "");
    for (i = 0; i < 9; i++)
        for (j = i + 1; j < 9; j++)
            if (strcmp(ids[i], ids[j]) == 0)
                fail_msg("cache ids %zu and %zu collide", i, j);
    /* deterministic; NULL perms is "" */
    assert_string_equal(ids[0], cache_id(p, key_a, XF_CRED_SESSION,
                                         "OpaqueRef:S", NULL, NULL, ""));
    assert_string_equal(ids[0], cache_id(p, key_a, XF_CRED_SESSION,
                                         "OpaqueRef:S", NULL, NULL, NULL));
    /* the hex id never contains the credential */
    assert_null(strstr(ids[0], "OpaqueRef"));
    assert_null(
        strstr(cache_id(p, key_a, XF_CRED_SESSION, "abc123", NULL, NULL, ""),
               "abc123"));
    assert_null(strstr(ids[5], "pw"));
}

/* The documented construction, checked against a known HMAC-SHA256:
 * key_a, message "\x01" "S" "\0" "p" (Python's hmac module agrees). */
static void test_cache_id_vector(void **state)
{
    apr_pool_t *p = *state;
    const char *id = cache_id(p, key_a, XF_CRED_SESSION, "S", NULL, NULL, "p");

    assert_string_equal(
        id, "d8a8f819e91865056866d9ece6c4b2fd1347f3214f8df2ac1620e4b4c264ea6c");
}

/* ---- decisions --------------------------------------------------------- */

static const char *const dec_id =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void test_decision(void **state)
{
    apr_pool_t *p = *state;
    const xf_decision_e all[] = {XF_DECISION_ALLOW, XF_DECISION_DENY,
                                 XF_DECISION_INVALID};
    const apr_time_t now = apr_time_from_sec(1800000000);
    const apr_time_t exp = now + apr_time_from_sec(60);
    unsigned char *buf;
    size_t i;

    for (i = 0; i < 3; i++) {
        xf_auth_decision_seal(&buf, key_a, dec_id, all[i], exp, p);
        assert_non_null(buf);
        assert_int_equal(strlen((char *)buf), XF_AUTH_DECISION_LEN);
        assert_int_equal(xf_auth_decision_open(buf, XF_AUTH_DECISION_LEN, key_a,
                                               dec_id, now),
                         all[i]);
        /* truncated or extended copies are not decisions */
        assert_int_equal(xf_auth_decision_open(buf, XF_AUTH_DECISION_LEN - 1,
                                               key_a, dec_id, now),
                         0);
        assert_int_equal(
            xf_auth_decision_open(
                (const unsigned char *)apr_pstrcat(p, (char *)buf, "x", NULL),
                XF_AUTH_DECISION_LEN + 1, key_a, dec_id, now),
            0);
        /* another key (a foreign front end) or another id: not trusted */
        assert_int_equal(xf_auth_decision_open(buf, XF_AUTH_DECISION_LEN, key_b,
                                               dec_id, now),
                         0);
        assert_int_equal(xf_auth_decision_open(buf, XF_AUTH_DECISION_LEN, key_a,
                                               dec_id + 1, now),
                         0);
        /* expired: at and after the sealed expiry */
        assert_int_equal(xf_auth_decision_open(buf, XF_AUTH_DECISION_LEN, key_a,
                                               dec_id, exp),
                         0);
        assert_int_equal(xf_auth_decision_open(buf, XF_AUTH_DECISION_LEN, key_a,
                                               dec_id, exp + 1),
                         0);
    }
    xf_auth_decision_seal(&buf, key_a, dec_id, (xf_decision_e)42, exp, p);
    assert_null(buf);
}

/* A forged value: every single-byte change of a sealed one (decision
 * letter, expiry, MAC) is refused, and the old unauthenticated format and
 * plain garbage are never decisions. */
static void test_decision_forged(void **state)
{
    apr_pool_t *p = *state;
    const apr_time_t now = apr_time_from_sec(1800000000);
    unsigned char *buf, *m;
    size_t i;

    xf_auth_decision_seal(&buf, key_a, dec_id, XF_DECISION_INVALID,
                          now + apr_time_from_sec(10), p);
    assert_non_null(buf);
    m = apr_pmemdup(p, buf, XF_AUTH_DECISION_LEN + 1);
    for (i = 0; i < XF_AUTH_DECISION_LEN; i++) {
        unsigned char save = m[i];
        const char *alts = "0aAfFDI:x";
        for (; *alts; alts++) {
            if ((unsigned char)*alts == save)
                continue;
            m[i] = (unsigned char)*alts;
            assert_int_equal(xf_auth_decision_open(m, XF_AUTH_DECISION_LEN,
                                                   key_a, dec_id, now),
                             0);
        }
        m[i] = save;
    }
    /* "I" turned into "A" with the expiry pushed to the far future */
    m[5] = 'A';
    memcpy(m + 6, "7fffffffffffffff", 16);
    assert_int_equal(
        xf_auth_decision_open(m, XF_AUTH_DECISION_LEN, key_a, dec_id, now), 0);
    assert_int_equal(xf_auth_decision_open(NULL, 0, key_a, dec_id, now), 0);
    assert_int_equal(
        xf_auth_decision_open((const unsigned char *)"", 0, key_a, dec_id, now),
        0);
    assert_int_equal(xf_auth_decision_open((const unsigned char *)"xf1:A", 5,
                                           key_a, dec_id, now),
                     0);
    assert_int_equal(xf_auth_decision_open((const unsigned char *)"garbage", 7,
                                           key_a, dec_id, now),
                     0);
}

/* The documented construction, checked against a known HMAC-SHA256:
 * key_a, message "xf-decision-2\0" id "\0" "A" expiry (Python's hmac module
 * agrees). */
static void test_decision_vector(void **state)
{
    apr_pool_t *p = *state;
    unsigned char *buf;

    xf_auth_decision_seal(&buf, key_a, dec_id, XF_DECISION_ALLOW,
                          (apr_time_t)0x12345678abcdLL, p);
    assert_non_null(buf);
    assert_string_equal(
        (char *)buf,
        "xf2:A:000012345678abcd:"
        "d10dc9e5dc7953a7ab5ae982f9b5871de2b0d12bd7334c4758305ea08cc436ec");
}

/* ---- permissions ------------------------------------------------------- */

static void test_has_perms(void **state)
{
    const char *held[] = {"http/get_services", "VM.start", "http/rrd_updates",
                          NULL};
    const char *none[] = {NULL};
    const char *req1[] = {"http/get_services", NULL};
    const char *req2[] = {"HTTP/GET_SERVICES", "vm.START", NULL};
    const char *req3[] = {"http/get_services", "http/rrd", NULL};
    const char *missing = "unset";

    (void)state;
    assert_true(xf_auth_has_perms(NULL, held, &missing));
    assert_null(missing);
    assert_true(xf_auth_has_perms(none, none, NULL));
    assert_true(xf_auth_has_perms(req1, held, &missing));
    assert_null(missing);
    assert_true(xf_auth_has_perms(req2, held, &missing));
    assert_false(xf_auth_has_perms(req3, held, &missing));
    assert_string_equal(missing, "http/rrd");
    assert_false(xf_auth_has_perms(req1, none, &missing));
    assert_string_equal(missing, "http/get_services");
    assert_false(xf_auth_has_perms(req1, NULL, NULL));
}

/* ---- secret files and the cache key -------------------------------------- */

/* A temporary file holding n bytes of data; its path (from p). */
static const char *secret_file(apr_pool_t *p, const char *data, size_t n)
{
    char *path = apr_pstrdup(p, "/tmp/xf_auth_secretXXXXXX");
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
    return path;
}

static void test_read_secret(void **state)
{
    apr_pool_t *p = *state;
    xf_secret_t sec;
    const char *path;
    char *big;

    /* trailing CR/LF do not count; inner ones do */
    path = secret_file(p, "s3cr\net\r\n\n", 10);
    assert_int_equal(xf_auth_read_secret(&sec, path, p), APR_SUCCESS);
    assert_int_equal(sec.len, 7);
    assert_memory_equal(sec.data, "s3cr\net", 8); /* NUL-terminated */
    unlink(path);
    /* empty, or only line ends: refused */
    path = secret_file(p, "", 0);
    assert_int_equal(xf_auth_read_secret(&sec, path, p), APR_EINVAL);
    unlink(path);
    path = secret_file(p, "\r\n", 2);
    assert_int_equal(xf_auth_read_secret(&sec, path, p), APR_EINVAL);
    unlink(path);
    /* the largest accepted, and one byte more */
    big = apr_palloc(p, XF_AUTH_SECRET_MAX + 1);
    memset(big, 'k', XF_AUTH_SECRET_MAX + 1);
    path = secret_file(p, big, XF_AUTH_SECRET_MAX);
    assert_int_equal(xf_auth_read_secret(&sec, path, p), APR_SUCCESS);
    assert_int_equal(sec.len, XF_AUTH_SECRET_MAX);
    unlink(path);
    path = secret_file(p, big, XF_AUTH_SECRET_MAX + 1);
    assert_int_equal(xf_auth_read_secret(&sec, path, p), APR_EINVAL);
    unlink(path);
    /* a missing file: the file error */
    assert_true(APR_STATUS_IS_ENOENT(
        xf_auth_read_secret(&sec, "/nonexistent/xf-secret", p)));
}

static void test_derive_key(void **state)
{
    /* HMAC-SHA256(32 zero bytes, kind 2 || secret || '\0'): front ends
     * sharing a key file must keep deriving the same key across versions */
    static const unsigned char expect[XF_AUTH_KEY_BYTES] = {
        0xe3, 0x50, 0x1c, 0x76, 0x6a, 0x14, 0x70, 0x85, 0x48, 0xe3, 0x50,
        0xf9, 0x44, 0xd3, 0x86, 0xe0, 0xf9, 0x28, 0x59, 0x56, 0xd9, 0xe2,
        0xdb, 0xa9, 0x59, 0x00, 0xa0, 0x8d, 0x8d, 0x9d, 0x5c, 0x24};
    unsigned char k1[XF_AUTH_KEY_BYTES], k2[XF_AUTH_KEY_BYTES];

    (void)state;
    assert_int_equal(xf_auth_derive_key(k1, "shared-front-end-key"),
                     APR_SUCCESS);
    assert_memory_equal(k1, expect, XF_AUTH_KEY_BYTES);
    assert_int_equal(xf_auth_derive_key(k2, "shared-front-end-kez"),
                     APR_SUCCESS);
    assert_memory_not_equal(k1, k2, XF_AUTH_KEY_BYTES);
}

static void test_key_file(void **state)
{
    apr_pool_t *p = *state;
    unsigned char k1[XF_AUTH_KEY_BYTES], k2[XF_AUTH_KEY_BYTES];
    const char *path;

    /* the file's contents without the line end, derived */
    path = secret_file(p, "shared-front-end-key\n", 21);
    assert_int_equal(xf_auth_key_file(k1, path, 16, p), APR_SUCCESS);
    assert_int_equal(xf_auth_derive_key(k2, "shared-front-end-key"),
                     APR_SUCCESS);
    assert_memory_equal(k1, k2, XF_AUTH_KEY_BYTES);
    /* shorter than the minimum (line end not counted) */
    assert_int_equal(xf_auth_key_file(k1, path, 21, p), APR_EINVAL);
    unlink(path);
    assert_true(APR_STATUS_IS_ENOENT(
        xf_auth_key_file(k1, "/nonexistent/xf-key", 16, p)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        XF_TEST(test_find_table),      XF_TEST(test_find_long_cookie),
        XF_TEST(test_ct_equal),        XF_TEST(test_cache_id),
        XF_TEST(test_cache_id_vector), XF_TEST(test_decision),
        XF_TEST(test_decision_forged), XF_TEST(test_decision_vector),
        XF_TEST(test_has_perms),       XF_TEST(test_param_find),
        XF_TEST(test_read_secret),     XF_TEST(test_derive_key),
        XF_TEST(test_key_file),
    };

    if (xf_test_init() != 0)
        return 1;
    return cmocka_run_group_tests_name("xf_auth", tests, NULL, NULL);
}
