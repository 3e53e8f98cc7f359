/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_connect.h - consoles over CONNECT (XapiForwardConnect): xapi's
 * origin-form CONNECT requests (/console, /remotecmd) let through httpd's
 * core and tunnelled to the catch-all's xapi on a connection of their own.
 */
#ifndef XF_CONNECT_H
#define XF_CONNECT_H

#include "httpd.h"
#include "mod_proxy.h"

/** Register the connection filter, the hooks and the scheme handler
 *  (register_hooks). */
void xf_connect_register(apr_pool_t *p);

/**
 * Should the connection to xapi for r start with a PROXY line? As xapi's
 * stunnel: yes for a client that came over TLS (xapi then sees it as an
 * HTTPS client, with its address), no for plain HTTP (xapi must keep
 * seeing plain HTTP). The one place this is decided for consoles.
 * @param r  the request
 * @return 1 for a line, 0 for none
 */
int xf_connect_proxyline_wanted(request_rec *r);

/**
 * The proxy scheme handler: claims the CONNECT requests the connection
 * filter let through, on http:// and unix:...|http:// workers; declines
 * everything else.
 * @return DECLINED, DONE once xapi's answer head was relayed, or an HTTP
 *         status when nothing reached the client
 */
int xf_connect_handler(request_rec *r, proxy_worker *worker,
                       proxy_server_conf *conf, char *url,
                       const char *proxyname, apr_port_t proxyport);

#endif /* XF_CONNECT_H */
