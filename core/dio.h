/* SPDX-License-Identifier: MIT */
/*
 * dio.h - direct I/O (O_DIRECT) through a bounce buffer with PI generation and verification
 * (DESIGN.md 4.5; the kernel's fs/iomap/direct-io.c with IOMAP_DIO_BOUNCE and IOMAP_F_INTEGRITY).
 *
 * A direct request bypasses the folio cache: writes copy the payload into an aligned bounce
 * buffer from a preallocated pool and generate PI over that stable copy in the same pass; reads
 * land data and metadata in a bounce buffer, every block is verified, and only verified data is
 * copied to the caller. The caller's buffer needs no alignment; offset and length must be
 * multiples of the LBA size (of the fs block size with gfs_opts.dio_fsblock), else -EINVAL.
 *
 * Async API: dio_submit_read/dio_submit_write return 0 when the request was accepted, and then
 * the callback runs exactly once, on a completion thread (never on the submitting thread), with
 * the byte count (short at EOF for reads) or a negative errno. A negative return means the
 * request was refused before any I/O (-EINVAL, -EROFS, -EFBIG, -ENOMEM) and the callback never
 * runs. A write has consumed the caller's buffer when dio_submit_write returns; a read fills
 * the caller's buffers until the callback runs. Callbacks must not block on or submit direct
 * I/O themselves (a read's callback may run on the namespace's completion thread).
 *
 * Stable buffers: dio_submit_write_stable (and dio_write with stable) is for a caller whose
 * buffers nobody changes until the callback ran (dio_write: until it returns), such as a request
 * buffer that a FUSE daemon alone owns. PI is then generated over the caller's bytes and the
 * device reads them where they are, without the bounce copy, wherever the buffers suit the
 * device (address and length multiples of the LBA size, metadata separate) and no sub-block
 * zeroing is needed; the rest of the request takes the bounce. Breaking the promise writes
 * blocks whose PI does not match their data, which the next read reports as PI errors.
 *
 * The sync wrappers dio_read/dio_write (used by gfs_read/gfs_write on GFS_O_DIRECT files)
 * hold the inode lock until the request completed, so they serialise with buffered I/O,
 * truncate and fallocate exactly as buffered writes do. The async API drops the inode lock once
 * the request is submitted (as XFS drops its iolock after iomap_dio_rw); truncate, fallocate
 * and buffered writes then wait for it with dio_inode_wait (inode_dio_wait), see dio.c.
 */
#ifndef GUARDFS_DIO_H
#define GUARDFS_DIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct gfs;
struct gfs_file;
struct gfs_inode;
struct dio_ctl;

/* Completion: result = bytes transferred or a negative errno. */
typedef void (*dio_end_fn)(void *arg, ssize_t result);

int dio_submit_read(struct gfs_file *file, const struct iovec *iov, int iovcnt, uint64_t off,
		    dio_end_fn end, void *arg);
int dio_submit_write(struct gfs_file *file, const struct iovec *iov, int iovcnt, uint64_t off,
		     dio_end_fn end, void *arg);
int dio_submit_write_stable(struct gfs_file *file, const struct iovec *iov, int iovcnt,
			    uint64_t off, dio_end_fn end, void *arg);

/*
 * A direct read lent from the bounce (DESIGN.md 4.5: verified data "copied or handed to the
 * reply"): instead of copying into a caller's buffer, the read lands in a bounce slot, is
 * verified there, and the slot is lent to the caller, who sends the bytes from it (a FUSE
 * reply) and then gives it back. Synchronous, like dio_read, with the same errors, and -E2BIG
 * when len is more than one slot (min(max transfer, 1 MiB)): read into a buffer then. On
 * success data holds the bytes read (short at EOF), unchanged until dio_lend_release, which
 * must follow soon: the pool has 32 slots for the whole mount.
 */
struct dio_lend {
	const void *data;
	struct dio_ctl *ctl; /* private */
	unsigned slot;	     /* private */
};
ssize_t dio_read_lend(struct gfs_file *file, size_t len, uint64_t off, struct dio_lend *out);
void dio_lend_release(struct dio_lend *lend);

/* Synchronous: bytes or -errno (-EINVAL misaligned, -EIO on a PI or device failure). */
ssize_t dio_read(struct gfs_file *file, void *buf, size_t len, uint64_t off);
ssize_t dio_write(struct gfs_file *file, const void *buf, size_t len, uint64_t off, bool stable);

/*
 * inode_dio_wait: wait until no async direct request of the inode is in flight. Called with the
 * inode lock held exclusive (so no new one can start) by truncate, fallocate and buffered
 * writes, which must not free, move or partly rewrite blocks under a direct request.
 */
void dio_inode_wait(struct gfs_inode *gi);

/* Per-mount state (bounce pool, completion workers): created on the first O_DIRECT open. */
int dio_ctl_get(struct gfs *gfs, struct dio_ctl **out);
/* Waits for every request in flight, then frees the pool and stops the workers. */
void dio_ctl_destroy(struct dio_ctl *ctl);

struct dio_stats {
	uint64_t requests;	/* accepted by dio_submit_* */
	uint64_t completions;	/* callbacks run */
	uint64_t pieces;	/* namespace requests submitted */
	uint64_t inflight;	/* requests not yet completed */
	uint64_t bounce_in_use; /* bounce slots held */
	uint64_t bounce_bytes;	/* data bytes of the bounce pool, all slots */
	uint64_t bounce_waits;	/* times a submitter waited for a slot */
	uint64_t pi_errors;	/* blocks that failed verification */
	uint64_t fua_writes;	/* pieces written with FUA (O_DSYNC pure overwrites) */
	uint64_t syncs;		/* O_DSYNC completions made durable with meta_fsync */
};
/* Zeros when no direct I/O ran on this mount yet. */
void dio_get_stats(struct gfs *gfs, struct dio_stats *out);

#endif /* GUARDFS_DIO_H */
