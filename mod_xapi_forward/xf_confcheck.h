/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_confcheck.h - configuration errors found at start-up (and by
 * `apachectl configtest`), each naming the directive and its file:line:
 * the check_config walk over the configuration tree for what only shows
 * once everything is read.
 */
#ifndef XF_CONFCHECK_H
#define XF_CONFCHECK_H

#include "httpd.h"
#include "http_config.h"

/**
 * check_config hook: the xapi:// URLs of ProxyPass, ProxyPassMatch,
 * BalancerMember and SetHandler (anywhere, <Location> included): a unix:
 * socket is required and must fit sun_path, the xapi:// URL must parse
 * and name a host, and one worker name must not stand for two sockets
 * (mod_proxy would share the worker by URL and silently use the first).
 * Each XapiForwardPluginDir (and the default one where a XapiForwardPlugin
 * On has none) must be a directory (XAPIFWD0412); a missing one or one
 * writable by group or others is a warning (XAPIFWD0414, XAPIFWD0413),
 * logged here only under `httpd -t` (see xf_confcheck_post_config()).
 * Runs under `httpd -t` too. Each error is logged (XAPIFWD05xx, 0412)
 * with the directive and file:line.
 * @return OK, or HTTP_INTERNAL_SERVER_ERROR: httpd does not start
 */
int xf_confcheck_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s);

/**
 * post_config (not on the first reading of the configuration): the
 * warnings about the services directories (XAPIFWD0413, XAPIFWD0414),
 * logged once per start or restart into the error log. Under `httpd -t`
 * xf_confcheck_check_config() logs them.
 * @param ptemp a temporary pool
 * @param s     the main server
 */
void xf_confcheck_post_config(apr_pool_t *ptemp, server_rec *s);

#endif /* XF_CONFCHECK_H */
