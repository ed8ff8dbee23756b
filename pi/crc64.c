/* SPDX-License-Identifier: MIT */
/*
 * crc64.c - CRC-64/NVME: the table fallback and run-time selection.
 *
 * CRC-64/NVME is the reflected CRC with P = 0x9A6C9329AC4BC9B5, init and xorout all ones
 * (check value 0xAE8B14860A799888). Debian 12's ISA-L (2.30) predates its crc64_rocksoft, so
 * the library carries three implementations that must agree bit for bit:
 *  - slice-by-8 tables (here): any CPU, and the tail (< 16 bytes) of the folding kernels;
 *  - PCLMULQDQ folding (crc64_clmul.c);
 *  - AVX-512 VPCLMULQDQ folding (crc64_vpclmul.c).
 * The best available one is chosen once, on first use (the dispatch pointer starts at a
 * resolver), from CPUID through gcc's __builtin_cpu_supports, which also checks that the OS
 * saves the AVX-512 state.
 *
 * The kernels work on the raw register: pi_crc64_nvme(crc, ...) = ~update(~crc, ...), so a
 * previous result chains straight into the next call.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pi/crc64.h"
#include "pi/pi.h"

#define CRC64_NVME_POLY_REFL 0x9A6C9329AC4BC9B5ULL

typedef uint64_t (*crc64_update_fn)(uint64_t state, const uint8_t *p, size_t len);

/* crc64_table[k][b]: the register after byte b followed by k zero bytes (slice-by-8). */
static uint64_t crc64_table[8][256];
static uint64_t crc64_update_resolve(uint64_t state, const uint8_t *p, size_t len);
/* Starts at the resolver; after the first call it points at the chosen kernel. */
static crc64_update_fn crc64_update_best = crc64_update_resolve;
static bool crc64_available[PI_CRC64_NR_IMPLS];
static enum pi_crc64_impl crc64_impl_best;
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

static void crc64_build_tables(void)
{
	for (unsigned int b = 0; b < 256; b++) {
		uint64_t r = b;

		for (int i = 0; i < 8; i++)
			r = (r >> 1) ^ ((r & 1) ? CRC64_NVME_POLY_REFL : 0);
		crc64_table[0][b] = r;
	}
	for (int k = 1; k < 8; k++)
		for (unsigned int b = 0; b < 256; b++) {
			uint64_t r = crc64_table[k - 1][b];

			crc64_table[k][b] = (r >> 8) ^ crc64_table[0][r & 0xff];
		}
}

static bool crc64_cpu_has(enum pi_crc64_impl impl)
{
	__builtin_cpu_init();
	switch (impl) {
	case PI_CRC64_TABLE:
		return true;
	case PI_CRC64_PCLMUL:
		return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
	case PI_CRC64_VPCLMUL:
		return __builtin_cpu_supports("vpclmulqdq") && __builtin_cpu_supports("pclmul") &&
		       __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		       __builtin_cpu_supports("avx512vl");
	default:
		return false;
	}
}

static const crc64_update_fn crc64_updates[PI_CRC64_NR_IMPLS] = {
	[PI_CRC64_TABLE] = pi_crc64_update_table,
	[PI_CRC64_PCLMUL] = pi_crc64_update_pclmul,
	[PI_CRC64_VPCLMUL] = pi_crc64_update_vpclmul,
};

/* GUARDFS_PI_CRC64=table|pclmul caps the choice, so tests can run the fallbacks here too. */
static int crc64_impl_cap(void)
{
	const char *cap = getenv("GUARDFS_PI_CRC64");

	for (int i = 0; cap && i < PI_CRC64_NR_IMPLS; i++)
		if (!strcmp(cap, pi_crc64_impl_name(i)))
			return i;
	return PI_CRC64_NR_IMPLS - 1;
}

static void crc64_init(void)
{
	int cap = crc64_impl_cap();

	crc64_build_tables();
	crc64_impl_best = PI_CRC64_TABLE;
	for (int i = 0; i < PI_CRC64_NR_IMPLS; i++) {
		crc64_available[i] = crc64_cpu_has(i);
		if (crc64_available[i] && i <= cap)
			crc64_impl_best = i;
	}
	/* release: whoever sees the kernel also sees the tables it uses */
	__atomic_store_n(&crc64_update_best, crc64_updates[crc64_impl_best], __ATOMIC_RELEASE);
}

static uint64_t crc64_update_resolve(uint64_t state, const uint8_t *p, size_t len)
{
	pthread_once(&crc64_once, crc64_init);
	return crc64_updates[crc64_impl_best](state, p, len);
}

uint64_t pi_crc64_update_table(uint64_t state, const uint8_t *p, size_t len)
{
	pthread_once(&crc64_once, crc64_init);
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w;

		__builtin_memcpy(&w, p, 8); /* little-endian host: byte 0 in the low bits */
		state ^= w;
		state = crc64_table[7][state & 0xff] ^ crc64_table[6][(state >> 8) & 0xff] ^
			crc64_table[5][(state >> 16) & 0xff] ^
			crc64_table[4][(state >> 24) & 0xff] ^
			crc64_table[3][(state >> 32) & 0xff] ^
			crc64_table[2][(state >> 40) & 0xff] ^
			crc64_table[1][(state >> 48) & 0xff] ^ crc64_table[0][state >> 56];
	}
	for (; len; p++, len--)
		state = (state >> 8) ^ crc64_table[0][(state ^ *p) & 0xff];
	return state;
}

bool pi_crc64_impl_available(enum pi_crc64_impl impl)
{
	if ((unsigned int)impl >= PI_CRC64_NR_IMPLS)
		return false;
	pthread_once(&crc64_once, crc64_init);
	return crc64_available[impl];
}

const char *pi_crc64_impl_name(enum pi_crc64_impl impl)
{
	switch (impl) {
	case PI_CRC64_TABLE:
		return "table";
	case PI_CRC64_PCLMUL:
		return "pclmul";
	case PI_CRC64_VPCLMUL:
		return "vpclmul";
	default:
		return "unknown";
	}
}

enum pi_crc64_impl pi_crc64_impl_best(void)
{
	pthread_once(&crc64_once, crc64_init);
	return crc64_impl_best;
}

uint64_t pi_crc64_nvme_impl(enum pi_crc64_impl impl, uint64_t crc, const void *buf, size_t len)
{
	/* an implementation this CPU lacks falls back to the table rather than faulting */
	if (!pi_crc64_impl_available(impl))
		impl = PI_CRC64_TABLE;
	return ~crc64_updates[impl](~crc, buf, len);
}

uint64_t pi_crc64_nvme(uint64_t crc, const void *buf, size_t len)
{
	crc64_update_fn update = __atomic_load_n(&crc64_update_best, __ATOMIC_ACQUIRE);

	return ~update(~crc, buf, len);
}
