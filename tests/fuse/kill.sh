#!/bin/bash
# tests/fuse/kill.sh BUILD - kill -9 the daemon while direct writers and a buffered reader share
# a file: the daemon must finish dying and its mount must fail requests rather than hang them.
# Four rounds on root's mount, two on a normal user's. If a thread of the daemon made the kernel
# page cache invalidations, it could be left inside the kernel waiting for a page that a
# readahead holds until the dead daemon answers it: the process would never exit, /dev/fuse
# would stay open, and everything touching the mount would hang. The notifier process
# (fuse/notifier.c) makes them instead. Also: a clean unmount leaves no notifier behind, and
# later mounts (which may get the same connection ID) are not disturbed.
BUILD=$1
source "$(dirname "$0")/lib.sh"
command -v fio >/dev/null || fail "fio missing"
[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root (it also mounts as a normal user)"; exit 77; }
fuse_setup
fuse_test_user

# Threads of pid still running (a dead process keeps only its zombie leader).
threads_left() {
	ls "/proc/$1/task" 2>/dev/null | wc -l
}

# The fusectl abort file of the mount at MNT, from mountinfo (MAJOR:MINOR of its superblock):
# only so that a failing run ends.
abort_by_hand() {
	local dev
	dev=$(awk -v m="${MNT}" '$5 == m { split($3, d, ":"); id = d[1] * 2^20 + d[2] } END { print id }' \
		/proc/self/mountinfo)
	[[ -n ${dev} ]] && echo 1 >"/sys/fs/fuse/connections/${dev}/abort" 2>/dev/null
}

# Run "$@" as AS (root when empty).
as() {
	if [[ -n ${AS} ]]; then runuser -u "${AS}" -- "$@"; else "$@"; fi
}

# One round on file F: fill it, start the writers and the reader (as AS), kill the daemon
# DAEMON_PID.
kill_round() {
	local round=$1 F=$2 reader writers
	as fio --name=fill --filename="${F}" --size=64m --bs=1m --rw=write --ioengine=psync \
		--end_fsync=1 --output=/dev/null || fail "fill, round ${round}"
	as bash -c 'while cat "$1" >/dev/null 2>&1; do :; done' _ "${F}" &
	reader=$!
	as fio --name=d --filename="${F}" --size=16m --offset_increment=16m --numjobs=4 \
		--bsrange=4k-64k --rw=randwrite --ioengine=libaio --iodepth=16 --direct=1 \
		--time_based --runtime=60 --output=/dev/null >/dev/null 2>&1 &
	writers=$!
	sleep 1.5
	kill -9 "${DAEMON_PID}"
	for _ in $(seq 150); do
		[[ $(threads_left "${DAEMON_PID}") -le 1 ]] && break
		sleep 0.2
	done
	if [[ $(threads_left "${DAEMON_PID}") -gt 1 ]]; then
		abort_by_hand
		fail "round ${round}: the killed daemon did not finish dying: its mount hung"
	fi
	wait "${DAEMON_PID}" 2>/dev/null || true
	DAEMON_PID=
	wait "${writers}" "${reader}" 2>/dev/null || true
	local rc=0
	as timeout 30 stat "${F}" >/dev/null 2>"${T}/stat.err" || rc=$?
	if [[ ${rc} -eq 124 ]]; then
		abort_by_hand
		fail "round ${round}: the daemon died but its mount hung"
	fi
	[[ ${rc} -ne 0 ]] || fail "round ${round}: the dead mount still answers"
	grep -Eq "not connected|connection abort" "${T}/stat.err" ||
		fail "round ${round}: unexpected error from the dead mount: $(cat "${T}/stat.err")"
	umount -l "${MNT}" || fail "round ${round}: cannot detach the dead mount"
}

F=${MNT}/f
AS=
for round in 1 2 3 4; do
	fuse_mount
	kill_round "${round}" "${F}"
done

# A normal user's mount: no privilege is needed to end it (no fusectl abort). The daemon runs in
# front as the user; its pid is the oldest guardfs process of that user on the image (the
# notifier is a fork of it). The user writes in a directory of their own.
fuse_mount
mkdir "${MNT}/u"
chown "${TEST_USER}:" "${MNT}/u"
fuse_umount
chown "${TEST_USER}:" "${IMG}" "${MNT}"
cp "${GUARDFS}" "${T}/guardfs.user"
chmod 755 "${T}/guardfs.user"
AS=${TEST_USER}
for round in 5 6; do
	runuser -u "${TEST_USER}" -- "${T}/guardfs.user" "${IMG}" "${MNT}" -f 2>>"${T}/daemon.log" &
	runner=$!
	DAEMON_PID=
	for _ in $(seq 200); do
		DAEMON_PID=$(pgrep -u "${TEST_USER}" -o -f "guardfs.user ${IMG} " || true)
		[[ -n ${DAEMON_PID} ]] && fuse_is_mounted && as stat "${MNT}/." >/dev/null 2>&1 && break
		sleep 0.05
	done
	[[ -n ${DAEMON_PID} ]] && fuse_is_mounted || fail "round ${round}: the user's mount did not come up"
	kill_round "${round}" "${MNT}/u/f"
	wait "${runner}" 2>/dev/null || true
done
AS=
chown root: "${IMG}" "${MNT}"

# The image recovers (the fill was fsync'd), and a clean unmount takes the notifier with it.
fuse_mount
[[ $(stat -c %s "${F}") -eq $((64 << 20)) ]] || fail "the file's size changed"
fuse_umount
for _ in $(seq 50); do
	pgrep -f "guardfs ${IMG} " >/dev/null || break
	sleep 0.1
done
pgrep -f "guardfs ${IMG} " >/dev/null && fail "a notifier outlived its unmounted daemon"
# Connection IDs are reused: a mount made right after a clean unmount often gets the one its
# predecessor had. Nothing left of the old daemons may disturb it.
for _ in 1 2 3 4 5; do
	fuse_mount
	fuse_umount
done
fuse_mount
sleep 2
echo after >"${MNT}/after" || fail "the next mount's connection was disturbed"
fuse_umount
"${FSCK}" -n "${IMG}" >/dev/null || fail "fsck.guardfs -n after the kills"
echo PASS
