/* SPDX-License-Identifier: MIT */
/*
 * crash_wl.h - the crash test's workload and its model: a seeded random mix of create, write,
 * fsync, rename, unlink, mkdir, link, truncate, fallocate, syncfs and direct writes over a small
 * tree of files, run through the core API while the file backend's write log records every device
 * write.
 *
 * The model keeps, per file, its content as 8-byte words that name the file, the write
 * generation and the word's offset (so a stale byte from another file or another place is
 * recognisable), and, for every fsync, a snapshot of the file (names, size, content) together
 * with the write-log interval over which that snapshot must be what a crash shows: from the
 * fsync's completion (write-log length when it returned) to the start of the next operation
 * that changed the file (nothing that operation wrote can be in an image cut before it); names
 * and data are tracked apart, so a rename after an fsync still leaves the data to check.
 */
#ifndef GUARDFS_TESTS_CRASH_WL_H
#define GUARDFS_TESTS_CRASH_WL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gfs;
struct gfs_file;
struct ns_wlog;

#define CW_FILE_MAX  65536u /* bytes: the largest file offset written */
#define CW_WORDS     (CW_FILE_MAX / 8)
#define CW_MAX_FILES 96
#define CW_MAX_DIRS  8
#define CW_MAX_NAMES 4
#define CW_NAME_LEN  16
#define CW_OPEN	     SIZE_MAX /* a snapshot not yet superseded */

struct cw_name {
	int dir; /* index into cw->dirs; 0 is the root */
	char name[CW_NAME_LEN];
};

struct cw_dir {
	int parent;
	char name[CW_NAME_LEN];
	uint64_t ino;
};

struct cw_file {
	uint64_t ino;
	bool live;	     /* still has a name */
	struct gfs_file *fh; /* NULL once the last name is gone (then forgotten) */
	uint64_t refs;	     /* lookup references taken: create and link */
	uint64_t size;
	uint32_t gen; /* generations 1..gen have been written */
	uint64_t *words;
	struct cw_name names[CW_MAX_NAMES];
	int nnames;
	int snap; /* its newest snapshot, -1 if none */
};

/*
 * A file as fsync'd: every crash image cut in [durable_at, until_names] must show its names,
 * and every one cut in [durable_at, until_data] its size and bytes.
 */
struct cw_snap {
	int fid;
	size_t durable_at;  /* write-log length when the fsync returned */
	size_t until_names; /* write-log length when the next op changing its names started */
	size_t until_data;  /* ... changing its size or bytes */
	uint64_t size;
	uint64_t *words;
	struct cw_name names[CW_MAX_NAMES];
	int nnames;
};

struct cw {
	struct gfs *gfs;
	struct ns_wlog *log;
	uint64_t rng;
	struct cw_dir dirs[CW_MAX_DIRS];
	int ndirs;
	struct cw_file files[CW_MAX_FILES];
	int nfiles;
	struct cw_snap *snaps;
	size_t nsnaps, cap_snaps;
	unsigned name_seq;
	unsigned ops[16]; /* operations done, by kind */
};

uint64_t cw_rand(uint64_t *state);

/* The word at index idx of file fid's generation gen (never 0). */
uint64_t cw_word(int fid, uint32_t gen, uint64_t idx);
/* Whether w may appear at word idx of file fid after a crash: 0 or a generation of it. */
bool cw_word_ok(const struct cw *cw, int fid, uint64_t idx, uint64_t w);
/* The file of inode ino, or -1. */
int cw_fid_of(const struct cw *cw, uint64_t ino);

/* Run nops operations on the mounted cw->gfs (root directory is dirs[0]). */
void cw_run(struct cw *cw, int nops);
void cw_free(struct cw *cw);

/* "create=12 write=40 ..." */
void cw_print_ops(const struct cw *cw);

#endif /* GUARDFS_TESTS_CRASH_WL_H */
