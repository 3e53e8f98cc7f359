/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_proxyline.h - the PROXY protocol v1 line xapi's stunnel front door
 * writes at the start of every connection to xapi, in the one form xapi
 * parses (ocaml/libs/http-lib http.ml keeps the line as the pseudo-header
 * STUNNEL_PROXY; http_svr.ml reads it with "TCP6 %s %s %d %d": a TCP4
 * line counts as no line at all). Pure core: no httpd headers.
 */
#ifndef XF_PROXYLINE_H
#define XF_PROXYLINE_H

#include <stddef.h>

/** Room for the longest line, its CRLF and a NUL: "PROXY TCP6 " + two
 *  addresses of at most 45 characters + two ports of at most 5 + spaces
 *  (the PROXY protocol's own bound is 107 bytes + NUL). */
#define XF_PROXYLINE_MAX 108

/**
 * Write "PROXY TCP6 SRC DST SPORT DPORT\r\n" into buf. An IPv4 address is
 * written v4-mapped ("::ffff:192.0.2.10"), as stunnel's IPv6 listener
 * sees an IPv4 client; an IPv6 address is written as given.
 * @param buf       at least XF_PROXYLINE_MAX bytes
 * @param client_ip the client's address, textual IPv4 or IPv6
 * @param client_port the client's port
 * @param local_ip  the address the client connected to
 * @param local_port the port the client connected to
 * @return the line's length (without the NUL), or -1 when an address is
 *         not a textual IPv4 or IPv6 address or a port is out of range
 */
int xf_proxyline_format(char *buf, const char *client_ip, int client_port,
                        const char *local_ip, int local_port);

#endif /* XF_PROXYLINE_H */
