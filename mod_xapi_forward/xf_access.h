/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_access.h - the access_checker that validates credentials against
 * XAPI and decides: allow, 401, 403, or 503 when XAPI cannot tell.
 */
#ifndef XF_ACCESS_H
#define XF_ACCESS_H

#include "httpd.h"

/** The access_checker (AP_AUTH_INTERNAL_PER_CONF). */
int xf_check_access(request_rec *r);

/** Value of r->notes[XF_NOTE_CRED] after a successful check: which
 *  credential kind let the request in ("session", "pool_secret",
 *  "basic", "client_cert"). */
#define XF_NOTE_CRED "xapi-forward-cred"

#endif /* XF_ACCESS_H */
