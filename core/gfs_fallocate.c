/* SPDX-License-Identifier: MIT */
/*
 * gfs_fallocate.c - size and space changes of a file: truncate (setattr size) and fallocate,
 * keeping the folio cache coherent with the extent map (xfs_setattr_size, xfs_file_fallocate).
 *
 * Order, as the kernel does it:
 *   - shrinking: zero the tail of the new EOF block (buffered_truncate_page, which reads a
 *     mapped block and dirties it), drop the folios past the new size (cache_truncate waits for
 *     their writeback), and only then free the blocks (meta_setattr): no write can land on
 *     freed space;
 *   - growing (truncate, fallocate mode 0, zero range past EOF): zero the old EOF block's tail
 *     first, because the device block may hold bytes past the old size;
 *   - punch, zero range, collapse, insert: write back and wait for the range (so no ioend is
 *     in flight and no delalloc remains), drop its folios, change the extents, then zero the
 *     partial blocks at the edges through the cache (iomap_zero_range: only dirty folios over
 *     unwritten space, nothing for clean unwritten space and holes).
 * Every call holds the meta inode rwlock exclusive.
 */
#include <errno.h>

#include "core/buffered.h"
#include "core/dio.h"
#include "core/gfs_internal.h"
#include "core/writeback.h"

static int gfs_truncate_locked(struct gfs_inode *gi, uint64_t size)
{
	struct meta_setattr sa = {.valid = META_SET_SIZE, .size = size};
	uint64_t old = meta_size_read(gi->mi);
	int ret;

	if (size < old) {
		ret = buffered_truncate_page(gi, size);
		if (ret)
			return ret;
		cache_truncate(gi->mapping, size);
	} else if (size > old) {
		ret = buffered_truncate_page(gi, old);
		if (ret)
			return ret;
	}
	pthread_mutex_lock(&gi->size_lock);
	ret = meta_setattr(gi->gfs->meta, gi->ino, &sa, NULL);
	pthread_mutex_unlock(&gi->size_lock);
	if (!ret && size < old)
		gfs_invalidate_notify(gi, size, old - size);
	return ret;
}

int gfs_truncate(struct gfs *gfs, uint64_t ino, uint64_t size)
{
	struct gfs_inode *gi;
	int ret;

	if (gfs->opts.read_only)
		return -EROFS;
	if (size > (1ull << 63) - 1)
		return -EFBIG;
	ret = gfs_inode_lookup(gfs, ino, &gi);
	if (ret)
		return ret;
	meta_inode_lock(gi->mi);
	dio_inode_wait(gi); /* no block freed under an async direct request */
	ret = gfs_truncate_locked(gi, size);
	meta_inode_unlock(gi->mi);
	return ret;
}

/* Write back and drop every folio overlapping [start, end). */
static int gfs_flush_unmap_range(struct gfs_inode *gi, uint64_t start, uint64_t end)
{
	uint64_t fsize = cache_folio_size(gi->gfs->cache);
	int ret;

	start = gfs_round_down(start, fsize);
	end = end > UINT64_MAX - fsize ? UINT64_MAX : gfs_round_up(end, fsize);
	ret = wb_writeback_range(gi, start, end, true);
	if (ret)
		return ret;
	/* Nothing can dirty them again: we hold the inode exclusive. */
	return cache_invalidate_range(gi->mapping, start, end, NULL);
}

/* Zeroes the partial blocks at both edges of [off, off + len), below EOF. */
static int gfs_zero_edges(struct gfs_inode *gi, uint64_t off, uint64_t len)
{
	uint64_t bs = gi->gfs->block_size, end = gfs_min(off + len, meta_size_read(gi->mi));
	uint64_t head_end = off, tail_start;
	int ret = 0;

	if (off >= end)
		return 0;
	if (off & (bs - 1)) {
		head_end = gfs_min(gfs_round_up(off, bs), end);
		ret = buffered_zero_range(gi, off, head_end - off);
	}
	tail_start = gfs_round_down(end, bs);
	if (tail_start < head_end)
		tail_start = head_end;
	if (!ret && (end & (bs - 1)) && tail_start < end)
		ret = buffered_zero_range(gi, tail_start, end - tail_start);
	return ret;
}

static bool gfs_falloc_mode_ok(int mode)
{
	switch (mode) {
	case 0:
	case GFS_FALLOC_KEEP_SIZE:
	case GFS_FALLOC_PUNCH_HOLE | GFS_FALLOC_KEEP_SIZE:
	case GFS_FALLOC_ZERO_RANGE:
	case GFS_FALLOC_ZERO_RANGE | GFS_FALLOC_KEEP_SIZE:
	case GFS_FALLOC_COLLAPSE_RANGE:
	case GFS_FALLOC_INSERT_RANGE:
		return true;
	}
	return false;
}

static int gfs_falloc_check(struct gfs *gfs, int mode, uint64_t off, uint64_t len)
{
	uint64_t bs = gfs->block_size;

	if (gfs->opts.read_only)
		return -EROFS;
	if (!gfs_falloc_mode_ok(mode))
		return -EOPNOTSUPP;
	if (!len)
		return -EINVAL;
	if (off > (1ull << 63) - 1 || len > (1ull << 63) - 1 - off)
		return -EFBIG;
	if ((mode & (GFS_FALLOC_COLLAPSE_RANGE | GFS_FALLOC_INSERT_RANGE)) &&
	    ((off | len) & (bs - 1)))
		return -EINVAL;
	return 0;
}

/* Punch and zero range: flush, drop, change extents, zero the edges. */
static int gfs_falloc_zero_or_punch(struct gfs_inode *gi, int mode, uint64_t off, uint64_t len)
{
	uint64_t isize = meta_size_read(gi->mi);
	int ret;

	if ((mode & GFS_FALLOC_ZERO_RANGE) && !(mode & GFS_FALLOC_KEEP_SIZE) && off + len > isize) {
		ret = buffered_truncate_page(gi, isize);
		if (ret)
			return ret;
	}
	ret = gfs_flush_unmap_range(gi, off, off + len);
	if (!ret)
		ret = meta_fallocate(gi->mi, mode, off, len);
	if (!ret)
		ret = gfs_zero_edges(gi, off, len);
	/*
	 * The front end hears of it once the extents changed, not before: a reader that cached
	 * the range in between would otherwise keep the old bytes (even after a failure, dropping
	 * its cache is harmless).
	 */
	gfs_invalidate_notify(gi, off, len);
	return ret;
}

static int gfs_fallocate_locked(struct gfs_inode *gi, int mode, uint64_t off, uint64_t len)
{
	uint64_t isize = meta_size_read(gi->mi);
	int ret;

	switch (mode) {
	case 0:
		if (off + len > isize) {
			ret = buffered_truncate_page(gi, isize);
			if (ret)
				return ret;
		}
		/* fall through */
	case GFS_FALLOC_KEEP_SIZE:
		return meta_fallocate(gi->mi, mode, off, len);
	case GFS_FALLOC_COLLAPSE_RANGE:
	case GFS_FALLOC_INSERT_RANGE:
		/* meta refuses ranges reaching EOF; check before touching the cache. */
		if (off >= isize || (mode == GFS_FALLOC_COLLAPSE_RANGE && off + len >= isize))
			return -EINVAL;
		ret = gfs_flush_unmap_range(gi, off, UINT64_MAX);
		if (!ret)
			ret = meta_fallocate(gi->mi, mode, off, len);
		/* Everything from off moved: the front end drops it after the change. */
		gfs_invalidate_notify(gi, off, UINT64_MAX - off);
		return ret;
	default:
		return gfs_falloc_zero_or_punch(gi, mode, off, len);
	}
}

int gfs_fallocate(struct gfs_file *file, int mode, uint64_t off, uint64_t len)
{
	struct gfs_inode *gi = file->gi;
	int ret;

	ret = gfs_falloc_check(gi->gfs, mode, off, len);
	if (ret)
		return ret;
	meta_inode_lock(gi->mi);
	dio_inode_wait(gi); /* no block freed or moved under an async direct request */
	ret = gfs_fallocate_locked(gi, mode, off, len);
	meta_inode_unlock(gi->mi);
	return ret;
}
