/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_clientcert.c - client certificates with stunnel's outcome: a
 * certificate that fails verification is not a reason to end the
 * handshake (stunnel's redirect = 80), only not a verified one.
 *
 * mod_ssl checks the chain (SSLVerifyClient optional_no_ca: an untrusted
 * chain is accepted as "GENEROUS"); on the vhosts that name a host with
 * XapiForwardClientCertName the module sets X509_V_FLAG_NO_CHECK_TIME on
 * the SSL context's store at start-up (mod_ssl's init_server hook), so
 * that dates do not end the handshake either, and checks them itself per
 * request, with the host name (X509_check_host, as stunnel's checkHost):
 * core/xf_cert.c. Both checks read what a resumed TLS session keeps (the
 * peer certificate, the verify result), so resumption changes nothing.
 */
#include "xf_clientcert.h"

#include <apr_optional_hooks.h>
#include <apr_strings.h>

#include "http_protocol.h"
#include "http_request.h"
#include "http_ssl.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "xf_cert.h"
#include "xf_config.h"
#include "xf_private.h"

/* mod_ssl's init_server optional hook, as modules/ssl/mod_ssl_openssl.h
 * declares it (a header not every distribution ships, Debian's
 * apache2-dev among them): run once per SSL-enabled server after its
 * SSL_CTX is configured (modules/ssl/ssl_engine_init.c). */
typedef int ssl_HOOK_init_server_t(server_rec *s, apr_pool_t *p, int is_proxy,
                                   SSL_CTX *ctx);

static int init_server(server_rec *s, apr_pool_t *p, int is_proxy, SSL_CTX *ctx)
{
    const char *name = xf_srv_client_cert_name(xf_config_srv_get(s));
    X509_STORE *store;

    if (is_proxy || !name || !ctx)
        return OK;
    /* on the store, not the context's X509_VERIFY_PARAM: an SNI switch
     * to this vhost changes the SSL's context (and so its store), not the
     * SSL's parameters, which come from the first vhost */
    store = SSL_CTX_get_cert_store(ctx);
    if (!store || !X509_STORE_set_flags(store, X509_V_FLAG_NO_CHECK_TIME)) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     XF_LOGNO(0872) "XapiForwardClientCertName: cannot "
                                    "leave the validity dates of client "
                                    "certificates to the module (OpenSSL)");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (!(SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER))
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     XF_LOGNO(0870) "XapiForwardClientCertName %s: this "
                                    "virtual host asks for no client "
                                    "certificate (SSLVerifyClient "
                                    "optional_no_ca is needed): every "
                                    "client counts as unverified",
                     name);
    else
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                     XF_LOGNO(0871) "client certificates: chain checked by "
                                    "mod_ssl without dates; dates and the "
                                    "name %s checked per request",
                     name);
    return OK;
}

/* post_read_request: mark the requests of a verified holder. */
static int mark(request_rec *r)
{
    const char *name = xf_srv_client_cert_name(xf_config_srv_get(r->server));
    const char *verify, *pem, *cn = NULL;
    xf_cert_result_e res;

    if (!name || !ap_ssl_conn_is_ssl(r->connection))
        return DECLINED;
    verify = ap_ssl_var_lookup(r->pool, r->server, r->connection, r,
                               "SSL_CLIENT_VERIFY");
    if (!verify || strcmp(verify, "SUCCESS")) {
        /* NONE, GENEROUS (untrusted chain), FAILED:reason */
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      XF_LOGNO(0874) "no verified client certificate "
                                     "(SSL_CLIENT_VERIFY %s)",
                      verify ? ap_escape_logitem(r->pool, verify) : "unset");
        return DECLINED;
    }
    pem = ap_ssl_var_lookup(r->pool, r->server, r->connection, r,
                            "SSL_CLIENT_CERT");
    res = xf_cert_check(&cn, pem, name, apr_time_now(), r->pool);
    if (res != XF_CERT_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      XF_LOGNO(0875) "client certificate (CN %s) not "
                                     "accepted for %s: %s",
                      cn ? cn : "none", name, xf_cert_result_text(res));
        return DECLINED;
    }
    apr_table_setn(r->subprocess_env, XF_ENV_CLIENT_CERT, "1");
    apr_table_setn(r->notes, XF_NOTE_CLIENT_CERT, "1");
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  XF_LOGNO(0873) "client certificate (CN %s) verified for %s",
                  cn ? cn : "none", name);
    return DECLINED;
}

int xf_clientcert_verified(const request_rec *r)
{
    while (r->main)
        r = r->main;
    return apr_table_get(r->notes, XF_NOTE_CLIENT_CERT) != NULL;
}

void xf_clientcert_register_hooks(apr_pool_t *p)
{
    (void)p;
    APR_OPTIONAL_HOOK(ssl, init_server, init_server, NULL, NULL,
                      APR_HOOK_MIDDLE);
    /* mod_rewrite reads the mark in its translate_name hook, later */
    ap_hook_post_read_request(mark, NULL, NULL, APR_HOOK_MIDDLE);
}
