// SPDX-License-Identifier: MIT
/*
 * ns_strict_test.c - strict mode checks PI like a controller with PRCHK: corruption of data,
 * guard, app or ref tag in the image is caught on read with the right tag and LBA; a write with
 * bad PI is refused and never reaches the file; type 1 wants the ref tag to be the LBA; the
 * app-tag mask and the escapes behave as NVMe says. Without strict mode nothing is checked.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ns.h"
#include "ns_test_util.h"

struct corrupt_case {
	enum pi_guard guard;
	uint32_t md;
	bool pi_first;
	enum pi_field field;
	enum pi_tag tag; /* what the read must report */
};

/* Offsets of the tuple fields inside the metadata (tuple last unless pi_first). */
static const struct corrupt_case corrupt_cases[] = {
	{PI_GUARD_16, 8, false, PI_FIELD_DATA, PI_TAG_GUARD},
	{PI_GUARD_16, 8, false, PI_FIELD_GUARD, PI_TAG_GUARD},
	{PI_GUARD_16, 8, false, PI_FIELD_APP, PI_TAG_APP},
	{PI_GUARD_16, 8, false, PI_FIELD_REF, PI_TAG_REF},
	{PI_GUARD_64, 16, false, PI_FIELD_DATA, PI_TAG_GUARD},
	{PI_GUARD_64, 16, false, PI_FIELD_GUARD, PI_TAG_GUARD},
	{PI_GUARD_64, 16, false, PI_FIELD_APP, PI_TAG_APP},
	{PI_GUARD_64, 16, false, PI_FIELD_REF, PI_TAG_REF},
	{PI_GUARD_16, 64, true, PI_FIELD_REF, PI_TAG_REF},
	{PI_GUARD_16, 64, false, PI_FIELD_APP, PI_TAG_APP},
};

/* Byte offset of a field's first byte in the image for block lba. */
static uint64_t field_offset(const struct pi_format *fmt, uint64_t nlb_total, uint64_t lba,
			     enum pi_field field)
{
	uint32_t tuple = pi_tuple_size(fmt->guard), guard_len = fmt->guard == PI_GUARD_64 ? 8 : 2;
	uint64_t pi =
		test_md_offset(fmt, nlb_total, lba) + (fmt->pi_first ? 0 : fmt->md_size - tuple);

	switch (field) {
	case PI_FIELD_DATA:
		return lba * fmt->lba_size + 100;
	case PI_FIELD_GUARD:
		return pi;
	case PI_FIELD_APP:
		return pi + guard_len;
	default:
		return pi + guard_len + 2 + (fmt->guard == PI_GUARD_64 ? 5 : 3); /* last ref byte */
	}
}

START_TEST(strict_read_detects_each_corruption)
{
	const struct corrupt_case *c = &corrupt_cases[_i];
	struct pi_format fmt = test_format(4096, c->md, PI_TYPE_1, c->guard, c->pi_first);
	struct ns_pi_params pi = nst_pi(8, 0x4242, PI_CHECK_ALL);
	uint64_t bad_lba;
	struct ns_request rq;
	struct nst_buf buf;
	struct iovec iov;
	char path[256];
	struct ns *ns;

	nst_seed("strict_read_detects_each_corruption");
	bad_lba = 8 + test_rand() % 16;
	ns = nst_open_new(&fmt, 64, true, path, sizeof(path));
	nst_buf_alloc(&buf, &fmt, 16);
	nst_buf_fill(&buf, &fmt, 8, 0x4242);
	ck_assert_int_eq(ns_write_sync(ns, 8, 16, buf.data, buf.md, &pi), 0);
	/* Damage one byte from the host side, as a bad disk or a stray writer would. */
	test_file_flip_byte(path, field_offset(&fmt, 64, bad_lba, c->field),
			    (uint8_t)(1u << (test_rand() % 8)));
	rq = nst_request(NS_OP_READ, 8, 16, &buf, 4096, &iov, &pi);
	test_log_capture();
	ck_assert_int_eq(ns_submit_wait(ns, &rq), -EIO);
	ck_assert_int_eq(rq.pi_error.tag, c->tag);
	ck_assert_uint_eq(rq.pi_error.lba, bad_lba);
	ck_assert_uint_eq(rq.pi_error.block, bad_lba - 8);
	ck_assert_uint_ne(rq.pi_error.expected, rq.pi_error.found);
	ck_assert_uint_eq(test_log_errors(), 1);
	/* The blocks before it are fine. */
	if (bad_lba > 8)
		ck_assert_int_eq(
			ns_read_sync(ns, 8, (uint32_t)(bad_lba - 8), buf.data, buf.md, &pi), 0);
	nst_buf_free(&buf);
	ns_close(ns);
	unlink(path);
}
END_TEST

START_TEST(strict_write_with_bad_pi_is_refused_and_not_written)
{
	struct pi_format fmt = test_format(512, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct ns_pi_params pi = nst_pi(32, 0x10, PI_CHECK_ALL);
	uint8_t raw[512], raw_md[8], zeros[512] = {0};
	enum pi_tag want[] = {PI_TAG_GUARD, PI_TAG_APP, PI_TAG_REF};
	size_t md_byte[] = {0, 2, 7};
	struct ns_request rq;
	struct nst_buf buf;
	struct iovec iov;
	char path[256];
	struct ns *ns;

	nst_seed("strict_write_with_bad_pi_is_refused_and_not_written");
	ns = nst_open_new(&fmt, 64, true, path, sizeof(path));
	nst_buf_alloc(&buf, &fmt, 4);
	for (int k = 0; k < 3; k++) {
		nst_buf_fill(&buf, &fmt, 32, 0x10);
		buf.md[2 * 8 + md_byte[k]] ^= 0x01; /* block 2 of 4: LBA 34 */
		rq = nst_request(NS_OP_WRITE, 32, 4, &buf, 512, &iov, &pi);
		ck_assert_int_eq(ns_submit_wait(ns, &rq), -EIO);
		ck_assert_int_eq(rq.pi_error.tag, want[k]);
		ck_assert_uint_eq(rq.pi_error.lba, 34);
		for (uint64_t lba = 32; lba < 36; lba++) {
			nst_raw_read(path, &fmt, 64, lba, raw, raw_md);
			ck_assert_mem_eq(raw, zeros, 512);
			ck_assert_mem_eq(raw_md, zeros, 8);
		}
	}
	nst_buf_free(&buf);
	ns_close(ns);
	unlink(path);
}
END_TEST

START_TEST(strict_type1_ref_tag_must_be_the_lba)
{
	struct pi_format fmt = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct ns_pi_params pi = nst_pi(6, 0, PI_CHECK_ALL);
	struct nst_buf buf;
	char path[256];
	struct ns *ns;

	nst_seed("strict_type1_ref_tag_must_be_the_lba");
	ns = nst_open_new(&fmt, 16, true, path, sizeof(path));
	nst_buf_alloc(&buf, &fmt, 1);
	nst_buf_fill(&buf, &fmt, 5, 0);
	test_log_capture();
	ck_assert_int_eq(ns_write_sync(ns, 5, 1, buf.data, buf.md, &pi), -EINVAL);
	ck_assert_int_eq(ns_read_sync(ns, 5, 1, buf.data, buf.md, &pi), -EINVAL);
	ck_assert_uint_eq(test_log_errors(), 2);
	nst_buf_free(&buf);
	ns_close(ns);
	unlink(path);
}
END_TEST

START_TEST(strict_app_mask_and_escape_follow_nvme)
{
	struct pi_format fmt = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct ns_pi_params pi = nst_pi(2, 0x1200, PI_CHECK_ALL);
	struct nst_buf buf;
	char path[256];
	struct ns *ns;

	nst_seed("strict_app_mask_and_escape_follow_nvme");
	ns = nst_open_new(&fmt, 16, true, path, sizeof(path));
	nst_buf_alloc(&buf, &fmt, 2);
	nst_buf_fill(&buf, &fmt, 2, 0x1234);
	/* Stored app 0x1234, expected 0x1200: equal under mask 0xFF00 only. */
	ck_assert_int_eq(ns_write_sync(ns, 2, 2, buf.data, buf.md, &pi), -EIO);
	pi.app_mask = 0xFF00;
	ck_assert_int_eq(ns_write_sync(ns, 2, 2, buf.data, buf.md, &pi), 0);
	pi.app_mask = 0xFFFF;
	ck_assert_int_eq(ns_read_sync(ns, 2, 2, buf.data, buf.md, &pi), -EIO);
	pi.checks = PI_CHECK_GUARD | PI_CHECK_REF;
	ck_assert_int_eq(ns_read_sync(ns, 2, 2, buf.data, buf.md, &pi), 0);
	/* App tag 0xFFFF escapes every check of type 1, even a garbage guard. */
	nst_buf_fill(&buf, &fmt, 2, 0xFFFF);
	buf.md[0] ^= 0xFF;
	pi.checks = PI_CHECK_ALL;
	ck_assert_int_eq(ns_write_sync(ns, 2, 2, buf.data, buf.md, &pi), 0);
	ck_assert_int_eq(ns_read_sync(ns, 2, 2, buf.data, buf.md, &pi), 0);
	nst_buf_free(&buf);
	ns_close(ns);
	unlink(path);
}
END_TEST

START_TEST(type3_ref_tag_is_not_checked)
{
	struct pi_format fmt = test_format(4096, 8, PI_TYPE_3, PI_GUARD_16, false);
	struct ns_pi_params pi = nst_pi(0, 0x55, PI_CHECK_APP | PI_CHECK_GUARD);
	struct nst_buf buf;
	char path[256];
	struct ns *ns;

	nst_seed("type3_ref_tag_is_not_checked");
	ns = nst_open_new(&fmt, 16, true, path, sizeof(path));
	nst_buf_alloc(&buf, &fmt, 4);
	nst_buf_fill(&buf, &fmt, 0, 0x55);
	buf.md[8 + 7] ^= 0x3;
	ck_assert_int_eq(ns_write_sync(ns, 4, 4, buf.data, buf.md, &pi), 0);
	ck_assert_int_eq(ns_read_sync(ns, 4, 4, buf.data, buf.md, &pi), 0);
	buf.data[4096 * 3] ^= 1;
	ck_assert_int_eq(ns_write_sync(ns, 4, 4, buf.data, buf.md, &pi), -EIO);
	nst_buf_free(&buf);
	ns_close(ns);
	unlink(path);
}
END_TEST

START_TEST(without_strict_nothing_is_checked)
{
	struct pi_format fmt = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct ns_pi_params pi = nst_pi(0, 0x1, PI_CHECK_ALL);
	struct nst_buf buf, back;
	char path[256];
	struct ns *ns;

	nst_seed("without_strict_nothing_is_checked");
	ns = nst_open_new(&fmt, 16, false, path, sizeof(path));
	nst_buf_alloc(&buf, &fmt, 2);
	nst_buf_alloc(&back, &fmt, 2);
	nst_buf_fill(&buf, &fmt, 0, 0x1);
	buf.md[3] ^= 0x40;
	ck_assert_int_eq(ns_write_sync(ns, 0, 2, buf.data, buf.md, &pi), 0);
	ck_assert_int_eq(ns_read_sync(ns, 0, 2, back.data, back.md, &pi), 0);
	ck_assert_mem_eq(back.md, buf.md, 16);
	nst_buf_free(&buf);
	nst_buf_free(&back);
	ns_close(ns);
	unlink(path);
}
END_TEST

static Suite *ns_strict_suite(void)
{
	Suite *s = suite_create("ns_strict");
	TCase *tc = tcase_create("strict");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, strict_read_detects_each_corruption, 0,
			    (int)(sizeof(corrupt_cases) / sizeof(corrupt_cases[0])));
	tcase_add_test(tc, strict_write_with_bad_pi_is_refused_and_not_written);
	tcase_add_test(tc, strict_type1_ref_tag_must_be_the_lba);
	tcase_add_test(tc, strict_app_mask_and_escape_follow_nvme);
	tcase_add_test(tc, type3_ref_tag_is_not_checked);
	tcase_add_test(tc, without_strict_nothing_is_checked);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(ns_strict_suite());
}
