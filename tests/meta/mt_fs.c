/* SPDX-License-Identifier: MIT */
/*
 * mt_fs.c - image files, mount helpers, dumps and log capture for the metadata suites.
 */
#include "tests/meta/mt_fs.h"

#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

struct pi_format mt_format_default(void)
{
	return (struct pi_format){
		.lba_size = 4096,
		.md_size = 8,
		.type = PI_TYPE_1,
		.guard = PI_GUARD_16,
		.layout = PI_MD_SEPARATE,
	};
}

void mt_mkfs(struct mt_image *img, const struct pi_format *fmt, uint64_t bytes,
	     const struct meta_mkfs_params *p)
{
	const char *dir = getenv("META_TEST_DIR") ? getenv("META_TEST_DIR") : "/var/tmp";
	struct ns_options o = {.format = fmt};
	struct ns *ns;
	int fd;

	img->fmt = *fmt;
	snprintf(img->path, sizeof(img->path), "%s/gfs-meta-test-XXXXXX", dir);
	fd = mkstemp(img->path);
	ck_assert_msg(fd >= 0, "mkstemp %s", img->path);
	img->nlb = bytes / (fmt->lba_size + fmt->md_size);
	ck_assert_int_eq(ftruncate(fd, (off_t)(img->nlb * (fmt->lba_size + fmt->md_size))), 0);
	close(fd);
	ck_assert_int_eq(ns_open(img->path, &o, &ns), 0);
	ck_assert_int_eq(meta_mkfs(ns, p, NULL), 0);
	ns_close(ns);
}

void mt_remove(struct mt_image *img)
{
	unlink(img->path);
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

void mt_flip_byte(const char *path, uint64_t off, uint8_t mask)
{
	int fd = open(path, O_RDWR);
	uint8_t b;

	ck_assert(fd >= 0);
	ck_assert_int_eq(pread(fd, &b, 1, (off_t)off), 1);
	b ^= mask;
	ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)off), 1);
	close(fd);
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

static pthread_mutex_t cap_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned errs;
static char last_err[512];

static void mt_hook(enum gfs_log_level level, const char *line, void *arg)
{
	if (level != GFS_LOG_ERR)
		return;
	pthread_mutex_lock(&cap_lock);
	errs++;
	snprintf(last_err, sizeof(last_err), "%s", line);
	pthread_mutex_unlock(&cap_lock);
}

void mt_log_capture(void)
{
	pthread_mutex_lock(&cap_lock);
	errs = 0;
	last_err[0] = 0;
	pthread_mutex_unlock(&cap_lock);
	gfs_log_set_hook(mt_hook, NULL);
}

unsigned mt_err_count(void)
{
	return errs;
}

const char *mt_last_err(void)
{
	return last_err;
}

uint64_t mt_create(struct meta_fs *fs, uint64_t dir, const char *name)
{
	struct meta_attr a;
	int ret = meta_create(fs, dir, name, 0644, NULL, &a);

	ck_assert_msg(ret == 0, "create %s: %d", name, ret);
	meta_forget(fs, a.ino, 1);
	return a.ino;
}

uint64_t mt_mkdir(struct meta_fs *fs, uint64_t dir, const char *name)
{
	struct meta_attr a;
	int ret = meta_mkdir(fs, dir, name, 0755, NULL, &a);

	ck_assert_msg(ret == 0, "mkdir %s: %d", name, ret);
	meta_forget(fs, a.ino, 1);
	return a.ino;
}

uint64_t mt_lookup(struct meta_fs *fs, uint64_t dir, const char *name)
{
	struct meta_attr a;

	if (meta_lookup(fs, dir, name, &a))
		return 0;
	meta_forget(fs, a.ino, 1);
	return a.ino;
}
