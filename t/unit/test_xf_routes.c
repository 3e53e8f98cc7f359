/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * test_xf_routes.c - (method, path) -> permission as xapi derives it:
 * every row of xapi's table that matters for forwarded daemons and
 * services, longest-prefix cases, and the table's own consistency.
 */
#include "xf_test.h"

#include <string.h>

#include "xf_routes.h"

typedef struct {
    const char *method, *path, *permission; /* permission NULL: no row */
} case_t;

static void check(const case_t *c, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        const char *got = xf_routes_permission(c[i].method, c[i].path);

        if (!c[i].permission) {
            if (got)
                fail_msg("%s %s: expected no row, got %s", c[i].method,
                         c[i].path, got);
        }
        else if (!got || strcmp(got, c[i].permission))
            fail_msg("%s %s: expected %s, got %s", c[i].method, c[i].path,
                     c[i].permission, got ? got : "(none)");
    }
}

/* the rows forwarded daemons and services are reached by */
static void test_daemon_rows(void **state)
{
    static const case_t c[] = {
        {"GET", "/rrd_updates", "http/rrd_updates"},
        {"GET", "/vm_rrd", "http/vm_rrd"},
        {"GET", "/vm_rrds", "http/get_vm_rrds"},
        {"GET", "/host_rrd", "http/host_rrd"},
        {"GET", "/host_rrds", "http/get_host_rrds"},
        {"GET", "/sr_rrd", "http/sr_rrd"},
        {"PUT", "/rrd", "http/rrd"},
        {"GET", "/services", "http/get_services"},
        {"POST", "/services", "http/post_services"},
        {"PUT", "/services", "http/put_services"},
        {"GET", "/services/xenops", "http/get_services_xenops"},
        {"POST", "/services/xenops", "http/post_services_xenops"},
        {"PUT", "/services/xenops", "http/put_services_xenops"},
        {"GET", "/services/SM", "http/get_services_sm"},
        {"POST", "/services/SM", "http/post_services_sm"},
        {"PUT", "/services/SM", "http/put_services_sm"},
    };

    (void)state;
    check(c, sizeof(c) / sizeof(c[0]));
}

/* longest prefix, byte by byte (Radix_tree.longest_prefix) */
static void test_longest_prefix(void **state)
{
    static const case_t c[] = {
        {"GET", "/services/plugin/x", "http/get_services"},
        {"POST", "/services/plugin/x", "http/post_services"},
        {"PUT", "/services/plugin/x/y", "http/put_services"},
        {"PUT", "/services/xenops/migrate/vm/1", "http/put_services_xenops"},
        {"GET", "/services/xenops/memory/1", "http/get_services_xenops"},
        {"POST", "/services/SM/data/1", "http/post_services_sm"},
        /* case matters: "/services/sm" is only under /services */
        {"GET", "/services/sm", "http/get_services"},
        /* not segment-wise: "/servicesX" is under "/services" */
        {"GET", "/servicesX", "http/get_services"},
        {"PUT", "/rrdx", "http/rrd"},
        {"PUT", "/rrd/host", "http/rrd"},
        /* a PUT to /rrd_updates is a PUT /rrd for xapi */
        {"PUT", "/rrd_updates", "http/rrd"},
        {"GET", "/rrd_updates/x", "http/rrd_updates"},
        {"GET", "/vm_rrdsx", "http/get_vm_rrds"},
        {"GET", "/vm_rrdx", "http/vm_rrd"},
        {"GET", "/host_rrds/1", "http/get_host_rrds"},
        {"GET", "/sr_rrd/1", "http/sr_rrd"},
        /* GET has a "/" row (get_root): every GET path has an action */
        {"GET", "/rrd", "http/get_root"},
        {"GET", "/nothing", "http/get_root"},
        {"GET", "/", "http/get_root"},
        {"GET", "/update", "http/get_root"},
        {"GET", "/update/x.iso", "http/get_pool_update_download"},
        {"GET", "/repository/enabled/x", "http/get_enabled_repository"},
        {"GET", "/repository/x", "http/get_repository"},
        {"POST", "/jsonrpc", "http/post_jsonrpc"},
        {"POST", "/json", "http/post_json"},
        {"POST", "/RPC2", "http/post_RPC2"},
        {"POST", "/x", "http/post_root"},
        {"OPTIONS", "/jsonrpc", "http/post_jsonrpc_options"},
        {"CONNECT", "/console?x", "http/connect_console"},
        {"GET", "/console", "http/connect_console_ws"},
        {"GET", "/pool/xmldbdump", "http/get_pool_xml_db_sync"},
        {"GET", "/export_raw_vdi", "http/get_export_raw_vdi"},
        {"GET", "/export_metadata", "http/get_export_metadata"},
        {"GET", "/exportx", "http/get_export"},
        {"PUT", "/import_raw_vdi", "http/put_import_raw_vdi"},
        {"POST", "/remote_db_access_v2", "http/post_remote_db_access_v2"},
    };

    (void)state;
    check(c, sizeof(c) / sizeof(c[0]));
}

/* methods and paths without an action: xapi has no handler for them */
static void test_no_row(void **state)
{
    static const case_t c[] = {
        {"HEAD", "/rrd_updates", NULL}, {"DELETE", "/services/plugin/x", NULL},
        {"get", "/rrd_updates", NULL},  {"PUT", "/", NULL},
        {"DELETE", "/", NULL},          {"CONNECT", "/x", NULL},
        {"OPTIONS", "x", NULL},         {"GET", "", NULL},
        {"GET", "rrd_updates", NULL},
    };

    (void)state;
    check(c, sizeof(c) / sizeof(c[0]));
    assert_null(xf_routes_permission(NULL, "/rrd"));
    assert_null(xf_routes_permission("GET", NULL));
    assert_null(xf_routes_lookup("PUT", "/x"));
}

/* every row is found by its own prefix, names an http/ permission, and is
 * the only row for its method and prefix */
static void test_table(void **state)
{
    apr_size_t n, i, j;
    const xf_route_t *t = xf_routes_table(&n);

    (void)state;
    assert_true(n >= 57);
    for (i = 0; i < n; i++) {
        assert_ptr_equal(xf_routes_lookup(t[i].method, t[i].prefix), &t[i]);
        assert_int_equal(strncmp(t[i].permission, "http/", 5), 0);
        assert_int_equal(t[i].prefix[0], '/');
        for (j = i + 1; j < n; j++)
            assert_false(!strcmp(t[i].method, t[j].method) &&
                         !strcmp(t[i].prefix, t[j].prefix));
    }
    /* the actions xapi runs without RBAC */
    assert_true(xf_routes_lookup("GET", "/")->public);
    assert_true(xf_routes_lookup("POST", "/jsonrpc")->public);
    assert_false(xf_routes_lookup("GET", "/rrd_updates")->public);
    assert_string_equal(XF_ROUTES_XAPI_VERSION, "v26.17.0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_daemon_rows),
        cmocka_unit_test(test_longest_prefix),
        cmocka_unit_test(test_no_row),
        cmocka_unit_test(test_table),
    };

    if (xf_test_init() != 0)
        return 1;
    return cmocka_run_group_tests_name("xf_routes", tests, NULL, NULL);
}
