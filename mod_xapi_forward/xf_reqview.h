/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_reqview.h - the only place that reads request_rec for serialization:
 * fills an xf_reqview_t for the envelope builder.
 */
#ifndef XF_REQVIEW_H
#define XF_REQVIEW_H

#include "httpd.h"
#include "xf_types.h"

/**
 * Describe r for the envelope.
 * @param rv       out: filled from r (strings point into r's pool)
 * @param r        the request
 * @param stunnel  1: add the STUNNEL_PROXY entry when the client talks TLS
 */
void xf_reqview_build(xf_reqview_t *rv, request_rec *r, int stunnel);

/**
 * The STUNNEL_PROXY value xapi's stunnel would have produced for c:
 * "TCP6 <client-ip> <server-ip> <client-port> <server-port>", IPv4 written
 * as ::ffff:a.b.c.d. For an HTTP/2 stream the addresses of c->master.
 */
const char *xf_reqview_stunnel_proxy(conn_rec *c, apr_pool_t *p);

#endif /* XF_REQVIEW_H */
