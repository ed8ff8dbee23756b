/* SPDX-License-Identifier: MIT */
/* jt_util.c - helpers for the journal suites; see jt_util.h. */
#include "tests/journal/jt_util.h"

#include <check.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

static uint64_t rng_state;

uint64_t jt_seed(const char *suite)
{
	const char *env = getenv("JOURNAL_TEST_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ (uint64_t)getpid();

	printf("%s: seed %" PRIu64 " (JOURNAL_TEST_SEED=%" PRIu64 " replays)\n", suite, seed, seed);
	fflush(stdout);
	rng_state = seed ? seed : 1;
	return seed;
}

uint64_t jt_rand(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

struct pi_format jt_format(uint32_t lba, uint32_t md, enum pi_type type, enum pi_guard guard,
			   bool pi_first)
{
	struct pi_format f = {
		.lba_size = lba,
		.md_size = md,
		.type = type,
		.guard = guard,
		.pi_first = pi_first,
		.layout = PI_MD_SEPARATE,
	};
	return f;
}

void jt_make_image(const struct pi_format *fmt, uint64_t nlb, char *path, size_t len)
{
	const char *dir = getenv("JOURNAL_TEST_DIR") ? getenv("JOURNAL_TEST_DIR") : "/var/tmp";
	int fd;

	snprintf(path, len, "%s/gfs-journal-XXXXXX", dir);
	fd = mkstemp(path);
	ck_assert_msg(fd >= 0, "mkstemp %s", path);
	ck_assert_int_eq(ftruncate(fd, (off_t)(nlb * (fmt->lba_size + fmt->md_size))), 0);
	close(fd);
}

struct ns *jt_open(const char *path, const struct pi_format *fmt)
{
	return jt_open_mode(path, fmt, false);
}

struct ns *jt_open_mode(const char *path, const struct pi_format *fmt, bool strict)
{
	struct ns_options opts = {.format = fmt, .strict = strict};
	struct ns *ns = NULL;

	ck_assert_int_eq(ns_open(path, &opts, &ns), 0);
	return ns;
}

void jt_mkfs(struct ns *ns, const struct sb_params *p, struct sb *sb)
{
	ck_assert_int_eq(sb_format(ns, p, sb), 0);
	ck_assert_int_eq(journal_format(ns, sb), 0);
}

uint64_t jt_data_off(const struct pi_format *fmt, uint64_t lba)
{
	return lba * fmt->lba_size;
}

uint64_t jt_md_off(const struct pi_format *fmt, uint64_t nlb, uint64_t lba)
{
	return nlb * fmt->lba_size + lba * fmt->md_size;
}

void jt_pread(const char *path, uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

void jt_pwrite(const char *path, uint64_t off, const void *buf, size_t len)
{
	int fd = open(path, O_RDWR);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

void jt_flip_byte(const char *path, uint64_t off, uint8_t mask)
{
	uint8_t b;

	jt_pread(path, off, &b, 1);
	b ^= mask;
	jt_pwrite(path, off, &b, 1);
}

static pthread_mutex_t cap_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned errs, warns;
static char last_err[1024], last_warn[1024];

static void jt_hook(enum gfs_log_level level, const char *line, void *arg)
{
	pthread_mutex_lock(&cap_lock);
	if (level == GFS_LOG_ERR) {
		errs++;
		snprintf(last_err, sizeof(last_err), "%s", line);
	} else if (level == GFS_LOG_WARN) {
		warns++;
		snprintf(last_warn, sizeof(last_warn), "%s", line);
	}
	pthread_mutex_unlock(&cap_lock);
}

void jt_log_capture(void)
{
	pthread_mutex_lock(&cap_lock);
	errs = warns = 0;
	last_err[0] = last_warn[0] = 0;
	pthread_mutex_unlock(&cap_lock);
	gfs_log_set_hook(jt_hook, NULL);
}

unsigned jt_err_count(void)
{
	return errs;
}

unsigned jt_warn_count(void)
{
	return warns;
}

const char *jt_last_err(void)
{
	return last_err;
}

const char *jt_last_warn(void)
{
	return last_warn;
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
