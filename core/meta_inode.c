/* SPDX-License-Identifier: MIT */
/*
 * meta_inode.c - the inode table and inode attributes.
 *
 * Inodes live in one red-black tree keyed by inode number (O(log n) lookup, no fixed limit).
 * Inode numbers come from a counter that only grows and is part of the checkpoint, so a number
 * is never reused in the life of the filesystem; the generation is kept for NFS-style handles.
 *
 * Lifetime: an inode stays while it has a link (nlink > 0) or a reference (FUSE lookups, pins
 * by the I/O layers). The last reference to an unlinked inode frees it with a MREC_FREE_INODE
 * record; its device space is parked until that record is durable. Everything here runs under
 * fs->lock except the per-inode rwlock, which belongs to the callers (meta.h, lock order).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/bug.h"
#include "core/log.h"
#include "core/mdblock.h"
#include "core/meta_internal.h"

int64_t meta_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int inode_cmp(const void *key, const struct rb_node *node)
{
	uint64_t ino = *(const uint64_t *)key;
	uint64_t other = rb_entry(node, struct meta_inode, node)->ino;

	return ino < other ? -1 : ino > other;
}

static bool inode_less(const struct rb_node *a, const struct rb_node *b)
{
	return rb_entry(a, struct meta_inode, node)->ino <
	       rb_entry(b, struct meta_inode, node)->ino;
}

struct meta_inode *inode_find(struct meta_fs *fs, uint64_t ino)
{
	struct meta_inode *ip;
	unsigned slot = ino & 1;

	/*
	 * A two-entry cache in front of the tree: namespace records name a directory and a child
	 * again and again (checkpoint load: the same directory for every entry).
	 */
	ip = fs->icache[slot];
	if (ip && ip->ino == ino)
		return ip;
	ip = rb_entry_safe(rb_find(&ino, &fs->inodes, inode_cmp), struct meta_inode, node);
	if (ip)
		fs->icache[slot] = ip;
	return ip;
}

struct meta_inode *inode_alloc(struct meta_fs *fs, uint64_t ino, uint32_t mode)
{
	struct meta_inode *ip = malloc(sizeof(*ip));

	if (!ip)
		return NULL;
	memset(ip, 0, sizeof(*ip));
	ip->fs = fs;
	ip->ino = ino;
	ip->mode = mode;
	ip->xattrs = RB_ROOT;
	pthread_rwlock_init(&ip->rwsem, NULL);
	if (S_ISREG(mode)) {
		extent_map_init(&ip->map);
	} else if (S_ISDIR(mode)) {
		ip->dir.by_name = RB_ROOT;
		ip->dir.by_cookie = RB_ROOT;
		ip->dir.next_cookie = META_COOKIE_FIRST;
	}
	return ip;
}

static void inode_unhash(struct meta_fs *fs, struct meta_inode *ip)
{
	rb_erase(&ip->node, &fs->inodes);
	fs->nr_inodes--;
	if (fs->icache[ip->ino & 1] == ip)
		fs->icache[ip->ino & 1] = NULL;
}

void inode_insert(struct meta_fs *fs, struct meta_inode *ip)
{
	rb_add(&ip->node, &fs->inodes, inode_less);
	fs->nr_inodes++;
	if (ip->ino >= fs->next_ino)
		fs->next_ino = ip->ino + 1;
}

void inode_free(struct meta_inode *ip)
{
	xattr_free_all(ip);
	if (S_ISREG(ip->mode))
		extent_map_destroy(&ip->map);
	else if (S_ISDIR(ip->mode))
		dir_free_entries(ip);
	else if (S_ISLNK(ip->mode))
		free(ip->symlink);
	pthread_rwlock_destroy(&ip->rwsem);
	free(ip);
}

/*
 * Give device blocks back. Live, the old owner's record is not durable yet: a crash before it
 * would leave these blocks referenced, so nobody may write them until then (parked with @seq).
 * The allocator needs memory for that; when there is none, the range waits in a small array in
 * the fs (no allocation) and goes back at the next commit, so an out-of-memory moment never
 * loses space nor leaves the in-memory state inconsistent.
 */
static void release_range(struct meta_fs *fs, uint64_t dblk, uint64_t len, enum mrec_mode mode,
			  uint64_t seq)
{
	int ret;

	if (mode == MREC_LIVE)
		ret = alloc_free_deferred(&fs->alloc, dblk, len, seq);
	else
		ret = alloc_free(&fs->alloc, dblk, len);
	if (ret == -ENOMEM && fs->nr_unreleased < META_UNRELEASED_MAX) {
		fs->unreleased[fs->nr_unreleased++] = (struct meta_unreleased){dblk, len, seq};
		return;
	}
	if (ret == -ENOMEM)
		fs->leaked_blocks += len;
	if (ret)
		gfs_err("%s: blocks %" PRIu64 "+%" PRIu64 " not returned to free space: %s",
			ns_get_path(fs->ns), dblk, len, strerror(-ret));
}

void inode_retry_releases(struct meta_fs *fs)
{
	unsigned kept = 0;

	for (unsigned i = 0; i < fs->nr_unreleased; i++) {
		struct meta_unreleased *u = &fs->unreleased[i];

		if (alloc_free_deferred(&fs->alloc, u->start, u->len, u->seq))
			fs->unreleased[kept++] = *u;
	}
	fs->nr_unreleased = kept;
}

static void release_mapping(struct meta_fs *fs, const struct extent_mapping *e, enum mrec_mode mode,
			    uint64_t seq)
{
	if (e->state == EXTENT_DELALLOC) {
		GFS_BUG_ON(fs->delalloc_blocks < e->len);
		fs->delalloc_blocks -= e->len;
		return;
	}
	release_range(fs, e->dblk, e->len, mode, seq);
}

void inode_release_extents(struct meta_fs *fs, const struct extent_vec *v, enum mrec_mode mode,
			   uint64_t seq)
{
	for (size_t i = 0; i < v->nr; i++)
		release_mapping(fs, &v->v[i], mode, seq);
}

struct release_ctx {
	struct meta_fs *fs;
	enum mrec_mode mode;
	uint64_t seq;
};

static int release_one(const struct extent_mapping *ext, void *arg)
{
	struct release_ctx *c = arg;

	release_mapping(c->fs, ext, c->mode, c->seq);
	return 0;
}

void inode_destroy(struct meta_fs *fs, struct meta_inode *ip, enum mrec_mode mode, uint64_t seq)
{
	struct release_ctx c = {fs, mode, seq};

	/* Straight from the walk: releasing touches the allocator, never the map. */
	if (S_ISREG(ip->mode))
		extent_iterate(&ip->map, 0, release_one, &c);
	inode_unhash(fs, ip);
	inode_free(ip);
}

void inode_free_all(struct meta_fs *fs)
{
	struct rb_node *n;

	while ((n = rb_first(&fs->inodes))) {
		struct meta_inode *ip = rb_entry(n, struct meta_inode, node);

		rb_erase(n, &fs->inodes);
		inode_free(ip);
	}
	fs->nr_inodes = 0;
	fs->icache[0] = fs->icache[1] = NULL;
}

uint16_t meta_owner_tag_ino(uint64_t ino)
{
	/* Fibonacci hashing spreads neighbouring inode numbers over the whole tag space. */
	uint16_t tag = (uint16_t)((ino * UINT64_C(0x9E3779B97F4A7C15)) >> 48);

	if (tag == 0xFFFF || tag == MD_APP_TAG)
		tag ^= 1;
	return tag;
}

uint16_t meta_owner_tag(const struct meta_inode *inode)
{
	return meta_owner_tag_ino(inode->ino);
}

void inode_fill_attr(const struct meta_fs *fs, const struct meta_inode *ip, struct meta_attr *out)
{
	uint64_t blocks = 0;

	if (S_ISREG(ip->mode))
		blocks = extent_blocks(&ip->map, EXTENT_MAPPED) +
			 extent_blocks(&ip->map, EXTENT_UNWRITTEN) +
			 extent_blocks(&ip->map, EXTENT_DELALLOC);
	*out = (struct meta_attr){
		.ino = ip->ino,
		.gen = ip->gen,
		.mode = ip->mode,
		.uid = ip->uid,
		.gid = ip->gid,
		.nlink = ip->nlink,
		.flags = ip->flags,
		.size = S_ISLNK(ip->mode) ? strlen(ip->symlink) : ip->size,
		.blocks = blocks * (fs->bsize / 512),
		.rdev = ip->rdev,
		.atime_ns = ip->atime,
		.mtime_ns = ip->mtime,
		.ctime_ns = ip->ctime,
		.btime_ns = ip->btime,
		.blksize = fs->bsize,
	};
	if (S_ISDIR(ip->mode))
		out->size = fs->bsize;
}

/* Free an orphan whose last reference went away: one record, space parked until durable. */
static void inode_free_orphan(struct meta_fs *fs, struct meta_inode *ip)
{
	struct mrec r;

	if (fs_writable(fs)) {
		/* Read-only or failed: forget it in memory; the next mount frees it. */
		inode_unhash(fs, ip);
		inode_free(ip);
		return;
	}
	mrec_init(&r, MREC_FREE_INODE);
	mrec_put64(&r, ip->ino);
	if (mrec_commit(fs, &r))
		gfs_warn("%s: inode %" PRIu64 " stays an orphan until the next mount",
			 ns_get_path(fs->ns), ip->ino);
}

void inode_put_locked(struct meta_fs *fs, struct meta_inode *ip, uint64_t nr)
{
	GFS_BUG_ON(ip->refs < nr);
	ip->refs -= nr;
	if (ip->refs == 0 && ip->nlink == 0)
		inode_free_orphan(fs, ip);
}

void meta_forget(struct meta_fs *fs, uint64_t ino, uint64_t nlookup)
{
	struct meta_inode *ip;

	pthread_mutex_lock(&fs->lock);
	ip = inode_find(fs, ino);
	if (ip && nlookup)
		inode_put_locked(fs, ip, nlookup < ip->refs ? nlookup : ip->refs);
	pthread_mutex_unlock(&fs->lock);
}

int meta_inode_get(struct meta_fs *fs, uint64_t ino, struct meta_inode **out)
{
	struct meta_inode *ip;

	pthread_mutex_lock(&fs->lock);
	ip = inode_find(fs, ino);
	if (ip)
		ip->refs++;
	pthread_mutex_unlock(&fs->lock);
	*out = ip;
	return ip ? 0 : -ENOENT;
}

void meta_inode_put(struct meta_inode *inode)
{
	struct meta_fs *fs = inode->fs;

	pthread_mutex_lock(&fs->lock);
	inode_put_locked(fs, inode, 1);
	pthread_mutex_unlock(&fs->lock);
}

uint64_t meta_inode_ino(const struct meta_inode *inode)
{
	return inode->ino;
}

struct meta_fs *meta_inode_fs(const struct meta_inode *inode)
{
	return inode->fs;
}

void meta_inode_lock(struct meta_inode *inode)
{
	pthread_rwlock_wrlock(&inode->rwsem);
}

void meta_inode_lock_shared(struct meta_inode *inode)
{
	pthread_rwlock_rdlock(&inode->rwsem);
}

void meta_inode_unlock(struct meta_inode *inode)
{
	pthread_rwlock_unlock(&inode->rwsem);
}

uint64_t meta_size_read(struct meta_inode *inode)
{
	uint64_t size;

	pthread_mutex_lock(&inode->fs->lock);
	size = inode->size;
	pthread_mutex_unlock(&inode->fs->lock);
	return size;
}

void meta_size_extend(struct meta_inode *inode, uint64_t new_size)
{
	pthread_mutex_lock(&inode->fs->lock);
	if (new_size > inode->size && new_size <= (uint64_t)INT64_MAX)
		inode->size = new_size;
	pthread_mutex_unlock(&inode->fs->lock);
}

int meta_getattr(struct meta_fs *fs, uint64_t ino, struct meta_attr *out)
{
	struct meta_inode *ip;

	pthread_mutex_lock(&fs->lock);
	ip = inode_find(fs, ino);
	if (ip)
		inode_fill_attr(fs, ip, out);
	pthread_mutex_unlock(&fs->lock);
	return ip ? 0 : -ENOENT;
}

/* The size half of setattr: its own record, since it frees space. */
static int setattr_size(struct meta_fs *fs, struct meta_inode *ip, uint64_t size, int64_t mtime,
			int64_t ctime)
{
	struct mrec r;

	if (S_ISDIR(ip->mode))
		return -EISDIR;
	if (!S_ISREG(ip->mode))
		return -EINVAL;
	if (size > (uint64_t)INT64_MAX)
		return -EFBIG;
	mrec_init(&r, MREC_SETSIZE);
	mrec_put64(&r, ip->ino);
	mrec_put64(&r, size);
	mrec_put8(&r, size < ip->size || size < ip->disk_size);
	mrec_put64(&r, (uint64_t)mtime);
	mrec_put64(&r, (uint64_t)ctime);
	return mrec_commit(fs, &r);
}

static int setattr_locked(struct meta_fs *fs, struct meta_inode *ip, const struct meta_setattr *sa)
{
	int64_t now = meta_now_ns(), ctime = (sa->valid & META_SET_CTIME) ? sa->ctime_ns : now;
	struct meta_inode tmp;
	struct mrec r;
	int ret;

	if (sa->valid & META_SET_SIZE) {
		int64_t mtime = (sa->valid & META_SET_MTIME) ? sa->mtime_ns : now;

		ret = setattr_size(fs, ip, sa->size, mtime, ctime);
		if (ret)
			return ret;
	}
	if (!(sa->valid & ~META_SET_SIZE))
		return 0;
	tmp = *ip;
	if (sa->valid & META_SET_MODE)
		tmp.mode = (ip->mode & S_IFMT) | (sa->mode & 07777);
	if (sa->valid & META_SET_UID)
		tmp.uid = sa->uid;
	if (sa->valid & META_SET_GID)
		tmp.gid = sa->gid;
	if (sa->valid & META_SET_ATIME)
		tmp.atime = sa->atime_ns;
	if (sa->valid & META_SET_MTIME)
		tmp.mtime = sa->mtime_ns;
	if (sa->valid & META_SET_FLAGS)
		tmp.flags = sa->flags;
	tmp.ctime = ctime;
	mrec_init(&r, MREC_INODE);
	mrec_put_inode(&r, &tmp);
	return mrec_commit(fs, &r);
}

int meta_setattr(struct meta_fs *fs, uint64_t ino, const struct meta_setattr *sa,
		 struct meta_attr *out)
{
	struct meta_inode *ip;
	int ret;

	meta_maybe_checkpoint(fs);
	pthread_mutex_lock(&fs->lock);
	ip = inode_find(fs, ino);
	ret = ip ? fs_writable(fs) : -ENOENT;
	if (!ret)
		ret = setattr_locked(fs, ip, sa);
	if (!ret && out)
		inode_fill_attr(fs, ip, out);
	pthread_mutex_unlock(&fs->lock);
	return ret;
}
