/* SPDX-License-Identifier: MIT */
/*
 * dio_test.c - direct I/O through the core API: alignment refusals, round trips over every
 * format and request size, holes, unwritten extents, EOF, sub-block zeroing, size updates,
 * O_DSYNC, coherence with the cache, the invalidation hook and the async API.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/meta.h"
#include "tests/dio/dio_util.h"

#define MiB (1024ull * 1024)

static uint64_t seed;

static uint64_t rnd(void)
{
	return test_xorshift64(&seed);
}

static uint64_t file_size(struct gfs *gfs, uint64_t ino)
{
	struct meta_attr a;

	ck_assert_int_eq(meta_getattr(gfs_meta(gfs), ino, &a), 0);
	return a.size;
}

START_TEST(misaligned_offsets_and_lengths_are_einval)
{
	static const uint64_t bad_off[] = {1, 512, 2048, 4095, 4097};
	static const uint64_t bad_len[] = {1, 511, 512, 4095, 4097, 8191};
	struct pi_format fmt = test_format_default();
	struct io_image img;
	struct gfs *gfs;
	struct gfs_file *f;
	struct ns_stats before, after;
	char *buf = malloc(3 * 8192);
	uint64_t ino;

	gfs = io_mkfs_mount(&img, &fmt, 16 * MiB, 0);
	ino = io_create(gfs, "f");
	f = dio_open(gfs, ino, GFS_O_DIRECT);
	test_pattern(buf, 8192, 0, 7);
	ck_assert_int_eq(gfs_write(f, buf, 8192, 0), 8192);
	test_log_capture();
	before = io_ns_stats(gfs);
	for (unsigned i = 0; i < sizeof(bad_off) / sizeof(bad_off[0]); i++) {
		ck_assert_int_eq(gfs_read(f, buf, 4096, bad_off[i]), -EINVAL);
		ck_assert_int_eq(gfs_write(f, buf, 4096, bad_off[i]), -EINVAL);
	}
	for (unsigned i = 0; i < sizeof(bad_len) / sizeof(bad_len[0]); i++) {
		ck_assert_int_eq(gfs_read(f, buf, bad_len[i], 0), -EINVAL);
		ck_assert_int_eq(gfs_write(f, buf, bad_len[i], 0), -EINVAL);
		ck_assert_int_eq(gfs_read(f, buf, bad_len[i], 4096 + 1), -EINVAL);
	}
	after = io_ns_stats(gfs);
	ck_assert_uint_eq(after.reads, before.reads);
	ck_assert_uint_eq(after.writes, before.writes);
	ck_assert_uint_eq(test_log_errors(), 0); /* a refusal is not an error of the filesystem */
	/* The buffer needs no alignment: we bounce. Nothing changed either. */
	ck_assert_int_eq(gfs_read(f, buf + 1, 8192, 0), 8192);
	test_check_pattern(buf + 1, 8192, 0, 7);
	ck_assert_int_eq(gfs_read(f, buf, 0, 4096), 0);
	ck_assert_int_eq(gfs_write(f, buf, 0, 4096), 0);
	ck_assert_uint_eq(file_size(gfs, ino), 8192);
	dio_assert_quiet(gfs);
	gfs_log_set_hook(NULL, NULL);
	dio_teardown(gfs, &img, f, NULL);
	free(buf);
}
END_TEST

static void never_called(void *arg, ssize_t result)
{
	ck_abort_msg("a refused request completed (%zd)", result);
	(void)arg;
}

/* Refusals other than alignment: each its errno, nothing sent to the namespace, no log error. */
START_TEST(bad_requests_are_refused_with_their_errno)
{
	const uint64_t max = (1ull << 63) - 1;
	struct pi_format fmt = test_format_default();
	struct gfs_opts o = io_opts_default();
	struct ns_stats before, after;
	struct iovec iov;
	struct io_image img;
	struct gfs *gfs;
	struct gfs_file *f;
	char *buf = calloc(1, 8192);
	uint64_t ino;

	gfs = io_mkfs_mount(&img, &fmt, 16 * MiB, 0);
	ino = io_create(gfs, "f");
	f = dio_open(gfs, ino, GFS_O_DIRECT);
	iov = (struct iovec){buf, 4096};
	test_log_capture();
	before = io_ns_stats(gfs);
	/* Past the largest file: EFBIG, as a write there could never be made. */
	ck_assert_int_eq(gfs_write(f, buf, 8192, (max & ~4095ull) - 4096), -EFBIG);
	ck_assert_int_eq(dio_submit_write(f, &iov, 1, max & ~4095ull, never_called, NULL), -EFBIG);
	/* No buffers, or a negative count of them. */
	ck_assert_int_eq(dio_submit_read(f, NULL, 1, 0, never_called, NULL), -EINVAL);
	ck_assert_int_eq(dio_submit_read(f, &iov, -1, 0, never_called, NULL), -EINVAL);
	ck_assert_int_eq(dio_submit_write(f, NULL, 1, 0, never_called, NULL), -EINVAL);
	after = io_ns_stats(gfs);
	ck_assert_uint_eq(after.reads, before.reads);
	ck_assert_uint_eq(after.writes, before.writes);
	ck_assert_uint_eq(file_size(gfs, ino), 0);
	dio_assert_quiet(gfs);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);

	/* A read-only mount: direct writes get EROFS, direct reads work. */
	o.read_only = true;
	gfs = io_mount(&img, &o);
	f = dio_open(gfs, ino, GFS_O_DIRECT);
	ck_assert_int_eq(gfs_write(f, buf, 4096, 0), -EROFS);
	ck_assert_int_eq(dio_submit_write(f, &iov, 1, 0, never_called, NULL), -EROFS);
	ck_assert_int_eq(gfs_read(f, buf, 4096, 0), 0); /* an empty file */
	ck_assert_uint_eq(test_log_errors(), 0);
	gfs_log_set_hook(NULL, NULL);
	dio_assert_quiet(gfs);
	dio_teardown(gfs, &img, f, NULL);
	free(buf);
}
END_TEST

START_TEST(lba_alignment_and_fsblock_option)
{
	struct pi_format fmt = dio_formats[0].fmt; /* 512+8, 4 KiB blocks */
	struct gfs_opts o = io_opts_default();
	struct io_image img;
	struct gfs *gfs;
	struct gfs_file *f;
	char buf[8192];
	uint64_t ino;

	gfs = io_mkfs_mount(&img, &fmt, 16 * MiB, 4096);
	ino = io_create(gfs, "f");
	f = dio_open(gfs, ino, GFS_O_DIRECT);
	test_pattern(buf, 512, 512, 3);
	ck_assert_int_eq(gfs_write(f, buf, 512, 512), 512);
	ck_assert_int_eq(gfs_read(f, buf, 1024, 0), 1024);
	test_check_pattern(buf, 512, 0, 0);
	test_check_pattern(buf + 512, 512, 512, 3);
	ck_assert_int_eq(gfs_read(f, buf, 100, 0), -EINVAL);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);

	o.dio_fsblock = true;
	gfs = io_mount(&img, &o);
	f = dio_open(gfs, ino, GFS_O_DIRECT);
	ck_assert_int_eq(gfs_read(f, buf, 512, 512), -EINVAL);
	ck_assert_int_eq(gfs_write(f, buf, 512, 0), -EINVAL);
	ck_assert_int_eq(gfs_read(f, buf, 4096, 512), -EINVAL);
	test_pattern(buf, 8192, 4096, 5);
	ck_assert_int_eq(gfs_write(f, buf, 8192, 4096), 8192);
	ck_assert_int_eq(gfs_read(f, buf, 8192, 0), 8192);
	test_check_pattern(buf, 512, 0, 0);
	test_check_pattern(buf + 512, 512, 512, 3);
	test_check_pattern(buf + 4096, 4096, 4096, 5);
	dio_teardown(gfs, &img, f, NULL);
}
END_TEST

/* One DIO write of len at off against the model, read back direct and buffered. */
/* Nothing in flight: close both files and unmount, then mount again and reopen ino direct. */
static struct gfs *remount_direct(struct gfs *gfs, struct io_image *img, struct gfs_file **fd,
				  struct gfs_file *fb, uint64_t ino)
{
	dio_assert_quiet(gfs);
	gfs_release(*fd);
	gfs_release(fb);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	gfs = io_mount(img, NULL);
	*fd = dio_open(gfs, ino, GFS_O_DIRECT);
	return gfs;
}

static void round_trip(struct gfs_file *fd, struct gfs_file *fb, uint8_t *model, uint64_t *size,
		       uint64_t off, uint64_t len, uint32_t pat, uint8_t *buf)
{
	test_pattern(buf, len, off, pat);
	ck_assert_int_eq(gfs_write(fd, buf, len, off), (ssize_t)len);
	memcpy(model + off, buf, len);
	if (off + len > *size)
		*size = off + len;
	memset(buf, 0xA5, len);
	ck_assert_int_eq(gfs_read(fd, buf, len, off), (ssize_t)len);
	ck_assert_msg(!memcmp(buf, model + off, len), "direct read of %" PRIu64 "@%" PRIu64, len,
		      off);
	memset(buf, 0xA5, len);
	ck_assert_int_eq(gfs_read(fb, buf, len, off), (ssize_t)len);
	ck_assert_msg(!memcmp(buf, model + off, len), "buffered read of %" PRIu64 "@%" PRIu64, len,
		      off);
}

START_TEST(round_trips_every_format_and_size)
{
	const struct dio_test_format *tf = &dio_formats[_i];
	uint32_t lba = tf->fmt.lba_size;
	const uint64_t sizes[] = {lba, 4096,	  3 * lba,	     64 * 1024, MiB - lba,
				  MiB, MiB + lba, 3 * MiB + 8 * lba, 8 * MiB};
	const uint64_t span = 20 * MiB;
	uint8_t *model = calloc(1, span), *buf = malloc(8 * MiB + 4096);
	struct io_image img;
	struct gfs *gfs;
	struct gfs_file *fd, *fb;
	uint64_t ino, size = 0;

	printf("format %s\n", tf->name);
	gfs = io_mkfs_mount(&img, &tf->fmt, 96 * MiB, tf->block_size);
	ino = io_create(gfs, "f");
	fd = dio_open(gfs, ino, GFS_O_DIRECT);
	fb = dio_open(gfs, ino, 0);
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t len = sizes[i];
		uint64_t off = (rnd() % ((span - len) / lba)) * lba;

		uint64_t half = gfs_round_down(len / 2, lba) ? gfs_round_down(len / 2, lba) : lba;

		round_trip(fd, fb, model, &size, off, len, (uint32_t)(i + 1), buf);
		/* Half of it again, off the fs-block grid where LBAs are smaller than blocks. */
		off += lba < 4096 ? 3 * lba : 0;
		round_trip(fd, fb, model, &size, off, half, (uint32_t)(i + 100), buf);
	}
	ck_assert_uint_eq(file_size(gfs, ino), size);
	/* The whole file in one request, holes included, direct then buffered. */
	ck_assert_int_eq(gfs_read(fd, buf, 8 * MiB, 0), (ssize_t)(8 * MiB));
	ck_assert(!memcmp(buf, model, 8 * MiB));
	/* And after a remount, from the namespace alone. */
	gfs = remount_direct(gfs, &img, &fd, fb, ino);
	ck_assert_uint_eq(file_size(gfs, ino), size);
	for (uint64_t off = 0; off < size; off += 8 * MiB) {
		uint64_t n = gfs_min(8 * MiB, size - off);

		ck_assert_int_eq(gfs_read(fd, buf, 8 * MiB, off), (ssize_t)n);
		ck_assert(!memcmp(buf, model + off, n));
	}
	dio_teardown(gfs, &img, fd, NULL);
	free(model);
	free(buf);
}
END_TEST

/* Pieces of direct writes so far: all of them, and those sent from the caller's memory. */
static void count_pieces(struct gfs *gfs, uint64_t *pieces, uint64_t *in_place)
{
	struct gfs_stats s;
	struct dio_stats d;

	gfs_get_stats(gfs, &s);
	dio_get_stats(gfs, &d);
	*pieces = d.pieces;
	*in_place = s.dio_in_place;
}

static void stable_write(struct gfs *gfs, struct gfs_file *fd, uint8_t *model, uint8_t *mem,
			 uint64_t off, uint64_t len, uint32_t pat, bool expect_in_place)
{
	uint64_t pieces0, in_place0, pieces, in_place;

	count_pieces(gfs, &pieces0, &in_place0);
	test_pattern(mem, len, off, pat);
	ck_assert_int_eq(gfs_write_stable(fd, mem, len, off), (ssize_t)len);
	memcpy(model + off, mem, len);
	count_pieces(gfs, &pieces, &in_place);
	pieces -= pieces0;
	in_place -= in_place0;
	ck_assert_uint_ge(pieces, 1);
	ck_assert_msg(in_place == (expect_in_place ? pieces : 0),
		      "%" PRIu64 "@%" PRIu64 ": %" PRIu64 " of %" PRIu64 " pieces in place", len,
		      off, in_place, pieces);
}

/*
 * A stable write goes to the device from the caller's memory, with PI generated over it there,
 * wherever the memory suits the device and nothing needs zeroing; anything else takes the
 * bounce. Either way every block reads back: direct (PI verified), buffered, after a remount.
 */
START_TEST(stable_writes_skip_the_bounce_where_they_can)
{
	const struct dio_test_format *tf = &dio_formats[_i];
	uint32_t lba = tf->fmt.lba_size;
	const uint64_t span = 8 * MiB;
	uint8_t *model = calloc(1, span), *buf = malloc(span);
	uint8_t *mem = aligned_alloc(4096, 4 * MiB + 4096);
	struct io_image img;
	struct gfs *gfs;
	struct gfs_file *fd, *fb;
	uint64_t ino;

	printf("format %s\n", tf->name);
	gfs = io_mkfs_mount(&img, &tf->fmt, 48 * MiB, tf->block_size);
	ino = io_create(gfs, "f");
	fd = dio_open(gfs, ino, GFS_O_DIRECT);
	fb = dio_open(gfs, ino, 0);
	/* Whole fs blocks (in every format) into a hole, several pieces: all of it in place. */
	stable_write(gfs, fd, model, mem, 0, 3 * MiB + 8 * lba, 1, true);
	/* Overwrites of mapped blocks, one LBA and a few, from an LBA-aligned address. */
	stable_write(gfs, fd, model, mem + lba, 5 * lba, lba, 2, true);
	stable_write(gfs, fd, model, mem + lba, MiB + 3 * lba, 7 * lba, 3, true);
	/* Memory off the LBA grid: the bounce, as for any caller. */
	stable_write(gfs, fd, model, mem + 8, 2 * MiB, 16 * lba, 4, false);
	/* Into a hole: where an LBA is smaller than a block, the head and tail need zeros. */
	stable_write(gfs, fd, model, mem, 6 * MiB + lba, lba, 5, lba == tf->block_size);
	/* Extending the file, whole blocks. */
	stable_write(gfs, fd, model, mem, 7 * MiB, MiB, 6, true);
	memset(buf, 0xA5, span);
	ck_assert_int_eq(gfs_read(fd, buf, span, 0), (ssize_t)span);
	ck_assert(!memcmp(buf, model, span));
	memset(buf, 0xA5, span);
	ck_assert_int_eq(gfs_read(fb, buf, span, 0), (ssize_t)span);
	ck_assert(!memcmp(buf, model, span));
	gfs = remount_direct(gfs, &img, &fd, fb, ino);
	memset(buf, 0xA5, span);
	ck_assert_int_eq(gfs_read(fd, buf, span, 0), (ssize_t)span);
	ck_assert(!memcmp(buf, model, span));
	dio_teardown(gfs, &img, fd, NULL);
	free(mem);
	free(buf);
	free(model);
}
END_TEST

/* A lent read of [off, off + len) gives what the model holds, up to EOF, then its slot back. */
static void lend_check(struct gfs *gfs, struct gfs_file *fd, const uint8_t *model, uint64_t size,
		       uint64_t off, uint64_t len)
{
	uint64_t want = off >= size ? 0 : gfs_min(len, size - off);
	struct dio_lend lend;
	struct dio_stats st;

	ck_assert_int_eq(dio_read_lend(fd, len, off, &lend), (ssize_t)want);
	dio_get_stats(gfs, &st);
	ck_assert_uint_eq(st.bounce_in_use, 1);
	ck_assert_msg(!memcmp(lend.data, model + off, want), "lent read of %" PRIu64 "@%" PRIu64,
		      len, off);
	dio_lend_release(&lend);
	dio_get_stats(gfs, &st);
	ck_assert_uint_eq(st.bounce_in_use, 0);
}

/*
 * A lent read hands over the bounce slot its blocks were read and verified in, with holes,
 * unwritten extents and EOF as a copied read has them, and takes nothing more than that slot.
 */
START_TEST(lent_reads_hand_over_verified_bytes)
{
	const struct dio_test_format *tf = &dio_formats[_i];
	uint32_t lba = tf->fmt.lba_size;
	const uint64_t span = 4 * MiB;
	uint8_t *model = calloc(1, span), *buf = malloc(span);
	struct io_image img;
	struct gfs *gfs;
	struct gfs_file *fd, *fb;
	struct dio_lend lend = {.data = NULL};
	struct dio_stats st;
	struct gfs_stats gs;
	uint64_t ino, size, slot;

	printf("format %s\n", tf->name);
	gfs = io_mkfs_mount(&img, &tf->fmt, 32 * MiB, tf->block_size);
	ino = io_create(gfs, "f");
	fd = dio_open(gfs, ino, GFS_O_DIRECT);
	fb = dio_open(gfs, ino, 0);
	/* Data, a hole, data through the cache (written back first), an unwritten extent. */
	test_pattern(buf, MiB, 0, 1);
	ck_assert_int_eq(gfs_write(fd, buf, MiB, 0), (ssize_t)MiB);
	memcpy(model, buf, MiB);
	test_pattern(buf, 64 * 1024, MiB + 256 * 1024, 2);
	ck_assert_int_eq(gfs_write(fb, buf, 64 * 1024, MiB + 256 * 1024), 64 * 1024);
	memcpy(model + MiB + 256 * 1024, buf, 64 * 1024);
	ck_assert_int_eq(gfs_fallocate(fb, 0, 2 * MiB, MiB), 0);
	size = 3 * MiB - 1000;
	ck_assert_int_eq(gfs_truncate(gfs, ino, size), 0);
	dio_get_stats(gfs, &st);
	slot = st.bounce_bytes / 32;
	lend_check(gfs, fd, model, size, 0, lba);
	lend_check(gfs, fd, model, size, 3 * lba, 64 * 1024);
	lend_check(gfs, fd, model, size, 0, slot);
	lend_check(gfs, fd, model, size, MiB - 8 * lba, 512 * 1024); /* data, hole, data */
	lend_check(gfs, fd, model, size, 2 * MiB - 4096, 8192);	     /* hole, unwritten */
	lend_check(gfs, fd, model, size, 3 * MiB - 8192, 8192);	     /* short at EOF */
	lend_check(gfs, fd, model, size, 3 * MiB, lba);		     /* past EOF: 0 */
	gfs_get_stats(gfs, &gs);
	ck_assert_uint_eq(gs.dio_reads_lent, 7);
	/* Refused before any I/O, nothing held: misaligned, and more than a slot. */
	ck_assert_int_eq(dio_read_lend(fd, lba, 1, &lend), -EINVAL);
	ck_assert_int_eq(dio_read_lend(fd, slot + lba, 0, &lend), -E2BIG);
	ck_assert_ptr_null(lend.data);
	dio_assert_quiet(gfs);
	dio_teardown(gfs, &img, fd, fb);
	free(buf);
	free(model);
}
END_TEST

START_TEST(holes_unwritten_and_eof_read_without_io)
{
	struct pi_format fmt = test_format_default();
	struct io_image img;
	struct gfs *gfs;
	struct gfs_file *fd, *fb;
	uint8_t *buf = malloc(4 * MiB);
	struct ns_stats before, after;
	uint64_t ino;

	gfs = io_mkfs_mount(&img, &fmt, 32 * MiB, 0);
	ino = io_create(gfs, "f");
	fd = dio_open(gfs, ino, GFS_O_DIRECT);
	fb = dio_open(gfs, ino, 0);
	test_pattern(buf, 4096, 0, 1);
	ck_assert_int_eq(gfs_write(fd, buf, 4096, 0), 4096);
	test_pattern(buf, 4096, MiB, 2);
	ck_assert_int_eq(gfs_write(fd, buf, 4096, MiB), 4096);
	/* A hole between two blocks: zeros, and only the mapped blocks cause reads. */
	memset(buf, 0xA5, 2 * MiB);
	before = io_ns_stats(gfs);
	ck_assert_int_eq(gfs_read(fd, buf, MiB + 4096, 0), (ssize_t)(MiB + 4096));
	after = io_ns_stats(gfs);
	ck_assert_uint_eq(after.reads - before.reads, 2);
	test_check_pattern(buf, 4096, 0, 1);
	test_check_pattern(buf + 4096, MiB - 4096, 4096, 0);
	test_check_pattern(buf + MiB, 4096, MiB, 2);
	/* Unwritten extents (fallocate) read as zeros without I/O, past the old EOF too. */
	ck_assert_int_eq(gfs_fallocate(fb, 0, 2 * MiB, MiB), 0);
	ck_assert_uint_eq(file_size(gfs, ino), 3 * MiB);
	memset(buf, 0xA5, MiB);
	before = io_ns_stats(gfs);
	ck_assert_int_eq(gfs_read(fd, buf, MiB, 2 * MiB), (ssize_t)MiB);
	after = io_ns_stats(gfs);
	ck_assert_uint_eq(after.reads, before.reads);
	test_check_pattern(buf, MiB, 0, 0);
	/* A write into the middle of the unwritten extent converts just that. */
	test_pattern(buf, 8192, 2 * MiB + 8192, 3);
	ck_assert_int_eq(gfs_write(fd, buf, 8192, 2 * MiB + 8192), 8192);
	memset(buf, 0xA5, 65536);
	ck_assert_int_eq(gfs_read(fb, buf, 65536, 2 * MiB), 65536);
	test_check_pattern(buf, 8192, 0, 0);
	test_check_pattern(buf + 8192, 8192, 2 * MiB + 8192, 3);
	test_check_pattern(buf + 16384, 65536 - 16384, 0, 0);
	/* EOF: reads are short, and nothing at or past it. */
	ck_assert_int_eq(gfs_truncate(gfs, ino, 3 * MiB - 1000), 0);
	memset(buf, 0xA5, 8192);
	ck_assert_int_eq(gfs_read(fd, buf, 8192, 3 * MiB - 8192), 8192 - 1000);
	test_check_pattern(buf, 8192 - 1000, 0, 0);
	ck_assert_uint_eq(buf[8192 - 1000], 0xA5);
	ck_assert_int_eq(gfs_read(fd, buf, 4096, 3 * MiB), 0);
	ck_assert_int_eq(gfs_read(fd, buf, 4096, 64 * MiB), 0);
	/* A file of 1000 bytes written through the cache: one short direct read. */
	ck_assert_int_eq(gfs_truncate(gfs, ino, 0), 0);
	test_pattern(buf, 1000, 0, 9);
	ck_assert_int_eq(gfs_write(fb, buf, 1000, 0), 1000);
	memset(buf, 0xA5, 4096);
	ck_assert_int_eq(gfs_read(fd, buf, 4096, 0), 1000);
	test_check_pattern(buf, 1000, 0, 9);
	ck_assert_uint_eq(buf[1000], 0xA5);
	dio_assert_quiet(gfs);
	dio_teardown(gfs, &img, fd, fb);
	free(buf);
}
END_TEST

START_TEST(sub_block_head_and_tail_of_new_blocks_are_zeroed)
{
	struct pi_format fmt = dio_formats[0].fmt; /* 512+8, 4 KiB blocks */
	struct io_image img;
	struct gfs *gfs;
	struct gfs_file *fd, *fb;
	uint8_t buf[16384];
	uint64_t ino;

	gfs = io_mkfs_mount(&img, &fmt, 16 * MiB, 4096);
	ino = io_create(gfs, "f");
	fd = dio_open(gfs, ino, GFS_O_DIRECT);
	fb = dio_open(gfs, ino, 0);
	test_log_capture();
	/* Into a hole, extending: head [0, 1024) and tail [1536, 4096) must be on the device. */
	test_pattern(buf, 512, 1024, 4);
	ck_assert_int_eq(gfs_write(fd, buf, 512, 1024), 512);
	ck_assert_uint_eq(file_size(gfs, ino), 1536);
	/* Into an unwritten extent, not extending. */
	ck_assert_int_eq(gfs_fallocate(fb, GFS_FALLOC_KEEP_SIZE, 8192, 4096), 0);
	ck_assert_int_eq(gfs_truncate(gfs, ino, 16384), 0);
	test_pattern(buf, 1024, 8192 + 2048, 5);
	ck_assert_int_eq(gfs_write(fd, buf, 1024, 8192 + 2048), 1024);
	gfs_release(fd);
	gfs_release(fb);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	/* Every LBA of both blocks reads back with valid PI, zeros around the payload. */
	gfs = io_mount(&img, NULL);
	fd = dio_open(gfs, ino, GFS_O_DIRECT);
	memset(buf, 0xA5, sizeof(buf));
	ck_assert_int_eq(gfs_read(fd, buf, 16384, 0), 16384);
	test_check_pattern(buf, 1024, 0, 0);
	test_check_pattern(buf + 1024, 512, 1024, 4);
	test_check_pattern(buf + 1536, 8192 + 2048 - 1536, 0, 0);
	test_check_pattern(buf + 8192 + 2048, 1024, 8192 + 2048, 5);
	test_check_pattern(buf + 8192 + 3072, 16384 - 8192 - 3072, 0, 0);
	ck_assert_uint_eq(test_log_errors(), 0);
	gfs_log_set_hook(NULL, NULL);
	dio_teardown(gfs, &img, fd, NULL);
}
END_TEST

START_TEST(reads_cross_extent_boundaries)
{
	struct pi_format fmt = test_format_default();
	struct io_image img;
	struct gfs *gfs;
	struct gfs_file *a, *b;
	uint8_t *buf = malloc(4 * MiB);
	uint64_t ia, ib, lba_prev = 0;
	unsigned jumps = 0;

	gfs = io_mkfs_mount(&img, &fmt, 32 * MiB, 0);
	ia = io_create(gfs, "a");
	ib = io_create(gfs, "b");
	a = dio_open(gfs, ia, GFS_O_DIRECT);
	b = dio_open(gfs, ib, GFS_O_DIRECT);
	/*
	 * Allocate backwards and alternate between two files: a's 64 KiB extents are not
	 * contiguous on the namespace, whatever goal the allocator aims for.
	 */
	for (uint64_t off = 2 * MiB - 65536; off < 2 * MiB; off -= 65536) {
		test_pattern(buf, 65536, off, 11);
		ck_assert_int_eq(gfs_write(a, buf, 65536, off), 65536);
		test_pattern(buf, 65536, off, 12);
		ck_assert_int_eq(gfs_write(b, buf, 65536, off), 65536);
	}
	for (uint64_t off = 0; off < 2 * MiB; off += 65536) {
		uint64_t lba = dio_lba_of(gfs, ia, off);

		jumps += off && lba != lba_prev + 16;
		lba_prev = lba;
	}
	ck_assert_uint_gt(jumps, 8);
	memset(buf, 0xA5, 2 * MiB);
	ck_assert_int_eq(gfs_read(a, buf, 2 * MiB, 0), (ssize_t)(2 * MiB));
	test_check_pattern(buf, 2 * MiB, 0, 11);
	ck_assert_int_eq(gfs_read(b, buf, 2 * MiB - 8192, 4096), (ssize_t)(2 * MiB - 8192));
	test_check_pattern(buf, 2 * MiB - 8192, 4096, 12);
	/* An overwrite across the boundaries. */
	test_pattern(buf, MiB + 8192, 65536 - 4096, 13);
	ck_assert_int_eq(gfs_write(a, buf, MiB + 8192, 65536 - 4096), (ssize_t)(MiB + 8192));
	ck_assert_int_eq(gfs_read(a, buf, 2 * MiB, 0), (ssize_t)(2 * MiB));
	test_check_pattern(buf, 65536 - 4096, 0, 11);
	test_check_pattern(buf + 65536 - 4096, MiB + 8192, 65536 - 4096, 13);
	test_check_pattern(buf + 65536 + MiB + 4096, MiB - 65536 - 4096, 65536 + MiB + 4096, 11);
	dio_assert_quiet(gfs);
	dio_teardown(gfs, &img, a, b);
	free(buf);
}
END_TEST

START_TEST(dsync_uses_fua_for_overwrites_and_commits_otherwise)
{
	struct pi_format fmt = test_format_default();
	struct io_image img;
	struct gfs *gfs;
	struct gfs_file *f;
	struct dio_stats st;
	uint8_t buf[65536];
	uint64_t ino;

	gfs = io_mkfs_mount(&img, &fmt, 16 * MiB, 0);
	ino = io_create(gfs, "f");
	f = dio_open(gfs, ino, GFS_O_DIRECT | GFS_O_DSYNC);
	test_pattern(buf, sizeof(buf), 0, 21);
	ck_assert_int_eq(gfs_write(f, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	dio_get_stats(gfs, &st);
	ck_assert_uint_eq(st.syncs, 1);
	ck_assert_uint_eq(st.fua_writes, 0);
	/* The pool is there and idle: slots for at least this request, none held. */
	ck_assert_uint_ge(st.bounce_bytes, sizeof(buf));
	ck_assert_uint_eq(st.bounce_in_use, 0);
	test_pattern(buf, sizeof(buf), 0, 22);
	ck_assert_int_eq(gfs_write(f, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	dio_get_stats(gfs, &st);
	ck_assert_uint_eq(st.syncs, 1);
	ck_assert_uint_eq(st.fua_writes, 1);
	/* Durable before completion: a crash right now keeps both the data and the size. */
	gfs_release(f);
	gfs_abandon(gfs);
	gfs = io_mount(&img, NULL);
	f = dio_open(gfs, ino, GFS_O_DIRECT);
	ck_assert_uint_eq(file_size(gfs, ino), sizeof(buf));
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(gfs_read(f, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	test_check_pattern(buf, sizeof(buf), 0, 22);
	dio_teardown(gfs, &img, f, NULL);
}
END_TEST

struct inval_log {
	pthread_mutex_t lock;
	unsigned calls;
	uint64_t ino, lo, hi;
};

static void inval_hook(void *arg, uint64_t ino, uint64_t off, uint64_t len)
{
	struct inval_log *l = arg;

	pthread_mutex_lock(&l->lock);
	l->calls++;
	l->ino = ino;
	l->lo = off;
	l->hi = off + len;
	pthread_mutex_unlock(&l->lock);
}

START_TEST(cache_stays_coherent_and_front_end_is_told)
{
	struct pi_format fmt = dio_formats[0].fmt; /* 512+8: DIO inside cached folios */
	struct inval_log log = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct io_image img;
	struct gfs *gfs;
	struct gfs_file *fd, *fb;
	uint8_t buf[65536];
	uint64_t ino;

	gfs = io_mkfs_mount(&img, &fmt, 16 * MiB, 4096);
	gfs_set_inval_hook(gfs, inval_hook, &log);
	ino = io_create(gfs, "f");
	fd = dio_open(gfs, ino, GFS_O_DIRECT);
	fb = dio_open(gfs, ino, 0);
	/* Buffered write (dirty in the cache), then a direct read sees it. */
	test_pattern(buf, sizeof(buf), 0, 31);
	ck_assert_int_eq(gfs_write(fb, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(gfs_read(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	test_check_pattern(buf, sizeof(buf), 0, 31);
	/* Cache it through a buffered read, then a direct write of a sub-block range. */
	ck_assert_int_eq(gfs_read(fb, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	test_pattern(buf, 1024, 4096 + 512, 32);
	log.calls = 0;
	ck_assert_int_eq(gfs_write(fd, buf, 1024, 4096 + 512), 1024);
	ck_assert_uint_ge(log.calls, 1);
	ck_assert_uint_eq(log.ino, ino);
	ck_assert_uint_le(log.lo, 4096 + 512);
	ck_assert_uint_ge(log.hi, 4096 + 1536);
	/* The buffered read after it sees the new bytes and the old ones around them. */
	ck_assert_int_eq(gfs_read(fb, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	test_check_pattern(buf, 4096 + 512, 0, 31);
	test_check_pattern(buf + 4096 + 512, 1024, 4096 + 512, 32);
	test_check_pattern(buf + 4096 + 1536, sizeof(buf) - 4096 - 1536, 4096 + 1536, 31);
	/* A buffered write partly over it, not yet written back, then a direct read. */
	test_pattern(buf, 700, 4096 + 1000, 33);
	ck_assert_int_eq(gfs_write(fb, buf, 700, 4096 + 1000), 700);
	ck_assert_int_eq(gfs_read(fd, buf, 4096, 4096), 4096);
	test_check_pattern(buf, 512, 4096, 31);
	test_check_pattern(buf + 512, 1000 - 512, 4096 + 512, 32);
	test_check_pattern(buf + 1000, 700, 4096 + 1000, 33);
	test_check_pattern(buf + 1700, 4096 - 1700, 4096 + 1700, 31);
	dio_assert_quiet(gfs);
	dio_teardown(gfs, &img, fd, fb);
}
END_TEST

static uint64_t inval_skipped(struct gfs *gfs)
{
	struct gfs_stats st;

	gfs_get_stats(gfs, &st);
	return st.dio_inval_skipped;
}

/* One direct write of len bytes of the given pattern at off; returns the hook calls it made. */
static unsigned inval_calls_of_write(struct gfs_file *f, struct inval_log *log, uint8_t *buf,
				     size_t len, uint64_t off, unsigned pattern)
{
	test_pattern(buf, len, off, pattern);
	log->calls = 0;
	ck_assert_int_eq(gfs_write(f, buf, len, off), (ssize_t)len);
	return log->calls;
}

/*
 * A front end that drops its own pages of a direct write's range (gfs_set_upper_drops_dio)
 * hears of a direct write only when a file without GFS_O_DIRECT is open, or when the write
 * changed bytes outside its own pages (the old EOF block's tail); one that does not hears of
 * every one. Both hook calls of a write (before and after) are counted as skipped otherwise.
 */
START_TEST(front_end_hears_of_direct_writes_only_where_it_may_cache)
{
	struct pi_format fmt = dio_formats[0].fmt; /* 512+8: sub-page writes */
	struct inval_log log = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct io_image img;
	struct gfs *gfs;
	struct gfs_file *fd, *fb;
	uint8_t buf[16384];
	uint64_t ino, skipped;

	gfs = io_mkfs_mount(&img, &fmt, 16 * MiB, 4096);
	gfs_set_inval_hook(gfs, inval_hook, &log);
	gfs_set_upper_drops_dio(gfs, 4096);
	ino = io_create(gfs, "f");
	fd = dio_open(gfs, ino, GFS_O_DIRECT);
	skipped = inval_skipped(gfs);
	/* Only the direct file open: an allocating write, an overwrite, a sub-page write. */
	ck_assert_uint_eq(inval_calls_of_write(fd, &log, buf, 8192, 0, 41), 0);
	ck_assert_uint_eq(inval_calls_of_write(fd, &log, buf, 4096, 4096, 42), 0);
	ck_assert_uint_eq(inval_calls_of_write(fd, &log, buf, 512, 1024, 43), 0);
	ck_assert_uint_eq(inval_skipped(gfs), skipped + 6);
	/* A write past EOF zeroes the old EOF block's tail, outside its own pages: told. */
	ck_assert_int_eq(gfs_truncate(gfs, ino, 6000), 0);
	ck_assert_uint_ge(inval_calls_of_write(fd, &log, buf, 4096, 12288, 44), 1);
	ck_assert_uint_le(log.lo, 6000);
	/* With a buffered file open, every direct write is told; after its release, none. */
	fb = dio_open(gfs, ino, 0);
	ck_assert_uint_ge(inval_calls_of_write(fd, &log, buf, 4096, 0, 45), 1);
	ck_assert_uint_eq(log.lo, 0);
	ck_assert_uint_ge(log.hi, 4096);
	gfs_release(fb);
	skipped = inval_skipped(gfs);
	ck_assert_uint_eq(inval_calls_of_write(fd, &log, buf, 4096, 0, 46), 0);
	ck_assert_uint_eq(inval_skipped(gfs), skipped + 2);
	/* A front end that said nothing hears of each write. */
	gfs_set_upper_drops_dio(gfs, 0);
	ck_assert_uint_ge(inval_calls_of_write(fd, &log, buf, 4096, 0, 47), 2);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(gfs_read(fd, buf, 16384, 0), 16384);
	test_check_pattern(buf, 4096, 0, 47);
	test_check_pattern(buf + 4096, 6000 - 4096, 4096, 42);
	for (unsigned i = 6000; i < 12288; i++)
		ck_assert_uint_eq(buf[i], 0);
	test_check_pattern(buf + 12288, 4096, 12288, 44);
	dio_assert_quiet(gfs);
	dio_teardown(gfs, &img, fd, NULL);
}
END_TEST

struct async_state {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned done, on_submitter;
	unsigned calls[32];
	ssize_t results[32];
	pthread_t submitter;
};

struct async_slot {
	struct async_state *st;
	unsigned idx;
};

static void async_end(void *arg, ssize_t result)
{
	struct async_slot *s = arg;
	struct async_state *st = s->st;

	pthread_mutex_lock(&st->lock);
	st->calls[s->idx]++;
	st->results[s->idx] = result;
	st->on_submitter += pthread_equal(pthread_self(), st->submitter) != 0;
	st->done++;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

static void async_wait(struct async_state *st, unsigned n)
{
	pthread_mutex_lock(&st->lock);
	while (st->done < n)
		pthread_cond_wait(&st->cond, &st->lock);
	pthread_mutex_unlock(&st->lock);
}

START_TEST(async_requests_complete_once_off_the_submitting_thread)
{
	struct pi_format fmt = test_format_default();
	struct async_state st = {.lock = PTHREAD_MUTEX_INITIALIZER,
				 .cond = PTHREAD_COND_INITIALIZER};
	struct async_slot slots[32];
	struct io_image img;
	struct gfs *gfs;
	struct gfs_file *f;
	uint8_t *buf = malloc(16 * 65536), *rbuf = malloc(16 * 65536);
	uint64_t ino;

	gfs = io_mkfs_mount(&img, &fmt, 32 * MiB, 0);
	ino = io_create(gfs, "f");
	f = dio_open(gfs, ino, GFS_O_DIRECT);
	st.submitter = pthread_self();
	test_pattern(buf, 16 * 65536, 0, 41);
	/* 16 writes in flight from one thread: allocating, then 16 reads. */
	for (unsigned i = 0; i < 16; i++) {
		struct iovec iov = {buf + i * 65536, 65536};

		slots[i] = (struct async_slot){&st, i};
		ck_assert_int_eq(dio_submit_write(f, &iov, 1, i * 65536, async_end, &slots[i]), 0);
	}
	/* The caller's write buffer is free for reuse as soon as submission returned. */
	memset(buf, 0, 16 * 65536);
	async_wait(&st, 16);
	memset(rbuf, 0xA5, 16 * 65536);
	for (unsigned i = 0; i < 16; i++) {
		/* Two iovecs per read, split inside a block. */
		struct iovec iov[2] = {{rbuf + i * 65536, 1000}, {rbuf + i * 65536 + 1000, 64536}};

		slots[16 + i] = (struct async_slot){&st, 16 + i};
		ck_assert_int_eq(dio_submit_read(f, iov, 2, i * 65536, async_end, &slots[16 + i]),
				 0);
	}
	async_wait(&st, 32);
	for (unsigned i = 0; i < 32; i++) {
		ck_assert_uint_eq(st.calls[i], 1);
		ck_assert_int_eq(st.results[i], 65536);
	}
	ck_assert_uint_eq(st.on_submitter, 0);
	test_check_pattern(rbuf, 16 * 65536, 0, 41);
	ck_assert_uint_eq(file_size(gfs, ino), 16 * 65536);
	/* Refusals return at once and never call back. */
	{
		struct iovec iov = {buf, 100};

		ck_assert_int_eq(dio_submit_read(f, &iov, 1, 0, async_end, &slots[0]), -EINVAL);
	}
	dio_assert_quiet(gfs);
	ck_assert_uint_eq(st.done, 32);
	dio_teardown(gfs, &img, f, NULL);
	free(buf);
	free(rbuf);
}
END_TEST

static void count_end(void *arg, ssize_t result)
{
	struct async_state *st = arg;

	pthread_mutex_lock(&st->lock);
	st->results[st->done++] = result;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

/* inode_dio_wait: truncate, fallocate and buffered writes wait for async requests in flight. */
START_TEST(truncate_and_buffered_writes_wait_for_async_direct_io)
{
	struct pi_format fmt = test_format_default();
	struct async_state st = {.lock = PTHREAD_MUTEX_INITIALIZER,
				 .cond = PTHREAD_COND_INITIALIZER};
	struct io_image img;
	struct gfs *gfs;
	struct gfs_file *fd, *fb;
	uint8_t *buf = malloc(4 * MiB);
	struct iovec iov = {buf, 4 * MiB};
	uint64_t ino;

	gfs = io_mkfs_mount(&img, &fmt, 32 * MiB, 0);
	ino = io_create(gfs, "f");
	fd = dio_open(gfs, ino, GFS_O_DIRECT);
	fb = dio_open(gfs, ino, 0);
	test_pattern(buf, 4 * MiB, 0, 61);
	ck_assert_int_eq(dio_submit_write(fd, &iov, 1, 0, count_end, &st), 0);
	ck_assert_int_eq(gfs_truncate(gfs, ino, MiB), 0);
	/*
	 * The write's completion work (conversion, size update) ran before the truncate: a write
	 * completing after it would have grown the file back to 4 MiB. (The callback itself may
	 * still be running, as the kernel's ki_complete after inode_dio_end.)
	 */
	async_wait(&st, 1);
	ck_assert_int_eq(st.results[0], (ssize_t)(4 * MiB));
	ck_assert_uint_eq(file_size(gfs, ino), MiB);
	ck_assert_int_eq(dio_submit_read(fd, &iov, 1, 0, count_end, &st), 0);
	ck_assert_int_eq(gfs_fallocate(fb, GFS_FALLOC_PUNCH_HOLE | GFS_FALLOC_KEEP_SIZE, 0, 4096),
			 0);
	async_wait(&st, 2);
	ck_assert_int_eq(st.results[1], (ssize_t)MiB);
	test_check_pattern(buf, MiB, 0, 61); /* read before the punch */
	test_pattern(buf, 2 * MiB, 0, 62);
	iov.iov_len = 2 * MiB;
	ck_assert_int_eq(dio_submit_write(fd, &iov, 1, 0, count_end, &st), 0);
	/* A buffered write into a block of it: its read-modify-write sees the direct data. */
	ck_assert_int_eq(gfs_write(fb, buf, 100, 4096 + 10), 100);
	async_wait(&st, 3);
	ck_assert_int_eq(gfs_read(fb, buf, 2 * MiB, 0), (ssize_t)(2 * MiB));
	test_check_pattern(buf, 4096 + 10, 0, 62);
	test_check_pattern(buf + 4096 + 110, 2 * MiB - 4096 - 110, 4096 + 110, 62);
	dio_assert_quiet(gfs);
	dio_teardown(gfs, &img, fd, fb);
	free(buf);
}
END_TEST

static void *parallel_writer(void *arg)
{
	struct gfs_file *f = arg;
	uint8_t buf[16384];

	for (unsigned round = 0; round < 50; round++) {
		uint64_t off = (uint64_t)(round % 8) * 16384;

		test_pattern(buf, sizeof(buf), off, 51);
		ck_assert_int_eq(gfs_write(f, buf, sizeof(buf), off), (ssize_t)sizeof(buf));
	}
	return NULL;
}

START_TEST(parallel_overwrites_and_buffered_io_of_one_file)
{
	struct pi_format fmt = test_format_default();
	struct io_image img;
	struct gfs *gfs;
	struct gfs_file *fd, *fb;
	pthread_t th[3];
	uint8_t *buf = malloc(MiB);
	uint64_t ino;

	gfs = io_mkfs_mount(&img, &fmt, 32 * MiB, 0);
	ino = io_create(gfs, "f");
	fd = dio_open(gfs, ino, GFS_O_DIRECT);
	fb = dio_open(gfs, ino, 0);
	test_pattern(buf, MiB, 0, 51);
	ck_assert_int_eq(gfs_write(fd, buf, MiB, 0), (ssize_t)MiB);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, parallel_writer, i == 2 ? fb : fd),
				 0);
	for (unsigned round = 0; round < 50; round++) {
		ck_assert_int_eq(gfs_read(round & 1 ? fd : fb, buf, 131072, 0), 131072);
		test_check_pattern(buf, 131072, 0, 51);
	}
	for (unsigned i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(gfs_read(fd, buf, MiB, 0), (ssize_t)MiB);
	test_check_pattern(buf, MiB, 0, 51);
	dio_assert_quiet(gfs);
	dio_teardown(gfs, &img, fd, fb);
	free(buf);
}
END_TEST

/* Each block of buf is one byte value throughout: the data of a single write. */
static void assert_blocks_whole(const uint8_t *buf, size_t len)
{
	for (size_t b = 0; b < len; b += 4096)
		for (size_t i = 1; i < 4096; i++)
			ck_assert_msg(buf[b + i] == buf[b], "block at %zu mixes %#x and %#x", b,
				      buf[b], buf[b + i]);
}

struct overlap_writer {
	struct gfs_file *f;
	uint8_t base;
};

/* 64 KiB direct writes over the same range, each with its own byte value. */
static void *overlap_writer(void *arg)
{
	const struct overlap_writer *w = arg;
	uint8_t *buf = aligned_alloc(4096, 65536);

	for (unsigned round = 0; round < 200; round++) {
		memset(buf, w->base + (round % 64), 65536);
		ck_assert_int_eq(gfs_write(w->f, buf, 65536, 0), 65536);
	}
	free(buf);
	return NULL;
}

/*
 * Overlapping direct writes with different contents, and direct reads among them: as on a
 * device, each block ends up with one write's data and that write's PI, and no read fails its
 * PI check or returns a block mixing two writes (ns_order.h; before it, blocks failed PI).
 */
START_TEST(overlapping_direct_writes_leave_whole_blocks_with_their_pi)
{
	struct pi_format fmt = test_format_default();
	struct overlap_writer w[2];
	struct io_image img;
	struct gfs *gfs;
	struct gfs_file *fd, *fb;
	pthread_t th[2];
	uint8_t *buf = aligned_alloc(4096, 65536);
	uint64_t ino;

	gfs = io_mkfs_mount(&img, &fmt, 32 * MiB, 0);
	ino = io_create(gfs, "f");
	fd = dio_open(gfs, ino, GFS_O_DIRECT);
	fb = dio_open(gfs, ino, 0);
	memset(buf, 1, 65536);
	ck_assert_int_eq(gfs_write(fd, buf, 65536, 0), 65536);
	for (unsigned i = 0; i < 2; i++) {
		w[i] = (struct overlap_writer){fd, (uint8_t)(64 + 64 * i)};
		ck_assert_int_eq(pthread_create(&th[i], NULL, overlap_writer, &w[i]), 0);
	}
	for (unsigned round = 0; round < 200; round++) {
		ck_assert_int_eq(gfs_read(fd, buf, 65536, 0), 65536);
		assert_blocks_whole(buf, 65536);
	}
	for (unsigned i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(gfs_read(fd, buf, 65536, 0), 65536);
	assert_blocks_whole(buf, 65536);
	ck_assert_int_eq(gfs_read(fb, buf, 65536, 0), 65536);
	assert_blocks_whole(buf, 65536);
	dio_assert_quiet(gfs);
	dio_teardown(gfs, &img, fd, fb);
	free(buf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dio");
	TCase *tc = tcase_create("core");

	seed = test_seed("dio") | 1;
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, misaligned_offsets_and_lengths_are_einval);
	tcase_add_test(tc, bad_requests_are_refused_with_their_errno);
	tcase_add_test(tc, lba_alignment_and_fsblock_option);
	tcase_add_loop_test(tc, round_trips_every_format_and_size, 0, (int)dio_nr_formats);
	tcase_add_loop_test(tc, stable_writes_skip_the_bounce_where_they_can, 0,
			    (int)dio_nr_formats);
	tcase_add_loop_test(tc, lent_reads_hand_over_verified_bytes, 0, (int)dio_nr_formats);
	tcase_add_test(tc, holes_unwritten_and_eof_read_without_io);
	tcase_add_test(tc, sub_block_head_and_tail_of_new_blocks_are_zeroed);
	tcase_add_test(tc, reads_cross_extent_boundaries);
	tcase_add_test(tc, dsync_uses_fua_for_overwrites_and_commits_otherwise);
	tcase_add_test(tc, cache_stays_coherent_and_front_end_is_told);
	tcase_add_test(tc, front_end_hears_of_direct_writes_only_where_it_may_cache);
	tcase_add_test(tc, async_requests_complete_once_off_the_submitting_thread);
	tcase_add_test(tc, truncate_and_buffered_writes_wait_for_async_direct_io);
	tcase_add_test(tc, parallel_overwrites_and_buffered_io_of_one_file);
	tcase_add_test(tc, overlapping_direct_writes_leave_whole_blocks_with_their_pi);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
