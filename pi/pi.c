/* SPDX-License-Identifier: MIT */
/*
 * pi.c - PI context, argument checks, and generate / verify over a run of blocks
 * (SPDK's spdk_dif_ctx_init, spdk_dif_generate/verify and spdk_dix_generate/verify in one).
 *
 * A block is lba_size data bytes followed, when interleaved, by md_size metadata bytes in the
 * same iovecs; when separate, its metadata is md + block * md_size. The guard covers the data
 * and, with PI last, the metadata bytes before the tuple. Blocks inside one iovec take the
 * fast path below; a block that straddles iovecs goes to pi_split.c. Nothing is read or
 * written before every argument has been checked: a refused call leaves the buffers alone.
 */
#include <errno.h>
#include <stdio.h>

#include "pi/pi_internal.h"

int pi_ctx_init(struct pi_ctx *ctx, const struct pi_format *fmt)
{
	if (!ctx || !fmt)
		return -EINVAL;
	if (fmt->lba_size != 512 && fmt->lba_size != 4096)
		return -EINVAL;
	if (fmt->guard != PI_GUARD_16 && fmt->guard != PI_GUARD_64)
		return -EINVAL;
	if (fmt->layout != PI_MD_SEPARATE && fmt->layout != PI_MD_INTERLEAVED)
		return -EINVAL;
	if ((unsigned int)fmt->type > PI_TYPE_3)
		return -EINVAL;
	/* NVMe's LBA format holds the metadata size in 16 bits. */
	if (fmt->md_size > UINT16_MAX)
		return -EINVAL;
	/*
	 * Unlike SPDK, a 64-bit guard is allowed with 512-byte blocks: the NVM Command Set, QEMU
	 * (pif=2) and Linux (ext_pi) all accept it; SPDK's 4096 rule is its own limitation.
	 */
	if (fmt->type != PI_TYPE_NONE && fmt->md_size < pi_tuple_size(fmt->guard))
		return -EINVAL;

	memset(ctx, 0, sizeof(*ctx));
	ctx->fmt = *fmt;
	if (fmt->type != PI_TYPE_NONE) {
		ctx->tuple_size = pi_tuple_size(fmt->guard);
		ctx->pi_offset = fmt->pi_first ? 0 : fmt->md_size - ctx->tuple_size;
		ctx->guard_md_len = ctx->pi_offset;
	}
	ctx->stride = fmt->lba_size + (fmt->layout == PI_MD_INTERLEAVED ? fmt->md_size : 0);
	ctx->ref_mask = fmt->guard == PI_GUARD_64 ? (1ULL << 48) - 1 : (1ULL << 32) - 1;
	return 0;
}

void pi_error_describe(const struct pi_error *err, char *out, size_t len)
{
	snprintf(out, len, "PI %s check failed (expected 0x%llx, found 0x%llx)",
		 pi_tag_name(err->tag), (unsigned long long)err->expected,
		 (unsigned long long)err->found);
}

const char *pi_tag_name(enum pi_tag tag)
{
	switch (tag) {
	case PI_TAG_GUARD:
		return "guard";
	case PI_TAG_APP:
		return "app";
	case PI_TAG_REF:
		return "ref";
	default:
		return "none";
	}
}

static bool pi_ctx_is_valid(const struct pi_ctx *ctx)
{
	struct pi_ctx check;

	/* A context pi_ctx_init did not build (zeroed, stale, scribbled) is refused. */
	if (!ctx || pi_ctx_init(&check, &ctx->fmt))
		return false;
	return check.tuple_size == ctx->tuple_size && check.pi_offset == ctx->pi_offset &&
	       check.guard_md_len == ctx->guard_md_len && check.stride == ctx->stride &&
	       check.ref_mask == ctx->ref_mask;
}

int pi_args_check(const struct pi_ctx *ctx, const struct iovec *iov, int iovcnt, const void *md,
		  uint32_t nblocks, const struct pi_io *io, size_t iov_stride)
{
	size_t need, have = 0;
	bool md_used;

	if (!pi_ctx_is_valid(ctx) || !io || nblocks == 0 || iovcnt < 0 || (iovcnt && !iov))
		return -EINVAL;
	md_used = ctx->fmt.layout == PI_MD_SEPARATE && ctx->fmt.type != PI_TYPE_NONE;
	if (ctx->fmt.layout == PI_MD_INTERLEAVED && md)
		return -EINVAL;
	if (md_used && !md)
		return -EINVAL;
	need = (size_t)nblocks * iov_stride;
	for (int i = 0; i < iovcnt && have < need; i++) {
		if (iov[i].iov_len && !iov[i].iov_base)
			return -EINVAL;
		have += iov[i].iov_len;
	}
	return have < need ? -EINVAL : 0;
}

void pi_generate_tuple(const struct pi_ctx *ctx, const struct pi_io *io, uint32_t block,
		       uint64_t guard, uint8_t *md_blk)
{
	struct pi_tuple t;

	if (ctx->guard_md_len)
		guard = pi_guard_update(ctx, guard, md_blk, ctx->guard_md_len);
	pi_tuple_make(ctx, io, block, guard, &t);
	pi_tuple_store(ctx, md_blk + ctx->pi_offset, &t);
}

void pi_generate_block(const struct pi_ctx *ctx, const struct pi_io *io, uint32_t block,
		       const uint8_t *data, uint8_t *md_blk)
{
	uint32_t lba_size = ctx->fmt.lba_size;
	struct pi_tuple t;

	if (md_blk == data + lba_size) { /* interleaved: one CRC call over data and md prefix */
		pi_tuple_make(ctx, io, block,
			      pi_guard_update(ctx, 0, data, lba_size + ctx->guard_md_len), &t);
		pi_tuple_store(ctx, md_blk + ctx->pi_offset, &t);
		return;
	}
	pi_generate_tuple(ctx, io, block, pi_guard_update(ctx, 0, data, lba_size), md_blk);
}

int pi_verify_block(const struct pi_ctx *ctx, const struct pi_io *io, uint32_t block,
		    const uint8_t *data, const uint8_t *md_blk, struct pi_error *err)
{
	uint32_t lba_size = ctx->fmt.lba_size;
	struct pi_tuple t;
	uint64_t guard = 0;

	pi_tuple_load(ctx, md_blk + ctx->pi_offset, &t);
	/* An escaped block, or one whose guard is not checked, costs no CRC. */
	if ((io->checks & PI_CHECK_GUARD) && !pi_tuple_is_escape(ctx, &t)) {
		if (md_blk == data + lba_size) {
			guard = pi_guard_update(ctx, 0, data, lba_size + ctx->guard_md_len);
		} else {
			guard = pi_guard_update(ctx, 0, data, lba_size);
			if (ctx->guard_md_len)
				guard = pi_guard_update(ctx, guard, md_blk, ctx->guard_md_len);
		}
	}
	return pi_tuple_check(ctx, io, block, guard, &t, err);
}

int pi_generate(const struct pi_ctx *ctx, const struct iovec *iov, int iovcnt, void *md,
		uint32_t nblocks, const struct pi_io *io)
{
	uint32_t stride, md_size;
	struct pi_iter it;
	uint8_t *p;
	int ret;

	ret = pi_args_check(ctx, iov, iovcnt, md, nblocks, io, ctx ? ctx->stride : 0);
	if (ret || ctx->fmt.type == PI_TYPE_NONE)
		return ret;
	stride = ctx->stride;
	md_size = ctx->fmt.md_size;
	pi_iter_init(&it, iov, iovcnt);
	for (uint32_t i = 0; i < nblocks; i++) {
		uint8_t *md_blk = md ? (uint8_t *)md + (size_t)i * md_size : NULL;

		p = pi_iter_contig(&it, stride);
		if (!p) {
			pi_generate_split_block(ctx, io, i, &it, md_blk);
			continue;
		}
		pi_generate_block(ctx, io, i, p, md_blk ? md_blk : p + ctx->fmt.lba_size);
		pi_iter_advance(&it, stride);
	}
	return 0;
}

int pi_verify(const struct pi_ctx *ctx, const struct iovec *iov, int iovcnt, const void *md,
	      uint32_t nblocks, const struct pi_io *io, struct pi_error *err)
{
	uint32_t stride, md_size;
	struct pi_iter it;
	uint8_t *p;
	int ret;

	ret = pi_args_check(ctx, iov, iovcnt, md, nblocks, io, ctx ? ctx->stride : 0);
	if (ret || ctx->fmt.type == PI_TYPE_NONE)
		return ret;
	stride = ctx->stride;
	md_size = ctx->fmt.md_size;
	pi_iter_init(&it, iov, iovcnt);
	for (uint32_t i = 0; i < nblocks; i++) {
		const uint8_t *md_blk = md ? (const uint8_t *)md + (size_t)i * md_size : NULL;

		p = pi_iter_contig(&it, stride);
		if (!p) {
			ret = pi_verify_split_block(ctx, io, i, &it, md_blk, err);
		} else {
			ret = pi_verify_block(ctx, io, i, p,
					      md_blk ? md_blk : p + ctx->fmt.lba_size, err);
			pi_iter_advance(&it, stride);
		}
		if (ret)
			return ret;
	}
	return 0;
}
