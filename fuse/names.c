/* SPDX-License-Identifier: MIT */
/*
 * names.c - a best-effort map from inode number to (parent, name), so that error lines (a PI
 * failure above all) can name the file, not just its inode. It mirrors the kernel's lookup
 * counts: an inode enters with its first lookup and leaves when forget drops the count to zero;
 * rename and unlink update or drop the name. A hard link keeps the last name it was looked up
 * by. The path of an inode is built by walking parents up to the root; when a parent is not
 * known (never happens for inodes the kernel holds, as it holds their parents too) the inode is
 * reported as unknown. The map lock is a leaf lock.
 */
#include "fuse/gfuse.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NAMES_BUCKETS 4096

struct names_entry {
	struct names_entry *next;
	uint64_t ino, parent, nlookup;
	char *name;
};

struct gfuse_names {
	pthread_mutex_t lock;
	struct names_entry *buckets[NAMES_BUCKETS];
};

int gfuse_names_create(struct gfuse_names **out)
{
	struct gfuse_names *nm = calloc(1, sizeof(*nm));

	if (!nm)
		return -ENOMEM;
	pthread_mutex_init(&nm->lock, NULL);
	*out = nm;
	return 0;
}

void gfuse_names_destroy(struct gfuse_names *nm)
{
	if (!nm)
		return;
	for (unsigned i = 0; i < NAMES_BUCKETS; i++) {
		struct names_entry *e = nm->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e->name);
			free(e);
		}
	}
	pthread_mutex_destroy(&nm->lock);
	free(nm);
}

static struct names_entry **names_slot(struct gfuse_names *nm, uint64_t ino)
{
	struct names_entry **p = &nm->buckets[(ino * 0x9E3779B97F4A7C15ull) >> 52];

	while (*p && (*p)->ino != ino)
		p = &(*p)->next;
	return p;
}

static void names_set(struct names_entry *e, uint64_t parent, const char *name)
{
	char *copy = strdup(name);

	if (!copy)
		return; /* best effort: keep the old name */
	free(e->name);
	e->name = copy;
	e->parent = parent;
}

void gfuse_names_add(struct gfuse_names *nm, uint64_t ino, uint64_t parent, const char *name)
{
	struct names_entry **p, *e;

	pthread_mutex_lock(&nm->lock);
	p = names_slot(nm, ino);
	e = *p;
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (e) {
			e->ino = ino;
			*p = e;
		}
	}
	if (e) {
		e->nlookup++;
		names_set(e, parent, name);
	}
	pthread_mutex_unlock(&nm->lock);
}

bool gfuse_names_forget(struct gfuse_names *nm, uint64_t ino, uint64_t nlookup)
{
	struct names_entry **p, *e;
	bool gone = false;

	pthread_mutex_lock(&nm->lock);
	p = names_slot(nm, ino);
	e = *p;
	if (e) {
		e->nlookup = nlookup >= e->nlookup ? 0 : e->nlookup - nlookup;
		if (!e->nlookup) {
			*p = e->next;
			free(e->name);
			free(e);
			gone = true;
		}
	}
	pthread_mutex_unlock(&nm->lock);
	return gone;
}

/* The entry named @name in @parent (there is at most one such name in the map that matters). */
static struct names_entry *names_find_name(struct gfuse_names *nm, uint64_t parent,
					   const char *name)
{
	for (unsigned i = 0; i < NAMES_BUCKETS; i++)
		for (struct names_entry *e = nm->buckets[i]; e; e = e->next)
			if (e->parent == parent && e->name && !strcmp(e->name, name))
				return e;
	return NULL;
}

void gfuse_names_move(struct gfuse_names *nm, uint64_t oldparent, const char *oldname,
		      uint64_t newparent, const char *newname)
{
	struct names_entry *e;

	pthread_mutex_lock(&nm->lock);
	e = names_find_name(nm, oldparent, oldname);
	if (e && newname)
		names_set(e, newparent, newname);
	else if (e) {
		free(e->name);
		e->name = NULL; /* unlinked: the path is no longer known */
	}
	pthread_mutex_unlock(&nm->lock);
}

/* Prepend "/name" to the path being built right-aligned in buf[0..*pos). */
static int names_prepend(char *buf, size_t *pos, const char *name)
{
	size_t n = strlen(name);

	if (n + 1 > *pos)
		return -ENAMETOOLONG;
	*pos -= n;
	memcpy(buf + *pos, name, n);
	buf[--*pos] = '/';
	return 0;
}

int gfuse_names_path(struct gfuse_names *nm, uint64_t ino, char *buf, size_t len)
{
	size_t pos = len - 1;
	int ret = 0, depth = 0;

	if (len < 2)
		return -ENAMETOOLONG;
	buf[pos] = '\0';
	pthread_mutex_lock(&nm->lock);
	while (ino != META_ROOT_INO && !ret) {
		struct names_entry *e = *names_slot(nm, ino);

		if (!e || !e->name || ++depth > 4096)
			ret = -ENOENT;
		else
			ret = names_prepend(buf, &pos, e->name);
		if (e)
			ino = e->parent;
	}
	pthread_mutex_unlock(&nm->lock);
	if (ret)
		return ret;
	if (pos == len - 1)
		buf[--pos] = '/';
	memmove(buf, buf + pos, len - pos);
	return 0;
}
