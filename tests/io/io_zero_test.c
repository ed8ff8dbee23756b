/* SPDX-License-Identifier: MIT */
/*
 * io_zero_test.c - zero range (iomap_zero_range with the dirty folio batch) and fallocate
 * ZERO_RANGE over every kind of space: hole, unwritten clean, unwritten dirty, mapped and
 * delalloc, with KEEP_SIZE on and off and ranges inside the file, crossing EOF and starting
 * past it. Contents and sizes are checked against a byte model, before and after a remount;
 * clean unwritten ranges and holes must cause no namespace I/O and create no folio.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/buffered.h"
#include "core/meta.h"
#include "tests/io/io_util.h"

#define FSZ	 16384u
#define FILE_SZ	 (8 * FSZ)
#define MODEL_SZ (12 * FSZ)

enum space { SP_HOLE, SP_UNWRITTEN_CLEAN, SP_UNWRITTEN_DIRTY, SP_MAPPED, SP_DELALLOC, SP_NR };
static const char *const space_names[] = {"hole", "unwritten-clean", "unwritten-dirty", "mapped",
					  "delalloc"};

/* A file of FILE_SZ bytes whose space is all of one kind; model holds its contents. */
static struct gfs_file *make_file(struct gfs *gfs, const char *name, enum space sp, uint8_t *model)
{
	struct gfs_file *f = io_open(gfs, io_create(gfs, name));
	uint8_t *buf = malloc(FILE_SZ);

	memset(model, 0, MODEL_SZ);
	test_pattern(buf, FILE_SZ, 0, 17);
	switch (sp) {
	case SP_HOLE:
		ck_assert_int_eq(gfs_truncate(gfs, gfs_inode_ino(gfs_file_inode(f)), FILE_SZ), 0);
		break;
	case SP_UNWRITTEN_CLEAN:
		ck_assert_int_eq(gfs_fallocate(f, 0, 0, FILE_SZ), 0);
		break;
	case SP_UNWRITTEN_DIRTY:
		ck_assert_int_eq(gfs_fallocate(f, 0, 0, FILE_SZ), 0);
		io_write_all(f, buf, FILE_SZ, 0);
		memcpy(model, buf, FILE_SZ);
		break;
	case SP_MAPPED:
		io_write_all(f, buf, FILE_SZ, 0);
		ck_assert_int_eq(gfs_fsync(f, false), 0);
		ck_assert_int_eq(gfs_inode_drop_cache(gfs_file_inode(f), 0, FILE_SZ), 0);
		memcpy(model, buf, FILE_SZ);
		break;
	case SP_DELALLOC:
		io_write_all(f, buf, FILE_SZ, 0);
		memcpy(model, buf, FILE_SZ);
		break;
	default:
		break;
	}
	free(buf);
	return f;
}

static void check_file(struct gfs_file *f, const uint8_t *model, uint64_t size, const char *what)
{
	struct meta_attr attr;
	uint8_t *buf = malloc(MODEL_SZ);
	struct gfs_inode *gi = gfs_file_inode(f);

	ck_assert_int_eq(meta_getattr(gi->gfs->meta, gfs_inode_ino(gi), &attr), 0);
	ck_assert_msg(attr.size == size, "%s: size %llu, expected %llu", what,
		      (unsigned long long)attr.size, (unsigned long long)size);
	io_read_all(f, buf, size, 0);
	/* One assertion: Check records every passing assertion (a write to its pipe). */
	for (uint64_t i = 0; i < size; i++)
		if (buf[i] != model[i])
			ck_abort_msg("%s: byte %llu is 0x%02x, expected 0x%02x", what,
				     (unsigned long long)i, buf[i], model[i]);
	free(buf);
}

struct zrange {
	uint64_t off, len;
};

/* Inside (unaligned, crossing folios), crossing EOF, starting at EOF, past EOF. */
static const struct zrange ranges[] = {
	{1000, 3 * FSZ + 123}, {FSZ, 2 * FSZ},	      {FILE_SZ - 5000, 12000},
	{FILE_SZ, 4096},       {FILE_SZ + 777, 3000}, {4095, 2},
};

START_TEST(zero_range_every_space_keep_size_and_eof_combination)
{
	uint8_t *model = malloc(MODEL_SZ);
	unsigned n = 0;

	for (int sp = 0; sp < SP_NR; sp++)
		for (int keep = 0; keep < 2; keep++)
			for (unsigned r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++) {
				struct gfs *gfs = io_mount(&io_img, NULL);
				char name[64], what[128];
				struct gfs_file *f;
				uint64_t size = FILE_SZ, off = ranges[r].off, len = ranges[r].len;
				int mode =
					GFS_FALLOC_ZERO_RANGE | (keep ? GFS_FALLOC_KEEP_SIZE : 0);
				uint64_t ino;

				snprintf(name, sizeof(name), "z%u", n++);
				snprintf(what, sizeof(what), "%s keep=%d [%llu, +%llu)",
					 space_names[sp], keep, (unsigned long long)off,
					 (unsigned long long)len);
				f = make_file(gfs, name, sp, model);
				ino = gfs_inode_ino(gfs_file_inode(f));
				ck_assert_int_eq(gfs_fallocate(f, mode, off, len), 0);
				memset(model + off, 0, len);
				if (!keep && off + len > size)
					size = off + len;
				check_file(f, model, size, what);
				gfs_release(f);
				ck_assert_int_eq(gfs_unmount(gfs), 0);
				gfs = io_mount(&io_img, NULL);
				f = io_open(gfs, ino);
				check_file(f, model, size, what);
				gfs_release(f);
				ck_assert_int_eq(gfs_unmount(gfs), 0);
			}
	free(model);
}
END_TEST

/* buffered_zero_range over clean unwritten space and holes: no I/O, no folio. */
START_TEST(zero_range_over_clean_unwritten_and_holes_does_no_io)
{
	struct gfs *gfs = io_mount(&io_img, NULL);
	uint8_t *model = malloc(MODEL_SZ);

	for (int sp = SP_HOLE; sp <= SP_UNWRITTEN_CLEAN; sp++) {
		struct gfs_file *f = make_file(gfs, sp ? "uc" : "h", sp, model);
		struct gfs_inode *gi = gfs_file_inode(f);
		struct ns_stats a, b;

		a = io_ns_stats(gfs);
		meta_inode_lock(gi->mi);
		ck_assert_int_eq(buffered_zero_range(gi, 100, FILE_SZ - 200), 0);
		ck_assert_int_eq(buffered_truncate_page(gi, 5), 0);
		meta_inode_unlock(gi->mi);
		b = io_ns_stats(gfs);
		ck_assert_uint_eq(b.reads, a.reads);
		ck_assert_uint_eq(b.writes, a.writes);
		ck_assert_uint_eq(cache_mapping_nr_folios(gi->mapping), 0);
		/* fallocate ZERO_RANGE with partial edges: still nothing read or cached. */
		a = io_ns_stats(gfs);
		ck_assert_int_eq(gfs_fallocate(f, GFS_FALLOC_ZERO_RANGE, 100, FILE_SZ - 200), 0);
		b = io_ns_stats(gfs);
		ck_assert_uint_eq(b.reads, a.reads);
		ck_assert_uint_eq(cache_mapping_nr_folios(gi->mapping), 0);
		check_file(f, model, FILE_SZ, space_names[sp]);
		gfs_release(f);
	}
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	free(model);
}
END_TEST

/* Over unwritten space with two dirty folios: only those two are zeroed, none is created. */
START_TEST(zero_range_over_unwritten_zeroes_only_dirty_folios)
{
	struct gfs *gfs = io_mount(&io_img, NULL);
	uint8_t *model = malloc(MODEL_SZ), buf[5000];
	struct gfs_file *f = make_file(gfs, "ud", SP_UNWRITTEN_CLEAN, model);
	struct gfs_inode *gi = gfs_file_inode(f);
	struct ns_stats a, b;
	struct folio *folio;

	test_pattern(buf, sizeof(buf), 2 * FSZ + 100, 3);
	io_write_all(f, buf, sizeof(buf), 2 * FSZ + 100);
	io_write_all(f, buf, sizeof(buf), 5 * FSZ + 9000);
	test_pattern(model + 2 * FSZ + 100, sizeof(buf), 2 * FSZ + 100, 3);
	test_pattern(model + 5 * FSZ + 9000, sizeof(buf), 2 * FSZ + 100, 3);
	ck_assert_uint_eq(cache_mapping_nr_folios(gi->mapping), 2);
	a = io_ns_stats(gfs);
	meta_inode_lock(gi->mi);
	ck_assert_int_eq(buffered_zero_range(gi, 2 * FSZ + 2000, 4 * FSZ), 0);
	meta_inode_unlock(gi->mi);
	b = io_ns_stats(gfs);
	memset(model + 2 * FSZ + 2000, 0, 4 * FSZ);
	ck_assert_uint_eq(b.reads, a.reads);
	ck_assert_uint_eq(b.writes, a.writes);
	ck_assert_uint_eq(cache_mapping_nr_folios(gi->mapping), 2);
	ck_assert_int_eq(cache_get_folio(gi->mapping, 5, 0, &folio), 0);
	ck_assert(folio_is_dirty(folio));
	folio_put(folio);
	check_file(f, model, FILE_SZ, "unwritten with dirty folios");
	ck_assert_int_eq(gfs_fsync(f, false), 0);
	ck_assert_int_eq(gfs_inode_drop_cache(gi, 0, FILE_SZ), 0);
	check_file(f, model, FILE_SZ, "after writeback");
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	free(model);
}
END_TEST

START_TEST(zero_range_over_mapped_reads_and_dirties_partial_blocks)
{
	struct gfs *gfs = io_mount(&io_img, NULL);
	uint8_t *model = malloc(MODEL_SZ);
	struct gfs_file *f = make_file(gfs, "m", SP_MAPPED, model);
	struct gfs_inode *gi = gfs_file_inode(f);
	struct ns_stats a, b;

	a = io_ns_stats(gfs);
	meta_inode_lock(gi->mi);
	ck_assert_int_eq(buffered_zero_range(gi, 100, 50), 0);
	meta_inode_unlock(gi->mi);
	b = io_ns_stats(gfs);
	ck_assert_uint_eq(b.reads - a.reads, 1); /* the one partial block */
	memset(model + 100, 0, 50);
	check_file(f, model, FILE_SZ, "mapped");
	ck_assert_uint_eq(cache_mapping_nr_dirty(gi->mapping), 1);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	free(model);
}
END_TEST

static Suite *io_zero_suite(void)
{
	Suite *s = suite_create("io_zero");
	TCase *tc = tcase_create("zero");

	tcase_add_checked_fixture(tc, io_setup, io_teardown);
	tcase_set_timeout(tc, 200);
	tcase_add_test(tc, zero_range_every_space_keep_size_and_eof_combination);
	tcase_add_test(tc, zero_range_over_clean_unwritten_and_holes_does_no_io);
	tcase_add_test(tc, zero_range_over_unwritten_zeroes_only_dirty_folios);
	tcase_add_test(tc, zero_range_over_mapped_reads_and_dirties_partial_blocks);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	test_seed("io_zero");
	return test_run_suite(io_zero_suite());
}
