/* SPDX-License-Identifier: MIT */
/*
 * jt_util.h - what the journal suites share on top of tests/util: a seeded generator (seed
 * printed, JOURNAL_TEST_SEED replays), sparse images in a scratch directory (JOURNAL_TEST_DIR,
 * default /var/tmp), mkfs on them, and a collector of replayed records.
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
#include "tests/util/test_ns.h"

/* Seeds jt_rand (xorshift64*) from JOURNAL_TEST_SEED or the clock; printed. */
uint64_t jt_seed(const char *suite);
uint64_t jt_rand(void);

/* A namespace format and a block size (0: the default) a suite runs its tests over. */
struct jt_fmt_case {
	uint32_t lba, md;
	enum pi_type type;
	enum pi_guard guard;
	bool first;
	uint32_t bs;
};
struct pi_format jt_case_format(const struct jt_fmt_case *c);

/* A sparse image of nlb blocks in the scratch directory; path receives its name. */
void jt_make_image(const struct pi_format *fmt, uint64_t nlb, char *path, size_t len);
/* mkfs: sb_format + journal_format, with p (may be NULL). */
void jt_mkfs(struct ns *ns, const struct sb_params *p, struct sb *sb);

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
