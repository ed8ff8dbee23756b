/* SPDX-License-Identifier: MIT */
/*
 * notify.c - sd_notify(3) in a few lines: a datagram to $NOTIFY_SOCKET. The daemon sends
 * READY=1 once the mount is live (after fuse_session_mount, so a unit ordered after ours finds
 * the filesystem there) and STOPPING=1 when it starts to shut down. Under systemd the daemon
 * runs in front (-f, as guardfs@.service does), so the notifying process is the main process.
 */
#include "fuse/notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int gfuse_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len;
	ssize_t sent;
	int fd;

	if (!path || !*path)
		return 1;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	len = sent < 0 ? (size_t)errno : 0;
	close(fd);
	return sent < 0 ? -(int)len : 0;
}
