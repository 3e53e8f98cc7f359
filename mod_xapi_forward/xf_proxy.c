/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_proxy.c - the xapi:// scheme handler (mod_proxy_fdpass is the model):
 * find the daemon's socket, build the message with the worker's flusher,
 * connect, and hand the client's socket over, or relay.
 */
#include "xf_proxy.h"

#include <unistd.h>

#include <apr_strings.h>

#include "ap_provider.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_ssl.h"
#include "util_filter.h"

#include "mod_xapi_forward.h"
#include "xf_config.h"
#include "xf_envelope.h"
#include "xf_fdpass.h"
#include "xf_path.h"
#include "xf_private.h"
#include "xf_relay.h"
#include "xf_reqview.h"
#include "xf_stats.h"
#include "xf_tunnel.h"
#include "xf_watch.h"

int xf_proxy_canon(request_rec *r, char *url)
{
    const char *host;

    if (strncasecmp(url, XF_SCHEME_PREFIX, XF_SCHEME_PREFIX_LEN))
        return DECLINED;
    host = url + XF_SCHEME_PREFIX_LEN;
    if (!*host || *host == '/') {
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, 0, r,
            XF_LOGNO(0012) "URL %s has no host name: write xapi://NAME/ (each "
                           "socket needs its own NAME)",
            url);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* The path of this URL is not used: the envelope carries the request
     * target as the client sent it (r->unparsed_uri). */
    r->filename = apr_pstrcat(r->pool, "proxy:", url, NULL);
    return OK;
}

/* ---- flushers ------------------------------------------------------- */

static const char *const strip_all[] = {"session_id", "pool_secret", NULL};
static const char *const strip_secret[] = {"pool_secret", NULL};

static int xapi_flusher(request_rec *r, const char **ppayload, apr_size_t *plen,
                        void *context)
{
    const xf_dir_conf_t *d = xf_config_dir_get(r);
    xf_envelope_opts_t o;
    xf_reqview_t rv;
    const char *reason = NULL;
    apr_status_t st;

    xf_reqview_build(&rv, r, xf_dir_stunnel_proxy(d));
    o.path_keys = xf_dir_path_keys(d);
    o.force_close = xf_dir_force_close(d);
    o.traceparent_top = xf_dir_traceparent_top(d);
    if (xf_dir_auth(d)) {
        /* the credentials checked here are not the daemon's business,
         * unless the location says so; a pool secret never is */
        o.forward_auth = xf_dir_forward_creds(d);
        o.strip_params = o.forward_auth ? strip_secret : strip_all;
    }
    else {
        o.forward_auth = 1; /* as xapi forwards them */
        o.strip_params = NULL;
    }
    o.max_size = xf_dir_max_envelope(d);
    st = xf_envelope_build(ppayload, plen, &reason, &rv, &o, r->pool);
    if (st == APR_ENOSPC) {
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, 0, r,
            XF_LOGNO(0006) "request headers too large to forward: %s (raise "
                           "XapiForwardMaxEnvelope only for daemons that read "
                           "more than " APR_STRINGIFY(
                               XF_ENVELOPE_DEFAULT_MAX) " bytes)",
            reason);
        return HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE;
    }
    if (st != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, st, r,
                      XF_LOGNO(0007) "cannot build the envelope: %s", reason);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                  "envelope: %" APR_SIZE_T_FMT " bytes", *plen);
    return OK;
}

static int fdpass_flusher(request_rec *r, const char **ppayload,
                          apr_size_t *plen, void *context)
{
    conn_rec *c = r->connection;
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, c->bucket_alloc);
    apr_status_t st;

    /* As mod_proxy_fdpass's "flush": httpd sends the status line and the
     * headers, the daemon writes only the body. */
    c->keepalive = AP_CONN_CLOSE;
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_flush_create(c->bucket_alloc));
    st = ap_pass_brigade(r->output_filters, bb);
    apr_brigade_cleanup(bb);
    if (st != APR_SUCCESS) {
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, st, r,
            XF_LOGNO(0013) "fdpass flusher: cannot send the response head");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    *ppayload = "";
    *plen = 1; /* one NUL byte */
    return OK;
}

static const xapi_forward_flusher builtin_xapi = {XAPI_FORWARD_FLUSHER_XAPI,
                                                  xapi_flusher, 0, NULL};
static const xapi_forward_flusher builtin_fdpass = {XAPI_FORWARD_FLUSHER_FDPASS,
                                                    fdpass_flusher, 1, NULL};

void xf_proxy_register_flushers(apr_pool_t *p)
{
    ap_register_provider(p, XAPI_FORWARD_FLUSHER, XAPI_FORWARD_FLUSHER_XAPI,
                         XAPI_FORWARD_FLUSHER_VERSION, &builtin_xapi);
    ap_register_provider(p, XAPI_FORWARD_FLUSHER, XAPI_FORWARD_FLUSHER_FDPASS,
                         XAPI_FORWARD_FLUSHER_VERSION, &builtin_fdpass);
}

/* ---- helpers -------------------------------------------------------- */

/* Bytes httpd already holds past the request head (a body sent with the
 * head, a pipelined request)? Looked at without consuming them. */
static int has_buffered_input(conn_rec *c, apr_pool_t *p)
{
    apr_bucket_brigade *bb = apr_brigade_create(p, c->bucket_alloc);
    apr_off_t len = 0;
    apr_status_t st;

    st = ap_get_brigade(c->input_filters, bb, AP_MODE_SPECULATIVE,
                        APR_NONBLOCK_READ, 1);
    if (st == APR_SUCCESS)
        apr_brigade_length(bb, 0, &len);
    apr_brigade_destroy(bb);
    return len > 0;
}

apr_interval_time_t xf_proxy_io_timeout(request_rec *r, proxy_worker *w,
                                        proxy_server_conf *conf)
{
    if (w->s->timeout_set)
        return w->s->timeout;
    if (conf->timeout_set)
        return conf->timeout;
    return r->server->timeout;
}

static apr_interval_time_t connect_timeout(request_rec *r, proxy_worker *w,
                                           proxy_server_conf *conf)
{
    if (w->s->conn_timeout_set)
        return w->s->conn_timeout;
    return xf_proxy_io_timeout(r, w, conf);
}

/* Connect to the daemon; on failure log and return the HTTP status. */
static int connect_daemon(int *pfd, request_rec *r, const xf_dir_conf_t *d,
                          proxy_worker *worker, proxy_server_conf *conf,
                          const char *uds)
{
    const char *reason = NULL;
    apr_status_t st;

    st = xf_fdpass_connect(
        pfd, &reason, uds,
        xf_fdpass_timeout_ms(connect_timeout(r, worker, conf)), r->pool);
    if (st == APR_SUCCESS)
        return OK;
    if (st == APR_TIMEUP) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, st, r,
                      XF_LOGNO(0005) "daemon socket %s: %s", uds, reason);
        return HTTP_GATEWAY_TIME_OUT;
    }
    if (st == APR_ENAMETOOLONG) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      XF_LOGNO(0015) "daemon socket %s: %s", uds, reason);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (APR_STATUS_IS_EMFILE(st) || APR_STATUS_IS_ENFILE(st)) {
        /* httpd's shortage, not a missing daemon: never the 404 of
         * XapiForwardMissingStatus */
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, st, r,
            XF_LOGNO(0720) "daemon socket %s: %s: httpd is out of file "
                           "descriptors (raise its limit, ulimit -n)",
            uds, reason);
        return HTTP_SERVICE_UNAVAILABLE;
    }
    ap_log_rerror(
        APLOG_MARK, APLOG_ERR, st, r,
        XF_LOGNO(0004) "daemon socket %s: %s (is the daemon running?)", uds,
        reason);
    return xf_dir_missing_status(d);
}

/* Why the client socket cannot be handed over as it is, or NULL. */
static const char *handoff_obstacle(request_rec *r)
{
    conn_rec *c = r->connection;

    if (c->master)
        return "HTTP/2 stream";
    if (ap_ssl_conn_is_ssl(c))
        return "TLS connection";
    if (has_buffered_input(c, r->pool))
        return "request bytes already buffered (body sent with the head or "
               "pipelined request)";
    return NULL;
}

/* A daemon that keeps its control socket open (status -1: it neither
 * closed it nor wrote) keeps it for XapiForwardControlLifetime, watched
 * by the child's watcher thread, not by this worker. */
static void keep_control(request_rec *r, const xf_dir_conf_t *d, int uds,
                         int status)
{
    apr_interval_time_t life = xf_dir_control_life(d);
    int fd;

    if (status != -1 || life <= 0 || (fd = dup(uds)) < 0)
        return;
    xf_watch_add(r, fd, life);
}

/* The daemon may answer on the control socket (xenopsd writes a 404 head
 * there for a path it does not know). Wait a bounded time, then close. */
static void collect_reply(request_rec *r, const xf_dir_conf_t *d, int uds)
{
    apr_interval_time_t t = xf_dir_reply_timeout(d);
    int status = -1;
    apr_status_t st;

    {
        /* t == 0: one look, without waiting */
        st = xf_fdpass_read_reply(&status, uds, xf_fdpass_timeout_ms(t));
        if (st != APR_SUCCESS)
            ap_log_rerror(
                APLOG_MARK, APLOG_DEBUG, st, r,
                XF_LOGNO(0014) "reading the daemon's control socket failed");
        else if (status >= 300) {
            ap_log_rerror(
                APLOG_MARK, APLOG_WARNING, 0, r,
                XF_LOGNO(0011) "daemon answered %d on its control socket for "
                               "%s",
                status, r->uri);
            r->status = status;
        }
        else if (status == -2)
            ap_log_rerror(
                APLOG_MARK, APLOG_DEBUG, 0, r,
                XF_LOGNO(0016) "daemon wrote something that is not an HTTP "
                               "status line on its control socket");
        else if (status > 0)
            r->status = status;
    }
    if (status > 0)
        apr_table_setn(r->subprocess_env, "XAPI_FORWARD_REPLY",
                       apr_itoa(r->pool, status));
    keep_control(r, d, uds, status);
}

/* Pass the client's socket itself. */
static int handoff(request_rec *r, const xf_dir_conf_t *d, int uds,
                   const char *payload, apr_size_t len,
                   apr_interval_time_t timeout, xf_fwd_stats_t *fs)
{
    conn_rec *c = r->connection;
    apr_socket_t *csock = ap_get_conn_socket(c);
    apr_os_sock_t cfd = -1;
    const char *reason = NULL;
    int was_nb = 0;
    apr_status_t st;

    if (!csock || apr_os_sock_get(&cfd, csock) != APR_SUCCESS || cfd < 0) {
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, 0, r,
            XF_LOGNO(0017) "cannot get the client socket's descriptor");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (c->keepalives > 0) {
        /* a response to an earlier request may still sit in the core
         * output filter: c->aborted would discard it */
        apr_bucket_brigade *bb = apr_brigade_create(r->pool, c->bucket_alloc);
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_flush_create(c->bucket_alloc));
        ap_pass_brigade(c->output_filters, bb);
        apr_brigade_destroy(bb);
    }
    /* the daemon shares the file description: it expects blocking I/O */
    st = xf_fdpass_set_blocking(&was_nb, cfd);
    if (st == APR_SUCCESS)
        st = xf_fdpass_send(&reason, uds, cfd, payload, len,
                            xf_fdpass_timeout_ms(timeout), r->pool);
    else
        reason = "cannot make the client socket blocking";
    if (st != APR_SUCCESS) {
        if (was_nb)
            xf_fdpass_set_nonblocking(cfd);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, st, r,
                      XF_LOGNO(0008) "hand-off to the daemon failed: %s",
                      reason);
        return st == APR_TIMEUP ? HTTP_GATEWAY_TIME_OUT : HTTP_BAD_GATEWAY;
    }
    /* From here the daemon owns the connection: httpd must write nothing
     * more, read nothing more, and not shutdown() it. */
    c->keepalive = AP_CONN_CLOSE;
    c->aborted = 1;
    apr_table_setn(r->subprocess_env, "XAPI_FORWARD", "handoff");
    fs->handed = xf_stats_since(r);
    ap_log_rerror(
        APLOG_MARK, APLOG_DEBUG, 0, r,
        XF_LOGNO(0010) "handed the client socket off (%" APR_SIZE_T_FMT
                       " byte message)",
        len);
    collect_reply(r, d, uds);
    return OK;
}

/* ---- the scheme handler --------------------------------------------- */

/* the status page's counter of each way */
static const xf_stat_e way_stat[] = {
    [XF_WAY_HANDOFF] = XF_STAT_HANDOFF,
    [XF_WAY_RELAY] = XF_STAT_RELAY,
    [XF_WAY_TUNNEL] = XF_STAT_TUNNEL,
};

/* Steps, as mod_proxy_uwsgi's handler; every failure goes to cleanup,
 * which closes the daemon socket exactly once (a control socket the daemon
 * keeps was dup()ed to the watcher before) and counts the forward once,
 * from the record the steps fill in (fs). The location's configuration is
 * fetched here once and handed to the steps. */
int xf_proxy_handler(request_rec *r, proxy_worker *worker,
                     proxy_server_conf *conf, char *url, const char *proxyhost,
                     apr_port_t proxyport)
{
    const xf_dir_conf_t *d;
    const xapi_forward_flusher *fl;
    const char *uds = NULL, *fname, *obstacle, *payload = NULL;
    apr_size_t plen = 0;
    apr_interval_time_t timeout;
    xf_mode_e mode;
    xf_fwd_stats_t fs;
    xf_way_e way;
    int status, uds_fd = -1, relay;
    int pair[2] = {-1, -1};

    if (strncasecmp(url, XF_SCHEME_PREFIX, XF_SCHEME_PREFIX_LEN))
        return DECLINED;
    d = xf_config_dir_get(r);
    xf_stats_fwd_init(&fs);

    /* Step One: the forms the header_parser cannot see (a RewriteRule [P]
     * inside <Location>): still nothing reaches the daemon */
    status = xf_path_check(r, "handler");
    if (status != OK)
        goto cleanup;

    /* Step Two: the daemon's socket and the worker's flusher */
    uds = *worker->s->uds_path ? worker->s->uds_path
                               : apr_table_get(r->notes, "uds_path");
    if (!uds || !*uds) {
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, 0, r,
            XF_LOGNO(0003) "no daemon socket for %s: write the URL as "
                           "\"unix:/path/to.sock|xapi://name/\"",
            url);
        status = HTTP_INTERNAL_SERVER_ERROR;
        goto cleanup;
    }
    fname =
        *worker->s->flusher ? worker->s->flusher : XAPI_FORWARD_FLUSHER_XAPI;
    fl = ap_lookup_provider(XAPI_FORWARD_FLUSHER, fname,
                            XAPI_FORWARD_FLUSHER_VERSION);
    if (!fl) {
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, 0, r,
            XF_LOGNO(0002) "no flusher named \"%s\" (built in: xapi, fdpass)",
            fname);
        status = HTTP_INTERNAL_SERVER_ERROR;
        goto cleanup;
    }

    /* Step Three: hand-off, relay or tunnel */
    mode = xf_dir_mode(d);
    obstacle = mode == XF_MODE_RELAY ? NULL : handoff_obstacle(r);
    relay = mode == XF_MODE_RELAY || obstacle;
    if (relay && (mode == XF_MODE_HANDOFF || fl->writes_to_client)) {
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, 0, r,
            XF_LOGNO(0009) "cannot hand the client socket off: %s (%s)",
            obstacle ? obstacle : "relay mode requested",
            mode == XF_MODE_HANDOFF
                ? "XapiForwardMode is handoff"
                : "the flusher only works with a raw hand-off");
        status = HTTP_INTERNAL_SERVER_ERROR;
        goto cleanup;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  XF_LOGNO(0018) "%s to %s (mode %s%s%s)",
                  relay ? "relaying" : "handing off", uds, xf_mode_name(mode),
                  obstacle ? ": " : "", obstacle ? obstacle : "");
    way = !relay                               ? XF_WAY_HANDOFF
          : xf_dir_relay(d) == XF_RELAY_TUNNEL ? XF_WAY_TUNNEL
                                               : XF_WAY_RELAY;
    fs.way = way_stat[way];
    fs.uds = uds;
    fs.why = obstacle;

    /* Step Four: the message (a flusher that writes to the client runs
     * only once the daemon is there, in Step Six) */
    if (!fl->writes_to_client) {
        status = fl->flusher(r, &payload, &plen, fl->context);
        fs.envelope = plen;
        fs.built = xf_stats_since(r);
        if (status == HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE)
            fs.stage = XF_FWD_OVERSIZE;
        if (status != OK)
            goto cleanup;
    }
    if (way == XF_WAY_TUNNEL) {
        status = xf_tunnel_check(r);
        if (status != OK)
            goto cleanup;
    }

    /* Step Five: the relay's socketpair, then the daemon: out of
     * descriptors, the daemon sees no connection without a message */
    if (relay) {
        status = xf_relay_pair(pair, r);
        if (status != OK) {
            /* a failed forward, not a missing daemon */
            fs.stage = XF_FWD_FORWARDING;
            goto cleanup;
        }
    }
    status = connect_daemon(&uds_fd, r, d, worker, conf, uds);
    if (status != OK) {
        fs.stage = XF_FWD_NO_CONNECT;
        goto cleanup;
    }
    fs.connected = xf_stats_since(r);

    /* Step Six: a flusher that writes the response head itself */
    if (fl->writes_to_client) {
        status = fl->flusher(r, &payload, &plen, fl->context);
        if (status != OK)
            goto cleanup;
    }

    /* Step Seven: pass the socket, or relay, or tunnel */
    fs.stage = XF_FWD_FORWARDING;
    timeout = xf_proxy_io_timeout(r, worker, conf);
    if (way == XF_WAY_TUNNEL) {
        status =
            xf_tunnel_run(pair, r, d, worker, uds_fd, payload, plen, timeout);
        if (status == DONE) /* xenopsd keeps it for the whole migration */
            keep_control(r, d, uds_fd, -1);
    }
    else if (relay)
        status = xf_relay_run(pair, r, uds_fd, payload, plen, timeout, &fs);
    else
        status = handoff(r, d, uds_fd, payload, plen, timeout, &fs);

cleanup:
    if (uds_fd >= 0)
        xf_fdpass_close(uds_fd, r->pool);
    if (pair[0] >= 0)
        xf_fdpass_close(pair[0], r->pool);
    if (pair[1] >= 0)
        xf_fdpass_close(pair[1], r->pool);
    xf_stats_forwarded(r, &fs, status);
    return status;
}
