/* SPDX-License-Identifier: MIT */
/*
 * cache_test_util.c - allocation wrappers for failure injection, and expect_abort(). The
 * test executables link with -Wl,--wrap=malloc,--wrap=calloc,--wrap=posix_memalign, so the
 * allocations of the code under test (static libraries included) come here first.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/cache/cache_test_util.h"

void *__real_malloc(size_t size);
void *__real_calloc(size_t nmemb, size_t size);
int __real_posix_memalign(void **memptr, size_t alignment, size_t size);

static atomic_bool armed;
static atomic_long countdown;
static atomic_long calls;

void test_alloc_fail_after(long nr_calls_ok)
{
	atomic_store(&countdown, nr_calls_ok);
	atomic_store(&armed, true);
}

void test_alloc_disarm(void)
{
	atomic_store(&armed, false);
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
	if (!atomic_load(&armed))
		return false;
	return atomic_fetch_sub(&countdown, 1) <= 0;
}

void *__wrap_malloc(size_t size)
{
	return should_fail() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t nmemb, size_t size)
{
	return should_fail() ? NULL : __real_calloc(nmemb, size);
}

int __wrap_posix_memalign(void **memptr, size_t alignment, size_t size)
{
	return should_fail() ? ENOMEM : __real_posix_memalign(memptr, alignment, size);
}

void expect_abort(void (*fn)(void *), void *arg, const char *message)
{
	char buf[4096] = "";
	size_t got = 0;
	int pipefd[2], status;
	ssize_t n;
	pid_t pid;

	ck_assert_int_eq(pipe(pipefd), 0);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(pipefd[1], STDERR_FILENO);
		close(pipefd[0]);
		fn(arg);
		_exit(0);
	}
	close(pipefd[1]);
	while (got < sizeof(buf) - 1 && (n = read(pipefd[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += n;
	buf[got] = 0;
	close(pipefd[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
		      "child did not abort (status %#x), stderr: %s", status, buf);
	ck_assert_msg(strstr(buf, "guardfs: BUG at") && strstr(buf, message),
		      "expected a BUG naming \"%s\", got: %s", message, buf);
}
