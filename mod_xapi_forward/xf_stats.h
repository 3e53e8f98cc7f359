/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_stats.h - operational counters shown on mod_status's page (hand-offs,
 * relays, per daemon socket outcomes, access control, decision cache, XAPI
 * calls), and the per-request record behind the trace5 line and the
 * XAPI_FORWARD_* variables for LogFormat. Every call is one line at the
 * place it counts; without mod_status the counters cost one branch.
 */
#ifndef XF_STATS_H
#define XF_STATS_H

#include <apr_pools.h>
#include <apr_time.h>

#include "httpd.h"

/** Global counters (one shared slot each). */
typedef enum {
    XF_STAT_HANDOFF = 0,   /* client sockets handed off */
    XF_STAT_RELAY,         /* relays completed */
    XF_STAT_TUNNEL,        /* tunnels (CONNECT / Upgrade) completed */
    XF_STAT_FAILED,        /* forwarding failed (any error status) */
    XF_STAT_ACCESS_ALLOW,  /* access checks that let the request through */
    XF_STAT_ACCESS_UNAUTH, /* 401: no or invalid credentials */
    XF_STAT_ACCESS_DENY,   /* 403: a required permission is missing */
    XF_STAT_ACCESS_ERROR,  /* 503: XAPI could not decide */
    XF_STAT_CACHE_HIT,     /* decision found in the cache */
    XF_STAT_CACHE_MISS,    /* decision asked of XAPI */
    XF_STAT_XAPI_CALLS,    /* JSON-RPC calls made to XAPI */
    XF_STAT_XAPI_FAILED,   /* ... of which got no usable answer */
    XF_STAT_XAPI_USEC,     /* their total duration, microseconds */
    XF_STAT_XAPI_LT1MS,    /* latency histogram: < 1 ms */
    XF_STAT_XAPI_LT10MS,   /* < 10 ms */
    XF_STAT_XAPI_LT100MS,  /* < 100 ms */
    XF_STAT_XAPI_LT1S,     /* < 1 s */
    XF_STAT_XAPI_GE1S,     /* >= 1 s */
    XF_STAT_COUNT
} xf_stat_e;

/** Per daemon socket outcomes. */
typedef enum {
    XF_SOCK_OK = 0,   /* forwarded (hand-off, relay or tunnel done) */
    XF_SOCK_CONNFAIL, /* connect refused, socket missing, bad path */
    XF_SOCK_TIMEOUT,  /* connect, send or relay timed out (504) */
    XF_SOCK_OVERSIZE, /* envelope larger than XapiForwardMaxEnvelope */
    XF_SOCK_ERROR,    /* other failures after connecting (502, 500) */
    XF_SOCK_COUNT
} xf_sock_stat_e;

/** Named daemon sockets counted apart; the rest share an "other" row. */
#define XF_STATS_SOCKETS 32

/**
 * Attach the shared counters (post_config): created once, on the first
 * generation, when mod_status is loaded, and kept across restarts.
 * @param s the main server
 * @return OK, or 500 when the shared memory cannot be created
 */
int xf_stats_post_config(apr_pool_t *pconf, server_rec *s);

/** Register the mod_status hook (register_hooks). */
void xf_stats_register_hooks(apr_pool_t *p);

/**
 * Add one to a global counter.
 * @param which the counter
 */
void xf_stats_inc(xf_stat_e which);

/**
 * Add one to a counter of a daemon socket.
 * @param uds the socket path
 * @param which the outcome
 */
void xf_stats_sock(const char *uds, xf_sock_stat_e which);

/**
 * The way a request goes (proxy handler, once chosen): starts its record,
 * sets XAPI_FORWARD_DAEMON.
 * @param r the request
 * @param way the way's counter: XF_STAT_HANDOFF, XF_STAT_RELAY or
 *            XF_STAT_TUNNEL
 * @param why why it cannot be handed off (NULL: it can, or relay mode)
 * @param uds the daemon socket
 */
void xf_stats_way(request_rec *r, xf_stat_e way, const char *why,
                  const char *uds);

/**
 * The envelope was built (status OK) or refused (oversize is counted).
 * @param status the flusher's status
 * @param len the message size
 */
void xf_stats_flushed(request_rec *r, const char *uds, int status,
                      apr_size_t len);

/**
 * The daemon's socket was connected (OK) or not (status of the failure).
 */
void xf_stats_connected(request_rec *r, const char *uds, int status);

/** The client socket (or the relay's end) is in the daemon's hands now. */
void xf_stats_handed(request_rec *r);

/**
 * Forwarding finished with status: counts it and writes the trace5 line.
 * @param way the way's counter, as for xf_stats_way()
 */
void xf_stats_forwarded(request_rec *r, const char *uds, xf_stat_e way,
                        int status);

/**
 * The access checker's outcome: OK (allowed), or the status it answers
 * (401, 403, 503). Counted and set as XAPI_FORWARD_ACCESS.
 */
void xf_stats_access(request_rec *r, int status);

/**
 * Whether the access checker found its decision in the cache; set as
 * XAPI_FORWARD_CACHE.
 * @param hit 1 hit, 0 miss
 */
void xf_stats_cache(request_rec *r, int hit);

/**
 * One JSON-RPC call made to XAPI (xf_xapicall.c), counted.
 * @param took   how long it took
 * @param failed 1 when it got no usable answer
 */
void xf_stats_xapi(apr_interval_time_t took, int failed);

#endif /* XF_STATS_H */
