/* SPDX-License-Identifier: MIT */
/*
 * test_alloc.c - the wrappers behind test_alloc.h. Each binary wraps only some allocators, so
 * the __real_ symbols are weak: one the binary does not wrap stays unresolved and harmless,
 * as its __wrap_ twin is then never called. Counters are atomic: the code under test allocates
 * from its own threads too.
 */
#include "tests/util/test_alloc.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

void *__real_malloc(size_t size) __attribute__((weak));
void *__real_calloc(size_t nmemb, size_t size) __attribute__((weak));
void *__real_realloc(void *ptr, size_t size) __attribute__((weak));
int __real_posix_memalign(void **memptr, size_t alignment, size_t size) __attribute__((weak));

void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t nmemb, size_t size);
void *__wrap_realloc(void *ptr, size_t size);
int __wrap_posix_memalign(void **memptr, size_t alignment, size_t size);

static atomic_bool armed;
static atomic_long countdown;
static atomic_long failures;
static atomic_long calls;

void test_alloc_fail_after(long nr_calls_ok)
{
	atomic_store(&failures, 0);
	atomic_store(&countdown, nr_calls_ok);
	atomic_store(&armed, true);
}

void test_alloc_disarm(void)
{
	atomic_store(&armed, false);
}

long test_alloc_failures(void)
{
	return atomic_load(&failures);
}

long test_alloc_calls(void)
{
	return atomic_load(&calls);
}

void test_alloc_count_reset(void)
{
	atomic_store(&calls, 0);
}

static bool should_fail(void)
{
	atomic_fetch_add(&calls, 1);
	if (!atomic_load(&armed) || atomic_fetch_sub(&countdown, 1) > 0)
		return false;
	atomic_fetch_add(&failures, 1);
	return true;
}

void *__wrap_malloc(size_t size)
{
	return should_fail() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t nmemb, size_t size)
{
	return should_fail() ? NULL : __real_calloc(nmemb, size);
}

void *__wrap_realloc(void *ptr, size_t size)
{
	return should_fail() ? NULL : __real_realloc(ptr, size);
}

int __wrap_posix_memalign(void **memptr, size_t alignment, size_t size)
{
	return should_fail() ? ENOMEM : __real_posix_memalign(memptr, alignment, size);
}
