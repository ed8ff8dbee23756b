/* SPDX-License-Identifier: MIT */
/*
 * cache_test_util.h - helpers for the folio and cache suites on top of tests/util: the seeded
 * PRNG (test_seed, GFS_TEST_SEED replays), the allocation failure injector (the binaries wrap
 * malloc, calloc and posix_memalign), and expect_abort(), which runs a function in a child and
 * asserts it dies of a GFS_BUG_ON.
 */
#ifndef GUARDFS_CACHE_TEST_UTIL_H
#define GUARDFS_CACHE_TEST_UTIL_H

#include "tests/util/test_alloc.h"
#include "tests/util/test_util.h"

/* Runs fn(arg) in a child; asserts it died of SIGABRT with `message` on stderr. */
void expect_abort(void (*fn)(void *), void *arg, const char *message);

#endif /* GUARDFS_CACHE_TEST_UTIL_H */
