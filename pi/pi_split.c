/* SPDX-License-Identifier: MIT */
/*
 * pi_split.c - the slow path: iovec cursor moves and blocks that straddle iovecs.
 *
 * The guard CRC is chained over each piece (both CRCs chain: crc(crc(0, a), b) ==
 * crc(0, a || b)), and a tuple that straddles iovecs is assembled in or scattered from an
 * on-stack copy, as SPDK's dif_load_split / dif_store_split. Callers have checked that the
 * iovecs hold every byte they walk (pi_args_check), so the cursor never runs off the end.
 */
#include "pi/pi_internal.h"

/* Bytes available at the cursor in the current iovec (skipping empty ones), > 0. */
static size_t pi_iter_span(struct pi_iter *it, size_t len, uint8_t **p)
{
	size_t avail;

	while (it->off == it->iov[it->idx].iov_len) {
		it->idx++;
		it->off = 0;
	}
	avail = it->iov[it->idx].iov_len - it->off;
	*p = (uint8_t *)it->iov[it->idx].iov_base + it->off;
	return avail < len ? avail : len;
}

void pi_iter_advance(struct pi_iter *it, size_t len)
{
	uint8_t *p;

	while (len) {
		size_t n = pi_iter_span(it, len, &p);

		it->off += n;
		len -= n;
	}
}

void pi_iter_read(struct pi_iter *it, void *dst, size_t len)
{
	uint8_t *d = dst, *p;

	while (len) {
		size_t n = pi_iter_span(it, len, &p);

		memcpy(d, p, n);
		d += n;
		it->off += n;
		len -= n;
	}
}

void pi_iter_write(struct pi_iter *it, const void *src, size_t len)
{
	const uint8_t *s = src;
	uint8_t *p;

	while (len) {
		size_t n = pi_iter_span(it, len, &p);

		memcpy(p, s, n);
		s += n;
		it->off += n;
		len -= n;
	}
}

uint64_t pi_iter_guard(const struct pi_ctx *ctx, struct pi_iter *it, size_t len, uint64_t guard)
{
	uint8_t *p;

	while (len) {
		size_t n = pi_iter_span(it, len, &p);

		guard = pi_guard_update(ctx, guard, p, n);
		it->off += n;
		len -= n;
	}
	return guard;
}

/*
 * Interleaved blocks: data, the md prefix, the tuple and the md suffix all follow in the
 * iovecs. Separate: only the data does; the md prefix and tuple are in md_blk.
 */
void pi_generate_split_block(const struct pi_ctx *ctx, const struct pi_io *io, uint32_t block,
			     struct pi_iter *it, uint8_t *md_blk)
{
	uint8_t buf[PI_TUPLE_MAX];
	struct pi_tuple t;
	uint64_t guard;

	guard = pi_iter_guard(ctx, it, ctx->fmt.lba_size, 0);
	if (md_blk) {
		guard = pi_guard_update(ctx, guard, md_blk, ctx->guard_md_len);
		pi_tuple_make(ctx, io, block, guard, &t);
		pi_tuple_store(ctx, md_blk + ctx->pi_offset, &t);
		return;
	}
	guard = pi_iter_guard(ctx, it, ctx->guard_md_len, guard);
	pi_tuple_make(ctx, io, block, guard, &t);
	pi_tuple_store(ctx, buf, &t);
	pi_iter_write(it, buf, ctx->tuple_size);
	pi_iter_advance(it, ctx->fmt.md_size - ctx->pi_offset - ctx->tuple_size);
}

int pi_verify_split_block(const struct pi_ctx *ctx, const struct pi_io *io, uint32_t block,
			  struct pi_iter *it, const uint8_t *md_blk, struct pi_error *err)
{
	uint8_t buf[PI_TUPLE_MAX];
	struct pi_tuple t;
	uint64_t guard;

	/* Always computes the guard: simpler than peeking ahead for the tuple, and rare. */
	guard = pi_iter_guard(ctx, it, ctx->fmt.lba_size, 0);
	if (md_blk) {
		guard = pi_guard_update(ctx, guard, md_blk, ctx->guard_md_len);
		pi_tuple_load(ctx, md_blk + ctx->pi_offset, &t);
	} else {
		guard = pi_iter_guard(ctx, it, ctx->guard_md_len, guard);
		pi_iter_read(it, buf, ctx->tuple_size);
		pi_iter_advance(it, ctx->fmt.md_size - ctx->pi_offset - ctx->tuple_size);
		pi_tuple_load(ctx, buf, &t);
	}
	return pi_tuple_check(ctx, io, block, guard, &t, err);
}
