/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_tunnel.h - tunnel relay (XapiForwardRelay tunnel): after the envelope
 * and a socketpair end are passed, raw bytes both ways through httpd's own
 * proxy tunnel, nothing parsed (xenopsd's migration protocol).
 */
#ifndef XF_TUNNEL_H
#define XF_TUNNEL_H

#include "httpd.h"
#include "mod_proxy.h"

struct xf_dir_conf_t;

/** Register the byte-counting filters (register_hooks). */
void xf_tunnel_register(apr_pool_t *p);

/**
 * Can r be tunnelled? Checked before anything reaches the daemon.
 * @return OK, or 505 for an HTTP/2 stream (logged)
 */
int xf_tunnel_check(request_rec *r);

/**
 * Tunnel r through the daemon connected on uds.
 * @param pair     from xf_relay_pair(): the daemon's end is closed here
 *                 and set to -1; httpd's end stays the caller's to close
 * @param r        the request
 * @param d        its location's configuration
 * @param worker   its mod_proxy worker (for the daemon-side connection)
 * @param uds      connected control socket
 * @param payload  the message sent with the socketpair end
 * @param len      its length
 * @param timeout  send timeout; the idle limit unless the location sets
 *                 XapiForwardTunnelTimeout
 * @return DONE, or an HTTP status before the tunnel started
 */
int xf_tunnel_run(int pair[2], request_rec *r, const struct xf_dir_conf_t *d,
                  proxy_worker *worker, int uds, const char *payload,
                  apr_size_t len, apr_interval_time_t timeout);

#endif /* XF_TUNNEL_H */
