/* SPDX-License-Identifier: MIT */
/*
 * io_rw_test.c - buffered read and write through the core API on the file backend: round
 * trips, folio state observed through real I/O (partial writes at every block alignment, a
 * whole-folio write with no per-block state, N + 2 pending-byte operations for N read ranges),
 * readahead, delayed allocation and writeback merging, remount and crash survival of fsync'd
 * data, the memory budget, and parallel readers and writers.
 */
#include <check.h>
#include <errno.h>
#include <sys/stat.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buffered.h"
#include "core/meta.h"
#include "core/writeback.h"
#include "tests/io/io_util.h"

#define IMG_BYTES (48ull << 20)
#define FSZ	  16384u /* folio size of the default test mount: 4 blocks */
#define BS	  4096u

/* The cached folio at byte pos of an open file, referenced (NULL when absent). */
static struct folio *cached_folio(struct gfs_file *f, uint64_t pos)
{
	struct gfs_inode *gi = gfs_file_inode(f);
	struct folio *folio = NULL;

	if (cache_get_folio(gi->mapping, pos / cache_folio_size(gi->gfs->cache), 0, &folio))
		return NULL;
	return folio;
}

START_TEST(write_read_round_trip_survives_remount)
{
	struct gfs *gfs = io_mount(&io_img, NULL);
	uint64_t ino = io_create(gfs, "a");
	struct gfs_file *f = io_open(gfs, ino);
	size_t len = 300000;
	char *buf = malloc(len), *back = malloc(len);

	test_pattern(buf, len, 1000, 7);
	io_write_all(f, buf, len, 1000);
	io_read_all(f, back, len, 1000);
	test_check_pattern(back, len, 1000, 7);
	/* Before the write: zeros, read from the cache and the hole. */
	io_read_all(f, back, 1000, 0);
	test_check_pattern(back, 1000, 0, 0);
	ck_assert_int_eq(gfs_read(f, back, 10, 1000 + len), 0);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);

	gfs = io_mount(&io_img, NULL);
	f = io_open(gfs, ino);
	memset(back, 0, len);
	io_read_all(f, back, len, 1000);
	test_check_pattern(back, len, 1000, 7);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	free(buf);
	free(back);
}
END_TEST

/* Every (start block, end block, head offset, tail offset) class inside one 4-block folio. */
START_TEST(partial_writes_at_every_block_alignment_read_back)
{
	static const unsigned offs[] = {0, 1, 511, 2048, 4095};
	struct gfs *gfs = io_mount(&io_img, NULL);
	uint64_t ino = io_create(gfs, "p");
	struct gfs_file *f = io_open(gfs, ino);
	char *base = malloc(FSZ), *buf = malloc(FSZ), *back = malloc(FSZ);
	unsigned round = 0;

	for (unsigned sb = 0; sb < 4; sb++)
		for (unsigned eb = sb; eb < 4; eb++)
			for (unsigned i = 0; i < 5; i++)
				for (unsigned j = 0; j < 5; j++) {
					uint64_t folio_off = (uint64_t)round * FSZ;
					unsigned s = sb * BS + offs[i], e = eb * BS + offs[j] + 1;
					bool on_disk = round & 1;

					if (e <= s)
						continue;
					/* Old contents: on the namespace (evicted) or in the cache.
					 */
					test_pattern(base, FSZ, folio_off, 3);
					io_write_all(f, base, FSZ, folio_off);
					if (on_disk) {
						struct gfs_inode *gi = gfs_file_inode(f);

						ck_assert_int_eq(
							gfs_inode_drop_cache(gi, folio_off,
									     folio_off + FSZ),
							0);
					}
					test_pattern(buf, e - s, folio_off + s, 9);
					io_write_all(f, buf, e - s, folio_off + s);
					test_pattern(base + s, e - s, folio_off + s, 9);
					io_read_all(f, back, FSZ, folio_off);
					ck_assert_mem_eq(back, base, FSZ);
					round++;
				}
	ck_assert_int_gt(round, 100);
	/* And again from the namespace after writeback. */
	ck_assert_int_eq(gfs_fsync(f, false), 0);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	gfs = io_mount(&io_img, NULL);
	f = io_open(gfs, ino);
	for (unsigned r = 0; r < round; r += 37) {
		io_read_all(f, back, 16, (uint64_t)r * FSZ);
	}
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	free(base);
	free(buf);
	free(back);
}
END_TEST

START_TEST(partial_write_reads_only_uncovered_blocks)
{
	struct gfs *gfs = io_mount(&io_img, NULL);
	uint64_t ino = io_create(gfs, "r");
	struct gfs_file *f = io_open(gfs, ino);
	struct gfs_inode *gi = gfs_file_inode(f);
	char *buf = malloc(FSZ);
	struct ns_stats a, b;

	test_pattern(buf, FSZ, 0, 5);
	io_write_all(f, buf, FSZ, 0);
	ck_assert_int_eq(gfs_fsync(f, false), 0);
	ck_assert_int_eq(gfs_inode_drop_cache(gi, 0, FSZ), 0);
	a = io_ns_stats(gfs);
	/* Blocks 1 and 2 wholly overwritten, 0 and 3 partly: exactly two block reads. */
	io_write_all(f, buf, 2 * BS + 200, BS - 100);
	b = io_ns_stats(gfs);
	ck_assert_uint_eq(b.reads - a.reads, 2);
	ck_assert_uint_eq(b.bytes_read - a.bytes_read, 2 * BS);
	/* Whole blocks only: nothing read. */
	ck_assert_int_eq(gfs_fsync(f, false), 0);
	ck_assert_int_eq(gfs_inode_drop_cache(gi, 0, FSZ), 0);
	a = io_ns_stats(gfs);
	io_write_all(f, buf, 2 * BS, BS);
	b = io_ns_stats(gfs);
	ck_assert_uint_eq(b.reads - a.reads, 0);
	/* Past EOF and over a hole: zeroed, not read. */
	a = io_ns_stats(gfs);
	io_write_all(f, buf, 100, 10 * FSZ + 10);
	b = io_ns_stats(gfs);
	ck_assert_uint_eq(b.reads - a.reads, 0);
	io_read_all(f, buf, 10, 10 * FSZ);
	test_check_pattern(buf, 10, 0, 0);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	free(buf);
}
END_TEST

START_TEST(whole_folio_write_allocates_no_block_state)
{
	struct gfs *gfs = io_mount(&io_img, NULL);
	struct gfs_file *f = io_open(gfs, io_create(gfs, "w"));
	char *buf = malloc(FSZ);
	struct folio *folio;

	test_pattern(buf, FSZ, FSZ, 1);
	io_write_all(f, buf, FSZ, FSZ);
	folio = cached_folio(f, FSZ);
	ck_assert_ptr_nonnull(folio);
	ck_assert(!folio_has_state(folio));
	ck_assert(folio_is_uptodate(folio) && folio_is_dirty(folio));
	folio_put(folio);
	/* A partial write to another folio needs the bitmap. */
	io_write_all(f, buf, 100, 3 * FSZ + 5);
	folio = cached_folio(f, 3 * FSZ);
	ck_assert(folio_has_state(folio));
	ck_assert(folio_block_is_dirty(folio, 0) && !folio_block_is_dirty(folio, 1));
	folio_put(folio);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	free(buf);
}
END_TEST

/*
 * A folio whose blocks alternate mapped / hole on the namespace: a read submits N = 2 ranges
 * and zero-fills the rest, costing N + 2 operations on read_bytes_pending.
 */
START_TEST(read_of_n_ranges_costs_n_plus_2_pending_ops)
{
	struct gfs *gfs = io_mount(&io_img, NULL);
	struct gfs_file *f = io_open(gfs, io_create(gfs, "n"));
	struct gfs_inode *gi = gfs_file_inode(f);
	char *buf = malloc(FSZ), *back = malloc(FSZ);
	struct folio *folio;

	test_pattern(buf, BS, 0, 4);
	io_write_all(f, buf, BS, 0);
	test_pattern(buf, BS, 2 * BS, 4);
	io_write_all(f, buf, BS, 2 * BS);
	io_write_all(f, buf, 1, 4 * BS - 1); /* size = one folio; block 3 partly written */
	ck_assert_int_eq(gfs_fsync(f, false), 0);
	ck_assert_int_eq(gfs_inode_drop_cache(gi, 0, FSZ), 0);
	/* Now punch block 1: mapped 0, hole 1, mapped 2 and 3 (3 and 2 contiguous? not needed). */
	ck_assert_int_eq(gfs_fallocate(f, GFS_FALLOC_PUNCH_HOLE | GFS_FALLOC_KEEP_SIZE, BS, BS), 0);
	ck_assert_int_eq(gfs_inode_drop_cache(gi, 0, FSZ), 0);
	io_read_all(f, back, BS, 0);
	test_check_pattern(back, BS, 0, 4);
	folio = cached_folio(f, 0);
	ck_assert_ptr_nonnull(folio);
	ck_assert(folio_is_uptodate(folio));
	/* Ranges submitted: block 0, then blocks 2-3 (one mapping if contiguous, else two). */
	ck_assert_uint_ge(folio_pending_ops(folio), 2 + 2);
	ck_assert_uint_le(folio_pending_ops(folio), 3 + 2);
	ck_assert_uint_eq(folio_read_bytes_pending(folio), 0);
	folio_put(folio);
	io_read_all(f, back, BS, BS);
	test_check_pattern(back, BS, BS, 0);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	free(buf);
	free(back);
}
END_TEST

/* Ranges complete before the submitter's read_end (out of order): the read still ends once. */
START_TEST(read_ranges_completing_before_read_end_end_once)
{
	struct folio *folio;

	ck_assert_int_eq(folio_alloc(FSZ, BS, 0, &folio), 0);
	folio_lock(folio);
	ck_assert_int_eq(folio_read_init(folio), 0);
	/* Three ranges "submitted"; they complete in reverse order before read_end. */
	folio_finish_read_range(folio, 3 * BS, BS, 0);
	folio_finish_read_range(folio, 2 * BS, BS, 0);
	folio_finish_read_range(folio, 0, BS, 0);
	ck_assert(folio_is_locked(folio));
	ck_assert_int_eq(folio_mark_uptodate_range(folio, BS, BS), 0); /* the hole, zeroed */
	folio_read_end(folio, 3 * BS);
	ck_assert(!folio_is_locked(folio));
	ck_assert(folio_is_uptodate(folio));
	ck_assert_uint_eq(folio_pending_ops(folio), 3 + 2);
	folio_put(folio);
}
END_TEST

START_TEST(sequential_reads_grow_readahead_to_1mib_and_random_stops_it)
{
	struct gfs_opts o = io_opts_default();
	struct gfs *gfs;
	struct gfs_file *f;
	struct gfs_stats st;
	uint64_t ino, size = 8u << 20;
	char *buf = malloc(1 << 20);
	uint64_t ra_before;

	o.cache_size = 16u << 20;
	gfs = io_mount(&io_img, &o);
	ino = io_create(gfs, "ra");
	f = io_open(gfs, ino);
	for (uint64_t off = 0; off < size; off += 1 << 20) {
		test_pattern(buf, 1 << 20, off, 2);
		io_write_all(f, buf, 1 << 20, off);
	}
	ck_assert_int_eq(gfs_fsync(f, false), 0);
	ck_assert_int_eq(gfs_inode_drop_cache(gfs_file_inode(f), 0, size), 0);
	for (uint64_t off = 0; off < 4u << 20; off += 16384) {
		io_read_all(f, buf, 16384, off);
		test_check_pattern(buf, 16384, off, 2);
	}
	ck_assert_uint_ge(f->ra_window, 1u << 20);
	gfs_get_stats(gfs, &st);
	ck_assert_uint_gt(st.readahead_folios, 0);
	/* Random access: the window collapses and no more folios are read ahead. */
	ra_before = st.readahead_folios;
	for (int i = 0; i < 20; i++) {
		uint64_t off = ((uint64_t)(i * 7919 % 97) * 65536) % (size - 4096);

		io_read_all(f, buf, 4096, off);
		test_check_pattern(buf, 4096, off, 2);
		ck_assert_uint_eq(f->ra_window, 0);
	}
	gfs_get_stats(gfs, &st);
	ck_assert_uint_eq(st.readahead_folios, ra_before);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	free(buf);
}
END_TEST

START_TEST(sequential_file_lands_contiguous_in_merged_writes)
{
	struct gfs_opts o = io_opts_default();
	struct gfs *gfs;
	struct gfs_file *f;
	struct ns_stats a, b;
	struct meta_map map;
	size_t len = 4u << 20;
	char *buf = malloc(len);

	o.cache_size = 16u << 20;
	gfs = io_mount(&io_img, &o);
	f = io_open(gfs, io_create(gfs, "seq"));
	test_pattern(buf, len, 0, 8);
	for (size_t off = 0; off < len; off += 65536)
		io_write_all(f, buf + off, 65536, off);
	a = io_ns_stats(gfs);
	ck_assert_int_eq(gfs_fsync(f, false), 0);
	b = io_ns_stats(gfs);
	/* 4 MiB in ioends of at most the max transfer (1 MiB): 4 device writes of data. */
	ck_assert_uint_eq(b.bytes_written - a.bytes_written >= len, 1);
	ck_assert_uint_le(b.writes - a.writes, 4 + 4); /* + journal commits */
	ck_assert_int_eq(
		meta_map_begin(gfs_inode_meta(gfs_file_inode(f)), 0, len, META_MAP_REPORT, &map),
		0);
	ck_assert_int_eq(map.type, META_MAP_MAPPED);
	ck_assert_uint_eq(map.length, len); /* one extent */
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	free(buf);
}
END_TEST

START_TEST(fsynced_data_survives_crash_and_unsynced_file_reads_consistent)
{
	struct gfs *gfs = io_mount(&io_img, NULL);
	uint64_t a = io_create(gfs, "durable"), b;
	struct gfs_file *f = io_open(gfs, a);
	char *buf = malloc(200000), *back = malloc(200000);

	test_pattern(buf, 200000, 0, 11);
	io_write_all(f, buf, 200000, 0);
	ck_assert_int_eq(gfs_fsync(f, false), 0);
	/* Written after the fsync, never synced: may be lost, must not corrupt the rest. */
	test_pattern(buf, 5000, 300000, 12);
	io_write_all(f, buf, 5000, 300000);
	gfs_release(f);
	b = io_create(gfs, "volatile");
	f = io_open(gfs, b);
	io_write_all(f, buf, 5000, 0);
	gfs_release(f);
	gfs_abandon(gfs);

	gfs = io_mount(&io_img, NULL);
	f = io_open(gfs, a);
	io_read_all(f, back, 200000, 0);
	test_check_pattern(back, 200000, 0, 11);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	free(buf);
	free(back);
}
END_TEST

/* A workload 10x the budget: eviction and writeback keep the cache within it. */
START_TEST(workload_ten_times_budget_never_exceeds_it)
{
	struct gfs_opts o = io_opts_default();
	struct gfs *gfs;
	struct gfs_file *f;
	struct gfs_stats st;
	uint64_t size = 20u << 20;
	char *buf = malloc(65536);

	o.cache_size = 2u << 20;
	gfs = io_mount(&io_img, &o);
	f = io_open(gfs, io_create(gfs, "big"));
	for (uint64_t off = 0; off < size; off += 65536) {
		test_pattern(buf, 65536, off, 13);
		io_write_all(f, buf, 65536, off);
	}
	for (uint64_t off = 0; off < size; off += 65536) {
		io_read_all(f, buf, 65536, off);
		test_check_pattern(buf, 65536, off, 13);
	}
	gfs_get_stats(gfs, &st);
	ck_assert_uint_le(st.cache_peak_bytes, o.cache_size);
	ck_assert_uint_gt(st.evictions, 0);
	ck_assert_uint_gt(st.wb_ioends, 0);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	free(buf);
}
END_TEST

struct par_arg {
	struct gfs *gfs;
	uint64_t ino;
	uint32_t seed;
	bool write;
	int ok;
};

static void *par_main(void *p)
{
	struct par_arg *a = p;
	struct gfs_file *f = NULL;
	char *buf = malloc(32768);

	a->ok = gfs_open(a->gfs, a->ino, 0, &f) == 0;
	for (int round = 0; a->ok && round < 3; round++)
		for (uint64_t off = 0; a->ok && off < (1u << 20); off += 32768) {
			if (a->write) {
				test_pattern(buf, 32768, off, a->seed);
				a->ok = gfs_write(f, buf, 32768, off) == 32768;
			} else {
				uint8_t want[32];

				a->ok = gfs_read(f, buf, 32768, off) == 32768;
				test_pattern(want, 32, off, a->seed);
				a->ok = a->ok && !memcmp(buf, want, 32);
			}
		}
	if (f)
		gfs_release(f);
	free(buf);
	return NULL;
}

START_TEST(parallel_readers_and_writers_of_two_files_see_their_data)
{
	struct gfs_opts o = io_opts_default();
	struct par_arg args[4];
	pthread_t th[4];
	struct gfs *gfs;
	uint64_t shared;
	struct gfs_file *f;
	char *buf = malloc(1 << 20);

	o.cache_size = 8u << 20;
	gfs = io_mount(&io_img, &o);
	shared = io_create(gfs, "shared");
	f = io_open(gfs, shared);
	test_pattern(buf, 1 << 20, 0, 21);
	io_write_all(f, buf, 1 << 20, 0);
	gfs_release(f);
	args[0] = (struct par_arg){gfs, io_create(gfs, "w1"), 31, true, 0};
	args[1] = (struct par_arg){gfs, io_create(gfs, "w2"), 32, true, 0};
	args[2] = (struct par_arg){gfs, shared, 21, false, 0};
	args[3] = (struct par_arg){gfs, shared, 21, false, 0};
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, par_main, &args[i]);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(args[i].ok, "thread %d failed", i);
	}
	for (int i = 0; i < 2; i++) {
		f = io_open(gfs, args[i].ino);
		io_read_all(f, buf, 1 << 20, 0);
		test_check_pattern(buf, 1 << 20, 0, args[i].seed);
		gfs_release(f);
	}
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	free(buf);
}
END_TEST

START_TEST(bad_input_is_refused)
{
	struct gfs *gfs = io_mount(&io_img, NULL);
	struct gfs_file *f = NULL;
	struct meta_attr attr;
	struct meta_owner owner = {0, 0};
	char c = 0;

	ck_assert_int_eq(gfs_open(gfs, META_ROOT_INO, 0, &f), -EISDIR);
	ck_assert_int_eq(gfs_open(gfs, 999999, 0, &f), -ENOENT);
	ck_assert_int_eq(
		meta_mknod(gfs_meta(gfs), META_ROOT_INO, "fifo", S_IFIFO | 0644, 0, &owner, &attr),
		0);
	ck_assert_int_eq(gfs_open(gfs, attr.ino, 0, &f), -EINVAL);
	f = io_open(gfs, io_create(gfs, "x"));
	ck_assert_int_eq(gfs_write(f, &c, 1, (1ull << 63) - 1), -EFBIG);
	ck_assert_int_eq(gfs_write(f, &c, 0, 5), 0);
	ck_assert_int_eq(gfs_read(f, &c, 1, 5), 0);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
}
END_TEST

START_TEST(holes_and_unwritten_read_as_zeros_without_io)
{
	struct gfs *gfs = io_mount(&io_img, NULL);
	uint64_t ino = io_create(gfs, "z");
	struct gfs_file *f = io_open(gfs, ino);
	char *buf = malloc(8 * FSZ);
	struct ns_stats a, b;

	ck_assert_int_eq(gfs_truncate(gfs, ino, 4 * FSZ), 0);
	ck_assert_int_eq(gfs_fallocate(f, 0, 4 * FSZ, 4 * FSZ), 0);
	a = io_ns_stats(gfs);
	io_read_all(f, buf, 8 * FSZ, 0);
	b = io_ns_stats(gfs);
	test_check_pattern(buf, 8 * FSZ, 0, 0);
	ck_assert_uint_eq(b.reads, a.reads);
	/* Uptodate blocks are not read again. */
	io_write_all(f, "y", 1, 100);
	ck_assert_int_eq(gfs_fsync(f, false), 0);
	a = io_ns_stats(gfs);
	io_read_all(f, buf, FSZ, 0);
	b = io_ns_stats(gfs);
	ck_assert_uint_eq(b.reads, a.reads);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	free(buf);
}
END_TEST

/* With the periodic flusher on, dirty data older than dirty_expire_ms is written back. */
START_TEST(flusher_writes_back_expired_dirty_data)
{
	struct gfs_opts o = io_opts_default();
	struct gfs *gfs;
	struct gfs_file *f;
	struct gfs_stats st;
	char buf[FSZ];

	o.no_flusher = false;
	o.dirty_expire_ms = 100;
	o.flusher_interval_ms = 20;
	gfs = io_mount(&io_img, &o);
	f = io_open(gfs, io_create(gfs, "old"));
	memset(buf, 'o', sizeof(buf));
	io_write_all(f, buf, sizeof(buf), 0);
	/* Behaviour, not timing: wait as long as needed (the test timeout bounds it). */
	do {
		usleep(10000);
		gfs_get_stats(gfs, &st);
	} while (st.dirty_bytes || !st.wb_ioends);
	ck_assert_uint_eq(cache_mapping_nr_dirty(gfs_file_inode(f)->mapping), 0);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
}
END_TEST

struct throttle_arg {
	struct gfs_file *f;
	atomic_bool done;
	bool ok;
};

static void *throttle_writer(void *p)
{
	struct throttle_arg *a = p;
	char *buf = malloc(65536);

	a->ok = true;
	for (uint64_t off = 0; a->ok && off < (4u << 20); off += 65536) {
		test_pattern(buf, 65536, off, 55);
		a->ok = gfs_write(a->f, buf, 65536, off) == 65536;
	}
	free(buf);
	atomic_store(&a->done, true);
	return NULL;
}

/*
 * With writeback held off (the flusher paused), a writer going past the dirty limit waits in
 * cache_balance_dirty; dirty data then exceeds the limit by at most the folio it just wrote.
 * Resuming writeback lets it finish.
 */
START_TEST(writer_above_dirty_limit_waits_for_writeback)
{
	struct gfs_opts o = io_opts_default();
	struct throttle_arg arg = {0};
	struct gfs_stats st;
	struct gfs *gfs;
	pthread_t th;
	char *buf = malloc(1 << 20);

	o.cache_size = 8u << 20;
	o.dirty_bytes = 1u << 20;
	o.dirty_background_bytes = 512u << 10;
	gfs = io_mount(&io_img, &o);
	arg.f = io_open(gfs, io_create(gfs, "thr"));
	wb_pause(gfs);
	pthread_create(&th, NULL, throttle_writer, &arg);
	do {
		usleep(5000);
		gfs_get_stats(gfs, &st);
	} while (!st.throttles);
	ck_assert(!atomic_load(&arg.done));
	ck_assert_uint_le(st.dirty_bytes, o.dirty_bytes + FSZ);
	wb_resume(gfs);
	pthread_join(th, NULL);
	ck_assert(arg.ok);
	for (uint64_t off = 0; off < (4u << 20); off += 1 << 20) {
		io_read_all(arg.f, buf, 1 << 20, off);
		test_check_pattern(buf, 1 << 20, off, 55);
	}
	gfs_release(arg.f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	free(buf);
}
END_TEST

START_TEST(read_only_mount_reads_and_refuses_changes)
{
	struct gfs_opts o = io_opts_default();
	struct gfs *gfs = io_mount(&io_img, NULL);
	uint64_t ino = io_create(gfs, "ro");
	struct gfs_file *f = io_open(gfs, ino);
	char buf[100];

	test_pattern(buf, sizeof(buf), 0, 61);
	io_write_all(f, buf, sizeof(buf), 0);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	o.read_only = true;
	gfs = io_mount(&io_img, &o);
	f = io_open(gfs, ino);
	io_read_all(f, buf, sizeof(buf), 0);
	test_check_pattern(buf, sizeof(buf), 0, 61);
	ck_assert_int_eq(gfs_write(f, buf, 1, 0), -EROFS);
	ck_assert_int_eq(gfs_truncate(gfs, ino, 0), -EROFS);
	ck_assert_int_eq(gfs_fallocate(f, 0, 0, 4096), -EROFS);
	ck_assert_int_eq(gfs_fsync(f, false), 0);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
}
END_TEST

static Suite *io_rw_suite(void)
{
	Suite *s = suite_create("io_rw");
	TCase *tc = tcase_create("rw");

	tcase_add_checked_fixture(tc, io_setup, io_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, write_read_round_trip_survives_remount);
	tcase_add_test(tc, partial_writes_at_every_block_alignment_read_back);
	tcase_add_test(tc, partial_write_reads_only_uncovered_blocks);
	tcase_add_test(tc, whole_folio_write_allocates_no_block_state);
	tcase_add_test(tc, read_of_n_ranges_costs_n_plus_2_pending_ops);
	tcase_add_test(tc, read_ranges_completing_before_read_end_end_once);
	tcase_add_test(tc, sequential_reads_grow_readahead_to_1mib_and_random_stops_it);
	tcase_add_test(tc, sequential_file_lands_contiguous_in_merged_writes);
	tcase_add_test(tc, fsynced_data_survives_crash_and_unsynced_file_reads_consistent);
	tcase_add_test(tc, workload_ten_times_budget_never_exceeds_it);
	tcase_add_test(tc, parallel_readers_and_writers_of_two_files_see_their_data);
	tcase_add_test(tc, bad_input_is_refused);
	tcase_add_test(tc, holes_and_unwritten_read_as_zeros_without_io);
	tcase_add_test(tc, flusher_writes_back_expired_dirty_data);
	tcase_add_test(tc, writer_above_dirty_limit_waits_for_writeback);
	tcase_add_test(tc, read_only_mount_reads_and_refuses_changes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	test_seed("io_rw");
	io_img_bytes = IMG_BYTES; /* before the fixture runs */
	return test_run_suite(io_rw_suite());
}
