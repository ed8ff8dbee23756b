/* SPDX-License-Identifier: MIT */
/*
 * dio_util.h - what the direct I/O suites share on top of tests/io/io_util.h: opening files
 * with GFS_O_DIRECT, the LBA behind a file offset, the formats under test, and the checks that
 * every request completed once and gave back its bounce slots.
 */
#ifndef GUARDFS_TESTS_DIO_UTIL_H
#define GUARDFS_TESTS_DIO_UTIL_H

#include "core/dio.h"
#include "core/log.h"
#include "tests/io/io_util.h"

struct dio_test_format {
	const char *name;
	struct pi_format fmt;
	uint32_t block_size;
};

extern const struct dio_test_format dio_formats[];
extern const unsigned dio_nr_formats;

struct gfs_file *dio_open(struct gfs *gfs, uint64_t ino, unsigned flags);
/* The LBA mapped at file offset off (asserts it is allocated: MAPPED or UNWRITTEN). */
uint64_t dio_lba_of(struct gfs *gfs, uint64_t ino, uint64_t off);
/* The end of a test: release the files (a NULL one is skipped), unmount, remove the image. */
void dio_teardown(struct gfs *gfs, struct io_image *img, struct gfs_file *a, struct gfs_file *b);
/* Every accepted request completed, none in flight, every bounce slot back in the pool. */
void dio_assert_quiet(struct gfs *gfs);

#endif /* GUARDFS_TESTS_DIO_UTIL_H */
