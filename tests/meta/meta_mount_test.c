/* SPDX-License-Identifier: MIT */
/*
 * meta_mount_test.c - the life of a filesystem: mkfs, mount, remount round trips (log replay
 * and checkpoints), crashes (state dropped without a checkpoint), orphans freed at mount, a full
 * data area (ENOSPC, usable after deleting), a full log, read-only mounts, and damaged or
 * foreign images that must be refused with one line and without a single write.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mdblock.h"
#include "core/journal.h"
#include "core/meta.h"
#include "core/meta_internal.h" /* record types, to write a bad one */
#include "core/sb.h"
#include "tests/meta/meta_test_util.h"
#include "tests/meta/mt_fs.h"

#define ROOT META_ROOT_INO

static struct mt_image img;
static struct meta_fs *fs;

static void make(uint64_t bytes, const struct meta_mkfs_params *p)
{
	struct pi_format fmt = test_format_default();

	mt_mkfs(&img, &fmt, bytes, p);
	fs = mt_mount(&img);
}

static void teardown(void)
{
	if (fs) {
		ck_assert_int_eq(meta_check(fs), 0);
		ck_assert_int_eq(meta_unmount(fs), 0);
	}
	fs = NULL;
	gfs_log_set_hook(NULL, NULL);
	mt_remove(&img);
}

static void remount_same(void)
{
	fs = mt_remount_same(fs, &img);
}

/* Some files with data in UNWRITTEN and MAPPED extents, xattrs, links and a subdirectory. */
static void populate(struct test_rng *rng, int nr)
{
	char name[32];
	uint64_t d = mt_mkdir(fs, ROOT, "d");

	for (int i = 0; i < nr; i++) {
		struct meta_inode *ip;
		uint64_t f;

		snprintf(name, sizeof(name), "f%d", i);
		f = mt_create(fs, i & 1 ? d : ROOT, name);
		ck_assert_int_eq(meta_inode_get(fs, f, &ip), 0);
		ck_assert_int_eq(meta_fallocate(ip, 0, rng_below(rng, 8) * 4096,
						(1 + rng_below(rng, 16)) * 4096),
				 0);
		if (i % 3 == 0)
			ck_assert_int_eq(meta_convert_unwritten(ip, 0, 8192, 8192), 0);
		meta_inode_put(ip);
		ck_assert_int_eq(meta_setxattr(fs, f, "user.i", &i, sizeof(i), 0), 0);
		if (i % 5 == 0) {
			snprintf(name, sizeof(name), "l%d", i);
			ck_assert_int_eq(meta_link(fs, f, d, name, NULL), 0);
			meta_forget(fs, f, 1);
		}
	}
}

START_TEST(mkfs_then_mount_shows_an_empty_filesystem)
{
	struct meta_statfs st;
	struct meta_attr a;

	make(64ull << 20, NULL);
	ck_assert_int_eq(meta_getattr(fs, ROOT, &a), 0);
	ck_assert(S_ISDIR(a.mode));
	ck_assert_uint_ne(mt_lookup(fs, ROOT, "lost+found"), 0);
	ck_assert_int_eq(meta_statfs(fs, &st), 0);
	ck_assert_uint_eq(st.block_size, 4096);
	ck_assert_uint_eq(st.blocks, meta_get_sb(fs)->data_blocks);
	ck_assert_uint_eq(st.blocks_free, st.blocks);
	ck_assert_uint_gt(st.files_free, 1000);
	ck_assert_uint_eq(st.files, st.files_free + 2);
	ck_assert_uint_eq(st.name_max, 255);
	ck_assert(!meta_is_read_only(fs));
}
END_TEST

START_TEST(mkfs_params_set_root_owner_mode_and_label)
{
	struct meta_mkfs_params p = {.root_uid = 1000, .root_gid = 1001, .root_mode = 01777};
	struct meta_attr a;

	p.sb.label = "hello";
	p.sb.block_size = 8192;
	make(64ull << 20, &p);
	ck_assert_int_eq(meta_getattr(fs, ROOT, &a), 0);
	ck_assert_uint_eq(a.uid, 1000);
	ck_assert_uint_eq(a.gid, 1001);
	ck_assert_uint_eq(a.mode & 07777, 01777);
	ck_assert_str_eq(meta_get_sb(fs)->label, "hello");
	ck_assert_uint_eq(meta_block_size(fs), 8192);
	ck_assert_uint_eq(a.blksize, 8192);
}
END_TEST

START_TEST(remount_rebuilds_the_same_state_from_log_and_checkpoint)
{
	struct test_rng rng = {test_seed("remount_rebuilds_the_same_state")};
	char *log_only, *after;

	make(64ull << 20, NULL);
	populate(&rng, 40);
	/* Crash after a commit: log replay only (the last checkpoint is mkfs's). */
	ck_assert_int_eq(meta_syncfs(fs), 0);
	log_only = mt_dump(fs);
	meta_abandon(fs);
	fs = mt_mount(&img);
	after = mt_dump(fs);
	mt_assert_same_dump(log_only, after);
	free(after);
	/* Checkpoint in the middle, more changes, then a clean unmount. */
	ck_assert_int_eq(meta_checkpoint(fs), 0);
	ck_assert_int_eq(meta_unlink(fs, ROOT, "f0"), 0);
	ck_assert_int_eq(meta_rename(fs, ROOT, "f2", ROOT, "f2b", 0), 0);
	remount_same();
	ck_assert_int_eq(meta_check(fs), 0);
	free(log_only);
}
END_TEST

START_TEST(crash_keeps_what_was_committed_and_drops_the_rest)
{
	struct meta_attr a;
	uint64_t f;

	make(64ull << 20, NULL);
	f = mt_create(fs, ROOT, "synced");
	ck_assert_int_eq(meta_setxattr(fs, f, "user.x", "1", 1, 0), 0);
	ck_assert_int_eq(meta_fsync(fs, f, false), 0);
	mt_create(fs, ROOT, "lost");
	meta_abandon(fs);
	fs = mt_mount(&img);
	ck_assert_uint_eq(mt_lookup(fs, ROOT, "synced"), f);
	ck_assert_int_eq(meta_getxattr(fs, f, "user.x", NULL, 0), 1);
	ck_assert_uint_eq(mt_lookup(fs, ROOT, "lost"), 0);
	/* Inode numbers keep growing past every durable one. */
	ck_assert_int_eq(meta_create(fs, ROOT, "next", 0644, NULL, &a), 0);
	meta_forget(fs, a.ino, 1);
	ck_assert_uint_gt(a.ino, f);
}
END_TEST

START_TEST(orphans_are_freed_at_mount)
{
	struct meta_statfs before, after;
	struct meta_inode *ip;
	struct meta_attr a;

	make(64ull << 20, NULL);
	ck_assert_int_eq(meta_statfs(fs, &before), 0);
	ck_assert_int_eq(meta_create(fs, ROOT, "o", 0644, NULL, &a), 0);
	ck_assert_int_eq(meta_inode_get(fs, a.ino, &ip), 0);
	ck_assert_int_eq(meta_fallocate(ip, 0, 0, 1 << 20), 0);
	ck_assert_int_eq(meta_unlink(fs, ROOT, "o"), 0);
	/* Still open: the data stays. */
	ck_assert_int_eq(meta_getattr(fs, a.ino, &a), 0);
	ck_assert_uint_eq(a.nlink, 0);
	ck_assert_uint_eq(a.size, 1 << 20);
	ck_assert_int_eq(meta_statfs(fs, &after), 0);
	ck_assert_uint_eq(after.blocks_free, before.blocks_free - 256);
	ck_assert_int_eq(meta_syncfs(fs), 0);
	meta_abandon(fs); /* crash while open (ip is gone with the state) */
	test_log_capture();
	fs = mt_mount(&img);
	ck_assert_int_eq(meta_getattr(fs, a.ino, &a), -ENOENT);
	ck_assert_int_eq(meta_statfs(fs, &after), 0);
	ck_assert_uint_eq(after.blocks_free, before.blocks_free);
	ck_assert_uint_eq(test_log_errors(), 0);
	/* An orphan open at a clean unmount is freed by the next mount too. */
	ck_assert_int_eq(meta_create(fs, ROOT, "o2", 0644, NULL, &a), 0);
	ck_assert_int_eq(meta_unlink(fs, ROOT, "o2"), 0);
	fs = mt_remount(fs, &img);
	ck_assert_int_eq(meta_getattr(fs, a.ino, &a), -ENOENT);
	ck_assert_int_eq(meta_statfs(fs, &after), 0);
	ck_assert_uint_eq(after.blocks_free, before.blocks_free);
}
END_TEST

START_TEST(full_data_area_gives_enospc_and_recovers_after_delete)
{
	struct meta_statfs st;
	struct meta_inode *ip;
	uint64_t f, g;
	int ret;

	make(16ull << 20, NULL);
	f = mt_create(fs, ROOT, "big");
	ck_assert_int_eq(meta_inode_get(fs, f, &ip), 0);
	ret = meta_fallocate(ip, 0, 0, 64ull << 20);
	ck_assert_int_eq(ret, -ENOSPC);
	meta_inode_put(ip);
	ck_assert_int_eq(meta_statfs(fs, &st), 0);
	ck_assert_uint_eq(st.blocks_free, 0);
	/* Namespace operations still work (metadata lives in the log). */
	g = mt_create(fs, ROOT, "small");
	ck_assert_int_eq(meta_inode_get(fs, g, &ip), 0);
	ck_assert_int_eq(meta_fallocate(ip, 0, 0, 4096), -ENOSPC);
	{
		struct meta_map m;

		ck_assert_int_eq(meta_map_begin(ip, 0, 4096, META_MAP_WRITE, &m), -ENOSPC);
		ck_assert_int_eq(meta_map_begin(ip, 0, 4096, META_MAP_WRITE | META_MAP_DIRECT, &m),
				 -ENOSPC);
	}
	/* Delete the big file: its space comes back once the unlink is durable, which the
	 * allocation forces by itself. */
	ck_assert_int_eq(meta_unlink(fs, ROOT, "big"), 0);
	ck_assert_int_eq(meta_fallocate(ip, 0, 0, 1 << 20), 0);
	meta_inode_put(ip);
	ck_assert_int_eq(meta_check(fs), 0);
	remount_same();
}
END_TEST

START_TEST(full_log_is_checkpointed_and_nothing_is_lost)
{
	struct meta_mkfs_params p = {0};
	static uint8_t v[60000];
	char name[32];
	uint64_t f;

	/* A small log (64 blocks): a few 60 KB xattrs fill it again and again. */
	p.sb.log_blocks = 64;
	make(64ull << 20, &p);
	f = mt_create(fs, ROOT, "f");
	for (int i = 0; i < 40; i++) {
		memset(v, i, sizeof(v));
		snprintf(name, sizeof(name), "user.%d", i % 7);
		ck_assert_int_eq(meta_setxattr(fs, f, name, v, sizeof(v), 0), 0);
		ck_assert_int_eq(meta_maybe_checkpoint(fs), 0);
	}
	ck_assert(!meta_is_read_only(fs));
	remount_same();
	ck_assert_int_eq(meta_getxattr(fs, f, "user.4", v, sizeof(v)), (int)sizeof(v));
	ck_assert_uint_eq(v[0], 39);
}
END_TEST

START_TEST(read_only_mount_never_writes)
{
	struct meta_mount_opts ro = {.read_only = true};
	void *before, *after;
	size_t blen, alen;
	struct meta_attr a;

	make(16ull << 20, NULL);
	ck_assert_int_eq(meta_create(fs, ROOT, "o", 0644, NULL, &a), 0);
	ck_assert_int_eq(meta_unlink(fs, ROOT, "o"), 0); /* an orphan for the next mount */
	ck_assert_int_eq(meta_syncfs(fs), 0);
	meta_abandon(fs);
	fs = NULL;
	mt_read_file(img.path, &before, &blen);
	ck_assert_int_eq(meta_mount(img.path, &ro, &fs), 0);
	ck_assert(meta_is_read_only(fs));
	ck_assert_int_eq(meta_create(fs, ROOT, "x", 0644, NULL, NULL), -EROFS);
	ck_assert_int_eq(meta_setxattr(fs, ROOT, "user.x", "1", 1, 0), -EROFS);
	ck_assert_int_eq(meta_rename(fs, ROOT, "lost+found", ROOT, "y", 0), -EROFS);
	ck_assert_int_eq(meta_fsync(fs, ROOT, false), 0);
	ck_assert_int_eq(meta_unmount(fs), 0);
	fs = NULL;
	mt_read_file(img.path, &after, &alen);
	ck_assert_uint_eq(blen, alen);
	ck_assert(!memcmp(before, after, blen));
	free(before);
	free(after);
}
END_TEST

/* Mount must fail with exactly one error line and leave every byte of the image as it was. */
static void expect_refused(const char *path, int expect)
{
	struct meta_fs *bad = NULL;
	void *before, *after;
	size_t blen, alen;
	int ret;

	mt_read_file(path, &before, &blen);
	test_log_capture();
	ret = meta_mount(path, NULL, &bad);
	ck_assert_msg(ret < 0, "mount of a damaged image succeeded");
	if (expect)
		ck_assert_int_eq(ret, expect);
	ck_assert_msg(test_log_errors() == 1, "%u error lines, last: %s", test_log_errors(),
		      test_log_last_error());
	ck_assert(strstr(test_log_last_error(), path) != NULL);
	printf("refused: %s\n", test_log_last_error());
	mt_read_file(path, &after, &alen);
	ck_assert_uint_eq(blen, alen);
	ck_assert(!memcmp(before, after, blen));
	free(before);
	free(after);
}

START_TEST(damaged_superblocks_are_refused_cleanly)
{
	struct sb sb = *meta_get_sb(fs = (make(16ull << 20, NULL), fs));

	ck_assert_int_eq(meta_unmount(fs), 0);
	fs = NULL;
	test_file_flip_byte(img.path, 130, 0x10); /* nblocks field of the primary */
	test_file_flip_byte(img.path, sb.backup_blkno * sb.block_size + 130, 0x10);
	expect_refused(img.path, 0);
}
END_TEST

START_TEST(foreign_file_is_refused_cleanly)
{
	struct sb sb = *meta_get_sb(fs = (make(16ull << 20, NULL), fs));
	uint8_t junk[512];

	ck_assert_int_eq(meta_unmount(fs), 0);
	fs = NULL;
	memset(junk, 0x5a, sizeof(junk));
	{
		FILE *f = fopen(img.path, "r+");

		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
		ck_assert_int_eq(fseek(f, (long)(sb.backup_blkno * sb.block_size), SEEK_SET), 0);
		ck_assert_uint_eq(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
		fclose(f);
	}
	expect_refused(img.path, -ENODATA);
}
END_TEST

START_TEST(damaged_checkpoints_are_refused_cleanly)
{
	struct test_rng rng = {test_seed("damaged_checkpoints_are_refused")};
	struct sb sb;

	make(64ull << 20, NULL);
	populate(&rng, 20);
	ck_assert_int_eq(meta_checkpoint(fs), 0);
	sb = *meta_get_sb(fs);
	ck_assert_int_eq(meta_unmount(fs), 0); /* two checkpoints in a row: the log is reused */
	fs = NULL;
	/* Damage the stream of both areas (first stream block, in the payload). */
	for (int area = 0; area < 2; area++)
		test_file_flip_byte(img.path, (sb.ckpt_start[area] + 1) * sb.block_size + 100,
				    0x01);
	expect_refused(img.path, 0);
}
END_TEST

START_TEST(damaged_newest_checkpoint_falls_back_to_the_other)
{
	struct test_rng rng = {test_seed("damaged_newest_checkpoint_falls_back")};
	struct meta_fs *again;
	char *before, *after;
	struct sb sb;

	make(64ull << 20, NULL);
	populate(&rng, 20);
	ck_assert_int_eq(meta_checkpoint(fs), 0);
	ck_assert_int_eq(meta_unlink(fs, ROOT, "f0"), 0);
	ck_assert_int_eq(meta_syncfs(fs), 0);
	before = mt_dump(fs);
	sb = *meta_get_sb(fs);
	meta_abandon(fs);
	fs = NULL;
	/*
	 * Damage each area in turn: with the newest one damaged, the older one plus the log
	 * (kept back to it) must give the same state; with the older one damaged, nothing changes.
	 */
	for (int area = 0; area < 2; area++) {
		char path[300];

		snprintf(path, sizeof(path), "%s.copy", img.path);
		mt_copy_file(img.path, path);
		test_file_flip_byte(path, (sb.ckpt_start[area] + 1) * sb.block_size + 100, 0x01);
		ck_assert_int_eq(meta_mount(path, NULL, &again), 0);
		after = mt_dump(again);
		mt_assert_same_dump(before, after);
		free(after);
		ck_assert_int_eq(meta_unmount(again), 0);
		unlink(path);
	}
	free(before);
}
END_TEST

static int ignore_rec(void *arg, enum journal_src src, const struct journal_rec *rec)
{
	return 0;
}

START_TEST(a_record_that_does_not_fit_the_state_refuses_the_mount)
{
	struct ns_options o = {.format = &img.fmt};
	struct journal *j;
	uint8_t rec[64] = {0};
	struct ns *ns;
	struct sb sb;

	make(16ull << 20, NULL);
	ck_assert_int_eq(meta_unmount(fs), 0);
	fs = NULL;
	/* A well-formed LINK of inode 4242, which never existed, appended to the log. */
	ck_assert_int_eq(ns_open(img.path, &o, &ns), 0);
	ck_assert_int_eq(sb_read(ns, &sb), 0);
	ck_assert_int_eq(journal_open(ns, &sb, ignore_rec, NULL, &j), 0);
	md_put_le64(rec, 4242);
	md_put_le64(rec + 8, META_ROOT_INO);
	md_put_le64(rec + 16, 1);
	md_put_le16(rec + 24, 1);
	rec[26] = 'x';
	ck_assert_int_eq(journal_append(j, MREC_LINK, rec, 27, NULL), 0);
	ck_assert_int_eq(journal_close(j), 0);
	ns_close(ns);
	expect_refused(img.path, -EUCLEAN);
}
END_TEST

static Suite *meta_mount_suite(void)
{
	Suite *s = suite_create("meta_mount");
	TCase *tc = tcase_create("mount");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, mkfs_then_mount_shows_an_empty_filesystem);
	tcase_add_test(tc, mkfs_params_set_root_owner_mode_and_label);
	tcase_add_test(tc, remount_rebuilds_the_same_state_from_log_and_checkpoint);
	tcase_add_test(tc, crash_keeps_what_was_committed_and_drops_the_rest);
	tcase_add_test(tc, orphans_are_freed_at_mount);
	tcase_add_test(tc, full_data_area_gives_enospc_and_recovers_after_delete);
	tcase_add_test(tc, full_log_is_checkpointed_and_nothing_is_lost);
	tcase_add_test(tc, read_only_mount_never_writes);
	tcase_add_test(tc, damaged_superblocks_are_refused_cleanly);
	tcase_add_test(tc, foreign_file_is_refused_cleanly);
	tcase_add_test(tc, damaged_checkpoints_are_refused_cleanly);
	tcase_add_test(tc, damaged_newest_checkpoint_falls_back_to_the_other);
	tcase_add_test(tc, a_record_that_does_not_fit_the_state_refuses_the_mount);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(meta_mount_suite());
}
