/* SPDX-License-Identifier: MIT */
/*
 * pi_input_test.c - the pi suite, refusals and injection: unsupported formats and bad operation
 * arguments are refused with -EINVAL and touch nothing; injection is deterministic per seed,
 * advances it, spreads over blocks and bits, and is caught with the right tag and block.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

#include "pi/pi.h"
#include "tests/pi/pi_test_run.h"
#include "tests/util/test_util.h"

START_TEST(unsupported_formats_are_refused)
{
	struct pi_format ok = {.lba_size = 4096, .md_size = 8, .type = PI_TYPE_1};
	struct pi_format f;
	struct pi_ctx ctx;
	static const uint32_t bad_lba[] = {0, 1, 256, 520, 1024, 2048, 4104, 8192, 0xFFFFFFFF};

	ck_assert_int_eq(pi_ctx_init(&ctx, &ok), 0);
	ck_assert_int_eq(pi_ctx_init(NULL, &ok), -EINVAL);
	ck_assert_int_eq(pi_ctx_init(&ctx, NULL), -EINVAL);
	for (size_t i = 0; i < sizeof(bad_lba) / sizeof(bad_lba[0]); i++) {
		f = ok;
		f.lba_size = bad_lba[i];
		ck_assert_int_eq(pi_ctx_init(&ctx, &f), -EINVAL);
	}
	for (uint32_t md = 0; md < 16; md++) { /* md smaller than the tuple */
		f = ok;
		f.md_size = md;
		ck_assert_int_eq(pi_ctx_init(&ctx, &f), md < 8 ? -EINVAL : 0);
		f.guard = PI_GUARD_64;
		ck_assert_int_eq(pi_ctx_init(&ctx, &f), -EINVAL);
	}
	f = ok;
	f.type = 4;
	ck_assert_int_eq(pi_ctx_init(&ctx, &f), -EINVAL);
	f = ok;
	f.type = -1;
	ck_assert_int_eq(pi_ctx_init(&ctx, &f), -EINVAL);
	for (int g = 1; g < 8; g += 2) { /* 32-bit guard (1), 3 and beyond: not supported */
		f = ok;
		f.md_size = 16;
		f.guard = g;
		ck_assert_int_eq(pi_ctx_init(&ctx, &f), -EINVAL);
	}
	f = ok;
	f.layout = 2;
	ck_assert_int_eq(pi_ctx_init(&ctx, &f), -EINVAL);
	f = ok;
	f.md_size = 65536;
	ck_assert_int_eq(pi_ctx_init(&ctx, &f), -EINVAL);
	/* accepted: 64-bit guard on 512 and 4096, no PI with no metadata */
	f = ok;
	f.guard = PI_GUARD_64;
	f.md_size = 16;
	ck_assert_int_eq(pi_ctx_init(&ctx, &f), 0);
	f.lba_size = 512;
	ck_assert_int_eq(pi_ctx_init(&ctx, &f), 0);
	f = (struct pi_format){.lba_size = 512, .md_size = 0, .type = PI_TYPE_NONE};
	ck_assert_int_eq(pi_ctx_init(&ctx, &f), 0);
}
END_TEST

START_TEST(bad_operation_arguments_are_refused_and_touch_nothing)
{
	struct pi_format fs = {.lba_size = 512, .md_size = 8, .type = PI_TYPE_1};
	struct pi_format fi = fs;
	uint8_t buf[2 * 520], snap[2 * 520], md[16], bounce[2 * 520];
	struct iovec iov = {buf, 2 * 512}, short_iov = {buf, 2 * 512 - 1};
	struct iovec null_iov = {NULL, 1024};
	struct pi_io io = {.checks = PI_CHECK_ALL};
	struct pi_ctx cs, ci, zero = {0};
	uint64_t seed = 1;

	fi.layout = PI_MD_INTERLEAVED;
	ck_assert_int_eq(pi_ctx_init(&cs, &fs), 0);
	ck_assert_int_eq(pi_ctx_init(&ci, &fi), 0);
	test_rand_fill(buf, sizeof(buf));
	test_rand_fill(md, sizeof(md));
	memcpy(snap, buf, sizeof(buf));

	ck_assert_int_eq(pi_generate(&cs, &iov, 1, md, 0, &io), -EINVAL);	/* no blocks */
	ck_assert_int_eq(pi_generate(&cs, &short_iov, 1, md, 2, &io), -EINVAL); /* short */
	ck_assert_int_eq(pi_generate(&cs, &iov, 1, NULL, 2, &io), -EINVAL);	/* no md */
	ck_assert_int_eq(pi_generate(&cs, &iov, 1, md, 2, NULL), -EINVAL);	/* no io */
	ck_assert_int_eq(pi_generate(&cs, NULL, 1, md, 2, &io), -EINVAL);
	ck_assert_int_eq(pi_generate(&cs, &iov, -1, md, 2, &io), -EINVAL);
	ck_assert_int_eq(pi_generate(&cs, &null_iov, 1, md, 2, &io), -EINVAL);
	ck_assert_int_eq(pi_generate(NULL, &iov, 1, md, 2, &io), -EINVAL);
	ck_assert_int_eq(pi_generate(&zero, &iov, 1, md, 2, &io), -EINVAL); /* not initialised */
	ck_assert_int_eq(pi_generate(&cs, &iov, 0, md, 2, &io), -EINVAL);
	ck_assert_int_eq(pi_generate(&cs, &iov, 1, md, UINT32_MAX, &io), -EINVAL);
	/* interleaved: 2 * 520 bytes needed, md must be NULL */
	ck_assert_int_eq(pi_generate(&ci, &iov, 1, NULL, 2, &io), -EINVAL);
	iov.iov_len = sizeof(buf);
	ck_assert_int_eq(pi_generate(&ci, &iov, 1, md, 2, &io), -EINVAL);
	ck_assert_int_eq(pi_verify(&ci, &short_iov, 1, NULL, 2, &io, NULL), -EINVAL);
	ck_assert_int_eq(pi_verify(&cs, &iov, 1, md, 0, &io, NULL), -EINVAL);
	ck_assert_int_eq(pi_copy_generate(&cs, &short_iov, 1, bounce, md, 2, &io), -EINVAL);
	ck_assert_int_eq(pi_copy_generate(&cs, &iov, 1, NULL, md, 2, &io), -EINVAL);
	ck_assert_int_eq(pi_copy_generate(&ci, &iov, 1, bounce, NULL, 0, &io), -EINVAL);
	ck_assert_int_eq(pi_verify_copy(&cs, bounce, md, &short_iov, 1, 2, &io, NULL), -EINVAL);
	ck_assert_int_eq(pi_verify_copy(&cs, NULL, md, &iov, 1, 2, &io, NULL), -EINVAL);
	ck_assert_int_eq(pi_verify_copy(&ci, bounce, md, &iov, 1, 2, &io, NULL), -EINVAL);
	ck_assert_int_eq(pi_inject_error(&cs, &iov, 1, md, 2, PI_FIELD_REF, 2, &seed, NULL),
			 -EINVAL); /* block out of range */
	ck_assert_int_eq(pi_inject_error(&cs, &iov, 1, md, 2, PI_FIELD_REF, 0, NULL, NULL),
			 -EINVAL);
	ck_assert_int_eq(pi_inject_error(&cs, &iov, 1, md, 2, 7, 0, &seed, NULL), -EINVAL);
	ck_assert_int_eq(pi_inject_error(&cs, &short_iov, 1, md, 2, PI_FIELD_DATA, 0, &seed, NULL),
			 -EINVAL);
	ck_assert_uint_eq(seed, 1);
	ck_assert(!memcmp(buf, snap, sizeof(buf)));
}
END_TEST

START_TEST(injection_is_deterministic_per_seed_and_caught)
{
	struct pi_format f[MAX_FORMATS];
	size_t n = all_formats(f, MAX_FORMATS);

	for (size_t k = 0; k < n; k += 7) {
		for (int field = PI_FIELD_DATA; field <= PI_FIELD_REF; field++) {
			struct run a, b;
			struct pi_injection ia, ib;
			struct pi_error err;
			uint64_t seed = test_rand(), sa = seed, sb = seed;
			uint64_t rng = test_rand_state;
			int ret;

			run_init(&a, &f[k], 6);
			test_rand_state = rng;
			run_init(&b, &f[k], 6);
			ck_assert_int_eq(run_generate(&a), 0);
			ck_assert_int_eq(run_generate(&b), 0);
			ck_assert_int_eq(
				pi_inject_error(&a.ctx, &a.iov, 1, a.md, 6, field, -1, &sa, &ia),
				0);
			ck_assert_int_eq(
				pi_inject_error(&b.ctx, &b.iov, 1, b.md, 6, field, -1, &sb, &ib),
				0);
			ck_assert_uint_ne(sa, seed); /* advanced */
			ck_assert_uint_eq(sa, sb);
			ck_assert_uint_eq(ia.block, ib.block);
			ck_assert_uint_eq(ia.bit, ib.bit);
			ck_assert_int_eq(ia.field, field);
			ck_assert_uint_lt(ia.block, 6);
			ck_assert(!memcmp(a.data, b.data, a.len));
			ck_assert(!a.md || !memcmp(a.md, b.md, 6 * (size_t)f[k].md_size));
			ret = run_verify(&a, &err);
			if (field == PI_FIELD_REF && f[k].type == PI_TYPE_3) {
				ck_assert_int_eq(ret, 0);
			} else {
				ck_assert_int_eq(ret, -EIO);
				ck_assert_uint_eq(err.block, ia.block);
				ck_assert_int_eq(err.tag, field == PI_FIELD_DATA
								  ? PI_TAG_GUARD
								  : (enum pi_tag)field);
				ck_assert_uint_eq(err.found ^ err.expected,
						  field == PI_FIELD_DATA ? err.found ^ err.expected
									 : 1ULL << ia.bit);
			}
			/* a chosen block */
			ck_assert_int_eq(
				pi_inject_error(&b.ctx, &b.iov, 1, b.md, 6, field, 4, &sb, &ib), 0);
			ck_assert_uint_eq(ib.block, 4);
			run_free(&a);
			run_free(&b);
		}
	}
}
END_TEST

START_TEST(injection_spreads_over_blocks_and_bits)
{
	struct pi_format f = {
		.lba_size = 512, .md_size = 16, .type = PI_TYPE_1, .guard = PI_GUARD_64};
	bool blocks[8] = {false}, bits[64] = {false};
	uint64_t seed = 42;
	struct run r;
	int nb = 0, nbits = 0;

	run_init(&r, &f, 8);
	for (int i = 0; i < 2000; i++) {
		struct pi_injection inj;

		ck_assert_int_eq(pi_inject_error(&r.ctx, &r.iov, 1, r.md, 8, PI_FIELD_GUARD, -1,
						 &seed, &inj),
				 0);
		ck_assert_uint_lt(inj.bit, 64);
		blocks[inj.block] = true;
		bits[inj.bit] = true;
	}
	for (int i = 0; i < 8; i++)
		nb += blocks[i];
	for (int i = 0; i < 64; i++)
		nbits += bits[i];
	ck_assert_int_eq(nb, 8);
	ck_assert_int_eq(nbits, 64);
	run_free(&r);
}
END_TEST

/* Injection walks split iovecs: the same seed damages the same byte as over one iovec. */
START_TEST(injection_over_split_iovecs_matches_one_iovec)
{
	for (int g = 0; g < 2; g++) {
		struct pi_format f = {.lba_size = 512,
				      .md_size = 32,
				      .type = PI_TYPE_1,
				      .guard = g ? PI_GUARD_64 : PI_GUARD_16,
				      .layout = PI_MD_INTERLEAVED};
		struct run r;
		uint8_t *copy;

		run_init(&r, &f, 3);
		copy = malloc(r.len);
		ck_assert_ptr_nonnull(copy);
		for (int field = PI_FIELD_DATA; field <= PI_FIELD_REF; field++)
			for (int rep = 0; rep < 50; rep++) {
				size_t cut = test_rand() % (r.len + 1);
				struct iovec iov[2] = {{copy, cut}, {copy + cut, r.len - cut}};
				uint64_t s1 = test_rand(), s2 = s1;

				memcpy(copy, r.data, r.len);
				ck_assert_int_eq(pi_inject_error(&r.ctx, &r.iov, 1, NULL, 3, field,
								 -1, &s1, NULL),
						 0);
				ck_assert_int_eq(pi_inject_error(&r.ctx, iov, 2, NULL, 3, field, -1,
								 &s2, NULL),
						 0);
				ck_assert(!memcmp(copy, r.data, r.len));
			}
		free(copy);
		run_free(&r);
	}
}
END_TEST

TCase *pi_input_tcase(void)
{
	TCase *tc = tcase_create("input");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, unsupported_formats_are_refused);
	tcase_add_test(tc, bad_operation_arguments_are_refused_and_touch_nothing);
	tcase_add_test(tc, injection_is_deterministic_per_seed_and_caught);
	tcase_add_test(tc, injection_spreads_over_blocks_and_bits);
	tcase_add_test(tc, injection_over_split_iovecs_matches_one_iovec);
	return tc;
}
