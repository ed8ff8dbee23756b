// SPDX-License-Identifier: MIT
/*
 * hugemem_test.c - core/hugemem: regions from a huge page up start on a huge page boundary,
 * are zero filled and writable end to end, and keep nothing mapped beyond their end (the
 * alignment slack is given back); smaller regions are plain page-aligned mappings; zero bytes
 * and sizes no system can map are refused with NULL; freeing NULL does nothing.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/hugemem.h"
#include "tests/util/test_util.h"

/* Whether the page at addr is mapped: mincore fails with ENOMEM on unmapped memory. */
static bool page_mapped(const void *addr)
{
	unsigned char vec;
	long page = sysconf(_SC_PAGESIZE);
	void *start = (void *)((uintptr_t)addr & ~(uintptr_t)(page - 1));

	if (mincore(start, (size_t)page, &vec) == 0)
		return true;
	ck_assert_int_eq(errno, ENOMEM);
	return false;
}

static void check_region(size_t bytes, bool aligned)
{
	unsigned char *p = gfs_huge_alloc(bytes);

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq((uintptr_t)p % (size_t)sysconf(_SC_PAGESIZE), 0);
	if (aligned)
		ck_assert_uint_eq((uintptr_t)p % GFS_HUGE_PAGE, 0);
	ck_assert_uint_eq(p[0], 0);
	ck_assert_uint_eq(p[bytes / 2], 0);
	ck_assert_uint_eq(p[bytes - 1], 0);
	p[0] = 1;
	p[bytes - 1] = 2;
	ck_assert_uint_eq(p[0] + p[bytes - 1], 3);
	if (aligned) /* the slack after the region (never empty) went back to the system */
		ck_assert(!page_mapped(p + bytes));
	gfs_huge_free(p, bytes);
	ck_assert(!page_mapped(p));
}

START_TEST(huge_regions_are_aligned_zeroed_and_trimmed)
{
	check_region(GFS_HUGE_PAGE, true);
	check_region(3 * GFS_HUGE_PAGE, true);
	check_region(2 * GFS_HUGE_PAGE + 4096, true);
}
END_TEST

START_TEST(small_regions_are_plain_mappings)
{
	check_region(4096, false);
	check_region(64 << 10, false);
	check_region(GFS_HUGE_PAGE - 4096, false);
}
END_TEST

START_TEST(impossible_sizes_are_refused_and_null_frees_nothing)
{
	ck_assert_ptr_null(gfs_huge_alloc(SIZE_MAX / 2));
	ck_assert_ptr_null(gfs_huge_alloc(SIZE_MAX - 4096)); /* the slack would wrap around */
	ck_assert_ptr_null(gfs_huge_alloc(0));
	gfs_huge_free(NULL, GFS_HUGE_PAGE);
}
END_TEST

static Suite *hugemem_suite(void)
{
	Suite *s = suite_create("hugemem");
	TCase *tc = tcase_create("hugemem");

	tcase_add_test(tc, huge_regions_are_aligned_zeroed_and_trimmed);
	tcase_add_test(tc, small_regions_are_plain_mappings);
	tcase_add_test(tc, impossible_sizes_are_refused_and_null_frees_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(hugemem_suite());
}
