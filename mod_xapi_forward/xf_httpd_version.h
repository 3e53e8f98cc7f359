/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_httpd_version.h - the oldest httpd this module builds against:
 * 2.4.48, the first release with http_ssl.h and ap_ssl_conn_is_ssl()
 * (module magic number 20120211.105). Older headers stop the build here
 * with one clear line instead of a missing-header error further on.
 */
#ifndef XF_HTTPD_VERSION_H
#define XF_HTTPD_VERSION_H

#include "ap_mmn.h"

#if !AP_MODULE_MAGIC_AT_LEAST(20120211, 105)
#error "mod_xapi_forward needs httpd 2.4.48 or later (MMN 20120211.105)"
#endif

#endif /* XF_HTTPD_VERSION_H */
