/* SPDX-License-Identifier: MIT */
/*
 * mt_fs.h - what the metadata-layer suites share on top of tests/util: sparse image files in a
 * scratch directory (META_TEST_DIR, default /var/tmp) formatted with meta_mkfs, mount/remount
 * by path, dump comparison across remounts, whole-file copies, and shorthands.
 */
#ifndef GUARDFS_TESTS_META_FS_H
#define GUARDFS_TESTS_META_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/meta.h"
#include "pi/pi.h"
#include "tests/util/test_ns.h"

struct mt_image {
	char path[256];
	struct pi_format fmt;
	uint64_t nlb;
};

/* A sparse image of @bytes (data + metadata) formatted with meta_mkfs (p may be NULL). */
void mt_mkfs(struct mt_image *img, const struct pi_format *fmt, uint64_t bytes,
	     const struct meta_mkfs_params *p);
void mt_remove(struct mt_image *img);
/* mt_mkfs of the default format (test_format_default), then mounted. */
struct meta_fs *mt_mkfs_mount(struct mt_image *img, uint64_t bytes);

struct meta_fs *mt_mount(const struct mt_image *img);
/* Unmount and mount again; returns the new fs. */
struct meta_fs *mt_remount(struct meta_fs *fs, const struct mt_image *img);
/* mt_remount, requiring the same dump after it as before. */
struct meta_fs *mt_remount_same(struct meta_fs *fs, const struct mt_image *img);

/* The dump as a string (caller frees). */
char *mt_dump(struct meta_fs *fs);
/* Assert two dumps are equal, printing the first differing line otherwise. */
void mt_assert_same_dump(const char *a, const char *b);

/* The whole image file, and a copy of it. */
void mt_read_file(const char *path, void **buf, size_t *len);
void mt_copy_file(const char *from, const char *to);

/* Shorthands returning the new inode number (assert success). */
uint64_t mt_create(struct meta_fs *fs, uint64_t dir, const char *name);
uint64_t mt_mkdir(struct meta_fs *fs, uint64_t dir, const char *name);
/* Lookup without keeping the reference; 0 when absent. */
uint64_t mt_lookup(struct meta_fs *fs, uint64_t dir, const char *name);

#endif /* GUARDFS_TESTS_META_FS_H */
