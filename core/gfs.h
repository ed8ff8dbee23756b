/* SPDX-License-Identifier: MIT */
/*
 * gfs.h - the file-level core API of guardfs: what the FUSE front end (and the tests, the
 * exerciser and the benchmarks) call for file data. No FUSE types.
 *
 * A struct gfs is one mounted filesystem: the metadata layer (core/meta.h), the namespace, the
 * folio cache (core/cache.h) and the writeback machinery (flusher thread, ioend completion
 * worker). Namespace operations (lookup, create, unlink, rename, xattrs, getattr) go straight
 * to meta through gfs_meta(); everything that touches file data goes through here, so the page
 * cache and the extent maps stay coherent.
 *
 * Files are opened by inode number: struct gfs_file is one open file (per-fd state: readahead
 * window, the write-error sequence already reported). The per-inode state behind it (cache
 * mapping, pinned meta inode, write error) lives until gfs_forget_inode() or unmount.
 *
 * Locking (see core/gfs_internal.h): the meta inode rwlock is taken shared by reads and
 * exclusive by writes, truncate, fallocate and copy_file_range's destination; no global lock is
 * held across I/O, so reads of one file run in parallel and two files are written in parallel.
 *
 * Errors: 0 / byte counts, or a negative errno. A PI failure on read is -EIO with one log line
 * (inode, offset, LBA, tag, expected, found). A failed writeback is recorded per inode and
 * reported by the next gfs_fsync() of every open file (errseq, as the kernel's
 * file_check_and_advance_wb_err), never cleared by a later successful writeback; a file opened
 * while no file has reported it yet is told too (errseq_sample).
 */
#ifndef GUARDFS_GFS_H
#define GUARDFS_GFS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct gfs;
struct gfs_file;
struct gfs_inode;
struct meta_fs;
struct ns;

struct gfs_opts {
	uint64_t cache_size;		 /* bytes of folio data; 0: 256 MiB */
	unsigned folio_size;		 /* bytes, power of two >= fs block; 0: cache default */
	uint64_t dirty_bytes;		 /* throttle writers above; 0: cache_size / 2 */
	uint64_t dirty_background_bytes; /* background writeback above; 0: cache_size / 4 */
	unsigned dirty_expire_ms;	 /* flusher writes back data older than this; 0: 5000 */
	unsigned flusher_interval_ms;	 /* how often the flusher looks; 0: 500 */
	unsigned queue_depth;		 /* namespace queue depth; 0: default */
	bool read_only;
	bool strict;	  /* file backend: check PI like a controller as well */
	bool no_flusher;  /* tests: no periodic flusher (kicks still work) */
	bool dio_fsblock; /* direct I/O alignment = fs block (dio_align=fsblock); for core/dio */
	/* Reads of data whose PI check fails, in all, before EIO. 0: PI_READ_TRIES (pi/pi.h). */
	unsigned pi_read_tries;
};

#define GFS_MAX_PI_READ_TRIES 9

/* Mount the namespace at path (see meta_mount). opts may be NULL (defaults). */
int gfs_mount(const char *path, const struct gfs_opts *opts, struct gfs **out);
/* Write every dirty folio back, wait, drop the cache, then meta_unmount. First error returned. */
int gfs_unmount(struct gfs *gfs);
/*
 * Test hook: a crash. Stops the flusher, waits for I/O in flight, throws the cache away without
 * writing it back, then meta_abandon(). Whatever was not fsync'd may be lost.
 */
void gfs_abandon(struct gfs *gfs);

struct meta_fs *gfs_meta(struct gfs *gfs);
struct ns *gfs_ns(struct gfs *gfs);
uint32_t gfs_block_size(const struct gfs *gfs);

/* ---- open files ---- */

#define GFS_O_DIRECT (1u << 0) /* direct I/O: bypasses the cache (core/dio) */
#define GFS_O_DSYNC  (1u << 1) /* every write is durable before it returns */

/* Open inode ino (a regular file) with GFS_O_* flags. -ENOENT, -EISDIR, -EINVAL. */
int gfs_open(struct gfs *gfs, uint64_t ino, unsigned flags, struct gfs_file **out);
/* Close; never writes back (that is fsync's or the flusher's job), never fails. */
void gfs_release(struct gfs_file *file);
struct gfs_inode *gfs_file_inode(const struct gfs_file *file);
unsigned gfs_file_flags(const struct gfs_file *file);

/*
 * FUSE forget / last reference: writes back (unless the file is unlinked), drops the cached
 * folios and unpins the meta inode, so an unlinked file's space can be freed. -EBUSY while the
 * inode is open.
 */
int gfs_forget_inode(struct gfs *gfs, uint64_t ino);

/* ---- data ---- */

/* Bytes read (short at EOF, 0 past it) or -EIO. */
ssize_t gfs_read(struct gfs_file *file, void *buf, size_t len, uint64_t off);
/* Bytes written (all of len unless an error stopped it after some progress) or -errno. */
ssize_t gfs_write(struct gfs_file *file, const void *buf, size_t len, uint64_t off);
/*
 * gfs_write from a buffer that nobody changes until the call returns (a request buffer the
 * caller alone owns): on a GFS_O_DIRECT file the device may then read it in place, without the
 * bounce copy (dio.h, "Stable buffers"). Otherwise the same as gfs_write.
 */
ssize_t gfs_write_stable(struct gfs_file *file, const void *buf, size_t len, uint64_t off);
/* setattr size: shrink (the EOF block's tail zeroed, blocks freed) or grow. */
int gfs_truncate(struct gfs *gfs, uint64_t ino, uint64_t size);

#define GFS_FALLOC_KEEP_SIZE	  0x01
#define GFS_FALLOC_PUNCH_HOLE	  0x02
#define GFS_FALLOC_COLLAPSE_RANGE 0x08
#define GFS_FALLOC_ZERO_RANGE	  0x10
#define GFS_FALLOC_INSERT_RANGE	  0x20

/*
 * fallocate(2) modes 0, KEEP_SIZE, PUNCH_HOLE|KEEP_SIZE, ZERO_RANGE (+KEEP_SIZE),
 * COLLAPSE_RANGE, INSERT_RANGE (those two: fs-block aligned offset and length, else -EINVAL).
 * Other combinations: -EOPNOTSUPP.
 */
int gfs_fallocate(struct gfs_file *file, int mode, uint64_t off, uint64_t len);

#define GFS_SEEK_DATA 3 /* = SEEK_DATA */
#define GFS_SEEK_HOLE 4 /* = SEEK_HOLE */
/*
 * SEEK_DATA / SEEK_HOLE: unwritten extents without dirty cached data are holes, dirty cached
 * data is data. *out receives the offset; -ENXIO at or past EOF (or no data after off).
 */
int gfs_lseek(struct gfs_file *file, uint64_t off, int whence, uint64_t *out);

/* Write back and wait for the file's data, then commit its metadata; reports write errors. */
int gfs_fsync(struct gfs_file *file, bool datasync);
/* Everything of every file, then a journal commit and device flush. */
int gfs_syncfs(struct gfs *gfs);

/* copy_file_range(2) within this filesystem (through the cache). Bytes copied or -errno. */
ssize_t gfs_copy_file_range(struct gfs_file *in, uint64_t off_in, struct gfs_file *out,
			    uint64_t off_out, size_t len);

/* ---- helpers for core/dio (direct I/O plugs in here) ---- */

struct meta_inode *gfs_inode_meta(struct gfs_inode *gi);
uint64_t gfs_inode_ino(const struct gfs_inode *gi);
/* filemap_write_and_wait_range: write back dirty folios in [start, end) and wait. */
int gfs_inode_write_and_wait(struct gfs_inode *gi, uint64_t start, uint64_t end);
/*
 * Write back and drop the cached folios overlapping [start, end) (before/after a DIO write).
 * The front end is not told: core/dio decides whether it must be (dio_invalidate).
 */
int gfs_inode_drop_cache(struct gfs_inode *gi, uint64_t start, uint64_t end);
/* Record a data write error against the inode (reported by the next fsync of each fd). */
void gfs_inode_set_error(struct gfs_inode *gi, int error);

/*
 * Called after gfs invalidated cached data of ino over [off, off + len) (truncate, punch,
 * collapse, insert, direct I/O): the FUSE front end forwards it to the kernel page cache
 * (fuse_lowlevel_notify_inval_inode). Called without any gfs lock held... except the inode's.
 */
typedef void (*gfs_inval_fn)(void *arg, uint64_t ino, uint64_t off, uint64_t len);
void gfs_set_inval_hook(struct gfs *gfs, gfs_inval_fn fn, void *arg);
/*
 * The front end says that its cache drops the pages of a direct write's range itself before it
 * sends the write, in pages of page_size bytes, and that it caches pages of a file only through
 * files opened without GFS_O_DIRECT (FUSE direct_io files since Linux 6.6). Then a direct
 * write during which no such file was open needs no hook call: nothing can have cached what it
 * changed. 0 (the default): every direct write calls the hook, before and after.
 */
void gfs_set_upper_drops_dio(struct gfs *gfs, unsigned page_size);

/* ---- counters (for --stats) ---- */

struct gfs_stats {
	uint64_t reads, writes;		    /* gfs_read / gfs_write calls */
	uint64_t bytes_read, bytes_written; /* through them */
	uint64_t cache_hits, cache_misses;  /* folio lookups */
	uint64_t readahead_folios;	    /* folios read ahead */
	uint64_t ns_reads;		    /* namespace read requests of cached I/O */
	uint64_t pi_errors;		    /* blocks that failed PI verification, per read */
	uint64_t pi_rereads;		    /* data reads made again after a PI failure */
	uint64_t pi_recovered;		    /* of those, the reads whose every block then passed */
	uint64_t read_errors;		    /* namespace read requests that failed */
	uint64_t wb_ioends, wb_bytes;	    /* writeback: device writes and bytes */
	uint64_t wb_errors;		    /* writeback device writes that failed */
	uint64_t dio_inval_skipped;	    /* direct writes the front end need not hear of */
	uint64_t dio_in_place;		    /* direct write pieces sent from a stable buffer */
	uint64_t dio_reads_lent;	    /* direct reads handed over in their bounce buffer */
	uint64_t dio_verify_shared;	    /* sync read pieces whose waiter verified half */
	uint64_t evictions, throttles, budget_waits;
	uint64_t cache_bytes, cache_peak_bytes, dirty_bytes, cache_budget;
};
void gfs_get_stats(struct gfs *gfs, struct gfs_stats *out);

#endif /* GUARDFS_GFS_H */
