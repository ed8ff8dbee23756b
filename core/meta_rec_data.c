/* SPDX-License-Identifier: MIT */
/*
 * meta_rec_data.c - applying the records that change file data mappings and sizes: EXTENT,
 * CONVERT, PUNCH, COLLAPSE, INSERT, SETSIZE and FREE_INODE (docs/FORMAT.md, section 10).
 *
 * Same rules as meta_rec.c: check, then change, so a failed apply changes nothing. Space is the
 * one place where running live and replaying differ: live, new space was allocated by the
 * caller and freed space is parked until the freeing record is durable; at replay new space is
 * marked used (a block mapped twice refuses the mount) and freed space is free at once.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/meta_internal.h"

/* The regular file a data record changes, once the record has decoded whole. */
static int rd_find_reg(struct meta_fs *fs, const struct mrd *d, uint64_t ino,
		       struct meta_inode **out)
{
	struct meta_inode *ip;

	if (d->bad)
		return -EBADMSG;
	ip = inode_find(fs, ino);
	if (!ip)
		return -ENOENT;
	if (!S_ISREG(ip->mode))
		return -EINVAL;
	*out = ip;
	return 0;
}

/*
 * The end of a mapping change that returned @ret: release the extents it removed (@removed)
 * when it succeeded, free the vector either way. Returns @ret.
 */
static int release_removed(struct meta_fs *fs, int ret, struct extent_vec *removed,
			   enum mrec_mode mode, uint64_t seq)
{
	if (!ret)
		inode_release_extents(fs, removed, mode, seq);
	extent_vec_free(removed);
	return ret;
}

static bool dev_range_ok(const struct meta_fs *fs, uint64_t dblk, uint64_t len)
{
	uint64_t end = fs->sb.data_start + fs->sb.data_blocks;

	return len && dblk >= fs->sb.data_start && dblk < end && len <= end - dblk;
}

int mrec_apply_extent(struct meta_fs *fs, struct mrd *d, enum mrec_mode mode, uint64_t seq)
{
	uint64_t ino = rd64(d), fblk = rd64(d), len = rd64(d), dblk = rd64(d);
	uint8_t state = rd8(d);
	struct extent_vec rep = {0};
	struct meta_inode *ip;
	int ret;

	ret = rd_find_reg(fs, d, ino, &ip);
	if (ret)
		return ret;
	if ((state != EXTENT_MAPPED && state != EXTENT_UNWRITTEN) || !dev_range_ok(fs, dblk, len))
		return -EINVAL;
	if (mode != MREC_LIVE) {
		ret = alloc_mark_used(&fs->alloc, dblk, len);
		if (ret)
			return ret;
	}
	if (mode == MREC_REPLAY_CKPT)
		ret = extent_append(&ip->map, fblk, len, state, dblk);
	else
		ret = extent_set(&ip->map, fblk, len, state, dblk, &rep);
	ret = release_removed(fs, ret, &rep, mode, seq);
	if (ret) {
		if (mode != MREC_LIVE)
			alloc_free(&fs->alloc, dblk, len);
		return ret;
	}
	ip->last_seq = seq;
	return 0;
}

static void size_grow(struct meta_inode *ip, uint64_t size)
{
	if (size > ip->disk_size)
		ip->disk_size = size;
	if (ip->disk_size > ip->size)
		ip->size = ip->disk_size;
}

int mrec_apply_convert(struct meta_fs *fs, struct mrd *d, uint64_t seq)
{
	uint64_t ino = rd64(d), fblk = rd64(d), len = rd64(d), size = rd64(d);
	struct meta_inode *ip;
	int ret;

	ret = rd_find_reg(fs, d, ino, &ip);
	if (ret)
		return ret;
	if (size > (uint64_t)INT64_MAX)
		return -EINVAL;
	if (len) {
		ret = extent_convert_unwritten(&ip->map, fblk, len);
		if (ret)
			return ret;
	}
	size_grow(ip, size);
	ip->last_seq = seq;
	return 0;
}

/* PUNCH, COLLAPSE, INSERT: a range and, for the last two, the new size and the time. */
int mrec_apply_range(struct meta_fs *fs, struct mrd *d, uint16_t type, enum mrec_mode mode,
		     uint64_t seq)
{
	uint64_t ino = rd64(d), fblk = rd64(d), len = rd64(d), size = 0;
	struct extent_vec freed = {0};
	struct meta_inode *ip;
	int64_t time = 0;
	int ret;

	if (type != MREC_PUNCH) {
		size = rd64(d);
		time = (int64_t)rd64(d);
	}
	ret = rd_find_reg(fs, d, ino, &ip);
	if (ret)
		return ret;
	if (size > (uint64_t)INT64_MAX)
		return -EINVAL;
	if (type == MREC_PUNCH)
		ret = extent_punch(&ip->map, fblk, len, &freed);
	else if (type == MREC_COLLAPSE)
		ret = extent_collapse(&ip->map, fblk, len, &freed);
	else
		ret = extent_insert_range(&ip->map, fblk, len);
	ret = release_removed(fs, ret, &freed, mode, seq);
	if (ret)
		return ret;
	if (type != MREC_PUNCH) {
		ip->size = ip->disk_size = size;
		ip->mtime = ip->ctime = time;
	}
	ip->last_seq = seq;
	return 0;
}

int mrec_apply_setsize(struct meta_fs *fs, struct mrd *d, enum mrec_mode mode, uint64_t seq)
{
	uint64_t ino = rd64(d), size = rd64(d);
	bool shrink = rd8(d) != 0;
	int64_t mtime = (int64_t)rd64(d), ctime = (int64_t)rd64(d);
	struct extent_vec freed = {0};
	struct meta_inode *ip;
	int ret;

	ret = rd_find_reg(fs, d, ino, &ip);
	if (ret)
		return ret;
	if (size > (uint64_t)INT64_MAX)
		return -EFBIG;
	if (shrink) {
		uint64_t first = (size + fs->bsize - 1) >> fs->bshift;

		ret = extent_truncate(&ip->map, first, &freed);
		ret = release_removed(fs, ret, &freed, mode, seq);
		if (ret)
			return ret;
	}
	ip->size = ip->disk_size = size;
	ip->mtime = mtime;
	ip->ctime = ctime;
	ip->last_seq = seq;
	return 0;
}

int mrec_apply_free_inode(struct meta_fs *fs, struct mrd *d, enum mrec_mode mode, uint64_t seq)
{
	uint64_t ino = rd64(d);
	struct meta_inode *ip;

	if (d->bad)
		return -EBADMSG;
	ip = inode_find(fs, ino);
	if (!ip)
		return -ENOENT;
	if (ip->nlink || ip->refs || ino == META_ROOT_INO)
		return -EBUSY;
	inode_destroy(fs, ip, mode, seq);
	return 0;
}
