/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_answer.h - the short answers the module writes itself (401, 403,
 * 405, 503 of the access checker and the custom services).
 */
#ifndef XF_ANSWER_H
#define XF_ANSWER_H

#include "httpd.h"

/**
 * Answer the request now with status and a one-line body (JSON when the
 * client accepts it), never cached; a 401 carries the Basic challenge of
 * XapiForwardAuthRealm. Counted as the access checker's outcome.
 * @param msg a constant text, without quotes or backslashes
 * @return DONE
 */
int xf_answer_send(request_rec *r, int status, const char *msg);

#endif /* XF_ANSWER_H */
