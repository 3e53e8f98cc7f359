/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * test_xf_fdpass.c - the hand-off wire step: a real socketpair and a real
 * pipe, a descriptor sent and proven to work on the other side; EINTR,
 * EAGAIN and short sends through -Wl,--wrap=sendmsg.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "xf_fdpass.h"

/* --wrap=sendmsg: by default call the real one; a test may queue faults */
ssize_t __real_sendmsg(int fd, const struct msghdr *msg, int flags);
ssize_t __wrap_sendmsg(int fd, const struct msghdr *msg, int flags);

static int fault_count;    /* how many faults are queued */
static int fault_errno[4]; /* errno to fail with, or 0: short send */
static int fault_next;

ssize_t __wrap_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    if (fault_next < fault_count) {
        int e = fault_errno[fault_next++];
        if (e == 0)
            return (ssize_t)msg->msg_iov[0].iov_len - 1;
        errno = e;
        return -1;
    }
    return __real_sendmsg(fd, msg, flags);
}

static int setup(void **state)
{
    apr_pool_t *p;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS)
        return -1;
    *state = p;
    fault_count = fault_next = 0;
    return 0;
}

static int teardown(void **state)
{
    apr_pool_destroy(*state);
    return 0;
}

/* receive one message and one fd, as xcp-rrdd does */
static ssize_t recv_fd(int s, char *buf, size_t len, int *pfd)
{
    union {
        char b[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr msg;
    struct iovec iov;
    struct cmsghdr *c;
    ssize_t n;

    memset(&msg, 0, sizeof(msg));
    iov.iov_base = buf;
    iov.iov_len = len;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl.b;
    msg.msg_controllen = sizeof(ctl.b);
    n = recvmsg(s, &msg, 0);
    *pfd = -1;
    for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            memcpy(pfd, CMSG_DATA(c), sizeof(int));
    return n;
}

static void test_send_fd_works(void **state)
{
    apr_pool_t *p = *state;
    int sp[2], pp[2], got = -1;
    const char *reason = NULL;
    char buf[64];
    ssize_t n;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    assert_int_equal(pipe(pp), 0);
    assert_int_equal(
        xf_fdpass_send(&reason, sp[0], pp[1], "{\"m\":\"Get\"}", 11, 1000, p),
        APR_SUCCESS);
    n = recv_fd(sp[1], buf, sizeof(buf), &got);
    assert_int_equal(n, 11);
    assert_memory_equal(buf, "{\"m\":\"Get\"}", 11);
    assert_true(got >= 0);
    /* the received descriptor is the pipe's write end */
    assert_int_equal(write(got, "xyz", 3), 3);
    assert_int_equal(read(pp[0], buf, 3), 3);
    assert_memory_equal(buf, "xyz", 3);
    close(got);
    close(pp[0]);
    close(pp[1]);
    close(sp[0]);
    close(sp[1]);
}

static void test_eintr_retried(void **state)
{
    apr_pool_t *p = *state;
    int sp[2], got = -1;
    const char *reason = NULL;
    char buf[8];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    fault_errno[0] = EINTR;
    fault_errno[1] = EINTR;
    fault_count = 2;
    assert_int_equal(xf_fdpass_send(&reason, sp[0], 0, "x", 1, 1000, p),
                     APR_SUCCESS);
    assert_int_equal(fault_next, 2);
    assert_int_equal(recv_fd(sp[1], buf, sizeof(buf), &got), 1);
    assert_true(got >= 0);
    close(got);
    close(sp[0]);
    close(sp[1]);
}

static void test_short_send_fails(void **state)
{
    apr_pool_t *p = *state;
    int sp[2];
    const char *reason = NULL;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    fault_errno[0] = 0;
    fault_count = 1;
    assert_int_equal(xf_fdpass_send(&reason, sp[0], 0, "abcd", 4, 1000, p),
                     APR_EGENERAL);
    assert_non_null(strstr(reason, "short send: 3 of 4"));
    close(sp[0]);
    close(sp[1]);
}

static void test_eagain_waits_then_times_out(void **state)
{
    apr_pool_t *p = *state;
    int sp[2], sz = 4096;
    const char *reason = NULL;
    char junk[4096];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    /* one EAGAIN: poll says writable, the retry succeeds */
    fault_errno[0] = EAGAIN;
    fault_count = 1;
    assert_int_equal(xf_fdpass_send(&reason, sp[0], 0, "a", 1, 100, p),
                     APR_SUCCESS);
    assert_int_equal(fault_next, 1);
    /* a really full socket: the wait ends at the deadline */
    setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    memset(junk, 'j', sizeof(junk));
    while (send(sp[0], junk, sizeof(junk), MSG_DONTWAIT) > 0)
        ;
    assert_int_equal(xf_fdpass_send(&reason, sp[0], 0, "a", 1, 100, p),
                     APR_TIMEUP);
    assert_string_equal(reason, "timed out waiting to send");
    close(sp[0]);
    close(sp[1]);
}

static void test_peer_gone(void **state)
{
    apr_pool_t *p = *state;
    int sp[2];
    const char *reason = NULL;
    apr_status_t st;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    close(sp[1]);
    /* MSG_NOSIGNAL: EPIPE, no SIGPIPE */
    st = xf_fdpass_send(&reason, sp[0], 0, "a", 1, 100, p);
    assert_int_equal(st, APR_FROM_OS_ERROR(EPIPE));
    assert_string_equal(reason, "sendmsg failed");
    close(sp[0]);
}

static void test_empty_payload_refused(void **state)
{
    const char *reason = NULL;

    assert_int_equal(xf_fdpass_send(&reason, 0, 0, "", 0, 0, *state),
                     APR_EINVAL);
}

static void test_connect_missing_and_refused(void **state)
{
    apr_pool_t *p = *state;
    char dir[] = "/tmp/xfut.XXXXXX";
    const char *path, *reason = NULL;
    struct sockaddr_un sa;
    int fd = -1, l;

    assert_non_null(mkdtemp(dir));
    path = apr_pstrcat(p, dir, "/missing.sock", NULL);
    assert_int_equal(xf_fdpass_connect(&fd, &reason, path, 100, p),
                     APR_FROM_OS_ERROR(ENOENT));
    assert_int_equal(fd, -1);

    /* a socket file nobody listens on */
    path = apr_pstrcat(p, dir, "/dead.sock", NULL);
    l = socket(AF_UNIX, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(l);
    assert_int_equal(xf_fdpass_connect(&fd, &reason, path, 100, p),
                     APR_FROM_OS_ERROR(ECONNREFUSED));
    unlink(path);
    rmdir(dir);
}

static void test_connect_and_close(void **state)
{
    apr_pool_t *p = *state;
    char dir[] = "/tmp/xfut.XXXXXX";
    const char *path, *reason = NULL;
    struct sockaddr_un sa;
    int fd = -1, l, a;

    assert_non_null(mkdtemp(dir));
    path = apr_pstrcat(p, dir, "/ok.sock", NULL);
    l = socket(AF_UNIX, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(l, 4), 0);
    assert_int_equal(xf_fdpass_connect(&fd, &reason, path, 100, p),
                     APR_SUCCESS);
    assert_true(fd >= 0);
    assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
    a = accept(l, NULL, NULL);
    assert_true(a >= 0);
    xf_fdpass_close(fd, p);
    /* closed: the peer sees EOF */
    {
        char b;
        assert_int_equal(read(a, &b, 1), 0);
    }
    close(a);
    close(l);
    unlink(path);
    rmdir(dir);
}

static void test_connect_path_too_long(void **state)
{
    apr_pool_t *p = *state;
    char longp[200];
    const char *reason = NULL;
    int fd;

    memset(longp, 'a', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = '\0';
    assert_int_equal(xf_fdpass_connect(&fd, &reason, longp, 100, p),
                     APR_ENAMETOOLONG);
    assert_non_null(strstr(reason, "limit is 107"));
}

static void test_blocking_roundtrip(void **state)
{
    int sp[2], was = 0;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp),
                     0);
    assert_int_equal(xf_fdpass_set_blocking(&was, sp[0]), APR_SUCCESS);
    assert_int_equal(was, 1);
    assert_false(fcntl(sp[0], F_GETFL) & O_NONBLOCK);
    assert_int_equal(xf_fdpass_set_blocking(&was, sp[0]), APR_SUCCESS);
    assert_int_equal(was, 0);
    assert_int_equal(xf_fdpass_set_nonblocking(sp[0]), APR_SUCCESS);
    assert_true(fcntl(sp[0], F_GETFL) & O_NONBLOCK);
    close(sp[0]);
    close(sp[1]);
}

static void test_parse_status(void **state)
{
    assert_int_equal(xf_fdpass_parse_status("HTTP/1.1 404 Not Found\r\n", 24),
                     404);
    assert_int_equal(xf_fdpass_parse_status("HTTP/1.0 200\r\n", 14), 200);
    assert_int_equal(xf_fdpass_parse_status("HTTP/1.1 20x OK\r\n", 17), -1);
    assert_int_equal(xf_fdpass_parse_status("HTTP/1.1 2000 OK\r\n", 18), -1);
    assert_int_equal(xf_fdpass_parse_status("garbage here\r\n", 14), -1);
    assert_int_equal(xf_fdpass_parse_status("HTTP/1.1 404", 8), -1);
    assert_int_equal(xf_fdpass_parse_status("HTTP/1.1 099 x\r\n", 16), -1);
}

static void test_read_reply(void **state)
{
    int sp[2], st = 99;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    /* nothing written, peer open: the wait ends */
    assert_int_equal(xf_fdpass_read_reply(&st, sp[0], 10), APR_SUCCESS);
    assert_int_equal(st, -1);
    /* a 404 head, as xenopsd writes for an unknown path */
    assert_int_equal(write(sp[1], "HTTP/1.1 404 Not Found\r\n\r\n", 26), 26);
    assert_int_equal(xf_fdpass_read_reply(&st, sp[0], 100), APR_SUCCESS);
    assert_int_equal(st, 404);
    close(sp[1]);
    /* EOF */
    assert_int_equal(xf_fdpass_read_reply(&st, sp[0], 100), APR_SUCCESS);
    assert_int_equal(st, 0);
    close(sp[0]);

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    assert_int_equal(write(sp[1], "junk junk junk\n", 15), 15);
    assert_int_equal(xf_fdpass_read_reply(&st, sp[0], 100), APR_SUCCESS);
    assert_int_equal(st, -2);
    close(sp[0]);
    close(sp[1]);
}

/* One conversion of APR timeouts to poll() milliseconds: below 1 ms is
 * 1 ms (the relay once truncated it to 0, which it read as no limit). */
static void test_timeout_ms(void **state)
{
    (void)state;
    assert_int_equal(xf_fdpass_timeout_ms(-1), -1);
    assert_int_equal(xf_fdpass_timeout_ms(-5000), -1);
    assert_int_equal(xf_fdpass_timeout_ms(0), 0);
    assert_int_equal(xf_fdpass_timeout_ms(1), 1);
    assert_int_equal(xf_fdpass_timeout_ms(999), 1);
    assert_int_equal(xf_fdpass_timeout_ms(1000), 1);
    assert_int_equal(xf_fdpass_timeout_ms(1999), 1);
    assert_int_equal(xf_fdpass_timeout_ms(apr_time_from_sec(300)), 300000);
    assert_int_equal(xf_fdpass_timeout_ms(APR_INT64_MAX), INT_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_send_fd_works, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eintr_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_send_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eagain_waits_then_times_out, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_peer_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_payload_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_connect_missing_and_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_connect_and_close, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_connect_path_too_long, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_blocking_roundtrip, setup,
                                        teardown),
        cmocka_unit_test(test_parse_status),
        cmocka_unit_test(test_read_reply),
        cmocka_unit_test(test_timeout_ms),
    };
    int rc;

    apr_initialize();
    rc = cmocka_run_group_tests_name("xf_fdpass", tests, NULL, NULL);
    apr_terminate();
    return rc;
}
