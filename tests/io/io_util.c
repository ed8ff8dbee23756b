/* SPDX-License-Identifier: MIT */
/*
 * io_util.c - images, mounts, files, patterns and log capture for the core I/O suites.
 */
#include "tests/io/io_util.h"

#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/meta.h"

struct pi_format io_format_default(void)
{
	return (struct pi_format){
		.lba_size = 4096,
		.md_size = 8,
		.type = PI_TYPE_1,
		.guard = PI_GUARD_16,
		.layout = PI_MD_SEPARATE,
	};
}

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
	const char *dir = getenv("IO_TEST_DIR") ? getenv("IO_TEST_DIR") : "/var/tmp";
	struct meta_mkfs_params p = {0};
	struct ns_options o = {.format = fmt};
	uint64_t nlb = bytes / (fmt->lba_size + fmt->md_size);
	struct ns *ns;
	int fd;

	img->fmt = *fmt;
	img->block_size = block_size ? block_size : fmt->lba_size;
	snprintf(img->path, sizeof(img->path), "%s/gfs-io-test-XXXXXX", dir);
	fd = mkstemp(img->path);
	ck_assert_msg(fd >= 0, "mkstemp %s", img->path);
	io_track(img->path, true);
	ck_assert_int_eq(ftruncate(fd, (off_t)(nlb * (fmt->lba_size + fmt->md_size))), 0);
	close(fd);
	ck_assert_int_eq(ns_open(img->path, &o, &ns), 0);
	p.sb.block_size = img->block_size;
	ck_assert_int_eq(meta_mkfs(ns, &p, NULL), 0);
	ns_close(ns);
}

void io_remove(struct io_image *img)
{
	unlink(img->path);
	io_track(img->path, false);
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

static uint8_t io_pattern_byte(uint64_t off, uint32_t seed)
{
	uint64_t x = (off >> 3) * 0x9E3779B97F4A7C15ull + seed * 0xBF58476D1CE4E5B9ull;

	x ^= x >> 31;
	return (uint8_t)((x >> (8 * (off & 7))) | 1); /* never 0: zeros stand out */
}

void io_pattern(void *buf, size_t len, uint64_t off, uint32_t seed)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = seed ? io_pattern_byte(off + i, seed) : 0;
}

void io_check_pattern(const void *buf, size_t len, uint64_t off, uint32_t seed)
{
	const uint8_t *p = buf;

	/* ck_abort only on a mismatch: Check records every passing assertion (a pipe write). */
	for (size_t i = 0; i < len; i++) {
		uint8_t want = seed ? io_pattern_byte(off + i, seed) : 0;

		if (p[i] != want)
			ck_abort_msg("byte at offset %" PRIu64 ": 0x%02x, expected 0x%02x", off + i,
				     p[i], want);
	}
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

uint64_t io_seed(const char *suite)
{
	const char *env = getenv("GFS_TEST_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ (uint64_t)getpid();

	printf("%s: seed %" PRIu64 " (GFS_TEST_SEED=%" PRIu64 " to replay)\n", suite, seed, seed);
	fflush(stdout);
	return seed;
}

static pthread_mutex_t io_log_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned io_log_errs;
static char io_log_last[512];

static void io_log_hook(enum gfs_log_level level, const char *line, void *arg)
{
	(void)arg;
	if (level > GFS_LOG_ERR)
		return;
	pthread_mutex_lock(&io_log_lock);
	io_log_errs++;
	snprintf(io_log_last, sizeof(io_log_last), "%s", line);
	pthread_mutex_unlock(&io_log_lock);
}

void io_log_capture(void)
{
	pthread_mutex_lock(&io_log_lock);
	io_log_errs = 0;
	io_log_last[0] = 0;
	pthread_mutex_unlock(&io_log_lock);
	gfs_log_set_hook(io_log_hook, NULL);
}

unsigned io_err_count(void)
{
	unsigned n;

	pthread_mutex_lock(&io_log_lock);
	n = io_log_errs;
	pthread_mutex_unlock(&io_log_lock);
	return n;
}

const char *io_last_err(void)
{
	return io_log_last;
}
