/* SPDX-License-Identifier: MIT */
/*
 * ex_posix.c - the exerciser backend on POSIX system calls in a directory: open, pread,
 * pwrite, ftruncate, fallocate, fsync/fdatasync, copy_file_range. Point --dir at a guardfs
 * mount to exercise the whole stack through FUSE (or at any filesystem, to check the model).
 * Remount reopens the files; crashes and damage are not available here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/exerciser/ex.h"

struct ex_posix {
	char dir[512];
	int *fds;
};

static int posix_open_all(struct ex_backend *b, int extra)
{
	struct ex_posix *p = b->priv;

	for (unsigned i = 0; i < b->cfg->files; i++) {
		char path[600];

		snprintf(path, sizeof(path), "%s/f%u", p->dir, i);
		p->fds[i] = open(path, O_RDWR | extra, 0644);
		if (p->fds[i] < 0)
			return -errno;
	}
	return 0;
}

static void posix_close_all(struct ex_backend *b)
{
	struct ex_posix *p = b->priv;

	for (unsigned i = 0; i < b->cfg->files; i++)
		if (p->fds[i] >= 0)
			close(p->fds[i]);
}

static int posix_init(struct ex_backend *b)
{
	struct ex_posix *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	b->priv = p;
	p->fds = calloc(b->cfg->files, sizeof(int));
	if (!p->fds)
		return -ENOMEM;
	snprintf(p->dir, sizeof(p->dir), "%s/gfs-exerciser-XXXXXX", b->cfg->dir);
	if (!mkdtemp(p->dir))
		return -errno;
	return posix_open_all(b, O_CREAT | O_TRUNC);
}

static int posix_remount(struct ex_backend *b, bool crash)
{
	if (crash)
		return -EOPNOTSUPP;
	posix_close_all(b);
	return posix_open_all(b, 0);
}

static void posix_fini(struct ex_backend *b)
{
	struct ex_posix *p = b->priv;

	if (!p)
		return;
	posix_close_all(b);
	for (unsigned i = 0; i < b->cfg->files; i++) {
		char path[600];

		snprintf(path, sizeof(path), "%s/f%u", p->dir, i);
		unlink(path);
	}
	rmdir(p->dir);
	free(p->fds);
	free(p);
}

static void px_discard(struct ex_backend *b)
{
	struct ex_posix *p = b->priv;

	for (unsigned i = 0; p && i < b->cfg->files; i++) {
		char path[600];

		snprintf(path, sizeof(path), "%s/f%u", p->dir, i);
		unlink(path);
	}
	if (p)
		rmdir(p->dir);
}

static int fd_of(struct ex_backend *b, unsigned f)
{
	return ((struct ex_posix *)b->priv)->fds[f];
}

static ssize_t posix_pread(struct ex_backend *b, unsigned f, void *buf, size_t len, uint64_t off)
{
	ssize_t ret = pread(fd_of(b, f), buf, len, (off_t)off);

	return ret < 0 ? -errno : ret;
}

static ssize_t posix_pwrite(struct ex_backend *b, unsigned f, const void *buf, size_t len,
			    uint64_t off)
{
	ssize_t ret = pwrite(fd_of(b, f), buf, len, (off_t)off);

	return ret < 0 ? -errno : ret;
}

static int px_truncate(struct ex_backend *b, unsigned f, uint64_t size)
{
	return ftruncate(fd_of(b, f), (off_t)size) ? -errno : 0;
}

static int px_fallocate(struct ex_backend *b, unsigned f, int mode, uint64_t off, uint64_t len)
{
	return fallocate(fd_of(b, f), mode, (off_t)off, (off_t)len) ? -errno : 0;
}

static int posix_fsync(struct ex_backend *b, unsigned f, bool datasync)
{
	int ret = datasync ? fdatasync(fd_of(b, f)) : fsync(fd_of(b, f));

	return ret ? -errno : 0;
}

static ssize_t posix_copy_range(struct ex_backend *b, unsigned in, uint64_t off_in, unsigned out,
				uint64_t off_out, size_t len)
{
	loff_t i = (loff_t)off_in, o = (loff_t)off_out;
	ssize_t ret = copy_file_range(fd_of(b, in), &i, fd_of(b, out), &o, len, 0);

	return ret < 0 ? -errno : ret;
}

static int posix_get_size(struct ex_backend *b, unsigned f, uint64_t *size)
{
	struct stat st;

	if (fstat(fd_of(b, f), &st))
		return -errno;
	*size = (uint64_t)st.st_size;
	return 0;
}

const struct ex_backend_ops ex_posix_ops = {
	.name = "posix",
	.init = posix_init,
	.remount = posix_remount,
	.fini = posix_fini,
	.discard = px_discard,
	.pread = posix_pread,
	.pwrite = posix_pwrite,
	.truncate = px_truncate,
	.fallocate = px_fallocate,
	.fsync = posix_fsync,
	.copy_range = posix_copy_range,
	.get_size = posix_get_size,
};
