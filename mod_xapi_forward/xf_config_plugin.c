/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_config_plugin.c - the directives of the custom services
 * (XapiForwardPlugin, PluginDir, PluginWay, PluginHost, PluginHostMap):
 * their setters, which check the section, the names and the URLs.
 */
#include "xf_config_plugin.h"

#include <apr_file_io.h>
#include <apr_strings.h>

#include "http_core.h"

#include "xf_config.h"
#include "xf_svc.h"

const char *xf_config_plugin_on(cmd_parms *cmd, void *dv, int on)
{
    xf_dir_conf_t *d = dv;
    const char *err =
        ap_check_cmd_context(cmd, NOT_IN_DIRECTORY | NOT_IN_FILES);

    if (err)
        return err;
    if (on && (!cmd->path || cmd->path[0] != '/'))
        return "XapiForwardPlugin On belongs in a <Location /prefix/> (not a "
               "regular expression): the path segment after the prefix "
               "names the service";
    d->plugin = on;
    d->plugin_prefix = on ? cmd->path : NULL;
    return NULL;
}

const char *xf_config_plugin_dir(cmd_parms *cmd, void *dv, const char *arg)
{
    xf_dir_conf_t *d = dv;
    apr_size_t n = strlen(arg);

    while (n > 1 && arg[n - 1] == '/')
        n--;
    if (arg[0] != '/' || n + 3 > XF_SVC_SUN_PATH)
        return "XapiForwardPluginDir: must be an absolute path short enough "
               "for socket names in it (sun_path is 108 bytes)";
    d->plugin_dir = apr_pstrmemdup(cmd->pool, arg, n);
    return NULL;
}

static int parse_way(const char *w)
{
    if (!strcasecmp(w, "http"))
        return XF_PLUGIN_HTTP;
    if (!strcasecmp(w, "channel"))
        return XF_PLUGIN_CHANNEL;
    return XF_UNSET;
}

const char *xf_config_plugin_way(cmd_parms *cmd, void *dv, const char *a1,
                                 const char *a2)
{
    xf_dir_conf_t *d = dv;
    int way = parse_way(a2 ? a2 : a1);

    if (way == XF_UNSET)
        return "XapiForwardPluginWay: the way is http or channel";
    if (!a2) {
        d->plugin_way = way;
        return NULL;
    }
    if (xf_svc_name_check(a1, strlen(a1), 0))
        return apr_psprintf(cmd->pool,
                            "XapiForwardPluginWay: bad service name %s: %s", a1,
                            xf_svc_name_check(a1, strlen(a1), 0));
    if (!d->plugin_ways)
        d->plugin_ways = apr_table_make(cmd->pool, 4);
    apr_table_set(d->plugin_ways, a1,
                  way == XF_PLUGIN_CHANNEL ? "channel" : "http");
    return NULL;
}

const char *xf_config_plugin_host(cmd_parms *cmd, void *dv, const char *name,
                                  const char *url)
{
    xf_dir_conf_t *d = dv;
    const char *why = xf_svc_name_check(name, strlen(name), 0);
    char *u;
    apr_size_t n;

    if (!why)
        why = xf_svc_url_check(url);
    if (why)
        return apr_psprintf(cmd->pool, "XapiForwardPluginHost %s %s: %s", name,
                            url, why);
    u = apr_pstrdup(cmd->pool, url);
    n = strlen(u);
    while (n > 0 && u[n - 1] == '/')
        u[--n] = '\0';
    if (!d->plugin_hosts)
        d->plugin_hosts = apr_table_make(cmd->pool, 4);
    apr_table_set(d->plugin_hosts, name, u);
    return NULL;
}

/* Read at every configuration pass, hence at every graceful restart. */
const char *xf_config_plugin_host_map(cmd_parms *cmd, void *dv,
                                      const char *file)
{
    xf_dir_conf_t *d = dv;
    const char *path = ap_server_root_relative(cmd->temp_pool, file);
    const char *why = NULL;
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t n;
    apr_status_t st;
    char *buf;
    int line = 0;

    if (!path)
        return apr_pstrcat(cmd->pool, "XapiForwardPluginHostMap: bad path ",
                           file, NULL);
    st = apr_file_open(&f, path, APR_FOPEN_READ, 0, cmd->temp_pool);
    if (st == APR_SUCCESS) {
        st = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
        if (st == APR_SUCCESS && fi.size > 1024 * 1024)
            st = APR_EINVAL;
        if (st == APR_SUCCESS) {
            n = (apr_size_t)fi.size;
            buf = apr_palloc(cmd->temp_pool, n + 1);
            st = n ? apr_file_read_full(f, buf, n, &n) : APR_SUCCESS;
            buf[n] = '\0';
        }
        apr_file_close(f);
    }
    if (st != APR_SUCCESS) {
        char err[128];

        return apr_psprintf(cmd->pool,
                            "XapiForwardPluginHostMap: cannot read %s (at "
                            "most 1 MiB): %s",
                            path, apr_strerror(st, err, sizeof(err)));
    }
    if (strlen(buf) != n)
        return apr_psprintf(cmd->pool, "XapiForwardPluginHostMap: %s: NUL byte",
                            path);
    if (!d->plugin_hosts)
        d->plugin_hosts = apr_table_make(cmd->pool, 8);
    if (xf_svc_parse_map(&line, &why, d->plugin_hosts, buf, cmd->pool) !=
        APR_SUCCESS)
        return apr_psprintf(cmd->pool, "XapiForwardPluginHostMap: %s:%d: %s",
                            path, line, why);
    return NULL;
}
