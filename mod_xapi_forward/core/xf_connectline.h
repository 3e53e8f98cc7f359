/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_connectline.h - the wire facts of consoles over CONNECT: which
 * request lines are xapi's origin-form CONNECT requests (CONNECT /console,
 * CONNECT /remotecmd: ocaml/idl/datamodel.ml), and the parts of xapi's
 * answer head the relay needs (status, Content-Length). Pure core: no
 * httpd headers.
 */
#ifndef XF_CONNECTLINE_H
#define XF_CONNECTLINE_H

#include <apr.h>

/** Length of "CONNECT", the method a matching line starts with. */
#define XF_CONNECTLINE_METHOD_LEN 7

/**
 * Is line one of xapi's CONNECT request lines: "CONNECT " + an
 * origin-form target whose path (up to '?') has a CONNECT row in xapi's
 * route table (xf_routes_lookup) + " HTTP/1.0" or " HTTP/1.1" + CRLF or
 * LF, single spaces? Anything else (host:port, other paths, HTTP/0.9,
 * extra whitespace) is not.
 * @param line  the bytes of one line, its LF included
 * @param len   their number
 * @return 1 when it is, 0 otherwise
 */
int xf_connectline_match(const char *line, apr_size_t len);

/**
 * The status code of a response status line "HTTP/1.x NNN[ reason]".
 * @param line  the line, with or without its CRLF
 * @param len   its length
 * @return 100..599, or -1 when the line is not a status line
 */
int xf_connectline_status(const char *line, apr_size_t len);

/**
 * The Content-Length of a response head (status line, header lines, the
 * empty line), as a relay that copies only the body needs it.
 * @param head  the head's bytes
 * @param len   their number
 * @return the length, -1 when the head has no Content-Length, -2 when it
 *         has an invalid or repeated one, or Transfer-Encoding
 */
apr_off_t xf_connectline_content_length(const char *head, apr_size_t len);

#endif /* XF_CONNECTLINE_H */
