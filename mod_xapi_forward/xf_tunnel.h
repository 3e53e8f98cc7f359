/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_tunnel.h - tunnel relay (XapiForwardRelay tunnel): after the envelope
 * and a socketpair end are passed, raw bytes both ways through httpd's own
 * proxy tunnel, nothing parsed (xenopsd's migration protocol). Also the
 * byte count and TLS end of any httpd proxy tunnel of ours (the consoles
 * over CONNECT use it too).
 */
#ifndef XF_TUNNEL_H
#define XF_TUNNEL_H

#include "httpd.h"
#include "mod_proxy.h"

struct xf_dir_conf_t;
struct ssl_st;

/**
 * The bytes of one tunnel, both ways, counted by two connection filters
 * on the backend's side (xf_tunnel_count_add()). When the backend ends
 * its side, a TLS client gets close_notify at once, after the backend's
 * last bytes: httpd's tunnel passes the EOF on by shutting the client's
 * TCP write side, which carries no TLS alert, and a TLS client takes a
 * bare EOF for a truncation (OpenSSL 3: "unexpected eof"; it may then
 * stop sending). The client's side stays open for reading, as stunnel
 * leaves it.
 */
typedef struct xf_tunnel_count_t {
    apr_off_t to_backend;   /**< client -> backend bytes */
    apr_off_t from_backend; /**< backend -> client bytes */
    request_rec *r;         /**< the tunnelled request */
    struct ssl_st *ssl;     /**< the client's TLS (mod_ssl's), NULL: plain */
    int notified;           /**< close_notify went to the client */
    int upgrade_only;       /**< only once r's answer is 101 (an Upgrade
                                 through mod_proxy_http: a backend's EOF
                                 before that ends a response, not a
                                 tunnel) */
} xf_tunnel_count_t;

/** Register the byte-counting filters and mod_ssl's pre_handshake hook
 * (register_hooks). */
void xf_tunnel_register(apr_pool_t *p);

/**
 * A count for r's tunnel, zero, with the client's TLS when it has one.
 * @param r  the request to tunnel
 * @return the count, from r's pool
 */
xf_tunnel_count_t *xf_tunnel_count_new(request_rec *r);

/**
 * Count what passes on the backend's connection from now on (the head
 * before it, if any, is not counted), and end a TLS client's side with
 * close_notify when the backend ends its side.
 * @param n        from xf_tunnel_count_new()
 * @param backend  the backend's connection, before ap_proxy_tunnel_create()
 */
void xf_tunnel_count_add(xf_tunnel_count_t *n, conn_rec *backend);

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
