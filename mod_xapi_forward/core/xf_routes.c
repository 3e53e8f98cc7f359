/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_routes.c - xapi's HTTP actions (xen-api XF_ROUTES_XAPI_VERSION,
 * ocaml/idl/datamodel.ml http_actions, URIs from
 * ocaml/xapi-consts/constants.ml) and the permission xapi derives from
 * them: "http/" + the name of the action found by method and longest URI
 * prefix (ocaml/xapi/xapi_http.ml add_handler, ocaml/libs/http-lib
 * http_svr.ml and radix_tree.ml). Pure core.
 */
#include "xf_routes.h"

#include <string.h>

/* In datamodel.ml order. The rrd actions are named by constants.ml
 * without a "get_" prefix ("rrd_updates", "vm_rrd", ... and "rrd"). */
static const xf_route_t routes[] = {
    {"GET", "/services", "http/get_services", 0},
    {"POST", "/services", "http/post_services", 0},
    {"PUT", "/services", "http/put_services", 0},
    {"POST", "/remote_db_access", "http/post_remote_db_access", 0},
    {"POST", "/remote_db_access_v2", "http/post_remote_db_access_v2", 0},
    {"GET", "/services/xenops", "http/get_services_xenops", 0},
    {"POST", "/services/xenops", "http/post_services_xenops", 0},
    {"PUT", "/services/xenops", "http/put_services_xenops", 0},
    {"GET", "/services/SM", "http/get_services_sm", 0},
    {"POST", "/services/SM", "http/post_services_sm", 0},
    {"PUT", "/services/SM", "http/put_services_sm", 0},
    {"PUT", "/import", "http/put_import", 0},
    {"PUT", "/import_metadata", "http/put_import_metadata", 0},
    {"PUT", "/import_raw_vdi", "http/put_import_raw_vdi", 0},
    {"GET", "/export", "http/get_export", 0},
    {"GET", "/export_metadata", "http/get_export_metadata", 0},
    {"GET", "/export_raw_vdi", "http/get_export_raw_vdi", 0},
    {"CONNECT", "/console", "http/connect_console", 0},
    {"GET", "/console", "http/connect_console_ws", 0},
    {"GET", "/", "http/get_root", 1},
    {"POST", "/cli", "http/post_cli", 1},
    {"GET", "/host_backup", "http/get_host_backup", 0},
    {"PUT", "/host_restore", "http/put_host_restore", 0},
    {"GET", "/host_logs_download", "http/get_host_logs_download", 0},
    {"PUT", "/pool_patch_upload", "http/put_pool_patch_upload", 0},
    {"GET", "/vncsnapshot", "http/get_vncsnapshot", 0},
    {"GET", "/pool/xmldbdump", "http/get_pool_xml_db_sync", 0},
    {"PUT", "/pool/xmldbdump", "http/put_pool_xml_db_sync", 0},
    {"GET", "/sync_config_files", "http/get_config_sync", 0},
    {"GET", "/system-status", "http/get_system_status", 0},
    {"GET", "/vm_rrd", "http/vm_rrd", 0},
    {"GET", "/vm_rrds", "http/get_vm_rrds", 0},
    {"GET", "/host_rrd", "http/host_rrd", 0},
    {"GET", "/host_rrds", "http/get_host_rrds", 0},
    {"GET", "/sr_rrd", "http/sr_rrd", 0},
    {"GET", "/rrd_updates", "http/rrd_updates", 0},
    {"PUT", "/rrd", "http/rrd", 0},
    {"GET", "/blob", "http/get_blob", 1},
    {"PUT", "/blob", "http/put_blob", 0},
    {"PUT", "/messages", "http/put_messages", 0},
    {"CONNECT", "/remotecmd", "http/connect_remotecmd", 0},
    {"GET", "/wlb_report", "http/get_wlb_report", 0},
    {"GET", "/wlb_diagnostics", "http/get_wlb_diagnostics", 0},
    {"GET", "/audit_log", "http/get_audit_log", 0},
    {"POST", "/", "http/post_root", 1},
    {"POST", "/RPC2", "http/post_RPC2", 1},
    {"POST", "/json", "http/post_json", 1},
    {"OPTIONS", "/", "http/post_root_options", 1},
    {"OPTIONS", "/json", "http/post_json_options", 1},
    {"POST", "/jsonrpc", "http/post_jsonrpc", 1},
    {"OPTIONS", "/jsonrpc", "http/post_jsonrpc_options", 1},
    {"GET", "/update/", "http/get_pool_update_download", 1},
    {"GET", "/repository", "http/get_repository", 0},
    {"GET", "/repository/enabled", "http/get_enabled_repository", 0},
    {"GET", "/host_updates", "http/get_host_updates", 0},
    {"GET", "/updates", "http/get_updates", 0},
    {"PUT", "/bundle", "http/put_bundle", 0},
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

const xf_route_t *xf_routes_lookup(const char *method, const char *path)
{
    const xf_route_t *best = NULL;
    apr_size_t i, n, best_len = 0;

    if (!method || !path)
        return NULL;
    for (i = 0; i < NROUTES; i++) {
        if (strcmp(routes[i].method, method))
            continue;
        n = strlen(routes[i].prefix);
        if (strncmp(path, routes[i].prefix, n))
            continue;
        if (!best || n > best_len) {
            best = &routes[i];
            best_len = n;
        }
    }
    return best;
}

const char *xf_routes_permission(const char *method, const char *path)
{
    const xf_route_t *r = xf_routes_lookup(method, path);

    return r ? r->permission : NULL;
}

const xf_route_t *xf_routes_table(apr_size_t *pn)
{
    *pn = NROUTES;
    return routes;
}
