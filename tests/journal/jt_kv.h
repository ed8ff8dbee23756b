/* SPDX-License-Identifier: MIT */
/*
 * jt_kv.h - a small key-value "filesystem" over the journal for the suites: type 1 records
 * set a key (payload: key, value, and a filler whose bytes derive from the value), a
 * checkpoint emits one type 2 record per key. Reopening replays into a fresh state that must
 * equal the model of what was committed.
 */
#ifndef GUARDFS_TESTS_JOURNAL_KV_H
#define GUARDFS_TESTS_JOURNAL_KV_H

#include <stdbool.h>
#include <stdint.h>

#include "core/journal.h"
#include "core/ns.h"
#include "core/sb.h"

#define KV_KEYS 64

struct kv_model {
	uint64_t val[KV_KEYS];
	bool set[KV_KEYS];
	uint64_t next_seq;
};

struct kv_fs {
	char path[256];
	struct pi_format fmt;
	struct ns *ns;
	struct sb sb;
	struct journal *j;
	struct kv_model model;
	bool strict;			      /* open the namespace in strict mode */
	uint64_t replayed_ckpt, replayed_log; /* by the last open */
};

/* What a replay rebuilt. */
struct kv_state {
	struct kv_model m;
	uint64_t last_seq; /* of the last log record */
	uint64_t ckpt_recs, log_recs;
};

/* journal_replay_fn over a struct kv_state; checks order and payload bytes. */
int kv_replay(void *arg, enum journal_src src, const struct journal_rec *rec);

void kv_model_reset(struct kv_model *m);
void kv_mkfs(struct kv_fs *fs, const struct pi_format *f, uint64_t nlb, const struct sb_params *p);
/* Open (namespace, superblock, journal) and check the replayed state against the model. */
void kv_open(struct kv_fs *fs);
/* Open expecting journal_open to fail with err; returns nothing open. */
void kv_open_fails(struct kv_fs *fs, int err);
void kv_close(struct kv_fs *fs);
void kv_check_reopen(struct kv_fs *fs);
void kv_set(struct kv_fs *fs, uint32_t key, uint64_t val);
/* Append without asserting: 0 or journal_append's error. */
int kv_append(struct kv_fs *fs, uint32_t key, uint64_t val);
/* kv_set, checkpointing when the log is full. */
void kv_set_or_checkpoint(struct kv_fs *fs, uint32_t key, uint64_t val);
int kv_emit(struct journal_ckpt *ck, void *arg);
void kv_destroy(struct kv_fs *fs);

#endif
