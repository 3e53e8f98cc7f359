/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_config_set.h - what the directive setters share, and the setters of
 * the core directives that parse their argument themselves (setter OWN).
 */
#ifndef XF_CONFIG_SET_H
#define XF_CONFIG_SET_H

#include "httpd.h"
#include "http_config.h"

#include "xf_config.h"

/** The server settings a directive being read fills. */
xf_srv_conf_t *xf_config_cmd_srv(cmd_parms *cmd);

/** Where a directive was read, "line N of FILE", for later messages. */
const char *xf_config_where(cmd_parms *cmd);

/**
 * A file a directive names must be a readable regular file of at least
 * min_bytes (and at most 64 KiB when min_bytes > 0). httpd prints the
 * message with the file:line of the directive.
 * @param cmd       the directive being read
 * @param path      the path (already made server-root relative)
 * @param min_bytes smallest acceptable size (0: any)
 * @return NULL when fine, else a message naming the directive and path
 */
const char *xf_config_check_file(cmd_parms *cmd, const char *path,
                                 apr_off_t min_bytes);

/**
 * An XAPI URL: "unix:/absolute/path" (when allow_unix; shorter than
 * sun_path) or "http(s)://host[:port][/...]".
 * @return NULL when fine, else a message naming the directive
 */
const char *xf_config_check_url(cmd_parms *cmd, const char *url,
                                int allow_unix);

/* the setters of XapiForwardAuth, RequirePermission, XapiURL, LoginURL,
 * ClientCertURL and Cache (their entries are in xf_config_cmds.c) */
const char *xf_config_set_auth(cmd_parms *cmd, void *dv, int on);
const char *xf_config_set_require(cmd_parms *cmd, void *dv, const char *arg);
const char *xf_config_set_xapi_url(cmd_parms *cmd, void *cv, const char *arg);
const char *xf_config_set_login_url(cmd_parms *cmd, void *cv, const char *arg);
const char *xf_config_set_client_cert_url(cmd_parms *cmd, void *cv,
                                          const char *arg);
const char *xf_config_set_cache(cmd_parms *cmd, void *cv, const char *arg);

#endif /* XF_CONFIG_SET_H */
