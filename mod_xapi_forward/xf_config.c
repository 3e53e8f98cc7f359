/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_config.c - the settings: create, merge and the accessors (which
 * apply the defaults), all generated from the lists of xf_config.h. The
 * directives that fill them are in xf_config_cmds.c.
 */
#include "xf_config.h"

#include <apr_strings.h>

#include "http_core.h"

#include "xf_private.h"

/* clang-format off */

/* "unset", per kind */
#define XF_UNSET_FLAG   XF_UNSET
#define XF_UNSET_ENUM   XF_UNSET
#define XF_UNSET_STATUS XF_UNSET
#define XF_UNSET_NUMBER XF_UNSET
#define XF_UNSET_TIME   XF_UNSET
#define XF_UNSET_STRING NULL
#define XF_UNSET_PATH   NULL
#define XF_UNSET_ARRAY  NULL
#define XF_UNSET_TABLE  NULL

/* create: every field unset */
#define XF_CREATE(field, kind, ...) c->field = XF_UNSET_##kind;

/* merge (add: the inner section, base: the outer one) */
#define XF_MERGE(field, kind, type, def, merge, ...)                           \
    XF_MERGE_##merge(field, kind)
#define XF_MERGE_INNER(field, kind)                                            \
    m->field = add->field != XF_UNSET_##kind ? add->field : base->field;
#define XF_MERGE_MAIN(field, kind) XF_MERGE_INNER(field, kind)
#define XF_MERGE_OVERLAY(field, kind)                                          \
    m->field = !add->field    ? base->field                                    \
               : !base->field ? add->field                                     \
                              : apr_table_overlay(p, base->field, add->field);

/* the accessors */
#define XF_ACCESSOR(conf, field, kind, type, def)                              \
    type xf_##conf##_##field(const xf_##conf##_conf_t *c)                      \
    {                                                                          \
        if (c && c->field != XF_UNSET_##kind)                                  \
            return (type)c->field;                                             \
        return (type)(def);                                                    \
    }
#define XF_DIR_ACCESSOR(field, kind, type, def, ...)                           \
    XF_ACCESSOR(dir, field, kind, type, def)
#define XF_SRV_ACCESSOR(field, kind, type, def, ...)                           \
    XF_ACCESSOR(srv, field, kind, type, def)

/* clang-format on */

void *xf_config_dir_create(apr_pool_t *p, char *dir)
{
    xf_dir_conf_t *c = apr_pcalloc(p, sizeof(*c));

    XF_DIR_FIELDS(XF_CREATE)
    return c;
}

void *xf_config_dir_merge(apr_pool_t *p, void *basev, void *addv)
{
    const xf_dir_conf_t *base = basev, *add = addv;
    xf_dir_conf_t *m = apr_pcalloc(p, sizeof(*m));

    XF_DIR_FIELDS(XF_MERGE)
    return m;
}

void *xf_config_srv_create(apr_pool_t *p, server_rec *s)
{
    xf_srv_conf_t *c = apr_pcalloc(p, sizeof(*c));

    XF_SRV_FIELDS(XF_CREATE)
    return c;
}

void *xf_config_srv_merge(apr_pool_t *p, void *basev, void *addv)
{
    const xf_srv_conf_t *base = basev, *add = addv;
    xf_srv_conf_t *m = apr_pcalloc(p, sizeof(*m));

    XF_SRV_FIELDS(XF_MERGE)
    return m;
}

/* clang-format off */
XF_DIR_FIELDS(XF_DIR_ACCESSOR)
XF_SRV_FIELDS(XF_SRV_ACCESSOR)
/* clang-format on */

const xf_srv_conf_t *xf_config_srv_get(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &xapi_forward_module);
}

const xf_dir_conf_t *xf_config_dir_get(const request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &xapi_forward_module);
}

xf_plugin_way_e xf_dir_plugin_way_for(const xf_dir_conf_t *d, const char *name)
{
    const char *w = d && d->plugin_ways && name
                        ? apr_table_get(d->plugin_ways, name)
                        : NULL;

    if (w)
        return strcmp(w, "channel") ? XF_PLUGIN_HTTP : XF_PLUGIN_CHANNEL;
    return xf_dir_plugin_way(d);
}

int xf_config_auth_used(const server_rec *s)
{
    for (; s; s = s->next) {
        if (xf_srv_auth_used(xf_config_srv_get(s)))
            return 1;
    }
    return 0;
}

const char *xf_mode_name(xf_mode_e m)
{
    switch (m) {
    case XF_MODE_HANDOFF:
        return "handoff";
    case XF_MODE_RELAY:
        return "relay";
    default:
        return "auto";
    }
}
