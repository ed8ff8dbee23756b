/* SPDX-License-Identifier: MIT */
/*
 * io_err_test.c - failures: write errors injected by the file backend (I/O error on the nth
 * write) are reported by the next fsync of every open file, once, and are not cleared by a
 * later successful writeback; PI damage on the namespace (data, guard, owner tag) makes every
 * read touching the damaged block fail with EIO and one log line naming inode, offset, LBA and
 * tag, while the other blocks of the same folio read fine.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/meta.h"
#include "core/log.h"
#include "core/ns_fault.h"
#include "tests/io/io_util.h"

#define IMG_BYTES (32ull << 20)
#define FSZ	  16384u
#define BS	  4096u

static uint64_t lba_of(struct gfs_file *f, uint64_t pos)
{
	struct meta_map map;

	ck_assert_int_eq(
		meta_map_begin(gfs_inode_meta(gfs_file_inode(f)), pos, 1, META_MAP_REPORT, &map),
		0);
	ck_assert(map.type == META_MAP_MAPPED || map.type == META_MAP_UNWRITTEN);
	return map.lba +
	       (pos - map.offset) / ns_get_format(gfs_file_inode(f)->gfs->ns)->pi.lba_size;
}

/* Fail the nth data write to the first len bytes of f (allocated) with an I/O error. */
static void arm_write_error(struct gfs *gfs, struct gfs_file *f, uint64_t len, unsigned nth)
{
	uint64_t lba = lba_of(f, 0);
	struct ns_fault fault = {
		.kind = NS_FAULT_IO_ERROR,
		.ops = NS_FAULT_OP(NS_OP_WRITE),
		.nth = nth,
		.lba_first = lba,
		.lba_last = lba + len / BS - 1,
	};

	ck_assert_int_ge(ns_fault_add(gfs_ns(gfs), &fault), 0);
}

START_TEST(write_error_is_reported_once_per_file_and_not_cleared_by_later_success)
{
	struct gfs *gfs = io_mount(&io_img, NULL);
	uint64_t ino = io_create(gfs, "e");
	struct gfs_file *f1 = io_open(gfs, ino), *f2 = io_open(gfs, ino), *f3;
	struct gfs_stats st;
	char buf[FSZ];

	ck_assert_int_eq(gfs_fallocate(f1, 0, 0, 4 * FSZ), 0);
	test_log_capture();
	arm_write_error(gfs, f1, 4 * FSZ, 2);
	/* Two separate data writes (not contiguous): the second one fails. */
	memset(buf, 'a', sizeof(buf));
	io_write_all(f1, buf, FSZ, 0);
	io_write_all(f1, buf, FSZ, 2 * FSZ);
	ck_assert_int_eq(gfs_fsync(f1, false), -EIO);
	ck_assert_int_eq(gfs_fsync(f1, false), 0); /* reported once to this file */
	gfs_get_stats(gfs, &st);
	ck_assert_uint_eq(st.wb_errors, 1);
	ck_assert_uint_ge(test_log_errors(), 1);
	ck_assert_ptr_nonnull(strstr(test_log_last_error(), "writeback"));
	ns_fault_clear(gfs_ns(gfs));
	/* A later successful writeback... */
	io_write_all(f1, buf, FSZ, FSZ);
	ck_assert_int_eq(gfs_fsync(f1, false), 0);
	/* ...does not hide the error from a file that has not reported it yet. */
	ck_assert_int_eq(gfs_fsync(f2, true), -EIO);
	ck_assert_int_eq(gfs_fsync(f2, true), 0);
	/* A file opened after the error starts clean. */
	f3 = io_open(gfs, ino);
	ck_assert_int_eq(gfs_fsync(f3, false), 0);
	gfs_release(f1);
	gfs_release(f2);
	gfs_release(f3);
	gfs_log_set_hook(NULL, NULL);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
}
END_TEST

/* Flip one byte of the image at the data of lba (or its PI tuple when md_off >= 0). */
static void corrupt(uint64_t nlb, uint64_t lba, int md_off)
{
	uint64_t off = md_off < 0 ? lba * BS + 100 : nlb * BS + lba * 8 + (uint64_t)md_off;
	int fd = open(io_img.path, O_RDWR);
	uint8_t b;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &b, 1, (off_t)off), 1);
	b ^= 0x10;
	ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)off), 1);
	ck_assert_int_eq(fsync(fd), 0);
	close(fd);
}

/*
 * The writer closed before its data was written back, and writeback failed: nobody has seen the
 * error, so the next opener's fsync reports it (once); after that, new openers start clean.
 */
START_TEST(unseen_write_error_is_reported_to_the_next_opener)
{
	struct gfs *gfs = io_mount(&io_img, NULL);
	uint64_t ino = io_create(gfs, "u");
	struct gfs_file *f1 = io_open(gfs, ino), *f2, *f3;
	char buf[FSZ];

	ck_assert_int_eq(gfs_fallocate(f1, 0, 0, 2 * FSZ), 0);
	memset(buf, 'u', sizeof(buf));
	io_write_all(f1, buf, FSZ, 0);
	test_log_capture();
	arm_write_error(gfs, f1, 2 * FSZ, 1);
	gfs_release(f1);		      /* closed with its data still dirty */
	ck_assert_int_le(gfs_syncfs(gfs), 0); /* writeback fails here, seen by no file */
	ns_fault_clear(gfs_ns(gfs));
	ck_assert_uint_ge(test_log_errors(), 1);
	f2 = io_open(gfs, ino);
	ck_assert_int_eq(gfs_fsync(f2, false), -EIO);
	ck_assert_int_eq(gfs_fsync(f2, false), 0);
	f3 = io_open(gfs, ino);
	ck_assert_int_eq(gfs_fsync(f3, true), 0);
	gfs_release(f2);
	gfs_release(f3);
	gfs_log_set_hook(NULL, NULL);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
}
END_TEST

START_TEST(pi_damage_fails_only_reads_touching_the_block)
{
	/* md offsets in the 8-byte tuple: guard 0-1, app (owner) tag 2-3, ref tag 4-7. */
	static const struct {
		int md_off;
		const char *tag;
	} cases[] = {{-1, "guard"}, {0, "guard"}, {2, "app"}, {5, "ref"}};

	for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct gfs *gfs = io_mount(&io_img, NULL);
		uint64_t nlb = ns_get_format(gfs_ns(gfs))->nlb, lba;
		char name[16], *buf = malloc(FSZ), *back = malloc(FSZ);
		struct gfs_file *f;
		struct gfs_stats st;
		uint64_t ino;

		snprintf(name, sizeof(name), "pi%u", c);
		ino = io_create(gfs, name);
		f = io_open(gfs, ino);
		test_pattern(buf, FSZ, FSZ, 40 + c);
		io_write_all(f, buf, FSZ, FSZ);
		test_pattern(buf, FSZ, 0, 40 + c);
		io_write_all(f, buf, FSZ, 0);
		ck_assert_int_eq(gfs_fsync(f, false), 0);
		lba = lba_of(f, BS); /* block 1 of folio 0 */
		gfs_release(f);
		ck_assert_int_eq(gfs_unmount(gfs), 0);
		corrupt(nlb, lba, cases[c].md_off);

		gfs = io_mount(&io_img, NULL);
		f = io_open(gfs, ino);
		test_log_capture();
		/* The block before it, on its own: fine. */
		io_read_all(f, back, BS, 0);
		test_check_pattern(back, BS, 0, 40 + c);
		ck_assert_int_eq(gfs_read(f, back, 10, BS + 5), -EIO);
		ck_assert_int_eq(gfs_read(f, back, FSZ, 0), -EIO);
		ck_assert_int_eq(gfs_read(f, back, 2, BS - 1), -EIO);
		{
			/* The folio's state: only the damaged block is not uptodate. */
			struct gfs_inode *gi = gfs_file_inode(f);
			struct folio *folio;

			ck_assert_int_eq(cache_get_folio(gi->mapping, 0, 0, &folio), 0);
			folio_lock(folio);
			ck_assert(folio_block_is_uptodate(folio, 0));
			ck_assert(!folio_block_is_uptodate(folio, 1));
			ck_assert(folio_block_is_uptodate(folio, 2));
			ck_assert(folio_block_is_uptodate(folio, 3));
			ck_assert(!folio_is_uptodate(folio) && folio_has_error(folio));
			ck_assert_uint_eq(folio_read_bytes_pending(folio), 0);
			folio_unlock(folio);
			folio_put(folio);
		}
		/* The blocks after it in the same folio, and the next folio: fine. */
		io_read_all(f, back, 2 * BS, 2 * BS);
		test_check_pattern(back, 2 * BS, 2 * BS, 40 + c);
		io_read_all(f, back, FSZ, FSZ);
		test_check_pattern(back, FSZ, FSZ, 40 + c);
		ck_assert_uint_ge(test_log_errors(), 1);
		ck_assert_msg(strstr(test_log_last_error(), cases[c].tag), "log: %s",
			      test_log_last_error());
		{
			char want[64];

			snprintf(want, sizeof(want), "inode %llu offset %u LBA %llu",
				 (unsigned long long)ino, BS, (unsigned long long)lba);
			ck_assert_msg(strstr(test_log_last_error(), want), "log: %s",
				      test_log_last_error());
		}
		gfs_get_stats(gfs, &st);
		ck_assert_uint_ge(st.pi_errors, 3);
		/* Overwriting the whole damaged block heals it without reading it. */
		io_write_all(f, buf + BS, BS, BS);
		io_read_all(f, back, FSZ, 0);
		test_check_pattern(back, FSZ, 0, 40 + c);
		gfs_log_set_hook(NULL, NULL);
		gfs_release(f);
		ck_assert_int_eq(gfs_unmount(gfs), 0);
		free(buf);
		free(back);
	}
}
END_TEST

/* A partial write over a damaged block must fail rather than merge garbage into it. */
START_TEST(partial_write_over_damaged_block_fails_with_eio)
{
	struct gfs *gfs = io_mount(&io_img, NULL);
	uint64_t nlb = ns_get_format(gfs_ns(gfs))->nlb, lba, ino = io_create(gfs, "pw");
	struct gfs_file *f = io_open(gfs, ino);
	char buf[BS];

	memset(buf, 'q', sizeof(buf));
	io_write_all(f, buf, BS, 0);
	ck_assert_int_eq(gfs_fsync(f, false), 0);
	lba = lba_of(f, 0);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	corrupt(nlb, lba, -1);
	gfs = io_mount(&io_img, NULL);
	f = io_open(gfs, ino);
	gfs_log_set_hook(NULL, NULL);
	test_log_capture();
	ck_assert_int_eq(gfs_write(f, buf, 10, 100), -EIO);
	ck_assert_uint_ge(test_log_errors(), 1);
	gfs_log_set_hook(NULL, NULL);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
}
END_TEST

/* A read I/O error from the device (not PI): EIO, nothing marked uptodate, a retry works. */
START_TEST(read_io_error_fails_read_and_retry_succeeds)
{
	struct gfs *gfs = io_mount(&io_img, NULL);
	struct gfs_file *f = io_open(gfs, io_create(gfs, "rio"));
	struct ns_fault fault = {.kind = NS_FAULT_IO_ERROR, .ops = NS_FAULT_OP(NS_OP_READ)};
	char *buf = malloc(FSZ), *back = malloc(FSZ);

	test_pattern(buf, FSZ, 0, 77);
	io_write_all(f, buf, FSZ, 0);
	ck_assert_int_eq(gfs_fsync(f, false), 0);
	ck_assert_int_eq(gfs_inode_drop_cache(gfs_file_inode(f), 0, FSZ), 0);
	fault.lba_first = fault.lba_last = lba_of(f, 0);
	ck_assert_int_ge(ns_fault_add(gfs_ns(gfs), &fault), 0);
	test_log_capture();
	ck_assert_int_eq(gfs_read(f, back, FSZ, 0), -EIO);
	gfs_log_set_hook(NULL, NULL);
	io_read_all(f, back, FSZ, 0); /* the fault fired once */
	test_check_pattern(back, FSZ, 0, 77);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	free(buf);
	free(back);
}
END_TEST

/* Every supported namespace format: data round-trips, and damage is caught where PI exists. */
START_TEST(every_format_round_trips_and_catches_damage)
{
	static const struct {
		struct pi_format fmt;
		uint32_t block_size;
	} formats[] = {
		{{4096, 8, PI_TYPE_1, PI_GUARD_16, false, PI_MD_SEPARATE}, 4096},
		{{4096, 16, PI_TYPE_1, PI_GUARD_64, false, PI_MD_SEPARATE}, 4096},
		{{512, 8, PI_TYPE_2, PI_GUARD_16, false, PI_MD_SEPARATE}, 4096},
		{{4096, 8, PI_TYPE_3, PI_GUARD_16, false, PI_MD_SEPARATE}, 4096},
		{{4096, 64, PI_TYPE_1, PI_GUARD_16, true, PI_MD_SEPARATE}, 4096},
		{{4096, 0, PI_TYPE_NONE, PI_GUARD_16, false, PI_MD_SEPARATE}, 4096},
	};

	for (unsigned i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		const struct pi_format *fmt = &formats[i].fmt;
		struct io_image im;
		struct gfs *gfs;
		struct gfs_file *f;
		uint64_t ino, lba, nlb;
		char *buf = malloc(4 * FSZ), *back = malloc(4 * FSZ);

		gfs = io_mkfs_mount(&im, fmt, IMG_BYTES, formats[i].block_size);
		nlb = ns_get_format(gfs_ns(gfs))->nlb;
		ino = io_create(gfs, "fmt");
		f = io_open(gfs, ino);
		test_pattern(buf, 4 * FSZ, 0, 90 + i);
		io_write_all(f, buf, 4 * FSZ - 3, 0);
		ck_assert_int_eq(gfs_fsync(f, false), 0);
		/* A sector inside block 4 (its second one when a block has several). */
		lba = lba_of(f, FSZ) + (fmt->lba_size < BS ? 1 : 0);
		gfs_release(f);
		ck_assert_int_eq(gfs_unmount(gfs), 0);
		gfs = io_mount(&im, NULL);
		f = io_open(gfs, ino);
		io_read_all(f, back, 4 * FSZ - 3, 0);
		test_check_pattern(back, 4 * FSZ - 3, 0, 90 + i);
		gfs_release(f);
		ck_assert_int_eq(gfs_unmount(gfs), 0);
		/* Flip one data byte of that sector behind the filesystem's back. */
		test_file_flip_byte(im.path, lba * fmt->lba_size + 7, 1);
		gfs = io_mount(&im, NULL);
		f = io_open(gfs, ino);
		if (fmt->type == PI_TYPE_NONE) {
			io_read_all(f, back, BS, FSZ); /* nothing can tell */
		} else {
			test_log_capture();
			ck_assert_int_eq(gfs_read(f, back, 1, FSZ), -EIO);
			gfs_log_set_hook(NULL, NULL);
			ck_assert_ptr_nonnull(strstr(test_log_last_error(), "guard"));
		}
		io_read_all(f, back, FSZ, 0); /* the folio before it is fine */
		test_check_pattern(back, FSZ, 0, 90 + i);
		gfs_release(f);
		ck_assert_int_eq(gfs_unmount(gfs), 0);
		(void)nlb;
		io_remove(&im);
		free(buf);
		free(back);
	}
}
END_TEST

static Suite *io_err_suite(void)
{
	Suite *s = suite_create("io_err");
	TCase *tc = tcase_create("err");

	tcase_add_checked_fixture(tc, io_setup, io_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, write_error_is_reported_once_per_file_and_not_cleared_by_later_success);
	tcase_add_test(tc, unseen_write_error_is_reported_to_the_next_opener);
	tcase_add_test(tc, pi_damage_fails_only_reads_touching_the_block);
	tcase_add_test(tc, partial_write_over_damaged_block_fails_with_eio);
	tcase_add_test(tc, read_io_error_fails_read_and_retry_succeeds);
	tcase_add_test(tc, every_format_round_trips_and_catches_damage);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	test_seed("io_err");
	return test_run_suite(io_err_suite());
}
