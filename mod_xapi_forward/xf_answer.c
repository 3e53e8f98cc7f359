/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_answer.c - writes the module's own short answers: status line,
 * no-store, the Basic challenge on a 401, and a one-line body in JSON or
 * plain text as the client accepts.
 */
#include "xf_answer.h"

#include <apr_strings.h>

#include "http_protocol.h"

#include "xf_config.h"
#include "xf_stats.h"

int xf_answer_send(request_rec *r, int status, const char *msg)
{
    const char *accept = apr_table_get(r->headers_in, "Accept");

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
