/* SPDX-License-Identifier: MIT */
/*
 * io_util.h - what the core I/O suites share: formatted sparse images in a scratch directory
 * (IO_TEST_DIR, default /var/tmp: not tmpfs, the file backend uses O_DIRECT), mounting through
 * the core API, file creation, patterned data, seeds (GFS_TEST_SEED) and log capture.
 */
#ifndef GUARDFS_TESTS_IO_UTIL_H
#define GUARDFS_TESTS_IO_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/gfs.h"
#include "core/gfs_internal.h"
#include "core/ns.h"
#include "pi/pi.h"

struct io_image {
	char path[256];
	struct pi_format fmt;
	uint32_t block_size;
};

/* 4096+8, PI type 1, 16-bit guard. */
struct pi_format io_format_default(void);
/* A sparse image of bytes (data + metadata), formatted (block_size 0 = lba size). */
void io_mkfs(struct io_image *img, const struct pi_format *fmt, uint64_t bytes,
	     uint32_t block_size);
void io_remove(struct io_image *img);

/* Mount with a small cache (opts may be NULL: 4 MiB, 16 KiB folios, no periodic flusher). */
struct gfs *io_mount(const struct io_image *img, const struct gfs_opts *opts);
struct gfs_opts io_opts_default(void);

/* A new regular file under the root; returns its inode number. */
uint64_t io_create(struct gfs *gfs, const char *name);
struct gfs_file *io_open(struct gfs *gfs, uint64_t ino);

/* Deterministic bytes: a function of (seed, file offset). */
void io_pattern(void *buf, size_t len, uint64_t off, uint32_t seed);
/* Asserts buf equals the pattern (or zeros when seed is 0) and names the first difference. */
void io_check_pattern(const void *buf, size_t len, uint64_t off, uint32_t seed);

void io_write_all(struct gfs_file *f, const void *buf, size_t len, uint64_t off);
void io_read_all(struct gfs_file *f, void *buf, size_t len, uint64_t off);

/* Requests the namespace accepted since open. */
struct ns_stats io_ns_stats(struct gfs *gfs);

/* The seed: GFS_TEST_SEED if set, else from the clock; printed. */
uint64_t io_seed(const char *suite);

/* Capture gfs_err lines from now on. */
void io_log_capture(void);
unsigned io_err_count(void);
const char *io_last_err(void);

#endif /* GUARDFS_TESTS_IO_UTIL_H */
