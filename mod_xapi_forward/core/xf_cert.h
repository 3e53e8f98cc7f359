/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_cert.h - the checks a client certificate must pass, besides its
 * chain, before the front door treats its holder as xapi's stunnel treats
 * a verified client (checkHost = OpenSSL's X509_check_host, and the
 * validity dates). Pure core: OpenSSL and APR, no httpd headers.
 */
#ifndef XF_CERT_H
#define XF_CERT_H

#include <apr_pools.h>
#include <apr_time.h>

/** Outcome of xf_cert_check(). */
typedef enum {
    XF_CERT_OK = 0,            /* within its dates, names the host */
    XF_CERT_UNREADABLE = 1,    /* not one PEM certificate */
    XF_CERT_NOT_YET_VALID = 2, /* now is before notBefore */
    XF_CERT_EXPIRED = 3,       /* now is after notAfter */
    XF_CERT_WRONG_NAME = 4     /* X509_check_host(name) fails */
} xf_cert_result_e;

/**
 * Check a client certificate's dates and name as OpenSSL's chain
 * verification (X509_V_ERR_CERT_NOT_YET_VALID, X509_V_ERR_CERT_HAS_EXPIRED)
 * and stunnel's checkHost (X509_check_host, flags 0: the subjectAltName
 * DNS names, else the subject CN; wildcards as OpenSSL matches them) do.
 * @param pcn  out (may be NULL): the subject CN made safe to log
 *             (printable ASCII, at most 64 characters), or NULL
 * @param pem  the certificate in PEM (mod_ssl's SSL_CLIENT_CERT)
 * @param name the name to check (stunnel's checkHost)
 * @param now  the time the dates are checked against
 * @param p    pool for *pcn
 * @return the first check that fails, in the order above, or XF_CERT_OK
 */
xf_cert_result_e xf_cert_check(const char **pcn, const char *pem,
                               const char *name, apr_time_t now, apr_pool_t *p);

/** @return a short text for r ("expired", "wrong name", ...) */
const char *xf_cert_result_text(xf_cert_result_e r);

#endif /* XF_CERT_H */
