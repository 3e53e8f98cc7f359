/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_config_set.c - what the directive setters share (the file and URL
 * checks, where a directive was read) and the hand-written setters of
 * the core directives (setter OWN in xf_config.h's lists).
 */
#include "xf_config_set.h"

#include <sys/un.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include "http_core.h"

#include "xf_private.h"

/* longest socket path the kernel takes (sun_path holds the NUL too) */
#define XF_SUN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

/* ---- what the setters share ------------------------------------------ */

xf_srv_conf_t *xf_config_cmd_srv(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config,
                                &xapi_forward_module);
}

const char *xf_config_where(cmd_parms *cmd)
{
    if (!cmd->directive)
        return "(unknown place)";
    return apr_psprintf(cmd->pool, "line %d of %s", cmd->directive->line_num,
                        cmd->directive->filename);
}

const char *xf_config_check_file(cmd_parms *cmd, const char *path,
                                 apr_off_t min_bytes)
{
    apr_finfo_t fi;
    apr_file_t *f;
    apr_status_t st;
    char err[128];

    st = apr_stat(&fi, path, APR_FINFO_TYPE | APR_FINFO_SIZE, cmd->temp_pool);
    if (st == APR_SUCCESS && fi.filetype != APR_REG)
        return apr_psprintf(cmd->pool, "%s: %s is not a regular file",
                            cmd->cmd->name, path);
    if (st == APR_SUCCESS)
        st = apr_file_open(&f, path, APR_FOPEN_READ, 0, cmd->temp_pool);
    if (st != APR_SUCCESS)
        return apr_psprintf(cmd->pool, "%s: cannot read %s: %s", cmd->cmd->name,
                            path, apr_strerror(st, err, sizeof(err)));
    apr_file_close(f);
    if (min_bytes > 0 && (fi.size < min_bytes || fi.size > 65536))
        return apr_psprintf(cmd->pool,
                            "%s: %s holds %" APR_OFF_T_FMT " bytes; it must "
                            "hold %" APR_OFF_T_FMT " to 65536",
                            cmd->cmd->name, path, fi.size, min_bytes);
    return NULL;
}

const char *xf_config_check_url(cmd_parms *cmd, const char *url, int allow_unix)
{
    apr_uri_t u;

    if (allow_unix && !strncasecmp(url, "unix:", 5)) {
        const char *path = url + 5;
        if (*path != '/')
            return apr_psprintf(cmd->pool,
                                "%s: \"%s\": the socket path must be "
                                "absolute (unix:/var/lib/xcp/xapi)",
                                cmd->cmd->name, url);
        if (strlen(path) > XF_SUN_PATH_MAX)
            return apr_psprintf(cmd->pool,
                                "%s: the socket path is %" APR_SIZE_T_FMT
                                " bytes long; sun_path holds at most %d",
                                cmd->cmd->name, strlen(path),
                                (int)XF_SUN_PATH_MAX);
        return NULL;
    }
    if (apr_uri_parse(cmd->temp_pool, url, &u) != APR_SUCCESS || !u.scheme ||
        (strcasecmp(u.scheme, "https") && strcasecmp(u.scheme, "http")) ||
        !u.hostname || !*u.hostname || (u.port_str && !u.port))
        return apr_psprintf(cmd->pool,
                            "%s: \"%s\" is not a URL of the form %s"
                            "https://host[:port]",
                            cmd->cmd->name, url,
                            allow_unix ? "unix:/path or " : "");
    return NULL;
}

/* ---- the hand-written setters (setter OWN) ---------------------------- */

const char *xf_config_set_auth(cmd_parms *cmd, void *dv, int on)
{
    xf_dir_conf_t *d = dv;

    d->auth = on;
    if (on)
        xf_config_cmd_srv(cmd)->auth_used = 1;
    return NULL;
}

const char *xf_config_set_require(cmd_parms *cmd, void *dv, const char *arg)
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

const char *xf_config_set_xapi_url(cmd_parms *cmd, void *cv, const char *arg)
{
    const char *err = xf_config_check_url(cmd, arg, 1);

    if (err)
        return err;
    xf_config_cmd_srv(cmd)->xapi_url = arg;
    return NULL;
}

const char *xf_config_set_login_url(cmd_parms *cmd, void *cv, const char *arg)
{
    const char *err;

    /* xapi treats callers on its unix socket as root: a login there
     * succeeds for any password */
    if (!strncasecmp(arg, "unix:", 5))
        return "XapiForwardLoginURL: must be https://host (never a unix "
               "socket: xapi accepts any password there)";
    err = xf_config_check_url(cmd, arg, 0);
    if (err)
        return err;
    xf_config_cmd_srv(cmd)->login_url = arg;
    return NULL;
}

/* xapi trusts every caller on its clientcert socket as a client-cert
 * holder: only that socket gives login_with_password("", "") that role */
const char *xf_config_set_client_cert_url(cmd_parms *cmd, void *cv,
                                          const char *arg)
{
    const char *err;

    if (strncasecmp(arg, "unix:", 5))
        return "XapiForwardClientCertURL: must be unix:/path, xapi's "
               "clientcert socket (/var/lib/xcp/xapi-clientcert)";
    err = xf_config_check_url(cmd, arg, 1);
    if (err)
        return err;
    xf_config_cmd_srv(cmd)->client_cert_url = arg;
    return NULL;
}

const char *xf_config_set_cache(cmd_parms *cmd, void *cv, const char *arg)
{
    xf_srv_conf_t *c = xf_config_cmd_srv(cmd);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const char *sep;

    if (err)
        return err;
    c->cache_where = xf_config_where(cmd);
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
