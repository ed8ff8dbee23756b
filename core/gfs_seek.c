/* SPDX-License-Identifier: MIT */
/*
 * gfs_seek.c - SEEK_DATA / SEEK_HOLE over the extent map and the cache (iomap_seek_data /
 * iomap_seek_hole with the page cache lookup of mapping_seek_hole_data), and copy_file_range.
 *
 * Mapped and delalloc extents are data. Holes and unwritten extents are holes, except where a
 * cached block is dirty: dirty data is data (it will be written there). Writeback in flight is
 * waited for first, so a block's dirty bit, read under its folio lock, tells the whole story.
 * The result is block-granular inside unwritten extents and clamped to EOF; past the last data
 * there is the virtual hole at EOF.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/gfs_internal.h"

/*
 * The first dirty block of the file in [pos, end): its offset (rounded down to its block, but
 * never below pos) in *data_pos and the end of that dirty run in *data_end. False if none.
 */
static bool seek_find_dirty(struct gfs_inode *gi, uint64_t pos, uint64_t end, uint64_t *data_pos,
			    uint64_t *data_end)
{
	unsigned shift = __builtin_ctz(cache_folio_size(gi->gfs->cache));
	uint64_t index = pos >> shift, last = (end - 1) >> shift;
	struct folio_batch batch;
	bool found = false;

	folio_batch_init(&batch);
	while (!found && index <= last &&
	       cache_find_folios(gi->mapping, &index, last, CACHE_FIND_DIRTY, &batch)) {
		for (unsigned i = 0; i < batch.nr && !found; i++) {
			struct folio *folio = batch.folios[i];
			uint64_t fpos = folio_pos(folio);
			unsigned off = pos > fpos ? pos - fpos : 0, len;
			unsigned fend = gfs_min(folio_size(folio), end - fpos);

			folio_lock(folio);
			if (folio->mapping == gi->mapping && off < fend &&
			    (len = folio_find_dirty_range(folio, &off, fend))) {
				found = true;
				*data_pos = fpos + off > pos ? fpos + off : pos;
				*data_end = fpos + off + len;
			}
			folio_unlock(folio);
		}
		folio_batch_release(&batch);
	}
	return found;
}

/*
 * The extent at @pos, clamped to EOF: whether it is data, and where it ends. -EIO when the map
 * does not move past @pos (a seek loop would never end).
 */
static int seek_map(struct gfs_inode *gi, uint64_t pos, uint64_t isize, bool *is_data,
		    uint64_t *map_end)
{
	struct meta_map map;
	int ret;

	ret = meta_map_begin(gi->mi, pos, isize - pos, META_MAP_REPORT, &map);
	if (ret)
		return ret;
	*is_data = map.type == META_MAP_MAPPED || map.type == META_MAP_DELALLOC;
	*map_end = gfs_min(map.offset + map.length, isize);
	return *map_end > pos ? 0 : -EIO;
}

static int seek_data(struct gfs_inode *gi, uint64_t pos, uint64_t isize, uint64_t *out)
{
	while (pos < isize) {
		uint64_t map_end, dpos, dend;
		bool is_data;
		int ret;

		ret = seek_map(gi, pos, isize, &is_data, &map_end);
		if (ret)
			return ret;
		if (is_data) {
			*out = pos;
			return 0;
		}
		if (seek_find_dirty(gi, pos, map_end, &dpos, &dend)) {
			*out = dpos;
			return 0;
		}
		pos = map_end;
	}
	return -ENXIO;
}

static int seek_hole(struct gfs_inode *gi, uint64_t pos, uint64_t isize, uint64_t *out)
{
	while (pos < isize) {
		uint64_t map_end, dpos, dend;
		bool is_data;
		int ret;

		ret = seek_map(gi, pos, isize, &is_data, &map_end);
		if (ret)
			return ret;
		if (is_data) {
			pos = map_end;
			continue;
		}
		if (!seek_find_dirty(gi, pos, map_end, &dpos, &dend) || dpos > pos) {
			*out = pos;
			return 0;
		}
		pos = dend; /* inside a dirty run: the hole starts after it, if at all */
	}
	*out = isize; /* the virtual hole at EOF */
	return 0;
}

int gfs_lseek(struct gfs_file *file, uint64_t off, int whence, uint64_t *out)
{
	struct gfs_inode *gi = file->gi;
	uint64_t isize;
	int ret;

	if (whence != GFS_SEEK_DATA && whence != GFS_SEEK_HOLE)
		return -EINVAL;
	meta_inode_lock_shared(gi->mi);
	isize = meta_size_read(gi->mi);
	if (off >= isize) {
		ret = -ENXIO;
	} else {
		/* Writeback in flight moves data from "dirty" to "unwritten, converting". */
		cache_wait_writeback_range(gi->mapping, 0, UINT64_MAX);
		ret = whence == GFS_SEEK_DATA ? seek_data(gi, off, isize, out)
					      : seek_hole(gi, off, isize, out);
	}
	meta_inode_unlock(gi->mi);
	return ret;
}

#define COPY_CHUNK (1u << 20)

ssize_t gfs_copy_file_range(struct gfs_file *in, uint64_t off_in, struct gfs_file *out,
			    uint64_t off_out, size_t len)
{
	uint64_t done = 0, isize;
	ssize_t ret = 0;
	char *buf;

	if (in->gi->gfs != out->gi->gfs)
		return -EXDEV;
	if (off_in + len < off_in || off_out + len < off_out)
		return -EINVAL;
	/* As copy_file_range(2): overlapping ranges of one file are refused. */
	if (in->gi == out->gi && off_in < off_out + len && off_out < off_in + len)
		return -EINVAL;
	/* The source's size when the call starts bounds the copy, even when it grows. */
	meta_inode_lock_shared(in->gi->mi);
	isize = meta_size_read(in->gi->mi);
	meta_inode_unlock(in->gi->mi);
	if (off_in >= isize)
		return 0;
	len = gfs_min(len, isize - off_in);
	buf = malloc(COPY_CHUNK);
	if (!buf)
		return -ENOMEM;
	while (done < len) {
		size_t n = gfs_min(len - done, COPY_CHUNK);

		ret = gfs_read(in, buf, n, off_in + done);
		if (ret <= 0)
			break;
		ret = gfs_write(out, buf, ret, off_out + done);
		if (ret <= 0)
			break;
		done += ret;
	}
	free(buf);
	return done ? (ssize_t)done : ret;
}
