// SPDX-License-Identifier: MIT
/*
 * mapguard_test.c - core/mapguard: a guarded copy or touch of a page past the end of a mapped
 * file returns -EFAULT and the thread goes on (again and again: the signal must not stay
 * blocked); pages inside the file copy normally; a SIGBUS outside a guard still reaches the
 * handler installed before, or kills the process with SIGBUS when there was none.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/mapguard.h"
#include "tests/util/test_util.h"

struct two_pages {
	char path[256];
	int fd;
	long page;
	uint8_t *map; /* two pages; the second past the end of the file */
};

/* A file of two pages mapped shared, then cut to one: the second page faults. */
static void map_two_pages_cut_one(struct two_pages *t)
{
	t->page = sysconf(_SC_PAGESIZE);
	test_make_file("NS_TEST_DIR", "mapguard", 2 * (uint64_t)t->page, t->path, sizeof(t->path));
	t->fd = open(t->path, O_RDWR);
	ck_assert_int_ge(t->fd, 0);
	t->map = mmap(NULL, 2 * (size_t)t->page, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd, 0);
	ck_assert(t->map != MAP_FAILED);
	ck_assert_int_eq(ftruncate(t->fd, t->page), 0);
}

static void unmap_two_pages(struct two_pages *t)
{
	munmap(t->map, 2 * (size_t)t->page);
	close(t->fd);
	unlink(t->path);
}

START_TEST(copies_past_end_of_file_fail_and_the_thread_goes_on)
{
	struct two_pages t;
	uint8_t buf[64];

	ck_assert_int_eq(mapguard_init(), 0);
	map_two_pages_cut_one(&t);
	for (int round = 0; round < 3; round++) {
		memset(buf, 0xA5, sizeof(buf));
		ck_assert_int_eq(mapguard_copy(t.map + 16, buf, sizeof(buf)), 0);
		ck_assert_int_eq(mapguard_copy(buf, t.map + t.page, sizeof(buf)), -EFAULT);
		ck_assert_int_eq(mapguard_copy(t.map + t.page + 8, buf, sizeof(buf)), -EFAULT);
		/* Straddling: the first page's bytes moved, then the fault. */
		ck_assert_int_eq(mapguard_copy(buf, t.map + t.page - 8, 16), -EFAULT);
		ck_assert_int_eq(mapguard_touch(t.map, 2 * (size_t)t.page), -EFAULT);
		ck_assert_int_eq(mapguard_touch(t.map, (size_t)t.page), 0);
		ck_assert_int_eq(mapguard_touch(t.map, 0), 0);
	}
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(mapguard_copy(buf, t.map + 16, sizeof(buf)), 0);
	ck_assert(test_all_bytes(buf, sizeof(buf), 0xA5));
	test_file_read(t.path, 16, buf, sizeof(buf));
	ck_assert(test_all_bytes(buf, sizeof(buf), 0xA5));
	unmap_two_pages(&t);
}
END_TEST

static void exit_42(int sig)
{
	(void)sig;
	_exit(42);
}

/* In a child: fault outside any guard, with or without a handler of our own installed first. */
static int fault_unguarded_in_child(bool own_handler)
{
	struct two_pages t;
	int status;
	pid_t pid;

	map_two_pages_cut_one(&t);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* Ours, or none at all (a sanitizer's would otherwise be the earlier one). */
		signal(SIGBUS, own_handler ? exit_42 : SIG_DFL);
		if (mapguard_init())
			_exit(3);
		(void)*(volatile uint8_t *)(t.map + t.page);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	unmap_two_pages(&t);
	return status;
}

START_TEST(unguarded_fault_reaches_the_earlier_handler)
{
	int status = fault_unguarded_in_child(true);

	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 42);
}
END_TEST

START_TEST(unguarded_fault_without_a_handler_kills_with_sigbus)
{
	int status = fault_unguarded_in_child(false);

	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), SIGBUS);
}
END_TEST

static Suite *mapguard_suite(void)
{
	Suite *s = suite_create("mapguard");
	TCase *tc = tcase_create("mapguard");

	tcase_add_test(tc, copies_past_end_of_file_fail_and_the_thread_goes_on);
	tcase_add_test(tc, unguarded_fault_reaches_the_earlier_handler);
	tcase_add_test(tc, unguarded_fault_without_a_handler_kills_with_sigbus);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(mapguard_suite());
}
