/* SPDX-License-Identifier: MIT */
/*
 * test_util.h - what every Check suite shares, with nothing of the code under test: seeds
 * (printed, and replayed through the suite's own environment variable), the generators the
 * suites draw from, patterned data, scratch files with raw byte access, and the runner every
 * main() ends with.
 *
 * Three generators, because a printed seed must replay the sequence it always did: xorshift64*
 * (struct test_rng: cache, meta, journal), one process-wide splitmix64 stream (test_rand: pi,
 * ns) and plain xorshift64 (test_xorshift64: dio). Check forks every test from the parent that
 * drew the seed, so each test starts from the printed state.
 */
#ifndef GUARDFS_TESTS_UTIL_H
#define GUARDFS_TESTS_UTIL_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The seed of what (a suite or a test): $var when set and not empty, else from the clock;
 * printed with the variable that replays it.
 */
uint64_t test_seed_env(const char *var, const char *what);
/* test_seed_env("GFS_TEST_SEED", what), never 0: a zero state would stall xorshift. */
uint64_t test_seed(const char *what);

/* xorshift64*; the state must not be 0. */
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

/* xorshift64 (13, 7, 17) on a bare state, which must not be 0. */
static inline uint64_t test_xorshift64(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* The process-wide splitmix64 stream; a test may save and restore the state to replay. */
extern uint64_t test_rand_state;
/* test_seed_env(var, what), which then seeds the stream. */
uint64_t test_rand_seed(const char *var, const char *what);
uint64_t test_rand(void);
/* One draw per byte. */
void test_rand_fill(void *buf, size_t len);

/* Deterministic bytes, a function of (seed, offset), never 0; seed 0 gives zeros. */
void test_pattern(void *buf, size_t len, uint64_t off, uint32_t seed);
/* Asserts buf holds test_pattern(off, seed) and names the first byte that differs. */
void test_check_pattern(const void *buf, size_t len, uint64_t off, uint32_t seed);
bool test_all_bytes(const void *buf, size_t len, uint8_t value);

/* Index of the first of the sorted keys[0, nr) that is not below key (nr when none is). */
size_t test_lower_bound(const uint64_t *keys, size_t nr, uint64_t key);

/*
 * A sparse file of bytes named "<name>-XXXXXX" in $dir_var (default /var/tmp: a real
 * filesystem, as the file backend opens images with O_DIRECT); path receives its name.
 */
void test_make_file(const char *dir_var, const char *name, uint64_t bytes, char *path, size_t size);
/* Raw access behind the back of whatever has the file open; each asserts the whole length. */
void test_file_read(const char *path, uint64_t off, void *buf, size_t len);
void test_file_write(const char *path, uint64_t off, const void *buf, size_t len);
void test_file_flip_byte(const char *path, uint64_t off, uint8_t mask);

/* Runs every test of s (forked, CK_NORMAL) and frees it: EXIT_SUCCESS when all passed. */
int test_run_suite(Suite *s);

#endif /* GUARDFS_TESTS_UTIL_H */
