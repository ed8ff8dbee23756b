/* SPDX-License-Identifier: MIT */
/*
 * pi_test_util.h - what the pi/ test suites share: a seeded generator whose seed is printed
 * and can be forced with PI_TEST_SEED=<n>, and a buffer filler.
 */
#ifndef GUARDFS_TESTS_PI_UTIL_H
#define GUARDFS_TESTS_PI_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* splitmix64 state; tests may save and restore it to replay a sequence */
extern uint64_t pi_test_rng_state;

uint64_t pi_test_rand(void);
/* Seed from PI_TEST_SEED, or from the clock; printed either way so a failure re-runs. */
uint64_t pi_test_seed(const char *suite);
void pi_test_fill(void *buf, size_t len);

#endif /* GUARDFS_TESTS_PI_UTIL_H */
