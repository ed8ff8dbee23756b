/* SPDX-License-Identifier: MIT */
/*
 * pi_retry_test.c - a read whose PI check fails is read again (gfs_opts.pi_read_tries): damage
 * on the way (a bit flipped on one read only) is survived with the right bytes and one warning
 * naming the first failure; damage on the medium (flipped on every read) still fails with EIO
 * and one error line, after every allowed read. Direct reads into the caller's buffer, lent
 * direct reads, buffered reads and metadata reads each; the PI failure found by guardfs or
 * reported by the namespace (strict mode).
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dio.h"
#include "core/mdblock.h"
#include "core/ns_fault.h"
#include "tests/dio/dio_util.h"

#define MiB   (1024ull * 1024)
#define BLOCK 4096u

enum read_path { READ_DIRECT, READ_LENT, READ_BUFFERED, NR_PATHS };

static const char *const path_names[] = {"direct", "lent direct", "buffered"};

/* What a damaged read must show. */
struct expect {
	ssize_t result;	    /* of the read */
	unsigned reads;	    /* commands the fault matched: reads of the damaged range */
	unsigned errors;    /* error lines */
	unsigned warnings;  /* warning lines */
	uint64_t rereads;   /* pi_rereads added */
	uint64_t recovered; /* pi_recovered added */
};

struct fixture {
	struct io_image img;
	struct gfs *gfs;
	struct gfs_file *direct, *buffered;
	uint64_t lba; /* of the file's first block */
	bool strict;
	uint8_t *pattern;
};

/*
 * A 4 MiB file written directly, one 1 MiB region per read path (buffered reads cache theirs).
 * strict: the file backend checks PI as a controller does, so the namespace fails the read
 * (the path of a device's PI error status) before guardfs verifies anything.
 */
static void fixture_setup(struct fixture *fx, unsigned pi_read_tries, bool strict)
{
	struct pi_format fmt = test_format_default();
	struct gfs_opts o = io_opts_default();
	uint64_t ino;

	io_mkfs(&fx->img, &fmt, 32 * MiB, 0);
	o.pi_read_tries = pi_read_tries;
	o.strict = fx->strict = strict;
	o.cache_size = 8 * MiB;
	fx->gfs = io_mount(&fx->img, &o);
	ino = io_create(fx->gfs, "f");
	fx->direct = dio_open(fx->gfs, ino, GFS_O_DIRECT);
	fx->buffered = dio_open(fx->gfs, ino, 0);
	fx->pattern = malloc(4 * MiB);
	test_pattern(fx->pattern, 4 * MiB, 0, 7);
	ck_assert_int_eq(gfs_write(fx->direct, fx->pattern, 4 * MiB, 0), (ssize_t)(4 * MiB));
	fx->lba = dio_lba_of(fx->gfs, ino, 0);
	ck_assert_uint_eq(dio_lba_of(fx->gfs, ino, 4 * MiB - BLOCK), fx->lba + 4 * MiB / BLOCK - 1);
}

static void fixture_teardown(struct fixture *fx)
{
	dio_assert_quiet(fx->gfs);
	dio_teardown(fx->gfs, &fx->img, fx->direct, fx->buffered);
	free(fx->pattern);
}

/* Reads 1 MiB at off by one path into buf; returns the read's result. */
static ssize_t read_by(struct fixture *fx, enum read_path p, uint64_t off, uint8_t *buf)
{
	struct dio_lend lend = {.data = NULL};
	ssize_t ret;

	switch (p) {
	case READ_DIRECT:
		return gfs_read(fx->direct, buf, MiB, off);
	case READ_LENT:
		ret = dio_read_lend(fx->direct, MiB, off, &lend);
		if (ret > 0) {
			memcpy(buf, lend.data, (size_t)ret);
			dio_lend_release(&lend);
		} else {
			ck_assert_ptr_null(lend.data);
		}
		return ret;
	default:
		return gfs_read(fx->buffered, buf, MiB, off);
	}
}

/*
 * Flip a data bit of block 5 of [off, off + 1 MiB) in the read command that starts at off: on
 * that read only, or on every read. Read the range by path p and check what e says.
 */
static void read_damaged(struct fixture *fx, enum read_path p, uint64_t off, bool every,
			 const struct expect *e)
{
	struct ns *ns = gfs_ns(fx->gfs);
	struct ns_fault fault = {.kind = NS_FAULT_BIT_FLIP,
				 .ops = NS_FAULT_OP(NS_OP_READ),
				 .lba_first = fx->lba + off / BLOCK + 5,
				 .lba_last = fx->lba + off / BLOCK + 5,
				 .nth = 1,
				 .every = every,
				 .field = PI_FIELD_DATA,
				 .block = 5};
	struct gfs_stats before, after;
	struct ns_fault_event ev;
	uint8_t *buf = malloc(MiB);
	char want[96];
	int id;

	printf("%s read, damage on %s\n", path_names[p], every ? "every read" : "one read");
	gfs_get_stats(fx->gfs, &before);
	id = ns_fault_add(ns, &fault);
	ck_assert_int_ge(id, 0);
	test_log_capture();
	ck_assert_int_eq(read_by(fx, p, off, buf), e->result);
	ck_assert_uint_eq(ns_fault_fired(ns, id), e->reads);
	ck_assert_int_eq(ns_fault_last_event(ns, &ev), 0);
	ck_assert_uint_eq(ev.lba, fx->lba + off / BLOCK + 5);
	/* A strict namespace logs each failure it finds, as a controller's error log would. */
	ck_assert_uint_eq(test_log_errors(), e->errors + (fx->strict ? e->reads : 0));
	ck_assert_uint_eq(test_log_warnings(), e->warnings);
	snprintf(want, sizeof(want), "LBA %" PRIu64 ": %sPI guard check failed", ev.lba,
		 p == READ_BUFFERED ? "" : "direct read: ");
	if (e->errors)
		ck_assert_msg(strstr(test_log_last_error(), want), "error \"%s\" lacks \"%s\"",
			      test_log_last_error(), want);
	if (e->warnings) {
		ck_assert_msg(strstr(test_log_last_warning(), want), "warning \"%s\" lacks \"%s\"",
			      test_log_last_warning(), want);
		ck_assert_msg(strstr(test_log_last_warning(), "passed on read 2"),
			      "warning \"%s\" does not say the second read passed",
			      test_log_last_warning());
	}
	if (e->result == (ssize_t)MiB)
		ck_assert(!memcmp(buf, fx->pattern + off, MiB));
	gfs_log_set_hook(NULL, NULL);
	ns_fault_clear(ns);
	gfs_get_stats(fx->gfs, &after);
	ck_assert_uint_eq(after.pi_rereads - before.pi_rereads, e->rereads);
	ck_assert_uint_eq(after.pi_recovered - before.pi_recovered, e->recovered);
	ck_assert_uint_ge(after.pi_errors - before.pi_errors, e->reads);
	free(buf);
}

START_TEST(damage_on_the_way_is_read_again)
{
	const struct expect recovers = {(ssize_t)MiB, 1, 0, 1, 1, 1};
	struct fixture fx;

	printf("strict: %d\n", _i);
	fixture_setup(&fx, 0, _i); /* the default: three reads */
	for (int p = 0; p < NR_PATHS; p++)
		read_damaged(&fx, (enum read_path)p, (uint64_t)p * MiB, false, &recovers);
	/* Undamaged again: each path reads its region with no PI failure. */
	for (int p = 0; p < NR_PATHS; p++) {
		const struct expect clean = {(ssize_t)MiB, 0, 0, 0, 0, 0};
		uint8_t *buf = malloc(MiB);
		struct gfs_stats st;

		ck_assert_int_eq(read_by(&fx, (enum read_path)p, (uint64_t)p * MiB, buf),
				 clean.result);
		ck_assert(!memcmp(buf, fx.pattern + (uint64_t)p * MiB, MiB));
		gfs_get_stats(fx.gfs, &st);
		ck_assert_uint_eq(st.pi_recovered, NR_PATHS);
		free(buf);
	}
	fixture_teardown(&fx);
}
END_TEST

START_TEST(damage_on_the_medium_fails_after_every_read)
{
	/* Buffered reads of the last region: the three before it stay uncached. */
	const uint64_t offs[NR_PATHS] = {0, MiB, 3 * MiB};
	const struct expect fails = {-EIO, PI_READ_TRIES, 1, 0, PI_READ_TRIES - 1, 0};
	struct fixture fx;

	printf("strict: %d\n", _i);
	fixture_setup(&fx, 0, _i);
	for (int p = 0; p < NR_PATHS; p++)
		read_damaged(&fx, (enum read_path)p, offs[p], true, &fails);
	fixture_teardown(&fx);
}
END_TEST

START_TEST(one_read_allowed_fails_at_the_first_failure)
{
	const struct expect fails = {-EIO, 1, 1, 0, 0, 0};
	struct fixture fx;

	fixture_setup(&fx, 1, false);
	for (int p = 0; p < NR_PATHS; p++)
		read_damaged(&fx, (enum read_path)p, (uint64_t)p * MiB, false, &fails);
	fixture_teardown(&fx);
}
END_TEST

START_TEST(more_reads_than_allowed_are_refused_at_mount)
{
	struct pi_format fmt = test_format_default();
	struct gfs_opts o = io_opts_default();
	struct io_image img;
	struct gfs *gfs = NULL;

	io_mkfs(&img, &fmt, 32 * MiB, 0);
	o.pi_read_tries = GFS_MAX_PI_READ_TRIES + 1;
	test_log_capture();
	ck_assert_int_eq(gfs_mount(img.path, &o, &gfs), -EINVAL);
	ck_assert_uint_eq(test_log_errors(), 1);
	ck_assert_ptr_nonnull(strstr(test_log_last_error(), img.path));
	gfs_log_set_hook(NULL, NULL);
	o.pi_read_tries = GFS_MAX_PI_READ_TRIES;
	ck_assert_int_eq(gfs_mount(img.path, &o, &gfs), 0);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	io_remove(&img);
}
END_TEST

/* Metadata: the superblock, read through mdio, once damaged on the way and once for good. */
START_TEST(metadata_read_again_after_a_pi_failure)
{
	struct pi_format fmt = test_format_default();
	struct io_image img;
	struct gfs *gfs = io_mkfs_mount(&img, &fmt, 32 * MiB, 0);
	struct ns *ns = gfs_ns(gfs);
	struct ns_fault fault = {.kind = NS_FAULT_BIT_FLIP,
				 .ops = NS_FAULT_OP(NS_OP_READ),
				 .lba_first = 0,
				 .lba_last = 0,
				 .nth = 1,
				 .field = PI_FIELD_REF,
				 .block = 0};
	uint8_t *buf = mdio_alloc(BLOCK);
	struct mdio_error err;
	struct mdio io;
	int id;

	ck_assert_int_eq(mdio_init(&io, ns, BLOCK), 0);
	for (int every = 0; every <= 1; every++) {
		fault.every = every;
		id = ns_fault_add(ns, &fault);
		ck_assert_int_ge(id, 0);
		test_log_capture();
		ck_assert_int_eq(mdio_read_lbas(&io, 0, 1, buf, &err), every ? -EIO : 0);
		ck_assert_uint_eq(ns_fault_fired(ns, id), every ? PI_READ_TRIES : 1);
		/* A final failure is the caller's to tell. */
		ck_assert_uint_eq(test_log_errors(), 0);
		ck_assert_uint_eq(test_log_warnings(), every ? 0 : 1);
		if (every) {
			ck_assert_int_eq(err.pi.tag, PI_TAG_REF);
			ck_assert_uint_eq(err.lba, 0);
		} else {
			ck_assert_msg(
				strstr(test_log_last_warning(), "LBA 0: PI ref tag mismatch") &&
					strstr(test_log_last_warning(), "passed on read 2"),
				"warning \"%s\"", test_log_last_warning());
		}
		gfs_log_set_hook(NULL, NULL);
		ns_fault_clear(ns);
	}
	free(buf);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	io_remove(&img);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pi_retry");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, damage_on_the_way_is_read_again, 0, 2);
	tcase_add_loop_test(tc, damage_on_the_medium_fails_after_every_read, 0, 2);
	tcase_add_test(tc, one_read_allowed_fails_at_the_first_failure);
	tcase_add_test(tc, more_reads_than_allowed_are_refused_at_mount);
	tcase_add_test(tc, metadata_read_again_after_a_pi_failure);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
