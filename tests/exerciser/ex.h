/* SPDX-License-Identifier: MIT */
/*
 * ex.h - the model-based random exerciser: an operation generator, an in-memory model of every
 * file's bytes and size, and a backend interface with two implementations: the core API
 * (ex_core.c: gfs_* on an image file) and POSIX system calls on a directory (ex_posix.c: for a
 * real guardfs mount, or any filesystem to compare against).
 *
 * The model is the oracle: every byte a read returns is compared with it. Damage (a block whose
 * PI was broken on purpose) is tracked per block: a read touching a damaged block must fail
 * with EIO or return exactly the model's bytes, never anything else. Crash (core backend only):
 * files fsync'd and unchanged since must read back exactly; the others are re-learned.
 */
#ifndef GUARDFS_TESTS_EX_H
#define GUARDFS_TESTS_EX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* fallocate modes, as linux/falloc.h */
#define EX_FALLOC_KEEP_SIZE	 0x01
#define EX_FALLOC_PUNCH_HOLE	 0x02
#define EX_FALLOC_COLLAPSE_RANGE 0x08
#define EX_FALLOC_ZERO_RANGE	 0x10
#define EX_FALLOC_INSERT_RANGE	 0x20

/* fallocate's answer for a mode this backend cannot reach (FUSE refuses collapse/insert in the
 * kernel): nothing changed, the driver leaves the model as it is. */
#define EX_SKIPPED 1

struct ex_config {
	uint64_t seed;
	uint64_t ops;
	uint64_t cache_size;
	unsigned folio_size;
	unsigned files;
	uint64_t max_file_size;
	uint64_t image_size;
	unsigned block_size;	/* alignment of collapse/insert; the fs block size */
	const char *backend;	/* "core" or "posix" */
	const char *dir;	/* scratch directory (image or files) */
	unsigned corrupt_every; /* core: damage a block every N ops (0: never) */
	bool crash;		/* core: some remounts are crashes */
	const char *dio;	/* core: NULL/"off"; "direct": every read and write aligned and
				 * O_DIRECT; "mixed": aligned ones direct or buffered at random */
	bool mmap;		/* posix: some reads and writes through MAP_SHARED mappings */
	bool keep;		/* posix: leave the files in place at the end (for fsck) */
	unsigned threads;	/* > 1: threads on disjoint sets of files, no remounts meanwhile */
	bool verbose;
};

struct ex_backend;

struct ex_backend_ops {
	const char *name;
	/* Create the files (empty), open them. */
	int (*init)(struct ex_backend *b);
	/* Close everything and mount again; crash = drop unsynced state (if supported). */
	int (*remount)(struct ex_backend *b, bool crash);
	void (*fini)(struct ex_backend *b);
	ssize_t (*pread)(struct ex_backend *b, unsigned file, void *buf, size_t len, uint64_t off);
	ssize_t (*pwrite)(struct ex_backend *b, unsigned file, const void *buf, size_t len,
			  uint64_t off);
	int (*truncate)(struct ex_backend *b, unsigned file, uint64_t size);
	/* 0, a negative errno, or EX_SKIPPED. */
	int (*fallocate)(struct ex_backend *b, unsigned file, int mode, uint64_t off, uint64_t len);
	int (*fsync)(struct ex_backend *b, unsigned file, bool datasync);
	ssize_t (*copy_range)(struct ex_backend *b, unsigned in, uint64_t off_in, unsigned out,
			      uint64_t off_out, size_t len);
	int (*get_size)(struct ex_backend *b, unsigned file, uint64_t *size);
	/* Damage the PI of a block of the file that is on the namespace and not cached; returns
	 * 0 and the block's file offset, or -ENOENT when there is none. NULL: unsupported. */
	int (*damage_block)(struct ex_backend *b, unsigned file, uint64_t *off, uint64_t *rng);
	/* After a failure: remove the scratch files without touching the filesystem state. */
	void (*discard)(struct ex_backend *b);
	/* Stats line for the end (may be NULL). */
	void (*report)(struct ex_backend *b);
};

struct ex_backend {
	const struct ex_backend_ops *ops;
	const struct ex_config *cfg;
	void *priv;
};

extern const struct ex_backend_ops ex_core_ops;
extern const struct ex_backend_ops ex_posix_ops;

/* ---- the model (ex_model.c) ---- */

struct ex_file {
	uint8_t *data; /* max_file_size bytes; bytes at or past size are zero */
	uint64_t size;
	uint8_t *damaged; /* one flag per block */
	bool synced;	  /* unchanged since its last successful fsync */
	uint8_t *synced_data;
	uint64_t synced_size;
};

struct ex_model {
	unsigned nr_files;
	uint64_t max_size;
	unsigned block_size;
	struct ex_file *files;
};

int ex_model_init(struct ex_model *m, unsigned files, uint64_t max_size, unsigned block_size);
void ex_model_fini(struct ex_model *m);
void ex_model_write(struct ex_model *m, unsigned f, const void *buf, uint64_t len, uint64_t off);
void ex_model_truncate(struct ex_model *m, unsigned f, uint64_t size);
/* Applies a successful fallocate. */
void ex_model_fallocate(struct ex_model *m, unsigned f, int mode, uint64_t off, uint64_t len);
void ex_model_synced(struct ex_model *m, unsigned f);
bool ex_model_range_damaged(const struct ex_model *m, unsigned f, uint64_t off, uint64_t len);
void ex_model_damage(struct ex_model *m, unsigned f, uint64_t off);
/* Forget the file's contents: it becomes what the backend says (after a crash). */
void ex_model_relearn(struct ex_model *m, unsigned f, const uint8_t *data, uint64_t size);

#endif /* GUARDFS_TESTS_EX_H */
