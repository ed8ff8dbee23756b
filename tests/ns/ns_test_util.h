/* SPDX-License-Identifier: MIT */
/*
 * ns_test_util.h - what the namespace-layer suites share on top of tests/util: the seed
 * (printed, NS_TEST_SEED=<n> replays; tests draw from test_rand), sparse images in NS_TEST_DIR
 * (default /var/tmp, a real filesystem for O_DIRECT), PI-carrying buffers and raw reads of an
 * image at the QEMU layout's offsets.
 */
#ifndef GUARDFS_TESTS_NS_UTIL_H
#define GUARDFS_TESTS_NS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ns.h"
#include "pi/pi.h"
#include "tests/util/test_ns.h"

/* Seeds test_rand for one test. */
uint64_t nst_seed(const char *test);

/* Create a sparse image of nlb blocks in the scratch directory; path gets its name. */
void nst_make_image(const struct pi_format *fmt, uint64_t nlb, char *path, size_t size);
/* nst_make_image, then test_ns_open. */
struct ns *nst_open_new(const struct pi_format *fmt, uint64_t nlb, bool strict, char *path,
			size_t size);

/* Aligned buffers for nlb blocks of data and metadata. */
struct nst_buf {
	uint8_t *data;
	uint8_t *md;
	uint32_t nlb;
};
void nst_buf_alloc(struct nst_buf *buf, const struct pi_format *fmt, uint32_t nlb);
void nst_buf_free(struct nst_buf *buf);
/* Random data (and non-PI metadata bytes), then PI for blocks at slba with app tag. */
void nst_buf_fill(struct nst_buf *buf, const struct pi_format *fmt, uint64_t slba, uint16_t app);

/* PI parameters a type-1/2/3 reader or writer passes for blocks at slba. */
struct ns_pi_params nst_pi(uint64_t slba, uint16_t app, uint8_t checks);
/* A request for nlb blocks at slba from the start of buf, through iov (which must outlive it). */
struct ns_request nst_request(enum ns_op op, uint64_t slba, uint32_t nlb, struct nst_buf *buf,
			      uint32_t lba_size, struct iovec *iov, const struct ns_pi_params *pi);

/* Block lba of an image of nlb_total blocks, data and metadata (either may be NULL). */
void nst_raw_read(const char *path, const struct pi_format *fmt, uint64_t nlb_total, uint64_t lba,
		  void *data, void *md);

#endif /* GUARDFS_TESTS_NS_UTIL_H */
