// SPDX-License-Identifier: MIT
/*
 * mapguard.c - a per-thread recovery point for SIGBUS (see mapguard.h).
 *
 * SIGBUS from a memory access is synchronous: the kernel delivers it to the thread that made
 * the access, so a thread-local pointer to that thread's sigjmp_buf is all the handler needs.
 * The handler is installed with SA_NODEFER, so SIGBUS is not blocked while it runs and jumping
 * out leaves the thread's signal mask as it was; that is why sigsetjmp need not save the mask
 * (saving it is a system call per copy, the cost this module exists to avoid).
 */
#include "core/mapguard.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "core/bug.h"

static struct sigaction prev_action;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_error;

/* Non-NULL while this thread is inside a guarded access. */
static _Thread_local sigjmp_buf *volatile guard_env;

/* A SIGBUS that is not ours: do what would have happened had we never been installed. */
static void pass_on_sigbus(int sig, siginfo_t *info, void *uctx)
{
	if (prev_action.sa_flags & SA_SIGINFO) {
		prev_action.sa_sigaction(sig, info, uctx);
		return;
	}
	if (prev_action.sa_handler != SIG_DFL && prev_action.sa_handler != SIG_IGN) {
		prev_action.sa_handler(sig);
		return;
	}
	/* Default (a fault cannot be ignored): die of SIGBUS, with the core dump it asks for. */
	signal(sig, SIG_DFL);
	raise(sig);
}

static void handle_sigbus(int sig, siginfo_t *info, void *uctx)
{
	sigjmp_buf *env = guard_env;

	if (env) {
		guard_env = NULL;
		siglongjmp(*env, 1);
	}
	pass_on_sigbus(sig, info, uctx);
}

static void install_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = handle_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &prev_action))
		init_error = -errno;
}

int mapguard_init(void)
{
	pthread_once(&init_once, install_handler);
	return init_error;
}

/*
 * What runs guarded: a copy, or a read of every page. Out of line, so that the locals of the
 * function holding the sigjmp_buf never change between sigsetjmp and a jump.
 */
typedef void (*guarded_fn)(void *dst, const void *src, size_t len);

static __attribute__((noinline)) void copy_bytes(void *dst, const void *src, size_t len)
{
	memcpy(dst, src, len);
}

static __attribute__((noinline)) void touch_pages(void *unused, const void *src, size_t len)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	const volatile uint8_t *p = src, *end = p + len;

	(void)unused;
	for (; p < end; p = (const volatile uint8_t *)(((uintptr_t)p | (page - 1)) + 1))
		(void)*p;
}

/*
 * The signal fences keep the compiler from moving the accesses across the setting and clearing
 * of guard_env; nothing the access changed is read after a jump.
 */
static int run_guarded(guarded_fn fn, void *dst, const void *src, size_t len)
{
	sigjmp_buf env;

	GFS_BUG_ON(guard_env);
	if (sigsetjmp(env, 0))
		return -EFAULT;
	guard_env = &env;
	atomic_signal_fence(memory_order_seq_cst);
	fn(dst, src, len);
	atomic_signal_fence(memory_order_seq_cst);
	guard_env = NULL;
	return 0;
}

int mapguard_copy(void *dst, const void *src, size_t len)
{
	return run_guarded(copy_bytes, dst, src, len);
}

int mapguard_touch(const void *addr, size_t len)
{
	return run_guarded(touch_pages, NULL, addr, len);
}
