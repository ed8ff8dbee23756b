// SPDX-License-Identifier: MIT
/*
 * ns_fault_test.c - every fault hook of the file backend: bit flips in data or a tag on write
 * and on read, misdirected, torn and lost writes, I/O error on the nth command; one-shot versus
 * every-time, op and LBA filters, and reproducibility from the seed.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ns.h"
#include "core/ns_fault.h"
#include "ns_test_util.h"

#define NLB 64

struct fixture {
	struct pi_format fmt;
	char path[256];
	struct ns *ns;
	struct nst_buf buf, back;
};

static void fixture_open(struct fixture *fx, bool strict)
{
	fx->fmt = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
	fx->ns = nst_open_new(&fx->fmt, NLB, strict, fx->path, sizeof(fx->path));
	nst_buf_alloc(&fx->buf, &fx->fmt, 16);
	nst_buf_alloc(&fx->back, &fx->fmt, 16);
}

static void fixture_close(struct fixture *fx)
{
	nst_buf_free(&fx->buf);
	nst_buf_free(&fx->back);
	ns_close(fx->ns);
	unlink(fx->path);
}

static int write_blocks(struct fixture *fx, uint64_t slba, uint32_t nlb, uint16_t app)
{
	struct ns_pi_params pi = nst_pi(slba, app, PI_CHECK_ALL);

	nst_buf_fill(&fx->buf, &fx->fmt, slba, app);
	return ns_write_sync(fx->ns, slba, nlb, fx->buf.data, fx->buf.md, &pi);
}

static unsigned bits_differ(const uint8_t *a, const uint8_t *b, size_t len)
{
	unsigned bits = 0;

	for (size_t i = 0; i < len; i++)
		bits += (unsigned)__builtin_popcount(a[i] ^ b[i]);
	return bits;
}

/* Compare the image's block lba with buf block i: differing bits in data and in metadata. */
static void raw_diff(struct fixture *fx, uint64_t lba, uint32_t i, unsigned *data_bits,
		     unsigned *md_bits)
{
	uint8_t raw[4096], raw_md[8];

	nst_raw_read(fx->path, &fx->fmt, NLB, lba, raw, raw_md);
	*data_bits = bits_differ(raw, fx->buf.data + (size_t)i * 4096, 4096);
	*md_bits = bits_differ(raw_md, fx->buf.md + (size_t)i * 8, 8);
}

static const enum pi_field flip_fields[] = {PI_FIELD_DATA, PI_FIELD_GUARD, PI_FIELD_APP,
					    PI_FIELD_REF};
static const enum pi_tag flip_tags[] = {PI_TAG_GUARD, PI_TAG_GUARD, PI_TAG_APP, PI_TAG_REF};

START_TEST(bit_flip_on_write_damages_the_file_not_the_buffer)
{
	struct fixture fx;
	struct ns_fault f = {.kind = NS_FAULT_BIT_FLIP, .field = flip_fields[_i], .block = -1};
	struct ns_fault_event ev;
	struct ns_pi_params pi = nst_pi(8, 0x42, PI_CHECK_ALL);
	unsigned total_data = 0, total_md = 0;
	uint8_t copy[8 * 4096];

	fixture_open(&fx, false);
	ns_fault_set_seed(fx.ns, nst_seed("bit_flip_on_write"));
	ck_assert_int_eq(ns_fault_add(fx.ns, &f), 0);
	nst_buf_fill(&fx.buf, &fx.fmt, 8, 0x42);
	memcpy(copy, fx.buf.data, sizeof(copy));
	ck_assert_int_eq(ns_write_sync(fx.ns, 8, 8, fx.buf.data, fx.buf.md, &pi), 0);
	ck_assert_mem_eq(copy, fx.buf.data, sizeof(copy));
	ck_assert_int_eq(ns_fault_last_event(fx.ns, &ev), 0);
	ck_assert_int_eq(ev.kind, NS_FAULT_BIT_FLIP);
	ck_assert_int_eq(ev.field, flip_fields[_i]);
	ck_assert_uint_ge(ev.lba, 8);
	ck_assert_uint_lt(ev.lba, 16);
	for (uint32_t i = 0; i < 8; i++) {
		unsigned d, m;

		raw_diff(&fx, 8 + i, i, &d, &m);
		ck_assert_uint_eq(d + m, 8 + i == ev.lba ? 1 : 0);
		total_data += d;
		total_md += m;
	}
	ck_assert_uint_eq(total_data, flip_fields[_i] == PI_FIELD_DATA ? 1 : 0);
	ck_assert_uint_eq(total_md, flip_fields[_i] == PI_FIELD_DATA ? 0 : 1);
	/* One-shot: the next write is clean. And a strict reader would see exactly that block. */
	ck_assert_uint_eq(ns_fault_fired(fx.ns, 0), 1);
	ck_assert_int_eq(write_blocks(&fx, 20, 4, 0x42), 0);
	ns_close(fx.ns);
	fx.ns = test_ns_open(fx.path, &fx.fmt, true);
	struct iovec iov;
	struct ns_request rq = nst_request(NS_OP_READ, 8, 8, &fx.back, 4096, &iov, &pi);
	ck_assert_int_eq(ns_submit_wait(fx.ns, &rq), -EIO);
	ck_assert_uint_eq(rq.pi_error.lba, ev.lba);
	ck_assert_int_eq(rq.pi_error.tag, flip_tags[_i]);
	pi = nst_pi(20, 0x42, PI_CHECK_ALL);
	ck_assert_int_eq(ns_read_sync(fx.ns, 20, 4, fx.back.data, fx.back.md, &pi), 0);
	fixture_close(&fx);
}
END_TEST

START_TEST(bit_flip_on_read_damages_what_the_caller_gets)
{
	struct fixture fx;
	struct ns_fault f = {.kind = NS_FAULT_BIT_FLIP,
			     .ops = NS_FAULT_OP(NS_OP_READ),
			     .field = flip_fields[_i],
			     .block = 3};
	struct ns_pi_params pi = nst_pi(0, 0x7, PI_CHECK_ALL);
	struct ns_fault_event ev;
	struct ns_request rq;
	struct iovec iov;

	fixture_open(&fx, true);
	ns_fault_set_seed(fx.ns, nst_seed("bit_flip_on_read"));
	ck_assert_int_eq(write_blocks(&fx, 0, 8, 0x7), 0);
	ck_assert_int_eq(ns_fault_add(fx.ns, &f), 0);
	rq = nst_request(NS_OP_READ, 0, 8, &fx.back, 4096, &iov, &pi);
	ck_assert_int_eq(ns_submit_wait(fx.ns, &rq), -EIO);
	ck_assert_uint_eq(rq.pi_error.lba, 3);
	ck_assert_int_eq(rq.pi_error.tag, flip_tags[_i]);
	ck_assert_int_eq(ns_fault_last_event(fx.ns, &ev), 0);
	ck_assert_uint_eq(ev.lba, 3);
	ck_assert_int_eq(ev.op, NS_OP_READ);
	/* The image itself is intact: the next read (the fault was one-shot) passes. */
	ck_assert_int_eq(ns_read_sync(fx.ns, 0, 8, fx.back.data, fx.back.md, &pi), 0);
	ck_assert_mem_eq(fx.back.data, fx.buf.data, 8 * 4096);
	fixture_close(&fx);
}
END_TEST

START_TEST(misdirected_write_lands_at_another_lba)
{
	struct fixture fx;
	struct ns_fault f = {.kind = NS_FAULT_MISDIRECT, .target_lba = 40};
	struct ns_fault_event ev;
	unsigned d, m;
	uint8_t zeros[4096] = {0}, raw[4096];

	fixture_open(&fx, false);
	nst_seed("misdirected_write_lands_at_another_lba");
	ck_assert_int_eq(ns_fault_add(fx.ns, &f), 0);
	ck_assert_int_eq(write_blocks(&fx, 4, 2, 0x1), 0);
	for (uint32_t i = 0; i < 2; i++) {
		raw_diff(&fx, 40 + i, i, &d, &m);
		ck_assert_uint_eq(d + m, 0);
		nst_raw_read(fx.path, &fx.fmt, NLB, 4 + i, raw, NULL);
		ck_assert_mem_eq(raw, zeros, 4096);
	}
	/* A seeded random target: somewhere else, and reported. */
	ns_fault_clear(fx.ns);
	ns_fault_set_seed(fx.ns, 99);
	f.target_lba = -1;
	ck_assert_int_eq(ns_fault_add(fx.ns, &f), 0);
	ck_assert_int_eq(write_blocks(&fx, 10, 1, 0x2), 0);
	ck_assert_int_eq(ns_fault_last_event(fx.ns, &ev), 0);
	ck_assert_uint_ne(ev.lba, 10);
	ck_assert_uint_lt(ev.lba, NLB);
	raw_diff(&fx, ev.lba, 0, &d, &m);
	ck_assert_uint_eq(d + m, 0);
	fixture_close(&fx);
}
END_TEST

START_TEST(torn_write_writes_only_a_prefix)
{
	struct fixture fx;
	struct ns_fault f = {.kind = NS_FAULT_TORN, .torn_blocks = 3};
	uint8_t zeros[4096] = {0}, raw[4096];
	unsigned d, m;

	fixture_open(&fx, false);
	nst_seed("torn_write_writes_only_a_prefix");
	ck_assert_int_eq(ns_fault_add(fx.ns, &f), 0);
	ck_assert_int_eq(write_blocks(&fx, 16, 8, 0x3), 0);
	for (uint32_t i = 0; i < 8; i++) {
		if (i < 3) {
			raw_diff(&fx, 16 + i, i, &d, &m);
			ck_assert_uint_eq(d + m, 0);
		} else {
			nst_raw_read(fx.path, &fx.fmt, NLB, 16 + i, raw, NULL);
			ck_assert_mem_eq(raw, zeros, 4096);
		}
	}
	fixture_close(&fx);
}
END_TEST

START_TEST(random_torn_write_keeps_a_shorter_prefix)
{
	struct fixture fx;
	struct ns_fault f = {.kind = NS_FAULT_TORN, .torn_blocks = -1, .every = true};
	uint8_t zeros[4096] = {0}, raw[4096];
	struct ns_fault_event ev;
	unsigned d, m;

	fixture_open(&fx, false);
	ns_fault_set_seed(fx.ns, nst_seed("random_torn_write_keeps_a_shorter_prefix"));
	ck_assert_int_eq(ns_fault_add(fx.ns, &f), 0);
	for (uint64_t slba = 0; slba < 48; slba += 16) {
		ck_assert_int_eq(write_blocks(&fx, slba, 16, 0x3), 0);
		ck_assert_int_eq(ns_fault_last_event(fx.ns, &ev), 0);
		ck_assert_uint_lt(ev.blocks_written, 16);
		for (uint32_t i = 0; i < 16; i++) {
			if (i < ev.blocks_written) {
				raw_diff(&fx, slba + i, i, &d, &m);
				ck_assert_uint_eq(d + m, 0);
			} else {
				nst_raw_read(fx.path, &fx.fmt, NLB, slba + i, raw, NULL);
				ck_assert_mem_eq(raw, zeros, 4096);
			}
		}
	}
	fixture_close(&fx);
}
END_TEST

START_TEST(lost_write_reports_success_and_writes_nothing)
{
	struct fixture fx;
	struct ns_fault f = {.kind = NS_FAULT_LOST, .lba_first = 30, .lba_last = 31};
	uint8_t zeros[4096] = {0}, raw[4096];
	unsigned d, m;

	fixture_open(&fx, false);
	nst_seed("lost_write_reports_success_and_writes_nothing");
	ck_assert_int_eq(ns_fault_add(fx.ns, &f), 0);
	/* Outside the LBA filter: written. */
	ck_assert_int_eq(write_blocks(&fx, 20, 2, 0x4), 0);
	raw_diff(&fx, 21, 1, &d, &m);
	ck_assert_uint_eq(d + m, 0);
	ck_assert_int_eq(write_blocks(&fx, 29, 2, 0x4), 0); /* overlaps 30: lost */
	for (uint64_t lba = 29; lba < 31; lba++) {
		nst_raw_read(fx.path, &fx.fmt, NLB, lba, raw, NULL);
		ck_assert_mem_eq(raw, zeros, 4096);
	}
	ck_assert_uint_eq(ns_fault_fired(fx.ns, 0), 1);
	fixture_close(&fx);
}
END_TEST

START_TEST(io_error_on_the_nth_command)
{
	struct fixture fx;
	struct ns_fault f = {.kind = NS_FAULT_IO_ERROR, .ops = NS_FAULT_OP(NS_OP_WRITE), .nth = 3};
	struct ns_pi_params pi = nst_pi(0, 0, 0);
	uint8_t zeros[4096] = {0}, raw[4096];

	fixture_open(&fx, false);
	nst_seed("io_error_on_the_nth_command");
	ck_assert_int_eq(ns_fault_add(fx.ns, &f), 0);
	ck_assert_int_eq(write_blocks(&fx, 0, 1, 0), 0);
	ck_assert_int_eq(ns_read_sync(fx.ns, 0, 1, fx.back.data, fx.back.md, &pi), 0);
	ck_assert_int_eq(write_blocks(&fx, 1, 1, 0), 0);
	test_log_capture();
	ck_assert_int_eq(write_blocks(&fx, 2, 1, 0), -EIO);
	ck_assert_uint_eq(test_log_errors(), 1);
	nst_raw_read(fx.path, &fx.fmt, NLB, 2, raw, NULL);
	ck_assert_mem_eq(raw, zeros, 4096);
	ck_assert_int_eq(write_blocks(&fx, 3, 1, 0), 0);
	/* Every time, every 2nd flush. */
	ns_fault_clear(fx.ns);
	f = (struct ns_fault){.kind = NS_FAULT_IO_ERROR,
			      .ops = NS_FAULT_OP(NS_OP_FLUSH),
			      .nth = 2,
			      .every = true};
	ck_assert_int_eq(ns_fault_add(fx.ns, &f), 0);
	for (int i = 1; i <= 6; i++)
		ck_assert_int_eq(ns_flush_sync(fx.ns), i % 2 ? 0 : -EIO);
	ck_assert_uint_eq(ns_fault_fired(fx.ns, 0), 3);
	fixture_close(&fx);
}
END_TEST

START_TEST(same_seed_same_faults)
{
	struct ns_fault f = {
		.kind = NS_FAULT_BIT_FLIP, .field = PI_FIELD_DATA, .block = -1, .every = true};
	struct ns_fault_event ev[2][5];
	uint64_t seed = nst_seed("same_seed_same_faults");

	for (int run = 0; run < 2; run++) {
		struct fixture fx;

		fixture_open(&fx, false);
		ns_fault_set_seed(fx.ns, seed);
		ck_assert_int_eq(ns_fault_add(fx.ns, &f), 0);
		nst_buf_fill(&fx.buf, &fx.fmt, 0, 0);
		for (int i = 0; i < 5; i++) {
			struct ns_pi_params pi = nst_pi(0, 0, 0);

			ck_assert_int_eq(ns_write_sync(fx.ns, (uint64_t)i * 8, 8, fx.buf.data,
						       fx.buf.md, &pi),
					 0);
			ck_assert_int_eq(ns_fault_last_event(fx.ns, &ev[run][i]), 0);
		}
		fixture_close(&fx);
	}
	for (int i = 0; i < 5; i++) {
		ck_assert_uint_eq(ev[0][i].lba, ev[1][i].lba);
		ck_assert_uint_eq(ev[0][i].bit, ev[1][i].bit);
	}
}
END_TEST

START_TEST(bad_fault_specs_are_refused)
{
	struct fixture fx;
	struct ns_fault lost_on_read = {.kind = NS_FAULT_LOST, .ops = NS_FAULT_OP(NS_OP_READ)};
	struct ns_fault far = {.kind = NS_FAULT_MISDIRECT, .target_lba = NLB};
	struct ns_fault backwards = {.kind = NS_FAULT_LOST, .lba_first = 9, .lba_last = 3};

	fixture_open(&fx, false);
	ck_assert_int_eq(ns_fault_add(fx.ns, &lost_on_read), -EINVAL);
	ck_assert_int_eq(ns_fault_add(fx.ns, &far), -EINVAL);
	ck_assert_int_eq(ns_fault_add(fx.ns, &backwards), -EINVAL);
	ck_assert_int_eq(ns_fault_last_event(fx.ns, &(struct ns_fault_event){0}), -ENOENT);
	fixture_close(&fx);
}
END_TEST

static Suite *ns_fault_suite(void)
{
	Suite *s = suite_create("ns_fault");
	TCase *tc = tcase_create("fault");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, bit_flip_on_write_damages_the_file_not_the_buffer, 0, 4);
	tcase_add_loop_test(tc, bit_flip_on_read_damages_what_the_caller_gets, 0, 4);
	tcase_add_test(tc, misdirected_write_lands_at_another_lba);
	tcase_add_test(tc, torn_write_writes_only_a_prefix);
	tcase_add_test(tc, random_torn_write_keeps_a_shorter_prefix);
	tcase_add_test(tc, lost_write_reports_success_and_writes_nothing);
	tcase_add_test(tc, io_error_on_the_nth_command);
	tcase_add_test(tc, same_seed_same_faults);
	tcase_add_test(tc, bad_fault_specs_are_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(ns_fault_suite());
}
