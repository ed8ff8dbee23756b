/* SPDX-License-Identifier: MIT */
/*
 * crash_wl.c - the crash test's workload and model (see crash_wl.h). Every operation records,
 * before it starts, the write-log length: a snapshot of a file it touches ends there. Offsets,
 * lengths and sizes are multiples of 8 bytes so every word of a file is whole.
 */
#include "tests/crash/crash_wl.h"

#include <check.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/gfs.h"
#include "core/meta.h"
#include "core/ns_wlog.h"

enum cw_op {
	CW_CREATE,
	CW_WRITE,
	CW_FSYNC,
	CW_RENAME,
	CW_UNLINK,
	CW_MKDIR,
	CW_LINK,
	CW_TRUNCATE,
	CW_FALLOC,
	CW_SYNCFS,
	CW_DIO_WRITE,
	CW_NR
};

#define CW_T_NAMES 1u /* an operation changes a file's names */
#define CW_T_DATA  2u /* ... its size or bytes */

static const char *const cw_op_names[CW_NR] = {
	"create", "write",    "fsync",	   "rename", "unlink",	  "mkdir",
	"link",	  "truncate", "fallocate", "syncfs", "dio_write",
};

uint64_t cw_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static uint64_t cw_below(struct cw *cw, uint64_t n)
{
	return cw_rand(&cw->rng) % n;
}

uint64_t cw_word(int fid, uint32_t gen, uint64_t idx)
{
	return (1ull << 63) | ((uint64_t)fid << 44) | ((uint64_t)gen << 24) | idx;
}

bool cw_word_ok(const struct cw *cw, int fid, uint64_t idx, uint64_t w)
{
	uint32_t gen = (uint32_t)((w >> 24) & 0xFFFFF);

	if (w == 0)
		return true;
	return w == cw_word(fid, gen, idx) && gen >= 1 && gen <= cw->files[fid].gen;
}

int cw_fid_of(const struct cw *cw, uint64_t ino)
{
	for (int i = 0; i < cw->nfiles; i++)
		if (cw->files[i].ino == ino)
			return i;
	return -1;
}

/* CRASH_TRACE=1: one line per operation, to turn a failing point into a reproduction. */
__attribute__((format(printf, 2, 3))) static void cw_trace(const struct cw *cw, const char *fmt,
							   ...)
{
	va_list ap;

	if (!getenv("CRASH_TRACE"))
		return;
	printf("  [record %zu] ", ns_wlog_count(cw->log));
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static size_t cw_now(const struct cw *cw)
{
	return ns_wlog_count(cw->log);
}

/*
 * An operation on fid starts that changes its names (CW_T_NAMES) or its size and bytes
 * (CW_T_DATA): that part of its newest snapshot is no longer what a later crash must show.
 */
static void cw_close_snap(struct cw *cw, int fid, unsigned what, size_t at)
{
	struct cw_file *f = &cw->files[fid];
	struct cw_snap *s = f->snap >= 0 ? &cw->snaps[f->snap] : NULL;

	if (s && (what & CW_T_NAMES) && s->until_names == CW_OPEN)
		s->until_names = at;
	if (s && (what & CW_T_DATA) && s->until_data == CW_OPEN)
		s->until_data = at;
}

static void cw_touch(struct cw *cw, int fid, unsigned what)
{
	cw_close_snap(cw, fid, what, cw_now(cw));
}

/* What unlinking one of fid's names changes: the data too when it is the last name. */
static unsigned cw_unlink_touches(const struct cw *cw, int fid)
{
	return cw->files[fid].nnames == 1 ? CW_T_NAMES | CW_T_DATA : CW_T_NAMES;
}

static void cw_next_name(struct cw *cw, struct cw_name *n)
{
	n->dir = (int)cw_below(cw, (uint64_t)cw->ndirs);
	snprintf(n->name, sizeof(n->name), "n%u", cw->name_seq++);
}

/* A live file at random, or -1. */
static int cw_pick_live(struct cw *cw)
{
	int live[CW_MAX_FILES], n = 0;

	for (int i = 0; i < cw->nfiles; i++)
		if (cw->files[i].live)
			live[n++] = i;
	return n ? live[cw_below(cw, (uint64_t)n)] : -1;
}

static void cw_create(struct cw *cw)
{
	struct meta_owner owner = {0, 0};
	struct cw_file *f = &cw->files[cw->nfiles];
	struct meta_attr attr;
	struct cw_name n;

	cw_next_name(cw, &n);
	ck_assert_int_eq(meta_create(gfs_meta(cw->gfs), cw->dirs[n.dir].ino, n.name, S_IFREG | 0644,
				     &owner, &attr),
			 0);
	memset(f, 0, sizeof(*f));
	f->ino = attr.ino;
	f->live = true;
	f->words = calloc(CW_WORDS, 8);
	ck_assert_ptr_nonnull(f->words);
	f->names[f->nnames++] = n;
	f->refs = 1;
	f->snap = -1;
	ck_assert_int_eq(gfs_open(cw->gfs, f->ino, 0, &f->fh), 0);
	cw->nfiles++;
}

static void cw_mkdir(struct cw *cw)
{
	struct meta_owner owner = {0, 0};
	struct cw_dir *d = &cw->dirs[cw->ndirs];
	struct meta_attr attr;

	d->parent = (int)cw_below(cw, (uint64_t)cw->ndirs);
	snprintf(d->name, sizeof(d->name), "d%d", cw->ndirs);
	ck_assert_int_eq(meta_mkdir(gfs_meta(cw->gfs), cw->dirs[d->parent].ino, d->name,
				    S_IFDIR | 0755, &owner, &attr),
			 0);
	d->ino = attr.ino;
	cw->ndirs++;
}

static void cw_write(struct cw *cw, int fid)
{
	struct cw_file *f = &cw->files[fid];
	uint64_t off = cw_below(cw, CW_WORDS - 1);
	uint64_t max = CW_WORDS - off < 2048 ? CW_WORDS - off : 2048;
	uint64_t span = cw_below(cw, 4) && max > 128 ? 128 : max; /* mostly small writes */
	uint64_t len = 1 + cw_below(cw, span);
	uint64_t *buf = malloc(len * 8);

	ck_assert_ptr_nonnull(buf);
	f->gen++;
	for (uint64_t i = 0; i < len; i++)
		buf[i] = f->words[off + i] = cw_word(fid, f->gen, off + i);
	cw_trace(cw, "write inode %" PRIu64 " [%" PRIu64 ", +%" PRIu64 ") size %" PRIu64, f->ino,
		 off * 8, len * 8, f->size);
	ck_assert_int_eq(gfs_write(f->fh, buf, len * 8, off * 8), (ssize_t)(len * 8));
	if ((off + len) * 8 > f->size)
		f->size = (off + len) * 8;
	free(buf);
}

/* fid is durable as it is now since write-log record durable_at. */
static void cw_snapshot(struct cw *cw, int fid, size_t durable_at)
{
	struct cw_file *f = &cw->files[fid];
	struct cw_snap *s;

	if (cw->nsnaps == cw->cap_snaps) {
		cw->cap_snaps = cw->cap_snaps ? 2 * cw->cap_snaps : 64;
		cw->snaps = realloc(cw->snaps, cw->cap_snaps * sizeof(*cw->snaps));
		ck_assert_ptr_nonnull(cw->snaps);
	}
	s = &cw->snaps[cw->nsnaps];
	s->fid = fid;
	s->durable_at = durable_at;
	/* The same state, fsync'd again: the new snapshot takes over. */
	cw_close_snap(cw, fid, CW_T_NAMES | CW_T_DATA, durable_at);
	s->until_names = s->until_data = CW_OPEN;
	s->size = f->size;
	s->words = malloc(f->size + 8);
	ck_assert_ptr_nonnull(s->words);
	memcpy(s->words, f->words, f->size);
	memcpy(s->names, f->names, sizeof(s->names));
	s->nnames = f->nnames;
	f->snap = (int)cw->nsnaps++;
}

/* A direct write of whole blocks through a second open file (O_DIRECT), as qemu does. */
static void cw_dio_write(struct cw *cw, int fid)
{
	const uint64_t bw = 4096 / 8; /* words per block: the fs block of every configuration */
	struct cw_file *f = &cw->files[fid];
	uint64_t off = cw_below(cw, CW_WORDS / bw) * bw;
	uint64_t len =
		(1 + cw_below(cw, (CW_WORDS - off) / bw < 4 ? (CW_WORDS - off) / bw : 4)) * bw;
	struct gfs_file *fh;
	uint64_t *buf = aligned_alloc(4096, len * 8);

	ck_assert_ptr_nonnull(buf);
	f->gen++;
	for (uint64_t i = 0; i < len; i++)
		buf[i] = f->words[off + i] = cw_word(fid, f->gen, off + i);
	cw_trace(cw, "dio_write inode %" PRIu64 " [%" PRIu64 ", +%" PRIu64 ") size %" PRIu64,
		 f->ino, off * 8, len * 8, f->size);
	ck_assert_int_eq(gfs_open(cw->gfs, f->ino, GFS_O_DIRECT, &fh), 0);
	ck_assert_int_eq(gfs_write(fh, buf, len * 8, off * 8), (ssize_t)(len * 8));
	gfs_release(fh);
	if ((off + len) * 8 > f->size)
		f->size = (off + len) * 8;
	free(buf);
}

static void cw_fsync(struct cw *cw, int fid)
{
	cw_trace(cw, "fsync inode %" PRIu64, cw->files[fid].ino);
	ck_assert_int_eq(gfs_fsync(cw->files[fid].fh, false), 0);
	cw_snapshot(cw, fid, cw_now(cw));
}

/* syncfs makes every file durable as it is. */
static void cw_syncfs(struct cw *cw)
{
	size_t now;

	cw_trace(cw, "syncfs");
	ck_assert_int_eq(gfs_syncfs(cw->gfs), 0);
	now = cw_now(cw);
	for (int i = 0; i < cw->nfiles; i++)
		if (cw->files[i].live)
			cw_snapshot(cw, i, now);
}

static void cw_drop_name(struct cw *cw, int fid, int k)
{
	struct cw_file *f = &cw->files[fid];

	f->names[k] = f->names[--f->nnames];
	f->live = f->nnames > 0;
	if (f->live)
		return;
	/* The last name: close and forget it, so its space is freed (and may be reused) now. */
	gfs_release(f->fh);
	f->fh = NULL;
	ck_assert_int_eq(gfs_forget_inode(cw->gfs, f->ino), 0);
	meta_forget(gfs_meta(cw->gfs), f->ino, f->refs);
}

/* Rename one of fid's names to a new name or onto another file's name (replacing it). */
static void cw_rename(struct cw *cw, int fid)
{
	struct cw_file *f = &cw->files[fid];
	int k = (int)cw_below(cw, (uint64_t)f->nnames), victim = -1, vk = 0;
	struct cw_name to;

	if (cw_below(cw, 3) == 0 && (victim = cw_pick_live(cw)) >= 0 && victim != fid) {
		vk = (int)cw_below(cw, (uint64_t)cw->files[victim].nnames);
		to = cw->files[victim].names[vk];
	} else {
		victim = -1;
		cw_next_name(cw, &to);
	}
	if (victim >= 0)
		cw_touch(cw, victim, cw_unlink_touches(cw, victim));
	ck_assert_int_eq(meta_rename(gfs_meta(cw->gfs), cw->dirs[f->names[k].dir].ino,
				     f->names[k].name, cw->dirs[to.dir].ino, to.name, 0),
			 0);
	if (victim >= 0)
		cw_drop_name(cw, victim, vk);
	f->names[k] = to;
}

static void cw_unlink(struct cw *cw, int fid)
{
	struct cw_file *f = &cw->files[fid];
	int k = (int)cw_below(cw, (uint64_t)f->nnames);

	ck_assert_int_eq(
		meta_unlink(gfs_meta(cw->gfs), cw->dirs[f->names[k].dir].ino, f->names[k].name), 0);
	cw_drop_name(cw, fid, k);
}

static void cw_link(struct cw *cw, int fid)
{
	struct cw_file *f = &cw->files[fid];
	struct meta_attr attr;
	struct cw_name n;

	if (f->nnames == CW_MAX_NAMES)
		return;
	cw_next_name(cw, &n);
	ck_assert_int_eq(meta_link(gfs_meta(cw->gfs), f->ino, cw->dirs[n.dir].ino, n.name, &attr),
			 0);
	f->names[f->nnames++] = n;
	f->refs++;
}

static void cw_zero_words(struct cw_file *f, uint64_t from, uint64_t to)
{
	for (uint64_t i = from; i < to && i < CW_WORDS; i++)
		f->words[i] = 0;
}

static void cw_truncate(struct cw *cw, int fid)
{
	struct cw_file *f = &cw->files[fid];
	uint64_t size = cw_below(cw, CW_WORDS + 1) * 8;

	cw_trace(cw, "truncate inode %" PRIu64 " to %" PRIu64 " from %" PRIu64, f->ino, size,
		 f->size);
	ck_assert_int_eq(gfs_truncate(cw->gfs, f->ino, size), 0);
	if (size < f->size)
		cw_zero_words(f, size / 8, f->size / 8);
	f->size = size;
}

static void cw_falloc(struct cw *cw, int fid)
{
	static const int modes[] = {
		0, GFS_FALLOC_KEEP_SIZE, GFS_FALLOC_PUNCH_HOLE | GFS_FALLOC_KEEP_SIZE,
		GFS_FALLOC_ZERO_RANGE, GFS_FALLOC_ZERO_RANGE | GFS_FALLOC_KEEP_SIZE};
	struct cw_file *f = &cw->files[fid];
	int mode = modes[cw_below(cw, 5)];
	uint64_t off = cw_below(cw, CW_WORDS - 1);
	uint64_t len = 1 + cw_below(cw, CW_WORDS - off);
	uint64_t end = off + len, size_w = f->size / 8;

	cw_trace(cw,
		 "fallocate inode %" PRIu64 " mode %#x [%" PRIu64 ", +%" PRIu64 ") size %" PRIu64,
		 f->ino, mode, off * 8, len * 8, f->size);
	ck_assert_int_eq(gfs_fallocate(f->fh, mode, off * 8, len * 8), 0);
	if (mode & (GFS_FALLOC_PUNCH_HOLE | GFS_FALLOC_ZERO_RANGE))
		cw_zero_words(f, off, end < size_w ? end : size_w);
	if (!(mode & GFS_FALLOC_KEEP_SIZE) && end * 8 > f->size)
		f->size = end * 8;
}

static enum cw_op cw_pick_op(struct cw *cw)
{
	/* Weights: metadata-heavy, with fsyncs often enough for many durable points. */
	static const unsigned weight[CW_NR] = {12, 20, 16, 10, 5, 2, 5, 6, 8, 1, 5};
	unsigned total = 0, r;

	for (int i = 0; i < CW_NR; i++)
		total += weight[i];
	r = (unsigned)cw_below(cw, total);
	for (int i = 0; i < CW_NR; i++) {
		if (r < weight[i])
			return (enum cw_op)i;
		r -= weight[i];
	}
	return CW_WRITE;
}

static void cw_step(struct cw *cw)
{
	enum cw_op op = cw_pick_op(cw);
	int fid = cw_pick_live(cw);

	if (op == CW_CREATE || fid < 0) {
		if (cw->nfiles == CW_MAX_FILES)
			return;
		op = CW_CREATE;
	}
	if (op == CW_MKDIR && cw->ndirs == CW_MAX_DIRS)
		op = CW_FSYNC;
	if (op == CW_WRITE || op == CW_DIO_WRITE || op == CW_TRUNCATE || op == CW_FALLOC)
		cw_touch(cw, fid, CW_T_DATA);
	else if (op == CW_RENAME || op == CW_LINK)
		cw_touch(cw, fid, CW_T_NAMES);
	else if (op == CW_UNLINK)
		cw_touch(cw, fid, cw_unlink_touches(cw, fid));
	switch (op) {
	case CW_CREATE:
		cw_create(cw);
		break;
	case CW_WRITE:
		cw_write(cw, fid);
		break;
	case CW_FSYNC:
		cw_fsync(cw, fid);
		break;
	case CW_RENAME:
		cw_rename(cw, fid);
		break;
	case CW_UNLINK:
		cw_unlink(cw, fid);
		break;
	case CW_MKDIR:
		cw_mkdir(cw);
		break;
	case CW_LINK:
		cw_link(cw, fid);
		break;
	case CW_TRUNCATE:
		cw_truncate(cw, fid);
		break;
	case CW_FALLOC:
		cw_falloc(cw, fid);
		break;
	case CW_SYNCFS:
		cw_syncfs(cw);
		break;
	case CW_DIO_WRITE:
		cw_dio_write(cw, fid);
		break;
	case CW_NR:
		break;
	}
	cw_trace(cw, "%s done (file %d)", cw_op_names[op], fid);
	cw->ops[op]++;
}

void cw_run(struct cw *cw, int nops)
{
	cw->dirs[0] = (struct cw_dir){.parent = 0, .ino = META_ROOT_INO};
	cw->ndirs = 1;
	for (int i = 0; i < nops; i++)
		cw_step(cw);
}

void cw_free(struct cw *cw)
{
	for (size_t i = 0; i < cw->nsnaps; i++)
		free(cw->snaps[i].words);
	free(cw->snaps);
	for (int i = 0; i < cw->nfiles; i++)
		free(cw->files[i].words);
}

void cw_print_ops(const struct cw *cw)
{
	for (int i = 0; i < CW_NR; i++)
		printf("%s%s=%u", i ? " " : "", cw_op_names[i], cw->ops[i]);
	printf("\n");
}
