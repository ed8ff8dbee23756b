// SPDX-License-Identifier: MIT
/*
 * jedit.c - hand-made metadata records appended to the log (jedit.h).
 *
 * The encoders follow docs/FORMAT.md and core/meta_rec.c's decoders field by field (all
 * little-endian; names as u16 length + bytes). The record type numbers come from
 * core/meta_internal.h, the one place they are defined; nothing else of it is used.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/journal.h"
#include "core/log.h"
#include "core/mdblock.h"
#include "core/meta_internal.h" /* enum mrec_type only */
#include "core/sb.h"
#include "tools/jedit.h"

#define JEDIT_REC_MAX (64 + 2 * META_SYMLINK_MAX + 3 * META_NAME_MAX)

struct jedit {
	struct ns *ns;
	struct sb sb;
	struct journal *j;
	int error;
	uint8_t buf[JEDIT_REC_MAX];
	size_t len;
};

int tools_ns_open(const char *source, bool read_only, struct ns **out)
{
	struct ns_options no = {.read_only = read_only};
	struct stat st;
	struct sb sb;
	int ret;

	if (stat(source, &st)) {
		ret = -errno;
		gfs_err("%s: %s", source, strerror(-ret));
		return ret;
	}
	if (S_ISREG(st.st_mode)) {
		ret = sb_probe(source, &sb);
		if (ret)
			return ret;
		no.format = &sb.pi;
	}
	return ns_open(source, &no, out);
}

static int jedit_skip(void *arg, enum journal_src src, const struct journal_rec *rec)
{
	return 0;
}

int jedit_open(const char *source, struct jedit **out)
{
	struct jedit *je = calloc(1, sizeof(*je));
	int ret;

	if (!je)
		return -ENOMEM;
	ret = tools_ns_open(source, false, &je->ns);
	if (ret)
		goto out_free;
	ret = sb_read(je->ns, &je->sb);
	if (!ret)
		ret = journal_open(je->ns, &je->sb, jedit_skip, NULL, &je->j);
	if (ret) {
		ns_close(je->ns);
		goto out_free;
	}
	*out = je;
	return 0;
out_free:
	free(je);
	return ret;
}

static void put16(struct jedit *je, uint16_t v)
{
	md_put_le16(je->buf + je->len, v);
	je->len += 2;
}

static void put32(struct jedit *je, uint32_t v)
{
	md_put_le32(je->buf + je->len, v);
	je->len += 4;
}

static void put64(struct jedit *je, uint64_t v)
{
	md_put_le64(je->buf + je->len, v);
	je->len += 8;
}

static void put_name(struct jedit *je, const char *s, size_t len)
{
	put16(je, (uint16_t)len);
	memcpy(je->buf + je->len, s, len);
	je->len += len;
}

static int64_t jedit_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int jedit_append(struct jedit *je, uint16_t type)
{
	int ret = journal_append(je->j, type, je->buf, (uint32_t)je->len, NULL);

	je->len = 0;
	if (ret && !je->error)
		je->error = ret;
	return ret;
}

int jedit_put_inode(struct jedit *je, const struct meta_attr *a, uint32_t nlink,
		    const char *symlink_target)
{
	size_t link_len = symlink_target ? strlen(symlink_target) : 0;

	if (link_len > META_SYMLINK_MAX)
		return -ENAMETOOLONG;
	put64(je, a->ino);
	put64(je, a->gen);
	put32(je, a->mode);
	put32(je, a->uid);
	put32(je, a->gid);
	put32(je, nlink);
	put32(je, a->flags);
	put64(je, a->rdev);
	put64(je, S_ISREG(a->mode) ? a->size : 0); /* on-disk size; a fresh mount shows it */
	put64(je, (uint64_t)a->atime_ns);
	put64(je, (uint64_t)a->mtime_ns);
	put64(je, (uint64_t)a->ctime_ns);
	put64(je, (uint64_t)a->btime_ns);
	put64(je, 0); /* next cookie: replay keeps the larger, so 0 leaves it */
	put_name(je, symlink_target ? symlink_target : "", link_len);
	return jedit_append(je, MREC_INODE);
}

int jedit_put_link(struct jedit *je, uint64_t ino, uint64_t dir, const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > META_NAME_MAX)
		return -EINVAL;
	put64(je, ino);
	put64(je, dir);
	put64(je, (uint64_t)jedit_now());
	put_name(je, name, len);
	return jedit_append(je, MREC_LINK);
}

int jedit_put_unlink(struct jedit *je, uint64_t dir, const char *name, bool rmdir)
{
	size_t len = strlen(name);

	if (len == 0 || len > META_NAME_MAX)
		return -EINVAL;
	put64(je, dir);
	put64(je, (uint64_t)jedit_now());
	je->buf[je->len++] = rmdir;
	put_name(je, name, len);
	return jedit_append(je, MREC_UNLINK);
}

int jedit_put_rename(struct jedit *je, uint64_t olddir, const char *oldname, uint64_t newdir,
		     const char *newname, unsigned flags)
{
	size_t oldlen = strlen(oldname), newlen = strlen(newname);

	if (!oldlen || oldlen > META_NAME_MAX || !newlen || newlen > META_NAME_MAX)
		return -EINVAL;
	put64(je, olddir);
	put64(je, newdir);
	put32(je, flags);
	put64(je, (uint64_t)jedit_now());
	put_name(je, oldname, oldlen);
	put_name(je, newname, newlen);
	return jedit_append(je, MREC_RENAME);
}

int jedit_put_dirent(struct jedit *je, uint64_t dir, uint64_t cookie, uint64_t ino,
		     const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > META_NAME_MAX)
		return -EINVAL;
	put64(je, dir);
	put64(je, cookie);
	put64(je, ino);
	put_name(je, name, len);
	return jedit_append(je, MREC_DIRENT);
}

int jedit_close(struct jedit *je)
{
	int ret = journal_close(je->j);

	if (!je->error)
		je->error = ret;
	ret = je->error;
	ns_close(je->ns);
	free(je);
	return ret;
}
