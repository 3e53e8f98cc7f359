/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_poolsecret.h - the pool secrets (XapiForwardPoolSecretFile), read at
 * every (graceful) restart and held per process.
 */
#ifndef XF_POOLSECRET_H
#define XF_POOLSECRET_H

#include "httpd.h"

#include "xf_auth.h"

/** pre_config: forget the secrets of the previous generation. */
void xf_poolsecret_pre_config(void);

/** post_config: read every vhost's secret file once.
 *  @return OK, or 500 when one cannot be read */
int xf_poolsecret_post_config(apr_pool_t *pconf, server_rec *s);

/** The secret configured for s, or NULL (none, or not read). */
const xf_secret_t *xf_poolsecret_get(server_rec *s);

#endif /* XF_POOLSECRET_H */
