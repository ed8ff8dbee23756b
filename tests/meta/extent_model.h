/* SPDX-License-Identifier: MIT */
/*
 * extent_model.h - a per-block model of an extent map (included by extent_test.c only):
 * each file block has a state and a device block. The extents a correct map must hold are
 * the model's maximal mergeable runs, so lookups, counts, iteration and the pieces returned
 * by set/punch/collapse/truncate can all be compared exactly.
 */
#ifndef GUARDFS_EXTENT_MODEL_H
#define GUARDFS_EXTENT_MODEL_H

#define X_N	8192   /* blocks modelled; beyond them the map must be empty */
#define X_OPS	4096   /* operations start below this block */
#define X_IDOFF 100000 /* "identity" device mapping, so that neighbours merge */

struct extent_model {
	uint8_t state[X_N];
	uint64_t dblk[X_N];
	struct extent_mapping runs[X_N];
	size_t nr_runs;
};

static bool model_mergeable(const struct extent_model *m, uint64_t a)
{
	uint64_t b = a + 1;

	if (m->state[a] == EXTENT_HOLE || m->state[a] != m->state[b])
		return false;
	return m->state[a] == EXTENT_DELALLOC || m->dblk[a] + 1 == m->dblk[b];
}

static void model_build_runs(struct extent_model *m)
{
	m->nr_runs = 0;
	for (uint64_t b = 0; b < X_N; b++) {
		if (m->state[b] == EXTENT_HOLE)
			continue;
		if (b && m->nr_runs && model_mergeable(m, b - 1)) {
			m->runs[m->nr_runs - 1].len++;
			continue;
		}
		m->runs[m->nr_runs++] = (struct extent_mapping){
			.fblk = b, .len = 1, .dblk = m->dblk[b], .state = m->state[b]};
	}
}

/* The pieces a correct map returns for [fblk, fblk + len): the runs, clipped. */
static void model_pieces(struct extent_model *m, uint64_t fblk, uint64_t len,
			 struct extent_vec *out)
{
	uint64_t end = fblk + len;

	out->nr = 0;
	model_build_runs(m);
	for (size_t i = 0; i < m->nr_runs; i++) {
		struct extent_mapping r = m->runs[i];
		uint64_t s = r.fblk > fblk ? r.fblk : fblk;
		uint64_t e = r.fblk + r.len < end ? r.fblk + r.len : end;

		if (s >= e)
			continue;
		if (r.state != EXTENT_DELALLOC)
			r.dblk += s - r.fblk;
		r.fblk = s;
		r.len = e - s;
		fast_eq(extent_vec_push_test(out, &r), 0);
	}
}

static void assert_pieces_equal(const struct extent_vec *got, const struct extent_vec *want)
{
	fast_eq(got->nr, want->nr);
	for (size_t i = 0; i < got->nr; i++) {
		fast_eq(got->v[i].fblk, want->v[i].fblk);
		fast_eq(got->v[i].len, want->v[i].len);
		fast_eq(got->v[i].state, want->v[i].state);
		fast_eq(got->v[i].dblk, want->v[i].dblk);
	}
}

static void model_fill(struct extent_model *m, uint64_t fblk, uint64_t len, int state,
		       uint64_t dblk)
{
	for (uint64_t i = 0; i < len && fblk + i < X_N; i++) {
		m->state[fblk + i] = state;
		m->dblk[fblk + i] = state_dev(state) ? dblk + i : EXTENT_NO_DBLK;
	}
}

/* Blocks [fblk, X_N) move by -len (collapse) or +len (insert). */
static void model_shift(struct extent_model *m, uint64_t fblk, uint64_t len, bool up)
{
	if (up) {
		memmove(&m->state[fblk + len], &m->state[fblk], X_N - fblk - len);
		memmove(&m->dblk[fblk + len], &m->dblk[fblk], (X_N - fblk - len) * 8);
		model_fill(m, fblk, len, EXTENT_HOLE, 0);
	} else {
		memmove(&m->state[fblk], &m->state[fblk + len], X_N - fblk - len);
		memmove(&m->dblk[fblk], &m->dblk[fblk + len], (X_N - fblk - len) * 8);
		model_fill(m, X_N - len, len, EXTENT_HOLE, 0);
	}
}

static uint64_t model_last_used(const struct extent_model *m)
{
	for (uint64_t b = X_N; b > 0; b--)
		if (m->state[b - 1] != EXTENT_HOLE)
			return b;
	return 0;
}

/* Lookup of @b agrees with the model's run or hole around it. */
static void model_check_lookup(const struct extent_model *m, const struct extent_map *map,
			       uint64_t b, size_t *run_idx)
{
	struct extent_mapping got;
	size_t i = *run_idx;

	fast_eq(extent_lookup(map, b, &got), 0);
	while (i < m->nr_runs && m->runs[i].fblk + m->runs[i].len <= b)
		i++;
	*run_idx = i;
	if (i < m->nr_runs && m->runs[i].fblk <= b) {
		fast_eq(got.fblk, m->runs[i].fblk);
		fast_eq(got.len, m->runs[i].len);
		fast_eq(got.state, m->runs[i].state);
		fast_eq(got.dblk, m->runs[i].dblk);
		return;
	}
	fast_eq(got.state, EXTENT_HOLE);
	fast_eq(got.dblk, EXTENT_NO_DBLK);
	fast_eq(got.fblk, i ? m->runs[i - 1].fblk + m->runs[i - 1].len : 0);
	fast_eq(got.fblk + got.len, i < m->nr_runs ? m->runs[i].fblk : EXTENT_FBLK_END);
}

static int collect_fn(const struct extent_mapping *ext, void *arg)
{
	return extent_vec_push_test(arg, ext);
}

static void model_compare_map(struct extent_model *m, const struct extent_map *map,
			      bool every_block)
{
	struct extent_vec all = {0};
	uint64_t blocks[4] = {0};
	size_t run_idx = 0;

	model_build_runs(m);
	fast_eq(extent_map_check(map), 0);
	fast_eq(extent_count(map), m->nr_runs);
	fast_eq(extent_iterate(map, 0, collect_fn, &all), 0);
	fast_eq(all.nr, m->nr_runs);
	for (size_t i = 0; i < all.nr; i++) {
		fast_eq(all.v[i].fblk, m->runs[i].fblk);
		fast_eq(all.v[i].len, m->runs[i].len);
		fast_eq(all.v[i].state, m->runs[i].state);
		fast_eq(all.v[i].dblk, m->runs[i].dblk);
		blocks[all.v[i].state] += all.v[i].len;
	}
	for (int s = 0; s < 4; s++)
		fast_eq(extent_blocks(map, s), blocks[s]);
	extent_vec_free(&all);
	if (every_block)
		for (uint64_t b = 0; b < X_N + 4; b++)
			model_check_lookup(m, map, b, &run_idx);
}

#endif /* GUARDFS_EXTENT_MODEL_H */
