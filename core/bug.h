/* SPDX-License-Identifier: MIT */
/*
 * bug.h - invariant assertions. GFS_BUG_ON(cond) aborts with the file, line and condition when
 * cond holds; it is compiled in for every build of this project (GFS_DEBUG) because a broken
 * invariant in storage code is worth a crash, never silent corruption.
 */
#ifndef GUARDFS_BUG_H
#define GUARDFS_BUG_H

#include <stdio.h>
#include <stdlib.h>

#ifdef GFS_DEBUG
#define GFS_BUG_ON(cond)                                                                           \
	do {                                                                                       \
		if (__builtin_expect(!!(cond), 0)) {                                               \
			fprintf(stderr, "guardfs: BUG at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                   \
		}                                                                                  \
	} while (0)
#else
#define GFS_BUG_ON(cond) ((void)sizeof(!!(cond)))
#endif

#endif /* GUARDFS_BUG_H */
