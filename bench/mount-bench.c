// SPDX-License-Identifier: MIT
/*
 * mount-bench - the whole stack as an application sees it: fio through a guardfs mount (the
 * daemon, FUSE, the core, PI type 1 on a 4096+8 image) against fio on a plain file in the same
 * host directory, side by side.
 *
 * Set-up: mkfs.guardfs makes an image in DIR (default /var/tmp, where O_DIRECT reaches a real
 * filesystem), `guardfs IMAGE MNT -f` mounts it, and one file of -m MiB is written in full
 * through the mount, another of the same size beside the image; so every measured write is an
 * overwrite of allocated blocks (the VM-image case). Cases, all through fio's io_uring engine:
 * direct I/O (qemu's cache=none) at 4 KiB random read QD 1 and 16, 4 KiB random write QD 16,
 * 4 KiB random read and write from 16 threads of synchronous I/O (qemu's aio=threads), 1 MiB
 * sequential read and write QD 4; and buffered 1 MiB sequential read and write at QD 1
 * (qemu's cache=writeback).
 *
 * Each case runs rounds of (guardfs, plain file) back to back, the order alternating; the
 * table shows each side's median and the case's ratio is the median of the rounds' ratios (the
 * machine is shared: a pair run seconds apart sees the same neighbours). The last line is
 * `mount_vs_raw_ratio=X.XX`, the lowest ratio over the cases. There is no target: this shows
 * what FUSE and PI cost an application, which ns-bench and dio-bench do not.
 *
 * Usage: mount-bench [-d DIR] [-m MiB] [-t SECONDS] [-r ROUNDS] [-c CASE] [-B BUILD_DIR]
 * (BUILD_DIR holds guardfs and mkfs.guardfs; default: the directory above this program's)
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_util.h"

#define MAX_ROUNDS 32

struct bench_case {
	const char *name;
	const char *rw;
	unsigned bs, qd;
	bool buffered;
	unsigned threads; /* > 1: psync threads instead of io_uring at qd */
};

static const struct bench_case cases[] = {
	{"4k randread qd1", "randread", 4096, 1, false, 0},
	{"4k randread qd16", "randread", 4096, 16, false, 0},
	{"4k randwrite qd16", "randwrite", 4096, 16, false, 0},
	{"4k randread 16 thr", "randread", 4096, 1, false, 16},
	{"4k randwrite 16 thr", "randwrite", 4096, 1, false, 16},
	{"1m read qd4", "read", 1 << 20, 4, false, 0},
	{"1m write qd4", "write", 1 << 20, 4, false, 0},
	{"1m read buffered", "read", 1 << 20, 1, true, 0},
	{"1m write buffered", "write", 1 << 20, 1, true, 0},
};

struct setup {
	char dir[PATH_MAX / 2]; /* our temporary directory */
	char image[PATH_MAX];
	char mnt[PATH_MAX];
	char on_mount[PATH_MAX]; /* the file measured through guardfs */
	char raw[PATH_MAX];	 /* the plain file beside the image */
	pid_t daemon;
	unsigned long long bytes;
};

static int run_cmd(char *const argv[])
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0) /* mkfs.guardfs describes what it made: not for our table */
			dup2(null, STDOUT_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static bool is_mounted(const char *mnt)
{
	char line[2 * PATH_MAX], needle[PATH_MAX + 16];
	FILE *f = fopen("/proc/self/mounts", "r");
	bool found = false;

	if (!f)
		return false;
	snprintf(needle, sizeof(needle), " %s fuse", mnt);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

/* Start the daemon in front (-f) on s->mnt and wait until the mount is live. */
static int mount_image(struct setup *s, const char build[PATH_MAX / 2])
{
	char guardfs[PATH_MAX];

	snprintf(guardfs, sizeof(guardfs), "%s/guardfs", build);
	s->daemon = fork();
	if (s->daemon < 0)
		return -1;
	if (s->daemon == 0) {
		char log[PATH_MAX];
		int fd;

		snprintf(log, sizeof(log), "%s/daemon.log", s->dir);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		execl(guardfs, guardfs, s->image, s->mnt, "-f", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 600; i++) {
		if (is_mounted(s->mnt))
			return 0;
		if (waitpid(s->daemon, NULL, WNOHANG) == s->daemon) {
			s->daemon = 0;
			break;
		}
		usleep(50000);
	}
	fprintf(stderr, "mount-bench: %s did not mount %s\n", guardfs, s->image);
	return -1;
}

/* Write a file in full with 1 MiB direct writes, so that the measured writes overwrite. */
static int prefill(const char *file, unsigned long long bytes)
{
	char size[32], name[PATH_MAX + 16];

	snprintf(size, sizeof(size), "--size=%llu", bytes);
	snprintf(name, sizeof(name), "--filename=%s", file);
	char *argv[] = {"fio",	      "--name=prefill",	    name,      "--ioengine=io_uring",
			"--direct=1", "--rw=write",	    "--bs=1M", "--iodepth=4",
			size,	      "--output=/dev/null", NULL};

	return run_cmd(argv);
}

static int setup_all(struct setup *s, const char *dir, const char build[PATH_MAX / 2])
{
	char mkfs[PATH_MAX], size[32];

	snprintf(s->dir, sizeof(s->dir), "%s/mount-bench-XXXXXX", dir);
	if (!mkdtemp(s->dir)) {
		perror(s->dir);
		return -1;
	}
	snprintf(s->image, sizeof(s->image), "%s/image", s->dir);
	snprintf(s->mnt, sizeof(s->mnt), "%s/mnt", s->dir);
	snprintf(s->on_mount, sizeof(s->on_mount), "%s/mnt/file", s->dir);
	snprintf(s->raw, sizeof(s->raw), "%s/raw", s->dir);
	snprintf(mkfs, sizeof(mkfs), "%s/mkfs.guardfs", build);
	/* Room for the file, the log and the checkpoints: a quarter more plus 256 MiB. */
	snprintf(size, sizeof(size), "%lluM", (s->bytes + s->bytes / 4 + (256ull << 20)) >> 20);
	char *argv[] = {mkfs, "--size", size, s->image, NULL};

	if (mkdir(s->mnt, 0755) || run_cmd(argv)) {
		fprintf(stderr, "mount-bench: cannot make %s with %s\n", s->image, mkfs);
		return -1;
	}
	if (mount_image(s, build))
		return -1;
	if (prefill(s->on_mount, s->bytes) || prefill(s->raw, s->bytes)) {
		fprintf(stderr, "mount-bench: fio could not write the files (is fio installed?)\n");
		return -1;
	}
	return 0;
}

/* After a failure: what the daemon logged. */
static void show_daemon_log(const struct setup *s)
{
	char path[PATH_MAX], line[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/daemon.log", s->dir);
	f = fopen(path, "r");
	if (!f)
		return;
	fprintf(stderr, "mount-bench: the daemon's log:\n");
	while (fgets(line, sizeof(line), f))
		fputs(line, stderr);
	fclose(f);
}

static void teardown(struct setup *s, bool failed)
{
	char log[PATH_MAX];

	if (failed)
		show_daemon_log(s);
	if (s->daemon > 0) {
		char *argv[] = {"fusermount3", "-u", s->mnt, NULL};

		if (run_cmd(argv))
			kill(s->daemon, SIGTERM);
		waitpid(s->daemon, NULL, 0);
	}
	snprintf(log, sizeof(log), "%s/daemon.log", s->dir);
	unlink(log);
	unlink(s->raw);
	unlink(s->image);
	rmdir(s->mnt);
	rmdir(s->dir);
}

/* One fio run of the case on file; its throughput in bytes per second, or -1. */
static double run_fio(const struct bench_case *c, const char *file, unsigned long long bytes,
		      int seconds)
{
	struct bench_fio_job job = {.name = "mountbench",
				    .file = file,
				    .rw = c->rw,
				    .bs = c->bs,
				    .qd = c->qd,
				    .threads = c->threads,
				    .size = bytes,
				    .runtime = seconds,
				    .buffered = c->buffered};
	struct bench_fio_result res;

	return bench_run_fio(&job, &res) ? -1 : res.bw;
}

/* Rounds of (guardfs, plain file), order alternating; medians into *ours, *raw, *ratio. */
static int run_case(const struct setup *s, const struct bench_case *c, int seconds, int rounds,
		    double *ours, double *raw, double *ratio)
{
	double o[MAX_ROUNDS], r[MAX_ROUNDS], q[MAX_ROUNDS];

	for (int i = 0; i < rounds; i++) {
		if (i % 2 == 0)
			o[i] = run_fio(c, s->on_mount, s->bytes, seconds);
		r[i] = run_fio(c, s->raw, s->bytes, seconds);
		if (i % 2 == 1)
			o[i] = run_fio(c, s->on_mount, s->bytes, seconds);
		if (o[i] <= 0 || r[i] <= 0) {
			fprintf(stderr, "mount-bench: fio failed for %s\n", c->name);
			return -1;
		}
		q[i] = o[i] / r[i];
	}
	*ratio = bench_median(q, rounds);
	*ours = bench_median(o, rounds);
	*raw = bench_median(r, rounds);
	return 0;
}

/* The build directory: -B, or the one above this program's own directory. */
static void default_build_dir(char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0) {
		snprintf(out, len, ".");
		return;
	}
	self[n] = '\0';
	snprintf(out, len, "%s/..", dirname(self));
}

int main(int argc, char **argv)
{
	const char *dir = "/var/tmp", *only = NULL;
	char build[PATH_MAX / 2];
	int seconds = 2, rounds = 3, opt, ret = 0;
	struct setup s = {.bytes = 512ull << 20};
	double worst = 1e9;

	default_build_dir(build, sizeof(build));
	while ((opt = getopt(argc, argv, "d:m:t:r:c:B:")) != -1) {
		switch (opt) {
		case 'd':
			dir = optarg;
			break;
		case 'm':
			s.bytes = strtoull(optarg, NULL, 10) << 20;
			break;
		case 't':
			seconds = atoi(optarg);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'c':
			only = optarg;
			break;
		case 'B':
			snprintf(build, sizeof(build), "%s", optarg);
			break;
		default:
			goto usage;
		}
	}
	if (seconds < 1 || rounds < 1 || rounds > MAX_ROUNDS || s.bytes < (16ull << 20) ||
	    !BENCH_ANY_CASE_SELECTED(cases, only))
		goto usage;
	if (setup_all(&s, dir, build)) {
		teardown(&s, true);
		return 1;
	}
	printf("mount-bench: %llu MiB files in %s (guardfs 4096+8 PI type 1 vs a plain file), "
	       "median of %d rounds of %d s\n",
	       s.bytes >> 20, s.dir, rounds, seconds);
	printf("%-18s %12s %12s %6s\n", "case", "guardfs MB/s", "plain MB/s", "ratio");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double ours, raw, ratio;

		if (!bench_case_selected(cases[i].name, only))
			continue;
		if (run_case(&s, &cases[i], seconds, rounds, &ours, &raw, &ratio)) {
			ret = 1;
			break;
		}
		printf("%-18s %12.1f %12.1f %6.2f\n", cases[i].name, ours / 1e6, raw / 1e6, ratio);
		fflush(stdout);
		if (ratio < worst)
			worst = ratio;
	}
	teardown(&s, ret != 0);
	if (!ret && worst < 1e9)
		printf("mount_vs_raw_ratio=%.2f\n", worst);
	return ret;

usage:
	fprintf(stderr, "usage: mount-bench [-d DIR] [-m MiB] [-t SECONDS] [-r ROUNDS] [-c CASE] "
			"[-B BUILD_DIR]\n");
	return 2;
}
