// SPDX-License-Identifier: MIT
/*
 * dio_bounce.c - the bounce buffer pool of direct I/O: a bounded set of preallocated, page
 * aligned data buffers, each with its separate metadata buffer, handed out one per piece.
 *
 * PI is generated over a bounce copy that nobody else can change (the caller's memory may
 * still be written while the device reads it), and verified in a bounce before anything
 * reaches the caller; the pool bounds that memory. Both regions are anonymous mappings made at
 * mount, in huge pages where the system has them (core/hugemem.h says why), so untouched slots
 * cost address space only. A submitter that finds no free slot
 * waits: slots come back when pieces complete (on completion threads, which never wait here),
 * and a request submits its pieces one by one, so every slot held belongs to a piece in flight
 * and the wait always ends. A lent read (dio_read_lend) is the one exception: it takes its one
 * slot before anything else, its pieces take none, and its caller gives it back once it has
 * sent the bytes, which waits for nothing of ours.
 *
 * Invariant: nr_free + slots held = nr_slots; the free stack holds each free index once.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/bug.h"
#include "core/dio_internal.h"
#include "core/hugemem.h"

int dio_pool_init(struct dio_pool *pool, unsigned nr_slots, size_t slot_bytes, size_t md_slot_bytes)
{
	pool->nr_slots = nr_slots;
	pool->nr_free = nr_slots;
	pool->slot_bytes = slot_bytes;
	pool->md_slot_bytes = md_slot_bytes;
	atomic_init(&pool->waits, 0);
	pool->free_stack = calloc(nr_slots, sizeof(*pool->free_stack));
	if (!pool->free_stack)
		return -ENOMEM;
	pool->data_region = gfs_huge_alloc(nr_slots * slot_bytes);
	if (!pool->data_region)
		goto out_free;
	pool->md_region = NULL;
	if (md_slot_bytes) {
		pool->md_region = gfs_huge_alloc(nr_slots * md_slot_bytes);
		if (!pool->md_region)
			goto out_unmap;
	}
	for (unsigned i = 0; i < nr_slots; i++)
		pool->free_stack[i] = nr_slots - 1 - i;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->freed, NULL);
	return 0;

out_unmap:
	gfs_huge_free(pool->data_region, nr_slots * slot_bytes);
out_free:
	free(pool->free_stack);
	return -ENOMEM;
}

void dio_pool_destroy(struct dio_pool *pool)
{
	GFS_BUG_ON(pool->nr_free != pool->nr_slots);
	if (pool->md_region)
		gfs_huge_free(pool->md_region, pool->nr_slots * pool->md_slot_bytes);
	gfs_huge_free(pool->data_region, pool->nr_slots * pool->slot_bytes);
	free(pool->free_stack);
	pthread_cond_destroy(&pool->freed);
	pthread_mutex_destroy(&pool->lock);
}

void dio_pool_get(struct dio_pool *pool, struct dio_bounce *out)
{
	unsigned idx;

	pthread_mutex_lock(&pool->lock);
	if (!pool->nr_free)
		atomic_fetch_add_explicit(&pool->waits, 1, memory_order_relaxed);
	while (!pool->nr_free)
		pthread_cond_wait(&pool->freed, &pool->lock);
	idx = pool->free_stack[--pool->nr_free];
	pthread_mutex_unlock(&pool->lock);
	out->idx = idx;
	out->data = (char *)pool->data_region + idx * pool->slot_bytes;
	out->md = pool->md_region ? (char *)pool->md_region + idx * pool->md_slot_bytes : NULL;
}

void dio_pool_put(struct dio_pool *pool, const struct dio_bounce *b)
{
	pthread_mutex_lock(&pool->lock);
	GFS_BUG_ON(pool->nr_free >= pool->nr_slots);
	pool->free_stack[pool->nr_free++] = b->idx;
	pthread_cond_signal(&pool->freed);
	pthread_mutex_unlock(&pool->lock);
}

struct dio_bounce dio_pool_slot_of(struct dio_pool *pool, const void *data)
{
	size_t idx =
		(size_t)((const char *)data - (const char *)pool->data_region) / pool->slot_bytes;

	GFS_BUG_ON(idx >= pool->nr_slots ||
		   (char *)pool->data_region + idx * pool->slot_bytes != data);
	return (struct dio_bounce){
		.data = (char *)pool->data_region + idx * pool->slot_bytes,
		.md = pool->md_region ? (char *)pool->md_region + idx * pool->md_slot_bytes : NULL,
		.idx = (unsigned)idx,
	};
}

unsigned dio_pool_in_use(struct dio_pool *pool)
{
	unsigned in_use;

	pthread_mutex_lock(&pool->lock);
	in_use = pool->nr_slots - pool->nr_free;
	pthread_mutex_unlock(&pool->lock);
	return in_use;
}
