/* SPDX-License-Identifier: MIT */
/*
 * extent.h - per-file extent map: file blocks -> device blocks, kept in memory.
 *
 * A map is a set of extents keyed by file block, each in one state (numbered as iomap's
 * types, include/linux/iomap.h):
 *   HOLE      no extent: reads as zeros, a write needs allocation (never stored);
 *   DELALLOC  space reserved but not allocated, dirty data in the cache (in memory only);
 *   MAPPED    allocated at a device block and written;
 *   UNWRITTEN allocated at a device block, reads as zeros until converted to MAPPED after
 *             the data I/O completes (DESIGN.md 4.3: data before the metadata that
 *             references it).
 *
 * Invariants (extent_map_check()): extents do not overlap, lie in [0, EXTENT_FBLK_END), have
 * a non-zero length, and are merged: no two neighbours are file-contiguous with the same
 * state and (for MAPPED and UNWRITTEN) device-contiguous. Every mutation keeps them merged.
 *
 * Cost: O((1 + k) log n) per call, n the number of extents and k the number of extents the
 * range touches (the output), collapse and insert-range included: extents do not store their
 * file block but the hole before them, and every tree node knows the blocks its subtree
 * spans, so shifting every later extent is one change to one node (XFS's
 * xfs_bmap_collapse_extents visits each of them instead). There is no limit on the number of
 * extents other than memory. Memory: sizeof(struct extent_node) = 64 bytes per extent on
 * LP64 (one rb_node, hole before, length, device block, subtree span, state), plus the
 * malloc header.
 *
 * Every successful mutation bumps the map's cookie, so a mapping returned earlier can be
 * revalidated cheaply (iomap's validity_cookie). A failed call (-EINVAL, -ENOMEM, -EFBIG)
 * changes nothing. Not thread-safe: the owning inode serialises access.
 */
#ifndef GUARDFS_EXTENT_H
#define GUARDFS_EXTENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/rbtree.h"

enum extent_state {
	EXTENT_HOLE = 0,
	EXTENT_DELALLOC = 1,
	EXTENT_MAPPED = 2,
	EXTENT_UNWRITTEN = 3,
};

/* File blocks are [0, EXTENT_FBLK_END); sums of a block and a length never overflow. */
#define EXTENT_FBLK_END (UINT64_C(1) << 63)
/* The device block of a HOLE or DELALLOC mapping. */
#define EXTENT_NO_DBLK UINT64_MAX

struct extent_mapping {
	uint64_t fblk; /* first file block */
	uint64_t len;  /* blocks */
	uint64_t dblk; /* device block of fblk, or EXTENT_NO_DBLK */
	enum extent_state state;
};

/*
 * Private to extent.c; public so that its size (the memory per extent) is visible. An
 * extent's file block is implicit: the sum of gap + len over every extent before it, plus
 * its own gap.
 */
struct extent_node {
	struct rb_node rb;
	uint64_t gap;  /* hole blocks between the previous extent's end (or 0) and this one */
	uint64_t len;  /* blocks, > 0 */
	uint64_t dblk; /* device block of the first block, or EXTENT_NO_DBLK */
	uint64_t span; /* sum of gap + len over this node's subtree */
	uint32_t state;
};

struct extent_map {
	struct rb_root root;
	uint64_t nr_extents;
	uint64_t nr_blocks[4]; /* per enum extent_state; [EXTENT_HOLE] stays 0 */
	uint64_t cookie;
};

/* A growable array of mappings that some calls append to. Zero-initialise; extent_vec_free. */
struct extent_vec {
	struct extent_mapping *v;
	size_t nr;
	size_t cap;
};

void extent_vec_free(struct extent_vec *vec);

void extent_map_init(struct extent_map *m);
void extent_map_destroy(struct extent_map *m);

/*
 * The whole extent covering @fblk, or (state HOLE, dblk EXTENT_NO_DBLK) the whole hole
 * around it: from the end of the previous extent (or 0) to the start of the next one (or
 * EXTENT_FBLK_END). -EINVAL when @fblk >= EXTENT_FBLK_END.
 */
int extent_lookup(const struct extent_map *m, uint64_t fblk, struct extent_mapping *out);

/*
 * Make [fblk, fblk + len) one extent in @state (DELALLOC, MAPPED or UNWRITTEN) at @dblk
 * (ignored for DELALLOC), replacing whatever was there; merges with its neighbours. When
 * @replaced is non-NULL, the replaced pieces (clipped to the range, every non-hole state,
 * device blocks adjusted) are appended in file order: the caller frees their device space
 * or delalloc reservation. -EINVAL for an empty or out-of-bounds range, a bad state, or a
 * device range that wraps; -ENOMEM.
 */
int extent_set(struct extent_map *m, uint64_t fblk, uint64_t len, enum extent_state state,
	       uint64_t dblk, struct extent_vec *replaced);

/*
 * Add an extent after every existing one (@fblk at or past the end of the last extent), as
 * extent_set() would but without looking for anything to replace: the fast path for loading
 * a checkpoint, which lists extents in file order. Merges with the last extent when it can.
 * -EINVAL as extent_set(), and when @fblk is before the end of the last extent; -ENOMEM.
 */
int extent_append(struct extent_map *m, uint64_t fblk, uint64_t len, enum extent_state state,
		  uint64_t dblk);

/* Make [fblk, fblk + len) a hole; the removed pieces are appended to @freed (may be NULL). */
int extent_punch(struct extent_map *m, uint64_t fblk, uint64_t len, struct extent_vec *freed);

/* UNWRITTEN -> MAPPED over [fblk, fblk + len); other states are left alone. */
int extent_convert_unwritten(struct extent_map *m, uint64_t fblk, uint64_t len);

/*
 * Remove [fblk, fblk + len) and shift every later extent down by @len (FALLOC_FL_COLLAPSE_
 * RANGE); the removed pieces are appended to @freed (may be NULL).
 */
int extent_collapse(struct extent_map *m, uint64_t fblk, uint64_t len, struct extent_vec *freed);

/*
 * Shift every extent at or after @fblk up by @len, leaving a hole (FALLOC_FL_INSERT_RANGE);
 * an extent straddling @fblk is split. -EFBIG when an extent would end past EXTENT_FBLK_END.
 */
int extent_insert_range(struct extent_map *m, uint64_t fblk, uint64_t len);

/* Punch everything from @fblk on; the removed pieces are appended to @freed (may be NULL). */
int extent_truncate(struct extent_map *m, uint64_t fblk, struct extent_vec *freed);

uint64_t extent_count(const struct extent_map *m);
/* Blocks in @state (0 for EXTENT_HOLE). */
uint64_t extent_blocks(const struct extent_map *m, enum extent_state state);
uint64_t extent_map_cookie(const struct extent_map *m);

/*
 * Call @fn for each extent ending after @from, in file order (a checkpoint writer passes 0).
 * A non-zero return from @fn stops the walk and is returned. @fn must not change the map.
 */
typedef int (*extent_fn)(const struct extent_mapping *ext, void *arg);
int extent_iterate(const struct extent_map *m, uint64_t from, extent_fn fn, void *arg);

/*
 * Validate the whole map (O(n)): tree invariants, lengths, bounds, states, device ranges,
 * subtree spans, merged neighbours, counts (overlap cannot be expressed: positions are sums
 * of lengths and holes). Returns 0 or -EUCLEAN after one gfs_err() line.
 */
int extent_map_check(const struct extent_map *m);

#endif /* GUARDFS_EXTENT_H */
