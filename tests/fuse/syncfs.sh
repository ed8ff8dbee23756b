#!/bin/bash
# tests/fuse/syncfs.sh BUILD - syncfs(2) on a -o syncfs mount is durable. The mount is a fuseblk
# one on a loop device the daemon attaches over the image, so the kernel forwards syncfs as
# FUSE_SYNCFS (Linux 6.18+), which fuse/loop.c answers with gfs_syncfs. Buffered writes, never
# fsync'd, with dirty_expire_ms long enough that nothing is written back on its own; then
# `sync -f` on the mount, kill -9, the dead mount detached, and every byte must be there after
# remounting, with fsck.guardfs -n clean; with the multithreaded loop and with -s. Also: without the option syncfs still returns 0 on a
# plain fuse mount; the option is refused for non-root with one line; the loop device goes away
# with the mount.
BUILD=$1
source "$(dirname "$0")/lib.sh"
fuse_setup
[[ $(id -u) -eq 0 ]] || { echo "SKIP: -o syncfs needs root"; exit 77; }
[[ -e /dev/loop-control ]] || { echo "SKIP: no /dev/loop-control"; exit 77; }

loops_of_img() {
	losetup -j "${IMG}" | wc -l
}

# Non-root: refused with one line before anything is mounted.
fuse_test_user
if out=$(runuser -u "${TEST_USER}" -- "${GUARDFS}" "${IMG}" "${MNT}" -f -o syncfs 2>&1); then
	fail "-o syncfs accepted for a non-root user"
fi
[[ $(wc -l <<<"${out}") -eq 1 && ${out} == *"syncfs needs root"* ]] ||
	fail "non-root -o syncfs: expected one line about root, got: ${out}"

# Without the option: a plain fuse mount, syncfs returns 0 as before.
fuse_mount
grep -q " ${MNT} fuse.guardfs " /proc/self/mounts || fail "plain mount is not fuse.guardfs"
echo plain >"${MNT}/plain"
sync -f "${MNT}" || fail "syncfs on a plain mount failed"
fuse_umount

# With the option: fuseblk on a loop device over the image; $1 is "-s" for the single-threaded
# loop, or empty.
durable_syncfs() {
	local tag=${1:-mt} src dirty out sum name got
	fuse_mount ${1:-} -o syncfs,dirty_expire_ms=3600000
	src=$(awk -v m="${MNT}" '$2 == m && $3 == "fuseblk.guardfs" { print $1 }' /proc/self/mounts)
	[[ ${src} == /dev/loop* ]] || fail "-o syncfs did not mount fuseblk on a loop device"
	[[ $(losetup -n -O BACK-FILE "${src}") == "${IMG}" ]] || fail "${src} is not over ${IMG}"

	mkdir "${MNT}/${tag}"
	: >"${T}/${tag}.sums"
	for i in $(seq 1 12); do
		head -c $((i * 150000 + 1234)) /dev/urandom >"${T}/src"
		cat "${T}/src" >"${MNT}/${tag}/f${i}"
		echo "$(md5sum <"${T}/src" | cut -d' ' -f1) f${i}" >>"${T}/${tag}.sums"
	done
	# Nothing may be written back yet, or the test would prove nothing.
	dirty=$("${GUARDFS}" --stats "${MNT}" | awk '$1 == "dirty_bytes" { print $2 }')
	[[ ${dirty:-0} -gt 1000000 ]] || fail "no dirty data before syncfs (dirty_bytes ${dirty:-?})"
	sync -f "${MNT}" || fail "syncfs on the -o syncfs mount failed"

	kill -9 "${DAEMON_PID}"
	wait "${DAEMON_PID}" 2>/dev/null || true
	DAEMON_PID=
	fusermount3 -u -z "${MNT}" 2>/dev/null || umount -l "${MNT}"
	for _ in $(seq 50); do [[ $(loops_of_img) -eq 0 ]] && break; sleep 0.1; done
	[[ $(loops_of_img) -eq 0 ]] || fail "the loop device outlived the mount: $(losetup -j "${IMG}")"

	fuse_mount
	while read -r sum name; do
		got=$(md5sum <"${MNT}/${tag}/${name}" | cut -d' ' -f1) ||
			fail "${tag}/${name} lost across the crash"
		[[ ${got} == "${sum}" ]] || fail "${tag}/${name} changed across the crash after syncfs"
	done <"${T}/${tag}.sums"
	fuse_umount
	out=$("${FSCK}" -n "${IMG}" 2>&1) || fail "fsck.guardfs -n after recovery (${tag}): ${out}"
}

durable_syncfs
durable_syncfs -s
echo PASS
