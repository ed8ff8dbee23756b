// SPDX-License-Identifier: MIT
/*
 * fsck_scrub_test.c - what fsck --scrub reports (fsck_scrub) when the namespace fails a read:
 * a block whose PI check fails on one read only is a "transient:" line naming the file, offset
 * and LBA, and no damage (the exit status stays clean); a block that fails on every read is
 * damage of that file's bytes. The faults are injected into the namespace fsck reads, which no
 * command line can do.
 */
#include <check.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ns_fault.h"
#include "tests/io/io_util.h"
#include "tools/fsck.h"

#define MiB	  (1024ull * 1024)
#define FILE_SIZE (16 * MiB)

static uint64_t file_ino;

/* An image with /vm.img of FILE_SIZE bytes, mounted read-only and inventoried as fsck does. */
static void fsck_open(struct io_image *img, struct fsck *c)
{
	struct pi_format fmt = test_format_default();
	struct meta_mount_opts mo = {.read_only = true};
	uint8_t *buf = malloc(FILE_SIZE);
	struct gfs_file *f;
	struct gfs *gfs;

	io_mkfs(img, &fmt, 64 * MiB, 0);
	gfs = io_mount(img, NULL);
	file_ino = io_create(gfs, "vm.img");
	f = io_open(gfs, file_ino);
	test_pattern(buf, FILE_SIZE, 0, 5);
	io_write_all(f, buf, FILE_SIZE, 0);
	ck_assert_int_eq(gfs_fsync(f, false), 0);
	gfs_release(f);
	ck_assert_int_eq(gfs_unmount(gfs), 0);
	free(buf);
	memset(c, 0, sizeof(*c));
	c->source = img->path;
	ck_assert_int_eq(meta_mount(img->path, &mo, &c->fs), 0);
	ck_assert_int_eq(fsck_inventory(c), 0);
}

/* The LBA of byte off of /vm.img (one MAPPED extent must hold it). */
static uint64_t file_lba(const struct fsck *c, uint64_t off)
{
	uint64_t per = c->sb.block_size / c->sb.pi.lba_size, fb = off / c->sb.block_size;

	for (size_t i = 0; i < c->nr_exts; i++) {
		const struct fsck_extent *e = &c->exts[i];

		if (e->ino == file_ino && e->type == META_MAP_MAPPED && fb >= e->fblk &&
		    fb < e->fblk + e->len)
			return (e->dblk + fb - e->fblk) * per +
			       off % c->sb.block_size / c->sb.pi.lba_size;
	}
	ck_abort_msg("no extent holds offset %" PRIu64, off);
	return 0;
}

/* The byte of /vm.img at LBA lba (one MAPPED extent must hold it). */
static uint64_t file_off(const struct fsck *c, uint64_t lba)
{
	uint64_t per = c->sb.block_size / c->sb.pi.lba_size;

	for (size_t i = 0; i < c->nr_exts; i++) {
		const struct fsck_extent *e = &c->exts[i];

		if (e->ino == file_ino && e->type == META_MAP_MAPPED && lba >= e->dblk * per &&
		    lba < (e->dblk + e->len) * per)
			return (e->fblk * per + lba - e->dblk * per) * c->sb.pi.lba_size;
	}
	ck_abort_msg("no extent of the file holds LBA %" PRIu64, lba);
	return 0;
}

/* fsck_scrub with its stdout in out (len bytes); returns whether it found damage. */
static bool scrub_capture(struct fsck *c, char *out, size_t len)
{
	char path[] = "/tmp/fsck_scrub_test.XXXXXX";
	int fd = mkstemp(path), saved;
	bool damaged = false;
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	ck_assert_int_ge(dup2(fd, STDOUT_FILENO), 0);
	ck_assert_int_eq(fsck_scrub(c, &damaged), 0);
	fflush(stdout);
	ck_assert_int_ge(dup2(saved, STDOUT_FILENO), 0);
	close(saved);
	n = pread(fd, out, len - 1, 0);
	ck_assert_int_ge(n, 0);
	out[n] = '\0';
	close(fd);
	unlink(path);
	printf("%s", out);
	return damaged;
}

/* fsck_scrub with a data bit flip on one or every read of [lba, lba]: damage found?, *ev. */
static bool scrub_with_flip(struct fsck *c, uint64_t lba, int64_t block, bool every, char *out,
			    size_t len, struct ns_fault_event *ev)
{
	struct ns *ns = meta_get_ns(c->fs);
	struct ns_fault f = {.kind = NS_FAULT_BIT_FLIP,
			     .ops = NS_FAULT_OP(NS_OP_READ),
			     .lba_first = lba,
			     .lba_last = lba,
			     .nth = 1,
			     .every = every,
			     .field = PI_FIELD_DATA,
			     .block = block};
	bool damaged;

	ck_assert_int_ge(ns_fault_add(ns, &f), 0);
	damaged = scrub_capture(c, out, len);
	ck_assert_int_eq(ns_fault_last_event(ns, ev), 0);
	ns_fault_clear(ns);
	return damaged;
}

static void assert_has(const char *out, const char *want)
{
	ck_assert_msg(strstr(out, want), "the scrub's report lacks \"%s\":\n%s", want, out);
}

START_TEST(a_block_that_passes_when_read_again_is_not_damage)
{
	const uint32_t bs = 4096;
	struct ns_fault_event ev;
	struct io_image img;
	struct fsck c;
	uint64_t lba, off, slba;
	char out[4096], want[256];

	fsck_open(&img, &c);
	ns_fault_set_seed(meta_get_ns(c.fs), test_seed("fsck_scrub"));
	lba = file_lba(&c, FILE_SIZE / 2 + 5 * bs);

	/*
	 * Once, at a seeded block of the scrub's read that covers lba: that block fails, and its
	 * reads alone (which the fault no longer matches, or does not fire on again) pass.
	 */
	ck_assert(!scrub_with_flip(&c, lba, -1, false, out, sizeof(out), &ev));
	off = file_off(&c, ev.lba);
	snprintf(want, sizeof(want),
		 "transient: /vm.img (inode %" PRIu64 ") offset %" PRIu64 ": LBA %" PRIu64
		 ": PI guard check failed (expected 0x",
		 file_ino, off, ev.lba);
	assert_has(out, want);
	assert_has(out, "on 1 read(s), then passed\n");
	assert_has(out, "no damage found\n");
	assert_has(out, "scrub: 1 block(s) failed a read and passed the next");
	ck_assert_ptr_null(strstr(out, "damage:"));
	slba = ev.slba;

	/*
	 * On every read, at lba itself: block lba - slba of the scrub's read (its start, from the
	 * event above), and block 0 (a block index past the end picks one at random: the only one)
	 * of its reads of lba alone. Damage, after PI_READ_TRIES reads.
	 */
	ck_assert(scrub_with_flip(&c, lba, (int64_t)(lba - slba), true, out, sizeof(out), &ev));
	ck_assert_uint_eq(ev.lba, lba);
	off = file_off(&c, lba);
	snprintf(want, sizeof(want),
		 "damage: /vm.img (inode %" PRIu64 "): bytes [%" PRIu64 ", %" PRIu64 "): guard\n",
		 file_ino, off, off + bs);
	assert_has(out, want);
	assert_has(out, "scrub: 1 damaged block(s), 1 damaged file(s)\n");
	ck_assert_ptr_null(strstr(out, "transient:"));

	/* Once, at lba itself: transient again, at lba. */
	ck_assert(!scrub_with_flip(&c, lba, (int64_t)(lba - slba), false, out, sizeof(out), &ev));
	ck_assert_uint_eq(ev.lba, lba);
	snprintf(want, sizeof(want), "offset %" PRIu64 ": LBA %" PRIu64 ": PI guard check failed",
		 off, lba);
	assert_has(out, want);
	ck_assert_ptr_null(strstr(out, "damage:"));

	meta_unmount(c.fs);
	fsck_inventory_free(&c);
	io_remove(&img);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fsck_scrub");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, a_block_that_passes_when_read_again_is_not_damage);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
