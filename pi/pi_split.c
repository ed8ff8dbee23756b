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

/*
 * Take the next piece of at most @len bytes at the cursor, within one iovec (empty ones are
 * skipped): its address in *p, its length (> 0) returned. The cursor moves past it.
 */
static size_t pi_iter_take(struct pi_iter *it, size_t len, uint8_t **p)
{
	size_t avail;

	while (it->off == it->iov[it->idx].iov_len) {
		it->idx++;
		it->off = 0;
	}
	avail = it->iov[it->idx].iov_len - it->off;
	*p = (uint8_t *)it->iov[it->idx].iov_base + it->off;
	if (avail > len)
		avail = len;
	it->off += avail;
	return avail;
}

void pi_iter_advance(struct pi_iter *it, size_t len)
{
	uint8_t *p;

	while (len)
		len -= pi_iter_take(it, len, &p);
}

/* Copy @len bytes between the cursor and @buf: into the iovecs when @to_iov, else out. */
static void pi_iter_copy(struct pi_iter *it, uint8_t *buf, size_t len, bool to_iov)
{
	uint8_t *p;

	while (len) {
		size_t n = pi_iter_take(it, len, &p);

		if (to_iov)
			memcpy(p, buf, n);
		else
			memcpy(buf, p, n);
		buf += n;
		len -= n;
	}
}

void pi_iter_read(struct pi_iter *it, void *dst, size_t len)
{
	pi_iter_copy(it, dst, len, false);
}

void pi_iter_write(struct pi_iter *it, const void *src, size_t len)
{
	/* Copying into the iovecs only reads the buffer. */
	pi_iter_copy(it, (uint8_t *)src, len, true);
}

uint64_t pi_iter_guard(const struct pi_ctx *ctx, struct pi_iter *it, size_t len, uint64_t guard)
{
	uint8_t *p;

	while (len) {
		size_t n = pi_iter_take(it, len, &p);

		guard = pi_guard_update(ctx, guard, p, n);
		len -= n;
	}
	return guard;
}

/*
 * Interleaved blocks: data, the md prefix, the tuple and the md suffix all follow in the
 * iovecs. Separate: only the data does; the md prefix and tuple are in md_blk.
 *
 * The guard of a straddling block: its data, then its md prefix, wherever that lives.
 */
static uint64_t pi_split_guard(const struct pi_ctx *ctx, struct pi_iter *it, const uint8_t *md_blk)
{
	uint64_t guard = pi_iter_guard(ctx, it, ctx->fmt.lba_size, 0);

	if (md_blk)
		return pi_guard_update(ctx, guard, md_blk, ctx->guard_md_len);
	return pi_iter_guard(ctx, it, ctx->guard_md_len, guard);
}

/* Interleaved: move the cursor over the md bytes after the tuple. */
static void pi_split_skip_suffix(const struct pi_ctx *ctx, struct pi_iter *it)
{
	pi_iter_advance(it, ctx->fmt.md_size - ctx->pi_offset - ctx->tuple_size);
}

void pi_generate_split_block(const struct pi_ctx *ctx, const struct pi_io *io, uint32_t block,
			     struct pi_iter *it, uint8_t *md_blk)
{
	uint8_t buf[PI_TUPLE_MAX];
	struct pi_tuple t;

	pi_tuple_make(ctx, io, block, pi_split_guard(ctx, it, md_blk), &t);
	if (md_blk) {
		pi_tuple_store(ctx, md_blk + ctx->pi_offset, &t);
		return;
	}
	pi_tuple_store(ctx, buf, &t);
	pi_iter_write(it, buf, ctx->tuple_size);
	pi_split_skip_suffix(ctx, it);
}

int pi_verify_split_block(const struct pi_ctx *ctx, const struct pi_io *io, uint32_t block,
			  struct pi_iter *it, const uint8_t *md_blk, struct pi_error *err)
{
	uint8_t buf[PI_TUPLE_MAX];
	struct pi_tuple t;
	uint64_t guard;

	/* Always computes the guard: simpler than peeking ahead for the tuple, and rare. */
	guard = pi_split_guard(ctx, it, md_blk);
	if (md_blk) {
		pi_tuple_load(ctx, md_blk + ctx->pi_offset, &t);
	} else {
		pi_iter_read(it, buf, ctx->tuple_size);
		pi_split_skip_suffix(ctx, it);
		pi_tuple_load(ctx, buf, &t);
	}
	return pi_tuple_check(ctx, io, block, guard, &t, err);
}
