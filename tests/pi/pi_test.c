/* SPDX-License-Identifier: MIT */
/*
 * pi_test.c - the pi suite, tuple part: round trips over every format, guard coverage, tuple
 * byte order, single-bit flips, escapes, the app mask, check flags and ref wrap. The iovec and
 * bounce part is in pi_iov_test.c, bad input and injection in pi_input_test.c.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

#include "pi/pi.h"
#include "tests/pi/pi_test_run.h"
#include "tests/util/test_util.h"

START_TEST(round_trip_every_format_stores_the_defined_tuple)
{
	struct pi_format f[MAX_FORMATS];
	size_t n = all_formats(f, MAX_FORMATS);

	ck_assert_uint_eq(n, 120);
	for (size_t k = 0; k < n; k++) {
		uint8_t before[5 * (4096 + 64)], md_before[5 * 64];
		struct run r;
		struct pi_error err;

		run_init(&r, &f[k], 5);
		memcpy(before, r.data, r.len);
		for (uint32_t i = 0; i < r.nblocks; i++)
			memcpy(md_before + i * f[k].md_size, run_md(&r, i), f[k].md_size);
		ck_assert_int_eq(run_generate(&r), 0);
		ck_assert_int_eq(run_verify(&r, &err), 0);
		for (uint32_t i = 0; i < r.nblocks; i++) {
			uint64_t ref = f[k].type == PI_TYPE_3 ? r.io.ref_tag : r.io.ref_tag + i;
			const uint8_t *mdb = md_before + i * f[k].md_size;

			ck_assert_uint_eq(tuple_guard(&r, i), expected_guard(&r, i));
			ck_assert_uint_eq(tuple_app(&r, i), 0x1234);
			ck_assert_uint_eq(tuple_ref(&r, i), ref);
			/* generate writes the tuple and nothing else */
			ck_assert(!memcmp(r.data + (size_t)i * r.ctx.stride,
					  before + (size_t)i * r.ctx.stride, f[k].lba_size));
			for (uint32_t m = 0; m < f[k].md_size; m++)
				if (m < r.ctx.pi_offset || m >= r.ctx.pi_offset + r.ctx.tuple_size)
					ck_assert_uint_eq(run_md(&r, i)[m], mdb[m]);
		}
		run_free(&r);
	}
}
END_TEST

/* The 4 KiB incrementing pattern: its CRC-16 (0x8F6D) and CRC-64 are not zero. */
START_TEST(tuple_bytes_are_big_endian)
{
	static const uint8_t want16[8] = {0x8F, 0x6D, 0x12, 0x34, 0x89, 0xAB, 0xCD, 0xEF};
	static const uint8_t want64[16] = {0x3E, 0x72, 0x9F, 0x5F, 0x67, 0x50, 0x44, 0x9C,
					   0x12, 0x34, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB};
	uint8_t data[4096], md[16];
	struct iovec iov = {data, sizeof(data)};
	struct pi_format f = {.lba_size = 4096, .md_size = 8, .type = PI_TYPE_2};
	struct pi_io io = {.ref_tag = 0x89ABCDEF, .app_tag = 0x1234};
	struct pi_ctx ctx;

	for (int i = 0; i < 4096; i++)
		data[i] = (uint8_t)i;
	ck_assert_int_eq(pi_ctx_init(&ctx, &f), 0);
	ck_assert_int_eq(pi_generate(&ctx, &iov, 1, md, 1, &io), 0);
	for (int i = 0; i < 8; i++)
		ck_assert_msg(md[i] == want16[i], "byte %d: %02x", i, md[i]);

	f.md_size = 16;
	f.guard = PI_GUARD_64;
	io.ref_tag = 0x0123456789ABULL;
	ck_assert_int_eq(pi_ctx_init(&ctx, &f), 0);
	ck_assert_int_eq(pi_generate(&ctx, &iov, 1, md, 1, &io), 0);
	for (int i = 0; i < 16; i++)
		ck_assert_msg(md[i] == want64[i], "byte %d: %02x", i, md[i]);
}
END_TEST

/* Flip one bit of block i at byte offset off of its data+md, verify, expect (tag, block). */
static void expect_flip(struct run *r, uint8_t *byte, int bit, uint32_t block, enum pi_tag tag)
{
	struct pi_error err;
	int ret;

	*byte ^= (uint8_t)(1u << bit);
	memset(&err, 0, sizeof(err));
	ret = run_verify(r, &err);
	*byte ^= (uint8_t)(1u << bit);
	if (tag == PI_TAG_NONE) {
		ck_assert_int_eq(ret, 0);
		return;
	}
	ck_assert_int_eq(ret, -EIO);
	ck_assert_uint_eq(err.block, block);
	ck_assert_uint_eq(err.lba, r->io.lba + block);
	ck_assert_int_eq(err.tag, tag);
	ck_assert_uint_ne(err.expected, err.found);
}

START_TEST(every_tag_bit_flip_is_caught_with_its_tag_and_block)
{
	struct pi_format f[MAX_FORMATS];
	size_t n = all_formats(f, MAX_FORMATS);

	for (size_t k = 0; k < n; k++) {
		struct run r;
		uint32_t blk = 1, gsz = f[k].guard == PI_GUARD_64 ? 8 : 2;
		uint8_t *t;

		run_init(&r, &f[k], 3);
		ck_assert_int_eq(run_generate(&r), 0);
		t = run_tuple(&r, blk);
		for (uint32_t b = 0; b < r.ctx.tuple_size * 8; b++) {
			enum pi_tag tag = b / 8 < gsz	    ? PI_TAG_GUARD
					  : b / 8 < gsz + 2 ? PI_TAG_APP
							    : PI_TAG_REF;

			if (tag == PI_TAG_REF && f[k].type == PI_TYPE_3)
				tag = PI_TAG_NONE; /* type 3 never checks the ref tag */
			expect_flip(&r, &t[b / 8], b % 8, blk, tag);
		}
		/* md bytes outside the tuple: covered by the guard only before it (PI last) */
		for (uint32_t m = 0; m < f[k].md_size; m++) {
			if (m >= r.ctx.pi_offset && m < r.ctx.pi_offset + r.ctx.tuple_size)
				continue;
			expect_flip(&r, &run_md(&r, blk)[m], (int)(m % 8), blk,
				    m < r.ctx.pi_offset ? PI_TAG_GUARD : PI_TAG_NONE);
		}
		/* some data bits of every block */
		for (uint32_t i = 0; i < r.nblocks; i++)
			for (int rep = 0; rep < 8; rep++) {
				uint32_t bit = test_rand() % (f[k].lba_size * 8);

				expect_flip(&r, r.data + (size_t)i * r.ctx.stride + bit / 8,
					    (int)(bit % 8), i, PI_TAG_GUARD);
			}
		run_free(&r);
	}
}
END_TEST

START_TEST(every_data_bit_flip_is_caught)
{
	for (int g = 0; g < 2; g++)
		for (int l = 0; l < 2; l++) {
			struct pi_format f = {.lba_size = l ? 4096 : 512,
					      .md_size = g ? 16 : 8,
					      .type = PI_TYPE_1,
					      .guard = g ? PI_GUARD_64 : PI_GUARD_16,
					      .layout = PI_MD_INTERLEAVED};
			struct run r;

			run_init(&r, &f, 1);
			ck_assert_int_eq(run_generate(&r), 0);
			for (uint32_t bit = 0; bit < f.lba_size * 8; bit++)
				expect_flip(&r, r.data + bit / 8, (int)(bit % 8), 0, PI_TAG_GUARD);
			run_free(&r);
		}
}
END_TEST

START_TEST(error_reports_expected_as_what_should_be_stored)
{
	struct pi_format f = {.lba_size = 512, .md_size = 8, .type = PI_TYPE_1};
	struct pi_error err;
	struct run r;
	uint64_t guard;

	run_init(&r, &f, 4);
	ck_assert_int_eq(run_generate(&r), 0);
	guard = tuple_guard(&r, 2);
	run_tuple(&r, 2)[1] ^= 0x01;
	ck_assert_int_eq(run_verify(&r, &err), -EIO);
	ck_assert_int_eq(err.tag, PI_TAG_GUARD);
	ck_assert_uint_eq(err.expected, guard);
	ck_assert_uint_eq(err.found, guard ^ 1);
	run_tuple(&r, 2)[1] ^= 0x01;

	run_tuple(&r, 3)[3] ^= 0x80; /* app 0x1234 -> 0x12B4 */
	ck_assert_int_eq(run_verify(&r, &err), -EIO);
	ck_assert_int_eq(err.tag, PI_TAG_APP);
	ck_assert_uint_eq(err.expected, 0x1234);
	ck_assert_uint_eq(err.found, 0x12B4);
	ck_assert_uint_eq(err.block, 3);
	ck_assert_uint_eq(err.lba, r.io.lba + 3);
	run_tuple(&r, 3)[3] ^= 0x80;

	run_tuple(&r, 0)[7] ^= 0x02;
	ck_assert_int_eq(run_verify(&r, &err), -EIO);
	ck_assert_int_eq(err.tag, PI_TAG_REF);
	ck_assert_uint_eq(err.expected, r.io.ref_tag);
	ck_assert_uint_eq(err.found, r.io.ref_tag ^ 2);
	ck_assert_str_eq(pi_tag_name(err.tag), "ref");
	ck_assert_str_eq(pi_tag_name(PI_TAG_GUARD), "guard");
	ck_assert_str_eq(pi_tag_name(PI_TAG_APP), "app");
	ck_assert_str_eq(pi_tag_name(PI_TAG_NONE), "none");
	{
		struct pi_error e = {.tag = PI_TAG_APP, .expected = 0x1234, .found = 0x12b4};
		char line[96];

		pi_error_describe(&e, line, sizeof(line));
		ck_assert_str_eq(line, "PI app check failed (expected 0x1234, found 0x12b4)");
	}
	run_free(&r);
}
END_TEST

START_TEST(check_flags_select_the_checks)
{
	struct pi_format f = {
		.lba_size = 512, .md_size = 16, .type = PI_TYPE_1, .guard = PI_GUARD_64};
	struct pi_error err;
	struct run r;

	run_init(&r, &f, 2);
	ck_assert_int_eq(run_generate(&r), 0);
	run_tuple(&r, 1)[0] ^= 1;  /* guard */
	run_tuple(&r, 1)[9] ^= 1;  /* app */
	run_tuple(&r, 1)[15] ^= 1; /* ref */
	r.io.checks = 0;
	ck_assert_int_eq(run_verify(&r, NULL), 0);
	r.io.checks = PI_CHECK_GUARD;
	ck_assert_int_eq(run_verify(&r, &err), -EIO);
	ck_assert_int_eq(err.tag, PI_TAG_GUARD);
	r.io.checks = PI_CHECK_APP;
	ck_assert_int_eq(run_verify(&r, &err), -EIO);
	ck_assert_int_eq(err.tag, PI_TAG_APP);
	r.io.checks = PI_CHECK_REF;
	ck_assert_int_eq(run_verify(&r, &err), -EIO);
	ck_assert_int_eq(err.tag, PI_TAG_REF);
	r.io.checks = PI_CHECK_ALL; /* err may be NULL */
	ck_assert_int_eq(run_verify(&r, NULL), -EIO);
	run_free(&r);
}
END_TEST

static void set_tags(struct run *r, uint32_t i, uint16_t app, uint64_t ref)
{
	uint8_t *t = run_tuple(r, i);
	int g = r->ctx.fmt.guard == PI_GUARD_64 ? 8 : 2, rn = g == 8 ? 6 : 4;

	for (int b = 0; b < 2; b++)
		t[g + b] = (uint8_t)(app >> (8 * (1 - b)));
	for (int b = 0; b < rn; b++)
		t[g + 2 + b] = (uint8_t)(ref >> (8 * (rn - 1 - b)));
}

START_TEST(escapes_skip_all_checks_exactly_when_defined)
{
	for (int g = 0; g < 2; g++)
		for (int type = 1; type <= 3; type++) {
			struct pi_format f = {.lba_size = 512,
					      .md_size = g ? 16 : 8,
					      .type = type,
					      .guard = g ? PI_GUARD_64 : PI_GUARD_16};
			uint64_t ones = g ? 0xFFFFFFFFFFFFULL : 0xFFFFFFFFULL;
			struct pi_error err;
			struct run r;

			run_init(&r, &f, 3);
			ck_assert_int_eq(run_generate(&r), 0);
			run_tuple(&r, 1)[0] ^= 0x5A; /* bad guard in block 1 */
			/* app 0xFFFF with a wrong ref: an escape for types 1/2 only */
			set_tags(&r, 1, 0xFFFF, 0x42);
			if (type == PI_TYPE_3) {
				ck_assert_int_eq(run_verify(&r, &err), -EIO);
				ck_assert_int_eq(err.tag, PI_TAG_GUARD);
			} else {
				ck_assert_int_eq(run_verify(&r, &err), 0);
			}
			/* app 0xFFFF and all-ones ref: an escape for every type */
			set_tags(&r, 1, 0xFFFF, ones);
			ck_assert_int_eq(run_verify(&r, &err), 0);
			/* all-ones ref alone is no escape */
			set_tags(&r, 1, 0x1234, ones);
			ck_assert_int_eq(run_verify(&r, &err), -EIO);
			ck_assert_uint_eq(err.block, 1);
			/* app 0xFFFE: no escape */
			set_tags(&r, 1, 0xFFFE, ones);
			ck_assert_int_eq(run_verify(&r, &err), -EIO);
			run_free(&r);
		}
}
END_TEST

START_TEST(app_mask_applies_to_both_sides)
{
	struct pi_format f = {.lba_size = 512, .md_size = 8, .type = PI_TYPE_1};
	struct pi_error err;
	struct run r;

	run_init(&r, &f, 2);
	r.io.app_tag = 0x12CD;
	ck_assert_int_eq(run_generate(&r), 0);
	/* expected 0x12AB vs stored 0x12CD: equal under 0xFF00 only if both sides are masked */
	r.io.app_tag = 0x12AB;
	r.io.app_mask = 0xFF00;
	ck_assert_int_eq(run_verify(&r, &err), 0);
	r.io.app_mask = 0xFFFF;
	ck_assert_int_eq(run_verify(&r, &err), -EIO);
	ck_assert_int_eq(err.tag, PI_TAG_APP);
	ck_assert_uint_eq(err.expected, 0x12AB);
	ck_assert_uint_eq(err.found, 0x12CD);
	r.io.app_mask = 0x00FF;
	ck_assert_int_eq(run_verify(&r, &err), -EIO);
	r.io.app_mask = 0;
	ck_assert_int_eq(run_verify(&r, &err), 0);
	r.io.app_tag = 0x34CD;
	r.io.app_mask = 0x00FF;
	ck_assert_int_eq(run_verify(&r, &err), 0);
	run_free(&r);
}
END_TEST

START_TEST(ref_tags_wrap_modulo_2_32_and_2_48)
{
	for (int g = 0; g < 2; g++)
		for (int type = 1; type <= 3; type++) {
			struct pi_format f = {.lba_size = 512,
					      .md_size = g ? 16 : 8,
					      .type = type,
					      .guard = g ? PI_GUARD_64 : PI_GUARD_16};
			uint64_t mask = g ? (1ULL << 48) - 1 : (1ULL << 32) - 1;
			struct run r;

			run_init(&r, &f, 4);
			/* bits above the width are dropped: 2^48 + mask - 1 == mask - 1 (mod 2^48)
			 */
			r.io.ref_tag = (mask + 1) * 3 + mask - 1;
			ck_assert_int_eq(run_generate(&r), 0);
			ck_assert_int_eq(run_verify(&r, NULL), 0);
			for (uint32_t i = 0; i < 4; i++) {
				uint64_t want =
					type == PI_TYPE_3 ? mask - 1 : (mask - 1 + i) & mask;

				ck_assert_uint_eq(tuple_ref(&r, i), want);
			}
			if (type != PI_TYPE_3) {
				ck_assert_uint_eq(tuple_ref(&r, 2), 0);
				/* verifying from the masked start gives the same answer */
				r.io.ref_tag = mask - 1;
				ck_assert_int_eq(run_verify(&r, NULL), 0);
				r.io.ref_tag = mask;
				ck_assert_int_eq(run_verify(&r, NULL), -EIO);
			}
			run_free(&r);
		}
}
END_TEST

START_TEST(full_48_bit_initial_ref_tag)
{
	struct pi_format f = {
		.lba_size = 4096, .md_size = 16, .type = PI_TYPE_2, .guard = PI_GUARD_64};
	struct run r;

	run_init(&r, &f, 3);
	r.io.ref_tag = 0xABCD12345678ULL;
	ck_assert_int_eq(run_generate(&r), 0);
	ck_assert_uint_eq(tuple_ref(&r, 2), 0xABCD1234567AULL);
	ck_assert_int_eq(run_verify(&r, NULL), 0);
	r.io.ref_tag = 0x12345678; /* same low 32 bits: still a ref error at 48 bits */
	ck_assert_int_eq(run_verify(&r, NULL), -EIO);
	run_free(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pi");
	TCase *tc = tcase_create("tuple");

	test_rand_seed("PI_TEST_SEED", "pi");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, round_trip_every_format_stores_the_defined_tuple);
	tcase_add_test(tc, tuple_bytes_are_big_endian);
	tcase_add_test(tc, every_tag_bit_flip_is_caught_with_its_tag_and_block);
	tcase_add_test(tc, every_data_bit_flip_is_caught);
	tcase_add_test(tc, error_reports_expected_as_what_should_be_stored);
	tcase_add_test(tc, check_flags_select_the_checks);
	tcase_add_test(tc, escapes_skip_all_checks_exactly_when_defined);
	tcase_add_test(tc, app_mask_applies_to_both_sides);
	tcase_add_test(tc, ref_tags_wrap_modulo_2_32_and_2_48);
	tcase_add_test(tc, full_48_bit_initial_ref_tag);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, pi_iov_tcase());
	suite_add_tcase(s, pi_input_tcase());
	return test_run_suite(s);
}
