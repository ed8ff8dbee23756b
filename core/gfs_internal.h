/* SPDX-License-Identifier: MIT */
/*
 * gfs_internal.h - what core/gfs*.c, core/buffered*.c, core/writeback.c and core/ioend.c share:
 * the mounted filesystem, the per-inode I/O state and the per-open-file state.
 *
 * Lock order (outermost first):
 *	1. meta inode rwlock (meta_inode_lock / _shared): shared for reads, exclusive for writes,
 *	   truncate, fallocate; never taken by writeback or completions
 *	2. folio lock (one at a time, except readahead's freshly created folios, which are
 *	   locked only with CACHE_GET_NOWAIT and never waited for)
 *	3. cache locks, meta's internal mutex (core/cache.h, core/meta.h)
 *	4. leaves: gi->size_lock, gfs->inodes_lock, wb->lock, file->ra_lock, counters
 * No global lock is held across I/O: gfs->inodes_lock only guards the inode table.
 */
#ifndef GUARDFS_GFS_INTERNAL_H
#define GUARDFS_GFS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/cache.h"
#include "core/gfs.h"
#include "core/meta.h"
#include "core/ns.h"
#include "pi/pi.h"

struct wb_ctl;
struct dio_ctl;

struct gfs_counters {
	atomic_uint_fast64_t reads, writes, bytes_read, bytes_written;
	atomic_uint_fast64_t readahead_folios, ns_reads, pi_errors, pi_rereads, pi_recovered;
	atomic_uint_fast64_t read_errors;
	atomic_uint_fast64_t wb_ioends, wb_bytes, wb_errors;
	atomic_uint_fast64_t dio_inval_skipped, dio_in_place, dio_reads_lent, dio_verify_shared;
};

struct gfs {
	struct meta_fs *meta;
	struct ns *ns;
	struct cache *cache;
	struct gfs_opts opts; /* defaults filled in */
	struct pi_ctx pi;
	bool pi_on;
	uint32_t block_size, lba_size, md_size;
	uint32_t max_transfer; /* bytes of one device write (ioend limit) */

	pthread_mutex_t inodes_lock; /* the table below; a leaf lock */
	struct gfs_inode **inodes;   /* hash chains by ino */
	unsigned inodes_mask;
	uint64_t nr_inodes;

	struct wb_ctl *wb;
	_Atomic(struct dio_ctl *) dio;	      /* core/dio: created on the first O_DIRECT open */
	atomic_uint_fast64_t ioends_inflight; /* built and not yet completed */
	struct gfs_counters ctr;
	gfs_inval_fn inval_fn;
	void *inval_arg;
	unsigned upper_dio_page; /* gfs_set_upper_drops_dio; 0: direct writes always notify */
};

struct gfs_inode {
	struct gfs *gfs;
	uint64_t ino;
	struct meta_inode *mi;	       /* pinned */
	struct cache_mapping *mapping; /* owner = this */
	struct gfs_inode *hash_next;   /* under gfs->inodes_lock */
	atomic_int open_count;
	/*
	 * Files open without GFS_O_DIRECT, through which the front end may cache pages (low 32
	 * bits), and how many were ever opened (high 32 bits): one word, so that a direct write
	 * can tell from two loads whether one was open at any time while it ran (dio.c).
	 */
	atomic_uint_fast64_t cached_opens;
	atomic_uint dio_inflight; /* core/dio: async direct requests in flight (inode_dio_begin) */
	/*
	 * errseq: wb_err_seq counts write errors, wb_err holds the last one. A file reports an
	 * error when the sequence moved since it last looked, so every fd sees each failure
	 * once and a later successful writeback clears nothing. wb_err_unseen (errseq's SEEN
	 * flag, inverted): no file has reported the last error yet, so a file opened now is
	 * still told (errseq_sample), as when the writer closed before its data was written back.
	 */
	atomic_uint_fast64_t wb_err_seq;
	atomic_int wb_err;
	atomic_bool wb_err_unseen;
	/*
	 * Serialises on-disk size updates at ioend completion with a shrinking truncate: an
	 * ioend built before the truncate must not grow the size again afterwards. Taken after
	 * the inode rwlock (truncate) or alone (completion worker); nothing is waited for under
	 * it but meta.
	 */
	pthread_mutex_t size_lock;
};

struct gfs_file {
	struct gfs_inode *gi;
	unsigned flags;
	atomic_uint_fast64_t wb_err_seen; /* wb_err_seq already reported to this fd */
	/* Sequential readahead state (file_ra_state): guarded by ra_lock, a leaf. */
	pthread_mutex_t ra_lock;
	uint64_t ra_prev_end; /* end of the previous read */
	uint64_t ra_start;    /* readahead issued up to here already */
	uint64_t ra_window;   /* current window, bytes; 0 = random mode */
};

#define GFS_CACHED_OPEN	     ((1ull << 32) + 1) /* one more open, one more ever opened */
#define GFS_CACHED_OPEN_MASK 0xffffffffull

/* gfs.c */
int gfs_inode_lookup(struct gfs *gfs, uint64_t ino, struct gfs_inode **out);
/*
 * A snapshot of every inode of the table (malloc'd array). The caller holds wb_pause() (or is
 * the flusher), so none of them can be removed while it uses the array.
 */
int gfs_collect_inodes(struct gfs *gfs, struct gfs_inode ***out, size_t *nr);
/* Tell the front end (gfs_set_inval_hook) that cached data of [off, off + len) changed. */
void gfs_invalidate_notify(struct gfs_inode *gi, uint64_t off, uint64_t len);

/* Data blocks' PI parameters: owner tag with a full mask, ref tag = LBA. */
struct pi_io gfs_data_pi_io(struct gfs_inode *gi, uint64_t lba);
struct ns_pi_params gfs_data_ns_pi(struct gfs_inode *gi, uint64_t lba);

static inline uint64_t gfs_round_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}
static inline uint64_t gfs_round_down(uint64_t x, uint64_t a)
{
	return x & ~(a - 1);
}
static inline uint64_t gfs_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

#endif /* GUARDFS_GFS_INTERNAL_H */
