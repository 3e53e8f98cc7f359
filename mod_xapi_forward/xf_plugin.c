/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_plugin.c - custom services: "<Location /services/plugin/>
 * XapiForwardPlugin On" turns /services/plugin/<name>/... into a request
 * to the service listening on <XapiForwardPluginDir>/<name>. The statuses
 * are the API's: 403 without a valid session (the access checker turns
 * its 401 into it), 404 for no such service or one not running, 302
 * for a service on another host, 405 for other methods. The request itself
 * goes through mod_proxy: to mod_proxy_http over the socket ("http") or to
 * this module's xapi:// scheme handler ("channel"), so both ways behave
 * exactly as a ProxyPass to them would.
 */
#include "xf_plugin.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_proxy.h"

#include "xf_answer.h"
#include "xf_config.h"
#include "xf_path.h"
#include "xf_private.h"
#include "xf_svc.h"

#define XF_PLUGIN_ALLOW "GET, PUT, POST"

/* ---- directives ------------------------------------------------------ */

const char *xf_plugin_set_on(cmd_parms *cmd, void *dv, int on)
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

const char *xf_plugin_set_dir(cmd_parms *cmd, void *dv, const char *arg)
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

const char *xf_plugin_set_way(cmd_parms *cmd, void *dv, const char *a1,
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

const char *xf_plugin_set_host(cmd_parms *cmd, void *dv, const char *name,
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
const char *xf_plugin_set_host_map(cmd_parms *cmd, void *dv, const char *file)
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

/* ---- hooks -------------------------------------------------------------- */

void xf_plugin_post_config(server_rec *s)
{
    if (!ap_find_linked_module("mod_proxy_http.c"))
        ap_log_error(
            APLOG_MARK, APLOG_DEBUG, 0, s,
            XF_LOGNO(
                0409) "mod_proxy_http is not loaded: custom services reached "
                      "the \"http\" way (XapiForwardPluginWay) will answer "
                      "500");
}

int xf_plugin_header_parser(request_rec *r)
{
    if (!xf_dir_plugin(xf_config_dir_get(r)))
        return DECLINED;
    if (r->method_number == M_PUT || r->method_number == M_POST ||
        (r->method_number == M_GET && !r->header_only))
        /* the service is named by, and gets, the path httpd matched */
        return xf_path_check(r, "custom service") == OK ? DECLINED
                                                        : HTTP_BAD_REQUEST;
    ap_log_rerror(
        APLOG_MARK, APLOG_INFO, 0, r,
        XF_LOGNO(0406) "method %s not allowed for custom services (%s)",
        r->method, XF_PLUGIN_ALLOW);
    apr_table_setn(r->err_headers_out, "Allow", XF_PLUGIN_ALLOW);
    return xf_answer_send(r, HTTP_METHOD_NOT_ALLOWED, "method not allowed");
}

/* The request target as the client sent it (origin form). */
static const char *original_target(request_rec *r)
{
    if (r->unparsed_uri && r->unparsed_uri[0] == '/')
        return r->unparsed_uri;
    return apr_pstrcat(r->pool, r->parsed_uri.path ? r->parsed_uri.path : "/",
                       r->args ? "?" : "", r->args ? r->args : "", NULL);
}

/* Where the socket of service name really is, inside dir; else log and
 * return the status (404). */
static int resolve_socket(const char **psock, request_rec *r, const char *dir,
                          const char *name)
{
    const char *sock = apr_pstrcat(r->pool, dir, "/", name, NULL);
    char *rdir = NULL, *rsock = NULL;
    apr_size_t dl;
    struct stat sb;
    int status = OK;

    if (lstat(sock, &sb) != 0 || !(rdir = realpath(dir, NULL)) ||
        !(rsock = realpath(sock, NULL))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_FROM_OS_ERROR(errno), r,
                      XF_LOGNO(0402) "custom service %s is not installed: "
                                     "no socket %s",
                      name, sock);
        status = HTTP_NOT_FOUND;
        goto cleanup;
    }
    dl = strlen(rdir);
    if (strncmp(rsock, rdir, dl) || (rsock[dl] != '/' && dl > 1)) {
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, 0, r,
            XF_LOGNO(0403) "custom service %s: %s resolves outside %s: refused",
            name, sock, dir);
        status = HTTP_NOT_FOUND;
        goto cleanup;
    }
    if (strlen(rsock) + 1 > XF_SVC_SUN_PATH) {
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, 0, r,
            XF_LOGNO(0410) "custom service %s: socket path %s is longer than "
                           "sun_path",
            name, rsock);
        status = HTTP_NOT_FOUND;
        goto cleanup;
    }
    if (stat(rsock, &sb) != 0 || !S_ISSOCK(sb.st_mode)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      XF_LOGNO(0404) "custom service %s: %s is not a socket",
                      name, sock);
        status = HTTP_NOT_FOUND;
        goto cleanup;
    }
    *psock = apr_pstrdup(r->pool, rsock);
cleanup:
    free(rdir);
    free(rsock);
    return status;
}

int xf_plugin_handler(request_rec *r)
{
    const xf_dir_conf_t *d = xf_config_dir_get(r);
    const char *dir, *name = NULL, *why = NULL, *base, *sock = NULL, *url;
    xf_plugin_way_e way;
    int rc;

    if (!xf_dir_plugin(d) || !d->plugin_prefix ||
        apr_table_get(r->notes, XF_NOTE_PLUGIN))
        return DECLINED;
    dir = xf_dir_plugin_dir(d);
    if (xf_svc_name_from_path(
            &name, &why, r->parsed_uri.path ? r->parsed_uri.path : "",
            d->plugin_prefix, strlen(dir), r->pool) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      XF_LOGNO(0400) "no custom service for %s: %s", r->uri,
                      why);
        return HTTP_NOT_FOUND;
    }
    base = d->plugin_hosts ? apr_table_get(d->plugin_hosts, name) : NULL;
    if (base) {
        /* the query goes along unchanged; it is not logged (session_id) */
        apr_table_setn(r->headers_out, "Location",
                       apr_pstrcat(r->pool, base, original_target(r), NULL));
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      XF_LOGNO(0401) "custom service %s runs on %s: 302", name,
                      base);
        return HTTP_MOVED_TEMPORARILY;
    }
    rc = resolve_socket(&sock, r, dir, name);
    if (rc != OK)
        return rc;

    /* Through mod_proxy, as a ProxyPass would: the socket goes in
     * r->notes "uds_path" (read by mod_proxy_http and by xf_proxy.c when
     * the worker has none), the host name is the service's, so that a
     * worker declared for "http://<name>.plugin/" (enablereuse, timeouts)
     * is found, and none for another socket can be. */
    way = xf_dir_plugin_way_for(d, name);
    if (way == XF_PLUGIN_CHANNEL)
        url = apr_pstrcat(r->pool, XF_SCHEME "://", name, ".plugin/", NULL);
    else
        url =
            apr_pstrcat(r->pool, "http://", name, ".plugin", r->parsed_uri.path,
                        r->args ? "?" : "", r->args ? r->args : "", NULL);
    apr_table_setn(r->notes, "uds_path", sock);
    apr_table_setn(r->notes, XF_NOTE_PLUGIN, name);
    r->filename = apr_pstrcat(r->pool, "proxy:", url, NULL);
    r->proxyreq = PROXYREQ_REVERSE;
    r->handler = "proxy-server";
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  XF_LOGNO(0408) "custom service %s: %s way over %s", name,
                  way == XF_PLUGIN_CHANNEL ? "channel" : "http", sock);
    rc = ap_run_handler(r);
    if (rc == HTTP_SERVICE_UNAVAILABLE && !r->sent_bodyct) {
        /* mod_proxy_http's and xf_proxy.c's answer to a refused connect:
         * the service is installed but not running */
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, 0, r,
            XF_LOGNO(0405) "custom service %s is not running (%s refuses): 404",
            name, sock);
        return HTTP_NOT_FOUND;
    }
    if (rc == DECLINED) {
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, 0, r,
            XF_LOGNO(0411) "custom service %s: no handler for %s (load "
                           "mod_proxy_http)",
            name, url);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return rc;
}
