/* SPDX-License-Identifier: MIT */
/*
 * notify.h - the systemd service notification protocol (sd_notify(3)), without libsystemd:
 * one datagram of "KEY=VALUE\n" lines to the AF_UNIX socket named by $NOTIFY_SOCKET (a path,
 * or an abstract name starting with '@'). Without $NOTIFY_SOCKET every call does nothing.
 */
#ifndef GUARDFS_FUSE_NOTIFY_H
#define GUARDFS_FUSE_NOTIFY_H

/* Send @state (e.g. "READY=1" or "STOPPING=1\nSTATUS=..."). 0, 1 when no socket is set, or a
 * negative errno. */
int gfuse_notify(const char *state);

#endif /* GUARDFS_FUSE_NOTIFY_H */
