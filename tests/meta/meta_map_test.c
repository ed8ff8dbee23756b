/* SPDX-License-Identifier: MIT */
/*
 * meta_map_test.c - the mapping calls the I/O layers use: delalloc reservation, allocation at
 * writeback (contiguous for sequential files), conversion after I/O and the on-disk size, direct
 * allocation, map_end releasing short writes, validity cookies, owner tags, truncate, every
 * fallocate mode, SEEK_DATA/SEEK_HOLE, deferred reuse of freed space and fsync's flush.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mdblock.h"
#include "core/meta.h"
#include "tests/meta/meta_test_util.h"
#include "tests/meta/mt_fs.h"

#define ROOT META_ROOT_INO
#define BS   4096ull

static struct mt_image img;
static struct meta_fs *fs;
static struct meta_inode *ip;
static uint64_t ino;

static void setup(void)
{
	fs = mt_mkfs_mount(&img, 64ull << 20);
	ino = mt_create(fs, ROOT, "f");
	ck_assert_int_eq(meta_inode_get(fs, ino, &ip), 0);
}

static void teardown(void)
{
	if (ip)
		meta_inode_put(ip);
	ip = NULL;
	if (fs) {
		ck_assert_int_eq(meta_check(fs), 0);
		ck_assert_int_eq(meta_unmount(fs), 0);
	}
	fs = NULL;
	mt_remove(&img);
}

static void remount_same(void)
{
	meta_inode_put(ip);
	fs = mt_remount_same(fs, &img);
	ck_assert_int_eq(meta_inode_get(fs, ino, &ip), 0);
}

static uint64_t free_blocks(void)
{
	struct meta_statfs st;

	ck_assert_int_eq(meta_statfs(fs, &st), 0);
	return st.blocks_free;
}

/* What writeback does for one range: allocate, "write", convert with the new size. */
static struct meta_map writeback(uint64_t pos, uint64_t len)
{
	struct meta_map m;

	ck_assert_int_eq(meta_alloc_delalloc(ip, pos, len, &m), 0);
	ck_assert_int_eq(m.type, META_MAP_UNWRITTEN);
	ck_assert_int_eq(meta_convert_unwritten(ip, m.offset, m.length,
						m.offset + m.length < meta_size_read(ip)
							? m.offset + m.length
							: meta_size_read(ip)),
			 0);
	return m;
}

START_TEST(buffered_write_reserves_then_allocates_then_converts)
{
	uint64_t free0 = free_blocks();
	struct meta_map m, w;
	struct meta_attr a;

	ck_assert_int_eq(meta_map_begin(ip, 100, 3 * BS, META_MAP_WRITE, &m), 0);
	ck_assert_int_eq(m.type, META_MAP_DELALLOC);
	ck_assert(m.flags & META_MAP_F_NEW);
	ck_assert_uint_eq(m.offset, 0);
	ck_assert_uint_eq(m.length, 4 * BS);
	ck_assert_uint_eq(m.addr, META_MAP_NO_ADDR);
	ck_assert_uint_eq(free_blocks(), free0 - 4);
	ck_assert_int_eq(meta_map_end(ip, 100, 3 * BS, 3 * BS, &m), 0);
	meta_size_extend(ip, 100 + 3 * BS);
	ck_assert_int_eq(meta_getattr(fs, ino, &a), 0);
	ck_assert_uint_eq(a.size, 100 + 3 * BS);
	ck_assert_uint_eq(a.blocks, 4 * BS / 512);
	/* Nothing on disk refers to delalloc: a crash now shows an empty file. */
	w = writeback(0, 4 * BS);
	ck_assert_uint_eq(w.length, 4 * BS);
	ck_assert_uint_ge(w.addr / BS, meta_get_sb(fs)->data_start);
	ck_assert_uint_eq(w.lba, w.addr / 4096);
	ck_assert_uint_eq(free_blocks(), free0 - 4);
	ck_assert_int_eq(meta_map_begin(ip, 0, 4 * BS, 0, &m), 0);
	ck_assert_int_eq(m.type, META_MAP_MAPPED);
	ck_assert_uint_eq(m.addr, w.addr);
	ck_assert(m.flags & META_MAP_F_DIRTY);
	ck_assert_int_eq(meta_fsync(fs, ino, true), 0);
	ck_assert_int_eq(meta_map_begin(ip, 0, 4 * BS, 0, &m), 0);
	ck_assert(!(m.flags & META_MAP_F_DIRTY));
	remount_same();
	ck_assert_int_eq(meta_getattr(fs, ino, &a), 0);
	ck_assert_uint_eq(a.size, 100 + 3 * BS);
}
END_TEST

START_TEST(sequential_writeback_stays_contiguous)
{
	struct meta_map first, m;

	/* Another file allocated in between must not break this one's contiguity. */
	for (int i = 0; i < 16; i++) {
		ck_assert_int_eq(meta_map_begin(ip, i * 4 * BS, 4 * BS, META_MAP_WRITE, &m), 0);
		meta_size_extend(ip, (i + 1) * 4 * BS);
		m = writeback(i * 4 * BS, 4 * BS);
		if (i == 0)
			first = m;
		ck_assert_uint_eq(m.addr, first.addr + i * 4 * BS);
		if (i == 3) {
			uint64_t g = mt_create(fs, ROOT, "g");
			struct meta_inode *gp;

			ck_assert_int_eq(meta_inode_get(fs, g, &gp), 0);
			ck_assert_int_eq(meta_fallocate(gp, 0, 0, 8 * BS), 0);
			meta_inode_put(gp);
		}
	}
	ck_assert_int_eq(meta_map_begin(ip, 0, 64 * BS, META_MAP_REPORT, &m), 0);
	ck_assert_int_eq(m.type, META_MAP_MAPPED);
	ck_assert_uint_eq(m.length, 64 * BS);
	remount_same();
}
END_TEST

START_TEST(crash_before_conversion_leaves_unwritten_space_and_old_size)
{
	struct meta_map m;
	struct meta_attr a;

	ck_assert_int_eq(meta_map_begin(ip, 0, 2 * BS, META_MAP_WRITE, &m), 0);
	meta_size_extend(ip, 2 * BS);
	ck_assert_int_eq(meta_alloc_delalloc(ip, 0, 2 * BS, &m), 0);
	ck_assert_int_eq(m.type, META_MAP_UNWRITTEN);
	ck_assert(m.flags & META_MAP_F_NEW);
	ck_assert_int_eq(meta_syncfs(fs), 0);
	meta_inode_put(ip);
	meta_abandon(fs);
	fs = mt_mount(&img);
	ck_assert_int_eq(meta_inode_get(fs, ino, &ip), 0);
	ck_assert_int_eq(meta_getattr(fs, ino, &a), 0);
	ck_assert_uint_eq(a.size, 0);
	ck_assert_int_eq(meta_map_begin(ip, 0, 2 * BS, 0, &m), 0);
	ck_assert_int_eq(m.type, META_MAP_UNWRITTEN);
}
END_TEST

START_TEST(direct_write_allocates_unwritten_at_once)
{
	struct meta_map m, r;
	struct meta_attr a;

	ck_assert_int_eq(meta_map_begin(ip, 8 * BS, 2 * BS, META_MAP_WRITE | META_MAP_DIRECT, &m),
			 0);
	ck_assert_int_eq(m.type, META_MAP_UNWRITTEN);
	ck_assert(m.flags & META_MAP_F_NEW);
	ck_assert_uint_eq(m.offset, 8 * BS);
	ck_assert_uint_eq(m.length, 2 * BS);
	ck_assert_uint_eq(m.app_tag, meta_owner_tag(ip));
	/* Over existing unwritten space nothing new is allocated. */
	ck_assert_int_eq(meta_map_begin(ip, 8 * BS, BS, META_MAP_WRITE | META_MAP_DIRECT, &r), 0);
	ck_assert_uint_eq(r.addr, m.addr);
	ck_assert(!(r.flags & META_MAP_F_NEW));
	ck_assert_int_eq(meta_convert_unwritten(ip, 8 * BS, 2 * BS, 10 * BS), 0);
	ck_assert_int_eq(meta_getattr(fs, ino, &a), 0);
	ck_assert_uint_eq(a.size, 10 * BS);
	/* A delalloc range written directly is allocated too. */
	ck_assert_int_eq(meta_map_begin(ip, 20 * BS, BS, META_MAP_WRITE, &r), 0);
	ck_assert_int_eq(r.type, META_MAP_DELALLOC);
	ck_assert_int_eq(meta_map_begin(ip, 20 * BS, BS, META_MAP_WRITE | META_MAP_DIRECT, &r), 0);
	ck_assert_int_eq(r.type, META_MAP_UNWRITTEN);
	remount_same();
	ck_assert_int_eq(meta_map_begin(ip, 8 * BS, 2 * BS, 0, &r), 0);
	ck_assert_int_eq(r.type, META_MAP_MAPPED);
	ck_assert_uint_eq(r.addr, m.addr);
}
END_TEST

START_TEST(map_end_gives_back_what_a_short_write_did_not_use)
{
	uint64_t free0 = free_blocks();
	struct meta_map m;

	ck_assert_int_eq(meta_map_begin(ip, 0, 8 * BS, META_MAP_WRITE, &m), 0);
	ck_assert_uint_eq(free_blocks(), free0 - 8);
	ck_assert_int_eq(meta_map_end(ip, 0, 8 * BS, BS + 1, &m), 0);
	ck_assert_uint_eq(free_blocks(), free0 - 2);
	ck_assert_int_eq(meta_map_begin(ip, 2 * BS, BS, 0, &m), 0);
	ck_assert_int_eq(m.type, META_MAP_HOLE);
}
END_TEST

START_TEST(cookie_changes_when_the_map_changes)
{
	struct meta_map m;

	ck_assert_int_eq(meta_map_begin(ip, 0, BS, 0, &m), 0);
	ck_assert_int_eq(m.type, META_MAP_HOLE);
	ck_assert(meta_map_valid(ip, m.cookie));
	ck_assert_int_eq(meta_fallocate(ip, 0, 0, BS), 0);
	ck_assert(!meta_map_valid(ip, m.cookie));
	ck_assert_int_eq(meta_map_begin(ip, 0, 0, 0, &m), -EINVAL);
	ck_assert_int_eq(meta_map_begin(ip, INT64_MAX, 2, 0, &m), -EFBIG);
}
END_TEST

START_TEST(owner_tags_avoid_the_escape_and_the_metadata_tag)
{
	for (uint64_t i = 0; i < 2000000; i++) {
		uint16_t t = meta_owner_tag_ino(i);

		fast_true(t != 0xFFFF && t != MD_APP_TAG);
	}
	ck_assert_uint_eq(meta_owner_tag(ip), meta_owner_tag_ino(ino));
	ck_assert_uint_ne(meta_owner_tag_ino(2), meta_owner_tag_ino(3));
}
END_TEST

START_TEST(truncate_frees_blocks_past_eof_after_commit)
{
	struct meta_setattr sa = {.valid = META_SET_SIZE};
	uint64_t free0 = free_blocks();
	struct meta_map m, n;
	struct meta_attr a;

	ck_assert_int_eq(meta_fallocate(ip, 0, 0, 16 * BS), 0);
	ck_assert_uint_eq(free_blocks(), free0 - 16);
	ck_assert_int_eq(meta_map_begin(ip, 8 * BS, BS, 0, &m), 0);
	sa.size = 5 * BS + 1; /* keeps 6 blocks */
	ck_assert_int_eq(meta_setattr(fs, ino, &sa, &a), 0);
	ck_assert_uint_eq(a.size, 5 * BS + 1);
	ck_assert_uint_eq(a.blocks, 6 * BS / 512);
	ck_assert_uint_eq(free_blocks(), free0 - 6);
	/* Freed blocks are not reused before the truncate is durable. */
	{
		uint64_t g = mt_create(fs, ROOT, "g");
		struct meta_inode *gp;

		ck_assert_int_eq(meta_inode_get(fs, g, &gp), 0);
		ck_assert_int_eq(
			meta_map_begin(gp, 0, 10 * BS, META_MAP_WRITE | META_MAP_DIRECT, &n), 0);
		ck_assert(n.addr + n.length <= m.addr - 2 * BS || n.addr >= m.addr + 8 * BS);
		meta_inode_put(gp);
	}
	remount_same();
	ck_assert_int_eq(meta_getattr(fs, ino, &a), 0);
	ck_assert_uint_eq(a.size, 5 * BS + 1);
}
END_TEST

START_TEST(fallocate_modes_change_extents_and_size)
{
	uint64_t free0 = free_blocks();
	struct meta_map m;
	struct meta_attr a;

	ck_assert_int_eq(meta_fallocate(ip, META_FALLOC_KEEP_SIZE, 0, 4 * BS), 0);
	ck_assert_int_eq(meta_getattr(fs, ino, &a), 0);
	ck_assert_uint_eq(a.size, 0);
	ck_assert_int_eq(meta_fallocate(ip, 0, 0, 10 * BS + 5), 0);
	ck_assert_int_eq(meta_getattr(fs, ino, &a), 0);
	ck_assert_uint_eq(a.size, 10 * BS + 5);
	ck_assert_uint_eq(free_blocks(), free0 - 11);
	/* Punch frees the whole blocks inside the range only. */
	ck_assert_int_eq(
		meta_fallocate(ip, META_FALLOC_PUNCH_HOLE | META_FALLOC_KEEP_SIZE, BS + 1, 3 * BS),
		0);
	ck_assert_uint_eq(free_blocks(), free0 - 9);
	ck_assert_int_eq(meta_map_begin(ip, 2 * BS, BS, 0, &m), 0);
	ck_assert_int_eq(m.type, META_MAP_HOLE);
	ck_assert_uint_eq(m.length, BS);
	ck_assert_int_eq(meta_fallocate(ip, META_FALLOC_PUNCH_HOLE, 0, BS), -EOPNOTSUPP);
	/* Zero range: unwritten over the range, size grows. */
	ck_assert_int_eq(meta_convert_unwritten(ip, 0, BS, 0), 0);
	ck_assert_int_eq(meta_fallocate(ip, META_FALLOC_ZERO_RANGE, 0, 12 * BS), 0);
	ck_assert_int_eq(meta_map_begin(ip, 0, 12 * BS, 0, &m), 0);
	ck_assert_int_eq(m.type, META_MAP_UNWRITTEN);
	ck_assert_int_eq(meta_getattr(fs, ino, &a), 0);
	ck_assert_uint_eq(a.size, 12 * BS);
	/* Collapse and insert: aligned, inside the file. */
	ck_assert_int_eq(meta_fallocate(ip, META_FALLOC_COLLAPSE_RANGE, BS, BS + 1), -EINVAL);
	ck_assert_int_eq(meta_fallocate(ip, META_FALLOC_COLLAPSE_RANGE, 8 * BS, 4 * BS), -EINVAL);
	ck_assert_int_eq(
		meta_fallocate(ip, META_FALLOC_PUNCH_HOLE | META_FALLOC_KEEP_SIZE, 4 * BS, BS), 0);
	ck_assert_int_eq(meta_fallocate(ip, META_FALLOC_COLLAPSE_RANGE, 0, 2 * BS), 0);
	ck_assert_int_eq(meta_getattr(fs, ino, &a), 0);
	ck_assert_uint_eq(a.size, 10 * BS);
	ck_assert_int_eq(meta_map_begin(ip, 2 * BS, BS, 0, &m), 0);
	ck_assert_int_eq(m.type, META_MAP_HOLE); /* the punched block 4 moved to 2 */
	ck_assert_int_eq(meta_fallocate(ip, META_FALLOC_INSERT_RANGE, 2 * BS, 3 * BS), 0);
	ck_assert_int_eq(meta_getattr(fs, ino, &a), 0);
	ck_assert_uint_eq(a.size, 13 * BS);
	ck_assert_int_eq(meta_map_begin(ip, 2 * BS, 10 * BS, 0, &m), 0);
	ck_assert_int_eq(m.type, META_MAP_HOLE);
	ck_assert_uint_eq(m.length, 4 * BS);
	ck_assert_int_eq(meta_fallocate(ip, META_FALLOC_INSERT_RANGE, 13 * BS, BS), -EINVAL);
	ck_assert_int_eq(meta_fallocate(ip, META_FALLOC_INSERT_RANGE, 0, INT64_MAX & ~(BS - 1)),
			 -EFBIG);
	ck_assert_int_eq(meta_fallocate(ip, 0x40, 0, BS), -EOPNOTSUPP);
	ck_assert_int_eq(meta_fallocate(ip, 0, 0, 0), -EINVAL);
	remount_same();
	ck_assert_int_eq(meta_map_begin(ip, 2 * BS, 10 * BS, 0, &m), 0);
	ck_assert_uint_eq(m.length, 4 * BS);
}
END_TEST

START_TEST(seek_data_and_hole_follow_extents)
{
	uint64_t off;

	ck_assert_int_eq(meta_seek_data(ip, 0, &off), -ENXIO);
	ck_assert_int_eq(meta_fallocate(ip, 0, 4 * BS, 2 * BS), 0); /* unwritten: a hole */
	ck_assert_int_eq(meta_convert_unwritten(ip, 4 * BS, BS, 0), 0);
	ck_assert_int_eq(meta_fallocate(ip, 0, 0, 10 * BS), 0); /* size 10 blocks */
	ck_assert_int_eq(meta_convert_unwritten(ip, 8 * BS, BS, 0), 0);
	ck_assert_int_eq(meta_seek_data(ip, 0, &off), 0);
	ck_assert_uint_eq(off, 4 * BS);
	ck_assert_int_eq(meta_seek_data(ip, 4 * BS + 7, &off), 0);
	ck_assert_uint_eq(off, 4 * BS + 7);
	ck_assert_int_eq(meta_seek_hole(ip, 4 * BS, &off), 0);
	ck_assert_uint_eq(off, 5 * BS);
	ck_assert_int_eq(meta_seek_data(ip, 5 * BS, &off), 0);
	ck_assert_uint_eq(off, 8 * BS);
	ck_assert_int_eq(meta_seek_hole(ip, 8 * BS, &off), 0);
	ck_assert_uint_eq(off, 9 * BS);
	ck_assert_int_eq(meta_seek_data(ip, 9 * BS, &off), -ENXIO);
	ck_assert_int_eq(meta_seek_hole(ip, 9 * BS, &off), 0);
	ck_assert_uint_eq(off, 9 * BS);
	ck_assert_int_eq(meta_seek_hole(ip, 10 * BS, &off), -ENXIO);
}
END_TEST

START_TEST(fdatasync_of_a_pure_overwrite_still_flushes)
{
	struct ns_stats before, after;

	ck_assert_int_eq(meta_fallocate(ip, 0, 0, BS), 0);
	ck_assert_int_eq(meta_fsync(fs, ino, true), 0);
	ns_get_stats(meta_get_ns(fs), &before);
	ck_assert_int_eq(meta_fsync(fs, ino, true), 0); /* nothing left to log */
	ns_get_stats(meta_get_ns(fs), &after);
	ck_assert_uint_eq(after.flushes, before.flushes + 1);
	ck_assert_uint_eq(after.writes, before.writes);
	ck_assert_int_eq(meta_fsync(fs, 424242, false), -ENOENT);
}
END_TEST

START_TEST(mapping_calls_refuse_non_regular_files)
{
	uint64_t d = mt_mkdir(fs, ROOT, "d");
	struct meta_inode *dp;
	struct meta_map m;

	ck_assert_int_eq(meta_inode_get(fs, d, &dp), 0);
	ck_assert_int_eq(meta_map_begin(dp, 0, BS, 0, &m), -EINVAL);
	ck_assert_int_eq(meta_fallocate(dp, 0, 0, BS), -EISDIR);
	ck_assert_int_eq(meta_alloc_delalloc(dp, 0, BS, &m), -EINVAL);
	meta_inode_put(dp);
	ck_assert_int_eq(meta_alloc_delalloc(ip, 0, BS, &m), -EINVAL); /* a hole */
	ck_assert_int_eq(meta_inode_get(fs, 987654, &dp), -ENOENT);
}
END_TEST

/* Random mapping traffic; the state after remount is the same and consistent. */
START_TEST(random_mapping_ops_replay_to_the_same_state)
{
	struct test_rng rng = {test_seed("random_mapping_ops_replay")};

	for (int i = 0; i < 2000; i++) {
		uint64_t off = rng_below(&rng, 256) * BS / (1 + rng_below(&rng, 2));
		uint64_t len = (1 + rng_below(&rng, 32)) * BS;
		struct meta_setattr sa = {.valid = META_SET_SIZE};
		struct meta_map m;

		switch (rng_below(&rng, 7)) {
		case 0:
			if (!meta_map_begin(ip, off, len, META_MAP_WRITE, &m)) {
				meta_size_extend(ip, off + len);
				if (!meta_alloc_delalloc(ip, off, len, &m))
					meta_convert_unwritten(ip, m.offset, m.length,
							       m.offset + m.length);
			}
			break;
		case 1:
			meta_fallocate(ip, (int)rng_below(&rng, 2), off, len);
			break;
		case 2:
			meta_fallocate(ip, META_FALLOC_PUNCH_HOLE | META_FALLOC_KEEP_SIZE, off,
				       len);
			break;
		case 3:
			meta_fallocate(ip, META_FALLOC_COLLAPSE_RANGE, off & ~(BS - 1), BS);
			break;
		case 4:
			meta_fallocate(ip, META_FALLOC_INSERT_RANGE, off & ~(BS - 1), BS);
			break;
		case 5:
			sa.size = off;
			meta_setattr(fs, ino, &sa, NULL);
			break;
		case 6:
			meta_fallocate(ip, META_FALLOC_ZERO_RANGE, off, len);
			break;
		}
		if (i % 500 == 250)
			ck_assert_int_eq(meta_checkpoint(fs), 0);
	}
	/* Reservations left by case 0 are dropped by writeback in real use; convert them. */
	ck_assert_int_eq(meta_check(fs), 0);
	remount_same();
	ck_assert_int_eq(meta_check(fs), 0);
}
END_TEST

static Suite *meta_map_suite(void)
{
	Suite *s = suite_create("meta_map");
	TCase *tc = tcase_create("map");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, buffered_write_reserves_then_allocates_then_converts);
	tcase_add_test(tc, sequential_writeback_stays_contiguous);
	tcase_add_test(tc, crash_before_conversion_leaves_unwritten_space_and_old_size);
	tcase_add_test(tc, direct_write_allocates_unwritten_at_once);
	tcase_add_test(tc, map_end_gives_back_what_a_short_write_did_not_use);
	tcase_add_test(tc, cookie_changes_when_the_map_changes);
	tcase_add_test(tc, owner_tags_avoid_the_escape_and_the_metadata_tag);
	tcase_add_test(tc, truncate_frees_blocks_past_eof_after_commit);
	tcase_add_test(tc, fallocate_modes_change_extents_and_size);
	tcase_add_test(tc, seek_data_and_hole_follow_extents);
	tcase_add_test(tc, fdatasync_of_a_pure_overwrite_still_flushes);
	tcase_add_test(tc, mapping_calls_refuse_non_regular_files);
	tcase_add_test(tc, random_mapping_ops_replay_to_the_same_state);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(meta_map_suite());
}
