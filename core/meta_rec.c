/* SPDX-License-Identifier: MIT */
/*
 * meta_rec.c - metadata records: building, applying, committing.
 *
 * Every change to the metadata is one record (docs/FORMAT.md, "Metadata records"). A mutation
 * builds the record's bytes, decodes and applies them to memory with mrec_apply() and appends
 * them to the journal - the same decode-and-apply that journal_open() drives at mount. So the
 * state a record stream rebuilds is, by construction, the state that wrote it.
 *
 * Apply is atomic: it checks the record against the state and allocates what it needs before
 * changing anything, so a failed apply (-ENOMEM, or -EUCLEAN for a record that does not fit
 * the state) leaves memory as it was. The one difference between running live and replaying is
 * space: live, the caller allocated new space already and freed space is parked until the
 * freeing record is durable (alloc_free_deferred); at replay, records are durable, so space is
 * marked used and freed directly.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/bug.h"
#include "core/log.h"
#include "core/mdblock.h"
#include "core/meta_internal.h"

/* ------------------------------------------------------------------ building */

void mrec_init(struct mrec *r, uint16_t type)
{
	*r = (struct mrec){.type = type};
}

static uint8_t *mrec_reserve(struct mrec *r, size_t len)
{
	if (r->oom)
		return NULL;
	if (r->len + len > r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 128;
		uint8_t *nb;

		while (cap < r->len + len)
			cap *= 2;
		nb = realloc(r->buf, cap);
		if (!nb) {
			r->oom = true;
			return NULL;
		}
		r->buf = nb;
		r->cap = cap;
	}
	r->len += len;
	return r->buf + r->len - len;
}

void mrec_put8(struct mrec *r, uint8_t v)
{
	uint8_t *p = mrec_reserve(r, 1);

	if (p)
		*p = v;
}

void mrec_put16(struct mrec *r, uint16_t v)
{
	uint8_t *p = mrec_reserve(r, 2);

	if (p)
		md_put_le16(p, v);
}

void mrec_put32(struct mrec *r, uint32_t v)
{
	uint8_t *p = mrec_reserve(r, 4);

	if (p)
		md_put_le32(p, v);
}

void mrec_put64(struct mrec *r, uint64_t v)
{
	uint8_t *p = mrec_reserve(r, 8);

	if (p)
		md_put_le64(p, v);
}

void mrec_put_bytes(struct mrec *r, const void *src, size_t len)
{
	uint8_t *p = mrec_reserve(r, len);

	if (p && len)
		memcpy(p, src, len);
}

void mrec_put_name(struct mrec *r, const char *name, size_t len)
{
	mrec_put16(r, (uint16_t)len);
	mrec_put_bytes(r, name, len);
}

void mrec_free(struct mrec *r)
{
	free(r->buf);
	r->buf = NULL;
	r->len = r->cap = 0;
}

void mrec_put_inode(struct mrec *r, const struct meta_inode *ip)
{
	size_t link_len = S_ISLNK(ip->mode) ? strlen(ip->symlink) : 0;

	mrec_put64(r, ip->ino);
	mrec_put64(r, ip->gen);
	mrec_put32(r, ip->mode);
	mrec_put32(r, ip->uid);
	mrec_put32(r, ip->gid);
	mrec_put32(r, ip->nlink);
	mrec_put32(r, ip->flags);
	mrec_put64(r, ip->rdev);
	mrec_put64(r, ip->disk_size);
	mrec_put64(r, (uint64_t)ip->atime);
	mrec_put64(r, (uint64_t)ip->mtime);
	mrec_put64(r, (uint64_t)ip->ctime);
	mrec_put64(r, (uint64_t)ip->btime);
	mrec_put64(r, S_ISDIR(ip->mode) ? ip->dir.next_cookie : 0);
	mrec_put16(r, (uint16_t)link_len);
	mrec_put_bytes(r, link_len ? ip->symlink : NULL, link_len);
}

/* ------------------------------------------------------------------ decoding */

struct mrec_inode {
	uint64_t ino, gen;
	uint32_t mode, uid, gid, nlink, flags;
	uint64_t rdev, size;
	int64_t atime, mtime, ctime, btime;
	uint64_t next_cookie;
	const char *link;
	size_t link_len;
};

static void rd_inode(struct mrd *d, struct mrec_inode *in)
{
	in->ino = rd64(d);
	in->gen = rd64(d);
	in->mode = rd32(d);
	in->uid = rd32(d);
	in->gid = rd32(d);
	in->nlink = rd32(d);
	in->flags = rd32(d);
	in->rdev = rd64(d);
	in->size = rd64(d);
	in->atime = (int64_t)rd64(d);
	in->mtime = (int64_t)rd64(d);
	in->ctime = (int64_t)rd64(d);
	in->btime = (int64_t)rd64(d);
	in->next_cookie = rd64(d);
	in->link = rd_name(d, &in->link_len);
}

static bool mode_is_valid(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
	case S_IFDIR:
	case S_IFLNK:
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		return true;
	}
	return false;
}

static void inode_set_from(struct meta_inode *ip, const struct mrec_inode *in, bool fresh,
			   enum mrec_mode mode)
{
	ip->gen = in->gen;
	ip->mode = in->mode;
	ip->uid = in->uid;
	ip->gid = in->gid;
	ip->nlink = in->nlink;
	ip->flags = in->flags;
	ip->rdev = in->rdev;
	ip->atime = in->atime;
	ip->mtime = in->mtime;
	ip->ctime = in->ctime;
	ip->btime = in->btime;
	/* Live, the visible size may run ahead of the logged one (buffered data): keep it. */
	if (fresh || mode != MREC_LIVE || ip->size < in->size)
		ip->size = in->size;
	ip->disk_size = in->size;
	if (S_ISDIR(in->mode) && in->next_cookie > ip->dir.next_cookie)
		ip->dir.next_cookie = in->next_cookie;
}

/* Allocate an inode from a record body (not yet in the table). */
static int inode_from_rec(struct meta_fs *fs, const struct mrec_inode *in, struct meta_inode **out)
{
	struct meta_inode *ip;

	if (!mode_is_valid(in->mode) || in->ino == 0 ||
	    (S_ISLNK(in->mode) != (in->link_len != 0)) || in->size > (uint64_t)INT64_MAX ||
	    (S_ISDIR(in->mode) && in->next_cookie > META_COOKIE_MAX))
		return -EINVAL;
	ip = inode_alloc(fs, in->ino, in->mode);
	if (!ip)
		return -ENOMEM;
	if (S_ISLNK(in->mode)) {
		ip->symlink = malloc(in->link_len + 1);
		if (!ip->symlink) {
			inode_free(ip);
			return -ENOMEM;
		}
		memcpy(ip->symlink, in->link, in->link_len);
		ip->symlink[in->link_len] = 0;
	}
	inode_set_from(ip, in, true, MREC_LIVE);
	*out = ip;
	return 0;
}

/* ------------------------------------------------------------------ applying */

static int apply_inode(struct meta_fs *fs, struct mrd *d, enum mrec_mode mode, uint64_t seq)
{
	struct mrec_inode in;
	struct meta_inode *ip;
	int ret;

	rd_inode(d, &in);
	if (d->bad)
		return -EBADMSG;
	ip = inode_find(fs, in.ino);
	if (!ip) {
		ret = inode_from_rec(fs, &in, &ip);
		if (ret)
			return ret;
		inode_insert(fs, ip);
		if (ip->ino == META_ROOT_INO && S_ISDIR(ip->mode))
			ip->dir.parent = META_ROOT_INO;
	} else {
		if ((ip->mode & S_IFMT) != (in.mode & S_IFMT) || in.size > (uint64_t)INT64_MAX)
			return -EINVAL;
		inode_set_from(ip, &in, false, mode);
	}
	ip->last_seq = seq;
	return 0;
}

/* The directory a namespace record changes: it must exist, be a directory and be alive. */
static int find_live_dir(struct meta_fs *fs, uint64_t ino, struct meta_inode **out)
{
	struct meta_inode *dir = inode_find(fs, ino);

	if (!dir)
		return -ENOENT;
	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	if (dir->nlink == 0)
		return -ENOENT;
	*out = dir;
	return 0;
}

static int check_name(const char *name, size_t len)
{
	if (!name || len == 0)
		return -EINVAL;
	if (len > META_NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* The name a CREATE, LINK or UNLINK record carries must be valid, its directory live. */
static int find_entry_dir(struct meta_fs *fs, uint64_t dir_ino, const char *name, size_t len,
			  struct meta_inode **dir)
{
	int ret = check_name(name, len);

	if (ret)
		return ret;
	return find_live_dir(fs, dir_ino, dir);
}

/* Decode the name that ends a LINK or UNLINK record, then check it as find_entry_dir does. */
static int rd_entry(struct meta_fs *fs, struct mrd *d, uint64_t dir_ino, struct meta_inode **dir,
		    const char **name, size_t *len)
{
	*name = rd_name(d, len);
	if (d->bad)
		return -EBADMSG;
	return find_entry_dir(fs, dir_ino, *name, *len, dir);
}

/* An entry for @ip in @dir was made or removed at @time: both change, by record @seq. */
static void touch_entry(struct meta_inode *dir, struct meta_inode *ip, int64_t time, uint64_t seq)
{
	ip->ctime = time;
	dir->mtime = dir->ctime = time;
	ip->last_seq = dir->last_seq = seq;
}

static int apply_create(struct meta_fs *fs, struct mrd *d, uint64_t seq)
{
	uint64_t dir_ino = rd64(d);
	struct meta_inode *dir, *ip;
	struct meta_dirent *de;
	struct mrec_inode in;
	const char *name;
	size_t len;
	int ret;

	name = rd_name(d, &len);
	rd_inode(d, &in);
	if (d->bad)
		return -EBADMSG;
	ret = find_entry_dir(fs, dir_ino, name, len, &dir);
	if (ret)
		return ret;
	if (dir_find(dir, name, len) || inode_find(fs, in.ino))
		return -EEXIST;
	if (S_ISDIR(in.mode) && dir->nlink >= META_LINK_MAX)
		return -EMLINK;
	ret = inode_from_rec(fs, &in, &ip);
	if (ret)
		return ret;
	de = dirent_alloc(name, len, ip->ino, ip->mode & S_IFMT);
	if (!de) {
		inode_free(ip);
		return -ENOMEM;
	}
	inode_insert(fs, ip);
	ret = dir_insert(fs, dir, de, 0);
	GFS_BUG_ON(ret);
	if (S_ISDIR(ip->mode)) {
		dir->nlink++;
		ip->dir.parent = dir->ino;
	}
	touch_entry(dir, ip, ip->ctime, seq);
	return 0;
}

static int apply_link(struct meta_fs *fs, struct mrd *d, uint64_t seq)
{
	uint64_t ino = rd64(d), dir_ino = rd64(d);
	int64_t time = (int64_t)rd64(d);
	struct meta_inode *dir, *ip;
	struct meta_dirent *de;
	const char *name;
	size_t len;
	int ret;

	ret = rd_entry(fs, d, dir_ino, &dir, &name, &len);
	if (ret)
		return ret;
	ip = inode_find(fs, ino);
	if (!ip)
		return -ENOENT;
	if (S_ISDIR(ip->mode))
		return -EPERM;
	if (ip->nlink >= META_LINK_MAX)
		return -EMLINK;
	if (dir_find(dir, name, len))
		return -EEXIST;
	de = dirent_alloc(name, len, ino, ip->mode & S_IFMT);
	if (!de)
		return -ENOMEM;
	ret = dir_insert(fs, dir, de, 0);
	GFS_BUG_ON(ret);
	ip->nlink++;
	touch_entry(dir, ip, time, seq);
	return 0;
}

static int apply_unlink(struct meta_fs *fs, struct mrd *d, enum mrec_mode mode, uint64_t seq)
{
	uint64_t dir_ino = rd64(d);
	int64_t time = (int64_t)rd64(d);
	bool rmdir = rd8(d) != 0;
	struct meta_inode *dir, *ip;
	struct meta_dirent *de;
	const char *name;
	size_t len;
	int ret;

	ret = rd_entry(fs, d, dir_ino, &dir, &name, &len);
	if (ret)
		return ret;
	de = dir_find(dir, name, len);
	if (!de)
		return -ENOENT;
	ip = inode_find(fs, de->ino);
	if (!ip)
		return -EUCLEAN;
	if (rmdir && !S_ISDIR(ip->mode))
		return -ENOTDIR;
	if (!rmdir && S_ISDIR(ip->mode))
		return -EISDIR;
	if (rmdir && ip->dir.nr_entries)
		return -ENOTEMPTY;
	dir_remove(fs, dir, de);
	free(de);
	if (S_ISDIR(ip->mode)) {
		ip->nlink = 0;
		dir->nlink--;
	} else {
		ip->nlink--;
	}
	touch_entry(dir, ip, time, seq);
	/* Live, an inode nobody holds goes now; at replay orphans wait for the mount's cleanup. */
	if (ip->nlink == 0 && mode == MREC_LIVE && ip->refs == 0)
		inode_destroy(fs, ip, mode, seq);
	return 0;
}

static int apply_rename(struct meta_fs *fs, struct mrd *d, enum mrec_mode mode, uint64_t seq)
{
	uint64_t olddir = rd64(d), newdir = rd64(d);
	uint32_t flags = rd32(d);
	int64_t time = (int64_t)rd64(d);
	const char *oldname, *newname;
	size_t oldlen, newlen;
	int ret;

	oldname = rd_name(d, &oldlen);
	newname = rd_name(d, &newlen);
	if (d->bad)
		return -EBADMSG;
	ret = check_name(oldname, oldlen);
	if (!ret)
		ret = check_name(newname, newlen);
	if (ret)
		return ret;
	return dir_apply_rename(fs, olddir, oldname, oldlen, newdir, newname, newlen, flags, time,
				mode, seq);
}

static int apply_xattr(struct meta_fs *fs, struct mrd *d, bool set, uint64_t seq)
{
	uint64_t ino = rd64(d);
	int64_t time = (int64_t)rd64(d);
	const void *value = NULL;
	struct meta_inode *ip;
	size_t name_len;
	const char *name;
	uint32_t vlen = 0;
	int ret;

	name = rd_name(d, &name_len);
	if (set) {
		vlen = rd32(d);
		value = rd_take(d, vlen);
	}
	if (d->bad)
		return -EBADMSG;
	ip = inode_find(fs, ino);
	if (!ip)
		return -ENOENT;
	if (name_len == 0 || name_len > META_XATTR_NAME_MAX || vlen > META_XATTR_SIZE_MAX)
		return -ERANGE;
	ret = set ? xattr_apply_set(ip, name, name_len, value, vlen)
		  : xattr_apply_remove(ip, name, name_len);
	if (ret)
		return ret;
	ip->ctime = time;
	ip->last_seq = seq;
	return 0;
}

static int apply_dirent(struct meta_fs *fs, struct mrd *d)
{
	uint64_t dir_ino = rd64(d), cookie = rd64(d), ino = rd64(d);
	struct meta_inode *dir, *ip;
	struct meta_dirent *de;
	const char *name;
	size_t len;
	int ret;

	name = rd_name(d, &len);
	if (d->bad)
		return -EBADMSG;
	ret = check_name(name, len);
	if (ret)
		return ret;
	dir = inode_find(fs, dir_ino);
	ip = inode_find(fs, ino);
	if (!dir || !S_ISDIR(dir->mode) || !ip || cookie < META_COOKIE_FIRST ||
	    cookie > META_COOKIE_MAX)
		return -EINVAL;
	de = dirent_alloc(name, len, ino, ip->mode & S_IFMT);
	if (!de)
		return -ENOMEM;
	ret = dir_insert(fs, dir, de, cookie); /* -EEXIST for a duplicate name or cookie */
	if (ret) {
		free(de);
		return ret;
	}
	if (S_ISDIR(ip->mode))
		ip->dir.parent = dir_ino;
	return 0;
}

static int apply_fsinfo(struct meta_fs *fs, struct mrd *d)
{
	uint32_t version = rd32(d);
	uint64_t next_ino = rd64(d);

	if (d->bad)
		return -EBADMSG;
	if (version != META_FORMAT_VERSION)
		return -EPROTONOSUPPORT;
	if (next_ino > fs->next_ino)
		fs->next_ino = next_ino;
	return 0;
}

static int apply_one(struct meta_fs *fs, uint16_t type, struct mrd *d, enum mrec_mode mode,
		     uint64_t seq)
{
	switch (type) {
	case MREC_FSINFO:
		return apply_fsinfo(fs, d);
	case MREC_INODE:
		return apply_inode(fs, d, mode, seq);
	case MREC_CREATE:
		return apply_create(fs, d, seq);
	case MREC_LINK:
		return apply_link(fs, d, seq);
	case MREC_UNLINK:
		return apply_unlink(fs, d, mode, seq);
	case MREC_RENAME:
		return apply_rename(fs, d, mode, seq);
	case MREC_SETXATTR:
	case MREC_RMXATTR:
		return apply_xattr(fs, d, type == MREC_SETXATTR, seq);
	case MREC_EXTENT:
		return mrec_apply_extent(fs, d, mode, seq);
	case MREC_CONVERT:
		return mrec_apply_convert(fs, d, seq);
	case MREC_PUNCH:
	case MREC_COLLAPSE:
	case MREC_INSERT:
		return mrec_apply_range(fs, d, type, mode, seq);
	case MREC_SETSIZE:
		return mrec_apply_setsize(fs, d, mode, seq);
	case MREC_FREE_INODE:
		return mrec_apply_free_inode(fs, d, mode, seq);
	case MREC_DIRENT:
		return apply_dirent(fs, d);
	}
	return -EPROTONOSUPPORT;
}

int mrec_apply(struct meta_fs *fs, uint16_t type, const void *payload, size_t len,
	       enum mrec_mode mode, uint64_t seq)
{
	struct mrd d = {.p = payload, .len = len};
	int ret;

	ret = apply_one(fs, type, &d, mode, seq);
	/* Trailing bytes mean the writer and the reader disagree on the format. */
	if (!ret && d.off != d.len)
		ret = -EBADMSG;
	GFS_BUG_ON(ret == -EBADMSG && mode == MREC_LIVE);
	return ret;
}

int mrec_commit(struct meta_fs *fs, struct mrec *r)
{
	uint64_t seq, got = 0;
	int ret;

	if (fs->nr_unreleased)
		inode_retry_releases(fs);
	if (r->oom) {
		ret = -ENOMEM;
		goto out;
	}
	if (r->len > fs->rec_max) {
		ret = -ENOSPC;
		goto out;
	}
	seq = journal_next_seq(fs->j);
	ret = mrec_apply(fs, r->type, r->buf, r->len, MREC_LIVE, seq);
	if (ret)
		goto out;
	ret = journal_append(fs->j, r->type, r->buf, (uint32_t)r->len, &got);
	if (ret == -ENOSPC) {
		/* The log is full: a checkpoint of the state, which holds this change, frees it. */
		ret = meta_checkpoint_locked(fs);
	} else if (!ret) {
		GFS_BUG_ON(got != seq);
	}
	if (ret) {
		gfs_err("%s: metadata log write failed (%s); the filesystem is read-only now",
			ns_get_path(fs->ns), strerror(-ret));
		fs->error = ret;
		ret = -EIO;
	}
out:
	mrec_free(r);
	return ret;
}
