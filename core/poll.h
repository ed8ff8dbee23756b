/* SPDX-License-Identifier: MIT */
/*
 * poll.h - adaptive polling: wait for a short event by spinning instead of sleeping, but only
 * while recent waits were short enough for a spin to catch them (the kernel's hybrid polling).
 *
 * Why: waking a sleeping thread costs 20 - 25 us on the VMs guardfs is measured on (a condition
 * variable round trip between two threads: 40 - 50 us), a third of a 4 KiB read of the device.
 * A thread that expects its event within a few tens of microseconds polls for it; one that
 * would poll in vain (a 1 MiB transfer, a slow disk) sleeps at once.
 *
 * struct gfs_poll keeps a moving average of how long the waits it saw took; gfs_poll_budget()
 * says how long the next wait may spin (0: sleep at once). Each waiter reports how long its wait
 * took with gfs_poll_note(), whether it ended spinning or sleeping. All of it is lock-free and
 * approximate: a lost update only shifts a spin budget.
 *
 * A waiter that can sleep with a timeout may also poll longer waits the hybrid way
 * (gfs_poll_step): nap for half the average wait, then poll until twice the average, then sleep.
 * Measured on a 1 MiB read that the device answers in ~450 us: a completion thread that sleeps
 * through it sees the completion 150 us late; one that naps and then polls sees it at once.
 */
#ifndef GUARDFS_POLL_H
#define GUARDFS_POLL_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

/* Never spin longer than this for one wait, and never when recent waits took longer. */
#define GFS_POLL_MAX_NS 200000ull
/* Hybrid polling (nap, then poll) for average waits up to this; longer ones just sleep. */
#define GFS_POLL_HYBRID_MAX_NS 4000000ull

struct gfs_poll {
	atomic_uint_fast64_t avg_ns; /* moving average of recent waits, 1/8 weight per wait */
};

static inline uint64_t gfs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A condition variable whose timed waits count on CLOCK_MONOTONIC (gfs_deadline_after). */
static inline void gfs_cond_init_monotonic(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

/* The CLOCK_MONOTONIC time ns from now, for pthread_cond_timedwait on a monotonic condvar. */
static inline struct timespec gfs_deadline_after(uint64_t ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ns / 1000000000ull);
	ts.tv_nsec += (long)(ns % 1000000000ull);
	if (ts.tv_nsec >= 1000000000l) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000l;
	}
	return ts;
}

/*
 * One step of a polling loop. It yields the CPU rather than spinning in place: with as few CPUs
 * as guardfs's VMs have, the event polled for often needs another thread on this CPU to run
 * (an io_uring worker doing the write, the completion thread), and sched_yield lets it without
 * the cost of a sleep and a wake-up.
 */
static inline void gfs_poll_pause(void)
{
	sched_yield();
}

/* How long the next wait may spin: a little over the average wait, or 0 if that is too long. */
static inline uint64_t gfs_poll_budget(struct gfs_poll *p)
{
	uint64_t avg = atomic_load_explicit(&p->avg_ns, memory_order_relaxed);

	return avg > GFS_POLL_MAX_NS ? 0 : avg + avg / 2 + 2000;
}

enum gfs_poll_step {
	GFS_POLL_SPIN,	/* poll now */
	GFS_POLL_NAP,	/* sleep at most *nap_ns (a completion may end it early), then ask again */
	GFS_POLL_SLEEP, /* sleep until the event */
};

/* What a waiter whose wait began waited_ns ago should do next (the hybrid policy above). */
static inline enum gfs_poll_step gfs_poll_step(struct gfs_poll *p, uint64_t waited_ns,
					       uint64_t *nap_ns)
{
	uint64_t avg = atomic_load_explicit(&p->avg_ns, memory_order_relaxed);

	if (avg <= GFS_POLL_MAX_NS)
		return waited_ns < gfs_poll_budget(p) ? GFS_POLL_SPIN : GFS_POLL_SLEEP;
	if (avg > GFS_POLL_HYBRID_MAX_NS)
		return GFS_POLL_SLEEP;
	if (waited_ns < avg / 2) {
		*nap_ns = avg / 2 - waited_ns;
		return GFS_POLL_NAP;
	}
	return waited_ns < 2 * avg ? GFS_POLL_SPIN : GFS_POLL_SLEEP;
}

static inline void gfs_poll_note(struct gfs_poll *p, uint64_t waited_ns)
{
	uint64_t avg = atomic_load_explicit(&p->avg_ns, memory_order_relaxed);

	if (waited_ns > 8 * GFS_POLL_MAX_NS)
		waited_ns = 8 * GFS_POLL_MAX_NS; /* one stall must not disable polling for long */
	atomic_store_explicit(&p->avg_ns, avg - avg / 8 + waited_ns / 8, memory_order_relaxed);
}

/* A wait that began at *since (0: none was going on) is over: note it and clear *since. */
static inline void gfs_poll_end(struct gfs_poll *p, uint64_t *since)
{
	if (!*since)
		return;
	gfs_poll_note(p, gfs_now_ns() - *since);
	*since = 0;
}

#endif /* GUARDFS_POLL_H */
