/* SPDX-License-Identifier: MIT */
/*
 * cache_test_util.c - expect_abort(): a GFS_BUG_ON must abort, naming what it checked.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/cache/cache_test_util.h"

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
