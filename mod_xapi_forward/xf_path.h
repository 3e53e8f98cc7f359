/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_path.h - one path for authorization and for the daemon: a request
 * whose target, as the envelope would carry it, is not the path httpd
 * matched and authorized (r->uri) is refused before any access check.
 */
#ifndef XF_PATH_H
#define XF_PATH_H

#include "httpd.h"

/**
 * header_parser hook: for a request bound to an xapi:// worker (ProxyPass,
 * RewriteRule [P] in server context, SetHandler) or to a location with
 * XapiForwardAuth On or XapiForwardRequirePermission, refuse with 400 when
 * the envelope's path would differ from r->uri. Runs after the location
 * walk and before every access, authentication and authorization hook.
 * @return DECLINED, or HTTP_BAD_REQUEST
 */
int xf_path_header_parser(request_rec *r);

/**
 * The same check for the later stages (access checker, scheme handler),
 * for what the header_parser could not see: subrequests, and mod_rewrite's
 * [P] inside <Location>/<Directory> (applied in fixups).
 * @param where  the stage, for the log line
 * @return OK, or HTTP_BAD_REQUEST (logged)
 */
int xf_path_check(request_rec *r, const char *where);

#endif /* XF_PATH_H */
