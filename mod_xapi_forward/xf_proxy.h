/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_proxy.h - the mod_proxy scheme: canon and scheme handlers for
 * "unix:/path|xapi://name/", and the built-in flushers.
 */
#ifndef XF_PROXY_H
#define XF_PROXY_H

#include "httpd.h"
#include "mod_proxy.h"

int xf_proxy_canon(request_rec *r, char *url);
int xf_proxy_handler(request_rec *r, proxy_worker *worker,
                     proxy_server_conf *conf, char *url, const char *proxyhost,
                     apr_port_t proxyport);

/**
 * The I/O timeout of a request on a worker, as mod_proxy has it: the
 * worker's timeout=, else ProxyTimeout, else the server's Timeout.
 */
apr_interval_time_t xf_proxy_io_timeout(request_rec *r, proxy_worker *w,
                                        proxy_server_conf *conf);

/** Register the built-in "xapi" and "fdpass" flushers. */
void xf_proxy_register_flushers(apr_pool_t *p);

#endif /* XF_PROXY_H */
