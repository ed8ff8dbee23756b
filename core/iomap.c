/* SPDX-License-Identifier: MIT */
/*
 * iomap.c - the mapping iterator, as fs/iomap/iter.c: begin -> body advances by bytes -> end.
 *
 * Invariants: iter->pos only moves forward through iomap_iter_advance(), never past the current
 * mapping; ->end sees every mapping ->begin returned exactly once, with the bytes processed
 * over it; zero progress ends the walk unless the mapping was marked stale, so a body that can
 * not make progress can never loop forever.
 */
#include <errno.h>
#include <string.h>

#include "core/iomap.h"

static int iomap_meta_begin(struct iomap_iter *iter, uint64_t pos, uint64_t len, unsigned flags,
			    struct meta_map *map)
{
	return meta_map_begin(iter->inode, pos, len, flags, map);
}

static int iomap_meta_end(struct iomap_iter *iter, uint64_t pos, uint64_t len, uint64_t written,
			  const struct meta_map *map)
{
	if (!(iter->flags & META_MAP_WRITE) || (iter->flags & META_MAP_DIRECT))
		return 0;
	return meta_map_end(iter->inode, pos, len, written, map);
}

const struct iomap_ops iomap_meta_ops = {
	.begin = iomap_meta_begin,
	.end = iomap_meta_end,
};

uint64_t iomap_length(const struct iomap_iter *iter)
{
	uint64_t end = iter->iomap.offset + iter->iomap.length;

	if (iter->pos >= end)
		return 0;
	return end - iter->pos < iter->len ? end - iter->pos : iter->len;
}

int iomap_iter_advance(struct iomap_iter *iter, uint64_t n)
{
	if (n > iomap_length(iter))
		return -EIO;
	iter->pos += n;
	iter->len -= n;
	return 0;
}

bool iomap_iter_valid(const struct iomap_iter *iter)
{
	return meta_map_valid(iter->inode, iter->iomap.cookie);
}

/* Releases a folio batch the begin op filled for the mapping just finished. */
static void iomap_iter_clean_fbatch(struct iomap_iter *iter)
{
	if (iter->fbatch)
		folio_batch_release(iter->fbatch);
}

/* Ends the previous mapping; returns > 0 to map again, 0 when done, or an error. */
static int iomap_iter_finish(struct iomap_iter *iter, const struct iomap_ops *ops)
{
	uint64_t processed = iter->pos - iter->iter_start_pos;
	uint64_t asked = processed + iter->len;
	bool stale = iter->stale;
	int ret = 0;

	if (ops->end)
		ret = ops->end(iter, iter->iter_start_pos, asked, processed, &iter->iomap);
	iter->have_map = false;
	iter->stale = false;
	iomap_iter_clean_fbatch(iter);
	if (iter->status < 0)
		return iter->status;
	if (ret < 0)
		return ret;
	if (!iter->len)
		return 0;
	if (!processed && !stale)
		return 0;
	return 1;
}

int iomap_iter(struct iomap_iter *iter, const struct iomap_ops *ops)
{
	int ret;

	if (iter->have_map) {
		ret = iomap_iter_finish(iter, ops);
		if (ret <= 0)
			return ret;
	} else if (!iter->len) {
		return 0;
	}
	iter->status = 0;
	iter->iter_start_pos = iter->pos;
	memset(&iter->iomap, 0, sizeof(iter->iomap));
	ret = ops->begin(iter, iter->pos, iter->len, iter->flags, &iter->iomap);
	if (ret < 0)
		return ret;
	/* A mapping must cover pos, or the body could not advance. */
	if (iter->iomap.offset > iter->pos || iter->iomap.offset + iter->iomap.length <= iter->pos)
		return -EIO;
	iter->have_map = true;
	return 1;
}
