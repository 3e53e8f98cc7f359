/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_config_cmds.h - the module's directive table.
 */
#ifndef XF_CONFIG_CMDS_H
#define XF_CONFIG_CMDS_H

#include "httpd.h"
#include "http_config.h"

/** The directive table (the module's cmds). */
extern const command_rec xf_cmds[];

#endif /* XF_CONFIG_CMDS_H */
