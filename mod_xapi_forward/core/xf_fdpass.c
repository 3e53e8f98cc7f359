/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_fdpass.c - sendmsg()+SCM_RIGHTS with EINTR/EAGAIN handling, blocking
 * mode of the passed socket, and the bounded read of a daemon's reply on
 * its control socket. No httpd headers (pure core).
 */
#include "xf_fdpass.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_time.h>

static apr_status_t close_fd_cleanup(void *data)
{
    close((int)(intptr_t)data);
    return APR_SUCCESS;
}

int xf_fdpass_timeout_ms(apr_interval_time_t t)
{
    apr_interval_time_t ms;

    if (t < 0)
        return -1;
    if (t == 0)
        return 0;
    ms = t / 1000;
    if (ms == 0)
        return 1;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

void xf_fdpass_own(int fd, apr_pool_t *p)
{
    apr_pool_cleanup_register(p, (void *)(intptr_t)fd, close_fd_cleanup,
                              apr_pool_cleanup_null);
}

apr_status_t xf_fdpass_connect(int *pfd, const char **preason, const char *path,
                               int timeout_ms, apr_pool_t *p)
{
    struct sockaddr_un sa;
    apr_size_t plen = strlen(path);
    socklen_t salen;
    int fd, rc;

    *pfd = -1;
    if (plen == 0 || plen >= sizeof(sa.sun_path)) {
        *preason = apr_psprintf(
            p, "socket path is %" APR_SIZE_T_FMT " bytes, the limit is %d",
            plen, (int)sizeof(sa.sun_path) - 1);
        return APR_ENAMETOOLONG;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, plen);
    salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        *preason = "socket() failed";
        return APR_FROM_OS_ERROR(errno);
    }
    xf_fdpass_own(fd, p);
    do {
        rc = connect(fd, (struct sockaddr *)&sa, salen);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0 && errno == EAGAIN && timeout_ms > 0) {
        /* the daemon's backlog is full: wait for room, bounded by
         * SO_SNDTIMEO (a non-blocking AF_UNIX connect cannot be polled) */
        struct timeval tv;
        tv.tv_sec = timeout_ms / 1000;
        tv.tv_usec = (timeout_ms % 1000) * 1000;
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        do {
            rc = connect(fd, (struct sockaddr *)&sa, salen);
        } while (rc < 0 && errno == EINTR);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    }
    if (rc < 0) {
        apr_status_t rv = APR_FROM_OS_ERROR(errno);
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            *preason = "connect timed out (backlog full)";
            rv = APR_TIMEUP;
        }
        else
            *preason = "connect failed";
        xf_fdpass_close(fd, p);
        return rv;
    }
    *pfd = fd;
    return APR_SUCCESS;
}

void xf_fdpass_close(int fd, apr_pool_t *p)
{
    apr_pool_cleanup_run(p, (void *)(intptr_t)fd, close_fd_cleanup);
}

apr_status_t xf_fdpass_send(const char **preason, int uds, int fd,
                            const void *buf, apr_size_t len, int timeout_ms,
                            apr_pool_t *p)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr msg;
    struct iovec iov;
    struct cmsghdr *cmsg;
    ssize_t n;
    apr_time_t deadline = 0; /* set at the first EAGAIN */

    if (len == 0) {
        *preason = "empty payload";
        return APR_EINVAL;
    }
    memset(&msg, 0, sizeof(msg));
    memset(&ctl, 0, sizeof(ctl));
    iov.iov_base = (void *)buf;
    iov.iov_len = len;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof(ctl.buf);
    cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));

    for (;;) {
        struct pollfd pfd;
        int rc, wait_ms;

        n = sendmsg(uds, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            apr_status_t rv = APR_FROM_OS_ERROR(errno);
            *preason = "sendmsg failed";
            return rv;
        }
        /* the daemon's socket buffer is full: wait until the deadline */
        if (timeout_ms < 0)
            wait_ms = -1;
        else {
            apr_time_t now = apr_time_now();
            if (deadline == 0)
                deadline = now + apr_time_from_msec(timeout_ms);
            wait_ms =
                deadline > now ? (int)apr_time_as_msec(deadline - now) : 0;
        }
        pfd.fd = uds;
        pfd.events = POLLOUT;
        pfd.revents = 0;
        do {
            rc = poll(&pfd, 1, wait_ms);
        } while (rc < 0 && errno == EINTR);
        if (rc == 0) {
            *preason = "timed out waiting to send";
            return APR_TIMEUP;
        }
        if (rc < 0) {
            apr_status_t rv = APR_FROM_OS_ERROR(errno);
            *preason = "poll before sendmsg failed";
            return rv;
        }
    }
    if ((apr_size_t)n != len) {
        *preason = apr_psprintf(
            p, "short send: %" APR_SIZE_T_FMT " of %" APR_SIZE_T_FMT " bytes",
            (apr_size_t)n, len);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t xf_fdpass_set_blocking(int *pwas_nonblocking, int fd)
{
    int fl = fcntl(fd, F_GETFL);

    *pwas_nonblocking = 0;
    if (fl < 0)
        return APR_FROM_OS_ERROR(errno);
    if (!(fl & O_NONBLOCK))
        return APR_SUCCESS;
    if (fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
        return APR_FROM_OS_ERROR(errno);
    *pwas_nonblocking = 1;
    return APR_SUCCESS;
}

apr_status_t xf_fdpass_set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return APR_FROM_OS_ERROR(errno);
    return APR_SUCCESS;
}

int xf_fdpass_parse_status(const char *buf, apr_size_t len)
{
    apr_size_t i = 0;
    int st = 0, k;

    if (len < 12 || memcmp(buf, "HTTP/", 5))
        return -1;
    for (i = 5; i < len && buf[i] != ' '; i++)
        ;
    if (i + 4 > len)
        return -1;
    for (k = 1; k <= 3; k++) {
        char ch = buf[i + k];
        if (ch < '0' || ch > '9')
            return -1;
        st = st * 10 + (ch - '0');
    }
    if (i + 4 < len && buf[i + 4] != ' ' && buf[i + 4] != '\r')
        return -1;
    return st >= 100 ? st : -1;
}

apr_status_t xf_fdpass_read_reply(int *pstatus, int uds, int timeout_ms)
{
    char buf[256];
    struct pollfd pfd;
    ssize_t n;
    int rc;

    pfd.fd = uds;
    pfd.events = POLLIN;
    pfd.revents = 0;
    do {
        rc = poll(&pfd, 1, timeout_ms);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return APR_FROM_OS_ERROR(errno);
    if (rc == 0) {
        *pstatus = -1;
        return APR_SUCCESS;
    }
    do {
        n = recv(uds, buf, sizeof(buf), MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            *pstatus = -1;
            return APR_SUCCESS;
        }
        if (errno == ECONNRESET) {
            *pstatus = 0;
            return APR_SUCCESS;
        }
        return APR_FROM_OS_ERROR(errno);
    }
    if (n == 0) {
        *pstatus = 0;
        return APR_SUCCESS;
    }
    rc = xf_fdpass_parse_status(buf, (apr_size_t)n);
    *pstatus = rc > 0 ? rc : -2;
    return APR_SUCCESS;
}
