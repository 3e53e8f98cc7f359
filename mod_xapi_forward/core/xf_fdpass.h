/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_fdpass.h - the wire step of a hand-off: one sendmsg() carrying the
 * envelope and one SCM_RIGHTS descriptor, and reading what a daemon may
 * answer on its control socket. Raw fds only; pure core.
 */
#ifndef XF_FDPASS_H
#define XF_FDPASS_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_time.h>

/**
 * The one conversion of a timeout (APR microseconds, negative = no limit)
 * to the milliseconds of poll() and of the functions below. A timeout
 * below one millisecond is 1 ms, never 0 (0 would mean "do not wait" to
 * poll(), and "no limit" to a caller that reads 0 as unset).
 *
 * @return -1 for no limit (t < 0); 0 for t == 0; else at least 1, rounded
 *         down to whole ms, capped at INT_MAX
 */
int xf_fdpass_timeout_ms(apr_interval_time_t t);

/** Make p close fd when it is cleared (undone by xf_fdpass_close()). */
void xf_fdpass_own(int fd, apr_pool_t *p);

/**
 * Connect an AF_UNIX stream socket to path. The socket is non-blocking
 * (xf_fdpass_send() and xf_fdpass_read_reply() wait with poll()); only when
 * the daemon's backlog is full does the connect wait, up to timeout_ms. It
 * is closed by a cleanup on p (or earlier with xf_fdpass_close()).
 *
 * @param pfd       out: the connected socket
 * @param preason   out: on failure a short description, from p
 * @param path      socket path (must fit sun_path)
 * @param timeout_ms bound for connect and send; <= 0 = none
 * @param p         pool owning the socket
 * @return APR_SUCCESS; APR_ENAMETOOLONG; APR_TIMEUP; or the connect errno
 *         (ENOENT, ECONNREFUSED, EACCES...) as an apr_status_t
 */
apr_status_t xf_fdpass_connect(int *pfd, const char **preason, const char *path,
                               int timeout_ms, apr_pool_t *p);

/** Close a descriptor owned by p (xf_fdpass_connect(), xf_fdpass_own())
 *  now, running its cleanup: the one way the module closes such an fd. */
void xf_fdpass_close(int fd, apr_pool_t *p);

/**
 * Send buf with fd attached in a single sendmsg() (MSG_DONTWAIT). EINTR
 * is retried; EAGAIN (socket buffer full) waits for writability until
 * timeout_ms have passed since the first EAGAIN. A short send is a failure: the
 * daemon reads the message with one recvmsg() and would get a truncated
 * envelope.
 *
 * @param preason out: on failure a short description, from p
 * @param uds     connected AF_UNIX stream socket
 * @param fd      descriptor to pass
 * @param buf     payload (at least one byte)
 * @param len     payload length
 * @param timeout_ms how long EAGAIN may be waited out; < 0 = forever
 * @param p       pool for the reason
 * @return APR_SUCCESS; APR_TIMEUP; APR_EGENERAL for a short send; or the
 *         errno of sendmsg as an apr_status_t
 */
apr_status_t xf_fdpass_send(const char **preason, int uds, int fd,
                            const void *buf, apr_size_t len, int timeout_ms,
                            apr_pool_t *p);

/**
 * Make fd blocking (clear O_NONBLOCK), as daemons expect of a passed
 * socket.
 * @param pwas_nonblocking out: 1 if O_NONBLOCK was set (for a restore)
 * @return APR_SUCCESS or the fcntl errno
 */
apr_status_t xf_fdpass_set_blocking(int *pwas_nonblocking, int fd);

/** Set O_NONBLOCK on fd again (undo of xf_fdpass_set_blocking). */
apr_status_t xf_fdpass_set_nonblocking(int fd);

/**
 * Wait up to timeout_ms for the daemon to close its control socket or to
 * write an HTTP response head on it (xenopsd writes a 404 there for an
 * unknown path), and read at most what fits in a small buffer.
 *
 * @param pstatus out: the HTTP status the daemon wrote, 0 when it closed
 *                without writing, -1 when the wait ended first, -2 when it
 *                wrote something that is not an HTTP status line
 * @param uds     the control socket
 * @param timeout_ms how long to wait; 0 = just look
 * @return APR_SUCCESS, or the errno of poll/recv
 */
apr_status_t xf_fdpass_read_reply(int *pstatus, int uds, int timeout_ms);

/**
 * Parse "HTTP/x.y NNN ..." at the start of buf.
 * @return the status (100..999), or -1 when buf does not start with one
 */
int xf_fdpass_parse_status(const char *buf, apr_size_t len);

#endif /* XF_FDPASS_H */
