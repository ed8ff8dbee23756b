/* SPDX-License-Identifier: MIT */
/*
 * test_ns.c - formats, images, namespaces and log capture for the suites on image files (see
 * test_ns.h).
 */
#include "tests/util/test_ns.h"

#include <pthread.h>
#include <stdio.h>

#include "core/log.h"

struct pi_format test_format(uint32_t lba, uint32_t md, enum pi_type type, enum pi_guard guard,
			     bool pi_first)
{
	return (struct pi_format){
		.lba_size = lba,
		.md_size = md,
		.type = type,
		.guard = guard,
		.pi_first = pi_first,
		.layout = PI_MD_SEPARATE,
	};
}

struct pi_format test_format_default(void)
{
	return test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
}

uint64_t test_data_offset(const struct pi_format *fmt, uint64_t lba)
{
	return lba * fmt->lba_size;
}

uint64_t test_md_offset(const struct pi_format *fmt, uint64_t nlb, uint64_t lba)
{
	return nlb * fmt->lba_size + lba * fmt->md_size;
}

void test_make_image(const char *dir_var, const char *name, const struct pi_format *fmt,
		     uint64_t nlb, char *path, size_t size)
{
	test_make_file(dir_var, name, nlb * (fmt->lba_size + fmt->md_size), path, size);
}

struct ns *test_ns_open(const char *path, const struct pi_format *fmt, bool strict)
{
	struct ns_options opts = {.format = fmt, .strict = strict};
	struct ns *ns = NULL;
	int ret = ns_open(path, &opts, &ns);

	ck_assert_msg(ret == 0, "ns_open %s: %d", path, ret);
	return ns;
}

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned log_errors, log_warnings;
static char log_last_error[1024], log_last_warning[1024];

static void log_hook(enum gfs_log_level level, const char *line, void *arg)
{
	pthread_mutex_lock(&log_lock);
	if (level <= GFS_LOG_ERR) {
		log_errors++;
		snprintf(log_last_error, sizeof(log_last_error), "%s", line);
	} else if (level == GFS_LOG_WARN) {
		log_warnings++;
		snprintf(log_last_warning, sizeof(log_last_warning), "%s", line);
	}
	pthread_mutex_unlock(&log_lock);
}

void test_log_capture(void)
{
	pthread_mutex_lock(&log_lock);
	log_errors = log_warnings = 0;
	log_last_error[0] = log_last_warning[0] = 0;
	pthread_mutex_unlock(&log_lock);
	gfs_log_set_hook(log_hook, NULL);
}

static unsigned read_count(const unsigned *count)
{
	unsigned n;

	pthread_mutex_lock(&log_lock);
	n = *count;
	pthread_mutex_unlock(&log_lock);
	return n;
}

unsigned test_log_errors(void)
{
	return read_count(&log_errors);
}

unsigned test_log_warnings(void)
{
	return read_count(&log_warnings);
}

const char *test_log_last_error(void)
{
	return log_last_error;
}

const char *test_log_last_warning(void)
{
	return log_last_warning;
}
