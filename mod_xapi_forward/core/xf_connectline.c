/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_connectline.c - recognise xapi's origin-form CONNECT request lines
 * and read the few facts of xapi's answer head a console relay needs.
 */
#include "xf_connectline.h"

#include <string.h>
#include <strings.h>

#include <apr_lib.h>

#include "xf_routes.h"

/* the longest path looked up; xapi's CONNECT prefixes are far shorter, so
 * a longer path is looked up by its first bytes with the same result */
#define PATH_MAX_LOOKUP 255

int xf_connectline_match(const char *line, apr_size_t len)
{
    static const char method[] = "CONNECT ";
    char path[PATH_MAX_LOOKUP + 1];
    const char *t, *end, *sp;
    apr_size_t plen;

    if (!line || len < sizeof(method) - 1 ||
        memcmp(line, method, sizeof(method) - 1))
        return 0;
    /* the line without its CRLF or LF */
    end = line + len;
    if (end == line || end[-1] != '\n')
        return 0;
    end--;
    if (end > line && end[-1] == '\r')
        end--;
    t = line + sizeof(method) - 1;
    if (t >= end || *t != '/')
        return 0;
    sp = memchr(t, ' ', (apr_size_t)(end - t));
    if (!sp || end - sp != 9 ||
        (memcmp(sp, " HTTP/1.0", 9) && memcmp(sp, " HTTP/1.1", 9)))
        return 0;
    for (plen = 0; t + plen < sp && t[plen] != '?'; plen++) {
        unsigned char ch = (unsigned char)t[plen];
        if (ch <= ' ' || ch == 0x7f)
            return 0;
    }
    if (plen > PATH_MAX_LOOKUP)
        plen = PATH_MAX_LOOKUP;
    memcpy(path, t, plen);
    path[plen] = '\0';
    return xf_routes_lookup("CONNECT", path) != NULL;
}

int xf_connectline_status(const char *line, apr_size_t len)
{
    int status;

    /* "HTTP/1.x NNN", then the end or a space */
    if (!line || len < 12 || memcmp(line, "HTTP/1.", 7) ||
        !apr_isdigit(line[7]) || line[8] != ' ' || !apr_isdigit(line[9]) ||
        !apr_isdigit(line[10]) || !apr_isdigit(line[11]))
        return -1;
    if (len > 12 && line[12] != ' ' && line[12] != '\r' && line[12] != '\n')
        return -1;
    status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    return status >= 100 && status <= 599 ? status : -1;
}

/* does the header line at h (n bytes) have the name name? */
static int header_is(const char *h, apr_size_t n, const char *name)
{
    apr_size_t k = strlen(name);

    return n > k && h[k] == ':' && !strncasecmp(h, name, k);
}

apr_off_t xf_connectline_content_length(const char *head, apr_size_t len)
{
    const char *p = head, *end = head + len;
    apr_off_t found = -1;

    if (!head)
        return -1;
    while (p < end) {
        const char *nl = memchr(p, '\n', (apr_size_t)(end - p));
        apr_size_t n = nl ? (apr_size_t)(nl - p) : (apr_size_t)(end - p);

        if (header_is(p, n, "Transfer-Encoding"))
            return -2;
        if (header_is(p, n, "Content-Length")) {
            const char *v = p + sizeof("Content-Length:") - 1, *e = p + n;
            apr_off_t cl = 0;
            int digits = 0;

            if (found >= 0)
                return -2;
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
                e--;
            for (; v < e; v++, digits++) {
                if (!apr_isdigit(*v) || cl > (APR_INT64_MAX - 9) / 10)
                    return -2;
                cl = cl * 10 + (*v - '0');
            }
            if (!digits)
                return -2;
            found = cl;
        }
        p = nl ? nl + 1 : end;
    }
    return found;
}
