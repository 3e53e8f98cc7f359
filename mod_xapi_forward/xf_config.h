/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_config.h - per-directory configuration: the struct, its accessors
 * (which apply the defaults) and the directive table.
 */
#ifndef XF_CONFIG_H
#define XF_CONFIG_H

#include "httpd.h"
#include "http_config.h"
#include "xf_types.h"

#define XF_UNSET (-1)

/** XapiForwardRequirePermission's word for "the permission xapi derives
 *  from the request's method and path" (xf_routes.c). */
#define XF_PERM_DERIVED "xapi"

/** How a request reaches the daemon. */
typedef enum {
    XF_MODE_AUTO = 0,    /* hand off when possible, relay otherwise */
    XF_MODE_HANDOFF = 1, /* raw hand-off of the client socket only */
    XF_MODE_RELAY = 2    /* always relay through a socketpair */
} xf_mode_e;

/** How a custom service is reached. */
typedef enum {
    XF_PLUGIN_HTTP = 0,   /* plain HTTP over its socket (mod_proxy_http) */
    XF_PLUGIN_CHANNEL = 1 /* the envelope and the client socket (xapi://) */
} xf_plugin_way_e;

/** Per-directory (<Location>) settings. Every field unset = XF_UNSET/NULL;
 *  defaults are applied by the accessors below, never by create. */
typedef enum {
    XF_RELAY_HTTP = 0,  /* parse the daemon's HTTP response */
    XF_RELAY_TUNNEL = 1 /* raw bytes both ways, nothing parsed */
} xf_relay_e;

typedef struct xf_dir_conf_t {
    int path_keys;                     /* xf_pathkey_e; unset: both */
    apr_off_t max_envelope;            /* bytes; unset: 16384 */
    int force_close;                   /* flag; unset: on */
    int missing_status;                /* HTTP status; unset: 503 */
    int traceparent_top;               /* flag; unset: on */
    int mode;                          /* xf_mode_e; unset: auto */
    apr_interval_time_t reply_timeout; /* usec; unset (-1): 1 s */
    int stunnel_proxy;                 /* flag: STUNNEL_PROXY entry for TLS
                                        * clients; unset: on */
    int auth;                          /* flag: check credentials against XAPI;
                                        * unset: off */
    const char *realm;                 /* Basic realm; NULL: "xapi" */
    apr_array_header_t *perms;         /* required permissions (const char *),
                                        * lower-case, XF_PERM_DERIVED for
                                        * xapi's own; NULL: none */
    int forward_creds;                 /* flag: forward the credentials used for
                                        * the check to the daemon; unset: off */
    int relay;                         /* xf_relay_e: what a relay speaks with
                                        * the daemon; unset: http */
    apr_interval_time_t tunnel_timeout; /* usec idle limit of a tunnel;
                                         * unset: the worker's timeout */
    apr_interval_time_t control_life;   /* usec a control socket is kept after
                                         * a hand-off or tunnel; unset: 1 h */
    int plugin;                         /* flag: /<prefix>/<name> reaches the
                                         * custom service <name>; unset: off */
    const char *plugin_prefix; /* the <Location> path of XapiForwardPlugin
                                * On; NULL: none */
    const char *plugin_dir;    /* services' socket directory; NULL:
                                * /var/lib/xcp/plugin */
    int plugin_way;            /* xf_plugin_way_e; unset: http */
    apr_table_t *plugin_ways;  /* service name -> "http"|"channel";
                                * NULL: none */
    apr_table_t *plugin_hosts; /* service name -> base URL of the host
                                * running it (302); NULL: none */
    int plugin_nosession;      /* status without a valid session: 403
                                * or 401; unset: 403 */
} xf_dir_conf_t;

/** Per-server settings: where XAPI is, and the pool secret. */
typedef struct xf_srv_conf_t {
    const char *xapi_url;             /* session checks: "unix:/path" or
                                       * "https://host"; NULL: unix:/var/lib/xcp/xapi */
    const char *login_url;            /* Basic logins (never a unix socket):
                                       * NULL: https://localhost */
    const char *ca_file;              /* PEM CA file for https; NULL: system */
    int verify;                       /* flag: verify XAPI's certificate; unset:
                                       * on */
    apr_interval_time_t xapi_timeout; /* usec per XAPI call; unset: 5 s */
    const char *pool_secret_file;     /* file with the pool secret; NULL:
                                       * pool_secret not accepted */
    int auth_used;                    /* flag: XapiForwardAuth On somewhere in
                                       * this server; unset: off */
    /* the decision cache: XapiForwardCache* (main server only, the
     * virtual hosts inherit them) */
    const char *cache_provider;        /* socache provider; NULL: shmcb */
    const char *cache_args;            /* its arguments; NULL: its default */
    const char *cache_where;           /* "line N of FILE" of XapiForwardCache;
                                        * NULL: not configured */
    apr_interval_time_t cache_ttl;     /* usec; unset: 60 s */
    apr_interval_time_t cache_neg_ttl; /* usec (invalid sessions, failed
                                        * logins); unset: 10 s */
    const char *cache_key_file;        /* key of the cache ids; NULL: random
                                        * per start */
} xf_srv_conf_t;

void *xf_config_srv_create(apr_pool_t *p, server_rec *s);
void *xf_config_srv_merge(apr_pool_t *p, void *basev, void *addv);
const xf_srv_conf_t *xf_config_srv_get(const server_rec *s);

const char *xf_srv_xapi_url(const xf_srv_conf_t *c);
const char *xf_srv_login_url(const xf_srv_conf_t *c);
int xf_srv_verify(const xf_srv_conf_t *c);
apr_interval_time_t xf_srv_xapi_timeout(const xf_srv_conf_t *c);
const char *xf_srv_cache_provider(const xf_srv_conf_t *c);
apr_interval_time_t xf_srv_cache_ttl(const xf_srv_conf_t *c);
apr_interval_time_t xf_srv_cache_neg_ttl(const xf_srv_conf_t *c);

/** @return 1 when a location of s or of one of its virtual hosts (s is the
 *  main server) has XapiForwardAuth On: the cache and the XAPI client are
 *  needed. */
int xf_config_auth_used(const server_rec *s);

/** The directive table. */
extern const command_rec xf_cmds[];

void *xf_config_dir_create(apr_pool_t *p, char *dir);
void *xf_config_dir_merge(apr_pool_t *p, void *basev, void *addv);

/** @return the merged per-directory config for r. */
const xf_dir_conf_t *xf_config_dir_get(const request_rec *r);

xf_pathkey_e xf_dir_path_keys(const xf_dir_conf_t *d);
apr_size_t xf_dir_max_envelope(const xf_dir_conf_t *d);
int xf_dir_force_close(const xf_dir_conf_t *d);
int xf_dir_missing_status(const xf_dir_conf_t *d);
int xf_dir_traceparent_top(const xf_dir_conf_t *d);
xf_mode_e xf_dir_mode(const xf_dir_conf_t *d);
apr_interval_time_t xf_dir_reply_timeout(const xf_dir_conf_t *d);
int xf_dir_stunnel_proxy(const xf_dir_conf_t *d);
int xf_dir_auth(const xf_dir_conf_t *d);
const char *xf_dir_realm(const xf_dir_conf_t *d);
int xf_dir_forward_creds(const xf_dir_conf_t *d);
int xf_dir_plugin(const xf_dir_conf_t *d);
const char *xf_dir_plugin_dir(const xf_dir_conf_t *d);
int xf_dir_plugin_nosession(const xf_dir_conf_t *d);
/** @return the way to reach service name (per-name setting first). */
xf_plugin_way_e xf_dir_plugin_way(const xf_dir_conf_t *d, const char *name);

xf_relay_e xf_dir_relay(const xf_dir_conf_t *d);
/** The tunnel's idle limit, or -1 for the worker's I/O timeout. */
apr_interval_time_t xf_dir_tunnel_timeout(const xf_dir_conf_t *d);
apr_interval_time_t xf_dir_control_life(const xf_dir_conf_t *d);

/** @return "auto", "handoff" or "relay". */
const char *xf_mode_name(xf_mode_e m);

#endif /* XF_CONFIG_H */
