/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * test_xf_xapi.c - xf_xapi_call() against a fake XAPI: a thread serving
 * canned HTTP/1.1 answers on an AF_UNIX socket in a mkdtemp directory. It
 * records each request so that the tests can check method, path and JSON.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strcasestr */
#endif
#include "xf_test.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <apr_strings.h>

#include <curl/curl.h>
#include <json.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "xf_xapi.h"

#define SESSION "OpaqueRef:0b5e1a2c-secret-session"
#define MAX_REQ 65536

static char tmpdir[] = "/tmp/xf_xapi.XXXXXX";

/* ---- the fake XAPI ----------------------------------------------------- */

typedef struct fake_t {
    char path[108];     /* unix socket path; "" for TCP */
    int port;           /* TCP port on 127.0.0.1 (TLS), else 0 */
    int lfd;            /* listening socket */
    int count;          /* connections to serve */
    const char *answer; /* raw HTTP answer; NULL: read, never answer */
    size_t answer_len;
    pthread_t thr;
    /* the last request, for the test to check */
    int served;         /* requests read completely */
    char line[256];     /* request line */
    char ctype[128];    /* Content-Type value */
    char body[MAX_REQ]; /* request body, NUL-terminated */
} fake_t;

static fake_t fake;
static SSL_CTX *tls_ctx; /* the fake's TLS identity: localhost, self-signed */

static ssize_t io_read(SSL *s, int fd, char *buf, size_t n)
{
    return s ? SSL_read(s, buf, (int)n) : read(fd, buf, n);
}

/* Read until "\r\n\r\n" and Content-Length more bytes; 0 on success. */
static int read_request(fake_t *f, SSL *s, int fd)
{
    static char buf[MAX_REQ + 1];
    size_t len = 0, need = 0;
    char *end = NULL, *cl;

    for (;;) {
        ssize_t n = io_read(s, fd, buf + len, MAX_REQ - len);

        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        if (!end && (end = strstr(buf, "\r\n\r\n"))) {
            *end = '\0';
            cl = strcasestr(buf, "\r\nContent-Length:");
            need =
                (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
        }
        if (end && len >= need)
            break;
        if (len == MAX_REQ)
            return -1;
    }
    snprintf(f->line, sizeof(f->line), "%.*s", (int)strcspn(buf, "\r\n"), buf);
    f->ctype[0] = '\0';
    if ((cl = strcasestr(buf, "\r\nContent-Type:"))) {
        cl += 15;
        cl += strspn(cl, " ");
        snprintf(f->ctype, sizeof(f->ctype), "%.*s", (int)strcspn(cl, "\r\n"),
                 cl);
    }
    snprintf(f->body, sizeof(f->body), "%.*s",
             (int)(len - (size_t)(end + 4 - buf)), end + 4);
    return 0;
}

static void serve_one(fake_t *f, int fd)
{
    SSL *s = NULL;
    char sink[4096];
    size_t off = 0;

    if (f->port &&
        (!(s = SSL_new(tls_ctx)) || !SSL_set_fd(s, fd) || SSL_accept(s) != 1))
        goto cleanup; /* the client refused our certificate */
    if (read_request(f, s, fd) == 0)
        f->served++;
    while (f->answer && off < f->answer_len) {
        ssize_t n =
            s ? SSL_write(s, f->answer + off, (int)(f->answer_len - off))
              : send(fd, f->answer + off, f->answer_len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the client gave up (oversize answers) */
        off += (size_t)n;
    }
    if (f->answer && s)
        SSL_shutdown(s);
    if (f->answer)
        shutdown(fd, SHUT_WR);
    /* wait for the client to hang up (at once, or on its timeout) */
    while (read(fd, sink, sizeof(sink)) > 0)
        ;

cleanup:
    SSL_free(s);
    close(fd);
}

static void *fake_main(void *arg)
{
    fake_t *f = arg;
    int i, fd;

    for (i = 0; i < f->count; i++) {
        struct pollfd pfd = {f->lfd, POLLIN, 0};

        if (poll(&pfd, 1, 5000) != 1) /* the client never came */
            break;
        if ((fd = accept(f->lfd, NULL, NULL)) < 0)
            break;
        serve_one(f, fd);
    }
    return NULL;
}

/* Start a fake serving `count` connections with one canned answer, on
 * <tmpdir>/xapi, or with TLS on an ephemeral port of 127.0.0.1. */
static void fake_start_on(const char *answer, size_t len, int count, int tls)
{
    struct sockaddr_un sa;
    struct sockaddr_in si;
    socklen_t sl = sizeof(si);

    memset(&sa, 0, sizeof(sa));
    memset(&si, 0, sizeof(si));
    fake.path[0] = '\0';
    fake.port = 0;
    if (tls) {
        si.sin_family = AF_INET;
        si.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fake.lfd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fake.lfd >= 0);
        assert_int_equal(bind(fake.lfd, (struct sockaddr *)&si, sl), 0);
        assert_int_equal(getsockname(fake.lfd, (struct sockaddr *)&si, &sl), 0);
        fake.port = ntohs(si.sin_port);
    }
    else {
        sa.sun_family = AF_UNIX;
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/xapi", tmpdir);
        snprintf(fake.path, sizeof(fake.path), "%s", sa.sun_path);
        unlink(fake.path);
        fake.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
        assert_true(fake.lfd >= 0);
        assert_int_equal(bind(fake.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    }
    assert_int_equal(listen(fake.lfd, 64), 0);
    fake.count = count;
    fake.answer = answer;
    fake.answer_len = len;
    fake.served = 0;
    fake.line[0] = fake.ctype[0] = fake.body[0] = '\0';
    assert_int_equal(pthread_create(&fake.thr, NULL, fake_main, &fake), 0);
}

static void fake_start(const char *answer, size_t len, int count)
{
    fake_start_on(answer, len, count, 0);
}

static void fake_stop(void)
{
    pthread_join(fake.thr, NULL);
    close(fake.lfd);
    if (fake.path[0])
        unlink(fake.path);
}

/* xf_xapi_call, then fake_stop: the fake is gone before any assert. */
static apr_status_t call_stop(xf_xapi_reply_t *rep,
                              const xf_xapi_endpoint_t *ep, const char *method,
                              const char *const *params, apr_pool_t *p)
{
    apr_status_t rv = xf_xapi_call(rep, ep, method, params, p);

    fake_stop();
    return rv;
}

/* A self-signed P-256 certificate for DNS:localhost: tls_ctx serves it,
 * <tmpdir>/ca.pem holds it for CURLOPT_CAINFO. 0 on success. */
static int tls_setup(void)
{
    EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
    EVP_PKEY *key = NULL;
    X509 *x = X509_new();
    X509_NAME *name;
    X509V3_CTX v3;
    X509_EXTENSION *san = NULL, *bc = NULL;
    char *path = NULL;
    FILE *fp = NULL;
    int rc = -1;

    /* the OpenSSL 1.1 way, still fine in 3.x */
    if (!kctx || EVP_PKEY_keygen_init(kctx) != 1 ||
        EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kctx, NID_X9_62_prime256v1) !=
            1 ||
        EVP_PKEY_keygen(kctx, &key) != 1)
        goto cleanup;
    if (!x || !X509_set_version(x, 2) ||
        !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 3600) ||
        !X509_set_pubkey(x, key) || !(name = X509_get_subject_name(x)) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                    (const unsigned char *)"localhost", -1, -1,
                                    0) ||
        !X509_set_issuer_name(x, name))
        goto cleanup;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    san = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:localhost");
    bc = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
                             "critical,CA:TRUE");
    if (!san || !bc || !X509_add_ext(x, san, -1) || !X509_add_ext(x, bc, -1) ||
        !X509_sign(x, key, EVP_sha256()))
        goto cleanup;
    path = malloc(strlen(tmpdir) + sizeof("/ca.pem"));
    if (!path)
        goto cleanup;
    sprintf(path, "%s/ca.pem", tmpdir);
    if (!(fp = fopen(path, "w")) || !PEM_write_X509(fp, x))
        goto cleanup;
    tls_ctx = SSL_CTX_new(TLS_server_method());
    if (!tls_ctx || SSL_CTX_use_certificate(tls_ctx, x) != 1 ||
        SSL_CTX_use_PrivateKey(tls_ctx, key) != 1)
        goto cleanup;
    rc = 0;

cleanup:
    if (fp)
        fclose(fp);
    free(path);
    X509_EXTENSION_free(san);
    X509_EXTENSION_free(bc);
    X509_free(x);
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(kctx);
    return rc;
}

/* An HTTP/1.1 answer with a body. */
static const char *http(apr_pool_t *p, int status, const char *ctype,
                        const char *body)
{
    return apr_psprintf(p,
                        "HTTP/1.1 %d X\r\nContent-Type: %s\r\n"
                        "Content-Length: %" APR_SIZE_T_FMT "\r\n"
                        "Connection: close\r\n\r\n%s",
                        status, ctype, strlen(body), body);
}

static xf_xapi_endpoint_t unix_ep(apr_pool_t *p, long timeout_ms)
{
    xf_xapi_endpoint_t ep = {NULL, NULL, 1, 0};

    ep.url = apr_pstrcat(p, "unix:", tmpdir, "/xapi", NULL);
    ep.timeout_ms = timeout_ms;
    return ep;
}

/* One call of `method` with params (SESSION, SESSION) against one canned
 * JSON-RPC answer; rep->error never contains the session. */
static void call_json(xf_xapi_reply_t *rep, apr_pool_t *p, int status,
                      const char *method, const char *json)
{
    const char *const params[] = {SESSION, SESSION, NULL};
    const char *ans = http(p, status, "application/json", json);
    xf_xapi_endpoint_t ep = unix_ep(p, 5000);

    fake_start(ans, strlen(ans), 1);
    assert_int_equal(call_stop(rep, &ep, method, params, p), APR_SUCCESS);
    if (rep->error)
        assert_null(strstr(rep->error, "secret-session"));
}

/* The request the fake saw: POST /jsonrpc, JSON, method and params. */
static void check_request(const char *method, int nparams)
{
    json_object *o = json_tokener_parse(fake.body), *v;
    int i;

    assert_int_equal(fake.served, 1);
    assert_string_equal(fake.line, "POST /jsonrpc HTTP/1.1");
    assert_string_equal(fake.ctype, "application/json");
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, "jsonrpc", &v));
    assert_string_equal(json_object_get_string(v), "2.0");
    assert_true(json_object_object_get_ex(o, "method", &v));
    assert_string_equal(json_object_get_string(v), method);
    assert_true(json_object_object_get_ex(o, "id", &v));
    assert_int_equal(json_object_get_int(v), 1);
    assert_true(json_object_object_get_ex(o, "params", &v));
    assert_true(json_object_is_type(v, json_type_array));
    assert_int_equal(json_object_array_length(v), nparams);
    for (i = 0; i < nparams; i++)
        assert_string_equal(
            json_object_get_string(json_object_array_get_idx(v, i)), SESSION);
    json_object_put(o);
}

/* ---- results ----------------------------------------------------------- */

static void test_ok_string(void **state)
{
    xf_xapi_reply_t rep;

    call_json(&rep, *state, 200, "session.get_uuid",
              "{\"jsonrpc\":\"2.0\",\"result\":\"0f6b-uuid\",\"id\":1}");
    check_request("session.get_uuid", 2);
    assert_int_equal(rep.code, XF_XAPI_OK);
    assert_string_equal(rep.str, "0f6b-uuid");
    assert_int_equal(rep.http_status, 200);
    assert_null(rep.error);
    assert_null(rep.list);
}

static void test_ok_bool(void **state)
{
    xf_xapi_reply_t rep;

    call_json(&rep, *state, 200, "session.get_is_local_superuser",
              "{\"jsonrpc\":\"2.0\",\"result\":true,\"id\":1}");
    check_request("session.get_is_local_superuser", 2);
    assert_int_equal(rep.code, XF_XAPI_OK);
    assert_int_equal(rep.boolean, 1);
    call_json(&rep, *state, 200, "session.get_is_local_superuser",
              "{\"jsonrpc\":\"2.0\",\"result\":false,\"id\":1}");
    assert_int_equal(rep.code, XF_XAPI_OK);
    assert_int_equal(rep.boolean, 0);
}

static void test_ok_list(void **state)
{
    apr_pool_t *p = *state;
    xf_xapi_reply_t rep;
    char *big;
    int i;

    call_json(&rep, p, 200, "session.get_rbac_permissions",
              "{\"jsonrpc\":\"2.0\",\"result\":[\"http/get_services\","
              "\"vm.start\",\"http/rrd\"],\"id\":1}");
    assert_int_equal(rep.code, XF_XAPI_OK);
    assert_non_null(rep.list);
    assert_string_equal(rep.list[0], "http/get_services");
    assert_string_equal(rep.list[2], "http/rrd");
    assert_null(rep.list[3]);
    call_json(&rep, p, 200, "m", "{\"result\":[],\"id\":1}");
    assert_int_equal(rep.code, XF_XAPI_OK);
    assert_null(rep.list[0]);
    /* a pool-admin's list: thousands of names */
    big = apr_palloc(p, 6000 * 17 + 32);
    strcpy(big, "{\"result\":[");
    for (i = 0; i < 6000; i++)
        sprintf(big + strlen(big), "%s\"vm.perm_%05d\"", i ? "," : "", i);
    strcat(big, "],\"id\":1}");
    call_json(&rep, p, 200, "m", big);
    assert_int_equal(rep.code, XF_XAPI_OK);
    assert_string_equal(rep.list[5999], "vm.perm_05999");
    assert_null(rep.list[6000]);
    /* a list holding a non-string is not what we asked for */
    call_json(&rep, p, 200, "m", "{\"result\":[\"a\",2],\"id\":1}");
    assert_int_equal(rep.code, XF_XAPI_GARBAGE);
    assert_null(rep.list);
}

/* Typed params: a number, a string set, strings (task.set_progress,
 * task.set_error_info, task.set_status), as XAPI's datamodel types them. */
static void test_typed_params(void **state)
{
    apr_pool_t *p = *state;
    const char *const info[] = {"RBAC_PERMISSION_DENIED", "http/rrd",
                                "a \"quoted\" message", NULL};
    const char *ans = http(p, 200, "application/json",
                           "{\"jsonrpc\":\"2.0\",\"result\":null,\"id\":1}");
    xf_xapi_endpoint_t ep = unix_ep(p, 5000);
    xf_xapi_param_t prm[5];
    xf_xapi_reply_t rep;
    json_object *o, *v, *e;

    memset(prm, 0, sizeof(prm));
    prm[0].s = SESSION;
    prm[1].s = "OpaqueRef:task";
    prm[2].type = XF_XAPI_FLOAT;
    prm[2].f = 1.0;
    prm[3].type = XF_XAPI_STRINGS;
    prm[3].list = info;
    prm[4].type = XF_XAPI_STRINGS; /* an empty set */
    fake_start(ans, strlen(ans), 1);
    assert_int_equal(xf_xapi_call_ex(&rep, &ep, "task.set_progress", prm, 5, p),
                     APR_SUCCESS);
    fake_stop();
    assert_int_equal(rep.code, XF_XAPI_OK); /* null result */
    assert_int_equal(fake.served, 1);
    o = json_tokener_parse(fake.body);
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, "method", &v));
    assert_string_equal(json_object_get_string(v), "task.set_progress");
    assert_true(json_object_object_get_ex(o, "params", &v));
    assert_int_equal(json_object_array_length(v), 5);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 0)),
                        SESSION);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 1)),
                        "OpaqueRef:task");
    e = json_object_array_get_idx(v, 2);
    assert_true(json_object_is_type(e, json_type_double));
    assert_true(json_object_get_double(e) == 1.0);
    e = json_object_array_get_idx(v, 3);
    assert_true(json_object_is_type(e, json_type_array));
    assert_int_equal(json_object_array_length(e), 3);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(e, 2)),
                        "a \"quoted\" message");
    e = json_object_array_get_idx(v, 4);
    assert_true(json_object_is_type(e, json_type_array));
    assert_int_equal(json_object_array_length(e), 0);
    json_object_put(o);
    /* the number goes on the wire as a JSON number, not a string */
    assert_non_null(strstr(fake.body, ",1.0,") ? fake.body
                                               : strstr(fake.body, ",1,"));
}

/* ---- XAPI errors ------------------------------------------------------- */

static void test_session_invalid(void **state)
{
    xf_xapi_reply_t rep;

    call_json(&rep, *state, 200, "session.get_uuid",
              "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":"
              "\"SESSION_INVALID\",\"data\":[\"" SESSION "\"]},\"id\":1}");
    assert_int_equal(rep.code, XF_XAPI_SESSION_INVALID);
    assert_string_equal(rep.error, "SESSION_INVALID");
    assert_null(rep.master);
}

static void test_host_is_slave(void **state)
{
    apr_pool_t *p = *state;
    xf_xapi_reply_t rep;
    xf_xapi_endpoint_t ep = unix_ep(p, 1234), *m;

    call_json(&rep, p, 200, "session.get_uuid",
              "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":"
              "\"HOST_IS_SLAVE\",\"data\":[\"192.0.2.7\"]},\"id\":1}");
    assert_int_equal(rep.code, XF_XAPI_HOST_IS_SLAVE);
    assert_string_equal(rep.master, "192.0.2.7");
    m = xf_xapi_master_endpoint(&ep, rep.master, p);
    assert_non_null(m);
    assert_string_equal(m->url, "https://192.0.2.7");
    assert_int_equal(m->timeout_ms, 1234);
    /* a master that could rewrite the URL is not followed */
    call_json(&rep, p, 200, "m",
              "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":"
              "\"HOST_IS_SLAVE\",\"data\":[\"evil@x/y\"]},\"id\":1}");
    assert_int_equal(rep.code, XF_XAPI_API_ERROR);
    assert_null(rep.master);
    call_json(&rep, p, 200, "m",
              "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":"
              "\"HOST_IS_SLAVE\",\"data\":[]},\"id\":1}");
    assert_int_equal(rep.code, XF_XAPI_API_ERROR);
    assert_string_equal(rep.error, "HOST_IS_SLAVE");
}

static void test_master_endpoint(void **state)
{
    apr_pool_t *p = *state;
    xf_xapi_endpoint_t ep = {"https://localhost", "/etc/ca.pem", 1, 700};
    xf_xapi_endpoint_t *m;

    m = xf_xapi_master_endpoint(&ep, "master.example.org", p);
    assert_string_equal(m->url, "https://master.example.org");
    assert_string_equal(m->ca_file, "/etc/ca.pem");
    assert_int_equal(m->verify, 1);
    assert_int_equal(m->timeout_ms, 700);
    m = xf_xapi_master_endpoint(&ep, "2001:db8::7", p);
    assert_string_equal(m->url, "https://[2001:db8::7]");
    m = xf_xapi_master_endpoint(&ep, "[2001:db8::7]", p);
    assert_string_equal(m->url, "https://[2001:db8::7]");
    m = xf_xapi_master_endpoint(&ep, "192.0.2.5:8443", p);
    assert_string_equal(m->url, "https://192.0.2.5:8443");
    m = xf_xapi_master_endpoint(&ep, "[2001:db8::7]:8443", p);
    assert_string_equal(m->url, "https://[2001:db8::7]:8443");
    assert_string_equal(ep.url, "https://localhost");
    assert_null(xf_xapi_master_endpoint(&ep, "", p));
    assert_null(xf_xapi_master_endpoint(&ep, NULL, p));
    assert_null(xf_xapi_master_endpoint(&ep, "a/b", p));
    assert_null(xf_xapi_master_endpoint(&ep, "u@h", p));
    assert_null(xf_xapi_master_endpoint(&ep, "h ost", p));
    assert_null(xf_xapi_master_endpoint(&ep, "[::1", p));
}

static void test_auth_failed(void **state)
{
    xf_xapi_reply_t rep;

    call_json(&rep, *state, 200, "session.login_with_password",
              "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":"
              "\"SESSION_AUTHENTICATION_FAILED\",\"data\":[\"root\","
              "\"Authentication failure\"]},\"id\":1}");
    assert_int_equal(rep.code, XF_XAPI_AUTH_FAILED);
    assert_string_equal(rep.error, "SESSION_AUTHENTICATION_FAILED");
}

static void test_other_error(void **state)
{
    xf_xapi_reply_t rep;

    call_json(&rep, *state, 200, "session.get_uuid",
              "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":"
              "\"MESSAGE_METHOD_UNKNOWN\",\"data\":[\"x\"]},\"id\":1}");
    assert_int_equal(rep.code, XF_XAPI_API_ERROR);
    assert_string_equal(rep.error, "MESSAGE_METHOD_UNKNOWN");
    /* names are made printable */
    call_json(&rep, *state, 200, "m",
              "{\"error\":{\"message\":\"BAD\\nNAME\"},\"id\":1}");
    assert_int_equal(rep.code, XF_XAPI_API_ERROR);
    assert_string_equal(rep.error, "BAD?NAME");
}

static void test_v1_error(void **state)
{
    xf_xapi_reply_t rep;

    call_json(&rep, *state, 200, "session.get_uuid",
              "{\"result\":null,\"error\":[\"SESSION_INVALID\",\"" SESSION
              "\"],\"id\":1}");
    assert_int_equal(rep.code, XF_XAPI_SESSION_INVALID);
    call_json(&rep, *state, 200, "session.get_uuid",
              "{\"result\":null,\"error\":[\"HOST_IS_SLAVE\",\"10.0.0.1\"],"
              "\"id\":1}");
    assert_int_equal(rep.code, XF_XAPI_HOST_IS_SLAVE);
    assert_string_equal(rep.master, "10.0.0.1");
    /* v1 success: "error":null */
    call_json(&rep, *state, 200, "session.get_uuid",
              "{\"result\":\"u\",\"error\":null,\"id\":1}");
    assert_int_equal(rep.code, XF_XAPI_OK);
    assert_string_equal(rep.str, "u");
}

/* ---- bad answers ------------------------------------------------------- */

static void test_garbage(void **state)
{
    static const char *const bodies[] = {
        "this is not json",
        "{\"result\":\"trunc",
        "[\"result\"]",
        "{\"id\":1}",
        "{\"result\":\"x\",\"id\":1} trailing",
        "{\"error\":42,\"id\":1}",
        "{\"error\":{\"code\":1},\"id\":1}",
        "{\"error\":[],\"id\":1}",
        "{\"result\":\"uu\\u0000id\",\"id\":1}",
        "",
    };
    xf_xapi_reply_t rep;
    size_t i;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        call_json(&rep, *state, 200, "m", bodies[i]);
        if (rep.code != XF_XAPI_GARBAGE)
            fail_msg("body %zu: code %d", i, (int)rep.code);
        assert_non_null(rep.error);
    }
}

static void test_non_200(void **state)
{
    apr_pool_t *p = *state;
    const char *ans =
        http(p, 500, "text/html", "<html><body>Internal error</body></html>");
    xf_xapi_endpoint_t ep = unix_ep(p, 5000);
    xf_xapi_reply_t rep;

    fake_start(ans, strlen(ans), 1);
    assert_int_equal(call_stop(&rep, &ep, "m", NULL, p), APR_SUCCESS);
    check_request("m", 0);
    assert_int_equal(rep.code, XF_XAPI_GARBAGE);
    assert_int_equal(rep.http_status, 500);
    assert_non_null(strstr(rep.error, "500"));
    /* a JSON-RPC error body still counts, a result does not */
    call_json(&rep, p, 500, "m",
              "{\"error\":{\"message\":\"SESSION_INVALID\"},\"id\":1}");
    assert_int_equal(rep.code, XF_XAPI_SESSION_INVALID);
    call_json(&rep, p, 503, "m", "{\"result\":\"x\",\"id\":1}");
    assert_int_equal(rep.code, XF_XAPI_GARBAGE);
    /* redirects are not followed */
    ans = "HTTP/1.1 302 Found\r\nLocation: http://localhost/elsewhere\r\n"
          "Content-Length: 0\r\n\r\n";
    fake_start(ans, strlen(ans), 1);
    assert_int_equal(call_stop(&rep, &ep, "m", NULL, p), APR_SUCCESS);
    assert_int_equal(rep.code, XF_XAPI_GARBAGE);
    assert_int_equal(rep.http_status, 302);
}

static void test_chunked(void **state)
{
    apr_pool_t *p = *state;
    const char *ans = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "b\r\n{\"result\":\r\n7\r\n\"uuid\"}\r\n0\r\n\r\n";
    xf_xapi_endpoint_t ep = unix_ep(p, 5000);
    xf_xapi_reply_t rep;

    fake_start(ans, strlen(ans), 1);
    assert_int_equal(call_stop(&rep, &ep, "m", NULL, p), APR_SUCCESS);
    assert_int_equal(rep.code, XF_XAPI_OK);
    assert_string_equal(rep.str, "uuid");
}

static void test_oversize(void **state)
{
    apr_pool_t *p = *state;
    const size_t big = 5u * 1024u * 1024u; /* > 4 MiB */
    const char *const heads[] = {
        /* announced: Content-Length = 11 + big + 2 */
        apr_psprintf(p,
                     "HTTP/1.1 200 OK\r\nContent-Length: %" APR_SIZE_T_FMT
                     "\r\n\r\n"
                     "{\"result\":\"",
                     big + 13),
        /* not announced: read until the close */
        "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"result\":\"",
    };
    xf_xapi_endpoint_t ep = unix_ep(p, 5000);
    xf_xapi_reply_t rep;
    size_t i;

    for (i = 0; i < 2; i++) {
        size_t hl = strlen(heads[i]);
        char *ans = apr_palloc(p, hl + big + 2);

        memcpy(ans, heads[i], hl);
        memset(ans + hl, 'a', big);
        memcpy(ans + hl + big, "\"}", 2);
        fake_start(ans, hl + big + 2, 1);
        assert_int_equal(call_stop(&rep, &ep, "m", NULL, p), APR_SUCCESS);
        assert_int_equal(rep.code, XF_XAPI_GARBAGE);
        assert_null(rep.str);
    }
}

/* ---- transport failures ------------------------------------------------ */

static void test_unreachable(void **state)
{
    apr_pool_t *p = *state;
    xf_xapi_endpoint_t ep = unix_ep(p, 2000);
    xf_xapi_reply_t rep;

    /* no server on the socket path: the error names the socket (not
     * libcurl's placeholder URL for it) and why */
    assert_int_equal(xf_xapi_call(&rep, &ep, "m", NULL, p), APR_SUCCESS);
    assert_int_equal(rep.code, XF_XAPI_UNREACHABLE);
    assert_non_null(strstr(rep.error, "onnect"));
    assert_non_null(strstr(rep.error, ep.url));
    assert_non_null(strstr(rep.error, "No such file or directory"));
    assert_null(strstr(rep.error, "localhost"));
    assert_null(strstr(rep.error, "port 80"));
    assert_int_equal(rep.http_status, 0);
    /* https with the TLS options set, nothing listening */
    ep.url = "https://127.0.0.1:1/";
    ep.ca_file = "/nonexistent/ca.pem";
    assert_int_equal(xf_xapi_call(&rep, &ep, "m", NULL, p), APR_SUCCESS);
    assert_int_equal(rep.code, XF_XAPI_UNREACHABLE);
    /* other protocols are refused */
    ep.url = "file:///etc";
    assert_int_equal(xf_xapi_call(&rep, &ep, "m", NULL, p), APR_SUCCESS);
    assert_int_equal(rep.code, XF_XAPI_UNREACHABLE);
    /* malformed endpoints */
    ep.url = "unix:relative/path";
    assert_int_equal(xf_xapi_call(&rep, &ep, "m", NULL, p), APR_EINVAL);
    assert_int_equal(rep.code, XF_XAPI_UNREACHABLE);
    assert_int_equal(xf_xapi_call(&rep, NULL, "m", NULL, p), APR_EINVAL);
}

static void test_timeout(void **state)
{
    apr_pool_t *p = *state;
    xf_xapi_endpoint_t ep = unix_ep(p, 300);
    xf_xapi_reply_t rep;
    struct timeval t0, t1;
    long ms;

    fake_start(NULL, 0, 1);
    gettimeofday(&t0, NULL);
    assert_int_equal(call_stop(&rep, &ep, "m", NULL, p), APR_SUCCESS);
    gettimeofday(&t1, NULL);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_usec - t0.tv_usec) / 1000;
    assert_int_equal(rep.code, XF_XAPI_TIMEOUT);
    assert_true(ms >= 250 && ms < 3000);
}

/* ---- https ------------------------------------------------------------ */

/* One call over TLS to the fake: url host, CA file, verify flag. */
static void call_tls(xf_xapi_reply_t *rep, apr_pool_t *p, const char *host,
                     int with_ca, int verify)
{
    const char *ans = http(p, 200, "application/json",
                           "{\"jsonrpc\":\"2.0\",\"result\":\"tls\",\"id\":1}");
    xf_xapi_endpoint_t ep = {NULL, NULL, verify, 5000};

    fake_start_on(ans, strlen(ans), 1, 1);
    ep.url = apr_psprintf(p, "https://%s:%d/", host, fake.port);
    if (with_ca)
        ep.ca_file = apr_pstrcat(p, tmpdir, "/ca.pem", NULL);
    assert_int_equal(call_stop(rep, &ep, "session.get_uuid", NULL, p),
                     APR_SUCCESS);
}

static void test_https(void **state)
{
    apr_pool_t *p = *state;
    xf_xapi_reply_t rep;

    /* the CA file makes the certificate good */
    call_tls(&rep, p, "localhost", 1, 1);
    check_request("session.get_uuid", 0);
    assert_int_equal(rep.code, XF_XAPI_OK);
    assert_string_equal(rep.str, "tls");
    /* without it, verification fails: no call is made */
    call_tls(&rep, p, "localhost", 0, 1);
    assert_int_equal(rep.code, XF_XAPI_UNREACHABLE);
    assert_non_null(strstr(rep.error, "SSL certificate problem"));
    assert_int_equal(fake.served, 0);
    /* the name is checked too (the certificate says localhost) */
    call_tls(&rep, p, "127.0.0.1", 1, 1);
    assert_int_equal(rep.code, XF_XAPI_UNREACHABLE);
    assert_non_null(strstr(rep.error, "127.0.0.1"));
    assert_int_equal(fake.served, 0);
    /* verify off accepts anything */
    call_tls(&rep, p, "127.0.0.1", 0, 0);
    assert_int_equal(rep.code, XF_XAPI_OK);
    assert_string_equal(rep.str, "tls");
}

/* ---- threads ----------------------------------------------------------- */

#define NTHREADS 4
#define NCALLS 8

static void *client_main(void *arg)
{
    apr_pool_t *p = NULL;
    long ok = 0;
    int i;

    (void)arg;
    if (apr_pool_create(&p, NULL) != APR_SUCCESS)
        return (void *)0;
    for (i = 0; i < NCALLS; i++) {
        xf_xapi_endpoint_t ep = unix_ep(p, 5000);
        xf_xapi_reply_t rep;

        if (xf_xapi_call(&rep, &ep, "session.get_uuid", NULL, p) ==
                APR_SUCCESS &&
            rep.code == XF_XAPI_OK && strcmp(rep.str, "u") == 0)
            ok++;
    }
    apr_pool_destroy(p);
    return (void *)ok;
}

static void test_threads(void **state)
{
    const char *ans =
        http(*state, 200, "application/json", "{\"result\":\"u\",\"id\":1}");
    pthread_t thr[NTHREADS];
    long total = 0;
    int i;

    fake_start(ans, strlen(ans), NTHREADS * NCALLS);
    for (i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&thr[i], NULL, client_main, NULL), 0);
    for (i = 0; i < NTHREADS; i++) {
        void *r;

        pthread_join(thr[i], &r);
        total += (long)r;
    }
    fake_stop();
    assert_int_equal(total, NTHREADS * NCALLS);
}

/* ---- main -------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN); /* SSL_write to a client that gave up */
    if (!mkdtemp(tmpdir) || xf_xapi_init() != APR_SUCCESS || tls_setup())
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    char path[sizeof(tmpdir) + 8];

    (void)state;
    snprintf(path, sizeof(path), "%s/ca.pem", tmpdir);
    unlink(path);
    rmdir(tmpdir);
    SSL_CTX_free(tls_ctx);
    curl_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        XF_TEST(test_ok_string),     XF_TEST(test_ok_bool),
        XF_TEST(test_ok_list),       XF_TEST(test_session_invalid),
        XF_TEST(test_host_is_slave), XF_TEST(test_master_endpoint),
        XF_TEST(test_auth_failed),   XF_TEST(test_other_error),
        XF_TEST(test_v1_error),      XF_TEST(test_garbage),
        XF_TEST(test_non_200),       XF_TEST(test_chunked),
        XF_TEST(test_oversize),      XF_TEST(test_unreachable),
        XF_TEST(test_timeout),       XF_TEST(test_https),
        XF_TEST(test_threads),       XF_TEST(test_typed_params),
    };

    if (xf_test_init() != 0)
        return 1;
    return cmocka_run_group_tests_name("xf_xapi", tests, group_setup,
                                       group_teardown);
}
