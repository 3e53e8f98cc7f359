/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_access.c - access control against XAPI, in an access_checker
 * so that an unauthenticated request never reaches a daemon. Credentials
 * come in xapi's order (xf_auth.c); sessions and Basic logins are checked
 * over JSON-RPC (xf_xapi.c); decisions are cached (xf_cache.c). Fails
 * closed: XAPI unreachable means 503.
 */
#include "xf_access.h"

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "ap_provider.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"

#include "xf_auth.h"
#include "xf_cache.h"
#include "xf_clientcert.h"
#include "xf_config.h"
#include "xf_path.h"
#include "xf_plugin.h"
#include "xf_private.h"
#include "xf_routes.h"
#include "xf_stats.h"
#include "xf_task.h"
#include "xf_xapi.h"

#define XF_ORIGINATOR "mod_xapi_forward"
#define XF_MAX_MASTERS 8

/* Run-time state, per process: the pool secrets (read in post_config), and
 * the masters HOST_IS_SLAVE named. */
static struct {
    apr_hash_t *secrets; /* pool secret file -> xf_secret_t */
#if APR_HAS_THREADS
    apr_thread_mutex_t *master_lock;
#endif
    /* HOST_IS_SLAVE: configured URL -> the pool master it sent us to
     * (process memory; forgotten when the master stops answering) */
    struct {
        char url[256];
        char master[256];
    } masters[XF_MAX_MASTERS];
} rt;

/* ---- start-up -------------------------------------------------------- */

int xf_access_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    int rc = xf_cache_pre_config(pconf);

    if (rc != OK)
        return rc;
    rt.secrets = NULL;
    memset(rt.masters, 0, sizeof(rt.masters));
    return OK;
}

int xf_access_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *s)
{
    server_rec *vs;
    apr_status_t st;

    if (!xf_config_auth_used(s))
        return OK;
    if (xf_xapi_init() != APR_SUCCESS) {
        ap_log_error(
            APLOG_MARK, APLOG_CRIT, 0, s,
            XF_LOGNO(0207) "cannot initialise the XAPI client (libcurl)");
        return 500;
    }
    /* the pool secrets, read at every (graceful) restart */
    rt.secrets = apr_hash_make(pconf);
    for (vs = s; vs; vs = vs->next) {
        const xf_srv_conf_t *c = xf_config_srv_get(vs);
        xf_secret_t *sec;

        if (!c->pool_secret_file ||
            apr_hash_get(rt.secrets, c->pool_secret_file, APR_HASH_KEY_STRING))
            continue;
        sec = apr_pcalloc(pconf, sizeof(*sec));
        st = xf_auth_read_secret(sec, c->pool_secret_file, pconf);
        if (st != APR_SUCCESS) {
            ap_log_error(
                APLOG_MARK, APLOG_CRIT, st, vs,
                XF_LOGNO(0208) "XapiForwardPoolSecretFile %s: cannot read a "
                               "non-empty secret of at most 64 KiB",
                c->pool_secret_file);
            return 500;
        }
        apr_hash_set(rt.secrets, c->pool_secret_file, APR_HASH_KEY_STRING, sec);
    }
    return xf_cache_post_config(pconf, ptemp, s);
}

void xf_access_child_init(apr_pool_t *p, server_rec *s)
{
    xf_cache_child_init(p, s);
#if APR_HAS_THREADS
    if (xf_config_auth_used(s))
        apr_thread_mutex_create(&rt.master_lock, APR_THREAD_MUTEX_DEFAULT, p);
#endif
}

/* ---- XAPI ------------------------------------------------------------- */

static void master_lock(int lock)
{
#if APR_HAS_THREADS
    if (rt.master_lock) {
        if (lock)
            apr_thread_mutex_lock(rt.master_lock);
        else
            apr_thread_mutex_unlock(rt.master_lock);
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

static int transport_failed(const xf_xapi_reply_t *rep)
{
    return rep->code == XF_XAPI_UNREACHABLE || rep->code == XF_XAPI_TIMEOUT ||
           rep->code == XF_XAPI_GARBAGE;
}

/* One call, following HOST_IS_SLAVE to the master once (and remembering
 * it for later requests). *pep is updated to the endpoint that answered. */
/* XapiForwardXapiTimeout bounds the whole check (up to four calls), not
 * each call: every call gets what is left of it. */
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

void xf_access_start_clock(request_rec *r)
{
    apr_time_t *deadline = apr_palloc(r->pool, sizeof(*deadline));

    *deadline =
        apr_time_now() + xf_srv_xapi_timeout(xf_config_srv_get(r->server));
    ap_set_module_config(r->request_config, &xapi_forward_module, deadline);
}

void xf_access_call(xf_xapi_reply_t *rep, request_rec *r, xf_ep_t *e,
                    const char *method, const xf_xapi_param_t *params, int n)
{
    xf_xapi_endpoint_t *mep;

    if (!time_left(rep, r, e->ep))
        return;
    xf_stats_xapi_call(rep, e->ep, method, params, n, r->pool);
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
        xf_stats_xapi_call(rep, e->ep, method, params, n, r->pool);
    }
    if (rep->code == XF_XAPI_HOST_IS_SLAVE && rep->master &&
        (mep = xf_xapi_master_endpoint(e->ep, rep->master, r->pool))) {
        const char *master = rep->master;
        if (!time_left(rep, r, mep))
            return;
        xf_stats_xapi_call(rep, mep, method, params, n, r->pool);
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

/* A call whose params are all strings (NULL-terminated). */
static void xapi_call(xf_xapi_reply_t *rep, request_rec *r, xf_ep_t *e,
                      const char *method, const char *const *params)
{
    xf_xapi_param_t typed[4];
    int n;

    memset(typed, 0, sizeof(typed));
    for (n = 0; n < 4 && params[n]; n++)
        typed[n].s = params[n];
    xf_access_call(rep, r, e, method, typed, n);
}

xf_ep_t *xf_access_endpoint(request_rec *r, const char *url)
{
    const xf_srv_conf_t *c = xf_config_srv_get(r->server);
    xf_ep_t *e = apr_pcalloc(r->pool, sizeof(*e));
    xf_xapi_endpoint_t *ep = apr_pcalloc(r->pool, sizeof(*ep));
    char master[sizeof(rt.masters[0].master)];

    ep->url = url;
    ep->ca_file = c->ca_file;
    ep->verify = xf_srv_verify(c);
    ep->timeout_ms = (long)apr_time_as_msec(xf_srv_xapi_timeout(c));
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

/* A session's decision: valid? and holds the permissions? 0 = XAPI
 * could not tell (fail closed). */
static xf_decision_e session_decision(request_rec *r, xf_ep_t *ep,
                                      const char *sess,
                                      const apr_array_header_t *perms,
                                      const char **pwhy)
{
    const char *params[3] = {sess, sess, NULL};
    xf_xapi_reply_t rep;
    const char **required;
    const char *missing = NULL;
    int i;

    xapi_call(&rep, r, ep, "session.get_uuid", params);
    if (rep.code == XF_XAPI_SESSION_INVALID)
        return XF_DECISION_INVALID;
    if (rep.code != XF_XAPI_OK) {
        *pwhy = rep.error;
        return 0;
    }
    if (!perms || perms->nelts == 0)
        return XF_DECISION_ALLOW;
    /* local superusers (root) hold every permission, with an empty list */
    xapi_call(&rep, r, ep, "session.get_is_local_superuser", params);
    if (rep.code == XF_XAPI_SESSION_INVALID)
        return XF_DECISION_INVALID;
    if (rep.code != XF_XAPI_OK) {
        *pwhy = rep.error;
        return 0;
    }
    if (rep.boolean)
        return XF_DECISION_ALLOW;
    xapi_call(&rep, r, ep, "session.get_rbac_permissions", params);
    if (rep.code == XF_XAPI_SESSION_INVALID)
        return XF_DECISION_INVALID;
    if (rep.code != XF_XAPI_OK || !rep.list) {
        *pwhy =
            rep.code == XF_XAPI_OK ? "permissions are not a list" : rep.error;
        return 0;
    }
    required = apr_pcalloc(r->pool, sizeof(char *) * (perms->nelts + 1));
    for (i = 0; i < perms->nelts; i++)
        required[i] = APR_ARRAY_IDX(perms, i, const char *);
    if (xf_auth_has_perms(required, rep.list, &missing))
        return XF_DECISION_ALLOW;
    *pwhy = missing;
    return XF_DECISION_DENY;
}

xf_ep_t *xf_access_login(xf_xapi_reply_t *rep, request_rec *r,
                         const xf_cred_t *cred)
{
    const xf_srv_conf_t *c = xf_config_srv_get(r->server);
    int cc = cred->kind == XF_CRED_CLIENT_CERT;
    xf_ep_t *ep = xf_access_endpoint(r, cc ? xf_srv_client_cert_url(c)
                                           : xf_srv_login_url(c));
    /* on the clientcert socket xapi gives login_with_password("", "") the
     * client-cert role (ocaml/xapi/xapi_http.ml,
     * create_session_for_client_cert) */
    const char *login[5] = {cc ? "" : cred->user, cc ? "" : cred->pass, "1.0",
                            XF_ORIGINATOR, NULL};

    xapi_call(rep, r, ep, "session.login_with_password", login);
    return ep;
}

/* Basic: log in over TCP (never the unix socket: xapi accepts any password
 * there) and decide; a client certificate: log in on xapi's clientcert
 * socket. *psess is the login's session: the caller logs it out after the
 * response (xf_task_after), off the request's clock. */
static xf_decision_e login_decision(request_rec *r, const xf_cred_t *cred,
                                    const apr_array_header_t *perms,
                                    const char **psess, const char **pwhy)
{
    xf_ep_t *ep;
    xf_xapi_reply_t rep;

    ep = xf_access_login(&rep, r, cred);
    if (rep.code == XF_XAPI_AUTH_FAILED)
        return XF_DECISION_INVALID;
    if (rep.code != XF_XAPI_OK || !rep.str) {
        *pwhy = rep.code == XF_XAPI_OK ? "login gave no session" : rep.error;
        return 0;
    }
    *psess = rep.str;
    return session_decision(r, ep, rep.str, perms, pwhy);
}

/* ---- answers ---------------------------------------------------------- */

static int answer(request_rec *r, int status, const char *msg)
{
    const char *accept = apr_table_get(r->headers_in, "Accept");

    status = xf_plugin_auth_status(r, status); /* custom services: 403 */
    if (status == HTTP_UNAUTHORIZED)
        apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                       apr_psprintf(r->pool, "Basic realm=\"%s\"",
                                    xf_dir_realm(xf_config_dir_get(r))));
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    xf_stats_access(r, status);
    r->status = status;
    if (accept && ap_strcasestr(accept, "application/json")) {
        ap_set_content_type(r, "application/json");
        ap_rprintf(r, "{\"status\":%d,\"error\":\"%s\"}\n", status, msg);
    }
    else {
        ap_set_content_type(r, "text/plain; charset=utf-8");
        ap_rprintf(r, "%d %s\n", status, msg);
    }
    return DONE;
}

/* ---- the hook ----------------------------------------------------------- */

/* The permissions a request needs: the configured names, the word "xapi"
 * replaced by the permission xapi derives from the method and the longest
 * matching URI prefix (xf_routes.c). NULL when a derivation finds no
 * action of xapi for the request. */
static const apr_array_header_t *required_perms(request_rec *r,
                                                const apr_array_header_t *conf)
{
    apr_array_header_t *out;
    int i;

    if (!conf || !conf->nelts)
        return conf;
    out = apr_array_make(r->pool, conf->nelts, sizeof(const char *));
    for (i = 0; i < conf->nelts; i++) {
        const char *perm = APR_ARRAY_IDX(conf, i, const char *);

        if (!strcmp(perm, XF_PERM_DERIVED)) {
            perm = xf_routes_permission(r->method, r->uri);
            if (!perm)
                return NULL;
            ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                          "xapi's permission for %s %s: %s", r->method, r->uri,
                          perm);
        }
        APR_ARRAY_PUSH(out, const char *) = perm;
    }
    return out;
}

int xf_check_access(request_rec *r)
{
    const xf_dir_conf_t *d = xf_config_dir_get(r);
    const apr_array_header_t *perms;
    xf_cred_t cred;
    const char *why = NULL, *permstr, *bsess = NULL;
    char id[XF_AUTH_CACHE_ID_LEN + 1];
    xf_decision_e dec;

    if (!xf_dir_auth(d))
        return DECLINED;
    /* subrequests skip the header_parser hook */
    if (xf_path_check(r, "access check") != OK)
        return HTTP_BAD_REQUEST;
    /* xapi has no handler for a method/path without an action: 403
     * before any credential is looked at, as xapi answers */
    perms = required_perms(r, d->perms);
    if (!perms && d->perms) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      XF_LOGNO(0301) "%s %s matches none of xapi's HTTP "
                                     "actions (" XF_ROUTES_XAPI_VERSION
                                     "): no permission to derive",
                      r->method, r->uri);
        return answer(r, HTTP_FORBIDDEN, "permission denied");
    }
    xf_auth_find(&cred, apr_table_get(r->headers_in, "Cookie"), r->args,
                 apr_table_get(r->headers_in, "Authorization"), r->pool);

    if (cred.kind == XF_CRED_NONE && xf_clientcert_verified(r)) {
        /* xapi's clientcert socket: a request without credentials gets a
         * session of the client-cert role (ocaml/xapi/context.ml) */
        cred.kind = XF_CRED_CLIENT_CERT;
        cred.source = "client certificate";
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      XF_LOGNO(0876) "no XAPI credentials: the verified "
                                     "client certificate stands for them "
                                     "(client-cert role) for %s",
                      r->uri);
    }
    if (cred.kind == XF_CRED_NONE) {
        ap_log_rerror(
            APLOG_MARK, APLOG_INFO, 0, r,
            XF_LOGNO(0200) "no XAPI credentials (session_id, pool_secret or "
                           "Basic) for %s",
            r->uri);
        return answer(r, HTTP_UNAUTHORIZED, "authentication required");
    }
    if (cred.kind == XF_CRED_POOL_SECRET) {
        const xf_srv_conf_t *c = xf_config_srv_get(r->server);
        const xf_secret_t *sec =
            c->pool_secret_file && rt.secrets
                ? apr_hash_get(rt.secrets, c->pool_secret_file,
                               APR_HASH_KEY_STRING)
                : NULL;
        if (!sec || !xf_auth_ct_equal(cred.value, strlen(cred.value), sec->data,
                                      sec->len)) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          XF_LOGNO(0202) "pool_secret from the %s %s for %s",
                          cred.source,
                          sec ? "does not match"
                              : "is not accepted here "
                                "(no XapiForwardPoolSecretFile)",
                          r->uri);
            return answer(r, HTTP_UNAUTHORIZED, "invalid credentials");
        }
        apr_table_setn(r->notes, XF_NOTE_CRED, "pool_secret");
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      XF_LOGNO(0201) "pool secret accepted");
        xf_stats_access(r, OK);
        return OK;
    }

    permstr =
        perms && perms->nelts ? apr_array_pstrcat(r->pool, perms, ',') : "";
    {
        /* a decision holds for the XAPI that took it (vhosts, and front
         * ends sharing a cache, may check different pools) */
        const xf_srv_conf_t *sc = xf_config_srv_get(r->server);
        const char *where = cred.kind == XF_CRED_BASIC ? xf_srv_login_url(sc)
                            : cred.kind == XF_CRED_CLIENT_CERT
                                ? xf_srv_client_cert_url(sc)
                                : xf_srv_xapi_url(sc);
        xf_auth_cache_id(id, xf_cache_key(), &cred,
                         apr_pstrcat(r->pool, permstr, "\n", where, NULL));
    }
    dec = xf_cache_get(r, id);
    xf_stats_cache(r, dec != 0);
    if (!dec)
        xf_access_start_clock(r);
    if (dec) {
        ap_log_rerror(
            APLOG_MARK, APLOG_DEBUG, 0, r,
            XF_LOGNO(0206) "cached decision for the %s credential: %d",
            cred.source, (int)dec);
    }
    else {
        if (cred.kind == XF_CRED_SESSION)
            dec = session_decision(
                r,
                xf_access_endpoint(
                    r, xf_srv_xapi_url(xf_config_srv_get(r->server))),
                cred.value, perms, &why);
        else
            dec = login_decision(r, &cred, perms, &bsess, &why);
        if (!dec) {
            xf_task_after(r, &cred, bsess, 0, NULL);
            ap_log_rerror(
                APLOG_MARK, APLOG_ERR, 0, r,
                XF_LOGNO(0205) "cannot check credentials with XAPI: %s",
                why ? why : "no answer");
            return answer(r, HTTP_SERVICE_UNAVAILABLE,
                          "authentication service unavailable");
        }
        xf_cache_put(r, id, dec);
    }
    xf_task_after(r, &cred, cred.kind == XF_CRED_SESSION ? cred.value : bsess,
                  dec, why);
    if (dec == XF_DECISION_INVALID) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      XF_LOGNO(0203) "%s from the %s rejected by XAPI for %s",
                      cred.kind == XF_CRED_BASIC         ? "Basic login"
                      : cred.kind == XF_CRED_CLIENT_CERT ? "login"
                                                         : "session",
                      cred.source, r->uri);
        return answer(r, HTTP_UNAUTHORIZED, "invalid credentials");
    }
    if (dec == XF_DECISION_DENY) {
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, 0, r,
            XF_LOGNO(0204) "access to %s denied: the %s lacks permission %s",
            r->uri,
            cred.kind == XF_CRED_BASIC         ? "user"
            : cred.kind == XF_CRED_CLIENT_CERT ? "client-cert session"
                                               : "session",
            why ? why : "(cached)");
        return answer(r, HTTP_FORBIDDEN, "permission denied");
    }
    apr_table_setn(r->notes, XF_NOTE_CRED,
                   cred.kind == XF_CRED_BASIC         ? "basic"
                   : cred.kind == XF_CRED_CLIENT_CERT ? "client_cert"
                                                      : "session");
    if (cred.kind == XF_CRED_BASIC && !r->user) {
        r->user = apr_pstrdup(r->pool, cred.user); /* for %u */
        r->ap_auth_type = "Basic";
    }
    xf_stats_access(r, OK);
    return OK;
}

int xf_access_answer(request_rec *r, int status, const char *msg)
{
    return answer(r, status, msg);
}
