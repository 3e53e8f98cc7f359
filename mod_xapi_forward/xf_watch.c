/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_watch.c - the control-socket watcher: after a hand-off (or a tunnel)
 * a daemon may keep its control connection open for minutes (xenopsd does
 * for a whole migration). One thread per child process polls every such
 * socket, logs a status line the daemon writes there later, and closes the
 * socket when the daemon does, when XapiForwardControlLifetime ends, or
 * when the child exits (graceful restart or stop). Workers only hand
 * sockets over: none waits.
 */
#include "xf_watch.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "http_log.h"

#include "xf_fdpass.h"
#include "xf_private.h"

#define XF_WATCH_MAX 4096 /* sockets per child */

typedef struct watched_t {
    int fd;
    apr_time_t since;    /* hand-over time */
    apr_time_t deadline; /* close then */
    char path[128];      /* request path (truncated), for the log */
    char head[64];       /* first bytes the daemon wrote */
    apr_size_t hn;       /* bytes in head */
    int reported;        /* a status line was logged */
} watched_t;

typedef struct watch_t {
    server_rec *s;
#if APR_HAS_THREADS
    apr_thread_mutex_t *mu;
    apr_thread_t *thread; /* NULL until the first hand-over */
#endif
    apr_pool_t *pool; /* the child's */
    int wake;         /* eventfd: new sockets, or stop */
    int stop;         /* under mu */
    watched_t *add;   /* handed over, not yet taken by the thread */
    int nadd, cadd;
    watched_t *w; /* the thread's own */
    int n, c;
} watch_t;

/* the child's watcher: its thread and the sockets it watches (NULL until
 * child_init) */
static watch_t *child_watch;

static void wake_up(void)
{
    uint64_t one = 1;
    ssize_t n;

    do {
        n = write(child_watch->wake, &one, sizeof(one));
    } while (n < 0 && errno == EINTR);
}

/* grow *parr (*pcap entries) to hold one more */
static int grow(watched_t **parr, int *pcap, int n)
{
    watched_t *a;
    int cap;

    if (n < *pcap)
        return 1;
    cap = *pcap ? *pcap * 2 : 16;
    a = realloc(*parr, sizeof(**parr) * (size_t)cap);
    if (!a)
        return 0;
    *parr = a;
    *pcap = cap;
    return 1;
}

/* The daemon wrote on a watched socket: log its status line once, drop the
 * rest. 1 when the socket is done (EOF, error). */
static int take_bytes(watched_t *e)
{
    char buf[4096];
    ssize_t n;

    do {
        n = recv(e->fd, buf, sizeof(buf), MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return !(errno == EAGAIN || errno == EWOULDBLOCK);
    if (n == 0)
        return 1;
    if (!e->reported) {
        apr_size_t k = sizeof(e->head) - e->hn;
        int status;

        if (k > (apr_size_t)n)
            k = (apr_size_t)n;
        memcpy(e->head + e->hn, buf, k);
        e->hn += k;
        if (memchr(e->head, '\n', e->hn) || e->hn == sizeof(e->head)) {
            status = xf_fdpass_parse_status(e->head, e->hn);
            e->reported = 1;
            ap_log_error(
                APLOG_MARK,
                status >= 300 || status <= 0 ? APLOG_WARNING : APLOG_INFO, 0,
                child_watch->s,
                XF_LOGNO(
                    0150) "daemon wrote %s%d on its control socket for %s, "
                          "%.1f s after the hand-off",
                status > 0 ? "status " : "no status line: ",
                status > 0 ? status : 0, e->path,
                (double)(apr_time_now() - e->since) / APR_USEC_PER_SEC);
        }
    }
    return 0;
}

static void drop(int i, const char *why)
{
    watched_t *e = &child_watch->w[i];

    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, child_watch->s,
                 XF_LOGNO(0151) "control socket for %s closed after %.1f s: %s",
                 e->path,
                 (double)(apr_time_now() - e->since) / APR_USEC_PER_SEC, why);
    close(e->fd);
    child_watch->w[i] = child_watch->w[--child_watch->n];
}

#if APR_HAS_THREADS
static void *APR_THREAD_FUNC watcher(apr_thread_t *t, void *data)
{
    struct pollfd *pfd = NULL;
    int cpfd = 0, stop = 0;
    sigset_t all;

    /* signals are the child's main thread's business */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);

    while (!stop) {
        apr_time_t now, next = 0;
        int i, rc, timeout;

        apr_thread_mutex_lock(child_watch->mu);
        stop = child_watch->stop;
        for (i = 0; i < child_watch->nadd; i++)
            if (grow(&child_watch->w, &child_watch->c, child_watch->n))
                child_watch->w[child_watch->n++] = child_watch->add[i];
            else
                close(child_watch->add[i].fd);
        child_watch->nadd = 0;
        apr_thread_mutex_unlock(child_watch->mu);
        if (stop)
            break;

        if (cpfd < child_watch->n + 1) {
            struct pollfd *np =
                realloc(pfd, sizeof(*pfd) * (child_watch->n + 1));
            if (np) {
                pfd = np;
                cpfd = child_watch->n + 1;
            }
        }
        now = apr_time_now();
        for (i = 0; i < child_watch->n; i++)
            if (child_watch->w[i].deadline <= now)
                drop(i--, "XapiForwardControlLifetime reached");
        if (!pfd)
            continue;
        pfd[0].fd = child_watch->wake;
        pfd[0].events = POLLIN;
        for (i = 0; i < child_watch->n && i + 1 < cpfd; i++) {
            pfd[i + 1].fd = child_watch->w[i].fd;
            pfd[i + 1].events = POLLIN;
            pfd[i + 1].revents = 0;
            if (!next || child_watch->w[i].deadline < next)
                next = child_watch->w[i].deadline;
        }
        timeout = -1;
        if (next) {
            apr_interval_time_t left = next - now;
            timeout = left <= 0 ? 0 : (int)(left / 1000) + 1;
        }
        do {
            rc = poll(pfd, (nfds_t)(i + 1), timeout);
        } while (rc < 0 && errno == EINTR);
        if (rc <= 0)
            continue;
        if (pfd[0].revents & POLLIN) {
            uint64_t v;
            if (read(child_watch->wake, &v, sizeof(v)) < 0 && errno != EAGAIN)
                break;
        }
        /* from the end: drop() moves the last entry into the hole */
        for (i = i - 1; i >= 0; i--)
            if (pfd[i + 1].revents && pfd[i + 1].fd == child_watch->w[i].fd &&
                take_bytes(&child_watch->w[i]))
                drop(i, "the daemon closed it");
    }
    free(pfd);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

/* child exit (graceful restart, stop): close every watched socket; runs
 * before the thread's pool goes */
static apr_status_t watch_stop(void *data)
{
    apr_status_t rv;
    int i;

    if (!child_watch)
        return APR_SUCCESS;
    apr_thread_mutex_lock(child_watch->mu);
    child_watch->stop = 1;
    apr_thread_mutex_unlock(child_watch->mu);
    if (child_watch->thread) {
        wake_up();
        apr_thread_join(&rv, child_watch->thread);
    }
    if (child_watch->n || child_watch->nadd)
        ap_log_error(
            APLOG_MARK, APLOG_DEBUG, 0, child_watch->s,
            XF_LOGNO(
                0152) "child exiting: closing %d watched control socket(s)",
            child_watch->n + child_watch->nadd);
    for (i = 0; i < child_watch->n; i++)
        close(child_watch->w[i].fd);
    for (i = 0; i < child_watch->nadd; i++)
        close(child_watch->add[i].fd);
    child_watch->n = child_watch->nadd = 0;
    free(child_watch->w);
    free(child_watch->add);
    close(child_watch->wake);
    child_watch = NULL;
    return APR_SUCCESS;
}
#endif

void xf_watch_child_init(apr_pool_t *pchild, server_rec *s)
{
#if APR_HAS_THREADS
    watch_t *w = apr_pcalloc(pchild, sizeof(*w));

    w->s = s;
    w->pool = pchild;
    w->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (w->wake < 0 || apr_thread_mutex_create(&w->mu, APR_THREAD_MUTEX_DEFAULT,
                                               pchild) != APR_SUCCESS) {
        ap_log_error(
            APLOG_MARK, APLOG_CRIT, APR_FROM_OS_ERROR(errno), s,
            XF_LOGNO(0153) "cannot set up the control-socket "
                           "watcher: control sockets are closed after the "
                           "XapiForwardReplyTimeout wait");
        if (w->wake >= 0)
            close(w->wake);
        return;
    }
    child_watch = w;
    apr_pool_pre_cleanup_register(pchild, NULL, watch_stop);
#endif
}

apr_status_t xf_watch_add(request_rec *r, int fd, apr_interval_time_t life)
{
    apr_status_t rv = APR_ENOTIMPL;
#if APR_HAS_THREADS
    watched_t e;

    memset(&e, 0, sizeof(e));
    e.fd = fd;
    e.since = apr_time_now();
    e.deadline = e.since + life;
    apr_cpystrn(e.path, r->uri ? r->uri : "-", sizeof(e.path));
    if (child_watch) {
        apr_thread_mutex_lock(child_watch->mu);
        if (child_watch->stop)
            rv = APR_EINVAL;
        else if (child_watch->n + child_watch->nadd >= XF_WATCH_MAX)
            rv = APR_ENOSPC;
        else if (!grow(&child_watch->add, &child_watch->cadd,
                       child_watch->nadd))
            rv = APR_ENOMEM;
        else {
            rv = APR_SUCCESS;
            if (!child_watch->thread)
                rv = apr_thread_create(&child_watch->thread, NULL, watcher,
                                       NULL, child_watch->pool);
            if (rv == APR_SUCCESS)
                child_watch->add[child_watch->nadd++] = e;
        }
        apr_thread_mutex_unlock(child_watch->mu);
    }
#endif
    if (rv != APR_SUCCESS) {
        ap_log_rerror(
            APLOG_MARK, APLOG_WARNING, rv, r,
            XF_LOGNO(0154) "cannot watch the daemon's control socket (%s): "
                           "closed now",
            rv == APR_ENOSPC ? "too many watched" : "no watcher");
        close(fd);
        return rv;
    }
    wake_up();
    return APR_SUCCESS;
}
