/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * fuzz_xapi.c - the interpretation of XAPI's JSON-RPC answers (xf_xapi.c,
 * through xf_xapi_reply_parse(): no network) and the HOST_IS_SLAVE master
 * endpoint on arbitrary bytes.
 *
 * Input: byte 0 = bit 0 HTTP status 500 instead of 200, bit 1 also use the
 * body as a master address; the rest is the answer's body.
 *
 * Invariants: the outcome is one of the known codes; OK only with HTTP 200
 * and no error text, anything else with one; error names are printable
 * and short; result strings and list items hold no NUL; a reported master
 * becomes an https:// URL with nothing but a host (and port) in it.
 */
#include "fuzz.h"

#include <ctype.h>
#include <string.h>

#include <apr_strings.h>

#include "xf_xapi.h"

/* What an https URL built from a master may hold after the scheme. */
static void check_master_url(const char *url)
{
    const char *h;

    FUZZ_CHECK(strncmp(url, "https://", 8) == 0);
    for (h = url + 8; *h; h++)
        FUZZ_CHECK(isalnum((unsigned char)*h) || strchr(".-:_[]", *h));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const xf_xapi_endpoint_t ep = {"unix:/x", NULL, 1, 1000};
    xf_xapi_endpoint_t *m;
    xf_xapi_reply_t rep;
    apr_pool_t *p;
    char *body;
    size_t i, n;
    int status;

    if (size < 1)
        return 0;
    p = fuzz_pool();
    n = size - 1;
    body = malloc(n ? n : 1); /* exact size, not NUL-terminated */
    memcpy(body, data + 1, n);
    status = (data[0] & 1) ? 500 : 200;

    xf_xapi_reply_parse(&rep, body, n, status, p);
    FUZZ_CHECK(rep.code >= XF_XAPI_OK && rep.code <= XF_XAPI_GARBAGE);
    FUZZ_CHECK(rep.http_status == status);
    if (rep.code == XF_XAPI_OK) {
        FUZZ_CHECK(status == 200 && rep.error == NULL);
        FUZZ_CHECK(rep.boolean == 0 || rep.boolean == 1);
        for (i = 0; rep.list && rep.list[i]; i++)
            (void)strlen(rep.list[i]);
    }
    else {
        FUZZ_CHECK(rep.error != NULL && *rep.error);
        FUZZ_CHECK(strlen(rep.error) <= 128);
        for (i = 0; rep.error[i]; i++)
            FUZZ_CHECK(isprint((unsigned char)rep.error[i]));
        FUZZ_CHECK(rep.list == NULL);
    }
    if (rep.code == XF_XAPI_HOST_IS_SLAVE) {
        FUZZ_CHECK(rep.master != NULL);
        m = xf_xapi_master_endpoint(&ep, rep.master, p);
        FUZZ_CHECK(m != NULL);
        check_master_url(m->url);
        FUZZ_CHECK(m->timeout_ms == ep.timeout_ms && m->verify == ep.verify);
    }
    else {
        FUZZ_CHECK(rep.master == NULL);
    }

    if (data[0] & 2) {
        char *s = apr_pstrmemdup(p, body, n);

        if ((m = xf_xapi_master_endpoint(&ep, s, p)))
            check_master_url(m->url);
    }
    free(body);
    apr_pool_destroy(p);
    return 0;
}
