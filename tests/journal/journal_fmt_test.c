/* SPDX-License-Identifier: MIT */
/*
 * journal_fmt_test.c - encoders and decoders without I/O: superblock, metadata block header,
 * record streams, log batches and checkpoint headers. Round trips, and every single-byte
 * corruption of each structure is rejected.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/journal_fmt.h"
#include "core/mdblock.h"
#include "core/sb.h"
#include "tests/journal/jt_util.h"

static const uint8_t uuid_a[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void make_sb(struct sb *sb, uint32_t lba, uint32_t md, enum pi_type type, uint32_t bs)
{
	struct pi_format f = test_format(lba, md, type, PI_GUARD_16, false);
	struct sb_params p = {.block_size = bs, .label = "test label", .uuid = uuid_a};

	ck_assert_int_eq(sb_layout(&f, 1u << 20, &p, sb), 0);
}

START_TEST(sb_round_trip_keeps_every_field)
{
	static const uint32_t lbas[] = {512, 4096};
	uint8_t buf[SB_SIZE];
	struct sb a, b;

	for (int i = 0; i < 2; i++) {
		make_sb(&a, lbas[i], 16, PI_TYPE_2, 0);
		a.feat_compat = 0x1234;
		sb_encode(&a, 0, buf);
		ck_assert_int_eq(sb_decode(buf, sizeof(buf), &b), 0);
		ck_assert_int_eq(b.block_size, 4096);
		ck_assert_str_eq(b.label, "test label");
		ck_assert_mem_eq(b.uuid, uuid_a, 16);
		ck_assert_uint_eq(b.pi.lba_size, lbas[i]);
		ck_assert_uint_eq(b.pi.md_size, 16);
		ck_assert_int_eq(b.pi.type, PI_TYPE_2);
		ck_assert_uint_eq(b.nlb, a.nlb);
		ck_assert_uint_eq(b.log_start, a.log_start);
		ck_assert_uint_eq(b.log_blocks, a.log_blocks);
		ck_assert_uint_eq(b.ckpt_start[1], a.ckpt_start[1]);
		ck_assert_uint_eq(b.data_start, a.data_start);
		ck_assert_uint_eq(b.data_blocks, a.data_blocks);
		ck_assert_uint_eq(b.feat_compat, 0x1234);
		ck_assert_uint_eq(b.mkfs_time_ns, a.mkfs_time_ns);
	}
}
END_TEST

START_TEST(sb_every_byte_flip_is_rejected)
{
	uint8_t buf[SB_SIZE];
	struct sb a, b;

	make_sb(&a, 512, 8, PI_TYPE_1, 0);
	sb_encode(&a, 1, buf);
	for (size_t i = 0; i < SB_SIZE; i++) {
		uint8_t mask = (uint8_t)(1u << (jt_rand() % 8));

		buf[i] ^= mask;
		ck_assert_msg(sb_decode(buf, sizeof(buf), &b) != 0, "flip at byte %zu accepted", i);
		buf[i] ^= mask;
	}
	ck_assert_int_eq(sb_decode(buf, sizeof(buf), &b), 0);
	ck_assert_int_eq(sb_decode(buf, SB_SIZE - 1, &b), -ENODATA);
}
END_TEST

START_TEST(sb_decode_names_each_failure)
{
	uint8_t buf[SB_SIZE];
	struct sb a, b;

	make_sb(&a, 4096, 8, PI_TYPE_1, 0);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(sb_decode(buf, sizeof(buf), &b), -ENODATA);
	sb_encode(&a, 0, buf);
	buf[8] = 2; /* version */
	ck_assert_int_eq(sb_decode(buf, sizeof(buf), &b), -EPROTONOSUPPORT);
	sb_encode(&a, 0, buf);
	buf[300] ^= 1;
	ck_assert_int_eq(sb_decode(buf, sizeof(buf), &b), -EBADMSG);
	/* CRC-valid but inconsistent: areas overlap. */
	a.ckpt_start[1] = a.ckpt_start[0];
	sb_encode(&a, 0, buf);
	ck_assert_int_eq(sb_decode(buf, sizeof(buf), &b), -EUCLEAN);
	make_sb(&a, 4096, 8, PI_TYPE_1, 0);
	a.block_size = 3 * 4096;
	sb_encode(&a, 0, buf);
	ck_assert_int_eq(sb_decode(buf, sizeof(buf), &b), -EUCLEAN);
	make_sb(&a, 4096, 8, PI_TYPE_1, 0);
	a.feat_incompat = 1;
	sb_encode(&a, 0, buf);
	ck_assert_int_eq(sb_decode(buf, sizeof(buf), &b), -EOPNOTSUPP);
	ck_assert_str_eq(sb_strerror(-ENODATA), "not a guardfs namespace");
}
END_TEST

START_TEST(sb_layout_enforces_block_size_and_space)
{
	struct pi_format f = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct pi_format f512 = test_format(512, 0, PI_TYPE_NONE, PI_GUARD_16, false);
	struct sb_params p = {0};
	struct sb sb;

	p.block_size = 2048; /* below the LBA size */
	ck_assert_int_eq(sb_layout(&f, 1 << 20, &p, &sb), -EINVAL);
	p.block_size = 3 * 4096;
	ck_assert_int_eq(sb_layout(&f, 1 << 20, &p, &sb), -EINVAL);
	p.block_size = 131072;
	ck_assert_int_eq(sb_layout(&f, 1 << 20, &p, &sb), -EINVAL);
	p.block_size = 65536;
	ck_assert_int_eq(sb_layout(&f, 1 << 20, &p, &sb), 0);
	p.block_size = 0;
	ck_assert_int_eq(sb_layout(&f512, 1 << 20, &p, &sb), 0);
	ck_assert_uint_eq(sb.block_size, 4096);
	p.block_size = 512;
	ck_assert_int_eq(sb_layout(&f512, 1 << 20, &p, &sb), 0);
	ck_assert_uint_eq(sb.nblocks, 1 << 20);
	ck_assert_int_eq(sb_layout(&f, 40, NULL, &sb), -ENOSPC);
	p.block_size = 0;
	p.log_blocks = UINT64_MAX / 2;
	ck_assert_int_eq(sb_layout(&f, 1 << 20, &p, &sb), -ENOSPC);
	p.log_blocks = 0;
	p.ckpt_blocks = (1 << 20) / 2;
	ck_assert_int_eq(sb_layout(&f, 1 << 20, &p, &sb), -ENOSPC);
	p.ckpt_blocks = 1;
	ck_assert_int_eq(sb_layout(&f, 1 << 20, &p, &sb), -EINVAL);
	p.ckpt_blocks = 0;
	p.block_size = 0;
	p.label = "0123456789012345678901234567890123456789012345678901234567890123456789";
	ck_assert_int_eq(sb_layout(&f, 1 << 20, &p, &sb), -ENAMETOOLONG);
	/* Every capacity gives ordered areas inside the namespace, with data space left. */
	for (uint64_t nlb = 64; nlb < (1ull << 34); nlb = nlb * 3 + jt_rand() % 7) {
		uint8_t buf[SB_SIZE];
		struct sb back;

		if (sb_layout(&f, nlb, NULL, &sb))
			continue;
		sb_encode(&sb, 0, buf);
		ck_assert_int_eq(sb_decode(buf, sizeof(buf), &back), 0);
		ck_assert_uint_ge(sb.data_blocks, 1);
		ck_assert_uint_le(sb.data_start + sb.data_blocks, sb.nblocks - 1);
	}
}
END_TEST

static void make_block(uint8_t *b, uint32_t bs, uint16_t type, uint64_t blkno, uint32_t plen)
{
	struct md_hdr h = {.type = type, .payload_len = plen, .blkno = blkno, .seq = 77};

	memset(b, 0, bs);
	memcpy(h.uuid, uuid_a, 16);
	md_hdr_encode(b, &h);
	for (uint32_t i = 0; i < plen; i++)
		b[MD_HDR_SIZE + i] = (uint8_t)(i * 13);
	md_block_seal(b, bs);
}

START_TEST(md_block_header_round_trip_and_corruption)
{
	uint32_t bs = 512;
	uint8_t *b = calloc(1, bs);
	struct md_hdr h;

	make_block(b, bs, MD_TYPE_CKPT_DATA, 42, 100);
	ck_assert_int_eq(md_block_expect(b, bs, MD_TYPE_CKPT_DATA, 42, uuid_a, &h), 0);
	ck_assert_uint_eq(h.seq, 77);
	ck_assert_uint_eq(h.payload_len, 100);
	ck_assert_int_eq(md_block_expect(b, bs, MD_TYPE_CKPT_DATA, 43, uuid_a, &h), -ESTALE);
	ck_assert_int_eq(md_block_expect(b, bs, MD_TYPE_LOG, 42, uuid_a, &h), -ESTALE);
	for (uint32_t i = 0; i < bs; i++) {
		b[i] ^= 0x10;
		ck_assert_msg(md_block_check(b, bs, &h) != 0, "flip at %u accepted", i);
		b[i] ^= 0x10;
	}
	memset(b, 0, bs);
	ck_assert_int_eq(md_block_check(b, bs, &h), -ENODATA);
	memset(b, 0xFF, bs);
	ck_assert_int_eq(md_block_check(b, bs, &h), -ENODATA);
	/* Payload longer than the block: CRC-valid but impossible. */
	make_block(b, bs, MD_TYPE_LOG, 1, 0);
	md_put_le32(b + 12, bs);
	md_block_seal(b, bs);
	ck_assert_int_eq(md_block_check(b, bs, &h), -EUCLEAN);
	free(b);
}
END_TEST

struct seen {
	size_t count;
	uint64_t seq[4096];
	uint16_t type[4096];
	uint32_t len[4096];
	uint32_t sum[4096];
};

static int seen_fn(void *arg, const struct journal_rec *rec)
{
	struct seen *s = arg;
	uint32_t sum = 0;

	ck_assert_uint_lt(s->count, 4096);
	for (uint32_t i = 0; i < rec->len; i++)
		sum = sum * 31 + ((const uint8_t *)rec->payload)[i];
	s->seq[s->count] = rec->seq;
	s->type[s->count] = rec->type;
	s->len[s->count] = rec->len;
	s->sum[s->count] = sum;
	s->count++;
	return 0;
}

/* A stream of n random records; returns its length. */
static size_t make_stream(uint8_t *buf, unsigned n, struct seen *want)
{
	uint8_t payload[3000];
	size_t off = 0;

	want->count = 0;
	for (unsigned i = 0; i < n; i++) {
		uint32_t len = jt_payload(jt_rand(), payload, sizeof(payload));
		struct journal_rec r = {.type = (uint16_t)(1 + i % 9),
					.len = len,
					.payload = payload,
					.seq = 100 + i};

		jfmt_rec_encode(buf + off, r.type, payload, len);
		off += JREC_HDR_SIZE + len;
		seen_fn(want, &r);
	}
	return off;
}

START_TEST(stream_parses_records_split_anywhere)
{
	uint8_t *buf = malloc(300 * 3008);
	struct seen *want = calloc(1, sizeof(*want)), *got = calloc(1, sizeof(*got));
	size_t len = make_stream(buf, 300, want);
	struct jstream s;

	for (int round = 0; round < 20; round++) {
		size_t off = 0;

		got->count = 0;
		jstream_init(&s, len, 300, 100, seen_fn, got);
		while (off < len) {
			size_t piece = round == 0 ? 1 : 1 + jt_rand() % 5000;

			piece = piece > len - off ? len - off : piece;
			ck_assert_int_eq(jstream_feed(&s, buf + off, piece), 0);
			off += piece;
		}
		ck_assert_int_eq(jstream_finish(&s), 0);
		jstream_destroy(&s);
		ck_assert_uint_eq(got->count, want->count);
		ck_assert_mem_eq(got->sum, want->sum, sizeof(uint32_t) * want->count);
		ck_assert_mem_eq(got->seq, want->seq, sizeof(uint64_t) * want->count);
		ck_assert_mem_eq(got->len, want->len, sizeof(uint32_t) * want->count);
	}
	/* Declared one record too many, one byte too many, or a length past the end. */
	jstream_init(&s, len, 301, 100, NULL, NULL);
	ck_assert_int_eq(jstream_feed(&s, buf, len), 0);
	ck_assert_int_eq(jstream_finish(&s), -EUCLEAN);
	jstream_destroy(&s);
	jstream_init(&s, len - 1, 300, 100, NULL, NULL);
	ck_assert_int_eq(jstream_feed(&s, buf, len), -EUCLEAN);
	jstream_destroy(&s);
	md_put_le32(buf + 4, 0xFFFFFFF0u);
	jstream_init(&s, len, 300, 100, NULL, NULL);
	ck_assert_int_eq(jstream_feed(&s, buf, 10), -EUCLEAN);
	jstream_destroy(&s);
	md_put_le16(buf, 0); /* type 0 is reserved */
	md_put_le32(buf + 4, 0);
	jstream_init(&s, 8, 1, 1, NULL, NULL);
	ck_assert_int_eq(jstream_feed(&s, buf, 8), -EUCLEAN);
	jstream_destroy(&s);
	free(buf);
	free(want);
	free(got);
}
END_TEST

/* An independent batch encoder written from docs/FORMAT.md. */
static uint32_t build_batch(const struct jlog_geo *g, uint8_t *out, const uint8_t *recs, size_t len,
			    uint64_t first_seq, uint32_t count, uint64_t lbn)
{
	uint32_t per = g->block_size - MD_HDR_SIZE;
	size_t total = JBATCH_HDR_SIZE + len;
	uint32_t n = (uint32_t)((total + per - 1) / per);
	uint8_t *stream = malloc(total);

	md_put_le64(stream, first_seq);
	md_put_le32(stream + 8, count);
	md_put_le32(stream + 12, 0);
	md_put_le64(stream + 16, len);
	memcpy(stream + JBATCH_HDR_SIZE, recs, len);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *b = out + (size_t)i * g->block_size;
		size_t plen = total - (size_t)i * per < per ? total - (size_t)i * per : per;
		struct md_hdr h = {.type = MD_TYPE_LOG,
				   .payload_len = (uint32_t)plen,
				   .blkno = jlog_blkno(g, lbn + i),
				   .seq = lbn + i,
				   .aux0 = lbn,
				   .aux1 = n};

		memset(b, 0, g->block_size);
		memcpy(h.uuid, g->uuid, 16);
		md_hdr_encode(b, &h);
		memcpy(b + MD_HDR_SIZE, stream + (size_t)i * per, plen);
		md_block_seal(b, g->block_size);
	}
	free(stream);
	return n;
}

START_TEST(log_batch_round_trip_and_every_corruption)
{
	struct jlog_geo g = {.block_size = 512, .start = 10, .blocks = 64};
	uint8_t *recs = malloc(20 * 3008), *blocks = malloc(64 * 512);
	struct seen *want = calloc(1, sizeof(*want)), *got = calloc(1, sizeof(*got));
	struct jbatch_hdr bh;
	size_t len;
	uint32_t n;

	memcpy(g.uuid, uuid_a, 16);
	do {
		len = make_stream(recs, 8, want);
	} while (len > 20 * 480);
	n = build_batch(&g, blocks, recs, len, 100, 8, 130);
	ck_assert_int_eq(jfmt_decode_batch(&g, blocks, n, 130, &bh, seen_fn, got), 0);
	ck_assert_uint_eq(bh.first_seq, 100);
	ck_assert_uint_eq(got->count, 8);
	ck_assert_mem_eq(got->sum, want->sum, 8 * sizeof(uint32_t));
	/* Wrong place in the log: another lap, another batch. */
	ck_assert_int_ne(jfmt_decode_batch(&g, blocks, n, 130 + 64, &bh, NULL, NULL), 0);
	for (size_t i = 0; i < (size_t)n * g.block_size; i++) {
		blocks[i] ^= 0x04;
		ck_assert_msg(jfmt_decode_batch(&g, blocks, n, 130, &bh, NULL, NULL) != 0,
			      "flip at %zu accepted", i);
		blocks[i] ^= 0x04;
	}
	/* A batch missing its last block is not a batch. */
	if (n > 1)
		ck_assert_int_ne(jfmt_decode_batch(&g, blocks, n - 1, 130, &bh, NULL, NULL), 0);
	/* Another filesystem's identical batch is not ours. */
	g.uuid[0] ^= 1;
	ck_assert_int_eq(jfmt_decode_batch(&g, blocks, n, 130, &bh, NULL, NULL), -ESTALE);
	free(recs);
	free(blocks);
	free(want);
	free(got);
}
END_TEST

START_TEST(ckpt_header_round_trip_and_corruption)
{
	uint32_t bs = 4096;
	uint8_t *b = calloc(1, bs);
	struct jckpt_hdr h = {.seq = 9,
			      .log_lbn = 1000,
			      .next_seq = 5555,
			      .records = 10,
			      .bytes = 3 * (bs - MD_HDR_SIZE) - 5,
			      .data_blocks = 3,
			      .time_ns = 7};
	struct jckpt_hdr d;

	jfmt_ckpt_hdr_build(b, bs, 300, uuid_a, &h);
	ck_assert_int_eq(jfmt_ckpt_hdr_decode(b, bs, 300, 100, uuid_a, &d), 0);
	ck_assert_mem_eq(&d, &h, sizeof(h));
	ck_assert_int_eq(jfmt_ckpt_hdr_decode(b, bs, 301, 100, uuid_a, &d), -ESTALE);
	/* Does not fit its area. */
	ck_assert_int_eq(jfmt_ckpt_hdr_decode(b, bs, 300, 3, uuid_a, &d), -EUCLEAN);
	for (uint32_t i = 0; i < MD_HDR_SIZE + JCKPT_HDR_SIZE; i++) {
		b[i] ^= 0x80;
		ck_assert_msg(jfmt_ckpt_hdr_decode(b, bs, 300, 100, uuid_a, &d) != 0,
			      "flip at %u accepted", i);
		b[i] ^= 0x80;
	}
	h.data_blocks = 2; /* disagrees with bytes */
	memset(b, 0, bs);
	jfmt_ckpt_hdr_build(b, bs, 300, uuid_a, &h);
	ck_assert_int_eq(jfmt_ckpt_hdr_decode(b, bs, 300, 100, uuid_a, &d), -EUCLEAN);
	free(b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("journal_fmt");
	TCase *tc = tcase_create("fmt");

	jt_seed("journal_fmt");
	tcase_add_test(tc, sb_round_trip_keeps_every_field);
	tcase_add_test(tc, sb_every_byte_flip_is_rejected);
	tcase_add_test(tc, sb_decode_names_each_failure);
	tcase_add_test(tc, sb_layout_enforces_block_size_and_space);
	tcase_add_test(tc, md_block_header_round_trip_and_corruption);
	tcase_add_test(tc, stream_parses_records_split_anywhere);
	tcase_add_test(tc, log_batch_round_trip_and_every_corruption);
	tcase_add_test(tc, ckpt_header_round_trip_and_corruption);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
