/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_cache.h - the access decision cache (mod_socache). Its settings are
 * the XapiForwardCache* fields of the server config (xf_config.h).
 */
#ifndef XF_CACHE_H
#define XF_CACHE_H

#include "httpd.h"
#include "http_config.h"
#include "xf_auth.h"

/** pre_config: register the mutex, reset the run-time state.
 *  @return OK or 500 */
int xf_cache_pre_config(apr_pool_t *pconf);

/**
 * check_config: the XapiForwardCache provider is loaded and takes its
 * arguments (logged with the directive's file:line).
 * @return OK or HTTP_INTERNAL_SERVER_ERROR
 */
int xf_cache_check_config(apr_pool_t *ptemp, server_rec *s);

/** post_config: key, provider instance, mutex, from the settings of s (the
 *  main server). @return OK or 500 (logged) */
int xf_cache_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s);

/** child_init: re-attach the mutex. */
void xf_cache_child_init(apr_pool_t *p, server_rec *s);

/** The XF_AUTH_KEY_BYTES key of the cache ids. */
const unsigned char *xf_cache_key(void);

/**
 * The cached decision for id (XF_AUTH_CACHE_ID_LEN hex characters; "" means
 * no caching), or 0 when there is none.
 */
xf_decision_e xf_cache_get(request_rec *r, const char *id);

/** Store a decision for its TTL (negative TTL for XF_DECISION_INVALID). */
void xf_cache_put(request_rec *r, const char *id, xf_decision_e d);

#endif /* XF_CACHE_H */
