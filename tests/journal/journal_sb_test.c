/* SPDX-License-Identifier: MIT */
/*
 * journal_sb_test.c - the superblock on real images (file backend): mkfs then read back for
 * every namespace format, probing the format of a raw file, falling back to the backup when
 * the primary is damaged (bytes or PI), refusing when both are, when the namespace is not
 * guardfs, and when its format disagrees with the superblock.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mdblock.h"
#include "core/sb.h"
#include "tests/journal/jt_util.h"

#define NLB 8192

static const struct jt_fmt_case cases[] = {
	{512, 0, PI_TYPE_NONE, PI_GUARD_16, false, 0},
	{512, 8, PI_TYPE_1, PI_GUARD_16, false, 512},
	{512, 16, PI_TYPE_2, PI_GUARD_16, true, 4096},
	{512, 64, PI_TYPE_3, PI_GUARD_16, false, 0},
	{4096, 0, PI_TYPE_NONE, PI_GUARD_16, false, 0},
	{4096, 8, PI_TYPE_1, PI_GUARD_16, false, 0},
	{4096, 8, PI_TYPE_NONE, PI_GUARD_16, false, 8192},
	{4096, 16, PI_TYPE_1, PI_GUARD_64, false, 0},
	{4096, 16, PI_TYPE_2, PI_GUARD_64, true, 65536},
	{4096, 64, PI_TYPE_3, PI_GUARD_64, false, 0},
	{4096, 64, PI_TYPE_1, PI_GUARD_16, true, 16384},
};

static uint64_t case_nlb(const struct jt_fmt_case *c)
{
	/* Enough blocks for the layout at 64 KiB blocks, and not a multiple of the block. */
	return (c->bs == 65536 ? 64 * 1024 : NLB) + 3;
}

static void check_same(const struct sb *a, const struct sb *b)
{
	ck_assert_mem_eq(a->uuid, b->uuid, 16);
	ck_assert_str_eq(a->label, b->label);
	ck_assert_uint_eq(a->block_size, b->block_size);
	ck_assert_uint_eq(a->nlb, b->nlb);
	ck_assert_uint_eq(a->pi.lba_size, b->pi.lba_size);
	ck_assert_uint_eq(a->pi.md_size, b->pi.md_size);
	ck_assert_int_eq(a->pi.type, b->pi.type);
	ck_assert_uint_eq(a->log_start, b->log_start);
	ck_assert_uint_eq(a->ckpt_start[1], b->ckpt_start[1]);
	ck_assert_uint_eq(a->backup_blkno, b->backup_blkno);
}

/* A new image made by mkfs (p may be NULL); made gets what was written. */
static void make_fs(const struct pi_format *f, uint64_t nlb, const struct sb_params *p,
		    struct sb *made, char *path, size_t size)
{
	struct ns *ns;

	jt_make_image(f, nlb, path, size);
	ns = test_ns_open(path, f, false);
	jt_mkfs(ns, p, made);
	ns_close(ns);
}

/* sb_read through a fresh open of path, with the log captured from before the open. */
static int read_sb(const char *path, const struct pi_format *f, struct sb *got)
{
	struct ns *ns;
	int ret;

	test_log_capture();
	ns = test_ns_open(path, f, false);
	ret = sb_read(ns, got);
	ns_close(ns);
	return ret;
}

START_TEST(mkfs_then_read_and_probe_every_format)
{
	const struct jt_fmt_case *c = &cases[_i];
	struct pi_format f = jt_case_format(c);
	struct sb_params p = {.block_size = c->bs, .label = "vol"};
	struct sb made, got;
	char path[256];
	struct ns *ns;

	jt_make_image(&f, case_nlb(c), path, sizeof(path));
	ns = test_ns_open(path, &f, true);
	jt_mkfs(ns, &p, &made);
	ck_assert_int_eq(sb_read(ns, &got), 0);
	check_same(&made, &got);
	ns_close(ns);
	/* The format of a header-less file comes back from its first bytes. */
	ck_assert_int_eq(sb_probe(path, &got), 0);
	check_same(&made, &got);
	ck_assert_int_eq(got.pi.guard, c->type ? c->guard : got.pi.guard);
	ck_assert_int_eq(got.pi.pi_first, c->first);
	unlink(path);
}
END_TEST

START_TEST(damaged_primary_falls_back_to_backup)
{
	const struct jt_fmt_case *c = &cases[_i];
	struct pi_format f = jt_case_format(c);
	struct sb_params p = {.block_size = c->bs};
	struct sb made, got;
	char path[256];

	make_fs(&f, case_nlb(c), &p, &made, path, sizeof(path));
	test_file_flip_byte(path, 200 + jt_rand() % 300, 0x20);
	ck_assert_int_eq(read_sb(path, &f, &got), 0);
	check_same(&made, &got);
	ck_assert_uint_eq(test_log_warnings(), 1);
	ck_assert_ptr_nonnull(strstr(test_log_last_warning(), "backup"));
	ck_assert_int_eq(sb_probe(path, &got), 0);
	check_same(&made, &got);
	/* Now the backup too: refused, one line, nothing written. */
	test_file_flip_byte(path, made.backup_blkno * made.block_size + 100, 0x01);
	ck_assert_int_eq(read_sb(path, &f, &got), -EUCLEAN);
	ck_assert_uint_eq(test_log_errors(), 1);
	ck_assert_ptr_nonnull(strstr(test_log_last_error(), "superblock damaged"));
	ck_assert_int_ne(sb_probe(path, &got), 0);
	unlink(path);
}
END_TEST

START_TEST(pi_damage_on_primary_names_lba_and_uses_backup)
{
	struct pi_format f = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
	uint64_t nlb = NLB;
	struct sb made, got;
	char path[256];

	make_fs(&f, nlb, NULL, &made, path, sizeof(path));
	/* App tag of LBA 0: bytes 2-3 of its 8-byte tuple. */
	test_file_flip_byte(path, test_md_offset(&f, nlb, 0) + 2, 0x01);
	ck_assert_int_eq(read_sb(path, &f, &got), 0);
	ck_assert_ptr_nonnull(strstr(test_log_last_warning(), "LBA 0"));
	ck_assert_ptr_nonnull(strstr(test_log_last_warning(), "app"));
	/* Guard of the backup's first LBA as well: refused, naming LBA 0. */
	test_file_flip_byte(
		path, test_md_offset(&f, nlb, made.backup_blkno * (made.block_size / 4096)), 0x80);
	ck_assert_int_eq(read_sb(path, &f, &got), -EUCLEAN);
	ck_assert_ptr_nonnull(strstr(test_log_last_error(), "LBA 0"));
	unlink(path);
}
END_TEST

START_TEST(foreign_namespace_is_refused)
{
	struct pi_format f = test_format(512, 8, PI_TYPE_1, PI_GUARD_16, false);
	char path[256], junk[4096];
	struct sb got;

	jt_make_image(&f, NLB, path, sizeof(path));
	ck_assert_int_eq(read_sb(path, &f, &got), -ENODATA);
	ck_assert_uint_eq(test_log_errors(), 1);
	ck_assert_ptr_nonnull(strstr(test_log_last_error(), "not a guardfs namespace"));
	ck_assert_int_eq(sb_probe(path, &got), -ENODATA);
	ck_assert_int_eq(sb_probe("/dev/null", &got), -ENOTSUP);
	ck_assert_int_eq(sb_probe("/nonexistent/guardfs.img", &got), -ENOENT);
	/* Written zeros (not a hole): metadata reads back as zeros, failing PI; still foreign. */
	memset(junk, 0, sizeof(junk));
	test_file_write(path, 0, junk, sizeof(junk));
	ck_assert_int_eq(read_sb(path, &f, &got), -ENODATA);
	ck_assert_ptr_nonnull(strstr(test_log_last_error(), "not a guardfs namespace"));
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)jt_rand();
	test_file_write(path, 0, junk, sizeof(junk));
	ck_assert_int_eq(sb_probe(path, &got), -ENODATA);
	ck_assert_int_eq(read_sb(path, &f, &got), -ENODATA);
	ck_assert_uint_eq(test_log_errors(), 1);
	unlink(path);
}
END_TEST

START_TEST(format_disagreement_is_refused)
{
	struct pi_format f = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct pi_format t3 = test_format(4096, 8, PI_TYPE_3, PI_GUARD_16, false);
	struct pi_format md16 = test_format(4096, 16, PI_TYPE_1, PI_GUARD_16, false);
	struct sb made, got;
	char path[256];

	make_fs(&f, NLB, NULL, &made, path, sizeof(path));
	const struct pi_format *wrong[] = {&t3, &md16};
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(read_sb(path, wrong[i], &got), -EMEDIUMTYPE);
		ck_assert_uint_eq(test_log_errors(), 1);
		ck_assert_ptr_nonnull(strstr(test_log_last_error(), "disagrees"));
	}
	/* The file grew: capacity no longer matches. */
	ck_assert_int_eq(truncate(path, (off_t)((NLB + 16) * 4104ull)), 0);
	ck_assert_int_eq(read_sb(path, &f, &got), -EMEDIUMTYPE);
	ck_assert_ptr_nonnull(strstr(test_log_last_error(), "LBAs"));
	unlink(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("journal_sb");
	TCase *tc = tcase_create("sb");
	int n = (int)(sizeof(cases) / sizeof(cases[0]));

	jt_seed("journal_sb");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, mkfs_then_read_and_probe_every_format, 0, n);
	tcase_add_loop_test(tc, damaged_primary_falls_back_to_backup, 0, n);
	tcase_add_test(tc, pi_damage_on_primary_names_lba_and_uses_backup);
	tcase_add_test(tc, foreign_namespace_is_refused);
	tcase_add_test(tc, format_disagreement_is_refused);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
