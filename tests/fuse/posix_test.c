/* SPDX-License-Identifier: MIT */
/*
 * posix_test.c - POSIX semantics through a real guardfs mount: every operation the daemon
 * serves, its error cases, and permission checks as an unprivileged user. posix.sh mounts a
 * fresh image and runs this with GUARDFS_MNT set (and GUARDFS_TEST_UID/GID: a test user it
 * created). Each test works in its own directory under the mount. Random file contents come
 * from a seed printed at start; GUARDFS_TEST_SEED=<n> replays it.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <linux/falloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static const char *mnt;
static unsigned seed;
static uid_t test_uid;
static gid_t test_gid;
static char dir[PATH_MAX];

/* A path in the test's directory; four rotating buffers, so a call may take two or three. */
static const char *p(const char *name)
{
	static char bufs[4][PATH_MAX + 300];
	static unsigned next;
	char *buf = bufs[next++ % 4];

	snprintf(buf, sizeof(bufs[0]), "%s/%s", dir, name);
	return buf;
}

/* Each test gets a fresh directory named after it. */
static void test_dir(const char *name)
{
	snprintf(dir, sizeof(dir), "%s/%s", mnt, name);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
}

static void fill(void *buf, size_t len, unsigned s)
{
	unsigned char *b = buf;

	for (size_t i = 0; i < len; i++) {
		s = s * 1103515245u + 12345u;
		b[i] = (unsigned char)(s >> 16);
	}
}

static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

static void check_file(const char *path, const void *buf, size_t len)
{
	char *got = malloc(len + 1);
	int fd = open(path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(read(fd, got, len + 1), (ssize_t)len);
	ck_assert_int_eq(memcmp(got, buf, len), 0);
	close(fd);
	free(got);
}

#define ck_errno(call, err)                                                                        \
	do {                                                                                       \
		errno = 0;                                                                         \
		ck_assert_int_eq((int)(call), -1);                                                 \
		ck_assert_msg(errno == (err), "%s: errno %d (%s), expected %s", #call, errno,      \
			      strerror(errno), #err);                                              \
	} while (0)

/* One counter of the user.guardfs.stats text on the mount's root ("name value" lines). */
/* The value of one line of user.guardfs.stats (valid until the next call). */
static const char *stat_text(const char *name)
{
	static char buf[8192];
	ssize_t n = getxattr(mnt, "user.guardfs.stats", buf, sizeof(buf) - 1);
	size_t name_len = strlen(name);

	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	for (char *line = buf; *line;) {
		char *nl = strchr(line, '\n');

		if (!strncmp(line, name, name_len) && line[name_len] == ' ')
			return line + name_len + 1;
		if (!nl)
			break;
		line = nl + 1;
	}
	ck_abort_msg("no \"%s\" line in user.guardfs.stats", name);
	return NULL;
}

static unsigned long long read_stat(const char *name)
{
	return strtoull(stat_text(name), NULL, 10);
}

START_TEST(create_sets_owner_mode_and_empty_size)
{
	struct stat st;
	int fd;

	test_dir("create");
	umask(022);
	fd = open(p("f"), O_CREAT | O_EXCL | O_RDWR, 0666);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0644);
	ck_assert_int_eq(st.st_uid, getuid());
	ck_assert_int_eq(st.st_gid, getgid());
	ck_assert_int_eq(st.st_size, 0);
	ck_assert_int_eq(st.st_nlink, 1);
	close(fd);
	ck_errno(open(p("f"), O_CREAT | O_EXCL | O_RDWR, 0644), EEXIST);
	ck_errno(open(p("missing"), O_RDONLY), ENOENT);
	ck_errno(open(p("f/x"), O_CREAT | O_RDWR, 0644), ENOTDIR);
}
END_TEST

START_TEST(write_read_pwrite_append_roundtrip)
{
	size_t len = 3 * 1024 * 1024 + 777;
	char *buf = malloc(len), *got = malloc(len);
	int fd;

	test_dir("rw");
	fill(buf, len, seed);
	write_file(p("f"), buf, len);
	check_file(p("f"), buf, len);
	fd = open(p("f"), O_RDWR);
	ck_assert_int_ge(fd, 0);
	fill(buf + 5000, 10000, seed + 1);
	ck_assert_int_eq(pwrite(fd, buf + 5000, 10000, 5000), 10000);
	ck_assert_int_eq(pread(fd, got, len, 0), (ssize_t)len);
	ck_assert_int_eq(memcmp(got, buf, len), 0);
	ck_assert_int_eq(pread(fd, got, 100, (off_t)len), 0); /* EOF */
	close(fd);
	fd = open(p("f"), O_WRONLY | O_APPEND);
	ck_assert_int_eq(write(fd, "tail", 4), 4);
	close(fd);
	memcpy(buf + len - 4, "tail", 4);
	fd = open(p("f"), O_RDONLY);
	ck_assert_int_eq(pread(fd, got, 4, (off_t)len), 4);
	ck_assert_int_eq(memcmp(got, "tail", 4), 0);
	close(fd);
	free(buf);
	free(got);
}
END_TEST

START_TEST(mkdir_rmdir_unlink_errors)
{
	struct stat st;

	test_dir("dirs");
	ck_assert_int_eq(mkdir(p("d"), 0750), 0);
	ck_assert_int_eq(stat(p("d"), &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0750);
	ck_assert_int_eq(st.st_nlink, 2);
	ck_errno(mkdir(p("d"), 0755), EEXIST);
	write_file(p("d/f"), "x", 1);
	ck_errno(rmdir(p("d")), ENOTEMPTY);
	ck_errno(unlink(p("d")), EISDIR);
	ck_errno(rmdir(p("d/f")), ENOTDIR);
	ck_errno(rmdir(p("nope")), ENOENT);
	ck_errno(mkdir(p("d/f/x"), 0755), ENOTDIR);
	ck_assert_int_eq(unlink(p("d/f")), 0);
	ck_errno(unlink(p("d/f")), ENOENT);
	ck_assert_int_eq(mkdir(p("d/sub"), 0755), 0);
	ck_assert_int_eq(stat(p("d"), &st), 0);
	ck_assert_int_eq(st.st_nlink, 3);
	ck_assert_int_eq(rmdir(p("d/sub")), 0);
	int dfd = open(p("d"), O_RDONLY | O_DIRECTORY);

	ck_assert_int_ge(dfd, 0);
	ck_assert_int_eq(fsync(dfd), 0); /* fsyncdir */
	close(dfd);
	ck_assert_int_eq(rmdir(p("d")), 0);
	ck_errno(stat(p("d"), &st), ENOENT);
}
END_TEST

START_TEST(names_over_255_bytes_are_refused)
{
	char name[300];
	struct stat st;

	test_dir("names");
	memset(name, 'n', sizeof(name));
	name[255] = '\0';
	write_file(p(name), "x", 1);
	ck_assert_int_eq(stat(p(name), &st), 0);
	name[255] = 'n';
	name[256] = '\0';
	ck_errno(open(p(name), O_CREAT | O_RDWR, 0644), ENAMETOOLONG);
	ck_errno(mkdir(p(name), 0755), ENAMETOOLONG);
	ck_errno(stat(p(name), &st), ENAMETOOLONG);
	ck_errno(symlink("t", p(name)), ENAMETOOLONG);
}
END_TEST

START_TEST(symlinks_resolve_and_loops_give_eloop)
{
	char buf[PATH_MAX];
	struct stat st;

	test_dir("symlink");
	write_file(p("target"), "hello", 5);
	ck_assert_int_eq(symlink("target", p("l")), 0);
	ck_assert_int_eq(lstat(p("l"), &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	ck_assert_int_eq(st.st_size, 6);
	ck_assert_int_eq(readlink(p("l"), buf, sizeof(buf)), 6);
	ck_assert_int_eq(memcmp(buf, "target", 6), 0);
	check_file(p("l"), "hello", 5);
	ck_assert_int_eq(symlink("loop", p("loop")), 0);
	ck_errno(open(p("loop"), O_RDONLY), ELOOP);
	ck_errno(open(p("l"), O_RDONLY | O_NOFOLLOW), ELOOP);
	ck_errno(symlink("x", p("l")), EEXIST);
	ck_errno(readlink(p("target"), buf, sizeof(buf)), EINVAL);
	static char target[4097]; /* one byte over META_SYMLINK_MAX */

	memset(target, 'a', sizeof(target) - 1);
	ck_errno(symlink(target, p("long")), ENAMETOOLONG);
}
END_TEST

START_TEST(hard_links_count_and_directories_refuse)
{
	struct stat st;

	test_dir("link");
	write_file(p("a"), "data", 4);
	ck_assert_int_eq(link(p("a"), p("b")), 0);
	ck_assert_int_eq(stat(p("a"), &st), 0);
	ck_assert_int_eq(st.st_nlink, 2);
	ck_assert_int_eq(unlink(p("a")), 0);
	check_file(p("b"), "data", 4);
	ck_assert_int_eq(stat(p("b"), &st), 0);
	ck_assert_int_eq(st.st_nlink, 1);
	ck_assert_int_eq(mkdir(p("d"), 0755), 0);
	ck_errno(link(p("d"), p("d2")), EPERM);
	ck_errno(link(p("b"), p("b")), EEXIST);
	ck_errno(link(p("b"), "/tmp/guardfs-xdev-link"), EXDEV);
}
END_TEST

START_TEST(rename_replace_noreplace_exchange_and_errors)
{
	test_dir("rename");
	write_file(p("a"), "A", 1);
	write_file(p("b"), "B", 1);
	ck_assert_int_eq(rename(p("a"), p("c")), 0);
	check_file(p("c"), "A", 1);
	ck_assert_int_eq(rename(p("c"), p("b")), 0); /* replaces */
	check_file(p("b"), "A", 1);
	write_file(p("a"), "a2", 2);
	ck_errno(renameat2(AT_FDCWD, p("a"), AT_FDCWD, p("b"), RENAME_NOREPLACE), EEXIST);
	ck_assert_int_eq(renameat2(AT_FDCWD, p("a"), AT_FDCWD, p("b"), RENAME_EXCHANGE), 0);
	check_file(p("a"), "A", 1);
	check_file(p("b"), "a2", 2);
	ck_errno(renameat2(AT_FDCWD, p("a"), AT_FDCWD, p("zz"), RENAME_EXCHANGE), ENOENT);
	ck_assert_int_eq(mkdir(p("d"), 0755), 0);
	ck_assert_int_eq(mkdir(p("d/sub"), 0755), 0);
	ck_errno(rename(p("d"), p("d/sub/x")), EINVAL);
	ck_assert_int_eq(mkdir(p("full"), 0755), 0);
	write_file(p("full/f"), "f", 1);
	ck_errno(rename(p("d"), p("full")), ENOTEMPTY);
	ck_errno(rename(p("a"), p("d")), EISDIR);
	ck_errno(rename(p("d"), p("a")), ENOTDIR);
	ck_errno(rename(p("a"), "/tmp/guardfs-xdev"), EXDEV);
	ck_errno(rename(p("nope"), p("x")), ENOENT);
	/* A directory moves between parents and keeps its contents. */
	ck_assert_int_eq(rename(p("full"), p("d/moved")), 0);
	check_file(p("d/moved/f"), "f", 1);
}
END_TEST

START_TEST(setattr_mode_owner_size_times)
{
	struct timespec ts[2] = {{.tv_sec = 1000000000, .tv_nsec = 123456789},
				 {.tv_sec = 1200000000, .tv_nsec = 987654321}};
	char buf[8192], got[8192];
	struct stat st, st2;

	test_dir("setattr");
	fill(buf, sizeof(buf), seed);
	write_file(p("f"), buf, sizeof(buf));
	ck_assert_int_eq(chmod(p("f"), 04711), 0);
	ck_assert_int_eq(stat(p("f"), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 04711);
	ck_assert_int_eq(chown(p("f"), 1234, 5678), 0);
	ck_assert_int_eq(stat(p("f"), &st), 0);
	ck_assert_int_eq(st.st_uid, 1234);
	ck_assert_int_eq(st.st_gid, 5678);
	ck_assert_int_eq(truncate(p("f"), 100), 0);
	ck_assert_int_eq(truncate(p("f"), 5000), 0);
	ck_assert_int_eq(stat(p("f"), &st), 0);
	ck_assert_int_eq(st.st_size, 5000);
	memset(buf + 100, 0, sizeof(buf) - 100);
	int fd = open(p("f"), O_RDONLY);
	ck_assert_int_eq(read(fd, got, sizeof(got)), 5000);
	ck_assert_int_eq(memcmp(got, buf, 5000), 0);
	close(fd);
	ck_assert_int_eq(utimensat(AT_FDCWD, p("f"), ts, 0), 0);
	ck_assert_int_eq(stat(p("f"), &st), 0);
	ck_assert_int_eq(st.st_atim.tv_sec, ts[0].tv_sec);
	ck_assert_int_eq(st.st_atim.tv_nsec, ts[0].tv_nsec);
	ck_assert_int_eq(st.st_mtim.tv_sec, ts[1].tv_sec);
	ck_assert_int_eq(st.st_mtim.tv_nsec, ts[1].tv_nsec);
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_nsec = UTIME_NOW;
	ck_assert_int_eq(utimensat(AT_FDCWD, p("f"), ts, 0), 0);
	ck_assert_int_eq(stat(p("f"), &st2), 0);
	ck_assert_int_eq(st2.st_atim.tv_sec, st.st_atim.tv_sec); /* omitted */
	ck_assert_int_gt(st2.st_mtim.tv_sec, 1500000000);	 /* now */
	ck_errno(truncate(p("."), 0), EISDIR);
}
END_TEST

START_TEST(setgid_directories_pass_group_and_bit)
{
	struct stat st;

	test_dir("setgid");
	ck_assert_int_eq(mkdir(p("g"), 0755), 0);
	ck_assert_int_eq(chown(p("g"), 0, 4321), 0);
	ck_assert_int_eq(chmod(p("g"), 02775), 0);
	write_file(p("g/f"), "x", 1);
	ck_assert_int_eq(stat(p("g/f"), &st), 0);
	ck_assert_int_eq(st.st_gid, 4321);
	ck_assert_int_eq(mkdir(p("g/sub"), 0755), 0);
	ck_assert_int_eq(stat(p("g/sub"), &st), 0);
	ck_assert_int_eq(st.st_gid, 4321);
	ck_assert(st.st_mode & S_ISGID);
	ck_assert_int_eq(mkdir(p("plain"), 0755), 0);
	write_file(p("plain/f"), "x", 1);
	ck_assert_int_eq(stat(p("plain/f"), &st), 0);
	ck_assert_int_eq(st.st_gid, getgid());
}
END_TEST

START_TEST(xattrs_set_get_list_remove_and_flags)
{
	char buf[256];
	ssize_t n;

	test_dir("xattr");
	write_file(p("f"), "x", 1);
	ck_assert_int_eq(setxattr(p("f"), "user.a", "1234", 4, 0), 0);
	ck_assert_int_eq(setxattr(p("f"), "user.bb", "", 0, 0), 0);
	ck_assert_int_eq(getxattr(p("f"), "user.a", NULL, 0), 4);
	ck_assert_int_eq(getxattr(p("f"), "user.a", buf, sizeof(buf)), 4);
	ck_assert_int_eq(memcmp(buf, "1234", 4), 0);
	ck_errno(getxattr(p("f"), "user.a", buf, 2), ERANGE);
	ck_errno(setxattr(p("f"), "user.a", "x", 1, XATTR_CREATE), EEXIST);
	ck_errno(setxattr(p("f"), "user.c", "x", 1, XATTR_REPLACE), ENODATA);
	ck_assert_int_eq(setxattr(p("f"), "user.a", "9", 1, XATTR_REPLACE), 0);
	ck_assert_int_eq(getxattr(p("f"), "user.a", buf, sizeof(buf)), 1);
	n = listxattr(p("f"), buf, sizeof(buf));
	ck_assert_int_eq(n, (ssize_t)sizeof("user.a") + (ssize_t)sizeof("user.bb"));
	ck_assert(memmem(buf, (size_t)n, "user.a\0", 7) && memmem(buf, (size_t)n, "user.bb\0", 8));
	ck_assert_int_eq(removexattr(p("f"), "user.a"), 0);
	ck_errno(getxattr(p("f"), "user.a", buf, sizeof(buf)), ENODATA);
	ck_errno(removexattr(p("f"), "user.a"), ENODATA);
	/* The virtual attributes are read-only. */
	ck_errno(setxattr(p("f"), "user.guardfs.map", "x", 1, 0), EPERM);
	ck_assert_int_gt(getxattr(mnt, "user.guardfs.stats", NULL, 0), 0);
}
END_TEST

START_TEST(statfs_counts_real_blocks_and_inodes)
{
	size_t len = 16 << 20;
	struct statvfs a, b, c;
	char *buf = malloc(len);
	int fd;

	test_dir("statfs");
	ck_assert_int_eq(statvfs(mnt, &a), 0);
	ck_assert_int_gt(a.f_blocks, 0);
	ck_assert_int_le(a.f_bfree, a.f_blocks);
	ck_assert_int_gt(a.f_files, 0);
	ck_assert_int_le(a.f_ffree, a.f_files);
	ck_assert_int_eq(a.f_namemax, 255);
	fill(buf, len, seed);
	fd = open(p("f"), O_CREAT | O_RDWR, 0644);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	ck_assert_int_eq(fsync(fd), 0);
	close(fd);
	ck_assert_int_eq(statvfs(mnt, &b), 0);
	ck_assert_uint_le(b.f_bfree + len / b.f_frsize, a.f_bfree);
	ck_assert_int_lt(b.f_ffree, a.f_ffree);
	ck_assert_int_eq(unlink(p("f")), 0);
	/* The blocks come back when the kernel forgets the inode, which it does on its own
	 * time after the unlink: wait for it (30 s at most). */
	for (int i = 0; i < 300; i++) {
		ck_assert_int_eq(statvfs(mnt, &c), 0);
		if (c.f_bfree >= b.f_bfree + len / b.f_frsize)
			break;
		usleep(100 * 1000);
	}
	ck_assert_uint_ge(c.f_bfree, b.f_bfree + len / b.f_frsize);
	free(buf);
}
END_TEST

START_TEST(fallocate_modes_and_seek_data_hole)
{
	size_t len = 1 << 20;
	char *buf = malloc(len), *got = malloc(len);
	struct stat st;
	off_t o;
	int fd;

	test_dir("falloc");
	fd = open(p("f"), O_CREAT | O_RDWR, 0644);
	ck_assert_int_eq(fallocate(fd, 0, 0, 4 << 20), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, 4 << 20);
	ck_assert_int_eq(fallocate(fd, FALLOC_FL_KEEP_SIZE, 4 << 20, 1 << 20), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, 4 << 20);
	fill(buf, len, seed);
	ck_assert_int_eq(pwrite(fd, buf, len, 0), (ssize_t)len);
	ck_assert_int_eq(pwrite(fd, buf, len, 2 << 20), (ssize_t)len);
	/* Punch a hole in the middle of the first MiB: zeros there, data around. */
	ck_assert_int_eq(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 65536, 131072),
			 0);
	memset(buf + 65536, 0, 131072);
	ck_assert_int_eq(pread(fd, got, len, 0), (ssize_t)len);
	ck_assert_int_eq(memcmp(got, buf, len), 0);
	ck_assert_int_eq(lseek(fd, 0, SEEK_DATA), 0);
	ck_assert_int_eq(lseek(fd, 0, SEEK_HOLE), 65536);
	ck_assert_int_eq(lseek(fd, 65536, SEEK_DATA), 196608);
	o = lseek(fd, 1 << 20, SEEK_HOLE);
	ck_assert_int_eq(o, 1 << 20);
	ck_assert_int_eq(lseek(fd, 1 << 20, SEEK_DATA), 2 << 20);
	ck_errno(lseek(fd, 4 << 20, SEEK_DATA), ENXIO);
	/* Zero range: zeros, size kept. */
	ck_assert_int_eq(fallocate(fd, FALLOC_FL_ZERO_RANGE, (2 << 20) + 100, 5000), 0);
	ck_assert_int_eq(pread(fd, got, 5000, (2 << 20) + 100), 5000);
	memset(buf, 0, 5000);
	ck_assert_int_eq(memcmp(got, buf, 5000), 0);
	/* COLLAPSE/INSERT: Linux's FUSE refuses them before they reach the daemon. */
	errno = 0;
	if (fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 65536) == 0) {
		ck_assert_int_eq(fstat(fd, &st), 0);
		ck_assert_int_eq(st.st_size, (4 << 20) - 65536);
	} else {
		ck_assert_int_eq(errno, EOPNOTSUPP);
	}
	close(fd);
	free(buf);
	free(got);
}
END_TEST

START_TEST(copy_file_range_copies_bytes)
{
	size_t len = 300000;
	char *buf = malloc(len);
	int in, out;
	loff_t oi = 1000, oo = 0;

	test_dir("cfr");
	fill(buf, len, seed);
	write_file(p("in"), buf, len);
	in = open(p("in"), O_RDONLY);
	out = open(p("out"), O_CREAT | O_RDWR, 0644);
	size_t done = 0;
	while (done < len - 1000) {
		ssize_t n = copy_file_range(in, &oi, out, &oo, len - 1000 - done, 0);

		ck_assert_int_gt(n, 0);
		done += (size_t)n;
	}
	close(in);
	close(out);
	check_file(p("out"), buf + 1000, len - 1000);
	free(buf);
}
END_TEST

START_TEST(direct_io_alignment_and_coherence_with_cache_and_mmap)
{
	size_t len = 1 << 20;
	char *a, *got = malloc(len), *m;
	int dfd, bfd;

	test_dir("dio");
	ck_assert_int_eq(posix_memalign((void **)&a, 4096, len), 0);
	fill(a, len, seed);
	write_file(p("f"), a, len);
	bfd = open(p("f"), O_RDWR);
	ck_assert_int_ge(bfd, 0);
	/* Warm the kernel page cache. */
	ck_assert_int_eq(pread(bfd, got, len, 0), (ssize_t)len);
	dfd = open(p("f"), O_RDWR | O_DIRECT);
	ck_assert_int_ge(dfd, 0);
	ck_errno(pread(dfd, got, 512, 0), EINVAL); /* 4096-byte LBAs */
	ck_errno(pwrite(dfd, a, 4096, 100), EINVAL);
	fill(a, 8192, seed + 7);
	ck_assert_int_eq(pwrite(dfd, a, 8192, 4096), 8192);
	/* The buffered descriptor sees the direct write (its pages were invalidated). */
	ck_assert_int_eq(pread(bfd, got, len, 0), (ssize_t)len);
	ck_assert_int_eq(memcmp(got + 4096, a, 8192), 0);
	/* A MAP_SHARED store reaches a direct reader after msync. */
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, bfd, 0);
	ck_assert_ptr_ne(m, MAP_FAILED);
	memset(m + 65536, 0x5a, 4096);
	ck_assert_int_eq(msync(m, len, MS_SYNC), 0);
	ck_assert_int_eq(pread(dfd, a, 4096, 65536), 4096);
	for (int i = 0; i < 4096; i++)
		ck_assert_int_eq((unsigned char)a[i], 0x5a);
	/* And a direct write shows through the mapping. */
	memset(a, 0xc3, 4096);
	ck_assert_int_eq(pwrite(dfd, a, 4096, 131072), 4096);
	for (int i = 0; i < 4096; i++)
		ck_assert_int_eq((unsigned char)m[131072 + i], 0xc3);
	munmap(m, len);
	ck_assert_int_eq(fdatasync(dfd), 0);
	ck_assert_int_eq(fsync(bfd), 0);
	close(dfd);
	close(bfd);
	free(a);
	free(got);
}
END_TEST

/*
 * A lone direct write is served from the worker's request buffer, which nothing changes before
 * it replies: the core writes the payload in place, with PI generated over it there. A lone
 * direct read is answered from the bounce buffer it was verified in. Every byte reads back,
 * direct (verified) and buffered.
 */
START_TEST(lone_direct_requests_skip_the_bounce_copy)
{
	size_t len = 1 << 20;
	char *a, *got;
	unsigned long long before, lent;
	int dfd, bfd;

	test_dir("inplace");
	ck_assert_int_eq(posix_memalign((void **)&a, 4096, 2 * len), 0);
	ck_assert_int_eq(posix_memalign((void **)&got, 4096, 2 * len), 0);
	fill(a, 2 * len, seed + 11);
	dfd = open(p("f"), O_RDWR | O_CREAT | O_DIRECT, 0644);
	ck_assert_int_ge(dfd, 0);
	before = read_stat("dio_in_place");
	ck_assert_int_eq(pwrite(dfd, a, len, 0), (ssize_t)len);		     /* into a hole */
	ck_assert_int_eq(pwrite(dfd, a + len, len, len), (ssize_t)len);	     /* extending */
	ck_assert_int_eq(pwrite(dfd, a + 8192, 4096, 8192), 4096);	     /* overwrite */
	ck_assert_int_eq(pwrite(dfd, a + 65536, 3 * 4096, 65536), 3 * 4096); /* overwrite */
	ck_assert_uint_ge(read_stat("dio_in_place") - before, 4);
	lent = read_stat("dio_reads_lent");
	ck_assert_int_eq(pread(dfd, got, 2 * len, 0), (ssize_t)(2 * len));
	ck_assert_uint_ge(read_stat("dio_reads_lent") - lent, 2); /* 1 MiB each (max_read) */
	ck_assert_int_eq(memcmp(got, a, 2 * len), 0);
	bfd = open(p("f"), O_RDONLY);
	ck_assert_int_ge(bfd, 0);
	memset(got, 0, 2 * len);
	ck_assert_int_eq(pread(bfd, got, 2 * len, 0), (ssize_t)(2 * len));
	ck_assert_int_eq(memcmp(got, a, 2 * len), 0);
	close(bfd);
	close(dfd);
	free(a);
	free(got);
}
END_TEST

/*
 * Fills the kernel page cache of bfd (a buffered descriptor) and checks it holds want; returns
 * the kernel_invalidations count once nothing more is in flight.
 */
static unsigned long long warm_cache(int bfd, char *got, const char *want, size_t len)
{
	ck_assert_int_eq(pread(bfd, got, len, 0), (ssize_t)len);
	ck_assert_int_eq(memcmp(got, want, len), 0);
	return read_stat("kernel_invalidations");
}

/*
 * The core's invalidation hook reaches the kernel: each direct write, punch and shrinking
 * truncate (the paths of core/ that call gfs_invalidate_notify) makes the daemon hand at least
 * one range to the kernel before the request returns, and the kernel accepts it. The buffered
 * descriptor's reads prove coherence; only the counter proves the notifier sent, since this
 * kernel also drops its own pages on each of these requests.
 */
START_TEST(core_invalidations_reach_the_kernel_page_cache)
{
	size_t len = 256 << 10, cut = 100000;
	char *a, *want = malloc(len), *got = malloc(len);
	unsigned long long sent, errors = read_stat("kernel_invalidation_errors");
	int bfd, dfd;

	test_dir("inval");
	ck_assert_int_eq(posix_memalign((void **)&a, 4096, len), 0);
	fill(want, len, seed);
	write_file(p("f"), want, len);
	bfd = open(p("f"), O_RDONLY);
	ck_assert_int_ge(bfd, 0);
	dfd = open(p("f"), O_RDWR | O_DIRECT);
	ck_assert_int_ge(dfd, 0);

	/* Control: reads served from the kernel cache invalidate nothing. */
	sent = warm_cache(bfd, got, want, len);
	ck_assert_int_eq(pread(bfd, got, len, 0), (ssize_t)len);
	ck_assert_uint_eq(read_stat("kernel_invalidations"), sent);

	/* A direct write of [64 KiB, 128 KiB) through the second descriptor. */
	fill(a, 65536, seed + 1);
	memcpy(want + 65536, a, 65536);
	ck_assert_int_eq(pwrite(dfd, a, 65536, 65536), 65536);
	ck_assert_uint_gt(read_stat("kernel_invalidations"), sent);
	sent = warm_cache(bfd, got, want, len);

	/* A hole punched with unaligned edges: zeros there, the rest kept. */
	ck_assert_int_eq(fallocate(dfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 130000, 60000),
			 0);
	memset(want + 130000, 0, 60000);
	ck_assert_uint_gt(read_stat("kernel_invalidations"), sent);
	sent = warm_cache(bfd, got, want, len);

	/* A shrinking truncate inside a page; growing back must then read zeros past the cut. */
	ck_assert_int_eq(ftruncate(dfd, (off_t)cut), 0);
	ck_assert_uint_gt(read_stat("kernel_invalidations"), sent);
	ck_assert_int_eq(pread(bfd, got, len, 0), (ssize_t)cut);
	ck_assert_int_eq(memcmp(got, want, cut), 0);
	ck_assert_int_eq(ftruncate(dfd, (off_t)len), 0);
	memset(want + cut, 0, len - cut);
	warm_cache(bfd, got, want, len);

	/* The inode was open throughout: the kernel had no reason to refuse any range. */
	ck_assert_uint_eq(read_stat("kernel_invalidation_errors"), errors);
	close(dfd);
	close(bfd);
	free(a);
	free(want);
	free(got);
}
END_TEST

/*
 * Since FUSE 7.39 (Linux 6.6) the kernel drops its cached pages of a direct write's range before
 * sending the write, so the daemon tells it nothing about a direct write during which no
 * buffered descriptor of the file was open (core/dio.c); before 7.39 it always does. Either way
 * every buffered reader sees each write: one whose pages were cached before it closed, one that
 * stays open across the writes, and one that opens after them.
 */
START_TEST(direct_writes_tell_the_kernel_only_what_it_may_cache)
{
	size_t len = 256 << 10;
	char *a, *want = malloc(len), *got = malloc(len);
	unsigned minor = 0;
	unsigned long long sent, skipped;
	bool kernel_drops;
	int bfd, dfd;

	ck_assert_int_eq(sscanf(stat_text("fuse_protocol"), "7.%u", &minor), 1);
	kernel_drops = minor >= 39;
	test_dir("dio_inval");
	ck_assert_int_eq(posix_memalign((void **)&a, 4096, len), 0);
	fill(want, len, seed);
	write_file(p("f"), want, len);
	/* Cache every page in the kernel, and close: no buffered descriptor is left. */
	bfd = open(p("f"), O_RDONLY);
	ck_assert_int_ge(bfd, 0);
	warm_cache(bfd, got, want, len);
	close(bfd);
	dfd = open(p("f"), O_RDWR | O_DIRECT);
	ck_assert_int_ge(dfd, 0);

	/* An overwrite, and a write that extends the file, with only the direct descriptor open. */
	sent = read_stat("kernel_invalidations");
	skipped = read_stat("dio_inval_skipped");
	fill(a, 65536, seed + 1);
	memcpy(want + 65536, a, 65536);
	ck_assert_int_eq(pwrite(dfd, a, 65536, 65536), 65536);
	want = realloc(want, len + 8192);
	got = realloc(got, len + 8192);
	fill(a, 8192, seed + 2);
	memcpy(want + len, a, 8192);
	ck_assert_int_eq(pwrite(dfd, a, 8192, (off_t)len), 8192);
	len += 8192;
	if (kernel_drops) {
		ck_assert_uint_eq(read_stat("kernel_invalidations"), sent);
		ck_assert_uint_ge(read_stat("dio_inval_skipped"), skipped + 4);
	} else {
		ck_assert_uint_gt(read_stat("kernel_invalidations"), sent);
		ck_assert_uint_eq(read_stat("dio_inval_skipped"), skipped);
	}
	/* A buffered reader that opens now sees both, through pages cached before them. */
	bfd = open(p("f"), O_RDONLY);
	ck_assert_int_ge(bfd, 0);
	warm_cache(bfd, got, want, len);

	/* With it open, a direct write is told to the kernel, and the open reader sees it. */
	sent = read_stat("kernel_invalidations");
	fill(a, 4096, seed + 3);
	memcpy(want + 8192, a, 4096);
	ck_assert_int_eq(pwrite(dfd, a, 4096, 8192), 4096);
	ck_assert_uint_gt(read_stat("kernel_invalidations"), sent);
	warm_cache(bfd, got, want, len);
	close(bfd);
	close(dfd);
	free(a);
	free(want);
	free(got);
}
END_TEST

#define WRITERS		  4
#define WRITER_BLOCKS	  16
#define WRITES_PER_WRITER 200

struct direct_writer {
	int dfd, rfd; /* writes through dfd, reads back through rfd */
	unsigned idx;
	unsigned bad; /* 1 + the write after which rfd read other bytes */
};

/* Direct writes to the writer's own blocks; after each returns, rfd must read its bytes. */
static void *direct_writer_run(void *arg)
{
	struct direct_writer *w = arg;
	char *a, *got;

	if (posix_memalign((void **)&a, 4096, 8192)) {
		w->bad = 1;
		return NULL;
	}
	got = a + 4096;
	for (unsigned i = 0; i < WRITES_PER_WRITER && !w->bad; i++) {
		off_t off = (off_t)(w->idx * WRITER_BLOCKS + i % WRITER_BLOCKS) * 4096;

		fill(a, 4096, seed + w->idx * 1000 + i);
		if (pwrite(w->dfd, a, 4096, off) != 4096 || pread(w->rfd, got, 4096, off) != 4096 ||
		    memcmp(a, got, 4096))
			w->bad = i + 1;
	}
	free(a);
	return NULL;
}

static void run_direct_writers(int dfd, int rfd)
{
	struct direct_writer w[WRITERS];
	pthread_t th[WRITERS];

	for (unsigned i = 0; i < WRITERS; i++) {
		w[i] = (struct direct_writer){.dfd = dfd, .rfd = rfd, .idx = i};
		ck_assert_int_eq(pthread_create(&th[i], NULL, direct_writer_run, &w[i]), 0);
	}
	for (unsigned i = 0; i < WRITERS; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(!w[i].bad, "writer %u: the read after write %u saw other bytes", i,
			      w[i].bad - 1);
	}
}

static volatile bool truncating;

/* Shrinks and regrows the file at path, queueing kernel invalidations, until told to stop. */
static void *truncate_run(void *arg)
{
	const char *path = arg;

	for (unsigned i = 0; truncating; i++)
		if (truncate(path, i % 2 ? 65536 : 4096))
			break;
	return NULL;
}

/*
 * Direct writes from several threads. Through a file that also has a buffered descriptor open,
 * each write is seen by that descriptor's next read: the reply follows the invalidation queued
 * by whichever thread completed the write (this kernel then sends them one at a time). Through
 * a file with only direct descriptors the kernel sends them in parallel and the daemon answers
 * them from their completions; while invalidations of another file are queued, such a reply
 * waits for them and is sent once they were, and every block still reads back.
 */
START_TEST(direct_writes_from_threads_reply_after_their_invalidations)
{
	size_t len = (size_t)WRITERS * WRITER_BLOCKS * 4096;
	char *data = malloc(len);
	unsigned long long async, deferred, sent;
	pthread_t trunc;
	int bfd, dfd;

	test_dir("dio_threads");
	fill(data, len, seed);
	write_file(p("f"), data, len);
	write_file(p("g"), data, len);
	bfd = open(p("f"), O_RDONLY);
	ck_assert_int_ge(bfd, 0);
	warm_cache(bfd, data, data, len);
	dfd = open(p("f"), O_RDWR | O_DIRECT);
	ck_assert_int_ge(dfd, 0);
	sent = read_stat("kernel_invalidations");
	run_direct_writers(dfd, bfd);
	ck_assert_uint_gt(read_stat("kernel_invalidations"), sent);
	close(bfd);
	close(dfd);

	dfd = open(p("g"), O_RDWR | O_DIRECT);
	ck_assert_int_ge(dfd, 0);
	async = read_stat("direct_writes_async");
	deferred = read_stat("replies_after_invalidation");
	truncating = true;
	ck_assert_int_eq(pthread_create(&trunc, NULL, truncate_run, (void *)p("f")), 0);
	run_direct_writers(dfd, dfd);
	truncating = false;
	pthread_join(trunc, NULL);
	ck_assert_uint_gt(read_stat("direct_writes_async"), async);
	ck_assert_uint_gt(read_stat("replies_after_invalidation"), deferred);
	close(dfd);
	free(data);
}
END_TEST

START_TEST(unlinked_open_file_stays_readable)
{
	char got[5];
	int fd;

	test_dir("orphan");
	write_file(p("f"), "alive", 5);
	fd = open(p("f"), O_RDWR);
	ck_assert_int_eq(unlink(p("f")), 0);
	ck_assert_int_eq(pread(fd, got, 5, 0), 5);
	ck_assert_int_eq(memcmp(got, "alive", 5), 0);
	ck_assert_int_eq(pwrite(fd, "again", 5, 0), 5);
	ck_assert_int_eq(fsync(fd), 0);
	close(fd);
}
END_TEST

START_TEST(mknod_fifo_and_device)
{
	struct stat st;

	test_dir("mknod");
	ck_assert_int_eq(mkfifo(p("fifo"), 0644), 0);
	ck_assert_int_eq(stat(p("fifo"), &st), 0);
	ck_assert(S_ISFIFO(st.st_mode));
	ck_assert_int_eq(mknod(p("null"), S_IFCHR | 0666, makedev(1, 3)), 0);
	ck_assert_int_eq(stat(p("null"), &st), 0);
	ck_assert(S_ISCHR(st.st_mode));
	ck_assert_int_eq(major(st.st_rdev), 1);
	ck_assert_int_eq(minor(st.st_rdev), 3);
}
END_TEST

START_TEST(readdir_lists_every_entry_once)
{
	enum { N = 600 };
	static unsigned char seen[N];
	struct dirent *de;
	char name[32];
	DIR *d;
	int n = 0;

	test_dir("readdir");
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "entry-%04d", i);
		write_file(p(name), "", 0);
	}
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		int i;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		ck_assert_int_eq(sscanf(de->d_name, "entry-%d", &i), 1);
		ck_assert_int_eq(seen[i], 0);
		ck_assert_int_eq(de->d_type, DT_REG);
		seen[i] = 1;
		n++;
	}
	closedir(d);
	ck_assert_int_eq(n, N);
}
END_TEST

/* Run @fn as the test user in a child (permission checks are the kernel's, through
 * default_permissions: this proves they are on and that ownership is right). */
static void as_user(void (*fn)(void))
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (!pid) {
		if (setgroups(0, NULL) || setresgid(test_gid, test_gid, test_gid) ||
		    setresuid(test_uid, test_uid, test_uid))
			_exit(99);
		fn();
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "as-user part failed: %d",
		      status);
}

#define user_check(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "as user: %s failed (errno %d)\n", #cond, errno);          \
			_exit(1);                                                                  \
		}                                                                                  \
	} while (0)

static void user_part(void)
{
	struct stat st;
	int fd;

	errno = 0;
	user_check(open(p("rootonly/f"), O_CREAT | O_RDWR, 0644) < 0 && errno == EACCES);
	user_check(open(p("secret"), O_RDONLY) < 0 && errno == EACCES);
	user_check(chmod(p("secret"), 0777) < 0 && errno == EPERM);
	user_check(chown(p("mine"), 0, 0) < 0 && errno == EPERM);
	fd = open(p("mine/f"), O_CREAT | O_RDWR, 0600);
	user_check(fd >= 0);
	user_check(write(fd, "u", 1) == 1);
	close(fd);
	user_check(stat(p("mine/f"), &st) == 0 && st.st_uid == test_uid && st.st_gid == test_gid);
	user_check(mkdir(p("mine/d"), 0700) == 0);
	/* Sticky directory: may not remove someone else's file, may remove one's own. */
	user_check(unlink(p("sticky/rootfile")) < 0 && errno == EPERM);
	user_check(rename(p("sticky/rootfile"), p("sticky/x")) < 0 && errno == EPERM);
	fd = open(p("sticky/userfile"), O_CREAT | O_RDWR, 0644);
	user_check(fd >= 0);
	close(fd);
	user_check(unlink(p("sticky/userfile")) == 0);
	user_check(utimensat(AT_FDCWD, p("secret"), NULL, 0) < 0 && errno == EACCES);
	user_check(setxattr(p("secret"), "user.x", "1", 1, 0) < 0 && errno == EACCES);
}

START_TEST(permissions_are_enforced_for_an_unprivileged_user)
{
	if (!test_uid) {
		fprintf(stderr, "no GUARDFS_TEST_UID: permission test needs a test user\n");
		ck_abort();
	}
	test_dir("perm");
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(mkdir(p("rootonly"), 0755), 0);
	write_file(p("secret"), "s", 1);
	ck_assert_int_eq(chmod(p("secret"), 0600), 0);
	ck_assert_int_eq(mkdir(p("mine"), 0755), 0);
	ck_assert_int_eq(chown(p("mine"), test_uid, test_gid), 0);
	ck_assert_int_eq(mkdir(p("sticky"), 0777), 0);
	ck_assert_int_eq(chmod(p("sticky"), 01777), 0);
	write_file(p("sticky/rootfile"), "r", 1);
	as_user(user_part);
}
END_TEST

static Suite *posix_suite(void)
{
	Suite *s = suite_create("fuse_posix");
	TCase *tc = tcase_create("posix");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, create_sets_owner_mode_and_empty_size);
	tcase_add_test(tc, write_read_pwrite_append_roundtrip);
	tcase_add_test(tc, mkdir_rmdir_unlink_errors);
	tcase_add_test(tc, names_over_255_bytes_are_refused);
	tcase_add_test(tc, symlinks_resolve_and_loops_give_eloop);
	tcase_add_test(tc, hard_links_count_and_directories_refuse);
	tcase_add_test(tc, rename_replace_noreplace_exchange_and_errors);
	tcase_add_test(tc, setattr_mode_owner_size_times);
	tcase_add_test(tc, setgid_directories_pass_group_and_bit);
	tcase_add_test(tc, xattrs_set_get_list_remove_and_flags);
	tcase_add_test(tc, statfs_counts_real_blocks_and_inodes);
	tcase_add_test(tc, fallocate_modes_and_seek_data_hole);
	tcase_add_test(tc, copy_file_range_copies_bytes);
	tcase_add_test(tc, direct_io_alignment_and_coherence_with_cache_and_mmap);
	tcase_add_test(tc, lone_direct_requests_skip_the_bounce_copy);
	tcase_add_test(tc, core_invalidations_reach_the_kernel_page_cache);
	tcase_add_test(tc, direct_writes_tell_the_kernel_only_what_it_may_cache);
	tcase_add_test(tc, direct_writes_from_threads_reply_after_their_invalidations);
	tcase_add_test(tc, unlinked_open_file_stays_readable);
	tcase_add_test(tc, mknod_fifo_and_device);
	tcase_add_test(tc, readdir_lists_every_entry_once);
	tcase_add_test(tc, permissions_are_enforced_for_an_unprivileged_user);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	const char *e;
	SRunner *sr;
	int failed;

	mnt = getenv("GUARDFS_MNT");
	if (!mnt) {
		fprintf(stderr, "GUARDFS_MNT is not set (run through posix.sh)\n");
		return 2;
	}
	e = getenv("GUARDFS_TEST_SEED");
	seed = e ? (unsigned)strtoul(e, NULL, 0) : (unsigned)time(NULL);
	printf("seed %u (GUARDFS_TEST_SEED=%u to replay)\n", seed, seed);
	if ((e = getenv("GUARDFS_TEST_UID")))
		test_uid = (uid_t)strtoul(e, NULL, 0);
	if ((e = getenv("GUARDFS_TEST_GID")))
		test_gid = (gid_t)strtoul(e, NULL, 0);
	sr = srunner_create(posix_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
