#!/bin/bash
# tests/fuse/kill.sh BUILD - kill -9 the daemon while direct writers and a buffered reader share
# a file, four times: the daemon must finish dying and its mount must fail requests rather than
# hang them. Without the watchdog (fuse/watchdog.c) the notifier could be left inside the
# kernel waiting for a page that a readahead holds until the dead daemon answers it: the
# process never exits, /dev/fuse stays open, and everything touching the mount hangs. Also: a
# clean unmount leaves no watchdog behind, and none touches the next mount's connection.
BUILD=$1
source "$(dirname "$0")/lib.sh"
command -v fio >/dev/null || fail "fio missing"
[[ $(id -u) -eq 0 ]] || { echo "SKIP: the watchdog is root's"; exit 77; }
fuse_setup

# Threads of pid still running (a dead process keeps only its zombie leader).
threads_left() {
	ls "/proc/$1/task" 2>/dev/null | wc -l
}

# The fusectl abort file of the mount at MNT, from mountinfo (MAJOR:MINOR of its superblock).
abort_by_hand() {
	local dev
	dev=$(awk -v m="${MNT}" '$5 == m { split($3, d, ":"); id = d[1] * 2^20 + d[2] } END { print id }' \
		/proc/self/mountinfo)
	[[ -n ${dev} ]] && echo 1 >"/sys/fs/fuse/connections/${dev}/abort" 2>/dev/null
}

F=${MNT}/f
for round in 1 2 3 4; do
	fuse_mount
	fio --name=fill --filename="${F}" --size=64m --bs=1m --rw=write --ioengine=psync --end_fsync=1 \
		--output=/dev/null || fail "fill, round ${round}"
	(while cat "${F}" >/dev/null 2>&1; do :; done) &
	reader=$!
	fio --name=d --filename="${F}" --size=16m --offset_increment=16m --numjobs=4 \
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
		abort_by_hand # so that this test ends
		fail "round ${round}: the killed daemon did not finish dying: its mount hung"
	fi
	wait "${DAEMON_PID}" 2>/dev/null || true
	DAEMON_PID=
	wait "${writers}" "${reader}" 2>/dev/null || true
	if stat "${MNT}/f" >/dev/null 2>"${T}/stat.err"; then
		fail "round ${round}: the dead mount still answers"
	fi
	grep -Eq "not connected|connection abort" "${T}/stat.err" ||
		fail "round ${round}: unexpected error from the dead mount: $(cat "${T}/stat.err")"
	umount -l "${MNT}" || fail "round ${round}: cannot detach the dead mount"
done
# The image recovers (the fill was fsync'd), and a clean unmount takes the watchdog with it.
fuse_mount
[[ $(stat -c %s "${F}") -eq $((64 << 20)) ]] || fail "the file's size changed"
fuse_umount
for _ in $(seq 50); do
	pgrep -f "guardfs ${IMG} " >/dev/null || break
	sleep 0.1
done
pgrep -f "guardfs ${IMG} " >/dev/null && fail "a watchdog outlived its unmounted daemon"
# Connection IDs are reused: a mount made right after a clean unmount often gets the one its
# predecessor had. The old daemons' watchdogs (they wake at least once a second) must leave it
# alone.
for _ in 1 2 3 4 5; do
	fuse_mount
	fuse_umount
done
fuse_mount
sleep 2
echo after >"${MNT}/after" || fail "a watchdog aborted the next mount's connection"
fuse_umount
"${FSCK}" -n "${IMG}" >/dev/null || fail "fsck.guardfs -n after the kills"
echo PASS
