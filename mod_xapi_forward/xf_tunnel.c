/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_tunnel.c - tunnel relay: the daemon gets a socketpair end with the
 * envelope (as in relay mode) and then speaks whatever it likes on it;
 * httpd's proxy tunnel (ap_proxy_tunnel_run, what mod_proxy_http uses for
 * Upgrade and CONNECT) copies bytes both ways, first what httpd already
 * buffered past the request head, and propagates half-closes. Two
 * connection filters on the backend's side count the bytes each way for
 * the access log, and end a TLS client's side with close_notify when the
 * backend ends its own (consoles over CONNECT, xf_connect.c, use them too).
 */
#include "xf_tunnel.h"

#include <openssl/ssl.h>

#include <apr_optional_hooks.h>
#include <apr_strings.h>

#include "http_connection.h"
#include "http_log.h"
#include "http_request.h"
#include "http_ssl.h"
#include "util_filter.h"

#include "xf_config.h"
#include "xf_fdpass.h"
#include "xf_private.h"
#include "xf_relay.h"

#define XF_TUNNEL_IN "XAPI_FORWARD_TUNNEL_IN"
#define XF_TUNNEL_OUT "XAPI_FORWARD_TUNNEL_OUT"
/* the client connection's pool: its SSL, from mod_ssl's pre_handshake */
#define XF_TUNNEL_SSL "xapi-forward-client-ssl"

/* mod_ssl's optional hook (modules/ssl/mod_ssl_openssl.h, a header Debian
 * does not install) */
typedef int ssl_HOOK_pre_handshake_t(conn_rec *c, SSL *ssl, int is_proxy);

static ap_filter_rec_t *count_in_handle, *count_out_handle;

/* every TLS client connection's SSL, kept for its tunnels' close_notify
 * (mod_ssl offers no other way to it) */
static int tunnel_pre_handshake(conn_rec *c, SSL *ssl, int is_proxy)
{
    if (!is_proxy && !c->master)
        apr_pool_userdata_setn(ssl, XF_TUNNEL_SSL, NULL, c->pool);
    return DECLINED;
}

xf_tunnel_count_t *xf_tunnel_count_new(request_rec *r)
{
    xf_tunnel_count_t *n = apr_pcalloc(r->pool, sizeof(*n));
    conn_rec *c = r->connection;
    void *ssl = NULL;

    n->r = r;
    if (ap_ssl_conn_is_ssl(c) &&
        apr_pool_userdata_get(&ssl, XF_TUNNEL_SSL, c->pool) == APR_SUCCESS)
        n->ssl = ssl;
    return n;
}

/* the backend ended its side: a TLS client gets close_notify now, after
 * what the backend sent and before the tunnel shuts the TCP write side;
 * mod_ssl keeps reading what the client still sends */
static void tls_half_close(xf_tunnel_count_t *n)
{
    conn_rec *c = n->r->connection;
    apr_bucket_brigade *bb;
    int rc;

    if (!n->ssl || n->notified ||
        (n->upgrade_only && n->r->status != HTTP_SWITCHING_PROTOCOLS))
        return;
    n->notified = 1;
    /* mod_ssl frees its SSL when it ends the connection on an error (and
     * then says it is no TLS connection any more) */
    if (c->aborted || !ap_ssl_conn_is_ssl(c))
        return;
    rc = SSL_shutdown(n->ssl);
    bb = apr_brigade_create(n->r->pool, c->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_flush_create(c->bucket_alloc));
    ap_pass_brigade(c->output_filters, bb);
    apr_brigade_cleanup(bb);
    ap_log_rerror(APLOG_MARK, APLOG_TRACE2, 0, n->r,
                  "tunnel: the backend closed, close_notify to the client "
                  "(%d)",
                  rc);
}

/* bytes read from the backend (its side of the tunnel) */
static apr_status_t count_in(ap_filter_t *f, apr_bucket_brigade *bb,
                             ap_input_mode_t mode, apr_read_type_e block,
                             apr_off_t readbytes)
{
    xf_tunnel_count_t *n = f->ctx;
    apr_off_t len = 0;
    apr_status_t st = ap_get_brigade(f->next, bb, mode, block, readbytes);

    if (st == APR_SUCCESS && apr_brigade_length(bb, 0, &len) == APR_SUCCESS &&
        len > 0)
        n->from_backend += len;
    if (st == APR_SUCCESS && len > 0 && !APR_BRIGADE_EMPTY(bb) &&
        APR_BUCKET_IS_EOS(APR_BRIGADE_LAST(bb))) {
        /* the last bytes with the EOF: they go first, the next read finds
         * the EOF again */
        apr_bucket_delete(APR_BRIGADE_LAST(bb));
    }
    else if (APR_STATUS_IS_EOF(st) ||
             (st == APR_SUCCESS && !APR_BRIGADE_EMPTY(bb) &&
              APR_BUCKET_IS_EOS(APR_BRIGADE_LAST(bb))))
        tls_half_close(n);
    return st;
}

/* bytes written to the backend */
static apr_status_t count_out(ap_filter_t *f, apr_bucket_brigade *bb)
{
    xf_tunnel_count_t *n = f->ctx;
    apr_off_t len = 0;

    if (apr_brigade_length(bb, 0, &len) == APR_SUCCESS && len > 0)
        n->to_backend += len;
    return ap_pass_brigade(f->next, bb);
}

void xf_tunnel_count_add(xf_tunnel_count_t *n, conn_rec *backend)
{
    ap_add_input_filter_handle(count_in_handle, n, NULL, backend);
    ap_add_output_filter_handle(count_out_handle, n, NULL, backend);
}

void xf_tunnel_register(apr_pool_t *p)
{
    count_in_handle = ap_register_input_filter(XF_TUNNEL_IN, count_in, NULL,
                                               AP_FTYPE_CONNECTION);
    count_out_handle = ap_register_output_filter(XF_TUNNEL_OUT, count_out, NULL,
                                                 AP_FTYPE_CONNECTION);
    APR_OPTIONAL_HOOK(ssl, pre_handshake, tunnel_pre_handshake, NULL, NULL,
                      APR_HOOK_MIDDLE);
}

int xf_tunnel_check(request_rec *r)
{
    /* an h2 stream carries no raw byte stream (that would take RFC 8441's
     * extended CONNECT); the migration client, xenopsd, speaks HTTP/1.1 */
    if (!r->connection->master)
        return OK;
    ap_log_rerror(
        APLOG_MARK, APLOG_ERR, 0, r,
        XF_LOGNO(
            0122) "XapiForwardRelay tunnel: an HTTP/2 stream cannot carry a "
                  "raw tunnel; the client must use HTTP/1.1");
    return HTTP_VERSION_NOT_SUPPORTED;
}

int xf_tunnel_run(int pair[2], request_rec *r, const xf_dir_conf_t *d,
                  proxy_worker *worker, int uds, const char *payload,
                  apr_size_t len, apr_interval_time_t timeout)
{
    apr_interval_time_t idle = xf_dir_tunnel_timeout(d);
    proxy_conn_rec *backend = NULL;
    proxy_tunnel_rec *tunnel = NULL;
    xf_tunnel_count_t *n = xf_tunnel_count_new(r);
    apr_os_sock_t osfd;
    int fd = pair[0], status;
    apr_status_t rv;

    status = xf_relay_pass_pair(pair, r, uds, payload, len, timeout);
    if (status != OK)
        return status;
    apr_table_setn(r->subprocess_env, "XAPI_FORWARD", "tunnel");

    /* the daemon's end as a mod_proxy backend connection (never reused) */
    status =
        ap_proxy_acquire_connection(XF_SCHEME, &backend, worker, r->server);
    if (status != OK)
        goto cleanup;
    backend->close = 1;
    osfd = fd;
    rv = apr_os_sock_put(&backend->sock, &osfd, backend->scpool);
    if (rv == APR_SUCCESS)
        rv = apr_socket_timeout_set(backend->sock, timeout);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      XF_LOGNO(0123) "tunnel: cannot set up the daemon's side");
        status = HTTP_INTERNAL_SERVER_ERROR;
        goto cleanup;
    }
    status = ap_proxy_connection_create_ex(XF_SCHEME, backend, r);
    if (status != OK)
        goto cleanup;
    xf_tunnel_count_add(n, backend->connection);
    rv = ap_proxy_tunnel_create(&tunnel, r, backend->connection, XF_SCHEME);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, rv, r,
            XF_LOGNO(0124) "tunnel: cannot create httpd's proxy tunnel");
        status = HTTP_INTERNAL_SERVER_ERROR;
        goto cleanup;
    }
    tunnel->timeout = idle >= 0 ? idle : timeout;

    /* From here the client speaks to the daemon: no HTTP answer from
     * httpd, whatever happens (as mod_proxy_http's Upgrade tunnel). */
    status = ap_proxy_tunnel_run(tunnel);
    r->sent_bodyct = 1;
    r->bytes_sent = n->from_backend;
    apr_table_setn(r->subprocess_env, "XAPI_FORWARD_TUNNEL_IN",
                   apr_off_t_toa(r->pool, n->to_backend));
    apr_table_setn(r->subprocess_env, "XAPI_FORWARD_TUNNEL_OUT",
                   apr_off_t_toa(r->pool, n->from_backend));
    ap_log_rerror(APLOG_MARK, status == OK ? APLOG_DEBUG : APLOG_INFO, 0, r,
                  XF_LOGNO(0125) "tunnel %s: %" APR_OFF_T_FMT " bytes to "
                                 "the daemon, %" APR_OFF_T_FMT " bytes from it",
                  status == OK ? "closed by both sides"
                  : status == HTTP_GATEWAY_TIME_OUT
                      ? "idle for longer than its timeout"
                      : "failed",
                  n->to_backend, n->from_backend);
    r->connection->keepalive = AP_CONN_CLOSE;
    status = DONE;

cleanup:
    if (backend)
        ap_proxy_release_connection(XF_SCHEME, backend, r->server);
    return status;
}
