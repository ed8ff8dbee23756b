/* SPDX-License-Identifier: MIT */
/*
 * pi_test_util.c - the seeded generator of the pi/ test suites (see pi_test_util.h). Check
 * forks each test from the seeded parent, so every test starts from the printed seed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tests/pi/pi_test_util.h"

uint64_t pi_test_rng_state;

uint64_t pi_test_rand(void)
{
	uint64_t z = (pi_test_rng_state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

uint64_t pi_test_seed(const char *suite)
{
	const char *env = getenv("PI_TEST_SEED");
	uint64_t seed;

	if (env) {
		seed = strtoull(env, NULL, 0);
	} else {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec;
	}
	printf("%s: seed %llu (re-run with PI_TEST_SEED=%llu)\n", suite, (unsigned long long)seed,
	       (unsigned long long)seed);
	fflush(stdout);
	pi_test_rng_state = seed;
	return seed;
}

void pi_test_fill(void *buf, size_t len)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)pi_test_rand();
}
