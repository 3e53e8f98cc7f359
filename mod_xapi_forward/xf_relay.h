/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_relay.h - relay mode: the daemon gets one end of a
 * socketpair instead of the client's socket, and httpd copies the request
 * body in and the response out through its filters.
 */
#ifndef XF_RELAY_H
#define XF_RELAY_H

#include "httpd.h"

#include "xf_stats.h"

/**
 * Make the socketpair a relay or a tunnel passes to the daemon. Made
 * before the daemon is connected: when httpd is out of descriptors,
 * nothing reaches the daemon (no connection without a message).
 * @param pair  out: [0] httpd's end, [1] the daemon's; both closed with
 *              r->pool (or earlier, as the caller or
 *              xf_relay_pass_pair() do), -1 on failure
 * @param r     the request
 * @return OK, or 503 (logged)
 */
int xf_relay_pair(int pair[2], request_rec *r);

/**
 * Relay r through the daemon connected on uds.
 * @param pair     from xf_relay_pair(): the daemon's end is closed here
 *                 and set to -1; httpd's end stays the caller's to close
 * @param r        the request
 * @param uds      connected control socket
 * @param payload  the message sent with the socketpair end
 * @param len      its length
 * @param timeout  I/O timeout toward the daemon
 * @param fs       the request's forwarding record: the moment the daemon
 *                 had its end is noted there
 * @return OK or an HTTP status
 */
int xf_relay_run(int pair[2], request_rec *r, int uds, const char *payload,
                 apr_size_t len, apr_interval_time_t timeout,
                 xf_fwd_stats_t *fs);

/**
 * Pass the daemon's end of the pair (pair[1]) with the message; it is
 * closed here and set to -1, whatever the outcome.
 * @param pair     from xf_relay_pair()
 * @param r        the request
 * @param uds      connected control socket
 * @param payload  the message sent with the socketpair end
 * @param len      its length
 * @param timeout  send timeout
 * @return OK or an HTTP status (logged)
 */
int xf_relay_pass_pair(int pair[2], request_rec *r, int uds,
                       const char *payload, apr_size_t len,
                       apr_interval_time_t timeout);

#endif /* XF_RELAY_H */
