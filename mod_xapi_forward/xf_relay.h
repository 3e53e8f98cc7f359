/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_relay.h - relay mode: the daemon gets one end of a
 * socketpair instead of the client's socket, and httpd copies the request
 * body in and the response out through its filters.
 */
#ifndef XF_RELAY_H
#define XF_RELAY_H

#include "httpd.h"

/** @return 1 when relay mode is built in. */
int xf_relay_available(void);

/**
 * Relay r through the daemon connected on uds.
 * @param r        the request
 * @param uds      connected control socket
 * @param payload  the message sent with the socketpair end
 * @param len      its length
 * @param timeout  I/O timeout toward the daemon
 * @return OK/DONE or an HTTP status
 */
int xf_relay_run(request_rec *r, int uds, const char *payload, apr_size_t len,
                 apr_interval_time_t timeout);

/**
 * Pass one end of a new socketpair to the daemon with the message.
 * @param pfd      out: our end (closed with r->pool, or xf_fdpass_close)
 * @param r        the request
 * @param uds      connected control socket
 * @param payload  the message sent with the socketpair end
 * @param len      its length
 * @param timeout  send timeout
 * @return OK or an HTTP status (logged)
 */
int xf_relay_pass_pair(int *pfd, request_rec *r, int uds, const char *payload,
                       apr_size_t len, apr_interval_time_t timeout);

#endif /* XF_RELAY_H */
