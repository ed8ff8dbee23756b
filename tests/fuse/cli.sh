#!/bin/bash
# tests/fuse/cli.sh BUILD - the daemon's command line and life cycle: --help/--version, refusals
# (unknown option, bad values, missing arguments, a source that is not guardfs) as one line and
# a non-zero status with nothing mounted; mount through mount(8)/mount.fuse3 with fstab options
# (type fuse.guardfs); -o ro refuses writes (single-threaded loop, -s); `umount`, SIGINT and
# SIGTERM all end with a written-back image and exit 0; --stats prints the counters; a full
# filesystem gives ENOSPC and is usable again after deleting.
BUILD=$1
source "$(dirname "$0")/lib.sh"
IMG_SIZE=128M # small enough to fill
fuse_setup

"${GUARDFS}" --help | grep -q "^usage: guardfs SOURCE MOUNTPOINT" || fail "--help"
"${GUARDFS}" --version | grep -q "^guardfs [0-9]" || fail "--version"

refused() { # $1: what the one line must contain; then the arguments
	local want=$1 out rc=0
	shift
	out=$("${GUARDFS}" "$@" 2>&1) || rc=$?
	[[ ${rc} -ne 0 ]] || fail "accepted: $*"
	[[ $(wc -l <<<"${out}") -eq 1 ]] || fail "more than one line for $*: ${out}"
	grep -q -- "${want}" <<<"${out}" || fail "refusal of $* does not say '${want}': ${out}"
	! fuse_is_mounted || fail "mounted after refusing $*"
}
refused "unknown mount option 'bogus'" "${IMG}" "${MNT}" -o bogus
refused "unknown mount option 'cache_sise=1M'" "${IMG}" "${MNT}" -o cache_sise=1M
refused "cache_size" "${IMG}" "${MNT}" -o cache_size=lots
refused "dio_align=page" "${IMG}" "${MNT}" -o dio_align=page
refused "pi_report=mail" "${IMG}" "${MNT}" -o pi_report=mail
refused "threads" "${IMG}" "${MNT}" -o threads=0
refused "pi_retries" "${IMG}" "${MNT}" -o pi_retries=9
refused "pi_retries" "${IMG}" "${MNT}" -o pi_retries=-1
refused "unknown option '--frobnicate'" "${IMG}" "${MNT}" --frobnicate
refused "usage" "${IMG}"
refused "unexpected argument" "${IMG}" "${MNT}" extra
head -c 4M /dev/zero >"${T}/notguardfs"
refused "notguardfs" "${T}/notguardfs" "${MNT}"
refused "No such file" "${T}/missing" "${MNT}"

# mount(8) -> mount.fuse3 -> guardfs, with the options fstab and systemd pass along. mount(8)
# resets PATH, so the daemon is named in the source ("prog#source", as mount.fuse3 allows)
# rather than found in /sbin as fuse.guardfs would be once installed.
mount -t fuse "${GUARDFS}#${IMG}" "${MNT}" \
	-o defaults,nofail,_netdev,x-systemd.automount,noatime,subtype=guardfs,cache_size=64M,pi_retries=0 ||
	fail "mount -t fuse (mount.fuse3)"
fuse_is_mounted || fail "not mounted by mount(8)"
echo data >"${MNT}/f"
"${GUARDFS}" --stats "${MNT}" >"${T}/stats" || fail "--stats"
grep -qE "^bytes_written [1-9]" "${T}/stats" || fail "--stats: bytes_written"
grep -qx "pi_rereads 0" "${T}/stats" && grep -qx "pi_recovered 0" "${T}/stats" ||
	fail "--stats: the PI re-read counters"
pid=$(pgrep -n -x guardfs)
umount "${MNT}" || fail "umount"
for _ in $(seq 100); do kill -0 "${pid}" 2>/dev/null || break; sleep 0.1; done
! kill -0 "${pid}" 2>/dev/null || fail "the daemon did not exit after umount"
"${FSCK}" -n "${IMG}" >/dev/null || fail "fsck after umount"

# Read-only.
fuse_mount -o ro -s
[[ $(cat "${MNT}/f") == data ]] || fail "ro: data"
if (echo x >"${MNT}/g") 2>/dev/null; then fail "ro: a write succeeded"; fi
fuse_umount

# SIGINT and SIGTERM: written back, exit 0.
for sig in INT TERM; do
	fuse_mount -o threads=2
	head -c 5000000 /dev/urandom >"${T}/data.${sig}"
	cp "${T}/data.${sig}" "${MNT}/${sig}"
	kill -s ${sig} "${DAEMON_PID}"
	rc=0
	wait "${DAEMON_PID}" || rc=$?
	DAEMON_PID=
	[[ ${rc} -eq 0 ]] || fail "exit ${rc} after SIG${sig}"
	! fuse_is_mounted || fail "still mounted after SIG${sig}"
	"${FSCK}" -n "${IMG}" >/dev/null || fail "fsck after SIG${sig}"
done
fuse_mount
cmp "${T}/data.INT" "${MNT}/INT" && cmp "${T}/data.TERM" "${MNT}/TERM" ||
	fail "data written before the signals"

# A full filesystem: ENOSPC, and usable again after deleting.
dd if=/dev/zero of="${MNT}/fill" bs=1M conv=fsync 2>"${T}/dd.err" && fail "filling did not stop"
grep -q "No space left on device" "${T}/dd.err" || fail "full: $(cat "${T}/dd.err")"
rm "${MNT}/fill"
for _ in $(seq 100); do # the kernel forgets the unlinked inode on its own time
	head -c 8M /dev/urandom >"${T}/after" && cp "${T}/after" "${MNT}/after" 2>/dev/null && sync "${MNT}/after" && break
	sleep 0.1
done
cmp "${T}/after" "${MNT}/after" || fail "not usable after deleting the file that filled it"
fuse_umount
"${FSCK}" -n "${IMG}" >/dev/null || fail "fsck after ENOSPC"
echo PASS
