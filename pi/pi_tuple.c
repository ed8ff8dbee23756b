/* SPDX-License-Identifier: MIT */
/*
 * pi_tuple.c - PI tuples: big-endian encoding, the values generate writes, and the checks
 * verify makes on one tuple (SPDK's _dif_generate / _dif_verify for one block).
 *
 * 16-bit guard (8 bytes):  guard be16 | app be16 | ref be32
 * 64-bit guard (16 bytes): guard be64 | app be16 | ref be48
 *
 * Ref tags: types 1 and 2 store io->ref_tag + block index, type 3 stores io->ref_tag for every
 * block; all of it modulo 2^32 or 2^48, so a run may wrap. Escapes (checked before anything
 * else, whatever the check flags): types 1/2 skip a block whose app tag is 0xFFFF; type 3 one
 * whose app tag is 0xFFFF and ref tag all ones. The app tag is compared under the mask on both
 * sides (the bug SPDK fixed in b648aca5b4). Errors report expected = what should be stored
 * (the computed guard, the caller's app tag, the expected ref tag) and found = what is.
 */
#include <errno.h>

#include "pi/pi_internal.h"

static inline uint16_t pi_load_be16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return __builtin_bswap16(v);
}

static inline uint32_t pi_load_be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return __builtin_bswap32(v);
}

static inline uint64_t pi_load_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return __builtin_bswap64(v);
}

static inline void pi_store_be16(uint8_t *p, uint16_t v)
{
	v = __builtin_bswap16(v);
	memcpy(p, &v, 2);
}

static inline void pi_store_be32(uint8_t *p, uint32_t v)
{
	v = __builtin_bswap32(v);
	memcpy(p, &v, 4);
}

static inline void pi_store_be64(uint8_t *p, uint64_t v)
{
	v = __builtin_bswap64(v);
	memcpy(p, &v, 8);
}

void pi_tuple_load(const struct pi_ctx *ctx, const uint8_t *p, struct pi_tuple *t)
{
	if (ctx->fmt.guard == PI_GUARD_64) {
		t->guard = pi_load_be64(p);
		t->app = pi_load_be16(p + 8);
		t->ref = (uint64_t)pi_load_be16(p + 10) << 32 | pi_load_be32(p + 12);
	} else {
		t->guard = pi_load_be16(p);
		t->app = pi_load_be16(p + 2);
		t->ref = pi_load_be32(p + 4);
	}
}

void pi_tuple_store(const struct pi_ctx *ctx, uint8_t *p, const struct pi_tuple *t)
{
	if (ctx->fmt.guard == PI_GUARD_64) {
		pi_store_be64(p, t->guard);
		pi_store_be16(p + 8, t->app);
		pi_store_be16(p + 10, (uint16_t)(t->ref >> 32));
		pi_store_be32(p + 12, (uint32_t)t->ref);
	} else {
		pi_store_be16(p, (uint16_t)t->guard);
		pi_store_be16(p + 2, t->app);
		pi_store_be32(p + 4, (uint32_t)t->ref);
	}
}

static uint64_t pi_expected_ref(const struct pi_ctx *ctx, const struct pi_io *io, uint32_t block)
{
	if (ctx->fmt.type == PI_TYPE_3)
		return io->ref_tag & ctx->ref_mask;
	return (io->ref_tag + block) & ctx->ref_mask;
}

void pi_tuple_make(const struct pi_ctx *ctx, const struct pi_io *io, uint32_t block, uint64_t guard,
		   struct pi_tuple *t)
{
	t->guard = guard;
	t->app = io->app_tag;
	t->ref = pi_expected_ref(ctx, io, block);
}

bool pi_tuple_is_escape(const struct pi_ctx *ctx, const struct pi_tuple *t)
{
	if (t->app != PI_APP_ESCAPE)
		return false;
	return ctx->fmt.type != PI_TYPE_3 || t->ref == ctx->ref_mask;
}

static int pi_fail(const struct pi_io *io, uint32_t block, enum pi_tag tag, uint64_t expected,
		   uint64_t found, struct pi_error *err)
{
	if (err) {
		err->block = block;
		err->lba = io->lba + block;
		err->tag = tag;
		err->expected = expected;
		err->found = found;
	}
	return -EIO;
}

int pi_tuple_check(const struct pi_ctx *ctx, const struct pi_io *io, uint32_t block, uint64_t guard,
		   const struct pi_tuple *t, struct pi_error *err)
{
	uint64_t ref;

	if (pi_tuple_is_escape(ctx, t))
		return 0;
	if ((io->checks & PI_CHECK_GUARD) && t->guard != guard)
		return pi_fail(io, block, PI_TAG_GUARD, guard, t->guard, err);
	if ((io->checks & PI_CHECK_APP) && (t->app & io->app_mask) != (io->app_tag & io->app_mask))
		return pi_fail(io, block, PI_TAG_APP, io->app_tag, t->app, err);
	if ((io->checks & PI_CHECK_REF) && ctx->fmt.type != PI_TYPE_3) {
		ref = pi_expected_ref(ctx, io, block);
		if (t->ref != ref)
			return pi_fail(io, block, PI_TAG_REF, ref, t->ref, err);
	}
	return 0;
}
