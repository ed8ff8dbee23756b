/* SPDX-License-Identifier: MIT */
/*
 * crc_copy_vpclmul.c - fused copy + CRC with AVX-512 VPCLMULQDQ (see crc_copy.h).
 *
 * Each 256-byte step loads four zmm registers, stores them to dst unchanged and folds them into
 * four accumulators, exactly as the CRC-only kernels do: the CRC-64/NVME one reflected
 * (crc64_fold.h), the CRC-16/T10-DIF one MSB first, with each 16-byte lane byte-reversed after
 * the store so that bit 127 is the first message bit. The CRC-16 ends with its own reduction:
 * 128 -> 80 -> 64 bits by folding, then a Barrett step to 16 bits.
 */
#include <string.h>

#include "pi/crc64_fold.h"
#include "pi/crc_copy.h"

/* Load 64 bytes, store them to dst, return them. */
static inline CRC64_VP_TARGET __m512i crc_copy_zmm(uint8_t *dst, const uint8_t *src)
{
	__m512i d = _mm512_loadu_si512((const void *)src);

	_mm512_storeu_si512((void *)dst, d);
	return d;
}

CRC64_VP_TARGET uint64_t pi_crc64_nvme_copy_vpclmul(uint64_t crc, uint8_t *dst, const uint8_t *src,
						    size_t len)
{
	const __m512i k2048 = crc64_zk(PI_CRC64_X2111, PI_CRC64_X2047);
	const __m512i k1024 = crc64_zk(PI_CRC64_X1087, PI_CRC64_X1023);
	const __m512i k512 = crc64_zk(PI_CRC64_X575, PI_CRC64_X511);
	__m512i x0, x1, x2, x3;
	size_t off;

	/* the initial register is xored into the first 8 bytes, after they were stored */
	x0 = _mm512_xor_si512(crc_copy_zmm(dst, src),
			      _mm512_maskz_set1_epi64(0x01, (long long)~crc));
	x1 = crc_copy_zmm(dst + 64, src + 64);
	x2 = crc_copy_zmm(dst + 128, src + 128);
	x3 = crc_copy_zmm(dst + 192, src + 192);
	for (off = 256; len - off >= 256; off += 256) {
		x0 = crc64_fold512(x0, crc_copy_zmm(dst + off, src + off), k2048);
		x1 = crc64_fold512(x1, crc_copy_zmm(dst + off + 64, src + off + 64), k2048);
		x2 = crc64_fold512(x2, crc_copy_zmm(dst + off + 128, src + off + 128), k2048);
		x3 = crc64_fold512(x3, crc_copy_zmm(dst + off + 192, src + off + 192), k2048);
	}
	x0 = crc64_fold512(x0, x2, k1024);
	x1 = crc64_fold512(x1, x3, k1024);
	x0 = crc64_fold512(x0, x1, k512);
	for (; off < len; off += 64)
		x0 = crc64_fold512(x0, crc_copy_zmm(dst + off, src + off), k512);
	return ~crc64_reduce128(crc64_fold_lanes(x0));
}

/* Constant pair for an MSB-first fold by D bits: qword 0 (low) x^D, qword 1 (high) x^(D+64). */
static inline CRC64_VP_TARGET __m512i crc16_zk(uint32_t xd, uint32_t xd64)
{
	return _mm512_broadcast_i32x4(_mm_set_epi64x(xd64, xd));
}

static inline CRC64_VP_TARGET __m512i crc16_fold512(__m512i x, __m512i data, __m512i k)
{
	__m512i lo = _mm512_clmulepi64_epi128(x, k, 0x00);
	__m512i hi = _mm512_clmulepi64_epi128(x, k, 0x11);

	return _mm512_ternarylogic_epi64(lo, hi, data, 0x96);
}

/* Copy 64 bytes; return them with each 16-byte lane byte-reversed (MSB-first order). */
static inline CRC64_VP_TARGET __m512i crc16_copy_rev(uint8_t *dst, const uint8_t *src, __m512i rev)
{
	return _mm512_shuffle_epi8(crc_copy_zmm(dst, src), rev);
}

/* Four lanes (lane 0 first) to the 16-bit CRC register: (X * x^16) mod P. */
static inline CRC64_VP_TARGET uint16_t crc16_reduce(__m512i x)
{
	const __m512i k = _mm512_set_epi64(0, 0, PI_CRC16_X192, PI_CRC16_X128, PI_CRC16_X320,
					   PI_CRC16_X256, PI_CRC16_X448, PI_CRC16_X384);
	__m512i lo = _mm512_clmulepi64_epi128(x, k, 0x00);
	__m512i hi = _mm512_clmulepi64_epi128(x, k, 0x11);
	__m512i t = _mm512_ternarylogic_epi64(lo, hi, _mm512_maskz_mov_epi64(0xc0, x), 0x96);
	__m256i y = _mm256_xor_si256(_mm512_castsi512_si256(t), _mm512_extracti64x4_epi64(t, 1));
	__m128i r = _mm_xor_si128(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
	const __m128i k1 = _mm_set_epi64x(PI_CRC16_X64, PI_CRC16_X80);
	const __m128i k2 = _mm_set_epi64x((long long)PI_CRC16_POLY, (long long)PI_CRC16_BARRETT_MU);
	__m128i u, q;

	/* X * x^16 = H * x^80 + L * x^16 == H * (x^80 mod P) + L * x^16: 80 bits */
	r = _mm_xor_si128(_mm_clmulepi64_si128(r, k1, 0x01), _mm_slli_si128(_mm_move_epi64(r), 2));
	/* T1 * x^64 + T0 == T1 * (x^64 mod P) + T0: 64 bits, in the low qword */
	u = _mm_xor_si128(_mm_clmulepi64_si128(r, k1, 0x11), r);
	/* Barrett: q = floor(floor(U / x^16) * MU / x^48), R = U + q * P */
	q = _mm_srli_si128(_mm_clmulepi64_si128(_mm_srli_epi64(u, 16), k2, 0x00), 6);
	u = _mm_xor_si128(u, _mm_clmulepi64_si128(q, k2, 0x10));
	return (uint16_t)_mm_cvtsi128_si32(u);
}

CRC64_VP_TARGET uint16_t pi_crc16_t10dif_copy_vpclmul(uint16_t crc, uint8_t *dst,
						      const uint8_t *src, size_t len)
{
	const __m512i rev = _mm512_broadcast_i32x4(
		_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
	const __m512i k2048 = crc16_zk(PI_CRC16_X2048, PI_CRC16_X2112);
	const __m512i k1024 = crc16_zk(PI_CRC16_X1024, PI_CRC16_X1088);
	const __m512i k512 = crc16_zk(PI_CRC16_X512, PI_CRC16_X576);
	__m512i x0, x1, x2, x3;
	size_t off;

	/* lane 0 holds the first two bytes in bits 127..112: the initial CRC goes there */
	x0 = _mm512_shuffle_epi8(crc_copy_zmm(dst, src), rev);
	x0 = _mm512_xor_si512(x0, _mm512_maskz_set1_epi64(0x02, (long long)((uint64_t)crc << 48)));
	x1 = _mm512_shuffle_epi8(crc_copy_zmm(dst + 64, src + 64), rev);
	x2 = _mm512_shuffle_epi8(crc_copy_zmm(dst + 128, src + 128), rev);
	x3 = _mm512_shuffle_epi8(crc_copy_zmm(dst + 192, src + 192), rev);
	for (off = 256; len - off >= 256; off += 256) {
		x0 = crc16_fold512(x0, crc16_copy_rev(dst + off, src + off, rev), k2048);
		x1 = crc16_fold512(x1, crc16_copy_rev(dst + off + 64, src + off + 64, rev), k2048);
		x2 = crc16_fold512(x2, crc16_copy_rev(dst + off + 128, src + off + 128, rev),
				   k2048);
		x3 = crc16_fold512(x3, crc16_copy_rev(dst + off + 192, src + off + 192, rev),
				   k2048);
	}
	x0 = crc16_fold512(x0, x2, k1024);
	x1 = crc16_fold512(x1, x3, k1024);
	x0 = crc16_fold512(x0, x1, k512);
	for (; off < len; off += 64)
		x0 = crc16_fold512(x0, crc16_copy_rev(dst + off, src + off, rev), k512);
	return crc16_reduce(x0);
}
