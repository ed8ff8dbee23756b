/* SPDX-License-Identifier: MIT */
/*
 * ex_posix.c - the exerciser backend on POSIX system calls in a directory: open, pread,
 * pwrite, ftruncate, fallocate, fsync/fdatasync, copy_file_range. Point --dir at a guardfs
 * mount to exercise the whole stack through FUSE (or at any filesystem, to check the model).
 * Remount closes and reopens the files; crashes and damage are not available here. --keep
 * leaves the files in place at the end (for an fsck of the filesystem with data on it).
 *
 * --dio direct|mixed: each file has a second descriptor opened with O_DIRECT; block-aligned
 * reads and writes go through it (all of them in "direct" mode, about half in "mixed", chosen
 * from the request like ex_core so a seed replays), through a block-aligned bounce buffer.
 * --mmap: each file also has a MAP_SHARED mapping of max_file_size bytes for the whole time it
 * is open; about 3 in 8 of the reads and writes that lie wholly below the current file size
 * (fstat, so no access past EOF can fault) are memcpy from/to the mapping, each mapped write
 * followed by msync(MS_SYNC). The mapping outlives every size change (truncate, fallocate,
 * copies): stale pages after those are exactly what it is there to catch.
 *
 * FUSE refuses FALLOC_FL_COLLAPSE_RANGE and FALLOC_FL_INSERT_RANGE with EOPNOTSUPP in the
 * kernel, before the daemon sees them: those come back as EX_SKIPPED (nothing changed), counted
 * and printed at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/exerciser/ex.h"

struct ex_posix {
	char dir[512];
	int *fds;
	int *fdds;	 /* O_DIRECT descriptors (--dio), else -1 */
	uint8_t **maps;	 /* MAP_SHARED mappings (--mmap), else NULL */
	uint8_t *bounce; /* block-aligned, max_file_size bytes (--dio) */
	uint64_t nr_direct, nr_mmap_reads, nr_mmap_writes, nr_falloc_skipped;
};

static bool posix_dio(const struct ex_backend *b)
{
	return b->cfg->dio && strcmp(b->cfg->dio, "off");
}

/* Open (and map) file i; extra: O_CREAT | O_TRUNC the first time. */
static int posix_open_one(struct ex_backend *b, unsigned i, int extra)
{
	struct ex_posix *p = b->priv;
	char path[600];

	snprintf(path, sizeof(path), "%s/f%u", p->dir, i);
	p->fds[i] = open(path, O_RDWR | extra, 0644);
	if (p->fds[i] < 0)
		return -errno;
	if (posix_dio(b)) {
		p->fdds[i] = open(path, O_RDWR | O_DIRECT);
		if (p->fdds[i] < 0)
			return -errno;
	}
	if (b->cfg->mmap) {
		void *m = mmap(NULL, b->cfg->max_file_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			       p->fds[i], 0);

		if (m == MAP_FAILED)
			return -errno;
		p->maps[i] = m;
	}
	return 0;
}

static int posix_open_all(struct ex_backend *b, int extra)
{
	int ret = 0;

	for (unsigned i = 0; !ret && i < b->cfg->files; i++)
		ret = posix_open_one(b, i, extra);
	return ret;
}

static void posix_close_all(struct ex_backend *b)
{
	struct ex_posix *p = b->priv;

	for (unsigned i = 0; i < b->cfg->files; i++) {
		if (p->maps[i])
			munmap(p->maps[i], b->cfg->max_file_size);
		if (p->fdds[i] >= 0)
			close(p->fdds[i]);
		if (p->fds[i] >= 0)
			close(p->fds[i]);
		p->maps[i] = NULL;
		p->fds[i] = p->fdds[i] = -1;
	}
}

static int posix_init(struct ex_backend *b)
{
	struct ex_posix *p = calloc(1, sizeof(*p));
	unsigned n = b->cfg->files;

	if (!p)
		return -ENOMEM;
	b->priv = p;
	p->fds = malloc(n * sizeof(int));
	p->fdds = malloc(n * sizeof(int));
	p->maps = calloc(n, sizeof(*p->maps));
	if (!p->fds || !p->fdds || !p->maps)
		return -ENOMEM;
	memset(p->fds, 0xff, n * sizeof(int));
	memset(p->fdds, 0xff, n * sizeof(int));
	if (posix_dio(b) &&
	    posix_memalign((void **)&p->bounce, b->cfg->block_size, b->cfg->max_file_size))
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

static void posix_unlink_all(struct ex_backend *b)
{
	struct ex_posix *p = b->priv;

	for (unsigned i = 0; i < b->cfg->files; i++) {
		char path[600];

		snprintf(path, sizeof(path), "%s/f%u", p->dir, i);
		unlink(path);
	}
	rmdir(p->dir);
}

static void posix_fini(struct ex_backend *b)
{
	struct ex_posix *p = b->priv;

	if (!p)
		return;
	posix_close_all(b);
	if (!b->cfg->keep)
		posix_unlink_all(b);
	free(p->bounce);
	free(p->maps);
	free(p->fdds);
	free(p->fds);
	free(p);
}

static void px_discard(struct ex_backend *b)
{
	if (b->priv)
		posix_unlink_all(b);
}

static int fd_of(struct ex_backend *b, unsigned f)
{
	return ((struct ex_posix *)b->priv)->fds[f];
}

static uint64_t req_hash(size_t len, uint64_t off)
{
	return (off ^ ((uint64_t)len << 20)) * 0x9E3779B97F4A7C15ull;
}

/* The O_DIRECT descriptor when this request goes direct (as core_handle in ex_core.c), or -1. */
static int posix_direct_fd(struct ex_backend *b, unsigned f, size_t len, uint64_t off)
{
	if (!posix_dio(b) || (off | len) % b->cfg->block_size || !len)
		return -1;
	if (!strcmp(b->cfg->dio, "mixed") && (req_hash(len, off) >> 63))
		return -1;
	return ((struct ex_posix *)b->priv)->fdds[f];
}

/* The mapping when this request goes through it: about 3 in 8 of those below EOF. */
static uint8_t *posix_map_of(struct ex_backend *b, unsigned f, size_t len, uint64_t off)
{
	struct stat st;

	if (!b->cfg->mmap || !len || ((req_hash(len, off) >> 40) & 7) >= 3)
		return NULL;
	if (fstat(fd_of(b, f), &st) || off + len > (uint64_t)st.st_size)
		return NULL;
	return ((struct ex_posix *)b->priv)->maps[f];
}

static ssize_t posix_pread(struct ex_backend *b, unsigned f, void *buf, size_t len, uint64_t off)
{
	struct ex_posix *p = b->priv;
	int dfd = posix_direct_fd(b, f, len, off);
	uint8_t *map = posix_map_of(b, f, len, off);
	ssize_t ret;

	if (dfd >= 0) {
		p->nr_direct++;
		ret = pread(dfd, p->bounce, len, (off_t)off);
		if (ret > 0)
			memcpy(buf, p->bounce, ret);
	} else if (map) {
		p->nr_mmap_reads++;
		memcpy(buf, map + off, len);
		return len;
	} else {
		ret = pread(fd_of(b, f), buf, len, (off_t)off);
	}
	return ret < 0 ? -errno : ret;
}

/* A write through the mapping, made durable and visible to the daemon by msync. */
static ssize_t posix_map_write(struct ex_backend *b, uint8_t *map, const void *buf, size_t len,
			       uint64_t off)
{
	uint64_t start = off & ~(uint64_t)(sysconf(_SC_PAGESIZE) - 1);

	((struct ex_posix *)b->priv)->nr_mmap_writes++;
	memcpy(map + off, buf, len);
	if (msync(map + start, off + len - start, MS_SYNC))
		return -errno;
	return len;
}

static ssize_t posix_pwrite(struct ex_backend *b, unsigned f, const void *buf, size_t len,
			    uint64_t off)
{
	struct ex_posix *p = b->priv;
	int dfd = posix_direct_fd(b, f, len, off);
	uint8_t *map = posix_map_of(b, f, len, off);
	ssize_t ret;

	if (dfd >= 0) {
		p->nr_direct++;
		memcpy(p->bounce, buf, len);
		ret = pwrite(dfd, p->bounce, len, (off_t)off);
	} else if (map) {
		return posix_map_write(b, map, buf, len, off);
	} else {
		ret = pwrite(fd_of(b, f), buf, len, (off_t)off);
	}
	return ret < 0 ? -errno : ret;
}

static int px_truncate(struct ex_backend *b, unsigned f, uint64_t size)
{
	return ftruncate(fd_of(b, f), (off_t)size) ? -errno : 0;
}

static int px_fallocate(struct ex_backend *b, unsigned f, int mode, uint64_t off, uint64_t len)
{
	if (!fallocate(fd_of(b, f), mode, (off_t)off, (off_t)len))
		return 0;
	if (errno == EOPNOTSUPP && (mode & (EX_FALLOC_COLLAPSE_RANGE | EX_FALLOC_INSERT_RANGE))) {
		((struct ex_posix *)b->priv)->nr_falloc_skipped++;
		return EX_SKIPPED;
	}
	return -errno;
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

static void posix_report(struct ex_backend *b)
{
	struct ex_posix *p = b->priv;

	printf("posix: direct I/O requests %" PRIu64 ", mmap reads %" PRIu64
	       ", mmap writes %" PRIu64
	       ", collapse/insert refused with EOPNOTSUPP (skipped) %" PRIu64 "\n",
	       p->nr_direct, p->nr_mmap_reads, p->nr_mmap_writes, p->nr_falloc_skipped);
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
	.report = posix_report,
};
