/* SPDX-License-Identifier: MIT */
/*
 * journal_fmt.c - record streams, log batches and checkpoint headers, to and from bytes.
 *
 * A record stream is the concatenation of the payloads of consecutive metadata blocks; a
 * record may span any number of blocks. The parser keeps only the record in progress and
 * bounds every length by what the stream declared, so hostile input can neither make it read
 * out of bounds nor allocate more than it was actually fed.
 */
#include "core/journal_fmt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void jfmt_rec_encode(void *dst, uint16_t type, const void *payload, uint32_t len)
{
	uint8_t *d = dst;

	md_put_le16(d, type);
	md_put_le16(d + 2, 0);
	md_put_le32(d + 4, len);
	if (len)
		memcpy(d + JREC_HDR_SIZE, payload, len);
}

void jstream_init(struct jstream *s, uint64_t bytes, uint64_t records, uint64_t first_seq,
		  jfmt_rec_fn fn, void *arg)
{
	memset(s, 0, sizeof(*s));
	s->bytes_left = bytes;
	s->unfed = bytes;
	s->records_left = records;
	s->seq = first_seq;
	s->fn = fn;
	s->arg = arg;
}

void jstream_destroy(struct jstream *s)
{
	free(s->carry);
	s->carry = NULL;
	s->carry_len = s->carry_cap = 0;
}

static int jstream_deliver(struct jstream *s, const uint8_t *rec)
{
	struct journal_rec r = {
		.type = md_get_le16(rec),
		.len = md_get_le32(rec + 4),
		.payload = rec + JREC_HDR_SIZE,
		.seq = s->seq,
	};

	if (r.type == 0 || md_get_le16(rec + 2) != 0 || s->records_left == 0)
		return -EUCLEAN;
	s->records_left--;
	s->bytes_left -= JREC_HDR_SIZE + (uint64_t)r.len;
	if (s->seq)
		s->seq++;
	return s->fn ? s->fn(s->arg, &r) : 0;
}

/* Size of the record starting at rec (at least its header is present), if it fits. */
static int jstream_rec_size(const struct jstream *s, const uint8_t *rec, uint64_t *size)
{
	*size = JREC_HDR_SIZE + (uint64_t)md_get_le32(rec + 4);
	return *size > s->bytes_left ? -EUCLEAN : 0;
}

static int jstream_carry(struct jstream *s, const uint8_t *p, size_t take)
{
	if (s->carry_len + take > s->carry_cap) {
		size_t cap = s->carry_cap ? s->carry_cap : 64;
		uint8_t *n;

		while (cap < s->carry_len + take)
			cap *= 2;
		n = realloc(s->carry, cap);
		if (!n)
			return -ENOMEM;
		s->carry = n;
		s->carry_cap = cap;
	}
	memcpy(s->carry + s->carry_len, p, take);
	s->carry_len += take;
	return 0;
}

/* Add bytes to the record in progress; deliver it once complete. Returns bytes taken. */
static int jstream_feed_partial(struct jstream *s, const uint8_t *p, size_t len, size_t *took)
{
	uint64_t size = JREC_HDR_SIZE;
	size_t take;
	int ret;

	if (s->carry_len >= JREC_HDR_SIZE && jstream_rec_size(s, s->carry, &size))
		return -EUCLEAN;
	take = size - s->carry_len < len ? (size_t)(size - s->carry_len) : len;
	ret = jstream_carry(s, p, take);
	if (ret)
		return ret;
	*took = take;
	if (s->carry_len < JREC_HDR_SIZE)
		return 0;
	if (jstream_rec_size(s, s->carry, &size))
		return -EUCLEAN;
	if (s->carry_len < size)
		return 0;
	s->carry_len = 0;
	return jstream_deliver(s, s->carry);
}

int jstream_feed(struct jstream *s, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t size;
	size_t took;
	int ret;

	if (len > s->unfed)
		return -EUCLEAN;
	s->unfed -= len;
	while (len) {
		if (!s->carry_len && len >= JREC_HDR_SIZE) {
			if (jstream_rec_size(s, p, &size))
				return -EUCLEAN;
			if (len >= size) {
				ret = jstream_deliver(s, p);
				if (ret)
					return ret;
				p += size;
				len -= (size_t)size;
				continue;
			}
		}
		ret = jstream_feed_partial(s, p, len, &took);
		if (ret)
			return ret;
		p += took;
		len -= took;
	}
	return 0;
}

int jstream_finish(struct jstream *s)
{
	if (s->unfed || s->bytes_left || s->carry_len || s->records_left)
		return -EUCLEAN;
	return 0;
}

void jfmt_batch_hdr_encode(void *dst, const struct jbatch_hdr *h)
{
	uint8_t *d = dst;

	md_put_le64(d, h->first_seq);
	md_put_le32(d + 8, h->count);
	md_put_le32(d + 12, 0);
	md_put_le64(d + 16, h->bytes);
}

int jfmt_batch_hdr_decode(const void *src, size_t len, struct jbatch_hdr *h)
{
	const uint8_t *s = src;

	if (len < JBATCH_HDR_SIZE)
		return -EUCLEAN;
	h->first_seq = md_get_le64(s);
	h->count = md_get_le32(s + 8);
	h->bytes = md_get_le64(s + 16);
	if (md_get_le32(s + 12) != 0 || h->first_seq == 0 || h->count == 0 ||
	    h->first_seq + h->count < h->first_seq || h->bytes / JREC_HDR_SIZE < h->count)
		return -EUCLEAN;
	return 0;
}

int jfmt_check_log_block(const struct jlog_geo *g, const void *block, uint64_t lbn,
			 uint64_t batch_lbn, uint32_t *batch_blocks, uint64_t *found_lbn)
{
	struct md_hdr h;
	int ret;

	ret = md_block_expect(block, g->block_size, MD_TYPE_LOG, jlog_blkno(g, lbn), g->uuid, &h);
	if (ret)
		return ret;
	if (found_lbn)
		*found_lbn = h.seq;
	if (h.seq != lbn || h.aux0 != batch_lbn)
		return -ESTALE;
	if (h.aux1 == 0 || h.aux1 > g->blocks || lbn - batch_lbn >= h.aux1)
		return -EUCLEAN;
	*batch_blocks = h.aux1;
	return 0;
}

/* Every block of the batch belongs to it; the payloads add up to the declared stream. */
static int jfmt_check_batch_blocks(const struct jlog_geo *g, const uint8_t *buf, uint32_t n,
				   uint64_t lbn, struct jbatch_hdr *bh)
{
	uint32_t per = jfmt_payload_size(g->block_size), blocks;
	uint64_t total = 0;
	int ret;

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *b = buf + (size_t)i * g->block_size;
		uint32_t plen = md_get_le32(b + 12);

		ret = jfmt_check_log_block(g, b, lbn + i, lbn, &blocks, NULL);
		if (ret)
			return ret;
		if (blocks != n || (i + 1 < n && plen != per) || plen == 0)
			return -EUCLEAN;
		total += plen;
	}
	ret = jfmt_batch_hdr_decode(buf + MD_HDR_SIZE, md_get_le32(buf + 12), bh);
	if (ret)
		return ret;
	if (total != JBATCH_HDR_SIZE + bh->bytes)
		return -EUCLEAN;
	return 0;
}

static int jfmt_parse_batch(const struct jlog_geo *g, const uint8_t *buf, uint32_t n,
			    const struct jbatch_hdr *bh, jfmt_rec_fn fn, void *arg)
{
	struct jstream s;
	int ret = 0;

	jstream_init(&s, bh->bytes, bh->count, bh->first_seq, fn, arg);
	for (uint32_t i = 0; i < n && !ret; i++) {
		const uint8_t *b = buf + (size_t)i * g->block_size;
		uint32_t skip = i ? 0 : JBATCH_HDR_SIZE;

		ret = jstream_feed(&s, b + MD_HDR_SIZE + skip, md_get_le32(b + 12) - skip);
	}
	if (!ret)
		ret = jstream_finish(&s);
	jstream_destroy(&s);
	return ret;
}

int jfmt_decode_batch(const struct jlog_geo *g, const void *buf, uint32_t nblocks, uint64_t lbn,
		      struct jbatch_hdr *bh, jfmt_rec_fn fn, void *arg)
{
	int ret;

	if (nblocks == 0 || g->block_size <= MD_HDR_SIZE + JBATCH_HDR_SIZE)
		return -EINVAL;
	ret = jfmt_check_batch_blocks(g, buf, nblocks, lbn, bh);
	if (ret)
		return ret;
	ret = jfmt_parse_batch(g, buf, nblocks, bh, NULL, NULL);
	if (ret || !fn)
		return ret;
	return jfmt_parse_batch(g, buf, nblocks, bh, fn, arg);
}

void jfmt_ckpt_hdr_build(void *block, uint32_t block_size, uint64_t blkno,
			 const uint8_t uuid[MD_UUID_LEN], const struct jckpt_hdr *h)
{
	struct md_hdr mh = {
		.type = MD_TYPE_CKPT_HDR,
		.payload_len = JCKPT_HDR_SIZE,
		.blkno = blkno,
		.seq = h->seq,
	};
	uint8_t *p = (uint8_t *)block + MD_HDR_SIZE;

	memcpy(mh.uuid, uuid, MD_UUID_LEN);
	md_hdr_encode(block, &mh);
	md_put_le64(p, h->seq);
	md_put_le64(p + 8, h->log_lbn);
	md_put_le64(p + 16, h->next_seq);
	md_put_le64(p + 24, h->records);
	md_put_le64(p + 32, h->bytes);
	md_put_le64(p + 40, h->data_blocks);
	md_put_le64(p + 48, h->time_ns);
	md_put_le64(p + 56, 0);
	md_block_seal(block, block_size);
}

int jfmt_ckpt_hdr_decode(const void *block, uint32_t block_size, uint64_t blkno,
			 uint64_t area_blocks, const uint8_t uuid[MD_UUID_LEN], struct jckpt_hdr *h)
{
	const uint8_t *p = (const uint8_t *)block + MD_HDR_SIZE;
	struct md_hdr mh;
	int ret;

	ret = md_block_expect(block, block_size, MD_TYPE_CKPT_HDR, blkno, uuid, &mh);
	if (ret)
		return ret;
	if (mh.payload_len != JCKPT_HDR_SIZE || block_size < MD_HDR_SIZE + JCKPT_HDR_SIZE)
		return -EUCLEAN;
	h->seq = md_get_le64(p);
	h->log_lbn = md_get_le64(p + 8);
	h->next_seq = md_get_le64(p + 16);
	h->records = md_get_le64(p + 24);
	h->bytes = md_get_le64(p + 32);
	h->data_blocks = md_get_le64(p + 40);
	h->time_ns = md_get_le64(p + 48);
	if (h->seq == 0 || h->seq != mh.seq || h->next_seq == 0 || md_get_le64(p + 56) != 0)
		return -EUCLEAN;
	if (area_blocks == 0 || h->data_blocks > area_blocks - 1 ||
	    h->data_blocks != jfmt_blocks_for(h->bytes, block_size) ||
	    h->bytes / JREC_HDR_SIZE < h->records || (h->records == 0) != (h->bytes == 0))
		return -EUCLEAN;
	return 0;
}
