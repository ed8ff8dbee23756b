/* SPDX-License-Identifier: MIT */
/*
 * ns_test_util.h - what the namespace-layer suites share: a seeded generator (seed printed,
 * NS_TEST_SEED=<n> replays), sparse image files in a scratch directory, PI-carrying buffers,
 * raw access to an image at the QEMU layout's offsets, and a log-line counter.
 */
#ifndef GUARDFS_TESTS_NS_UTIL_H
#define GUARDFS_TESTS_NS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ns.h"
#include "pi/pi.h"

uint64_t nst_seed(const char *suite);
uint64_t nst_rand(void);

/* A format: lba + md, PI type, guard, PI first. */
struct pi_format nst_format(uint32_t lba, uint32_t md, enum pi_type type, enum pi_guard guard,
			    bool pi_first);

/* Create a sparse image of nlb blocks in the scratch directory; path gets its name. */
void nst_make_image(const struct pi_format *fmt, uint64_t nlb, char *path, size_t size);
struct ns *nst_open(const char *path, const struct pi_format *fmt, bool strict);

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

/* Raw image access at the layout's offsets. */
void nst_raw_read(const char *path, const struct pi_format *fmt, uint64_t nlb_total, uint64_t lba,
		  void *data, void *md);
void nst_raw_write(const char *path, uint64_t offset, const void *buf, size_t len);
uint64_t nst_md_offset(const struct pi_format *fmt, uint64_t nlb_total, uint64_t lba);

/* Count gfs_err lines from now on. */
void nst_log_capture(void);
unsigned nst_log_lines(void);
const char *nst_log_last(void);

#endif /* GUARDFS_TESTS_NS_UTIL_H */
