/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_plugin.h - custom services at /services/plugin/<name> (the "API for
 * contacting custom services"): the 405/404/302 answers, and
 * the dispatch to mod_proxy_http ("http") or the xapi:// scheme ("channel").
 */
#ifndef XF_PLUGIN_H
#define XF_PLUGIN_H

#include "httpd.h"
#include "http_config.h"

/** r->notes key set once a request is dispatched to a service (its name). */
#define XF_NOTE_PLUGIN "xapi-forward-plugin"

/** header_parser: methods other than GET, PUT, POST get 405 + Allow. */
int xf_plugin_header_parser(request_rec *r);

/** handler (runs before mod_proxy's): name, 302, socket checks, dispatch. */
int xf_plugin_handler(request_rec *r);

/** post_config: warn when the "http" way is used without mod_proxy_http. */
void xf_plugin_post_config(server_rec *s);

#endif /* XF_PLUGIN_H */
