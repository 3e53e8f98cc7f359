/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_path.c - one path for authorization and for the daemon. httpd matches
 * <Location>, Require and ProxyPass on r->uri: dot-segments resolved, %2e
 * decoded, slashes merged. The envelope carries the client's target merely
 * percent-decoded, and daemons route on that string by longest prefix. A
 * request where the two differ is refused (400) before anything checks it.
 */
#include "xf_path.h"

#include <apr_strings.h>

#include "http_core.h"
#include "http_log.h"
#include "http_request.h"

#include "xf_config.h"
#include "xf_envelope.h"
#include "xf_private.h"

/* "proxy:[unix:/path|]xapi://..." (r->filename after ProxyPass or a
 * server-context RewriteRule [P]; a SetHandler argument) */
static int names_xapi_worker(const char *s)
{
    if (!s || strncasecmp(s, "proxy:", 6))
        return 0;
    s += 6;
    if (!strncasecmp(s, "unix:", 5)) {
        s = strchr(s, '|');
        if (!s)
            return 0;
        s++;
    }
    return !strncasecmp(s, XF_SCHEME_PREFIX, XF_SCHEME_PREFIX_LEN);
}

/* Is the request bound for a daemon, or checked by this module, as far as
 * can be told before the access checks? */
static int bound_here(request_rec *r)
{
    const xf_dir_conf_t *d = xf_config_dir_get(r);
    const apr_array_header_t *perms = xf_dir_perms(d);
    core_dir_config *cd;

    if (xf_dir_auth(d) || (perms && perms->nelts))
        return 1;
    if (names_xapi_worker(r->filename))
        return 1;
    /* SetHandler is applied in fixups: read the location's setting */
    cd = ap_get_core_module_config(r->per_dir_config);
    if (cd && cd->expr_handler) {
        const char *err = NULL;
        const char *h = ap_expr_str_exec(r, cd->expr_handler, &err);

        if (!err && names_xapi_worker(h))
            return 1;
    }
    return 0;
}

int xf_path_check(request_rec *r, const char *where)
{
    const char *env;
    apr_size_t n;

    if (!r->unparsed_uri || !r->uri)
        return OK;
    n = xf_envelope_path(&env, r->unparsed_uri, r->pool);
    if (n == strlen(r->uri) && !memcmp(env, r->uri, n))
        return OK;
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  XF_LOGNO(0300) "refused (%s): the target's path \"%s\" is "
                                 "not the path httpd matched, \"%s\" "
                                 "(dot-segments, %%2e or repeated slashes)",
                  where, ap_escape_logitem(r->pool, env),
                  ap_escape_logitem(r->pool, r->uri));
    return HTTP_BAD_REQUEST;
}

int xf_path_header_parser(request_rec *r)
{
    if (!bound_here(r))
        return DECLINED;
    return xf_path_check(r, "before access checks") == OK ? DECLINED
                                                          : HTTP_BAD_REQUEST;
}
