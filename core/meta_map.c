/* SPDX-License-Identifier: MIT */
/*
 * meta_map.c - the mapping calls the I/O layers build on, in the manner of iomap_begin /
 * iomap_end (fs/iomap/iter.c) and XFS's xfs_buffered_write_iomap_begin / xfs_bmapi_convert_
 * delalloc / xfs_iomap_write_unwritten.
 *
 * A buffered write reserves DELALLOC blocks over holes (counted against free space, not logged:
 * nothing on disk refers to them). Writeback turns DELALLOC into allocated UNWRITTEN space with
 * one extent record (meta_alloc_delalloc), aiming right after the file's previous extent so a
 * sequential file stays contiguous; the data goes to UNWRITTEN space, and only once that I/O has
 * completed does meta_convert_unwritten log UNWRITTEN -> MAPPED and the new on-disk size (data
 * before the metadata that references it). A crash in between leaves UNWRITTEN space, which
 * reads as zeros: never stale data. A direct write over a hole allocates UNWRITTEN at once.
 *
 * When an allocation fails only because freed space is still parked behind a record that is not
 * durable yet, the journal is committed (with fs->lock dropped) and the allocation retried once.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/bug.h"
#include "core/meta_internal.h"

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Byte offset of a file block, saturated (holes reach EXTENT_FBLK_END). */
static uint64_t blk_to_byte(const struct meta_fs *fs, uint64_t blk)
{
	return blk > (UINT64_MAX >> fs->bshift) ? UINT64_MAX : blk << fs->bshift;
}

static void fill_map(struct meta_fs *fs, struct meta_inode *ip, const struct extent_mapping *m,
		     uint64_t fblk, uint64_t end_blk, uint32_t flags, struct meta_map *out)
{
	uint64_t stop = min_u64(m->fblk + m->len, end_blk);

	*out = (struct meta_map){
		.type = (enum meta_map_type)m->state,
		.flags = flags,
		.offset = fblk << fs->bshift,
		.length = (stop - fblk) << fs->bshift,
		.addr = META_MAP_NO_ADDR,
		.lba = META_MAP_NO_ADDR,
		.cookie = extent_map_cookie(&ip->map),
		.app_tag = meta_owner_tag(ip),
	};
	if (m->dblk != EXTENT_NO_DBLK) {
		uint64_t d = m->dblk + (fblk - m->fblk);

		out->addr = d << fs->bshift;
		out->lba = d * fs->lbas_per_block;
		if (ip->last_seq >= journal_durable_seq(fs->j))
			out->flags |= META_MAP_F_DIRTY;
	}
}

/*
 * Where to allocate for @fblk: right after the device block of the extent before it, so a
 * file written in order stays contiguous. A file with nothing allocated before @fblk starts at
 * a place derived from its inode number, spread over the data area (as ext4 spreads block
 * groups): files growing at the same time then do not take each other's next blocks.
 */
static uint64_t alloc_goal(struct meta_fs *fs, struct meta_inode *ip, uint64_t fblk)
{
	uint64_t spread = fs->sb.data_start +
			  ((ip->ino * UINT64_C(0x9E3779B97F4A7C15)) >> 20) % fs->sb.data_blocks;
	struct extent_mapping m;

	if (fblk == 0 || extent_lookup(&ip->map, fblk - 1, &m))
		return spread;
	if (m.state == EXTENT_HOLE && m.fblk > 0 && extent_lookup(&ip->map, m.fblk - 1, &m))
		return spread;
	if (m.state != EXTENT_MAPPED && m.state != EXTENT_UNWRITTEN)
		return spread;
	return m.dblk + m.len;
}

/*
 * Allocate UNWRITTEN space for up to @n blocks at @fblk (a hole or DELALLOC) and log it; *got
 * receives the blocks mapped. -EAGAIN: parked space was released by a commit with fs->lock
 * dropped, so the caller must look again (and retry once).
 */
static int map_allocate(struct meta_fs *fs, struct meta_inode *ip, uint64_t fblk, uint64_t n,
			uint64_t *got)
{
	struct alloc_range r;
	struct mrec rec;
	int ret;

	*got = 0;
	ret = alloc_alloc(&fs->alloc, alloc_goal(fs, ip, fblk), n, 1, &r);
	if (ret == -ENOSPC && alloc_pending_blocks(&fs->alloc)) {
		uint64_t seq = journal_next_seq(fs->j) - 1;

		pthread_mutex_unlock(&fs->lock);
		meta_commit_seq(fs, seq);
		pthread_mutex_lock(&fs->lock);
		return -EAGAIN;
	}
	if (ret)
		return ret;
	mrec_init(&rec, MREC_EXTENT);
	mrec_put64(&rec, ip->ino);
	mrec_put64(&rec, fblk);
	mrec_put64(&rec, r.len);
	mrec_put64(&rec, r.start);
	mrec_put8(&rec, EXTENT_UNWRITTEN);
	ret = mrec_commit(fs, &rec);
	if (ret && ret != -EIO) {
		alloc_free(&fs->alloc, r.start, r.len); /* not applied: the space is unused */
		return ret;
	}
	*got = r.len;
	return ret;
}

/* Reserve DELALLOC for up to @n blocks of the hole at @fblk. */
static int map_reserve(struct meta_fs *fs, struct meta_inode *ip, uint64_t fblk, uint64_t n)
{
	uint64_t avail = alloc_free_blocks(&fs->alloc) + alloc_pending_blocks(&fs->alloc);
	int ret;

	avail = avail > fs->delalloc_blocks ? avail - fs->delalloc_blocks : 0;
	if (!avail)
		return -ENOSPC;
	n = min_u64(n, avail);
	ret = extent_set(&ip->map, fblk, n, EXTENT_DELALLOC, 0, NULL);
	if (!ret)
		fs->delalloc_blocks += n;
	return ret;
}

static int range_blocks(struct meta_fs *fs, struct meta_inode *ip, uint64_t pos, uint64_t len,
			uint64_t *fblk, uint64_t *end_blk)
{
	if (!S_ISREG(ip->mode) || len == 0)
		return -EINVAL;
	if (pos > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - pos)
		return -EFBIG;
	*fblk = pos >> fs->bshift;
	*end_blk = (pos + len + fs->bsize - 1) >> fs->bshift;
	return 0;
}

/*
 * Give the part of [fblk, end_blk) that extent @m covers new space - UNWRITTEN blocks when
 * @allocate, else a DELALLOC reservation - and map it again, marked new.
 */
static int map_new_space(struct meta_fs *fs, struct meta_inode *ip, struct extent_mapping *m,
			 uint64_t fblk, uint64_t end_blk, bool allocate, struct meta_map *out)
{
	uint64_t n = min_u64(m->fblk + m->len, end_blk) - fblk, got;
	int ret;

	ret = fs_writable(fs);
	if (ret)
		return ret;
	if (allocate)
		ret = map_allocate(fs, ip, fblk, n, &got);
	else
		ret = map_reserve(fs, ip, fblk, n);
	if (ret)
		return ret;
	ret = extent_lookup(&ip->map, fblk, m);
	if (ret)
		return ret;
	fill_map(fs, ip, m, fblk, end_blk, META_MAP_F_NEW, out);
	return 0;
}

/* meta_map_begin under fs->lock: a write fills a hole, a direct one DELALLOC too. */
static int map_begin_locked(struct meta_fs *fs, struct meta_inode *ip, uint64_t fblk,
			    uint64_t end_blk, unsigned flags, struct meta_map *out)
{
	bool write = (flags & META_MAP_WRITE) && !(flags & META_MAP_REPORT);
	bool direct = flags & META_MAP_DIRECT;
	struct extent_mapping m;
	int ret;

	ret = extent_lookup(&ip->map, fblk, &m);
	if (ret)
		return ret;
	if (write && (m.state == EXTENT_HOLE || (m.state == EXTENT_DELALLOC && direct)))
		return map_new_space(fs, ip, &m, fblk, end_blk, direct, out);
	fill_map(fs, ip, &m, fblk, end_blk, 0, out);
	return 0;
}

/*
 * meta_alloc_delalloc under fs->lock: writeback allocates DELALLOC and never meets a hole.
 * The flags are always META_MAP_WRITE: writeback has one policy.
 */
static int alloc_delalloc_locked(struct meta_fs *fs, struct meta_inode *ip, uint64_t fblk,
				 uint64_t end_blk, unsigned flags, struct meta_map *out)
{
	struct extent_mapping m;
	int ret;

	ret = extent_lookup(&ip->map, fblk, &m);
	if (ret)
		return ret;
	if (m.state == EXTENT_HOLE)
		return -EINVAL;
	if (m.state == EXTENT_DELALLOC)
		return map_new_space(fs, ip, &m, fblk, end_blk, true, out);
	fill_map(fs, ip, &m, fblk, end_blk, 0, out);
	return 0;
}

typedef int (*map_locked_fn)(struct meta_fs *fs, struct meta_inode *ip, uint64_t fblk,
			     uint64_t end_blk, unsigned flags, struct meta_map *out);

/*
 * The frame of a mapping call over [pos, pos + len): a checkpoint first if the log wants one
 * and the call may write, then @map_locked under fs->lock. -EAGAIN means it released parked
 * space with the lock dropped: look again, once; a second -EAGAIN is -ENOSPC.
 */
static int map_range(struct meta_inode *ip, uint64_t pos, uint64_t len, unsigned flags,
		     map_locked_fn map_locked, struct meta_map *out)
{
	struct meta_fs *fs = ip->fs;
	uint64_t fblk, end_blk;
	int ret, tries = 0;

	ret = range_blocks(fs, ip, pos, len, &fblk, &end_blk);
	if (ret)
		return ret;
	if ((flags & META_MAP_WRITE) && !(flags & META_MAP_REPORT))
		meta_maybe_checkpoint(fs);
	pthread_mutex_lock(&fs->lock);
	do
		ret = map_locked(fs, ip, fblk, end_blk, flags, out);
	while (ret == -EAGAIN && tries++ == 0);
	pthread_mutex_unlock(&fs->lock);
	return ret == -EAGAIN ? -ENOSPC : ret;
}

int meta_map_begin(struct meta_inode *ip, uint64_t pos, uint64_t len, unsigned flags,
		   struct meta_map *out)
{
	return map_range(ip, pos, len, flags, map_begin_locked, out);
}

int meta_map_end(struct meta_inode *ip, uint64_t pos, uint64_t len, uint64_t written,
		 const struct meta_map *map)
{
	struct meta_fs *fs = ip->fs;
	uint64_t fblk, end;
	int ret = 0;

	if (map->type != META_MAP_DELALLOC || !(map->flags & META_MAP_F_NEW))
		return 0;
	/* Give back the reservation of the blocks this write never reached. */
	fblk = (pos + written + fs->bsize - 1) >> fs->bshift;
	if (fblk < (map->offset >> fs->bshift))
		fblk = map->offset >> fs->bshift;
	end = (map->offset + map->length) >> fs->bshift;
	pthread_mutex_lock(&fs->lock);
	while (fblk < end && !ret) {
		struct extent_vec freed = {0};
		struct extent_mapping m;
		uint64_t stop;

		ret = extent_lookup(&ip->map, fblk, &m);
		if (ret)
			break;
		stop = min_u64(m.fblk + m.len, end);
		if (m.state == EXTENT_DELALLOC) {
			ret = extent_punch(&ip->map, fblk, stop - fblk, &freed);
			inode_release_extents(fs, &freed, MREC_LIVE, 0);
			extent_vec_free(&freed);
		}
		fblk = stop;
	}
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

bool meta_map_valid(struct meta_inode *ip, uint64_t cookie)
{
	bool valid;

	pthread_mutex_lock(&ip->fs->lock);
	valid = extent_map_cookie(&ip->map) == cookie;
	pthread_mutex_unlock(&ip->fs->lock);
	return valid;
}

int meta_alloc_delalloc(struct meta_inode *ip, uint64_t pos, uint64_t len, struct meta_map *out)
{
	/* Writeback allocates: META_MAP_WRITE gives it the checkpoint a write gets. */
	return map_range(ip, pos, len, META_MAP_WRITE, alloc_delalloc_locked, out);
}

/* True when [fblk, end) holds UNWRITTEN blocks. */
static bool range_has_unwritten(struct meta_inode *ip, uint64_t fblk, uint64_t end)
{
	struct extent_mapping m;

	while (fblk < end) {
		if (extent_lookup(&ip->map, fblk, &m))
			return true; /* let the record's apply report it */
		if (m.state == EXTENT_UNWRITTEN)
			return true;
		fblk = m.fblk + m.len;
	}
	return false;
}

int meta_convert_unwritten(struct meta_inode *ip, uint64_t pos, uint64_t len, uint64_t new_size)
{
	struct meta_fs *fs = ip->fs;
	uint64_t fblk = 0, end_blk = 0;
	bool convert = false;
	struct mrec r;
	int ret = 0;

	if (len) {
		ret = range_blocks(fs, ip, pos, len, &fblk, &end_blk);
		if (ret)
			return ret;
	}
	if (new_size > (uint64_t)INT64_MAX)
		return -EFBIG;
	pthread_mutex_lock(&fs->lock);
	if (!S_ISREG(ip->mode))
		ret = -EINVAL;
	else if (len)
		convert = range_has_unwritten(ip, fblk, end_blk);
	if (!ret && (convert || new_size > ip->disk_size))
		ret = fs_writable(fs);
	if (!ret && (convert || new_size > ip->disk_size)) {
		mrec_init(&r, MREC_CONVERT);
		mrec_put64(&r, ip->ino);
		mrec_put64(&r, convert ? fblk : 0);
		mrec_put64(&r, convert ? end_blk - fblk : 0);
		mrec_put64(&r, new_size > ip->disk_size ? new_size : ip->disk_size);
		ret = mrec_commit(fs, &r);
	}
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

/* Allocate UNWRITTEN space over every hole of [fblk, end). */
static int alloc_holes(struct meta_fs *fs, struct meta_inode *ip, uint64_t fblk, uint64_t end)
{
	int tries = 0;

	while (fblk < end) {
		struct extent_mapping m;
		uint64_t got, n;
		int ret;

		ret = extent_lookup(&ip->map, fblk, &m);
		if (ret)
			return ret;
		n = min_u64(m.fblk + m.len, end) - fblk;
		if (m.state != EXTENT_HOLE) {
			fblk += n;
			continue;
		}
		ret = map_allocate(fs, ip, fblk, n, &got);
		if (ret == -EAGAIN && tries++ == 0)
			continue;
		if (ret)
			return ret == -EAGAIN ? -ENOSPC : ret;
		fblk += got;
	}
	return 0;
}

static int log_range(struct meta_fs *fs, struct meta_inode *ip, uint16_t type, uint64_t fblk,
		     uint64_t n, uint64_t new_size)
{
	struct mrec r;

	mrec_init(&r, type);
	mrec_put64(&r, ip->ino);
	mrec_put64(&r, fblk);
	mrec_put64(&r, n);
	if (type != MREC_PUNCH) {
		mrec_put64(&r, new_size);
		mrec_put64(&r, (uint64_t)meta_now_ns());
	}
	return mrec_commit(fs, &r);
}

static int log_grow_size(struct meta_fs *fs, struct meta_inode *ip, uint64_t size)
{
	int64_t now = meta_now_ns();
	struct mrec r;

	if (size <= ip->size && size <= ip->disk_size)
		return 0;
	if (size < ip->size)
		size = ip->size;
	mrec_init(&r, MREC_SETSIZE);
	mrec_put64(&r, ip->ino);
	mrec_put64(&r, size);
	mrec_put8(&r, 0);
	mrec_put64(&r, (uint64_t)ip->mtime);
	mrec_put64(&r, (uint64_t)now);
	return mrec_commit(fs, &r);
}

static int fallocate_locked(struct meta_fs *fs, struct meta_inode *ip, int mode, uint64_t off,
			    uint64_t len)
{
	uint64_t first = off >> fs->bshift, last = (off + len + fs->bsize - 1) >> fs->bshift;
	uint64_t in_first = (off + fs->bsize - 1) >> fs->bshift,
		 in_last = (off + len) >> fs->bshift;
	bool aligned = !((off | len) & (fs->bsize - 1));
	int ret = 0;

	switch (mode) {
	case 0:
	case META_FALLOC_KEEP_SIZE:
		ret = alloc_holes(fs, ip, first, last);
		break;
	case META_FALLOC_PUNCH_HOLE | META_FALLOC_KEEP_SIZE:
		return in_last > in_first
			       ? log_range(fs, ip, MREC_PUNCH, in_first, in_last - in_first, 0)
			       : 0;
	case META_FALLOC_ZERO_RANGE:
	case META_FALLOC_ZERO_RANGE | META_FALLOC_KEEP_SIZE:
		if (in_last > in_first)
			ret = log_range(fs, ip, MREC_PUNCH, in_first, in_last - in_first, 0);
		if (!ret)
			ret = alloc_holes(fs, ip, first, last);
		break;
	case META_FALLOC_COLLAPSE_RANGE:
		if (!aligned || off + len >= ip->size)
			return -EINVAL;
		return log_range(fs, ip, MREC_COLLAPSE, first, len >> fs->bshift, ip->size - len);
	case META_FALLOC_INSERT_RANGE:
		if (!aligned || off >= ip->size)
			return -EINVAL;
		if (len > (uint64_t)INT64_MAX - ip->size)
			return -EFBIG;
		return log_range(fs, ip, MREC_INSERT, first, len >> fs->bshift, ip->size + len);
	default:
		return -EOPNOTSUPP;
	}
	if (!ret && !(mode & META_FALLOC_KEEP_SIZE))
		ret = log_grow_size(fs, ip, off + len);
	return ret;
}

int meta_fallocate(struct meta_inode *ip, int mode, uint64_t off, uint64_t len)
{
	struct meta_fs *fs = ip->fs;
	int ret;

	if (!S_ISREG(ip->mode))
		return S_ISDIR(ip->mode) ? -EISDIR : -ENODEV;
	if (len == 0)
		return -EINVAL;
	if (off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - off)
		return -EFBIG;
	meta_maybe_checkpoint(fs);
	pthread_mutex_lock(&fs->lock);
	ret = fs_writable(fs);
	if (!ret)
		ret = fallocate_locked(fs, ip, mode, off, len);
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

/* SEEK_DATA (want_data) or SEEK_HOLE from @pos, at the extent level. */
static int seek_extent(struct meta_inode *ip, uint64_t pos, bool want_data, uint64_t *out)
{
	struct meta_fs *fs = ip->fs;
	uint64_t size, fblk;
	int ret = -ENXIO;

	pthread_mutex_lock(&fs->lock);
	size = ip->size;
	fblk = pos >> fs->bshift;
	while (pos < size) {
		struct extent_mapping m;
		bool data;

		if (!S_ISREG(ip->mode)) { /* other files are all data */
			*out = want_data ? pos : size;
			ret = 0;
			break;
		}
		ret = extent_lookup(&ip->map, fblk, &m);
		if (ret)
			break;
		data = m.state == EXTENT_MAPPED || m.state == EXTENT_DELALLOC;
		if (data == want_data) {
			uint64_t at = blk_to_byte(fs, m.fblk);

			*out = at > pos ? min_u64(at, size) : pos;
			ret = *out < size || !want_data ? 0 : -ENXIO;
			break;
		}
		fblk = m.fblk + m.len;
		if (blk_to_byte(fs, fblk) >= size) {
			*out = size;
			ret = want_data ? -ENXIO : 0;
			break;
		}
		ret = -ENXIO;
	}
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

int meta_seek_data(struct meta_inode *ip, uint64_t pos, uint64_t *out)
{
	return seek_extent(ip, pos, true, out);
}

int meta_seek_hole(struct meta_inode *ip, uint64_t pos, uint64_t *out)
{
	return seek_extent(ip, pos, false, out);
}
