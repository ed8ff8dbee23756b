/* SPDX-License-Identifier: MIT */
/*
 * pi_test_run.c - the run-of-blocks helpers of the pi suite (see pi_test_run.h).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/pi/pi_test_run.h"
#include "tests/util/test_util.h"

void run_init(struct run *r, const struct pi_format *fmt, uint32_t nblocks)
{
	ck_assert_int_eq(pi_ctx_init(&r->ctx, fmt), 0);
	r->nblocks = nblocks;
	r->len = (size_t)nblocks * r->ctx.stride;
	r->data = malloc(r->len);
	ck_assert_ptr_nonnull(r->data);
	test_rand_fill(r->data, r->len);
	r->md = NULL;
	if (fmt->layout == PI_MD_SEPARATE && fmt->md_size) {
		r->md = malloc((size_t)nblocks * fmt->md_size);
		ck_assert_ptr_nonnull(r->md);
		test_rand_fill(r->md, (size_t)nblocks * fmt->md_size);
	}
	r->iov.iov_base = r->data;
	r->iov.iov_len = r->len;
	r->io = (struct pi_io){.lba = 1000 + test_rand() % 1000,
			       .ref_tag = test_rand() % 0x10000000,
			       .app_tag = 0x1234,
			       .app_mask = 0xFFFF,
			       .checks = PI_CHECK_ALL};
}

void run_free(struct run *r)
{
	free(r->data);
	free(r->md);
}

int run_generate(struct run *r)
{
	return pi_generate(&r->ctx, &r->iov, 1, r->md, r->nblocks, &r->io);
}

int run_verify(struct run *r, struct pi_error *err)
{
	return pi_verify(&r->ctx, &r->iov, 1, r->md, r->nblocks, &r->io, err);
}

/* Metadata of block i, wherever the layout puts it. */
uint8_t *run_md(struct run *r, uint32_t i)
{
	if (r->md)
		return r->md + (size_t)i * r->ctx.fmt.md_size;
	return r->data + (size_t)i * r->ctx.stride + r->ctx.fmt.lba_size;
}

uint8_t *run_tuple(struct run *r, uint32_t i)
{
	return run_md(r, i) + r->ctx.pi_offset;
}

uint64_t be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

uint64_t tuple_guard(struct run *r, uint32_t i)
{
	return be(run_tuple(r, i), r->ctx.fmt.guard == PI_GUARD_64 ? 8 : 2);
}

uint16_t tuple_app(struct run *r, uint32_t i)
{
	return (uint16_t)be(run_tuple(r, i) + (r->ctx.fmt.guard == PI_GUARD_64 ? 8 : 2), 2);
}

uint64_t tuple_ref(struct run *r, uint32_t i)
{
	if (r->ctx.fmt.guard == PI_GUARD_64)
		return be(run_tuple(r, i) + 10, 6);
	return be(run_tuple(r, i) + 4, 4);
}

/* The guard of block i computed here from the definition: data, then md before the tuple. */
uint64_t expected_guard(struct run *r, uint32_t i)
{
	const uint8_t *d = r->data + (size_t)i * r->ctx.stride;
	uint32_t lba = r->ctx.fmt.lba_size, pre = r->ctx.fmt.pi_first ? 0 : r->ctx.pi_offset;

	if (r->ctx.fmt.guard == PI_GUARD_64)
		return pi_crc64_nvme(pi_crc64_nvme(0, d, lba), run_md(r, i), pre);
	return pi_crc16_t10dif(pi_crc16_t10dif(0, d, lba), run_md(r, i), pre);
}

/* Every format: guard x type x PI location x layout x LBA size x md size. */
size_t all_formats(struct pi_format *out, size_t max)
{
	static const uint32_t md16[] = {8, 16, 64}, md64[] = {16, 64};
	size_t n = 0;

	for (int g = 0; g < 2; g++)
		for (int type = 1; type <= 3; type++)
			for (int first = 0; first < 2; first++)
				for (int lay = 0; lay < 2; lay++)
					for (int l = 0; l < 2; l++)
						for (int m = 0; m < (g ? 2 : 3); m++) {
							ck_assert(n < max);
							out[n++] = (struct pi_format){
								.lba_size = l ? 4096 : 512,
								.md_size = g ? md64[m] : md16[m],
								.type = type,
								.guard = g ? PI_GUARD_64
									   : PI_GUARD_16,
								.pi_first = first,
								.layout = lay,
							};
						}
	return n;
}

/* Data-only copy of a run's blocks. */
uint8_t *run_plain(struct run *r)
{
	uint32_t lba = r->ctx.fmt.lba_size;
	uint8_t *p = malloc((size_t)r->nblocks * lba);

	ck_assert_ptr_nonnull(p);
	for (uint32_t i = 0; i < r->nblocks; i++)
		memcpy(p + (size_t)i * lba, r->data + (size_t)i * r->ctx.stride, lba);
	return p;
}
