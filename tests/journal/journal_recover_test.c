/* SPDX-License-Identifier: MIT */
/*
 * journal_recover_test.c - recovery from every corruption class: a torn log tail (injected
 * torn write, flipped bytes, bad PI) stops replay at the last good batch and writing resumes
 * there; a damaged checkpoint (stream, header, PI) falls back to the other one with a longer
 * log replay; both damaged, or a log reused past the only usable checkpoint, is refused with
 * one line, nothing delivered and nothing written.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/journal.h"
#include "core/ns_fault.h"
#include "core/sb.h"
#include "tests/journal/jt_kv.h"
#include "tests/journal/jt_util.h"

static uint64_t log_used(struct kv_fs *fs)
{
	struct journal_stats st;

	journal_get_stats(fs->j, &st);
	return st.log_blocks_used;
}

/* Byte offset of the data of filesystem block blkno, plus off. */
static uint64_t blk_off(const struct kv_fs *fs, uint64_t blkno, uint64_t off)
{
	return blkno * fs->sb.block_size + off;
}

/* Metadata offset of the first LBA of filesystem block blkno. */
static uint64_t blk_md_off(const struct kv_fs *fs, uint64_t blkno)
{
	return test_md_offset(&fs->fmt, fs->sb.nlb, blkno * (fs->sb.block_size / fs->fmt.lba_size));
}

static uint64_t image_sum(const char *path)
{
	uint8_t buf[65536];
	uint64_t sum = 0, off = 0;
	FILE *f = fopen(path, "rb");
	size_t n;

	ck_assert_ptr_nonnull(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		for (size_t i = 0; i < n; i++)
			sum = (sum ^ buf[i]) * 1099511628211ull + off + i;
		off += n;
	}
	fclose(f);
	return sum;
}

/* Committed batch of count records whose filler makes it span several blocks. */
static void big_batch(struct kv_fs *fs, unsigned count, struct kv_model *before)
{
	if (before)
		*before = fs->model;
	for (unsigned i = 0; i < count; i++)
		kv_set(fs, i % KV_KEYS, 600 + i * 701); /* val % 700 = 600 + i: long fillers */
	ck_assert_int_eq(journal_commit_all(fs->j), 0);
}

START_TEST(torn_log_write_stops_replay_and_writing_resumes)
{
	struct pi_format f = test_format(512, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct sb_params p = {.block_size = 512};
	struct ns_fault torn = {
		.kind = NS_FAULT_TORN, .ops = NS_FAULT_OP(NS_OP_WRITE), .torn_blocks = 1};
	struct kv_model good;
	struct kv_fs fs;

	kv_mkfs(&fs, &f, 16384, &p);
	kv_open(&fs);
	big_batch(&fs, 10, NULL);
	torn.lba_first = fs.sb.log_start;
	torn.lba_last = fs.sb.log_start + fs.sb.log_blocks - 1;
	ck_assert_int_ge(ns_fault_add(fs.ns, &torn), 0);
	big_batch(&fs, 6, &good); /* reported durable, only its first block reached the file */
	ck_assert_uint_eq(ns_fault_fired(fs.ns, 0), 1);
	ck_assert_int_eq(journal_close(fs.j), 0);
	ns_close(fs.ns);
	fs.j = NULL;
	fs.ns = NULL;
	fs.model = good;
	kv_open(&fs); /* replay ends before the torn batch */
	big_batch(&fs, 7, NULL);
	kv_close(&fs);
	kv_check_reopen(&fs); /* the torn batch's place was reused cleanly */
	kv_destroy(&fs);
}
END_TEST

START_TEST(flipped_byte_in_last_batch_stops_replay_before_it)
{
	struct pi_format f = test_format(4096, 0, PI_TYPE_NONE, PI_GUARD_16, false);
	struct sb_params p = {.block_size = 4096};
	struct kv_model good;
	uint64_t used1, used2;
	struct kv_fs fs;

	kv_mkfs(&fs, &f, 16384, &p);
	kv_open(&fs);
	big_batch(&fs, 10, NULL);
	used1 = log_used(&fs);
	big_batch(&fs, 30, &good);
	used2 = log_used(&fs);
	ck_assert_uint_gt(used2 - used1, 1);
	kv_close(&fs);
	/* A byte in the middle block's payload: CRC-32C alone protects this format. */
	test_file_flip_byte(fs.path,
			    blk_off(&fs, fs.sb.log_start + used1 + (used2 - used1) / 2, 999), 1);
	fs.model = good;
	kv_check_reopen(&fs);
	kv_destroy(&fs);
}
END_TEST

START_TEST(bad_pi_in_log_tail_stops_replay_before_it)
{
	struct pi_format f = test_format(4096, 16, PI_TYPE_1, PI_GUARD_64, false);
	struct kv_model good;
	uint64_t used1;
	struct kv_fs fs;

	kv_mkfs(&fs, &f, 16384, NULL);
	kv_open(&fs);
	big_batch(&fs, 10, NULL);
	used1 = log_used(&fs);
	big_batch(&fs, 20, &good);
	kv_close(&fs);
	/* Ref tag of the last batch's first LBA (bytes 10-15 of a 16-byte tuple). */
	test_file_flip_byte(fs.path, blk_md_off(&fs, fs.sb.log_start + used1) + 15, 0x01);
	fs.model = good;
	kv_check_reopen(&fs);
	kv_destroy(&fs);
}
END_TEST

START_TEST(damage_before_intact_batches_is_refused_not_truncated)
{
	struct pi_format f = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
	uint64_t used1, sum;
	struct kv_fs fs;

	kv_mkfs(&fs, &f, 16384, NULL);
	kv_open(&fs);
	big_batch(&fs, 10, NULL);
	used1 = log_used(&fs);
	big_batch(&fs, 10, NULL);
	big_batch(&fs, 10, NULL);
	kv_close(&fs);
	/* The middle batch rots after it was acknowledged; the third is intact. */
	test_file_flip_byte(fs.path, blk_off(&fs, fs.sb.log_start + used1, 3000), 0x08);
	sum = image_sum(fs.path);
	test_log_capture();
	kv_open_fails(&fs, -EUCLEAN);
	ck_assert_uint_eq(test_log_errors(), 1);
	ck_assert_ptr_nonnull(strstr(test_log_last_error(), "log damaged"));
	ck_assert_uint_eq(image_sum(fs.path), sum);
	kv_destroy(&fs);
}
END_TEST

START_TEST(misdirected_or_lost_log_write_before_later_batches_is_refused)
{
	struct pi_format f = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
	enum ns_fault_kind kinds[] = {NS_FAULT_MISDIRECT, NS_FAULT_LOST};

	for (int k = 0; k < 2; k++) {
		struct ns_fault fault = {.kind = kinds[k], .ops = NS_FAULT_OP(NS_OP_WRITE)};
		struct kv_fs fs;

		kv_mkfs(&fs, &f, 16384, NULL);
		kv_open(&fs);
		big_batch(&fs, 10, NULL);
		fault.lba_first = fs.sb.log_start;
		fault.lba_last = fs.sb.log_start + fs.sb.log_blocks - 1;
		fault.target_lba = (int64_t)fs.sb.data_start + 100; /* somewhere in the data area */
		ck_assert_int_ge(ns_fault_add(fs.ns, &fault), 0);
		big_batch(&fs, 10, NULL); /* acknowledged, but not where it belongs */
		ns_fault_clear(fs.ns);
		big_batch(&fs, 10, NULL);
		kv_close(&fs);
		test_log_capture();
		kv_open_fails(&fs, -EUCLEAN);
		ck_assert_ptr_nonnull(strstr(test_log_last_error(), "log damaged"));
		kv_destroy(&fs);
	}
}
END_TEST

START_TEST(failed_checkpoint_write_keeps_the_previous_one)
{
	struct pi_format f = test_format(512, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct ns_fault fault = {.kind = NS_FAULT_IO_ERROR, .ops = NS_FAULT_OP(NS_OP_WRITE)};
	struct sb_params p = {.block_size = 512};
	struct kv_fs fs;

	kv_mkfs(&fs, &f, 16384, &p);
	kv_open(&fs);
	for (int i = 0; i < 100; i++)
		kv_set(&fs, (uint32_t)(jt_rand() % KV_KEYS), jt_rand());
	ck_assert_int_eq(journal_checkpoint(fs.j, kv_emit, &fs.model), 0); /* B */
	kv_set(&fs, 3, 33);
	/* The next checkpoint goes to A: its header write fails. */
	fault.lba_first = fault.lba_last = fs.sb.ckpt_start[0];
	ck_assert_int_ge(ns_fault_add(fs.ns, &fault), 0);
	test_log_capture();
	ck_assert_int_eq(journal_checkpoint(fs.j, kv_emit, &fs.model), -EIO);
	ck_assert_ptr_nonnull(strstr(test_log_last_error(), "checkpoint A failed"));
	ns_fault_clear(fs.ns);
	kv_set(&fs, 4, 44); /* the journal goes on */
	kv_close(&fs);
	kv_open(&fs); /* B and the log */
	ck_assert_uint_eq(fs.replayed_log, 2);
	ck_assert_int_eq(journal_checkpoint(fs.j, kv_emit, &fs.model), 0); /* A, this time */
	kv_close(&fs);
	kv_open(&fs);
	ck_assert_uint_eq(fs.replayed_log, 0);
	kv_close(&fs);
	kv_destroy(&fs);
}
END_TEST

/* Two checkpoints (B then A) with log records between and after them. */
static void two_checkpoints(struct kv_fs *fs, const struct pi_format *f)
{
	struct sb_params p = {.block_size = 512};

	kv_mkfs(fs, f, 16384, &p);
	kv_open(fs);
	for (int i = 0; i < 100; i++)
		kv_set(fs, (uint32_t)(jt_rand() % KV_KEYS), jt_rand());
	ck_assert_int_eq(journal_checkpoint(fs->j, kv_emit, &fs->model), 0); /* B, seq 2 */
	for (int i = 0; i < 100; i++)
		kv_set(fs, (uint32_t)(jt_rand() % KV_KEYS), jt_rand());
	ck_assert_int_eq(journal_checkpoint(fs->j, kv_emit, &fs->model), 0); /* A, seq 3 */
	for (int i = 0; i < 50; i++)
		kv_set(fs, (uint32_t)(jt_rand() % KV_KEYS), jt_rand());
	kv_close(fs);
}

START_TEST(damaged_newest_checkpoint_falls_back_to_the_other)
{
	struct pi_format f = test_format(512, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct kv_fs fs;
	uint64_t sum;

	two_checkpoints(&fs, &f);
	kv_open(&fs);
	ck_assert_uint_gt(fs.replayed_ckpt, 0);
	ck_assert_uint_eq(fs.replayed_log, 50);
	kv_close(&fs);
	/* Stream block 0 of A, the newest. */
	test_file_flip_byte(fs.path, blk_off(&fs, fs.sb.ckpt_start[0] + 1, 70), 0x40);
	test_log_capture();
	kv_open(&fs);
	ck_assert_ptr_nonnull(strstr(test_log_last_warning(), "checkpoint A"));
	ck_assert_uint_eq(fs.replayed_log, 150); /* from B: a longer replay */
	kv_close(&fs);
	/* Now B's header as well: nothing usable, one line, nothing delivered or written. */
	test_file_flip_byte(fs.path, blk_off(&fs, fs.sb.ckpt_start[1], 20), 0x02);
	sum = image_sum(fs.path);
	test_log_capture();
	kv_open_fails(&fs, -EUCLEAN);
	ck_assert_uint_eq(test_log_errors(), 1);
	ck_assert_ptr_nonnull(strstr(test_log_last_error(), "no usable checkpoint"));
	ck_assert_uint_eq(image_sum(fs.path), sum);
	kv_destroy(&fs);
}
END_TEST

START_TEST(damaged_checkpoint_header_uses_the_other)
{
	struct pi_format f = test_format(512, 0, PI_TYPE_NONE, PI_GUARD_16, false);
	struct kv_fs fs;

	two_checkpoints(&fs, &f);
	test_file_flip_byte(fs.path, blk_off(&fs, fs.sb.ckpt_start[0], 64 + 8), 0x01); /* log_lbn */
	kv_check_reopen(&fs);
	kv_destroy(&fs);
}
END_TEST

START_TEST(pi_damage_in_checkpoint_names_the_lba)
{
	struct pi_format f = test_format(512, 8, PI_TYPE_1, PI_GUARD_16, false);
	char lba[64];
	struct kv_fs fs;

	two_checkpoints(&fs, &f);
	/* App tag of A's first stream LBA. */
	test_file_flip_byte(fs.path, blk_md_off(&fs, fs.sb.ckpt_start[0] + 1) + 2, 0x10);
	snprintf(lba, sizeof(lba), "LBA %lu:", (unsigned long)(fs.sb.ckpt_start[0] + 1));
	test_log_capture();
	kv_open(&fs);
	ck_assert_ptr_nonnull(strstr(test_log_last_warning(), lba));
	ck_assert_ptr_nonnull(strstr(test_log_last_warning(), "app tag"));
	kv_close(&fs);
	/* Guard of B's header LBA too: refused, the line names both LBAs. */
	test_file_flip_byte(fs.path, blk_md_off(&fs, fs.sb.ckpt_start[1]), 0x01);
	test_log_capture();
	kv_open_fails(&fs, -EUCLEAN);
	ck_assert_ptr_nonnull(strstr(test_log_last_error(), lba));
	snprintf(lba, sizeof(lba), "LBA %lu:", (unsigned long)fs.sb.ckpt_start[1]);
	ck_assert_ptr_nonnull(strstr(test_log_last_error(), lba));
	ck_assert_ptr_nonnull(strstr(test_log_last_error(), "guard"));
	kv_destroy(&fs);
}
END_TEST

START_TEST(log_reused_past_the_only_checkpoint_is_refused)
{
	struct pi_format f = test_format(512, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct sb_params p = {.block_size = 512, .log_blocks = 16};
	size_t len, mdlen;
	uint8_t *data, *md;
	struct kv_fs fs;
	uint64_t sum;

	kv_mkfs(&fs, &f, 16384, &p);
	/* Keep the checkpoint areas as mkfs left them: A (log block 0) and an empty B. */
	len = (fs.sb.data_start - fs.sb.ckpt_start[0]) * fs.sb.block_size;
	mdlen = (fs.sb.data_start - fs.sb.ckpt_start[0]) * f.md_size;
	data = malloc(len);
	md = malloc(mdlen);
	test_file_read(fs.path, blk_off(&fs, fs.sb.ckpt_start[0], 0), data, len);
	test_file_read(fs.path, blk_md_off(&fs, fs.sb.ckpt_start[0]), md, mdlen);
	kv_open(&fs);
	for (int i = 0; i < 300; i++) {
		kv_set_or_checkpoint(&fs, (uint32_t)(jt_rand() % KV_KEYS), jt_rand());
		ck_assert_int_eq(journal_commit_all(fs.j), 0);
		if (journal_should_checkpoint(fs.j))
			ck_assert_int_eq(journal_checkpoint(fs.j, kv_emit, &fs.model), 0);
	}
	kv_close(&fs);
	/* Lose every later checkpoint: the only one left needs log block 0, long reused. */
	test_file_write(fs.path, blk_off(&fs, fs.sb.ckpt_start[0], 0), data, len);
	test_file_write(fs.path, blk_md_off(&fs, fs.sb.ckpt_start[0]), md, mdlen);
	sum = image_sum(fs.path);
	test_log_capture();
	kv_open_fails(&fs, -EUCLEAN);
	ck_assert_uint_eq(test_log_errors(), 1);
	ck_assert_ptr_nonnull(strstr(test_log_last_error(), "overwritten"));
	ck_assert_uint_eq(image_sum(fs.path), sum);
	free(data);
	free(md);
	kv_destroy(&fs);
}
END_TEST

START_TEST(stale_blocks_of_an_earlier_lap_end_the_log)
{
	struct pi_format f = test_format(4096, 8, PI_TYPE_2, PI_GUARD_16, false);
	struct sb_params p = {.log_blocks = 16};
	struct kv_fs fs;

	kv_mkfs(&fs, &f, 16384, &p);
	for (int round = 0; round < 6; round++) {
		kv_open(&fs);
		for (int i = 0; i < 25; i++) {
			kv_set_or_checkpoint(&fs, (uint32_t)(jt_rand() % KV_KEYS), jt_rand());
			if (jt_rand() % 2)
				ck_assert_int_eq(journal_commit_all(fs.j), 0);
			if (journal_should_checkpoint(fs.j))
				ck_assert_int_eq(journal_checkpoint(fs.j, kv_emit, &fs.model), 0);
		}
		kv_close(&fs);
	}
	kv_check_reopen(&fs);
	kv_destroy(&fs);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("journal_recover");
	TCase *tc = tcase_create("recover");

	jt_seed("journal_recover");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, torn_log_write_stops_replay_and_writing_resumes);
	tcase_add_test(tc, flipped_byte_in_last_batch_stops_replay_before_it);
	tcase_add_test(tc, bad_pi_in_log_tail_stops_replay_before_it);
	tcase_add_test(tc, damage_before_intact_batches_is_refused_not_truncated);
	tcase_add_test(tc, misdirected_or_lost_log_write_before_later_batches_is_refused);
	tcase_add_test(tc, failed_checkpoint_write_keeps_the_previous_one);
	tcase_add_test(tc, damaged_newest_checkpoint_falls_back_to_the_other);
	tcase_add_test(tc, damaged_checkpoint_header_uses_the_other);
	tcase_add_test(tc, pi_damage_in_checkpoint_names_the_lba);
	tcase_add_test(tc, log_reused_past_the_only_checkpoint_is_refused);
	tcase_add_test(tc, stale_blocks_of_an_earlier_lap_end_the_log);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
