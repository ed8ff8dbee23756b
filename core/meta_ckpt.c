/* SPDX-License-Identifier: MIT */
/*
 * meta_ckpt.c - checkpoints: the whole in-memory state written as a record stream.
 *
 * Order of the stream (docs/FORMAT.md, "Metadata records"): MREC_FSINFO; then for every inode
 * in inode-number order its MREC_INODE, its extents (MREC_EXTENT, file order, UNWRITTEN and
 * MAPPED only: DELALLOC is in memory only) and its xattrs (MREC_SETXATTR); then every directory
 * entry (MREC_DIRENT, per directory in cookie order), once every inode they name exists.
 * Replaying it with the apply code of meta_rec.c rebuilds the same state, free space included
 * (everything no extent references).
 *
 * journal_checkpoint() fixes the log position at its start, and the state must contain exactly
 * the records appended before that. So the state is encoded into memory under fs->lock (which
 * every append also holds), inside the journal's emit callback; the lock is then dropped and the
 * copy is written while the filesystem goes on. The price is a transient copy of the state
 * (about the size of the checkpoint). When the log is full (mrec_commit), the checkpoint runs
 * with the lock held throughout: the appending thread already holds it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mdblock.h"
#include "core/meta_internal.h"

static size_t st_begin(struct mrec *o, uint16_t type)
{
	mrec_put16(o, type);
	mrec_put32(o, 0);
	return o->len;
}

static void st_end(struct mrec *o, size_t start, uint64_t *nr)
{
	if (!o->oom)
		md_put_le32(o->buf + start - 4, (uint32_t)(o->len - start));
	(*nr)++;
}

struct st_ext {
	struct mrec *o;
	uint64_t ino;
	uint64_t *nr;
};

static int st_put_extent(const struct extent_mapping *e, void *arg)
{
	struct st_ext *c = arg;
	size_t s;

	if (e->state != EXTENT_MAPPED && e->state != EXTENT_UNWRITTEN)
		return 0;
	s = st_begin(c->o, MREC_EXTENT);
	mrec_put64(c->o, c->ino);
	mrec_put64(c->o, e->fblk);
	mrec_put64(c->o, e->len);
	mrec_put64(c->o, e->dblk);
	mrec_put8(c->o, (uint8_t)e->state);
	st_end(c->o, s, c->nr);
	return c->o->oom ? -ENOMEM : 0;
}

static void st_put_inode(struct mrec *o, struct meta_inode *ip, uint64_t *nr)
{
	struct st_ext c = {o, ip->ino, nr};
	size_t s = st_begin(o, MREC_INODE);

	mrec_put_inode(o, ip);
	st_end(o, s, nr);
	if (S_ISREG(ip->mode))
		extent_iterate(&ip->map, 0, st_put_extent, &c);
	for (struct rb_node *n = rb_first(&ip->xattrs); n; n = rb_next(n)) {
		struct meta_xattr *x = rb_entry(n, struct meta_xattr, node);

		s = st_begin(o, MREC_SETXATTR);
		mrec_put64(o, ip->ino);
		mrec_put64(o, (uint64_t)ip->ctime);
		mrec_put_name(o, x->name, x->name_len);
		mrec_put32(o, x->value_len);
		mrec_put_bytes(o, x->value, x->value_len);
		st_end(o, s, nr);
	}
}

static void st_put_dirents(struct mrec *o, struct meta_inode *dir, uint64_t *nr)
{
	for (struct rb_node *n = rb_first(&dir->dir.by_cookie); n && !o->oom; n = rb_next(n)) {
		struct meta_dirent *de = rb_entry(n, struct meta_dirent, by_cookie);
		size_t s = st_begin(o, MREC_DIRENT);

		mrec_put64(o, dir->ino);
		mrec_put64(o, de->cookie);
		mrec_put64(o, de->ino);
		mrec_put_name(o, de->name, de->name_len);
		st_end(o, s, nr);
	}
}

int mrec_encode_state(struct meta_fs *fs, struct mrec *o, uint64_t *nr_records)
{
	struct rb_node *n;
	size_t s;

	*nr_records = 0;
	s = st_begin(o, MREC_FSINFO);
	mrec_put32(o, META_FORMAT_VERSION);
	mrec_put64(o, fs->next_ino);
	st_end(o, s, nr_records);
	for (n = rb_first(&fs->inodes); n && !o->oom; n = rb_next(n))
		st_put_inode(o, rb_entry(n, struct meta_inode, node), nr_records);
	for (n = rb_first(&fs->inodes); n && !o->oom; n = rb_next(n)) {
		struct meta_inode *ip = rb_entry(n, struct meta_inode, node);

		if (S_ISDIR(ip->mode))
			st_put_dirents(o, ip, nr_records);
	}
	return o->oom ? -ENOMEM : 0;
}

struct ckpt_ctx {
	struct meta_fs *fs;
	bool unlock;   /* drop fs->lock once the state is copied */
	bool unlocked; /* ... and it was */
};

static int ckpt_emit(struct journal_ckpt *ck, void *arg)
{
	struct ckpt_ctx *c = arg;
	struct mrec o;
	uint64_t nr;
	size_t off = 0;
	int ret;

	mrec_init(&o, 0);
	ret = mrec_encode_state(c->fs, &o, &nr);
	if (c->unlock) {
		pthread_mutex_unlock(&c->fs->lock);
		c->unlocked = true;
	}
	while (!ret && off < o.len) {
		uint16_t type = md_get_le16(o.buf + off);
		uint32_t len = md_get_le32(o.buf + off + 2);

		ret = journal_ckpt_add(ck, type, o.buf + off + 6, len);
		off += 6 + (size_t)len;
	}
	mrec_free(&o);
	return ret;
}

int meta_checkpoint_locked(struct meta_fs *fs)
{
	struct ckpt_ctx c = {.fs = fs};

	return journal_checkpoint(fs->j, ckpt_emit, &c);
}

int meta_checkpoint(struct meta_fs *fs)
{
	struct ckpt_ctx c = {.fs = fs, .unlock = true};
	int ret;

	pthread_mutex_lock(&fs->lock);
	ret = fs_writable(fs);
	if (!ret)
		ret = journal_checkpoint(fs->j, ckpt_emit, &c);
	if (!c.unlocked)
		pthread_mutex_unlock(&fs->lock);
	return ret;
}

int meta_maybe_checkpoint(struct meta_fs *fs)
{
	int ret;

	if (fs->read_only || !journal_should_checkpoint(fs->j))
		return 0;
	/*
	 * One at a time: a second thread would wait for the journal's checkpoint lock while
	 * holding fs->lock, stalling every metadata operation until the first one is written.
	 */
	if (atomic_exchange(&fs->ckpt_busy, true))
		return 0;
	ret = meta_checkpoint(fs);
	atomic_store(&fs->ckpt_busy, false);
	return ret;
}
