/* SPDX-License-Identifier: MIT */
/*
 * fsck.h - what the parts of fsck.guardfs share: the inventory of a mounted filesystem (every
 * inode with its attributes, how many entries name it, its path; every allocated extent), the
 * problems found in it and the repairs they call for.
 *
 * fsck_inventory() builds the inventory through the public metadata API on a read-only mount
 * and checks it (fsck_check.c); fsck_repair() applies the repairs (fsck_repair.c); fsck_scrub()
 * verifies the PI of every allocated block (fsck_scrub.c).
 */
#ifndef GUARDFS_TOOLS_FSCK_H
#define GUARDFS_TOOLS_FSCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/meta.h"
#include "core/sb.h"

/* fsck(8) exit codes. */
#define FSCK_OK		 0
#define FSCK_CORRECTED	 1
#define FSCK_UNCORRECTED 4
#define FSCK_OPERATIONAL 8
#define FSCK_USAGE	 16

struct fsck_inode {
	struct meta_attr attr;
	uint32_t entries;      /* directory entries naming it, in the directories the walks read */
	uint32_t subdirs;      /* directories: entries that are directories (moved ones excluded) */
	uint32_t moved;	       /* directories: entries naming subdirectories that -y moves away */
	uint32_t lost_entries; /* entries naming it in directories the root does not reach */
	bool reached;	       /* found by the walk from the root, or from a lost directory */
	bool lost;	       /* directory -y attaches to lost+found: no ".." check */
	bool cut;	       /* lost directory in a cycle: -y moves the entry namer holds */
	uint64_t parent;       /* directories: the directory the walk reached it from */
	uint64_t namer;	       /* directories: an unreachable directory naming it (first found) */
	char *namer_name;      /* that entry's name */
	uint32_t mark;	       /* cycle search */
	char *path;	       /* first path found; NULL when unreachable */
};

struct fsck_extent {
	uint64_t dblk, len; /* device blocks */
	uint64_t fblk;	    /* file block */
	uint64_t ino;
	enum meta_map_type type; /* MAPPED or UNWRITTEN */
};

enum fsck_fix_kind {
	FSCK_FIX_SB,	     /* rewrite both superblock copies */
	FSCK_FIX_NLINK,	     /* set an inode's link count to value */
	FSCK_FIX_ORPHAN,     /* link an unreachable inode into lost+found */
	FSCK_FIX_ORPHAN_DIR, /* give an unreachable directory an entry in lost+found; value: the
				directory whose entry for it moves there (a cycle), or 0 */
	FSCK_FIX_PAST_EOF,   /* free mapped blocks from file block value on (past EOF) */
};

struct fsck_fix {
	enum fsck_fix_kind kind;
	uint64_t ino;
	uint64_t value;
};

struct fsck {
	const char *source;
	struct meta_fs *fs;
	struct sb sb;
	struct fsck_inode *inodes; /* sorted by ino */
	size_t nr_inodes;
	struct fsck_extent *exts;
	size_t nr_exts, cap_exts;
	struct fsck_fix *fixes;
	size_t nr_fixes, cap_fixes;
	uint64_t lost_found;	  /* /lost+found when it is a usable directory, else 0 */
	uint32_t adopted;	  /* directories -y attaches to it */
	unsigned problems;	  /* errors found (each printed as one line) */
	unsigned unfixable;	  /* of those, ones no repair exists for */
	uint64_t pending_orphans; /* nlink 0 inodes the next read-write mount frees */
};

/* Build and check the inventory of c->fs. 0, or a negative errno for an operational error. */
int fsck_inventory(struct fsck *c);
void fsck_inventory_free(struct fsck *c);
struct fsck_inode *fsck_find_inode(const struct fsck *c, uint64_t ino);
/* "inode 12 (/a/b)" or "inode 12 (unreachable)" */
const char *fsck_name(const struct fsck_inode *fi, char *buf, size_t len);

/* Print one problem line and count it; @fix (may be NULL) is the repair it calls for. */
void fsck_problem(struct fsck *c, const struct fsck_fix *fix, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Apply c->fixes to the unmounted filesystem at c->source; prints one line per repair. */
int fsck_repair(struct fsck *c);

/* Verify the PI of every allocated block; prints damage; *damaged = whether any was found. */
int fsck_scrub(struct fsck *c, bool *damaged);

#endif /* GUARDFS_TOOLS_FSCK_H */
