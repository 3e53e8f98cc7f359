/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_relay.c - relay mode (SPEC 4). Not built yet: every request that
 * cannot be handed off is refused with XAPIFWD0009.
 */
#include "xf_relay.h"

#include "xf_private.h"

int xf_relay_available(void)
{
    return 0;
}

int xf_relay_run(request_rec *r, int uds, const char *payload,
                 apr_size_t len, apr_interval_time_t timeout)
{
    return HTTP_INTERNAL_SERVER_ERROR;
}
