/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_xapicall.c - how a request talks to XAPI: one clock per request
 * (XapiForwardXapiTimeout bounds all its calls, not each), the pool master
 * remembered per configured URL after a HOST_IS_SLAVE answer (process
 * memory, forgotten when the master stops answering), logins and logouts,
 * and the time of each call for the status page (xf_stats.c).
 */
#include "xf_xapicall.h"

#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "http_config.h"
#include "http_log.h"

#include "xf_config.h"
#include "xf_private.h"
#include "xf_stats.h"

#define XF_ORIGINATOR "mod_xapi_forward"
#define XF_MAX_MASTERS 8

/* Per process: the masters HOST_IS_SLAVE named. */
static struct {
#if APR_HAS_THREADS
    apr_thread_mutex_t *lock;
#endif
    /* configured URL -> the pool master it sent us to */
    struct {
        char url[256];
        char master[256];
    } masters[XF_MAX_MASTERS];
} rt;

/* ---- start-up -------------------------------------------------------- */

void xf_xapicall_pre_config(void)
{
    memset(rt.masters, 0, sizeof(rt.masters));
}

int xf_xapicall_post_config(server_rec *s)
{
    if (!xf_config_auth_used(s) || xf_xapi_init() == APR_SUCCESS)
        return OK;
    ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                 XF_LOGNO(0207) "cannot initialise the XAPI client (libcurl)");
    return HTTP_INTERNAL_SERVER_ERROR;
}

void xf_xapicall_child_init(apr_pool_t *p, server_rec *s)
{
#if APR_HAS_THREADS
    if (xf_config_auth_used(s))
        apr_thread_mutex_create(&rt.lock, APR_THREAD_MUTEX_DEFAULT, p);
#endif
}

/* ---- the pool master ------------------------------------------------- */

static void master_lock(int lock)
{
#if APR_HAS_THREADS
    if (rt.lock) {
        if (lock)
            apr_thread_mutex_lock(rt.lock);
        else
            apr_thread_mutex_unlock(rt.lock);
    }
#endif
}

/* The master remembered for a configured URL, copied to out ("" if none) */
static void master_get(char *out, apr_size_t size, const char *url)
{
    int i;

    *out = '\0';
    master_lock(1);
    for (i = 0; i < XF_MAX_MASTERS; i++)
        if (!strcmp(rt.masters[i].url, url)) {
            apr_cpystrn(out, rt.masters[i].master, size);
            break;
        }
    master_lock(0);
}

/* Remember (m != NULL) or forget (m == NULL) the master for url. */
static void master_set(const char *url, const char *m)
{
    int i, free_slot = -1;

    if (strlen(url) >= sizeof(rt.masters[0].url))
        return;
    master_lock(1);
    for (i = 0; i < XF_MAX_MASTERS; i++) {
        if (!strcmp(rt.masters[i].url, url))
            break;
        if (free_slot < 0 && !rt.masters[i].url[0])
            free_slot = i;
    }
    if (i == XF_MAX_MASTERS)
        i = free_slot >= 0 ? free_slot : 0;
    if (m) {
        apr_cpystrn(rt.masters[i].url, url, sizeof(rt.masters[i].url));
        apr_cpystrn(rt.masters[i].master, m, sizeof(rt.masters[i].master));
    }
    else if (!strcmp(rt.masters[i].url, url))
        rt.masters[i].url[0] = rt.masters[i].master[0] = '\0';
    master_lock(0);
}

xf_ep_t *xf_xapicall_endpoint(request_rec *r, const char *url)
{
    const xf_srv_conf_t *c = xf_config_srv_get(r->server);
    xf_ep_t *e = apr_pcalloc(r->pool, sizeof(*e));
    xf_xapi_endpoint_t *ep = apr_pcalloc(r->pool, sizeof(*ep));
    char master[sizeof(rt.masters[0].master)];

    ep->url = url;
    ep->ca_file = c->ca_file;
    ep->verify = xf_srv_verify(c);
    ep->timeout_ms = (long)apr_time_as_msec(xf_srv_xapi_timeout(c));
    if (!ap_get_module_config(r->request_config, &xapi_forward_module))
        xf_xapicall_start_clock(r); /* the request's first call */
    e->ep = e->configured = ep;
    master_get(master, sizeof(master), url);
    if (*master) {
        xf_xapi_endpoint_t *mep = xf_xapi_master_endpoint(ep, master, r->pool);
        if (mep) {
            e->ep = mep;
            e->via_master = 1;
        }
    }
    return e;
}

/* ---- the clock and the calls ----------------------------------------- */

void xf_xapicall_start_clock(request_rec *r)
{
    apr_time_t *deadline = apr_palloc(r->pool, sizeof(*deadline));

    *deadline =
        apr_time_now() + xf_srv_xapi_timeout(xf_config_srv_get(r->server));
    ap_set_module_config(r->request_config, &xapi_forward_module, deadline);
}

/* What is left of r's clock goes to ep; 0 (and rep says so) once the time
 * is up. */
static int time_left(xf_xapi_reply_t *rep, request_rec *r,
                     xf_xapi_endpoint_t *ep)
{
    const apr_time_t *deadline =
        ap_get_module_config(r->request_config, &xapi_forward_module);
    apr_time_t now = apr_time_now();

    if (deadline && *deadline <= now) {
        memset(rep, 0, sizeof(*rep));
        rep->code = XF_XAPI_TIMEOUT;
        rep->error = "XapiForwardXapiTimeout reached";
        return 0;
    }
    if (deadline)
        ep->timeout_ms = (long)apr_time_as_msec(*deadline - now) + 1;
    return 1;
}

static int transport_failed(const xf_xapi_reply_t *rep)
{
    return rep->code == XF_XAPI_UNREACHABLE || rep->code == XF_XAPI_TIMEOUT ||
           rep->code == XF_XAPI_GARBAGE;
}

/* One call on the wire, timed for the status page. */
static void timed_call(xf_xapi_reply_t *rep, const xf_xapi_endpoint_t *ep,
                       const char *method, const xf_xapi_param_t *params, int n,
                       apr_pool_t *p)
{
    apr_time_t t0 = apr_time_now();
    apr_status_t st = xf_xapi_call_ex(rep, ep, method, params, n, p);

    xf_stats_xapi(apr_time_now() - t0,
                  st != APR_SUCCESS || transport_failed(rep));
}

void xf_xapicall_call(xf_xapi_reply_t *rep, request_rec *r, xf_ep_t *e,
                      const char *method, const xf_xapi_param_t *params, int n)
{
    xf_xapi_endpoint_t *mep;

    if (!time_left(rep, r, e->ep))
        return;
    timed_call(rep, e->ep, method, params, n, r->pool);
    if (e->via_master && transport_failed(rep)) {
        /* the remembered master is gone: back to the configured URL */
        ap_log_rerror(
            APLOG_MARK, APLOG_INFO, 0, r,
            XF_LOGNO(0214) "pool master %s does not answer (%s): asking %s "
                           "again",
            e->ep->url, rep->error ? rep->error : "?", e->configured->url);
        master_set(e->configured->url, NULL);
        e->ep = e->configured;
        e->via_master = 0;
        if (!time_left(rep, r, e->ep))
            return;
        timed_call(rep, e->ep, method, params, n, r->pool);
    }
    if (rep->code == XF_XAPI_HOST_IS_SLAVE && rep->master &&
        (mep = xf_xapi_master_endpoint(e->ep, rep->master, r->pool))) {
        const char *master = rep->master;
        if (!time_left(rep, r, mep))
            return;
        timed_call(rep, mep, method, params, n, r->pool);
        if (!transport_failed(rep)) {
            ap_log_rerror(
                APLOG_MARK, APLOG_INFO, 0, r,
                XF_LOGNO(0210) "%s answered HOST_IS_SLAVE: asking the pool "
                               "master %s from now on",
                e->configured->url, master);
            master_set(e->configured->url, master);
            e->ep = mep;
            e->via_master = 1;
        }
    }
}

void xf_xapicall_strings(xf_xapi_reply_t *rep, request_rec *r, xf_ep_t *e,
                         const char *method, const char *const *params)
{
    xf_xapi_param_t typed[4];
    int n;

    memset(typed, 0, sizeof(typed));
    for (n = 0; n < 4 && params[n]; n++)
        typed[n].s = params[n];
    xf_xapicall_call(rep, r, e, method, typed, n);
}

/* ---- sessions of our own ---------------------------------------------- */

xf_ep_t *xf_xapicall_login(xf_xapi_reply_t *rep, request_rec *r,
                           const xf_cred_t *cred)
{
    const xf_srv_conf_t *c = xf_config_srv_get(r->server);
    int cc = cred->kind == XF_CRED_CLIENT_CERT;
    xf_ep_t *ep = xf_xapicall_endpoint(r, cc ? xf_srv_client_cert_url(c)
                                             : xf_srv_login_url(c));
    /* on the clientcert socket xapi gives login_with_password("", "") the
     * client-cert role (ocaml/xapi/xapi_http.ml,
     * create_session_for_client_cert) */
    const char *login[5] = {cc ? "" : cred->user, cc ? "" : cred->pass, "1.0",
                            XF_ORIGINATOR, NULL};

    xf_xapicall_strings(rep, r, ep, "session.login_with_password", login);
    return ep;
}

void xf_xapicall_logout(xf_xapi_reply_t *rep, request_rec *r, xf_ep_t *e,
                        const char *session)
{
    const char *params[2] = {session, NULL};

    xf_xapicall_strings(rep, r, e, "session.logout", params);
}
