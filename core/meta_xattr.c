/* SPDX-License-Identifier: MIT */
/*
 * meta_xattr.c - extended attributes: opaque names (any namespace the kernel passes: user.,
 * trusted., security., system. ...) and values of up to 64 KiB, kept per inode in a tree by
 * name. Set and remove are one record each (MREC_SETXATTR, MREC_RMXATTR) that also carry the
 * new ctime; XATTR_CREATE / XATTR_REPLACE are checked here, before the record is built, so the
 * record itself is unconditional.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/meta_internal.h"

struct xname {
	const char *name;
	size_t len;
};

static int xattr_cmp(const void *key, const struct rb_node *node)
{
	const struct xname *k = key;
	const struct meta_xattr *x = rb_entry(node, struct meta_xattr, node);
	size_t n = k->len < x->name_len ? k->len : x->name_len;
	int c = memcmp(k->name, x->name, n);

	if (c)
		return c;
	return k->len < x->name_len ? -1 : k->len > x->name_len;
}

static struct meta_xattr *xattr_find(struct meta_inode *ip, const char *name, size_t len)
{
	struct xname k = {name, len};

	return rb_entry_safe(rb_find(&k, &ip->xattrs, xattr_cmp), struct meta_xattr, node);
}

static void xattr_link(struct meta_inode *ip, struct meta_xattr *x)
{
	struct rb_node **link = &ip->xattrs.rb_node, *parent = NULL;
	struct xname k = {x->name, x->name_len};

	while (*link) {
		parent = *link;
		link = xattr_cmp(&k, *link) < 0 ? &(*link)->rb_left : &(*link)->rb_right;
	}
	rb_link_node(&x->node, parent, link);
	rb_insert_color(&x->node, &ip->xattrs);
	ip->xattr_bytes += x->name_len + x->value_len;
	ip->fs->nr_xattrs++;
}

static void xattr_unlink(struct meta_inode *ip, struct meta_xattr *x)
{
	rb_erase(&x->node, &ip->xattrs);
	ip->xattr_bytes -= x->name_len + x->value_len;
	ip->fs->nr_xattrs--;
}

int xattr_apply_set(struct meta_inode *ip, const char *name, size_t name_len, const void *value,
		    size_t len)
{
	struct meta_xattr *old = xattr_find(ip, name, name_len);
	struct meta_xattr *x = malloc(sizeof(*x) + name_len + 1 + len);

	if (!x)
		return -ENOMEM;
	x->name_len = (uint32_t)name_len;
	x->value_len = (uint32_t)len;
	memcpy(x->name, name, name_len);
	x->name[name_len] = 0;
	x->value = x->name + name_len + 1;
	if (len)
		memcpy(x->value, value, len);
	if (old) {
		xattr_unlink(ip, old);
		free(old);
	}
	xattr_link(ip, x);
	return 0;
}

int xattr_apply_remove(struct meta_inode *ip, const char *name, size_t name_len)
{
	struct meta_xattr *x = xattr_find(ip, name, name_len);

	if (!x)
		return -ENODATA;
	xattr_unlink(ip, x);
	free(x);
	return 0;
}

void xattr_free_all(struct meta_inode *ip)
{
	struct rb_node *n;

	while ((n = rb_first(&ip->xattrs))) {
		xattr_unlink(ip, rb_entry(n, struct meta_xattr, node));
		free(rb_entry(n, struct meta_xattr, node));
	}
}

static int xattr_check_name(const char *name, size_t *len)
{
	if (!name)
		return -EINVAL;
	*len = strlen(name);
	if (*len == 0)
		return -EINVAL;
	return *len > META_XATTR_NAME_MAX ? -ERANGE : 0;
}

/*
 * Under fs->lock: may xattr @name of @ino change now? META_XATTR_CREATE wants the name absent;
 * META_XATTR_REPLACE (and a removal) wants it present.
 */
static int xattr_check_change(struct meta_fs *fs, uint64_t ino, const char *name, size_t len,
			      int flags)
{
	struct meta_inode *ip = inode_find(fs, ino);
	int ret = ip ? fs_writable(fs) : -ENOENT;

	if (!ret && (flags & META_XATTR_CREATE) && xattr_find(ip, name, len))
		ret = -EEXIST;
	if (!ret && (flags & META_XATTR_REPLACE) && !xattr_find(ip, name, len))
		ret = -ENODATA;
	return ret;
}

/* SETXATTR and RMXATTR records start alike: the inode, the new ctime, the name. */
static void xattr_rec_init(struct mrec *r, uint16_t type, uint64_t ino, const char *name,
			   size_t len)
{
	mrec_init(r, type);
	mrec_put64(r, ino);
	mrec_put64(r, (uint64_t)meta_now_ns());
	mrec_put_name(r, name, len);
}

int meta_setxattr(struct meta_fs *fs, uint64_t ino, const char *name, const void *value,
		  size_t size, int flags)
{
	struct mrec r;
	size_t len;
	int ret;

	ret = xattr_check_name(name, &len);
	if (ret)
		return ret;
	if (size > META_XATTR_SIZE_MAX)
		return -E2BIG;
	if (flags & ~(META_XATTR_CREATE | META_XATTR_REPLACE))
		return -EINVAL;
	meta_maybe_checkpoint(fs);
	pthread_mutex_lock(&fs->lock);
	ret = xattr_check_change(fs, ino, name, len, flags);
	if (!ret) {
		xattr_rec_init(&r, MREC_SETXATTR, ino, name, len);
		mrec_put32(&r, (uint32_t)size);
		mrec_put_bytes(&r, value, size);
		ret = mrec_commit(fs, &r);
	}
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

int meta_getxattr(struct meta_fs *fs, uint64_t ino, const char *name, void *buf, size_t size)
{
	struct meta_inode *ip;
	struct meta_xattr *x;
	size_t len;
	int ret;

	ret = xattr_check_name(name, &len);
	if (ret)
		return ret == -ERANGE ? -ENODATA : ret;
	pthread_mutex_lock(&fs->lock);
	ip = inode_find(fs, ino);
	x = ip ? xattr_find(ip, name, len) : NULL;
	if (!ip)
		ret = -ENOENT;
	else if (!x)
		ret = -ENODATA;
	else if (size && size < x->value_len)
		ret = -ERANGE;
	else
		ret = (int)x->value_len;
	if (ret > 0 && size)
		memcpy(buf, x->value, x->value_len);
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

int meta_listxattr(struct meta_fs *fs, uint64_t ino, char *buf, size_t size)
{
	struct meta_inode *ip;
	size_t total = 0;
	int ret = 0;

	pthread_mutex_lock(&fs->lock);
	ip = inode_find(fs, ino);
	if (!ip) {
		ret = -ENOENT;
		goto out;
	}
	for (struct rb_node *n = rb_first(&ip->xattrs); n; n = rb_next(n))
		total += rb_entry(n, struct meta_xattr, node)->name_len + 1;
	if (total > INT32_MAX) {
		ret = -E2BIG;
	} else if (size && size < total) {
		ret = -ERANGE;
	} else {
		ret = (int)total;
		for (struct rb_node *n = rb_first(&ip->xattrs); n && size; n = rb_next(n)) {
			struct meta_xattr *x = rb_entry(n, struct meta_xattr, node);

			memcpy(buf, x->name, x->name_len + 1);
			buf += x->name_len + 1;
		}
	}
out:
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

int meta_removexattr(struct meta_fs *fs, uint64_t ino, const char *name)
{
	struct mrec r;
	size_t len;
	int ret;

	ret = xattr_check_name(name, &len);
	if (ret)
		return ret == -ERANGE ? -ENODATA : ret;
	meta_maybe_checkpoint(fs);
	pthread_mutex_lock(&fs->lock);
	ret = xattr_check_change(fs, ino, name, len, META_XATTR_REPLACE);
	if (!ret) {
		xattr_rec_init(&r, MREC_RMXATTR, ino, name, len);
		ret = mrec_commit(fs, &r);
	}
	pthread_mutex_unlock(&fs->lock);
	return ret;
}
