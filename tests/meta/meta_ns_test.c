/* SPDX-License-Identifier: MIT */
/*
 * meta_ns_test.c - the namespace half of core/meta: create, mknod, mkdir, symlink, link,
 * unlink, rmdir, rename with its flags, attributes, readdir cookies, hashed collisions and
 * xattrs, each with its error cases, on image files through the file backend. Every test that
 * changes state also checks that a remount (log replay, or checkpoint) gives the same dump.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "core/meta.h"
#include "core/meta_internal.h" /* to break an invariant on purpose */
#include "tests/meta/meta_test_util.h"
#include "tests/meta/mt_fs.h"

#define IMG_BYTES (64ull << 20)
#define ROOT	  META_ROOT_INO

static struct mt_image img;
static struct meta_fs *fs;

static void setup(void)
{
	fs = mt_mkfs_mount(&img, IMG_BYTES);
}

static void teardown(void)
{
	if (fs)
		ck_assert_int_eq(meta_check(fs), 0);
	if (fs)
		ck_assert_int_eq(meta_unmount(fs), 0);
	fs = NULL;
	meta_test_set_name_hash(NULL);
	mt_remove(&img);
	fprintf(stderr, "TIMING %.3f\n", test_now());
}

/* Unmount, mount, and require the same dump (and a valid state). */
static void remount_same(void)
{
	ck_assert_int_eq(meta_check(fs), 0);
	fs = mt_remount_same(fs, &img);
	ck_assert_int_eq(meta_check(fs), 0);
}

/* Drop without a checkpoint after a commit: the log alone must give the same dump. */
static void crash_same(void)
{
	char *before, *after;

	ck_assert_int_eq(meta_syncfs(fs), 0);
	before = mt_dump(fs);
	meta_abandon(fs);
	fs = mt_mount(&img);
	after = mt_dump(fs);
	mt_assert_same_dump(before, after);
	free(before);
	free(after);
}

START_TEST(mkfs_gives_root_and_lost_found)
{
	struct meta_attr a;
	uint64_t lf;

	ck_assert_int_eq(meta_getattr(fs, ROOT, &a), 0);
	ck_assert(S_ISDIR(a.mode));
	ck_assert_uint_eq(a.mode & 07777, 0755);
	ck_assert_uint_eq(a.nlink, 3);
	lf = mt_lookup(fs, ROOT, "lost+found");
	ck_assert_uint_ne(lf, 0);
	ck_assert_int_eq(meta_getattr(fs, lf, &a), 0);
	ck_assert(S_ISDIR(a.mode));
	ck_assert_uint_eq(a.mode & 07777, 0700);
	ck_assert_uint_eq(mt_lookup(fs, ROOT, ".."), ROOT);
	ck_assert_uint_eq(mt_lookup(fs, lf, ".."), ROOT);
}
END_TEST

START_TEST(create_sets_attributes_and_lookup_finds_it)
{
	struct meta_owner who = {1000, 100};
	struct meta_attr a, b;

	ck_assert_int_eq(meta_create(fs, ROOT, "f", 0640, &who, &a), 0);
	ck_assert(S_ISREG(a.mode));
	ck_assert_uint_eq(a.mode & 07777, 0640);
	ck_assert_uint_eq(a.uid, 1000);
	ck_assert_uint_eq(a.gid, 100);
	ck_assert_uint_eq(a.nlink, 1);
	ck_assert_uint_eq(a.size, 0);
	ck_assert(a.ctime_ns > 0 && a.mtime_ns == a.ctime_ns && a.btime_ns == a.ctime_ns);
	ck_assert_int_eq(meta_lookup(fs, ROOT, "f", &b), 0);
	ck_assert_uint_eq(b.ino, a.ino);
	meta_forget(fs, a.ino, 2);
	remount_same();
	ck_assert_uint_eq(mt_lookup(fs, ROOT, "f"), a.ino);
}
END_TEST

START_TEST(create_errors_are_posix)
{
	char longname[300];
	uint64_t f;

	f = mt_create(fs, ROOT, "f");
	ck_assert_int_eq(meta_create(fs, ROOT, "f", 0644, NULL, NULL), -EEXIST);
	ck_assert_int_eq(meta_create(fs, ROOT, ".", 0644, NULL, NULL), -EEXIST);
	ck_assert_int_eq(meta_create(fs, ROOT, "..", 0644, NULL, NULL), -EEXIST);
	ck_assert_int_eq(meta_create(fs, ROOT, "a/b", 0644, NULL, NULL), -EINVAL);
	ck_assert_int_eq(meta_create(fs, ROOT, "", 0644, NULL, NULL), -ENOENT);
	ck_assert_int_eq(meta_create(fs, f, "x", 0644, NULL, NULL), -ENOTDIR);
	ck_assert_int_eq(meta_create(fs, 999999, "x", 0644, NULL, NULL), -ENOENT);
	memset(longname, 'n', sizeof(longname));
	longname[256] = 0;
	ck_assert_int_eq(meta_create(fs, ROOT, longname, 0644, NULL, NULL), -ENAMETOOLONG);
	ck_assert_int_eq(meta_lookup(fs, ROOT, longname, &(struct meta_attr){0}), -ENAMETOOLONG);
	longname[255] = 0;
	ck_assert_uint_ne(mt_create(fs, ROOT, longname), 0);
	ck_assert_uint_ne(mt_lookup(fs, ROOT, longname), 0);
	ck_assert_int_eq(meta_lookup(fs, ROOT, "nope", &(struct meta_attr){0}), -ENOENT);
	ck_assert_int_eq(meta_lookup(fs, f, "x", &(struct meta_attr){0}), -ENOTDIR);
	remount_same();
}
END_TEST

START_TEST(mknod_makes_every_special_type)
{
	struct meta_attr a;

	ck_assert_int_eq(meta_mknod(fs, ROOT, "c", S_IFCHR | 0600, makedev(4, 5), NULL, &a), 0);
	ck_assert(S_ISCHR(a.mode));
	ck_assert_uint_eq(a.rdev, makedev(4, 5));
	meta_forget(fs, a.ino, 1);
	ck_assert_int_eq(meta_mknod(fs, ROOT, "b", S_IFBLK | 0600, makedev(8, 1), NULL, &a), 0);
	ck_assert(S_ISBLK(a.mode));
	meta_forget(fs, a.ino, 1);
	ck_assert_int_eq(meta_mknod(fs, ROOT, "p", S_IFIFO | 0600, 0, NULL, &a), 0);
	ck_assert(S_ISFIFO(a.mode));
	meta_forget(fs, a.ino, 1);
	ck_assert_int_eq(meta_mknod(fs, ROOT, "s", S_IFSOCK | 0600, 0, NULL, &a), 0);
	ck_assert(S_ISSOCK(a.mode));
	meta_forget(fs, a.ino, 1);
	ck_assert_int_eq(meta_mknod(fs, ROOT, "r", 0600, 0, NULL, &a), 0);
	ck_assert(S_ISREG(a.mode));
	meta_forget(fs, a.ino, 1);
	ck_assert_int_eq(meta_mknod(fs, ROOT, "d", S_IFDIR | 0600, 0, NULL, &a), -EINVAL);
	ck_assert_int_eq(meta_mknod(fs, ROOT, "l", S_IFLNK | 0600, 0, NULL, &a), -EINVAL);
	remount_same();
	ck_assert_int_eq(meta_getattr(fs, mt_lookup(fs, ROOT, "c"), &a), 0);
	ck_assert_uint_eq(a.rdev, makedev(4, 5));
}
END_TEST

START_TEST(mkdir_rmdir_keep_link_counts)
{
	struct meta_attr a;
	uint64_t d, e;

	d = mt_mkdir(fs, ROOT, "d");
	ck_assert_int_eq(meta_getattr(fs, ROOT, &a), 0);
	ck_assert_uint_eq(a.nlink, 4);
	e = mt_mkdir(fs, d, "e");
	ck_assert_uint_eq(mt_lookup(fs, e, ".."), d);
	ck_assert_uint_eq(mt_lookup(fs, e, "."), e);
	mt_create(fs, e, "f");
	ck_assert_int_eq(meta_rmdir(fs, d, "e"), -ENOTEMPTY);
	ck_assert_int_eq(meta_rmdir(fs, e, "f"), -ENOTDIR);
	ck_assert_int_eq(meta_unlink(fs, d, "e"), -EISDIR);
	ck_assert_int_eq(meta_rmdir(fs, d, "."), -EINVAL);
	ck_assert_int_eq(meta_rmdir(fs, d, ".."), -ENOTEMPTY);
	ck_assert_int_eq(meta_rmdir(fs, d, "zz"), -ENOENT);
	ck_assert_int_eq(meta_mkdir(fs, d, "e", 0755, NULL, NULL), -EEXIST);
	crash_same();
	ck_assert_int_eq(meta_unlink(fs, e, "f"), 0);
	ck_assert_int_eq(meta_rmdir(fs, d, "e"), 0);
	ck_assert_int_eq(meta_getattr(fs, d, &a), 0);
	ck_assert_uint_eq(a.nlink, 2);
	ck_assert_int_eq(meta_getattr(fs, e, &a), -ENOENT);
	ck_assert_int_eq(meta_rmdir(fs, ROOT, "d"), 0);
	ck_assert_int_eq(meta_getattr(fs, ROOT, &a), 0);
	ck_assert_uint_eq(a.nlink, 3);
	remount_same();
}
END_TEST

START_TEST(symlink_target_round_trips)
{
	char target[META_SYMLINK_MAX + 2], buf[64];
	struct meta_attr a;
	uint64_t f;

	ck_assert_int_eq(meta_symlink(fs, ROOT, "l", "some/where", NULL, &a), 0);
	ck_assert(S_ISLNK(a.mode));
	ck_assert_uint_eq(a.size, 10);
	meta_forget(fs, a.ino, 1);
	ck_assert_int_eq(meta_readlink(fs, a.ino, buf, sizeof(buf)), 10);
	ck_assert_str_eq(buf, "some/where");
	ck_assert_int_eq(meta_readlink(fs, a.ino, buf, 5), 10);
	ck_assert_str_eq(buf, "some");
	f = mt_create(fs, ROOT, "f");
	ck_assert_int_eq(meta_readlink(fs, f, buf, sizeof(buf)), -EINVAL);
	memset(target, 't', sizeof(target));
	target[META_SYMLINK_MAX + 1] = 0;
	ck_assert_int_eq(meta_symlink(fs, ROOT, "long", target, NULL, NULL), -ENAMETOOLONG);
	ck_assert_int_eq(meta_symlink(fs, ROOT, "empty", "", NULL, NULL), -ENOENT);
	target[META_SYMLINK_MAX] = 0;
	ck_assert_int_eq(meta_symlink(fs, ROOT, "max", target, NULL, &a), 0);
	meta_forget(fs, a.ino, 1);
	remount_same();
	ck_assert_int_eq(meta_readlink(fs, mt_lookup(fs, ROOT, "l"), buf, sizeof(buf)), 10);
	ck_assert_str_eq(buf, "some/where");
}
END_TEST

START_TEST(hard_links_count_and_survive_unlink)
{
	struct meta_attr a;
	uint64_t f, d;

	f = mt_create(fs, ROOT, "f");
	d = mt_mkdir(fs, ROOT, "d");
	ck_assert_int_eq(meta_link(fs, f, d, "g", &a), 0);
	meta_forget(fs, f, 1);
	ck_assert_uint_eq(a.nlink, 2);
	ck_assert_int_eq(meta_link(fs, f, d, "g", NULL), -EEXIST);
	ck_assert_int_eq(meta_link(fs, d, ROOT, "dd", NULL), -EPERM);
	ck_assert_int_eq(meta_link(fs, 4242, ROOT, "x", NULL), -ENOENT);
	ck_assert_int_eq(meta_link(fs, f, f, "x", NULL), -ENOTDIR);
	crash_same();
	ck_assert_int_eq(meta_unlink(fs, ROOT, "f"), 0);
	ck_assert_int_eq(meta_getattr(fs, f, &a), 0);
	ck_assert_uint_eq(a.nlink, 1);
	ck_assert_uint_eq(mt_lookup(fs, d, "g"), f);
	ck_assert_int_eq(meta_unlink(fs, ROOT, "f"), -ENOENT);
	remount_same();
	ck_assert_int_eq(meta_unlink(fs, d, "g"), 0);
	ck_assert_int_eq(meta_getattr(fs, f, &a), -ENOENT);
}
END_TEST

START_TEST(setattr_changes_what_it_is_told_and_ctime)
{
	struct meta_setattr sa = {0};
	struct meta_attr a, b;
	uint64_t f, d;

	f = mt_create(fs, ROOT, "f");
	d = mt_mkdir(fs, ROOT, "d");
	ck_assert_int_eq(meta_getattr(fs, f, &a), 0);
	sa.valid = META_SET_MODE | META_SET_UID | META_SET_GID | META_SET_ATIME | META_SET_MTIME;
	sa.mode = S_IFDIR | 04711; /* the type bits are ignored */
	sa.uid = 7;
	sa.gid = 8;
	sa.atime_ns = -1000000001; /* before the epoch */
	sa.mtime_ns = 1234567890123456789;
	ck_assert_int_eq(meta_setattr(fs, f, &sa, &b), 0);
	ck_assert(S_ISREG(b.mode));
	ck_assert_uint_eq(b.mode & 07777, 04711);
	ck_assert_uint_eq(b.uid, 7);
	ck_assert_uint_eq(b.gid, 8);
	ck_assert_int_eq(b.atime_ns, -1000000001);
	ck_assert_int_eq(b.mtime_ns, 1234567890123456789);
	ck_assert(b.ctime_ns >= a.ctime_ns);
	ck_assert_int_eq(b.btime_ns, a.btime_ns);
	sa = (struct meta_setattr){.valid = META_SET_CTIME, .ctime_ns = 42};
	ck_assert_int_eq(meta_setattr(fs, f, &sa, &b), 0);
	ck_assert_int_eq(b.ctime_ns, 42);
	sa = (struct meta_setattr){.valid = META_SET_SIZE, .size = 1};
	remount_same();
	ck_assert_int_eq(meta_getattr(fs, f, &b), 0);
	ck_assert_int_eq(b.ctime_ns, 42);
	ck_assert_int_eq(meta_setattr(fs, d, &sa, NULL), -EISDIR);
	sa.size = (1ull << 63);
	ck_assert_int_eq(meta_setattr(fs, f, &sa, NULL), -EFBIG);
	sa.size = INT64_MAX;
	ck_assert_int_eq(meta_setattr(fs, f, &sa, &b), 0);
	ck_assert_uint_eq(b.size, INT64_MAX);
	ck_assert_int_eq(meta_setattr(fs, 777777, &sa, NULL), -ENOENT);
	crash_same();
	remount_same();
	ck_assert_int_eq(meta_getattr(fs, f, &b), 0);
	ck_assert_uint_eq(b.size, INT64_MAX);
	ck_assert(b.ctime_ns > 42); /* a size change sets ctime */
}
END_TEST

START_TEST(unlinked_open_file_lives_until_forget)
{
	struct meta_attr a;

	ck_assert_int_eq(meta_create(fs, ROOT, "f", 0644, NULL, &a), 0);
	ck_assert_int_eq(meta_unlink(fs, ROOT, "f"), 0);
	ck_assert_int_eq(meta_getattr(fs, a.ino, &a), 0);
	ck_assert_uint_eq(a.nlink, 0);
	ck_assert_uint_eq(mt_lookup(fs, ROOT, "f"), 0);
	meta_forget(fs, a.ino, 1);
	ck_assert_int_eq(meta_getattr(fs, a.ino, &a), -ENOENT);
	remount_same();
}
END_TEST

/* ------------------------------------------------------------------ rename */

START_TEST(rename_moves_and_replaces)
{
	struct meta_attr a;
	uint64_t f, g, d;

	f = mt_create(fs, ROOT, "f");
	g = mt_create(fs, ROOT, "g");
	d = mt_mkdir(fs, ROOT, "d");
	ck_assert_int_eq(meta_rename(fs, ROOT, "f", d, "f2", 0), 0);
	ck_assert_uint_eq(mt_lookup(fs, ROOT, "f"), 0);
	ck_assert_uint_eq(mt_lookup(fs, d, "f2"), f);
	/* Over an existing file: the target loses its link and goes. */
	ck_assert_int_eq(meta_rename(fs, d, "f2", ROOT, "g", 0), 0);
	ck_assert_uint_eq(mt_lookup(fs, ROOT, "g"), f);
	ck_assert_int_eq(meta_getattr(fs, g, &a), -ENOENT);
	ck_assert_int_eq(meta_rename(fs, ROOT, "nope", ROOT, "x", 0), -ENOENT);
	ck_assert_int_eq(meta_rename(fs, ROOT, "g", 12345, "x", 0), -ENOENT);
	ck_assert_int_eq(meta_rename(fs, ROOT, "g", f, "x", 0), -ENOTDIR);
	/* Onto itself: nothing happens. */
	ck_assert_int_eq(meta_rename(fs, ROOT, "g", ROOT, "g", 0), 0);
	ck_assert_uint_eq(mt_lookup(fs, ROOT, "g"), f);
	crash_same();
	remount_same();
}
END_TEST

START_TEST(rename_noreplace_and_flag_errors)
{
	uint64_t f, g;

	f = mt_create(fs, ROOT, "f");
	g = mt_create(fs, ROOT, "g");
	ck_assert_int_eq(meta_rename(fs, ROOT, "f", ROOT, "g", META_RENAME_NOREPLACE), -EEXIST);
	ck_assert_int_eq(
		meta_rename(fs, ROOT, "f", ROOT, "g", META_RENAME_NOREPLACE | META_RENAME_EXCHANGE),
		-EINVAL);
	ck_assert_int_eq(meta_rename(fs, ROOT, "f", ROOT, "g", 0x100), -EINVAL);
	ck_assert_int_eq(meta_rename(fs, ROOT, "f", ROOT, "h", META_RENAME_NOREPLACE), 0);
	ck_assert_uint_eq(mt_lookup(fs, ROOT, "h"), f);
	ck_assert_uint_eq(mt_lookup(fs, ROOT, "g"), g);
	ck_assert_int_eq(meta_rename(fs, ROOT, "h", ROOT, "..", 0), -EINVAL);
	ck_assert_int_eq(meta_rename(fs, ROOT, ".", ROOT, "x", 0), -EINVAL);
	remount_same();
}
END_TEST

START_TEST(rename_exchange_swaps_files_and_dirs)
{
	struct meta_attr a;
	uint64_t f, d1, d2, sub;

	f = mt_create(fs, ROOT, "f");
	d1 = mt_mkdir(fs, ROOT, "d1");
	d2 = mt_mkdir(fs, ROOT, "d2");
	sub = mt_mkdir(fs, d2, "sub");
	ck_assert_int_eq(meta_rename(fs, ROOT, "f", ROOT, "missing", META_RENAME_EXCHANGE),
			 -ENOENT);
	/* A file and a directory in different parents swap places, link counts follow. */
	ck_assert_int_eq(meta_rename(fs, ROOT, "f", d2, "sub", META_RENAME_EXCHANGE), 0);
	ck_assert_uint_eq(mt_lookup(fs, ROOT, "f"), sub);
	ck_assert_uint_eq(mt_lookup(fs, d2, "sub"), f);
	ck_assert_uint_eq(mt_lookup(fs, sub, ".."), ROOT);
	ck_assert_int_eq(meta_getattr(fs, d2, &a), 0);
	ck_assert_uint_eq(a.nlink, 2);
	ck_assert_int_eq(meta_getattr(fs, ROOT, &a), 0);
	ck_assert_uint_eq(a.nlink, 6);
	/* Two directories swap. */
	ck_assert_int_eq(meta_rename(fs, ROOT, "d1", ROOT, "d2", META_RENAME_EXCHANGE), 0);
	ck_assert_uint_eq(mt_lookup(fs, ROOT, "d1"), d2);
	ck_assert_uint_eq(mt_lookup(fs, ROOT, "d2"), d1);
	/* Exchanging a directory with something inside it would make a loop. */
	mt_mkdir(fs, d1, "inner");
	ck_assert_int_eq(meta_rename(fs, ROOT, "d2", d1, "inner", META_RENAME_EXCHANGE), -EINVAL);
	ck_assert_int_eq(meta_rename(fs, d1, "inner", ROOT, "d2", META_RENAME_EXCHANGE), -EINVAL);
	ck_assert_int_eq(meta_check(fs), 0);
	crash_same();
	remount_same();
}
END_TEST

START_TEST(rename_directories_follow_the_rules)
{
	struct meta_attr a;
	uint64_t a1, b1, c1, f;

	a1 = mt_mkdir(fs, ROOT, "a");
	b1 = mt_mkdir(fs, a1, "b");
	c1 = mt_mkdir(fs, b1, "c");
	f = mt_create(fs, ROOT, "f");
	/* Into its own subtree, or onto itself inside. */
	ck_assert_int_eq(meta_rename(fs, ROOT, "a", c1, "a", 0), -EINVAL);
	ck_assert_int_eq(meta_rename(fs, ROOT, "a", b1, "x", 0), -EINVAL);
	ck_assert_int_eq(meta_rename(fs, ROOT, "a", a1, "x", 0), -EINVAL);
	/* Type mismatches and non-empty targets. */
	ck_assert_int_eq(meta_rename(fs, ROOT, "a", ROOT, "f", 0), -ENOTDIR);
	ck_assert_int_eq(meta_rename(fs, ROOT, "f", a1, "b", 0), -EISDIR);
	mt_mkdir(fs, ROOT, "full");
	mt_create(fs, mt_lookup(fs, ROOT, "full"), "x");
	ck_assert_int_eq(meta_rename(fs, a1, "b", ROOT, "full", 0), -ENOTEMPTY);
	/* Over an empty directory: replaced. */
	mt_mkdir(fs, ROOT, "empty");
	ck_assert_int_eq(meta_rename(fs, a1, "b", ROOT, "empty", 0), 0);
	ck_assert_uint_eq(mt_lookup(fs, ROOT, "empty"), b1);
	ck_assert_uint_eq(mt_lookup(fs, b1, ".."), ROOT);
	ck_assert_int_eq(meta_getattr(fs, a1, &a), 0);
	ck_assert_uint_eq(a.nlink, 2);
	ck_assert_int_eq(meta_getattr(fs, ROOT, &a), 0);
	ck_assert_uint_eq(a.nlink, 2 + 4); /* lost+found, a, full, empty */
	/* Up and out of a subtree is fine. */
	ck_assert_int_eq(meta_rename(fs, b1, "c", ROOT, "c", 0), 0);
	ck_assert_uint_eq(mt_lookup(fs, c1, ".."), ROOT);
	(void)f;
	ck_assert_int_eq(meta_check(fs), 0);
	crash_same();
	remount_same();
}
END_TEST

/* ------------------------------------------------------------------ readdir */

struct seen {
	uint64_t *cookies;
	char (*names)[32];
	size_t nr, cap, stop_after;
	uint64_t last_cookie;
};

static int collect(void *arg, const struct meta_dirent_info *de)
{
	struct seen *s = arg;

	if (s->stop_after && s->nr >= s->stop_after)
		return 1;
	fast_true(de->cookie > s->last_cookie);
	fast_true(de->namelen == strlen(de->name) && de->namelen < 32);
	if (s->nr == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->cookies = realloc(s->cookies, s->cap * sizeof(*s->cookies));
		s->names = realloc(s->names, s->cap * sizeof(*s->names));
	}
	s->cookies[s->nr] = de->cookie;
	strcpy(s->names[s->nr++], de->name);
	s->last_cookie = de->cookie;
	return 0;
}

START_TEST(readdir_lists_dot_dotdot_and_entries)
{
	struct seen s = {0};
	uint64_t d = mt_mkdir(fs, ROOT, "d");

	mt_create(fs, d, "x");
	mt_mkdir(fs, d, "y");
	ck_assert_int_eq(meta_readdir(fs, d, 0, collect, &s), 0);
	ck_assert_uint_eq(s.nr, 4);
	ck_assert_str_eq(s.names[0], ".");
	ck_assert_str_eq(s.names[1], "..");
	ck_assert_str_eq(s.names[2], "x");
	ck_assert_str_eq(s.names[3], "y");
	ck_assert_int_eq(meta_readdir(fs, mt_lookup(fs, d, "x"), 0, collect, &s), -ENOTDIR);
	ck_assert_int_eq(meta_readdir(fs, 99999, 0, collect, &s), -ENOENT);
	free(s.cookies);
	free(s.names);
}
END_TEST

/*
 * Walk a directory a few entries at a time while creating and unlinking others between the
 * calls: every entry present for the whole walk must come back exactly once.
 */
START_TEST(readdir_cookies_are_stable_under_concurrent_changes)
{
	struct test_rng rng = {test_seed("readdir_cookies_are_stable")};
	enum { N = 3000 };
	static char present[N], stable[N];
	static unsigned returned[N];
	uint64_t d = mt_mkdir(fs, ROOT, "d"), cookie = 0;
	struct seen s = {0};
	char name[32];

	memset(present, 0, sizeof(present));
	memset(returned, 0, sizeof(returned));
	for (int i = 0; i < N; i += 2) {
		snprintf(name, sizeof(name), "e%d", i);
		mt_create(fs, d, name);
		present[i] = stable[i] = 1;
	}
	for (int round = 0;; round++) {
		size_t before = s.nr;

		s.stop_after = s.nr + 1 + rng_below(&rng, 50);
		ck_assert_int_eq(meta_readdir(fs, d, cookie, collect, &s), 0);
		if (s.nr == before)
			break;
		cookie = s.cookies[s.nr - 1];
		/* Changes stop after a while: new entries land after the cursor, so the walk ends.
		 */
		for (int k = 0; k < 20 && round < 60; k++) {
			int i = (int)rng_below(&rng, N);

			snprintf(name, sizeof(name), "e%d", i);
			if (present[i]) {
				ck_assert_int_eq(meta_unlink(fs, d, name), 0);
				present[i] = 0;
			} else {
				mt_create(fs, d, name);
				present[i] = 1;
			}
			stable[i] = 0;
		}
	}
	for (size_t k = 2; k < s.nr; k++) {
		int i = atoi(s.names[k] + 1);

		returned[i]++;
	}
	for (int i = 0; i < N; i++)
		ck_assert_msg(!stable[i] || returned[i] == 1,
			      "e%d present throughout but returned %u times", i, returned[i]);
	free(s.cookies);
	free(s.names);
	remount_same();
}
END_TEST

static uint64_t hash_collide(const char *name, size_t len)
{
	/* Only four hash values: every lookup compares names within a collision chain. */
	return len & 3;
}

START_TEST(hash_collisions_do_not_confuse_lookup)
{
	enum { N = 2000 };
	struct seen s = {0};
	char name[32];
	uint64_t d;

	meta_test_set_name_hash(hash_collide);
	fs = mt_remount(fs, &img);
	d = mt_mkdir(fs, ROOT, "d");
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		mt_create(fs, d, name);
	}
	ck_assert_int_eq(meta_create(fs, d, "n7", 0644, NULL, NULL), -EEXIST);
	for (int i = 0; i < N; i += 2) {
		snprintf(name, sizeof(name), "n%d", i);
		ck_assert_int_eq(meta_unlink(fs, d, name), 0);
	}
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		fast_eq(mt_lookup(fs, d, name) != 0, i & 1);
	}
	ck_assert_int_eq(meta_readdir(fs, d, 0, collect, &s), 0);
	ck_assert_uint_eq(s.nr, 2 + N / 2);
	free(s.cookies);
	free(s.names);
	remount_same();
	for (int i = 1; i < N; i += 2) {
		snprintf(name, sizeof(name), "n%d", i);
		fast_true(mt_lookup(fs, d, name) != 0);
	}
}
END_TEST

static int count_entries(void *arg, const struct meta_dirent_info *de)
{
	(*(uint64_t *)arg)++;
	return 0;
}

START_TEST(directory_with_100000_entries)
{
	enum { N = 100000 };
	uint64_t d, count = 0;
	char name[32];
	double t0;

	meta_unmount(fs);
	mt_remove(&img);
	{
		struct pi_format fmt = test_format_default();

		t0 = test_now();
		mt_mkfs(&img, &fmt, 1ull << 30, NULL);
		printf("mkfs 1 GiB: %.2f s\n", test_now() - t0);
	}
	fs = mt_mount(&img);
	d = mt_mkdir(fs, ROOT, "big");
	t0 = test_now();
	for (int i = 0; i < N; i++) {
		struct meta_attr a;

		snprintf(name, sizeof(name), "file-%07d", i);
		fast_eq(meta_create(fs, d, name, 0644, NULL, &a), 0);
		meta_forget(fs, a.ino, 1);
	}
	printf("100000 creates: %.2f s\n", test_now() - t0);
	ck_assert_int_eq(meta_readdir(fs, d, 0, count_entries, &count), 0);
	ck_assert_uint_eq(count, N + 2);
	t0 = test_now();
	remount_same();
	printf("remount with 100000 entries: %.2f s\n", test_now() - t0);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "file-%07d", i);
		fast_true(mt_lookup(fs, d, name) != 0);
	}
	t0 = test_now();
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "file-%07d", i);
		fast_eq(meta_unlink(fs, d, name), 0);
	}
	printf("100000 lookups + unlinks: %.2f s\n", test_now() - t0);
	ck_assert_int_eq(meta_rmdir(fs, ROOT, "big"), 0);
	t0 = test_now();
	remount_same();
	printf("remount: %.2f s\n", test_now() - t0);
}
END_TEST

/* ------------------------------------------------------------------ xattrs */

START_TEST(xattrs_set_get_list_remove)
{
	char buf[256];
	uint64_t f = mt_create(fs, ROOT, "f");

	ck_assert_int_eq(meta_setxattr(fs, f, "user.a", "1", 1, 0), 0);
	ck_assert_int_eq(meta_setxattr(fs, f, "trusted.b", "22", 2, 0), 0);
	ck_assert_int_eq(meta_setxattr(fs, f, "security.empty", "", 0, 0), 0);
	ck_assert_int_eq(meta_setxattr(fs, f, "user.a", "x", 1, META_XATTR_CREATE), -EEXIST);
	ck_assert_int_eq(meta_setxattr(fs, f, "user.c", "x", 1, META_XATTR_REPLACE), -ENODATA);
	ck_assert_int_eq(meta_setxattr(fs, f, "user.a", "333", 3, META_XATTR_REPLACE), 0);
	ck_assert_int_eq(meta_getxattr(fs, f, "user.a", NULL, 0), 3);
	ck_assert_int_eq(meta_getxattr(fs, f, "user.a", buf, 2), -ERANGE);
	ck_assert_int_eq(meta_getxattr(fs, f, "user.a", buf, sizeof(buf)), 3);
	ck_assert(!memcmp(buf, "333", 3));
	ck_assert_int_eq(meta_getxattr(fs, f, "security.empty", buf, sizeof(buf)), 0);
	ck_assert_int_eq(meta_getxattr(fs, f, "user.none", buf, sizeof(buf)), -ENODATA);
	ck_assert_int_eq(meta_listxattr(fs, f, NULL, 0), 7 + 10 + 15);
	ck_assert_int_eq(meta_listxattr(fs, f, buf, 5), -ERANGE);
	ck_assert_int_eq(meta_listxattr(fs, f, buf, sizeof(buf)), 32);
	ck_assert(!memcmp(buf, "security.empty\0trusted.b\0user.a\0", 32));
	remount_same();
	ck_assert_int_eq(meta_removexattr(fs, f, "trusted.b"), 0);
	ck_assert_int_eq(meta_removexattr(fs, f, "trusted.b"), -ENODATA);
	ck_assert_int_eq(meta_getxattr(fs, f, "trusted.b", buf, sizeof(buf)), -ENODATA);
	ck_assert_int_eq(meta_setxattr(fs, 55555, "user.a", "1", 1, 0), -ENOENT);
	ck_assert_int_eq(meta_setxattr(fs, f, "", "1", 1, 0), -EINVAL);
	ck_assert_int_eq(meta_setxattr(fs, f, "user.a", "1", 1, 4), -EINVAL);
	crash_same();
	ck_assert_int_eq(meta_listxattr(fs, f, buf, sizeof(buf)), 22);
}
END_TEST

START_TEST(xattrs_take_64k_values_and_many_names)
{
	struct test_rng rng = {test_seed("xattrs_take_64k_values")};
	size_t big = META_XATTR_SIZE_MAX;
	uint8_t *v = malloc(big + 1), *got = malloc(big + 1);
	char name[300];
	uint64_t d = mt_mkdir(fs, ROOT, "d");

	for (size_t i = 0; i <= big; i++)
		v[i] = (uint8_t)rng_next(&rng);
	ck_assert_int_eq(meta_setxattr(fs, d, "user.big", v, big, 0), 0);
	ck_assert_int_eq(meta_setxattr(fs, d, "user.toobig", v, big + 1, 0), -E2BIG);
	memset(name, 'x', sizeof(name));
	memcpy(name, "user.", 5);
	name[255] = 0;
	ck_assert_int_eq(meta_setxattr(fs, d, name, "v", 1, 0), 0);
	name[256] = 0;
	name[255] = 'x';
	ck_assert_int_eq(meta_setxattr(fs, d, name, "v", 1, 0), -ERANGE);
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "user.n%d", i);
		fast_eq(meta_setxattr(fs, d, name, &i, sizeof(i), 0), 0);
	}
	remount_same();
	ck_assert_int_eq(meta_getxattr(fs, d, "user.big", got, big), (int)big);
	ck_assert(!memcmp(v, got, big));
	for (int i = 0; i < 1000; i++) {
		int val = -1;

		snprintf(name, sizeof(name), "user.n%d", i);
		fast_eq(meta_getxattr(fs, d, name, &val, sizeof(val)), sizeof(val));
		fast_eq(val, i);
	}
	crash_same();
	free(v);
	free(got);
}
END_TEST

/* ------------------------------------------------------------------ random workload */

/* Random namespace operations; the dump after a remount (log, then checkpoint) is the same. */
START_TEST(random_namespace_ops_replay_to_the_same_state)
{
	struct test_rng rng = {test_seed("random_namespace_ops_replay")};
	uint64_t dirs[32] = {ROOT};
	size_t nr_dirs = 1;
	char a[32], b[32];

	for (int i = 0; i < 3000; i++) {
		uint64_t d1 = dirs[rng_below(&rng, nr_dirs)], d2 = dirs[rng_below(&rng, nr_dirs)];
		struct meta_attr at;
		int op = (int)rng_below(&rng, 8);

		snprintf(a, sizeof(a), "n%u", (unsigned)rng_below(&rng, 40));
		snprintf(b, sizeof(b), "n%u", (unsigned)rng_below(&rng, 40));
		switch (op) {
		case 0:
		case 1:
			if (!meta_create(fs, d1, a, 0644, NULL, &at))
				meta_forget(fs, at.ino, 1);
			break;
		case 2:
			if (!meta_mkdir(fs, d1, a, 0755, NULL, &at)) {
				meta_forget(fs, at.ino, 1);
				if (nr_dirs < 32)
					dirs[nr_dirs++] = at.ino;
			}
			break;
		case 3:
			meta_unlink(fs, d1, a);
			break;
		case 4:
			meta_rename(fs, d1, a, d2, b, (unsigned)rng_below(&rng, 3));
			break;
		case 5:
			if (mt_lookup(fs, d1, a) &&
			    !meta_link(fs, mt_lookup(fs, d1, a), d2, b, &at))
				meta_forget(fs, at.ino, 1);
			break;
		case 6:
			meta_setxattr(fs, d1, a, b, strlen(b), 0);
			break;
		case 7:
			meta_rmdir(fs, d1, a);
			break;
		}
		if (i == 1500)
			ck_assert_int_eq(meta_checkpoint(fs), 0);
	}
	ck_assert_int_eq(meta_check(fs), 0);
	crash_same();
	remount_same();
}
END_TEST

START_TEST(check_finds_a_wrong_link_count)
{
	uint64_t f = mt_create(fs, ROOT, "f");
	struct meta_inode *ip;

	ck_assert_int_eq(meta_check(fs), 0);
	ck_assert_int_eq(meta_inode_get(fs, f, &ip), 0);
	ip->nlink++;
	ck_assert_int_eq(meta_check(fs), -EUCLEAN);
	ip->nlink--;
	ck_assert_int_eq(meta_check(fs), 0);
	meta_inode_put(ip);
}
END_TEST

static Suite *meta_ns_suite(void)
{
	Suite *s = suite_create("meta_ns");
	TCase *tc = tcase_create("ns");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, mkfs_gives_root_and_lost_found);
	tcase_add_test(tc, create_sets_attributes_and_lookup_finds_it);
	tcase_add_test(tc, create_errors_are_posix);
	tcase_add_test(tc, mknod_makes_every_special_type);
	tcase_add_test(tc, mkdir_rmdir_keep_link_counts);
	tcase_add_test(tc, symlink_target_round_trips);
	tcase_add_test(tc, hard_links_count_and_survive_unlink);
	tcase_add_test(tc, setattr_changes_what_it_is_told_and_ctime);
	tcase_add_test(tc, unlinked_open_file_lives_until_forget);
	tcase_add_test(tc, rename_moves_and_replaces);
	tcase_add_test(tc, rename_noreplace_and_flag_errors);
	tcase_add_test(tc, rename_exchange_swaps_files_and_dirs);
	tcase_add_test(tc, rename_directories_follow_the_rules);
	tcase_add_test(tc, readdir_lists_dot_dotdot_and_entries);
	tcase_add_test(tc, readdir_cookies_are_stable_under_concurrent_changes);
	tcase_add_test(tc, hash_collisions_do_not_confuse_lookup);
	tcase_add_test(tc, directory_with_100000_entries);
	tcase_add_test(tc, xattrs_set_get_list_remove);
	tcase_add_test(tc, xattrs_take_64k_values_and_many_names);
	tcase_add_test(tc, random_namespace_ops_replay_to_the_same_state);
	tcase_add_test(tc, check_finds_a_wrong_link_count);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(meta_ns_suite());
}
