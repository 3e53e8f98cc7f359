/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_proxyline.c - the PROXY v1 line in the form xapi parses. Pure core.
 */
#include "xf_proxyline.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* The address as xapi's "%s" reads it: IPv4 v4-mapped, IPv6 canonical
 * (inet_ntop), so that one client always gives one string. 0 on success. */
static int tcp6_address(char *out, size_t len, const char *ip)
{
    unsigned char a[16];

    if (ip == NULL) {
        return -1;
    }
    if (inet_pton(AF_INET, ip, a) == 1) {
        return snprintf(out, len, "::ffff:%u.%u.%u.%u", a[0], a[1], a[2],
                        a[3]) < (int)len
                   ? 0
                   : -1;
    }
    if (inet_pton(AF_INET6, ip, a) == 1 &&
        inet_ntop(AF_INET6, a, out, (socklen_t)len) != NULL) {
        return 0;
    }
    return -1;
}

int xf_proxyline_format(char *buf, const char *client_ip, int client_port,
                        const char *local_ip, int local_port)
{
    char src[INET6_ADDRSTRLEN + 8], dst[INET6_ADDRSTRLEN + 8];
    int n;

    if (client_port < 0 || client_port > 65535 || local_port < 0 ||
        local_port > 65535 || tcp6_address(src, sizeof(src), client_ip) != 0 ||
        tcp6_address(dst, sizeof(dst), local_ip) != 0) {
        return -1;
    }
    n = snprintf(buf, XF_PROXYLINE_MAX, "PROXY TCP6 %s %s %d %d\r\n", src, dst,
                 client_port, local_port);
    return n > 0 && n < XF_PROXYLINE_MAX ? n : -1;
}
