/* SPDX-License-Identifier: MIT */
/*
 * test_util.c - seeds, the splitmix64 stream, patterns, scratch files and the suite runner
 * shared by the Check suites (see test_util.h).
 */
#include "tests/util/test_util.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

uint64_t test_seed_env(const char *var, const char *what)
{
	const char *env = getenv(var);
	struct timespec ts;
	uint64_t seed;

	if (env && *env) {
		seed = strtoull(env, NULL, 0);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec;
	}
	printf("%s: seed %" PRIu64 " (re-run with %s=%" PRIu64 ")\n", what, seed, var, seed);
	fflush(stdout);
	return seed;
}

uint64_t test_seed(const char *what)
{
	uint64_t seed = test_seed_env("GFS_TEST_SEED", what);

	return seed ? seed : 1;
}

uint64_t test_rand_state;

uint64_t test_rand_seed(const char *var, const char *what)
{
	test_rand_state = test_seed_env(var, what);
	return test_rand_state;
}

uint64_t test_rand(void)
{
	uint64_t z = (test_rand_state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

void test_rand_fill(void *buf, size_t len)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)test_rand();
}

static uint8_t pattern_byte(uint64_t off, uint32_t seed)
{
	uint64_t x = (off >> 3) * 0x9E3779B97F4A7C15ull + seed * 0xBF58476D1CE4E5B9ull;

	x ^= x >> 31;
	return (uint8_t)((x >> (8 * (off & 7))) | 1); /* never 0: zeros stand out */
}

void test_pattern(void *buf, size_t len, uint64_t off, uint32_t seed)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = seed ? pattern_byte(off + i, seed) : 0;
}

void test_check_pattern(const void *buf, size_t len, uint64_t off, uint32_t seed)
{
	const uint8_t *p = buf;

	/* ck_abort only on a mismatch: Check records every passing assertion (a pipe write). */
	for (size_t i = 0; i < len; i++) {
		uint8_t want = seed ? pattern_byte(off + i, seed) : 0;

		if (p[i] != want)
			ck_abort_msg("byte at offset %" PRIu64 ": 0x%02x, expected 0x%02x", off + i,
				     p[i], want);
	}
}

bool test_all_bytes(const void *buf, size_t len, uint8_t value)
{
	const uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		if (p[i] != value)
			return false;
	return true;
}

size_t test_lower_bound(const uint64_t *keys, size_t nr, uint64_t key)
{
	size_t lo = 0, hi = nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (keys[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void test_make_file(const char *dir_var, const char *name, uint64_t bytes, char *path, size_t size)
{
	const char *dir = getenv(dir_var) ? getenv(dir_var) : "/var/tmp";
	int fd;

	snprintf(path, size, "%s/%s-XXXXXX", dir, name);
	fd = mkstemp(path);
	ck_assert_msg(fd >= 0, "mkstemp %s", path);
	ck_assert_int_eq(ftruncate(fd, (off_t)bytes), 0);
	close(fd);
}

void test_file_read(const char *path, uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);

	ck_assert_msg(fd >= 0, "open %s", path);
	ck_assert_int_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

void test_file_write(const char *path, uint64_t off, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY);

	ck_assert_msg(fd >= 0, "open %s", path);
	ck_assert_int_eq(pwrite(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

void test_file_flip_byte(const char *path, uint64_t off, uint8_t mask)
{
	uint8_t byte;

	test_file_read(path, off, &byte, 1);
	byte ^= mask;
	test_file_write(path, off, &byte, 1);
}

int test_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
