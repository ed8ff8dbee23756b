/* SPDX-License-Identifier: MIT */
/*
 * io_space_test.c - truncate, punch hole, collapse and insert range, SEEK_DATA / SEEK_HOLE and
 * copy_file_range through the core API: contents and sizes against a byte model, with data
 * cached dirty, cached clean and only on the namespace, across remounts; alignment refusals.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/meta.h"
#include "tests/io/io_util.h"

#define FSZ	 16384u
#define BS	 4096u
#define MODEL_SZ (16 * FSZ)

static uint64_t file_size(struct gfs_file *f)
{
	struct gfs_inode *gi = gfs_file_inode(f);
	struct meta_attr attr;

	ck_assert_int_eq(meta_getattr(gi->gfs->meta, gfs_inode_ino(gi), &attr), 0);
	return attr.size;
}

static void check_model(struct gfs_file *f, const uint8_t *model, uint64_t size, const char *w)
{
	uint8_t *buf = malloc(MODEL_SZ);

	ck_assert_msg(file_size(f) == size, "%s: size %llu expected %llu", w,
		      (unsigned long long)file_size(f), (unsigned long long)size);
	if (size)
		io_read_all(f, buf, size, 0);
	/* One assertion: Check records every passing assertion (a write to its pipe). */
	for (uint64_t i = 0; i < size; i++)
		if (buf[i] != model[i])
			ck_abort_msg("%s: byte %llu is 0x%02x, expected 0x%02x", w,
				     (unsigned long long)i, buf[i], model[i]);
	free(buf);
}

/* Fill [0, len) with a pattern; state 0 dirty in cache, 1 clean cached, 2 only on disk. */
static void fill(struct gfs_file *f, uint8_t *model, uint64_t len, int state)
{
	test_pattern(model, len, 0, 23);
	io_write_all(f, model, len, 0);
	if (state >= 1)
		ck_assert_int_eq(gfs_fsync(f, false), 0);
	if (state == 2)
		ck_assert_int_eq(gfs_inode_drop_cache(gfs_file_inode(f), 0, MODEL_SZ), 0);
}

START_TEST(truncate_shrink_zeroes_eof_tail_and_grow_reads_zeros)
{
	uint8_t *model = malloc(MODEL_SZ);

	for (int state = 0; state < 3; state++) {
		struct gfs *gfs = io_mount(&io_img, NULL);
		char name[16];
		uint64_t ino;
		struct gfs_file *f;

		snprintf(name, sizeof(name), "t%d", state);
		ino = io_create(gfs, name);
		f = io_open(gfs, ino);
		memset(model, 0, MODEL_SZ);
		fill(f, model, 5 * FSZ, state);
		/* Shrink into the middle of a block: the tail must not come back. */
		ck_assert_int_eq(gfs_truncate(gfs, ino, 2 * FSZ + 1234), 0);
		memset(model + 2 * FSZ + 1234, 0, MODEL_SZ - 2 * FSZ - 1234);
		check_model(f, model, 2 * FSZ + 1234, "shrunk");
		ck_assert_int_eq(gfs_truncate(gfs, ino, 4 * FSZ + 5), 0);
		check_model(f, model, 4 * FSZ + 5, "grown");
		/* Write past EOF: the gap reads as zeros. */
		io_write_all(f, "x", 1, 6 * FSZ);
		model[6 * FSZ] = 'x';
		check_model(f, model, 6 * FSZ + 1, "written past EOF");
		ck_assert_int_eq(gfs_truncate(gfs, ino, 0), 0);
		check_model(f, model, 0, "empty");
		ck_assert_int_eq(gfs_truncate(gfs, ino, 3 * FSZ), 0);
		memset(model, 0, MODEL_SZ);
		check_model(f, model, 3 * FSZ, "regrown");
		gfs_release(f);
		ck_assert_int_eq(gfs_unmount(gfs), 0);
		gfs = io_mount(&io_img, NULL);
		f = io_open(gfs, ino);
		check_model(f, model, 3 * FSZ, "remounted");
		gfs_release(f);
		ck_assert_int_eq(gfs_unmount(gfs), 0);
	}
	free(model);
}
END_TEST

START_TEST(punch_collapse_insert_match_model_in_every_cache_state)
{
	uint8_t *model = malloc(MODEL_SZ), *tmp = malloc(MODEL_SZ);

	for (int state = 0; state < 3; state++) {
		struct gfs *gfs = io_mount(&io_img, NULL);
		char name[16];
		uint64_t ino, size = 8 * FSZ;
		struct gfs_file *f;

		snprintf(name, sizeof(name), "s%d", state);
		ino = io_create(gfs, name);
		f = io_open(gfs, ino);
		memset(model, 0, MODEL_SZ);
		fill(f, model, size, state);
		/* Punch an unaligned range: partial blocks zeroed, whole ones freed. */
		ck_assert_int_eq(gfs_fallocate(f, GFS_FALLOC_PUNCH_HOLE | GFS_FALLOC_KEEP_SIZE,
					       1000, 3 * BS),
				 0);
		memset(model + 1000, 0, 3 * BS);
		check_model(f, model, size, "punched");
		/* Collapse two blocks at block 5. */
		ck_assert_int_eq(gfs_fallocate(f, GFS_FALLOC_COLLAPSE_RANGE, 5 * BS, 2 * BS), 0);
		memmove(model + 5 * BS, model + 7 * BS, size - 7 * BS);
		size -= 2 * BS;
		memset(model + size, 0, MODEL_SZ - size);
		check_model(f, model, size, "collapsed");
		/* Insert three blocks at block 2: zeros there, the rest shifted. */
		ck_assert_int_eq(gfs_fallocate(f, GFS_FALLOC_INSERT_RANGE, 2 * BS, 3 * BS), 0);
		memcpy(tmp, model, size);
		memset(model + 2 * BS, 0, 3 * BS);
		memcpy(model + 5 * BS, tmp + 2 * BS, size - 2 * BS);
		size += 3 * BS;
		check_model(f, model, size, "inserted");
		ck_assert_int_eq(gfs_fsync(f, false), 0);
		gfs_release(f);
		ck_assert_int_eq(gfs_unmount(gfs), 0);
		gfs = io_mount(&io_img, NULL);
		f = io_open(gfs, ino);
		check_model(f, model, size, "remounted");
		gfs_release(f);
		ck_assert_int_eq(gfs_unmount(gfs), 0);
	}
	free(model);
	free(tmp);
}
END_TEST

START_TEST(fallocate_refuses_bad_modes_and_misaligned_shifts)
{
	struct gfs *gfs = io_mount(&io_img, NULL);
	struct gfs_file *f = io_open(gfs, io_create(gfs, "bad"));
	uint8_t *model = malloc(MODEL_SZ);

	fill(f, model, 4 * FSZ, 0);
	ck_assert_int_eq(gfs_fallocate(f, GFS_FALLOC_PUNCH_HOLE, 0, BS), -EOPNOTSUPP);
	ck_assert_int_eq(gfs_fallocate(f, 0x40, 0, BS), -EOPNOTSUPP);
	ck_assert_int_eq(gfs_fallocate(f, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(gfs_fallocate(f, GFS_FALLOC_COLLAPSE_RANGE, 100, BS), -EINVAL);
	ck_assert_int_eq(gfs_fallocate(f, GFS_FALLOC_COLLAPSE_RANGE, BS, 100), -EINVAL);
	ck_assert_int_eq(gfs_fallocate(f, GFS_FALLOC_INSERT_RANGE, BS + 1, BS), -EINVAL);
	/* Collapse reaching EOF and insert at EOF are refused too. */
	ck_assert_int_eq(gfs_fallocate(f, GFS_FALLOC_COLLAPSE_RANGE, 2 * FSZ, 2 * FSZ), -EINVAL);
	ck_assert_int_eq(gfs_fallocate(f, GFS_FALLOC_INSERT_RANGE, 4 * FSZ, BS), -EINVAL);
	check_model(f, model, 4 * FSZ, "unchanged");
	/* Mode 0 grows, KEEP_SIZE does not. */
	ck_assert_int_eq(gfs_fallocate(f, GFS_FALLOC_KEEP_SIZE, 4 * FSZ, 2 * FSZ), 0);
	ck_assert_uint_eq(file_size(f), 4 * FSZ);
	ck_assert_int_eq(gfs_fallocate(f, 0, 4 * FSZ, 2 * FSZ + 7), 0);
	ck_assert_uint_eq(file_size(f), 6 * FSZ + 7);
	memset(model + 4 * FSZ, 0, 2 * FSZ + 7);
	check_model(f, model, 6 * FSZ + 7, "preallocated");
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	free(model);
}
END_TEST

static uint64_t seek(struct gfs_file *f, uint64_t off, int whence, int expect)
{
	uint64_t out = UINT64_MAX;
	int ret = gfs_lseek(f, off, whence, &out);

	ck_assert_msg(ret == expect, "lseek(%llu, %d) = %d, expected %d", (unsigned long long)off,
		      whence, ret, expect);
	return out;
}

START_TEST(seek_data_and_hole_edge_cases)
{
	struct gfs *gfs = io_mount(&io_img, NULL);
	struct gfs_file *f = io_open(gfs, io_create(gfs, "seek"));
	uint64_t ino = gfs_inode_ino(gfs_file_inode(f));
	char buf[BS];

	/* Empty file: ENXIO everywhere. */
	seek(f, 0, GFS_SEEK_DATA, -ENXIO);
	seek(f, 0, GFS_SEEK_HOLE, -ENXIO);
	/* [0, BS) data, hole to 3 BS, [3 BS, 3 BS + 100) data: the last block is partial. */
	memset(buf, 'a', sizeof(buf));
	io_write_all(f, buf, BS, 0);
	io_write_all(f, buf, 100, 3 * BS);
	ck_assert_uint_eq(seek(f, 0, GFS_SEEK_DATA, 0), 0);
	ck_assert_uint_eq(seek(f, 0, GFS_SEEK_HOLE, 0), BS);
	ck_assert_uint_eq(seek(f, BS + 5, GFS_SEEK_DATA, 0), 3 * BS);
	ck_assert_uint_eq(seek(f, 3 * BS + 50, GFS_SEEK_DATA, 0), 3 * BS + 50);
	ck_assert_uint_eq(seek(f, 3 * BS + 50, GFS_SEEK_HOLE, 0), 3 * BS + 100);
	seek(f, 3 * BS + 100, GFS_SEEK_DATA, -ENXIO); /* at EOF */
	seek(f, 3 * BS + 100, GFS_SEEK_HOLE, -ENXIO);
	/* The same once written back (mapped instead of delalloc). */
	ck_assert_int_eq(gfs_fsync(f, false), 0);
	ck_assert_uint_eq(seek(f, BS, GFS_SEEK_DATA, 0), 3 * BS);
	ck_assert_uint_eq(seek(f, 3 * BS + 99, GFS_SEEK_HOLE, 0), 3 * BS + 100);
	/* Unwritten without dirty data is a hole; past EOF preallocation changes nothing. */
	ck_assert_int_eq(gfs_truncate(gfs, ino, 8 * BS), 0);
	ck_assert_int_eq(gfs_fallocate(f, GFS_FALLOC_KEEP_SIZE, 4 * BS, 8 * BS), 0);
	ck_assert_uint_eq(seek(f, 4 * BS, GFS_SEEK_HOLE, 0), 4 * BS);
	seek(f, 4 * BS, GFS_SEEK_DATA, -ENXIO);
	/* Dirty data over unwritten space is data, block granular. */
	io_write_all(f, buf, 10, 6 * BS + 20);
	ck_assert_uint_eq(seek(f, 4 * BS, GFS_SEEK_DATA, 0), 6 * BS);
	ck_assert_uint_eq(seek(f, 6 * BS + 100, GFS_SEEK_DATA, 0), 6 * BS + 100);
	ck_assert_uint_eq(seek(f, 6 * BS, GFS_SEEK_HOLE, 0), 7 * BS);
	/* Written back: mapped, still data. */
	ck_assert_int_eq(gfs_fsync(f, false), 0);
	ck_assert_uint_eq(seek(f, 4 * BS, GFS_SEEK_DATA, 0), 6 * BS);
	ck_assert_uint_eq(seek(f, 6 * BS, GFS_SEEK_HOLE, 0), 7 * BS);
	ck_assert_uint_eq(seek(f, 7 * BS, GFS_SEEK_HOLE, 0), 7 * BS);
	/* The virtual hole at EOF. */
	seek(f, 7 * BS + 1, GFS_SEEK_DATA, -ENXIO);
	ck_assert_uint_eq(seek(f, 7 * BS + 1, GFS_SEEK_HOLE, 0), 7 * BS + 1);
	seek(f, 0, 0, -EINVAL);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
}
END_TEST

START_TEST(copy_file_range_copies_and_refuses_overlap)
{
	struct gfs *gfs = io_mount(&io_img, NULL);
	struct gfs_file *a = io_open(gfs, io_create(gfs, "ca"));
	struct gfs_file *b = io_open(gfs, io_create(gfs, "cb"));
	uint8_t *model = malloc(MODEL_SZ), *buf = malloc(MODEL_SZ);

	fill(a, model, 5 * FSZ + 17, 1);
	ck_assert_int_eq(gfs_copy_file_range(a, 100, b, 7, 3 * FSZ), 3 * FSZ);
	io_read_all(b, buf, 3 * FSZ, 7);
	ck_assert_mem_eq(buf, model + 100, 3 * FSZ);
	/* Short at EOF of the source. */
	ck_assert_int_eq(gfs_copy_file_range(a, 5 * FSZ, b, 0, FSZ), 17);
	ck_assert_int_eq(gfs_copy_file_range(a, 0, a, 100, 200), -EINVAL);
	ck_assert_int_eq(gfs_copy_file_range(a, 0, a, 6 * FSZ, 200), 200);
	gfs_release(a);
	gfs_release(b);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	free(model);
	free(buf);
}
END_TEST

static Suite *io_space_suite(void)
{
	Suite *s = suite_create("io_space");
	TCase *tc = tcase_create("space");

	tcase_add_checked_fixture(tc, io_setup, io_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, truncate_shrink_zeroes_eof_tail_and_grow_reads_zeros);
	tcase_add_test(tc, punch_collapse_insert_match_model_in_every_cache_state);
	tcase_add_test(tc, fallocate_refuses_bad_modes_and_misaligned_shifts);
	tcase_add_test(tc, seek_data_and_hole_edge_cases);
	tcase_add_test(tc, copy_file_range_copies_and_refuses_overlap);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	test_seed("io_space");
	return test_run_suite(io_space_suite());
}
