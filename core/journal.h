/* SPDX-License-Identifier: MIT */
/*
 * journal.h - durability of the in-memory metadata: a write-ahead log with group commit,
 * checkpoints written alternately to two areas, and recovery (DESIGN.md 4.3).
 *
 * The journal stores opaque typed records and hands them back in order; it never interprets
 * them. The layer above keeps all metadata in memory, appends a record for every change,
 * commits when it needs durability (fsync), and now and then writes its whole state as a
 * checkpoint, which lets the log space before it be reused. Mount = journal_open(): the newest
 * valid checkpoint's records, then every log record after it, up to the first torn or stale
 * log block.
 *
 * Sequence numbers: every appended record gets the next number (starting at 1). All records
 * below journal_durable_seq() are durable. A checkpoint covers exactly the records appended
 * before journal_checkpoint() was called.
 *
 * Thread safety: journal_append/journal_commit from any number of threads; journal_checkpoint
 * from one thread at a time (serialised inside). Many commits share one log write and one
 * device flush ("group commit").
 */
#ifndef GUARDFS_JOURNAL_H
#define GUARDFS_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/ns.h"

struct sb;
struct journal;

/* A record as stored: type 1..0xFFFF (0 is reserved), payload of len bytes. */
struct journal_rec {
	uint16_t type;
	uint32_t len;
	const void *payload;
	uint64_t seq; /* log records: the record's sequence number; checkpoint records: 0 */
};

enum journal_src {
	JOURNAL_SRC_CHECKPOINT, /* the state as of the checkpoint, in the order it was written */
	JOURNAL_SRC_LOG,	/* a logged change after it, in sequence order */
};

/* Called for every record at open; a non-zero return aborts journal_open with it. */
typedef int (*journal_replay_fn)(void *arg, enum journal_src src, const struct journal_rec *rec);

/*
 * mkfs: write an empty checkpoint to area A, invalidate area B and the first log block.
 * The superblock must already be written (sb_format).
 */
int journal_format(struct ns *ns, const struct sb *sb);

/*
 * Recover: choose the newest checkpoint that reads back valid (PI, CRC, every block), replay it,
 * then the log after it. A damaged newest checkpoint falls back to the other one when the log
 * still reaches back to it. Refuses with one log line (-EUCLEAN) when no usable checkpoint
 * exists or the log no longer covers the one that is; writes nothing in any case.
 */
int journal_open(struct ns *ns, const struct sb *sb, journal_replay_fn replay, void *arg,
		 struct journal **out);

/* Commit what was appended, then free. Returns the commit's result. */
int journal_close(struct journal *j);

/* Free without any I/O, as if the machine stopped here: uncommitted records are lost. */
void journal_abandon(struct journal *j);

/* Largest payload journal_append() accepts (-E2BIG above it): half the log, less framing. */
uint32_t journal_max_record_len(struct journal *j);

/*
 * Queue a record; *seq (may be NULL) receives its sequence number. Not durable until
 * journal_commit(). When the pending batch would exceed a quarter of the log, it is written
 * first (the append then waits for that I/O). -ENOSPC: the log is full until a checkpoint frees
 * space (each checkpoint frees the log before the previous one, so two in a row free all of it);
 * -E2BIG: the record can never fit the log; -EIO etc.: the journal failed earlier and is read-only
 * now.
 */
int journal_append(struct journal *j, uint16_t type, const void *payload, uint32_t len,
		   uint64_t *seq);

/*
 * Wait until every record up to and including seq is durable: one thread writes the whole
 * pending batch (preceded by a device flush, so data written before the records is durable
 * first) and flushes; others wait for it or for the next batch.
 */
int journal_commit(struct journal *j, uint64_t seq);
int journal_commit_all(struct journal *j);

/* Every record with a sequence number below this is durable. */
uint64_t journal_durable_seq(struct journal *j);
/* The sequence number the next append gets. */
uint64_t journal_next_seq(struct journal *j);

/* True once the log since the newest checkpoint fills a quarter of the log area. */
bool journal_should_checkpoint(struct journal *j);

/*
 * Checkpoint: the emit callback adds the whole state, record by record, with
 * journal_ckpt_add(); it must reflect exactly the records appended before this call (the
 * caller blocks its own appends meanwhile, or snapshots). The stream goes to the area not
 * holding the newest checkpoint; it counts only once its header is durable. -ENOSPC when
 * the state does not fit the area (the previous checkpoint stays the newest).
 */
struct journal_ckpt;
typedef int (*journal_emit_fn)(struct journal_ckpt *ck, void *arg);
int journal_ckpt_add(struct journal_ckpt *ck, uint16_t type, const void *payload, uint32_t len);
int journal_checkpoint(struct journal *j, journal_emit_fn emit, void *arg);

/*
 * The same in two steps, for callers that snapshot their state instead of blocking appends
 * for the whole write: journal_checkpoint_begin() fixes the point the checkpoint stands for
 * (call it while your appends are held off, take your snapshot, let them go on), then
 * journal_ckpt_add() the snapshot's records, then journal_checkpoint_end() with 0 to write
 * the header (or a negative errno to give up; -ECANCELED logs nothing). Only one checkpoint
 * is open at a time: begin waits for the previous one to end.
 */
int journal_checkpoint_begin(struct journal *j, struct journal_ckpt **ck);
/* Records with sequence numbers below this are the checkpoint's; later ones are replayed. */
uint64_t journal_ckpt_next_seq(const struct journal_ckpt *ck);
int journal_checkpoint_end(struct journal_ckpt *ck, int status);

struct journal_stats {
	uint64_t log_writes;	  /* batches written (one write + flush each) */
	uint64_t records_logged;  /* records in those batches */
	uint64_t log_blocks_used; /* from the oldest needed log block to the write position */
	uint64_t log_blocks;	  /* size of the log area */
	uint64_t checkpoints;	  /* written since open */
	uint64_t ckpt_seq;	  /* sequence number of the newest checkpoint */
	unsigned ckpt_area;	  /* 0 = A, 1 = B: where the newest checkpoint is */
	uint64_t replayed_ckpt_records, replayed_log_records; /* at open */
};

void journal_get_stats(struct journal *j, struct journal_stats *st);

#endif /* GUARDFS_JOURNAL_H */
