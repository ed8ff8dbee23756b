/* SPDX-License-Identifier: MIT */
/*
 * pi_copy.c - the bounce operations: copy+generate (writes) and verify+copy (reads), as
 * SPDK's spdk_dif_generate_copy / spdk_dif_verify_copy.
 *
 * copy+generate guards what it stored in the bounce, never the caller's source, which may still
 * change under us (the stable-pages problem). A block inside one source iovec goes through the
 * fused copy+CRC kernels (crc_copy.h): each byte is loaded once, stored and folded into the
 * CRC from the same register, so the bounce costs about what the plain copy it replaces costs,
 * from DRAM as well as from cache. A block that straddles source iovecs is gathered into the
 * bounce first and then guarded while it is still in L1. ISA-L's own fused
 * crc16_t10dif_copy, and memcpy followed by crc16_t10dif, were both measured slower
 * (bench/pi-bench, docs/PERFORMANCE.md).
 *
 * verify+copy checks each block before copying it (the CRC pulls the block into L1 for the
 * copy), so nothing of a failing block reaches the destination; the blocks before it have
 * been copied.
 */
#include <errno.h>

#include "pi/pi_internal.h"

/*
 * Both bounce operations take the caller's iovecs (data only: lba_size bytes a block) and a
 * bounce in the namespace's layout, which must be there.
 */
static int pi_bounce_args_check(const struct pi_ctx *ctx, const struct iovec *iov, int iovcnt,
				const void *bounce, const void *md, uint32_t nblocks,
				const struct pi_io *io)
{
	int ret = pi_args_check(ctx, iov, iovcnt, md, nblocks, io, ctx ? ctx->fmt.lba_size : 0);

	if (ret)
		return ret;
	return bounce ? 0 : -EINVAL;
}

int pi_copy_generate(const struct pi_ctx *ctx, const struct iovec *src, int srccnt, void *bounce,
		     void *md, uint32_t nblocks, const struct pi_io *io)
{
	uint32_t lba_size, stride, md_size;
	struct pi_iter it;
	int ret;

	ret = pi_bounce_args_check(ctx, src, srccnt, bounce, md, nblocks, io);
	if (ret)
		return ret;
	lba_size = ctx->fmt.lba_size;
	stride = ctx->stride;
	md_size = ctx->fmt.md_size;
	pi_iter_init(&it, src, srccnt);
	for (uint32_t i = 0; i < nblocks; i++) {
		uint8_t *dst = (uint8_t *)bounce + (size_t)i * stride;
		uint8_t *md_blk = md ? (uint8_t *)md + (size_t)i * md_size : dst + lba_size;
		uint8_t *s = pi_iter_contig(&it, lba_size);

		if (s && ctx->fmt.type != PI_TYPE_NONE) {
			/* one pass: the guard is the CRC of the bytes stored in the bounce */
			pi_generate_tuple(ctx, io, i, pi_guard_copy(ctx, dst, s, lba_size), md_blk);
			pi_iter_advance(&it, lba_size);
			continue;
		}
		if (s) {
			memcpy(dst, s, lba_size);
			pi_iter_advance(&it, lba_size);
		} else {
			pi_iter_read(&it, dst, lba_size);
		}
		if (ctx->fmt.type != PI_TYPE_NONE)
			pi_generate_block(ctx, io, i, dst, md_blk);
	}
	return 0;
}

int pi_verify_copy(const struct pi_ctx *ctx, const void *bounce, const void *md,
		   const struct iovec *dst, int dstcnt, uint32_t nblocks, const struct pi_io *io,
		   struct pi_error *err)
{
	uint32_t lba_size, stride, md_size;
	struct pi_iter it;
	int ret;

	ret = pi_bounce_args_check(ctx, dst, dstcnt, bounce, md, nblocks, io);
	if (ret)
		return ret;
	lba_size = ctx->fmt.lba_size;
	stride = ctx->stride;
	md_size = ctx->fmt.md_size;
	pi_iter_init(&it, dst, dstcnt);
	for (uint32_t i = 0; i < nblocks; i++) {
		const uint8_t *s = (const uint8_t *)bounce + (size_t)i * stride;
		uint8_t *d;

		if (ctx->fmt.type != PI_TYPE_NONE) {
			ret = pi_verify_block(
				ctx, io, i, s,
				md ? (const uint8_t *)md + (size_t)i * md_size : s + lba_size, err);
			if (ret)
				return ret;
		}
		d = pi_iter_contig(&it, lba_size);
		if (d) {
			memcpy(d, s, lba_size);
			pi_iter_advance(&it, lba_size);
		} else {
			pi_iter_write(&it, s, lba_size);
		}
	}
	return 0;
}
