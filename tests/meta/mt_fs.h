/* SPDX-License-Identifier: MIT */
/*
 * mt_fs.h - what the metadata-layer suites share: sparse image files in a scratch directory
 * (META_TEST_DIR, default /var/tmp) formatted with meta_mkfs, mount/remount by path, dump
 * comparison across remounts, and capture of error lines.
 */
#ifndef GUARDFS_TESTS_META_FS_H
#define GUARDFS_TESTS_META_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/meta.h"
#include "pi/pi.h"

struct mt_image {
	char path[256];
	struct pi_format fmt;
	uint64_t nlb;
};

/* 4096+8, PI type 1, 16-bit guard. */
struct pi_format mt_format_default(void);

/* A sparse image of @bytes (data + metadata) formatted with meta_mkfs (p may be NULL). */
void mt_mkfs(struct mt_image *img, const struct pi_format *fmt, uint64_t bytes,
	     const struct meta_mkfs_params *p);
void mt_remove(struct mt_image *img);

struct meta_fs *mt_mount(const struct mt_image *img);
/* Unmount and mount again; returns the new fs. */
struct meta_fs *mt_remount(struct meta_fs *fs, const struct mt_image *img);

/* The dump as a string (caller frees). */
char *mt_dump(struct meta_fs *fs);
/* Assert two dumps are equal, printing the first differing line otherwise. */
void mt_assert_same_dump(const char *a, const char *b);

/* Raw byte access to the image file. */
void mt_flip_byte(const char *path, uint64_t off, uint8_t mask);
void mt_read_file(const char *path, void **buf, size_t *len);
void mt_copy_file(const char *from, const char *to);

/* Count gfs_err lines from now on. */
void mt_log_capture(void);
unsigned mt_err_count(void);
const char *mt_last_err(void);

/* Shorthands returning the new inode number (assert success). */
uint64_t mt_create(struct meta_fs *fs, uint64_t dir, const char *name);
uint64_t mt_mkdir(struct meta_fs *fs, uint64_t dir, const char *name);
/* Lookup without keeping the reference; 0 when absent. */
uint64_t mt_lookup(struct meta_fs *fs, uint64_t dir, const char *name);

#endif /* GUARDFS_TESTS_META_FS_H */
