/* SPDX-License-Identifier: MIT */
/*
 * iomap.h - the mapping iterator (fs/iomap/iter.c): walk a byte range of a file one mapping at
 * a time.
 *
 *	struct iomap_iter iter = { .inode = mi, .pos = pos, .len = len, .flags = META_MAP_WRITE };
 *	while ((ret = iomap_iter(&iter, &ops)) > 0)
 *		iter.status = body(&iter);	// calls iomap_iter_advance(&iter, bytes done)
 *
 * iomap_iter() ends the previous mapping (ops->end with the bytes the body advanced), then
 * stops when the body failed (returns its status), when the range is done (0) or when the body
 * made no progress (0) -- unless the body marked the mapping stale (iomap_iter_set_stale: the
 * validity cookie changed under a folio lock), in which case it maps again from the same
 * position. Otherwise it calls ops->begin for the next mapping and returns 1.
 *
 * The iterator owns no lock; callers hold the meta inode rwlock as their operation requires.
 * A folio batch (iter.fbatch, on the caller's stack) filled by a begin op is released whenever
 * the iterator moves to the next mapping (iomap_iter_clean_fbatch).
 */
#ifndef GUARDFS_IOMAP_H
#define GUARDFS_IOMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/folio.h"
#include "core/meta.h"

struct iomap_iter;

struct iomap_ops {
	int (*begin)(struct iomap_iter *iter, uint64_t pos, uint64_t len, unsigned flags,
		     struct meta_map *map);
	/* May be NULL. written = bytes the body advanced over this mapping. */
	int (*end)(struct iomap_iter *iter, uint64_t pos, uint64_t len, uint64_t written,
		   const struct meta_map *map);
};

struct iomap_iter {
	struct meta_inode *inode;
	uint64_t pos;		    /* next byte to process */
	uint64_t len;		    /* bytes left */
	unsigned flags;		    /* META_MAP_* for begin */
	int status;		    /* the body's result: 0 or a negative errno */
	uint64_t iter_start_pos;    /* pos when the current mapping was begun */
	struct meta_map iomap;	    /* the current mapping */
	bool stale;		    /* the body saw the cookie change: remap from pos */
	bool have_map;		    /* iomap is valid and ->end has not seen it */
	struct folio_batch *fbatch; /* optional, on the caller's stack */
	void *private;
};

/* The default ops: meta_map_begin / meta_map_end. */
extern const struct iomap_ops iomap_meta_ops;

/* > 0: a mapping is ready; 0: done; < 0: error. */
int iomap_iter(struct iomap_iter *iter, const struct iomap_ops *ops);

/* Bytes of the current mapping left from iter->pos (min of len and the mapping's end). */
uint64_t iomap_length(const struct iomap_iter *iter);

/* The body consumed n bytes; -EIO if n exceeds iomap_length(). */
int iomap_iter_advance(struct iomap_iter *iter, uint64_t n);

/* Under a folio lock, the body found meta_map_valid() false: remap without progress. */
static inline void iomap_iter_set_stale(struct iomap_iter *iter)
{
	iter->stale = true;
}

/* Whether the current mapping is still valid (call under the folio lock). */
bool iomap_iter_valid(const struct iomap_iter *iter);

/* Device byte address of file offset pos inside the current mapping. */
static inline uint64_t iomap_addr(const struct meta_map *map, uint64_t pos)
{
	return map->addr + (pos - map->offset);
}

#endif /* GUARDFS_IOMAP_H */
