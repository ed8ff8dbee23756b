/* SPDX-License-Identifier: MIT */
/*
 * io_util.c - images, the fixture, mounts and files for the core I/O suites.
 */
#include "tests/io/io_util.h"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/meta.h"

/*
 * Images still on disk: a failed assertion ends the forked test before its teardown runs, so
 * an atexit handler removes whatever is left.
 */
#define IO_MAX_IMAGES 8
static char io_images[IO_MAX_IMAGES][256];

static void io_remove_leftovers(void)
{
	for (int i = 0; i < IO_MAX_IMAGES; i++)
		if (io_images[i][0])
			unlink(io_images[i]);
}

static void io_track(const char *path, bool add)
{
	static bool registered;

	if (add && !registered) {
		atexit(io_remove_leftovers);
		registered = true;
	}
	for (int i = 0; i < IO_MAX_IMAGES; i++) {
		if (add && !io_images[i][0]) {
			snprintf(io_images[i], sizeof(io_images[i]), "%s", path);
			return;
		}
		if (!add && !strcmp(io_images[i], path)) {
			io_images[i][0] = 0;
			return;
		}
	}
}

void io_mkfs(struct io_image *img, const struct pi_format *fmt, uint64_t bytes, uint32_t block_size)
{
	struct meta_mkfs_params p = {0};
	struct ns *ns;

	img->fmt = *fmt;
	img->block_size = block_size ? block_size : fmt->lba_size;
	test_make_image("IO_TEST_DIR", "gfs-io-test", fmt, bytes / (fmt->lba_size + fmt->md_size),
			img->path, sizeof(img->path));
	io_track(img->path, true);
	ns = test_ns_open(img->path, fmt, false);
	p.sb.block_size = img->block_size;
	ck_assert_int_eq(meta_mkfs(ns, &p, NULL), 0);
	ns_close(ns);
}

void io_remove(struct io_image *img)
{
	unlink(img->path);
	io_track(img->path, false);
}

struct gfs *io_mkfs_mount(struct io_image *img, const struct pi_format *fmt, uint64_t bytes,
			  uint32_t block_size)
{
	io_mkfs(img, fmt, bytes, block_size);
	return io_mount(img, NULL);
}

struct io_image io_img;
uint64_t io_img_bytes = 32ull << 20;

void io_setup(void)
{
	struct pi_format fmt = test_format_default();

	io_mkfs(&io_img, &fmt, io_img_bytes, 0);
}

void io_teardown(void)
{
	io_remove(&io_img);
}

struct gfs_opts io_opts_default(void)
{
	return (struct gfs_opts){
		.cache_size = 4u << 20,
		.folio_size = 16384,
		.no_flusher = true,
	};
}

struct gfs *io_mount(const struct io_image *img, const struct gfs_opts *opts)
{
	struct gfs_opts o = opts ? *opts : io_opts_default();
	struct gfs *gfs = NULL;
	int ret = gfs_mount(img->path, &o, &gfs);

	ck_assert_msg(ret == 0, "gfs_mount %s: %d", img->path, ret);
	return gfs;
}

uint64_t io_create(struct gfs *gfs, const char *name)
{
	struct meta_owner owner = {0, 0};
	struct meta_attr attr;
	int ret = meta_create(gfs_meta(gfs), META_ROOT_INO, name, S_IFREG | 0644, &owner, &attr);

	ck_assert_msg(ret == 0, "create %s: %d", name, ret);
	return attr.ino;
}

struct gfs_file *io_open(struct gfs *gfs, uint64_t ino)
{
	struct gfs_file *f = NULL;

	ck_assert_int_eq(gfs_open(gfs, ino, 0, &f), 0);
	return f;
}

void io_write_all(struct gfs_file *f, const void *buf, size_t len, uint64_t off)
{
	ssize_t ret = gfs_write(f, buf, len, off);

	ck_assert_msg(ret == (ssize_t)len, "write %zu at %" PRIu64 ": %zd", len, off, ret);
}

void io_read_all(struct gfs_file *f, void *buf, size_t len, uint64_t off)
{
	ssize_t ret = gfs_read(f, buf, len, off);

	ck_assert_msg(ret == (ssize_t)len, "read %zu at %" PRIu64 ": %zd", len, off, ret);
}

struct ns_stats io_ns_stats(struct gfs *gfs)
{
	struct ns_stats st;

	ns_get_stats(gfs_ns(gfs), &st);
	return st;
}
