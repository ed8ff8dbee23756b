// SPDX-License-Identifier: MIT
/*
 * ns_test_util.c - shared helpers of the namespace-layer suites (see ns_test_util.h).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ns_test_util.h"

uint64_t nst_seed(const char *test)
{
	return test_rand_seed("NS_TEST_SEED", test);
}

void nst_make_image(const struct pi_format *fmt, uint64_t nlb, char *path, size_t size)
{
	test_make_image("NS_TEST_DIR", "ns-test", fmt, nlb, path, size);
}

struct ns *nst_open_new(const struct pi_format *fmt, uint64_t nlb, bool strict, char *path,
			size_t size)
{
	nst_make_image(fmt, nlb, path, size);
	return test_ns_open(path, fmt, strict);
}

void nst_buf_alloc(struct nst_buf *buf, const struct pi_format *fmt, uint32_t nlb)
{
	size_t data_len = (size_t)nlb * fmt->lba_size, md_len = (size_t)nlb * fmt->md_size;

	ck_assert_int_eq(posix_memalign((void **)&buf->data, 4096, data_len ? data_len : 1), 0);
	buf->md = malloc(md_len ? md_len : 1);
	ck_assert_ptr_nonnull(buf->md);
	buf->nlb = nlb;
}

void nst_buf_free(struct nst_buf *buf)
{
	free(buf->data);
	free(buf->md);
	buf->data = buf->md = NULL;
}

void nst_buf_fill(struct nst_buf *buf, const struct pi_format *fmt, uint64_t slba, uint16_t app)
{
	size_t data_len = (size_t)buf->nlb * fmt->lba_size,
	       md_len = (size_t)buf->nlb * fmt->md_size;
	struct iovec iov = {.iov_base = buf->data, .iov_len = data_len};
	struct pi_io io = {.lba = slba, .ref_tag = slba, .app_tag = app};
	struct pi_ctx ctx;

	for (size_t i = 0; i < data_len; i += 8) {
		uint64_t r = test_rand();

		memcpy(buf->data + i, &r, 8);
	}
	for (size_t i = 0; i < md_len; i++)
		buf->md[i] = (uint8_t)test_rand();
	if (fmt->type == PI_TYPE_NONE)
		return;
	ck_assert_int_eq(pi_ctx_init(&ctx, fmt), 0);
	ck_assert_int_eq(pi_generate(&ctx, &iov, 1, buf->md, buf->nlb, &io), 0);
}

struct ns_pi_params nst_pi(uint64_t slba, uint16_t app, uint8_t checks)
{
	struct ns_pi_params pi = {
		.ref_tag = slba,
		.app_tag = app,
		.app_mask = 0xFFFF,
		.checks = checks,
	};
	return pi;
}

struct ns_request nst_request(enum ns_op op, uint64_t slba, uint32_t nlb, struct nst_buf *buf,
			      uint32_t lba_size, struct iovec *iov, const struct ns_pi_params *pi)
{
	*iov = (struct iovec){buf->data, (size_t)nlb * lba_size};
	return (struct ns_request){.op = op,
				   .slba = slba,
				   .nlb = nlb,
				   .iov = iov,
				   .iovcnt = 1,
				   .md = buf->md,
				   .pi = *pi};
}

void nst_raw_read(const char *path, const struct pi_format *fmt, uint64_t nlb_total, uint64_t lba,
		  void *data, void *md)
{
	if (data)
		test_file_read(path, test_data_offset(fmt, lba), data, fmt->lba_size);
	if (md && fmt->md_size)
		test_file_read(path, test_md_offset(fmt, nlb_total, lba), md, fmt->md_size);
}
