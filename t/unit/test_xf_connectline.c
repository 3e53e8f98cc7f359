/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * test_xf_connectline.c - which request lines are xapi's origin-form
 * CONNECT requests, and the status and Content-Length of xapi's answer.
 */
#include "xf_test.h"

#include <string.h>

#include "xf_connectline.h"

#define MATCH(s) xf_connectline_match((s), strlen(s))

static void test_match(void **state)
{
    (void)state;
    assert_true(MATCH("CONNECT /console?ref=OpaqueRef:1&session_id=OpaqueRef:"
                      "2 HTTP/1.0\r\n"));
    assert_true(MATCH("CONNECT /console HTTP/1.1\r\n"));
    assert_true(MATCH("CONNECT /console HTTP/1.1\n"));
    assert_true(MATCH("CONNECT /remotecmd?session_id=x HTTP/1.0\r\n"));
    /* xapi's longest-prefix rule: /consolefoo is /console's action */
    assert_true(MATCH("CONNECT /consolefoo HTTP/1.0\r\n"));
}

static void test_no_match(void **state)
{
    (void)state;
    /* authority-form: httpd's own business (mod_proxy_connect or 400) */
    assert_false(MATCH("CONNECT 127.0.0.1:443 HTTP/1.1\r\n"));
    assert_false(MATCH("CONNECT host:80 HTTP/1.0\r\n"));
    /* no CONNECT row of xapi's */
    assert_false(MATCH("CONNECT /jsonrpc HTTP/1.0\r\n"));
    assert_false(MATCH("CONNECT / HTTP/1.0\r\n"));
    assert_false(MATCH("CONNECT /cons HTTP/1.0\r\n"));
    /* other methods, case */
    assert_false(MATCH("GET /console HTTP/1.1\r\n"));
    assert_false(MATCH("connect /console HTTP/1.1\r\n"));
    /* protocol and whitespace as httpd's strict parser wants them */
    assert_false(MATCH("CONNECT /console\r\n"));
    assert_false(MATCH("CONNECT /console HTTP/2.0\r\n"));
    assert_false(MATCH("CONNECT /console HTTP/1.1 \r\n"));
    assert_false(MATCH("CONNECT  /console HTTP/1.1\r\n"));
    assert_false(MATCH("CONNECT /console  HTTP/1.1\r\n"));
    assert_false(MATCH("CONNECT /con\tsole HTTP/1.1\r\n"));
    /* an incomplete line */
    assert_false(MATCH("CONNECT /console HTTP/1.1"));
    assert_false(MATCH("CONNECT "));
    assert_false(xf_connectline_match(NULL, 0));
}

#define STATUS(s) xf_connectline_status((s), strlen(s))

static void test_status(void **state)
{
    (void)state;
    assert_int_equal(STATUS("HTTP/1.1 200 OK\r\n"), 200);
    assert_int_equal(STATUS("HTTP/1.0 404 Not Found\r\n"), 404);
    assert_int_equal(STATUS("HTTP/1.1 403\r\n"), 403);
    assert_int_equal(STATUS("HTTP/1.1 403"), 403);
    assert_int_equal(STATUS("HTTP/2 200 OK\r\n"), -1);
    assert_int_equal(STATUS("HTTP/1.1 20 OK\r\n"), -1);
    assert_int_equal(STATUS("HTTP/1.1 2000 OK\r\n"), -1);
    assert_int_equal(STATUS("HTTP/1.1 099 x\r\n"), -1);
    assert_int_equal(STATUS("RFB 003.008\n"), -1);
    assert_int_equal(xf_connectline_status(NULL, 0), -1);
}

#define CL(s) xf_connectline_content_length((s), strlen(s))

static void test_content_length(void **state)
{
    (void)state;
    assert_int_equal(CL("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n"
                        "Cache-Control: no-cache, no-store\r\n\r\n"),
                     -1);
    assert_int_equal(CL("HTTP/1.1 404 Not Found\r\ncontent-length: 12\r\n\r\n"),
                     12);
    assert_int_equal(CL("HTTP/1.1 403 x\r\nContent-Length:0\r\n\r\n"), 0);
    assert_int_equal(CL("HTTP/1.1 403 x\r\nContent-Length: 1x\r\n\r\n"), -2);
    assert_int_equal(CL("HTTP/1.1 403 x\r\nContent-Length: \r\n\r\n"), -2);
    assert_int_equal(CL("HTTP/1.1 403 x\r\nContent-Length: 1\r\n"
                        "Content-Length: 1\r\n\r\n"),
                     -2);
    assert_int_equal(CL("HTTP/1.1 403 x\r\nTransfer-Encoding: chunked\r\n"
                        "\r\n"),
                     -2);
    assert_int_equal(CL("HTTP/1.1 403 x\r\nX-Content-Length: 5\r\n\r\n"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_no_match),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_content_length),
    };

    if (xf_test_init() != 0)
        return 1;
    return cmocka_run_group_tests_name("xf_connectline", tests, NULL, NULL);
}
