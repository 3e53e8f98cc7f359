/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_config.c - the XapiForward* directives: create/merge of the
 * per-directory config, setters that validate, and accessors that apply the
 * defaults from one table (so merge can tell "unset" from "default").
 */
#include "xf_config.h"

#include <apr_strings.h>

#include "http_core.h"

#include "xf_private.h"

#define XF_MERGE(add, base, field)                                            \
    ((add)->field == XF_UNSET ? (base)->field : (add)->field)

static const xf_dir_conf_t defconf = {
    XF_PATHKEY_BOTH,          /* path_keys */
    XF_ENVELOPE_DEFAULT_MAX,  /* max_envelope */
    1,                        /* force_close */
    HTTP_SERVICE_UNAVAILABLE, /* missing_status */
    1,                        /* traceparent_top */
    XF_MODE_AUTO,             /* mode */
    apr_time_from_sec(1),     /* reply_timeout */
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
    return d;
}

const xf_dir_conf_t *xf_config_dir_get(const request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &xapi_forward_module);
}

#define XF_ACCESSOR(type, name, field)                                        \
    type xf_dir_##name(const xf_dir_conf_t *d)                                \
    {                                                                         \
        return (type)((d && d->field != XF_UNSET) ? d->field                  \
                                                  : defconf.field);           \
    }

XF_ACCESSOR(xf_pathkey_e, path_keys, path_keys)
XF_ACCESSOR(apr_size_t, max_envelope, max_envelope)
XF_ACCESSOR(int, force_close, force_close)
XF_ACCESSOR(int, missing_status, missing_status)
XF_ACCESSOR(int, traceparent_top, traceparent_top)
XF_ACCESSOR(xf_mode_e, mode, mode)
XF_ACCESSOR(apr_interval_time_t, reply_timeout, reply_timeout)

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

static const char *set_max_envelope(cmd_parms *cmd, void *dv,
                                    const char *arg)
{
    xf_dir_conf_t *d = dv;
    apr_off_t n;

    if (apr_strtoff(&n, arg, NULL, 10) != APR_SUCCESS || n < 256
        || n > 1048576)
        return "XapiForwardMaxEnvelope: must be a number of bytes from 256 "
               "to 1048576";
    d->max_envelope = n;
    return NULL;
}

static const char *set_missing_status(cmd_parms *cmd, void *dv,
                                      const char *arg)
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

static const char *set_reply_timeout(cmd_parms *cmd, void *dv,
                                     const char *arg)
{
    xf_dir_conf_t *d = dv;
    apr_interval_time_t t;

    if (ap_timeout_parameter_parse(arg, &t, "s") != APR_SUCCESS || t < 0
        || t > apr_time_from_sec(3600))
        return "XapiForwardReplyTimeout: must be a time from 0 to 3600 "
               "seconds (e.g. 1, 250ms)";
    d->reply_timeout = t;
    return NULL;
}

#define XF_DIR_CTX (RSRC_CONF | ACCESS_CONF)

const command_rec xf_cmds[] = {
    AP_INIT_TAKE1("XapiForwardPathKey", set_path_key, NULL, XF_DIR_CTX,
                  "uri|path|both: the envelope key(s) carrying the request "
                  "path (default both)"),
    AP_INIT_TAKE1("XapiForwardMaxEnvelope", set_max_envelope, NULL,
                  XF_DIR_CTX,
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
    {NULL}};
