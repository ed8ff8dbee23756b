/* SPDX-License-Identifier: MIT */
/*
 * cache_range.c - walks over a range of a mapping: batched lookup (filemap_get_folios and
 * filemap_get_folios_dirty), the dirty folio batch for zero range (iomap_fill_dirty_folios),
 * invalidation (invalidate_inode_pages2_range) and truncation (truncate_inode_pages_range).
 *
 * Every walk collects at most FOLIO_BATCH_SIZE referenced folios under the mapping lock into
 * a batch on the stack, drops the lock, then locks each folio (lock order: cache.h) and
 * re-checks that it is still in the mapping. A folio leaves the index only with its lock
 * held (or, by eviction, when nobody else holds a reference), and after its writeback ended.
 */
#include <errno.h>
#include <string.h>

#include "core/bug.h"
#include "core/cache_internal.h"

/* Whether a folio belongs in a batch for `which`, looked at under the mapping lock. */
static bool cache_folio_matches(struct folio *folio, enum cache_find which)
{
	bool clean;

	switch (which) {
	case CACHE_FIND_ALL:
		return true;
	case CACHE_FIND_DIRTY:
		return folio_is_dirty(folio);
	case CACHE_FIND_WRITEBACK:
		return folio_is_writeback(folio);
	case CACHE_FIND_DIRTY_OR_WRITEBACK:
		/* As filemap_get_folios_dirty: a locked folio may be on its way to dirty. */
		if (!folio_trylock(folio))
			return true;
		clean = !folio_test_flag(folio, FOLIO_DIRTY | FOLIO_WRITEBACK);
		folio_unlock(folio);
		return !clean;
	}
	return false;
}

unsigned cache_find_folios(struct cache_mapping *mapping, uint64_t *index, uint64_t last,
			   enum cache_find which, struct folio_batch *batch)
{
	uint64_t key = *index;

	pthread_rwlock_rdlock(&mapping->lock);
	while (batch->nr < FOLIO_BATCH_SIZE) {
		struct folio *folio =
			key <= last ? cache_index_find(&mapping->index, &key, last) : NULL;

		if (!folio) {
			key = last == UINT64_MAX ? UINT64_MAX : last + 1;
			break;
		}
		if (cache_folio_matches(folio, which)) {
			folio_get(folio);
			folio_batch_add(batch, folio);
		}
		if (key == UINT64_MAX)
			break;
		key++;
	}
	pthread_rwlock_unlock(&mapping->lock);
	*index = key;
	return batch->nr;
}

unsigned cache_fill_dirty_folios(struct cache_mapping *mapping, uint64_t *start, uint64_t end,
				 struct folio_batch *batch)
{
	unsigned shift = mapping->cache->folio_shift;
	uint64_t first = *start >> shift, pos;
	unsigned nr;

	if (*start >= end)
		return batch->nr;
	nr = cache_find_folios(mapping, &first, (end - 1) >> shift, CACHE_FIND_DIRTY_OR_WRITEBACK,
			       batch);
	pos = first > (UINT64_MAX >> shift) ? UINT64_MAX : first << shift;
	*start = pos < end ? pos : end;
	return nr;
}

bool cache_range_needs_writeback(struct cache_mapping *mapping, uint64_t start, uint64_t end)
{
	unsigned shift = mapping->cache->folio_shift;
	uint64_t key = start >> shift, last;
	struct folio *folio;
	bool found = false;

	if (start >= end)
		return false;
	last = (end - 1) >> shift;
	pthread_rwlock_rdlock(&mapping->lock);
	while (!found && key <= last && (folio = cache_index_find(&mapping->index, &key, last))) {
		found = folio_test_flag(folio, FOLIO_DIRTY | FOLIO_WRITEBACK);
		if (key == last)
			break;
		key++;
	}
	pthread_rwlock_unlock(&mapping->lock);
	return found;
}

void cache_wait_writeback_range(struct cache_mapping *mapping, uint64_t start, uint64_t end)
{
	unsigned shift = mapping->cache->folio_shift;
	uint64_t index = start >> shift, last;
	struct folio_batch batch;

	if (start >= end)
		return;
	last = (end - 1) >> shift;
	folio_batch_init(&batch);
	while (index <= last &&
	       cache_find_folios(mapping, &index, last, CACHE_FIND_WRITEBACK, &batch)) {
		for (unsigned i = 0; i < batch.nr; i++)
			folio_wait_writeback(batch.folios[i]);
		folio_batch_release(&batch);
	}
}

/* Removes a locked folio from its mapping and drops the index's reference. */
static void cache_delete_folio(struct cache_mapping *mapping, struct folio *folio)
{
	struct cache *cache = mapping->cache;

	GFS_BUG_ON(!folio_is_locked(folio));
	GFS_BUG_ON(folio_test_flag(folio, FOLIO_DIRTY | FOLIO_WRITEBACK));
	pthread_rwlock_wrlock(&mapping->lock);
	GFS_BUG_ON(cache_index_erase(&mapping->index, folio->index) != folio);
	pthread_mutex_lock(&cache->lru_lock);
	cache_lru_del(cache, folio);
	folio->mapping = NULL;
	pthread_mutex_unlock(&cache->lru_lock);
	pthread_rwlock_unlock(&mapping->lock);
	folio_put(folio); /* the caller still holds its own reference */
}

int cache_invalidate_range(struct cache_mapping *mapping, uint64_t start, uint64_t end,
			   unsigned *nr_dirty)
{
	unsigned shift = mapping->cache->folio_shift, dirty = 0;
	uint64_t index = start >> shift, last;
	struct folio_batch batch;

	folio_batch_init(&batch);
	if (start < end) {
		last = (end - 1) >> shift;
		while (index <= last &&
		       cache_find_folios(mapping, &index, last, CACHE_FIND_ALL, &batch)) {
			for (unsigned i = 0; i < batch.nr; i++) {
				struct folio *folio = batch.folios[i];

				folio_lock(folio);
				if (folio->mapping == mapping) {
					folio_wait_writeback(folio);
					if (folio_is_dirty(folio))
						dirty++;
					else
						cache_delete_folio(mapping, folio);
				}
				folio_unlock(folio);
			}
			folio_batch_release(&batch);
		}
	}
	if (nr_dirty)
		*nr_dirty = dirty;
	return dirty ? -EBUSY : 0;
}

/* The folio straddling the new size: zero its tail, forget dirt wholly past size. */
static void cache_truncate_partial(struct cache_mapping *mapping, uint64_t size)
{
	unsigned shift = mapping->cache->folio_shift;
	uint64_t index = size >> shift;
	struct folio_batch batch;
	struct folio *folio;
	unsigned off;

	folio_batch_init(&batch);
	if (!cache_find_folios(mapping, &index, size >> shift, CACHE_FIND_ALL, &batch))
		return;
	folio = batch.folios[0];
	off = size & (folio_size(folio) - 1);
	folio_lock(folio);
	if (folio->mapping == mapping) {
		/* Writeback checksums this data: it must not change under it. */
		folio_wait_writeback(folio);
		memset((char *)folio_data(folio) + off, 0, folio_size(folio) - off);
		folio_clear_dirty_range(folio, off, folio_size(folio) - off);
	}
	folio_unlock(folio);
	folio_batch_release(&batch);
}

void cache_truncate(struct cache_mapping *mapping, uint64_t size)
{
	unsigned shift = mapping->cache->folio_shift;
	uint64_t fsize = 1ull << shift;
	uint64_t index = (size >> shift) + !!(size & (fsize - 1));
	struct folio_batch batch;

	if (size & (fsize - 1))
		cache_truncate_partial(mapping, size);
	folio_batch_init(&batch);
	while (cache_find_folios(mapping, &index, UINT64_MAX, CACHE_FIND_ALL, &batch)) {
		for (unsigned i = 0; i < batch.nr; i++) {
			struct folio *folio = batch.folios[i];

			folio_lock(folio);
			if (folio->mapping == mapping) {
				folio_wait_writeback(folio);
				folio_cancel_dirty(folio);
				cache_delete_folio(mapping, folio);
			}
			folio_unlock(folio);
		}
		folio_batch_release(&batch);
	}
}
