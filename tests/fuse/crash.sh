#!/bin/bash
# tests/fuse/crash.sh BUILD - kill -9 the daemon in the middle of a write workload. Before the
# kill, files are written and fsync'd one after another (their checksums recorded outside the
# mount), while another writer keeps writing without fsync. After the kill the dead mount is
# detached, the image is mounted again (the journal is replayed: no fsck needed), every fsync'd
# file must be there with its exact bytes, and after a clean unmount fsck.guardfs -n is clean.
BUILD=$1
source "$(dirname "$0")/lib.sh"
fuse_setup
fuse_mount
mkdir "${MNT}/synced" "${MNT}/loose"

# Background writer: never fsyncs, overwrites and appends.
(
	i=0
	while :; do
		head -c $((64 << 10)) /dev/urandom >"${MNT}/loose/f$((i % 16))" 2>/dev/null || exit 0
		i=$((i + 1))
	done
) &
loose=$!

: >"${T}/synced.sums"
for i in $(seq 1 40); do
	f=${MNT}/synced/f${i}
	head -c $(((i % 7 + 1) * 37000)) /dev/urandom >"${T}/src"
	python3 - "${T}/src" "${f}" <<'PY' || fail "fsync'd write of ${f}"
import os, sys
data = open(sys.argv[1], "rb").read()
fd = os.open(sys.argv[2], os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
os.write(fd, data); os.fsync(fd); os.close(fd)
dfd = os.open(os.path.dirname(sys.argv[2]), os.O_RDONLY); os.fsync(dfd); os.close(dfd)
PY
	echo "$(md5sum <"${T}/src" | cut -d' ' -f1) f${i}" >>"${T}/synced.sums"
	# A few overwrites of fsync'd files that are not fsync'd again: old or new bytes may
	# survive, so these files are left out of the check.
done
kill -9 "${DAEMON_PID}"
wait "${DAEMON_PID}" 2>/dev/null || true
DAEMON_PID=
wait "${loose}" 2>/dev/null || true
fusermount3 -u "${MNT}" 2>/dev/null || umount -l "${MNT}"

fuse_mount
while read -r sum name; do
	got=$(md5sum <"${MNT}/synced/${name}" | cut -d' ' -f1) || fail "${name} unreadable"
	[[ ${got} == "${sum}" ]] || fail "fsync'd ${name} changed across the crash"
done <"${T}/synced.sums"
[[ $(wc -l <"${T}/synced.sums") -eq 40 ]] || fail "workload incomplete"
# The filesystem works after recovery.
head -c 100000 /dev/urandom >"${MNT}/after"
fuse_umount
out=$("${FSCK}" -n "${IMG}" 2>&1) || fail "fsck.guardfs -n after recovery: ${out}"
echo PASS
