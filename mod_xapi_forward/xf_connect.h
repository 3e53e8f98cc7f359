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

/** The request side's part of xf_connect_register() (xf_connect_read.c). */
void xf_connect_read_register(apr_pool_t *p);

/**
 * The head of a console request, byte for byte as the client sent it.
 * @param r  the request
 * @return the head (its request line, headers and empty line), or NULL
 *         when r is no console over CONNECT
 */
const char *xf_connect_head(const request_rec *r);

/**
 * Is r a console over CONNECT (let through by the connection filter)? Its
 * connection to xapi is xf_connect_handler()'s own, PROXY line included:
 * nothing else must write one on it.
 * @param r  the request
 * @return 1 for a console, 0 otherwise
 */
int xf_connect_is_console(const request_rec *r);

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
