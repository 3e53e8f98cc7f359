/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * test_xf_proxyline.c - the PROXY v1 line as stunnel writes it for xapi:
 * IPv4 clients v4-mapped, IPv6 as is, always TCP6; bad input refused.
 */
#include "xf_test.h"

#include <string.h>

#include "xf_proxyline.h"

static void test_ipv4_mapped(void **state)
{
    char buf[XF_PROXYLINE_MAX];
    int n;

    (void)state;
    n = xf_proxyline_format(buf, "192.0.2.10", 53772, "192.0.2.1", 443);
    assert_string_equal(buf, "PROXY TCP6 ::ffff:192.0.2.10 ::ffff:192.0.2.1 "
                             "53772 443\r\n");
    assert_int_equal(n, (int)strlen(buf));
    xf_proxyline_format(buf, "127.0.0.2", 1, "127.0.0.1", 8443);
    assert_string_equal(buf, "PROXY TCP6 ::ffff:127.0.0.2 ::ffff:127.0.0.1 1 "
                             "8443\r\n");
}

static void test_ipv6(void **state)
{
    char buf[XF_PROXYLINE_MAX];

    (void)state;
    xf_proxyline_format(buf, "2001:db8::1", 40000, "::1", 443);
    assert_string_equal(buf, "PROXY TCP6 2001:db8::1 ::1 40000 443\r\n");
    /* one client, one string: IPv6 is written canonically, and an
     * already v4-mapped address stays v4-mapped */
    xf_proxyline_format(buf, "2001:DB8:0:0:0:0:0:1", 1, "::ffff:10.0.0.1", 443);
    assert_string_equal(buf,
                        "PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 1 443\r\n");
}

static void test_longest(void **state)
{
    char buf[XF_PROXYLINE_MAX];
    const char *a = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
    int n;

    (void)state;
    n = xf_proxyline_format(buf, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                            65535, a, 65535);
    assert_true(n > 0 && n < XF_PROXYLINE_MAX);
    assert_int_equal(n, (int)strlen(buf));
}

static void test_refused(void **state)
{
    char buf[XF_PROXYLINE_MAX];

    (void)state;
    assert_int_equal(xf_proxyline_format(buf, NULL, 1, "::1", 1), -1);
    assert_int_equal(xf_proxyline_format(buf, "::1", 1, "host", 1), -1);
    assert_int_equal(xf_proxyline_format(buf, "1.2.3", 1, "::1", 1), -1);
    assert_int_equal(xf_proxyline_format(buf, "::1", -1, "::1", 1), -1);
    assert_int_equal(xf_proxyline_format(buf, "::1", 1, "::1", 65536), -1);
    assert_int_equal(xf_proxyline_format(buf, "::1 x", 1, "::1", 1), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_mapped),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_longest),
        cmocka_unit_test(test_refused),
    };

    if (xf_test_init() != 0)
        return 1;
    return cmocka_run_group_tests_name("xf_proxyline", tests, NULL, NULL);
}
