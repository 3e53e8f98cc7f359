/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_access.h - the access_checker that validates credentials against
 * XAPI (SPEC 5), its decision cache (mod_socache) and its start-up work.
 */
#ifndef XF_ACCESS_H
#define XF_ACCESS_H

#include "httpd.h"

/** pre_config: register the cache mutex, reset the global settings. */
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

/** A secret read from a file. */
typedef struct xf_secret_t {
    const char *data; /* NUL-terminated, trailing newlines removed */
    apr_size_t len;
} xf_secret_t;

/**
 * Read a small secret file whole (1 byte to 64 KiB; trailing CR/LF do not
 * count). @return APR_SUCCESS, APR_EINVAL for an empty or too large file,
 * or the file error
 */
apr_status_t xf_access_read_secret(xf_secret_t *sec, const char *path,
                                   apr_pool_t *p);

/** Value of r->notes[XF_NOTE_CRED] after a successful check: which
 *  credential kind let the request in ("session", "pool_secret",
 *  "basic"). */
#define XF_NOTE_CRED "xapi-forward-cred"

#endif /* XF_ACCESS_H */
