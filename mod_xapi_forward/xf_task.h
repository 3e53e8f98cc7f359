/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_task.h - what is left to do with XAPI once a checked request is over:
 * finish or fail the task the request names (task_id), as xapi's
 * forwarding handlers do, and log out the session of a Basic login.
 */
#ifndef XF_TASK_H
#define XF_TASK_H

#include "httpd.h"

#include "xf_auth.h"

/**
 * The task a request names: the task_id cookie, then the task_id query
 * parameter (xapi's Xapi_http.ref_param_of_req), then the task-id header
 * (xapi's Http.Request.task).
 * @return the task reference, or NULL
 */
const char *xf_task_of(request_rec *r);

/**
 * Called by the access checker once it has decided (or failed to). When
 * there is something to do, registers it to run after the response (a
 * cleanup of the request pool: after the access log line, once the last
 * byte was passed to the connection or, after a hand-off, once the daemon
 * owns the client), with its own XapiForwardXapiTimeout:
 * - the request names a task and the caller has a session (its own, or a
 *   Basic login's): fail the task with RBAC_PERMISSION_DENIED after a 403;
 *   finish it (progress 1, status success) when the request was handed
 *   off or relayed; leave it to the client otherwise;
 * - a Basic or client-certificate login's session is logged out.
 * @param cred    the credential that was checked
 * @param session the caller's session, or the Basic login's; NULL when
 *                there is none (failed login, or a cached Basic decision:
 *                then a task is updated through a new login)
 * @param dec     the decision; 0 when XAPI could not tell
 * @param missing XF_DECISION_DENY: the permission lacking (NULL: unknown)
 */
void xf_task_after(request_rec *r, const xf_cred_t *cred, const char *session,
                   xf_decision_e dec, const char *missing);

#endif /* XF_TASK_H */
