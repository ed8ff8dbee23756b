// SPDX-License-Identifier: MIT
/*
 * dio.c - direct I/O requests (iomap_dio_rw): alignment, the per-mount control block, locking
 * and cache coherence around the mapping walk (dio_iter.c), and the async and sync entry points.
 *
 * Locking (XFS's iolock dance): reads take the meta inode rwlock shared; a write first takes it
 * shared and checks that the range is a pure overwrite (all MAPPED, inside i_size); otherwise it
 * retakes it exclusive, since it allocates or extends. So overwrites of one file run in
 * parallel, and allocating or extending writes serialise with each other and with buffered
 * writes. The sync entry points keep the lock until the request completed (the completion side
 * never takes it, so waiting with it held is safe): a sync direct request is atomic with respect
 * to buffered I/O, truncate and fallocate. The async ones drop it once the last piece was handed
 * over, before the submitter's reference, so completion (and the callback, after which the
 * caller may close the file) always comes after the unlock. An async request is counted in
 * gi->dio_inflight until its completion work is done (inode_dio_begin/end); truncate,
 * fallocate, buffered writes and sub-block allocating direct writes wait for that count with
 * the lock held exclusive (dio_inode_wait, inode_dio_wait), so no block is freed, moved or
 * read-modify-written under a direct request in flight. A buffered read racing with an async
 * write sees old or new data, and the invalidation after the write drops what it cached.
 *
 * Coherence (iomap): before a read, dirty cached data of the range is written back; before a
 * write, the range is written back and invalidated (and the old EOF block's tail zeroed when the
 * write starts past EOF); after the write completed and was converted, the range is invalidated
 * again (dio_complete.c). The front end's hook hears of every invalidation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/buffered.h"
#include "core/cache.h"
#include "core/dio_internal.h"
#include "core/log.h"

#define DIO_POOL_SLOTS	   32u
#define DIO_SLOT_MAX_BYTES (1u << 20)
#define DIO_MAX_FILE_SIZE  ((1ull << 63) - 1)

/* ---- per-mount state ---- */

static int dio_ctl_create(struct gfs *gfs, struct dio_ctl **out)
{
	size_t slot = gfs_min(gfs->max_transfer, DIO_SLOT_MAX_BYTES);
	struct dio_ctl *ctl;
	int ret;

	slot = gfs_round_down(slot, gfs->block_size);
	if (slot < gfs->block_size)
		slot = gfs->block_size;
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	ctl->gfs = gfs;
	ctl->zero_block = calloc(1, gfs->block_size);
	if (!ctl->zero_block) {
		ret = -ENOMEM;
		goto out_free;
	}
	ret = dio_pool_init(&ctl->pool, DIO_POOL_SLOTS, slot, slot / gfs->lba_size * gfs->md_size);
	if (ret)
		goto out_free;
	pthread_mutex_init(&ctl->lock, NULL);
	pthread_cond_init(&ctl->work, NULL);
	pthread_cond_init(&ctl->idle, NULL);
	ret = dio_workers_start(ctl);
	if (ret)
		goto out_pool;
	*out = ctl;
	return 0;

out_pool:
	pthread_cond_destroy(&ctl->idle);
	pthread_cond_destroy(&ctl->work);
	pthread_mutex_destroy(&ctl->lock);
	dio_pool_destroy(&ctl->pool);
out_free:
	free(ctl->zero_block);
	free(ctl);
	return ret;
}

int dio_ctl_get(struct gfs *gfs, struct dio_ctl **out)
{
	struct dio_ctl *ctl = atomic_load(&gfs->dio), *none = NULL;
	int ret;

	if (ctl) {
		*out = ctl;
		return 0;
	}
	ret = dio_ctl_create(gfs, &ctl);
	if (ret)
		return ret;
	/* Two first opens may race: one control block wins, the other is thrown away. */
	if (!atomic_compare_exchange_strong(&gfs->dio, &none, ctl)) {
		dio_ctl_destroy(ctl);
		ctl = none;
	}
	*out = ctl;
	return 0;
}

void dio_ctl_destroy(struct dio_ctl *ctl)
{
	if (!ctl)
		return;
	pthread_mutex_lock(&ctl->lock);
	while (atomic_load(&ctl->inflight))
		pthread_cond_wait(&ctl->idle, &ctl->lock);
	pthread_mutex_unlock(&ctl->lock);
	dio_workers_stop(ctl);
	dio_pool_destroy(&ctl->pool);
	pthread_cond_destroy(&ctl->idle);
	pthread_cond_destroy(&ctl->work);
	pthread_mutex_destroy(&ctl->lock);
	free(ctl->zero_block);
	free(ctl);
}

void dio_inode_wait(struct gfs_inode *gi)
{
	struct dio_ctl *ctl = atomic_load(&gi->gfs->dio);

	if (!ctl || !atomic_load(&gi->dio_inflight))
		return;
	pthread_mutex_lock(&ctl->lock);
	while (atomic_load(&gi->dio_inflight))
		pthread_cond_wait(&ctl->idle, &ctl->lock);
	pthread_mutex_unlock(&ctl->lock);
}

void dio_get_stats(struct gfs *gfs, struct dio_stats *out)
{
	struct dio_ctl *ctl = atomic_load(&gfs->dio);

	memset(out, 0, sizeof(*out));
	if (!ctl)
		return;
	out->requests = atomic_load(&ctl->requests);
	out->completions = atomic_load(&ctl->completions);
	out->pieces = atomic_load(&ctl->pieces);
	out->inflight = atomic_load(&ctl->inflight);
	out->bounce_in_use = dio_pool_in_use(&ctl->pool);
	out->bounce_bytes = (uint64_t)ctl->pool.nr_slots * ctl->pool.slot_bytes;
	out->bounce_waits = atomic_load(&ctl->pool.waits);
	out->pi_errors = atomic_load(&ctl->pi_errors);
	out->fua_writes = atomic_load(&ctl->fua_writes);
	out->syncs = atomic_load(&ctl->syncs);
}

/*
 * Whether the front end's cache could hold pages of [start, end) that direct write dio changed.
 * It cannot when all of these hold: it drops its own pages of a direct write's range before
 * sending the write (gfs_set_upper_drops_dio); [start, end) lies within those pages; and no file
 * that caches (opened without GFS_O_DIRECT) was open at any time since the write began. One open
 * when the write began left the low half of gi->cached_opens non-zero; one opened since moved
 * the high half. A private mapping of a direct file caches through a direct open and is outside
 * this rule: as on any FUSE direct_io file, it may keep a page it read while the write ran.
 */
static bool dio_upper_may_cache(struct dio *dio, uint64_t start, uint64_t end)
{
	struct gfs_inode *gi = dio->gi;
	unsigned page = gi->gfs->upper_dio_page;

	if (!page || start < gfs_round_down(dio->pos, page) ||
	    end > gfs_round_up(dio->pos + dio->len, page))
		return true;
	return (dio->cached_opens & GFS_CACHED_OPEN_MASK) ||
	       atomic_load(&gi->cached_opens) >> 32 != dio->cached_opens >> 32;
}

int dio_invalidate(struct dio *dio, uint64_t start, uint64_t end)
{
	struct gfs_inode *gi = dio->gi;
	int ret = 0;

	/* With nothing cached there is nothing to drop (kiocb_invalidate_pages looks too). */
	if (cache_mapping_nr_folios(gi->mapping))
		ret = gfs_inode_drop_cache(gi, start, end);
	if (dio_upper_may_cache(dio, start, end))
		gfs_invalidate_notify(gi, start, end - start);
	else
		atomic_fetch_add_explicit(&gi->gfs->ctr.dio_inval_skipped, 1, memory_order_relaxed);
	return ret;
}

static int dio_write_begin(struct dio *dio)
{
	struct gfs_inode *gi = dio->gi;
	uint32_t bs = gi->gfs->block_size;
	uint64_t end = dio->pos + dio->len, isize, start;
	int ret;

	dio->cached_opens = atomic_load(&gi->cached_opens);
	meta_inode_lock_shared(gi->mi);
	if (!dio->len)
		return 0;
	if (dio_is_overwrite(gi, dio->pos, end)) {
		dio->flags |= DIO_SHARED;
		if (dio->flags & DIO_DSYNC)
			dio->flags |= DIO_FUA; /* nothing to convert or log: FUA is enough */
	} else {
		meta_inode_unlock(gi->mi);
		meta_inode_lock(gi->mi);
		/*
		 * A sub-block write zeroes the rest of an unwritten block: an async request in
		 * flight to the same block would race with those zeros (XFS waits the same way
		 * for unaligned direct writes).
		 */
		if ((dio->pos | dio->len) & (bs - 1))
			dio_inode_wait(gi);
	}
	isize = meta_size_read(gi->mi);
	start = dio->conv_start;
	if (end > isize)
		dio->flags |= DIO_EXTENDING;
	if (dio->pos > isize) {
		/* The old EOF block's tail may hold stale bytes: zero it (as XFS does). */
		ret = buffered_truncate_page(gi, isize);
		if (ret)
			return ret;
		start = gfs_min(start, gfs_round_down(isize, bs));
	}
	return dio_invalidate(dio, start, dio->conv_end);
}

/* ---- requests ---- */

static int dio_check(struct gfs_file *file, uint64_t off, uint64_t len, bool write)
{
	struct gfs *gfs = file->gi->gfs;
	uint32_t align = gfs->opts.dio_fsblock ? gfs->block_size : gfs->lba_size;

	/* EINVAL, never EIO: qemu probes the alignment by expecting it (file-posix.c). */
	if ((off | len) & (align - 1)) {
		gfs_info(
			"inode %llu offset %llu length %llu: direct I/O refused: offset and length "
			"must be multiples of %u bytes",
			(unsigned long long)file->gi->ino, (unsigned long long)off,
			(unsigned long long)len, align);
		return -EINVAL;
	}
	if (write && gfs->opts.read_only)
		return -EROFS;
	if (write && (off > DIO_MAX_FILE_SIZE || len > DIO_MAX_FILE_SIZE - off))
		return -EFBIG;
	return 0;
}

static struct dio *dio_alloc(struct dio_ctl *ctl, struct gfs_file *file, const struct iovec *iov,
			     int iovcnt, uint64_t off, uint64_t len, unsigned flags)
{
	bool write = flags & DIO_WRITE;
	struct gfs *gfs = file->gi->gfs;
	struct dio *dio = calloc(1, sizeof(*dio) + (size_t)iovcnt * sizeof(struct iovec));

	if (!dio)
		return NULL;
	dio->ctl = ctl;
	dio->gi = file->gi;
	dio->flags = flags;
	if (write && (file->flags & GFS_O_DSYNC))
		dio->flags |= DIO_DSYNC;
	dio->pos = off;
	dio->len = len;
	dio->read_end = off;
	dio->conv_start = gfs_round_down(off, gfs->block_size);
	dio->conv_end = gfs_round_up(off + len, gfs->block_size);
	atomic_init(&dio->pending, 1); /* the submitter's reference */
	dio->iovcnt = iovcnt;
	memcpy(dio->iov, iov, (size_t)iovcnt * sizeof(*iov));
	return dio;
}

static int dio_read_begin(struct dio *dio)
{
	struct gfs_inode *gi = dio->gi;
	uint32_t bs = gi->gfs->block_size;
	uint64_t isize;

	meta_inode_lock_shared(gi->mi);
	isize = meta_size_read(gi->mi);
	if (dio->pos >= isize || !dio->len)
		return 0; /* read_end = pos: a zero-byte read */
	dio->read_end = gfs_min(dio->pos + dio->len, isize);
	if (!cache_mapping_nr_folios(gi->mapping))
		return 0; /* nothing cached, nothing dirty */
	return gfs_inode_write_and_wait(gi, gfs_round_down(dio->pos, bs),
					gfs_round_up(dio->read_end, bs));
}

struct dio_waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool done;
	bool sleeping; /* under lock: the waiter gave up polling */
	ssize_t result;
	struct dio_help help; /* a share of a read's verification (and copy), while polling */
};

static void dio_wake(void *arg, ssize_t result)
{
	struct dio_waiter *w = arg;

	pthread_mutex_lock(&w->lock);
	w->result = result;
	atomic_store_explicit(&w->done, true, memory_order_release);
	if (w->sleeping)
		pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/*
 * iomap_dio_rw: lock, make the cache coherent, map and submit every piece, then drop the
 * submitter reference. flags: DIO_WRITE for a write, DIO_STABLE with it for a stable buffer.
 * A sync request passes its waiter instead of end and arg: it is woken by dio_wake, may help
 * verify a read (struct dio_help), and the inode lock is still held on return 0 (the sync
 * wrappers release it after the callback ran). Otherwise the lock is dropped before the
 * reference, and dio is not touched again: its last piece may already have completed it.
 */
static int dio_submit(struct gfs_file *file, const struct iovec *iov, int iovcnt, uint64_t off,
		      unsigned flags, dio_end_fn end, void *arg, struct dio_waiter *sync)
{
	bool write = flags & DIO_WRITE;
	struct gfs_inode *gi = file->gi;
	struct gfs *gfs = gi->gfs;
	uint64_t len = 0;
	struct dio_ctl *ctl;
	struct dio *dio;
	int ret;

	if (iovcnt < 0 || (iovcnt && !iov))
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	ret = dio_check(file, off, len, write);
	if (!ret)
		ret = dio_ctl_get(gfs, &ctl);
	if (ret)
		return ret;
	dio = dio_alloc(ctl, file, iov, iovcnt, off, len, flags);
	if (!dio)
		return -ENOMEM;
	dio->end = sync ? dio_wake : end;
	dio->end_arg = sync ? sync : arg;
	dio->help = sync && !write ? &sync->help : NULL;
	atomic_fetch_add(&ctl->requests, 1);
	atomic_fetch_add(&ctl->inflight, 1);
	atomic_fetch_add(write ? &gfs->ctr.writes : &gfs->ctr.reads, 1);
	if (write) {
		ret = dio_write_begin(dio);
		if (!ret)
			ret = dio_write_iter(dio, dio->flags & DIO_SHARED);
	} else {
		ret = dio_read_begin(dio);
		if (!ret)
			ret = dio_read_iter(dio);
	}
	if (ret)
		dio_set_error(dio, ret);
	if (!sync) {
		/* inode_dio_begin: truncate and friends wait for it once they hold the lock. */
		dio->flags |= DIO_ASYNC;
		atomic_fetch_add(&gi->dio_inflight, 1);
		meta_inode_unlock(gi->mi);
	}
	dio_put(dio, false);
	return 0;
}

int dio_submit_read(struct gfs_file *file, const struct iovec *iov, int iovcnt, uint64_t off,
		    dio_end_fn end, void *arg)
{
	return dio_submit(file, iov, iovcnt, off, 0, end, arg, NULL);
}

int dio_submit_write(struct gfs_file *file, const struct iovec *iov, int iovcnt, uint64_t off,
		     dio_end_fn end, void *arg)
{
	return dio_submit(file, iov, iovcnt, off, DIO_WRITE, end, arg, NULL);
}

int dio_submit_write_stable(struct gfs_file *file, const struct iovec *iov, int iovcnt,
			    uint64_t off, dio_end_fn end, void *arg)
{
	return dio_submit(file, iov, iovcnt, off, DIO_WRITE | DIO_STABLE, end, arg, NULL);
}

/*
 * Wait for a sync request. Its waiter polls the way core/poll.h says (spin for short requests,
 * nap then poll for longer ones), so that the completion thread's callback needs no futex
 * wake-up; only one waiter of a mount polls at a time, so many FUSE workers never fill the CPUs
 * with polling while the completion thread waits for one. Between polls, the poller takes a
 * share of its read's verification when the completion thread offers one (struct
 * dio_help), which it can only do before the request completes. done is read under the lock at
 * the end: dio_wake unlocks after its last touch of w, and w lives on our stack.
 */
static void dio_wait_sync(struct dio_ctl *ctl, struct dio_waiter *w)
{
	uint64_t start = gfs_now_ns(), nap_ns = 0;
	bool expected = false, poller;

	poller = gfs_poll_step(&ctl->sync_wait, 0, &nap_ns) != GFS_POLL_SLEEP &&
		 atomic_compare_exchange_strong(&ctl->sync_poller, &expected, true);
	pthread_mutex_lock(&w->lock);
	while (poller && !atomic_load_explicit(&w->done, memory_order_acquire)) {
		enum gfs_poll_step step =
			gfs_poll_step(&ctl->sync_wait, gfs_now_ns() - start, &nap_ns);
		if (step == GFS_POLL_SLEEP)
			break;
		if (step == GFS_POLL_NAP) {
			struct timespec until = gfs_deadline_after(nap_ns);

			w->sleeping = true;
			pthread_cond_timedwait(&w->cond, &w->lock, &until);
			w->sleeping = false;
			continue;
		}
		pthread_mutex_unlock(&w->lock);
		dio_help_run(&w->help);
		gfs_poll_pause();
		pthread_mutex_lock(&w->lock);
	}
	if (poller)
		atomic_store(&ctl->sync_poller, false);
	w->sleeping = true;
	while (!atomic_load_explicit(&w->done, memory_order_acquire))
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	gfs_poll_note(&ctl->sync_wait, gfs_now_ns() - start);
}

/*
 * Submit and wait with the inode lock held across the whole request, so that a sync direct
 * write is atomic with respect to buffered I/O, truncate and fallocate of the file. The
 * completion side never takes the inode lock (conversion, invalidation and writeback do not),
 * so waiting with it held can not deadlock.
 */
static ssize_t dio_rw_sync(struct gfs_file *file, struct iovec *iov, uint64_t off, unsigned flags)
{
	struct dio_waiter w = {.sleeping = false};
	int ret;

	atomic_init(&w.done, false);
	atomic_init(&w.help.state, DIO_HELP_NONE);
	pthread_mutex_init(&w.lock, NULL);
	gfs_cond_init_monotonic(&w.cond); /* the naps of dio_wait_sync */
	ret = dio_submit(file, iov, 1, off, flags, NULL, NULL, &w);
	if (!ret) {
		/* Submitted: the control block exists (dio_ctl_get in dio_submit). */
		dio_wait_sync(atomic_load(&file->gi->gfs->dio), &w);
		meta_inode_unlock(file->gi->mi);
	}
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	return ret ? ret : w.result;
}

ssize_t dio_read(struct gfs_file *file, void *buf, size_t len, uint64_t off)
{
	struct iovec iov = {buf, len};

	return dio_rw_sync(file, &iov, off, 0);
}

/*
 * The lent read is a sync read whose caller's buffer is a bounce slot taken first: its pieces
 * land where the caller's bytes go (dio_piece_alloc), holes are zeroed there, and delivery
 * verifies in place instead of copying. The slot is the caller's until dio_lend_release.
 */
ssize_t dio_read_lend(struct gfs_file *file, size_t len, uint64_t off, struct dio_lend *out)
{
	struct dio_ctl *ctl;
	struct dio_bounce b;
	struct iovec iov;
	ssize_t ret = dio_ctl_get(file->gi->gfs, &ctl);

	if (ret)
		return ret;
	if (len > ctl->pool.slot_bytes)
		return -E2BIG;
	dio_pool_get(&ctl->pool, &b);
	iov = (struct iovec){b.data, len};
	ret = dio_rw_sync(file, &iov, off, DIO_LEND);
	if (ret < 0) {
		dio_pool_put(&ctl->pool, &b);
		return ret;
	}
	atomic_fetch_add_explicit(&file->gi->gfs->ctr.dio_reads_lent, 1, memory_order_relaxed);
	*out = (struct dio_lend){.data = b.data, .ctl = ctl, .slot = b.idx};
	return ret;
}

void dio_lend_release(struct dio_lend *lend)
{
	struct dio_bounce b = {.idx = lend->slot};

	dio_pool_put(&lend->ctl->pool, &b);
	lend->data = NULL;
}

ssize_t dio_write(struct gfs_file *file, const void *buf, size_t len, uint64_t off, bool stable)
{
	struct iovec iov = {(void *)buf, len};

	return dio_rw_sync(file, &iov, off, stable ? DIO_WRITE | DIO_STABLE : DIO_WRITE);
}
