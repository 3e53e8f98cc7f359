/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_clientcert.c - client certificates with stunnel's outcome: a
 * certificate that fails verification is not a reason to end the
 * handshake (stunnel's redirect = 80), only not a verified one.
 *
 * mod_ssl asks for the certificate (SSLVerifyClient optional_no_ca: an
 * untrusted chain is accepted as "GENEROUS"); on the virtual hosts that
 * name a host with XapiForwardClientCertName the module sets
 * X509_V_FLAG_NO_CHECK_TIME on the SSL context's store at start-up
 * (mod_ssl's init_server hook), so that dates do not end the handshake
 * either. Per request, a certificate mod_ssl calls SUCCESS is verified
 * again as stunnel verifies it, against the same store with every date
 * and the host name (core/xf_cert.c). Both read what a resumed TLS
 * session keeps (the verify result, the peer's certificates), so
 * resumption changes nothing.
 */
#include "xf_clientcert.h"

#include <apr_hash.h>
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

/* Most certificates of SSL_CLIENT_CERT_CHAIN_n read. */
#define MAX_CHAIN 10

/* mod_ssl's init_server optional hook, as modules/ssl/mod_ssl_openssl.h
 * declares it (a header not every distribution ships, Debian's
 * apache2-dev among them): run once per SSL-enabled server after its
 * SSL_CTX is configured (modules/ssl/ssl_engine_init.c). */
typedef int ssl_HOOK_init_server_t(server_rec *s, apr_pool_t *p, int is_proxy,
                                   SSL_CTX *ctx);

/* server_rec * -> the X509_STORE of its SSL context, for this generation
 * of the configuration (reset with pconf) */
static apr_hash_t *stores;

static apr_status_t stores_reset(void *data)
{
    stores = NULL;
    return APR_SUCCESS;
}

static apr_status_t store_free(void *data)
{
    X509_STORE_free(data);
    return APR_SUCCESS;
}

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
    if (!store || !X509_STORE_set_flags(store, X509_V_FLAG_NO_CHECK_TIME) ||
        !X509_STORE_up_ref(store)) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     XF_LOGNO(0872) "XapiForwardClientCertName: cannot "
                                    "leave the validity dates of client "
                                    "certificates to the module (OpenSSL)");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(p, store, store_free, apr_pool_cleanup_null);
    if (!stores) {
        stores = apr_hash_make(p);
        apr_pool_cleanup_register(p, NULL, stores_reset, apr_pool_cleanup_null);
    }
    apr_hash_set(stores, apr_pmemdup(p, &s, sizeof(s)), sizeof(s), store);
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
                     XF_LOGNO(0871) "client certificates: mod_ssl asks for "
                                    "them and checks no dates; each "
                                    "request verifies them for %s",
                     name);
    return OK;
}

/* post_read_request: mark the requests of a verified holder. */
static int mark(request_rec *r)
{
    const char *name = xf_srv_client_cert_name(xf_config_srv_get(r->server));
    const char *verify, *pem, *cn = NULL, *why = NULL;
    const char *chain[MAX_CHAIN + 1];
    X509_STORE *store;
    xf_cert_result_e res;
    int i;

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
    for (i = 0; i < MAX_CHAIN; i++) {
        chain[i] = ap_ssl_var_lookup(
            r->pool, r->server, r->connection, r,
            apr_psprintf(r->pool, "SSL_CLIENT_CERT_CHAIN_%d", i));
        if (!chain[i] || !*chain[i])
            break;
    }
    chain[i] = NULL;
    store = stores ? apr_hash_get(stores, &r->server, sizeof(r->server)) : NULL;
    res = xf_cert_check(&cn, &why, store, pem, chain, name, apr_time_now(),
                        r->pool);
    if (res != XF_CERT_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      XF_LOGNO(0875) "client certificate (CN %s) not "
                                     "accepted for %s: %s (%s)",
                      cn ? cn : "none", name, xf_cert_result_text(res),
                      why     ? why
                      : store ? "-"
                              : "no SSL context of this virtual host");
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
