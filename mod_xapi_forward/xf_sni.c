/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_sni.c - XapiForwardVHostBySNI: the vhost a TLS client chose by SNI
 * serves every request of that connection, whatever the Host header. A
 * pool member calls its coordinator with SNI "pool" and no Host header
 * (HTTP/1.0, ocaml/xapi/helpers.ml), or an address as Host; mod_ssl
 * refuses both (modules/ssl/ssl_engine_kernel.c ssl_hook_ReadReq: 400
 * AH02031, 421 AH02032) where xapi's stunnel never looks at Host.
 */
#include "xf_sni.h"

#include <apr_lib.h>
#include <apr_strings.h>

#include "http_config.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_ssl.h"
#include "http_vhost.h"

#include "xf_config.h"
#include "xf_private.h"

/* the client connection's pool: what its SNI selected (HTTP/1.x) */
#define XF_SNI_KEY "xapi-forward-sni"

/* the search for the vhost a server name selects */
typedef struct {
    const char *name;  /* the SNI */
    server_rec *found; /* the first vhost it names; NULL: none */
} sni_search_t;

/* whether any virtual host has XapiForwardVHostBySNI On: when none has,
 * the hook costs a request nothing (set at post_config, in the parent) */
static int sni_used;

/* The name test mod_ssl applies when the SNI selects the handshake's vhost
 * (modules/ssl/ssl_util.c ssl_util_vhost_matches): ServerName, then the
 * ServerAlias names, then the ServerAlias wildcards. */
static int names_vhost(const char *name, const server_rec *s)
{
    int i;

    if (s->server_hostname && !strcasecmp(name, s->server_hostname))
        return 1;
    for (i = 0; s->names && i < s->names->nelts; i++) {
        const char *n = APR_ARRAY_IDX(s->names, i, const char *);

        if (n && !strcasecmp(name, n))
            return 1;
    }
    for (i = 0; s->wild_names && i < s->wild_names->nelts; i++) {
        const char *n = APR_ARRAY_IDX(s->wild_names, i, const char *);

        if (n && !ap_strcasecmp_match(name, n))
            return 1;
    }
    return 0;
}

/* ap_vhost_iterate_given_conn() callback: the first match ends the walk,
 * as it does for mod_ssl (ssl_find_vhost), so both pick the same vhost */
static int find_vhost(void *baton, conn_rec *c, server_rec *s)
{
    sni_search_t *search = baton;

    if (!names_vhost(search->name, s))
        return 0;
    search->found = s;
    return 1;
}

/* the SNI as a host name for r->hostname: lower case, or NULL when it
 * holds anything a host name may not */
static const char *sni_hostname(const char *sni, apr_pool_t *p)
{
    char *h = apr_pstrdup(p, sni), *q;

    for (q = h; *q; q++) {
        if (!apr_isalnum(*q) && *q != '-' && *q != '.' && *q != '_')
            return NULL;
        *q = apr_tolower(*q);
    }
    return h;
}

/* The vhost the SNI of TLS connection tls selects when that vhost has
 * XapiForwardVHostBySNI On (found NULL otherwise). The SNI is the
 * connection's: an HTTP/1.x connection keeps the answer for its later
 * requests; an HTTP/2 stream (c, beside its siblings on other threads)
 * looks it up in its request's pool p. */
static const sni_search_t *sni_selected(conn_rec *c, conn_rec *tls,
                                        apr_pool_t *p)
{
    sni_search_t *search = NULL;
    int keep = c == tls;

    if (keep &&
        apr_pool_userdata_get((void **)&search, XF_SNI_KEY, c->pool) ==
            APR_SUCCESS &&
        search)
        return search;
    search = apr_pcalloc(keep ? c->pool : p, sizeof(*search));
    search->name = ap_ssl_var_lookup(keep ? c->pool : p, tls->base_server, tls,
                                     NULL, "SSL_TLS_SNI");
    if (search->name && *search->name) {
        ap_vhost_iterate_given_conn(tls, find_vhost, search);
        if (!search->found) {
            /* a name no vhost has: mod_ssl keeps the address's default
             * vhost for the handshake (modules/ssl/mod_ssl.c
             * ssl_init_ssl_connection: c->base_server), which is then the
             * vhost the SNI selected */
            search->found = tls->base_server;
        }
        if (!xf_srv_vhost_by_sni(xf_config_srv_get(search->found)))
            search->found = NULL;
    }
    if (keep)
        apr_pool_userdata_setn(search, XF_SNI_KEY, NULL, c->pool);
    return search;
}

int xf_sni_post_read_request(request_rec *r)
{
    conn_rec *c = r->connection, *tls = c;
    const sni_search_t *search;
    const char *hostname;

    if (!sni_used || !ap_is_initial_req(r))
        return DECLINED;
    /* an HTTP/2 stream is a secondary connection: the TLS session, its
     * SNI and the vhost lookup data are the primary connection's */
    while (tls->master)
        tls = tls->master;
    if (!ap_ssl_conn_is_ssl(tls))
        return DECLINED;
    search = sni_selected(c, tls, r->pool);
    if (!search->found)
        return DECLINED;
    if (r->server == search->found && r->hostname)
        return DECLINED;

    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  XF_LOGNO(0850) "SNI %s: request with %s%s served by the "
                                 "vhost of %s:%d (XapiForwardVHostBySNI)",
                  search->name, r->hostname ? "Host " : "no Host",
                  r->hostname ? r->hostname : "", search->found->defn_name,
                  search->found->defn_line_number);
    if (r->server != search->found) {
        /* what ap_read_request does after choosing the vhost by Host
         * (server/protocol.c apply_server_config); an HTTP/2 stream's
         * socket is the primary connection's: mod_http2 sets its own */
        r->server = search->found;
        r->per_dir_config = search->found->lookup_defaults;
        if (!c->master) {
            apr_socket_t *csd = ap_get_conn_socket(c);

            if (csd)
                apr_socket_timeout_set(csd, search->found->timeout);
        }
    }
    if (!r->hostname) {
        /* mod_ssl wants a host name with an SNI; the request's headers
         * stay as they came (no Host is added) */
        hostname = sni_hostname(search->name, r->pool);
        r->hostname = hostname ? hostname : search->found->server_hostname;
    }
    return DECLINED;
}

static int sni_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s)
{
    for (sni_used = 0; s && !sni_used; s = s->next)
        sni_used = xf_srv_vhost_by_sni(xf_config_srv_get(s));
    return OK;
}

void xf_sni_register(apr_pool_t *p)
{
    /* before mod_ssl's checks, and before mod_http2 records r->server for
     * the stream (h2_c2.c c2_post_read_request, also REALLY_FIRST) */
    static const char *const before[] = {"mod_ssl.c", "mod_http2.c", NULL};

    ap_hook_post_config(sni_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(xf_sni_post_read_request, NULL, before,
                              APR_HOOK_REALLY_FIRST);
}
