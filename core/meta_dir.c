/* SPDX-License-Identifier: MIT */
/*
 * meta_dir.c - directories: the entry index, readdir cookies, and the namespace operations.
 *
 * A directory indexes its entries twice: by (hash(name), name) for O(log n) lookup, and by
 * cookie for readdir. The cookie is given at creation from a per-directory counter that only
 * grows (and is part of the directory's inode record), so it is never reused in that directory
 * and "the entries after cookie X" is well defined whether or not X still exists: an entry that
 * stays for the whole walk is returned exactly once. A rename gives the moved entry a new cookie,
 * as a delete plus a create would. Collisions of the hash cost nothing but a name compare, since
 * the name is part of the key.
 *
 * Namespace operations build one record each (meta_rec.c) and let its apply check the state:
 * the errors a caller sees (EEXIST, ENOTEMPTY, ...) and the checks replay repeats are the same
 * code. Everything runs under fs->lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/bug.h"
#include "core/meta_internal.h"

/* ------------------------------------------------------------------ the index */

static uint64_t hash_default(const char *name, size_t len)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)name[i]) * UINT64_C(0x100000001b3);
	/* FNV-1a, then a finaliser so that names differing at the end differ in the top bits. */
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return h;
}

static meta_hash_fn name_hash = hash_default;

void meta_test_set_name_hash(meta_hash_fn fn)
{
	name_hash = fn ? fn : hash_default;
}

uint64_t dir_hash(const char *name, size_t len)
{
	return name_hash(name, len);
}

struct name_key {
	uint64_t hash;
	const char *name;
	size_t len;
};

static int name_cmp_key(const struct name_key *k, const struct meta_dirent *de)
{
	size_t n = k->len < de->name_len ? k->len : de->name_len;
	int c;

	if (k->hash != de->hash)
		return k->hash < de->hash ? -1 : 1;
	c = memcmp(k->name, de->name, n);
	if (c)
		return c;
	return k->len < de->name_len ? -1 : k->len > de->name_len;
}

static int name_cmp(const void *key, const struct rb_node *node)
{
	return name_cmp_key(key, rb_entry(node, struct meta_dirent, by_name));
}

static int cookie_cmp(const void *key, const struct rb_node *node)
{
	uint64_t c = *(const uint64_t *)key;
	uint64_t other = rb_entry(node, struct meta_dirent, by_cookie)->cookie;

	return c < other ? -1 : c > other;
}

/* Under fs->lock: the directory dir_ino, or -ENOENT / -ENOTDIR. */
static int dir_get(struct meta_fs *fs, uint64_t dir_ino, struct meta_inode **out)
{
	struct meta_inode *dir = inode_find(fs, dir_ino);

	if (!dir)
		return -ENOENT;
	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	*out = dir;
	return 0;
}

struct meta_dirent *dir_find(struct meta_inode *dir, const char *name, size_t len)
{
	struct name_key k = {dir_hash(name, len), name, len};

	return rb_entry_safe(rb_find(&k, &dir->dir.by_name, name_cmp), struct meta_dirent, by_name);
}

struct meta_dirent *dirent_alloc(const char *name, size_t len, uint64_t ino, uint32_t type)
{
	struct meta_dirent *de = malloc(sizeof(*de) + len + 1);

	if (!de)
		return NULL;
	de->hash = dir_hash(name, len);
	de->cookie = 0;
	de->ino = ino;
	de->type = type;
	de->name_len = (uint16_t)len;
	memcpy(de->name, name, len);
	de->name[len] = 0;
	return de;
}

/* Where @de goes in the name index; NULL when the name exists already. */
static struct rb_node **name_slot(struct meta_inode *dir, struct meta_dirent *de,
				  struct rb_node **parent)
{
	struct rb_node **link = &dir->dir.by_name.rb_node;
	struct name_key k = {de->hash, de->name, de->name_len};

	*parent = NULL;
	while (*link) {
		int c = name_cmp(&k, *link);

		if (!c)
			return NULL;
		*parent = *link;
		link = c < 0 ? &(*link)->rb_left : &(*link)->rb_right;
	}
	return link;
}

int dir_insert(struct meta_fs *fs, struct meta_inode *dir, struct meta_dirent *de, uint64_t cookie)
{
	struct rb_node **link = &dir->dir.by_cookie.rb_node, *parent = NULL;
	struct rb_node **nlink, *nparent;

	if (!cookie)
		cookie = dir->dir.next_cookie;
	if (cookie > META_COOKIE_MAX)
		return -EOVERFLOW;
	/* Walk down by cookie: refuse a duplicate (a checkpoint that contradicts itself). */
	while (*link) {
		uint64_t c = rb_entry(*link, struct meta_dirent, by_cookie)->cookie;

		parent = *link;
		if (cookie == c)
			return -EEXIST;
		link = cookie < c ? &(*link)->rb_left : &(*link)->rb_right;
	}
	/* One walk finds the place and a duplicate name (replay checks what callers checked). */
	nlink = name_slot(dir, de, &nparent);
	if (!nlink)
		return -EEXIST;
	de->cookie = cookie;
	rb_link_node(&de->by_cookie, parent, link);
	rb_insert_color(&de->by_cookie, &dir->dir.by_cookie);
	rb_link_node(&de->by_name, nparent, nlink);
	rb_insert_color(&de->by_name, &dir->dir.by_name);
	if (cookie >= dir->dir.next_cookie)
		dir->dir.next_cookie = cookie + 1;
	dir->dir.nr_entries++;
	fs->nr_dirents++;
	return 0;
}

void dir_remove(struct meta_fs *fs, struct meta_inode *dir, struct meta_dirent *de)
{
	rb_erase(&de->by_name, &dir->dir.by_name);
	rb_erase(&de->by_cookie, &dir->dir.by_cookie);
	dir->dir.nr_entries--;
	fs->nr_dirents--;
}

void dir_free_entries(struct meta_inode *dir)
{
	struct rb_node *n;

	while ((n = rb_first(&dir->dir.by_cookie))) {
		rb_erase(n, &dir->dir.by_cookie);
		free(rb_entry(n, struct meta_dirent, by_cookie));
	}
	dir->dir.by_name = RB_ROOT;
	dir->dir.nr_entries = 0;
}

/* ------------------------------------------------------------------ rename (apply half) */

/* True when @ino is @dir or one of its ancestors. */
static bool is_ancestor(struct meta_fs *fs, uint64_t ino, struct meta_inode *dir)
{
	while (dir) {
		if (dir->ino == ino)
			return true;
		if (dir->ino == META_ROOT_INO)
			return false;
		dir = inode_find(fs, dir->dir.parent);
	}
	return false;
}

struct rename_ctx {
	struct meta_inode *od, *nd, *src, *dst;
	struct meta_dirent *ode, *nde;
};

static int rename_check(struct meta_fs *fs, struct rename_ctx *c, unsigned flags)
{
	if (S_ISDIR(c->src->mode) && c->od != c->nd && is_ancestor(fs, c->src->ino, c->nd))
		return -EINVAL;
	if (flags & META_RENAME_EXCHANGE) {
		if (S_ISDIR(c->dst->mode) && c->od != c->nd && is_ancestor(fs, c->dst->ino, c->od))
			return -EINVAL;
		return 0;
	}
	if (c->dst) {
		if (S_ISDIR(c->src->mode) && !S_ISDIR(c->dst->mode))
			return -ENOTDIR;
		if (!S_ISDIR(c->src->mode) && S_ISDIR(c->dst->mode))
			return -EISDIR;
		if (S_ISDIR(c->dst->mode) && c->dst->dir.nr_entries)
			return -ENOTEMPTY;
	} else if (S_ISDIR(c->src->mode) && c->od != c->nd && c->nd->nlink >= META_LINK_MAX) {
		return -EMLINK;
	}
	return 0;
}

/* A directory moved from @from to @to: its ".." and both link counts follow. */
static void move_subdir(struct meta_inode *ip, struct meta_inode *from, struct meta_inode *to)
{
	if (!S_ISDIR(ip->mode) || from == to)
		return;
	from->nlink--;
	to->nlink++;
	ip->dir.parent = to->ino;
}

static void rename_exchange(struct meta_fs *fs, struct rename_ctx *c, struct meta_dirent *a,
			    struct meta_dirent *b)
{
	dir_remove(fs, c->od, c->ode);
	dir_remove(fs, c->nd, c->nde);
	free(c->ode);
	free(c->nde);
	dir_insert(fs, c->nd, a, 0);
	dir_insert(fs, c->od, b, 0);
	move_subdir(c->src, c->od, c->nd);
	move_subdir(c->dst, c->nd, c->od);
}

/* The replaced target loses its link; returns it when it should be freed now. */
static struct meta_inode *rename_drop_target(struct meta_fs *fs, struct rename_ctx *c, int64_t time,
					     enum mrec_mode mode)
{
	dir_remove(fs, c->nd, c->nde);
	free(c->nde);
	if (S_ISDIR(c->dst->mode)) {
		c->dst->nlink = 0;
		c->nd->nlink--;
	} else {
		c->dst->nlink--;
	}
	c->dst->ctime = time;
	return c->dst->nlink == 0 && mode == MREC_LIVE && c->dst->refs == 0 ? c->dst : NULL;
}

static int rename_lookup(struct meta_fs *fs, struct rename_ctx *c, uint64_t olddir,
			 const char *oldname, size_t oldlen, uint64_t newdir, const char *newname,
			 size_t newlen)
{
	c->od = inode_find(fs, olddir);
	c->nd = inode_find(fs, newdir);
	if (!c->od || !c->nd || !c->od->nlink || !c->nd->nlink)
		return -ENOENT;
	if (!S_ISDIR(c->od->mode) || !S_ISDIR(c->nd->mode))
		return -ENOTDIR;
	c->ode = dir_find(c->od, oldname, oldlen);
	if (!c->ode)
		return -ENOENT;
	c->src = inode_find(fs, c->ode->ino);
	c->nde = dir_find(c->nd, newname, newlen);
	c->dst = c->nde ? inode_find(fs, c->nde->ino) : NULL;
	if (!c->src || (c->nde && !c->dst))
		return -EUCLEAN;
	return 0;
}

int dir_apply_rename(struct meta_fs *fs, uint64_t olddir, const char *oldname, size_t oldlen,
		     uint64_t newdir, const char *newname, size_t newlen, unsigned flags,
		     int64_t time, enum mrec_mode mode, uint64_t seq)
{
	struct meta_dirent *a, *b = NULL;
	struct meta_inode *victim = NULL;
	struct rename_ctx c;
	int ret;

	if ((flags & ~(META_RENAME_NOREPLACE | META_RENAME_EXCHANGE)) ||
	    flags == (META_RENAME_NOREPLACE | META_RENAME_EXCHANGE))
		return -EINVAL;
	ret = rename_lookup(fs, &c, olddir, oldname, oldlen, newdir, newname, newlen);
	if (ret)
		return ret;
	if ((flags & META_RENAME_EXCHANGE) && !c.nde)
		return -ENOENT;
	if ((flags & META_RENAME_NOREPLACE) && c.nde)
		return -EEXIST;
	if (c.nde && c.nde->ino == c.ode->ino)
		return 0; /* POSIX: two links to the same inode, nothing to do */
	ret = rename_check(fs, &c, flags);
	if (ret)
		return ret;
	a = dirent_alloc(newname, newlen, c.src->ino, c.src->mode & S_IFMT);
	if (a && (flags & META_RENAME_EXCHANGE))
		b = dirent_alloc(oldname, oldlen, c.dst->ino, c.dst->mode & S_IFMT);
	if (!a || ((flags & META_RENAME_EXCHANGE) && !b)) {
		free(a);
		free(b);
		return -ENOMEM;
	}
	if (flags & META_RENAME_EXCHANGE) {
		rename_exchange(fs, &c, a, b);
		c.dst->ctime = time;
		c.dst->last_seq = seq;
	} else {
		if (c.nde)
			victim = rename_drop_target(fs, &c, time, mode);
		dir_remove(fs, c.od, c.ode);
		free(c.ode);
		dir_insert(fs, c.nd, a, 0);
		move_subdir(c.src, c.od, c.nd);
	}
	c.src->ctime = time;
	c.od->mtime = c.od->ctime = c.nd->mtime = c.nd->ctime = time;
	c.src->last_seq = c.od->last_seq = c.nd->last_seq = seq;
	if (victim)
		inode_destroy(fs, victim, mode, seq);
	return 0;
}

/* ------------------------------------------------------------------ public operations */

/* Names of new entries: "." and ".." exist already, '/' is never part of a name. */
static int check_new_name(const char *name, size_t *len)
{
	if (!name)
		return -EINVAL;
	*len = strlen(name);
	if (*len == 0)
		return -ENOENT;
	if (*len > META_NAME_MAX)
		return -ENAMETOOLONG;
	if (memchr(name, '/', *len))
		return -EINVAL;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return -EEXIST;
	return 0;
}

int meta_lookup(struct meta_fs *fs, uint64_t dir_ino, const char *name, struct meta_attr *out)
{
	size_t len = name ? strlen(name) : 0;
	struct meta_inode *dir, *ip = NULL;
	struct meta_dirent *de;
	int ret = 0;

	if (len == 0)
		return -ENOENT;
	if (len > META_NAME_MAX)
		return -ENAMETOOLONG;
	pthread_mutex_lock(&fs->lock);
	ret = dir_get(fs, dir_ino, &dir);
	if (!ret) {
		if (!strcmp(name, "."))
			ip = dir;
		else if (!strcmp(name, ".."))
			ip = inode_find(fs, dir->dir.parent);
		else if ((de = dir_find(dir, name, len)))
			ip = inode_find(fs, de->ino);
		if (!ip)
			ret = -ENOENT;
	}
	if (!ret) {
		ip->refs++;
		inode_fill_attr(fs, ip, out);
	}
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

/* Create an inode of @mode (with @target for symlinks) named @name in @dir_ino. */
static int create_inode(struct meta_fs *fs, uint64_t dir_ino, const char *name, uint32_t mode,
			uint64_t rdev, const char *target, const struct meta_owner *owner,
			struct meta_attr *out)
{
	struct meta_inode tmp = {0}, *ip;
	struct mrec r;
	size_t len;
	int ret;

	ret = check_new_name(name, &len);
	if (ret)
		return ret;
	meta_maybe_checkpoint(fs);
	pthread_mutex_lock(&fs->lock);
	ret = fs_writable(fs);
	if (ret)
		goto out;
	tmp.ino = fs->next_ino;
	tmp.gen = journal_next_seq(fs->j);
	tmp.mode = mode;
	tmp.uid = owner ? owner->uid : 0;
	tmp.gid = owner ? owner->gid : 0;
	tmp.nlink = S_ISDIR(mode) ? 2 : 1;
	tmp.rdev = (S_ISCHR(mode) || S_ISBLK(mode)) ? rdev : 0;
	tmp.atime = tmp.mtime = tmp.ctime = tmp.btime = meta_now_ns();
	tmp.symlink = (char *)target;
	if (S_ISDIR(mode))
		tmp.dir.next_cookie = META_COOKIE_FIRST;
	mrec_init(&r, MREC_CREATE);
	mrec_put64(&r, dir_ino);
	mrec_put_name(&r, name, len);
	mrec_put_inode(&r, &tmp);
	ret = mrec_commit(fs, &r);
	if (ret)
		goto out;
	ip = inode_find(fs, tmp.ino);
	ip->refs++;
	if (out)
		inode_fill_attr(fs, ip, out);
out:
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

int meta_mknod(struct meta_fs *fs, uint64_t dir, const char *name, uint32_t mode, uint64_t rdev,
	       const struct meta_owner *owner, struct meta_attr *out)
{
	if (!(mode & S_IFMT))
		mode |= S_IFREG;
	switch (mode & S_IFMT) {
	case S_IFREG:
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		break;
	default:
		return -EINVAL;
	}
	return create_inode(fs, dir, name, mode & (S_IFMT | 07777), rdev, NULL, owner, out);
}

int meta_create(struct meta_fs *fs, uint64_t dir, const char *name, uint32_t mode,
		const struct meta_owner *owner, struct meta_attr *out)
{
	return create_inode(fs, dir, name, S_IFREG | (mode & 07777), 0, NULL, owner, out);
}

int meta_mkdir(struct meta_fs *fs, uint64_t dir, const char *name, uint32_t mode,
	       const struct meta_owner *owner, struct meta_attr *out)
{
	return create_inode(fs, dir, name, S_IFDIR | (mode & 07777), 0, NULL, owner, out);
}

int meta_symlink(struct meta_fs *fs, uint64_t dir, const char *name, const char *target,
		 const struct meta_owner *owner, struct meta_attr *out)
{
	size_t len = target ? strlen(target) : 0;

	if (len == 0)
		return -ENOENT;
	if (len > META_SYMLINK_MAX)
		return -ENAMETOOLONG;
	return create_inode(fs, dir, name, S_IFLNK | 0777, 0, target, owner, out);
}

int meta_readlink(struct meta_fs *fs, uint64_t ino, char *buf, size_t len)
{
	struct meta_inode *ip;
	int ret;

	pthread_mutex_lock(&fs->lock);
	ip = inode_find(fs, ino);
	if (!ip) {
		ret = -ENOENT;
	} else if (!S_ISLNK(ip->mode)) {
		ret = -EINVAL;
	} else {
		ret = (int)strlen(ip->symlink);
		if (len) {
			size_t n = (size_t)ret < len - 1 ? (size_t)ret : len - 1;

			memcpy(buf, ip->symlink, n);
			buf[n] = 0;
		}
	}
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

int meta_link(struct meta_fs *fs, uint64_t ino, uint64_t newdir, const char *newname,
	      struct meta_attr *out)
{
	struct meta_inode *ip;
	struct mrec r;
	size_t len;
	int ret;

	ret = check_new_name(newname, &len);
	if (ret)
		return ret;
	meta_maybe_checkpoint(fs);
	pthread_mutex_lock(&fs->lock);
	ret = fs_writable(fs);
	if (ret)
		goto out;
	mrec_init(&r, MREC_LINK);
	mrec_put64(&r, ino);
	mrec_put64(&r, newdir);
	mrec_put64(&r, (uint64_t)meta_now_ns());
	mrec_put_name(&r, newname, len);
	ret = mrec_commit(fs, &r);
	if (ret)
		goto out;
	ip = inode_find(fs, ino);
	ip->refs++;
	if (out)
		inode_fill_attr(fs, ip, out);
out:
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

static int remove_entry(struct meta_fs *fs, uint64_t dir, const char *name, bool rmdir)
{
	size_t len = name ? strlen(name) : 0;
	struct mrec r;
	int ret;

	if (len == 0)
		return -ENOENT;
	if (len > META_NAME_MAX)
		return -ENAMETOOLONG;
	if (!strcmp(name, "."))
		return rmdir ? -EINVAL : -EISDIR;
	if (!strcmp(name, ".."))
		return rmdir ? -ENOTEMPTY : -EISDIR;
	meta_maybe_checkpoint(fs);
	pthread_mutex_lock(&fs->lock);
	ret = fs_writable(fs);
	if (!ret) {
		mrec_init(&r, MREC_UNLINK);
		mrec_put64(&r, dir);
		mrec_put64(&r, (uint64_t)meta_now_ns());
		mrec_put8(&r, rmdir);
		mrec_put_name(&r, name, len);
		ret = mrec_commit(fs, &r);
	}
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

int meta_unlink(struct meta_fs *fs, uint64_t dir, const char *name)
{
	return remove_entry(fs, dir, name, false);
}

int meta_rmdir(struct meta_fs *fs, uint64_t dir, const char *name)
{
	return remove_entry(fs, dir, name, true);
}

int meta_rename(struct meta_fs *fs, uint64_t olddir, const char *oldname, uint64_t newdir,
		const char *newname, unsigned flags)
{
	size_t oldlen = oldname ? strlen(oldname) : 0, newlen = newname ? strlen(newname) : 0;
	struct mrec r;
	int ret;

	if (!oldlen || !newlen)
		return -ENOENT;
	if (oldlen > META_NAME_MAX || newlen > META_NAME_MAX)
		return -ENAMETOOLONG;
	if (!strcmp(oldname, ".") || !strcmp(oldname, "..") || !strcmp(newname, ".") ||
	    !strcmp(newname, "..") || memchr(newname, '/', newlen))
		return -EINVAL;
	meta_maybe_checkpoint(fs);
	pthread_mutex_lock(&fs->lock);
	ret = fs_writable(fs);
	if (!ret) {
		mrec_init(&r, MREC_RENAME);
		mrec_put64(&r, olddir);
		mrec_put64(&r, newdir);
		mrec_put32(&r, flags);
		mrec_put64(&r, (uint64_t)meta_now_ns());
		mrec_put_name(&r, oldname, oldlen);
		mrec_put_name(&r, newname, newlen);
		ret = mrec_commit(fs, &r);
	}
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

/* ------------------------------------------------------------------ readdir */

struct dirent_copy {
	struct meta_dirent_info info;
	char name[META_NAME_MAX + 1];
};

/* The entry after @cookie, copied, under fs->lock. 1 when found, 0 at the end, or -errno. */
static int readdir_next(struct meta_fs *fs, uint64_t dir_ino, uint64_t cookie,
			struct dirent_copy *out)
{
	struct meta_inode *dir;
	struct meta_dirent *de;
	uint64_t want = cookie + 1;
	int ret = dir_get(fs, dir_ino, &dir);

	if (ret)
		return ret;
	if (cookie < 2) {
		bool dot = cookie == 0;

		out->info = (struct meta_dirent_info){
			.namelen = dot ? 1 : 2,
			.ino = dot ? dir->ino : dir->dir.parent,
			.type = S_IFDIR,
			.cookie = cookie + 1,
		};
		strcpy(out->name, dot ? "." : "..");
		return 1;
	}
	de = rb_entry_safe(rb_lower_bound(&want, &dir->dir.by_cookie, cookie_cmp),
			   struct meta_dirent, by_cookie);
	if (!de)
		return 0;
	out->info = (struct meta_dirent_info){
		.namelen = de->name_len,
		.ino = de->ino,
		.type = de->type,
		.cookie = de->cookie,
	};
	memcpy(out->name, de->name, de->name_len + 1);
	return 1;
}

int meta_dir_next_cookie(struct meta_fs *fs, uint64_t dir_ino, uint64_t *out)
{
	struct meta_inode *dir;
	int ret;

	pthread_mutex_lock(&fs->lock);
	ret = dir_get(fs, dir_ino, &dir);
	if (!ret)
		*out = dir->dir.next_cookie;
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

int meta_readdir(struct meta_fs *fs, uint64_t dir, uint64_t cookie, meta_readdir_fn fn, void *arg)
{
	struct dirent_copy de;
	int ret;

	for (;;) {
		pthread_mutex_lock(&fs->lock);
		ret = readdir_next(fs, dir, cookie, &de);
		pthread_mutex_unlock(&fs->lock);
		if (ret <= 0)
			return ret;
		de.info.name = de.name;
		/* fs->lock is dropped: the callback may take a while or call back into meta. */
		if (fn(arg, &de.info))
			return 0;
		cookie = de.info.cookie;
	}
}
