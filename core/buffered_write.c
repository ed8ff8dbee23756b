/* SPDX-License-Identifier: MIT */
/*
 * buffered_write.c - buffered writes and zeroing through the folio cache (iomap_write_iter,
 * iomap_write_begin / __iomap_write_begin / __iomap_write_end, iomap_zero_range,
 * iomap_truncate_page).
 *
 * write_begin gets the folio locked, waits for its writeback (PI is being computed over its
 * data: a writer must not change it), and checks the mapping's validity cookie under the folio
 * lock: a stale mapping makes the iterator remap without progress. A write covering the whole
 * folio needs nothing else and allocates no per-block state. Otherwise only the blocks that
 * are neither uptodate nor fully overwritten are prepared: blocks of holes, unwritten, delalloc
 * or newly allocated extents and blocks at or past EOF are zeroed, mapped blocks are read and
 * PI-verified. write_end marks the copied range uptodate and dirty and grows the visible size.
 *
 * Zero range keeps a struct folio_batch on its stack: over an unwritten extent, the begin op
 * collects the dirty (or writeback) folios with one cache_fill_dirty_folios() lookup and trims
 * the mapping where the lookup stopped; only those folios are zeroed, the clean rest of the
 * unwritten range and every hole are skipped without I/O and without creating a folio.
 */
#include <errno.h>
#include <string.h>

#include "core/buffered.h"
#include "core/bug.h"
#include "core/gfs_internal.h"
#include "core/iomap.h"

static bool write_block_needs_zeroing(const struct meta_map *map, uint64_t pos, uint64_t isize)
{
	return map->type != META_MAP_MAPPED || (map->flags & META_MAP_F_NEW) || pos >= isize;
}

/* __iomap_write_begin: prepares the blocks of [off, off + len) the copy does not cover. */
static int write_prepare_blocks(struct gfs_inode *gi, struct folio *folio,
				const struct meta_map *map, unsigned off, unsigned len)
{
	unsigned bs = folio_block_size(folio), end = off + len;
	uint64_t isize = meta_size_read(gi->mi);
	char *data = folio_data(folio);
	int ret;

	if ((off == 0 && len == folio_size(folio)) || folio_is_uptodate(folio))
		return 0;
	for (unsigned b = gfs_round_down(off, bs); b < end; b += bs) {
		uint64_t bpos = folio_pos(folio) + b;

		if (folio_block_is_uptodate(folio, b / bs))
			continue;
		if (off <= b && b + bs <= end)
			continue; /* fully overwritten by the copy */
		if (write_block_needs_zeroing(map, bpos, isize)) {
			if (b < off)
				memset(data + b, 0, off - b);
			if (end < b + bs)
				memset(data + end, 0, b + bs - end);
		} else {
			ret = buffered_read_blocks_sync(gi, folio, b, bs, map);
			if (ret)
				return ret;
		}
		ret = folio_mark_uptodate_range(folio, b, bs);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * iomap_write_begin: the locked folio for [pos, pos + len) (len within one folio), or NULL in
 * *out when the mapping went stale (the iterator remaps).
 */
static int write_begin(struct gfs_inode *gi, struct iomap_iter *iter, uint64_t pos, unsigned len,
		       struct folio *batch_folio, struct folio **out)
{
	unsigned fsize = cache_folio_size(gi->gfs->cache);
	struct folio *folio = batch_folio;
	int ret;

	*out = NULL;
	if (folio) {
		folio_get(folio);
		folio_lock(folio);
		if (folio->mapping != gi->mapping) {
			/* Truncated meanwhile: nothing left to zero there. */
			folio_unlock(folio);
			folio_put(folio);
			return 0;
		}
	} else {
		ret = cache_get_folio(gi->mapping, pos / fsize, CACHE_GET_CREATE | CACHE_GET_LOCK,
				      &folio);
		if (ret)
			return ret;
	}
	folio_wait_writeback(folio);
	if (!iomap_iter_valid(iter)) {
		folio_unlock(folio);
		folio_put(folio);
		iomap_iter_set_stale(iter);
		return 0;
	}
	ret = write_prepare_blocks(gi, folio, &iter->iomap, pos & (fsize - 1), len);
	if (ret) {
		folio_unlock(folio);
		folio_put(folio);
		return ret;
	}
	*out = folio;
	return 0;
}

/*
 * __iomap_write_end, plus the size update of iomap_write_iter when extend is set; unlocks and
 * puts the folio.
 */
static int write_end(struct gfs_inode *gi, struct folio *folio, uint64_t pos, unsigned len,
		     bool extend)
{
	unsigned off = pos & (folio_size(folio) - 1);
	int ret;

	ret = folio_mark_uptodate_range(folio, off, len);
	if (!ret)
		ret = folio_mark_dirty_range(folio, off, len);
	if (!ret && extend && pos + len > meta_size_read(gi->mi))
		meta_size_extend(gi->mi, pos + len);
	folio_unlock(folio);
	folio_put(folio);
	return ret;
}

/* The body of a buffered write over one mapping. */
static int write_iter(struct gfs_inode *gi, struct iomap_iter *iter, const char *src)
{
	unsigned fsize = cache_folio_size(gi->gfs->cache);
	uint64_t start = iter->pos;
	uint64_t n;

	while ((n = iomap_length(iter))) {
		uint64_t pos = iter->pos;
		unsigned chunk = gfs_min(n, fsize - (pos & (fsize - 1)));
		struct folio *folio;
		int ret;

		ret = write_begin(gi, iter, pos, chunk, NULL, &folio);
		if (ret)
			return ret;
		if (!folio)
			return 0; /* stale: remap */
		memcpy((char *)folio_data(folio) + (pos & (fsize - 1)), src + (pos - start), chunk);
		ret = write_end(gi, folio, pos, chunk, true);
		if (ret)
			return ret;
		ret = iomap_iter_advance(iter, chunk);
		if (ret)
			return ret;
		/* No folio lock held: the writer may be throttled here. */
		cache_balance_dirty(gi->gfs->cache);
	}
	return 0;
}

ssize_t buffered_write(struct gfs_inode *gi, const void *buf, size_t len, uint64_t pos)
{
	struct iomap_iter iter = {
		.inode = gi->mi,
		.pos = pos,
		.len = len,
		.flags = META_MAP_WRITE,
	};
	int ret;

	while ((ret = iomap_iter(&iter, &iomap_meta_ops)) > 0)
		iter.status = write_iter(gi, &iter, (const char *)buf + (iter.pos - pos));
	if (iter.pos > pos)
		return iter.pos - pos;
	return ret ? ret : -EIO;
}

/* ---- zero range ---- */

/* The begin op of zero range: over unwritten extents, collect the dirty folio batch. */
static int zero_begin(struct iomap_iter *iter, uint64_t pos, uint64_t len, unsigned flags,
		      struct meta_map *map)
{
	struct gfs_inode *gi = iter->private;
	uint64_t start = pos, end;
	int ret;

	ret = meta_map_begin(iter->inode, pos, len, flags | META_MAP_REPORT, map);
	if (ret || map->type != META_MAP_UNWRITTEN)
		return ret;
	end = gfs_min(map->offset + map->length, pos + len);
	folio_batch_init(iter->fbatch);
	cache_fill_dirty_folios(gi->mapping, &start, end, iter->fbatch);
	/* Trim the mapping where the lookup stopped: the next call continues there. */
	if (start < end && start > pos)
		map->length = start - map->offset;
	return 0;
}

static const struct iomap_ops zero_ops = {
	.begin = zero_begin,
};

/* Zeroes [pos, pos + len) (inside one folio) through write_begin/write_end. */
static int zero_folio_range(struct gfs_inode *gi, struct iomap_iter *iter, uint64_t pos,
			    unsigned len, struct folio *batch_folio, bool *stale)
{
	struct folio *folio;
	int ret;

	ret = write_begin(gi, iter, pos, len, batch_folio, &folio);
	if (ret)
		return ret;
	if (!folio) {
		*stale = iter->stale;
		return 0;
	}
	memset((char *)folio_data(folio) + (pos & (folio_size(folio) - 1)), 0, len);
	/* Zeroing never changes the size (iomap_zero_iter uses __iomap_write_end). */
	return write_end(gi, folio, pos, len, false);
}

/* Over an unwritten mapping: zero only the batch's folios, skip the rest. */
static int zero_iter_batch(struct gfs_inode *gi, struct iomap_iter *iter)
{
	struct folio_batch *fb = iter->fbatch;
	uint64_t end = iter->pos + iomap_length(iter);

	for (unsigned i = 0; i < fb->nr; i++) {
		struct folio *folio = fb->folios[i];
		uint64_t fstart = folio_pos(folio), fend = fstart + folio_size(folio);
		uint64_t from = fstart > iter->pos ? fstart : iter->pos;
		uint64_t to = gfs_min(fend, end);
		bool stale = false;
		int ret;

		if (from >= to)
			continue;
		ret = iomap_iter_advance(iter, from - iter->pos); /* skip the clean gap */
		if (!ret)
			ret = zero_folio_range(gi, iter, from, to - from, folio, &stale);
		if (ret || stale)
			return ret;
		ret = iomap_iter_advance(iter, to - from);
		if (ret)
			return ret;
	}
	return iomap_iter_advance(iter, end - iter->pos);
}

static int zero_iter(struct gfs_inode *gi, struct iomap_iter *iter)
{
	unsigned fsize = cache_folio_size(gi->gfs->cache);
	uint64_t n;

	if (iter->iomap.type == META_MAP_HOLE)
		return iomap_iter_advance(iter, iomap_length(iter)); /* already zeros */
	if (iter->iomap.type == META_MAP_UNWRITTEN)
		return zero_iter_batch(gi, iter);
	while ((n = iomap_length(iter))) {
		unsigned chunk = gfs_min(n, fsize - (iter->pos & (fsize - 1)));
		bool stale = false;
		int ret;

		ret = zero_folio_range(gi, iter, iter->pos, chunk, NULL, &stale);
		if (ret || stale)
			return ret;
		ret = iomap_iter_advance(iter, chunk);
		if (ret)
			return ret;
	}
	return 0;
}

int buffered_zero_range(struct gfs_inode *gi, uint64_t pos, uint64_t len)
{
	struct folio_batch fbatch; /* on the stack: no allocation (iomap_zero_range) */
	struct iomap_iter iter = {
		.inode = gi->mi,
		.pos = pos,
		.len = len,
		.fbatch = &fbatch,
		.private = gi,
	};
	int ret;

	folio_batch_init(&fbatch);
	while ((ret = iomap_iter(&iter, &zero_ops)) > 0)
		iter.status = zero_iter(gi, &iter);
	return ret;
}

int buffered_truncate_page(struct gfs_inode *gi, uint64_t pos)
{
	uint64_t bs = gi->gfs->block_size;

	if (!(pos & (bs - 1)))
		return 0;
	return buffered_zero_range(gi, pos, gfs_round_up(pos, bs) - pos);
}
