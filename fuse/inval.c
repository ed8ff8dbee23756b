/* SPDX-License-Identifier: MIT */
/*
 * inval.c - keeping the kernel page cache coherent with the core. When the core invalidates
 * cached data the kernel cannot know about (a direct write, truncate, punch, collapse, insert,
 * copy_file_range), it calls the gfs inval hook; the hook queues the range, and one notifier
 * thread hands it to the kernel, one notification for each run of queued ranges of the same
 * inode (inval_queue.h). The thread has the notifier process (notifier.c) make the call, so
 * that a killed daemon never has a thread left in the kernel's page locks; without one it calls
 * fuse_lowlevel_notify_inval_inode() itself.
 *
 * Why a thread: the kernel invalidates by locking the page cache pages of the range, and it
 * holds such page locks while it waits for some of our replies (a buffered FUSE_WRITE in
 * write-through mode, a FUSE_READ filling a page). Notifying from the request handler that
 * serves such a request would wait for itself; libfuse warns about exactly this. So the hook
 * never blocks, and only handlers that serve requests for which the kernel holds no page lock
 * (direct writes, fallocate, setattr, copy_file_range) wait before replying until every range
 * queued so far has reached the kernel (gfuse_inval_wait_queued), so that the caller's next
 * buffered read, through any file descriptor, sees the new bytes. Every range, not only the
 * handler's own: a direct write's last range is queued by whichever thread completed it. The
 * waiting handler holds no core lock. A reply sent from a completion, which must not wait,
 * is handed to a second thread instead when ranges are still queued (gfuse_inval_after).
 *
 * Every such wait is bounded (INVAL_WAIT_MAX_S), because the notifier can wait for a reply
 * that waits for it: the kernel invalidates by locking the range's page cache pages; a
 * readahead holds such pages locked while it waits for a free background request slot; and
 * the slots may all be taken by asynchronous direct writes whose replies wait for the
 * notifier. The bound breaks that cycle: the replies go, slots free, the readahead ends, the
 * notifier goes on and the kernel still drops the range, a moment late.
 *
 * Sequence numbers: each queued range gets the next number; done is the number of the last
 * range handed to the kernel. The queue lock is a leaf lock: deferred replies run without it.
 *
 * Counters (user.guardfs.stats): kernel_invalidations counts the ranges handed to the kernel,
 * kernel_invalidation_errors those it refused with anything but -ENOENT. Both are bumped next to
 * the notify call itself, before done_seq moves, so that a request that waited for its
 * invalidations already sees them counted: the only proof from outside that the kernel heard.
 */
#include "fuse/gfuse.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "core/bug.h"
#include "core/log.h"
#include "core/poll.h"
#include "fuse/inval_queue.h"

#define INVAL_WAIT_MAX_S  2
#define INVAL_WAIT_MAX_NS ((uint64_t)INVAL_WAIT_MAX_S * 1000000000u)

struct gfuse_inval {
	struct gfuse *gf;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t work, done_cond;
	struct inval_queue queue;
	uint64_t next_seq, done_seq;
	/* Deferred calls in sequence order, each waiting for done_seq to reach its seq or for its
	 * deadline; after_thread runs them. */
	struct gfuse_inval_after *after_head, **after_tail;
	pthread_t after_thread;
	pthread_cond_t after_work;
	bool stop, started, after_started;
	/* Relaxed: statistics; the queue lock orders them before done_seq for waiters. */
	atomic_uint_fast64_t sent, errors;
	atomic_uint_fast64_t deferred; /* gfuse_inval_after calls that had to wait */
};

static void inval_send(struct gfuse_inval *iv, const struct inval_item *it)
{
	/* The kernel's length 0 means "to the end"; an offset that does not fit is the same. */
	int64_t off = it->off > INT64_MAX ? INT64_MAX : (int64_t)it->off;
	int64_t len = it->len >= (uint64_t)INT64_MAX - it->off ? 0 : (int64_t)it->len;
	int ret = gfuse_notifier_inval(it->ino, off, len);

	if (ret == -ENOSYS) /* no notifier process: notify from this thread */
		ret = fuse_lowlevel_notify_inval_inode(iv->gf->se, it->ino, off, len);

	atomic_fetch_add_explicit(&iv->sent, 1, memory_order_relaxed);
	/* -ENOENT: the kernel does not hold the inode, so it caches nothing of it. */
	if (ret && ret != -ENOENT) {
		atomic_fetch_add_explicit(&iv->errors, 1, memory_order_relaxed);
		gfs_warn("inode %llu: kernel cache invalidation of [%llu, +%llu) failed: %d",
			 (unsigned long long)it->ino, (unsigned long long)it->off,
			 (unsigned long long)it->len, ret);
	}
}

static bool inval_after_ready(const struct gfuse_inval *iv, const struct gfuse_inval_after *a,
			      uint64_t now_ns)
{
	return a->seq <= iv->done_seq || iv->stop || now_ns >= a->deadline_ns;
}

/* Under the lock: unlink the deferred calls that may run now, in order. */
static struct gfuse_inval_after *inval_take_after(struct gfuse_inval *iv)
{
	struct gfuse_inval_after *ready = NULL, **tail = &ready;
	uint64_t now_ns = gfs_now_ns();

	while (iv->after_head && inval_after_ready(iv, iv->after_head, now_ns)) {
		struct gfuse_inval_after *a = iv->after_head;

		iv->after_head = a->next;
		a->next = NULL;
		*tail = a;
		tail = &a->next;
	}
	if (!iv->after_head)
		iv->after_tail = &iv->after_head;
	return ready;
}

static void inval_run_after(struct gfuse_inval_after *a)
{
	while (a) {
		struct gfuse_inval_after *next = a->next;

		a->fn(a); /* may free a */
		a = next;
	}
}

static void *inval_thread(void *arg)
{
	struct gfuse_inval *iv = arg;

	pthread_setname_np(pthread_self(), "gfs-inval");
	pthread_mutex_lock(&iv->lock);
	for (;;) {
		struct inval_item *it = inval_queue_take_run(&iv->queue);

		if (!it) {
			if (iv->stop)
				break;
			pthread_cond_wait(&iv->work, &iv->lock);
			continue;
		}
		pthread_mutex_unlock(&iv->lock);
		inval_send(iv, it);
		pthread_mutex_lock(&iv->lock);
		iv->done_seq = it->seq;
		pthread_cond_broadcast(&iv->done_cond);
		free(it);
	}
	pthread_mutex_unlock(&iv->lock);
	return NULL;
}

/* Runs the deferred calls: when their ranges were sent, or at their deadline. */
static void *inval_after_thread(void *arg)
{
	struct gfuse_inval *iv = arg;

	pthread_setname_np(pthread_self(), "gfs-inval-rp");
	pthread_mutex_lock(&iv->lock);
	for (;;) {
		struct gfuse_inval_after *ready = inval_take_after(iv);

		if (ready) {
			pthread_mutex_unlock(&iv->lock);
			inval_run_after(ready);
			pthread_mutex_lock(&iv->lock);
		} else if (iv->after_head) {
			/* The notifier broadcasts done_cond after every range it sent. */
			uint64_t now_ns = gfs_now_ns(), end_ns = iv->after_head->deadline_ns;
			struct timespec until =
				gfs_deadline_after(end_ns > now_ns ? end_ns - now_ns : 0);

			pthread_cond_timedwait(&iv->done_cond, &iv->lock, &until);
		} else if (iv->stop) {
			break;
		} else {
			pthread_cond_wait(&iv->after_work, &iv->lock);
		}
	}
	pthread_mutex_unlock(&iv->lock);
	return NULL;
}

/* Stop and join whichever of the two threads run, then free. */
static void inval_destroy(struct gfuse_inval *iv)
{
	pthread_mutex_lock(&iv->lock);
	iv->stop = true;
	pthread_cond_signal(&iv->work);
	pthread_cond_signal(&iv->after_work);
	pthread_cond_broadcast(&iv->done_cond);
	pthread_mutex_unlock(&iv->lock);
	if (iv->started)
		pthread_join(iv->thread, NULL);
	if (iv->after_started)
		pthread_join(iv->after_thread, NULL);
	GFS_BUG_ON(iv->after_head);
	pthread_cond_destroy(&iv->work);
	pthread_cond_destroy(&iv->after_work);
	pthread_cond_destroy(&iv->done_cond);
	pthread_mutex_destroy(&iv->lock);
	free(iv);
}

int gfuse_inval_start(struct gfuse *gf)
{
	struct gfuse_inval *iv = calloc(1, sizeof(*iv));
	int ret;

	if (!iv)
		return -ENOMEM;
	iv->gf = gf;
	inval_queue_init(&iv->queue);
	iv->after_tail = &iv->after_head;
	pthread_mutex_init(&iv->lock, NULL);
	pthread_cond_init(&iv->work, NULL);
	pthread_cond_init(&iv->after_work, NULL);
	/* The bounded waits: a clock set back is no matter. */
	gfs_cond_init_monotonic(&iv->done_cond);
	ret = pthread_create(&iv->thread, NULL, inval_thread, iv);
	iv->started = ret == 0;
	if (!ret)
		ret = pthread_create(&iv->after_thread, NULL, inval_after_thread, iv);
	iv->after_started = iv->started && ret == 0;
	if (ret) {
		inval_destroy(iv);
		return -ret;
	}
	gf->inval = iv;
	gfs_set_inval_hook(gf->gfs, gfuse_inval_hook, gf);
	return 0;
}

void gfuse_inval_stop(struct gfuse *gf)
{
	struct gfuse_inval *iv = gf->inval;

	if (!iv)
		return;
	gfs_set_inval_hook(gf->gfs, NULL, NULL);
	inval_destroy(iv);
	gf->inval = NULL;
}

void gfuse_inval_counts(struct gfuse *gf, uint64_t *sent, uint64_t *errors, uint64_t *deferred)
{
	struct gfuse_inval *iv = gf->inval;

	*sent = iv ? atomic_load_explicit(&iv->sent, memory_order_relaxed) : 0;
	*errors = iv ? atomic_load_explicit(&iv->errors, memory_order_relaxed) : 0;
	*deferred = iv ? atomic_load_explicit(&iv->deferred, memory_order_relaxed) : 0;
}

void gfuse_inval_hook(void *arg, uint64_t ino, uint64_t off, uint64_t len)
{
	struct gfuse *gf = arg;
	struct gfuse_inval *iv = gf->inval;
	struct inval_item *it;

	if (!iv)
		return;
	it = malloc(sizeof(*it));
	pthread_mutex_lock(&iv->lock);
	if (!it) {
		/* The kernel may keep stale pages of this range: say so, once per event. */
		pthread_mutex_unlock(&iv->lock);
		gfs_err("inode %llu: no memory to queue a kernel cache invalidation",
			(unsigned long long)ino);
		return;
	}
	*it = (struct inval_item){.ino = ino, .off = off, .len = len, .seq = ++iv->next_seq};
	inval_queue_push(&iv->queue, it);
	pthread_cond_signal(&iv->work);
	pthread_mutex_unlock(&iv->lock);
}

void gfuse_inval_wait_queued(struct gfuse *gf)
{
	struct gfuse_inval *iv = gf->inval;
	struct timespec until;
	uint64_t queued;

	if (!iv)
		return;
	pthread_mutex_lock(&iv->lock);
	queued = iv->next_seq;
	if (iv->done_seq >= queued) {
		pthread_mutex_unlock(&iv->lock);
		return;
	}
	/*
	 * Bounded: should every request thread wait here while the notifier waits for a page lock
	 * whose FUSE_READ needs a free thread, the wait ends and the request replies; the kernel
	 * still gets the invalidation a moment later. Never a deadlock, at worst a late drop.
	 */
	until = gfs_deadline_after(INVAL_WAIT_MAX_NS);
	while (iv->done_seq < queued && !iv->stop)
		if (pthread_cond_timedwait(&iv->done_cond, &iv->lock, &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&iv->lock);
}

void gfuse_inval_after(struct gfuse *gf, struct gfuse_inval_after *a,
		       void (*fn)(struct gfuse_inval_after *a))
{
	struct gfuse_inval *iv = gf->inval;

	a->fn = fn;
	a->next = NULL;
	if (iv) {
		pthread_mutex_lock(&iv->lock);
		if (iv->done_seq < iv->next_seq) {
			a->seq = iv->next_seq;
			a->deadline_ns = gfs_now_ns() + INVAL_WAIT_MAX_NS;
			atomic_fetch_add_explicit(&iv->deferred, 1, memory_order_relaxed);
			*iv->after_tail = a;
			iv->after_tail = &a->next;
			pthread_cond_signal(&iv->after_work);
			pthread_mutex_unlock(&iv->lock);
			return;
		}
		pthread_mutex_unlock(&iv->lock);
	}
	fn(a);
}
