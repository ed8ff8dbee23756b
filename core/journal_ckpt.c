/* SPDX-License-Identifier: MIT */
/*
 * journal_ckpt.c - writing and reading checkpoints.
 *
 * A checkpoint area is a header block followed by the blocks of one record stream. Writing:
 * the stream blocks go first (in chunks of about 1 MiB), then a device flush, then the header,
 * then another flush. The header is what makes a checkpoint exist, so a crash at any point
 * leaves either the old header (whose stream blocks no longer match its sequence number: the
 * area reads as damaged and the other area, the newest, is used) or the complete new one.
 * The area written is always the one not holding the newest checkpoint, so the newest one is
 * never touched; after the new header is durable the log before the previous checkpoint is
 * released (tail_lbn), keeping the log able to replay from either checkpoint.
 */
#include "core/journal_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"

#define CKPT_CHUNK_BYTES (1024u * 1024)

struct journal_ckpt {
	struct journal *j;
	unsigned area;
	uint64_t seq;
	uint8_t *buf;	       /* chunk of stream blocks being filled */
	uint32_t chunk_blocks; /* capacity of buf */
	uint32_t cur;	       /* block of buf being filled */
	uint32_t off;	       /* payload bytes used in it */
	uint64_t written;      /* stream blocks already written before buf */
	uint64_t records, bytes;
	uint64_t log_lbn;  /* where replay after this checkpoint starts */
	uint64_t next_seq; /* first record not in the state */
	int error;
};

static uint32_t jckpt_chunk_blocks(const struct journal *j)
{
	return j->block_size >= CKPT_CHUNK_BYTES ? 1 : CKPT_CHUNK_BYTES / j->block_size;
}

static uint64_t jckpt_data_blkno(const struct journal *j, unsigned area, uint64_t index)
{
	return j->ckpt_start[area] + 1 + index;
}

/* Close the block being filled: its header goes in once its payload length is known. */
static void jckpt_seal_block(struct journal_ckpt *ck)
{
	struct journal *j = ck->j;
	uint8_t *b = ck->buf + (size_t)ck->cur * j->block_size;
	struct md_hdr h = {
		.type = MD_TYPE_CKPT_DATA,
		.payload_len = ck->off,
		.blkno = jckpt_data_blkno(j, ck->area, ck->written + ck->cur),
		.seq = ck->seq,
		.aux0 = ck->written + ck->cur,
	};

	memcpy(h.uuid, j->log.uuid, MD_UUID_LEN);
	md_hdr_encode(b, &h);
	md_block_seal(b, j->block_size);
	ck->cur++;
	ck->off = 0;
}

static int jckpt_write_chunk(struct journal_ckpt *ck)
{
	struct journal *j = ck->j;
	int ret = 0;

	if (ck->cur)
		ret = mdio_write(&j->io, jckpt_data_blkno(j, ck->area, ck->written), ck->cur,
				 ck->buf, false);
	ck->written += ck->cur;
	ck->cur = 0;
	memset(ck->buf, 0, (size_t)ck->chunk_blocks * j->block_size);
	return ret;
}

/* Append bytes to the stream, sealing and writing blocks as they fill. */
static int jckpt_put(struct journal_ckpt *ck, const uint8_t *src, size_t len)
{
	struct journal *j = ck->j;
	uint32_t per = jfmt_payload_size(j->block_size);
	int ret;

	while (len) {
		uint32_t n;

		if (ck->off == 0 && ck->written + ck->cur >= j->ckpt_blocks - 1)
			return -ENOSPC;
		n = per - ck->off < len ? per - ck->off : (uint32_t)len;
		memcpy(ck->buf + (size_t)ck->cur * j->block_size + MD_HDR_SIZE + ck->off, src, n);
		ck->off += n;
		src += n;
		len -= n;
		ck->bytes += n;
		if (ck->off < per)
			continue;
		jckpt_seal_block(ck);
		if (ck->cur == ck->chunk_blocks) {
			ret = jckpt_write_chunk(ck);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int journal_ckpt_add(struct journal_ckpt *ck, uint16_t type, const void *payload, uint32_t len)
{
	uint8_t head[JREC_HDR_SIZE];

	if (ck->error)
		return ck->error;
	if (type == 0 || (len && !payload))
		return ck->error = -EINVAL;
	md_put_le16(head, type);
	md_put_le16(head + 2, 0);
	md_put_le32(head + 4, len);
	ck->error = jckpt_put(ck, head, sizeof(head));
	if (!ck->error)
		ck->error = jckpt_put(ck, payload, len);
	if (!ck->error)
		ck->records++;
	return ck->error;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Write the header block of an area and make it durable. */
static int jckpt_write_header(struct journal *j, unsigned area, const struct jckpt_hdr *h)
{
	uint8_t *b = mdio_alloc(j->block_size);
	int ret;

	if (!b)
		return -ENOMEM;
	jfmt_ckpt_hdr_build(b, j->block_size, j->ckpt_start[area], j->log.uuid, h);
	ret = mdio_write(&j->io, j->ckpt_start[area], 1, b, false);
	if (!ret)
		ret = mdio_flush(&j->io);
	free(b);
	return ret;
}

/* The rest of the stream, a flush, then the header: from here on the checkpoint exists. */
static int jckpt_finish(struct journal_ckpt *ck, uint64_t log_lbn, uint64_t next_seq)
{
	struct journal *j = ck->j;
	struct jckpt_hdr h = {
		.seq = ck->seq,
		.log_lbn = log_lbn,
		.next_seq = next_seq,
		.records = ck->records,
		.bytes = ck->bytes,
		.time_ns = now_ns(),
	};
	int ret;

	if (ck->off)
		jckpt_seal_block(ck);
	ret = jckpt_write_chunk(ck);
	h.data_blocks = ck->written;
	if (!ret)
		ret = mdio_flush(&j->io);
	if (!ret)
		ret = jckpt_write_header(j, ck->area, &h);
	return ret;
}

/* The new checkpoint is durable: it becomes the newest, the log before the old one is free. */
static void jckpt_publish(struct journal *j, const struct journal_ckpt *ck, uint64_t log_lbn,
			  uint64_t next_seq)
{
	unsigned other = !ck->area;
	uint64_t tail = j->area[other].valid ? j->area[other].log_lbn : log_lbn;

	pthread_mutex_lock(&j->lock);
	j->area[ck->area] = (struct jckpt_area){true, ck->seq, log_lbn, next_seq};
	j->newest = ck->area;
	if (tail > j->tail_lbn)
		j->tail_lbn = tail;
	j->stats.checkpoints++;
	pthread_mutex_unlock(&j->lock);
}

int journal_checkpoint_begin(struct journal *j, struct journal_ckpt **out)
{
	struct journal_ckpt *ck;
	int ret;

	ck = calloc(1, sizeof(*ck));
	if (!ck)
		return -ENOMEM;
	ck->j = j;
	ck->chunk_blocks = jckpt_chunk_blocks(j);
	ck->buf = mdio_alloc((size_t)ck->chunk_blocks * j->block_size);
	if (!ck->buf) {
		free(ck);
		return -ENOMEM;
	}
	pthread_mutex_lock(&j->ckpt_lock);
	pthread_mutex_lock(&j->lock);
	ret = j->error;
	/*
	 * The state covers every record appended so far. Records not yet in a batch go into
	 * one at or after next_lbn, so replay from there (skipping those below next_seq) sees
	 * every later record and nothing is lost between the two.
	 */
	ck->next_seq = j->next_seq;
	ck->log_lbn = j->next_lbn;
	ck->area = j->area[j->newest].valid ? !j->newest : j->newest;
	if (!ret) {
		ck->seq = ++j->max_ckpt_seq;
		j->area[ck->area].valid = false; /* about to be overwritten */
	}
	pthread_mutex_unlock(&j->lock);
	if (ret) {
		pthread_mutex_unlock(&j->ckpt_lock);
		free(ck->buf);
		free(ck);
		return ret;
	}
	*out = ck;
	return 0;
}

uint64_t journal_ckpt_next_seq(const struct journal_ckpt *ck)
{
	return ck->next_seq;
}

int journal_checkpoint_end(struct journal_ckpt *ck, int status)
{
	struct journal *j = ck->j;
	int ret = status;

	if (!ret)
		ret = ck->error;
	if (!ret)
		ret = jckpt_finish(ck, ck->log_lbn, ck->next_seq);
	if (!ret)
		jckpt_publish(j, ck, ck->log_lbn, ck->next_seq);
	else if (ret == -ENOSPC)
		gfs_err("%s: checkpoint %c does not fit its area of %" PRIu64 " blocks",
			ns_get_path(j->ns), jckpt_name(ck->area), j->ckpt_blocks);
	else if (ret != -ECANCELED)
		gfs_err("%s: checkpoint %c failed: %s", ns_get_path(j->ns), jckpt_name(ck->area),
			strerror(-ret));
	pthread_mutex_unlock(&j->ckpt_lock);
	free(ck->buf);
	free(ck);
	return ret;
}

int journal_checkpoint(struct journal *j, journal_emit_fn emit, void *arg)
{
	struct journal_ckpt *ck;
	int ret;

	ret = journal_checkpoint_begin(j, &ck);
	if (ret)
		return ret;
	return journal_checkpoint_end(ck, emit(ck, arg));
}

int jckpt_write_empty(struct journal *j, unsigned area, uint64_t seq)
{
	struct jckpt_hdr h = {.seq = seq, .log_lbn = 0, .next_seq = 1, .time_ns = now_ns()};

	return jckpt_write_header(j, area, &h);
}

int jckpt_read_header(struct journal *j, unsigned area, struct jckpt_hdr *h, char *why, size_t len)
{
	uint8_t *b = mdio_alloc(j->block_size);
	struct mdio_error err;
	int ret;

	if (!b)
		return -ENOMEM;
	ret = mdio_read(&j->io, j->ckpt_start[area], 1, b, &err);
	if (ret) {
		mdio_describe(&err, why, len);
		ret = err.pi.tag != PI_TAG_NONE ? -EBADMSG : ret;
		goto out_free;
	}
	ret = jfmt_ckpt_hdr_decode(b, j->block_size, j->ckpt_start[area], j->ckpt_blocks,
				   j->log.uuid, h);
	if (ret)
		snprintf(why, len, "header at LBA %" PRIu64 ": %s",
			 mdio_lba(&j->io, j->ckpt_start[area]),
			 ret == -EUCLEAN ? "inconsistent header fields" : md_block_strerror(ret));
out_free:
	free(b);
	return ret;
}

/* One stream block: right place, right checkpoint, right position, full unless last. */
static int jckpt_check_data(struct journal *j, unsigned area, const struct jckpt_hdr *h,
			    const uint8_t *b, uint64_t index)
{
	uint32_t per = jfmt_payload_size(j->block_size);
	uint64_t want = index + 1 < h->data_blocks ? per : h->bytes - index * per;
	struct md_hdr mh;
	int ret;

	ret = md_block_expect(b, j->block_size, MD_TYPE_CKPT_DATA, jckpt_data_blkno(j, area, index),
			      j->log.uuid, &mh);
	if (ret)
		return ret;
	if (mh.seq != h->seq || mh.aux0 != index)
		return -ESTALE;
	return mh.payload_len == want ? 0 : -EUCLEAN;
}

struct jckpt_replay {
	journal_replay_fn fn;
	void *arg;
};

static int jckpt_deliver(void *arg, const struct journal_rec *rec)
{
	struct jckpt_replay *r = arg;

	return r->fn(r->arg, JOURNAL_SRC_CHECKPOINT, rec);
}

static int jckpt_feed_chunk(struct journal *j, unsigned area, const struct jckpt_hdr *h,
			    struct jstream *s, const uint8_t *buf, uint64_t first, uint32_t n,
			    char *why, size_t len)
{
	int ret;

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *b = buf + (size_t)i * j->block_size;

		ret = jckpt_check_data(j, area, h, b, first + i);
		if (ret) {
			snprintf(why, len, "stream block %" PRIu64 " at LBA %" PRIu64 ": %s",
				 first + i, mdio_lba(&j->io, jckpt_data_blkno(j, area, first + i)),
				 md_block_strerror(ret));
			return ret;
		}
		ret = jstream_feed(s, b + MD_HDR_SIZE, md_get_le32(b + 12));
		if (ret) {
			snprintf(why, len, "stream block %" PRIu64 ": %s", first + i,
				 ret == -EUCLEAN ? "malformed record stream" : strerror(-ret));
			return ret;
		}
	}
	return 0;
}

int jckpt_read_stream(struct journal *j, unsigned area, const struct jckpt_hdr *h,
		      journal_replay_fn fn, void *arg, char *why, size_t len)
{
	struct jckpt_replay r = {fn, arg};
	uint32_t chunk = jckpt_chunk_blocks(j);
	struct mdio_error err;
	struct jstream s;
	uint8_t *buf;
	int ret = 0;

	buf = mdio_alloc((size_t)chunk * j->block_size);
	if (!buf)
		return -ENOMEM;
	jstream_init(&s, h->bytes, h->records, 0, fn ? jckpt_deliver : NULL, &r);
	for (uint64_t i = 0; i < h->data_blocks && !ret; i += chunk) {
		uint32_t n = h->data_blocks - i < chunk ? (uint32_t)(h->data_blocks - i) : chunk;

		ret = mdio_read(&j->io, jckpt_data_blkno(j, area, i), n, buf, &err);
		if (ret) {
			mdio_describe(&err, why, len);
			break;
		}
		ret = jckpt_feed_chunk(j, area, h, &s, buf, i, n, why, len);
	}
	if (!ret && jstream_finish(&s)) {
		snprintf(why, len, "record stream ends early or has extra records");
		ret = -EUCLEAN;
	}
	jstream_destroy(&s);
	free(buf);
	return ret;
}
