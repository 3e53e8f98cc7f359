/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_clientcert.h - client certificates as xapi's stunnel takes them
 * (verifyChain, checkHost, redirect = 80): which requests come from a
 * verified holder, for the catch-all's routing (mod_rewrite reads
 * XF_ENV_CLIENT_CERT) and for the access checker (XF_NOTE_CLIENT_CERT).
 */
#ifndef XF_CLIENTCERT_H
#define XF_CLIENTCERT_H

#include "httpd.h"

/** Environment variable set to "1" for a request whose connection carries
 *  a client certificate verified as stunnel verifies it. */
#define XF_ENV_CLIENT_CERT "XAPI_CLIENT_CERT"

/** r->notes key set to "1" for the same requests. */
#define XF_NOTE_CLIENT_CERT "xapi-forward-client-cert"

/** Hooks: mod_ssl's init_server (optional hook) and post_read_request. */
void xf_clientcert_register_hooks(apr_pool_t *p);

/** @return 1 when r (or the request it is a sub-request of) comes with a
 *  verified client certificate. */
int xf_clientcert_verified(const request_rec *r);

#endif /* XF_CLIENTCERT_H */
