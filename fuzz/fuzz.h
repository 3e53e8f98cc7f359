/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * fuzz.h - what every fuzz target shares: the libFuzzer entry point, a
 * check that aborts on a broken invariant (libFuzzer and the replay driver
 * both report an abort as a crash), and one APR pool per process.
 */
#ifndef XF_FUZZ_H
#define XF_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <apr_general.h>
#include <apr_pools.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test: report and abort when it fails. */
#define FUZZ_CHECK(cond)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,         \
                    __LINE__, #cond);                                          \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* A fresh pool for one input; APR is initialized on first use. */
static inline apr_pool_t *fuzz_pool(void)
{
    static apr_pool_t *root;
    apr_pool_t *p = NULL;

    if (!root) {
        apr_initialize();
        apr_pool_create(&root, NULL);
    }
    apr_pool_create(&p, root);
    return p;
}

#endif /* XF_FUZZ_H */
