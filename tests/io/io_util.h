/* SPDX-License-Identifier: MIT */
/*
 * io_util.h - what the core I/O suites share on top of tests/util (seeds with GFS_TEST_SEED,
 * patterns, log capture): formatted sparse images in a scratch directory (IO_TEST_DIR, default
 * /var/tmp: not tmpfs, the file backend uses O_DIRECT), the checked fixture most suites use,
 * mounting through the core API, and file creation and whole reads and writes.
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
#include "tests/util/test_ns.h"

struct io_image {
	char path[256];
	struct pi_format fmt;
	uint32_t block_size;
};

/* A sparse image of bytes (data + metadata), formatted (block_size 0 = lba size). */
void io_mkfs(struct io_image *img, const struct pi_format *fmt, uint64_t bytes,
	     uint32_t block_size);
void io_remove(struct io_image *img);
/* io_mkfs, then io_mount with the default options. */
struct gfs *io_mkfs_mount(struct io_image *img, const struct pi_format *fmt, uint64_t bytes,
			  uint32_t block_size);

/*
 * The checked fixture (tcase_add_checked_fixture(tc, io_setup, io_teardown)): io_img, an image
 * of the default format and io_img_bytes (32 MiB unless main() changes it), made afresh for
 * every test.
 */
extern struct io_image io_img;
extern uint64_t io_img_bytes;
void io_setup(void);
void io_teardown(void);

/* Mount with a small cache (opts may be NULL: 4 MiB, 16 KiB folios, no periodic flusher). */
struct gfs *io_mount(const struct io_image *img, const struct gfs_opts *opts);
struct gfs_opts io_opts_default(void);

/* A new regular file under the root; returns its inode number. */
uint64_t io_create(struct gfs *gfs, const char *name);
struct gfs_file *io_open(struct gfs *gfs, uint64_t ino);

void io_write_all(struct gfs_file *f, const void *buf, size_t len, uint64_t off);
void io_read_all(struct gfs_file *f, void *buf, size_t len, uint64_t off);

/* Requests the namespace accepted since open. */
struct ns_stats io_ns_stats(struct gfs *gfs);

#endif /* GUARDFS_TESTS_IO_UTIL_H */
