/* SPDX-License-Identifier: MIT */
/*
 * meta_bigdir_test.c - one directory with 1,000,000 entries: create, look every one up, walk it
 * with readdir, checkpoint it, mount it again and remove everything. Times are printed for
 * information (ctest label "large"); nothing asserts on time.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/meta.h"
#include "tests/meta/meta_test_util.h"
#include "tests/meta/mt_fs.h"

#define N 1000000

static int count_entry(void *arg, const struct meta_dirent_info *de)
{
	(*(uint64_t *)arg)++;
	return 0;
}

START_TEST(directory_with_1000000_entries)
{
	struct pi_format fmt = test_format_default();
	struct meta_mkfs_params p = {0};
	struct mt_image img;
	struct meta_fs *fs;
	uint64_t d, count = 0;
	char name[32];
	double t0;

	p.sb.log_blocks = 65536; /* 256 MiB of log: no checkpoint while creating */
	mt_mkfs(&img, &fmt, 8ull << 30, &p);
	fs = mt_mount(&img);
	d = mt_mkdir(fs, META_ROOT_INO, "big");
	t0 = test_now();
	for (int i = 0; i < N; i++) {
		struct meta_attr a;

		snprintf(name, sizeof(name), "entry-%07d", i);
		fast_eq(meta_create(fs, d, name, 0644, NULL, &a), 0);
		meta_forget(fs, a.ino, 1);
	}
	printf("1000000 creates: %.2f s\n", test_now() - t0);
	t0 = test_now();
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "entry-%07d", i);
		fast_true(mt_lookup(fs, d, name) != 0);
	}
	printf("1000000 lookups: %.2f s\n", test_now() - t0);
	t0 = test_now();
	ck_assert_int_eq(meta_readdir(fs, d, 0, count_entry, &count), 0);
	ck_assert_uint_eq(count, N + 2);
	printf("readdir of 1000002 entries: %.2f s\n", test_now() - t0);
	t0 = test_now();
	ck_assert_int_eq(meta_unmount(fs), 0);
	printf("unmount (checkpoint): %.2f s\n", test_now() - t0);
	t0 = test_now();
	fs = mt_mount(&img);
	printf("mount: %.2f s\n", test_now() - t0);
	ck_assert_int_eq(meta_check(fs), 0);
	t0 = test_now();
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "entry-%07d", i);
		fast_eq(meta_unlink(fs, d, name), 0);
	}
	printf("1000000 unlinks: %.2f s\n", test_now() - t0);
	ck_assert_int_eq(meta_rmdir(fs, META_ROOT_INO, "big"), 0);
	ck_assert_int_eq(meta_unmount(fs), 0);
	mt_remove(&img);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("meta_bigdir");
	TCase *tc = tcase_create("bigdir");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, directory_with_1000000_entries);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
