/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * proxy80.c - xapi's port 80, as far as the catch-all rows of
 * bench/extra.sh need it: a TCP listener on 127.0.0.1 that serves each
 * connection with a thread of its own (as xapi does), takes the PROXY line
 * a TLS front door sends first (stunnel's "protocol = proxy", or
 * XapiForwardProxyProtocol On), then answers GET /small with 100 bytes,
 * keep-alive as HTTP/1.x has it, until the client closes.
 *
 *   proxy80 PORT [--proxy]   --proxy: every connection must start with a
 *                            PROXY v1 line (else it is closed, counted)
 *
 * It prints one line at SIGTERM: connections, requests, refused.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF 16384

static int need_proxy;
static atomic_long n_conns, n_reqs, n_refused;

static const char body[] = "0123456789012345678901234567890123456789"
                           "0123456789012345678901234567890123456789"
                           "01234567890123456789";

static void on_term(int sig)
{
    char line[128];
    int n = snprintf(line, sizeof(line),
                     "proxy80: %ld connections, %ld requests, %ld refused\n",
                     atomic_load(&n_conns), atomic_load(&n_reqs),
                     atomic_load(&n_refused));

    (void)sig;
    if (n > 0 && write(1, line, (size_t)n) < 0)
        _exit(1);
    _exit(0);
}

/* the end of the head in buf[0..len), or NULL */
static char *head_end(char *buf, size_t len)
{
    size_t i;

    for (i = 3; i < len; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' &&
            buf[i - 3] == '\r')
            return buf + i + 1;
    return NULL;
}

/* does the head [buf, end) keep the connection open after its answer? */
static int keeps_alive(const char *buf, const char *end)
{
    const char *eol = memchr(buf, '\n', (size_t)(end - buf));
    int http11 = eol && eol - buf >= 9 && !memcmp(eol - 9, "HTTP/1.1", 8);
    const char *p;

    for (p = eol ? eol + 1 : end; p < end;) {
        const char *next = memchr(p, '\n', (size_t)(end - p));

        if (!next)
            break;
        if (!strncasecmp(p, "Connection:", 11)) {
            const char *v = p + 11;

            while (*v == ' ')
                v++;
            if (!strncasecmp(v, "close", 5))
                return 0;
            if (!strncasecmp(v, "keep-alive", 10))
                return 1;
        }
        p = next + 1;
    }
    return http11;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void *serve(void *arg)
{
    int fd = (int)(long)arg;
    char *buf = malloc(BUF);
    size_t len = 0;
    int first = 1;

    while (buf) {
        char *end = head_end(buf, len);
        ssize_t r;

        if (end && first && need_proxy) {
            /* the PROXY line is a line of its own, before the head */
            char *nl = memchr(buf, '\n', len);

            if (strncmp(buf, "PROXY ", 6) || !nl) {
                atomic_fetch_add(&n_refused, 1);
                break;
            }
            first = 0;
            len -= (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, len);
            continue;
        }
        if (end) {
            char head[192];
            int keep = keeps_alive(buf, end);
            int n = snprintf(head, sizeof(head),
                             "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             "Content-Length: %zu\r\n%s\r\n",
                             sizeof(body) - 1,
                             keep ? "Connection: keep-alive\r\n"
                                  : "Connection: close\r\n");

            first = 0;
            atomic_fetch_add(&n_reqs, 1);
            if (send_all(fd, head, (size_t)n) ||
                send_all(fd, body, sizeof(body) - 1) || !keep)
                break;
            len -= (size_t)(end - buf);
            memmove(buf, end, len);
            continue;
        }
        if (len == BUF)
            break;
        r = recv(fd, buf + len, BUF - len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    free(buf);
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    pthread_attr_t attr;
    int one = 1, ls;

    if (argc < 2) {
        fprintf(stderr, "usage: proxy80 PORT [--proxy]\n");
        return 2;
    }
    need_proxy = argc > 2 && !strcmp(argv[2], "--proxy");
    signal(SIGTERM, on_term);
    sa.sin_port = htons((unsigned short)atoi(argv[1]));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
        bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 1024)) {
        perror("proxy80: listen");
        return 1;
    }
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (;;) {
        pthread_t t;
        int fd = accept(ls, NULL, NULL);

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("proxy80: accept");
            return 1;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        atomic_fetch_add(&n_conns, 1);
        if (pthread_create(&t, &attr, serve, (void *)(long)fd))
            close(fd);
    }
}
