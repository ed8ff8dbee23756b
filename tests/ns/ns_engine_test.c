// SPDX-License-Identifier: MIT
/*
 * ns_engine_test.c - the request machinery over the io_uring engine: splitting at the max
 * transfer with iovecs cut anywhere, a failing piece failing the whole request with end_io run
 * exactly once, 256 requests in flight from two threads, end_io that submits from the
 * completion thread, and ns_close waiting for what is in flight.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ns.h"
#include "core/ns_fault.h"
#include "ns_test_util.h"

struct counter {
	atomic_uint calls;
	atomic_int last_error;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static void counter_init(struct counter *c)
{
	atomic_init(&c->calls, 0);
	atomic_init(&c->last_error, 0);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
}

static void counter_hit(struct counter *c, int error)
{
	atomic_store(&c->last_error, error);
	pthread_mutex_lock(&c->lock);
	atomic_fetch_add(&c->calls, 1);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void counter_end_io(struct ns_request *rq)
{
	counter_hit(rq->private, rq->error);
}

static void counter_wait(struct counter *c, unsigned calls)
{
	pthread_mutex_lock(&c->lock);
	while (atomic_load(&c->calls) < calls)
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
}

/* Cut len bytes into iovcnt random pieces (some empty). */
static int cut_iovecs(uint8_t *base, size_t len, struct iovec *iov, int iovcnt)
{
	size_t done = 0;

	for (int i = 0; i < iovcnt; i++) {
		size_t left = len - done;
		size_t take = i == iovcnt - 1 ? left : (left ? test_rand() % (left / 2 + 1) : 0);

		iov[i] = (struct iovec){base + done, take};
		done += take;
	}
	return iovcnt;
}

START_TEST(split_request_round_trips_with_iovecs_cut_anywhere)
{
	struct pi_format fmt = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
	const uint32_t nlb = 896; /* 3.5 MiB: four pieces, the last one partial */
	struct ns_pi_params pi = nst_pi(100, 0xA, PI_CHECK_ALL);
	struct nst_buf buf, back;
	struct iovec iov[9];
	struct counter c;
	char path[256];
	struct ns *ns;

	nst_seed("split_request_round_trips_with_iovecs_cut_anywhere");
	counter_init(&c);
	ns = nst_open_new(&fmt, 2048, true, path, sizeof(path));
	nst_buf_alloc(&buf, &fmt, nlb);
	nst_buf_alloc(&back, &fmt, nlb);
	nst_buf_fill(&buf, &fmt, 100, 0xA);
	struct ns_request wr = {.op = NS_OP_WRITE,
				.slba = 100,
				.nlb = nlb,
				.iov = iov,
				.iovcnt = cut_iovecs(buf.data, (size_t)nlb * 4096, iov, 9),
				.md = buf.md,
				.pi = pi,
				.end_io = counter_end_io,
				.private = &c};
	ck_assert_int_eq(ns_submit(ns, &wr), 0);
	counter_wait(&c, 1);
	ck_assert_int_eq(wr.error, 0);
	struct ns_request rd = {.op = NS_OP_READ,
				.slba = 100,
				.nlb = nlb,
				.iov = iov,
				.iovcnt = cut_iovecs(back.data, (size_t)nlb * 4096, iov, 9),
				.md = back.md,
				.pi = pi,
				.end_io = counter_end_io,
				.private = &c};
	ck_assert_int_eq(ns_submit(ns, &rd), 0);
	counter_wait(&c, 2);
	ck_assert_int_eq(rd.error, 0);
	ck_assert_mem_eq(back.data, buf.data, (size_t)nlb * 4096);
	ck_assert_mem_eq(back.md, buf.md, (size_t)nlb * 8);
	ns_close(ns);
	ck_assert_uint_eq(atomic_load(&c.calls), 2);
	nst_buf_free(&buf);
	nst_buf_free(&back);
	unlink(path);
}
END_TEST

/* k = 1..4: every kth piece fails; a 6-piece request fails once, whatever piece it was. */
START_TEST(failing_piece_fails_the_whole_request_once)
{
	struct pi_format fmt = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
	const uint32_t nlb = 6 * 256;
	struct ns_fault f = {.kind = NS_FAULT_IO_ERROR,
			     .nth = (uint64_t)_i + 1,
			     .every = true,
			     .ops = NS_FAULT_OP(NS_OP_WRITE) | NS_FAULT_OP(NS_OP_READ)};
	struct ns_pi_params pi = nst_pi(0, 0, 0);
	struct nst_buf buf;
	struct counter c;
	struct iovec iov;
	char path[256];
	struct ns *ns;

	nst_seed("failing_piece_fails_the_whole_request_once");
	counter_init(&c);
	ns = nst_open_new(&fmt, nlb, false, path, sizeof(path));
	nst_buf_alloc(&buf, &fmt, nlb);
	memset(buf.data, 0x5A, (size_t)nlb * 4096);
	memset(buf.md, 0, (size_t)nlb * 8);
	ck_assert_int_eq(ns_fault_add(ns, &f), 0);
	iov = (struct iovec){buf.data, (size_t)nlb * 4096};
	for (unsigned r = 0; r < 4; r++) {
		struct ns_request rq = {.op = r % 2 ? NS_OP_READ : NS_OP_WRITE,
					.nlb = nlb,
					.iov = &iov,
					.iovcnt = 1,
					.md = buf.md,
					.pi = pi,
					.end_io = counter_end_io,
					.private = &c};

		ck_assert_int_eq(ns_submit(ns, &rq), 0);
		counter_wait(&c, r + 1);
		ck_assert_int_eq(rq.error, -EIO);
		ck_assert_int_eq(rq.pi_error.tag, PI_TAG_NONE);
	}
	ck_assert_uint_eq(ns_fault_fired(ns, 0), 4 * 6 / (_i + 1));
	ns_close(ns);
	ck_assert_uint_eq(atomic_load(&c.calls), 4);
	nst_buf_free(&buf);
	unlink(path);
}
END_TEST

#define PER_THREAD 128

struct qd_thread {
	struct ns *ns;
	const struct pi_format *fmt;
	uint64_t first_lba;
	bool read;
	struct nst_buf buf;
	struct ns_request rq[PER_THREAD];
	struct iovec iov[PER_THREAD];
	struct counter *c;
};

static void *qd_submit_all(void *arg)
{
	struct qd_thread *t = arg;

	for (unsigned i = 0; i < PER_THREAD; i++) {
		uint64_t lba = t->first_lba + i;

		t->iov[i] = (struct iovec){t->buf.data + (size_t)i * 4096, 4096};
		t->rq[i] = (struct ns_request){.op = t->read ? NS_OP_READ : NS_OP_WRITE,
					       .slba = lba,
					       .nlb = 1,
					       .iov = &t->iov[i],
					       .iovcnt = 1,
					       .md = t->buf.md + (size_t)i * 8,
					       .pi = nst_pi(lba, 0x99, PI_CHECK_ALL),
					       .end_io = counter_end_io,
					       .private = t->c};
		ck_assert_int_eq(ns_submit(t->ns, &t->rq[i]), 0);
	}
	return NULL;
}

START_TEST(queue_depth_256_concurrent_from_two_threads)
{
	struct pi_format fmt = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
	static struct qd_thread w[2], r[2];
	struct counter c;
	pthread_t tid[2];
	char path[256];
	struct ns *ns;

	nst_seed("queue_depth_256_concurrent_from_two_threads");
	counter_init(&c);
	nst_make_image(&fmt, 2 * PER_THREAD, path, sizeof(path));
	ns = test_ns_open(path, &fmt, true);
	for (int t = 0; t < 2; t++) {
		w[t] = (struct qd_thread){
			.ns = ns, .fmt = &fmt, .first_lba = (uint64_t)t * PER_THREAD, .c = &c};
		nst_buf_alloc(&w[t].buf, &fmt, PER_THREAD);
		nst_buf_fill(&w[t].buf, &fmt, w[t].first_lba, 0x99);
		r[t] = w[t];
		r[t].read = true;
		nst_buf_alloc(&r[t].buf, &fmt, PER_THREAD);
	}
	for (int t = 0; t < 2; t++)
		ck_assert_int_eq(pthread_create(&tid[t], NULL, qd_submit_all, &w[t]), 0);
	for (int t = 0; t < 2; t++)
		pthread_join(tid[t], NULL);
	counter_wait(&c, 2 * PER_THREAD);
	for (int t = 0; t < 2; t++)
		ck_assert_int_eq(pthread_create(&tid[t], NULL, qd_submit_all, &r[t]), 0);
	for (int t = 0; t < 2; t++)
		pthread_join(tid[t], NULL);
	counter_wait(&c, 4 * PER_THREAD);
	for (int t = 0; t < 2; t++) {
		for (unsigned i = 0; i < PER_THREAD; i++) {
			ck_assert_int_eq(w[t].rq[i].error, 0);
			ck_assert_int_eq(r[t].rq[i].error, 0);
		}
		ck_assert_mem_eq(r[t].buf.data, w[t].buf.data, PER_THREAD * 4096);
		ck_assert_mem_eq(r[t].buf.md, w[t].buf.md, PER_THREAD * 8);
		nst_buf_free(&w[t].buf);
		nst_buf_free(&r[t].buf);
	}
	ns_close(ns);
	ck_assert_uint_eq(atomic_load(&c.calls), 4 * PER_THREAD);
	unlink(path);
}
END_TEST

struct chain {
	struct ns *ns;
	struct ns_request rq;
	struct iovec iov;
	uint8_t *data;
	uint8_t md[8];
	unsigned left;
	struct counter done;
};

/* Runs on the completion thread: the next request goes out from here. */
static void chain_end_io(struct ns_request *rq)
{
	struct chain *ch = rq->private;

	if (rq->error || --ch->left == 0) {
		counter_hit(&ch->done, rq->error);
		return;
	}
	rq->slba = (rq->slba + 1) % 64;
	if (ns_submit(ch->ns, rq))
		counter_hit(&ch->done, -EIO);
}

START_TEST(end_io_may_submit_from_the_completion_thread)
{
	struct pi_format fmt = test_format(4096, 8, PI_TYPE_NONE, PI_GUARD_16, false);
	struct chain ch = {.left = 500};
	char path[256];
	struct ns_stats st;

	ch.ns = nst_open_new(&fmt, 64, false, path, sizeof(path));
	counter_init(&ch.done);
	ck_assert_int_eq(posix_memalign((void **)&ch.data, 4096, 4096), 0);
	memset(ch.data, 0x11, 4096);
	ch.iov = (struct iovec){ch.data, 4096};
	ch.rq = (struct ns_request){.op = NS_OP_WRITE,
				    .nlb = 1,
				    .iov = &ch.iov,
				    .iovcnt = 1,
				    .md = ch.md,
				    .end_io = chain_end_io,
				    .private = &ch};
	ck_assert_int_eq(ns_submit(ch.ns, &ch.rq), 0);
	counter_wait(&ch.done, 1);
	ck_assert_int_eq(ch.rq.error, 0);
	ck_assert_uint_eq(ch.left, 0);
	ns_get_stats(ch.ns, &st);
	ck_assert_uint_eq(st.writes, 500);
	ns_close(ch.ns);
	free(ch.data);
	unlink(path);
}
END_TEST

START_TEST(close_waits_for_requests_in_flight)
{
	struct pi_format fmt = test_format(512, 0, PI_TYPE_NONE, PI_GUARD_16, false);
	struct ns_request rq[64];
	struct iovec iov[64];
	struct counter c;
	uint8_t *data;
	char path[256];
	struct ns *ns;

	counter_init(&c);
	ns = nst_open_new(&fmt, 64, false, path, sizeof(path));
	ck_assert_int_eq(posix_memalign((void **)&data, 4096, 64 * 512), 0);
	for (int i = 0; i < 64; i++) {
		iov[i] = (struct iovec){data + i * 512, 512};
		rq[i] = (struct ns_request){.op = NS_OP_READ,
					    .slba = (uint64_t)i,
					    .nlb = 1,
					    .iov = &iov[i],
					    .iovcnt = 1,
					    .end_io = counter_end_io,
					    .private = &c};
		ck_assert_int_eq(ns_submit(ns, &rq[i]), 0);
	}
	ns_close(ns);
	ck_assert_uint_eq(atomic_load(&c.calls), 64);
	free(data);
	unlink(path);
}
END_TEST

START_TEST(submit_wait_refuses_a_request_with_end_io)
{
	struct pi_format fmt = test_format(512, 0, PI_TYPE_NONE, PI_GUARD_16, false);
	struct ns_request rq = {.op = NS_OP_FLUSH, .end_io = counter_end_io};
	struct ns_request no_end_io = {.op = NS_OP_FLUSH};
	char path[256];
	struct ns *ns;

	ns = nst_open_new(&fmt, 8, false, path, sizeof(path));
	ck_assert_int_eq(ns_submit_wait(ns, &rq), -EINVAL);
	ck_assert_int_eq(ns_submit(ns, &no_end_io), -EINVAL);
	ns_close(ns);
	unlink(path);
}
END_TEST

struct sync_worker {
	struct ns *ns;
	const struct pi_format *fmt;
	uint64_t first_lba;
	int failures;
};

/* Synchronous writes and reads, each waiting for its own completion: the eventfd wake path. */
static void *sync_worker_run(void *arg)
{
	struct sync_worker *w = arg;
	struct nst_buf buf, back;

	nst_buf_alloc(&buf, w->fmt, 1);
	nst_buf_alloc(&back, w->fmt, 1);
	for (unsigned i = 0; i < 200; i++) {
		uint64_t lba = w->first_lba + i % 16;
		struct ns_pi_params pi = nst_pi(lba, 0x5, PI_CHECK_ALL);

		memset(buf.data, (int)(i + w->first_lba), 4096);
		memset(buf.md, 0, 8);
		if (ns_write_sync(w->ns, lba, 1, buf.data, buf.md, &pi) ||
		    ns_read_sync(w->ns, lba, 1, back.data, back.md, &pi) ||
		    memcmp(buf.data, back.data, 4096))
			w->failures++;
	}
	nst_buf_free(&buf);
	nst_buf_free(&back);
	return NULL;
}

START_TEST(sync_io_from_four_threads)
{
	struct pi_format fmt = test_format(4096, 8, PI_TYPE_NONE, PI_GUARD_16, false);
	struct sync_worker w[4];
	pthread_t tid[4];
	struct ns_stats st;
	char path[256];
	struct ns *ns;

	ns = nst_open_new(&fmt, 64, false, path, sizeof(path));
	for (int t = 0; t < 4; t++) {
		w[t] = (struct sync_worker){.ns = ns, .fmt = &fmt, .first_lba = (uint64_t)t * 16};
		ck_assert_int_eq(pthread_create(&tid[t], NULL, sync_worker_run, &w[t]), 0);
	}
	for (int t = 0; t < 4; t++) {
		pthread_join(tid[t], NULL);
		ck_assert_int_eq(w[t].failures, 0);
	}
	ns_get_stats(ns, &st);
	ck_assert_uint_eq(st.writes, 800);
	ck_assert_uint_eq(st.reads, 800);
	ns_close(ns);
	unlink(path);
}
END_TEST

static Suite *ns_engine_suite(void)
{
	Suite *s = suite_create("ns_engine");
	TCase *tc = tcase_create("engine");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, split_request_round_trips_with_iovecs_cut_anywhere);
	tcase_add_loop_test(tc, failing_piece_fails_the_whole_request_once, 0, 4);
	tcase_add_test(tc, queue_depth_256_concurrent_from_two_threads);
	tcase_add_test(tc, end_io_may_submit_from_the_completion_thread);
	tcase_add_test(tc, sync_io_from_four_threads);
	tcase_add_test(tc, close_waits_for_requests_in_flight);
	tcase_add_test(tc, submit_wait_refuses_a_request_with_end_io);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(ns_engine_suite());
}
