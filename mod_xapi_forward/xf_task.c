/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_task.c - after a checked request: the task it names (task_id) is
 * finished or failed through XAPI as xapi's forwarding handlers do it
 * (Server_helpers.exec_with_forwarded_task: progress 1, status success;
 * a refused caller: RBAC_PERMISSION_DENIED), and a Basic login's session is
 * logged out. All of it runs after the response, in a cleanup of the
 * request pool, on a clock of its own (XapiForwardXapiTimeout).
 */
#include "xf_task.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <apr_strings.h>

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"

#include "xf_config.h"
#include "xf_private.h"
#include "xf_xapicall.h"

/* r->pool userdata: set once the work of a request is registered */
#define AFTER_KEY "xapi-forward-after"
/* xapi's message for an RBAC denial (Rbac.disallowed_permission_exn);
 * the list of roles that follows it there is not known here */
#define DENIED_MSG "No permission in user session."

/* What is left to do once the response is out. */
typedef struct after_t {
    request_rec *r;
    xf_cred_t cred;      /* the credential checked */
    const char *task;    /* the task to finish or fail, or NULL */
    const char *session; /* the session for the calls, or NULL */
    int logout;          /* session is a login's (Basic, client
                          * certificate): log it out */
    xf_decision_e dec;   /* the access decision (0: none) */
    const char *missing; /* DENY: the permission lacking, or NULL */
} after_t;

const char *xf_task_of(request_rec *r)
{
    const char *t = xf_auth_param_find(apr_table_get(r->headers_in, "Cookie"),
                                       r->args, "task_id", r->pool);

    if (!t && (t = apr_table_get(r->headers_in, "task-id")))
        while (*t == ' ' || *t == '\t')
            t++;
    return t && *t ? t : NULL;
}

/* task.<method> [session, task, extra...]; 1 when XAPI did it. An XAPI
 * older than the method (MESSAGE_METHOD_UNKNOWN) counts as done when
 * optional: set_progress came with 8.2, set_error_info with xapi 21.3. */
static int task_call(xf_xapi_reply_t *rep, after_t *a, xf_ep_t *ep,
                     const char *method, const xf_xapi_param_t *extra,
                     int optional)
{
    xf_xapi_param_t prm[3];

    memset(prm, 0, sizeof(prm));
    prm[0].s = a->session;
    prm[1].s = a->task;
    if (extra)
        prm[2] = *extra;
    xf_xapicall_call(rep, a->r, ep, method, prm, extra ? 3 : 2);
    if (rep->code == XF_XAPI_OK ||
        (optional && rep->code == XF_XAPI_API_ERROR && rep->error &&
         !strcmp(rep->error, "MESSAGE_METHOD_UNKNOWN")))
        return 1;
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, a->r,
                  XF_LOGNO(0221) "cannot update task %s through XAPI: %s "
                                 "failed: %s",
                  ap_escape_logitem(a->r->pool, a->task), method,
                  rep->error ? rep->error : "no answer");
    return 0;
}

/* Finish the task (success) or fail it (RBAC_PERMISSION_DENIED), as
 * TaskHelper.complete / TaskHelper.failed do: only a pending task. */
static void update_task(after_t *a, xf_ep_t *ep, const char *forwarded)
{
    request_rec *r = a->r;
    const char *task = ap_escape_logitem(r->pool, a->task);
    const char *info[4] = {"RBAC_PERMISSION_DENIED", NULL, DENIED_MSG, NULL};
    xf_xapi_param_t prm;
    xf_xapi_reply_t rep;
    int fail = a->dec == XF_DECISION_DENY;

    if (!fail && !forwarded) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      XF_LOGNO(0223) "task %s left to the client: the "
                                     "request was not forwarded (status %d)",
                      task, r->status);
        return;
    }
    if (!task_call(&rep, a, ep, "task.get_status", NULL, 0))
        return;
    if (!rep.str || strcmp(rep.str, "pending")) {
        ap_log_rerror(
            APLOG_MARK, APLOG_DEBUG, 0, r,
            XF_LOGNO(0224) "task %s is %s already: left as it is", task,
            rep.str ? ap_escape_logitem(r->pool, rep.str) : "(not a string)");
        return;
    }
    memset(&prm, 0, sizeof(prm));
    if (fail) {
        info[1] = a->missing ? a->missing : "(unknown)";
        prm.type = XF_XAPI_STRINGS;
        prm.list = info;
        if (!task_call(&rep, a, ep, "task.set_error_info", &prm, 1))
            return;
    }
    prm.type = XF_XAPI_FLOAT;
    prm.f = 1.0;
    if (!task_call(&rep, a, ep, "task.set_progress", &prm, 1))
        return;
    prm.type = XF_XAPI_STRING;
    prm.s = fail ? "failure" : "success";
    if (!task_call(&rep, a, ep, "task.set_status", &prm, 0))
        return;
    ap_log_rerror(
        APLOG_MARK, APLOG_DEBUG, 0, r, XF_LOGNO(0220) "task %s %s", task,
        fail ? "failed: RBAC_PERMISSION_DENIED"
             : apr_pstrcat(r->pool, "finished after the ", forwarded, NULL));
}

/* After a hand-off the daemon owns the client; httpd's descriptor of the
 * socket only keeps the connection open (a response that ends with the
 * connection would not end for the client while XAPI is asked). Point it
 * at /dev/null: httpd closes that later instead, and the number stays
 * httpd's (closing it here could close another thread's new file). */
static void drop_handed_off_socket(request_rec *r)
{
    apr_socket_t *csock = ap_get_conn_socket(r->connection);
    apr_os_sock_t cfd = -1;
    int nul;

    if (!r->connection->aborted || !csock ||
        apr_os_sock_get(&cfd, csock) != APR_SUCCESS || cfd < 0)
        return;
    nul = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (nul < 0)
        return;
    if (dup2(nul, cfd) < 0)
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, APR_FROM_OS_ERROR(errno), r,
                      "could not release the handed-off socket");
    close(nul);
}

/* The request pool's cleanup: runs once httpd is done with the request,
 * after the access log line; may allocate from the pool (freed after the
 * cleanups ran), must not create sub-pools. */
static apr_status_t after_response(void *data)
{
    after_t *a = data;
    request_rec *r = a->r, *last = r;
    const xf_srv_conf_t *c = xf_config_srv_get(r->server);
    const char *fwd;
    xf_xapi_reply_t rep;
    xf_ep_t *ep;

    while (last->next)
        last = last->next; /* internal redirects share this pool */
    fwd = apr_table_get(last->subprocess_env, "XAPI_FORWARD");
    if (fwd && !strcmp(fwd, "handoff") && !r->main)
        drop_handed_off_socket(r);
    xf_xapicall_start_clock(r);
    ep = xf_xapicall_endpoint(
        r, a->cred.kind == XF_CRED_BASIC         ? xf_srv_login_url(c)
           : a->cred.kind == XF_CRED_CLIENT_CERT ? xf_srv_client_cert_url(c)
                                                 : xf_srv_xapi_url(c));
    if (a->task && !a->session &&
        (a->cred.kind == XF_CRED_BASIC ||
         a->cred.kind == XF_CRED_CLIENT_CERT)) {
        /* a cached decision: no login happened, make one for the task */
        ep = xf_xapicall_login(&rep, r, &a->cred);
        if (rep.code == XF_XAPI_OK && rep.str) {
            a->session = rep.str;
            a->logout = 1;
        }
        else
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                          XF_LOGNO(0222) "cannot log in to XAPI to update "
                                         "task %s: %s",
                          ap_escape_logitem(r->pool, a->task),
                          rep.error ? rep.error : "no session");
    }
    if (a->task && a->session)
        update_task(a, ep, fwd);
    if (a->logout && a->session) {
        xf_xapicall_logout(&rep, r, ep, a->session);
        if (rep.code != XF_XAPI_OK)
            ap_log_rerror(
                APLOG_MARK, APLOG_DEBUG, 0, r,
                XF_LOGNO(0213) "session.logout after a %s check failed: %s",
                a->cred.kind == XF_CRED_BASIC ? "Basic" : "client-certificate",
                rep.error ? rep.error : "?");
    }
    return APR_SUCCESS;
}

void xf_task_after(request_rec *r, const xf_cred_t *cred, const char *session,
                   xf_decision_e dec, const char *missing)
{
    void *done = NULL;
    const char *task;
    after_t *a;
    int logout =
        (cred->kind == XF_CRED_BASIC || cred->kind == XF_CRED_CLIENT_CERT) &&
        session;

    /* a sub-request's check does not answer the client: no task then */
    task = r->main ? NULL : xf_task_of(r);
    if (task && dec != XF_DECISION_ALLOW && dec != XF_DECISION_DENY) {
        /* 401 (invalid session, failed login) or 503: no session XAPI
         * would take; xapi's own RBAC-checked handlers leave it too */
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      XF_LOGNO(0225) "task %s left to the client: no session "
                                     "to update it with",
                      ap_escape_logitem(r->pool, task));
        task = NULL;
    }
    apr_pool_userdata_get(&done, AFTER_KEY, r->pool);
    if (done)
        task = NULL; /* an internal redirect: the first check has it */
    if (!task && !logout)
        return;
    a = apr_pcalloc(r->pool, sizeof(*a));
    a->r = r;
    a->cred = *cred;
    a->task = task;
    a->session = session;
    a->logout = logout;
    a->dec = dec;
    a->missing = missing;
    apr_pool_userdata_setn((void *)1, AFTER_KEY, NULL, r->pool);
    apr_pool_cleanup_register(r->pool, a, after_response,
                              apr_pool_cleanup_null);
}
