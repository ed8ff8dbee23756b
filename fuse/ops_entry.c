/* SPDX-License-Identifier: MIT */
/*
 * ops_entry.c - FUSE operations on names and attributes: lookup, forget, getattr, setattr,
 * mknod, mkdir, symlink, readlink, link, unlink, rmdir, rename, statfs. Each is a thin shell
 * around core/meta.h (and gfs_truncate for a size change, so the core's cache stays coherent).
 *
 * Ownership of new inodes: the caller's uid and gid (fuse_req_ctx), except that in a set-group-ID
 * directory new entries take the directory's group and new subdirectories inherit S_ISGID, as
 * the kernel's inode_init_owner() does. Permission checks, the sticky bit and the umask are the
 * kernel's (default_permissions, no FUSE_CAP_DONT_MASK).
 *
 * Lookup references: see gfuse.h. An entry reply consumes the reference meta took; if the reply
 * fails (the request was interrupted) the reference is dropped again.
 */
#include "fuse/gfuse.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/log.h"

void gfuse_attr_to_stat(const struct meta_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = (off_t)a->size;
	st->st_blocks = (blkcnt_t)a->blocks;
	st->st_blksize = a->blksize;
	st->st_atim.tv_sec = a->atime_ns / 1000000000;
	st->st_atim.tv_nsec = a->atime_ns % 1000000000;
	st->st_mtim.tv_sec = a->mtime_ns / 1000000000;
	st->st_mtim.tv_nsec = a->mtime_ns % 1000000000;
	st->st_ctim.tv_sec = a->ctime_ns / 1000000000;
	st->st_ctim.tv_nsec = a->ctime_ns % 1000000000;
}

void gfuse_fill_entry(struct gfuse *gf, const struct meta_attr *a, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = a->ino;
	e->generation = a->gen;
	e->attr_timeout = gf->attr_timeout;
	e->entry_timeout = gf->entry_timeout;
	gfuse_attr_to_stat(a, &e->attr);
}

void gfuse_reply_entry(fuse_req_t req, uint64_t parent, const char *name, const struct meta_attr *a)
{
	struct gfuse *gf = gfuse_from_req(req);
	struct fuse_entry_param e;

	gfuse_fill_entry(gf, a, &e);
	gfuse_names_add(gf->names, a->ino, parent, name);
	if (fuse_reply_entry(req, &e)) {
		/* Not delivered: the kernel never counted this lookup. */
		gfuse_names_forget(gf->names, a->ino, 1);
		meta_forget(gf->meta, a->ino, 1);
	}
}

static void gfuse_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct gfuse *gf = gfuse_from_req(req);
	struct meta_attr a;
	int ret = meta_lookup(gf->meta, parent, name, &a);

	if (ret == -ENOENT) {
		/* A negative entry the kernel may cache: no reference taken. */
		struct fuse_entry_param e = {.ino = 0, .entry_timeout = gf->entry_timeout};

		fuse_reply_entry(req, &e);
		return;
	}
	if (ret)
		fuse_reply_err(req, -ret);
	else
		gfuse_reply_entry(req, parent, name, &a);
}

static void gfuse_forget_one(struct gfuse *gf, uint64_t ino, uint64_t nlookup)
{
	if (gfuse_names_forget(gf->names, ino, nlookup)) {
		int ret = gfs_forget_inode(gf->gfs, ino);

		if (ret && ret != -ENOENT)
			gfs_warn("inode %llu: forget: %s", (unsigned long long)ino, strerror(-ret));
	}
	meta_forget(gf->meta, ino, nlookup);
}

static void gfuse_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	gfuse_forget_one(gfuse_from_req(req), ino, nlookup);
	fuse_reply_none(req);
}

static void gfuse_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct gfuse *gf = gfuse_from_req(req);

	for (size_t i = 0; i < count; i++)
		gfuse_forget_one(gf, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void gfuse_reply_attr(fuse_req_t req, const struct meta_attr *a)
{
	struct stat st;

	gfuse_attr_to_stat(a, &st);
	fuse_reply_attr(req, &st, gfuse_from_req(req)->attr_timeout);
}

static void gfuse_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct meta_attr a;
	int ret = meta_getattr(gfuse_from_req(req)->meta, ino, &a);

	if (ret)
		fuse_reply_err(req, -ret);
	else
		gfuse_reply_attr(req, &a);
}

static int64_t gfuse_ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static int64_t gfuse_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return gfuse_ts_ns(&ts);
}

/* FUSE's setattr bits to meta's (the size is done separately, through the core). */
static void gfuse_setattr_to_meta(const struct stat *st, int to_set, struct meta_setattr *sa)
{
	memset(sa, 0, sizeof(*sa));
	if (to_set & FUSE_SET_ATTR_MODE) {
		sa->valid |= META_SET_MODE;
		sa->mode = st->st_mode & 07777;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		sa->valid |= META_SET_UID;
		sa->uid = st->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		sa->valid |= META_SET_GID;
		sa->gid = st->st_gid;
	}
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW)) {
		sa->valid |= META_SET_ATIME;
		sa->atime_ns = (to_set & FUSE_SET_ATTR_ATIME_NOW) ? gfuse_now_ns()
								  : gfuse_ts_ns(&st->st_atim);
	}
	if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) {
		sa->valid |= META_SET_MTIME;
		sa->mtime_ns = (to_set & FUSE_SET_ATTR_MTIME_NOW) ? gfuse_now_ns()
								  : gfuse_ts_ns(&st->st_mtim);
	}
	if (to_set & FUSE_SET_ATTR_CTIME) {
		sa->valid |= META_SET_CTIME;
		sa->ctime_ns = gfuse_ts_ns(&st->st_ctim);
	}
}

static void gfuse_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *st, int to_set,
			  struct fuse_file_info *fi)
{
	struct gfuse *gf = gfuse_from_req(req);
	struct meta_setattr sa;
	struct meta_attr a;
	int ret = 0;

	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (st->st_size < 0) {
			fuse_reply_err(req, EINVAL);
			return;
		}
		ret = meta_getattr(gf->meta, ino, &a);
		if (!ret && S_ISDIR(a.mode))
			ret = -EISDIR;
		else if (!ret && !S_ISREG(a.mode))
			ret = -EINVAL;
		if (!ret)
			ret = gfs_truncate(gf->gfs, ino, (uint64_t)st->st_size);
		gfuse_inval_wait_queued(gf);
	}
	gfuse_setattr_to_meta(st, to_set, &sa);
	/* A truncate alone still changes ctime (and meta does that for any change). */
	if (!ret && (sa.valid || !(to_set & FUSE_SET_ATTR_SIZE)))
		ret = meta_setattr(gf->meta, ino, &sa, &a);
	else if (!ret)
		ret = meta_getattr(gf->meta, ino, &a);
	if (ret)
		fuse_reply_err(req, -ret);
	else
		gfuse_reply_attr(req, &a);
}

/* The owner of a new entry in @parent; adds S_ISGID to *mode for a directory under setgid. */
static int gfuse_new_owner(fuse_req_t req, fuse_ino_t parent, uint32_t *mode,
			   struct meta_owner *owner)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct meta_attr pa;
	int ret = meta_getattr(gfuse_from_req(req)->meta, parent, &pa);

	if (ret)
		return ret;
	if (!S_ISDIR(pa.mode))
		return -ENOTDIR;
	owner->uid = ctx->uid;
	owner->gid = ctx->gid;
	if (pa.mode & S_ISGID) {
		owner->gid = pa.gid;
		if (S_ISDIR(*mode))
			*mode |= S_ISGID;
	}
	return 0;
}

static void gfuse_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			dev_t rdev)
{
	struct gfuse *gf = gfuse_from_req(req);
	struct meta_owner owner;
	struct meta_attr a;
	uint32_t m = mode;
	int ret = gfuse_new_owner(req, parent, &m, &owner);

	if (!ret)
		ret = meta_mknod(gf->meta, parent, name, m, rdev, &owner, &a);
	if (ret)
		fuse_reply_err(req, -ret);
	else
		gfuse_reply_entry(req, parent, name, &a);
}

static void gfuse_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct gfuse *gf = gfuse_from_req(req);
	struct meta_owner owner;
	struct meta_attr a;
	uint32_t m = mode | S_IFDIR;
	int ret = gfuse_new_owner(req, parent, &m, &owner);

	if (!ret)
		ret = meta_mkdir(gf->meta, parent, name, m & 07777, &owner, &a);
	if (ret)
		fuse_reply_err(req, -ret);
	else
		gfuse_reply_entry(req, parent, name, &a);
}

static void gfuse_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name)
{
	struct gfuse *gf = gfuse_from_req(req);
	struct meta_owner owner;
	struct meta_attr a;
	uint32_t m = S_IFLNK | 0777;
	int ret = gfuse_new_owner(req, parent, &m, &owner);

	if (!ret)
		ret = meta_symlink(gf->meta, parent, name, target, &owner, &a);
	if (ret)
		fuse_reply_err(req, -ret);
	else
		gfuse_reply_entry(req, parent, name, &a);
}

static void gfuse_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[META_SYMLINK_MAX + 1];
	int ret = meta_readlink(gfuse_from_req(req)->meta, ino, buf, sizeof(buf));

	if (ret < 0)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_readlink(req, buf);
}

static void gfuse_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct meta_attr a;
	int ret = meta_link(gfuse_from_req(req)->meta, ino, newparent, newname, &a);

	if (ret)
		fuse_reply_err(req, -ret);
	else
		gfuse_reply_entry(req, newparent, newname, &a);
}

static void gfuse_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct gfuse *gf = gfuse_from_req(req);
	int ret = meta_unlink(gf->meta, parent, name);

	if (!ret)
		gfuse_names_move(gf->names, parent, name, 0, NULL);
	fuse_reply_err(req, -ret);
}

static void gfuse_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct gfuse *gf = gfuse_from_req(req);
	int ret = meta_rmdir(gf->meta, parent, name);

	if (!ret)
		gfuse_names_move(gf->names, parent, name, 0, NULL);
	fuse_reply_err(req, -ret);
}

static void gfuse_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
			 const char *newname, unsigned int flags)
{
	struct gfuse *gf = gfuse_from_req(req);
	unsigned mflags = 0;
	int ret;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
		fuse_reply_err(req, EINVAL); /* RENAME_WHITEOUT: no overlay support */
		return;
	}
	if (flags & RENAME_NOREPLACE)
		mflags |= META_RENAME_NOREPLACE;
	if (flags & RENAME_EXCHANGE)
		mflags |= META_RENAME_EXCHANGE;
	ret = meta_rename(gf->meta, parent, name, newparent, newname, mflags);
	if (!ret && (flags & RENAME_EXCHANGE)) {
		gfuse_names_move(gf->names, parent, name, 0, "\x01swap");
		gfuse_names_move(gf->names, newparent, newname, parent, name);
		gfuse_names_move(gf->names, 0, "\x01swap", newparent, newname);
	} else if (!ret) {
		gfuse_names_move(gf->names, newparent, newname, 0, NULL);
		gfuse_names_move(gf->names, parent, name, newparent, newname);
	}
	fuse_reply_err(req, -ret);
}

static void gfuse_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct meta_statfs ms;
	struct statvfs sv;
	int ret = meta_statfs(gfuse_from_req(req)->meta, &ms);

	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = ms.block_size;
	sv.f_frsize = ms.block_size;
	sv.f_blocks = ms.blocks;
	sv.f_bfree = ms.blocks_free;
	sv.f_bavail = ms.blocks_avail;
	sv.f_files = ms.files;
	sv.f_ffree = ms.files_free;
	sv.f_favail = ms.files_free;
	sv.f_namemax = ms.name_max;
	fuse_reply_statfs(req, &sv);
}

void gfuse_ops_entry(struct fuse_lowlevel_ops *ops)
{
	ops->lookup = gfuse_lookup;
	ops->forget = gfuse_forget;
	ops->forget_multi = gfuse_forget_multi;
	ops->getattr = gfuse_getattr;
	ops->setattr = gfuse_setattr;
	ops->mknod = gfuse_mknod;
	ops->mkdir = gfuse_mkdir;
	ops->symlink = gfuse_symlink;
	ops->readlink = gfuse_readlink;
	ops->link = gfuse_link;
	ops->unlink = gfuse_unlink;
	ops->rmdir = gfuse_rmdir;
	ops->rename = gfuse_rename;
	ops->statfs = gfuse_statfs;
}
