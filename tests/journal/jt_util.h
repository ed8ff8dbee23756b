/* SPDX-License-Identifier: MIT */
/*
 * jt_util.h - what the journal suites share: a seeded generator (seed printed, JOURNAL_TEST_SEED
 * replays), sparse images in a scratch directory (JOURNAL_TEST_DIR, default /var/tmp), mkfs on
 * them, raw byte access at the QEMU layout's offsets, and capture of error/warning lines.
 */
#ifndef GUARDFS_TESTS_JOURNAL_UTIL_H
#define GUARDFS_TESTS_JOURNAL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/journal.h"
#include "core/ns.h"
#include "core/sb.h"
#include "pi/pi.h"

uint64_t jt_seed(const char *suite);
uint64_t jt_rand(void);

struct pi_format jt_format(uint32_t lba, uint32_t md, enum pi_type type, enum pi_guard guard,
			   bool pi_first);

/* A sparse image of nlb blocks; path receives its name (unlinked by jt_cleanup). */
void jt_make_image(const struct pi_format *fmt, uint64_t nlb, char *path, size_t len);
struct ns *jt_open(const char *path, const struct pi_format *fmt);
/* strict: the file backend checks PI on every read and write, as a device with PRCHK does. */
struct ns *jt_open_mode(const char *path, const struct pi_format *fmt, bool strict);
/* mkfs: sb_format + journal_format, with p (may be NULL). */
void jt_mkfs(struct ns *ns, const struct sb_params *p, struct sb *sb);

/* Byte offset of LBA data / metadata in an image of nlb LBAs. */
uint64_t jt_data_off(const struct pi_format *fmt, uint64_t lba);
uint64_t jt_md_off(const struct pi_format *fmt, uint64_t nlb, uint64_t lba);
void jt_flip_byte(const char *path, uint64_t off, uint8_t mask);
void jt_pread(const char *path, uint64_t off, void *buf, size_t len);
void jt_pwrite(const char *path, uint64_t off, const void *buf, size_t len);

/* Capture gfs_err/gfs_warn lines from now on; count and the last line of each. */
void jt_log_capture(void);
unsigned jt_err_count(void);
unsigned jt_warn_count(void);
const char *jt_last_err(void);
const char *jt_last_warn(void);

/* A replay collector: records in order, with source and sequence. */
struct jt_rec {
	int src;
	uint16_t type;
	uint64_t seq;
	uint32_t len;
	uint8_t *payload;
};
struct jt_collect {
	struct jt_rec *recs;
	size_t count, cap;
};
int jt_collect_fn(void *arg, enum journal_src src, const struct journal_rec *rec);
void jt_collect_free(struct jt_collect *c);

/* Payload derived from a number, for checking replayed contents. */
uint32_t jt_payload(uint64_t n, uint8_t *buf, uint32_t max);

#endif
