/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_watch.h - control sockets that outlive their request: one watcher
 * thread per child process keeps them until the daemon closes them (or a
 * time limit), without holding a worker.
 */
#ifndef XF_WATCH_H
#define XF_WATCH_H

#include "httpd.h"

/** child_init: set up the (lazily started) watcher of this child. */
void xf_watch_child_init(apr_pool_t *pchild, server_rec *s);

/**
 * Hand a control socket over to the watcher, which logs a status line the
 * daemon writes later and closes the socket on EOF or after life.
 * @param r     the request (for the log and the path)
 * @param fd    the control socket: the watcher owns it from now on, even on
 *              failure (then it is closed at once)
 * @param life  how long the daemon may keep it (> 0)
 * @return APR_SUCCESS, or why the socket was closed at once (logged)
 */
apr_status_t xf_watch_add(request_rec *r, int fd, apr_interval_time_t life);

#endif /* XF_WATCH_H */
