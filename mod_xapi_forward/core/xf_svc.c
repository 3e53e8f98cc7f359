/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_svc.c - custom service names, and the map of services running on
 * other hosts (see xf_svc.h). No httpd headers: tested by cmocka.
 */
#include "xf_svc.h"

#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

const char *xf_svc_name_check(const char *name, apr_size_t len,
                              apr_size_t dirlen)
{
    apr_size_t i;

    if (len == 0)
        return "no service name";
    if ((len == 1 && name[0] == '.') ||
        (len == 2 && name[0] == '.' && name[1] == '.'))
        return "the name is . or ..";
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];

        if (!apr_isalnum(c) && c != '.' && c != '_' && c != '-')
            return "the name has a character outside [A-Za-z0-9._-]";
    }
    if (dirlen + 1 + len + 1 > XF_SVC_SUN_PATH)
        return "the name is too long for a socket path in the directory";
    return NULL;
}

apr_status_t xf_svc_name_from_path(const char **pname, const char **preason,
                                   const char *path, const char *prefix,
                                   apr_size_t dirlen, apr_pool_t *p)
{
    apr_size_t plen = strlen(prefix);
    const char *name, *end;

    while (plen > 0 && prefix[plen - 1] == '/')
        plen--;
    if (strncmp(path, prefix, plen) || path[plen] != '/') {
        *preason = "the path is not below the services location";
        return APR_EINVAL;
    }
    name = path + plen + 1;
    end = strchr(name, '/');
    if (!end)
        end = name + strlen(name);
    *preason = xf_svc_name_check(name, (apr_size_t)(end - name), dirlen);
    if (*preason)
        return APR_EINVAL;
    *pname = apr_pstrmemdup(p, name, (apr_size_t)(end - name));
    return APR_SUCCESS;
}

const char *xf_svc_url_check(const char *url)
{
    const char *host;

    if (!strncasecmp(url, "http://", 7))
        host = url + 7;
    else if (!strncasecmp(url, "https://", 8))
        host = url + 8;
    else
        return "the URL must start with http:// or https://";
    if (!*host || *host == '/' || *host == ':')
        return "the URL has no host name";
    if (strpbrk(url, "?# \t\"<>\\"))
        return "the URL has a query, a fragment or a character that "
               "does not belong in a Location header";
    return NULL;
}

apr_status_t xf_svc_parse_map(int *pline, const char **preason,
                              apr_table_t *map, const char *text, apr_pool_t *p)
{
    char *copy = apr_pstrdup(p, text), *line, *next;
    int n = 0;

    for (line = copy; line; line = next) {
        char *name, *url, *extra, *last;
        apr_size_t ul;

        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        n++;
        if (strchr(line, '#'))
            *strchr(line, '#') = '\0';
        name = apr_strtok(line, " \t\r", &last);
        if (!name)
            continue;
        url = apr_strtok(NULL, " \t\r", &last);
        extra = url ? apr_strtok(NULL, " \t\r", &last) : NULL;
        *pline = n;
        if (!url || extra) {
            *preason = "expected two fields: NAME URL";
            return APR_EINVAL;
        }
        if ((*preason = xf_svc_name_check(name, strlen(name), 0)) ||
            (*preason = xf_svc_url_check(url)))
            return APR_EINVAL;
        ul = strlen(url);
        while (ul > 0 && url[ul - 1] == '/')
            url[--ul] = '\0';
        apr_table_set(map, name, url);
    }
    return APR_SUCCESS;
}
