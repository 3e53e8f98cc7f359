/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_svc.h - custom services (/services/plugin/<name>): which service a
 * request path names, whether that name is acceptable as a socket name, and
 * the "NAME URL" map of services running on other hosts. Pure core.
 */
#ifndef XF_SVC_H
#define XF_SVC_H

#include <apr_pools.h>
#include <apr_tables.h>

/** The kernel's sun_path size: the socket path and its NUL must fit. */
#define XF_SVC_SUN_PATH 108

/**
 * Is name[0..len) a service name: one segment of [A-Za-z0-9._-], not "."
 * or "..", short enough that "<dir>/<name>" fits sun_path?
 * @param name the candidate (need not be NUL-terminated)
 * @param len its length
 * @param dirlen length of the socket directory (without a trailing '/')
 * @return NULL if acceptable, else why not (a static string)
 */
const char *xf_svc_name_check(const char *name, apr_size_t len,
                              apr_size_t dirlen);

/**
 * Find the service named by a request path under a location prefix:
 * "/services/plugin/hello/x" under "/services/plugin/" names "hello".
 * @param pname out: the name (pool copy), valid only on APR_SUCCESS
 * @param preason out: why the path names no acceptable service
 * @param path the (still percent-encoded) request path
 * @param prefix the location prefix, with or without a trailing '/'
 * @param dirlen length of the socket directory
 * @return APR_SUCCESS, or APR_EINVAL with *preason set
 */
apr_status_t xf_svc_name_from_path(const char **pname, const char **preason,
                                   const char *path, const char *prefix,
                                   apr_size_t dirlen, apr_pool_t *p);

/**
 * Check the URL a service's requests are redirected to: http:// or
 * https:// with a host name, no query or fragment. @return NULL if good,
 * else why not (a static string)
 */
const char *xf_svc_url_check(const char *url);

/**
 * Parse a service map: lines "NAME URL", '#' comments and blank lines
 * ignored. Entries are added to map (name -> URL without a trailing '/').
 * @param pline out: the number of the bad line (1-based) on failure
 * @param preason out: what is wrong with it
 * @param text the file's contents, NUL-terminated
 * @return APR_SUCCESS or APR_EINVAL
 */
apr_status_t xf_svc_parse_map(int *pline, const char **preason,
                              apr_table_t *map, const char *text,
                              apr_pool_t *p);

#endif /* XF_SVC_H */
