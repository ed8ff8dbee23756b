/* SPDX-License-Identifier: MIT */
/*
 * alloc_model.h - randomised test of core/alloc against a per-block model (included by
 * alloc_test.c only). The model keeps each block's state (used, free, parked with its
 * sequence number) and recomputes the allocation policy by brute force over its free runs,
 * so every alloc_alloc() result is compared exactly, not just for plausibility.
 */
#ifndef GUARDFS_ALLOC_MODEL_H
#define GUARDFS_ALLOC_MODEL_H

enum { M_USED, M_FREE, M_PARKED };

#define M_FIRST 1000
#define M_N	4096

struct alloc_model {
	uint8_t state[M_N];
	uint64_t seq[M_N];
	struct alloc_range used[M_N]; /* ranges we own, to free later */
	int nr_used;
	uint64_t parked_seq[M_N]; /* alloc_free_deferred calls not yet committed */
	uint64_t nr_parked_calls;
	struct alloc_range runs[M_N];
	int nr_runs;
};

static void model_runs(struct alloc_model *m)
{
	m->nr_runs = 0;
	for (uint64_t b = 0; b < M_N; b++) {
		if (m->state[b] != M_FREE)
			continue;
		if (m->nr_runs &&
		    m->runs[m->nr_runs - 1].start + m->runs[m->nr_runs - 1].len == M_FIRST + b)
			m->runs[m->nr_runs - 1].len++;
		else
			m->runs[m->nr_runs++] = (struct alloc_range){M_FIRST + b, 1};
	}
}

static bool range_before(const struct alloc_range *x, const struct alloc_range *y)
{
	return x->len < y->len || (x->len == y->len && x->start < y->start);
}

/* The policy of alloc.h, by brute force. Returns 0 or -ENOSPC. */
static int model_policy(struct alloc_model *m, uint64_t goal, uint64_t want, uint64_t min_len,
			struct alloc_range *out)
{
	const struct alloc_range *best = NULL, *r;

	model_runs(m);
	for (int i = 0; i < m->nr_runs; i++) {
		r = &m->runs[i];
		if (r->start <= goal && goal < r->start + r->len &&
		    r->start + r->len - goal >= want) {
			*out = (struct alloc_range){goal, want};
			return 0;
		}
	}
	for (int i = 0; i < m->nr_runs; i++) {
		r = &m->runs[i];
		if (r->start >= goal && r->len >= want && (!best || range_before(r, best)))
			best = r;
	}
	for (int i = 0; !best && i < m->nr_runs; i++) {
		r = &m->runs[i];
		if (r->len >= want) {
			for (int j = i; j < m->nr_runs; j++)
				if (m->runs[j].len >= want && range_before(&m->runs[j], r))
					r = &m->runs[j];
			best = r;
		}
	}
	if (best) {
		*out = (struct alloc_range){best->start, want};
		return 0;
	}
	for (int i = 0; i < m->nr_runs; i++)
		if (!best || range_before(best, &m->runs[i]))
			best = &m->runs[i];
	if (!best || best->len < min_len)
		return -ENOSPC;
	*out = *best;
	return 0;
}

static void model_set(struct alloc_model *m, uint64_t start, uint64_t len, int state, uint64_t seq)
{
	for (uint64_t b = start - M_FIRST; b < start - M_FIRST + len; b++) {
		m->state[b] = state;
		m->seq[b] = seq;
	}
}

static bool model_all(const struct alloc_model *m, uint64_t start, uint64_t len, int state)
{
	if (start < M_FIRST || !len || start - M_FIRST + len > M_N)
		return false;
	for (uint64_t b = start - M_FIRST; b < start - M_FIRST + len; b++)
		if (m->state[b] != state)
			return false;
	return true;
}

static void model_compare(struct alloc_model *m, const struct alloc *a, bool full)
{
	uint64_t free_blocks = 0, parked = 0;
	static uint64_t snap[2 * M_N + 1];

	for (int b = 0; b < M_N; b++) {
		free_blocks += m->state[b] == M_FREE;
		parked += m->state[b] == M_PARKED;
	}
	model_runs(m);
	fast_eq(alloc_free_blocks(a), free_blocks);
	fast_eq(alloc_pending_blocks(a), parked);
	fast_eq(alloc_pending_extents(a), m->nr_parked_calls);
	fast_eq(alloc_free_extents(a), m->nr_runs);
	if (!full)
		return;
	fast_eq(alloc_check(a), 0);
	snap[0] = 0;
	fast_eq(alloc_iterate_free(a, 0, snapshot_fn, snap), 0);
	fast_eq(snap[0], m->nr_runs);
	for (int i = 0; i < m->nr_runs; i++) {
		fast_eq(snap[2 * i + 1], m->runs[i].start);
		fast_eq(snap[2 * i + 2], m->runs[i].len);
	}
}

/* Take a random piece of a range we own; the rest stays owned. */
static struct alloc_range model_take_piece(struct alloc_model *m, struct test_rng *rng)
{
	int i = rng_below(rng, m->nr_used);
	struct alloc_range r = m->used[i], piece;

	piece.start = r.start + rng_below(rng, r.len);
	piece.len = 1 + rng_below(rng, r.start + r.len - piece.start);
	m->used[i] = m->used[--m->nr_used];
	if (piece.start > r.start)
		m->used[m->nr_used++] = (struct alloc_range){r.start, piece.start - r.start};
	if (piece.start + piece.len < r.start + r.len)
		m->used[m->nr_used++] = (struct alloc_range){
			piece.start + piece.len, r.start + r.len - piece.start - piece.len};
	return piece;
}

static uint64_t model_goal(struct alloc_model *m, struct test_rng *rng)
{
	if (m->nr_used && rng_below(rng, 2)) {
		const struct alloc_range *r = &m->used[rng_below(rng, m->nr_used)];

		return r->start + r->len; /* right after something we own: locality */
	}
	return M_FIRST - 16 + rng_below(rng, M_N + 32);
}

static void model_op_alloc(struct alloc_model *m, struct alloc *a, struct test_rng *rng)
{
	uint64_t want = 1 + rng_below(rng, rng_below(rng, 4) ? 16 : 300);
	uint64_t min_len = 1 + rng_below(rng, want);
	uint64_t goal = model_goal(m, rng);
	struct alloc_range got, expect;
	int ret = alloc_alloc(a, goal, want, min_len, &got);

	fast_eq((int64_t)ret, (int64_t)model_policy(m, goal, want, min_len, &expect));
	if (ret)
		return;
	fast_eq(got.start, expect.start);
	fast_eq(got.len, expect.len);
	fast_true(model_all(m, got.start, got.len, M_FREE));
	model_set(m, got.start, got.len, M_USED, 0);
	m->used[m->nr_used++] = got;
}

static void model_op_free(struct alloc_model *m, struct alloc *a, struct test_rng *rng,
			  uint64_t *seq, uint64_t *durable)
{
	struct alloc_range r;

	if (!m->nr_used)
		return;
	r = model_take_piece(m, rng);
	if (rng_below(rng, 2)) {
		fast_eq(alloc_free(a, r.start, r.len), 0);
		model_set(m, r.start, r.len, M_FREE, 0);
	} else {
		*seq += rng_below(rng, 3);
		fast_eq(alloc_free_deferred(a, r.start, r.len, *seq), 0);
		model_set(m, r.start, r.len, M_PARKED, *seq);
		m->parked_seq[m->nr_parked_calls++] = *seq;
	}
}

static void model_op_commit(struct alloc_model *m, struct alloc *a, struct test_rng *rng,
			    uint64_t seq, uint64_t *durable)
{
	uint64_t released = 0;

	*durable += rng_below(rng, seq - *durable + 1);
	for (int b = 0; b < M_N; b++) {
		if (m->state[b] == M_PARKED && m->seq[b] <= *durable) {
			m->state[b] = M_FREE;
			released++;
		}
	}
	fast_eq(alloc_commit_frees(a, *durable), released);
	for (uint64_t i = 0; i < m->nr_parked_calls;) {
		if (m->parked_seq[i] <= *durable)
			m->parked_seq[i] = m->parked_seq[--m->nr_parked_calls];
		else
			i++;
	}
}

static void model_op_misc(struct alloc_model *m, struct alloc *a, struct test_rng *rng)
{
	uint64_t start = M_FIRST - 8 + rng_below(rng, M_N + 16), len = rng_below(rng, 40);
	bool all_free = model_all(m, start, len, M_FREE);
	int ret;

	switch (rng_below(rng, 3)) {
	case 0:
		fast_eq(alloc_is_free(a, start, len), all_free);
		break;
	case 1:
		ret = alloc_mark_used(a, start, len);
		fast_eq(ret, all_free ? 0 : -EINVAL);
		if (!ret) {
			model_set(m, start, len, M_USED, 0);
			m->used[m->nr_used++] = (struct alloc_range){start, len};
		}
		break;
	default:
		/* a range starting on a free, parked or out-of-device block is never freeable */
		if (model_all(m, start, 1, M_USED))
			break;
		fast_eq(alloc_free(a, start, len ? len : 1), -EINVAL);
		break;
	}
}

static void run_alloc_model(uint64_t seed, int nr_ops)
{
	struct alloc_model *m = calloc(1, sizeof(*m));
	struct test_rng rng = {seed};
	uint64_t seq = 1, durable = 0;
	struct alloc a;

	fast_eq(alloc_init(&a, M_FIRST, M_N, ALLOC_INIT_FREE), 0);
	memset(m->state, M_FREE, sizeof(m->state));
	for (int op = 0; op < nr_ops; op++) {
		uint64_t dice = rng_below(&rng, 100);

		/* phases: mostly allocate (fill up, fragment), then mostly free */
		if ((op / 2000) % 2 == 0 ? dice < 50 : dice < 25)
			model_op_alloc(m, &a, &rng);
		else if (dice < 85)
			model_op_free(m, &a, &rng, &seq, &durable);
		else if (dice < 92)
			model_op_commit(m, &a, &rng, seq, &durable);
		else
			model_op_misc(m, &a, &rng);
		model_compare(m, &a, op % 50 == 0);
	}
	durable = seq;
	model_op_commit(m, &a, &rng, seq, &durable);
	while (m->nr_used) {
		struct alloc_range r = m->used[--m->nr_used];

		fast_eq(alloc_free(&a, r.start, r.len), 0);
		model_set(m, r.start, r.len, M_FREE, 0);
	}
	model_compare(m, &a, true);
	fast_eq(alloc_free_extents(&a), 1);
	alloc_destroy(&a);
	free(m);
}

#endif /* GUARDFS_ALLOC_MODEL_H */
