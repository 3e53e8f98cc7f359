/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_sni.h - the vhost a TLS client chose by SNI serves all its requests
 * (XapiForwardVHostBySNI), as xapi's stunnel serves its [pool] section
 * whatever the Host header says.
 */
#ifndef XF_SNI_H
#define XF_SNI_H

#include "httpd.h"

/**
 * Register the post_read_request hook: before mod_ssl's SNI/Host checks
 * (ssl_hook_ReadReq) and before mod_http2 records the request's server.
 * @param p  the pool of the hook registration
 */
void xf_sni_register(apr_pool_t *p);

/**
 * post_read_request hook: on a TLS connection (or an HTTP/2 stream of one)
 * whose SNI selected a virtual host that has XapiForwardVHostBySNI On (the
 * vhost of the connection's address and port the SNI names, as mod_ssl
 * matches names, or the address's default vhost when it names none), make
 * that vhost the request's server
 * (r->server, r->per_dir_config) and, when the request named no host,
 * r->hostname the SNI name, so that mod_ssl's checks (AH02031 400,
 * AH02032 421) pass. Headers are never touched.
 * @return DECLINED always
 */
int xf_sni_post_read_request(request_rec *r);

#endif /* XF_SNI_H */
