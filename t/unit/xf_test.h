/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * xf_test.h - shared scaffolding for the cmocka unit tests: the includes
 * cmocka needs, and an APR pool fixture (setup puts a fresh pool in
 * *state, teardown destroys it).
 */
#ifndef XF_TEST_H
#define XF_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <apr_general.h>
#include <apr_pools.h>

static inline int xf_test_pool_setup(void **state)
{
    apr_pool_t *p = NULL;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return -1;
    }
    *state = p;
    return 0;
}

static inline int xf_test_pool_teardown(void **state)
{
    apr_pool_destroy((apr_pool_t *)*state);
    return 0;
}

/** A test that gets its own pool in *state. */
#define XF_TEST(f)                                                             \
    cmocka_unit_test_setup_teardown(f, xf_test_pool_setup,                     \
                                    xf_test_pool_teardown)

/** Call first in main(): starts APR and stops it at exit. */
static inline int xf_test_init(void)
{
    if (apr_initialize() != APR_SUCCESS) {
        return -1;
    }
    return atexit(apr_terminate) == 0 ? 0 : -1;
}

#endif /* XF_TEST_H */
