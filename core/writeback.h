/* SPDX-License-Identifier: MIT */
/*
 * writeback.h - writing dirty folios back to the namespace (iomap_writepages and the
 * filesystem's flusher): dirty runs -> ioends -> device writes with PI -> completion.
 *
 * A struct wb_ctl per mount owns two threads: the flusher, which writes back data dirty for
 * longer than dirty_expire_ms and answers the cache's requests (budget, background threshold,
 * throttled writers), and the completion worker, which runs ioend completion (unwritten
 * conversion and the on-disk size update, which may append to the journal) off the
 * namespace's completion threads.
 */
#ifndef GUARDFS_WRITEBACK_H
#define GUARDFS_WRITEBACK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/folio.h"
#include "core/meta.h"

struct gfs;
struct gfs_inode;
struct ioend;

int wb_start(struct gfs *gfs);
/* Stops both threads after the ioends in flight completed. */
void wb_stop(struct gfs *gfs);

/*
 * Writes back the dirty folios of [start, end). With wait, also waits for every writeback of
 * the range (including ones others started) to complete. Returns 0 or the first error met
 * while building or submitting; device errors are recorded on the inode (errseq).
 */
int wb_writeback_range(struct gfs_inode *gi, uint64_t start, uint64_t end, bool wait);
/* Waits until no ioend is in flight anywhere. */
void wb_wait_idle(struct gfs *gfs);
/* Keeps the flusher away from the inode table while an inode is removed from it. */
void wb_pause(struct gfs *gfs);
void wb_resume(struct gfs *gfs);

/* ---- ioend.c ---- */

/* A writeback pass over one inode: the ioend being built (iomap_writepage_ctx). */
struct wb_ctx {
	struct gfs_inode *gi;
	struct ioend *ioend;
	struct meta_map map; /* cached mapping, revalidated by cookie under the folio lock */
	bool have_map;
	int error;
};

/*
 * Adds [off, off + len) of a folio under writeback, at file offset pos and device address
 * addr, to the context's ioend, merging with it when file- and device-contiguous and under the
 * namespace's max transfer; submits the previous ioend otherwise. eof is the in-core size
 * (the on-disk size update after completion is byte-exact). 0 or -ENOMEM.
 */
int ioend_add(struct wb_ctx *wpc, struct folio *folio, unsigned off, unsigned len, uint64_t pos,
	      uint64_t addr, uint64_t eof);
/* Submits the context's ioend, if any. */
void ioend_submit(struct wb_ctx *wpc);
/* Runs a completed ioend: called by the completion worker. */
void ioend_complete(struct ioend *ioend);
/* For the completion worker's queue. */
struct ioend *ioend_next(struct ioend *ioend);
void ioend_set_next(struct ioend *ioend, struct ioend *next);
/* The namespace completion side hands the ioend to the worker: wb.c. */
void wb_queue_ioend(struct gfs *gfs, struct ioend *ioend);

#endif /* GUARDFS_WRITEBACK_H */
