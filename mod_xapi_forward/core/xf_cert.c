/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_cert.c - a client certificate verified with OpenSSL as stunnel
 * verifies it (src/verify.c: the chain with OpenSSL's default checks,
 * then X509_check_host with flags 0 for checkHost).
 */
#include "xf_cert.h"

#include <ctype.h>
#include <string.h>
#include <time.h>

#include <apr_strings.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* Longest CN kept for the logs. */
#define MAX_CN 64

static const char *subject_cn(X509 *x, apr_pool_t *p)
{
    X509_NAME *subj = X509_get_subject_name(x);
    char buf[MAX_CN + 1];
    int i, n;

    if (!subj)
        return NULL;
    n = X509_NAME_get_text_by_NID(subj, NID_commonName, buf, sizeof(buf));
    if (n <= 0)
        return NULL;
    if (n > MAX_CN)
        n = MAX_CN;
    for (i = 0; i < n; i++)
        if (!isprint((unsigned char)buf[i]))
            buf[i] = '?';
    return apr_pstrmemdup(p, buf, (apr_size_t)n);
}

static X509 *read_pem(const char *pem)
{
    BIO *bio;
    X509 *x;

    if (!pem || !*pem || !(bio = BIO_new_mem_buf(pem, -1)))
        return NULL;
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    return x;
}

static xf_cert_result_e result_of(int err, int depth)
{
    switch (err) {
    case X509_V_OK:
        return XF_CERT_OK;
    case X509_V_ERR_HOSTNAME_MISMATCH:
        return XF_CERT_WRONG_NAME;
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return depth == 0 ? XF_CERT_EXPIRED : XF_CERT_CHAIN;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return depth == 0 ? XF_CERT_NOT_YET_VALID : XF_CERT_CHAIN;
    default:
        return XF_CERT_CHAIN;
    }
}

xf_cert_result_e xf_cert_check(const char **pcn, const char **pwhy,
                               X509_STORE *store, const char *pem,
                               const char *const *chain, const char *name,
                               apr_time_t now, apr_pool_t *p)
{
    xf_cert_result_e res = XF_CERT_UNREADABLE;
    STACK_OF(X509) *untrusted = NULL;
    X509_STORE_CTX *ctx = NULL;
    X509_VERIFY_PARAM *param;
    X509 *x = NULL, *c;
    int i, err;

    if (pcn)
        *pcn = NULL;
    if (pwhy)
        *pwhy = NULL;
    if (!store || !name || !*name || !(x = read_pem(pem)))
        goto cleanup;
    if (pcn)
        *pcn = subject_cn(x, p);
    res = XF_CERT_CHAIN;
    if (!(untrusted = sk_X509_new_null()) || !(ctx = X509_STORE_CTX_new()))
        goto cleanup;
    for (i = 0; chain && chain[i]; i++) {
        if (!(c = read_pem(chain[i])))
            continue; /* as mod_ssl does not give it: OpenSSL never saw it */
        if (!sk_X509_push(untrusted, c)) {
            X509_free(c);
            goto cleanup;
        }
    }
    if (!X509_STORE_CTX_init(ctx, store, x, untrusted))
        goto cleanup;
    /* what an SSL server checks of its client (ssl/ssl_cert.c,
     * ssl_verify_cert_chain: the "ssl_client" defaults), at the time
     * given, dates on whatever the store says, and checkHost */
    param = X509_STORE_CTX_get0_param(ctx);
    if (!X509_STORE_CTX_set_default(ctx, "ssl_client") ||
        !X509_VERIFY_PARAM_clear_flags(param, X509_V_FLAG_NO_CHECK_TIME) ||
        !X509_VERIFY_PARAM_set1_host(param, name, strlen(name)))
        goto cleanup;
    X509_VERIFY_PARAM_set_hostflags(param, 0);
    X509_VERIFY_PARAM_set_time(param, (time_t)apr_time_sec(now));
    if (X509_verify_cert(ctx) == 1) {
        res = XF_CERT_OK;
        goto cleanup;
    }
    err = X509_STORE_CTX_get_error(ctx);
    res = result_of(err, X509_STORE_CTX_get_error_depth(ctx));
    if (res == XF_CERT_OK) /* failed without saying why */
        res = XF_CERT_CHAIN;
    if (pwhy)
        *pwhy = apr_pstrdup(p, X509_verify_cert_error_string(err));

cleanup:
    X509_STORE_CTX_free(ctx);
    sk_X509_pop_free(untrusted, X509_free);
    X509_free(x);
    return res;
}

const char *xf_cert_result_text(xf_cert_result_e r)
{
    switch (r) {
    case XF_CERT_OK:
        return "verified";
    case XF_CERT_NOT_YET_VALID:
        return "not yet valid";
    case XF_CERT_EXPIRED:
        return "expired";
    case XF_CERT_WRONG_NAME:
        return "does not name the host";
    case XF_CERT_CHAIN:
        return "chain not verified";
    default:
        return "not a PEM certificate";
    }
}
