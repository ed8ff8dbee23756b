/* SPDX-License-Identifier: MIT */
/*
 * crc_copy.c - copy + CRC entry points: the fused VPCLMULQDQ kernels where the CPU has them
 * (for the part of the buffer that is a multiple of 64 bytes, from 256 bytes up), memcpy then
 * CRC for the rest and on other CPUs. The CRC of the tail is taken over dst, the copy.
 */
#include <string.h>

#include "pi/crc64.h"
#include "pi/crc_copy.h"
#include "pi/pi.h"

/* 0: not known yet, 1: fused, 2: copy then CRC. Computing it twice is harmless. */
static int crc_copy_mode;

bool pi_crc_copy_is_fused(void)
{
	int mode = __atomic_load_n(&crc_copy_mode, __ATOMIC_RELAXED);

	if (!mode) {
		/* the fused kernels need exactly what the VPCLMULQDQ CRC-64 kernel needs */
		mode = pi_crc64_impl_best() == PI_CRC64_VPCLMUL ? 1 : 2;
		__atomic_store_n(&crc_copy_mode, mode, __ATOMIC_RELAXED);
	}
	return mode == 1;
}

static size_t crc_copy_fused_len(size_t len)
{
	return len >= 256 && pi_crc_copy_is_fused() ? len & ~(size_t)63 : 0;
}

uint16_t pi_crc16_t10dif_copy(uint16_t crc, void *dst, const void *src, size_t len)
{
	size_t n = crc_copy_fused_len(len);

	if (n)
		crc = pi_crc16_t10dif_copy_vpclmul(crc, dst, src, n);
	if (n == len)
		return crc;
	memcpy((uint8_t *)dst + n, (const uint8_t *)src + n, len - n);
	return pi_crc16_t10dif(crc, (uint8_t *)dst + n, len - n);
}

uint64_t pi_crc64_nvme_copy(uint64_t crc, void *dst, const void *src, size_t len)
{
	size_t n = crc_copy_fused_len(len);

	if (n)
		crc = pi_crc64_nvme_copy_vpclmul(crc, dst, src, n);
	if (n == len)
		return crc;
	memcpy((uint8_t *)dst + n, (const uint8_t *)src + n, len - n);
	return pi_crc64_nvme(crc, (uint8_t *)dst + n, len - n);
}
