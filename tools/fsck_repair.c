// SPDX-License-Identifier: MIT
/*
 * fsck_repair.c - the repairs of fsck.guardfs -y, each reported as one line.
 *
 * Safe repairs only, all of them additive or freeing nothing anyone can reach:
 *   - a damaged superblock copy is rewritten from the one the mount used (sb_write);
 *   - an unreachable inode that still has links gets an entry "#<ino>" in lost+found, and
 *     a wrong link count is set to the number of entries naming the inode: both as records
 *     appended to the log (jedit.h) that the next mount replays like any other;
 *   - written blocks wholly past EOF are freed with meta_fallocate(PUNCH_HOLE) on a read-write
 *     mount, which is also the mount that folds the appended records into a checkpoint and frees
 *     the orphans a crash left.
 * Called with the filesystem mounted read-only (to read what the records need); unmounts it.
 *
 * Not here: leaked space cannot exist on disk (free space is not stored; a mount rebuilds it as
 * what no extent references), so the free-space check can only find an in-memory bug, which no
 * on-disk repair fixes. An unreachable directory is left alone: an entry for it would need a
 * cookie in lost+found that the metadata API cannot reserve.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "tools/fsck.h"
#include "tools/jedit.h"

struct fsck_prepared {
	struct fsck_fix fix;
	struct meta_attr attr;
	char *symlink;
	uint32_t nlink;
};

static uint64_t fsck_lost_found(struct fsck *c)
{
	struct meta_attr a;

	if (meta_lookup(c->fs, META_ROOT_INO, "lost+found", &a))
		return 0;
	meta_forget(c->fs, a.ino, 1);
	return S_ISDIR(a.mode) ? a.ino : 0;
}

/* What the records need, read while still mounted. Orphans end up with one link. */
static int fsck_prepare(struct fsck *c, struct fsck_prepared *p)
{
	for (size_t i = 0; i < c->nr_fixes; i++) {
		const struct fsck_fix *f = &c->fixes[i];
		struct fsck_inode *fi = fsck_find_inode(c, f->ino);

		p[i].fix = *f;
		if (f->kind != FSCK_FIX_NLINK && f->kind != FSCK_FIX_ORPHAN)
			continue;
		p[i].attr = fi->attr;
		p[i].nlink = f->kind == FSCK_FIX_ORPHAN ? 1 : (uint32_t)f->value;
		if (S_ISLNK(fi->attr.mode)) {
			p[i].symlink = malloc(META_SYMLINK_MAX + 1);
			if (!p[i].symlink ||
			    meta_readlink(c->fs, f->ino, p[i].symlink, META_SYMLINK_MAX + 1) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

static int fsck_repair_records(struct fsck *c, struct fsck_prepared *p, uint64_t lf)
{
	struct jedit *je;
	char name[64];
	int ret;

	ret = jedit_open(c->source, &je);
	if (ret)
		return ret;
	for (size_t i = 0; i < c->nr_fixes && !ret; i++) {
		struct fsck_prepared *q = &p[i];

		if (q->fix.kind == FSCK_FIX_ORPHAN) {
			snprintf(name, sizeof(name), "#%" PRIu64, q->fix.ino);
			ret = jedit_put_link(je, q->fix.ino, lf, name);
			if (!ret)
				printf("%s: repaired: inode %" PRIu64 " linked as /lost+found/%s\n",
				       c->source, q->fix.ino, name);
		}
		if (!ret && (q->fix.kind == FSCK_FIX_ORPHAN || q->fix.kind == FSCK_FIX_NLINK)) {
			ret = jedit_put_inode(je, &q->attr, q->nlink, q->symlink);
			if (!ret)
				printf("%s: repaired: inode %" PRIu64 ": link count set to %u\n",
				       c->source, q->fix.ino, q->nlink);
		}
	}
	ret = jedit_close(je) ?: ret;
	return ret;
}

static int fsck_repair_sb(struct fsck *c)
{
	struct ns *ns;
	int ret;

	ret = tools_ns_open(c->source, false, &ns);
	if (ret)
		return ret;
	ret = sb_write(ns, &c->sb);
	ns_close(ns);
	if (!ret)
		printf("%s: repaired: both superblock copies rewritten\n", c->source);
	return ret;
}

static int fsck_repair_past_eof(struct fsck *c, struct meta_fs *fs, const struct fsck_fix *f)
{
	uint64_t bsize = c->sb.block_size, off = f->value * bsize;
	struct meta_inode *ip;
	int ret;

	ret = meta_inode_get(fs, f->ino, &ip);
	if (ret)
		return ret;
	ret = meta_fallocate(ip, META_FALLOC_PUNCH_HOLE | META_FALLOC_KEEP_SIZE, off,
			     ((uint64_t)INT64_MAX - off) / bsize * bsize);
	meta_inode_put(ip);
	if (!ret)
		printf("%s: repaired: inode %" PRIu64 ": blocks from file offset %" PRIu64
		       " (past EOF) freed\n",
		       c->source, f->ino, off);
	return ret;
}

/* The read-write mount: punch past-EOF blocks; its unmount checkpoints everything. */
static int fsck_repair_mounted(struct fsck *c)
{
	struct meta_fs *fs;
	int ret, ret2;

	ret = meta_mount(c->source, NULL, &fs);
	if (ret)
		return ret;
	for (size_t i = 0; i < c->nr_fixes && !ret; i++)
		if (c->fixes[i].kind == FSCK_FIX_PAST_EOF)
			ret = fsck_repair_past_eof(c, fs, &c->fixes[i]);
	ret2 = meta_unmount(fs);
	return ret ? ret : ret2;
}

int fsck_repair(struct fsck *c)
{
	struct fsck_prepared *p = calloc(c->nr_fixes ? c->nr_fixes : 1, sizeof(*p));
	bool sb = false, records = false;
	uint64_t lf = 0;
	int ret;

	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < c->nr_fixes; i++) {
		sb |= c->fixes[i].kind == FSCK_FIX_SB;
		records |=
			c->fixes[i].kind == FSCK_FIX_NLINK || c->fixes[i].kind == FSCK_FIX_ORPHAN;
		if (c->fixes[i].kind == FSCK_FIX_ORPHAN && !lf && !(lf = fsck_lost_found(c))) {
			printf("%s: no /lost+found directory: unreachable inodes stay as they "
			       "are\n",
			       c->source);
			c->fixes[i--] = c->fixes[--c->nr_fixes];
			c->unfixable++;
		}
	}
	ret = fsck_prepare(c, p);
	meta_unmount(c->fs);
	c->fs = NULL;
	/* The superblock first: the journal is found through it. */
	if (!ret && sb)
		ret = fsck_repair_sb(c);
	if (!ret && records)
		ret = fsck_repair_records(c, p, lf);
	if (!ret)
		ret = fsck_repair_mounted(c);
	for (size_t i = 0; i < c->nr_fixes; i++)
		free(p[i].symlink);
	free(p);
	if (ret)
		printf("%s: repair failed: %s\n", c->source, strerror(-ret));
	return ret;
}
