/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_config_plugin.h - the setters of the custom services' directives
 * (their entries are in xf_config_cmds.c).
 */
#ifndef XF_CONFIG_PLUGIN_H
#define XF_CONFIG_PLUGIN_H

#include "httpd.h"
#include "http_config.h"

const char *xf_config_plugin_on(cmd_parms *cmd, void *dv, int on);
const char *xf_config_plugin_dir(cmd_parms *cmd, void *dv, const char *arg);
const char *xf_config_plugin_way(cmd_parms *cmd, void *dv, const char *a1,
                                 const char *a2);
const char *xf_config_plugin_host(cmd_parms *cmd, void *dv, const char *name,
                                  const char *url);
const char *xf_config_plugin_host_map(cmd_parms *cmd, void *dv,
                                      const char *file);

#endif /* XF_CONFIG_PLUGIN_H */
