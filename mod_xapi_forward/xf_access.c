/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_access.c - access control against XAPI, in an access_checker
 * so that an unauthenticated request never reaches a daemon: the decisions
 * only. Credentials come in xapi's order (xf_auth.c); sessions and Basic
 * logins are checked through xf_xapicall.c; decisions are cached
 * (xf_cache.c). Fails closed: XAPI unreachable means 503.
 */
#include "xf_access.h"

#include <apr_strings.h>

#include "http_core.h"
#include "http_log.h"

#include "xf_answer.h"
#include "xf_auth.h"
#include "xf_cache.h"
#include "xf_clientcert.h"
#include "xf_config.h"
#include "xf_path.h"
#include "xf_poolsecret.h"
#include "xf_private.h"
#include "xf_routes.h"
#include "xf_stats.h"
#include "xf_task.h"
#include "xf_xapicall.h"

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

    xf_xapicall_strings(&rep, r, ep, "session.get_uuid", params);
    if (rep.code == XF_XAPI_SESSION_INVALID)
        return XF_DECISION_INVALID;
    if (rep.code != XF_XAPI_OK) {
        *pwhy = rep.error;
        return 0;
    }
    if (!perms || perms->nelts == 0)
        return XF_DECISION_ALLOW;
    /* local superusers (root) hold every permission, with an empty list */
    xf_xapicall_strings(&rep, r, ep, "session.get_is_local_superuser", params);
    if (rep.code == XF_XAPI_SESSION_INVALID)
        return XF_DECISION_INVALID;
    if (rep.code != XF_XAPI_OK) {
        *pwhy = rep.error;
        return 0;
    }
    if (rep.boolean)
        return XF_DECISION_ALLOW;
    xf_xapicall_strings(&rep, r, ep, "session.get_rbac_permissions", params);
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

    ep = xf_xapicall_login(&rep, r, cred);
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

/* In a custom services location without a valid session, 401 becomes 403
 * unless XapiForwardPluginNoSessionStatus says 401 (the API's answer). */
static int answer(request_rec *r, const xf_dir_conf_t *d, int status,
                  const char *msg)
{
    if (status == HTTP_UNAUTHORIZED && xf_dir_plugin(d)) {
        status = xf_dir_plugin_nosession(d);
        ap_log_rerror(
            APLOG_MARK, APLOG_INFO, 0, r,
            XF_LOGNO(0407) "no valid session for custom service path %s: %d",
            r->uri, status);
    }
    return xf_answer_send(r, status, msg);
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

/* The decision on r: OK, or the status to answer (401, 403, 503) and
 * *pmsg, the answer's text. */
static int decide(request_rec *r, const xf_dir_conf_t *d, const char **pmsg)
{
    const apr_array_header_t *perms;
    xf_cred_t cred;
    const char *why = NULL, *permstr, *bsess = NULL;
    char id[XF_AUTH_CACHE_ID_LEN + 1];
    xf_decision_e dec;

    /* xapi has no handler for a method/path without an action: 403
     * before any credential is looked at, as xapi answers */
    perms = required_perms(r, d->perms);
    if (!perms && d->perms) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      XF_LOGNO(0301) "%s %s matches none of xapi's HTTP "
                                     "actions (" XF_ROUTES_XAPI_VERSION
                                     "): no permission to derive",
                      r->method, r->uri);
        *pmsg = "permission denied";
        return HTTP_FORBIDDEN;
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
        *pmsg = "authentication required";
        return HTTP_UNAUTHORIZED;
    }
    if (cred.kind == XF_CRED_POOL_SECRET) {
        const xf_secret_t *sec = xf_poolsecret_get(r->server);

        if (!sec || !xf_auth_ct_equal(cred.value, strlen(cred.value), sec->data,
                                      sec->len)) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          XF_LOGNO(0202) "pool_secret from the %s %s for %s",
                          cred.source,
                          sec ? "does not match"
                              : "is not accepted here "
                                "(no XapiForwardPoolSecretFile)",
                          r->uri);
            *pmsg = "invalid credentials";
            return HTTP_UNAUTHORIZED;
        }
        apr_table_setn(r->notes, XF_NOTE_CRED, "pool_secret");
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      XF_LOGNO(0201) "pool secret accepted");
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
                xf_xapicall_endpoint(
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
            *pmsg = "authentication service unavailable";
            return HTTP_SERVICE_UNAVAILABLE;
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
        *pmsg = "invalid credentials";
        return HTTP_UNAUTHORIZED;
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
        *pmsg = "permission denied";
        return HTTP_FORBIDDEN;
    }
    apr_table_setn(r->notes, XF_NOTE_CRED,
                   cred.kind == XF_CRED_BASIC         ? "basic"
                   : cred.kind == XF_CRED_CLIENT_CERT ? "client_cert"
                                                      : "session");
    if (cred.kind == XF_CRED_BASIC && !r->user) {
        r->user = apr_pstrdup(r->pool, cred.user); /* for %u */
        r->ap_auth_type = "Basic";
    }
    return OK;
}

int xf_check_access(request_rec *r)
{
    const xf_dir_conf_t *d = xf_config_dir_get(r);
    const char *msg = NULL;
    int status;

    if (!xf_dir_auth(d))
        return DECLINED;
    /* subrequests skip the header_parser hook */
    if (xf_path_check(r, "access check") != OK)
        return HTTP_BAD_REQUEST;
    status = decide(r, d, &msg);
    if (status != OK)
        return answer(r, d, status, msg);
    xf_stats_access(r, OK);
    return OK;
}
