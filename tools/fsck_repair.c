// SPDX-License-Identifier: MIT
/*
 * fsck_repair.c - the repairs of fsck.guardfs -y, each reported as one line.
 *
 * Safe repairs only, all of them additive or freeing nothing anyone can reach:
 *   - a damaged superblock copy is rewritten from the one the mount used (sb_write);
 *   - an unreachable inode that still has links gets an entry "#<ino>" in lost+found (LINK),
 *     so does the top directory of each unreachable subtree (DIRENT: LINK refuses directories;
 *     its ".." becomes lost+found), and a cycle of directories the root does not reach has the
 *     entry closing it moved there (RENAME); then wrong link counts, lost+found's and the cycle
 *     parent's are set (INODE): all as records appended to the log (jedit.h) that the next
 *     mount replays like any other (docs/FORMAT.md, "Repairs");
 *   - written blocks wholly past EOF are freed with meta_fallocate(PUNCH_HOLE) on a read-write
 *     mount, which is also the mount that folds the appended records into a checkpoint and frees
 *     the orphans a crash left.
 * Called with the filesystem mounted read-only (to read what the records need); unmounts it.
 *
 * A DIRENT names its readdir cookie: lost+found's next cookie (meta_dir_next_cookie), counted
 * up for every entry the records add before it, so it is one lost+found never gave and, since
 * replaying it raises the next cookie past it, never gives. Without a usable lost+found nothing
 * is attached; those problems stay, reported.
 *
 * Not here: leaked space cannot exist on disk (free space is not stored; a mount rebuilds it as
 * what no extent references), so the free-space check can only find an in-memory bug, which no
 * on-disk repair fixes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/log.h"
#include "tools/fsck.h"
#include "tools/jedit.h"

struct fsck_prepared {
	struct fsck_fix fix;
	struct meta_attr attr;
	char *symlink;
	uint32_t nlink;
	char name[48]; /* ORPHAN, ORPHAN_DIR: the new entry in lost+found */
};

/* The cookies lost+found gives next: one per entry the records add, whichever record adds it. */
struct fsck_cookies {
	uint64_t next;
};

/*
 * "#<ino>", or "#<ino>.<n>" when lost+found has that name already: replay refuses a record
 * that adds an existing name, and the mount with it.
 */
static void fsck_entry_name(struct fsck *c, uint64_t ino, char *buf, size_t len)
{
	struct meta_attr a;

	snprintf(buf, len, "#%" PRIu64, ino);
	for (unsigned n = 1; !meta_lookup(c->fs, c->lost_found, buf, &a); n++) {
		meta_forget(c->fs, a.ino, 1);
		snprintf(buf, len, "#%" PRIu64 ".%u", ino, n);
	}
}

/* What the records need, read while still mounted. Orphans end up with one link. */
static int fsck_prepare(struct fsck *c, struct fsck_prepared *p, struct fsck_cookies *ck)
{
	int ret;

	if (c->lost_found) {
		ret = meta_dir_next_cookie(c->fs, c->lost_found, &ck->next);
		if (ret)
			return ret;
	}
	for (size_t i = 0; i < c->nr_fixes; i++) {
		const struct fsck_fix *f = &c->fixes[i];
		struct fsck_inode *fi = fsck_find_inode(c, f->ino);

		p[i].fix = *f;
		if (f->kind == FSCK_FIX_ORPHAN || f->kind == FSCK_FIX_ORPHAN_DIR)
			fsck_entry_name(c, f->ino, p[i].name, sizeof(p[i].name));
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

/*
 * The records that add entries to lost+found. LINK and RENAME take its next cookie at replay;
 * DIRENT carries one, which must be that same next cookie: counting every entry added keeps
 * them in step, so no cookie lost+found ever gave or will give is used twice.
 */
static int fsck_put_entry(struct fsck *c, struct jedit *je, const struct fsck_prepared *q,
			  struct fsck_cookies *ck)
{
	const struct fsck_fix *f = &q->fix;
	struct fsck_inode *fi = fsck_find_inode(c, f->ino);
	int ret;

	if (f->kind == FSCK_FIX_ORPHAN)
		ret = jedit_put_link(je, f->ino, c->lost_found, q->name);
	else if (f->value)
		ret = jedit_put_rename(je, f->value, fi->namer_name, c->lost_found, q->name, 0);
	else
		ret = jedit_put_dirent(je, c->lost_found, ck->next, f->ino, q->name);
	if (ret)
		return ret;
	ck->next++;
	if (f->kind == FSCK_FIX_ORPHAN)
		printf("%s: repaired: inode %" PRIu64 " linked as /lost+found/%s\n", c->source,
		       f->ino, q->name);
	else if (f->value)
		printf("%s: repaired: directory inode %" PRIu64 " moved from inode %" PRIu64
		       " ('%s') to /lost+found/%s\n",
		       c->source, f->ino, f->value, fi->namer_name, q->name);
	else
		printf("%s: repaired: directory inode %" PRIu64 " linked as /lost+found/%s\n",
		       c->source, f->ino, q->name);
	return 0;
}

static int fsck_put_nlink(struct fsck *c, struct jedit *je, const struct meta_attr *a,
			  uint32_t nlink, const char *symlink)
{
	int ret = jedit_put_inode(je, a, nlink, symlink);

	if (!ret)
		printf("%s: repaired: inode %" PRIu64 ": link count set to %u\n", c->source, a->ino,
		       nlink);
	return ret;
}

static bool fsck_has_nlink_fix(const struct fsck *c, uint64_t ino)
{
	for (size_t i = 0; i < c->nr_fixes; i++)
		if (c->fixes[i].kind == FSCK_FIX_NLINK && c->fixes[i].ino == ino)
			return true;
	return false;
}

/*
 * The directories whose link count the moves change, lost+found (each attached directory adds
 * one) and the parents a cycle was cut in (one less), unless an NLINK fix sets it anyway: the
 * check counted its value after the moves.
 */
static int fsck_put_dir_nlinks(struct fsck *c, struct jedit *je)
{
	struct timespec ts;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	for (size_t i = 0; i < c->nr_inodes && !ret; i++) {
		struct fsck_inode *fi = &c->inodes[i];
		uint32_t add = fi->attr.ino == c->lost_found ? c->adopted : 0;
		struct meta_attr a = fi->attr;

		if ((!add && !fi->moved) || fsck_has_nlink_fix(c, a.ino))
			continue;
		a.mtime_ns = a.ctime_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		ret = fsck_put_nlink(c, je, &a, a.nlink - fi->moved + add, NULL);
	}
	return ret;
}

/*
 * Entries first, then link counts: INODE records set a count outright, so they come after the
 * RENAME and LINK records that change counts on the way.
 */
static int fsck_repair_records(struct fsck *c, struct fsck_prepared *p, struct fsck_cookies *ck)
{
	struct jedit *je;
	int ret;

	ret = jedit_open(c->source, &je);
	if (ret)
		return ret;
	for (size_t i = 0; i < c->nr_fixes && !ret; i++)
		if (p[i].fix.kind == FSCK_FIX_ORPHAN || p[i].fix.kind == FSCK_FIX_ORPHAN_DIR)
			ret = fsck_put_entry(c, je, &p[i], ck);
	for (size_t i = 0; i < c->nr_fixes && !ret; i++)
		if (p[i].fix.kind == FSCK_FIX_ORPHAN || p[i].fix.kind == FSCK_FIX_NLINK)
			ret = fsck_put_nlink(c, je, &p[i].attr, p[i].nlink, p[i].symlink);
	if (!ret)
		ret = fsck_put_dir_nlinks(c, je);
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

/* Without a lost+found nothing can be attached: those problems stay. */
static void fsck_drop_attach_fixes(struct fsck *c)
{
	size_t kept = 0;

	for (size_t i = 0; i < c->nr_fixes; i++) {
		if (c->fixes[i].kind == FSCK_FIX_ORPHAN || c->fixes[i].kind == FSCK_FIX_ORPHAN_DIR)
			c->unfixable++;
		else
			c->fixes[kept++] = c->fixes[i];
	}
	if (kept != c->nr_fixes)
		printf("%s: no /lost+found directory: unreachable inodes stay as they are\n",
		       c->source);
	c->nr_fixes = kept;
}

int fsck_repair(struct fsck *c)
{
	struct fsck_prepared *p = calloc(c->nr_fixes ? c->nr_fixes : 1, sizeof(*p));
	struct fsck_cookies ck = {0};
	bool sb = false, records = false;
	int ret;

	if (!p)
		return -ENOMEM;
	if (!c->lost_found)
		fsck_drop_attach_fixes(c);
	for (size_t i = 0; i < c->nr_fixes; i++) {
		sb |= c->fixes[i].kind == FSCK_FIX_SB;
		records |= c->fixes[i].kind != FSCK_FIX_SB && c->fixes[i].kind != FSCK_FIX_PAST_EOF;
	}
	ret = fsck_prepare(c, p, &ck);
	meta_unmount(c->fs);
	c->fs = NULL;
	/* The superblock first: the journal is found through it. */
	if (!ret && sb)
		ret = fsck_repair_sb(c);
	if (!ret && records)
		ret = fsck_repair_records(c, p, &ck);
	if (!ret)
		ret = fsck_repair_mounted(c);
	for (size_t i = 0; i < c->nr_fixes; i++)
		free(p[i].symlink);
	free(p);
	if (ret)
		printf("%s: repair failed: %s\n", c->source, strerror(-ret));
	return ret;
}
