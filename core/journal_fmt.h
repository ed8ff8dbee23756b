/* SPDX-License-Identifier: MIT */
/*
 * journal_fmt.h - encoders and decoders of the journal's on-disk structures: records, the
 * record stream that spans the payloads of consecutive metadata blocks, log batches and the
 * checkpoint header (docs/FORMAT.md, "Log" and "Checkpoints").
 *
 * Decoders are pure functions over bytes in memory, safe on arbitrary input (the fuzz target
 * drives them), and never allocate more than the stream they are told about can hold.
 */
#ifndef GUARDFS_JOURNAL_FMT_H
#define GUARDFS_JOURNAL_FMT_H

#include <stddef.h>
#include <stdint.h>

#include "core/journal.h"
#include "core/mdblock.h"

#define JREC_HDR_SIZE	8u  /* u16 type, u16 flags (0), u32 length */
#define JBATCH_HDR_SIZE 24u /* u64 first_seq, u32 count, u32 flags (0), u64 record bytes */
#define JCKPT_HDR_SIZE	64u

/* Payload bytes of one metadata block. */
static inline uint32_t jfmt_payload_size(uint32_t block_size)
{
	return block_size - MD_HDR_SIZE;
}

/* Blocks needed to hold stream_bytes of stream. */
static inline uint64_t jfmt_blocks_for(uint64_t stream_bytes, uint32_t block_size)
{
	uint32_t per = jfmt_payload_size(block_size);

	return (stream_bytes + per - 1) / per;
}

/* Encode one record (JREC_HDR_SIZE + len bytes) at dst. */
void jfmt_rec_encode(void *dst, uint16_t type, const void *payload, uint32_t len);

/*
 * Incremental record-stream parser: feed the stream in pieces of any size; every complete
 * record goes to fn (NULL: only check structure). A record split across pieces is carried in
 * a buffer, never larger than the stream's declared size.
 */
typedef int (*jfmt_rec_fn)(void *arg, const struct journal_rec *rec);

struct jstream {
	uint64_t bytes_left;   /* of the declared stream, not yet parsed into records */
	uint64_t unfed;	       /* of the declared stream, not yet fed */
	uint64_t records_left; /* declared records not yet parsed */
	uint64_t seq;	       /* sequence number of the next record (0: none) */
	uint8_t *carry;	       /* a record that spans pieces */
	size_t carry_len, carry_cap;
	jfmt_rec_fn fn;
	void *arg;
};

void jstream_init(struct jstream *s, uint64_t bytes, uint64_t records, uint64_t first_seq,
		  jfmt_rec_fn fn, void *arg);
/* 0, -EUCLEAN on a malformed stream, -ENOMEM, or fn's error. */
int jstream_feed(struct jstream *s, const void *buf, size_t len);
/* -EUCLEAN unless the stream ended exactly at a record boundary with every record seen. */
int jstream_finish(struct jstream *s);
void jstream_destroy(struct jstream *s);

/* Batch header: at the start of a log batch's stream. */
struct jbatch_hdr {
	uint64_t first_seq;
	uint32_t count;
	uint64_t bytes; /* record bytes after the batch header */
};

void jfmt_batch_hdr_encode(void *dst, const struct jbatch_hdr *h);
int jfmt_batch_hdr_decode(const void *src, size_t len, struct jbatch_hdr *h);

/* Where the log lives, and whose it is. */
struct jlog_geo {
	uint32_t block_size;
	uint64_t start;	 /* first block of the log area */
	uint64_t blocks; /* blocks in the log area */
	uint8_t uuid[MD_UUID_LEN];
};

static inline uint64_t jlog_blkno(const struct jlog_geo *g, uint64_t lbn)
{
	return g->start + lbn % g->blocks;
}

/*
 * Check block lbn of the batch that starts at batch_lbn. On 0, *batch_blocks is the batch's
 * length from the header. -ESTALE for a well-formed block of another lap or batch; *found_lbn
 * (may be NULL) then holds its own log block number. Other errors as md_block_check.
 */
int jfmt_check_log_block(const struct jlog_geo *g, const void *block, uint64_t lbn,
			 uint64_t batch_lbn, uint32_t *batch_blocks, uint64_t *found_lbn);

/*
 * Decode a whole batch of nblocks blocks held contiguously in buf, starting at log block lbn:
 * every block checked, then the stream parsed; fn (may be NULL) sees each record with its
 * sequence number. 0 or a negative errno; with fn set, records are delivered only after the
 * whole batch has been checked.
 */
int jfmt_decode_batch(const struct jlog_geo *g, const void *buf, uint32_t nblocks, uint64_t lbn,
		      struct jbatch_hdr *bh, jfmt_rec_fn fn, void *arg);

/* Checkpoint header: payload of block 0 of a checkpoint area. */
struct jckpt_hdr {
	uint64_t seq;	      /* checkpoint sequence number, > 0 */
	uint64_t log_lbn;     /* first log block that may hold records newer than the state */
	uint64_t next_seq;    /* first record sequence number not in the state */
	uint64_t records;     /* records in the stream */
	uint64_t bytes;	      /* stream bytes */
	uint64_t data_blocks; /* stream blocks after the header block */
	uint64_t time_ns;     /* when it was written (informational) */
};

/* Build a sealed header block (block_size bytes, zeroed by the caller) for blkno. */
void jfmt_ckpt_hdr_build(void *block, uint32_t block_size, uint64_t blkno,
			 const uint8_t uuid[MD_UUID_LEN], const struct jckpt_hdr *h);

/*
 * Decode and check the header block of the area starting at blkno with area_blocks blocks.
 * 0, md_block_expect's errors, or -EUCLEAN for inconsistent fields.
 */
int jfmt_ckpt_hdr_decode(const void *block, uint32_t block_size, uint64_t blkno,
			 uint64_t area_blocks, const uint8_t uuid[MD_UUID_LEN],
			 struct jckpt_hdr *h);

#endif /* GUARDFS_JOURNAL_FMT_H */
