/* SPDX-License-Identifier: MIT */
/*
 * mapguard.h - copies through a shared file mapping that fail instead of killing the process.
 *
 * A load or store through a MAP_SHARED mapping of a file raises SIGBUS where read(2) or
 * write(2) would have returned an error: a page the host cannot read back (EIO), a store into
 * a hole that the host filesystem has no room for (ENOSPC), a page past an end of file that
 * someone moved down. In a storage daemon that must not be a crash. A guarded copy runs with a
 * recovery point on its own thread: SIGBUS inside it makes the copy return -EFAULT, and the
 * caller repeats the transfer with the system call, which fails with the real errno or, if the
 * cause has gone, succeeds. A SIGBUS anywhere else goes on to whatever handled it before
 * mapguard_init(), or ends the process as it would have without us.
 *
 * The fast path costs a sigsetjmp that saves no signal mask (no system call) and two stores.
 */
#ifndef GUARDFS_MAPGUARD_H
#define GUARDFS_MAPGUARD_H

#include <stddef.h>

/* Install the SIGBUS handler once per process; later calls return at once. 0 or -errno. */
int mapguard_init(void);

/* memcpy(dst, src, len); -EFAULT if either side faulted (the bytes before may have moved). */
int mapguard_copy(void *dst, const void *src, size_t len);

/* Read one byte of every page in [addr, addr + len) (prefault); -EFAULT if one faulted. */
int mapguard_touch(const void *addr, size_t len);

#endif /* GUARDFS_MAPGUARD_H */
