/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_poolsecret.c - reads the pool secrets (XapiForwardPoolSecretFile) in
 * post_config, one per file however many vhosts name it, and hands the
 * access checker the one of its vhost.
 */
#include "xf_poolsecret.h"

#include <apr_hash.h>

#include "http_log.h"

#include "xf_config.h"
#include "xf_private.h"

/* pool secret file -> xf_secret_t, per process */
static apr_hash_t *secrets;

void xf_poolsecret_pre_config(void)
{
    secrets = NULL;
}

int xf_poolsecret_post_config(apr_pool_t *pconf, server_rec *s)
{
    server_rec *vs;
    apr_status_t st;

    if (!xf_config_auth_used(s))
        return OK;
    secrets = apr_hash_make(pconf);
    for (vs = s; vs; vs = vs->next) {
        const xf_srv_conf_t *c = xf_config_srv_get(vs);
        xf_secret_t *sec;

        if (!c->pool_secret_file ||
            apr_hash_get(secrets, c->pool_secret_file, APR_HASH_KEY_STRING))
            continue;
        sec = apr_pcalloc(pconf, sizeof(*sec));
        st = xf_auth_read_secret(sec, c->pool_secret_file, pconf);
        if (st != APR_SUCCESS) {
            ap_log_error(
                APLOG_MARK, APLOG_CRIT, st, vs,
                XF_LOGNO(0208) "XapiForwardPoolSecretFile %s: cannot read a "
                               "non-empty secret of at most 64 KiB",
                c->pool_secret_file);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        apr_hash_set(secrets, c->pool_secret_file, APR_HASH_KEY_STRING, sec);
    }
    return OK;
}

const xf_secret_t *xf_poolsecret_get(server_rec *s)
{
    const xf_srv_conf_t *c = xf_config_srv_get(s);

    if (!c->pool_secret_file || !secrets)
        return NULL;
    return apr_hash_get(secrets, c->pool_secret_file, APR_HASH_KEY_STRING);
}
