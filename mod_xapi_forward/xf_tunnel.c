/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_tunnel.c - tunnel relay: the daemon gets a socketpair end with the
 * envelope (as in relay mode) and then speaks whatever it likes on it;
 * httpd's proxy tunnel (ap_proxy_tunnel_run, what mod_proxy_http uses for
 * Upgrade and CONNECT) copies bytes both ways, first what httpd already
 * buffered past the request head, and propagates half-closes. Two
 * connection filters on the daemon's side count the bytes each way for
 * the access log.
 */
#include "xf_tunnel.h"

#include <apr_strings.h>

#include "http_connection.h"
#include "http_log.h"
#include "http_request.h"
#include "util_filter.h"

#include "xf_config.h"
#include "xf_fdpass.h"
#include "xf_private.h"
#include "xf_relay.h"

#define XF_TUNNEL_IN "XAPI_FORWARD_TUNNEL_IN"
#define XF_TUNNEL_OUT "XAPI_FORWARD_TUNNEL_OUT"

typedef struct tunnel_count_t {
    apr_off_t to_daemon;   /* client -> daemon bytes */
    apr_off_t from_daemon; /* daemon -> client bytes */
} tunnel_count_t;

static ap_filter_rec_t *count_in_handle, *count_out_handle;

/* bytes read from the daemon (its side of the tunnel) */
static apr_status_t count_in(ap_filter_t *f, apr_bucket_brigade *bb,
                             ap_input_mode_t mode, apr_read_type_e block,
                             apr_off_t readbytes)
{
    tunnel_count_t *n = f->ctx;
    apr_off_t len = 0;
    apr_status_t st = ap_get_brigade(f->next, bb, mode, block, readbytes);

    if (st == APR_SUCCESS && apr_brigade_length(bb, 0, &len) == APR_SUCCESS &&
        len > 0)
        n->from_daemon += len;
    return st;
}

/* bytes written to the daemon */
static apr_status_t count_out(ap_filter_t *f, apr_bucket_brigade *bb)
{
    tunnel_count_t *n = f->ctx;
    apr_off_t len = 0;

    if (apr_brigade_length(bb, 0, &len) == APR_SUCCESS && len > 0)
        n->to_daemon += len;
    return ap_pass_brigade(f->next, bb);
}

void xf_tunnel_register(apr_pool_t *p)
{
    count_in_handle = ap_register_input_filter(XF_TUNNEL_IN, count_in, NULL,
                                               AP_FTYPE_CONNECTION);
    count_out_handle = ap_register_output_filter(XF_TUNNEL_OUT, count_out, NULL,
                                                 AP_FTYPE_CONNECTION);
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
    tunnel_count_t *n = apr_pcalloc(r->pool, sizeof(*n));
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
    ap_add_input_filter_handle(count_in_handle, n, NULL, backend->connection);
    ap_add_output_filter_handle(count_out_handle, n, NULL, backend->connection);
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
    r->bytes_sent = n->from_daemon;
    apr_table_setn(r->subprocess_env, "XAPI_FORWARD_TUNNEL_IN",
                   apr_off_t_toa(r->pool, n->to_daemon));
    apr_table_setn(r->subprocess_env, "XAPI_FORWARD_TUNNEL_OUT",
                   apr_off_t_toa(r->pool, n->from_daemon));
    ap_log_rerror(APLOG_MARK, status == OK ? APLOG_DEBUG : APLOG_INFO, 0, r,
                  XF_LOGNO(0125) "tunnel %s: %" APR_OFF_T_FMT " bytes to "
                                 "the daemon, %" APR_OFF_T_FMT " bytes from it",
                  status == OK ? "closed by both sides"
                  : status == HTTP_GATEWAY_TIME_OUT
                      ? "idle for longer than its timeout"
                      : "failed",
                  n->to_daemon, n->from_daemon);
    r->connection->keepalive = AP_CONN_CLOSE;
    status = DONE;

cleanup:
    if (backend)
        ap_proxy_release_connection(XF_SCHEME, backend, r->server);
    return status;
}
