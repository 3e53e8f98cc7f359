/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_private.h - glue-only declarations: the module record, the log tag
 * macro and the httpd includes shared by the glue files.
 */
#ifndef XF_PRIVATE_H
#define XF_PRIVATE_H

#include "xf_httpd_version.h"

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

/** The scheme handled by this module: "unix:/path|xapi://name/". */
#define XF_SCHEME "xapi"

/** How a URL of the scheme starts, and its length. */
#define XF_SCHEME_PREFIX XF_SCHEME "://"
#define XF_SCHEME_PREFIX_LEN (sizeof(XF_SCHEME_PREFIX) - 1)

/** Every log line at DEBUG or above carries its own tag, "XAPIFWDnnnn: ". */
#define XF_LOGNO(n) "XAPIFWD" #n ": "

extern module AP_MODULE_DECLARE_DATA xapi_forward_module;

/* mod_xapi_forward.c gets the module index from AP_DECLARE_MODULE */
#if defined(APLOG_USE_MODULE) && !defined(XF_MODULE_FILE)
APLOG_USE_MODULE(xapi_forward);
#endif

#endif /* XF_PRIVATE_H */
