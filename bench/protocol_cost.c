/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * bench/protocol_cost.c - what xapi's hand-over protocol costs the front
 * end per relayed request, apart from httpd and this module: the CPU time
 * (user + system, of the calling thread) of each step a relayed request
 * takes (socket + connect to the daemon, the socketpair, sendmsg of the
 * envelope with one end, closing that end, waiting for and reading the
 * answer, closing the two sockets left), against what mod_proxy_http does
 * on a reused connection (write the request, wait, read the answer).
 * A daemon thread answers each request with a small HTTP response.
 *
 * build: cc -O2 -o protocol_cost bench/protocol_cost.c -lpthread
 * usage: taskset -c 0 ./protocol_cost [requests] [envelope bytes]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
                             "0123456789012345678901234567890123456789"
                             "0123456789012345678901234567890123456789"
                             "01234567890123456789";
static char sock_path[108];

static void die(const char *what)
{
    perror(what);
    exit(1);
}

/* The daemon: accept, take the message and its descriptor, answer on it. */
static void *daemon_main(void *arg)
{
    int lfd = *(int *)arg;
    char buf[65536];

    for (;;) {
        union {
            struct cmsghdr h;
            char b[CMSG_SPACE(sizeof(int))];
        } u;
        struct iovec iov = {buf, sizeof(buf)};
        struct msghdr m = {.msg_iov = &iov,
                           .msg_iovlen = 1,
                           .msg_control = u.b,
                           .msg_controllen = sizeof(u.b)};
        struct cmsghdr *c;
        int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), fd = -1;

        if (cfd < 0)
            die("accept");
        if (recvmsg(cfd, &m, MSG_CMSG_CLOEXEC) <= 0)
            die("recvmsg");
        for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
            if (c->cmsg_type == SCM_RIGHTS)
                memcpy(&fd, CMSG_DATA(c), sizeof(int));
        if (fd < 0 || write(fd, answer, sizeof(answer) - 1) < 0)
            die("answer");
        close(fd);
        close(cfd);
    }
    return NULL;
}

/* The backend of the comparison: one connection, answers each request. */
static void *http_main(void *arg)
{
    int fd = *(int *)arg;
    char buf[65536];

    while (read(fd, buf, sizeof(buf)) > 0)
        if (write(fd, answer, sizeof(answer) - 1) < 0)
            die("write");
    return NULL;
}

static double now_cpu(void)
{
    struct timespec t;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void wait_read(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    char buf[8192];

    if (poll(&p, 1, -1) != 1 || recv(fd, buf, sizeof(buf), 0) <= 0)
        die("answer");
}

enum { S_CONNECT, S_PAIR, S_SEND, S_CLOSE_END, S_ANSWER, S_CLOSE, S_N };
static const char *const step_name[S_N] = {
    "socket + connect to the daemon", "socketpair",
    "sendmsg: envelope + one end", "close the daemon's end",
    "poll + recv of the answer", "close our end and the daemon socket"};

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    size_t envlen = argc > 2 ? (size_t)atoi(argv[2]) : 600;
    char *env = malloc(envlen);
    double t[S_N] = {0}, t0, t1, empty = 0, http = 0;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int lfd, hp[2], i, k;
    pthread_t th;

    memset(env, 'x', envlen);
    snprintf(sock_path, sizeof(sock_path), "/tmp/protocol_cost.%d",
             (int)getpid());
    strcpy(sa.sun_path, sock_path);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(lfd, 128) < 0)
        die("listen");
    pthread_create(&th, NULL, daemon_main, &lfd);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, hp) < 0)
        die("socketpair");
    pthread_create(&th, NULL, http_main, &hp[1]);

    for (i = 0; i < n; i++) { /* the cost of reading the clock */
        t0 = now_cpu();
        t1 = now_cpu();
        empty += t1 - t0;
    }
    empty /= n;
    for (i = 0; i < n; i++) { /* a reused connection */
        t0 = now_cpu();
        if (write(hp[0], env, envlen) < 0)
            die("write");
        wait_read(hp[0]);
        http += now_cpu() - t0 - empty;
    }
    for (i = 0; i < n; i++) { /* the relay's protocol, step by step */
        union {
            struct cmsghdr h;
            char b[CMSG_SPACE(sizeof(int))];
        } u;
        struct iovec iov = {env, envlen};
        struct msghdr m = {.msg_iov = &iov,
                           .msg_iovlen = 1,
                           .msg_control = u.b,
                           .msg_controllen = sizeof(u.b)};
        struct cmsghdr *c;
        int uds, pair[2];

        t0 = now_cpu();
        uds = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (uds < 0 || connect(uds, (struct sockaddr *)&sa, sizeof(sa)) < 0)
            die("connect");
        t1 = now_cpu();
        t[S_CONNECT] += t1 - t0 - empty;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
            die("socketpair");
        t0 = now_cpu();
        t[S_PAIR] += t0 - t1 - empty;
        c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &pair[1], sizeof(int));
        if (sendmsg(uds, &m, MSG_NOSIGNAL) < 0)
            die("sendmsg");
        t1 = now_cpu();
        t[S_SEND] += t1 - t0 - empty;
        close(pair[1]);
        t0 = now_cpu();
        t[S_CLOSE_END] += t0 - t1 - empty;
        wait_read(pair[0]);
        t1 = now_cpu();
        t[S_ANSWER] += t1 - t0 - empty;
        close(pair[0]);
        close(uds);
        t0 = now_cpu();
        t[S_CLOSE] += t0 - t1 - empty;
    }
    unlink(sock_path);
    printf("front-end CPU per request, us (%d requests, %zu-byte "
           "envelope)\n",
           n, envlen);
    printf("  reused connection (mod_proxy_http's way): write + poll + "
           "recv   %6.2f\n",
           http / n);
    for (k = 0, t0 = 0; k < S_N; k++) {
        printf("  %-58s %6.2f\n", step_name[k], t[k] / n);
        t0 += t[k];
    }
    printf("  %-58s %6.2f\n", "xapi's protocol, all steps", t0 / n);
    printf("  %-58s %6.2f\n", "difference (the protocol's own cost)",
           (t0 - http) / n);
    return 0;
}
