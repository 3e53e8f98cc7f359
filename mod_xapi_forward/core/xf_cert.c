/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_cert.c - a client certificate's validity dates and host name, checked
 * with OpenSSL as its chain verification and stunnel's checkHost check
 * them (stunnel: src/verify.c calls X509_check_host with flags 0).
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

xf_cert_result_e xf_cert_check(const char **pcn, const char *pem,
                               const char *name, apr_time_t now, apr_pool_t *p)
{
    xf_cert_result_e res = XF_CERT_UNREADABLE;
    time_t t = (time_t)apr_time_sec(now);
    BIO *bio = NULL;
    X509 *x = NULL;

    if (pcn)
        *pcn = NULL;
    if (!pem || !*pem || !name || !*name)
        goto cleanup;
    if (!(bio = BIO_new_mem_buf(pem, -1)))
        goto cleanup;
    if (!(x = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
        goto cleanup;
    if (pcn)
        *pcn = subject_cn(x, p);
    /* OpenSSL's check_cert_time: valid when notBefore < now < notAfter
     * (X509_cmp_time answers 0 for a field it cannot read: not valid) */
    if (X509_cmp_time(X509_get0_notBefore(x), &t) >= 0)
        res = XF_CERT_NOT_YET_VALID;
    else if (X509_cmp_time(X509_get0_notAfter(x), &t) <= 0)
        res = XF_CERT_EXPIRED;
    else if (X509_check_host(x, name, strlen(name), 0, NULL) != 1)
        res = XF_CERT_WRONG_NAME;
    else
        res = XF_CERT_OK;

cleanup:
    X509_free(x);
    BIO_free(bio);
    return res;
}

const char *xf_cert_result_text(xf_cert_result_e r)
{
    switch (r) {
    case XF_CERT_OK:
        return "ok";
    case XF_CERT_NOT_YET_VALID:
        return "not yet valid";
    case XF_CERT_EXPIRED:
        return "expired";
    case XF_CERT_WRONG_NAME:
        return "does not name the host";
    default:
        return "not a PEM certificate";
    }
}
