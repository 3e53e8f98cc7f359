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
