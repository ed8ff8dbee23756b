/* SPDX-License-Identifier: MIT */
/*
 * meta_enomem_test.c - SQLite-style allocation failure: every metadata operation is run with
 * the Nth malloc failing, for N = 0, 1, 2, ... until it succeeds. Each failure must return
 * -ENOMEM with nothing changed (one-record operations), or -EIO when the journal could not take
 * the record (the filesystem is then read-only, and a remount gives the durable state back);
 * the in-memory structures stay consistent throughout. The binary links the malloc wrapper of
 * meta_test_util.c.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/meta.h"
#include "tests/meta/meta_test_util.h"
#include "tests/util/test_alloc.h"
#include "tests/meta/mt_fs.h"

#define ROOT META_ROOT_INO
#define BS   4096ull

static struct mt_image img;
static struct meta_fs *fs;

static void setup(void)
{
	fs = mt_mkfs_mount(&img, 64ull << 20);
	mt_create(fs, ROOT, "a");
	mt_create(fs, ROOT, "b");
	mt_create(fs, ROOT, "c");
	mt_mkdir(fs, ROOT, "d");
	ck_assert_int_eq(meta_syncfs(fs), 0);
}

static void teardown(void)
{
	if (fs)
		ck_assert_int_eq(meta_unmount(fs), 0);
	fs = NULL;
	mt_remove(&img);
}

/* One operation, run until it succeeds. */
typedef int (*op_fn)(int step);

static int op_create(int step)
{
	struct meta_attr a;
	int ret = meta_create(fs, ROOT, "new", 0644, NULL, &a);

	if (!ret)
		meta_forget(fs, a.ino, 1);
	return ret;
}

static int op_mkdir(int step)
{
	struct meta_attr a;
	int ret = meta_mkdir(fs, ROOT, "newdir", 0755, NULL, &a);

	if (!ret)
		meta_forget(fs, a.ino, 1);
	return ret;
}

static int op_symlink(int step)
{
	struct meta_attr a;
	int ret = meta_symlink(fs, ROOT, "sl", "target/of/link", NULL, &a);

	if (!ret)
		meta_forget(fs, a.ino, 1);
	return ret;
}

static int op_link(int step)
{
	struct meta_attr a;
	int ret = meta_link(fs, mt_lookup(fs, ROOT, "a"), ROOT, "a2", &a);

	if (!ret)
		meta_forget(fs, a.ino, 1);
	return ret;
}

static int op_rename_replace(int step)
{
	return meta_rename(fs, ROOT, "c", ROOT, "new", 0); /* replaces op_create's file */
}

static int op_rename_exchange(int step)
{
	return meta_rename(fs, ROOT, "b", ROOT, "d", META_RENAME_EXCHANGE);
}

static int op_setxattr(int step)
{
	static char v[5000];

	return meta_setxattr(fs, ROOT, "user.big", v, sizeof(v), 0);
}

static int op_unlink(int step)
{
	return meta_unlink(fs, ROOT, "a2");
}

static int op_fallocate(int step)
{
	struct meta_inode *ip;
	int ret = meta_inode_get(fs, mt_lookup(fs, ROOT, "a"), &ip);

	if (ret)
		return ret;
	ret = meta_fallocate(ip, 0, 0, 64 * BS);
	meta_inode_put(ip);
	return ret;
}

static int op_truncate(int step)
{
	struct meta_setattr sa = {.valid = META_SET_SIZE, .size = 3 * BS};

	return meta_setattr(fs, mt_lookup(fs, ROOT, "a"), &sa, NULL);
}

static int op_checkpoint(int step)
{
	return meta_checkpoint(fs);
}

struct op {
	const char *name;
	op_fn fn;
	bool one_record;
};

static const struct op ops[] = {
	{"create", op_create, true},
	{"mkdir", op_mkdir, true},
	{"symlink", op_symlink, true},
	{"link", op_link, true},
	{"setxattr", op_setxattr, true},
	{"fallocate", op_fallocate, false},
	{"truncate", op_truncate, true},
	{"rename_exchange", op_rename_exchange, true},
	{"rename_replace", op_rename_replace, true},
	{"unlink", op_unlink, true},
	{"checkpoint", op_checkpoint, true},
};

START_TEST(every_allocation_failure_leaves_a_consistent_filesystem)
{
	long failures_seen = 0;

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		for (long k = 0;; k++) {
			char *before = mt_dump(fs), *after;
			int ret;

			test_alloc_fail_after(k);
			ret = ops[i].fn((int)k);
			test_alloc_disarm();
			if (ret == 0) {
				/* Durable, so that a later remount after a failure keeps it. */
				ck_assert_int_eq(meta_syncfs(fs), 0);
				free(before);
				break;
			}
			failures_seen++;
			ck_assert_msg(ret == -ENOMEM || ret == -EIO, "%s after %ld mallocs: %d",
				      ops[i].name, k, ret);
			ck_assert_int_eq(meta_check(fs), 0);
			if (ret == -ENOMEM && ops[i].one_record) {
				after = mt_dump(fs);
				mt_assert_same_dump(before, after);
				free(after);
			}
			free(before);
			if (meta_is_read_only(fs)) {
				/* The journal lost the record: start again from what is durable. */
				meta_abandon(fs);
				fs = mt_mount(&img);
			}
			ck_assert_msg(k < 10000, "%s never succeeds", ops[i].name);
		}
		ck_assert_int_eq(meta_check(fs), 0);
	}
	printf("allocation failures injected: %ld\n", failures_seen);
	ck_assert_int_gt(failures_seen, 20);
	fs = mt_remount_same(fs, &img);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("meta_enomem");
	TCase *tc = tcase_create("enomem");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, every_allocation_failure_leaves_a_consistent_filesystem);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
