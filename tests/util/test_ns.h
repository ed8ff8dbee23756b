/* SPDX-License-Identifier: MIT */
/*
 * test_ns.h - what the suites that run on image files share: namespace formats, sparse images
 * at the QEMU nvme-ns layout (data of LBA i at i * lba, its metadata at nlb * lba + i * md),
 * opening them through the file backend, and capture of the error and warning lines the code
 * under test logs.
 */
#ifndef GUARDFS_TESTS_NS_H
#define GUARDFS_TESTS_NS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ns.h"
#include "pi/pi.h"
#include "tests/util/test_util.h"

/* lba + md, PI type, guard, PI first; metadata in the separate region. */
struct pi_format test_format(uint32_t lba, uint32_t md, enum pi_type type, enum pi_guard guard,
			     bool pi_first);
/* 4096+8, PI type 1, 16-bit guard. */
struct pi_format test_format_default(void);

/* Byte offset of LBA lba's data, and of its metadata in an image of nlb LBAs. */
uint64_t test_data_offset(const struct pi_format *fmt, uint64_t lba);
uint64_t test_md_offset(const struct pi_format *fmt, uint64_t nlb, uint64_t lba);

/* A sparse image of nlb LBAs: test_make_file(dir_var, name, ...) sized for fmt. */
void test_make_image(const char *dir_var, const char *name, const struct pi_format *fmt,
		     uint64_t nlb, char *path, size_t size);
/* strict: the file backend checks PI on every read and write, as a device with PRCHK does. */
struct ns *test_ns_open(const char *path, const struct pi_format *fmt, bool strict);

/* Count and keep the last gfs_err and gfs_warn lines from now on (any thread). */
void test_log_capture(void);
unsigned test_log_errors(void);
unsigned test_log_warnings(void);
const char *test_log_last_error(void);
const char *test_log_last_warning(void);

#endif /* GUARDFS_TESTS_NS_H */
