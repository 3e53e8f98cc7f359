/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_confcheck.c - configuration errors at start-up, naming the directive
 * and its file:line: a check_config walk over the configuration tree
 * (which httpd -t runs too)
 * for the xapi:// URLs of mod_proxy's directives (which only mod_proxy
 * parses) and for the custom services' socket directories.
 */
#include "xf_confcheck.h"

#include <sys/un.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include "http_core.h"
#include "http_log.h"
#include "util_cfgtree.h"

#include "xf_config.h"
#include "xf_private.h"

/* longest socket path the kernel takes (sun_path holds the NUL too) */
#define XF_SUN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

/* ---- check_config: the xapi:// URLs of mod_proxy's directives ----------- */

/* one xapi:// worker URL seen in the configuration */
typedef struct {
    const char *name;        /* lower case, cut at a '$' (ProxyPassMatch) */
    const char *sock;        /* socket path as mod_proxy resolves it */
    const ap_directive_t *d; /* where */
} xf_use_t;

typedef struct {
    apr_pool_t *p;
    server_rec *s;
    apr_array_header_t *uses;         /* xf_use_t */
    const ap_directive_t *plugin_dfl; /* a XapiForwardPlugin On with no
                                       * XapiForwardPluginDir around it:
                                       * the default directory; NULL: none */
    apr_table_t *plugin_dirs;         /* the directories checked (once) */
    int plugin_only;                  /* flag: services directories only */
    int warn;                         /* flag: log warnings too */
    int errors;
} xf_walk_t;

#define WHERE_FMT "%s on line %d of %s: "
#define WHERE(d) (d)->directive, (d)->line_num, (d)->filename

/* a prefix of the other: mod_proxy would give both URLs one worker */
static int shares_worker(const char *a, const char *b)
{
    apr_size_t la = strlen(a), lb = strlen(b);

    return !strncmp(a, b, la < lb ? la : lb);
}

static void check_url(xf_walk_t *w, const ap_directive_t *d, const char *url)
{
    const char *bar = ap_strchr_c(url, '|');
    const char *xurl, *path, *sock;
    char *name;
    apr_uri_t u;
    int i;

    if (!bar) {
        if (strncasecmp(url, XF_SCHEME "://", sizeof(XF_SCHEME) + 2))
            return;
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, w->s,
                     XF_LOGNO(0500) WHERE_FMT
                     "\"%s\" has no unix: socket: write "
                     "\"unix:/path/to/daemon.sock|%s\"",
                     WHERE(d), url, url);
        w->errors++;
        return;
    }
    xurl = bar + 1;
    if (strncasecmp(xurl, XF_SCHEME "://", sizeof(XF_SCHEME) + 2))
        return; /* not ours */
    if (strncasecmp(url, "unix:", 5)) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, w->s,
                     XF_LOGNO(0501) WHERE_FMT
                     "the part before '|' in \"%s\" must be a unix: socket",
                     WHERE(d), url);
        w->errors++;
        return;
    }
    /* mod_proxy: the path of the unix: URI, relative to DefaultRuntimeDir */
    path = apr_pstrmemdup(w->p, url, bar - url);
    if (apr_uri_parse(w->p, path, &u) != APR_SUCCESS || !u.path || !*u.path) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, w->s,
                     XF_LOGNO(0502) WHERE_FMT "\"%s\" names no socket path",
                     WHERE(d), url);
        w->errors++;
        return;
    }
    sock = ap_runtime_dir_relative(w->p, u.path);
    if (!sock || strlen(sock) > XF_SUN_PATH_MAX) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, w->s,
                     XF_LOGNO(0503) WHERE_FMT
                     "the socket path %s is %" APR_SIZE_T_FMT
                     " bytes long; sun_path holds at most %d",
                     WHERE(d), sock ? sock : u.path,
                     strlen(sock ? sock : u.path), (int)XF_SUN_PATH_MAX);
        w->errors++;
        return;
    }
    if (apr_uri_parse(w->p, xurl, &u) != APR_SUCCESS || !u.hostname ||
        !*u.hostname) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, w->s,
                     XF_LOGNO(0504) WHERE_FMT
                     "\"%s\" does not parse as xapi://NAME/ (a host name "
                     "per daemon socket)",
                     WHERE(d), xurl);
        w->errors++;
        return;
    }
    if (!strcasecmp(d->directive, "SetHandler"))
        return; /* defines no worker */
    name = apr_pstrdup(w->p, xurl);
    ap_str_tolower(name);
    if (strchr(name, '$'))
        *strchr(name, '$') = '\0';
    for (i = 0; i < w->uses->nelts; i++) {
        const xf_use_t *o = &APR_ARRAY_IDX(w->uses, i, xf_use_t);
        if (strcmp(o->sock, sock) && shares_worker(o->name, name)) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, w->s,
                         XF_LOGNO(0505) WHERE_FMT
                         "worker \"%s\" would also stand for socket %s, "
                         "but %s on line %d of %s gave \"%s\" socket %s: "
                         "mod_proxy shares workers by URL and would send "
                         "both to one socket; give each socket its own "
                         "name (xapi://rrdd/, xapi://xenopsd/)",
                         WHERE(d), name, sock, WHERE(o->d), o->name, o->sock);
            w->errors++;
            return;
        }
    }
    {
        xf_use_t *n = apr_array_push(w->uses);
        n->name = name;
        n->sock = sock;
        n->d = d;
    }
}

/* ---- the custom services' socket directories ----------------------------- */

/* A services directory: not a directory stops httpd; missing, or writable
 * by others than its owner (anyone could put a socket there under a
 * service's name), is the operator's call: a warning. */
static void check_plugin_dir(xf_walk_t *w, const ap_directive_t *d,
                             const char *path, const char *what)
{
    apr_finfo_t fi;
    apr_status_t st;

    if (apr_table_get(w->plugin_dirs, path))
        return; /* one message per directory, at its first mention */
    apr_table_setn(w->plugin_dirs, path, "");
    st = apr_stat(&fi, path, APR_FINFO_TYPE | APR_FINFO_PROT, w->p);
    if (st == APR_SUCCESS && fi.filetype != APR_DIR) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, w->s,
                     XF_LOGNO(0412) WHERE_FMT "%s%s is not a directory",
                     WHERE(d), what, path);
        w->errors++;
        return;
    }
    if (!w->warn)
        return;
    if (st != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_WARNING, st, w->s,
                     XF_LOGNO(0414) WHERE_FMT
                     "%s%s is not there (yet) or not reachable: every "
                     "service answers 404 until it is",
                     WHERE(d), what, path);
    else if (fi.protection & (APR_GWRITE | APR_WWRITE))
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, w->s,
                     XF_LOGNO(0413) WHERE_FMT
                     "%s%s is writable by %s: whoever can write there can "
                     "answer for a service by creating its socket (chmod "
                     "go-w)",
                     WHERE(d), what, path,
                     (fi.protection & APR_WWRITE) ? "everyone" : "its group");
}

/* XapiForwardPluginDir in the same section as d or in one around it */
static int plugin_dir_around(const ap_directive_t *d)
{
    const ap_directive_t *c, *o;

    for (c = d; c; c = c->parent)
        for (o = c->parent ? c->parent->first_child : ap_conftree; o;
             o = o->next)
            if (o->directive &&
                !strcasecmp(o->directive, "XapiForwardPluginDir"))
                return 1;
    return 0;
}

static void check_plugin(xf_walk_t *w, const ap_directive_t *d)
{
    const char *args = d->args;
    char *word = ap_getword_conf(w->p, &args);
    apr_size_t n = strlen(word);

    if (!strcasecmp(d->directive, "XapiForwardPluginDir")) {
        while (n > 1 && word[n - 1] == '/')
            word[--n] = '\0';
        if (*word)
            check_plugin_dir(w, d, word, "");
    }
    else if (!strcasecmp(word, "on") && !w->plugin_dfl && !plugin_dir_around(d))
        w->plugin_dfl = d;
}

static void check_directive(xf_walk_t *w, const ap_directive_t *d)
{
    int sethandler = !strcasecmp(d->directive, "SetHandler");
    const char *args = d->args;

    if (!strcasecmp(d->directive, "XapiForwardPluginDir") ||
        !strcasecmp(d->directive, "XapiForwardPlugin")) {
        check_plugin(w, d);
        return;
    }
    if (w->plugin_only)
        return;
    if (!sethandler && strcasecmp(d->directive, "ProxyPass") &&
        strcasecmp(d->directive, "ProxyPassMatch") &&
        strcasecmp(d->directive, "BalancerMember"))
        return;
    while (args && *args) {
        const char *word = ap_getword_conf(w->p, &args);
        if (!*word)
            break;
        if (sethandler) {
            if (strncasecmp(word, "proxy:", 6))
                continue;
            word += 6;
        }
        if (ap_strcasestr(word, XF_SCHEME "://"))
            check_url(w, d, word);
    }
}

static void walk(xf_walk_t *w, const ap_directive_t *d)
{
    for (; d; d = d->next) {
        if (d->directive)
            check_directive(w, d);
        if (d->first_child)
            walk(w, d->first_child);
    }
}

/* Walk the configuration: everything, or the services directories only;
 * warnings too when warn. */
static int walk_config(apr_pool_t *p, server_rec *s, int plugin_only, int warn)
{
    xf_walk_t w;

    w.p = p;
    w.s = s;
    w.uses = apr_array_make(p, 16, sizeof(xf_use_t));
    w.plugin_dfl = NULL;
    w.plugin_dirs = apr_table_make(p, 4);
    w.plugin_only = plugin_only;
    w.warn = warn;
    w.errors = 0;
    walk(&w, ap_conftree);
    if (w.plugin_dfl)
        check_plugin_dir(&w, w.plugin_dfl, xf_dir_plugin_dir(NULL),
                         "the default XapiForwardPluginDir ");
    return w.errors ? HTTP_INTERNAL_SERVER_ERROR : OK;
}

int xf_confcheck_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s)
{
    /* the warnings: here under httpd -t, else from post_config, once the
     * error log is open (check_config runs before, and while httpd
     * detaches, with stderr on /dev/null) */
    return walk_config(ptemp, s, 0,
                       ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_TEST);
}

void xf_confcheck_post_config(apr_pool_t *ptemp, server_rec *s)
{
    walk_config(ptemp, s, 1, 1);
}
