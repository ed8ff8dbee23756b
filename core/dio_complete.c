// SPDX-License-Identifier: MIT
/*
 * dio_complete.c - completing a direct request exactly once (iomap_dio_complete and
 * iomap_dio_complete_work), and the completion workers that run write completions.
 *
 * A request holds one reference per piece in flight plus the submitter's, which is dropped
 * only after the last piece was handed over (iomap_dio's ref): whoever drops the last reference
 * completes the request, so an error that a piece reports while later pieces are still being
 * submitted is seen by the completion, and completion never runs before submission ended.
 *
 * Where completion runs: a read's last piece verified and copied its data on the namespace's
 * completion thread, and nothing is left but the callback, so a read completes there. Writes
 * may need unwritten conversion and the size update (a journal append), a flush or journal
 * commit for O_DSYNC, and writeback of the cache range (which waits for writeback I/O that the
 * namespace thread completes): none of that may run on the namespace thread, so such writes go
 * to a small pool of completion workers; a plain overwrite of a file with nothing cached has
 * none of it and completes on the namespace thread, as a read does. When the submitter drops the
 * last reference (every piece finished before submission ended, or nothing could be submitted) the
 * request also goes to a worker: completion never runs on the submitting thread.
 *
 * Order for writes, as iomap_dio_complete: conversion and size update first, then the
 * O_DSYNC commit, then invalidation of the cache range (and of the front end's page cache), so
 * that a racing buffered read can not cache zeros read from a still-unwritten extent.
 * The request is freed before its callback runs, and the callback is the last thing that
 * touches anything of it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/cache.h"
#include "core/dio_internal.h"
#include "core/log.h"

void dio_set_error(struct dio *dio, int error)
{
	int none = 0;

	atomic_compare_exchange_strong(&dio->error, &none, error);
}

static int dio_finish_write(struct dio *dio, int error)
{
	struct gfs_inode *gi = dio->gi;
	uint64_t end = dio->pos + dio->len;
	int ret;

	if (!error && (dio->flags & (DIO_ALLOCATED | DIO_EXTENDING))) {
		/* The data is on the namespace: only now may the extents and the size show it. */
		uint64_t conv_len =
			dio->flags & DIO_ALLOCATED ? dio->conv_end - dio->conv_start : 0;

		/*
		 * The on-disk size may lag the visible one (a buffered write further out not yet
		 * written back): grow it over what we wrote, up to the visible size, or a crash
		 * leaves our blocks past EOF (xfs_iomap_write_unwritten does the same).
		 */
		uint64_t new_size =
			dio->flags & DIO_EXTENDING ? end : gfs_min(end, meta_size_read(gi->mi));

		error = meta_convert_unwritten(gi->mi, dio->conv_start, conv_len, new_size);
	}
	if (!error && (dio->flags & DIO_DSYNC) && !(dio->flags & DIO_FUA)) {
		error = meta_fsync(gi->gfs->meta, gi->ino, true);
		atomic_fetch_add_explicit(&dio->ctl->syncs, 1, memory_order_relaxed);
	}
	/* After conversion: a buffered read racing with us may have cached zeros or old data. */
	ret = dio_invalidate(dio, dio->conv_start, dio->conv_end);
	if (ret && !error)
		error = ret;
	if (error)
		gfs_err("inode %llu offset %llu: direct write of %llu bytes failed: %s",
			(unsigned long long)gi->ino, (unsigned long long)dio->pos,
			(unsigned long long)dio->len, strerror(-error));
	return error;
}

static void dio_complete(struct dio *dio)
{
	struct dio_ctl *ctl = dio->ctl;
	struct gfs *gfs = dio->gi->gfs;
	int error = atomic_load(&dio->error);
	dio_end_fn end = dio->end;
	void *arg = dio->end_arg;
	ssize_t result;

	if (dio->flags & DIO_WRITE) {
		error = dio_finish_write(dio, error);
		result = error ? error : (ssize_t)dio->len;
		if (!error)
			atomic_fetch_add(&gfs->ctr.bytes_written, dio->len);
	} else {
		result = error ? error : (ssize_t)(dio->read_end - dio->pos);
		if (!error)
			atomic_fetch_add(&gfs->ctr.bytes_read, (uint64_t)result);
	}
	if ((dio->flags & DIO_ASYNC) && atomic_fetch_sub(&dio->gi->dio_inflight, 1) == 1) {
		pthread_mutex_lock(&ctl->lock);
		pthread_cond_broadcast(&ctl->idle); /* dio_inode_wait */
		pthread_mutex_unlock(&ctl->lock);
	}
	free(dio);
	atomic_fetch_add(&ctl->completions, 1);
	/*
	 * Count the request out before the callback: dio_ctl_destroy may then free ctl, but
	 * nothing below touches it (a worker only relocks ctl, which destroy joins first).
	 */
	if (atomic_fetch_sub(&ctl->inflight, 1) == 1) {
		pthread_mutex_lock(&ctl->lock);
		pthread_cond_broadcast(&ctl->idle);
		pthread_mutex_unlock(&ctl->lock);
	}
	end(arg, result);
}

static void dio_queue(struct dio *dio)
{
	struct dio_ctl *ctl = dio->ctl;

	dio->next = NULL;
	pthread_mutex_lock(&ctl->lock);
	if (ctl->queue_tail)
		ctl->queue_tail->next = dio;
	else
		ctl->queue_head = dio;
	ctl->queue_tail = dio;
	pthread_cond_signal(&ctl->work);
	pthread_mutex_unlock(&ctl->lock);
}

/*
 * May the request complete on the namespace's completion thread? Reads may. A write may only
 * when completing it takes no lock and waits for nothing: a successful overwrite with nothing
 * to convert or commit and no folio of the file in the cache (else the invalidation may wait
 * for writeback, which this very thread completes).
 */
static bool dio_may_complete_inline(struct dio *dio)
{
	if (!(dio->flags & DIO_WRITE))
		return true;
	if (atomic_load(&dio->error) || (dio->flags & (DIO_ALLOCATED | DIO_EXTENDING)))
		return false;
	if ((dio->flags & DIO_DSYNC) && !(dio->flags & DIO_FUA))
		return false;
	return !cache_mapping_nr_folios(dio->gi->mapping);
}

void dio_put(struct dio *dio, bool on_ns_thread)
{
	if (atomic_fetch_sub_explicit(&dio->pending, 1, memory_order_acq_rel) != 1)
		return;
	if (on_ns_thread && dio_may_complete_inline(dio))
		dio_complete(dio);
	else
		dio_queue(dio);
}

static void *dio_worker(void *arg)
{
	struct dio_ctl *ctl = arg;

	pthread_setname_np(pthread_self(), "gfs-dio");
	pthread_mutex_lock(&ctl->lock);
	for (;;) {
		struct dio *dio = ctl->queue_head;

		if (!dio) {
			if (ctl->stopping)
				break;
			pthread_cond_wait(&ctl->work, &ctl->lock);
			continue;
		}
		ctl->queue_head = dio->next;
		if (!ctl->queue_head)
			ctl->queue_tail = NULL;
		pthread_mutex_unlock(&ctl->lock);
		dio_complete(dio);
		pthread_mutex_lock(&ctl->lock);
	}
	pthread_mutex_unlock(&ctl->lock);
	return NULL;
}

int dio_workers_start(struct dio_ctl *ctl)
{
	ctl->nr_workers = 0;
	for (unsigned i = 0; i < 2; i++) {
		int ret = -pthread_create(&ctl->workers[i], NULL, dio_worker, ctl);

		if (ret) {
			dio_workers_stop(ctl);
			return ret;
		}
		ctl->nr_workers++;
	}
	return 0;
}

/* After every request completed: the queue is empty. */
void dio_workers_stop(struct dio_ctl *ctl)
{
	pthread_mutex_lock(&ctl->lock);
	ctl->stopping = true;
	pthread_cond_broadcast(&ctl->work);
	pthread_mutex_unlock(&ctl->lock);
	for (unsigned i = 0; i < ctl->nr_workers; i++)
		pthread_join(ctl->workers[i], NULL);
	ctl->nr_workers = 0;
}
