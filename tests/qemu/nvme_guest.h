/* SPDX-License-Identifier: MIT */
/*
 * nvme_guest.h - the parts of the guest test program (nvme_guest*.c): one struct per
 * namespace under test, failure reporting that names the format and LBA, and the expected
 * content of every block (tests/qemu/nvme_test.h).
 */
#ifndef GUARDFS_TESTS_QEMU_NVME_GUEST_H
#define GUARDFS_TESTS_QEMU_NVME_GUEST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "core/ns.h"
#include "tests/qemu/nvme_test.h"

struct qg_dev {
	const char *path; /* /dev/ng0nN */
	const char *spec; /* its format, as nvme_test.h spells it */
	unsigned index;	  /* 1-based position on the command line */
	struct pi_format fmt;
	struct pi_ctx pi;
	struct ns *ns;
	atomic_int failed; /* qg_fail() may run on several threads */
};

/* One line "FAIL <format> (<dev>) LBA <lba>: <reason>"; counts a failure of dev. */
void qg_fail(struct qg_dev *dev, uint64_t lba, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The last error or warning line the library logged since the previous call ("" if none). */
void qg_last_log_line(char *buf, size_t len);

/* Expected data and metadata (with its PI tuple) of nlb blocks from slba. */
void qg_expect_run(const struct qg_dev *dev, uint32_t salt, uint64_t slba, uint32_t nlb,
		   uint8_t *data, uint8_t *md);

/* The PI parameters every read and write of the test uses: all checks, full app mask. */
struct ns_pi_params qg_pi_params(const struct qg_dev *dev, uint32_t salt, uint64_t slba);

/*
 * Expect a failed synchronous I/O: ret must be want_errno; for a PI failure (want_tag set)
 * rq_pe must name want_tag at want_lba and the library's log line must show the NVMe status
 * the controller returned (want_status), proving the device, not the host, found it.
 */
void qg_expect_pi_failure(struct qg_dev *dev, const char *what, int ret, const struct pi_error *pe,
			  int want_errno, enum pi_tag want_tag, uint64_t want_lba,
			  const char *want_status);

/* Synchronous single-buffer I/O with the PI error of the request. */
int qg_read(struct qg_dev *dev, uint64_t slba, uint32_t nlb, void *data, void *md,
	    const struct ns_pi_params *pi, struct pi_error *pe);
int qg_write(struct qg_dev *dev, uint64_t slba, uint32_t nlb, const void *data, const void *md,
	     const struct ns_pi_params *pi, struct pi_error *pe);

/* Compare nlb blocks read at slba with the expected ones; one FAIL line per bad block. */
int qg_compare(struct qg_dev *dev, const char *what, uint64_t slba, uint32_t nlb,
	       const uint8_t *data, const uint8_t *md, const uint8_t *want_data,
	       const uint8_t *want_md);

void qg_write_verify(struct qg_dev *dev);
void qg_read_all(struct qg_dev *dev);
void qg_check_corruption(struct qg_dev *dev, uint64_t seed);
void qg_check_refusals(struct qg_dev *dev);

#endif /* GUARDFS_TESTS_QEMU_NVME_GUEST_H */
