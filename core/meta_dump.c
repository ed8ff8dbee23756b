/* SPDX-License-Identifier: MIT */
/*
 * meta_dump.c - a canonical text dump of the durable metadata state, and a consistency check of
 * the in-memory structures.
 *
 * The dump shows what a checkpoint would hold and nothing else: on-disk sizes, UNWRITTEN and
 * MAPPED extents (no DELALLOC), and free space with parked deferred frees counted as free (they
 * are free as soon as their record is durable, which is the case after a remount). Names and
 * xattr values are printed as hex so any byte survives. Tests compare dumps before and after a
 * remount; fsck can use meta_check().
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/meta_internal.h"

static void put_hex(FILE *f, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		fprintf(f, "%02x", b[i]);
}

static int dump_extent(const struct extent_mapping *e, void *arg)
{
	if (e->state == EXTENT_MAPPED || e->state == EXTENT_UNWRITTEN)
		fprintf(arg, "  extent %" PRIu64 "+%" PRIu64 " at %" PRIu64 " %s\n", e->fblk,
			e->len, e->dblk, e->state == EXTENT_MAPPED ? "mapped" : "unwritten");
	return 0;
}

static void dump_inode(FILE *f, struct meta_inode *ip)
{
	fprintf(f,
		"inode %" PRIu64 " gen %" PRIu64
		" mode %o uid %u gid %u nlink %u flags %#x rdev %" PRIu64 " size %" PRIu64
		" atime %" PRId64 " mtime %" PRId64 " ctime %" PRId64 " btime %" PRId64 "\n",
		ip->ino, ip->gen, ip->mode, ip->uid, ip->gid, ip->nlink, ip->flags, ip->rdev,
		ip->disk_size, ip->atime, ip->mtime, ip->ctime, ip->btime);
	if (S_ISLNK(ip->mode))
		fprintf(f, "  target %s\n", ip->symlink);
	if (S_ISREG(ip->mode))
		extent_iterate(&ip->map, 0, dump_extent, f);
	for (struct rb_node *n = rb_first(&ip->xattrs); n; n = rb_next(n)) {
		struct meta_xattr *x = rb_entry(n, struct meta_xattr, node);

		fprintf(f, "  xattr ");
		put_hex(f, x->name, x->name_len);
		fprintf(f, " = ");
		put_hex(f, x->value, x->value_len);
		fputc('\n', f);
	}
	if (!S_ISDIR(ip->mode))
		return;
	fprintf(f, "  next_cookie %" PRIu64 "\n", ip->dir.next_cookie);
	for (struct rb_node *n = rb_first(&ip->dir.by_cookie); n; n = rb_next(n)) {
		struct meta_dirent *de = rb_entry(n, struct meta_dirent, by_cookie);

		fprintf(f, "  entry %" PRIu64 " -> %" PRIu64 " %o ", de->cookie, de->ino, de->type);
		put_hex(f, de->name, de->name_len);
		fputc('\n', f);
	}
}

struct range_list {
	struct alloc_range *v;
	size_t nr, cap;
};

static int range_add(struct range_list *l, uint64_t start, uint64_t len)
{
	if (l->nr == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct alloc_range *nv = realloc(l->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->nr++] = (struct alloc_range){start, len};
	return 0;
}

static int add_free(uint64_t start, uint64_t len, void *arg)
{
	return range_add(arg, start, len);
}

static int add_pending(uint64_t start, uint64_t len, uint64_t seq, void *arg)
{
	return range_add(arg, start, len);
}

static int range_cmp(const void *a, const void *b)
{
	const struct alloc_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Free space as it will be once every parked range is released: sorted and merged. */
static void dump_free(FILE *f, struct meta_fs *fs)
{
	struct range_list l = {0};
	uint64_t start = 0, len = 0;

	int ret = alloc_iterate_free(&fs->alloc, 0, add_free, &l);

	if (!ret)
		ret = alloc_iterate_pending(&fs->alloc, add_pending, &l);
	for (unsigned i = 0; i < fs->nr_unreleased && !ret; i++)
		ret = range_add(&l, fs->unreleased[i].start, fs->unreleased[i].len);
	if (ret) {
		fprintf(f, "free: out of memory\n");
		free(l.v);
		return;
	}
	if (l.nr)
		qsort(l.v, l.nr, sizeof(*l.v), range_cmp);
	for (size_t i = 0; i < l.nr; i++) {
		if (len && start + len == l.v[i].start) {
			len += l.v[i].len;
			continue;
		}
		if (len)
			fprintf(f, "free %" PRIu64 "+%" PRIu64 "\n", start, len);
		start = l.v[i].start;
		len = l.v[i].len;
	}
	if (len)
		fprintf(f, "free %" PRIu64 "+%" PRIu64 "\n", start, len);
	free(l.v);
}

int meta_dump(struct meta_fs *fs, char **text, size_t *len)
{
	FILE *f = open_memstream(text, len);

	if (!f)
		return -ENOMEM;
	pthread_mutex_lock(&fs->lock);
	fprintf(f, "next_ino %" PRIu64 "\n", fs->next_ino);
	for (struct rb_node *n = rb_first(&fs->inodes); n; n = rb_next(n))
		dump_inode(f, rb_entry(n, struct meta_inode, node));
	dump_free(f, fs);
	pthread_mutex_unlock(&fs->lock);
	if (fclose(f))
		return -ENOMEM;
	return 0;
}

/* ------------------------------------------------------------------ check */

struct check_ctx {
	struct meta_fs *fs;
	struct range_list used;
	struct range_list links; /* (ino, 1) per entry naming a non-directory */
	int error;
};

static int check_fail(struct check_ctx *c, const char *what, uint64_t ino)
{
	if (!c->error && ino)
		gfs_err("%s: metadata check: inode %" PRIu64 ": %s", ns_get_path(c->fs->ns), ino,
			what);
	else if (!c->error)
		gfs_err("%s: metadata check: %s", ns_get_path(c->fs->ns), what);
	c->error = -EUCLEAN;
	return c->error;
}

static int collect_used(const struct extent_mapping *e, void *arg)
{
	if (e->state != EXTENT_MAPPED && e->state != EXTENT_UNWRITTEN)
		return 0;
	return range_add(arg, e->dblk, e->len);
}

/* Link counts: entries naming each inode, subdirectories of each directory. */
static void check_links(struct check_ctx *c, struct meta_inode *ip)
{
	uint64_t subdirs = 0;

	for (struct rb_node *n = rb_first(&ip->dir.by_cookie); n; n = rb_next(n)) {
		struct meta_dirent *de = rb_entry(n, struct meta_dirent, by_cookie);
		struct meta_inode *child = inode_find(c->fs, de->ino);

		if (!child || (child->mode & S_IFMT) != de->type) {
			check_fail(c, "entry names a missing inode or the wrong type", ip->ino);
			continue;
		}
		if (S_ISDIR(child->mode)) {
			subdirs++;
			if (child->dir.parent != ip->ino)
				check_fail(c, "'..' does not name the directory holding it",
					   child->ino);
		} else {
			if (range_add(&c->links, child->ino, 1))
				c->error = -ENOMEM;
		}
	}
	if (ip->nlink && ip->nlink != 2 + subdirs)
		check_fail(c, "directory link count is not 2 + subdirectories", ip->ino);
}

static void check_inode(struct check_ctx *c, struct meta_inode *ip)
{
	if (S_ISREG(ip->mode)) {
		if (extent_map_check(&ip->map))
			check_fail(c, "extent map invalid", ip->ino);
		if (extent_iterate(&ip->map, 0, collect_used, &c->used))
			c->error = -ENOMEM;
	}
	if (S_ISDIR(ip->mode))
		check_links(c, ip);
}

/* Link counts of non-directories: the sorted entry list against the inode table. */
static void check_counts(struct check_ctx *c)
{
	size_t i = 0;

	if (c->links.nr)
		qsort(c->links.v, c->links.nr, sizeof(*c->links.v), range_cmp);
	for (struct rb_node *n = rb_first(&c->fs->inodes); n; n = rb_next(n)) {
		struct meta_inode *ip = rb_entry(n, struct meta_inode, node);
		uint64_t links = 0;

		while (i < c->links.nr && c->links.v[i].start < ip->ino)
			i++;
		while (i < c->links.nr && c->links.v[i].start == ip->ino) {
			links++;
			i++;
		}
		if (!S_ISDIR(ip->mode) && links != ip->nlink)
			check_fail(c, "link count differs from the entries naming it", ip->ino);
	}
}

static void check_space(struct check_ctx *c)
{
	struct meta_fs *fs = c->fs;
	uint64_t used = 0;

	if (c->used.nr) /* qsort(NULL, 0, ...) is undefined */
		qsort(c->used.v, c->used.nr, sizeof(*c->used.v), range_cmp);
	for (size_t i = 0; i < c->used.nr; i++) {
		if (i && c->used.v[i - 1].start + c->used.v[i - 1].len > c->used.v[i].start)
			check_fail(c, "two extents share device blocks", 0);
		used += c->used.v[i].len;
	}
	if (alloc_check(&fs->alloc))
		check_fail(c, "free-space structure invalid", 0);
	used += alloc_free_blocks(&fs->alloc) + alloc_pending_blocks(&fs->alloc) +
		fs->leaked_blocks;
	for (unsigned i = 0; i < fs->nr_unreleased; i++)
		used += fs->unreleased[i].len;
	if (used != fs->sb.data_blocks)
		check_fail(c, "free space + referenced blocks != data area", 0);
}

int meta_check(struct meta_fs *fs)
{
	struct check_ctx c = {.fs = fs};

	pthread_mutex_lock(&fs->lock);
	for (struct rb_node *n = rb_first(&fs->inodes); n; n = rb_next(n))
		check_inode(&c, rb_entry(n, struct meta_inode, node));
	if (c.error != -ENOMEM)
		check_counts(&c);
	if (c.error != -ENOMEM)
		check_space(&c);
	pthread_mutex_unlock(&fs->lock);
	free(c.used.v);
	free(c.links.v);
	return c.error;
}
