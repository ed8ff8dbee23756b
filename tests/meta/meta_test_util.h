/* SPDX-License-Identifier: MIT */
/*
 * meta_test_util.h - helpers shared by the tests of the in-memory metadata structures: a
 * seeded PRNG whose seed is printed and can be forced with GFS_TEST_SEED, and a malloc
 * failure injector (the test binaries link with -Wl,--wrap=malloc,--wrap=realloc) so that
 * every -ENOMEM path can be driven, SQLite-style.
 */
#ifndef GUARDFS_META_TEST_UTIL_H
#define GUARDFS_META_TEST_UTIL_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* The seed for one test: $GFS_TEST_SEED, or the clock; printed so a failure can be re-run. */
static inline uint64_t test_seed(const char *test_name)
{
	const char *env = getenv("GFS_TEST_SEED");
	struct timespec ts;
	uint64_t seed;

	if (env && *env) {
		seed = strtoull(env, NULL, 0);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec;
	}
	printf("%s: seed=%" PRIu64 " (re-run with GFS_TEST_SEED=%" PRIu64 ")\n", test_name, seed,
	       seed);
	fflush(stdout);
	return seed ? seed : 1;
}

/* xorshift64* */
struct test_rng {
	uint64_t state;
};

static inline uint64_t rng_next(struct test_rng *r)
{
	r->state ^= r->state >> 12;
	r->state ^= r->state << 25;
	r->state ^= r->state >> 27;
	return r->state * UINT64_C(2685821657736338717);
}

/* Uniform in [0, n), n > 0. */
static inline uint64_t rng_below(struct test_rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

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

/*
 * Malloc failure injection, defined in meta_test_util.c: while armed, the call that brings
 * the countdown to zero fails, and so does every later one until disarmed.
 */
void test_malloc_fail_after(long nr_calls_ok);
void test_malloc_disarm(void);
long test_malloc_failures(void);

#endif /* GUARDFS_META_TEST_UTIL_H */
