/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_config_cmds.c - the directive table: one generated entry and generic
 * setter per SET row of xf_config.h's lists, and the entries of the
 * directives with setters of their own (xf_config_set.c,
 * xf_config_plugin.c).
 */
#include "xf_config_cmds.h"

#include <stddef.h>

#include <apr_strings.h>

#include "http_core.h"

#include "xf_config.h"
#include "xf_config_plugin.h"
#include "xf_config_set.h"
#include "xf_private.h"

#define XF_DIR_CTX (RSRC_CONF | ACCESS_CONF)

/* ---- the generic setters (setter SET) -------------------------------- */

/* the kinds a generic setter reads (ARRAY and TABLE: hand-written only) */
typedef enum {
    XF_KIND_FLAG,
    XF_KIND_ENUM,
    XF_KIND_STATUS,
    XF_KIND_NUMBER,
    XF_KIND_TIME,
    XF_KIND_STRING,
    XF_KIND_PATH
} xf_kind_e;

typedef struct {
    const char *word; /* NULL ends the list */
    int value;
} xf_choice_t;

/* what a generic setter needs to know of its row (cmd->info) */
typedef struct {
    apr_size_t offset;          /* the field's, in its struct */
    xf_kind_e kind;             /* how to read the argument */
    int srv;                    /* the field is in xf_srv_conf_t */
    int main_only;              /* merge MAIN: refused in <VirtualHost> */
    const xf_choice_t *choices; /* ENUM, STATUS */
    apr_int64_t min, max;       /* NUMBER, TIME: range; PATH: min bytes */
    const char *range;          /* NUMBER, TIME: the error message */
} xf_setting_t;

/* clang-format off */

#define XF_IS_SRV_dir 0
#define XF_IS_SRV_srv 1
#define XF_MAIN_ONLY_INNER 0
#define XF_MAIN_ONLY_MAIN 1
#define XF_MAIN_ONLY_OVERLAY 0

#define XF_CHECK_NONE .choices = NULL
#define XF_CHECK_CHOICES(...)                                                  \
    .choices = (const xf_choice_t[]){__VA_ARGS__, {NULL, 0}}
#define XF_CHECK_RANGE(lo, hi, message)                                        \
    .min = (lo), .max = (hi), .range = (message)
#define XF_CHECK_MIN_SIZE(bytes) .min = (bytes)

/* one xf_setting_t per SET row: dir_<field>_setting, srv_<field>_setting */
#define XF_SETTING_OWN(conf, field, k, merge, check)
#define XF_SETTING_SET(conf, field, k, merge, check)                           \
    static const xf_setting_t conf##_##field##_setting = {                     \
        .offset = offsetof(xf_##conf##_conf_t, field),                         \
        .kind = XF_KIND_##k,                                                   \
        .srv = XF_IS_SRV_##conf,                                               \
        .main_only = XF_MAIN_ONLY_##merge,                                     \
        XF_CHECK_##check};
#define XF_DIR_SETTING(field, kind, type, def, merge, set, name, check, ...)   \
    XF_SETTING_##set(dir, field, kind, merge, check)
#define XF_SRV_SETTING(field, kind, type, def, merge, set, name, check, ...)   \
    XF_SETTING_##set(srv, field, kind, merge, check)

/* one xf_cmds[] entry per SET row */
#define XF_INIT_FLAG   AP_INIT_FLAG
#define XF_INIT_ENUM   AP_INIT_TAKE1
#define XF_INIT_STATUS AP_INIT_TAKE1
#define XF_INIT_NUMBER AP_INIT_TAKE1
#define XF_INIT_TIME   AP_INIT_TAKE1
#define XF_INIT_STRING AP_INIT_TAKE1
#define XF_INIT_PATH   AP_INIT_TAKE1
#define XF_SETTER_FLAG   set_flag
#define XF_SETTER_ENUM   set_value
#define XF_SETTER_STATUS set_value
#define XF_SETTER_NUMBER set_value
#define XF_SETTER_TIME   set_value
#define XF_SETTER_STRING set_value
#define XF_SETTER_PATH   set_value
#define XF_CMD_OWN(conf, field, kind, name, where, doc)
#define XF_CMD_SET(conf, field, kind, name, where, doc)                        \
    XF_INIT_##kind(name, XF_SETTER_##kind,                                     \
                   (void *)&conf##_##field##_setting, where, doc),
#define XF_DIR_CMD(field, kind, type, def, merge, setter, name, check, doc)    \
    XF_CMD_##setter(dir, field, kind, name, XF_DIR_CTX, doc)
#define XF_SRV_CMD(field, kind, type, def, merge, setter, name, check, doc)    \
    XF_CMD_##setter(srv, field, kind, name, RSRC_CONF, doc)

XF_DIR_FIELDS(XF_DIR_SETTING)
XF_SRV_FIELDS(XF_SRV_SETTING)

/* clang-format on */

/* the field a generic setter sets, after the context check of MAIN */
static const char *setting_field(void **pfield, cmd_parms *cmd, void *dv)
{
    const xf_setting_t *s = cmd->info;
    const char *err =
        s->main_only ? ap_check_cmd_context(cmd, GLOBAL_ONLY) : NULL;

    *pfield =
        (char *)(s->srv ? (void *)xf_config_cmd_srv(cmd) : dv) + s->offset;
    return err;
}

/* "<directive>: must be a, b or c" */
static const char *choices_error(cmd_parms *cmd, const xf_choice_t *c)
{
    const char *text = c->word;

    for (c++; c->word; c++)
        text = apr_pstrcat(cmd->pool, text, c[1].word ? ", " : " or ", c->word,
                           NULL);
    return apr_psprintf(cmd->pool, "%s: must be %s", cmd->cmd->name, text);
}

static const char *set_flag(cmd_parms *cmd, void *dv, int on)
{
    void *field;
    const char *err = setting_field(&field, cmd, dv);

    if (err)
        return err;
    *(int *)field = on;
    return NULL;
}

static const char *set_value(cmd_parms *cmd, void *dv, const char *arg)
{
    const xf_setting_t *s = cmd->info;
    const xf_choice_t *c;
    apr_off_t n;
    apr_interval_time_t t;
    const char *path;
    void *field;
    const char *err = setting_field(&field, cmd, dv);

    if (err)
        return err;
    switch (s->kind) {
    case XF_KIND_ENUM:
    case XF_KIND_STATUS:
        for (c = s->choices; c->word; c++) {
            if (s->kind == XF_KIND_ENUM ? !strcasecmp(arg, c->word)
                                        : atoi(arg) == c->value) {
                *(int *)field = c->value;
                return NULL;
            }
        }
        return choices_error(cmd, s->choices);
    case XF_KIND_NUMBER:
        if (apr_strtoff(&n, arg, NULL, 10) != APR_SUCCESS || n < s->min ||
            n > s->max)
            break;
        *(apr_off_t *)field = n;
        return NULL;
    case XF_KIND_TIME:
        if (ap_timeout_parameter_parse(arg, &t, "s") != APR_SUCCESS ||
            t < s->min || t > s->max)
            break;
        *(apr_interval_time_t *)field = t;
        return NULL;
    case XF_KIND_STRING:
        *(const char **)field = arg;
        return NULL;
    case XF_KIND_PATH:
        path = ap_server_root_relative(cmd->pool, arg);
        if (!path)
            return apr_pstrcat(cmd->pool, cmd->cmd->name, ": bad path ", arg,
                               NULL);
        *(const char **)field = path;
        return xf_config_check_file(cmd, path, (apr_off_t)s->min);
    default:
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": no generic setter",
                           NULL);
    }
    return apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", s->range, NULL);
}

/* clang-format off */
const command_rec xf_cmds[] = {
    /* the SET rows of xf_config.h */
    XF_DIR_FIELDS(XF_DIR_CMD)
    XF_SRV_FIELDS(XF_SRV_CMD)
    /* the OWN rows' directives */
    AP_INIT_FLAG("XapiForwardAuth", xf_config_set_auth, NULL, XF_DIR_CTX,
                 "On: check the caller's XAPI session, pool secret or Basic "
                 "credentials before forwarding (default Off)"),
    AP_INIT_ITERATE("XapiForwardRequirePermission", xf_config_set_require, NULL,
                    XF_DIR_CTX,
                    "XAPI permissions the session must hold, e.g. "
                    "http/rrd_updates, or xapi: the one xapi checks for the "
                    "request's method and path (default none)"),
    AP_INIT_TAKE1("XapiForwardXapiURL", xf_config_set_xapi_url, NULL, RSRC_CONF,
                  "where sessions are checked: unix:/var/lib/xcp/xapi "
                  "(default) or https://pool-master"),
    AP_INIT_TAKE1("XapiForwardLoginURL", xf_config_set_login_url, NULL, RSRC_CONF,
                  "where Basic credentials are checked: https://host "
                  "(default https://localhost)"),
    AP_INIT_TAKE1("XapiForwardClientCertURL", xf_config_set_client_cert_url, NULL,
                  RSRC_CONF,
                  "where client-certificate holders log in: xapi's clientcert "
                  "socket (default unix:/var/lib/xcp/xapi-clientcert)"),
    AP_INIT_TAKE1("XapiForwardCache", xf_config_set_cache, NULL, RSRC_CONF,
                  "socache provider[:args] for access decisions (default "
                  "shmcb)"),
    AP_INIT_FLAG("XapiForwardPlugin", xf_config_plugin_on, NULL, ACCESS_CONF,
                 "On: this <Location> is a custom services front door: "
                 "<location>/<name>/... reaches the service <name> (default "
                 "Off)"),
    AP_INIT_TAKE1("XapiForwardPluginDir", xf_config_plugin_dir, NULL, XF_DIR_CTX,
                  "directory of the services' sockets (default "
                  "/var/lib/xcp/plugin)"),
    AP_INIT_TAKE12("XapiForwardPluginWay", xf_config_plugin_way, NULL, XF_DIR_CTX,
                   "[NAME] http|channel: how services (or service NAME) are "
                   "reached (default http)"),
    AP_INIT_TAKE2("XapiForwardPluginHost", xf_config_plugin_host, NULL, XF_DIR_CTX,
                  "NAME URL: service NAME runs on the host at URL: answer "
                  "302 to URL + path + query"),
    AP_INIT_TAKE1("XapiForwardPluginHostMap", xf_config_plugin_host_map, NULL,
                  XF_DIR_CTX,
                  "file of \"NAME URL\" lines, as XapiForwardPluginHost; read "
                  "at start-up and at every graceful restart"),
    {NULL}};
/* clang-format on */
