/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * mod_xapi_forward.c - the module record and hook registration. No logic
 * lives here: see xf_proxy.c (forwarding) and xf_config.c (directives).
 */
#define XF_MODULE_FILE
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_request.h"
#include "mod_proxy.h"

#include "xf_access.h"
#include "xf_cache.h"
#include "xf_clientcert.h"
#include "xf_confcheck.h"
#include "xf_config.h"
#include "xf_config_cmds.h"
#include "xf_connect.h"
#include "xf_path.h"
#include "xf_plugin.h"
#include "xf_poolsecret.h"
#include "xf_private.h"
#include "xf_proxy.h"
#include "xf_proxyproto.h"
#include "xf_sni.h"
#include "xf_stats.h"
#include "xf_tunnel.h"
#include "xf_watch.h"
#include "xf_xapicall.h"
#include "xf_version.h"

static int xf_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    xf_poolsecret_pre_config();
    xf_xapicall_pre_config();
    return xf_cache_pre_config(pconf);
}

/* runs under httpd -t too (post_config does not) */
static int xf_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s)
{
    int rc = xf_confcheck_check_config(pconf, plog, ptemp, s);

    if (xf_config_auth_used(s) && xf_cache_check_config(ptemp, s) != OK)
        rc = HTTP_INTERNAL_SERVER_ERROR;
    if (xf_proxyproto_check_config(s) != OK)
        rc = HTTP_INTERNAL_SERVER_ERROR;
    return rc;
}

static int xf_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *s)
{
    int rc;

    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    rc = xf_stats_post_config(pconf, s);
    if (rc == OK)
        rc = xf_xapicall_post_config(s);
    if (rc == OK)
        rc = xf_poolsecret_post_config(pconf, s);
    if (rc == OK && xf_config_auth_used(s))
        rc = xf_cache_post_config(pconf, ptemp, s);
    if (rc != OK)
        return rc;
    xf_plugin_post_config(s);
    xf_confcheck_post_config(ptemp, s);
    ap_log_error(
        APLOG_MARK, APLOG_INFO, 0, s,
        XF_LOGNO(0001) "mod_xapi_forward %s ready (envelope schema %d)",
        XF_VERSION, XF_ENVELOPE_VERSION);
    return OK;
}

static void xf_child_init(apr_pool_t *p, server_rec *s)
{
    xf_cache_child_init(p, s);
    xf_xapicall_child_init(p, s);
}

static void xf_register_hooks(apr_pool_t *p)
{
    proxy_hook_scheme_handler(xf_proxy_handler, NULL, NULL, APR_HOOK_FIRST);
    proxy_hook_canon_handler(xf_proxy_canon, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_pre_config(xf_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(xf_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(xf_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(xf_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(xf_watch_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    /* before every access, authn and authz hook (Require included) */
    ap_hook_header_parser(xf_path_header_parser, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_check_access(xf_check_access, NULL, NULL, APR_HOOK_MIDDLE,
                         AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_header_parser(xf_plugin_header_parser, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(xf_plugin_handler, NULL, NULL, APR_HOOK_REALLY_FIRST);
    xf_proxy_register_flushers(p);
    xf_stats_register_hooks(p);
    xf_tunnel_register(p);
    xf_proxyproto_register(p);
    xf_connect_register(p);
    xf_sni_register(p);
    xf_clientcert_register_hooks(p);
}

AP_DECLARE_MODULE(xapi_forward) = {
    STANDARD20_MODULE_STUFF,
    xf_config_dir_create, /* per-directory config */
    xf_config_dir_merge,  /* merge per-directory */
    xf_config_srv_create, /* per-server config */
    xf_config_srv_merge,  /* merge per-server */
    xf_cmds,              /* directives */
    xf_register_hooks,    /* hooks */
    AP_MODULE_FLAG_NONE   /* flags */
};
