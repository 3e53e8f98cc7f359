/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * test_xf_cert.c - a client certificate's dates and name as OpenSSL and
 * stunnel's checkHost judge them: certificates are made here, signed by
 * their own key, with the dates and names each case needs.
 */
#include "xf_test.h"

#include <string.h>

#include <apr_strings.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "xf_cert.h"

static EVP_PKEY *key;

/* A PEM certificate: subject CN cn (NULL: none), subjectAltName san
 * (NULL: none, e.g. "DNS:a.example,DNS:*.b.example"), valid from
 * now+from to now+to seconds. */
static const char *make_cert(apr_pool_t *p, const char *cn, const char *san,
                             long from, long to)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long len;
    const char *out;

    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), from);
    X509_gmtime_adj(X509_getm_notAfter(x), to);
    if (cn)
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                                   (const unsigned char *)cn, -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
                               (const unsigned char *)"xf test", -1, -1, 0);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    X509_set_pubkey(x, key);
    if (san) {
        X509_EXTENSION *e =
            X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
        assert_non_null(e);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    PEM_write_bio_X509(bio, x);
    len = BIO_get_mem_data(bio, &data);
    out = apr_pstrmemdup(p, data, (apr_size_t)len);
    BIO_free(bio);
    X509_NAME_free(n);
    X509_free(x);
    return out;
}

#define DAY 86400L

static void test_right_name(void **state)
{
    apr_pool_t *p = *state;
    const char *cn = NULL;

    assert_int_equal(
        xf_cert_check(&cn, make_cert(p, "host1.example", NULL, -DAY, DAY),
                      "host1.example", apr_time_now(), p),
        XF_CERT_OK);
    assert_string_equal(cn, "host1.example");
    /* the name is compared without regard to case, as OpenSSL does */
    assert_int_equal(
        xf_cert_check(NULL, make_cert(p, "Host1.Example", NULL, -DAY, DAY),
                      "host1.example", apr_time_now(), p),
        XF_CERT_OK);
}

static void test_wrong_name(void **state)
{
    apr_pool_t *p = *state;

    assert_int_equal(
        xf_cert_check(NULL, make_cert(p, "other.example", NULL, -DAY, DAY),
                      "host1.example", apr_time_now(), p),
        XF_CERT_WRONG_NAME);
    /* no subject CN and no subjectAltName: nothing names the host */
    assert_int_equal(xf_cert_check(NULL, make_cert(p, NULL, NULL, -DAY, DAY),
                                   "host1.example", apr_time_now(), p),
                     XF_CERT_WRONG_NAME);
}

static void test_san_first(void **state)
{
    apr_pool_t *p = *state;
    const char *c;

    /* with DNS names in subjectAltName, the CN does not count */
    c = make_cert(p, "host1.example", "DNS:other.example", -DAY, DAY);
    assert_int_equal(xf_cert_check(NULL, c, "host1.example", apr_time_now(), p),
                     XF_CERT_WRONG_NAME);
    assert_int_equal(xf_cert_check(NULL, c, "other.example", apr_time_now(), p),
                     XF_CERT_OK);
    /* a wildcard covers one label */
    c = make_cert(p, "x", "DNS:*.pool.example", -DAY, DAY);
    assert_int_equal(
        xf_cert_check(NULL, c, "h1.pool.example", apr_time_now(), p),
        XF_CERT_OK);
    assert_int_equal(
        xf_cert_check(NULL, c, "a.h1.pool.example", apr_time_now(), p),
        XF_CERT_WRONG_NAME);
}

static void test_dates(void **state)
{
    apr_pool_t *p = *state;
    apr_time_t now = apr_time_now();

    assert_int_equal(
        xf_cert_check(NULL, make_cert(p, "host1.example", NULL, -2 * DAY, -DAY),
                      "host1.example", now, p),
        XF_CERT_EXPIRED);
    assert_int_equal(
        xf_cert_check(NULL, make_cert(p, "host1.example", NULL, DAY, 2 * DAY),
                      "host1.example", now, p),
        XF_CERT_NOT_YET_VALID);
    /* dates come before the name */
    assert_int_equal(
        xf_cert_check(NULL, make_cert(p, "other.example", NULL, -2 * DAY, -DAY),
                      "host1.example", now, p),
        XF_CERT_EXPIRED);
    /* the time given counts, not the clock */
    assert_int_equal(
        xf_cert_check(NULL, make_cert(p, "host1.example", NULL, -2 * DAY, -DAY),
                      "host1.example", now - apr_time_from_sec(36 * 3600), p),
        XF_CERT_OK);
}

static void test_unreadable(void **state)
{
    apr_pool_t *p = *state;
    const char *cn = "x";

    assert_int_equal(xf_cert_check(&cn, "", "h", apr_time_now(), p),
                     XF_CERT_UNREADABLE);
    assert_null(cn);
    assert_int_equal(xf_cert_check(NULL, NULL, "h", apr_time_now(), p),
                     XF_CERT_UNREADABLE);
    assert_int_equal(xf_cert_check(NULL,
                                   "-----BEGIN CERTIFICATE-----\nAAAA\n"
                                   "-----END CERTIFICATE-----\n",
                                   "h", apr_time_now(), p),
                     XF_CERT_UNREADABLE);
    /* no name to check: never OK */
    assert_int_equal(xf_cert_check(NULL, make_cert(p, "h", NULL, -DAY, DAY), "",
                                   apr_time_now(), p),
                     XF_CERT_UNREADABLE);
    assert_string_equal(xf_cert_result_text(XF_CERT_EXPIRED), "expired");
}

static void test_cn_for_logs(void **state)
{
    apr_pool_t *p = *state;
    const char *cn = NULL;
    char big[100];

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    xf_cert_check(&cn, make_cert(p, "bad\x01name", NULL, -DAY, DAY), "h",
                  apr_time_now(), p);
    assert_string_equal(cn, "bad?name");
    /* a CN longer than 64 is not valid X.509, but the check must not
     * trip over it either */
    xf_cert_check(&cn, make_cert(p, big, NULL, -DAY, DAY), "h", apr_time_now(),
                  p);
    assert_true(cn == NULL || strlen(cn) <= 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        XF_TEST(test_right_name), XF_TEST(test_wrong_name),
        XF_TEST(test_san_first),  XF_TEST(test_dates),
        XF_TEST(test_unreadable), XF_TEST(test_cn_for_logs),
    };
    int rc;

    if (xf_test_init() != 0)
        return 1;
    key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!key)
        return 1;
    rc = cmocka_run_group_tests_name("xf_cert", tests, NULL, NULL);
    EVP_PKEY_free(key);
    return rc;
}
