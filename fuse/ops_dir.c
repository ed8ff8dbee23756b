/* SPDX-License-Identifier: MIT */
/*
 * ops_dir.c - FUSE directory reading: readdir and readdirplus over meta_readdir's stable
 * cookies. The FUSE offset of an entry is its cookie, so a reader that resumes at offset X asks
 * meta for "the entries after cookie X" and a directory changed between two calls returns every
 * entry that stayed exactly once (meta.h). Directory handles carry no state.
 *
 * readdirplus hands each entry except "." and ".." to the kernel as a lookup would, so each
 * takes a meta reference (meta_lookup by name) that the kernel's forget drops later; an entry
 * that does not fit the reply buffer gives its reference back.
 */
#include "fuse/gfuse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct dir_fill {
	fuse_req_t req;
	struct gfuse *gf;
	uint64_t dir;
	bool plus;
	char *buf;
	size_t size, used;
	int error;
};

static bool dir_is_dot(const struct meta_dirent_info *de)
{
	return (de->namelen == 1 && de->name[0] == '.') ||
	       (de->namelen == 2 && de->name[0] == '.' && de->name[1] == '.');
}

/* A readdirplus entry: returns the bytes it needs (> room when it did not fit). */
static size_t dir_add_plus(struct dir_fill *df, const struct meta_dirent_info *de, const char *name,
			   size_t room)
{
	struct fuse_entry_param e;
	struct meta_attr a;
	size_t need;

	if (dir_is_dot(de)) {
		/* No lookup reference for these: the kernel ignores their entry (ino 0). */
		memset(&e, 0, sizeof(e));
		e.attr.st_ino = de->ino;
		e.attr.st_mode = de->type;
		return fuse_add_direntry_plus(df->req, df->buf + df->used, room, name, &e,
					      (off_t)de->cookie);
	}
	df->error = meta_lookup(df->gf->meta, df->dir, name, &a);
	if (df->error == -ENOENT) {
		df->error = 0; /* removed meanwhile: skip it */
		return 0;
	}
	if (df->error)
		return room + 1;
	gfuse_fill_entry(df->gf, &a, &e);
	need = fuse_add_direntry_plus(df->req, df->buf + df->used, room, name, &e,
				      (off_t)de->cookie);
	if (need > room)
		meta_forget(df->gf->meta, a.ino, 1);
	else
		gfuse_names_add(df->gf->names, a.ino, df->dir, name);
	return need;
}

static int dir_fill_one(void *arg, const struct meta_dirent_info *de)
{
	struct dir_fill *df = arg;
	size_t room = df->size - df->used, need;
	char name[META_NAME_MAX + 1];
	struct stat st;

	memcpy(name, de->name, de->namelen);
	name[de->namelen] = '\0';
	if (df->plus) {
		need = dir_add_plus(df, de, name, room);
	} else {
		memset(&st, 0, sizeof(st));
		st.st_ino = de->ino;
		st.st_mode = de->type;
		need = fuse_add_direntry(df->req, df->buf + df->used, room, name, &st,
					 (off_t)de->cookie);
	}
	if (need > room || df->error)
		return 1; /* full: this entry was not returned */
	df->used += need;
	return 0;
}

static void dir_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
	struct dir_fill df = {
		.req = req, .gf = gfuse_from_req(req), .dir = ino, .plus = plus, .size = size};
	int ret;

	df.buf = malloc(size ? size : 1);
	if (!df.buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ret = meta_readdir(df.gf->meta, ino, (uint64_t)off, dir_fill_one, &df);
	if (ret >= 0 && df.error && !df.used)
		ret = df.error;
	if (ret < 0)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_buf(req, df.buf, df.used);
	free(df.buf);
}

static void gfuse_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			  struct fuse_file_info *fi)
{
	dir_read(req, ino, size, off, false);
}

static void gfuse_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			      struct fuse_file_info *fi)
{
	dir_read(req, ino, size, off, true);
}

static void gfuse_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct meta_attr a;
	int ret = meta_getattr(gfuse_from_req(req)->meta, ino, &a);

	if (!ret && !S_ISDIR(a.mode))
		ret = -ENOTDIR;
	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	fi->cache_readdir = 0;
	fuse_reply_open(req, fi);
}

static void gfuse_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	fuse_reply_err(req, -meta_fsync(gfuse_from_req(req)->meta, ino, datasync));
}

void gfuse_ops_dir(struct fuse_lowlevel_ops *ops)
{
	ops->opendir = gfuse_opendir;
	ops->readdir = gfuse_readdir;
	ops->readdirplus = gfuse_readdirplus;
	ops->fsyncdir = gfuse_fsyncdir;
}
