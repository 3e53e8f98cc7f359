/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_cert.h - a client certificate verified as xapi's stunnel verifies it
 * (verifyChain with OpenSSL's checks, dates included, and checkHost =
 * X509_check_host), from what mod_ssl hands on (the certificate and the
 * chain the client sent) against the virtual host's CA store. Pure core:
 * OpenSSL and APR, no httpd headers.
 */
#ifndef XF_CERT_H
#define XF_CERT_H

#include <apr_pools.h>
#include <apr_time.h>

#include <openssl/x509_vfy.h>

/** Outcome of xf_cert_check(). */
typedef enum {
    XF_CERT_OK = 0,            /* verified: chain, dates, purpose, name */
    XF_CERT_UNREADABLE = 1,    /* not a PEM certificate, or no name */
    XF_CERT_NOT_YET_VALID = 2, /* the certificate's notBefore is ahead */
    XF_CERT_EXPIRED = 3,       /* the certificate's notAfter is past */
    XF_CERT_WRONG_NAME = 4,    /* X509_check_host(name) fails */
    XF_CERT_CHAIN = 5          /* any other verification error (an
                                * untrusted or expired CA, ...) */
} xf_cert_result_e;

/**
 * Verify a client certificate as stunnel's verifyChain and checkHost do:
 * X509_verify_cert against store, at time now, with the SSL client
 * purpose, every validity date checked (X509_V_FLAG_NO_CHECK_TIME cleared
 * whatever the store says), and the host name as X509_check_host with
 * flags 0 matches it (subjectAltName DNS names, else the subject CN).
 * @param pcn    out (may be NULL): the subject CN made safe to log
 *               (printable ASCII, at most 64 characters), or NULL
 * @param pwhy   out (may be NULL): OpenSSL's reason when not OK
 * @param store  the trusted CAs (the virtual host's SSL_CTX store)
 * @param pem    the certificate in PEM (mod_ssl's SSL_CLIENT_CERT)
 * @param chain  NULL-terminated PEM certificates the client sent besides
 *               it (SSL_CLIENT_CERT_CHAIN_n), or NULL
 * @param name   the name to check (stunnel's checkHost)
 * @param now    the time the dates are checked against
 * @param p      pool for *pcn, *pwhy
 * @return XF_CERT_OK or why not
 */
xf_cert_result_e xf_cert_check(const char **pcn, const char **pwhy,
                               X509_STORE *store, const char *pem,
                               const char *const *chain, const char *name,
                               apr_time_t now, apr_pool_t *p);

/** @return a short text for r ("expired", "wrong name", ...) */
const char *xf_cert_result_text(xf_cert_result_e r);

#endif /* XF_CERT_H */
