/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_routes.h - xapi's HTTP actions: which permission xapi checks for a
 * method and path. One table (xf_routes.c), mirroring one xen-api
 * release. Pure core: no httpd headers.
 */
#ifndef XF_ROUTES_H
#define XF_ROUTES_H

#include <apr.h>

/** The xen-api release whose ocaml/idl/datamodel.ml http_actions the
 *  table mirrors. */
#define XF_ROUTES_XAPI_VERSION "v26.17.0"

/** One of xapi's HTTP actions. */
typedef struct xf_route_t {
    const char *method;     /* "GET", "PUT", "POST", "CONNECT", "OPTIONS" */
    const char *prefix;     /* URI prefix, matched byte by byte */
    const char *permission; /* "http/" + the action's name */
    int public;             /* 1: xapi runs the handler without any RBAC
                             * check (public_http_actions_with_no_rbac_check) */
} xf_route_t;

/**
 * The action xapi picks for a request: among the rows of this method, the
 * one with the LONGEST prefix of path, as xapi's Radix_tree.longest_prefix
 * finds it. Prefixes are plain byte prefixes, not path segments: "/rrdx"
 * matches "/rrd", "/vm_rrds" matches "/vm_rrds" (not "/vm_rrd"). Methods
 * compare exactly (HEAD, DELETE, ... have no row: xapi has no handler).
 * @param method  the request method, e.g. "GET"
 * @param path    the decoded request path, without the query
 * @return the row, or NULL when no row of this method prefixes path (or
 *         either argument is NULL)
 */
const xf_route_t *xf_routes_lookup(const char *method, const char *path);

/**
 * The permission xapi checks for method + path: "http/<action>" of
 * xf_routes_lookup()'s row (static storage).
 * @return the permission, or NULL when no row matches
 */
const char *xf_routes_permission(const char *method, const char *path);

/**
 * The whole table, for tests and documentation.
 * @param pn  out: number of rows
 * @return the first row
 */
const xf_route_t *xf_routes_table(apr_size_t *pn);

#endif /* XF_ROUTES_H */
