/* SPDX-License-Identifier: MIT */
/*
 * meta_test_util.h - what the metadata suites share on top of tests/util (seeds and xorshift,
 * GFS_TEST_SEED replays): a clock for the timings the large tests print, and assertions for
 * hot loops. The suites that drive -ENOMEM wrap malloc and realloc (tests/util/test_alloc.h).
 */
#ifndef GUARDFS_META_TEST_UTIL_H
#define GUARDFS_META_TEST_UTIL_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tests/util/test_util.h"

static inline double test_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Assertions for hot loops: Check's ck_assert_* records the location of every passing check
 * through its IPC channel (a write per assertion); these only call into Check on failure.
 */
#define fast_true(cond)                                                                            \
	do {                                                                                       \
		if (!(cond))                                                                       \
			ck_abort_msg("%s:%d: assertion '%s' failed", __FILE__, __LINE__, #cond);   \
	} while (0)
#define fast_eq(a, b)                                                                              \
	do {                                                                                       \
		uint64_t fast_a__ = (a), fast_b__ = (b);                                           \
		if (fast_a__ != fast_b__)                                                          \
			ck_abort_msg("%s:%d: %s == %s failed: %" PRIu64 " != %" PRIu64, __FILE__,  \
				     __LINE__, #a, #b, fast_a__, fast_b__);                        \
	} while (0)

#endif /* GUARDFS_META_TEST_UTIL_H */
