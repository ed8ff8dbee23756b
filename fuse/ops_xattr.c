/* SPDX-License-Identifier: MIT */
/*
 * ops_xattr.c - extended attributes through core/meta.h, plus two read-only virtual attributes
 * that are never stored and never listed:
 *
 *   user.guardfs.stats  on the root: the core's counters as "name value" lines (I/O, cache
 *                       hits, PI failures, writeback), then the daemon's kernel cache
 *                       invalidations (inval.c); what `guardfs --stats MOUNTPOINT` prints.
 *   user.guardfs.map    on a regular file: its extent map, one "offset length type lba" line per
 *                       extent after a header with the namespace format, so that tests and
 *                       admins can find the device blocks of a byte range (the role FIEMAP
 *                       plays elsewhere). Dirty cached data shows as delalloc until written back.
 *
 * Setting or removing either gives EPERM.
 */
#include "fuse/gfuse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/ns.h"

#define XATTR_STATS "user.guardfs.stats"
#define XATTR_MAP   "user.guardfs.map"

/* A growing text buffer for the virtual attributes. */
struct xbuf {
	char *p;
	size_t len, cap;
	int error;
};

static void xbuf_printf(struct xbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void xbuf_printf(struct xbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->error)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->error = -EINVAL;
			return;
		}
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap ? b->cap * 2 : 1024) + (size_t)n;
		char *p = realloc(b->p, cap);

		if (!p) {
			b->error = -ENOMEM;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

int gfuse_stats_text(struct gfuse *gf, char **out)
{
	uint64_t inval_sent, inval_errors, inval_deferred;
	struct gfs_stats s;
	struct xbuf b = {0};

	gfs_get_stats(gf->gfs, &s);
	gfuse_inval_counts(gf, &inval_sent, &inval_errors, &inval_deferred);
#define STAT(f) xbuf_printf(&b, "%s %llu\n", #f, (unsigned long long)s.f)
	STAT(reads);
	STAT(writes);
	STAT(bytes_read);
	STAT(bytes_written);
	STAT(cache_hits);
	STAT(cache_misses);
	STAT(readahead_folios);
	STAT(ns_reads);
	STAT(pi_errors);
	STAT(pi_rereads);
	STAT(pi_recovered);
	STAT(read_errors);
	STAT(wb_ioends);
	STAT(wb_bytes);
	STAT(wb_errors);
	STAT(dio_inval_skipped);
	STAT(dio_in_place);
	STAT(dio_reads_lent);
	STAT(dio_verify_shared);
	STAT(evictions);
	STAT(throttles);
	STAT(budget_waits);
	STAT(cache_bytes);
	STAT(cache_peak_bytes);
	STAT(dirty_bytes);
	STAT(cache_budget);
#undef STAT
	/* The daemon's own: kernel page cache invalidations (inval.c). */
	xbuf_printf(&b, "kernel_invalidations %llu\n", (unsigned long long)inval_sent);
	xbuf_printf(&b, "kernel_invalidation_errors %llu\n", (unsigned long long)inval_errors);
	xbuf_printf(&b, "replies_after_invalidation %llu\n", (unsigned long long)inval_deferred);
	/* And the request paths' counters (ops_file.c). */
#define GF_STAT(f)                                                                                 \
	xbuf_printf(&b, "%s %llu\n", #f,                                                           \
		    (unsigned long long)atomic_load_explicit(&gf->f, memory_order_relaxed))
	GF_STAT(direct_reads_async);
	GF_STAT(direct_writes_overlapped);
	GF_STAT(direct_writes_async);
	GF_STAT(direct_writes_took_buf);
#undef GF_STAT
	xbuf_printf(&b, "fuse_protocol 7.%u\n", gf->proto_minor);
	if (b.error) {
		free(b.p);
		return b.error;
	}
	*out = b.p;
	return (int)b.len;
}

static const char *const map_type_names[] = {"hole", "delalloc", "mapped", "unwritten"};

static void map_walk(struct meta_inode *mi, struct xbuf *b)
{
	uint64_t size = meta_size_read(mi), pos = 0;
	struct meta_map m;

	while (pos < size && !b->error) {
		int ret = meta_map_begin(mi, pos, size - pos, META_MAP_REPORT, &m);

		if (ret) {
			b->error = ret;
			return;
		}
		if (m.type == META_MAP_HOLE || m.lba == META_MAP_NO_ADDR)
			xbuf_printf(b, "%llu %llu %s -\n", (unsigned long long)m.offset,
				    (unsigned long long)m.length, map_type_names[m.type & 3]);
		else
			xbuf_printf(b, "%llu %llu %s %llu\n", (unsigned long long)m.offset,
				    (unsigned long long)m.length, map_type_names[m.type & 3],
				    (unsigned long long)m.lba);
		if (!m.length)
			break;
		pos = m.offset + m.length;
	}
}

static int map_text(struct gfuse *gf, uint64_t ino, char **out)
{
	const struct ns_format *f = ns_get_format(gfs_ns(gf->gfs));
	struct meta_inode *mi;
	struct xbuf b = {0};
	int ret = meta_inode_get(gf->meta, ino, &mi);

	if (ret)
		return ret;
	xbuf_printf(&b, "block_size %u lba_size %u md_size %u nlb %llu\n", gfs_block_size(gf->gfs),
		    f->pi.lba_size, f->pi.md_size, (unsigned long long)f->nlb);
	meta_inode_lock_shared(mi);
	map_walk(mi, &b);
	meta_inode_unlock(mi);
	meta_inode_put(mi);
	if (b.error) {
		free(b.p);
		return b.error;
	}
	*out = b.p;
	return (int)b.len;
}

/* A virtual attribute's text, -ENODATA when @name is none here, or another -errno. */
static int xattr_virtual(struct gfuse *gf, uint64_t ino, const char *name, char **out)
{
	struct meta_attr a;
	int ret;

	if (!strcmp(name, XATTR_STATS) && ino == META_ROOT_INO)
		return gfuse_stats_text(gf, out);
	if (strcmp(name, XATTR_MAP))
		return -ENODATA;
	ret = meta_getattr(gf->meta, ino, &a);
	if (ret)
		return ret;
	return S_ISREG(a.mode) ? map_text(gf, ino, out) : -ENODATA;
}

static void xattr_reply(fuse_req_t req, const void *buf, int len, size_t size)
{
	if (len < 0)
		fuse_reply_err(req, -len);
	else if (!size)
		fuse_reply_xattr(req, (size_t)len);
	else if ((size_t)len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, (size_t)len);
}

static void gfuse_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct gfuse *gf = gfuse_from_req(req);
	char *text = NULL, *buf;
	int ret = xattr_virtual(gf, ino, name, &text);

	if (ret != -ENODATA) {
		xattr_reply(req, text, ret, size);
		free(text);
		return;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ret = meta_getxattr(gf->meta, ino, name, buf, size);
	xattr_reply(req, buf, ret, size);
	free(buf);
}

static bool xattr_is_virtual(const char *name)
{
	return !strcmp(name, XATTR_STATS) || !strcmp(name, XATTR_MAP);
}

static void gfuse_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			   size_t size, int flags)
{
	if (xattr_is_virtual(name)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	fuse_reply_err(req,
		       -meta_setxattr(gfuse_from_req(req)->meta, ino, name, value, size, flags));
}

static void gfuse_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char *buf = malloc(size ? size : 1);
	int ret;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ret = meta_listxattr(gfuse_from_req(req)->meta, ino, buf, size);
	xattr_reply(req, buf, ret, size);
	free(buf);
}

static void gfuse_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	if (xattr_is_virtual(name)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	fuse_reply_err(req, -meta_removexattr(gfuse_from_req(req)->meta, ino, name));
}

void gfuse_ops_xattr(struct fuse_lowlevel_ops *ops)
{
	ops->getxattr = gfuse_getxattr;
	ops->setxattr = gfuse_setxattr;
	ops->listxattr = gfuse_listxattr;
	ops->removexattr = gfuse_removexattr;
}
