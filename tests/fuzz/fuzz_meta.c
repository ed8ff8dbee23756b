/* SPDX-License-Identifier: MIT */
/*
 * fuzz_meta.c - libFuzzer target over the decoders of guardfs's on-disk metadata: the
 * superblock, log batches (metadata block framing, batch header, record stream), checkpoint
 * headers and bare record streams. Whatever the bytes, the decoders must return an error or
 * a consistent result, never crash, read out of bounds or allocate without bound.
 *
 * Input: byte 0 selects the decoder (mod 4: superblock, log batch, checkpoint header, record
 * stream), byte 1 the block size (512 << (byte % 8)), the rest is the structure. Identity
 * fields that a reader would know from the superblock (UUID, address, log position) are taken
 * from the block itself, so mutations reach the deeper checks. The seed corpus (corpus/) was
 * written by gen_corpus from structures of a real filesystem image.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/journal_fmt.h"
#include "core/mdblock.h"
#include "core/sb.h"

#define FUZZ_LOG_START	1
#define FUZZ_LOG_BLOCKS 64

static int count_rec(void *arg, const struct journal_rec *rec)
{
	uint64_t *sum = arg;

	/* Touch every payload byte: out-of-bounds reads show up under ASan. */
	for (uint32_t i = 0; i < rec->len; i++)
		*sum += ((const uint8_t *)rec->payload)[i];
	*sum += rec->type + rec->seq;
	return 0;
}

static void fuzz_log_batch(const uint8_t *buf, size_t size, uint32_t bs)
{
	struct jlog_geo g = {.block_size = bs, .start = FUZZ_LOG_START, .blocks = FUZZ_LOG_BLOCKS};
	uint32_t n = (uint32_t)(size / bs);
	struct jbatch_hdr bh;
	uint64_t lbn, sum = 0, found;
	uint32_t blocks;

	if (n == 0)
		return;
	memcpy(g.uuid, buf + 32, MD_UUID_LEN);
	lbn = md_get_le64(buf + 24);
	/* The batch length its first block claims, when the input holds that many blocks. */
	if (!jfmt_check_log_block(&g, buf, lbn, lbn, &blocks, &found) && blocks < n)
		n = blocks;
	jfmt_decode_batch(&g, buf, n, lbn, &bh, count_rec, &sum);
}

static void fuzz_ckpt_header(const uint8_t *buf, size_t size, uint32_t bs)
{
	struct jckpt_hdr h;

	if (size < bs)
		return;
	jfmt_ckpt_hdr_decode(buf, bs, md_get_le64(buf + 16), 1u << 20, buf + 32, &h);
}

static void fuzz_stream(const uint8_t *buf, size_t size)
{
	struct jstream s;
	uint64_t sum = 0;
	size_t half;

	if (size < 4)
		return;
	/* Declared record count from the first bytes, the stream fed in two pieces. */
	jstream_init(&s, size - 4, md_get_le32(buf), 1, count_rec, &sum);
	half = (size - 4) / 2;
	if (!jstream_feed(&s, buf + 4, half) && !jstream_feed(&s, buf + 4 + half, size - 4 - half))
		jstream_finish(&s);
	jstream_destroy(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t bs;
	uint8_t *buf;
	struct sb sb;

	if (size < 2)
		return 0;
	bs = 512u << (data[1] % 8);
	/* An exact-size heap copy: ASan then catches any read past the structure. */
	buf = malloc(size - 2 ? size - 2 : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 2, size - 2);
	switch (data[0] % 4) {
	case 0:
		sb_decode(buf, size - 2, &sb);
		break;
	case 1:
		if (size - 2 >= MD_HDR_SIZE)
			fuzz_log_batch(buf, size - 2, bs);
		break;
	case 2:
		fuzz_ckpt_header(buf, size - 2, bs);
		break;
	default:
		fuzz_stream(buf, size - 2);
		break;
	}
	free(buf);
	return 0;
}
