/* SPDX-License-Identifier: MIT */
/*
 * io_api_test.c - the core API around the data path: gfs_forget_inode (write back a linked
 * file, release an unlinked one's space, refuse an open one), the invalidation hook for the
 * FUSE front end, gfs_syncfs and GFS_O_DSYNC durability across a crash, and the counters.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/meta.h"
#include "tests/io/io_util.h"

#define FSZ 16384u

START_TEST(forget_writes_back_linked_and_frees_unlinked_files)
{
	struct gfs *gfs = io_mount(&io_img, NULL);
	uint64_t a = io_create(gfs, "keep"), b = io_create(gfs, "gone");
	struct gfs_file *f = io_open(gfs, a);
	struct meta_statfs before, after;
	char *buf = malloc(8 * FSZ);

	test_pattern(buf, 8 * FSZ, 0, 3);
	io_write_all(f, buf, 8 * FSZ, 0);
	ck_assert_int_eq(gfs_forget_inode(gfs, a), -EBUSY); /* still open */
	gfs_release(f);
	ck_assert_int_eq(gfs_forget_inode(gfs, a), 0);
	ck_assert_int_eq(gfs_forget_inode(gfs, a), 0); /* nothing cached: nothing to do */
	/* The unlinked file's blocks come back once its cache lets go of the inode. */
	f = io_open(gfs, b);
	io_write_all(f, buf, 8 * FSZ, 0);
	ck_assert_int_eq(gfs_fsync(f, false), 0);
	gfs_release(f);
	ck_assert_int_eq(meta_statfs(gfs_meta(gfs), &before), 0);
	ck_assert_int_eq(meta_unlink(gfs_meta(gfs), META_ROOT_INO, "gone"), 0);
	meta_forget(gfs_meta(gfs), b, 1); /* io_create's lookup reference */
	ck_assert_int_eq(gfs_forget_inode(gfs, b), 0);
	ck_assert_int_eq(meta_syncfs(gfs_meta(gfs)), 0);
	ck_assert_int_eq(meta_statfs(gfs_meta(gfs), &after), 0);
	ck_assert_uint_ge(after.blocks_free, before.blocks_free + 8 * FSZ / 4096);
	ck_assert_int_eq(gfs_open(gfs, b, 0, &f), -ENOENT);
	/* The linked one was written back before it was dropped: survives a crash. */
	gfs_abandon(gfs);
	gfs = io_mount(&io_img, NULL);
	f = io_open(gfs, a);
	memset(buf, 0, 8 * FSZ);
	io_read_all(f, buf, 8 * FSZ, 0);
	test_check_pattern(buf, 8 * FSZ, 0, 3);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	free(buf);
}
END_TEST

struct inval_log {
	unsigned calls;
	uint64_t ino, off, len;
};

static void inval_hook(void *arg, uint64_t ino, uint64_t off, uint64_t len)
{
	struct inval_log *log = arg;

	log->calls++;
	log->ino = ino;
	log->off = off;
	log->len = len;
}

START_TEST(invalidation_hook_sees_truncate_and_punch)
{
	struct gfs *gfs = io_mount(&io_img, NULL);
	uint64_t ino = io_create(gfs, "inval");
	struct gfs_file *f = io_open(gfs, ino);
	struct inval_log log = {0};
	char *buf = malloc(8 * FSZ);

	gfs_set_inval_hook(gfs, inval_hook, &log);
	test_pattern(buf, 8 * FSZ, 0, 4);
	io_write_all(f, buf, 8 * FSZ, 0);
	ck_assert_uint_eq(log.calls, 0); /* buffered writes change nothing the kernel caches */
	ck_assert_int_eq(gfs_truncate(gfs, ino, 5 * FSZ), 0);
	ck_assert_uint_eq(log.calls, 1);
	ck_assert_uint_eq(log.ino, ino);
	ck_assert_uint_eq(log.off, 5 * FSZ);
	ck_assert_uint_eq(log.len, 3 * FSZ);
	ck_assert_int_eq(gfs_fallocate(f, GFS_FALLOC_PUNCH_HOLE | GFS_FALLOC_KEEP_SIZE, FSZ, FSZ),
			 0);
	ck_assert_uint_ge(log.calls, 2);
	ck_assert_uint_le(log.off, FSZ);
	ck_assert_uint_ge(log.off + log.len, 2 * FSZ);
	gfs_set_inval_hook(gfs, NULL, NULL);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	free(buf);
}
END_TEST

START_TEST(syncfs_and_dsync_writes_survive_a_crash)
{
	struct gfs *gfs = io_mount(&io_img, NULL);
	uint64_t a = io_create(gfs, "s1"), b = io_create(gfs, "s2"), c = io_create(gfs, "ds");
	struct gfs_file *fa = io_open(gfs, a), *fb = io_open(gfs, b), *fc = NULL;
	char *buf = malloc(4 * FSZ);

	ck_assert_int_eq(gfs_open(gfs, c, GFS_O_DSYNC, &fc), 0);
	test_pattern(buf, 4 * FSZ, 0, 5);
	io_write_all(fa, buf, 4 * FSZ, 0);
	io_write_all(fb, buf, 3 * FSZ + 1, 0);
	ck_assert_int_eq(gfs_syncfs(gfs), 0);
	io_write_all(fc, buf, 2 * FSZ + 7, 0); /* durable when it returns */
	gfs_release(fa);
	gfs_release(fb);
	gfs_release(fc);
	gfs_abandon(gfs);
	gfs = io_mount(&io_img, NULL);
	fa = io_open(gfs, a);
	fb = io_open(gfs, b);
	fc = io_open(gfs, c);
	io_read_all(fa, buf, 4 * FSZ, 0);
	test_check_pattern(buf, 4 * FSZ, 0, 5);
	io_read_all(fb, buf, 3 * FSZ + 1, 0);
	test_check_pattern(buf, 3 * FSZ + 1, 0, 5);
	ck_assert_int_eq(gfs_read(fb, buf, 10, 3 * FSZ + 1), 0); /* size exact */
	io_read_all(fc, buf, 2 * FSZ + 7, 0);
	test_check_pattern(buf, 2 * FSZ + 7, 0, 5);
	gfs_release(fa);
	gfs_release(fb);
	gfs_release(fc);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	free(buf);
}
END_TEST

START_TEST(counters_follow_the_io)
{
	struct gfs *gfs = io_mount(&io_img, NULL);
	struct gfs_file *f = io_open(gfs, io_create(gfs, "ctr"));
	char *buf = malloc(4 * FSZ);
	struct gfs_stats st;

	test_pattern(buf, 4 * FSZ, 0, 6);
	io_write_all(f, buf, 4 * FSZ, 0);
	io_read_all(f, buf, 4 * FSZ, 0);
	ck_assert_int_eq(gfs_fsync(f, false), 0);
	gfs_get_stats(gfs, &st);
	ck_assert_uint_eq(st.writes, 1);
	ck_assert_uint_eq(st.bytes_written, 4 * FSZ);
	ck_assert_uint_eq(st.reads, 1);
	ck_assert_uint_eq(st.bytes_read, 4 * FSZ);
	ck_assert_uint_ge(st.cache_hits, 4);
	ck_assert_uint_ge(st.wb_ioends, 1);
	ck_assert_uint_eq(st.wb_bytes, 4 * FSZ);
	ck_assert_uint_eq(st.pi_errors + st.wb_errors + st.read_errors, 0);
	ck_assert_uint_eq(st.dirty_bytes, 0);
	ck_assert_uint_le(st.cache_peak_bytes, st.cache_budget);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	free(buf);
}
END_TEST

/* A full filesystem: the write that does not fit fails with ENOSPC, nothing written before it
 * is lost, and space freed by a truncate is usable again. */
START_TEST(enospc_is_reported_and_space_comes_back)
{
	struct gfs *gfs = io_mount(&io_img, NULL);
	uint64_t ino = io_create(gfs, "full");
	struct gfs_file *f = io_open(gfs, ino);
	char *buf = malloc(1 << 20), *back = malloc(1 << 20);
	uint64_t off = 0;
	ssize_t ret;

	test_pattern(buf, 1 << 20, 0, 8);
	while ((ret = gfs_write(f, buf, 1 << 20, off)) == 1 << 20)
		off += 1 << 20;
	ck_assert_msg(ret == -ENOSPC || (ret > 0 && ret < (1 << 20)), "write: %zd", ret);
	if (ret > 0)
		off += ret;
	ck_assert_uint_gt(off, 8u << 20);
	ck_assert_int_eq(gfs_fsync(f, false), 0);
	io_read_all(f, back, 1 << 20, 0);
	ck_assert_mem_eq(back, buf, 1 << 20);
	ck_assert_int_eq(gfs_truncate(gfs, ino, 1 << 20), 0);
	ck_assert_int_eq(gfs_fsync(f, false), 0);
	io_write_all(f, buf, 1 << 20, 4u << 20);
	ck_assert_int_eq(gfs_fsync(f, false), 0);
	io_read_all(f, back, 1 << 20, 4u << 20);
	ck_assert_mem_eq(back, buf, 1 << 20);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	free(buf);
	free(back);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("io_api");
	TCase *tc = tcase_create("api");

	test_seed("io_api");
	tcase_add_checked_fixture(tc, io_setup, io_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, forget_writes_back_linked_and_frees_unlinked_files);
	tcase_add_test(tc, invalidation_hook_sees_truncate_and_punch);
	tcase_add_test(tc, syncfs_and_dsync_writes_survive_a_crash);
	tcase_add_test(tc, counters_follow_the_io);
	tcase_add_test(tc, enospc_is_reported_and_space_comes_back);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
