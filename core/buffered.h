/* SPDX-License-Identifier: MIT */
/*
 * buffered.h - buffered file I/O through the folio cache (fs/iomap/buffered-io.c): read with
 * sequential readahead, write (write_begin / copy / write_end), zero range with the dirty
 * folio batch, and the truncate page. Callers hold the meta inode rwlock: shared for
 * buffered_read, exclusive for the others (see core/gfs_internal.h).
 */
#ifndef GUARDFS_BUFFERED_H
#define GUARDFS_BUFFERED_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/folio.h"
#include "core/meta.h"

struct gfs_file;
struct gfs_inode;

/* Readahead window: starts at RA_INIT on the second sequential read, doubles up to RA_MAX. */
#define BUFFERED_RA_INIT (128u * 1024)
#define BUFFERED_RA_MAX	 (2u * 1024 * 1024)

/*
 * Reads [pos, pos + len), which the caller clipped to the visible size isize (read under the
 * shared inode lock it holds). Bytes or -EIO.
 */
ssize_t buffered_read(struct gfs_file *file, void *buf, size_t len, uint64_t pos, uint64_t isize);

/* Writes [pos, pos + len) and grows the visible size. Bytes written (> 0) or -errno. */
ssize_t buffered_write(struct gfs_inode *gi, const void *buf, size_t len, uint64_t pos);

/*
 * iomap_zero_range: makes [pos, pos + len) read as zeros through the cache. Holes are skipped;
 * over unwritten extents only dirty folios are zeroed, found by one cache lookup into a batch
 * on this function's stack, and clean unwritten ranges cause no I/O and no folio; mapped and
 * delalloc ranges are zeroed in their folios (reading partial blocks as needed).
 */
int buffered_zero_range(struct gfs_inode *gi, uint64_t pos, uint64_t len);

/* iomap_truncate_page: zero from pos to the end of its block (nothing when aligned). */
int buffered_truncate_page(struct gfs_inode *gi, uint64_t pos);

/*
 * For buffered_write.c: read the fs blocks [off, off + len) of a locked folio from the
 * namespace at the mapped address, verifying PI, synchronously. 0 or -EIO (logged).
 */
int buffered_read_blocks_sync(struct gfs_inode *gi, struct folio *folio, unsigned off, unsigned len,
			      const struct meta_map *map);

#endif /* GUARDFS_BUFFERED_H */
