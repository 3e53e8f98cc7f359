/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_envelope.h - builds the JSON message sent with the client fd: xapi's
 * Http.Request.t as ocaml-rpc + Yojson write it, byte for byte.
 * Pure core: no httpd headers.
 */
#ifndef XF_ENVELOPE_H
#define XF_ENVELOPE_H

#include <apr_errno.h>
#include "xf_types.h"

/**
 * Serialize a request view as xapi's compact Http.Request JSON.
 *
 * @param pjson   out: the JSON bytes (NUL-terminated, not counted in *plen),
 *                allocated from p
 * @param plen    out: length of the JSON in bytes
 * @param preason out: on failure, a short reason allocated from p (no
 *                request data in it)
 * @param rv      the request
 * @param o       options (path keys, close, traceparent, auth, size cap)
 * @param p       pool for every allocation
 * @return APR_SUCCESS; APR_ENOSPC when the JSON would exceed o->max_size
 *         (*plen then holds the size it would have had, if known, else 0);
 *         APR_EINVAL for a malformed view (NULL method/target/version)
 */
apr_status_t xf_envelope_build(const char **pjson, apr_size_t *plen,
                               const char **preason, const xf_reqview_t *rv,
                               const xf_envelope_opts_t *o, apr_pool_t *p);

/**
 * The path the envelope carries under "uri"/"path": the path of the
 * request target (as xf_parse_target splits it) percent-decoded as
 * ocaml-uri does. The glue compares it with the path httpd matched.
 *
 * @param ppath   out: the decoded path, NUL-terminated (it may hold NUL
 *                bytes of its own: use the returned length), from p
 * @param target  the raw request target
 * @param p       pool for the copy
 * @return the length of *ppath in bytes
 */
apr_size_t xf_envelope_path(const char **ppath, const char *target,
                            apr_pool_t *p);

#endif /* XF_ENVELOPE_H */
