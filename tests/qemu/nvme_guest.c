/* SPDX-License-Identifier: MIT */
/*
 * nvme_guest.c - runs inside the QEMU guest against /dev/ng0nN through the NVMe backend of
 * core/ns, so every block goes through a real NVMe driver to QEMU's emulated controller,
 * which checks PI itself (PRCHK) on every command.
 *
 *   nvme_guest write-verify DEV=FORMAT...        write patterns with PI, read back, check
 *   nvme_guest check-corruption SEED DEV=FORMAT... the host corrupted one data byte and one
 *                                                 PI byte per namespace: exactly those LBAs fail
 *   nvme_guest read-all DEV=FORMAT...            cross-check: read a host-written image in full
 *
 * DEV=FORMAT pairs are numbered from 1 in the order given (the namespace index the host used
 * for app tags and corruption picks). Every failure prints one line "FAIL <format> LBA <n>:
 * <reason>"; the exit status is the number of failed namespaces (0 = all passed).
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/ns.h"
#include "tests/qemu/nvme_guest.h"

void qg_fail(struct qg_dev *dev, uint64_t lba, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	printf("FAIL %s (%s) LBA %" PRIu64 ": %s\n", dev->spec, dev->path, lba, reason);
	fflush(stdout);
	dev->failed++;
}

/* The last error line the library logged: tests check what the device said. */
static pthread_mutex_t qg_log_lock = PTHREAD_MUTEX_INITIALIZER;
static char qg_last_log[1024];

static void qg_log_hook(enum gfs_log_level level, const char *line, void *arg)
{
	if (level > GFS_LOG_WARN)
		return;
	pthread_mutex_lock(&qg_log_lock);
	snprintf(qg_last_log, sizeof(qg_last_log), "%s", line);
	pthread_mutex_unlock(&qg_log_lock);
}

void qg_last_log_line(char *buf, size_t len)
{
	pthread_mutex_lock(&qg_log_lock);
	snprintf(buf, len, "%s", qg_last_log);
	qg_last_log[0] = '\0';
	pthread_mutex_unlock(&qg_log_lock);
}

struct ns_pi_params qg_pi_params(const struct qg_dev *dev, uint32_t salt, uint64_t slba)
{
	struct ns_pi_params pi = {
		.ref_tag = qt_ref_tag(&dev->fmt, slba),
		.app_tag = qt_app_tag(dev->index, salt),
		.app_mask = 0xffff,
		.checks = PI_CHECK_ALL,
	};

	return pi;
}

/* Every block carries qt_ref_tag() of its LBA, whatever the type. */
void qg_expect_run(const struct qg_dev *dev, uint32_t salt, uint64_t slba, uint32_t nlb,
		   uint8_t *data, uint8_t *md)
{
	const struct pi_format *f = &dev->fmt;
	uint32_t i;

	for (i = 0; i < nlb; i++) {
		uint8_t *d = data + (size_t)i * f->lba_size, *m = md + (size_t)i * f->md_size;
		struct iovec iov = {d, f->lba_size};
		struct pi_io io = {
			.lba = slba + i,
			.ref_tag = qt_ref_tag(f, slba + i),
			.app_tag = qt_app_tag(dev->index, salt),
			.app_mask = 0xffff,
			.checks = PI_CHECK_ALL,
		};

		qt_fill(d, f->lba_size, slba + i, salt, 0);
		qt_fill(m, f->md_size, slba + i, salt, 1); /* bytes outside the tuple stay so */
		if (pi_generate(&dev->pi, &iov, 1, m, 1, &io))
			abort();
	}
}

static int qg_sync(struct qg_dev *dev, enum ns_op op, uint64_t slba, uint32_t nlb, void *data,
		   void *md, const struct ns_pi_params *pi, struct pi_error *pe)
{
	struct iovec iov = {data, (size_t)nlb * dev->fmt.lba_size};
	struct ns_request rq = {
		.op = op,
		.slba = slba,
		.nlb = nlb,
		.iov = &iov,
		.iovcnt = 1,
		.md = md,
		.pi = *pi,
	};
	int ret = ns_submit_wait(dev->ns, &rq);

	if (pe)
		*pe = rq.pi_error;
	return ret;
}

int qg_read(struct qg_dev *dev, uint64_t slba, uint32_t nlb, void *data, void *md,
	    const struct ns_pi_params *pi, struct pi_error *pe)
{
	return qg_sync(dev, NS_OP_READ, slba, nlb, data, md, pi, pe);
}

int qg_write(struct qg_dev *dev, uint64_t slba, uint32_t nlb, const void *data, const void *md,
	     const struct ns_pi_params *pi, struct pi_error *pe)
{
	return qg_sync(dev, NS_OP_WRITE, slba, nlb, (void *)data, (void *)md, pi, pe);
}

void qg_expect_pi_failure(struct qg_dev *dev, const char *what, int ret, const struct pi_error *pe,
			  int want_errno, enum pi_tag want_tag, uint64_t want_lba,
			  const char *want_status)
{
	char line[1024];

	qg_last_log_line(line, sizeof(line));
	if (ret != want_errno) {
		qg_fail(dev, want_lba, "%s returned %d (%s), expected %d", what, ret,
			strerror(-ret), want_errno);
		return;
	}
	if (want_tag != PI_TAG_NONE && (pe->tag != want_tag || pe->lba != want_lba)) {
		qg_fail(dev, want_lba, "%s reported a %s error at LBA %" PRIu64 ", expected %s",
			what, pi_tag_name(pe->tag), pe->lba, pi_tag_name(want_tag));
		return;
	}
	if (want_status && !strstr(line, want_status)) {
		qg_fail(dev, want_lba, "%s: the log line does not show NVMe status %s: \"%s\"",
			what, want_status, line);
		return;
	}
	printf("ok %s %s: %s\n", dev->spec, what, line[0] ? line : strerror(-ret));
}

int qg_compare(struct qg_dev *dev, const char *what, uint64_t slba, uint32_t nlb,
	       const uint8_t *data, const uint8_t *md, const uint8_t *want_data,
	       const uint8_t *want_md)
{
	const struct pi_format *f = &dev->fmt;
	int bad = 0;
	uint32_t i;

	for (i = 0; i < nlb && bad < 4; i++) {
		size_t d = (size_t)i * f->lba_size, m = (size_t)i * f->md_size;

		if (memcmp(data + d, want_data + d, f->lba_size)) {
			qg_fail(dev, slba + i, "%s: data differs from the pattern", what);
			bad++;
		} else if (memcmp(md + m, want_md + m, f->md_size)) {
			qg_fail(dev, slba + i, "%s: metadata differs from what was written", what);
			bad++;
		}
	}
	return bad;
}

/* Open DEV and check that the NVMe backend found the format the host attached. */
static int qg_open(struct qg_dev *dev)
{
	struct ns_options opts = {.format = &dev->fmt, .queue_depth = 64};
	const struct ns_format *nf;
	int ret;

	if (pi_ctx_init(&dev->pi, &dev->fmt))
		abort();
	ret = ns_open(dev->path, &opts, &dev->ns);
	if (ret) {
		qg_fail(dev, 0, "ns_open failed: %s", strerror(-ret));
		return ret;
	}
	nf = ns_get_format(dev->ns);
	if (ns_get_backend(dev->ns) != NS_BACKEND_NVME || nf->nlb != QT_NLB) {
		qg_fail(dev, 0, "backend %d, %" PRIu64 " blocks: expected NVMe, %u blocks",
			(int)ns_get_backend(dev->ns), nf->nlb, QT_NLB);
		ns_close(dev->ns);
		return -EINVAL;
	}
	printf("open %s: %s, %" PRIu64 " blocks, max transfer %u, vwc %d, write-zeroes %d, "
	       "deallocate %d\n",
	       dev->path, dev->spec, nf->nlb, nf->max_transfer, nf->volatile_cache,
	       nf->write_zeroes, nf->deallocate);
	return 0;
}

static int qg_parse_devs(int argc, char **argv, struct qg_dev **out)
{
	struct qg_dev *devs = calloc(argc, sizeof(*devs));
	int i;

	for (i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (!eq || qt_parse_format(eq + 1, &devs[i].fmt)) {
			fprintf(stderr, "bad DEV=FORMAT argument: %s\n", argv[i]);
			free(devs);
			return -1;
		}
		*eq = '\0';
		devs[i].path = argv[i];
		devs[i].spec = eq + 1;
		devs[i].index = i + 1;
	}
	*out = devs;
	return argc;
}

static int qg_usage(void)
{
	fprintf(stderr, "usage: nvme_guest write-verify DEV=FORMAT...\n"
			"       nvme_guest check-corruption SEED DEV=FORMAT...\n"
			"       nvme_guest read-all DEV=FORMAT...\n");
	return 2;
}

int main(int argc, char **argv)
{
	uint64_t seed = 0;
	struct qg_dev *devs;
	int first = 2, count, i, failed = 0;
	const char *cmd;

	if (argc < 3)
		return qg_usage();
	cmd = argv[1];
	if (!strcmp(cmd, "check-corruption")) {
		seed = strtoull(argv[2], NULL, 0);
		first = 3;
	} else if (strcmp(cmd, "write-verify") && strcmp(cmd, "read-all")) {
		return qg_usage();
	}
	if (argc <= first)
		return qg_usage();
	count = qg_parse_devs(argc - first, argv + first, &devs);
	if (count <= 0)
		return qg_usage();
	gfs_log_set_hook(qg_log_hook, NULL);
	for (i = 0; i < count; i++) {
		struct qg_dev *dev = &devs[i];

		if (qg_open(dev) == 0) {
			if (!strcmp(cmd, "write-verify") && i == 0)
				qg_check_refusals(dev);
			if (!strcmp(cmd, "write-verify"))
				qg_write_verify(dev);
			else if (!strcmp(cmd, "read-all"))
				qg_read_all(dev);
			else
				qg_check_corruption(dev, seed);
			ns_close(dev->ns);
		}
		printf("%s %s %s (%s)\n", dev->failed ? "FAILED" : "passed", cmd, dev->spec,
		       dev->path);
		failed += dev->failed != 0;
	}
	free(devs);
	fflush(stdout);
	return failed;
}
