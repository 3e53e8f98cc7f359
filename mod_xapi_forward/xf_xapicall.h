/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_xapicall.h - talking to XAPI from a request: the endpoints (the
 * configured URL, or the pool master a HOST_IS_SLAVE answer named), the
 * clock that bounds a request's calls, calls, logins and logouts, each
 * timed for the status page. Used by the access checker and the task
 * updates alike.
 */
#ifndef XF_XAPICALL_H
#define XF_XAPICALL_H

#include "httpd.h"

#include "xf_auth.h"
#include "xf_xapi.h"

/** An XAPI endpoint as configured, and the one in use (its master). */
typedef struct xf_ep_t {
    xf_xapi_endpoint_t *configured; /* XapiForwardXapiURL/LoginURL */
    xf_xapi_endpoint_t *ep;         /* configured, or the remembered
                                     * pool master */
    int via_master;                 /* ep is a remembered master */
} xf_ep_t;

/** pre_config: forget the pool masters of the previous generation. */
void xf_xapicall_pre_config(void);

/** post_config: the XAPI client (libcurl), when access control is used.
 *  @return OK, or 500 */
int xf_xapicall_post_config(server_rec *s);

/** child_init: the lock of the pool-master memory. */
void xf_xapicall_child_init(apr_pool_t *p, server_rec *s);

/** The endpoint for url (XapiForwardXapiURL, LoginURL or ClientCertURL),
 *  or the pool master a HOST_IS_SLAVE answer named for it. The first
 *  endpoint of a request starts its clock. */
xf_ep_t *xf_xapicall_endpoint(request_rec *r, const char *url);

/** Start the clock (again): from now, the calls of xf_xapicall_call for
 *  r share one XapiForwardXapiTimeout. */
void xf_xapicall_start_clock(request_rec *r);

/**
 * One JSON-RPC call within the time left on r's clock, following
 * HOST_IS_SLAVE to the master once (remembered for later requests).
 * @param rep    out: the outcome (XF_XAPI_TIMEOUT once the time is up)
 * @param e      the endpoint; updated to the one that answered
 * @param params n typed params
 */
void xf_xapicall_call(xf_xapi_reply_t *rep, request_rec *r, xf_ep_t *e,
                      const char *method, const xf_xapi_param_t *params, int n);

/**
 * The same with string params only.
 * @param params at most 4 strings, NULL-terminated
 */
void xf_xapicall_strings(xf_xapi_reply_t *rep, request_rec *r, xf_ep_t *e,
                         const char *method, const char *const *params);

/**
 * session.login_with_password with Basic credentials at
 * XapiForwardLoginURL (never xapi's unix socket, which takes any
 * password), or for a client certificate (XF_CRED_CLIENT_CERT) with empty
 * credentials at XapiForwardClientCertURL, on r's clock.
 * @param rep out: the outcome; rep->str is the session when OK
 * @return the endpoint that answered (for the calls with that session)
 */
xf_ep_t *xf_xapicall_login(xf_xapi_reply_t *rep, request_rec *r,
                           const xf_cred_t *cred);

/**
 * session.logout of a login's session, on r's clock.
 * @param rep out: the outcome
 */
void xf_xapicall_logout(xf_xapi_reply_t *rep, request_rec *r, xf_ep_t *e,
                        const char *session);

#endif /* XF_XAPICALL_H */
