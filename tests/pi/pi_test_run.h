/* SPDX-License-Identifier: MIT */
/*
 * pi_test_run.h - a run of blocks laid out for one PI format, shared by the pi suite's files:
 * buffers filled from the seeded generator, tuple accessors that decode the stored bytes
 * independently of pi/, and the list of every supported format.
 */
#ifndef GUARDFS_TESTS_PI_RUN_H
#define GUARDFS_TESTS_PI_RUN_H

#include <check.h>

#include "pi/pi.h"

#define MAX_FORMATS 128

/* A run of blocks laid out for one format: data (with md when interleaved) and separate md. */
struct run {
	struct pi_ctx ctx;
	uint32_t nblocks;
	uint8_t *data; /* nblocks * stride */
	size_t len;
	uint8_t *md; /* nblocks * md_size when separate, else NULL */
	struct iovec iov;
	struct pi_io io;
};

void run_init(struct run *r, const struct pi_format *fmt, uint32_t nblocks);
void run_free(struct run *r);
int run_generate(struct run *r);
int run_verify(struct run *r, struct pi_error *err);
/* Metadata of block i, wherever the layout puts it, and its tuple. */
uint8_t *run_md(struct run *r, uint32_t i);
uint8_t *run_tuple(struct run *r, uint32_t i);
/* Big-endian decode of n bytes. */
uint64_t be(const uint8_t *p, int n);
uint64_t tuple_guard(struct run *r, uint32_t i);
uint16_t tuple_app(struct run *r, uint32_t i);
uint64_t tuple_ref(struct run *r, uint32_t i);
/* The guard of block i computed from the definition: data, then md before the tuple. */
uint64_t expected_guard(struct run *r, uint32_t i);
/* A malloc'd data-only copy of the run's blocks. */
uint8_t *run_plain(struct run *r);
/* Every format: guard x type x PI location x layout x LBA size x md size; returns the count. */
size_t all_formats(struct pi_format *out, size_t max);

TCase *pi_iov_tcase(void);
TCase *pi_input_tcase(void);

#endif /* GUARDFS_TESTS_PI_RUN_H */
