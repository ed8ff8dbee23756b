/* SPDX-License-Identifier: MIT */
/*
 * crc64.h - CRC-64/NVME implementations, for the tests and the benchmark.
 *
 * pi_crc64_nvme() (pi.h) runs the fastest implementation this CPU has. This header names each
 * implementation so that tests can hold every one of them to the table version and the
 * benchmark can time them side by side. All of them give identical results.
 *
 * The "update" kernels work on the raw CRC register (no init, no final xor): the public value
 * is ~update(~crc, buf, len). They also share the folding constants below: bit-reflected
 * x^n mod P for the reflected polynomial P = 0x9A6C9329AC4BC9B5 (normal 0xAD93D23594C93659),
 * where bit i of a constant is the coefficient of x^(63 - i). Folding a 128-bit chunk forward by
 * D bits multiplies its first 8 bytes by x^(D+63) mod P and its last 8 bytes by x^(D-1) mod P;
 * the "- 1" absorbs the one-bit shift a carry-less multiply of two reflected operands
 * introduces. tests/pi recomputes every constant bit by bit from P.
 */
#ifndef GUARDFS_PI_CRC64_H
#define GUARDFS_PI_CRC64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pi_crc64_impl {
	PI_CRC64_TABLE = 0,   /* slice-by-8 tables: any CPU */
	PI_CRC64_PCLMUL = 1,  /* PCLMULQDQ, 8 x 128-bit folding */
	PI_CRC64_VPCLMUL = 2, /* AVX-512 VPCLMULQDQ, 4 x 512-bit folding */
	PI_CRC64_NR_IMPLS = 3,
};

bool pi_crc64_impl_available(enum pi_crc64_impl impl);
const char *pi_crc64_impl_name(enum pi_crc64_impl impl);
/*
 * The implementation pi_crc64_nvme() uses: the best available, or no better than the one the
 * environment variable GUARDFS_PI_CRC64 names ("table", "pclmul"), read once. The fused
 * copy+CRC kernels (crc_copy.h) follow: they run only when this is "vpclmul".
 */
enum pi_crc64_impl pi_crc64_impl_best(void);
/* pi_crc64_nvme() through one implementation; one the CPU lacks runs the table instead. */
uint64_t pi_crc64_nvme_impl(enum pi_crc64_impl impl, uint64_t crc, const void *buf, size_t len);

/* Raw-register kernels (internal to pi/). */
uint64_t pi_crc64_update_table(uint64_t state, const uint8_t *p, size_t len);
uint64_t pi_crc64_update_pclmul(uint64_t state, const uint8_t *p, size_t len);
uint64_t pi_crc64_update_vpclmul(uint64_t state, const uint8_t *p, size_t len);

/* Bit-reflected x^n mod P: the fold constants (pairs x^(D+63), x^(D-1) for fold distance D). */
#define PI_CRC64_X127  0x21e9761e252621acULL
#define PI_CRC64_X191  0xeadc41fd2ba3d420ULL
#define PI_CRC64_X255  0xe1e0bb9d45d7a44cULL
#define PI_CRC64_X319  0xb0bc2e589204f500ULL
#define PI_CRC64_X383  0xa3ffdc1fe8e82a8bULL
#define PI_CRC64_X447  0xbdd7ac0ee1a4a0f0ULL
#define PI_CRC64_X511  0x62242240ace5045aULL
#define PI_CRC64_X575  0x0c32cdb31e18a84aULL
#define PI_CRC64_X639  0x03363823e6e791e5ULL
#define PI_CRC64_X703  0x7b0ab10dd0f809feULL
#define PI_CRC64_X767  0x34f5a24e22d66e90ULL
#define PI_CRC64_X831  0x3c255f5ebc414423ULL
#define PI_CRC64_X895  0x946588403d4adcbcULL
#define PI_CRC64_X959  0xd083dd594d96319dULL
#define PI_CRC64_X1023 0x5f852fb61e8d92dcULL
#define PI_CRC64_X1087 0xa1ca681e733f9c40ULL
#define PI_CRC64_X2047 0xa043808c0f782663ULL
#define PI_CRC64_X2111 0x37ccd3e14069cabcULL

/*
 * Barrett reduction of a 128-bit remainder T (degree < 128) to T mod P:
 *  MU = floor(x^127 / P), degree 63, so it fits 64 bits: q = floor(T_hi * MU / x^63) is the
 *       exact quotient because deg(T_hi) <= 63 (Barrett over GF(2) is exact when the dropped
 *       precision does not exceed the constant's; the reflected multiply supplies the x).
 *  P1 = (P + 1) / x in reflected form, i.e. the 65-bit reflected P without its x^0 term:
 *       q * P = clmul(q, P1) + q, which avoids a 65-bit operand.
 */
#define PI_CRC64_BARRETT_MU 0x27ecfa329aef9f77ULL
#define PI_CRC64_BARRETT_P1 0x34d926535897936bULL

#endif /* GUARDFS_PI_CRC64_H */
