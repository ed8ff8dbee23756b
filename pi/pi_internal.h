/* SPDX-License-Identifier: MIT */
/*
 * pi_internal.h - what the files of pi/ share: the iovec cursor, the guard, tuple encoding and
 * the per-tuple check.
 *
 * Every operation walks a run of blocks with a cursor over the data iovecs. A block that lies
 * inside one iovec takes the fast path (direct pointers, one CRC call); a block that straddles
 * iovecs takes the split path, which chains the CRC over the pieces and moves a straddling
 * tuple through a small on-stack copy (SPDK's _split functions, the kernel's
 * blk_integrity_copy_to_tuple). The split path lives in pi_split.c so that the fast path stays
 * short.
 */
#ifndef GUARDFS_PI_INTERNAL_H
#define GUARDFS_PI_INTERNAL_H

#include <string.h>

#include "pi/crc_copy.h"
#include "pi/pi.h"

#define PI_TUPLE_MAX 16

/* A decoded tuple. */
struct pi_tuple {
	uint64_t guard;
	uint64_t ref;
	uint16_t app;
};

/* Cursor over an iovec array; idx == iovcnt at the end. */
struct pi_iter {
	const struct iovec *iov;
	int iovcnt;
	int idx;
	size_t off; /* offset inside iov[idx] */
};

static inline void pi_iter_init(struct pi_iter *it, const struct iovec *iov, int iovcnt)
{
	it->iov = iov;
	it->iovcnt = iovcnt;
	it->idx = 0;
	it->off = 0;
}

/*
 * Pointer to len contiguous bytes at the cursor, or NULL when they straddle iovecs. Empty
 * iovecs at the cursor are skipped first. Does not advance.
 */
static inline uint8_t *pi_iter_contig(struct pi_iter *it, size_t len)
{
	while (it->idx < it->iovcnt && it->off == it->iov[it->idx].iov_len) {
		it->idx++;
		it->off = 0;
	}
	if (it->idx < it->iovcnt && it->iov[it->idx].iov_len - it->off >= len)
		return (uint8_t *)it->iov[it->idx].iov_base + it->off;
	return NULL;
}

/* Bytes the caller has proven to be present (pi_args_check). */
void pi_iter_advance(struct pi_iter *it, size_t len);
void pi_iter_read(struct pi_iter *it, void *dst, size_t len);
void pi_iter_write(struct pi_iter *it, const void *src, size_t len);
/* Chain the guard CRC over len bytes at the cursor, advancing. */
uint64_t pi_iter_guard(const struct pi_ctx *ctx, struct pi_iter *it, size_t len, uint64_t guard);

/* Guard CRC of the context's format, chained like pi_crc16_t10dif / pi_crc64_nvme. */
static inline uint64_t pi_guard_update(const struct pi_ctx *ctx, uint64_t guard, const void *buf,
				       size_t len)
{
	if (ctx->fmt.guard == PI_GUARD_64)
		return pi_crc64_nvme(guard, buf, len);
	return pi_crc16_t10dif((uint16_t)guard, buf, len);
}

/* Copy len bytes and return the guard CRC of the copy, chained (crc_copy.h). */
static inline uint64_t pi_guard_copy(const struct pi_ctx *ctx, void *dst, const void *src,
				     size_t len)
{
	if (ctx->fmt.guard == PI_GUARD_64)
		return pi_crc64_nvme_copy(0, dst, src, len);
	return pi_crc16_t10dif_copy(0, dst, src, len);
}

void pi_tuple_load(const struct pi_ctx *ctx, const uint8_t *p, struct pi_tuple *t);
void pi_tuple_store(const struct pi_ctx *ctx, uint8_t *p, const struct pi_tuple *t);
/* The tuple generate writes for block i of the run, given its guard. */
void pi_tuple_make(const struct pi_ctx *ctx, const struct pi_io *io, uint32_t block, uint64_t guard,
		   struct pi_tuple *t);
bool pi_tuple_is_escape(const struct pi_ctx *ctx, const struct pi_tuple *t);
/*
 * Check a stored tuple against the guard computed over block i (ignored unless the guard is
 * checked). 0, or -EIO with *err (may be NULL) describing the first failed check.
 */
int pi_tuple_check(const struct pi_ctx *ctx, const struct pi_io *io, uint32_t block, uint64_t guard,
		   const struct pi_tuple *t, struct pi_error *err);

/*
 * Validate the arguments every operation shares: ctx built by pi_ctx_init, io present, at least
 * one block, iovecs that hold nblocks blocks of iov_stride bytes, md present exactly when the
 * layout is separate and the format has metadata.
 */
int pi_args_check(const struct pi_ctx *ctx, const struct iovec *iov, int iovcnt, const void *md,
		  uint32_t nblocks, const struct pi_io *io, size_t iov_stride);

/* Split path (pi_split.c): one block of the run that straddles iovecs. */
void pi_generate_split_block(const struct pi_ctx *ctx, const struct pi_io *io, uint32_t block,
			     struct pi_iter *it, uint8_t *md_blk);
int pi_verify_split_block(const struct pi_ctx *ctx, const struct pi_io *io, uint32_t block,
			  struct pi_iter *it, const uint8_t *md_blk, struct pi_error *err);

/* Chain the guard of block i's data over its md prefix and store its tuple in md_blk. */
void pi_generate_tuple(const struct pi_ctx *ctx, const struct pi_io *io, uint32_t block,
		       uint64_t guard, uint8_t *md_blk);

/* Fast path on one contiguous block: data is lba_size bytes, md_blk its md_size bytes. */
void pi_generate_block(const struct pi_ctx *ctx, const struct pi_io *io, uint32_t block,
		       const uint8_t *data, uint8_t *md_blk);
int pi_verify_block(const struct pi_ctx *ctx, const struct pi_io *io, uint32_t block,
		    const uint8_t *data, const uint8_t *md_blk, struct pi_error *err);

#endif /* GUARDFS_PI_INTERNAL_H */
