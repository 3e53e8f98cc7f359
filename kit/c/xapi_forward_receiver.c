/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xapi_forward_receiver.c - libxfrecv: receive one envelope and its
 * descriptor (recvmsg, SCM_RIGHTS), parse it with json-c, answer on the
 * descriptor. See xapi_forward_receiver.h for the manual.
 */
#include "xapi_forward_receiver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <json.h>

typedef struct priv_t {
    json_object *root;
    xfr_kv *kv; /* query, cookie, headers in one allocation */
} priv_t;

int xfr_listen(const char *path, int backlog)
{
    struct sockaddr_un sa;
    struct stat sb;
    int s;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
        unlink(path);
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        chmod(path, 0666) != 0 || listen(s, backlog) != 0) {
        int e = errno;

        close(s);
        errno = e;
        return -1;
    }
    return s;
}

const char *xfr_strerror(int err)
{
    switch (err) {
    case XFR_OK:
        return "success";
    case XFR_ESYS:
        return "recvmsg failed";
    case XFR_ECLOSED:
        return "connection closed without a message";
    case XFR_ETOOBIG:
        return "message too long";
    case XFR_ECTRUNC:
        return "ancillary data truncated (too many descriptors)";
    case XFR_ENOFD:
        return "message without a descriptor";
    case XFR_EJSON:
        return "malformed JSON";
    case XFR_EENVELOPE:
        return "JSON that is not an envelope";
    case XFR_ENOMEM:
        return "out of memory";
    default:
        return "unknown error";
    }
}

static void close_fds(const int *fds, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        close(fds[i]);
}

/* The method of "m": "Get" ... or ["Unknown","X"]. */
static const char *method_of(json_object *m)
{
    static const char *const names[][2] = {
        {"Get", "GET"},         {"Post", "POST"},       {"Put", "PUT"},
        {"Connect", "CONNECT"}, {"Options", "OPTIONS"},
    };
    size_t i;

    if (json_object_is_type(m, json_type_string)) {
        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (!strcmp(json_object_get_string(m), names[i][0]))
                return names[i][1];
        return NULL;
    }
    if (json_object_is_type(m, json_type_array) &&
        json_object_array_length(m) == 2) {
        json_object *a = json_object_array_get_idx(m, 0);
        json_object *b = json_object_array_get_idx(m, 1);

        if (json_object_is_type(a, json_type_string) &&
            !strcmp(json_object_get_string(a), "Unknown") &&
            json_object_is_type(b, json_type_string))
            return json_object_get_string(b);
    }
    return NULL;
}

/* An object of strings (or absent) -> count; -1 if not. */
static int count_strings(json_object *root, const char *key, json_object **pobj)
{
    int n = 0;

    *pobj = NULL;
    if (!json_object_object_get_ex(root, key, pobj))
        return 0;
    if (!json_object_is_type(*pobj, json_type_object))
        return -1;
    json_object_object_foreach(*pobj, k, v)
    {
        (void)k;
        if (!json_object_is_type(v, json_type_string))
            return -1;
        n++;
    }
    return n;
}

static void fill_kv(xfr_kv *kv, json_object *obj)
{
    size_t i = 0;

    if (!obj)
        return;
    json_object_object_foreach(obj, k, v)
    {
        kv[i].key = k;
        kv[i].value = json_object_get_string(v);
        i++;
    }
}

static int opt_string(const char **out, json_object *root, const char *key)
{
    json_object *v;

    *out = NULL;
    if (!json_object_object_get_ex(root, key, &v))
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return -1;
    *out = json_object_get_string(v);
    return 0;
}

static int parse_envelope(xfr_request *r, priv_t *pv)
{
    json_object *root = pv->root, *v, *q, *c, *h;
    int nq, nc, nh;

    if (!json_object_is_type(root, json_type_object))
        return XFR_EENVELOPE;
    if (!json_object_object_get_ex(root, "m", &v) ||
        !(r->method = method_of(v)))
        return XFR_EENVELOPE;
    if (opt_string(&r->path, root, "path") ||
        (!r->path && opt_string(&r->path, root, "uri")) || !r->path)
        return XFR_EENVELOPE;
    if (opt_string(&r->version, root, "version") ||
        opt_string(&r->transfer_encoding, root, "transfer_encoding") ||
        opt_string(&r->host, root, "host") ||
        opt_string(&r->user_agent, root, "user_agent") ||
        opt_string(&r->content_type, root, "content_type"))
        return XFR_EENVELOPE;
    if (!r->version)
        r->version = "1.1";
    r->content_length = -1;
    if (json_object_object_get_ex(root, "content_length", &v)) {
        if (!json_object_is_type(v, json_type_int) ||
            json_object_get_int64(v) < 0)
            return XFR_EENVELOPE;
        r->content_length = json_object_get_int64(v);
    }
    r->close = 1;
    if (json_object_object_get_ex(root, "close", &v)) {
        if (!json_object_is_type(v, json_type_boolean))
            return XFR_EENVELOPE;
        r->close = json_object_get_boolean(v);
    }
    nq = count_strings(root, "query", &q);
    nc = count_strings(root, "cookie", &c);
    nh = count_strings(root, "additional_headers", &h);
    if (nq < 0 || nc < 0 || nh < 0)
        return XFR_EENVELOPE;
    pv->kv = calloc((size_t)(nq + nc + nh) + 1, sizeof(xfr_kv));
    if (!pv->kv)
        return XFR_ENOMEM;
    fill_kv(pv->kv, q);
    fill_kv(pv->kv + nq, c);
    fill_kv(pv->kv + nq + nc, h);
    r->query = pv->kv;
    r->n_query = (size_t)nq;
    r->cookie = pv->kv + nq;
    r->n_cookie = (size_t)nc;
    r->headers = pv->kv + nq + nc;
    r->n_headers = (size_t)nh;
    return XFR_OK;
}

/* One recvmsg: the bytes (malloc'ed, NUL-terminated) and the fds. */
static int recv_one(char **pbuf, ssize_t *plen, int *fds, size_t *pnfds,
                    int conn, size_t max_size)
{
    union {
        char buf[CMSG_SPACE(XFR_MAX_FDS * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr mh;
    struct iovec iov;
    struct cmsghdr *cm;
    char *buf = malloc(max_size + 2);
    ssize_t n;

    *pnfds = 0;
    if (!buf)
        return XFR_ENOMEM;
    iov.iov_base = buf;
    iov.iov_len = max_size + 1; /* one more: a longer message shows */
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.buf;
    mh.msg_controllen = sizeof(ctl.buf);
    do
        n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        free(buf);
        return XFR_ESYS;
    }
    for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
        size_t k, cnt;

        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        cnt = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (k = 0; k < cnt && *pnfds < XFR_MAX_FDS; k++)
            memcpy(&fds[(*pnfds)++], CMSG_DATA(cm) + k * sizeof(int),
                   sizeof(int));
    }
    buf[n] = '\0';
    *pbuf = buf;
    *plen = n;
    if (mh.msg_flags & MSG_CTRUNC)
        return XFR_ECTRUNC;
    if ((mh.msg_flags & MSG_TRUNC) || (size_t)n > max_size)
        return XFR_ETOOBIG;
    if (n == 0 && *pnfds == 0)
        return XFR_ECLOSED;
    if (*pnfds == 0)
        return XFR_ENOFD;
    return XFR_OK;
}

int xfr_receive(xfr_request **preq, int conn, size_t max_size)
{
    int fds[XFR_MAX_FDS];
    size_t nfds = 0;
    char *buf = NULL;
    ssize_t n = 0;
    xfr_request *r = NULL;
    priv_t *pv = NULL;
    json_tokener *tok = NULL;
    int err, fl;

    *preq = NULL;
    err = recv_one(&buf, &n, fds, &nfds, conn,
                   max_size ? max_size : XFR_DEFAULT_MAX);
    if (err != XFR_OK)
        goto cleanup;
    close_fds(fds + 1, nfds - 1); /* only the first is the client's */
    nfds = 1;
    r = calloc(1, sizeof(*r));
    pv = calloc(1, sizeof(*pv));
    tok = json_tokener_new();
    if (!r || !pv || !tok) {
        err = XFR_ENOMEM;
        goto cleanup;
    }
    pv->root = json_tokener_parse_ex(tok, buf, (int)n);
    if (!pv->root || json_tokener_get_error(tok) != json_tokener_success ||
        (size_t)json_tokener_get_parse_end(tok) != (size_t)n) {
        err = XFR_EJSON;
        goto cleanup;
    }
    r->priv = pv;
    err = parse_envelope(r, pv);
    if (err != XFR_OK)
        goto cleanup;
    r->envelope = buf;
    r->envelope_len = (size_t)n;
    r->fd = fds[0];
    /* the front door made it blocking; a relay socketpair end is too */
    fl = fcntl(r->fd, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK))
        fcntl(r->fd, F_SETFL, fl & ~O_NONBLOCK);
    *preq = r;
    r = NULL;
    pv = NULL;
    buf = NULL;
    nfds = 0;
cleanup:
    if (tok)
        json_tokener_free(tok);
    if (pv) {
        if (pv->root)
            json_object_put(pv->root);
        free(pv->kv);
        free(pv);
    }
    free(r);
    free(buf);
    close_fds(fds, nfds);
    return err;
}

static const char *kv_get(const xfr_kv *kv, size_t n, const char *key,
                          int nocase)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (nocase ? !strcasecmp(kv[i].key, key) : !strcmp(kv[i].key, key))
            return kv[i].value;
    return NULL;
}

const char *xfr_query(const xfr_request *req, const char *key)
{
    return kv_get(req->query, req->n_query, key, 0);
}

const char *xfr_cookie(const xfr_request *req, const char *key)
{
    return kv_get(req->cookie, req->n_cookie, key, 0);
}

const char *xfr_header(const xfr_request *req, const char *name)
{
    return kv_get(req->headers, req->n_headers, name, 1);
}

int xfr_read_body(const xfr_request *req, char **pbody, size_t *plen,
                  size_t limit)
{
    size_t want, got = 0;
    char *b;

    *pbody = NULL;
    *plen = 0;
    if (req->transfer_encoding &&
        strcasecmp(req->transfer_encoding, "identity")) {
        errno = EPROTO;
        return -1;
    }
    want = req->content_length > 0 ? (size_t)req->content_length : 0;
    if (want > limit) {
        errno = EFBIG;
        return -1;
    }
    b = malloc(want + 1);
    if (!b)
        return -1;
    while (got < want) {
        ssize_t n = read(req->fd, b + got, want - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(b);
            if (n == 0)
                errno = ECONNRESET;
            return -1;
        }
        got += (size_t)n;
    }
    b[got] = '\0';
    *pbody = b;
    *plen = got;
    return 0;
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 500:
        return "Internal Server Error";
    default:
        return "Status";
    }
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

        if (n < 0 && errno == ENOTSOCK)
            n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int xfr_respond(int fd, int status, const char *content_type, const void *body,
                size_t len)
{
    char head[512];
    int n;

    if (status < 100 || status > 999 ||
        (content_type && strpbrk(content_type, "\r\n"))) {
        errno = EINVAL;
        return -1;
    }
    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n%s%s%s"
                 "Connection: close\r\n\r\n",
                 status, reason(status), len,
                 content_type ? "Content-Type: " : "",
                 content_type ? content_type : "", content_type ? "\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof(head)) {
        errno = EINVAL;
        return -1;
    }
    if (write_all(fd, head, (size_t)n) != 0)
        return -1;
    return len ? write_all(fd, body, len) : 0;
}

int xfr_request_take_fd(xfr_request *req)
{
    int fd = req->fd;

    req->fd = -1;
    return fd;
}

void xfr_request_free(xfr_request *req)
{
    priv_t *pv;

    if (!req)
        return;
    pv = req->priv;
    if (req->fd >= 0)
        close(req->fd);
    if (pv) {
        json_object_put(pv->root);
        free(pv->kv);
        free(pv);
    }
    free((char *)req->envelope);
    free(req);
}
