/* SPDX-License-Identifier: MIT */
/*
 * mt_fs.c - image files, mount helpers and dumps for the metadata suites.
 */
#include "tests/meta/mt_fs.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void mt_mkfs(struct mt_image *img, const struct pi_format *fmt, uint64_t bytes,
	     const struct meta_mkfs_params *p)
{
	struct ns *ns;

	img->fmt = *fmt;
	img->nlb = bytes / (fmt->lba_size + fmt->md_size);
	test_make_image("META_TEST_DIR", "gfs-meta-test", fmt, img->nlb, img->path,
			sizeof(img->path));
	ns = test_ns_open(img->path, fmt, false);
	ck_assert_int_eq(meta_mkfs(ns, p, NULL), 0);
	ns_close(ns);
}

void mt_remove(struct mt_image *img)
{
	unlink(img->path);
}

struct meta_fs *mt_mkfs_mount(struct mt_image *img, uint64_t bytes)
{
	struct pi_format fmt = test_format_default();

	mt_mkfs(img, &fmt, bytes, NULL);
	return mt_mount(img);
}

struct meta_fs *mt_mount(const struct mt_image *img)
{
	struct meta_fs *fs = NULL;
	int ret = meta_mount(img->path, NULL, &fs);

	ck_assert_msg(ret == 0, "mount %s: %d", img->path, ret);
	return fs;
}

struct meta_fs *mt_remount(struct meta_fs *fs, const struct mt_image *img)
{
	ck_assert_int_eq(meta_unmount(fs), 0);
	return mt_mount(img);
}

struct meta_fs *mt_remount_same(struct meta_fs *fs, const struct mt_image *img)
{
	char *before = mt_dump(fs), *after;

	fs = mt_remount(fs, img);
	after = mt_dump(fs);
	mt_assert_same_dump(before, after);
	free(before);
	free(after);
	return fs;
}

char *mt_dump(struct meta_fs *fs)
{
	char *text = NULL;
	size_t len = 0;

	ck_assert_int_eq(meta_dump(fs, &text, &len), 0);
	return text;
}

void mt_assert_same_dump(const char *a, const char *b)
{
	size_t line = 1;
	const char *pa = a, *pb = b;

	if (!strcmp(a, b))
		return;
	while (*pa && *pa == *pb) {
		if (*pa == '\n') {
			line++;
			a = pa + 1;
			b = pb + 1;
		}
		pa++;
		pb++;
	}
	ck_abort_msg("dumps differ at line %zu:\n  before: %.200s\n  after:  %.200s", line, a, b);
}

void mt_read_file(const char *path, void **buf, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	size_t done = 0;

	ck_assert(fd >= 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	*len = (size_t)st.st_size;
	*buf = malloc(*len ? *len : 1);
	ck_assert_ptr_nonnull(*buf);
	while (done < *len) {
		ssize_t n = pread(fd, (char *)*buf + done, *len - done, (off_t)done);

		ck_assert(n > 0);
		done += (size_t)n;
	}
	close(fd);
}

/* A sparse-aware copy is not needed for correctness; images in tests are small. */
void mt_copy_file(const char *from, const char *to)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "cp --sparse=always '%s' '%s'", from, to);
	ck_assert_int_eq(system(cmd), 0);
}

static uint64_t mt_make(struct meta_fs *fs, uint64_t dir, const char *name, bool directory)
{
	struct meta_attr a;
	int ret = directory ? meta_mkdir(fs, dir, name, 0755, NULL, &a)
			    : meta_create(fs, dir, name, 0644, NULL, &a);

	ck_assert_msg(ret == 0, "%s %s: %d", directory ? "mkdir" : "create", name, ret);
	meta_forget(fs, a.ino, 1);
	return a.ino;
}

uint64_t mt_create(struct meta_fs *fs, uint64_t dir, const char *name)
{
	return mt_make(fs, dir, name, false);
}

uint64_t mt_mkdir(struct meta_fs *fs, uint64_t dir, const char *name)
{
	return mt_make(fs, dir, name, true);
}

uint64_t mt_lookup(struct meta_fs *fs, uint64_t dir, const char *name)
{
	struct meta_attr a;

	if (meta_lookup(fs, dir, name, &a))
		return 0;
	meta_forget(fs, a.ino, 1);
	return a.ino;
}
