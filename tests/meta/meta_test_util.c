/* SPDX-License-Identifier: MIT */
/*
 * meta_test_util.c - malloc/realloc wrappers for failure injection. The test executables are
 * linked with -Wl,--wrap=malloc,--wrap=realloc, so every malloc() in the code under test
 * (including the static libraries) comes here first.
 */
#include <stdbool.h>
#include <stddef.h>

#include "tests/meta/meta_test_util.h"

void *__real_malloc(size_t size);
void *__real_realloc(void *ptr, size_t size);

static bool armed;
static long countdown;
static long failures;

void test_malloc_fail_after(long nr_calls_ok)
{
	armed = true;
	countdown = nr_calls_ok;
	failures = 0;
}

void test_malloc_disarm(void)
{
	armed = false;
}

long test_malloc_failures(void)
{
	return failures;
}

static bool should_fail(void)
{
	if (!armed)
		return false;
	if (countdown > 0) {
		countdown--;
		return false;
	}
	failures++;
	return true;
}

void *__wrap_malloc(size_t size)
{
	return should_fail() ? NULL : __real_malloc(size);
}

void *__wrap_realloc(void *ptr, size_t size)
{
	return should_fail() ? NULL : __real_realloc(ptr, size);
}
