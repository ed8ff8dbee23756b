/* SPDX-License-Identifier: MIT */
/*
 * gfs.c - the core API: mount and unmount, the per-inode I/O state, open files, read, write,
 * fsync and syncfs, write-error reporting and counters.
 *
 * Per-inode state (struct gfs_inode) is created on first open and kept, with its cache mapping
 * and pinned meta inode, until gfs_forget_inode() or unmount, so a file's cached data outlives
 * its open files. Reads take the meta inode rwlock shared and writes exclusive; nothing else is
 * global, so reads of one file proceed in parallel and writes to two files do too.
 *
 * Write errors (errseq, as the kernel's errseq_t / file_check_and_advance_wb_err): writeback
 * bumps the inode's error sequence and stores the error; each open file remembers the
 * sequence it last reported, and fsync returns the error once per file whenever the sequence
 * moved. A later successful writeback never resets it. A file opened while no file has
 * reported the last error starts just before it (errseq_sample's SEEN rule).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buffered.h"
#include "core/bug.h"
#include "core/dio.h"
#include "core/gfs_internal.h"
#include "core/log.h"
#include "core/writeback.h"

#define GFS_DEFAULT_CACHE (256ull << 20)
#define GFS_INODE_BUCKETS 1024u

static void gfs_fill_defaults(struct gfs_opts *o, uint32_t block_size)
{
	if (!o->cache_size)
		o->cache_size = GFS_DEFAULT_CACHE;
	if (!o->folio_size)
		o->folio_size = CACHE_DEFAULT_FOLIO_SIZE;
	if (o->folio_size < block_size)
		o->folio_size = block_size;
	if (!o->dirty_expire_ms)
		o->dirty_expire_ms = 5000;
	if (!o->flusher_interval_ms)
		o->flusher_interval_ms = 500;
	if (!o->pi_read_tries)
		o->pi_read_tries = PI_READ_TRIES;
}

static int gfs_setup(struct gfs *gfs)
{
	const struct ns_format *fmt = ns_get_format(gfs->ns);
	struct cache_options co = {0};
	int ret;

	gfs->block_size = meta_block_size(gfs->meta);
	gfs->lba_size = fmt->pi.lba_size;
	gfs->md_size = fmt->pi.md_size;
	gfs->pi_on = fmt->pi.type != PI_TYPE_NONE;
	ret = pi_ctx_init(&gfs->pi, &fmt->pi);
	if (ret)
		return ret;
	gfs->max_transfer = gfs_round_down(fmt->max_transfer, gfs->block_size);
	if (gfs->max_transfer < gfs->block_size)
		gfs->max_transfer = gfs->block_size;
	gfs_fill_defaults(&gfs->opts, gfs->block_size);
	co.budget_bytes = gfs->opts.cache_size;
	co.folio_size = gfs->opts.folio_size;
	co.block_size = gfs->block_size;
	co.dirty_background_bytes = gfs->opts.dirty_background_bytes;
	co.dirty_limit_bytes = gfs->opts.dirty_bytes;
	ret = cache_create(&co, &gfs->cache);
	if (ret)
		return ret;
	gfs->inodes_mask = GFS_INODE_BUCKETS - 1;
	gfs->inodes = calloc(GFS_INODE_BUCKETS, sizeof(*gfs->inodes));
	if (!gfs->inodes)
		return -ENOMEM;
	pthread_mutex_init(&gfs->inodes_lock, NULL);
	return wb_start(gfs);
}

int gfs_mount(const char *path, const struct gfs_opts *opts, struct gfs **out)
{
	struct meta_mount_opts mo = {0};
	struct gfs *gfs;
	int ret;

	gfs = calloc(1, sizeof(*gfs));
	if (!gfs)
		return -ENOMEM;
	if (opts)
		gfs->opts = *opts;
	if (gfs->opts.pi_read_tries > GFS_MAX_PI_READ_TRIES) {
		gfs_err("%s: cannot read data that fails its PI check %u times: at most %u", path,
			gfs->opts.pi_read_tries, GFS_MAX_PI_READ_TRIES);
		ret = -EINVAL;
		goto out_free;
	}
	mo.read_only = gfs->opts.read_only;
	mo.strict = gfs->opts.strict;
	mo.queue_depth = gfs->opts.queue_depth;
	ret = meta_mount(path, &mo, &gfs->meta);
	if (ret)
		goto out_free;
	gfs->ns = meta_get_ns(gfs->meta);
	ret = gfs_setup(gfs);
	if (ret)
		goto out_unmount;
	*out = gfs;
	return 0;

out_unmount:
	if (gfs->cache)
		cache_destroy(gfs->cache);
	free(gfs->inodes);
	meta_unmount(gfs->meta);
out_free:
	free(gfs);
	return ret;
}

/* Drops the cache of an inode out of the table (waiting for its writeback) and unpins it. */
static void gfs_inode_free(struct gfs_inode *gi)
{
	cache_mapping_destroy(gi->mapping);
	meta_inode_put(gi->mi);
	pthread_mutex_destroy(&gi->size_lock);
	free(gi);
}

/* Every inode of the table, removed one by one; the flusher is stopped. */
static void gfs_drop_inodes(struct gfs *gfs)
{
	for (unsigned h = 0; h <= gfs->inodes_mask; h++) {
		struct gfs_inode *gi;

		while ((gi = gfs->inodes[h])) {
			gfs->inodes[h] = gi->hash_next;
			gfs_inode_free(gi);
		}
	}
}

static void gfs_teardown(struct gfs *gfs)
{
	dio_ctl_destroy(gfs->dio); /* first: its completions write back through wb */
	wb_stop(gfs);
	gfs_drop_inodes(gfs);
	cache_destroy(gfs->cache);
	pthread_mutex_destroy(&gfs->inodes_lock);
	free(gfs->inodes);
}

int gfs_unmount(struct gfs *gfs)
{
	int ret = gfs->opts.read_only ? 0 : gfs_syncfs(gfs), err;

	gfs_teardown(gfs);
	err = meta_unmount(gfs->meta);
	free(gfs);
	return ret ? ret : err;
}

void gfs_abandon(struct gfs *gfs)
{
	/* The ioends in flight complete (wb_stop waits); everything still dirty is dropped. */
	gfs_teardown(gfs);
	meta_abandon(gfs->meta);
	free(gfs);
}

struct meta_fs *gfs_meta(struct gfs *gfs)
{
	return gfs->meta;
}

struct ns *gfs_ns(struct gfs *gfs)
{
	return gfs->ns;
}

uint32_t gfs_block_size(const struct gfs *gfs)
{
	return gfs->block_size;
}

/* ---- inodes ---- */

static struct gfs_inode *gfs_inode_find(struct gfs *gfs, uint64_t ino)
{
	struct gfs_inode *gi = gfs->inodes[ino & gfs->inodes_mask];

	while (gi && gi->ino != ino)
		gi = gi->hash_next;
	return gi;
}

static int gfs_inode_create(struct gfs *gfs, uint64_t ino, struct gfs_inode **out)
{
	struct meta_attr attr;
	struct gfs_inode *gi;
	int ret;

	ret = meta_getattr(gfs->meta, ino, &attr);
	if (ret)
		return ret;
	if (S_ISDIR(attr.mode))
		return -EISDIR;
	if (!S_ISREG(attr.mode))
		return -EINVAL;
	gi = calloc(1, sizeof(*gi));
	if (!gi)
		return -ENOMEM;
	gi->gfs = gfs;
	gi->ino = ino;
	pthread_mutex_init(&gi->size_lock, NULL);
	ret = meta_inode_get(gfs->meta, ino, &gi->mi);
	if (ret)
		goto out_free;
	ret = cache_mapping_create(gfs->cache, ino, gi, &gi->mapping);
	if (ret)
		goto out_put;
	*out = gi;
	return 0;

out_put:
	meta_inode_put(gi->mi);
out_free:
	pthread_mutex_destroy(&gi->size_lock);
	free(gi);
	return ret;
}

int gfs_inode_lookup(struct gfs *gfs, uint64_t ino, struct gfs_inode **out)
{
	struct gfs_inode *gi, *other;
	int ret;

	pthread_mutex_lock(&gfs->inodes_lock);
	gi = gfs_inode_find(gfs, ino);
	pthread_mutex_unlock(&gfs->inodes_lock);
	if (gi)
		goto found;
	ret = gfs_inode_create(gfs, ino, &gi);
	if (ret)
		return ret;
	pthread_mutex_lock(&gfs->inodes_lock);
	other = gfs_inode_find(gfs, ino);
	if (!other) {
		gi->hash_next = gfs->inodes[ino & gfs->inodes_mask];
		gfs->inodes[ino & gfs->inodes_mask] = gi;
		gfs->nr_inodes++;
	}
	pthread_mutex_unlock(&gfs->inodes_lock);
	if (other) {
		gfs_inode_free(gi);
		gi = other;
	}
found:
	*out = gi;
	return 0;
}

int gfs_forget_inode(struct gfs *gfs, uint64_t ino)
{
	struct gfs_inode *gi, **pp;
	struct meta_attr attr;
	int ret = 0;

	wb_pause(gfs);
	pthread_mutex_lock(&gfs->inodes_lock);
	for (pp = &gfs->inodes[ino & gfs->inodes_mask]; *pp && (*pp)->ino != ino;
	     pp = &(*pp)->hash_next)
		;
	gi = *pp;
	if (gi && atomic_load(&gi->open_count)) {
		ret = -EBUSY;
	} else if (gi) {
		*pp = gi->hash_next;
		gfs->nr_inodes--;
	}
	pthread_mutex_unlock(&gfs->inodes_lock);
	wb_resume(gfs);
	if (!gi || ret)
		return ret;
	/* A file still linked keeps its data: write it back before the cache forgets it. */
	if (!meta_getattr(gfs->meta, ino, &attr) && attr.nlink > 0)
		ret = wb_writeback_range(gi, 0, UINT64_MAX, true);
	gfs_inode_free(gi);
	return ret;
}

int gfs_collect_inodes(struct gfs *gfs, struct gfs_inode ***out, size_t *nr)
{
	struct gfs_inode **list;
	size_t n = 0;

	pthread_mutex_lock(&gfs->inodes_lock);
	list = malloc((gfs->nr_inodes + 1) * sizeof(*list));
	if (list)
		for (unsigned h = 0; h <= gfs->inodes_mask; h++)
			for (struct gfs_inode *gi = gfs->inodes[h]; gi; gi = gi->hash_next)
				list[n++] = gi;
	pthread_mutex_unlock(&gfs->inodes_lock);
	if (!list)
		return -ENOMEM;
	*out = list;
	*nr = n;
	return 0;
}

struct meta_inode *gfs_inode_meta(struct gfs_inode *gi)
{
	return gi->mi;
}

uint64_t gfs_inode_ino(const struct gfs_inode *gi)
{
	return gi->ino;
}

void gfs_inode_set_error(struct gfs_inode *gi, int error)
{
	atomic_store(&gi->wb_err, error);
	/* before the sequence moves: gfs_open reads it after */
	atomic_store(&gi->wb_err_unseen, true);
	atomic_fetch_add(&gi->wb_err_seq, 1);
}

int gfs_inode_write_and_wait(struct gfs_inode *gi, uint64_t start, uint64_t end)
{
	return wb_writeback_range(gi, start, end, true);
}

int gfs_inode_drop_cache(struct gfs_inode *gi, uint64_t start, uint64_t end)
{
	int ret = wb_writeback_range(gi, start, end, true);

	return ret ? ret : cache_invalidate_range(gi->mapping, start, end, NULL);
}

void gfs_set_inval_hook(struct gfs *gfs, gfs_inval_fn fn, void *arg)
{
	gfs->inval_fn = fn;
	gfs->inval_arg = arg;
}

void gfs_set_upper_drops_dio(struct gfs *gfs, unsigned page_size)
{
	GFS_BUG_ON(page_size & (page_size - 1));
	gfs->upper_dio_page = page_size;
}

void gfs_invalidate_notify(struct gfs_inode *gi, uint64_t off, uint64_t len)
{
	if (gi->gfs->inval_fn)
		gi->gfs->inval_fn(gi->gfs->inval_arg, gi->ino, off, len);
}

/* ---- open files ---- */

/*
 * errseq_sample: where a new file starts in the inode's error sequence. An error no file has
 * reported yet is still reported to it (the writer may have closed before writeback failed);
 * one that was reported is not.
 */
static uint64_t gfs_file_sample_error(struct gfs_inode *gi)
{
	uint64_t seq = atomic_load(&gi->wb_err_seq);

	return seq && atomic_load(&gi->wb_err_unseen) ? seq - 1 : seq;
}

int gfs_open(struct gfs *gfs, uint64_t ino, unsigned flags, struct gfs_file **out)
{
	struct gfs_inode *gi;
	struct gfs_file *file;
	int ret;

	ret = gfs_inode_lookup(gfs, ino, &gi);
	/* Direct I/O (core/dio): its bounce pool and completion workers, once per mount. */
	if (!ret && (flags & GFS_O_DIRECT)) {
		struct dio_ctl *ctl;

		ret = dio_ctl_get(gfs, &ctl);
	}
	if (ret)
		return ret;
	file = calloc(1, sizeof(*file));
	if (!file)
		return -ENOMEM;
	file->gi = gi;
	file->flags = flags;
	atomic_init(&file->wb_err_seen, gfs_file_sample_error(gi));
	pthread_mutex_init(&file->ra_lock, NULL);
	atomic_fetch_add(&gi->open_count, 1);
	if (!(flags & GFS_O_DIRECT))
		atomic_fetch_add(&gi->cached_opens, GFS_CACHED_OPEN);
	*out = file;
	return 0;
}

void gfs_release(struct gfs_file *file)
{
	atomic_fetch_sub(&file->gi->open_count, 1);
	if (!(file->flags & GFS_O_DIRECT))
		atomic_fetch_sub(&file->gi->cached_opens, 1);
	pthread_mutex_destroy(&file->ra_lock);
	free(file);
}

struct gfs_inode *gfs_file_inode(const struct gfs_file *file)
{
	return file->gi;
}

unsigned gfs_file_flags(const struct gfs_file *file)
{
	return file->flags;
}

/* ---- data ---- */

ssize_t gfs_read(struct gfs_file *file, void *buf, size_t len, uint64_t off)
{
	struct gfs_inode *gi = file->gi;
	struct gfs *gfs = gi->gfs;
	ssize_t ret = 0;
	uint64_t isize;

	if (file->flags & GFS_O_DIRECT)
		return dio_read(file, buf, len, off);
	meta_inode_lock_shared(gi->mi);
	isize = meta_size_read(gi->mi);
	if (off < isize && len) {
		len = gfs_min(len, isize - off);
		ret = buffered_read(file, buf, len, off, isize);
	}
	meta_inode_unlock(gi->mi);
	atomic_fetch_add(&gfs->ctr.reads, 1);
	if (ret > 0)
		atomic_fetch_add(&gfs->ctr.bytes_read, ret);
	return ret;
}

#define GFS_MAX_FILE_SIZE ((1ull << 63) - 1)

static ssize_t gfs_write_buf(struct gfs_file *file, const void *buf, size_t len, uint64_t off,
			     bool stable)
{
	struct gfs_inode *gi = file->gi;
	struct gfs *gfs = gi->gfs;
	uint64_t isize;
	ssize_t ret;

	if (gfs->opts.read_only)
		return -EROFS;
	if (!len)
		return 0;
	if (off > GFS_MAX_FILE_SIZE || len > GFS_MAX_FILE_SIZE - off)
		return -EFBIG;
	if (file->flags & GFS_O_DIRECT)
		return dio_write(file, buf, len, off, stable);
	meta_inode_lock(gi->mi);
	dio_inode_wait(gi); /* a block being read-modify-written is not under direct I/O */
	isize = meta_size_read(gi->mi);
	/* The old EOF block's tail may hold stale bytes on the device: zero it first. */
	ret = off > isize ? buffered_truncate_page(gi, isize) : 0;
	if (!ret)
		ret = buffered_write(gi, buf, len, off);
	meta_inode_unlock(gi->mi);
	atomic_fetch_add(&gfs->ctr.writes, 1);
	if (ret > 0) {
		atomic_fetch_add(&gfs->ctr.bytes_written, ret);
		if (file->flags & GFS_O_DSYNC) {
			int err = gfs_fsync(file, true);

			if (err)
				ret = err;
		}
	}
	return ret;
}

ssize_t gfs_write(struct gfs_file *file, const void *buf, size_t len, uint64_t off)
{
	return gfs_write_buf(file, buf, len, off, false);
}

ssize_t gfs_write_stable(struct gfs_file *file, const void *buf, size_t len, uint64_t off)
{
	return gfs_write_buf(file, buf, len, off, true);
}

/* file_check_and_advance_wb_err: the inode's write error, once per file. */
static int gfs_file_check_error(struct gfs_file *file)
{
	struct gfs_inode *gi = file->gi;
	uint64_t seq = atomic_load(&gi->wb_err_seq);
	uint64_t seen = atomic_load(&file->wb_err_seen);

	if (seq == seen)
		return 0;
	if (!atomic_compare_exchange_strong(&file->wb_err_seen, &seen, seq))
		return 0; /* a concurrent fsync of this file reports it */
	atomic_store(&gi->wb_err_unseen, false);
	return atomic_load(&gi->wb_err) ?: -EIO;
}

int gfs_fsync(struct gfs_file *file, bool datasync)
{
	struct gfs_inode *gi = file->gi;
	int ret, err;

	if (gi->gfs->opts.read_only)
		return 0;
	ret = wb_writeback_range(gi, 0, UINT64_MAX, true);
	err = meta_fsync(gi->gfs->meta, gi->ino, datasync);
	if (!ret)
		ret = err;
	err = gfs_file_check_error(file);
	return err ? err : ret;
}

int gfs_syncfs(struct gfs *gfs)
{
	struct gfs_inode **inodes;
	int ret, err;
	size_t nr;

	if (gfs->opts.read_only)
		return 0;
	wb_pause(gfs);
	ret = gfs_collect_inodes(gfs, &inodes, &nr);
	if (!ret) {
		for (size_t i = 0; i < nr; i++) {
			err = wb_writeback_range(inodes[i], 0, UINT64_MAX, true);
			if (err && !ret)
				ret = err;
		}
		free(inodes);
	}
	wb_resume(gfs);
	err = meta_syncfs(gfs->meta);
	return ret ? ret : err;
}

void gfs_get_stats(struct gfs *gfs, struct gfs_stats *out)
{
	struct cache_stats cs;

	memset(out, 0, sizeof(*out));
	cache_get_stats(gfs->cache, &cs);
	out->reads = atomic_load(&gfs->ctr.reads);
	out->writes = atomic_load(&gfs->ctr.writes);
	out->bytes_read = atomic_load(&gfs->ctr.bytes_read);
	out->bytes_written = atomic_load(&gfs->ctr.bytes_written);
	out->readahead_folios = atomic_load(&gfs->ctr.readahead_folios);
	out->ns_reads = atomic_load(&gfs->ctr.ns_reads);
	out->pi_errors = atomic_load(&gfs->ctr.pi_errors);
	out->pi_rereads = atomic_load(&gfs->ctr.pi_rereads);
	out->pi_recovered = atomic_load(&gfs->ctr.pi_recovered);
	out->read_errors = atomic_load(&gfs->ctr.read_errors);
	out->wb_ioends = atomic_load(&gfs->ctr.wb_ioends);
	out->wb_bytes = atomic_load(&gfs->ctr.wb_bytes);
	out->wb_errors = atomic_load(&gfs->ctr.wb_errors);
	out->dio_inval_skipped = atomic_load(&gfs->ctr.dio_inval_skipped);
	out->dio_in_place = atomic_load(&gfs->ctr.dio_in_place);
	out->dio_reads_lent = atomic_load(&gfs->ctr.dio_reads_lent);
	out->dio_verify_shared = atomic_load(&gfs->ctr.dio_verify_shared);
	out->cache_hits = cs.hits;
	out->cache_misses = cs.misses;
	out->evictions = cs.evictions;
	out->throttles = cs.throttles;
	out->budget_waits = cs.budget_waits;
	out->cache_bytes = cs.bytes_used;
	out->cache_peak_bytes = cs.peak_bytes;
	out->dirty_bytes = cs.dirty_bytes;
	out->cache_budget = cs.budget_bytes;
}
