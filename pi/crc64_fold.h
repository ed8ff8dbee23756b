/* SPDX-License-Identifier: MIT */
/*
 * crc64_fold.h - 128-bit folding steps shared by the PCLMULQDQ and VPCLMULQDQ kernels.
 *
 * A 128-bit register X holds 16 message bytes; its low qword (the first 8 bytes) carries the
 * higher-degree half of the polynomial, as the reflected CRC reads bytes LSB first. Moving X
 * forward by D bits multiplies the low qword by x^(D+63) mod P and the high qword by
 * x^(D-1) mod P (constant pair {lo, hi}, see crc64.h) and xors both products into the data D
 * bits further on. crc64_reduce128() turns the last register into the 64-bit CRC register:
 * (X * x^64) mod P, by one more fold and a Barrett reduction.
 */
#ifndef GUARDFS_PI_CRC64_FOLD_H
#define GUARDFS_PI_CRC64_FOLD_H

#include <immintrin.h>
#include <stdint.h>

#include "pi/crc64.h"

#define CRC64_FOLD_TARGET __attribute__((target("pclmul,sse4.1")))

/* Constant pair for fold distance D, as one 128-bit register: lo = x^(D+63), hi = x^(D-1). */
#define CRC64_FOLD_K(xd63, xd1) _mm_set_epi64x((long long)(xd1), (long long)(xd63))

static inline CRC64_FOLD_TARGET __m128i crc64_fold128(__m128i x, __m128i data, __m128i k)
{
	__m128i lo = _mm_clmulepi64_si128(x, k, 0x00);
	__m128i hi = _mm_clmulepi64_si128(x, k, 0x11);

	return _mm_xor_si128(_mm_xor_si128(lo, hi), data);
}

static inline CRC64_FOLD_TARGET uint64_t crc64_reduce128(__m128i x)
{
	const __m128i k127 = _mm_set_epi64x(0, (long long)PI_CRC64_X127);
	const __m128i kb =
		_mm_set_epi64x((long long)PI_CRC64_BARRETT_P1, (long long)PI_CRC64_BARRETT_MU);
	__m128i t, q, r;

	/* T = X * x^64: the first qword times x^128 (as x^127 plus the clmul shift), the second
	 * qword moves to the low-degree end. */
	t = _mm_xor_si128(_mm_clmulepi64_si128(x, k127, 0x00), _mm_srli_si128(x, 8));
	/* q = floor(T_hi * MU / x^63); then R = T + q * P, whose low 64 degrees cancel. */
	q = _mm_clmulepi64_si128(t, kb, 0x00);
	r = _mm_clmulepi64_si128(q, kb, 0x10);
	r = _mm_xor_si128(_mm_xor_si128(r, _mm_slli_si128(q, 8)), t);
	return (uint64_t)_mm_extract_epi64(r, 1);
}

/* The same steps on four lanes at once (AVX-512 VPCLMULQDQ). */
#define CRC64_VP_TARGET                                                                            \
	__attribute__((target("avx512f,avx512bw,avx512vl,vpclmulqdq,pclmul,sse4.1")))

static inline CRC64_VP_TARGET __m512i crc64_zload(const uint8_t *p)
{
	return _mm512_loadu_si512((const void *)p);
}

static inline CRC64_VP_TARGET __m512i crc64_zk(uint64_t xd63, uint64_t xd1)
{
	return _mm512_broadcast_i32x4(CRC64_FOLD_K(xd63, xd1));
}

static inline CRC64_VP_TARGET __m512i crc64_fold512(__m512i x, __m512i data, __m512i k)
{
	__m512i lo = _mm512_clmulepi64_epi128(x, k, 0x00);
	__m512i hi = _mm512_clmulepi64_epi128(x, k, 0x11);

	return _mm512_ternarylogic_epi64(lo, hi, data, 0x96); /* lo ^ hi ^ data */
}

/* Fold the four lanes of x (lane 0 first in the message) into one 128-bit register. */
static inline CRC64_VP_TARGET __m128i crc64_fold_lanes(__m512i x)
{
	const __m512i k = _mm512_set_epi64(0, 0, (long long)PI_CRC64_X127, (long long)PI_CRC64_X191,
					   (long long)PI_CRC64_X255, (long long)PI_CRC64_X319,
					   (long long)PI_CRC64_X383, (long long)PI_CRC64_X447);
	__m512i lo = _mm512_clmulepi64_epi128(x, k, 0x00);
	__m512i hi = _mm512_clmulepi64_epi128(x, k, 0x11);
	/* lanes 0..2 are moved forward onto lane 3, which is taken as it is */
	__m512i t = _mm512_ternarylogic_epi64(lo, hi, _mm512_maskz_mov_epi64(0xc0, x), 0x96);
	__m256i y = _mm256_xor_si256(_mm512_castsi512_si256(t), _mm512_extracti64x4_epi64(t, 1));

	return _mm_xor_si128(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
}

#endif /* GUARDFS_PI_CRC64_FOLD_H */
