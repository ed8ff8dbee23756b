/* SPDX-License-Identifier: MIT */
/*
 * writeback.c - the writeback of dirty folios (iomap_writepages / iomap_writeback_folio), the
 * flusher thread (the kernel's wb_workfn: periodic writeback of old data, background writeback
 * above the dirty threshold, help for throttled writers and for allocations waiting on the
 * budget) and the ioend completion worker.
 *
 * Writing back one folio (locked, dirty): a folio wholly past EOF has nothing to write and is
 * cleaned; the EOF folio's tail past the size is zeroed (the device block must not carry stale
 * bytes past EOF); folio_writeback_init() moves the folio under writeback; each dirty run
 * (folio_find_dirty_range) is mapped -- a DELALLOC reservation gets its space now, with
 * meta_alloc_delalloc asked for the whole reservation so a sequentially written file lands
 * contiguously -- and added to the ioend being built; holes are skipped without I/O;
 * folio_writeback_end() subtracts what was not submitted (N + 2 atomic operations).
 *
 * The cached mapping of the pass is trusted only after meta_map_valid() under the folio's
 * lock: fallocate and truncate change extents only after locking the folios concerned and
 * waiting for their writeback, so a valid cookie under the lock means the space is still ours.
 * The ioend being built is submitted before the pass waits for a folio lock, so no thread
 * holding that lock can be waiting for the writeback of a folio in our unsubmitted ioend.
 *
 * Locks: the flusher takes wb->pass_lock around a pass over the inode table, which
 * gfs_forget_inode and unmount take to remove inodes; no inode rwlock is ever taken here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/bug.h"
#include "core/gfs_internal.h"
#include "core/iomap.h"
#include "core/log.h"
#include "core/poll.h"
#include "core/writeback.h"

struct wb_ctl {
	struct gfs *gfs;
	pthread_t flusher, worker;
	pthread_mutex_t lock; /* the fields below; a leaf */
	pthread_cond_t flusher_cond, worker_cond, idle_cond;
	bool stop_flusher, stop_worker, kicked;
	struct ioend *queue_head, *queue_tail;
	pthread_mutex_t pass_lock;
};

static uint64_t wb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ---- one folio ---- */

/* Maps the dirty run at pos (at most len bytes) into wpc->map; returns the bytes it covers. */
static int wb_map_run(struct wb_ctx *wpc, uint64_t pos, uint64_t len, uint64_t *mapped)
{
	struct meta_inode *mi = wpc->gi->mi;
	struct meta_map *map = &wpc->map;
	int ret;

	if (!wpc->have_map || pos < map->offset || pos >= map->offset + map->length ||
	    !meta_map_valid(mi, map->cookie)) {
		wpc->have_map = false;
		/* Ask past the run: a delalloc reservation is then seen (and allocated) whole. */
		ret = meta_map_begin(mi, pos, gfs_min(INT64_MAX - pos, 1ull << 40), META_MAP_REPORT,
				     map);
		if (ret)
			return ret;
		if (map->type == META_MAP_DELALLOC) {
			/* The whole reservation at once: one contiguous allocation. */
			ret = meta_alloc_delalloc(mi, pos, map->offset + map->length - pos, map);
			if (ret)
				return ret;
		}
		wpc->have_map = true;
	}
	*mapped = gfs_min(len, map->offset + map->length - pos);
	return *mapped ? 0 : -EIO;
}

/* Maps and queues one dirty run of a folio under writeback; returns bytes submitted. */
static int wb_writeback_run(struct wb_ctx *wpc, struct folio *folio, unsigned off, unsigned len,
			    uint64_t eof, unsigned *submitted)
{
	while (len) {
		uint64_t pos = folio_pos(folio) + off, n;
		int ret;

		ret = wb_map_run(wpc, pos, len, &n);
		if (ret)
			return ret;
		if (wpc->map.type != META_MAP_HOLE) {
			ret = ioend_add(wpc, folio, off, n, pos, iomap_addr(&wpc->map, pos), eof);
			if (ret)
				return ret;
			*submitted += n;
		}
		off += n;
		len -= n;
	}
	return 0;
}

/* iomap_writeback_folio: the folio is locked and dirty. */
static int wb_writeback_folio(struct wb_ctx *wpc, struct folio *folio)
{
	struct gfs_inode *gi = wpc->gi;
	uint64_t isize = meta_size_read(gi->mi), fpos = folio_pos(folio);
	unsigned size = folio_size(folio), end, off = 0, submitted = 0, len;
	int ret, err = 0;

	if (fpos >= isize) {
		folio_cancel_dirty(folio); /* wholly past EOF: truncated meanwhile */
		return 0;
	}
	end = gfs_min(size, isize - fpos);
	if (end < size)
		memset((char *)folio_data(folio) + end, 0, size - end);
	ret = folio_writeback_init(folio);
	if (ret)
		return ret;
	end = gfs_round_up(end, folio_block_size(folio));
	while ((len = folio_find_dirty_range(folio, &off, end))) {
		ret = wb_writeback_run(wpc, folio, off, len, isize, &submitted);
		if (ret && !err) {
			err = ret;
			gfs_err("inode %llu offset %llu: writeback mapping failed: %s",
				(unsigned long long)gi->ino, (unsigned long long)(fpos + off),
				strerror(-ret));
			gfs_inode_set_error(gi, ret);
		}
		off += len;
	}
	folio_writeback_end(folio, submitted);
	return err;
}

static void wb_lock_folio(struct wb_ctx *wpc, struct folio *folio)
{
	if (folio_trylock(folio))
		return;
	ioend_submit(wpc); /* never wait for a lock while holding an unsubmitted ioend */
	folio_lock(folio);
}

int wb_writeback_range(struct gfs_inode *gi, uint64_t start, uint64_t end, bool wait)
{
	unsigned shift = __builtin_ctz(cache_folio_size(gi->gfs->cache));
	struct wb_ctx wpc = {.gi = gi};
	uint64_t index = start >> shift, last;
	struct folio_batch batch;
	int ret = 0;

	if (start >= end)
		return 0;
	last = (end - 1) >> shift;
	folio_batch_init(&batch);
	while (index <= last &&
	       cache_find_folios(gi->mapping, &index, last, CACHE_FIND_DIRTY, &batch)) {
		for (unsigned i = 0; i < batch.nr; i++) {
			struct folio *folio = batch.folios[i];
			int err = 0;

			wb_lock_folio(&wpc, folio);
			if (folio->mapping == gi->mapping && folio_is_dirty(folio)) {
				folio_wait_writeback(folio);
				err = wb_writeback_folio(&wpc, folio);
			}
			folio_unlock(folio);
			if (err && !ret)
				ret = err;
		}
		folio_batch_release(&batch);
	}
	ioend_submit(&wpc);
	if (wait)
		cache_wait_writeback_range(gi->mapping, start, end);
	return ret;
}

/* ---- the completion worker ---- */

void wb_queue_ioend(struct gfs *gfs, struct ioend *ioend)
{
	struct wb_ctl *wb = gfs->wb;

	ioend_set_next(ioend, NULL);
	pthread_mutex_lock(&wb->lock);
	if (wb->queue_tail)
		ioend_set_next(wb->queue_tail, ioend);
	else
		wb->queue_head = ioend;
	wb->queue_tail = ioend;
	pthread_cond_signal(&wb->worker_cond);
	pthread_mutex_unlock(&wb->lock);
}

static void *wb_worker_main(void *arg)
{
	struct wb_ctl *wb = arg;

	pthread_setname_np(pthread_self(), "gfs-wb");
	pthread_mutex_lock(&wb->lock);
	for (;;) {
		struct ioend *list = wb->queue_head;
		if (!list) {
			if (wb->stop_worker)
				break;
			pthread_cond_wait(&wb->worker_cond, &wb->lock);
			continue;
		}
		wb->queue_head = wb->queue_tail = NULL;
		pthread_mutex_unlock(&wb->lock);
		while (list) {
			struct ioend *next = ioend_next(list);

			ioend_complete(list);
			atomic_fetch_sub(&wb->gfs->ioends_inflight, 1);
			list = next;
		}
		pthread_mutex_lock(&wb->lock);
		pthread_cond_broadcast(&wb->idle_cond);
	}
	pthread_mutex_unlock(&wb->lock);
	return NULL;
}

void wb_wait_idle(struct gfs *gfs)
{
	struct wb_ctl *wb = gfs->wb;

	pthread_mutex_lock(&wb->lock);
	while (atomic_load(&gfs->ioends_inflight))
		pthread_cond_wait(&wb->idle_cond, &wb->lock);
	pthread_mutex_unlock(&wb->lock);
}

/* ---- the flusher ---- */

/* The cache asks for writeback (budget, background, throttle): wake the flusher. */
static void wb_cache_writeback(struct cache *cache, enum cache_wb_reason reason, uint64_t bytes,
			       void *arg)
{
	struct wb_ctl *wb = arg;

	(void)cache;
	(void)reason;
	(void)bytes;
	pthread_mutex_lock(&wb->lock);
	wb->kicked = true;
	pthread_cond_signal(&wb->flusher_cond);
	pthread_mutex_unlock(&wb->lock);
}

/*
 * One pass over the inodes (a snapshot of the table; they cannot go away while pass_lock is
 * held, see gfs_forget_inode): when kicked, every dirty inode is written back until the
 * cache is under the background threshold again; otherwise only inodes whose dirty data is
 * older than dirty_expire_ms.
 */
static void wb_flusher_pass(struct gfs *gfs, bool kicked)
{
	uint64_t now = wb_now_ns(), expire = (uint64_t)gfs->opts.dirty_expire_ms * 1000000ull;
	struct gfs_inode **inodes;
	size_t nr;

	pthread_mutex_lock(&gfs->wb->pass_lock);
	if (gfs_collect_inodes(gfs, &inodes, &nr))
		goto out; /* no memory for the list: try again at the next tick */
	for (size_t i = 0; i < nr; i++) {
		struct gfs_inode *gi = inodes[i];
		bool old;

		if (!cache_mapping_nr_dirty(gi->mapping))
			continue;
		old = !gfs->opts.no_flusher &&
		      now - cache_mapping_dirtied_ns(gi->mapping) >= expire;
		if (old || (kicked && cache_dirty_over_background(gfs->cache)))
			wb_writeback_range(gi, 0, UINT64_MAX, false);
	}
	free(inodes);
out:
	pthread_mutex_unlock(&gfs->wb->pass_lock);
}

static void *wb_flusher_main(void *arg)
{
	struct wb_ctl *wb = arg;
	struct gfs *gfs = wb->gfs;

	pthread_setname_np(pthread_self(), "gfs-flush");

	pthread_mutex_lock(&wb->lock);
	while (!wb->stop_flusher) {
		struct timespec deadline =
			gfs_deadline_after((uint64_t)gfs->opts.flusher_interval_ms * 1000000);
		bool kicked;

		if (!wb->kicked)
			pthread_cond_timedwait(&wb->flusher_cond, &wb->lock, &deadline);
		if (wb->stop_flusher)
			break;
		kicked = wb->kicked;
		wb->kicked = false;
		pthread_mutex_unlock(&wb->lock);
		wb_flusher_pass(gfs, kicked);
		pthread_mutex_lock(&wb->lock);
	}
	pthread_mutex_unlock(&wb->lock);
	return NULL;
}

void wb_pause(struct gfs *gfs)
{
	pthread_mutex_lock(&gfs->wb->pass_lock);
}

void wb_resume(struct gfs *gfs)
{
	pthread_mutex_unlock(&gfs->wb->pass_lock);
}

int wb_start(struct gfs *gfs)
{
	struct cache_wb_ops ops = {.writeback = wb_cache_writeback};
	struct wb_ctl *wb;
	int ret;

	wb = calloc(1, sizeof(*wb));
	if (!wb)
		return -ENOMEM;
	wb->gfs = gfs;
	pthread_mutex_init(&wb->lock, NULL);
	pthread_mutex_init(&wb->pass_lock, NULL);
	gfs_cond_init_monotonic(&wb->flusher_cond);
	pthread_cond_init(&wb->worker_cond, NULL);
	pthread_cond_init(&wb->idle_cond, NULL);
	gfs->wb = wb;
	ret = -pthread_create(&wb->worker, NULL, wb_worker_main, wb);
	if (ret)
		goto out_free;
	ret = -pthread_create(&wb->flusher, NULL, wb_flusher_main, wb);
	if (ret)
		goto out_worker;
	cache_set_wb_ops(gfs->cache, &ops, wb);
	return 0;

out_worker:
	pthread_mutex_lock(&wb->lock);
	wb->stop_worker = true;
	pthread_cond_signal(&wb->worker_cond);
	pthread_mutex_unlock(&wb->lock);
	pthread_join(wb->worker, NULL);
out_free:
	gfs->wb = NULL;
	free(wb);
	return ret;
}

void wb_stop(struct gfs *gfs)
{
	struct wb_ctl *wb = gfs->wb;

	if (!wb)
		return;
	pthread_mutex_lock(&wb->lock);
	wb->stop_flusher = true;
	pthread_cond_signal(&wb->flusher_cond);
	pthread_mutex_unlock(&wb->lock);
	pthread_join(wb->flusher, NULL);
	wb_wait_idle(gfs);
	pthread_mutex_lock(&wb->lock);
	wb->stop_worker = true;
	pthread_cond_signal(&wb->worker_cond);
	pthread_mutex_unlock(&wb->lock);
	pthread_join(wb->worker, NULL);
	pthread_cond_destroy(&wb->flusher_cond);
	pthread_cond_destroy(&wb->worker_cond);
	pthread_cond_destroy(&wb->idle_cond);
	pthread_mutex_destroy(&wb->lock);
	pthread_mutex_destroy(&wb->pass_lock);
	gfs->wb = NULL;
	free(wb);
}
