/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_reqview.c - request_rec -> xf_reqview_t. Headers are taken in the
 * order httpd stored them (wire order; a repeated header is already merged
 * into one comma-joined value by httpd's header parser).
 */
#include "xf_reqview.h"

#include <apr_strings.h>

#include "http_ssl.h"

#include "xf_private.h"

static const char *tcp6_addr(const apr_sockaddr_t *sa, apr_pool_t *p)
{
    char *ip = NULL;

    if (!sa || apr_sockaddr_ip_get(&ip, (apr_sockaddr_t *)sa) != APR_SUCCESS ||
        !ip)
        return "::";
    if (sa->family == APR_INET)
        return apr_pstrcat(p, "::ffff:", ip, NULL);
    return ip;
}

const char *xf_reqview_stunnel_proxy(conn_rec *c, apr_pool_t *p)
{
    conn_rec *m = c;

    while (m->master)
        m = m->master;
    return apr_psprintf(p, "TCP6 %s %s %u %u", tcp6_addr(m->client_addr, p),
                        tcp6_addr(m->local_addr, p),
                        m->client_addr ? (unsigned)m->client_addr->port : 0,
                        m->local_addr ? (unsigned)m->local_addr->port : 0);
}

void xf_reqview_build(xf_reqview_t *rv, request_rec *r, int stunnel)
{
    const apr_array_header_t *arr = apr_table_elts(r->headers_in);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    int i;

    rv->method = r->method;
    rv->target = r->unparsed_uri ? r->unparsed_uri : r->uri;
    if (r->proto_num >= HTTP_VERSION(2, 0) || !r->protocol ||
        strncmp(r->protocol, "HTTP/", 5))
        rv->version = "1.1";
    else
        rv->version = r->protocol + 5;
    rv->headers =
        apr_array_make(r->pool, arr->nelts ? arr->nelts : 1, sizeof(xf_kv_t));
    for (i = 0; i < arr->nelts; i++) {
        xf_kv_t *kv;

        if (!e[i].key)
            continue;
        kv = apr_array_push(rv->headers);
        kv->key = e[i].key;
        kv->val = e[i].val ? e[i].val : "";
    }
    rv->stunnel_proxy = NULL;
    if (stunnel) {
        conn_rec *m = r->connection;
        while (m->master)
            m = m->master;
        if (ap_ssl_conn_is_ssl(m))
            rv->stunnel_proxy =
                xf_reqview_stunnel_proxy(r->connection, r->pool);
    }
}
