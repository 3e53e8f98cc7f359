/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_stats.c - counters shared by every child (anonymous shared memory
 * made once by the parent and kept in httpd's retained data, so graceful
 * restarts keep them), the mod_status section that shows them, and the
 * per-request record behind the trace5 line and XAPI_FORWARD_* variables.
 */
#include "xf_stats.h"

#include <apr_shm.h>
#include <apr_strings.h>

#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "mod_status.h"

#include "xf_private.h"

#define XF_STATS_KEY "mod_xapi_forward stats"
#define XF_STATS_MAGIC 0x58465354u /* "XFST" */
#define XF_STATS_PATH 108          /* sun_path */
#define XF_REQ_KEY "xf_stats_req"

/* slot states */
#define SLOT_FREE 0u
#define SLOT_CLAIMING 1u
#define SLOT_NAMED 2u

typedef struct xf_sock_slot_t {
    apr_uint32_t state;       /* SLOT_*, changed atomically */
    char path[XF_STATS_PATH]; /* written once, before SLOT_NAMED */
    apr_uint64_t n[XF_SOCK_COUNT];
} xf_sock_slot_t;

/* The shared segment; the last socket slot is "other". */
typedef struct xf_stats_shm_t {
    apr_uint32_t magic;
    apr_uint32_t size; /* sizeof(xf_stats_shm_t): layout check */
    apr_time_t since;  /* when the counters started */
    apr_uint64_t n[XF_STAT_COUNT];
    xf_sock_slot_t sock[XF_STATS_SOCKETS + 1];
} xf_stats_shm_t;

/* What survives restarts in the parent (httpd's retained data). */
typedef struct xf_stats_retained_t {
    apr_shm_t *shm;
    xf_stats_shm_t *base;
} xf_stats_retained_t;

/* NULL when mod_status is not loaded: every counter is then one branch */
static xf_stats_shm_t *stats;

/* Per request, from the access checker: what the trace5 line and the
 * variables tell. */
typedef struct xf_req_t {
    const char *access; /* XAPI_FORWARD_ACCESS, or NULL */
    const char *cache;  /* XAPI_FORWARD_CACHE, or NULL */
} xf_req_t;

static const char *const stat_names[XF_STAT_COUNT] = {
    "Handoffs",          "Relays",
    "Tunnels",           "Failed",
    "AccessAllowed",     "AccessUnauthorized",
    "AccessDenied",      "AccessErrors",
    "CacheHits",         "CacheMisses",
    "XapiCalls",         "XapiFailedCalls",
    "XapiMicroseconds",  "XapiLatencyLt1ms",
    "XapiLatencyLt10ms", "XapiLatencyLt100ms",
    "XapiLatencyLt1s",   "XapiLatencyGe1s"};

static const char *const sock_names[XF_SOCK_COUNT] = {
    "ok", "connect_failures", "timeouts", "oversize", "errors"};

/* ---- shared memory ------------------------------------------------------ */

int xf_stats_post_config(apr_pool_t *pconf, server_rec *s)
{
    xf_stats_retained_t *ret;
    apr_status_t st;

    stats = NULL;
    if (!ap_find_linked_module("mod_status.c"))
        return OK;
    ret = ap_retained_data_get(XF_STATS_KEY);
    if (!ret)
        ret = ap_retained_data_create(XF_STATS_KEY, sizeof(*ret));
    if (ret->base && ret->base->magic == XF_STATS_MAGIC &&
        ret->base->size == sizeof(xf_stats_shm_t)) {
        stats = ret->base;
        return OK;
    }
    /* first generation (or a module with another layout): anonymous
     * memory, inherited by every child; the process pool frees it when
     * the parent exits */
    st = apr_shm_create(&ret->shm, sizeof(xf_stats_shm_t), NULL,
                        s->process->pool);
    if (st != APR_SUCCESS) {
        ap_log_error(
            APLOG_MARK, APLOG_CRIT, st, s,
            XF_LOGNO(0600) "cannot create the shared memory of the status "
                           "counters");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ret->base = apr_shm_baseaddr_get(ret->shm);
    memset(ret->base, 0, sizeof(xf_stats_shm_t));
    ret->base->size = sizeof(xf_stats_shm_t);
    ret->base->since = apr_time_now();
    ret->base->magic = XF_STATS_MAGIC;
    stats = ret->base;
    return OK;
}

static void add(apr_uint64_t *c, apr_uint64_t v)
{
    __atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

static apr_uint64_t get(const apr_uint64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

void xf_stats_inc(xf_stat_e which)
{
    if (stats)
        add(&stats->n[which], 1);
}

/* The slot of a socket path: open addressing from its hash, claimed with
 * a compare-and-swap, so that every process finds the same slot. */
static xf_sock_slot_t *slot_of(const char *uds)
{
    apr_uint32_t h = 2166136261u, state;
    apr_size_t len = strlen(uds);
    const char *c;
    int i, k;

    if (len >= XF_STATS_PATH)
        return &stats->sock[XF_STATS_SOCKETS];
    for (c = uds; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    for (i = 0; i < XF_STATS_SOCKETS; i++) {
        xf_sock_slot_t *sl = &stats->sock[(h + i) % XF_STATS_SOCKETS];
        apr_uint32_t expect = SLOT_FREE;

        state = __atomic_load_n(&sl->state, __ATOMIC_ACQUIRE);
        if (state == SLOT_FREE &&
            __atomic_compare_exchange_n(&sl->state, &expect, SLOT_CLAIMING, 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            memcpy(sl->path, uds, len + 1);
            __atomic_store_n(&sl->state, SLOT_NAMED, __ATOMIC_RELEASE);
            return sl;
        }
        /* someone is naming it: wait a little (a child killed right
         * there leaves it claimed: then it is skipped) */
        for (k = 0; k < 1000; k++) {
            state = __atomic_load_n(&sl->state, __ATOMIC_ACQUIRE);
            if (state != SLOT_CLAIMING)
                break;
        }
        if (state == SLOT_NAMED && !strcmp(sl->path, uds))
            return sl;
    }
    return &stats->sock[XF_STATS_SOCKETS];
}

void xf_stats_sock(const char *uds, xf_sock_stat_e which)
{
    if (stats && uds)
        add(&slot_of(uds)->n[which], 1);
}

/* ---- per request -------------------------------------------------------- */

static const char *way_name(xf_stat_e way)
{
    return way == XF_STAT_TUNNEL  ? "tunnel"
           : way == XF_STAT_RELAY ? "relay"
                                  : "handoff";
}

static xf_req_t *req_of(request_rec *r)
{
    void *v = NULL;

    apr_pool_userdata_get(&v, XF_REQ_KEY, r->pool);
    if (!v) {
        v = apr_pcalloc(r->pool, sizeof(xf_req_t));
        apr_pool_userdata_setn(v, XF_REQ_KEY, NULL, r->pool);
    }
    return v;
}

apr_time_t xf_stats_since(const request_rec *r)
{
    apr_time_t t = apr_time_now() - r->request_time;

    return t > 0 ? t : 1;
}

void xf_stats_fwd_init(xf_fwd_stats_t *fs)
{
    memset(fs, 0, sizeof(*fs));
    fs->stage = XF_FWD_EARLY;
    fs->way = -1;
}

void xf_stats_forwarded(request_rec *r, const xf_fwd_stats_t *fs, int status)
{
    const xf_req_t *q;

    if (fs->way >= 0)
        apr_table_setn(r->subprocess_env, "XAPI_FORWARD_DAEMON", fs->uds);
    if (fs->handed)
        apr_table_setn(r->subprocess_env, "XAPI_FORWARD_HANDOFF_US",
                       apr_off_t_toa(r->pool, fs->handed));
    if (status == DONE) /* a tunnel: httpd wrote no HTTP answer */
        status = OK;
    switch (fs->stage) {
    case XF_FWD_EARLY:
        return;
    case XF_FWD_OVERSIZE:
        xf_stats_sock(fs->uds, XF_SOCK_OVERSIZE);
        return;
    case XF_FWD_NO_CONNECT:
        xf_stats_sock(fs->uds, status == HTTP_GATEWAY_TIME_OUT
                                   ? XF_SOCK_TIMEOUT
                                   : XF_SOCK_CONNFAIL);
        return;
    case XF_FWD_FORWARDING:
        break;
    }
    if (status == OK) {
        xf_stats_inc((xf_stat_e)fs->way);
        xf_stats_sock(fs->uds, XF_SOCK_OK);
    }
    else {
        xf_stats_inc(XF_STAT_FAILED);
        xf_stats_sock(fs->uds, status == HTTP_GATEWAY_TIME_OUT ? XF_SOCK_TIMEOUT
                                                               : XF_SOCK_ERROR);
    }
    if (!APLOGrtrace5(r))
        return;
    q = req_of(r);
    ap_log_rerror(APLOG_MARK, APLOG_TRACE5, 0, r,
                  "%s %s via %s%s%s: status %d, envelope %" APR_SIZE_T_FMT
                  " bytes; us since the request: built %" APR_TIME_T_FMT
                  ", connected %" APR_TIME_T_FMT ", handed %" APR_TIME_T_FMT
                  ", done %" APR_TIME_T_FMT "; access %s, cache %s",
                  r->uri, way_name((xf_stat_e)fs->way), fs->uds,
                  fs->why ? " because of a " : "", fs->why ? fs->why : "",
                  status == OK ? r->status : status, fs->envelope, fs->built,
                  fs->connected, fs->handed, xf_stats_since(r),
                  q->access ? q->access : "off", q->cache ? q->cache : "-");
}

void xf_stats_access(request_rec *r, int status)
{
    xf_req_t *q = req_of(r);

    switch (status) {
    case OK:
        xf_stats_inc(XF_STAT_ACCESS_ALLOW);
        q->access = "allowed";
        break;
    case HTTP_UNAUTHORIZED:
        xf_stats_inc(XF_STAT_ACCESS_UNAUTH);
        q->access = "unauthorized";
        break;
    case HTTP_FORBIDDEN:
        xf_stats_inc(XF_STAT_ACCESS_DENY);
        q->access = "forbidden";
        break;
    default:
        xf_stats_inc(XF_STAT_ACCESS_ERROR);
        q->access = "unavailable";
        break;
    }
    apr_table_setn(r->subprocess_env, "XAPI_FORWARD_ACCESS", q->access);
}

void xf_stats_cache(request_rec *r, int hit)
{
    xf_req_t *q = req_of(r);

    xf_stats_inc(hit ? XF_STAT_CACHE_HIT : XF_STAT_CACHE_MISS);
    q->cache = hit ? "hit" : "miss";
    apr_table_setn(r->subprocess_env, "XAPI_FORWARD_CACHE", q->cache);
}

void xf_stats_xapi(apr_interval_time_t took, int failed)
{
    apr_uint64_t t = took > 0 ? (apr_uint64_t)took : 0;

    if (!stats)
        return;
    add(&stats->n[XF_STAT_XAPI_CALLS], 1);
    add(&stats->n[XF_STAT_XAPI_USEC], t);
    add(&stats->n[t < 1000      ? XF_STAT_XAPI_LT1MS
                  : t < 10000   ? XF_STAT_XAPI_LT10MS
                  : t < 100000  ? XF_STAT_XAPI_LT100MS
                  : t < 1000000 ? XF_STAT_XAPI_LT1S
                                : XF_STAT_XAPI_GE1S],
        1);
    if (failed)
        add(&stats->n[XF_STAT_XAPI_FAILED], 1);
}

/* ---- the mod_status section --------------------------------------------- */

static void show_socket(request_rec *r, int flags, const char *label,
                        const xf_sock_slot_t *sl, int idx)
{
    int i;

    if (flags & AP_STATUS_SHORT) {
        if (idx < 0)
            ap_rputs("XapiForwardSocketOther:", r);
        else
            ap_rprintf(r, "XapiForwardSocket%d: %s", idx, label);
        for (i = 0; i < XF_SOCK_COUNT; i++)
            ap_rprintf(r, " %s=%" APR_UINT64_T_FMT, sock_names[i],
                       get(&sl->n[i]));
        ap_rputs("\n", r);
        return;
    }
    ap_rprintf(r, "<tr><td>%s</td>", ap_escape_html(r->pool, label));
    for (i = 0; i < XF_SOCK_COUNT; i++)
        ap_rprintf(r, "<td>%" APR_UINT64_T_FMT "</td>", get(&sl->n[i]));
    ap_rputs("</tr>\n", r);
}

static int status_hook(request_rec *r, int flags)
{
    const xf_sock_slot_t *other;
    int i, n = 0;

    if (!stats)
        return OK;
    if (flags & AP_STATUS_SHORT) {
        for (i = 0; i < XF_STAT_COUNT; i++)
            ap_rprintf(r, "XapiForward%s: %" APR_UINT64_T_FMT "\n",
                       stat_names[i], get(&stats->n[i]));
    }
    else {
        ap_rputs("<hr />\n<h2>mod_xapi_forward</h2>\n", r);
        ap_rprintf(
            r,
            "<p>Counters since %s (kept across graceful "
            "restarts).</p>\n<table border=\"0\">\n",
            ap_ht_time(r->pool, stats->since, "%Y-%m-%d %H:%M:%S %Z", 0));
        for (i = 0; i < XF_STAT_COUNT; i++)
            ap_rprintf(r,
                       "<tr><th align=\"left\">%s</th><td>%" APR_UINT64_T_FMT
                       "</td></tr>\n",
                       stat_names[i], get(&stats->n[i]));
        ap_rputs("</table>\n<table border=\"0\"><tr><th>daemon socket</th>", r);
        for (i = 0; i < XF_SOCK_COUNT; i++)
            ap_rprintf(r, "<th>%s</th>", sock_names[i]);
        ap_rputs("</tr>\n", r);
    }
    for (i = 0; i < XF_STATS_SOCKETS; i++) {
        const xf_sock_slot_t *sl = &stats->sock[i];
        if (__atomic_load_n(&sl->state, __ATOMIC_ACQUIRE) == SLOT_NAMED)
            show_socket(r, flags, sl->path, sl, n++);
    }
    other = &stats->sock[XF_STATS_SOCKETS];
    show_socket(r, flags, "(other)", other, -1);
    if (!(flags & AP_STATUS_SHORT))
        ap_rputs("</table>\n", r);
    return OK;
}

void xf_stats_register_hooks(apr_pool_t *p)
{
    APR_OPTIONAL_HOOK(ap, status_hook, status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
