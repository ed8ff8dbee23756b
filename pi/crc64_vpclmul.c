/* SPDX-License-Identifier: MIT */
/*
 * crc64_vpclmul.c - CRC-64/NVME by AVX-512 VPCLMULQDQ folding.
 *
 * The same folding as crc64_clmul.c, four 128-bit lanes per 512-bit register: four zmm
 * accumulators (sixteen lanes, 256 bytes) each fold 2048 bits forward per step. They are
 * combined pairwise (1024, then 512 bits), 64-byte chunks are folded at 512 bits, the four
 * lanes of the last register are folded into one (384, 256, 128 bits), and the 128-bit tail
 * and the reduction are the PCLMULQDQ ones. Shorter than 64 bytes: the PCLMULQDQ kernel.
 */
#include "pi/crc64_fold.h"

CRC64_VP_TARGET uint64_t pi_crc64_update_vpclmul(uint64_t state, const uint8_t *p, size_t len)
{
	const __m128i k128 = CRC64_FOLD_K(PI_CRC64_X191, PI_CRC64_X127);
	const __m512i k512 = crc64_zk(PI_CRC64_X575, PI_CRC64_X511);
	__m512i x0;
	__m128i r;

	if (len < 64)
		return pi_crc64_update_pclmul(state, p, len);

	x0 = _mm512_xor_si512(crc64_zload(p), _mm512_maskz_set1_epi64(0x01, (long long)state));
	if (len >= 256) {
		const __m512i k2048 = crc64_zk(PI_CRC64_X2111, PI_CRC64_X2047);
		const __m512i k1024 = crc64_zk(PI_CRC64_X1087, PI_CRC64_X1023);
		__m512i x1 = crc64_zload(p + 64), x2 = crc64_zload(p + 128);
		__m512i x3 = crc64_zload(p + 192);

		for (p += 256, len -= 256; len >= 256; p += 256, len -= 256) {
			x0 = crc64_fold512(x0, crc64_zload(p), k2048);
			x1 = crc64_fold512(x1, crc64_zload(p + 64), k2048);
			x2 = crc64_fold512(x2, crc64_zload(p + 128), k2048);
			x3 = crc64_fold512(x3, crc64_zload(p + 192), k2048);
		}
		x0 = crc64_fold512(x0, x2, k1024);
		x1 = crc64_fold512(x1, x3, k1024);
		x0 = crc64_fold512(x0, x1, k512);
	} else {
		p += 64;
		len -= 64;
	}
	for (; len >= 64; p += 64, len -= 64)
		x0 = crc64_fold512(x0, crc64_zload(p), k512);
	r = crc64_fold_lanes(x0);
	for (; len >= 16; p += 16, len -= 16)
		r = crc64_fold128(r, _mm_loadu_si128((const __m128i *)p), k128);
	state = crc64_reduce128(r);
	return len ? pi_crc64_update_table(state, p, len) : state;
}
