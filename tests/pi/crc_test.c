/* SPDX-License-Identifier: MIT */
/*
 * crc_test.c - the CRCs of pi/: known answers, every CRC-64/NVME implementation against the
 * table for every length 0..4096 at every alignment 0..63 and for random lengths up to 1 MiB,
 * chaining, the folding constants recomputed from the polynomial, the table itself against a
 * bit-at-a-time definition of each CRC, and the fused copy+CRC kernels against memcpy + CRC.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pi/crc64.h"
#include "pi/crc_copy.h"
#include "pi/pi.h"
#include "tests/util/test_util.h"

#define BIG (1u << 20)

static uint8_t *big; /* BIG + 64 random bytes */

/* Bit-at-a-time definitions (Rocksoft model parameters), independent of pi/. */
static uint64_t ref_crc64_nvme(const uint8_t *p, size_t len)
{
	uint64_t r = ~0ULL;

	for (size_t i = 0; i < len; i++) {
		r ^= p[i];
		for (int b = 0; b < 8; b++)
			r = (r >> 1) ^ ((r & 1) ? 0x9A6C9329AC4BC9B5ULL : 0);
	}
	return ~r;
}

static uint16_t ref_crc16_t10dif(const uint8_t *p, size_t len)
{
	uint16_t r = 0;

	for (size_t i = 0; i < len; i++) {
		r ^= (uint16_t)(p[i] << 8);
		for (int b = 0; b < 8; b++)
			r = (uint16_t)((r << 1) ^ ((r & 0x8000) ? 0x8BB7 : 0));
	}
	return r;
}

static uint32_t ref_crc32c(const uint8_t *p, size_t len)
{
	uint32_t r = ~0u;

	for (size_t i = 0; i < len; i++) {
		r ^= p[i];
		for (int b = 0; b < 8; b++)
			r = (r >> 1) ^ ((r & 1) ? 0x82F63B78u : 0);
	}
	return ~r;
}

/* The NVM Command Set 4 KiB patterns: 0 zeros, 1 0xFF, 2 incrementing, 3 decrementing. */
static void fill_pattern(uint8_t *b, int pattern)
{
	for (int i = 0; i < 4096; i++)
		b[i] = pattern == 0   ? 0
		       : pattern == 1 ? 0xFF
		       : pattern == 2 ? i & 0xFF
				      : 255 - (i & 0xFF);
}

START_TEST(check_values_of_123456789)
{
	const char *s = "123456789";

	ck_assert_uint_eq(pi_crc16_t10dif(0, s, 9), 0xD0DB);
	ck_assert_uint_eq(pi_crc32c(0, s, 9), 0xE3069283u);
	ck_assert_uint_eq(pi_crc64_nvme(0, s, 9), 0xAE8B14860A799888ULL);
	for (int i = 0; i < PI_CRC64_NR_IMPLS; i++) {
		if (!pi_crc64_impl_available(i))
			continue;
		ck_assert_uint_eq(pi_crc64_nvme_impl(i, 0, s, 9), 0xAE8B14860A799888ULL);
	}
}
END_TEST

START_TEST(nvm_command_set_4k_known_answers)
{
	static const uint16_t crc16[4] = {0x0000, 0x8B5D, 0x8F6D, 0x0430};
	static const uint32_t crc32c[4] = {0x98F94189u, 0x25C1FE13u, 0x9C71FE32u, 0x214941A8u};
	static const uint64_t crc64[4] = {0x6482D367EB22B64EULL, 0xC0DDBA7302ECA3ACULL,
					  0x3E729F5F6750449CULL, 0x9A2DF64B8E9E517EULL};
	uint8_t b[4096 + 64];

	for (int pat = 0; pat < 4; pat++) {
		/* at several alignments, since the folding kernels load unaligned */
		for (int align = 0; align < 64; align += 13) {
			fill_pattern(b + align, pat);
			ck_assert_uint_eq(pi_crc16_t10dif(0, b + align, 4096), crc16[pat]);
			ck_assert_uint_eq(pi_crc32c(0, b + align, 4096), crc32c[pat]);
			ck_assert_uint_eq(pi_crc64_nvme(0, b + align, 4096), crc64[pat]);
			for (int i = 0; i < PI_CRC64_NR_IMPLS; i++)
				if (pi_crc64_impl_available(i))
					ck_assert_uint_eq(pi_crc64_nvme_impl(i, 0, b + align, 4096),
							  crc64[pat]);
		}
	}
}
END_TEST

START_TEST(crc16_32_byte_known_answers)
{
	static const uint16_t want[4] = {0x0000, 0xA293, 0x0224, 0xA0B7};
	uint8_t b[32];

	for (int pat = 0; pat < 4; pat++) {
		for (int i = 0; i < 32; i++)
			b[i] = pat == 0 ? 0 : pat == 1 ? 0xFF : pat == 2 ? i : 0xFF - i;
		ck_assert_uint_eq(pi_crc16_t10dif(0, b, 32), want[pat]);
	}
}
END_TEST

START_TEST(table_matches_bitwise_definitions)
{
	for (size_t len = 0; len <= 1100; len += (len < 64 ? 1 : 37)) {
		const uint8_t *p = big + (len % 64);

		ck_assert_uint_eq(pi_crc64_nvme_impl(PI_CRC64_TABLE, 0, p, len),
				  ref_crc64_nvme(p, len));
		ck_assert_uint_eq(pi_crc16_t10dif(0, p, len), ref_crc16_t10dif(p, len));
		ck_assert_uint_eq(pi_crc32c(0, p, len), ref_crc32c(p, len));
	}
}
END_TEST

/* x^n mod P, bit-reflected, computed one bit at a time from P. */
static uint64_t xpow_mod_reflected(unsigned int n)
{
	const uint64_t p = 0xAD93D23594C93659ULL; /* normal form without x^64 */
	uint64_t r = 1, rev = 0;

	for (unsigned int i = 0; i < n; i++)
		r = (r << 1) ^ ((r >> 63) ? p : 0);
	for (int i = 0; i < 64; i++)
		rev |= ((r >> i) & 1) << (63 - i);
	return rev;
}

START_TEST(fold_constants_derive_from_the_polynomial)
{
	static const struct {
		unsigned int n;
		uint64_t k;
	} k[] = {
		{127, PI_CRC64_X127},	{191, PI_CRC64_X191},	{255, PI_CRC64_X255},
		{319, PI_CRC64_X319},	{383, PI_CRC64_X383},	{447, PI_CRC64_X447},
		{511, PI_CRC64_X511},	{575, PI_CRC64_X575},	{639, PI_CRC64_X639},
		{703, PI_CRC64_X703},	{767, PI_CRC64_X767},	{831, PI_CRC64_X831},
		{895, PI_CRC64_X895},	{959, PI_CRC64_X959},	{1023, PI_CRC64_X1023},
		{1087, PI_CRC64_X1087}, {2047, PI_CRC64_X2047}, {2111, PI_CRC64_X2111},
	};
	/* floor(x^127 / P) by long division over GF(2), 128-bit arithmetic */
	unsigned __int128 rem = (unsigned __int128)1 << 127, pfull, q = 0;
	uint64_t mu = 0;

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		ck_assert_msg(xpow_mod_reflected(k[i].n) == k[i].k, "x^%u", k[i].n);

	pfull = ((unsigned __int128)1 << 64) | 0xAD93D23594C93659ULL;
	for (int s = 63; s >= 0; s--)
		if ((rem >> (64 + s)) & 1) {
			rem ^= pfull << s;
			q |= (unsigned __int128)1 << s;
		}
	for (int i = 0; i < 64; i++)
		mu |= (uint64_t)((q >> i) & 1) << (63 - i);
	ck_assert_uint_eq(mu, PI_CRC64_BARRETT_MU);
	/* P1: reflected P (65 bits, x^64 at bit 0) without its x^0 term */
	ck_assert_uint_eq(PI_CRC64_BARRETT_P1, (0x9A6C9329AC4BC9B5ULL << 1) | 1);
}
END_TEST

/*
 * Every length 0..4096 at every alignment 0..63, for each folding implementation, against the
 * table. 262,208 buffers per implementation; the table value is computed once for both.
 */
START_TEST(every_impl_matches_table_every_length_and_alignment)
{
	for (unsigned int align = 0; align < 64; align++) {
		for (size_t len = 0; len <= 4096; len++) {
			const uint8_t *p = big + align;
			uint64_t want = pi_crc64_nvme_impl(PI_CRC64_TABLE, 0, p, len);

			for (int i = PI_CRC64_PCLMUL; i < PI_CRC64_NR_IMPLS; i++) {
				if (!pi_crc64_impl_available(i))
					continue;
				ck_assert_msg(pi_crc64_nvme_impl(i, 0, p, len) == want,
					      "%s len %zu align %u", pi_crc64_impl_name(i), len,
					      align);
			}
		}
	}
}
END_TEST

START_TEST(every_impl_matches_table_random_lengths_to_1mib)
{
	for (unsigned int align = 0; align < 64; align++) {
		for (int rep = 0; rep < 3; rep++) {
			size_t len = test_rand() % (BIG - 64 + 1);
			const uint8_t *p = big + align;
			uint64_t seed = test_rand();
			uint64_t want = pi_crc64_nvme_impl(PI_CRC64_TABLE, seed, p, len);

			for (int i = PI_CRC64_PCLMUL; i < PI_CRC64_NR_IMPLS; i++)
				if (pi_crc64_impl_available(i))
					ck_assert_msg(pi_crc64_nvme_impl(i, seed, p, len) == want,
						      "%s len %zu align %u", pi_crc64_impl_name(i),
						      len, align);
		}
	}
	ck_assert_uint_eq(pi_crc64_nvme(0, big, BIG),
			  pi_crc64_nvme_impl(PI_CRC64_TABLE, 0, big, BIG));
}
END_TEST

START_TEST(crcs_chain_over_split_buffers)
{
	for (int rep = 0; rep < 2000; rep++) {
		size_t len = test_rand() % 9000, cut = len ? test_rand() % (len + 1) : 0;
		const uint8_t *p = big + test_rand() % 64;

		ck_assert_uint_eq(pi_crc16_t10dif(pi_crc16_t10dif(0, p, cut), p + cut, len - cut),
				  pi_crc16_t10dif(0, p, len));
		ck_assert_uint_eq(pi_crc32c(pi_crc32c(0, p, cut), p + cut, len - cut),
				  pi_crc32c(0, p, len));
		for (int i = 0; i < PI_CRC64_NR_IMPLS; i++) {
			if (!pi_crc64_impl_available(i))
				continue;
			ck_assert_uint_eq(pi_crc64_nvme_impl(i, pi_crc64_nvme_impl(i, 0, p, cut),
							     p + cut, len - cut),
					  pi_crc64_nvme(0, p, len));
		}
	}
}
END_TEST

START_TEST(dispatch_picks_an_available_impl)
{
	enum pi_crc64_impl best = pi_crc64_impl_best();
	const char *cap = getenv("GUARDFS_PI_CRC64");

	ck_assert(pi_crc64_impl_available(best));
	ck_assert(pi_crc64_impl_available(PI_CRC64_TABLE));
	ck_assert(!pi_crc64_impl_available(PI_CRC64_NR_IMPLS));
	if (cap && pi_crc64_impl_available(PI_CRC64_PCLMUL))
		ck_assert_str_eq(pi_crc64_impl_name(best), cap); /* capped by the environment */
	else if (!cap)
		for (int i = best + 1; i < PI_CRC64_NR_IMPLS; i++)
			ck_assert(!pi_crc64_impl_available(i));
	ck_assert(pi_crc_copy_is_fused() == (best == PI_CRC64_VPCLMUL));
	ck_assert_str_eq(pi_crc64_impl_name(PI_CRC64_TABLE), "table");
	ck_assert_str_eq(pi_crc64_impl_name(PI_CRC64_NR_IMPLS), "unknown");
	printf("crc64 implementation in use: %s\n", pi_crc64_impl_name(best));
}
END_TEST

/* x^n mod P for the 16-bit T10-DIF polynomial, not reflected, one bit at a time. */
static uint32_t xpow_mod_crc16(unsigned int n)
{
	uint32_t r = 1;

	for (unsigned int i = 0; i < n; i++) {
		r <<= 1;
		if (r & 0x10000)
			r ^= 0x18BB7;
	}
	return r;
}

START_TEST(crc16_fold_constants_derive_from_the_polynomial)
{
	static const struct {
		unsigned int n;
		uint32_t k;
	} k[] = {
		{64, PI_CRC16_X64},	{80, PI_CRC16_X80},	{128, PI_CRC16_X128},
		{192, PI_CRC16_X192},	{256, PI_CRC16_X256},	{320, PI_CRC16_X320},
		{384, PI_CRC16_X384},	{448, PI_CRC16_X448},	{512, PI_CRC16_X512},
		{576, PI_CRC16_X576},	{1024, PI_CRC16_X1024}, {1088, PI_CRC16_X1088},
		{2048, PI_CRC16_X2048}, {2112, PI_CRC16_X2112},
	};
	unsigned __int128 rem = (unsigned __int128)1 << 64;
	uint64_t q = 0;

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		ck_assert_msg(xpow_mod_crc16(k[i].n) == k[i].k, "x^%u", k[i].n);
	for (int s = 48; s >= 0; s--) /* floor(x^64 / P) */
		if ((rem >> (16 + s)) & 1) {
			rem ^= (unsigned __int128)0x18BB7 << s;
			q |= 1ULL << s;
		}
	ck_assert_uint_eq(q, PI_CRC16_BARRETT_MU);
}
END_TEST

/*
 * The copy+CRC functions (fused where the CPU allows) against memcpy then CRC: every length
 * 0..4096, every source alignment 0..63 with a varying destination alignment, a chained seed,
 * and nothing written past the end of the destination.
 */
START_TEST(copy_crcs_match_memcpy_then_crc_every_length)
{
	uint8_t *dst = malloc(4096 + 128 + 64);

	ck_assert_ptr_nonnull(dst);
	printf("copy+crc kernels fused: %s\n", pi_crc_copy_is_fused() ? "yes" : "no");
	for (unsigned int align = 0; align < 64; align++) {
		const uint8_t *src = big + align;
		uint8_t *d = dst + (align * 7 + 3) % 64;

		for (size_t len = 0; len <= 4096; len++) {
			uint16_t s16 = (uint16_t)(len * 31 + align);
			uint64_t s64 = len * 0x9E3779B97F4A7C15ULL;

			memset(d, 0xA5, len + 64);
			ck_assert_msg(pi_crc16_t10dif_copy(s16, d, src, len) ==
					      pi_crc16_t10dif(s16, src, len),
				      "crc16 len %zu align %u", len, align);
			ck_assert(!memcmp(d, src, len) && d[len] == 0xA5 && d[len + 63] == 0xA5);
			memset(d, 0xA5, len + 64);
			ck_assert_msg(pi_crc64_nvme_copy(s64, d, src, len) ==
					      pi_crc64_nvme(s64, src, len),
				      "crc64 len %zu align %u", len, align);
			ck_assert(!memcmp(d, src, len) && d[len] == 0xA5 && d[len + 63] == 0xA5);
		}
	}
	free(dst);
}
END_TEST

START_TEST(fused_kernels_match_on_long_buffers)
{
	uint8_t *dst;
	size_t len;

	if (!pi_crc64_impl_available(PI_CRC64_VPCLMUL))
		return;
	dst = malloc(BIG);
	ck_assert_ptr_nonnull(dst);
	for (int rep = 0; rep < 8; rep++) {
		len = 256 + (test_rand() % (BIG - 320)) / 64 * 64;
		ck_assert_uint_eq(pi_crc16_t10dif_copy_vpclmul(0, dst, big + rep, len),
				  pi_crc16_t10dif(0, big + rep, len));
		ck_assert_uint_eq(pi_crc64_nvme_copy_vpclmul(0, dst, big + rep, len),
				  pi_crc64_nvme(0, big + rep, len));
		ck_assert(!memcmp(dst, big + rep, len));
	}
	free(dst);
}
END_TEST

static void crc_setup(void)
{
	big = malloc(BIG + 64);
	ck_assert_ptr_nonnull(big);
	test_rand_fill(big, BIG + 64);
}

static void crc_teardown(void)
{
	free(big);
}

int main(void)
{
	Suite *s = suite_create("pi_crc");
	TCase *tc = tcase_create("crc");

	test_rand_seed("PI_TEST_SEED", "pi_crc");
	tcase_add_checked_fixture(tc, crc_setup, crc_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, check_values_of_123456789);
	tcase_add_test(tc, nvm_command_set_4k_known_answers);
	tcase_add_test(tc, crc16_32_byte_known_answers);
	tcase_add_test(tc, table_matches_bitwise_definitions);
	tcase_add_test(tc, fold_constants_derive_from_the_polynomial);
	tcase_add_test(tc, every_impl_matches_table_every_length_and_alignment);
	tcase_add_test(tc, every_impl_matches_table_random_lengths_to_1mib);
	tcase_add_test(tc, crcs_chain_over_split_buffers);
	tcase_add_test(tc, dispatch_picks_an_available_impl);
	tcase_add_test(tc, crc16_fold_constants_derive_from_the_polynomial);
	tcase_add_test(tc, copy_crcs_match_memcpy_then_crc_every_length);
	tcase_add_test(tc, fused_kernels_match_on_long_buffers);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
