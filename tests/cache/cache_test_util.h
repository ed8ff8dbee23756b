/* SPDX-License-Identifier: MIT */
/*
 * cache_test_util.h - helpers for the folio and cache suites: a seeded PRNG (seed printed,
 * forced with GFS_TEST_SEED), an allocation failure injector (the binaries link with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=posix_memalign so every -ENOMEM path can be driven),
 * and expect_abort(), which runs a function in a child and asserts it dies of a GFS_BUG_ON.
 */
#ifndef GUARDFS_CACHE_TEST_UTIL_H
#define GUARDFS_CACHE_TEST_UTIL_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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

static inline uint64_t rng_below(struct test_rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

/*
 * While armed, the allocation that brings the countdown to zero fails, and every later one
 * until disarmed. Counts calls either way (test_alloc_calls) so "no allocation" is testable.
 */
void test_alloc_fail_after(long nr_calls_ok);
void test_alloc_disarm(void);
long test_alloc_calls(void);
void test_alloc_count_reset(void);

/* Runs fn(arg) in a child; asserts it died of SIGABRT with `message` on stderr. */
void expect_abort(void (*fn)(void *), void *arg, const char *message);

#endif /* GUARDFS_CACHE_TEST_UTIL_H */
