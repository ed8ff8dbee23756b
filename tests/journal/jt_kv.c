/* SPDX-License-Identifier: MIT */
/* jt_kv.c - the key-value model over the journal; see jt_kv.h. */
#include "tests/journal/jt_kv.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mdblock.h"
#include "tests/journal/jt_util.h"

#define KV_SET	1
#define KV_CKPT 2

void kv_model_reset(struct kv_model *m)
{
	memset(m, 0, sizeof(*m));
	m->next_seq = 1;
}

void kv_mkfs(struct kv_fs *fs, const struct pi_format *f, uint64_t nlb, const struct sb_params *p)
{
	memset(fs, 0, sizeof(*fs));
	fs->fmt = *f;
	kv_model_reset(&fs->model);
	jt_make_image(f, nlb, fs->path, sizeof(fs->path));
	fs->ns = test_ns_open(fs->path, f, true);
	jt_mkfs(fs->ns, p, &fs->sb);
	ns_close(fs->ns);
	fs->ns = NULL;
}

static uint32_t kv_filler(uint64_t val, uint8_t *buf)
{
	uint32_t len = (uint32_t)(val % 700);

	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(val + i * 13);
	return len;
}

int kv_replay(void *arg, enum journal_src src, const struct journal_rec *rec)
{
	struct kv_state *st = arg;
	const uint8_t *p = rec->payload;
	uint8_t filler[700];
	uint32_t key;
	uint64_t val;

	ck_assert_uint_ge(rec->len, 12);
	key = md_get_le32(p);
	val = md_get_le64(p + 4);
	ck_assert_uint_lt(key, KV_KEYS);
	if (src == JOURNAL_SRC_CHECKPOINT) {
		ck_assert_uint_eq(rec->type, KV_CKPT);
		ck_assert_uint_eq(st->log_recs, 0); /* checkpoint first */
		st->ckpt_recs++;
	} else {
		ck_assert_uint_eq(rec->type, KV_SET);
		ck_assert_uint_gt(rec->seq, st->last_seq);
		st->last_seq = rec->seq;
		ck_assert_uint_eq(rec->len, 12 + kv_filler(val, filler));
		ck_assert_mem_eq(p + 12, filler, rec->len - 12);
		st->log_recs++;
	}
	st->m.val[key] = val;
	st->m.set[key] = true;
	return 0;
}

static void kv_compare(const struct kv_fs *fs, const struct kv_state *st)
{
	for (int k = 0; k < KV_KEYS; k++) {
		ck_assert_msg(st->m.set[k] == fs->model.set[k], "key %d set %d, model %d", k,
			      st->m.set[k], fs->model.set[k]);
		if (st->m.set[k])
			ck_assert_uint_eq(st->m.val[k], fs->model.val[k]);
	}
}

void kv_open(struct kv_fs *fs)
{
	struct kv_state st = {0};

	fs->ns = test_ns_open(fs->path, &fs->fmt, fs->strict);
	ck_assert_int_eq(sb_read(fs->ns, &fs->sb), 0);
	ck_assert_int_eq(journal_open(fs->ns, &fs->sb, kv_replay, &st, &fs->j), 0);
	kv_compare(fs, &st);
	ck_assert_uint_eq(journal_next_seq(fs->j), fs->model.next_seq);
	ck_assert_uint_eq(journal_durable_seq(fs->j), fs->model.next_seq);
	fs->replayed_ckpt = st.ckpt_recs;
	fs->replayed_log = st.log_recs;
}

void kv_open_fails(struct kv_fs *fs, int err)
{
	struct kv_state st = {0};
	struct journal *j = NULL;

	fs->ns = test_ns_open(fs->path, &fs->fmt, false);
	ck_assert_int_eq(sb_read(fs->ns, &fs->sb), 0);
	ck_assert_int_eq(journal_open(fs->ns, &fs->sb, kv_replay, &st, &j), err);
	ck_assert_ptr_null(j);
	ck_assert_uint_eq(st.ckpt_recs + st.log_recs, 0); /* nothing delivered */
	ns_close(fs->ns);
	fs->ns = NULL;
}

void kv_close(struct kv_fs *fs)
{
	if (fs->j)
		ck_assert_int_eq(journal_close(fs->j), 0);
	if (fs->ns)
		ns_close(fs->ns);
	fs->j = NULL;
	fs->ns = NULL;
}

void kv_check_reopen(struct kv_fs *fs)
{
	kv_open(fs);
	kv_close(fs);
}

int kv_append(struct kv_fs *fs, uint32_t key, uint64_t val)
{
	uint8_t buf[12 + 700];
	uint64_t seq;
	int ret;

	md_put_le32(buf, key);
	md_put_le64(buf + 4, val);
	ret = journal_append(fs->j, KV_SET, buf, 12 + kv_filler(val, buf + 12), &seq);
	if (ret)
		return ret;
	ck_assert_uint_eq(seq, fs->model.next_seq);
	fs->model.next_seq = seq + 1;
	fs->model.val[key] = val;
	fs->model.set[key] = true;
	return 0;
}

void kv_set(struct kv_fs *fs, uint32_t key, uint64_t val)
{
	ck_assert_int_eq(kv_append(fs, key, val), 0);
}

void kv_set_or_checkpoint(struct kv_fs *fs, uint32_t key, uint64_t val)
{
	int ret, tries = 0;

	while ((ret = kv_append(fs, key, val)) == -ENOSPC && tries++ < 3)
		ck_assert_int_eq(journal_checkpoint(fs->j, kv_emit, &fs->model), 0);
	ck_assert_int_eq(ret, 0);
}

int kv_emit(struct journal_ckpt *ck, void *arg)
{
	const struct kv_model *m = arg;
	uint8_t buf[12];
	int ret;

	for (uint32_t k = 0; k < KV_KEYS; k++) {
		if (!m->set[k])
			continue;
		md_put_le32(buf, k);
		md_put_le64(buf + 4, m->val[k]);
		ret = journal_ckpt_add(ck, KV_CKPT, buf, sizeof(buf));
		if (ret)
			return ret;
	}
	return 0;
}

void kv_destroy(struct kv_fs *fs)
{
	kv_close(fs);
	unlink(fs->path);
}
