/* SPDX-License-Identifier: MIT */
/*
 * test_alloc.h - allocation failure injection, SQLite-style, so that every -ENOMEM path can be
 * driven. A test binary links the gfs_test_alloc object library and wraps the allocators it
 * wants to fail (-Wl,--wrap=malloc,... : any of malloc, calloc, realloc, posix_memalign); the
 * allocations of the code under test, static libraries included, then come here first.
 */
#ifndef GUARDFS_TESTS_ALLOC_H
#define GUARDFS_TESTS_ALLOC_H

/*
 * While armed, the allocation that brings the countdown to zero fails, and so does every later
 * one until disarmed: nr_calls_ok succeed first. Arming clears the failure count.
 */
void test_alloc_fail_after(long nr_calls_ok);
void test_alloc_disarm(void);
/* Failures since the last arming. */
long test_alloc_failures(void);
/* Wrapped calls, armed or not, since the last reset: makes "no allocation" testable. */
long test_alloc_calls(void);
void test_alloc_count_reset(void);

#endif /* GUARDFS_TESTS_ALLOC_H */
