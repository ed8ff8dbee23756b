/* SPDX-License-Identifier: MIT */
/*
 * meta_stress_test.c - core/meta under failure and concurrency: a log write that fails makes
 * the filesystem read-only with one line and keeps what was durable; a failed flush is
 * reported; threads creating, renaming, unlinking, reading directories, allocating and
 * checkpointing at the same time leave a consistent state that replays to the same dump.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/meta.h"
#include "core/ns_fault.h"
#include "tests/meta/meta_test_util.h"
#include "tests/meta/mt_fs.h"

#define ROOT META_ROOT_INO

static struct mt_image img;
static struct meta_fs *fs;

static void setup(void)
{
	fs = mt_mkfs_mount(&img, 64ull << 20);
}

static void teardown(void)
{
	if (fs) {
		ck_assert_int_eq(meta_check(fs), 0);
		meta_unmount(fs);
	}
	fs = NULL;
	mt_remove(&img);
}

START_TEST(failed_log_write_makes_the_fs_read_only_and_keeps_durable_state)
{
	struct ns_fault fault = {.kind = NS_FAULT_IO_ERROR, .ops = NS_FAULT_OP(NS_OP_WRITE)};
	const struct sb *sb = meta_get_sb(fs);
	uint64_t kept, lost;
	char *durable, *after;

	kept = mt_create(fs, ROOT, "kept");
	ck_assert_int_eq(meta_fsync(fs, kept, false), 0);
	durable = mt_dump(fs);
	fault.lba_first = sb->log_start * (sb->block_size / 4096);
	fault.lba_last = (sb->log_start + sb->log_blocks) * (sb->block_size / 4096) - 1;
	ck_assert_int_ge(ns_fault_add(meta_get_ns(fs), &fault), 0);
	lost = mt_create(fs, ROOT, "lost");
	test_log_capture();
	ck_assert_int_eq(meta_fsync(fs, lost, false), -EIO);
	/* The namespace names the failed command, the journal what it was writing. */
	ck_assert_uint_ge(test_log_errors(), 1);
	ck_assert(strstr(test_log_last_error(), "log write") != NULL);
	ck_assert(meta_is_read_only(fs));
	ck_assert_int_eq(meta_create(fs, ROOT, "x", 0644, NULL, NULL), -EROFS);
	ck_assert_int_eq(meta_setxattr(fs, kept, "user.a", "1", 1, 0), -EROFS);
	/* Reading still works. */
	ck_assert_uint_eq(mt_lookup(fs, ROOT, "kept"), kept);
	ns_fault_clear(meta_get_ns(fs));
	ck_assert_int_ne(meta_unmount(fs), 0); /* the final commit can not succeed either */
	fs = mt_mount(&img);
	after = mt_dump(fs);
	mt_assert_same_dump(durable, after);
	ck_assert_uint_eq(mt_lookup(fs, ROOT, "lost"), 0);
	free(durable);
	free(after);
}
END_TEST

START_TEST(failed_flush_is_reported_by_fsync)
{
	struct ns_fault fault = {.kind = NS_FAULT_IO_ERROR, .ops = NS_FAULT_OP(NS_OP_FLUSH)};
	uint64_t f = mt_create(fs, ROOT, "f");

	ck_assert_int_eq(meta_fsync(fs, f, true), 0);
	ck_assert_int_ge(ns_fault_add(meta_get_ns(fs), &fault), 0);
	ck_assert_int_eq(meta_fsync(fs, f, true), -EIO);
	ns_fault_clear(meta_get_ns(fs));
	ck_assert_int_eq(meta_fsync(fs, f, true), 0);
	ck_assert(!meta_is_read_only(fs));
}
END_TEST

/* ------------------------------------------------------------------ concurrency */

struct worker {
	pthread_t thread;
	int id;
	uint64_t seed;
	uint64_t dir;
	int errors;
};

static int count_entry(void *arg, const struct meta_dirent_info *de)
{
	(*(uint64_t *)arg)++;
	return 0;
}

static void worker_step(struct worker *w, struct test_rng *rng)
{
	char a[32], b[32];
	struct meta_attr at;
	struct meta_inode *ip;
	struct meta_map m;
	uint64_t n = 0;
	int ret = 0;

	snprintf(a, sizeof(a), "w%d-%u", w->id, (unsigned)rng_below(rng, 64));
	snprintf(b, sizeof(b), "w%d-%u", w->id, (unsigned)rng_below(rng, 64));
	switch (rng_below(rng, 8)) {
	case 0:
	case 1:
		if (!meta_create(fs, w->dir, a, 0644, NULL, &at))
			meta_forget(fs, at.ino, 1);
		break;
	case 2:
		meta_unlink(fs, w->dir, a);
		break;
	case 3:
		ret = meta_rename(fs, w->dir, a, ROOT, b, 0);
		if (!ret)
			ret = meta_rename(fs, ROOT, b, w->dir, b, 0);
		break;
	case 4:
		ret = meta_readdir(fs, w->dir, 0, count_entry, &n);
		break;
	case 5:
		if (meta_lookup(fs, w->dir, a, &at))
			break;
		if (!meta_inode_get(fs, at.ino, &ip)) {
			meta_inode_lock(ip);
			if (!meta_map_begin(ip, 0, 8192, META_MAP_WRITE, &m)) {
				meta_size_extend(ip, 8192);
				if (!meta_alloc_delalloc(ip, 0, 8192, &m))
					meta_convert_unwritten(ip, m.offset, m.length, 8192);
			}
			meta_inode_unlock(ip);
			meta_inode_put(ip);
		}
		meta_forget(fs, at.ino, 1);
		break;
	case 6:
		meta_setxattr(fs, w->dir, a, b, strlen(b), 0);
		break;
	case 7:
		if (rng_below(rng, 20) == 0)
			ret = meta_checkpoint(fs);
		else
			ret = meta_syncfs(fs);
		break;
	}
	if (ret && ret != -ENOENT && ret != -EEXIST)
		w->errors++;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct test_rng rng = {w->seed};

	for (int i = 0; i < 1500; i++)
		worker_step(w, &rng);
	return NULL;
}

START_TEST(concurrent_operations_leave_a_consistent_replayable_state)
{
	uint64_t seed = test_seed("concurrent_operations");
	struct worker w[4];
	char name[16];

	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		w[i] = (struct worker){.id = i,
				       .seed = seed + (uint64_t)i * 7919,
				       .dir = mt_mkdir(fs, ROOT, name)};
	}
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&w[i].thread, NULL, worker_run, &w[i]), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(w[i].thread, NULL);
		ck_assert_int_eq(w[i].errors, 0);
	}
	ck_assert_int_eq(meta_check(fs), 0);
	fs = mt_remount_same(fs, &img);
}
END_TEST

static Suite *meta_stress_suite(void)
{
	Suite *s = suite_create("meta_stress");
	TCase *tc = tcase_create("stress");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, failed_log_write_makes_the_fs_read_only_and_keeps_durable_state);
	tcase_add_test(tc, failed_flush_is_reported_by_fsync);
	tcase_add_test(tc, concurrent_operations_leave_a_consistent_replayable_state);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(meta_stress_suite());
}
