/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_cache.c - the access decision cache: any mod_socache provider (shmcb by
 * default; memcache/redis let front ends share it), a global mutex around
 * providers that are not multi-process safe, and the key of the HMAC cache
 * ids (random per start, or from XapiForwardCacheKeyFile). Its settings
 * are in the server config (xf_config.c); here is the per-process state.
 */
#include "xf_cache.h"

#include <apr_atomic.h>
#include <apr_global_mutex.h>
#include <apr_strings.h>

#include "ap_provider.h"
#include "ap_socache.h"
#include "http_config.h"
#include "http_log.h"
#include "util_mutex.h"

#include "xf_config.h"
#include "xf_private.h"

#define XF_CACHE_ID "xapi-forward-cache"
#define XF_CACHE_MUTEX "xapi-forward-cache"
/* after a cache server failure the cache is skipped for 2 s, doubling
 * while it keeps failing up to this (seconds) */
#define XF_CACHE_BACKOFF_MAX 16
/* a cache call in flight without any call finishing for this long (seconds)
 * means a hung cache server: the cache is skipped (httpd's memcache
 * provider has no I/O timeout, and its redis provider turns RedisTimeout
 * into millions of seconds) */
#define XF_CACHE_STUCK 3
/* the failure is logged at most once per this (seconds, per process) */
#define XF_CACHE_LOG_EVERY 60
/* room for a value: larger than a sealed decision, so that a foreign or
 * garbage value of modest size is read and refused rather than making the
 * provider log an overflow */
#define XF_CACHE_VALUE_MAX 512

/* Run-time state, per process: made in post_config from the main server's
 * settings (the mutex re-attached in child_init). */
static struct {
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *inst;
    apr_global_mutex_t *mutex; /* only for non-MP-safe providers */
    unsigned char key[XF_AUTH_KEY_BYTES];
} rt;

/* Cache server health, per process, in seconds (apr_time_sec); updated
 * with atomics by the threads of a child (a lost update only makes a
 * back-off a little shorter or longer). */
static struct {
    volatile apr_uint32_t until;    /* skip the cache before this */
    volatile apr_uint32_t step;     /* current back-off; 0: healthy */
    volatile apr_uint32_t logged;   /* last XAPIFWD0260 + 1; 0: never */
    volatile apr_uint32_t inflight; /* provider calls under way */
    volatile apr_uint32_t progress; /* last call that started with none
                                     * under way, or that finished */
} health;

/* ---- start-up -------------------------------------------------------- */

int xf_cache_pre_config(apr_pool_t *pconf)
{
    apr_status_t st =
        ap_mutex_register(pconf, XF_CACHE_MUTEX, NULL, APR_LOCK_DEFAULT, 0);
    if (st != APR_SUCCESS)
        return HTTP_INTERNAL_SERVER_ERROR;
    rt.provider = NULL;
    rt.inst = NULL;
    rt.mutex = NULL;
    apr_atomic_set32(&health.until, 0);
    apr_atomic_set32(&health.step, 0);
    apr_atomic_set32(&health.logged, 0);
    apr_atomic_set32(&health.inflight, 0);
    apr_atomic_set32(&health.progress, 0);
    return OK;
}

int xf_cache_check_config(apr_pool_t *ptemp, server_rec *s)
{
    const xf_srv_conf_t *c = xf_config_srv_get(s);
    const char *name = xf_srv_cache_provider(c);
    const ap_socache_provider_t *prov;
    ap_socache_instance_t *inst;
    const char *err;

    prov = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                              AP_SOCACHE_PROVIDER_VERSION);
    if (!prov) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     XF_LOGNO(0506) "XapiForwardCache on %s: no socache "
                                    "provider \"%s\" (LoadModule "
                                    "socache_%s_module ...)",
                     c->cache_where ? c->cache_where
                                    : "(default, not configured)",
                     name, name);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* the provider parses its arguments here, without side effects */
    err = prov->create(&inst, c->cache_args, ptemp, ptemp);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     XF_LOGNO(0507) "XapiForwardCache on %s: %s: %s",
                     c->cache_where ? c->cache_where : "(default)", name, err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static apr_status_t cache_destroy(void *data)
{
    if (rt.inst && rt.provider) {
        rt.provider->destroy(rt.inst, (server_rec *)data);
        rt.inst = NULL;
    }
    return APR_SUCCESS;
}

int xf_cache_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    struct ap_socache_hints hints = {XF_AUTH_CACHE_ID_LEN, 16, 60000000};
    const xf_srv_conf_t *c = xf_config_srv_get(s);
    const char *name = xf_srv_cache_provider(c);
    const char *err;
    apr_status_t st;

    /* the key of the cache ids */
    if (c->cache_key_file) {
        st = xf_auth_key_file(rt.key, c->cache_key_file, 16, ptemp);
        if (st != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, st, s,
                         XF_LOGNO(0212) "XapiForwardCacheKeyFile %s: %s",
                         c->cache_key_file,
                         st == APR_ENOMEM ? "cannot derive the cache key"
                                          : "cannot read at least 16 bytes");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    else if (apr_generate_random_bytes(rt.key, sizeof(rt.key)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     XF_LOGNO(0219) "cannot generate a random cache key");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* the decision cache */
    rt.provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                     AP_SOCACHE_PROVIDER_VERSION);
    if (!rt.provider) {
        ap_log_error(
            APLOG_MARK, APLOG_CRIT, 0, s,
            XF_LOGNO(0209) "XapiForwardCache: no socache provider \"%s\" (load "
                           "mod_socache_%s)",
            name, name);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    err = rt.provider->create(&rt.inst, c->cache_args, ptemp, pconf);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     XF_LOGNO(0215) "XapiForwardCache %s: %s", name, err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (rt.provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        st = ap_global_mutex_create(&rt.mutex, NULL, XF_CACHE_MUTEX, NULL, s,
                                    pconf, 0);
        if (st != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, st, s,
                         XF_LOGNO(0216) "cannot create the cache mutex");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    st = rt.provider->init(rt.inst, XF_CACHE_ID, &hints, s, pconf);
    if (st != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, st, s,
                     XF_LOGNO(0217) "cannot initialise the %s cache", name);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(pconf, s, cache_destroy, apr_pool_cleanup_null);
    return OK;
}

void xf_cache_child_init(apr_pool_t *p, server_rec *s)
{
    if (rt.mutex) {
        apr_status_t st = apr_global_mutex_child_init(
            &rt.mutex, apr_global_mutex_lockfile(rt.mutex), p);
        if (st != APR_SUCCESS)
            ap_log_error(
                APLOG_MARK, APLOG_CRIT, st, s,
                XF_LOGNO(0218) "cannot attach the cache mutex in the child");
    }
}

const unsigned char *xf_cache_key(void)
{
    return rt.key;
}

/* ---- cache server failures ------------------------------------------- */

static apr_uint32_t now_sec(void)
{
    return (apr_uint32_t)apr_time_sec(apr_time_now());
}

/* Skip the cache while a failure is recent: a dead cache server then
 * costs one failed call per back-off period, not one per request. */
static int cache_backing_off(void)
{
    return apr_atomic_read32(&health.step) &&
           now_sec() < apr_atomic_read32(&health.until);
}

/* A store or retrieve failed for a reason other than a miss or an odd
 * value: the cache server is down, refusing or timing out. */
static void cache_failed(request_rec *r, const char *op, apr_status_t st)
{
    apr_uint32_t now = now_sec();
    apr_uint32_t step = apr_atomic_read32(&health.step);
    apr_uint32_t logged = apr_atomic_read32(&health.logged);

    step = step ? step * 2 : 2;
    if (step > XF_CACHE_BACKOFF_MAX)
        step = XF_CACHE_BACKOFF_MAX;
    apr_atomic_set32(&health.step, step);
    apr_atomic_set32(&health.until, now + step);
    if ((!logged || now + 1 - logged >= XF_CACHE_LOG_EVERY) &&
        apr_atomic_cas32(&health.logged, now + 1, logged) == logged)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, st, r,
                      XF_LOGNO(0260) "decision cache %s: %s failed; XAPI "
                                     "decides alone, the cache is skipped "
                                     "for %u s at a time while it fails "
                                     "(logged at most once a minute)",
                      xf_srv_cache_provider(xf_config_srv_get(r->server)), op,
                      (unsigned)step);
    else
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, st, r,
                      XF_LOGNO(0262) "decision cache %s: %s failed again; "
                                     "skipped for %u s",
                      xf_srv_cache_provider(xf_config_srv_get(r->server)), op,
                      (unsigned)step);
}

/* Before a provider call: 0 when the cache is to be skipped (backing off,
 * or calls under way make no progress: the server hangs, and only the
 * workers already waiting on it stay stuck). */
static int cache_enter(request_rec *r)
{
    apr_uint32_t now, since;

    if (cache_backing_off())
        return 0;
    now = now_sec();
    since = apr_atomic_read32(&health.progress);
    if (apr_atomic_read32(&health.inflight) && now > since &&
        now - since >= XF_CACHE_STUCK) {
        cache_failed(
            r, "a call (no answer for " APR_STRINGIFY(XF_CACHE_STUCK) " s)",
            APR_TIMEUP);
        return 0;
    }
    if (apr_atomic_inc32(&health.inflight) == 0)
        apr_atomic_set32(&health.progress, now);
    return 1;
}

static void cache_leave(void)
{
    apr_atomic_set32(&health.progress, now_sec());
    apr_atomic_dec32(&health.inflight);
}

static void cache_worked(request_rec *r)
{
    apr_uint32_t step = apr_atomic_read32(&health.step);

    if (step && apr_atomic_cas32(&health.step, 0, step) == step)
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      XF_LOGNO(0261) "decision cache %s answers again",
                      xf_srv_cache_provider(xf_config_srv_get(r->server)));
}

/* ---- lookups ------------------------------------------------------------ */

xf_decision_e xf_cache_get(request_rec *r, const char *id)
{
    unsigned char *buf;
    unsigned int len = XF_CACHE_VALUE_MAX;
    apr_status_t st;

    if (!rt.inst || !*id || !cache_enter(r))
        return 0;
    buf = apr_palloc(r->pool, XF_CACHE_VALUE_MAX);
    if (rt.mutex && apr_global_mutex_lock(rt.mutex) != APR_SUCCESS) {
        cache_leave();
        return 0;
    }
    st = rt.provider->retrieve(rt.inst, r->server, (const unsigned char *)id,
                               XF_AUTH_CACHE_ID_LEN, buf, &len, r->pool);
    if (rt.mutex)
        apr_global_mutex_unlock(rt.mutex);
    cache_leave();
    if (st != APR_SUCCESS) {
        /* a miss, or a value too large for us (garbage): not a failure */
        if (st != APR_NOTFOUND && st != APR_ENOMEM && st != APR_ENOSPC)
            cache_failed(r, "retrieve", st);
        return 0;
    }
    /* a value that is not sealed with our key for this id, or has expired,
     * is a miss: whoever can write to the cache server cannot grant access */
    return xf_auth_decision_open(buf, len, rt.key, id, apr_time_now());
}

void xf_cache_put(request_rec *r, const char *id, xf_decision_e d)
{
    const xf_srv_conf_t *c = xf_config_srv_get(r->server);
    apr_interval_time_t ttl = d == XF_DECISION_INVALID ? xf_srv_cache_neg_ttl(c)
                                                       : xf_srv_cache_ttl(c);
    apr_time_t expiry = apr_time_now() + ttl;
    unsigned char *val;
    apr_status_t st;

    if (!rt.inst || ttl == 0 || !*id)
        return;
    xf_auth_decision_seal(&val, rt.key, id, d, expiry, r->pool);
    if (!val || !cache_enter(r))
        return;
    if (rt.mutex && apr_global_mutex_lock(rt.mutex) != APR_SUCCESS) {
        cache_leave();
        return;
    }
    st = rt.provider->store(rt.inst, r->server, (const unsigned char *)id,
                            XF_AUTH_CACHE_ID_LEN, expiry, val,
                            XF_AUTH_DECISION_LEN, r->pool);
    if (rt.mutex)
        apr_global_mutex_unlock(rt.mutex);
    cache_leave();
    if (st == APR_SUCCESS) {
        cache_worked(r);
    }
    else if (st == APR_EINVAL) {
        /* memcache and redis store whole seconds: a TTL under 1 s */
        ap_log_rerror(
            APLOG_MARK, APLOG_DEBUG, st, r,
            XF_LOGNO(0211) "could not store the decision in the cache");
    }
    else {
        cache_failed(r, "store", st);
    }
}
