/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_config.c - the XapiForward* directives: create, merge, the accessors
 * and the generic setters, all generated from the lists of xf_config.h;
 * the setters of the directives that need parsing of their own.
 */
#include "xf_config.h"

#include <stddef.h>

#include <apr_strings.h>

#include "http_core.h"

#include "xf_confcheck.h"
#include "xf_plugin.h"
#include "xf_private.h"

#define XF_DIR_CTX (RSRC_CONF | ACCESS_CONF)

/* clang-format off */

/* "unset", per kind */
#define XF_UNSET_FLAG   XF_UNSET
#define XF_UNSET_ENUM   XF_UNSET
#define XF_UNSET_STATUS XF_UNSET
#define XF_UNSET_NUMBER XF_UNSET
#define XF_UNSET_TIME   XF_UNSET
#define XF_UNSET_STRING NULL
#define XF_UNSET_PATH   NULL
#define XF_UNSET_ARRAY  NULL
#define XF_UNSET_TABLE  NULL

/* create: every field unset */
#define XF_CREATE(field, kind, ...) c->field = XF_UNSET_##kind;

/* merge (add: the inner section, base: the outer one) */
#define XF_MERGE(field, kind, type, def, merge, ...)                           \
    XF_MERGE_##merge(field, kind)
#define XF_MERGE_INNER(field, kind)                                            \
    m->field = add->field != XF_UNSET_##kind ? add->field : base->field;
#define XF_MERGE_MAIN(field, kind) XF_MERGE_INNER(field, kind)
#define XF_MERGE_OVERLAY(field, kind)                                          \
    m->field = !add->field    ? base->field                                    \
               : !base->field ? add->field                                     \
                              : apr_table_overlay(p, base->field, add->field);

/* the accessors */
#define XF_ACCESSOR(conf, field, kind, type, def)                              \
    type xf_##conf##_##field(const xf_##conf##_conf_t *c)                      \
    {                                                                          \
        if (c && c->field != XF_UNSET_##kind)                                  \
            return (type)c->field;                                             \
        return (type)(def);                                                    \
    }
#define XF_DIR_ACCESSOR(field, kind, type, def, ...)                           \
    XF_ACCESSOR(dir, field, kind, type, def)
#define XF_SRV_ACCESSOR(field, kind, type, def, ...)                           \
    XF_ACCESSOR(srv, field, kind, type, def)

/* clang-format on */

void *xf_config_dir_create(apr_pool_t *p, char *dir)
{
    xf_dir_conf_t *c = apr_pcalloc(p, sizeof(*c));

    XF_DIR_FIELDS(XF_CREATE)
    return c;
}

void *xf_config_dir_merge(apr_pool_t *p, void *basev, void *addv)
{
    const xf_dir_conf_t *base = basev, *add = addv;
    xf_dir_conf_t *m = apr_pcalloc(p, sizeof(*m));

    XF_DIR_FIELDS(XF_MERGE)
    return m;
}

void *xf_config_srv_create(apr_pool_t *p, server_rec *s)
{
    xf_srv_conf_t *c = apr_pcalloc(p, sizeof(*c));

    XF_SRV_FIELDS(XF_CREATE)
    return c;
}

void *xf_config_srv_merge(apr_pool_t *p, void *basev, void *addv)
{
    const xf_srv_conf_t *base = basev, *add = addv;
    xf_srv_conf_t *m = apr_pcalloc(p, sizeof(*m));

    XF_SRV_FIELDS(XF_MERGE)
    return m;
}

/* clang-format off */
XF_DIR_FIELDS(XF_DIR_ACCESSOR)
XF_SRV_FIELDS(XF_SRV_ACCESSOR)
/* clang-format on */

const xf_srv_conf_t *xf_config_srv_get(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &xapi_forward_module);
}

const xf_dir_conf_t *xf_config_dir_get(const request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &xapi_forward_module);
}

xf_plugin_way_e xf_dir_plugin_way_for(const xf_dir_conf_t *d, const char *name)
{
    const char *w = d && d->plugin_ways && name
                        ? apr_table_get(d->plugin_ways, name)
                        : NULL;

    if (w)
        return strcmp(w, "channel") ? XF_PLUGIN_HTTP : XF_PLUGIN_CHANNEL;
    return xf_dir_plugin_way(d);
}

int xf_config_auth_used(const server_rec *s)
{
    for (; s; s = s->next) {
        if (xf_srv_auth_used(xf_config_srv_get(s)))
            return 1;
    }
    return 0;
}

const char *xf_mode_name(xf_mode_e m)
{
    switch (m) {
    case XF_MODE_HANDOFF:
        return "handoff";
    case XF_MODE_RELAY:
        return "relay";
    default:
        return "auto";
    }
}

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

static xf_srv_conf_t *srv_conf(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config,
                                &xapi_forward_module);
}

/* the field a generic setter sets, after the context check of MAIN */
static const char *setting_field(void **pfield, cmd_parms *cmd, void *dv)
{
    const xf_setting_t *s = cmd->info;
    const char *err =
        s->main_only ? ap_check_cmd_context(cmd, GLOBAL_ONLY) : NULL;

    *pfield = (char *)(s->srv ? (void *)srv_conf(cmd) : dv) + s->offset;
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
        return xf_confcheck_file(cmd, path, (apr_off_t)s->min);
    default:
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": no generic setter",
                           NULL);
    }
    return apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", s->range, NULL);
}

/* ---- the hand-written setters (setter OWN) ---------------------------- */

static const char *set_auth(cmd_parms *cmd, void *dv, int on)
{
    xf_dir_conf_t *d = dv;

    d->auth = on;
    if (on)
        srv_conf(cmd)->auth_used = 1;
    return NULL;
}

static const char *set_require(cmd_parms *cmd, void *dv, const char *arg)
{
    xf_dir_conf_t *d = dv;
    char *perm = apr_pstrdup(cmd->pool, arg);

    if (!*perm || strchr(perm, ','))
        return "XapiForwardRequirePermission: permission names are "
               "non-empty and contain no comma";
    ap_str_tolower(perm);
    if (!d->perms)
        d->perms = apr_array_make(cmd->pool, 4, sizeof(const char *));
    APR_ARRAY_PUSH(d->perms, const char *) = perm;
    return NULL;
}

static const char *set_xapi_url(cmd_parms *cmd, void *cv, const char *arg)
{
    const char *err = xf_confcheck_xapi_url(cmd, arg, 1);

    if (err)
        return err;
    srv_conf(cmd)->xapi_url = arg;
    return NULL;
}

static const char *set_login_url(cmd_parms *cmd, void *cv, const char *arg)
{
    const char *err;

    /* xapi treats callers on its unix socket as root: a login there
     * succeeds for any password */
    if (!strncasecmp(arg, "unix:", 5))
        return "XapiForwardLoginURL: must be https://host (never a unix "
               "socket: xapi accepts any password there)";
    err = xf_confcheck_xapi_url(cmd, arg, 0);
    if (err)
        return err;
    srv_conf(cmd)->login_url = arg;
    return NULL;
}

/* xapi trusts every caller on its clientcert socket as a client-cert
 * holder: only that socket gives login_with_password("", "") that role */
static const char *set_client_cert_url(cmd_parms *cmd, void *cv,
                                       const char *arg)
{
    const char *err;

    if (strncasecmp(arg, "unix:", 5))
        return "XapiForwardClientCertURL: must be unix:/path, xapi's "
               "clientcert socket (/var/lib/xcp/xapi-clientcert)";
    err = xf_confcheck_xapi_url(cmd, arg, 1);
    if (err)
        return err;
    srv_conf(cmd)->client_cert_url = arg;
    return NULL;
}

static const char *set_cache(cmd_parms *cmd, void *cv, const char *arg)
{
    xf_srv_conf_t *c = srv_conf(cmd);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const char *sep;

    if (err)
        return err;
    c->cache_where = xf_confcheck_where(cmd);
    sep = ap_strchr_c(arg, ':');
    if (sep) {
        c->cache_provider = apr_pstrmemdup(cmd->pool, arg, sep - arg);
        c->cache_args = sep + 1;
    }
    else {
        c->cache_provider = arg;
        c->cache_args = NULL;
    }
    return NULL;
}

/* clang-format off */
const command_rec xf_cmds[] = {
    /* the SET rows of xf_config.h */
    XF_DIR_FIELDS(XF_DIR_CMD)
    XF_SRV_FIELDS(XF_SRV_CMD)
    /* the OWN rows' directives */
    AP_INIT_FLAG("XapiForwardAuth", set_auth, NULL, XF_DIR_CTX,
                 "On: check the caller's XAPI session, pool secret or Basic "
                 "credentials before forwarding (default Off)"),
    AP_INIT_ITERATE("XapiForwardRequirePermission", set_require, NULL,
                    XF_DIR_CTX,
                    "XAPI permissions the session must hold, e.g. "
                    "http/rrd_updates, or xapi: the one xapi checks for the "
                    "request's method and path (default none)"),
    AP_INIT_TAKE1("XapiForwardXapiURL", set_xapi_url, NULL, RSRC_CONF,
                  "where sessions are checked: unix:/var/lib/xcp/xapi "
                  "(default) or https://pool-master"),
    AP_INIT_TAKE1("XapiForwardLoginURL", set_login_url, NULL, RSRC_CONF,
                  "where Basic credentials are checked: https://host "
                  "(default https://localhost)"),
    AP_INIT_TAKE1("XapiForwardClientCertURL", set_client_cert_url, NULL,
                  RSRC_CONF,
                  "where client-certificate holders log in: xapi's clientcert "
                  "socket (default unix:/var/lib/xcp/xapi-clientcert)"),
    AP_INIT_TAKE1("XapiForwardCache", set_cache, NULL, RSRC_CONF,
                  "socache provider[:args] for access decisions (default "
                  "shmcb)"),
    AP_INIT_FLAG("XapiForwardPlugin", xf_plugin_set_on, NULL, ACCESS_CONF,
                 "On: this <Location> is a custom services front door: "
                 "<location>/<name>/... reaches the service <name> (default "
                 "Off)"),
    AP_INIT_TAKE1("XapiForwardPluginDir", xf_plugin_set_dir, NULL, XF_DIR_CTX,
                  "directory of the services' sockets (default "
                  "/var/lib/xcp/plugin)"),
    AP_INIT_TAKE12("XapiForwardPluginWay", xf_plugin_set_way, NULL, XF_DIR_CTX,
                   "[NAME] http|channel: how services (or service NAME) are "
                   "reached (default http)"),
    AP_INIT_TAKE2("XapiForwardPluginHost", xf_plugin_set_host, NULL, XF_DIR_CTX,
                  "NAME URL: service NAME runs on the host at URL: answer "
                  "302 to URL + path + query"),
    AP_INIT_TAKE1("XapiForwardPluginHostMap", xf_plugin_set_host_map, NULL,
                  XF_DIR_CTX,
                  "file of \"NAME URL\" lines, as XapiForwardPluginHost; read "
                  "at start-up and at every graceful restart"),
    {NULL}};
/* clang-format on */
