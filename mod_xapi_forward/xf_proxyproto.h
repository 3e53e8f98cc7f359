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

/**
 * For a caller that writes the request to xapi itself, on a backend
 * connection of its own (consoles over CONNECT): the PROXY line r wants,
 * decided as for every other request (XapiForwardProxyProtocol, a TLS
 * client). Takes r's note, so that the backend connection the caller
 * makes next gets no line from here: one line per connection.
 * @param r     the request
 * @param plen  the line's length, when there is one
 * @return the line (no NUL), or NULL when r wants none
 */
const char *xf_proxyproto_take(request_rec *r, apr_size_t *plen);

#endif /* XF_PROXYPROTO_H */
