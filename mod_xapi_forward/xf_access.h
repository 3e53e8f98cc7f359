/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_access.h - the access_checker that validates credentials against
 * XAPI, its decision cache (mod_socache) and its start-up work.
 */
#ifndef XF_ACCESS_H
#define XF_ACCESS_H

#include "httpd.h"

#include "xf_auth.h"
#include "xf_xapi.h"

/** pre_config: register the cache mutex, reset the run-time state. */
int xf_access_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                         apr_pool_t *ptemp);

/** post_config: cache, cache key, pool secrets, XAPI client. */
int xf_access_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *s);

/** child_init: re-attach the cache mutex. */
void xf_access_child_init(apr_pool_t *p, server_rec *s);

/** The access_checker (AP_AUTH_INTERNAL_PER_CONF). */
int xf_check_access(request_rec *r);

/**
 * Answer the request now with status and a one-line body (JSON when the
 * client accepts it), as the access checker does. @return DONE
 */
int xf_access_answer(request_rec *r, int status, const char *msg);

/** An XAPI endpoint as configured, and the one in use (its master). */
typedef struct xf_ep_t {
    xf_xapi_endpoint_t *configured; /* XapiForwardXapiURL/LoginURL */
    xf_xapi_endpoint_t *ep;         /* configured, or the remembered
                                     * pool master */
    int via_master;                 /* ep is a remembered master */
} xf_ep_t;

/** The endpoint for url (XapiForwardXapiURL or XapiForwardLoginURL), or
 *  the pool master a HOST_IS_SLAVE answer named for it. */
xf_ep_t *xf_access_endpoint(request_rec *r, const char *url);

/** Start the clock: from now, the XAPI calls of xf_access_call for r share
 *  one XapiForwardXapiTimeout. */
void xf_access_start_clock(request_rec *r);

/**
 * One JSON-RPC call within the time left on r's clock, following
 * HOST_IS_SLAVE to the master once (remembered for later requests).
 * @param rep    out: the outcome (XF_XAPI_TIMEOUT once the time is up)
 * @param e      the endpoint; updated to the one that answered
 * @param params n typed params
 */
void xf_access_call(xf_xapi_reply_t *rep, request_rec *r, xf_ep_t *e,
                    const char *method, const xf_xapi_param_t *params, int n);

/**
 * session.login_with_password with Basic credentials at
 * XapiForwardLoginURL (never xapi's unix socket, which takes any
 * password), or for a client certificate (XF_CRED_CLIENT_CERT) with empty
 * credentials at XapiForwardClientCertURL, on r's clock.
 * @param rep out: the outcome; rep->str is the session when OK
 * @return the endpoint that answered (for the calls with that session)
 */
xf_ep_t *xf_access_login(xf_xapi_reply_t *rep, request_rec *r,
                         const xf_cred_t *cred);

/** Value of r->notes[XF_NOTE_CRED] after a successful check: which
 *  credential kind let the request in ("session", "pool_secret",
 *  "basic", "client_cert"). */
#define XF_NOTE_CRED "xapi-forward-cred"

#endif /* XF_ACCESS_H */
