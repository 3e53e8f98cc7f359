/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_proxyproto.h - XapiForwardProxyProtocol: requests that mod_proxy_http
 * sends to xapi reach it as xapi's stunnel would deliver them (a PROXY v1
 * line naming a TLS client first on the backend connection, the client's
 * HTTP version, no Host header the client did not send).
 */
#ifndef XF_PROXYPROTO_H
#define XF_PROXYPROTO_H

#include "httpd.h"

/** Register the hooks and the backend connection's filter
 *  (register_hooks). */
void xf_proxyproto_register(apr_pool_t *p);

/**
 * Start-up check: a worker defined in a <Proxy> section that has
 * XapiForwardProxyProtocol On must not reuse backend connections.
 * @param s the main server (its virtual hosts are walked too)
 * @return OK, or HTTP_INTERNAL_SERVER_ERROR (logged) to refuse to start
 */
int xf_proxyproto_check_config(server_rec *s);

#endif /* XF_PROXYPROTO_H */
