/* SPDX-License-Identifier: MIT */
/*
 * dio_util.c - helpers of the direct I/O suites.
 */
#include "tests/dio/dio_util.h"

#include <check.h>

#include "core/meta.h"

const struct dio_test_format dio_formats[] = {
	{"512+8 type 1, 4 KiB blocks",
	 {512, 8, PI_TYPE_1, PI_GUARD_16, false, PI_MD_SEPARATE},
	 4096},
	{"4096+8 type 1", {4096, 8, PI_TYPE_1, PI_GUARD_16, false, PI_MD_SEPARATE}, 4096},
	{"4096+16 type 1, 64-bit guard",
	 {4096, 16, PI_TYPE_1, PI_GUARD_64, false, PI_MD_SEPARATE},
	 4096},
	{"4096+8 type 2", {4096, 8, PI_TYPE_2, PI_GUARD_16, false, PI_MD_SEPARATE}, 4096},
	{"4096+8 type 3", {4096, 8, PI_TYPE_3, PI_GUARD_16, false, PI_MD_SEPARATE}, 4096},
	{"4096+0 no PI", {4096, 0, PI_TYPE_NONE, PI_GUARD_16, false, PI_MD_SEPARATE}, 4096},
	{"4096+16 type 1, 16-bit guard, PI first",
	 {4096, 16, PI_TYPE_1, PI_GUARD_16, true, PI_MD_SEPARATE},
	 4096},
};
const unsigned dio_nr_formats = sizeof(dio_formats) / sizeof(dio_formats[0]);

struct gfs_file *dio_open(struct gfs *gfs, uint64_t ino, unsigned flags)
{
	struct gfs_file *f = NULL;

	ck_assert_int_eq(gfs_open(gfs, ino, flags, &f), 0);
	return f;
}

uint64_t dio_lba_of(struct gfs *gfs, uint64_t ino, uint64_t off)
{
	struct meta_inode *mi;
	struct meta_map map;
	uint32_t lba_size = ns_get_format(gfs_ns(gfs))->pi.lba_size;

	ck_assert_int_eq(meta_inode_get(gfs_meta(gfs), ino, &mi), 0);
	ck_assert_int_eq(meta_map_begin(mi, off, lba_size, META_MAP_REPORT, &map), 0);
	meta_inode_put(mi);
	ck_assert(map.type == META_MAP_MAPPED || map.type == META_MAP_UNWRITTEN);
	return (map.addr + (off - map.offset)) / lba_size;
}

void dio_assert_quiet(struct gfs *gfs)
{
	struct dio_stats st;

	dio_get_stats(gfs, &st);
	ck_assert_uint_eq(st.inflight, 0);
	ck_assert_uint_eq(st.completions, st.requests);
	ck_assert_uint_eq(st.bounce_in_use, 0);
}

void dio_teardown(struct gfs *gfs, struct io_image *img, struct gfs_file *a, struct gfs_file *b)
{
	if (a)
		gfs_release(a);
	if (b)
		gfs_release(b);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	io_remove(img);
}
