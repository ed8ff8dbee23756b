// SPDX-License-Identifier: MIT
/*
 * ns_test_util.c - shared helpers of the namespace-layer suites (see ns_test_util.h).
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "ns_test_util.h"

static uint64_t nst_rng_state;

uint64_t nst_rand(void)
{
	uint64_t z = (nst_rng_state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

uint64_t nst_seed(const char *suite)
{
	const char *env = getenv("NS_TEST_SEED");
	uint64_t seed;

	if (env) {
		seed = strtoull(env, NULL, 0);
	} else {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec;
	}
	printf("%s: seed %llu (re-run with NS_TEST_SEED=%llu)\n", suite, (unsigned long long)seed,
	       (unsigned long long)seed);
	fflush(stdout);
	nst_rng_state = seed;
	return seed;
}

struct pi_format nst_format(uint32_t lba, uint32_t md, enum pi_type type, enum pi_guard guard,
			    bool pi_first)
{
	struct pi_format fmt = {
		.lba_size = lba,
		.md_size = md,
		.type = type,
		.guard = guard,
		.pi_first = pi_first,
		.layout = PI_MD_SEPARATE,
	};
	return fmt;
}

void nst_make_image(const struct pi_format *fmt, uint64_t nlb, char *path, size_t size)
{
	const char *dir = getenv("NS_TEST_DIR") ? getenv("NS_TEST_DIR") : "/var/tmp";
	int fd;

	snprintf(path, size, "%s/ns-test-XXXXXX", dir);
	fd = mkstemp(path);
	ck_assert_msg(fd >= 0, "mkstemp in %s failed", dir);
	ck_assert_int_eq(ftruncate(fd, (off_t)(nlb * (fmt->lba_size + fmt->md_size))), 0);
	close(fd);
}

struct ns *nst_open(const char *path, const struct pi_format *fmt, bool strict)
{
	struct ns_options opts = {.format = fmt, .strict = strict};
	struct ns *ns = NULL;

	ck_assert_int_eq(ns_open(path, &opts, &ns), 0);
	return ns;
}

void nst_buf_alloc(struct nst_buf *buf, const struct pi_format *fmt, uint32_t nlb)
{
	size_t data_len = (size_t)nlb * fmt->lba_size, md_len = (size_t)nlb * fmt->md_size;

	ck_assert_int_eq(posix_memalign((void **)&buf->data, 4096, data_len ? data_len : 1), 0);
	buf->md = malloc(md_len ? md_len : 1);
	ck_assert_ptr_nonnull(buf->md);
	buf->nlb = nlb;
}

void nst_buf_free(struct nst_buf *buf)
{
	free(buf->data);
	free(buf->md);
	buf->data = buf->md = NULL;
}

void nst_buf_fill(struct nst_buf *buf, const struct pi_format *fmt, uint64_t slba, uint16_t app)
{
	size_t data_len = (size_t)buf->nlb * fmt->lba_size,
	       md_len = (size_t)buf->nlb * fmt->md_size;
	struct iovec iov = {.iov_base = buf->data, .iov_len = data_len};
	struct pi_io io = {.lba = slba, .ref_tag = slba, .app_tag = app};
	struct pi_ctx ctx;

	for (size_t i = 0; i < data_len; i += 8) {
		uint64_t r = nst_rand();

		memcpy(buf->data + i, &r, 8);
	}
	for (size_t i = 0; i < md_len; i++)
		buf->md[i] = (uint8_t)nst_rand();
	if (fmt->type == PI_TYPE_NONE)
		return;
	ck_assert_int_eq(pi_ctx_init(&ctx, fmt), 0);
	ck_assert_int_eq(pi_generate(&ctx, &iov, 1, buf->md, buf->nlb, &io), 0);
}

struct ns_pi_params nst_pi(uint64_t slba, uint16_t app, uint8_t checks)
{
	struct ns_pi_params pi = {
		.ref_tag = slba,
		.app_tag = app,
		.app_mask = 0xFFFF,
		.checks = checks,
	};
	return pi;
}

uint64_t nst_md_offset(const struct pi_format *fmt, uint64_t nlb_total, uint64_t lba)
{
	return nlb_total * fmt->lba_size + lba * fmt->md_size;
}

void nst_raw_read(const char *path, const struct pi_format *fmt, uint64_t nlb_total, uint64_t lba,
		  void *data, void *md)
{
	int fd = open(path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	if (data)
		ck_assert_int_eq(pread(fd, data, fmt->lba_size, (off_t)(lba * fmt->lba_size)),
				 (ssize_t)fmt->lba_size);
	if (md && fmt->md_size)
		ck_assert_int_eq(
			pread(fd, md, fmt->md_size, (off_t)nst_md_offset(fmt, nlb_total, lba)),
			(ssize_t)fmt->md_size);
	close(fd);
}

void nst_raw_write(const char *path, uint64_t offset, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, buf, len, (off_t)offset), (ssize_t)len);
	close(fd);
}

static unsigned nst_lines;
static char nst_last[512];

static void nst_log_hook(enum gfs_log_level level, const char *line, void *arg)
{
	if (level > GFS_LOG_ERR)
		return;
	nst_lines++;
	snprintf(nst_last, sizeof(nst_last), "%s", line);
}

void nst_log_capture(void)
{
	nst_lines = 0;
	nst_last[0] = '\0';
	gfs_log_set_hook(nst_log_hook, NULL);
}

unsigned nst_log_lines(void)
{
	return nst_lines;
}

const char *nst_log_last(void)
{
	return nst_last;
}
