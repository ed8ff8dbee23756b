/* SPDX-License-Identifier: MIT */
/*
 * pi_inject.c - seeded error injection for tests (SPDK's spdk_dif_inject_error, without its
 * time(0) seed): flip one bit of the data, guard, app or ref tag of a chosen or random block.
 *
 * The generator is splitmix64 over *seed, so a failing test re-runs identically from the seed
 * it printed. Bit b of a tag is bit b of its value (0 = least significant), which, tags being
 * big-endian, lives in byte (size - 1 - b / 8) of the field; bit b of the data is bit b % 8 of
 * data byte b / 8.
 */
#include <errno.h>

#include "pi/pi_internal.h"

static uint64_t pi_splitmix64(uint64_t *seed)
{
	uint64_t z = (*seed += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Offset of a tag field inside the tuple and its size in bytes. */
static int pi_field_span(const struct pi_ctx *ctx, enum pi_field field, uint32_t *off,
			 uint32_t *size)
{
	bool wide = ctx->fmt.guard == PI_GUARD_64;

	switch (field) {
	case PI_FIELD_GUARD:
		*off = 0;
		*size = wide ? 8 : 2;
		return 0;
	case PI_FIELD_APP:
		*off = wide ? 8 : 2;
		*size = 2;
		return 0;
	case PI_FIELD_REF:
		*off = wide ? 10 : 4;
		*size = wide ? 6 : 4;
		return 0;
	default:
		return -EINVAL;
	}
}

/* Flip bit (bit) of the byte at offset pos of the data iovecs. */
static void pi_iov_flip(const struct iovec *iov, int iovcnt, size_t pos, unsigned int bit)
{
	struct pi_iter it;
	uint8_t byte;

	pi_iter_init(&it, iov, iovcnt);
	pi_iter_advance(&it, pos);
	pi_iter_read(&it, &byte, 1);
	byte ^= (uint8_t)(1u << bit);
	pi_iter_init(&it, iov, iovcnt);
	pi_iter_advance(&it, pos);
	pi_iter_write(&it, &byte, 1);
}

int pi_inject_error(const struct pi_ctx *ctx, const struct iovec *iov, int iovcnt, void *md,
		    uint32_t nblocks, enum pi_field field, int64_t block, uint64_t *seed,
		    struct pi_injection *out)
{
	struct pi_io io = {0};
	uint32_t off = 0, size, bit;
	size_t pos;
	int ret;

	ret = pi_args_check(ctx, iov, iovcnt, md, nblocks, &io, ctx ? ctx->stride : 0);
	if (ret || !seed || block >= (int64_t)nblocks)
		return ret ? ret : -EINVAL;
	if (field == PI_FIELD_DATA) {
		size = ctx->fmt.lba_size;
	} else if (ctx->fmt.type == PI_TYPE_NONE || pi_field_span(ctx, field, &off, &size)) {
		return -EINVAL;
	}
	if (block < 0)
		block = (int64_t)(pi_splitmix64(seed) % nblocks);
	bit = (uint32_t)(pi_splitmix64(seed) % (size * 8));

	pos = (size_t)block * ctx->stride;
	if (field == PI_FIELD_DATA) {
		pi_iov_flip(iov, iovcnt, pos + bit / 8, bit % 8);
	} else if (ctx->fmt.layout == PI_MD_SEPARATE) {
		uint8_t *t = (uint8_t *)md + (size_t)block * ctx->fmt.md_size + ctx->pi_offset;

		t[off + size - 1 - bit / 8] ^= (uint8_t)(1u << (bit % 8));
	} else {
		pos += ctx->fmt.lba_size + ctx->pi_offset + off + size - 1 - bit / 8;
		pi_iov_flip(iov, iovcnt, pos, bit % 8);
	}
	if (out) {
		out->block = (uint32_t)block;
		out->field = field;
		out->bit = bit;
	}
	return 0;
}
