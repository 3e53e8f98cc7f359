/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_config.c - the XapiForward* directives: create/merge of the
 * per-directory config, setters that validate, and accessors that apply the
 * defaults from one table (so merge can tell "unset" from "default").
 */
#include "xf_config.h"

#include <apr_strings.h>

#include "http_core.h"

#include "xf_confcheck.h"
#include "xf_plugin.h"
#include "xf_private.h"

#define XF_MERGE(add, base, field)                                             \
    ((add)->field == XF_UNSET ? (base)->field : (add)->field)
#define XF_MERGE_PTR(add, base, field)                                         \
    ((add)->field ? (add)->field : (base)->field)
/* tables: the inner entries win over the outer ones of the same key */
#define XF_MERGE_TABLE(p, add, base, field)                                    \
    (!(add)->field    ? (base)->field                                          \
     : !(base)->field ? (add)->field                                           \
                      : apr_table_overlay((p), (base)->field, (add)->field))

static const xf_dir_conf_t defconf = {
    XF_PATHKEY_BOTH,          /* path_keys */
    XF_ENVELOPE_DEFAULT_MAX,  /* max_envelope */
    1,                        /* force_close */
    HTTP_SERVICE_UNAVAILABLE, /* missing_status */
    1,                        /* traceparent_top */
    XF_MODE_AUTO,             /* mode */
    apr_time_from_sec(1),     /* reply_timeout */
    1,                        /* stunnel_proxy */
    0,                        /* auth */
    "xapi",                   /* realm */
    NULL,                     /* perms */
    0,                        /* forward_creds */
    XF_RELAY_HTTP,            /* relay */
    XF_UNSET,                 /* tunnel_timeout: the worker's */
    apr_time_from_sec(3600),  /* control_life */
    0,                        /* plugin */
    NULL,                     /* plugin_prefix */
    "/var/lib/xcp/plugin",    /* plugin_dir */
    XF_PLUGIN_HTTP,           /* plugin_way */
    NULL,                     /* plugin_ways */
    NULL,                     /* plugin_hosts */
    HTTP_FORBIDDEN,           /* plugin_nosession */
};

static const xf_srv_conf_t defsrv = {
    "unix:/var/lib/xcp/xapi", /* xapi_url */
    "https://localhost",      /* login_url */
    NULL,                     /* ca_file */
    1,                        /* verify */
    apr_time_from_sec(5),     /* xapi_timeout */
    NULL,                     /* pool_secret_file */
    0,                        /* auth_used */
    "shmcb",                  /* cache_provider */
    NULL,                     /* cache_args */
    NULL,                     /* cache_where */
    apr_time_from_sec(60),    /* cache_ttl */
    apr_time_from_sec(10),    /* cache_neg_ttl */
    NULL,                     /* cache_key_file */
};

void *xf_config_dir_create(apr_pool_t *p, char *dir)
{
    xf_dir_conf_t *d = apr_pcalloc(p, sizeof(*d));

    d->path_keys = XF_UNSET;
    d->max_envelope = XF_UNSET;
    d->force_close = XF_UNSET;
    d->missing_status = XF_UNSET;
    d->traceparent_top = XF_UNSET;
    d->mode = XF_UNSET;
    d->reply_timeout = XF_UNSET;
    d->stunnel_proxy = XF_UNSET;
    d->auth = XF_UNSET;
    d->realm = NULL;
    d->perms = NULL;
    d->forward_creds = XF_UNSET;
    d->relay = XF_UNSET;
    d->tunnel_timeout = XF_UNSET;
    d->control_life = XF_UNSET;
    d->plugin = XF_UNSET;
    d->plugin_prefix = NULL;
    d->plugin_dir = NULL;
    d->plugin_way = XF_UNSET;
    d->plugin_ways = NULL;
    d->plugin_hosts = NULL;
    d->plugin_nosession = XF_UNSET;
    return d;
}

void *xf_config_dir_merge(apr_pool_t *p, void *basev, void *addv)
{
    const xf_dir_conf_t *base = basev, *add = addv;
    xf_dir_conf_t *d = apr_pcalloc(p, sizeof(*d));

    d->path_keys = XF_MERGE(add, base, path_keys);
    d->max_envelope = XF_MERGE(add, base, max_envelope);
    d->force_close = XF_MERGE(add, base, force_close);
    d->missing_status = XF_MERGE(add, base, missing_status);
    d->traceparent_top = XF_MERGE(add, base, traceparent_top);
    d->mode = XF_MERGE(add, base, mode);
    d->reply_timeout = XF_MERGE(add, base, reply_timeout);
    d->stunnel_proxy = XF_MERGE(add, base, stunnel_proxy);
    d->auth = XF_MERGE(add, base, auth);
    d->realm = XF_MERGE_PTR(add, base, realm);
    d->perms = XF_MERGE_PTR(add, base, perms);
    d->forward_creds = XF_MERGE(add, base, forward_creds);
    d->relay = XF_MERGE(add, base, relay);
    d->tunnel_timeout = XF_MERGE(add, base, tunnel_timeout);
    d->control_life = XF_MERGE(add, base, control_life);
    d->plugin = XF_MERGE(add, base, plugin);
    d->plugin_prefix = XF_MERGE_PTR(add, base, plugin_prefix);
    d->plugin_dir = XF_MERGE_PTR(add, base, plugin_dir);
    d->plugin_way = XF_MERGE(add, base, plugin_way);
    d->plugin_ways = XF_MERGE_TABLE(p, add, base, plugin_ways);
    d->plugin_hosts = XF_MERGE_TABLE(p, add, base, plugin_hosts);
    d->plugin_nosession = XF_MERGE(add, base, plugin_nosession);
    return d;
}

void *xf_config_srv_create(apr_pool_t *p, server_rec *s)
{
    xf_srv_conf_t *c = apr_pcalloc(p, sizeof(*c));

    c->xapi_url = NULL;
    c->login_url = NULL;
    c->ca_file = NULL;
    c->verify = XF_UNSET;
    c->xapi_timeout = XF_UNSET;
    c->pool_secret_file = NULL;
    c->auth_used = XF_UNSET;
    c->cache_provider = NULL;
    c->cache_args = NULL;
    c->cache_where = NULL;
    c->cache_ttl = XF_UNSET;
    c->cache_neg_ttl = XF_UNSET;
    c->cache_key_file = NULL;
    return c;
}

void *xf_config_srv_merge(apr_pool_t *p, void *basev, void *addv)
{
    const xf_srv_conf_t *base = basev, *add = addv;
    xf_srv_conf_t *c = apr_pcalloc(p, sizeof(*c));

    c->xapi_url = XF_MERGE_PTR(add, base, xapi_url);
    c->login_url = XF_MERGE_PTR(add, base, login_url);
    c->ca_file = XF_MERGE_PTR(add, base, ca_file);
    c->verify = XF_MERGE(add, base, verify);
    c->xapi_timeout = XF_MERGE(add, base, xapi_timeout);
    c->pool_secret_file = XF_MERGE_PTR(add, base, pool_secret_file);
    c->auth_used = XF_MERGE(add, base, auth_used);
    /* main server only: set in base, inherited */
    c->cache_provider = XF_MERGE_PTR(add, base, cache_provider);
    c->cache_args = XF_MERGE_PTR(add, base, cache_args);
    c->cache_where = XF_MERGE_PTR(add, base, cache_where);
    c->cache_ttl = XF_MERGE(add, base, cache_ttl);
    c->cache_neg_ttl = XF_MERGE(add, base, cache_neg_ttl);
    c->cache_key_file = XF_MERGE_PTR(add, base, cache_key_file);
    return c;
}

const xf_srv_conf_t *xf_config_srv_get(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &xapi_forward_module);
}

const xf_dir_conf_t *xf_config_dir_get(const request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &xapi_forward_module);
}

#define XF_ACCESSOR(type, name, field)                                         \
    type xf_dir_##name(const xf_dir_conf_t *d)                                 \
    {                                                                          \
        return (type)((d && d->field != XF_UNSET) ? d->field : defconf.field); \
    }

XF_ACCESSOR(xf_pathkey_e, path_keys, path_keys)
XF_ACCESSOR(apr_size_t, max_envelope, max_envelope)
XF_ACCESSOR(int, force_close, force_close)
XF_ACCESSOR(int, missing_status, missing_status)
XF_ACCESSOR(int, traceparent_top, traceparent_top)
XF_ACCESSOR(xf_mode_e, mode, mode)
XF_ACCESSOR(apr_interval_time_t, reply_timeout, reply_timeout)
XF_ACCESSOR(int, stunnel_proxy, stunnel_proxy)
XF_ACCESSOR(int, auth, auth)
XF_ACCESSOR(int, forward_creds, forward_creds)
XF_ACCESSOR(xf_relay_e, relay, relay)
XF_ACCESSOR(apr_interval_time_t, tunnel_timeout, tunnel_timeout)
XF_ACCESSOR(apr_interval_time_t, control_life, control_life)

XF_ACCESSOR(int, plugin, plugin)
XF_ACCESSOR(int, plugin_nosession, plugin_nosession)

const char *xf_dir_plugin_dir(const xf_dir_conf_t *d)
{
    return d && d->plugin_dir ? d->plugin_dir : defconf.plugin_dir;
}

xf_plugin_way_e xf_dir_plugin_way(const xf_dir_conf_t *d, const char *name)
{
    const char *w = d && d->plugin_ways && name
                        ? apr_table_get(d->plugin_ways, name)
                        : NULL;

    if (w)
        return strcmp(w, "channel") ? XF_PLUGIN_HTTP : XF_PLUGIN_CHANNEL;
    if (d && d->plugin_way != XF_UNSET)
        return (xf_plugin_way_e)d->plugin_way;
    return (xf_plugin_way_e)defconf.plugin_way;
}

const char *xf_dir_realm(const xf_dir_conf_t *d)
{
    return d && d->realm ? d->realm : defconf.realm;
}

/* server accessors: the field if set, else its default */
#define XF_SRV_PTR_ACCESSOR(type, field)                                       \
    type xf_srv_##field(const xf_srv_conf_t *c)                                \
    {                                                                          \
        return c && c->field ? c->field : defsrv.field;                        \
    }
#define XF_SRV_ACCESSOR(type, field)                                           \
    type xf_srv_##field(const xf_srv_conf_t *c)                                \
    {                                                                          \
        return c && c->field != XF_UNSET ? c->field : defsrv.field;            \
    }

XF_SRV_PTR_ACCESSOR(const char *, xapi_url)
XF_SRV_PTR_ACCESSOR(const char *, login_url)
XF_SRV_ACCESSOR(int, verify)
XF_SRV_ACCESSOR(apr_interval_time_t, xapi_timeout)
XF_SRV_PTR_ACCESSOR(const char *, cache_provider)
XF_SRV_ACCESSOR(apr_interval_time_t, cache_ttl)
XF_SRV_ACCESSOR(apr_interval_time_t, cache_neg_ttl)

int xf_config_auth_used(const server_rec *s)
{
    for (; s; s = s->next) {
        const xf_srv_conf_t *c = xf_config_srv_get(s);
        if (c && c->auth_used == 1)
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

static const char *set_path_key(cmd_parms *cmd, void *dv, const char *arg)
{
    xf_dir_conf_t *d = dv;

    if (!strcasecmp(arg, "uri"))
        d->path_keys = XF_PATHKEY_URI;
    else if (!strcasecmp(arg, "path"))
        d->path_keys = XF_PATHKEY_PATH;
    else if (!strcasecmp(arg, "both"))
        d->path_keys = XF_PATHKEY_BOTH;
    else
        return "XapiForwardPathKey: must be uri, path or both";
    return NULL;
}

static const char *set_max_envelope(cmd_parms *cmd, void *dv, const char *arg)
{
    xf_dir_conf_t *d = dv;
    apr_off_t n;

    if (apr_strtoff(&n, arg, NULL, 10) != APR_SUCCESS || n < 256 || n > 65536)
        return "XapiForwardMaxEnvelope: must be a number of bytes from 256 "
               "to 65536";
    d->max_envelope = n;
    return NULL;
}

static const char *set_missing_status(cmd_parms *cmd, void *dv, const char *arg)
{
    xf_dir_conf_t *d = dv;
    int s = atoi(arg);

    if (s != HTTP_SERVICE_UNAVAILABLE && s != HTTP_NOT_FOUND)
        return "XapiForwardMissingStatus: must be 503 or 404";
    d->missing_status = s;
    return NULL;
}

static const char *set_mode(cmd_parms *cmd, void *dv, const char *arg)
{
    xf_dir_conf_t *d = dv;

    if (!strcasecmp(arg, "auto"))
        d->mode = XF_MODE_AUTO;
    else if (!strcasecmp(arg, "handoff"))
        d->mode = XF_MODE_HANDOFF;
    else if (!strcasecmp(arg, "relay"))
        d->mode = XF_MODE_RELAY;
    else
        return "XapiForwardMode: must be auto, handoff or relay";
    return NULL;
}

static const char *set_reply_timeout(cmd_parms *cmd, void *dv, const char *arg)
{
    xf_dir_conf_t *d = dv;
    apr_interval_time_t t;

    if (ap_timeout_parameter_parse(arg, &t, "s") != APR_SUCCESS || t < 0 ||
        t > apr_time_from_sec(3600))
        return "XapiForwardReplyTimeout: must be a time from 0 to 3600 "
               "seconds (e.g. 1, 250ms)";
    d->reply_timeout = t;
    return NULL;
}

static const char *set_relay(cmd_parms *cmd, void *dv, const char *arg)
{
    xf_dir_conf_t *d = dv;

    if (!strcasecmp(arg, "http"))
        d->relay = XF_RELAY_HTTP;
    else if (!strcasecmp(arg, "tunnel"))
        d->relay = XF_RELAY_TUNNEL;
    else
        return "XapiForwardRelay: must be http or tunnel";
    return NULL;
}

/* a time from 0 to max seconds into *pt, or an error naming the directive */
static const char *parse_time(apr_interval_time_t *pt, cmd_parms *cmd,
                              const char *arg, int max)
{
    if (ap_timeout_parameter_parse(arg, pt, "s") != APR_SUCCESS || *pt < 0 ||
        *pt > apr_time_from_sec(max))
        return apr_psprintf(cmd->pool,
                            "%s: must be a time from 0 to %d "
                            "seconds (e.g. 30, 250ms)",
                            cmd->cmd->name, max);
    return NULL;
}

static const char *set_tunnel_timeout(cmd_parms *cmd, void *dv, const char *arg)
{
    xf_dir_conf_t *d = dv;

    return parse_time(&d->tunnel_timeout, cmd, arg, 86400);
}

static const char *set_control_life(cmd_parms *cmd, void *dv, const char *arg)
{
    xf_dir_conf_t *d = dv;

    return parse_time(&d->control_life, cmd, arg, 7 * 86400);
}

static const char *set_auth(cmd_parms *cmd, void *dv, int on)
{
    xf_dir_conf_t *d = dv;

    d->auth = on;
    if (on) {
        xf_srv_conf_t *c = ap_get_module_config(cmd->server->module_config,
                                                &xapi_forward_module);
        c->auth_used = 1;
    }
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
    xf_srv_conf_t *c =
        ap_get_module_config(cmd->server->module_config, &xapi_forward_module);

    const char *err = xf_confcheck_xapi_url(cmd, arg, 1);

    if (err)
        return err;
    c->xapi_url = arg;
    return NULL;
}

static const char *set_login_url(cmd_parms *cmd, void *cv, const char *arg)
{
    xf_srv_conf_t *c =
        ap_get_module_config(cmd->server->module_config, &xapi_forward_module);

    /* xapi treats callers on its unix socket as root: a login there
     * succeeds for any password */
    if (!strncasecmp(arg, "unix:", 5))
        return "XapiForwardLoginURL: must be https://host (never a unix "
               "socket: xapi accepts any password there)";
    if (xf_confcheck_xapi_url(cmd, arg, 0))
        return xf_confcheck_xapi_url(cmd, arg, 0);
    c->login_url = arg;
    return NULL;
}

static const char *set_srv_str(cmd_parms *cmd, void *cv, const char *arg)
{
    xf_srv_conf_t *c =
        ap_get_module_config(cmd->server->module_config, &xapi_forward_module);
    const char **field = (const char **)((char *)c + (apr_size_t)cmd->info);

    *field = ap_server_root_relative(cmd->pool, arg);
    if (!*field)
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": bad path ", arg, NULL);
    /* the CA file and the pool secret: readable, not empty */
    return xf_confcheck_file(cmd, *field, 1);
}

static const char *set_verify(cmd_parms *cmd, void *cv, int on)
{
    xf_srv_conf_t *c =
        ap_get_module_config(cmd->server->module_config, &xapi_forward_module);
    c->verify = on;
    return NULL;
}

static const char *set_xapi_timeout(cmd_parms *cmd, void *cv, const char *arg)
{
    xf_srv_conf_t *c =
        ap_get_module_config(cmd->server->module_config, &xapi_forward_module);
    apr_interval_time_t t;

    if (ap_timeout_parameter_parse(arg, &t, "s") != APR_SUCCESS ||
        t < apr_time_from_msec(10) || t > apr_time_from_sec(300))
        return "XapiForwardXapiTimeout: must be a time from 10ms to 300 "
               "seconds";
    c->xapi_timeout = t;
    return NULL;
}

static const char *set_cache(cmd_parms *cmd, void *cv, const char *arg)
{
    xf_srv_conf_t *c =
        ap_get_module_config(cmd->server->module_config, &xapi_forward_module);
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

/* XapiForwardCacheTTL and XapiForwardCacheNegativeTTL (cmd->info: the
 * field's offset) */
static const char *set_cache_ttl(cmd_parms *cmd, void *cv, const char *arg)
{
    xf_srv_conf_t *c =
        ap_get_module_config(cmd->server->module_config, &xapi_forward_module);
    apr_interval_time_t *pt =
        (apr_interval_time_t *)((char *)c + (apr_size_t)cmd->info);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_interval_time_t t;

    if (err)
        return err;
    if (ap_timeout_parameter_parse(arg, &t, "s") != APR_SUCCESS || t < 0 ||
        t > apr_time_from_sec(86400))
        return apr_pstrcat(cmd->pool, cmd->cmd->name,
                           ": must be a time from 0 to 86400 seconds", NULL);
    *pt = t;
    return NULL;
}

static const char *set_cache_key_file(cmd_parms *cmd, void *cv, const char *arg)
{
    xf_srv_conf_t *c =
        ap_get_module_config(cmd->server->module_config, &xapi_forward_module);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err)
        return err;
    c->cache_key_file = ap_server_root_relative(cmd->pool, arg);
    if (!c->cache_key_file)
        return "XapiForwardCacheKeyFile: bad path";
    return xf_confcheck_file(cmd, c->cache_key_file, 16);
}

#define XF_DIR_CTX (RSRC_CONF | ACCESS_CONF)

const command_rec xf_cmds[] = {
    AP_INIT_TAKE1("XapiForwardPathKey", set_path_key, NULL, XF_DIR_CTX,
                  "uri|path|both: the envelope key(s) carrying the request "
                  "path (default both)"),
    AP_INIT_TAKE1("XapiForwardMaxEnvelope", set_max_envelope, NULL, XF_DIR_CTX,
                  "largest envelope sent to a daemon, in bytes (default "
                  "16384)"),
    AP_INIT_FLAG("XapiForwardForceClose", ap_set_flag_slot,
                 (void *)APR_OFFSETOF(xf_dir_conf_t, force_close), XF_DIR_CTX,
                 "On: the envelope always says \"close\":true (default On)"),
    AP_INIT_TAKE1("XapiForwardMissingStatus", set_missing_status, NULL,
                  XF_DIR_CTX,
                  "503|404: status when the daemon's socket is missing or "
                  "refuses (default 503)"),
    AP_INIT_FLAG("XapiForwardTopTraceparent", ap_set_flag_slot,
                 (void *)APR_OFFSETOF(xf_dir_conf_t, traceparent_top),
                 XF_DIR_CTX,
                 "On: also send a traceparent header as a top-level field "
                 "(default On)"),
    AP_INIT_TAKE1("XapiForwardMode", set_mode, NULL, XF_DIR_CTX,
                  "auto|handoff|relay: how requests reach the daemon "
                  "(default auto)"),
    AP_INIT_TAKE1("XapiForwardReplyTimeout", set_reply_timeout, NULL,
                  XF_DIR_CTX,
                  "how long to wait for the daemon's answer on its control "
                  "socket after a hand-off (default 1s, 0 = do not wait)"),
    AP_INIT_TAKE1("XapiForwardRelay", set_relay, NULL, XF_DIR_CTX,
                  "http|tunnel: in relay mode, parse the daemon's HTTP "
                  "response, or pass raw bytes both ways (default http)"),
    AP_INIT_TAKE1("XapiForwardTunnelTimeout", set_tunnel_timeout, NULL,
                  XF_DIR_CTX,
                  "idle limit of a tunnel (default: the worker's timeout=, "
                  "ProxyTimeout, Timeout)"),
    AP_INIT_TAKE1("XapiForwardControlLifetime", set_control_life, NULL,
                  XF_DIR_CTX,
                  "how long a daemon may keep its control socket open after "
                  "a hand-off or tunnel, watched without a worker (default "
                  "1h, 0 = close at once)"),
    AP_INIT_FLAG("XapiForwardStunnelProxy", ap_set_flag_slot,
                 (void *)APR_OFFSETOF(xf_dir_conf_t, stunnel_proxy), XF_DIR_CTX,
                 "On: for TLS clients add the STUNNEL_PROXY entry xapi's "
                 "stunnel would have produced (default On)"),
    AP_INIT_FLAG("XapiForwardAuth", set_auth, NULL, XF_DIR_CTX,
                 "On: check the caller's XAPI session, pool secret or Basic "
                 "credentials before forwarding (default Off)"),
    AP_INIT_TAKE1("XapiForwardAuthRealm", ap_set_string_slot,
                  (void *)APR_OFFSETOF(xf_dir_conf_t, realm), XF_DIR_CTX,
                  "realm named in WWW-Authenticate (default xapi)"),
    AP_INIT_ITERATE("XapiForwardRequirePermission", set_require, NULL,
                    XF_DIR_CTX,
                    "XAPI permissions the session must hold, e.g. "
                    "http/rrd_updates, or xapi: the one xapi checks for the "
                    "request's method and path (default none)"),
    AP_INIT_FLAG("XapiForwardForwardCredentials", ap_set_flag_slot,
                 (void *)APR_OFFSETOF(xf_dir_conf_t, forward_creds), XF_DIR_CTX,
                 "On: forward the session_id and Authorization used for the "
                 "check to the daemon (default Off; pool secrets never)"),
    AP_INIT_TAKE1("XapiForwardXapiURL", set_xapi_url, NULL, RSRC_CONF,
                  "where sessions are checked: unix:/var/lib/xcp/xapi "
                  "(default) or https://pool-master"),
    AP_INIT_TAKE1("XapiForwardLoginURL", set_login_url, NULL, RSRC_CONF,
                  "where Basic credentials are checked: https://host "
                  "(default https://localhost)"),
    AP_INIT_TAKE1("XapiForwardXapiCAFile", set_srv_str,
                  (void *)APR_OFFSETOF(xf_srv_conf_t, ca_file), RSRC_CONF,
                  "PEM CA file to verify XAPI's certificate (default: the "
                  "system's)"),
    AP_INIT_FLAG("XapiForwardXapiVerify", set_verify, NULL, RSRC_CONF,
                 "On: verify XAPI's certificate and name (default On)"),
    AP_INIT_TAKE1("XapiForwardXapiTimeout", set_xapi_timeout, NULL, RSRC_CONF,
                  "time limit of one credential check with XAPI, all its "
                  "calls together (default 5s)"),
    AP_INIT_TAKE1("XapiForwardPoolSecretFile", set_srv_str,
                  (void *)APR_OFFSETOF(xf_srv_conf_t, pool_secret_file),
                  RSRC_CONF,
                  "file holding the pool secret (xapi: /etc/xensource/ptoken);"
                  " unset: pool_secret is not accepted"),
    AP_INIT_TAKE1("XapiForwardCache", set_cache, NULL, RSRC_CONF,
                  "socache provider[:args] for access decisions (default "
                  "shmcb)"),
    AP_INIT_TAKE1("XapiForwardCacheTTL", set_cache_ttl,
                  (void *)APR_OFFSETOF(xf_srv_conf_t, cache_ttl), RSRC_CONF,
                  "seconds an allow/deny decision is cached (default 60)"),
    AP_INIT_TAKE1("XapiForwardCacheNegativeTTL", set_cache_ttl,
                  (void *)APR_OFFSETOF(xf_srv_conf_t, cache_neg_ttl), RSRC_CONF,
                  "seconds an invalid session or failed login is cached "
                  "(default 10)"),
    AP_INIT_TAKE1("XapiForwardCacheKeyFile", set_cache_key_file, NULL,
                  RSRC_CONF,
                  "file whose contents key the cache ids (share it between "
                  "front ends that share a cache; default: random)"),
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
    AP_INIT_TAKE1("XapiForwardPluginNoSessionStatus", xf_plugin_set_nosession,
                  NULL, XF_DIR_CTX,
                  "403|401: status without a valid session in a services "
                  "location (default 403; xapi answers 401)"),
    {NULL}};
