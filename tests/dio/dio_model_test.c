/* SPDX-License-Identifier: MIT */
/*
 * dio_model_test.c - buffered and direct reads and writes interleaved on one file against a
 * byte model: the mixed mode of an exerciser (tests/exerciser has no pluggable backend yet, so
 * it lives here). 512-byte LBAs under 4 KiB blocks, so direct requests start and end inside
 * cached folios and inside fs blocks; truncates, hole punches, preallocation and fsyncs in
 * between; a remount now and then checks what reached the namespace. Every read is compared
 * with the model, byte for byte. GFS_DIO_MODEL_OPS overrides the operation count (100000).
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/meta.h"
#include "tests/dio/dio_util.h"

#define MiB	 (1024ull * 1024)
#define FILE_MAX (1 * MiB)
#define IO_MAX	 (24u * 1024)
#define LBA	 512u

static uint64_t seed;

static uint64_t rnd(void)
{
	return test_xorshift64(&seed);
}

struct model {
	uint8_t *bytes; /* FILE_MAX + IO_MAX */
	uint64_t size;
	struct gfs *gfs;
	struct gfs_file *fb, *fd;
	uint64_t ino;
	uint64_t op; /* index, for messages */
	uint64_t counts[8];
};

static void model_check(struct model *m, const uint8_t *buf, ssize_t got, uint64_t off,
			uint64_t len, const char *what)
{
	uint64_t want = off >= m->size ? 0 : gfs_min(len, m->size - off);

	ck_assert_msg(got == (ssize_t)want,
		      "op %" PRIu64 ": %s of %" PRIu64 "@%" PRIu64 ": got %zd, expected %" PRIu64,
		      m->op, what, len, off, got, want);
	if (!memcmp(buf, m->bytes + off, want))
		return; /* Check's asserts cost a pipe write each: compare first */
	for (uint64_t i = 0; i < want; i++)
		ck_assert_msg(buf[i] == m->bytes[off + i],
			      "op %" PRIu64 ": %s of %" PRIu64 "@%" PRIu64 ": byte %" PRIu64
			      " is 0x%02x, expected 0x%02x",
			      m->op, what, len, off, off + i, buf[i], m->bytes[off + i]);
}

static void model_write(struct model *m, bool direct, uint8_t *buf)
{
	uint64_t off, len;

	if (direct) {
		off = (rnd() % (FILE_MAX / LBA)) * LBA;
		len = (1 + rnd() % (IO_MAX / LBA)) * LBA;
	} else {
		off = rnd() % FILE_MAX;
		len = 1 + rnd() % IO_MAX;
	}
	test_pattern(buf, len, off, (uint32_t)(m->op + 1));
	ck_assert_msg(gfs_write(direct ? m->fd : m->fb, buf, len, off) == (ssize_t)len,
		      "op %" PRIu64 ": %s write of %" PRIu64 "@%" PRIu64, m->op,
		      direct ? "direct" : "buffered", len, off);
	if (off > m->size)
		memset(m->bytes + m->size, 0, off - m->size);
	memcpy(m->bytes + off, buf, len);
	if (off + len > m->size)
		m->size = off + len;
}

static void model_read(struct model *m, bool direct, uint8_t *buf)
{
	uint64_t off, len;
	ssize_t got;

	if (direct) {
		off = (rnd() % ((FILE_MAX + IO_MAX) / LBA)) * LBA;
		len = (1 + rnd() % (IO_MAX / LBA)) * LBA;
	} else {
		off = rnd() % (FILE_MAX + IO_MAX);
		len = 1 + rnd() % IO_MAX;
	}
	got = gfs_read(direct ? m->fd : m->fb, buf, len, off);
	model_check(m, buf, got, off, len, direct ? "direct read" : "buffered read");
}

static void model_resize(struct model *m)
{
	uint64_t size = rnd() % FILE_MAX;

	ck_assert_int_eq(gfs_truncate(m->gfs, m->ino, size), 0);
	if (size > m->size)
		memset(m->bytes + m->size, 0, size - m->size);
	m->size = size;
}

static void model_fallocate(struct model *m)
{
	uint64_t off = rnd() % FILE_MAX, len = 1 + rnd() % (4 * IO_MAX);

	if (off + len > FILE_MAX)
		len = FILE_MAX - off;
	if (rnd() & 1) {
		ck_assert_int_eq(gfs_fallocate(m->fb, GFS_FALLOC_PUNCH_HOLE | GFS_FALLOC_KEEP_SIZE,
					       off, len),
				 0);
		if (off < m->size)
			memset(m->bytes + off, 0, gfs_min(len, m->size - off));
	} else {
		ck_assert_int_eq(gfs_fallocate(m->fb, 0, off, len), 0);
		if (off + len > m->size) {
			memset(m->bytes + m->size, 0, off + len - m->size);
			m->size = off + len;
		}
	}
}

static void model_open(struct model *m, const struct io_image *img)
{
	m->gfs = io_mount(img, NULL);
	m->fb = dio_open(m->gfs, m->ino, 0);
	m->fd = dio_open(m->gfs, m->ino, GFS_O_DIRECT);
}

static void model_close(struct model *m)
{
	dio_assert_quiet(m->gfs);
	gfs_release(m->fb);
	gfs_release(m->fd);
	ck_assert_int_eq(gfs_unmount(m->gfs), 0);
}

START_TEST(mixed_buffered_and_direct_io_match_a_byte_model)
{
	const char *env = getenv("GFS_DIO_MODEL_OPS");
	uint64_t ops = env ? strtoull(env, NULL, 0) : 100000;
	struct pi_format fmt = dio_formats[0].fmt; /* 512+8, 4 KiB blocks */
	struct model m = {.bytes = calloc(1, FILE_MAX + 2 * IO_MAX)};
	uint8_t *buf = malloc(2 * IO_MAX);
	struct io_image img;

	m.gfs = io_mkfs_mount(&img, &fmt, 32 * MiB, 4096);
	m.ino = io_create(m.gfs, "f");
	ck_assert_int_eq(gfs_unmount(m.gfs), 0);
	model_open(&m, &img);
	for (m.op = 0; m.op < ops; m.op++) {
		unsigned r = rnd() % 100;

		unsigned kind = r < 24	 ? 0
				: r < 48 ? 1
				: r < 68 ? 2
				: r < 90 ? 3
				: r < 93 ? 4
				: r < 96 ? 5
					 : 6;

		m.counts[kind]++;
		if (kind <= 1)
			model_write(&m, kind == 1, buf);
		else if (kind <= 3)
			model_read(&m, kind == 3, buf);
		else if (kind == 4)
			model_resize(&m);
		else if (kind == 5)
			model_fallocate(&m);
		else
			ck_assert_int_eq(gfs_fsync(rnd() & 1 ? m.fd : m.fb, rnd() & 1), 0);
		if (m.op % 20000 == 19999) {
			model_close(&m);
			model_open(&m, &img);
			m.counts[7]++;
		}
	}
	/* Finally the whole file, both ways, after a last remount. */
	model_close(&m);
	model_open(&m, &img);
	for (uint64_t off = 0; off < m.size + IO_MAX; off += IO_MAX) {
		model_check(&m, buf, gfs_read(m.fd, buf, IO_MAX, off), off, IO_MAX, "direct read");
		model_check(&m, buf, gfs_read(m.fb, buf, IO_MAX, off), off, IO_MAX,
			    "buffered read");
	}
	printf("ops %" PRIu64 ": buffered writes %" PRIu64 ", direct writes %" PRIu64
	       ", buffered reads %" PRIu64 ", direct reads %" PRIu64 ", truncates %" PRIu64
	       ", fallocates %" PRIu64 ", fsyncs %" PRIu64 ", remounts %" PRIu64 "\n",
	       ops, m.counts[0], m.counts[1], m.counts[2], m.counts[3], m.counts[4], m.counts[5],
	       m.counts[6], m.counts[7]);
	model_close(&m);
	io_remove(&img);
	free(m.bytes);
	free(buf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dio_model");
	TCase *tc = tcase_create("core");

	seed = test_seed("dio_model") | 1;
	tcase_set_timeout(tc, 280);
	tcase_add_test(tc, mixed_buffered_and_direct_io_match_a_byte_model);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
