// SPDX-License-Identifier: MIT
/*
 * ns_order_test.c - commands over the same blocks keep each block's data and metadata together
 * (core/ns_order.h): the order's rules on hand-made commands (overlap, reads among themselves,
 * submission order, a batch held by its submitter), and the file backend under overlapping
 * writes and reads from several threads: every block must pass its PI check afterwards, and
 * no read may see one write's data with another's metadata. Before the order existed, the
 * second test failed in most runs (a block's data from one write, its guard from another).
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ns_internal.h"
#include "core/ns_order.h"
#include "ns_test_util.h"

/* ---- the rules, on commands that never reach a device ---- */

static bool enter(struct ns_order *o, struct ns_cmd *c, uint64_t start, uint64_t end, bool w)
{
	return ns_order_enter(o, c, start, end, w);
}

/* The commands of a ready chain, as a bit set of their indexes in cmds. */
static unsigned chain_set(struct ns_cmd *chain, struct ns_cmd *cmds)
{
	unsigned set = 0;

	for (; chain; chain = chain->order.ready)
		set |= 1u << (chain - cmds);
	return set;
}

START_TEST(reads_share_writes_wait_for_overlaps_only)
{
	struct ns_cmd c[5];
	struct ns_cmd *batch[5] = {&c[0], &c[1], &c[2], &c[3], &c[4]};
	struct ns_order o;

	memset(c, 0, sizeof(c));
	ns_order_init(&o);
	ck_assert(enter(&o, &c[0], 0, 8, false));    /* read 0-7 */
	ck_assert(enter(&o, &c[1], 4, 12, false));   /* read over it: reads share */
	ck_assert(!enter(&o, &c[2], 7, 8, true));    /* write into both: waits */
	ck_assert(enter(&o, &c[3], 12, 16, true));   /* write beside both: goes */
	ck_assert(!enter(&o, &c[4], 15, 20, false)); /* read over the running write: waits */
	ck_assert_uint_eq(chain_set(ns_order_release(&o, batch, 5), c), 0);
	ck_assert_uint_eq(chain_set(ns_order_exit(&o, &c[0]), c), 0); /* c[1] still reads 7 */
	ck_assert_uint_eq(chain_set(ns_order_exit(&o, &c[1]), c), 1u << 2);
	ck_assert_uint_eq(chain_set(ns_order_exit(&o, &c[3]), c), 1u << 4);
	ck_assert_uint_eq(chain_set(ns_order_exit(&o, &c[2]), c), 0);
	ck_assert_uint_eq(chain_set(ns_order_exit(&o, &c[4]), c), 0);
	ns_order_destroy(&o);
}
END_TEST

START_TEST(overlapping_commands_start_in_submission_order)
{
	struct ns_cmd c[4];
	struct ns_cmd *batch[4] = {&c[0], &c[1], &c[2], &c[3]};
	struct ns_order o;

	memset(c, 0, sizeof(c));
	ns_order_init(&o);
	ck_assert(enter(&o, &c[0], 0, 8, true));     /* W1 0-7 */
	ck_assert(!enter(&o, &c[1], 4, 12, true));   /* W2 4-11 behind W1 */
	ck_assert(!enter(&o, &c[2], 10, 12, false)); /* R3 behind W2, which is still waiting */
	ck_assert(!enter(&o, &c[3], 0, 2, false));   /* R4 behind W1 only */
	ck_assert_uint_eq(chain_set(ns_order_release(&o, batch, 4), c), 0);
	/* W1 done: W2 and R4 may go, R3 still waits for W2. */
	ck_assert_uint_eq(chain_set(ns_order_exit(&o, &c[0]), c), (1u << 1) | (1u << 3));
	ck_assert_uint_eq(chain_set(ns_order_exit(&o, &c[3]), c), 0);
	ck_assert_uint_eq(chain_set(ns_order_exit(&o, &c[1]), c), 1u << 2);
	ck_assert_uint_eq(chain_set(ns_order_exit(&o, &c[2]), c), 0);
	ns_order_destroy(&o);
}
END_TEST

START_TEST(a_held_batch_is_started_by_its_submitter_only)
{
	struct ns_cmd w, r, other;
	struct ns_cmd *batch[1] = {&r}, *first[1] = {&w};
	struct ns_order o;

	memset(&w, 0, sizeof(w));
	memset(&r, 0, sizeof(r));
	memset(&other, 0, sizeof(other));
	ns_order_init(&o);
	ck_assert(enter(&o, &w, 0, 4, true));
	ck_assert_ptr_null(ns_order_release(&o, first, 1));
	ck_assert(!enter(&o, &r, 2, 3, false));
	/* The write completes while the read's submitter still holds it: nobody else starts it. */
	ck_assert_ptr_null(ns_order_exit(&o, &w));
	/* Released: its submitter gets it back, free to start. */
	ck_assert_ptr_eq(ns_order_release(&o, batch, 1), &r);
	ck_assert(!r.order.waiting);
	/* A command never entered is ignored. */
	ck_assert_ptr_null(ns_order_exit(&o, &other));
	ck_assert_ptr_null(ns_order_exit(&o, &r));
	ns_order_destroy(&o);
}
END_TEST

/* ---- the file backend under overlapping writes and reads ---- */

#define HOT_LBAS   8u /* every write covers all of them: they always overlap */
#define WRITERS	   3
#define WRITES	   400
#define QD_PER_THR 8

struct hammer {
	struct ns *ns;
	struct pi_format fmt;
	atomic_bool stop;
	atomic_uint pi_errors; /* reads or writes that failed */
	atomic_uint reads;
};

/* A writer's requests in flight. */
struct batch {
	struct hammer *h;
	pthread_mutex_t lock;
	pthread_cond_t done;
	unsigned pending;
};

struct slot {
	struct ns_request rq;
	struct iovec iov;
	struct nst_buf buf;
	struct ns_pi_params pi;
};

static void writer_end_io(struct ns_request *rq)
{
	struct batch *b = rq->private;

	if (rq->error)
		atomic_fetch_add(&b->h->pi_errors, 1);
	pthread_mutex_lock(&b->lock);
	if (--b->pending == 0)
		pthread_cond_signal(&b->done);
	pthread_mutex_unlock(&b->lock);
}

/* One writer: QD_PER_THR writes of the hot blocks in flight at a time, each a new pattern. */
static void *writer_main(void *arg)
{
	struct batch b = {
		.h = arg, .lock = PTHREAD_MUTEX_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};
	struct hammer *h = b.h;
	struct slot s[QD_PER_THR];

	for (int i = 0; i < QD_PER_THR; i++)
		nst_buf_alloc(&s[i].buf, &h->fmt, HOT_LBAS);
	for (int done = 0; done < WRITES; done += QD_PER_THR) {
		b.pending = QD_PER_THR;
		for (int i = 0; i < QD_PER_THR; i++) {
			nst_buf_fill(&s[i].buf, &h->fmt, 0, 0x77);
			s[i].pi = nst_pi(0, 0x77, PI_CHECK_ALL);
			s[i].rq = nst_request(NS_OP_WRITE, 0, HOT_LBAS, &s[i].buf, h->fmt.lba_size,
					      &s[i].iov, &s[i].pi);
			s[i].rq.end_io = writer_end_io;
			s[i].rq.private = &b;
			ck_assert_int_eq(ns_submit(h->ns, &s[i].rq), 0);
		}
		pthread_mutex_lock(&b.lock);
		while (b.pending)
			pthread_cond_wait(&b.done, &b.lock);
		pthread_mutex_unlock(&b.lock);
	}
	for (int i = 0; i < QD_PER_THR; i++)
		nst_buf_free(&s[i].buf);
	return NULL;
}

/* A reader: strict reads of the hot blocks until the writers are done; none may fail. */
static void *reader_main(void *arg)
{
	struct hammer *h = arg;
	struct ns_pi_params pi = nst_pi(0, 0x77, PI_CHECK_ALL);
	struct nst_buf buf;

	nst_buf_alloc(&buf, &h->fmt, HOT_LBAS);
	while (!atomic_load(&h->stop)) {
		if (ns_read_sync(h->ns, 0, HOT_LBAS, buf.data, buf.md, &pi))
			atomic_fetch_add(&h->pi_errors, 1);
		atomic_fetch_add(&h->reads, 1);
	}
	nst_buf_free(&buf);
	return NULL;
}

START_TEST(overlapping_writes_and_reads_never_mix_data_and_pi)
{
	struct hammer h = {.fmt = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false)};
	struct ns_pi_params pi = nst_pi(0, 0x77, PI_CHECK_ALL);
	pthread_t writers[WRITERS], reader;
	unsigned errors, reads;
	struct nst_buf buf;
	char path[256];

	nst_seed("overlapping_writes_and_reads_never_mix_data_and_pi");
	/* Strict: the backend checks PI on every write and read, as a controller would. */
	h.ns = nst_open_new(&h.fmt, 64, true, path, sizeof(path));
	/* Start from valid PI, so that the first reads have something to check. */
	nst_buf_alloc(&buf, &h.fmt, HOT_LBAS);
	nst_buf_fill(&buf, &h.fmt, 0, 0x77);
	ck_assert_int_eq(ns_write_sync(h.ns, 0, HOT_LBAS, buf.data, buf.md, &pi), 0);
	pthread_create(&reader, NULL, reader_main, &h);
	for (int i = 0; i < WRITERS; i++)
		pthread_create(&writers[i], NULL, writer_main, &h);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(writers[i], NULL);
	atomic_store(&h.stop, true);
	pthread_join(reader, NULL);
	errors = atomic_load(&h.pi_errors);
	reads = atomic_load(&h.reads);
	ck_assert_uint_eq(errors, 0);
	ck_assert_uint_gt(reads, 0);
	/* What is left on the image is whole: data and PI of one write per block. */
	ck_assert_int_eq(ns_read_sync(h.ns, 0, HOT_LBAS, buf.data, buf.md, &pi), 0);
	ns_close(h.ns);
	/* And again after reopening, from the file itself, not from anything in memory. */
	h.ns = test_ns_open(path, &h.fmt, true);
	ck_assert_int_eq(ns_read_sync(h.ns, 0, HOT_LBAS, buf.data, buf.md, &pi), 0);
	ns_close(h.ns);
	nst_buf_free(&buf);
	unlink(path);
}
END_TEST

static Suite *ns_order_suite(void)
{
	Suite *s = suite_create("ns_order");
	TCase *rules = tcase_create("rules");
	TCase *file = tcase_create("file");

	tcase_add_test(rules, reads_share_writes_wait_for_overlaps_only);
	tcase_add_test(rules, overlapping_commands_start_in_submission_order);
	tcase_add_test(rules, a_held_batch_is_started_by_its_submitter_only);
	suite_add_tcase(s, rules);
	tcase_set_timeout(file, 120);
	tcase_add_test(file, overlapping_writes_and_reads_never_mix_data_and_pi);
	suite_add_tcase(s, file);
	return s;
}

int main(void)
{
	return test_run_suite(ns_order_suite());
}
