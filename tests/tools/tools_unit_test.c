// SPDX-License-Identifier: MIT
/*
 * tools_unit_test.c - Check suite for the tools' shared pieces: size parsing and formatting,
 * plain progress lines, and the scrub engine against injected PI damage on a file namespace.
 * Seed: TOOLS_TEST_SEED (printed).
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "core/ns.h"
#include "core/ns_fault.h"
#include "pi/pi.h"
#include "tools/progress.h"
#include "tools/scrub.h"
#include "tools/size.h"

static uint64_t seed;

START_TEST(size_parse_accepts_suffixes_and_exact_fractions)
{
	uint64_t v;

	ck_assert_int_eq(size_parse("4096", &v), 0);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(size_parse("64K", &v), 0);
	ck_assert_uint_eq(v, 65536);
	ck_assert_int_eq(size_parse("1m", &v), 0);
	ck_assert_uint_eq(v, 1u << 20);
	ck_assert_int_eq(size_parse("2GiB", &v), 0);
	ck_assert_uint_eq(v, 2ull << 30);
	ck_assert_int_eq(size_parse("1.5K", &v), 0);
	ck_assert_uint_eq(v, 1536);
	ck_assert_int_eq(size_parse("3T", &v), 0);
	ck_assert_uint_eq(v, 3ull << 40);
	ck_assert_int_eq(size_parse("15E", &v), 0);
	ck_assert_uint_eq(v, 15ull << 60);
}
END_TEST

START_TEST(size_parse_refuses_garbage_fractions_and_overflow)
{
	uint64_t v = 77;

	ck_assert_int_eq(size_parse("", &v), -EINVAL);
	ck_assert_int_eq(size_parse("K", &v), -EINVAL);
	ck_assert_int_eq(size_parse("-1", &v), -EINVAL);
	ck_assert_int_eq(size_parse("12Q", &v), -EINVAL);
	ck_assert_int_eq(size_parse("12KX", &v), -EINVAL);
	ck_assert_int_eq(size_parse("1.1K", &v), -EINVAL); /* 1126.4 bytes */
	ck_assert_int_eq(size_parse("1.5", &v), -EINVAL);
	ck_assert_int_eq(size_parse("16E", &v), -ERANGE);
	ck_assert_int_eq(size_parse("99999999999999999999", &v), -ERANGE);
	ck_assert_uint_eq(v, 77); /* untouched on failure */
}
END_TEST

START_TEST(size_format_picks_binary_units)
{
	char b[32];

	ck_assert_str_eq(size_format(512, b, sizeof(b)), "512 B");
	ck_assert_str_eq(size_format(4096, b, sizeof(b)), "4.00 KiB");
	ck_assert_str_eq(size_format(3ull << 30, b, sizeof(b)), "3.00 GiB");
	ck_assert_str_eq(size_format(100ull << 20, b, sizeof(b)), "100.0 MiB");
}
END_TEST

START_TEST(progress_prints_plain_lines_only_after_the_interval)
{
	FILE *f = tmpfile();
	struct progress p;
	char line[256];
	int lines = 0;

	ck_assert_ptr_nonnull(f);
	setenv("GUARDFS_PROGRESS_SECS", "0", 1);
	progress_init(&p, f, "work", 1000);
	ck_assert(!p.tty);
	progress_update(&p, 500);
	progress_update(&p, 1000);
	progress_finish(&p);
	setenv("GUARDFS_PROGRESS_SECS", "1000", 1);
	progress_init(&p, f, "quiet", 1000);
	progress_update(&p, 1000);
	progress_finish(&p); /* nothing printed, so no final line either */
	unsetenv("GUARDFS_PROGRESS_SECS");
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		ck_assert(!strncmp(line, "work: ", 6));
		ck_assert_ptr_nonnull(strstr(line, "ETA"));
		lines++;
	}
	ck_assert_int_eq(lines, 3);
	fclose(f);
}
END_TEST

#define NS_NLB 4096u
#define NS_LBA 4096u

/* A file namespace of NS_NLB 4096+8 type-1 LBAs, every LBA written with app tag 0x1234. */
static struct ns *make_ns(char *path, size_t len)
{
	struct pi_format f = {.lba_size = NS_LBA, .md_size = 8, .type = PI_TYPE_1};
	struct ns_options o = {.format = &f};
	struct pi_io io = {.app_tag = 0x1234};
	struct ns_pi_params pp = {0};
	uint32_t chunk = 256;
	struct pi_ctx ctx;
	struct iovec iov;
	uint8_t *buf, *md;
	struct ns *ns;
	int fd;

	snprintf(path, len, "/tmp/tools_unit_%d.img", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)NS_NLB * (NS_LBA + 8)), 0);
	close(fd);
	ck_assert_int_eq(ns_open(path, &o, &ns), 0);
	ck_assert_int_eq(pi_ctx_init(&ctx, &f), 0);
	ck_assert_int_eq(posix_memalign((void **)&buf, 4096, chunk * NS_LBA), 0);
	md = malloc(chunk * 8);
	for (uint32_t lba = 0; lba < NS_NLB; lba += chunk) {
		for (size_t i = 0; i < chunk * NS_LBA; i++)
			buf[i] = (uint8_t)(i * 31 + lba);
		iov = (struct iovec){buf, chunk * NS_LBA};
		io.lba = io.ref_tag = lba;
		ck_assert_int_eq(pi_generate(&ctx, &iov, 1, md, chunk, &io), 0);
		ck_assert_int_eq(ns_write_sync(ns, lba, chunk, buf, md, &pp), 0);
	}
	free(md);
	free(buf);
	return ns;
}

static void flip_byte(const char *path, uint64_t off)
{
	int fd = open(path, O_RDWR);
	uint8_t b;

	ck_assert_int_eq(pread(fd, &b, 1, (off_t)off), 1);
	b ^= 0x5A;
	ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)off), 1);
	close(fd);
}

START_TEST(scrub_finds_every_damaged_block_and_wrong_owner)
{
	struct scrub_range r[3] = {
		{.lba = 2048, .nlb = 2048, .app_tag = 0x1234, .owner = 2}, /* unsorted on purpose */
		{.lba = 0, .nlb = 1000, .app_tag = 0x1234, .owner = 0},
		{.lba = 1000,
		 .nlb = 24,
		 .app_tag = 0x9999,
		 .owner = 1}, /* another owner's blocks */
	};
	struct scrub_opts o = {.request_bytes = 256 * 1024, .queue_depth = 4};
	uint64_t bad1 = 1 + seed % 999, bad2 = 2048 + seed % 2048;
	struct scrub_result res;
	char path[64];
	struct ns *ns;

	ns = make_ns(path, sizeof(path));
	ns_close(ns);
	flip_byte(path, bad1 * NS_LBA + seed % NS_LBA);		   /* data: guard */
	flip_byte(path, (uint64_t)NS_NLB * NS_LBA + bad2 * 8 + 5); /* ref tag byte */
	{
		struct pi_format f = {.lba_size = NS_LBA, .md_size = 8, .type = PI_TYPE_1};
		struct ns_options no = {.format = &f, .read_only = true};

		ck_assert_int_eq(ns_open(path, &no, &ns), 0);
	}
	ck_assert_int_eq(scrub_ranges(ns, r, 3, &o, &res), 0);
	ck_assert_uint_eq(res.blocks_checked, 3072);
	ck_assert_uint_eq(res.nr_bad, 2 + 24);
	ck_assert_uint_eq(res.bad[0].lba, bad1);
	ck_assert_int_eq(res.bad[0].tag, PI_TAG_GUARD);
	ck_assert_uint_eq(res.bad[0].owner, 0);
	for (int i = 1; i <= 24; i++) {
		ck_assert_uint_eq(res.bad[i].lba, 999 + (uint64_t)i);
		ck_assert_int_eq(res.bad[i].tag, PI_TAG_APP);
		ck_assert_uint_eq(res.bad[i].expected, 0x9999);
		ck_assert_uint_eq(res.bad[i].found, 0x1234);
	}
	ck_assert_uint_eq(res.bad[25].lba, bad2);
	ck_assert_int_eq(res.bad[25].tag, PI_TAG_REF);
	ck_assert_uint_eq(res.bad[25].owner, 2);
	/* Damage on the medium fails every read of the block. */
	ck_assert_uint_eq(res.nr_transient, 0);
	for (int i = 0; i <= 25; i++) {
		ck_assert(!res.bad[i].transient);
		ck_assert_uint_eq(res.bad[i].reads_failed, PI_READ_TRIES);
	}
	free(res.bad);
	/* With verification off it only reads: the baseline. */
	o.no_verify = true;
	ck_assert_int_eq(scrub_ranges(ns, r, 3, &o, &res), 0);
	ck_assert_uint_eq(res.nr_bad, 0);
	ck_assert_uint_eq(res.bytes_read, 3072ull * NS_LBA);
	ns_close(ns);
	unlink(path);
}
END_TEST

/*
 * A block that fails on one read only (a flip on the way) passes when read again: reported as
 * transient, after one failed read. Flipped on every read, it is damage after PI_READ_TRIES.
 */
START_TEST(scrub_reads_a_failing_block_again)
{
	const uint64_t bad = 64 + seed % 3000;
	/* The range starts at the bad block, so that block 0 of every read of it is the bad one. */
	struct scrub_range r = {.lba = bad, .nlb = 64, .app_tag = 0x1234, .owner = 7};
	struct scrub_opts o = {.request_bytes = 256 * 1024, .queue_depth = 4};
	struct ns_fault f = {.kind = NS_FAULT_BIT_FLIP,
			     .ops = NS_FAULT_OP(NS_OP_READ),
			     .lba_first = bad,
			     .lba_last = bad,
			     .nth = 1,
			     .field = PI_FIELD_DATA,
			     .block = 0};
	struct scrub_result res;
	char path[64];
	struct ns *ns = make_ns(path, sizeof(path));

	for (int every = 0; every <= 1; every++) {
		int id;

		f.every = every;
		id = ns_fault_add(ns, &f);
		ck_assert_int_ge(id, 0);
		ck_assert_int_eq(scrub_ranges(ns, &r, 1, &o, &res), 0);
		ck_assert_uint_eq(ns_fault_fired(ns, id), every ? PI_READ_TRIES : 1);
		ck_assert_uint_eq(res.nr_bad, 1);
		ck_assert_uint_eq(res.nr_transient, every ? 0 : 1);
		ck_assert_uint_eq(res.bad[0].lba, bad);
		ck_assert_uint_eq(res.bad[0].owner, 7);
		ck_assert_int_eq(res.bad[0].tag, PI_TAG_GUARD);
		ck_assert_int_eq(res.bad[0].transient, !every);
		ck_assert_uint_eq(res.bad[0].reads_failed, every ? PI_READ_TRIES : 1);
		free(res.bad);
		ns_fault_clear(ns);
	}
	/* Undamaged: nothing to report. */
	ck_assert_int_eq(scrub_ranges(ns, &r, 1, &o, &res), 0);
	ck_assert_uint_eq(res.nr_bad, 0);
	free(res.bad);
	ns_close(ns);
	unlink(path);
}
END_TEST

int main(void)
{
	const char *env = getenv("TOOLS_TEST_SEED");
	Suite *s = suite_create("tools");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
	printf("tools_unit_test: seed %" PRIu64 " (TOOLS_TEST_SEED to replay)\n", seed);
	tcase_add_test(tc, size_parse_accepts_suffixes_and_exact_fractions);
	tcase_add_test(tc, size_parse_refuses_garbage_fractions_and_overflow);
	tcase_add_test(tc, size_format_picks_binary_units);
	tcase_add_test(tc, progress_prints_plain_lines_only_after_the_interval);
	tcase_add_test(tc, scrub_finds_every_damaged_block_and_wrong_owner);
	tcase_add_test(tc, scrub_reads_a_failing_block_again);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
