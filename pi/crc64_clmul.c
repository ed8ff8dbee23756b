/* SPDX-License-Identifier: MIT */
/*
 * crc64_clmul.c - CRC-64/NVME by PCLMULQDQ folding (Intel's "Fast CRC Computation for
 * Generic Polynomials Using PCLMULQDQ", reflected form, as ISA-L's crc64_*_refl_by8).
 *
 * Eight 128-bit accumulators each fold 1024 bits forward per 128-byte step, so eight
 * independent multiply chains keep the PCLMULQDQ unit busy. At the end they are folded into
 * one (distances 896 ... 128 bits), the remaining 16-byte chunks are folded one at a time,
 * and a Barrett reduction yields the register; fewer than 16 trailing bytes go through the
 * table. The initial register is xored into the first 8 message bytes, which is what feeding
 * them to a register holding it does.
 */
#include "pi/crc64_fold.h"

static inline CRC64_FOLD_TARGET __m128i crc64_load(const uint8_t *p)
{
	return _mm_loadu_si128((const __m128i *)p);
}

/* Fold x[0..7] (consecutive 16-byte chunks, x[7] last) into one register. */
static inline CRC64_FOLD_TARGET __m128i crc64_fold_8to1(const __m128i x[8])
{
	__m128i r = x[7];

	r = crc64_fold128(x[0], r, CRC64_FOLD_K(PI_CRC64_X959, PI_CRC64_X895));
	r = crc64_fold128(x[1], r, CRC64_FOLD_K(PI_CRC64_X831, PI_CRC64_X767));
	r = crc64_fold128(x[2], r, CRC64_FOLD_K(PI_CRC64_X703, PI_CRC64_X639));
	r = crc64_fold128(x[3], r, CRC64_FOLD_K(PI_CRC64_X575, PI_CRC64_X511));
	r = crc64_fold128(x[4], r, CRC64_FOLD_K(PI_CRC64_X447, PI_CRC64_X383));
	r = crc64_fold128(x[5], r, CRC64_FOLD_K(PI_CRC64_X319, PI_CRC64_X255));
	r = crc64_fold128(x[6], r, CRC64_FOLD_K(PI_CRC64_X191, PI_CRC64_X127));
	return r;
}

CRC64_FOLD_TARGET uint64_t pi_crc64_update_pclmul(uint64_t state, const uint8_t *p, size_t len)
{
	const __m128i k128 = CRC64_FOLD_K(PI_CRC64_X191, PI_CRC64_X127);
	__m128i r;

	if (len < 16)
		return pi_crc64_update_table(state, p, len);

	r = _mm_xor_si128(crc64_load(p), _mm_cvtsi64_si128((long long)state));
	if (len >= 128) {
		const __m128i k1024 = CRC64_FOLD_K(PI_CRC64_X1087, PI_CRC64_X1023);
		__m128i x[8];

		x[0] = r;
#pragma GCC unroll 8
		for (int i = 1; i < 8; i++)
			x[i] = crc64_load(p + 16 * i);
		p += 128;
		len -= 128;
		/* unrolled so that the eight accumulators live in registers */
		for (; len >= 128; p += 128, len -= 128)
#pragma GCC unroll 8
			for (int i = 0; i < 8; i++)
				x[i] = crc64_fold128(x[i], crc64_load(p + 16 * i), k1024);
		r = crc64_fold_8to1(x);
	} else {
		p += 16;
		len -= 16;
	}
	for (; len >= 16; p += 16, len -= 16)
		r = crc64_fold128(r, crc64_load(p), k128);
	state = crc64_reduce128(r);
	return len ? pi_crc64_update_table(state, p, len) : state;
}
