/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * test_xf_cert.c - a client certificate verified as stunnel's verifyChain
 * and checkHost verify it: certificates are made here, by a CA in the
 * store and by one that is not, with the dates, names and purposes each
 * case needs.
 */
#include "xf_test.h"

#include <string.h>

#include <apr_strings.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "xf_cert.h"

#define DAY 86400L

static EVP_PKEY *key;          /* one key for every certificate */
static X509 *ca, *rogue, *old; /* old: a CA that expired */
static X509_STORE *store;      /* ca and old */

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *e;

    X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    assert_non_null(e);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
}

/* A certificate: subject CN cn (NULL: none), subjectAltName san (NULL:
 * none), valid from now+from to now+to seconds, issued by issuer (NULL:
 * self-signed CA), extendedKeyUsage eku (NULL: none). */
static X509 *make(const char *cn, const char *san, long from, long to,
                  X509 *issuer, const char *eku)
{
    static long serial = 1;
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();

    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), from);
    X509_gmtime_adj(X509_getm_notAfter(x), to);
    if (cn)
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                                   (const unsigned char *)cn, -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
                               (const unsigned char *)"xf test", -1, -1, 0);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
    X509_set_pubkey(x, key);
    if (!issuer)
        add_ext(x, NULL, NID_basic_constraints, "critical,CA:TRUE");
    if (san)
        add_ext(x, issuer, NID_subject_alt_name, san);
    if (eku)
        add_ext(x, issuer, NID_ext_key_usage, eku);
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    X509_NAME_free(n);
    return x;
}

static const char *pem_of(apr_pool_t *p, X509 *x)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long len;
    const char *out;

    PEM_write_bio_X509(bio, x);
    len = BIO_get_mem_data(bio, &data);
    out = apr_pstrmemdup(p, data, (apr_size_t)len);
    BIO_free(bio);
    X509_free(x);
    return out;
}

/* a leaf from ca, valid now, clientAuth */
static const char *leaf(apr_pool_t *p, const char *cn, const char *san)
{
    return pem_of(p, make(cn, san, -DAY, DAY, ca, "clientAuth"));
}

static xf_cert_result_e check(apr_pool_t *p, const char *pem, const char *name)
{
    return xf_cert_check(NULL, NULL, store, pem, NULL, name, apr_time_now(), p);
}

static void test_right_name(void **state)
{
    apr_pool_t *p = *state;
    const char *cn = NULL, *why = "x";

    assert_int_equal(xf_cert_check(&cn, &why, store,
                                   leaf(p, "host1.example", NULL), NULL,
                                   "host1.example", apr_time_now(), p),
                     XF_CERT_OK);
    assert_string_equal(cn, "host1.example");
    assert_null(why);
    /* the name is compared without regard to case, as OpenSSL does */
    assert_int_equal(check(p, leaf(p, "Host1.Example", NULL), "host1.example"),
                     XF_CERT_OK);
    /* no extendedKeyUsage: any purpose */
    assert_int_equal(
        check(p, pem_of(p, make("host1.example", NULL, -DAY, DAY, ca, NULL)),
              "host1.example"),
        XF_CERT_OK);
}

static void test_wrong_name(void **state)
{
    apr_pool_t *p = *state;
    const char *why = NULL;

    assert_int_equal(xf_cert_check(NULL, &why, store,
                                   leaf(p, "other.example", NULL), NULL,
                                   "host1.example", apr_time_now(), p),
                     XF_CERT_WRONG_NAME);
    assert_non_null(why);
    /* no subject CN and no subjectAltName: nothing names the host */
    assert_int_equal(check(p, leaf(p, NULL, NULL), "host1.example"),
                     XF_CERT_WRONG_NAME);
}

static void test_san_first(void **state)
{
    apr_pool_t *p = *state;
    const char *c;

    /* with DNS names in subjectAltName, the CN does not count */
    c = leaf(p, "host1.example", "DNS:other.example");
    assert_int_equal(check(p, c, "host1.example"), XF_CERT_WRONG_NAME);
    assert_int_equal(check(p, c, "other.example"), XF_CERT_OK);
    /* a wildcard covers one label */
    c = leaf(p, "x", "DNS:*.pool.example");
    assert_int_equal(check(p, c, "h1.pool.example"), XF_CERT_OK);
    assert_int_equal(check(p, c, "a.h1.pool.example"), XF_CERT_WRONG_NAME);
}

static void test_dates(void **state)
{
    apr_pool_t *p = *state;
    apr_time_t now = apr_time_now();
    const char *exp =
        pem_of(p, make("host1.example", NULL, -2 * DAY, -DAY, ca, NULL));

    assert_int_equal(
        xf_cert_check(NULL, NULL, store, exp, NULL, "host1.example", now, p),
        XF_CERT_EXPIRED);
    assert_int_equal(
        check(p, pem_of(p, make("host1.example", NULL, DAY, 2 * DAY, ca, NULL)),
              "host1.example"),
        XF_CERT_NOT_YET_VALID);
    /* the time given counts, not the clock */
    assert_int_equal(xf_cert_check(NULL, NULL, store, exp, NULL,
                                   "host1.example",
                                   now - apr_time_from_sec(36 * 3600), p),
                     XF_CERT_OK);
}

static void test_no_check_time_ignored(void **state)
{
    apr_pool_t *p = *state;
    X509_STORE *s = X509_STORE_new();

    /* the vhost's store has X509_V_FLAG_NO_CHECK_TIME (so that mod_ssl
     * lets the handshake through): the dates still count here */
    X509_STORE_add_cert(s, ca);
    X509_STORE_set_flags(s, X509_V_FLAG_NO_CHECK_TIME);
    assert_int_equal(
        xf_cert_check(NULL, NULL, s,
                      pem_of(p, make("h", NULL, -2 * DAY, -DAY, ca, NULL)),
                      NULL, "h", apr_time_now(), p),
        XF_CERT_EXPIRED);
    X509_STORE_free(s);
}

static void test_chain(void **state)
{
    apr_pool_t *p = *state;
    const char *why = NULL;

    /* an untrusted CA */
    assert_int_equal(
        xf_cert_check(NULL, &why, store,
                      pem_of(p, make("h", NULL, -DAY, DAY, rogue, NULL)), NULL,
                      "h", apr_time_now(), p),
        XF_CERT_CHAIN);
    assert_non_null(why);
    /* a CA that expired: stunnel (OpenSSL) refuses the chain */
    assert_int_equal(
        check(p, pem_of(p, make("h", NULL, -DAY, DAY, old, NULL)), "h"),
        XF_CERT_CHAIN);
    /* a certificate for servers only */
    assert_int_equal(
        check(p, pem_of(p, make("h", NULL, -DAY, DAY, ca, "serverAuth")), "h"),
        XF_CERT_CHAIN);
}

static void test_unreadable(void **state)
{
    apr_pool_t *p = *state;
    const char *cn = "x";

    assert_int_equal(
        xf_cert_check(&cn, NULL, store, "", NULL, "h", apr_time_now(), p),
        XF_CERT_UNREADABLE);
    assert_null(cn);
    assert_int_equal(check(p, NULL, "h"), XF_CERT_UNREADABLE);
    assert_int_equal(check(p,
                           "-----BEGIN CERTIFICATE-----\nAAAA\n"
                           "-----END CERTIFICATE-----\n",
                           "h"),
                     XF_CERT_UNREADABLE);
    /* no name to check, or no store: never OK */
    assert_int_equal(check(p, leaf(p, "h", NULL), ""), XF_CERT_UNREADABLE);
    assert_int_equal(xf_cert_check(NULL, NULL, NULL, leaf(p, "h", NULL), NULL,
                                   "h", apr_time_now(), p),
                     XF_CERT_UNREADABLE);
    assert_string_equal(xf_cert_result_text(XF_CERT_EXPIRED), "expired");
}

static void test_cn_for_logs(void **state)
{
    apr_pool_t *p = *state;
    const char *cn = NULL;

    xf_cert_check(&cn, NULL, store, leaf(p, "bad\x01name", NULL), NULL, "h",
                  apr_time_now(), p);
    assert_string_equal(cn, "bad?name");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        XF_TEST(test_right_name),
        XF_TEST(test_wrong_name),
        XF_TEST(test_san_first),
        XF_TEST(test_dates),
        XF_TEST(test_no_check_time_ignored),
        XF_TEST(test_chain),
        XF_TEST(test_unreadable),
        XF_TEST(test_cn_for_logs),
    };
    int rc;

    if (xf_test_init() != 0)
        return 1;
    key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!key)
        return 1;
    ca = make("xf test CA", NULL, -10 * DAY, 10 * DAY, NULL, NULL);
    rogue = make("xf rogue CA", NULL, -10 * DAY, 10 * DAY, NULL, NULL);
    old = make("xf old CA", NULL, -10 * DAY, -DAY, NULL, NULL);
    store = X509_STORE_new();
    X509_STORE_add_cert(store, ca);
    X509_STORE_add_cert(store, old);
    rc = cmocka_run_group_tests_name("xf_cert", tests, NULL, NULL);
    X509_STORE_free(store);
    X509_free(ca);
    X509_free(rogue);
    X509_free(old);
    EVP_PKEY_free(key);
    return rc;
}
