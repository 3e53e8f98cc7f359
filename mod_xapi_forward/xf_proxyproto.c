/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_proxyproto.c - XapiForwardProxyProtocol: the catch-all's requests
 * reach xapi's port 80 (mod_proxy_http) as xapi's stunnel delivers them.
 *
 * httpd 2.4 has no option to send a PROXY line to a backend, and no hook
 * that sees both a request and the backend connection made for it. The
 * backend connection is made, and its pre_connection hooks run, inside
 * mod_proxy_http's scheme handler, on the thread that handles the request
 * (modules/proxy/mod_proxy_http.c proxy_http_handler, "Step Three":
 * ap_proxy_connection_create_ex() -> proxy_util.c proxy_connection_create
 * -> ap_run_pre_connection), whatever the MPM, and for an HTTP/2 stream on
 * the h2 worker that runs it. So:
 *  - a scheme handler that runs first and always declines notes, per
 *    thread, what the request needs (its PROXY line, whether the client
 *    sent a Host) and checks that its worker never reuses a connection;
 *  - the pre_connection hook of an outgoing connection made while such a
 *    note is pending adds a filter below mod_ssl's that writes the line
 *    before the first bytes (and drops the Host line mod_proxy_http
 *    invents when the client sent none), then removes itself;
 *  - proxy's request_status hook, which runs after the scheme handlers,
 *    clears the note (and a pool cleanup of the request, should it not);
 *  - a TLS client's Upgrade also gets xf_tunnel.c's close_notify at the
 *    end of the tunnel mod_proxy_http makes of it (xapi's websocket
 *    console).
 * One request per backend connection (the worker's disablereuse=on, or an
 * unreusable address) makes "a backend connection never carries two
 * clients' requests" hold without tracking connections.
 */
#include "xf_proxyproto.h"

#include <apr_optional_hooks.h>
#include <apr_strings.h>

#include "http_connection.h"
#include "http_protocol.h"
#include "http_ssl.h"
#include "mod_proxy.h"

#include "xf_config.h"
#include "xf_private.h"
#include "xf_proxyline.h"
#include "xf_tunnel.h"

#define XF_PROXYPROTO_FILTER "XAPI_FORWARD_PROXYLINE"

/* how far into the request head the Host line is looked for (the request
 * line comes first: LimitRequestLine's largest value is 64 KiB) */
#define XF_HEAD_SCAN (64 * 1024)

/** What one request needs from the backend connection made for it. */
typedef struct {
    request_rec *r;      /* the client's request */
    const char *line;    /* its PROXY line; NULL: not a TLS client */
    apr_size_t line_len; /* its length */
    int drop_host;       /* 1: the client sent no Host (one was lent) */
} xf_pending_t;

/** What the filter of one backend connection writes. */
typedef struct {
    const char *line;    /* NULL: none */
    apr_size_t line_len; /* its length */
    int drop_host;       /* 1: drop the head's Host line */
} xf_lead_t;

/* the note of the request this thread is proxying; see the file comment */
static __thread xf_pending_t *pending;

static ap_filter_rec_t *lead_handle;

static apr_status_t clear_pending(void *data)
{
    if (pending == data)
        pending = NULL;
    return APR_SUCCESS;
}

static int is_http_url(const char *url)
{
    return !ap_cstr_casecmpn(url, "http://", 7) ||
           !ap_cstr_casecmpn(url, "ws://", 5);
}

/* the line naming the client of c (the TCP connection under an h2
 * stream), or NULL when that client is not on TLS */
static const char *client_line(apr_size_t *plen, conn_rec *c, apr_pool_t *p)
{
    char *cip = NULL, *lip = NULL, *buf;
    int n;

    while (c->master)
        c = c->master;
    if (!ap_ssl_conn_is_ssl(c))
        return NULL;
    buf = apr_palloc(p, XF_PROXYLINE_MAX);
    if (!c->client_addr || !c->local_addr ||
        apr_sockaddr_ip_get(&cip, c->client_addr) != APR_SUCCESS ||
        apr_sockaddr_ip_get(&lip, c->local_addr) != APR_SUCCESS)
        return "";
    n = xf_proxyline_format(buf, cip, c->client_addr->port, lip,
                            c->local_addr->port);
    if (n < 0)
        return "";
    *plen = (apr_size_t)n;
    return buf;
}

/* On for r: as r's sections say (<Location>, and the <Proxy> sections
 * that match r->filename); when none sets it, as the worker's own <Proxy>
 * section says: proxy_walk never matches "<Proxy unix:...|...>" against a
 * request (its filename has no "unix:"), but a <Proxy> section whose
 * header carries a parameter ("<Proxy URL disablereuse=on>") is bound to
 * its worker (modules/proxy/mod_proxy.c proxysection, section_config) */
static int wanted(request_rec *r, proxy_worker *worker)
{
    const xf_dir_conf_t *d = xf_config_dir_get(r);

    if (d && d->proxy_protocol != XF_UNSET)
        return d->proxy_protocol;
    if (!worker || !worker->section_config)
        return 0;
    return xf_dir_proxy_protocol(
        ap_get_module_config(worker->section_config, &xapi_forward_module));
}

/* The observer: runs before every scheme handler, declines always. */
static int xf_proxyproto_scheme(request_rec *r, proxy_worker *worker,
                                proxy_server_conf *conf, char *url,
                                const char *proxyhost, apr_port_t proxyport)
{
    xf_pending_t *p;

    pending = NULL;
    if (!url || !is_http_url(url) || proxyhost || !wanted(r, worker))
        return DECLINED;
    if (worker && worker->s->is_address_reusable && !worker->s->disablereuse) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      XF_LOGNO(0800) "XapiForwardProxyProtocol On: worker %s "
                                     "reuses backend connections, which "
                                     "would carry one client's PROXY line "
                                     "to another's requests; add "
                                     "disablereuse=on to its ProxyPass "
                                     "(or ProxySet)",
                      worker->s->name_ex);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    p = apr_pcalloc(r->pool, sizeof(*p));
    p->r = r;
    p->line = client_line(&p->line_len, r->connection, r->pool);
    if (p->line && !*p->line) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      XF_LOGNO(0801) "XapiForwardProxyProtocol: no PROXY line "
                                     "can name this client (address %s)",
                      r->connection->client_ip);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* the request line keeps the client's version (mod_proxy_http sends
     * HTTP/1.1 otherwise): a pool member's HTTP/1.0 call stays 1.0 */
    if (r->proto_num < HTTP_VERSION(1, 1))
        apr_table_setn(r->subprocess_env, "force-proxy-request-1.0", "1");
    /* mod_proxy_http always writes a Host line, with ProxyPreserveHost On
     * the server's name (and AH01092 at WARNING) when the client sent
     * none; lend it one and drop that line on the wire */
    if (!apr_table_get(r->headers_in, "Host")) {
        p->drop_host = 1;
        apr_table_setn(r->headers_in, "Host",
                       r->server->server_hostname ? r->server->server_hostname
                                                  : "localhost");
    }
    if (!p->line && !p->drop_host)
        return DECLINED;
    pending = p;
    apr_pool_cleanup_register(r->pool, p, clear_pending, apr_pool_cleanup_null);
    return DECLINED;
}

static int xf_proxyproto_status(int *status, request_rec *r)
{
    xf_pending_t *p = pending;

    if (p && p->r == r) {
        pending = NULL;
        if (p->drop_host)
            apr_table_unset(r->headers_in, "Host");
    }
    return DECLINED;
}

const char *xf_proxyproto_take(request_rec *r, apr_size_t *plen)
{
    xf_pending_t *p = pending;

    if (!p || p->r != r)
        return NULL;
    pending = NULL;
    /* the caller writes the head as the client sent it: no lent Host */
    if (p->drop_host)
        apr_table_unset(r->headers_in, "Host");
    if (!p->line)
        return NULL;
    *plen = p->line_len;
    return p->line;
}

static int xf_proxyproto_pre_connection(conn_rec *c, void *csd)
{
    xf_pending_t *p = pending;
    xf_lead_t *lead;

    if (!c->outgoing || !p)
        return OK;
    lead = apr_pcalloc(c->pool, sizeof(*lead));
    if (p->line) {
        lead->line = apr_pstrmemdup(c->pool, p->line, p->line_len);
        lead->line_len = p->line_len;
    }
    lead->drop_host = p->drop_host;
    ap_add_output_filter_handle(lead_handle, lead, NULL, c);
    /* a TLS client's Upgrade (xapi's websocket console): once xapi's 101
     * makes it a tunnel, xapi's end reaches the client as close_notify, as
     * stunnel ends it (httpd's tunnel alone shuts the TCP write side) */
    if (p->line && apr_table_get(p->r->headers_in, "Upgrade")) {
        xf_tunnel_count_t *n = xf_tunnel_count_new(p->r);

        n->upgrade_only = 1;
        xf_tunnel_count_add(n, c);
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, p->r,
                  XF_LOGNO(0802) "backend connection to xapi: %s%s",
                  p->line ? "PROXY line for " : "no PROXY line (plain HTTP)",
                  p->line ? p->r->connection->client_ip : "");
    return OK;
}

/* Offsets [*from, *to) of the second line of the head in bb, when it is a
 * Host line: mod_proxy_http writes Host right after the request line
 * (proxy_util.c ap_proxy_create_hdrbrgd, "send `Host: ` always first"). */
static int find_host_line(apr_bucket_brigade *bb, apr_off_t *from,
                          apr_off_t *to)
{
    apr_bucket *b;
    apr_off_t pos = 0;
    char pfx[5];
    apr_size_t npfx = 0;
    int nl = 0;

    for (b = APR_BRIGADE_FIRST(bb);
         b != APR_BRIGADE_SENTINEL(bb) && pos < XF_HEAD_SCAN;
         b = APR_BUCKET_NEXT(b)) {
        const char *data;
        apr_size_t len, i;

        if (APR_BUCKET_IS_METADATA(b))
            break;
        if (apr_bucket_read(b, &data, &len, APR_BLOCK_READ) != APR_SUCCESS)
            return 0;
        for (i = 0; i < len; i++, pos++) {
            if (nl == 1 && npfx < sizeof(pfx))
                pfx[npfx++] = data[i];
            if (data[i] != '\n')
                continue;
            if (++nl == 1) {
                *from = pos + 1;
                continue;
            }
            *to = pos + 1;
            return npfx == sizeof(pfx) && !ap_cstr_casecmpn(pfx, "Host:", 5);
        }
    }
    return 0;
}

static void drop_host_line(ap_filter_t *f, apr_bucket_brigade *bb)
{
    apr_off_t from = 0, to = 0;
    apr_bucket *b, *end;

    if (!find_host_line(bb, &from, &to) ||
        apr_brigade_partition(bb, from, &b) != APR_SUCCESS ||
        apr_brigade_partition(bb, to, &end) != APR_SUCCESS) {
        ap_log_cerror(APLOG_MARK, APLOG_WARNING, 0, f->c,
                      XF_LOGNO(0803) "XapiForwardProxyProtocol: the Host line "
                                     "mod_proxy_http added to a request "
                                     "without Host was not found; it "
                                     "reaches the backend");
        return;
    }
    while (b != end) {
        apr_bucket *next = APR_BUCKET_NEXT(b);
        apr_bucket_delete(b);
        b = next;
    }
}

/* The backend connection's first bytes: the PROXY line, then the head
 * (less the lent Host line); then the filter steps aside. */
static apr_status_t lead_out(ap_filter_t *f, apr_bucket_brigade *bb)
{
    xf_lead_t *lead = f->ctx;

    if (APR_BRIGADE_EMPTY(bb))
        return ap_pass_brigade(f->next, bb);
    if (lead->drop_host)
        drop_host_line(f, bb);
    if (lead->line) {
        apr_bucket *b = apr_bucket_pool_create(lead->line, lead->line_len,
                                               f->c->pool, f->c->bucket_alloc);
        APR_BRIGADE_INSERT_HEAD(bb, b);
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

int xf_proxyproto_check_config(server_rec *s)
{
    int rc = OK;

    for (; s; s = s->next) {
        proxy_server_conf *sc =
            ap_get_module_config(s->module_config, &proxy_module);
        proxy_worker *w;
        int i;

        if (!sc || !sc->workers)
            continue;
        w = (proxy_worker *)sc->workers->elts;
        for (i = 0; i < sc->workers->nelts; i++, w++) {
            const xf_dir_conf_t *d =
                w->section_config ? ap_get_module_config(w->section_config,
                                                         &xapi_forward_module)
                                  : NULL;

            if (!d || !xf_dir_proxy_protocol(d) || !w->s->is_address_reusable ||
                w->s->disablereuse)
                continue;
            ap_log_error(
                APLOG_MARK, APLOG_CRIT, 0, s,
                XF_LOGNO(
                    0804) "XapiForwardProxyProtocol On in the <Proxy> section "
                          "of worker %s, which reuses backend connections: "
                          "write <Proxy \"URL\" disablereuse=on>",
                w->s->name_ex);
            rc = HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return rc;
}

void xf_proxyproto_register(apr_pool_t *p)
{
    /* below mod_ssl's filter (AP_FTYPE_CONNECTION + 5): the line goes
     * before any TLS, as the PROXY protocol has it */
    lead_handle = ap_register_output_filter(XF_PROXYPROTO_FILTER, lead_out,
                                            NULL, AP_FTYPE_NETWORK - 1);
    proxy_hook_scheme_handler(xf_proxyproto_scheme, NULL, NULL,
                              APR_HOOK_REALLY_FIRST);
    /* an optional hook of mod_proxy (mod_proxy.c: no proxy_hook_ function) */
    APR_OPTIONAL_HOOK(proxy, request_status, xf_proxyproto_status, NULL, NULL,
                      APR_HOOK_REALLY_FIRST);
    ap_hook_pre_connection(xf_proxyproto_pre_connection, NULL, NULL,
                           APR_HOOK_MIDDLE);
}
