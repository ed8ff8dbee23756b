/* SPDX-License-Identifier: MIT */
/* jt_util.c - helpers for the journal suites; see jt_util.h. */
#include "tests/journal/jt_util.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static struct test_rng rng;

uint64_t jt_seed(const char *suite)
{
	uint64_t seed = test_seed_env("JOURNAL_TEST_SEED", suite);

	rng.state = seed ? seed : 1;
	return seed;
}

uint64_t jt_rand(void)
{
	return rng_next(&rng);
}

struct pi_format jt_case_format(const struct jt_fmt_case *c)
{
	return test_format(c->lba, c->md, c->type, c->guard, c->first);
}

void jt_make_image(const struct pi_format *fmt, uint64_t nlb, char *path, size_t len)
{
	test_make_image("JOURNAL_TEST_DIR", "gfs-journal", fmt, nlb, path, len);
}

void jt_mkfs(struct ns *ns, const struct sb_params *p, struct sb *sb)
{
	ck_assert_int_eq(sb_format(ns, p, sb), 0);
	ck_assert_int_eq(journal_format(ns, sb), 0);
}

int jt_collect_fn(void *arg, enum journal_src src, const struct journal_rec *rec)
{
	struct jt_collect *c = arg;
	struct jt_rec *r;

	if (c->count == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->recs = realloc(c->recs, c->cap * sizeof(*c->recs));
		ck_assert_ptr_nonnull(c->recs);
	}
	r = &c->recs[c->count++];
	r->src = src;
	r->type = rec->type;
	r->seq = rec->seq;
	r->len = rec->len;
	r->payload = malloc(rec->len ? rec->len : 1);
	ck_assert_ptr_nonnull(r->payload);
	memcpy(r->payload, rec->payload, rec->len);
	return 0;
}

void jt_collect_free(struct jt_collect *c)
{
	for (size_t i = 0; i < c->count; i++)
		free(c->recs[i].payload);
	free(c->recs);
	memset(c, 0, sizeof(*c));
}

uint32_t jt_payload(uint64_t n, uint8_t *buf, uint32_t max)
{
	uint32_t len = (uint32_t)((n * 2654435761u) % (max + 1));

	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(n * 31 + i * 7);
	return len;
}
