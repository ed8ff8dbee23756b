/* SPDX-License-Identifier: MIT */
/*
 * pi_iov_test.c - the pi suite, iovec and bounce part: splits at every byte of a two-block
 * run for generate, verify, copy+generate and verify+copy, the read bounce copying nothing of a
 * failing block, metadata outside the tuple left alone, and formats without PI.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

#include "pi/pi.h"
#include "tests/pi/pi_test_run.h"
#include "tests/util/test_util.h"

/* iovecs over buf split at the given cut points (sorted, may repeat: empty iovecs) */
static int make_iovs(struct iovec *iov, uint8_t *buf, size_t len, const size_t *cuts, int ncuts)
{
	size_t prev = 0;
	int n = 0;

	for (int i = 0; i < ncuts; i++) {
		iov[n].iov_base = buf + prev;
		iov[n++].iov_len = cuts[i] - prev;
		prev = cuts[i];
	}
	iov[n].iov_base = buf + prev;
	iov[n++].iov_len = len - prev;
	return n;
}

/* A 2-block run, what the one-iovec calls make of it, and scratch buffers. */
struct split_case {
	struct run r;
	size_t mdlen;	     /* separate metadata bytes, 0 when interleaved */
	size_t plen;	     /* data-only bytes */
	uint8_t *plain;	     /* data-only copy of the blocks */
	uint8_t *gen_data;   /* pi_generate over one iovec */
	uint8_t *gen_md;     /* its separate metadata */
	uint8_t *bounce_ref; /* pi_copy_generate from one iovec */
	uint8_t *work, *md_work, *bounce;
};

static void *xmalloc(size_t len)
{
	void *p = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(p);
	return p;
}

static void split_case_init(struct split_case *sc, const struct pi_format *f)
{
	struct run *r = &sc->r;
	struct iovec src;

	run_init(r, f, 2);
	sc->mdlen = r->md ? 2 * (size_t)f->md_size : 0;
	sc->plen = 2 * (size_t)f->lba_size;
	sc->plain = run_plain(r);
	sc->gen_data = xmalloc(r->len);
	sc->gen_md = xmalloc(sc->mdlen);
	sc->bounce_ref = xmalloc(r->len);
	sc->work = xmalloc(r->len);
	sc->md_work = xmalloc(sc->mdlen);
	sc->bounce = xmalloc(r->len);

	memcpy(sc->gen_data, r->data, r->len);
	memcpy(sc->gen_md, r->md ? r->md : sc->gen_data, sc->mdlen);
	r->iov.iov_base = sc->gen_data;
	ck_assert_int_eq(pi_generate(&r->ctx, &r->iov, 1, r->md ? sc->gen_md : NULL, 2, &r->io), 0);
	r->iov.iov_base = r->data;

	src = (struct iovec){sc->plain, sc->plen};
	memcpy(sc->bounce_ref, r->data, r->len); /* interleaved: md outside the tuple kept */
	memcpy(sc->md_work, r->md ? r->md : sc->gen_data, sc->mdlen);
	ck_assert_int_eq(pi_copy_generate(&r->ctx, &src, 1, sc->bounce_ref,
					  r->md ? sc->md_work : NULL, 2, &r->io),
			 0);
	/* copy+generate lays out exactly what generate over the same data does */
	if (r->md)
		ck_assert(!memcmp(sc->md_work, sc->gen_md, sc->mdlen));
	else
		ck_assert(!memcmp(sc->bounce_ref, sc->gen_data, r->len));
}

static void split_case_free(struct split_case *sc)
{
	free(sc->plain);
	free(sc->gen_data);
	free(sc->gen_md);
	free(sc->bounce_ref);
	free(sc->work);
	free(sc->md_work);
	free(sc->bounce);
	run_free(&sc->r);
}

/* generate and verify with the run's data+md iovecs cut at the given points */
static void check_split_in_place(struct split_case *sc, const size_t *cuts, int ncuts)
{
	struct run *r = &sc->r;
	void *md = r->md ? sc->md_work : NULL;
	struct iovec iov[8];
	struct pi_error err;
	uint8_t *t;
	int n;

	memcpy(sc->work, r->data, r->len);
	memcpy(sc->md_work, r->md ? r->md : r->data, sc->mdlen);
	n = make_iovs(iov, sc->work, r->len, cuts, ncuts);
	ck_assert_int_eq(pi_generate(&r->ctx, iov, n, md, 2, &r->io), 0);
	ck_assert(!memcmp(sc->work, sc->gen_data, r->len));
	ck_assert(!memcmp(sc->md_work, sc->gen_md, sc->mdlen));
	ck_assert_int_eq(pi_verify(&r->ctx, iov, n, md, 2, &r->io, &err), 0);
	/* and still catches a bad guard in the last block */
	t = (md ? sc->md_work + r->ctx.fmt.md_size
		: sc->work + r->ctx.stride + r->ctx.fmt.lba_size) +
	    r->ctx.pi_offset;
	t[0] ^= 0x10;
	ck_assert_int_eq(pi_verify(&r->ctx, iov, n, md, 2, &r->io, &err), -EIO);
	ck_assert_uint_eq(err.block, 1);
	ck_assert_int_eq(err.tag, PI_TAG_GUARD);
	t[0] ^= 0x10;
}

/* copy+generate from, and verify+copy into, data-only iovecs cut at the given points */
static void check_split_bounce(struct split_case *sc, const size_t *cuts, int ncuts)
{
	struct run *r = &sc->r;
	void *md = r->md ? sc->md_work : NULL;
	struct iovec iov[8];
	struct pi_error err;
	int n;

	if (cuts[ncuts - 1] > sc->plen)
		return;
	memcpy(sc->work, sc->plain, sc->plen);
	n = make_iovs(iov, sc->work, sc->plen, cuts, ncuts);
	if (md)
		memset(sc->bounce, 0xEE, r->len);
	else
		memcpy(sc->bounce, r->data, r->len);
	ck_assert_int_eq(pi_copy_generate(&r->ctx, iov, n, sc->bounce, md, 2, &r->io), 0);
	ck_assert(!memcmp(sc->bounce, sc->bounce_ref, r->len));
	ck_assert(!memcmp(sc->md_work, sc->gen_md, sc->mdlen));
	memset(sc->work, 0xC3, sc->plen);
	ck_assert_int_eq(pi_verify_copy(&r->ctx, sc->bounce, md, iov, n, 2, &r->io, &err), 0);
	ck_assert(!memcmp(sc->work, sc->plain, sc->plen));
}

static void split_every_offset(const struct pi_format *f)
{
	struct split_case sc;

	split_case_init(&sc, f);
	for (size_t cut = 0; cut <= sc.r.len; cut++) {
		check_split_in_place(&sc, &cut, 1);
		check_split_bounce(&sc, &cut, 1);
	}
	/* random cuts into up to 6 pieces, empty ones included */
	for (int rep = 0; rep < 200; rep++) {
		size_t cuts[5];
		int n = 1 + (int)(test_rand() % 5);

		for (int i = 0; i < n; i++)
			cuts[i] = test_rand() % (sc.r.len + 1);
		for (int i = 1; i < n; i++) /* insertion sort */
			for (int j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
				size_t tmp = cuts[j];

				cuts[j] = cuts[j - 1];
				cuts[j - 1] = tmp;
			}
		check_split_in_place(&sc, cuts, n);
		check_split_bounce(&sc, cuts, n);
	}
	split_case_free(&sc);
}

START_TEST(iovec_splits_at_every_byte_of_a_two_block_run_512)
{
	struct pi_format f[MAX_FORMATS];
	size_t n = all_formats(f, MAX_FORMATS);

	for (size_t k = 0; k < n; k++)
		if (f[k].lba_size == 512)
			split_every_offset(&f[k]);
}
END_TEST

START_TEST(iovec_splits_at_every_byte_of_a_two_block_run_4096)
{
	for (int g = 0; g < 2; g++)
		for (int first = 0; first < 2; first++)
			for (int lay = 0; lay < 2; lay++) {
				struct pi_format f = {.lba_size = 4096,
						      .md_size = g ? 64 : 16,
						      .type = lay ? PI_TYPE_1 : PI_TYPE_3,
						      .guard = g ? PI_GUARD_64 : PI_GUARD_16,
						      .pi_first = first,
						      .layout = lay};

				split_every_offset(&f);
			}
}
END_TEST

START_TEST(verify_copy_copies_nothing_of_a_failing_block)
{
	for (int lay = 0; lay < 2; lay++)
		for (uint32_t bad = 0; bad < 4; bad++) {
			struct pi_format f = {.lba_size = 512,
					      .md_size = 16,
					      .type = PI_TYPE_1,
					      .guard = PI_GUARD_64,
					      .layout = lay};
			uint8_t *dst, *plain;
			struct pi_error err;
			struct iovec iov[2];
			struct run r;

			run_init(&r, &f, 4);
			ck_assert_int_eq(run_generate(&r), 0);
			plain = run_plain(&r);
			/* even blocks: a data bit (guard error); odd ones: a ref tag bit */
			if (bad & 1)
				run_tuple(&r, bad)[15] ^= 0x04;
			else
				r.data[(size_t)bad * r.ctx.stride + 100] ^= 0x04;
			dst = malloc(4 * 512);
			memset(dst, 0xA5, 4 * 512); /* canary */
			/* split the destination inside block 1 too */
			iov[0] = (struct iovec){dst, 700};
			iov[1] = (struct iovec){dst + 700, 4 * 512 - 700};
			ck_assert_int_eq(
				pi_verify_copy(&r.ctx, r.data, r.md, iov, 2, 4, &r.io, &err), -EIO);
			ck_assert_uint_eq(err.block, bad);
			ck_assert_int_eq(err.tag, bad & 1 ? PI_TAG_REF : PI_TAG_GUARD);
			ck_assert(!memcmp(dst, plain, (size_t)bad * 512));
			for (size_t i = (size_t)bad * 512; i < 4 * 512; i++)
				ck_assert_msg(dst[i] == 0xA5, "byte %zu of a failed run was copied",
					      i);
			free(dst);
			free(plain);
			run_free(&r);
		}
}
END_TEST

START_TEST(copy_generate_leaves_metadata_outside_the_tuple)
{
	struct pi_format f = {.lba_size = 512,
			      .md_size = 64,
			      .type = PI_TYPE_2,
			      .pi_first = true,
			      .layout = PI_MD_INTERLEAVED};
	uint8_t src[1024], bounce[2 * 576];
	struct iovec iov = {src, sizeof(src)};
	struct pi_io io = {.ref_tag = 7, .app_tag = 1, .checks = PI_CHECK_ALL};
	struct pi_ctx ctx;

	test_rand_fill(src, sizeof(src));
	memset(bounce, 0x77, sizeof(bounce));
	ck_assert_int_eq(pi_ctx_init(&ctx, &f), 0);
	ck_assert_int_eq(pi_copy_generate(&ctx, &iov, 1, bounce, NULL, 2, &io), 0);
	for (int b = 0; b < 2; b++) {
		ck_assert(!memcmp(bounce + b * 576, src + b * 512, 512));
		for (int i = 512 + 8; i < 576; i++)
			ck_assert_uint_eq(bounce[b * 576 + i], 0x77);
	}
	ck_assert_int_eq(pi_verify_copy(&ctx, bounce, NULL, &iov, 1, 2, &io, NULL), 0);
}
END_TEST

START_TEST(no_pi_format_copies_and_checks_nothing)
{
	struct pi_format f = {.lba_size = 4096, .md_size = 0, .type = PI_TYPE_NONE};
	static uint8_t src[8192], bounce[8192], dst[8192];
	struct iovec in = {src, sizeof(src)}, out = {dst, sizeof(dst)};
	struct pi_io io = {.checks = PI_CHECK_ALL};
	struct pi_ctx ctx;

	test_rand_fill(src, sizeof(src));
	ck_assert_int_eq(pi_ctx_init(&ctx, &f), 0);
	ck_assert_uint_eq(ctx.tuple_size, 0);
	ck_assert_int_eq(pi_generate(&ctx, &in, 1, NULL, 2, &io), 0);
	ck_assert_int_eq(pi_verify(&ctx, &in, 1, NULL, 2, &io, NULL), 0);
	ck_assert_int_eq(pi_copy_generate(&ctx, &in, 1, bounce, NULL, 2, &io), 0);
	ck_assert(!memcmp(bounce, src, sizeof(src)));
	ck_assert_int_eq(pi_verify_copy(&ctx, bounce, NULL, &out, 1, 2, &io, NULL), 0);
	ck_assert(!memcmp(dst, src, sizeof(src)));
	ck_assert_int_eq(
		pi_inject_error(&ctx, &in, 1, NULL, 2, PI_FIELD_GUARD, 0, &(uint64_t){1}, NULL),
		-EINVAL);
}
END_TEST

TCase *pi_iov_tcase(void)
{
	TCase *tc = tcase_create("iov");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, iovec_splits_at_every_byte_of_a_two_block_run_512);
	tcase_add_test(tc, iovec_splits_at_every_byte_of_a_two_block_run_4096);
	tcase_add_test(tc, verify_copy_copies_nothing_of_a_failing_block);
	tcase_add_test(tc, copy_generate_leaves_metadata_outside_the_tuple);
	tcase_add_test(tc, no_pi_format_copies_and_checks_nothing);
	return tc;
}
