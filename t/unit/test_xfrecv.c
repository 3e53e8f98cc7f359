/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * test_xfrecv.c - the C receiver kit (kit/c, libxfrecv) against real
 * sockets: a good envelope and its fields (uri vs path, Unknown methods,
 * query, cookies, headers), no descriptor, several (extras closed), too many
 * (MSG_CTRUNC), a message too long (stream and MSG_TRUNC on seqpacket),
 * malformed JSON and JSON that is no envelope, a closed peer; no
 * descriptor ever leaks; the response writer and the body reader.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "xapi_forward_receiver.h"

#define GOOD                                                                   \
    "{\"m\":\"Put\",\"uri\":\"/old\",\"path\":\"/services/plugin/x/a b\","     \
    "\"query\":{\"name\":\"kit\",\"k\":\"1\"},\"version\":\"1.0\","            \
    "\"frame\":false,\"content_length\":5,\"cookie\":{\"lang\":\"en\"},"       \
    "\"host\":\"h\",\"close\":false,\"additional_headers\":{\"x-a\":\"1\"}}"

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* send data with nfds descriptors (each a fresh socketpair end; the other
 * ends are put in peers) on s */
static void send_msg(int s, const char *data, size_t len, int nfds, int *peers)
{
    union {
        char buf[CMSG_SPACE(16 * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr mh;
    struct iovec iov;
    int fds[16], i, sp[2];

    assert_true(nfds <= 16);
    for (i = 0; i < nfds; i++) {
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
        fds[i] = sp[0];
        peers[i] = sp[1];
    }
    memset(&mh, 0, sizeof(mh));
    memset(&ctl, 0, sizeof(ctl));
    iov.iov_base = (void *)data;
    iov.iov_len = len;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (nfds) {
        struct cmsghdr *cm;

        mh.msg_control = ctl.buf;
        mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
    }
    assert_int_equal(sendmsg(s, &mh, 0), (ssize_t)len);
    for (i = 0; i < nfds; i++)
        close(fds[i]);
}

/* receive what send_msg sent with nfds descriptors over a fresh pair */
static int roundtrip(xfr_request **preq, int type, const char *data, size_t len,
                     int nfds, size_t max, int *peers)
{
    int sv[2], err;

    assert_int_equal(socketpair(AF_UNIX, type, 0, sv), 0);
    send_msg(sv[0], data, len, nfds, peers);
    close(sv[0]);
    err = xfr_receive(preq, sv[1], max);
    close(sv[1]);
    return err;
}

static void close_peers(int *peers, int n)
{
    int i;

    for (i = 0; i < n; i++)
        close(peers[i]);
}

static void test_good(void **state)
{
    xfr_request *r = NULL;
    int peer, base = open_fds();

    (void)state;
    assert_int_equal(
        roundtrip(&r, SOCK_STREAM, GOOD, strlen(GOOD), 1, 0, &peer), XFR_OK);
    assert_string_equal(r->method, "PUT");
    assert_string_equal(r->path, "/services/plugin/x/a b"); /* path wins */
    assert_string_equal(r->version, "1.0");
    assert_int_equal(r->content_length, 5);
    assert_string_equal(r->host, "h");
    assert_null(r->user_agent);
    assert_false(r->close);
    assert_int_equal(r->n_query, 2);
    assert_string_equal(xfr_query(r, "name"), "kit");
    assert_null(xfr_query(r, "NAME"));
    assert_string_equal(xfr_cookie(r, "lang"), "en");
    assert_string_equal(xfr_header(r, "X-A"), "1");
    assert_int_equal(r->envelope_len, strlen(GOOD));
    assert_memory_equal(r->envelope, GOOD, strlen(GOOD));
    assert_true(fcntl(r->fd, F_GETFD) & FD_CLOEXEC);
    /* the fd is the client's: what the peer writes is the body */
    {
        char *body;
        size_t blen;

        assert_int_equal(write(peer, "hello", 5), 5);
        assert_int_equal(xfr_read_body(r, &body, &blen, 100), 0);
        assert_int_equal(blen, 5);
        assert_string_equal(body, "hello");
        free(body);
    }
    assert_int_equal(xfr_respond(r->fd, 404, "text/plain", "no\n", 3), 0);
    xfr_request_free(r);
    {
        char resp[256];
        ssize_t n = read(peer, resp, sizeof(resp) - 1);

        assert_true(n > 0);
        resp[n] = '\0';
        assert_string_equal(resp, "HTTP/1.1 404 Not Found\r\n"
                                  "Content-Length: 3\r\n"
                                  "Content-Type: text/plain\r\n"
                                  "Connection: close\r\n\r\nno\n");
    }
    close(peer);
    assert_int_equal(open_fds(), base);
}

static void test_uri_only_unknown_method(void **state)
{
    static const char env[] =
        "{\"m\":[\"Unknown\",\"HEAD\"],\"uri\":\"/u\",\"query\":{},"
        "\"cookie\":{},\"close\":true,\"additional_headers\":{}}";
    xfr_request *r = NULL;
    int peer;

    (void)state;
    assert_int_equal(roundtrip(&r, SOCK_STREAM, env, strlen(env), 1, 0, &peer),
                     XFR_OK);
    assert_string_equal(r->method, "HEAD");
    assert_string_equal(r->path, "/u");
    assert_int_equal(r->content_length, -1);
    assert_int_equal(r->n_query, 0);
    assert_true(r->close);
    {
        int fd = xfr_request_take_fd(r);

        assert_true(fd >= 0);
        assert_int_equal(r->fd, -1);
        xfr_request_free(r); /* does not close the taken fd */
        assert_true(fcntl(fd, F_GETFD) >= 0);
        close(fd);
    }
    close(peer);
}

static void test_fd_counts(void **state)
{
    xfr_request *r = NULL;
    int peers[16], base = open_fds();

    (void)state;
    /* none */
    assert_int_equal(
        roundtrip(&r, SOCK_STREAM, GOOD, strlen(GOOD), 0, 0, peers), XFR_ENOFD);
    assert_null(r);
    assert_int_equal(open_fds(), base);
    /* three: the first is kept, the others closed */
    assert_int_equal(
        roundtrip(&r, SOCK_STREAM, GOOD, strlen(GOOD), 3, 0, peers), XFR_OK);
    assert_int_equal(open_fds(), base + 3 + 1);
    {
        char c;

        /* the extras are closed: their peers see EOF */
        assert_int_equal(read(peers[1], &c, 1), 0);
        assert_int_equal(read(peers[2], &c, 1), 0);
    }
    xfr_request_free(r);
    close_peers(peers, 3);
    assert_int_equal(open_fds(), base);
    /* more than XFR_MAX_FDS: MSG_CTRUNC, everything closed */
    assert_int_equal(roundtrip(&r, SOCK_STREAM, GOOD, strlen(GOOD),
                               XFR_MAX_FDS + 2, 0, peers),
                     XFR_ECTRUNC);
    assert_null(r);
    close_peers(peers, XFR_MAX_FDS + 2);
    assert_int_equal(open_fds(), base);
}

static void test_too_big(void **state)
{
    xfr_request *r = NULL;
    int peer, base = open_fds();

    (void)state;
    /* stream: more bytes than max_size */
    assert_int_equal(
        roundtrip(&r, SOCK_STREAM, GOOD, strlen(GOOD), 1, 64, &peer),
        XFR_ETOOBIG);
    close(peer);
    /* seqpacket: the kernel says MSG_TRUNC */
    assert_int_equal(
        roundtrip(&r, SOCK_SEQPACKET, GOOD, strlen(GOOD), 1, 32, &peer),
        XFR_ETOOBIG);
    close(peer);
    /* exactly max_size is fine */
    assert_int_equal(roundtrip(&r, SOCK_SEQPACKET, GOOD, strlen(GOOD), 1,
                               strlen(GOOD), &peer),
                     XFR_OK);
    xfr_request_free(r);
    close(peer);
    assert_int_equal(open_fds(), base);
}

static void test_malformed(void **state)
{
    static const char *const bad_json[] = {
        "{",        "{\"m\":\"Get\",",
        "not json", "{\"m\":\"Get\"} trailing",
        "\xff\xfe", NULL};
    static const char *const not_env[] = {
        "[1,2]",
        "\"str\"",
        "{\"uri\":\"/x\"}",
        "{\"m\":\"Delete\",\"uri\":\"/x\"}",
        "{\"m\":[\"Unknown\"],\"uri\":\"/x\"}",
        "{\"m\":\"Get\"}",
        "{\"m\":\"Get\",\"uri\":7}",
        "{\"m\":\"Get\",\"path\":\"/x\",\"query\":{\"a\":1}}",
        "{\"m\":\"Get\",\"path\":\"/x\",\"query\":[]}",
        "{\"m\":\"Get\",\"path\":\"/x\",\"content_length\":-1}",
        "{\"m\":\"Get\",\"path\":\"/x\",\"content_length\":\"5\"}",
        "{\"m\":\"Get\",\"path\":\"/x\",\"close\":\"yes\"}",
        "{\"m\":\"Get\",\"path\":\"/x\",\"host\":1}",
        NULL};
    xfr_request *r = NULL;
    int peer, i, base = open_fds();

    (void)state;
    for (i = 0; bad_json[i]; i++) {
        assert_int_equal(roundtrip(&r, SOCK_STREAM, bad_json[i],
                                   strlen(bad_json[i]), 1, 0, &peer),
                         XFR_EJSON);
        assert_null(r);
        close(peer);
    }
    for (i = 0; not_env[i]; i++) {
        assert_int_equal(roundtrip(&r, SOCK_STREAM, not_env[i],
                                   strlen(not_env[i]), 1, 0, &peer),
                         XFR_EENVELOPE);
        assert_null(r);
        close(peer);
    }
    assert_int_equal(open_fds(), base);
}

static void test_closed_and_errors(void **state)
{
    xfr_request *r = NULL;
    int sv[2];

    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[0]);
    assert_int_equal(xfr_receive(&r, sv[1], 0), XFR_ECLOSED);
    close(sv[1]);
    assert_int_equal(xfr_receive(&r, -1, 0), XFR_ESYS);
    assert_string_equal(xfr_strerror(XFR_ECTRUNC),
                        "ancillary data truncated (too many descriptors)");
    assert_string_equal(xfr_strerror(99), "unknown error");
    assert_int_equal(xfr_respond(1, 99, NULL, NULL, 0), -1);
    assert_int_equal(xfr_respond(1, 200, "a\r\nb", NULL, 0), -1);
}

static void test_body_limits(void **state)
{
    static const char chunked[] =
        "{\"m\":\"Post\",\"path\":\"/x\",\"transfer_encoding\":\"chunked\"}";
    static const char big[] =
        "{\"m\":\"Post\",\"path\":\"/x\",\"content_length\":1000}";
    xfr_request *r = NULL;
    int peer;
    char *body;
    size_t len;

    (void)state;
    assert_int_equal(
        roundtrip(&r, SOCK_STREAM, chunked, strlen(chunked), 1, 0, &peer),
        XFR_OK);
    assert_int_equal(xfr_read_body(r, &body, &len, 100), -1);
    assert_int_equal(errno, EPROTO);
    xfr_request_free(r);
    close(peer);
    assert_int_equal(roundtrip(&r, SOCK_STREAM, big, strlen(big), 1, 0, &peer),
                     XFR_OK);
    assert_int_equal(xfr_read_body(r, &body, &len, 100), -1);
    assert_int_equal(errno, EFBIG);
    assert_int_equal(write(peer, "abc", 3), 3);
    close(peer); /* EOF before 1000 bytes */
    assert_int_equal(xfr_read_body(r, &body, &len, 1000), -1);
    assert_int_equal(errno, ECONNRESET);
    xfr_request_free(r);
}

static void test_listen(void **state)
{
    char path[64];
    int l, c, a, peer;
    xfr_request *r = NULL;
    struct sockaddr_un {
        sa_family_t f;
        char p[108];
    } sa;

    (void)state;
    snprintf(path, sizeof(path), "/tmp/xfrecv-test-%d", (int)getpid());
    l = xfr_listen(path, 4);
    assert_true(l >= 0);
    close(l);
    l = xfr_listen(path, 4); /* a stale socket file is replaced */
    assert_true(l >= 0);
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.f = AF_UNIX;
    strcpy(sa.p, path);
    assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
    a = accept(l, NULL, NULL);
    send_msg(c, GOOD, strlen(GOOD), 1, &peer);
    assert_int_equal(xfr_receive(&r, a, 0), XFR_OK);
    xfr_request_free(r);
    close(peer);
    close(a);
    close(c);
    close(l);
    unlink(path);
    {
        char longp[200];

        memset(longp, 'x', sizeof(longp) - 1);
        longp[0] = '/';
        longp[sizeof(longp) - 1] = '\0';
        assert_int_equal(xfr_listen(longp, 4), -1);
        assert_int_equal(errno, ENAMETOOLONG);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_uri_only_unknown_method),
        cmocka_unit_test(test_fd_counts),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_closed_and_errors),
        cmocka_unit_test(test_body_limits),
        cmocka_unit_test(test_listen),
    };

    return cmocka_run_group_tests_name("xfrecv", tests, NULL, NULL);
}
