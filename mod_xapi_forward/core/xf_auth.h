/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_auth.h - credentials of a request in xapi's order (session_id cookie,
 * session_id query parameter, pool_secret, Authorization: Basic), the
 * constant-time compare, the keyed cache key and the cached decision
 * format, and the secrets read from files (the pool secret, the key of the
 * cache ids). Pure core: no httpd headers, no logging.
 */
#ifndef XF_AUTH_H
#define XF_AUTH_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_time.h>

/** Which credential a request carries (the first found, xapi's order). */
typedef enum {
    XF_CRED_NONE = 0,
    XF_CRED_SESSION = 1,     /* session_id cookie or query parameter */
    XF_CRED_POOL_SECRET = 2, /* pool_secret cookie or query parameter */
    XF_CRED_BASIC = 3,       /* Authorization: Basic user:pass */
    XF_CRED_CLIENT_CERT = 4  /* none of the above, and a verified client
                              * certificate (set by the caller, never by
                              * xf_auth_find): the client-cert role */
} xf_cred_kind_e;

typedef struct xf_cred_t {
    xf_cred_kind_e kind;
    const char *value;  /* session id or pool secret (decoded); NULL for
                         * NONE and BASIC. Never log it. */
    const char *user;   /* BASIC: user name; else NULL */
    const char *pass;   /* BASIC: password; else NULL. Never log it. */
    const char *source; /* "cookie", "query", "authorization" or "client
                         * certificate": safe to log */
} xf_cred_t;

/**
 * Find the credential of a request, in xapi's order: session_id cookie,
 * session_id query parameter, pool_secret cookie, pool_secret query
 * parameter, Authorization: Basic. Unlike xapi, a session_id cookie is
 * found after "; " too. An Authorization header of another scheme, or
 * undecodable Basic, counts as no credential.
 *
 * @param cred   out: what was found (kind XF_CRED_NONE if nothing)
 * @param cookie the Cookie header, or NULL
 * @param args   the raw query string (r->args, without '?'), or NULL
 * @param authz  the Authorization header, or NULL
 * @param p      pool for the decoded strings
 */
void xf_auth_find(xf_cred_t *cred, const char *cookie, const char *args,
                  const char *authz, apr_pool_t *p);

/**
 * A reference parameter as xapi's Xapi_http.ref_param_of_req finds it: the
 * cookie `name` first, then the query parameter `name` (decoded as
 * xf_auth_find decodes them; empty values do not count).
 * @param cookie Cookie header value, or NULL
 * @param args   query string without '?', or NULL
 * @param name   e.g. "task_id"
 * @param p      pool for the result
 * @return the value, or NULL
 */
const char *xf_auth_param_find(const char *cookie, const char *args,
                               const char *name, apr_pool_t *p);

/**
 * Compare in time that depends only on the lengths, never on where the
 * first difference is.
 * @return 1 when equal, 0 otherwise
 */
int xf_auth_ct_equal(const void *a, apr_size_t alen, const void *b,
                     apr_size_t blen);

/** Size of the cache key secret, bytes. */
#define XF_AUTH_KEY_BYTES 32
/** Length of a cache key in hex characters (no NUL). */
#define XF_AUTH_CACHE_ID_LEN 64

/**
 * The cache key for a credential and a set of required permissions:
 * hex(HMAC-SHA256(secret, kind || credential || '\0' || perms)). The raw
 * credential never leaves this function.
 *
 * @param out    out: XF_AUTH_CACHE_ID_LEN hex characters + NUL; "" (empty)
 *               when OpenSSL fails (out of memory): then do not use the
 *               cache for this request
 * @param secret XF_AUTH_KEY_BYTES bytes of key
 * @param cred   the credential (SESSION, POOL_SECRET, BASIC, or
 *               CLIENT_CERT: no value, one id for every holder)
 * @param perms  the location's required permissions joined by ',', or ""
 */
void xf_auth_cache_id(char out[XF_AUTH_CACHE_ID_LEN + 1],
                      const unsigned char *secret, const xf_cred_t *cred,
                      const char *perms);

/** A secret read from a file. */
typedef struct xf_secret_t {
    const char *data; /* NUL-terminated, trailing CR/LF removed */
    apr_size_t len;
} xf_secret_t;

/** Largest secret file read, bytes. */
#define XF_AUTH_SECRET_MAX 65536

/**
 * Read a small secret file whole (1 byte to XF_AUTH_SECRET_MAX; trailing
 * CR/LF do not count).
 * @param sec  out: the secret (from p)
 * @param path the file
 * @param p    pool for the secret
 * @return APR_SUCCESS, APR_EINVAL for an empty or too large file, or the
 *         file error
 */
apr_status_t xf_auth_read_secret(xf_secret_t *sec, const char *path,
                                 apr_pool_t *p);

/**
 * Derive the XF_AUTH_KEY_BYTES key of the cache ids from a secret of any
 * length: the secret is folded in with the HMAC of the cache ids itself
 * (xf_auth_cache_id of a pool secret credential under an all-zero key), so
 * front ends that share the secret derive the same key.
 * @param key    out: XF_AUTH_KEY_BYTES bytes
 * @param secret NUL-terminated (the key stops at a NUL)
 * @return APR_SUCCESS, or APR_ENOMEM when OpenSSL fails
 */
apr_status_t xf_auth_derive_key(unsigned char key[XF_AUTH_KEY_BYTES],
                                const char *secret);

/**
 * The key of the cache ids from a key file: xf_auth_read_secret, at least
 * min_len bytes, then xf_auth_derive_key.
 * @param key     out: XF_AUTH_KEY_BYTES bytes
 * @param path    the key file
 * @param min_len the fewest bytes accepted (shorter: APR_EINVAL)
 * @param p       pool for the file's contents (scratch)
 * @return APR_SUCCESS; APR_EINVAL (empty, too short or too large), a file
 *         error, or APR_ENOMEM (OpenSSL failed)
 */
apr_status_t xf_auth_key_file(unsigned char key[XF_AUTH_KEY_BYTES],
                              const char *path, apr_size_t min_len,
                              apr_pool_t *p);

/** A decision as stored in the cache. */
typedef enum {
    XF_DECISION_ALLOW = 1,  /* valid, and has every required permission */
    XF_DECISION_DENY = 2,   /* valid, but lacks a required permission */
    XF_DECISION_INVALID = 3 /* invalid session / failed login */
} xf_decision_e;

/** Length of a sealed decision: "xf2:" D ":" 16 hex (expiry) ":" 64 hex. */
#define XF_AUTH_DECISION_LEN 87

/**
 * Seal a decision for the cache: the value names the decision and its
 * expiry and carries hex(HMAC-SHA256(key, "xf-decision-2" '\0' id '\0' D
 * expiry)), so that whoever can write to a shared cache server cannot make
 * up, move or prolong a decision without the key.
 *
 * @param pbuf   out: XF_AUTH_DECISION_LEN bytes to store (from p), NUL
 *               terminated; NULL when OpenSSL fails (then do not store)
 * @param key    XF_AUTH_KEY_BYTES bytes (the key of the cache ids)
 * @param id     the cache id the value is stored under
 * @param d      the decision
 * @param expiry when the decision stops holding (apr_time_t, usec)
 * @param p      pool for the value
 */
void xf_auth_decision_seal(unsigned char **pbuf, const unsigned char *key,
                           const char *id, xf_decision_e d, apr_time_t expiry,
                           apr_pool_t *p);

/**
 * Open a sealed decision: the MAC must match (constant-time compare) for
 * this key and id, and the expiry must lie in the future.
 *
 * @param buf,len the stored value (any bytes)
 * @param key     XF_AUTH_KEY_BYTES bytes
 * @param id      the cache id it was read under
 * @param now     the current time
 * @return the decision, or 0 for anything else: garbage, another format, a
 *         foreign key, another id, a bad MAC, or an expired decision
 */
xf_decision_e xf_auth_decision_open(const unsigned char *buf, apr_size_t len,
                                    const unsigned char *key, const char *id,
                                    apr_time_t now);

/**
 * Check a list of held permissions against the required ones (case
 * insensitive: xapi's names are lower case).
 * @param required NULL-terminated list (may be NULL: nothing required)
 * @param held     NULL-terminated list
 * @param pmissing out: the first missing one, or NULL
 * @return 1 when every required permission is held
 */
int xf_auth_has_perms(const char *const *required, const char *const *held,
                      const char **pmissing);

#endif /* XF_AUTH_H */
