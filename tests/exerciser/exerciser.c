/* SPDX-License-Identifier: MIT */
/*
 * exerciser.c - the model-based random exerciser's driver: parses options, generates random
 * operations (reads, writes, truncates, every fallocate mode, fsync/fdatasync, copy_file_range,
 * remounts, crashes, PI damage), applies them to a backend and to the model, and checks every
 * byte every read returns. The seed is printed first; --seed replays a run exactly (the
 * operation stream depends only on the seed and the options).
 *
 *	exerciser [--backend core|posix] [--seed N] [--ops N] [--files N] [--cache-size BYTES]
 *		  [--folio-size BYTES] [--max-file-size BYTES] [--dir DIR] [--corrupt-every N]
 *		  [--crash] [--threads N] [--verbose] [--dio off|direct|mixed] [--mmap] [--keep]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/exerciser/ex.h"

#define HISTORY 16

struct ex_run {
	struct ex_config cfg;
	struct ex_backend be;
	struct ex_model model;
	uint64_t rng;
	uint64_t op;
	char history[HISTORY][160];
	uint8_t *buf, *back;
	unsigned file_base, file_count; /* the files this run (thread) works on */
	bool threaded;
	uint64_t nr_eio, nr_damage, nr_remount, nr_crash, nr_ops[8];
};

static uint64_t rnd(struct ex_run *r)
{
	/* xorshift64* */
	r->rng ^= r->rng >> 12;
	r->rng ^= r->rng << 25;
	r->rng ^= r->rng >> 27;
	return r->rng * 0x2545F4914F6CDD1Dull;
}

static uint64_t rnd_below(struct ex_run *r, uint64_t n)
{
	return n ? rnd(r) % n : 0;
}

static void note(struct ex_run *r, const char *fmt, ...)
{
	char *slot = r->history[r->op % HISTORY];
	va_list ap;
	int n = snprintf(slot, 160, "#%" PRIu64 " ", r->op);

	va_start(ap, fmt);
	vsnprintf(slot + n, 160 - n, fmt, ap);
	va_end(ap);
	if (r->cfg.verbose)
		printf("%s\n", slot);
}

static void fail(struct ex_run *r, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "exerciser: FAILED at op %" PRIu64 " (seed %" PRIu64 "): ", r->op,
		r->cfg.seed);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nlast operations:\n");
	for (uint64_t i = r->op >= HISTORY ? r->op - HISTORY + 1 : 0; i <= r->op; i++)
		fprintf(stderr, "  %s\n", r->history[i % HISTORY]);
	if (r->be.ops->discard)
		r->be.ops->discard(&r->be);
	exit(1);
}

/*
 * --dio: "direct" aligns every offset and length (so every read and write is direct), "mixed"
 * half of the offsets, and the lengths at aligned offsets (the core backend then sends half of
 * the aligned requests direct, the rest buffered).
 */
static bool dio_on(const struct ex_run *r)
{
	return r->cfg.dio && strcmp(r->cfg.dio, "off");
}

static bool dio_align_off(struct ex_run *r)
{
	return dio_on(r) && (!strcmp(r->cfg.dio, "direct") || rnd_below(r, 2));
}

/* Offsets that matter: block and folio boundaries, EOF, anywhere. */
static uint64_t gen_off(struct ex_run *r, unsigned f)
{
	uint64_t max = r->model.max_size, size = r->model.files[f].size, off;
	unsigned fsz = r->cfg.folio_size;

	switch (rnd_below(r, 5)) {
	case 0:
		off = size + rnd_below(r, 9000) - (size > 4500 ? 4500 : size);
		break;
	case 1:
		off = rnd_below(r, max / fsz) * fsz + rnd_below(r, 3) - 1;
		break;
	case 2:
		off = rnd_below(r, max / r->cfg.block_size) * r->cfg.block_size;
		break;
	default:
		off = rnd_below(r, size + 1 > max ? max : size + 1);
		if (rnd_below(r, 4) == 0)
			off = rnd_below(r, max);
	}
	off = off >= max ? max - 1 : off;
	return dio_align_off(r) ? off / r->cfg.block_size * r->cfg.block_size : off;
}

static uint64_t gen_len(struct ex_run *r, uint64_t off)
{
	uint64_t len, room = r->model.max_size - off;

	switch (rnd_below(r, 20)) {
	case 0:
		len = 1 + rnd_below(r, 512 * 1024);
		break;
	case 1 ... 6:
		len = 1 + rnd_below(r, 128 * 1024);
		break;
	case 7 ... 12:
		len = 1 + rnd_below(r, 16 * 1024);
		break;
	default:
		len = 1 + rnd_below(r, 512);
	}
	if (dio_on(r) && off % r->cfg.block_size == 0)
		len = (len + r->cfg.block_size - 1) / r->cfg.block_size * r->cfg.block_size;
	return len > room ? room : len;
}

static bool damage_mode(const struct ex_run *r)
{
	return r->cfg.corrupt_every != 0;
}

static void check_bytes(struct ex_run *r, unsigned f, const uint8_t *got, uint64_t off,
			uint64_t len, const char *what)
{
	const uint8_t *want = r->model.files[f].data + off;

	if (!memcmp(got, want, len))
		return;
	for (uint64_t i = 0; i < len; i++)
		if (got[i] != want[i])
			fail(r, "%s: file %u byte %" PRIu64 " is 0x%02x, model says 0x%02x", what,
			     f, off + i, got[i], want[i]);
}

static void op_read(struct ex_run *r, unsigned f, uint64_t off, uint64_t len)
{
	struct ex_file *mf = &r->model.files[f];
	uint64_t want = off >= mf->size ? 0 : (len < mf->size - off ? len : mf->size - off);
	ssize_t ret;

	note(r, "read f%u [%" PRIu64 ", +%" PRIu64 ") size %" PRIu64, f, off, len, mf->size);
	ret = r->be.ops->pread(&r->be, f, r->back, len, off);
	if (ret == -EIO && ex_model_range_damaged(&r->model, f, off, want)) {
		r->nr_eio++;
		return;
	}
	if (ret != (ssize_t)want)
		fail(r, "read f%u returned %zd, expected %" PRIu64, f, ret, want);
	check_bytes(r, f, r->back, off, want, "read");
}

/* A sequential stream of reads: what makes readahead start, grow and run into eviction. */
static void op_scan(struct ex_run *r, unsigned f)
{
	uint64_t chunk = 4096u << rnd_below(r, 5), off = rnd_below(r, 4) * chunk;

	for (int i = 0; i < 16 && off < r->model.max_size; i++, off += chunk)
		op_read(r, f, off,
			chunk < r->model.max_size - off ? chunk : r->model.max_size - off);
}

static void op_write(struct ex_run *r, unsigned f, uint64_t off, uint64_t len)
{
	uint64_t tag = rnd(r);
	ssize_t ret;

	for (uint64_t i = 0; i < len; i++)
		r->buf[i] = (uint8_t)((tag >> ((i & 7) * 8)) + i / 8) | 1;
	note(r, "write f%u [%" PRIu64 ", +%" PRIu64 ")", f, off, len);
	ret = r->be.ops->pwrite(&r->be, f, r->buf, len, off);
	if (damage_mode(r) && (ret == -EIO || (ret >= 0 && (uint64_t)ret < len))) {
		r->nr_eio++;
		if (ret > 0)
			ex_model_write(&r->model, f, r->buf, ret, off);
		return;
	}
	if (ret != (ssize_t)len)
		fail(r, "write f%u returned %zd, expected %" PRIu64, f, ret, len);
	ex_model_write(&r->model, f, r->buf, len, off);
}

/* After a failure that may have changed part of the file: start it over, empty. */
static void reset_file(struct ex_run *r, unsigned f)
{
	int ret = r->be.ops->truncate(&r->be, f, 0);

	if (ret)
		fail(r, "truncate f%u to 0 after an error returned %d", f, ret);
	ex_model_truncate(&r->model, f, 0);
	memset(r->model.files[f].damaged, 0, r->model.max_size / r->model.block_size + 1);
}

static void op_truncate(struct ex_run *r, unsigned f)
{
	uint64_t size = gen_off(r, f);
	int ret;

	if (rnd_below(r, 8) == 0)
		size = 0;
	note(r, "truncate f%u to %" PRIu64 " from %" PRIu64, f, size, r->model.files[f].size);
	ret = r->be.ops->truncate(&r->be, f, size);
	if (ret == -EIO && damage_mode(r)) {
		r->nr_eio++;
		return;
	}
	if (ret)
		fail(r, "truncate f%u returned %d", f, ret);
	ex_model_truncate(&r->model, f, size);
}

/* The expected result of a fallocate: 0 or the errno the kernel gives. */
static int falloc_expect(const struct ex_run *r, unsigned f, int mode, uint64_t off, uint64_t len)
{
	uint64_t size = r->model.files[f].size, bs = r->cfg.block_size;

	if (mode & (EX_FALLOC_COLLAPSE_RANGE | EX_FALLOC_INSERT_RANGE)) {
		if ((off | len) & (bs - 1))
			return -EINVAL;
		if (mode & EX_FALLOC_COLLAPSE_RANGE)
			return off + len >= size ? -EINVAL : 0;
		return off >= size ? -EINVAL : 0;
	}
	return 0;
}

static void op_fallocate(struct ex_run *r, unsigned f)
{
	static const int modes[] = {
		0,
		EX_FALLOC_KEEP_SIZE,
		EX_FALLOC_PUNCH_HOLE | EX_FALLOC_KEEP_SIZE,
		EX_FALLOC_ZERO_RANGE,
		EX_FALLOC_ZERO_RANGE | EX_FALLOC_KEEP_SIZE,
		EX_FALLOC_COLLAPSE_RANGE,
		EX_FALLOC_INSERT_RANGE,
	};
	int mode = modes[rnd_below(r, 7)], expect, ret;
	uint64_t off = gen_off(r, f), len = gen_len(r, off), bs = r->cfg.block_size;

	if ((mode & (EX_FALLOC_COLLAPSE_RANGE | EX_FALLOC_INSERT_RANGE)) && rnd_below(r, 8)) {
		off = off / bs * bs;
		len = (len + bs - 1) / bs * bs;
	}
	if (mode == EX_FALLOC_INSERT_RANGE && r->model.files[f].size + len > r->model.max_size)
		len = (r->model.max_size - r->model.files[f].size) / bs * bs;
	if (!len || off + len > r->model.max_size)
		return;
	expect = falloc_expect(r, f, mode, off, len);
	note(r, "fallocate f%u mode 0x%x [%" PRIu64 ", +%" PRIu64 ") size %" PRIu64 " expect %d", f,
	     mode, off, len, r->model.files[f].size, expect);
	ret = r->be.ops->fallocate(&r->be, f, mode, off, len);
	if (ret == EX_SKIPPED)
		return; /* the backend counts and reports these */
	if (ret == -EIO && damage_mode(r)) {
		r->nr_eio++;
		reset_file(r, f);
		return;
	}
	if (ret != expect)
		fail(r, "fallocate f%u mode 0x%x returned %d, expected %d", f, mode, ret, expect);
	if (!ret)
		ex_model_fallocate(&r->model, f, mode, off, len);
}

static void op_fsync(struct ex_run *r, unsigned f)
{
	bool datasync = rnd_below(r, 2);
	int ret;

	note(r, "%s f%u", datasync ? "fdatasync" : "fsync", f);
	ret = r->be.ops->fsync(&r->be, f, datasync);
	if (ret)
		fail(r, "fsync f%u returned %d", f, ret);
	ex_model_synced(&r->model, f);
}

static void op_copy(struct ex_run *r, unsigned in)
{
	unsigned out = r->file_base + rnd_below(r, r->file_count);
	uint64_t off_in = gen_off(r, in), off_out = gen_off(r, out), len = gen_len(r, off_out);
	uint64_t size = r->model.files[in].size, want;
	ssize_t ret;

	want = off_in >= size ? 0 : (len < size - off_in ? len : size - off_in);
	if (in == out && off_in < off_out + len && off_out < off_in + len)
		return; /* overlapping copies within a file are refused: not exercised */
	if (ex_model_range_damaged(&r->model, in, off_in, want) ||
	    ex_model_range_damaged(&r->model, out, off_out, want))
		return;
	note(r, "copy f%u [%" PRIu64 ", +%" PRIu64 ") -> f%u at %" PRIu64, in, off_in, len, out,
	     off_out);
	ret = r->be.ops->copy_range(&r->be, in, off_in, out, off_out, len);
	if (ret != (ssize_t)want)
		fail(r, "copy_file_range returned %zd, expected %" PRIu64, ret, want);
	if (want) {
		memcpy(r->buf, r->model.files[in].data + off_in, want);
		ex_model_write(&r->model, out, r->buf, want, off_out);
	}
}

/* Every file, whole, against the model (after remounts). */
static void verify_all(struct ex_run *r, const char *what)
{
	for (unsigned f = 0; f < r->cfg.files; f++) {
		uint64_t size;

		if (r->be.ops->get_size(&r->be, f, &size) || size != r->model.files[f].size)
			fail(r, "%s: f%u size %" PRIu64 ", model says %" PRIu64, what, f, size,
			     r->model.files[f].size);
		if (ex_model_range_damaged(&r->model, f, 0, size))
			continue;
		if (r->be.ops->pread(&r->be, f, r->back, size, 0) != (ssize_t)size)
			fail(r, "%s: f%u full read failed", what, f);
		check_bytes(r, f, r->back, 0, size, what);
	}
}

static void op_remount(struct ex_run *r, bool crash)
{
	int ret;

	note(r, crash ? "crash + mount" : "unmount + mount");
	ret = r->be.ops->remount(&r->be, crash);
	if (ret)
		fail(r, "remount returned %d", ret);
	if (!crash) {
		r->nr_remount++;
		verify_all(r, "after remount");
		return;
	}
	r->nr_crash++;
	for (unsigned f = 0; f < r->cfg.files; f++) {
		struct ex_file *mf = &r->model.files[f];
		uint64_t size;

		if (r->be.ops->get_size(&r->be, f, &size))
			fail(r, "f%u: no size after crash", f);
		if (mf->synced) {
			if (size != mf->synced_size)
				fail(r, "f%u: size %" PRIu64 " after crash, fsync'd %" PRIu64, f,
				     size, mf->synced_size);
			continue; /* verify_all below checks its bytes */
		}
		/* Not fsync'd since its last change: whatever survived becomes the truth. */
		if (size > r->model.max_size ||
		    r->be.ops->pread(&r->be, f, r->back, size, 0) != (ssize_t)size)
			fail(r, "f%u: unreadable after crash (size %" PRIu64 ")", f, size);
		ex_model_relearn(&r->model, f, r->back, size);
	}
	verify_all(r, "after crash");
}

static void op_damage(struct ex_run *r)
{
	unsigned f = rnd_below(r, r->cfg.files);
	uint64_t off;
	int ret;

	note(r, "damage a block of f%u", f);
	ret = r->be.ops->damage_block(&r->be, f, &off, &r->rng);
	if (ret == -ENOENT)
		return;
	if (ret)
		fail(r, "damaging f%u failed: %d", f, ret);
	ex_model_damage(&r->model, f, off);
	r->nr_damage++;
	note(r, "damaged f%u block at %" PRIu64, f, off);
}

static void run_one(struct ex_run *r)
{
	unsigned f = r->file_base + rnd_below(r, r->file_count);
	uint64_t dice = rnd_below(r, 10000), off;

	if (damage_mode(r) && r->op % r->cfg.corrupt_every == r->cfg.corrupt_every - 1) {
		op_damage(r);
		return;
	}
	if (dice < 8) {
		if (!r->threaded) /* a remount needs every thread to stop */
			op_remount(r, r->cfg.crash && dice < 4);
		return;
	}
	dice %= 100;
	r->nr_ops[dice < 30   ? 0
		  : dice < 62 ? 1
		  : dice < 68 ? 2
		  : dice < 82 ? 3
		  : dice < 87 ? 4
		  : dice < 90 ? 5
			      : 6]++;
	if (dice < 30) {
		off = gen_off(r, f);
		op_read(r, f, off, gen_len(r, off));
	} else if (dice < 62) {
		off = gen_off(r, f);
		op_write(r, f, off, gen_len(r, off));
	} else if (dice < 68) {
		op_truncate(r, f);
	} else if (dice < 82) {
		op_fallocate(r, f);
	} else if (dice < 87) {
		op_fsync(r, f);
	} else if (dice < 90) {
		op_copy(r, f);
	} else if (dice < 95) {
		off = gen_off(r, f);
		op_read(r, f, off, 1 + rnd_below(r, 64));
	} else {
		op_scan(r, f);
	}
}

static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	switch (*end) {
	case 'k':
	case 'K':
		return v << 10;
	case 'm':
	case 'M':
		return v << 20;
	case 'g':
	case 'G':
		return v << 30;
	}
	return v;
}

static void usage(void)
{
	fprintf(stderr, "usage: exerciser [--backend core|posix] [--seed N] [--ops N] [--files N]\n"
			"\t[--cache-size BYTES] [--folio-size BYTES] [--max-file-size BYTES]\n"
			"\t[--dir DIR] [--corrupt-every N] [--crash] [--threads N] [--verbose]\n"
			"\t[--dio off|direct|mixed] [--mmap] [--keep]\n");
	exit(2);
}

static void parse_args(struct ex_config *c, int argc, char **argv)
{
	/* One option per line. */
	/* clang-format off */
	static const struct option opts[] = {
		{"backend", 1, 0, 'b'},
		{"seed", 1, 0, 's'},
		{"ops", 1, 0, 'o'},
		{"files", 1, 0, 'f'},
		{"cache-size", 1, 0, 'c'},
		{"folio-size", 1, 0, 'F'},
		{"max-file-size", 1, 0, 'm'},
		{"dir", 1, 0, 'd'},
		{"corrupt-every", 1, 0, 'x'},
		{"crash", 0, 0, 'C'},
		{"verbose", 0, 0, 'v'},
		{"threads", 1, 0, 't'},
		{"dio", 1, 0, 'D'},
		{"mmap", 0, 0, 'M'},
		{"keep", 0, 0, 'k'},
		{0, 0, 0, 0},
	};
	/* clang-format on */
	int opt;

	*c = (struct ex_config){
		.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20),
		.ops = 10000,
		.cache_size = 1u << 20,
		.folio_size = 16384,
		.files = 4,
		.max_file_size = 2u << 20,
		.image_size = 64u << 20,
		.block_size = 4096,
		.backend = "core",
		.dir = "/var/tmp",
	};
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			c->backend = optarg;
			break;
		case 's':
			c->seed = strtoull(optarg, NULL, 0);
			break;
		case 'o':
			c->ops = strtoull(optarg, NULL, 0);
			break;
		case 'f':
			c->files = strtoul(optarg, NULL, 0);
			break;
		case 'c':
			c->cache_size = parse_size(optarg);
			break;
		case 'F':
			c->folio_size = parse_size(optarg);
			break;
		case 'm':
			c->max_file_size = parse_size(optarg);
			break;
		case 'd':
			c->dir = optarg;
			break;
		case 'x':
			c->corrupt_every = strtoul(optarg, NULL, 0);
			break;
		case 'C':
			c->crash = true;
			break;
		case 'v':
			c->verbose = true;
			break;
		case 'D':
			c->dio = optarg;
			break;
		case 'M':
			c->mmap = true;
			break;
		case 'k':
			c->keep = true;
			break;
		case 't':
			c->threads = strtoul(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
	if (!c->files || c->max_file_size < 65536 || c->max_file_size % c->block_size ||
	    c->threads > c->files || (c->threads > 1 && (c->crash || c->corrupt_every)))
		usage();
	c->image_size = 16ull * c->files * c->max_file_size + (32u << 20);
}

static void run_ops(struct ex_run *r, uint64_t ops)
{
	for (r->op = 0; r->op < ops; r->op++)
		run_one(r);
}

static void *thread_main(void *arg)
{
	struct ex_run *t = arg;

	run_ops(t, t->cfg.ops / t->cfg.threads);
	return NULL;
}

/*
 * Threads on disjoint sets of files, each with its own generator and buffers over the shared
 * model (a file's model is touched by its thread only): concurrent writers, readers, fsyncs
 * and truncates on different files, sharing the cache, its budget and the flusher.
 */
static void run_threads(struct ex_run *r)
{
	unsigned n = r->cfg.threads, per = r->cfg.files / n;
	struct ex_run *t = calloc(n, sizeof(*t));
	pthread_t *th = calloc(n, sizeof(*th));

	if (!t || !th)
		exit(1);
	for (unsigned i = 0; i < n; i++) {
		t[i] = *r;
		t[i].rng = r->rng + 0x9E3779B97F4A7C15ull * (i + 1);
		t[i].file_base = i * per;
		t[i].file_count = i == n - 1 ? r->cfg.files - i * per : per;
		t[i].threaded = true;
		t[i].buf = malloc(r->cfg.max_file_size);
		t[i].back = malloc(r->cfg.max_file_size);
		if (!t[i].buf || !t[i].back || pthread_create(&th[i], NULL, thread_main, &t[i]))
			exit(1);
	}
	for (unsigned i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		for (int k = 0; k < 8; k++)
			r->nr_ops[k] += t[i].nr_ops[k];
		r->nr_eio += t[i].nr_eio;
		free(t[i].buf);
		free(t[i].back);
	}
	free(t);
	free(th);
	op_remount(r, false); /* and everything checked after it */
}

int main(int argc, char **argv)
{
	struct ex_run *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return 1;
	parse_args(&r->cfg, argc, argv);
	printf("exerciser: backend %s seed %" PRIu64 " ops %" PRIu64 " files %u cache %" PRIu64
	       " folio %u%s%s (--seed %" PRIu64 " replays)\n",
	       r->cfg.backend, r->cfg.seed, r->cfg.ops, r->cfg.files, r->cfg.cache_size,
	       r->cfg.folio_size, r->cfg.crash ? " crash" : "",
	       r->cfg.corrupt_every ? " corrupt" : "", r->cfg.seed);
	fflush(stdout);
	r->rng = r->cfg.seed * 2 + 1;
	r->be.cfg = &r->cfg;
	r->be.ops = !strcmp(r->cfg.backend, "posix") ? &ex_posix_ops : &ex_core_ops;
	if (strcmp(r->cfg.backend, "core") && strcmp(r->cfg.backend, "posix"))
		usage();
	if ((r->cfg.corrupt_every && !r->be.ops->damage_block) ||
	    (r->cfg.crash && r->be.ops == &ex_posix_ops)) {
		fprintf(stderr, "exerciser: the %s backend cannot crash or damage blocks\n",
			r->be.ops->name);
		return 2;
	}
	r->buf = malloc(r->cfg.max_file_size);
	r->back = malloc(r->cfg.max_file_size);
	if (!r->buf || !r->back ||
	    ex_model_init(&r->model, r->cfg.files, r->cfg.max_file_size, r->cfg.block_size))
		return 1;
	ret = r->be.ops->init(&r->be);
	if (ret) {
		fprintf(stderr, "exerciser: backend init failed: %s\n", strerror(-ret));
		return 1;
	}
	r->file_count = r->cfg.files;
	if (r->cfg.threads > 1)
		run_threads(r);
	else
		run_ops(r, r->cfg.ops);
	verify_all(r, "at the end");
	if (r->cfg.corrupt_every && (!r->nr_damage || !r->nr_eio))
		fail(r, "corruption run saw %" PRIu64 " damaged blocks and %" PRIu64 " EIO",
		     r->nr_damage, r->nr_eio);
	printf("exerciser: %" PRIu64 " ops ok (reads %" PRIu64 " copies %" PRIu64 " writes %" PRIu64
	       " truncates %" PRIu64 " fallocates %" PRIu64 " fsyncs %" PRIu64 " remounts %" PRIu64
	       " crashes %" PRIu64 " damaged %" PRIu64 " EIO %" PRIu64 ")\n",
	       r->cfg.ops, r->nr_ops[0] + r->nr_ops[6], r->nr_ops[5], r->nr_ops[1], r->nr_ops[2],
	       r->nr_ops[3], r->nr_ops[4], r->nr_remount, r->nr_crash, r->nr_damage, r->nr_eio);
	if (r->be.ops->report)
		r->be.ops->report(&r->be);
	r->be.ops->fini(&r->be);
	ex_model_fini(&r->model);
	free(r->buf);
	free(r->back);
	free(r);
	return 0;
}
