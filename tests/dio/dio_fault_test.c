/* SPDX-License-Identifier: MIT */
/*
 * dio_fault_test.c - direct I/O under the file backend's fault hooks: every kind of damage is
 * caught on a direct read (EIO, one log line naming the LBA and the tag, nothing of the failing
 * block delivered); an I/O error on any piece of a split request fails the request, which
 * completes once and gives back everything; and a source buffer scribbled over during a write
 * never produces a PI failure later.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_fault.h"
#include "tests/dio/dio_util.h"

#define MiB	(1024ull * 1024)
#define CANARY	0xA5
#define NBLOCKS 16u

static uint64_t seed;

struct damage {
	const char *name;
	enum ns_fault_kind kind;
	enum pi_field field;
	const char *tag; /* what the log must name */
};

static const struct damage damages[] = {
	{"data bit flip", NS_FAULT_BIT_FLIP, PI_FIELD_DATA, "guard"},
	{"guard bit flip", NS_FAULT_BIT_FLIP, PI_FIELD_GUARD, "guard"},
	{"app (owner) tag bit flip", NS_FAULT_BIT_FLIP, PI_FIELD_APP, "app"},
	{"ref tag bit flip", NS_FAULT_BIT_FLIP, PI_FIELD_REF, "ref"},
	{"misdirected write", NS_FAULT_MISDIRECT, PI_FIELD_DATA, "app"},
	{"torn write", NS_FAULT_TORN, PI_FIELD_DATA, "app"},
};

/* A direct read of the file's NBLOCKS blocks fails at bad_lba with tag; returns nothing of it. */
static void expect_detected(struct gfs *gfs, struct gfs_file *f, uint64_t first_lba,
			    uint64_t bad_lba, const char *tag, uint32_t pat)
{
	uint32_t bs = 4096;
	uint8_t *buf = malloc(NBLOCKS * bs);
	uint64_t bad = bad_lba - first_lba;
	struct dio_lend lend = {.data = NULL};
	char want[128];

	memset(buf, CANARY, NBLOCKS * bs);
	test_log_capture();
	ck_assert_int_eq(gfs_read(f, buf, NBLOCKS * bs, 0), -EIO);
	ck_assert_uint_eq(test_log_errors(), 1);
	snprintf(want, sizeof(want), "LBA %" PRIu64 ": direct read: PI %s check failed", bad_lba,
		 tag);
	ck_assert_msg(strstr(test_log_last_error(), want), "log line \"%s\" lacks \"%s\"",
		      test_log_last_error(), want);
	snprintf(want, sizeof(want), "offset %" PRIu64 " ", bad * bs);
	ck_assert_msg(strstr(test_log_last_error(), want), "log line \"%s\" lacks \"%s\"",
		      test_log_last_error(), want);
	ck_assert_msg(test_all_bytes(buf + bad * bs, bs, CANARY),
		      "bytes of the failing block were delivered");
	/* The blocks before it in the same piece are verified and correct. */
	test_check_pattern(buf, bad * bs, 0, pat);
	/* A lent read (the FUSE reply path) fails the same way and lends nothing. */
	test_log_capture();
	ck_assert_int_eq(dio_read_lend(f, NBLOCKS * bs, 0, &lend), -EIO);
	ck_assert_uint_eq(test_log_errors(), 1);
	snprintf(want, sizeof(want), "LBA %" PRIu64 ": direct read: PI %s check failed", bad_lba,
		 tag);
	ck_assert_msg(strstr(test_log_last_error(), want), "log line \"%s\" lacks \"%s\"",
		      test_log_last_error(), want);
	ck_assert_ptr_null(lend.data);
	gfs_log_set_hook(NULL, NULL);
	(void)gfs;
	free(buf);
}

START_TEST(damage_is_always_detected_on_direct_read)
{
	const struct damage *d = &damages[_i];
	struct pi_format fmt = test_format_default();
	struct ns_fault fault = {
		.kind = d->kind, .ops = NS_FAULT_OP(NS_OP_WRITE), .nth = 1, .field = d->field};
	struct ns_fault_event ev;
	struct io_image img;
	struct gfs *gfs;
	struct gfs_file *a, *b;
	uint8_t *buf = malloc(NBLOCKS * 4096);
	uint64_t ia, ib, lba_a, lba_b = 0, bad;

	printf("damage: %s\n", d->name);
	gfs = io_mkfs_mount(&img, &fmt, 32 * MiB, 0);
	ns_fault_set_seed(gfs_ns(gfs), seed);
	ia = io_create(gfs, "a");
	ib = io_create(gfs, "b");
	a = dio_open(gfs, ia, GFS_O_DIRECT);
	b = dio_open(gfs, ib, GFS_O_DIRECT);
	test_pattern(buf, NBLOCKS * 4096, 0, 2);
	ck_assert_int_eq(gfs_write(b, buf, NBLOCKS * 4096, 0), (ssize_t)(NBLOCKS * 4096));
	lba_b = dio_lba_of(gfs, ib, 0);
	/* Allocate a's blocks first (fallocate), so the fault can be aimed at their LBAs. */
	ck_assert_int_eq(gfs_fallocate(a, 0, 0, NBLOCKS * 4096), 0);
	lba_a = dio_lba_of(gfs, ia, 0);
	fault.lba_first = lba_a;
	fault.lba_last = lba_a + NBLOCKS - 1;
	fault.block = 3 + (int64_t)(seed % 9);
	fault.target_lba = (int64_t)lba_b; /* misdirected into b */
	fault.torn_blocks = fault.block;
	ck_assert_int_ge(ns_fault_add(gfs_ns(gfs), &fault), 0);
	test_pattern(buf, NBLOCKS * 4096, 0, 1);
	/* The write reports success: the damage is silent until read. */
	ck_assert_int_eq(gfs_write(a, buf, NBLOCKS * 4096, 0), (ssize_t)(NBLOCKS * 4096));
	ck_assert_int_eq(ns_fault_last_event(gfs_ns(gfs), &ev), 0);
	ns_fault_clear(gfs_ns(gfs));
	if (d->kind == NS_FAULT_BIT_FLIP)
		bad = ev.lba;
	else if (d->kind == NS_FAULT_TORN)
		bad = lba_a + ev.blocks_written;
	else
		bad = lba_a; /* nothing reached a's blocks */
	expect_detected(gfs, a, lba_a, bad, d->tag, 1);
	if (d->kind == NS_FAULT_MISDIRECT) /* and b holds a's blocks: another owner */
		expect_detected(gfs, b, lba_b, lba_b, "app", 2);
	dio_assert_quiet(gfs);
	dio_teardown(gfs, &img, a, b);
	free(buf);
}
END_TEST

struct once {
	atomic_uint calls;
	atomic_long result;
};

static void once_end(void *arg, ssize_t result)
{
	struct once *o = arg;

	/* The result first: the test reads it as soon as it sees the call. */
	atomic_store(&o->result, result);
	atomic_fetch_add(&o->calls, 1);
}

/* An 8 MiB request is 8 pieces; an I/O error on piece k fails it, whatever k. */
START_TEST(io_error_on_any_piece_fails_the_request_once)
{
	const uint64_t len = 8 * MiB;
	struct pi_format fmt = test_format_default();
	struct io_image img;
	struct gfs *gfs;
	struct gfs_file *f;
	struct dio_stats st;
	uint8_t *buf = malloc(len), *rbuf = malloc(len);
	uint64_t ino, lba;

	gfs = io_mkfs_mount(&img, &fmt, 48 * MiB, 0);
	ino = io_create(gfs, "f");
	f = dio_open(gfs, ino, GFS_O_DIRECT);
	test_pattern(buf, len, 0, 1);
	ck_assert_int_eq(gfs_write(f, buf, len, 0), (ssize_t)len);
	lba = dio_lba_of(gfs, ino, 0);
	test_log_capture();
	for (unsigned k = 1; k <= 8; k++) {
		for (int op = NS_OP_READ; op <= NS_OP_WRITE; op++) {
			struct ns_fault fault = {.kind = NS_FAULT_IO_ERROR,
						 .ops = NS_FAULT_OP(op),
						 .lba_first = lba,
						 .lba_last = lba + len / 4096 - 1,
						 .nth = k};
			struct once o = {0};
			struct iovec iov = {op == NS_OP_READ ? rbuf : buf, len};
			int id = ns_fault_add(gfs_ns(gfs), &fault);

			ck_assert_int_ge(id, 0);
			/* Half the time through the async API, to count the callbacks. */
			if (k & 1) {
				ck_assert_int_eq(op == NS_OP_READ ? gfs_read(f, rbuf, len, 0)
								  : gfs_write(f, buf, len, 0),
						 -EIO);
			} else {
				int ret = op == NS_OP_READ
						  ? dio_submit_read(f, &iov, 1, 0, once_end, &o)
						  : dio_submit_write(f, &iov, 1, 0, once_end, &o);

				ck_assert_int_eq(ret, 0);
				while (!atomic_load(&o.calls))
					sched_yield();
				ck_assert_int_eq(atomic_load(&o.result), -EIO);
			}
			ck_assert_uint_eq(ns_fault_fired(gfs_ns(gfs), id), 1);
			ns_fault_clear(gfs_ns(gfs));
			dio_get_stats(gfs, &st);
			ck_assert_uint_eq(st.inflight, 0);
			ck_assert_uint_eq(st.bounce_in_use, 0);
			ck_assert_uint_eq(st.completions, st.requests);
			ck_assert_uint_eq(atomic_load(&o.calls), k & 1 ? 0 : 1);
		}
	}
	ck_assert_uint_ge(test_log_errors(), 16);
	gfs_log_set_hook(NULL, NULL);
	/* Nothing was lost: the data is what the last good write put there. */
	ck_assert_int_eq(gfs_read(f, rbuf, len, 0), (ssize_t)len);
	test_check_pattern(rbuf, len, 0, 1);
	dio_teardown(gfs, &img, f, NULL);
	free(buf);
	free(rbuf);
}
END_TEST

/* An extending, allocating write that fails leaves the size and the mapping unconverted. */
START_TEST(failed_extending_write_changes_no_size)
{
	struct pi_format fmt = test_format_default();
	struct ns_fault fault = {.kind = NS_FAULT_IO_ERROR,
				 .ops = NS_FAULT_OP(NS_OP_WRITE),
				 .nth = 1,
				 .every = true};
	struct io_image img;
	struct gfs *gfs;
	struct gfs_file *f;
	uint8_t *buf = malloc(3 * MiB);
	struct meta_attr attr;
	uint64_t ino;

	gfs = io_mkfs_mount(&img, &fmt, 32 * MiB, 0);
	ino = io_create(gfs, "f");
	f = dio_open(gfs, ino, GFS_O_DIRECT);
	test_pattern(buf, 3 * MiB, 0, 1);
	ck_assert_int_eq(gfs_write(f, buf, 65536, 0), 65536);
	test_log_capture();
	ck_assert_int_ge(ns_fault_add(gfs_ns(gfs), &fault), 0);
	ck_assert_int_eq(gfs_write(f, buf, 3 * MiB, 65536), -EIO);
	ns_fault_clear(gfs_ns(gfs));
	gfs_log_set_hook(NULL, NULL);
	ck_assert_int_eq(meta_getattr(gfs_meta(gfs), ino, &attr), 0);
	ck_assert_uint_eq(attr.size, 65536);
	/* The allocated space stays unwritten: it reads as zeros after a grow. */
	ck_assert_int_eq(gfs_truncate(gfs, ino, 2 * 65536), 0);
	memset(buf, 0xA5, 2 * 65536);
	ck_assert_int_eq(gfs_read(f, buf, 2 * 65536, 0), 2 * 65536);
	test_check_pattern(buf, 65536, 0, 1);
	test_check_pattern(buf + 65536, 65536, 0, 0);
	dio_assert_quiet(gfs);
	dio_teardown(gfs, &img, f, NULL);
	free(buf);
}
END_TEST

struct scribbler {
	uint8_t *buf;
	size_t len;
	atomic_bool stop;
	uint64_t rounds;
};

static void *scribble(void *arg)
{
	struct scribbler *s = arg;
	uint64_t x = seed | 1;

	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		size_t off = (x % s->len) & ~7ul;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memset(s->buf + off, (int)(x & 0xFF), s->len - off < 512 ? s->len - off : 512);
		s->rounds++;
	}
	return NULL;
}

START_TEST(source_scribbled_during_write_never_fails_pi)
{
	const size_t len = 2 * MiB;
	struct pi_format fmt = test_format_default();
	struct scribbler s = {.len = len};
	struct io_image img;
	struct gfs *gfs;
	struct gfs_file *fd, *fb;
	uint8_t *rbuf = malloc(len), *rbuf2 = malloc(len);
	pthread_t th;
	uint64_t ino;

	s.buf = malloc(len);
	test_pattern(s.buf, len, 0, 1);
	io_mkfs(&img, &fmt, 32 * MiB, 0);
	/* Strict: the namespace checks PI on every write too, as a controller would. */
	{
		struct gfs_opts o = io_opts_default();

		o.strict = true;
		gfs = io_mount(&img, &o);
	}
	ino = io_create(gfs, "f");
	fd = dio_open(gfs, ino, GFS_O_DIRECT);
	fb = dio_open(gfs, ino, 0);
	test_log_capture();
	ck_assert_int_eq(pthread_create(&th, NULL, scribble, &s), 0);
	for (unsigned i = 0; i < 40; i++)
		ck_assert_int_eq(gfs_write(fd, s.buf, len, (i % 4) * 65536), (ssize_t)len);
	atomic_store(&s.stop, true);
	pthread_join(th, NULL);
	ck_assert_uint_gt(s.rounds, 0);
	ck_assert_int_eq(gfs_read(fd, rbuf, len, 0), (ssize_t)len);
	ck_assert_int_eq(gfs_read(fb, rbuf2, len, 0), (ssize_t)len);
	ck_assert(!memcmp(rbuf, rbuf2, len));
	ck_assert_uint_eq(test_log_errors(), 0);
	gfs_log_set_hook(NULL, NULL);
	dio_assert_quiet(gfs);
	dio_teardown(gfs, &img, fd, fb);
	free(s.buf);
	free(rbuf);
	free(rbuf2);
}
END_TEST

/* Damage one block of the file's 1 MiB on every read (read) or once on the medium (write). */
static void damage_block(struct gfs *gfs, uint64_t lba, enum ns_op op, int64_t block)
{
	struct ns_fault fault = {.kind = NS_FAULT_BIT_FLIP,
				 .ops = NS_FAULT_OP(op),
				 .lba_first = lba,
				 .lba_last = lba + MiB / 4096 - 1,
				 .nth = 1,
				 .every = op == NS_OP_READ,
				 .field = PI_FIELD_DATA,
				 .block = block};

	ck_assert_int_ge(ns_fault_add(gfs_ns(gfs), &fault), 0);
}

/*
 * A sync 1 MiB read is verified (and, unless lent, copied) in two halves when its waiter polls
 * (dio_help): damage in either half, or in both, fails every read at the first damaged block,
 * as one pass over the blocks would, and no byte of that block reaches the caller's buffer;
 * the blocks before it do, verified. Many reads, lent and into a buffer by turns, so that both
 * the helped and the unhelped path run; how many the waiter helped with depends on timing and
 * is printed, not asserted. The fault hooks flip one block per command, so a second damaged
 * block is flipped on the medium by the write.
 */
START_TEST(sync_read_in_halves_fails_at_the_first_bad_block)
{
	static const struct {
		int64_t on_read, on_medium; /* damaged blocks, -1: none */
		uint64_t first;
	} cases[] = {{37, -1, 37}, {200, -1, 200}, {200, 37, 37}, {37, 200, 37}, {255, 128, 128}};
	const uint32_t bs = 4096;
	struct pi_format fmt = test_format_default();
	struct ns_fault_event ev;
	struct io_image img;
	struct gfs *gfs;
	struct gfs_file *f;
	struct gfs_stats gs;
	uint8_t *buf = malloc(MiB), *rbuf = malloc(MiB);
	uint64_t ino, lba;
	char want[128];

	gfs = io_mkfs_mount(&img, &fmt, 32 * MiB, 0);
	ino = io_create(gfs, "f");
	f = dio_open(gfs, ino, GFS_O_DIRECT);
	test_pattern(buf, MiB, 0, 3);
	ck_assert_int_eq(gfs_write(f, buf, MiB, 0), (ssize_t)MiB);
	lba = dio_lba_of(gfs, ino, 0);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		if (cases[c].on_medium >= 0) {
			damage_block(gfs, lba, NS_OP_WRITE, cases[c].on_medium);
			ck_assert_int_eq(gfs_write(f, buf, MiB, 0), (ssize_t)MiB);
			ck_assert_int_eq(ns_fault_last_event(gfs_ns(gfs), &ev), 0);
			ck_assert_uint_eq(ev.lba, lba + (uint64_t)cases[c].on_medium);
			ns_fault_clear(gfs_ns(gfs));
		}
		damage_block(gfs, lba, NS_OP_READ, cases[c].on_read);
		snprintf(want, sizeof(want),
			 "offset %" PRIu64 " LBA %" PRIu64 ": direct read: PI guard check failed",
			 cases[c].first * bs, lba + cases[c].first);
		for (unsigned r = 0; r < 100; r++) {
			struct dio_lend lend = {.data = NULL};
			const size_t good = cases[c].first * bs;

			test_log_capture();
			if (r % 2) {
				memset(rbuf, CANARY, MiB);
				ck_assert_int_eq(gfs_read(f, rbuf, MiB, 0), -EIO);
				ck_assert(test_all_bytes(rbuf + good, bs, CANARY));
				test_check_pattern(rbuf, good, 0, 3);
			} else {
				ck_assert_int_eq(dio_read_lend(f, MiB, 0, &lend), -EIO);
				ck_assert_ptr_null(lend.data);
			}
			ck_assert_uint_eq(test_log_errors(), 1);
			ck_assert_msg(strstr(test_log_last_error(), want),
				      "case %zu, read %u: log line \"%s\" lacks \"%s\"", c, r,
				      test_log_last_error(), want);
		}
		gfs_log_set_hook(NULL, NULL);
		ns_fault_clear(gfs_ns(gfs));
		ck_assert_int_eq(gfs_write(f, buf, MiB, 0), (ssize_t)MiB); /* undamaged again */
	}
	/* Undamaged, the same reads deliver every byte. */
	for (unsigned r = 0; r < 20; r++) {
		struct dio_lend lend = {.data = NULL};

		ck_assert_int_eq(dio_read_lend(f, MiB, 0, &lend), (ssize_t)MiB);
		test_check_pattern(lend.data, MiB, 0, 3);
		dio_lend_release(&lend);
		memset(rbuf, CANARY, MiB);
		ck_assert_int_eq(gfs_read(f, rbuf, MiB, 0), (ssize_t)MiB);
		test_check_pattern(rbuf, MiB, 0, 3);
	}
	gfs_get_stats(gfs, &gs);
	printf("sync 1 MiB reads whose waiter verified half: %" PRIu64 " of 540\n",
	       gs.dio_verify_shared);
	dio_assert_quiet(gfs);
	dio_teardown(gfs, &img, f, NULL);
	free(buf);
	free(rbuf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dio_fault");
	TCase *tc = tcase_create("core");

	seed = test_seed("dio_fault") | 1;
	tcase_set_timeout(tc, 240);
	tcase_add_loop_test(tc, damage_is_always_detected_on_direct_read, 0,
			    (int)(sizeof(damages) / sizeof(damages[0])));
	tcase_add_test(tc, io_error_on_any_piece_fails_the_request_once);
	tcase_add_test(tc, failed_extending_write_changes_no_size);
	tcase_add_test(tc, source_scribbled_during_write_never_fails_pi);
	tcase_add_test(tc, sync_read_in_halves_fails_at_the_first_bad_block);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
