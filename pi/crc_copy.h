/* SPDX-License-Identifier: MIT */
/*
 * crc_copy.h - copy a buffer and return the CRC of what was written, in one pass.
 *
 * The write bounce (pi_copy_generate) copies a block and guards the copy. Done as memcpy then
 * CRC, the CRC reads the block a second time; from DRAM that serialises the CRC behind the
 * copy. These kernels load each 64 bytes once, store them, and fold the same registers into
 * the CRC, so the result is the CRC of exactly the bytes stored (a source that changes under
 * the copy cannot make guard and copy disagree). With AVX-512 VPCLMULQDQ they run the fused
 * loop (crc_copy_vpclmul.c); elsewhere, and for the last bytes past a multiple of 64, they
 * fall back to memcpy then CRC. ISA-L's crc16_t10dif_copy is fused too, but measured 3x
 * slower than memcpy + crc16_t10dif in cache on this machine (docs/PERFORMANCE.md).
 *
 * Both chain like pi_crc16_t10dif / pi_crc64_nvme. dst and src must not overlap.
 */
#ifndef GUARDFS_PI_CRC_COPY_H
#define GUARDFS_PI_CRC_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint16_t pi_crc16_t10dif_copy(uint16_t crc, void *dst, const void *src, size_t len);
uint64_t pi_crc64_nvme_copy(uint64_t crc, void *dst, const void *src, size_t len);

/* Whether the fused kernels run on this CPU (else the functions above copy then CRC). */
bool pi_crc_copy_is_fused(void);

/* The fused kernels: len a multiple of 64, at least 256; the CPU must have VPCLMULQDQ. */
uint16_t pi_crc16_t10dif_copy_vpclmul(uint16_t crc, uint8_t *dst, const uint8_t *src, size_t len);
uint64_t pi_crc64_nvme_copy_vpclmul(uint64_t crc, uint8_t *dst, const uint8_t *src, size_t len);

/*
 * CRC-16/T10-DIF folding constants: x^n mod P for P = 0x18BB7, not reflected (bit i is the
 * coefficient of x^i). The CRC is MSB first, so each 16-byte lane is byte-reversed into a
 * register whose bit 127 is the first bit; folding a lane by D bits multiplies its high qword
 * by x^(D+64) mod P and its low qword by x^D mod P, with no shift to correct. tests/pi
 * recomputes them bit by bit.
 */
#define PI_CRC16_X64   0xf249U
#define PI_CRC16_X80   0x2d56U
#define PI_CRC16_X128  0xa010U
#define PI_CRC16_X192  0x1faaU
#define PI_CRC16_X256  0x857dU
#define PI_CRC16_X320  0x7accU
#define PI_CRC16_X384  0x84daU
#define PI_CRC16_X448  0x4a84U
#define PI_CRC16_X512  0x1069U
#define PI_CRC16_X576  0xdd31U
#define PI_CRC16_X1024 0x6123U
#define PI_CRC16_X1088 0x2295U
#define PI_CRC16_X2048 0x22c6U
#define PI_CRC16_X2112 0x9f16U
/* floor(x^64 / P), 49 bits: the Barrett constant of the last 64 -> 16 bit step. */
#define PI_CRC16_BARRETT_MU 0x1f65a57f81d33ULL
#define PI_CRC16_POLY	    0x18BB7ULL

#endif /* GUARDFS_PI_CRC_COPY_H */
