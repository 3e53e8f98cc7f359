/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_config.h - the settings: one list per config struct (XF_DIR_FIELDS,
 * XF_SRV_FIELDS) from which the struct members, create, merge, the
 * accessors (which apply the defaults; xf_config.c) and the directives
 * that need no parsing of their own (xf_config_cmds.c) are generated.
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

/** What a relay speaks with the daemon. */
typedef enum {
    XF_RELAY_HTTP = 0,  /* parse the daemon's HTTP response */
    XF_RELAY_TUNNEL = 1 /* raw bytes both ways, nothing parsed */
} xf_relay_e;

/*
 * The settings, one row each:
 *
 *   X(field, kind, type, default, merge, setter, directive, check, doc)
 *
 * field     the struct member; its accessor is xf_dir_<field>() or
 *           xf_srv_<field>(), which answers default while it is unset
 * kind      how it is stored and parsed:
 *             FLAG    On|Off (int)
 *             ENUM    one of check's words, stored as its value (int)
 *             STATUS  an HTTP status among check's values (int)
 *             NUMBER  a number in check's range (apr_off_t)
 *             TIME    a time in check's range: seconds, or with a unit
 *                     (250ms, 2mi, 1h) (apr_interval_time_t, usec)
 *             STRING  the argument as given (const char *)
 *             PATH    a readable file (relative to ServerRoot) of at least
 *                     check's bytes, at most 64 KiB (const char *)
 *             ARRAY, TABLE  filled by a hand-written setter
 *           unset is XF_UNSET (-1) for the numbers, NULL for the pointers
 * type      what the accessor returns
 * default   the accessor's answer while unset (create leaves every field
 *           unset, so that merge can tell "unset" from "the default")
 * merge     INNER: the innermost section that sets it wins; MAIN: the
 *           same, but only the main server may set it (the directive
 *           refuses <VirtualHost>), virtual hosts inherit it; OVERLAY:
 *           tables are merged entry by entry, inner entries win
 * setter    SET: the generic setter of its kind, and the directive's
 *           xf_cmds[] entry, are generated; OWN: a hand-written setter
 *           (xf_config_set.c, xf_config_plugin.c; listed at the end of
 *           xf_cmds[]) fills it
 * directive SET: the directive's name; OWN: the directive whose setter
 *           fills it
 * check     what the generic setter accepts: CHOICES({word, value}...)
 *           for ENUM and STATUS (a STATUS argument is read as a number;
 *           an OWN ENUM row gives its words too, for the documentation),
 *           RANGE(min, max, message) for NUMBER and TIME (the message
 *           follows "<directive>: "), MIN_SIZE(bytes) for PATH, NONE
 *           otherwise
 * doc       SET: the directive's help (httpd -L, docs/directives.md's directive
 *           table); OWN: what the field holds
 */
/* clang-format off */

/** The settings of a <Location> (and of the server config and
 *  <VirtualHost>, the outer sections). */
#define XF_DIR_FIELDS(X)                                                       \
    X(path_keys, ENUM, xf_pathkey_e, XF_PATHKEY_BOTH, INNER,                   \
      SET, "XapiForwardPathKey",                                               \
      CHOICES({"uri", XF_PATHKEY_URI}, {"path", XF_PATHKEY_PATH},              \
              {"both", XF_PATHKEY_BOTH}),                                      \
      "uri|path|both: the envelope key(s) carrying the request path "          \
      "(default both)")                                                        \
    X(max_envelope, NUMBER, apr_size_t, XF_ENVELOPE_DEFAULT_MAX, INNER,        \
      SET, "XapiForwardMaxEnvelope",                                           \
      RANGE(256, 65536, "must be a number of bytes from 256 to 65536"),        \
      "largest envelope sent to a daemon, in bytes (default 16384)")           \
    X(force_close, FLAG, int, 1, INNER,                                        \
      SET, "XapiForwardForceClose",                                            \
      NONE,                                                                    \
      "On: the envelope always says \"close\":true (default On)")              \
    X(missing_status, STATUS, int, HTTP_SERVICE_UNAVAILABLE, INNER,            \
      SET, "XapiForwardMissingStatus",                                         \
      CHOICES({"503", HTTP_SERVICE_UNAVAILABLE}, {"404", HTTP_NOT_FOUND}),     \
      "503|404: status when the daemon's socket is missing or refuses "        \
      "(default 503)")                                                         \
    X(traceparent_top, FLAG, int, 1, INNER,                                    \
      SET, "XapiForwardTopTraceparent",                                        \
      NONE,                                                                    \
      "On: also send a traceparent header as a top-level field "               \
      "(default On)")                                                          \
    X(mode, ENUM, xf_mode_e, XF_MODE_AUTO, INNER,                              \
      SET, "XapiForwardMode",                                                  \
      CHOICES({"auto", XF_MODE_AUTO}, {"handoff", XF_MODE_HANDOFF},            \
              {"relay", XF_MODE_RELAY}),                                       \
      "auto|handoff|relay: how requests reach the daemon (default auto)")      \
    X(reply_timeout, TIME, apr_interval_time_t, apr_time_from_sec(1), INNER,   \
      SET, "XapiForwardReplyTimeout",                                          \
      RANGE(0, apr_time_from_sec(3600),                                        \
            "must be a time from 0 to 3600 seconds (e.g. 1, 250ms)"),          \
      "how long to wait for the daemon's answer on its control socket "        \
      "after a hand-off (default 1s, 0 = do not wait)")                        \
    X(relay, ENUM, xf_relay_e, XF_RELAY_HTTP, INNER,                           \
      SET, "XapiForwardRelay",                                                 \
      CHOICES({"http", XF_RELAY_HTTP}, {"tunnel", XF_RELAY_TUNNEL}),           \
      "http|tunnel: in relay mode, parse the daemon's HTTP response, or "      \
      "pass raw bytes both ways (default http)")                               \
    X(tunnel_timeout, TIME, apr_interval_time_t, XF_UNSET, INNER,              \
      SET, "XapiForwardTunnelTimeout",                                         \
      RANGE(0, apr_time_from_sec(86400),                                       \
            "must be a time from 0 to 86400 seconds (e.g. 30, 250ms)"),        \
      "idle limit of a tunnel or of a console over CONNECT (default: the "    \
      "worker's timeout=, ProxyTimeout, Timeout)")                             \
    X(control_life, TIME, apr_interval_time_t, apr_time_from_sec(3600), INNER, \
      SET, "XapiForwardControlLifetime",                                       \
      RANGE(0, apr_time_from_sec(7 * 86400),                                   \
            "must be a time from 0 to 604800 seconds (e.g. 30, 250ms)"),       \
      "how long a daemon may keep its control socket open after a "            \
      "hand-off or tunnel, watched without a worker (default 1h, 0 = "         \
      "close at once)")                                                        \
    X(stunnel_proxy, FLAG, int, 1, INNER,                                      \
      SET, "XapiForwardStunnelProxy",                                          \
      NONE,                                                                    \
      "On: for TLS clients add the STUNNEL_PROXY entry xapi's stunnel "        \
      "would have produced (default On)")                                      \
    X(proxy_protocol, FLAG, int, 0, INNER,                                     \
      SET, "XapiForwardProxyProtocol",                                         \
      NONE,                                                                    \
      "On: mod_proxy_http requests reach the backend as xapi's stunnel "       \
      "delivers them: a PROXY line first for TLS clients, the client's "       \
      "HTTP version, no invented Host; the worker needs disablereuse=on "      \
      "(default Off)")                                                         \
    X(auth, FLAG, int, 0, INNER,                                               \
      OWN, "XapiForwardAuth",                                                  \
      NONE,                                                                    \
      "check credentials against XAPI (the setter also marks the server's "    \
      "auth_used)")                                                            \
    X(realm, STRING, const char *, "xapi", INNER,                              \
      SET, "XapiForwardAuthRealm",                                             \
      NONE,                                                                    \
      "realm named in WWW-Authenticate (default xapi)")                        \
    X(perms, ARRAY, const apr_array_header_t *, NULL, INNER,                   \
      OWN, "XapiForwardRequirePermission",                                     \
      NONE,                                                                    \
      "required permissions (const char *), lower-case, XF_PERM_DERIVED "      \
      "for xapi's own; NULL: none")                                            \
    X(forward_creds, FLAG, int, 0, INNER,                                      \
      SET, "XapiForwardForwardCredentials",                                    \
      NONE,                                                                    \
      "On: forward the session_id and Authorization used for the check to "    \
      "the daemon (default Off; pool secrets never)")                          \
    X(plugin, FLAG, int, 0, INNER,                                             \
      OWN, "XapiForwardPlugin",                                                \
      NONE,                                                                    \
      "/<prefix>/<name> reaches the custom service <name> (the setter "        \
      "checks the section)")                                                   \
    X(plugin_prefix, STRING, const char *, NULL, INNER,                        \
      OWN, "XapiForwardPlugin",                                                \
      NONE,                                                                    \
      "the <Location> path of XapiForwardPlugin On; NULL: none")               \
    X(plugin_dir, STRING, const char *, "/var/lib/xcp/plugin", INNER,          \
      OWN, "XapiForwardPluginDir",                                             \
      NONE,                                                                    \
      "the services' socket directory, absolute, no trailing slash")           \
    X(plugin_way, ENUM, xf_plugin_way_e, XF_PLUGIN_HTTP, INNER,                \
      OWN, "XapiForwardPluginWay",                                             \
      CHOICES({"http", XF_PLUGIN_HTTP}, {"channel", XF_PLUGIN_CHANNEL}),       \
      "how services are reached (XapiForwardPluginWay WAY); see "              \
      "xf_dir_plugin_way_for()")                                               \
    X(plugin_ways, TABLE, const apr_table_t *, NULL, OVERLAY,                  \
      OWN, "XapiForwardPluginWay",                                             \
      NONE,                                                                    \
      "service name -> \"http\"|\"channel\" (XapiForwardPluginWay NAME "       \
      "WAY); NULL: none")                                                      \
    X(plugin_hosts, TABLE, const apr_table_t *, NULL, OVERLAY,                 \
      OWN, "XapiForwardPluginHost",                                            \
      NONE,                                                                    \
      "service name -> base URL of the host running it (302), from "           \
      "XapiForwardPluginHost and XapiForwardPluginHostMap; NULL: none")        \
    X(plugin_nosession, STATUS, int, HTTP_FORBIDDEN, INNER,                    \
      SET, "XapiForwardPluginNoSessionStatus",                                 \
      CHOICES({"403", HTTP_FORBIDDEN}, {"401", HTTP_UNAUTHORIZED}),            \
      "403|401: status without a valid session in a services location "        \
      "(default 403; xapi answers 401)")

/** The per-server settings: where XAPI is, the pool secret, the decision
 *  cache (XapiForwardCache*: main server only), the vhost chosen by SNI. */
#define XF_SRV_FIELDS(X)                                                       \
    X(xapi_url, STRING, const char *, "unix:/var/lib/xcp/xapi", INNER,         \
      OWN, "XapiForwardXapiURL",                                               \
      NONE,                                                                    \
      "session checks: \"unix:/path\" or \"https://host\"")                    \
    X(login_url, STRING, const char *, "https://localhost", INNER,             \
      OWN, "XapiForwardLoginURL",                                              \
      NONE,                                                                    \
      "Basic logins: an https URL, never a unix socket")                       \
    X(ca_file, PATH, const char *, NULL, INNER,                                \
      SET, "XapiForwardXapiCAFile",                                            \
      MIN_SIZE(1),                                                             \
      "PEM CA file to verify XAPI's certificate (default: the system's)")      \
    X(verify, FLAG, int, 1, INNER,                                             \
      SET, "XapiForwardXapiVerify",                                            \
      NONE,                                                                    \
      "On: verify XAPI's certificate and name (default On)")                   \
    X(connect, FLAG, int, 0, INNER,                                            \
      SET, "XapiForwardConnect",                                               \
      NONE,                                                                    \
      "On: CONNECT /console and /remotecmd (origin-form, xapi's consoles) "    \
      "are let through and tunnelled to the catch-all's xapi (default Off)")   \
    X(xapi_timeout, TIME, apr_interval_time_t, apr_time_from_sec(5), INNER,    \
      SET, "XapiForwardXapiTimeout",                                           \
      RANGE(apr_time_from_msec(10), apr_time_from_sec(300),                    \
            "must be a time from 10ms to 300 seconds"),                        \
      "time limit of one credential check with XAPI, all its calls "           \
      "together (default 5s)")                                                 \
    X(pool_secret_file, PATH, const char *, NULL, INNER,                       \
      SET, "XapiForwardPoolSecretFile",                                        \
      MIN_SIZE(1),                                                             \
      "file holding the pool secret (xapi: /etc/xensource/ptoken); "           \
      "unset: pool_secret is not accepted")                                    \
    X(auth_used, FLAG, int, 0, INNER,                                          \
      OWN, "XapiForwardAuth",                                                  \
      NONE,                                                                    \
      "XapiForwardAuth On somewhere in this server: the cache and the "        \
      "XAPI client are needed")                                                \
    X(client_cert_name, STRING, const char *, NULL, INNER,                     \
      SET, "XapiForwardClientCertName",                                        \
      NONE,                                                                    \
      "the host name a client certificate must carry (xapi's "                 \
      "client_certificate_auth_name, stunnel's checkHost); unset: client "     \
      "certificates are not looked at")                                        \
    X(client_cert_url, STRING, const char *,                                   \
      "unix:/var/lib/xcp/xapi-clientcert", INNER,                              \
      OWN, "XapiForwardClientCertURL",                                         \
      NONE,                                                                    \
      "client-certificate logins: \"unix:/path\" of xapi's clientcert "        \
      "socket")                                                                \
    X(cache_provider, STRING, const char *, "shmcb", MAIN,                     \
      OWN, "XapiForwardCache",                                                 \
      NONE,                                                                    \
      "the decision cache's socache provider")                                 \
    X(cache_args, STRING, const char *, NULL, MAIN,                            \
      OWN, "XapiForwardCache",                                                 \
      NONE,                                                                    \
      "its arguments; NULL: the provider's default")                           \
    X(cache_where, STRING, const char *, NULL, MAIN,                           \
      OWN, "XapiForwardCache",                                                 \
      NONE,                                                                    \
      "\"line N of FILE\" of XapiForwardCache; NULL: not configured")          \
    X(cache_ttl, TIME, apr_interval_time_t, apr_time_from_sec(60), MAIN,       \
      SET, "XapiForwardCacheTTL",                                              \
      RANGE(0, apr_time_from_sec(86400),                                       \
            "must be a time from 0 to 86400 seconds"),                         \
      "seconds an allow/deny decision is cached (default 60)")                 \
    X(cache_neg_ttl, TIME, apr_interval_time_t, apr_time_from_sec(10), MAIN,   \
      SET, "XapiForwardCacheNegativeTTL",                                      \
      RANGE(0, apr_time_from_sec(86400),                                       \
            "must be a time from 0 to 86400 seconds"),                         \
      "seconds an invalid session or failed login is cached (default 10)")     \
    X(cache_key_file, PATH, const char *, NULL, MAIN,                          \
      SET, "XapiForwardCacheKeyFile",                                          \
      MIN_SIZE(16),                                                            \
      "file whose contents key the cache ids (share it between front "         \
      "ends that share a cache; default: random)")                             \
    X(vhost_by_sni, FLAG, int, 0, INNER,                                       \
      SET, "XapiForwardVHostBySNI",                                            \
      NONE,                                                                    \
      "On: a TLS client that chose this vhost by SNI is served by it for "     \
      "every request, whatever its Host (default Off)")

/* the storage of each kind (the struct members) */
#define XF_CTYPE_FLAG   int
#define XF_CTYPE_ENUM   int
#define XF_CTYPE_STATUS int
#define XF_CTYPE_NUMBER apr_off_t
#define XF_CTYPE_TIME   apr_interval_time_t
#define XF_CTYPE_STRING const char *
#define XF_CTYPE_PATH   const char *
#define XF_CTYPE_ARRAY  apr_array_header_t *
#define XF_CTYPE_TABLE  apr_table_t *

#define XF_MEMBER(field, kind, ...) XF_CTYPE_##kind field;
#define XF_ACCESSOR_DECL(conf, field, type)                                    \
    type xf_##conf##_##field(const xf_##conf##_conf_t *c);
#define XF_DIR_ACCESSOR_DECL(field, kind, type, ...)                           \
    XF_ACCESSOR_DECL(dir, field, type)
#define XF_SRV_ACCESSOR_DECL(field, kind, type, ...)                           \
    XF_ACCESSOR_DECL(srv, field, type)

/** Per-directory (<Location>) settings: XF_DIR_FIELDS. */
typedef struct xf_dir_conf_t {
    XF_DIR_FIELDS(XF_MEMBER)
} xf_dir_conf_t;

/** Per-server settings: XF_SRV_FIELDS. */
typedef struct xf_srv_conf_t {
    XF_SRV_FIELDS(XF_MEMBER)
} xf_srv_conf_t;

/* the accessors: xf_dir_<field>(d), xf_srv_<field>(c); each answers the
 * field, or its default while unset (also for a NULL config) */
XF_DIR_FIELDS(XF_DIR_ACCESSOR_DECL)
XF_SRV_FIELDS(XF_SRV_ACCESSOR_DECL)

/* clang-format on */

void *xf_config_srv_create(apr_pool_t *p, server_rec *s);
void *xf_config_srv_merge(apr_pool_t *p, void *basev, void *addv);
const xf_srv_conf_t *xf_config_srv_get(const server_rec *s);

/** @return 1 when a location of s or of one of its virtual hosts (s is the
 *  main server) has XapiForwardAuth On: the cache and the XAPI client are
 *  needed. */
int xf_config_auth_used(const server_rec *s);

void *xf_config_dir_create(apr_pool_t *p, char *dir);
void *xf_config_dir_merge(apr_pool_t *p, void *basev, void *addv);

/** @return the merged per-directory config for r. */
const xf_dir_conf_t *xf_config_dir_get(const request_rec *r);

/** @return the way to reach service name: its XapiForwardPluginWay NAME
 *  setting, else xf_dir_plugin_way(d). */
xf_plugin_way_e xf_dir_plugin_way_for(const xf_dir_conf_t *d, const char *name);

/** @return "auto", "handoff" or "relay". */
const char *xf_mode_name(xf_mode_e m);

#endif /* XF_CONFIG_H */
