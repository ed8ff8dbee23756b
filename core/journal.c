/* SPDX-License-Identifier: MIT */
/*
 * journal.c - appending records and group commit.
 *
 * Appends encode the record into the open batch under j->lock and return its sequence
 * number. journal_commit(seq) makes the caller wait until durable_seq > seq. The first waiter
 * that finds no write in progress becomes the leader: it takes the whole open batch, gives it
 * the next log blocks, and writes it outside the lock — preflush (so data I/O completed before
 * the records is durable before they are), batch write, flush — then advances durable_seq and
 * wakes everyone. Appends and commits arriving meanwhile pile up in the next open batch, which
 * the next leader writes in one I/O: the shape of jbd2's transaction commit and of InnoDB's
 * group commit, without a dedicated thread.
 *
 * Invariants: at most one batch is being written at a time, so a torn batch can only be the
 * last one in the log; batches get log blocks in sequence order; the log never holds more than
 * log.blocks blocks from tail_lbn, so no block a valid checkpoint may need is overwritten.
 */
#include "core/journal_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/bug.h"
#include "core/log.h"

int journal_alloc(struct ns *ns, const struct sb *sb, struct journal **out)
{
	struct journal *j;
	int ret;

	if (sb->block_size <= MD_HDR_SIZE + JBATCH_HDR_SIZE + JCKPT_HDR_SIZE)
		return -EINVAL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	ret = mdio_init(&j->io, ns, sb->block_size);
	if (ret) {
		free(j);
		return ret;
	}
	j->ns = ns;
	j->block_size = sb->block_size;
	j->log.block_size = sb->block_size;
	j->log.start = sb->log_start;
	j->log.blocks = sb->log_blocks;
	memcpy(j->log.uuid, sb->uuid, MD_UUID_LEN);
	j->ckpt_start[0] = sb->ckpt_start[0];
	j->ckpt_start[1] = sb->ckpt_start[1];
	j->ckpt_blocks = sb->ckpt_blocks;
	j->stats.log_blocks = sb->log_blocks;
	pthread_mutex_init(&j->ckpt_lock, NULL);
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->cond, NULL);
	*out = j;
	return 0;
}

void journal_free(struct journal *j)
{
	pthread_cond_destroy(&j->cond);
	pthread_mutex_destroy(&j->lock);
	pthread_mutex_destroy(&j->ckpt_lock);
	free(j->open_buf);
	free(j);
}

int journal_close(struct journal *j)
{
	int ret;

	if (!j)
		return 0;
	ret = journal_commit_all(j);
	journal_free(j);
	return ret;
}

static void journal_lead_commit(struct journal *j);

/* With j->lock held: wait for the batch being written, or write the open one. */
static void journal_wait_or_lead(struct journal *j)
{
	if (j->committing)
		pthread_cond_wait(&j->cond, &j->lock);
	else
		journal_lead_commit(j);
}

/* A sequence counter of @j, read under j->lock. */
static uint64_t journal_read_seq(struct journal *j, const uint64_t *counter)
{
	uint64_t v;

	pthread_mutex_lock(&j->lock);
	v = *counter;
	pthread_mutex_unlock(&j->lock);
	return v;
}

void journal_abandon(struct journal *j)
{
	if (j)
		journal_free(j);
}

uint32_t journal_max_record_len(struct journal *j)
{
	uint64_t max = j->log.blocks / 2 * jfmt_payload_size(j->block_size);

	max = max > JBATCH_HDR_SIZE + JREC_HDR_SIZE ? max - JBATCH_HDR_SIZE - JREC_HDR_SIZE : 0;
	return max > UINT32_MAX - JREC_HDR_SIZE ? UINT32_MAX - JREC_HDR_SIZE : (uint32_t)max;
}

/* Blocks the open batch would take with extra more record bytes. */
static uint64_t journal_open_blocks(const struct journal *j, uint64_t extra)
{
	return jfmt_blocks_for(JBATCH_HDR_SIZE + j->open_len + extra, j->block_size);
}

static int journal_grow_open(struct journal *j, size_t need)
{
	size_t cap = j->open_cap ? j->open_cap : 4096;
	uint8_t *n;

	if (need <= j->open_cap)
		return 0;
	while (cap < need)
		cap *= 2;
	n = realloc(j->open_buf, cap);
	if (!n)
		return -ENOMEM;
	j->open_buf = n;
	j->open_cap = cap;
	return 0;
}

int journal_append(struct journal *j, uint16_t type, const void *payload, uint32_t len,
		   uint64_t *seq)
{
	uint64_t rec = JREC_HDR_SIZE + (uint64_t)len;
	int ret;

	if (type == 0 || (len && !payload))
		return -EINVAL;
	if (jfmt_blocks_for(JBATCH_HDR_SIZE + rec, j->block_size) > j->log.blocks / 2)
		return -E2BIG;
	pthread_mutex_lock(&j->lock);
	/* A batch stays a small part of the log: write the open one out before it grows past. */
	while (!j->error && j->open_count && journal_open_blocks(j, rec) > j->log.blocks / 4)
		journal_wait_or_lead(j);
	ret = j->error;
	if (ret)
		goto out_unlock;
	if (j->next_lbn - j->tail_lbn + journal_open_blocks(j, rec) > j->log.blocks) {
		ret = -ENOSPC;
		goto out_unlock;
	}
	ret = journal_grow_open(j, j->open_len + rec);
	if (ret)
		goto out_unlock;
	jfmt_rec_encode(j->open_buf + j->open_len, type, payload, len);
	j->open_len += rec;
	if (!j->open_count)
		j->open_first_seq = j->next_seq;
	j->open_count++;
	if (seq)
		*seq = j->next_seq;
	j->next_seq++;
out_unlock:
	pthread_mutex_unlock(&j->lock);
	return ret;
}

/* Copy the batch stream (header, then records) into the payloads of its blocks. */
static void journal_fill_batch(struct journal *j, uint8_t *buf, const uint8_t *recs, size_t len,
			       const struct jbatch_hdr *bh, uint64_t lbn, uint32_t nblocks)
{
	uint32_t per = jfmt_payload_size(j->block_size);
	uint8_t head[JBATCH_HDR_SIZE];
	size_t done = 0, total = JBATCH_HDR_SIZE + len;

	jfmt_batch_hdr_encode(head, bh);
	for (uint32_t i = 0; i < nblocks; i++) {
		uint8_t *b = buf + (size_t)i * j->block_size;
		size_t n = total - done < per ? total - done : per;
		struct md_hdr h = {
			.type = MD_TYPE_LOG,
			.payload_len = (uint32_t)n,
			.blkno = jlog_blkno(&j->log, lbn + i),
			.seq = lbn + i,
			.aux0 = lbn,
			.aux1 = nblocks,
		};

		memcpy(h.uuid, j->log.uuid, MD_UUID_LEN);
		md_hdr_encode(b, &h);
		for (uint8_t *dst = b + MD_HDR_SIZE; n;) {
			size_t c = n;

			if (done < JBATCH_HDR_SIZE) {
				c = JBATCH_HDR_SIZE - done < n ? JBATCH_HDR_SIZE - done : n;
				memcpy(dst, head + done, c);
			} else {
				memcpy(dst, recs + done - JBATCH_HDR_SIZE, c);
			}
			dst += c;
			done += c;
			n -= c;
		}
		md_block_seal(b, j->block_size);
	}
}

/* Write a filled batch where it belongs, wrapping at the end of the log area. */
static int journal_write_batch(struct journal *j, const uint8_t *buf, uint64_t lbn,
			       uint32_t nblocks)
{
	uint64_t pos = lbn % j->log.blocks;
	uint32_t first = nblocks;
	int ret;

	if (pos + nblocks > j->log.blocks)
		first = (uint32_t)(j->log.blocks - pos);
	/* Preflush: data completed before these records were appended is durable first. */
	ret = mdio_flush(&j->io);
	if (!ret)
		ret = mdio_write(&j->io, j->log.start + pos, first, buf, false);
	if (!ret && first < nblocks)
		ret = mdio_write(&j->io, j->log.start, nblocks - first,
				 buf + (size_t)first * j->block_size, false);
	if (!ret)
		ret = mdio_flush(&j->io);
	if (ret)
		gfs_err("%s: log write at LBA %" PRIu64 " (%u blocks) failed: %s",
			ns_get_path(j->ns), mdio_lba(&j->io, j->log.start + pos), nblocks,
			strerror(-ret));
	return ret;
}

/* Called with j->lock held and no commit running; drops the lock around the I/O. */
static void journal_lead_commit(struct journal *j)
{
	struct jbatch_hdr bh = {.first_seq = j->open_first_seq, .count = j->open_count};
	uint8_t *recs = j->open_buf, *buf;
	size_t len = j->open_len;
	uint32_t nblocks = (uint32_t)journal_open_blocks(j, 0);
	uint64_t lbn = j->next_lbn;
	int ret;

	GFS_BUG_ON(j->open_count == 0);
	bh.bytes = len;
	j->next_lbn += nblocks;
	j->open_buf = NULL;
	j->open_len = j->open_cap = 0;
	j->open_count = 0;
	j->committing = true;
	pthread_mutex_unlock(&j->lock);

	buf = mdio_alloc((size_t)nblocks * j->block_size);
	if (buf) {
		journal_fill_batch(j, buf, recs, len, &bh, lbn, nblocks);
		ret = journal_write_batch(j, buf, lbn, nblocks);
	} else {
		ret = -ENOMEM;
	}
	free(buf);
	free(recs);

	pthread_mutex_lock(&j->lock);
	j->committing = false;
	if (ret) {
		j->error = ret;
	} else {
		j->durable_seq = bh.first_seq + bh.count;
		j->stats.log_writes++;
		j->stats.records_logged += bh.count;
	}
	pthread_cond_broadcast(&j->cond);
}

int journal_commit(struct journal *j, uint64_t seq)
{
	int ret;

	pthread_mutex_lock(&j->lock);
	if (seq >= j->next_seq) {
		pthread_mutex_unlock(&j->lock);
		return -EINVAL;
	}
	while (j->durable_seq <= seq && !j->error)
		journal_wait_or_lead(j);
	ret = j->durable_seq > seq ? 0 : j->error;
	pthread_mutex_unlock(&j->lock);
	return ret;
}

int journal_commit_all(struct journal *j)
{
	uint64_t next = journal_next_seq(j);

	if (next <= 1 || journal_durable_seq(j) >= next)
		return 0;
	return journal_commit(j, next - 1);
}

uint64_t journal_durable_seq(struct journal *j)
{
	return journal_read_seq(j, &j->durable_seq);
}

uint64_t journal_next_seq(struct journal *j)
{
	return journal_read_seq(j, &j->next_seq);
}

bool journal_should_checkpoint(struct journal *j)
{
	bool yes;

	pthread_mutex_lock(&j->lock);
	yes = (j->next_lbn - j->area[j->newest].log_lbn + journal_open_blocks(j, 0)) * 4 >=
	      j->log.blocks;
	pthread_mutex_unlock(&j->lock);
	return yes;
}

void journal_get_stats(struct journal *j, struct journal_stats *st)
{
	pthread_mutex_lock(&j->lock);
	*st = j->stats;
	st->log_blocks_used = j->next_lbn - j->tail_lbn;
	st->ckpt_seq = j->area[j->newest].seq;
	st->ckpt_area = j->newest;
	pthread_mutex_unlock(&j->lock);
}
