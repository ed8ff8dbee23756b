/* SPDX-License-Identifier: MIT */
/*
 * dio_internal.h - what core/dio.c, dio_iter.c, dio_bounce.c and dio_complete.c share: the
 * per-mount control block, the bounce pool and the request.
 *
 * Lock order: the meta inode rwlock (held by submitters) > pool->lock, ctl->lock (leaves; never
 * held across I/O or a callback).
 */
#ifndef GUARDFS_DIO_INTERNAL_H
#define GUARDFS_DIO_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "core/dio.h"
#include "core/gfs_internal.h"
#include "core/poll.h"

/* ---- dio_bounce.c: preallocated, aligned bounce buffers with their metadata ---- */

struct dio_bounce {
	void *data; /* slot_bytes, page aligned */
	void *md;   /* slot_bytes / lba_size * md_size bytes, or NULL without metadata */
	unsigned idx;
};

struct dio_pool {
	pthread_mutex_t lock;
	pthread_cond_t freed; /* a slot came back */
	unsigned nr_slots, nr_free;
	unsigned *free_stack;
	size_t slot_bytes, md_slot_bytes;
	void *data_region, *md_region; /* anonymous mappings: committed as they are touched */
	atomic_uint_fast64_t waits;
};

int dio_pool_init(struct dio_pool *pool, unsigned nr_slots, size_t slot_bytes,
		  size_t md_slot_bytes);
void dio_pool_destroy(struct dio_pool *pool);
/* Takes a slot, waiting while none is free (slots come back as pieces complete). */
void dio_pool_get(struct dio_pool *pool, struct dio_bounce *out);
void dio_pool_put(struct dio_pool *pool, const struct dio_bounce *b);
/* The slot whose data begins at data (a slot lent by dio_read_lend). */
struct dio_bounce dio_pool_slot_of(struct dio_pool *pool, const void *data);
unsigned dio_pool_in_use(struct dio_pool *pool);

/* ---- the per-mount control block ---- */

struct dio;

struct dio_ctl {
	struct gfs *gfs;
	struct dio_pool pool;
	void *zero_block; /* block_size zeros: the source of sub-block head and tail zeroing */

	/* Completion workers: run write completions (conversion, sync, invalidation). */
	pthread_mutex_t lock;
	pthread_cond_t work; /* queue non-empty or stopping */
	pthread_cond_t idle; /* inflight reached 0 */
	struct dio *queue_head, *queue_tail;
	bool stopping;
	unsigned nr_workers;
	pthread_t workers[4];

	/* Sync requests (dio.c): how long their waits took; one waiter polls at a time. */
	struct gfs_poll sync_wait;
	atomic_bool sync_poller;

	atomic_uint_fast64_t inflight;
	atomic_uint_fast64_t requests, completions, pieces, pi_errors, fua_writes, syncs;
};

/* ---- a sync read's waiter helping to verify ---- */

/*
 * A sync read's waiter polls on one CPU while the completion thread verifies the read's blocks
 * (and, unless the read is lent, copies them to the caller) on another. For a large piece, the
 * completion thread offers the second half of the blocks to the waiter and does the first half
 * itself (dio_verify_shared); whoever finds the offer still open does it. The verification of
 * a 1 MiB read, 12 - 50 us here, is then about halved on a request's critical path. One offer
 * at a time: a request's pieces are delivered one after another on the namespace's completion
 * thread.
 *
 * state: NONE -> OFFERED (completion thread, after filling the offer) -> TAKEN (the waiter) ->
 * DONE (the waiter, after filling the answer) -> NONE (completion thread), or OFFERED -> NONE
 * when the completion thread takes its offer back.
 */
enum { DIO_HELP_NONE, DIO_HELP_OFFERED, DIO_HELP_TAKEN, DIO_HELP_DONE };

/* A run of a piece's blocks to verify, in place or into the caller's buffers. */
struct dio_verify_run {
	const struct pi_ctx *pi;
	struct iovec blocks; /* in the bounce */
	const void *md;
	uint32_t nblocks;
	uint32_t first; /* block of the piece the run starts at */
	struct pi_io pio;
	const struct iovec *dst; /* NULL: verify in place (lent); else copy verified blocks here */
	int dst_cnt;
};

struct dio_help {
	atomic_int state;
	struct dio_verify_run run; /* the offer, written before state becomes OFFERED */
	/* the answer, written before state becomes DONE */
	int ret;
	struct pi_error pe;
};

/* On the waiter, between polls: do the offer if one is open. */
void dio_help_run(struct dio_help *help);

/* ---- the request ---- */

#define DIO_WRITE     (1u << 0)
#define DIO_DSYNC     (1u << 1) /* GFS_O_DSYNC: durable before completion */
#define DIO_FUA	      (1u << 2) /* pure overwrite: pieces written with FUA, nothing after */
#define DIO_EXTENDING (1u << 3) /* the size grows at completion */
#define DIO_ALLOCATED (1u << 4) /* unwritten extents to convert at completion */
#define DIO_ASYNC     (1u << 6) /* counted in gi->dio_inflight until completion */
#define DIO_SHARED    (1u << 5) /* overwrite under the shared inode lock: map, never allocate */
#define DIO_STABLE    (1u << 7) /* the caller's buffers stay unchanged until completion */
#define DIO_LEND      (1u << 8) /* a read into the bounce slot dio->iov[0] (dio_read_lend) */

struct dio {
	struct dio_ctl *ctl;
	struct gfs_inode *gi;
	unsigned flags;
	uint64_t pos, len; /* the request, aligned */
	uint64_t read_end; /* reads: min(pos + len, i_size): bytes past it are not delivered */
	uint64_t conv_start, conv_end; /* writes: fs-block range to convert and invalidate */
	uint64_t cached_opens;	       /* writes: gi->cached_opens when the write began */
	/*
	 * Pieces in flight plus one submitter reference, dropped after the last submission
	 * (iomap_dio's ref): whoever brings it to zero completes the request.
	 */
	atomic_uint pending;
	atomic_int error; /* first error of any piece */
	dio_end_fn end;
	void *end_arg;
	struct dio_help *help; /* a sync read's waiter, who may verify a share; or NULL */
	struct dio *next;      /* completion queue */
	int iovcnt;
	struct iovec iov[]; /* the caller's buffers (reads: filled at piece completion) */
};

/* dio.c */
/*
 * Around direct write dio: write back and drop the core's cached folios of [start, end), and
 * tell the front end unless its cache can hold none of the range.
 */
int dio_invalidate(struct dio *dio, uint64_t start, uint64_t end);

/* dio_complete.c */
int dio_workers_start(struct dio_ctl *ctl);
void dio_workers_stop(struct dio_ctl *ctl);
/* Drop one reference; the last one completes the request (see dio_complete.c). */
void dio_put(struct dio *dio, bool on_ns_thread);
void dio_set_error(struct dio *dio, int error);

/* dio_iter.c */
/* The iovec entries (at most max, into out) covering len bytes at byte offset off of iov. */
int dio_iov_slice(const struct iovec *iov, int iovcnt, size_t off, size_t len, struct iovec *out,
		  int max);
/* Map [pos, read_end) and submit its pieces; zero holes and unwritten ranges in the caller's. */
int dio_read_iter(struct dio *dio);
/* Map (or, for an overwrite, only report) [pos, pos + len) and submit its pieces. */
int dio_write_iter(struct dio *dio, bool overwrite);
/* All of [pos, end) MAPPED and inside i_size (inode lock held). */
bool dio_is_overwrite(struct gfs_inode *gi, uint64_t pos, uint64_t end);

#endif /* GUARDFS_DIO_INTERNAL_H */
