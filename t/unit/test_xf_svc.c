/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * test_xf_svc.c - custom service names (the characters, . and .., the
 * sun_path limit), the name found under a location prefix, redirect URLs,
 * and the service map (good files, and the line number of a bad line).
 */
#include "xf_test.h"

#include <string.h>

#include <apr_strings.h>

#include "xf_svc.h"

static void test_name_check(void **state)
{
    char longname[200];

    (void)state;
    assert_null(xf_svc_name_check("hello", 5, 19));
    assert_null(xf_svc_name_check("a.b_c-D9", 8, 19));
    assert_null(xf_svc_name_check("...", 3, 19));
    assert_null(xf_svc_name_check(".x", 2, 19));
    assert_non_null(xf_svc_name_check("", 0, 19));
    assert_non_null(xf_svc_name_check(".", 1, 19));
    assert_non_null(xf_svc_name_check("..", 2, 19));
    assert_non_null(xf_svc_name_check("a/b", 3, 19));
    assert_non_null(xf_svc_name_check("a%2Fb", 5, 19));
    assert_non_null(xf_svc_name_check("a\0b", 3, 19));
    assert_non_null(xf_svc_name_check("a b", 3, 19));
    assert_non_null(xf_svc_name_check("\xc3\xa9", 2, 19));
    /* "<dir>/<name>" and its NUL in 108 bytes */
    memset(longname, 'x', sizeof(longname));
    assert_null(xf_svc_name_check(longname, 108 - 19 - 2, 19));
    assert_non_null(xf_svc_name_check(longname, 108 - 19 - 1, 19));
}

static void test_name_from_path(void **state)
{
    apr_pool_t *p = *state;
    const char *name = NULL, *why = NULL;
    static const char *const bad[] = {"/services/plugin/",
                                      "/services/plugin",
                                      "/services/plugin//x",
                                      "/services/plugin/../x",
                                      "/services/plugin/%2e%2e",
                                      "/services/plugin/a%2Fb",
                                      "/services/plugin/a%00",
                                      "/services/pluginx/a",
                                      "/other/a",
                                      NULL};
    int i;

    assert_int_equal(xf_svc_name_from_path(&name, &why, "/services/plugin/hi",
                                           "/services/plugin/", 19, p),
                     APR_SUCCESS);
    assert_string_equal(name, "hi");
    assert_int_equal(xf_svc_name_from_path(&name, &why,
                                           "/services/plugin/hi/a/b",
                                           "/services/plugin", 19, p),
                     APR_SUCCESS);
    assert_string_equal(name, "hi");
    for (i = 0; bad[i]; i++) {
        why = NULL;
        assert_int_equal(xf_svc_name_from_path(&name, &why, bad[i],
                                               "/services/plugin/", 19, p),
                         APR_EINVAL);
        assert_non_null(why);
    }
}

static void test_url_check(void **state)
{
    (void)state;
    assert_null(xf_svc_url_check("https://host2"));
    assert_null(xf_svc_url_check("http://192.0.2.2:8080/"));
    assert_non_null(xf_svc_url_check("ftp://host2"));
    assert_non_null(xf_svc_url_check("https://"));
    assert_non_null(xf_svc_url_check("https:///x"));
    assert_non_null(xf_svc_url_check("https://h/?a=b"));
    assert_non_null(xf_svc_url_check("https://h/#f"));
    assert_non_null(xf_svc_url_check("host2"));
}

static void test_map(void **state)
{
    apr_pool_t *p = *state;
    apr_table_t *m = apr_table_make(p, 4);
    const char *why = NULL;
    int line = 0;

    assert_int_equal(xf_svc_parse_map(&line, &why, m,
                                      "# services elsewhere\n"
                                      "\n"
                                      "a https://h1/\n"
                                      "  b\thttp://h2:81  # comment\r\n"
                                      "a https://h3",
                                      p),
                     APR_SUCCESS);
    assert_string_equal(apr_table_get(m, "a"), "https://h3");
    assert_string_equal(apr_table_get(m, "b"), "http://h2:81");
    assert_int_equal(xf_svc_parse_map(&line, &why, m, "", p), APR_SUCCESS);

    assert_int_equal(xf_svc_parse_map(&line, &why, m, "a https://h\nb\n", p),
                     APR_EINVAL);
    assert_int_equal(line, 2);
    assert_int_equal(
        xf_svc_parse_map(&line, &why, m, "\n\n../x https://h\n", p),
        APR_EINVAL);
    assert_int_equal(line, 3);
    assert_int_equal(xf_svc_parse_map(&line, &why, m, "x ftp://h\n", p),
                     APR_EINVAL);
    assert_int_equal(line, 1);
    assert_int_equal(xf_svc_parse_map(&line, &why, m, "x https://h y\n", p),
                     APR_EINVAL);
    assert_int_equal(line, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        XF_TEST(test_name_check),
        XF_TEST(test_name_from_path),
        XF_TEST(test_url_check),
        XF_TEST(test_map),
    };

    if (xf_test_init() != 0)
        return 1;
    return cmocka_run_group_tests_name("xf_svc", tests, NULL, NULL);
}
