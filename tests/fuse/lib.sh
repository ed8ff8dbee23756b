# tests/fuse/lib.sh - shared by the integration tests that mount guardfs for real. Sourced with
# BUILD (the CMake binary directory holding guardfs, mkfs.guardfs, fsck.guardfs) set.
#
# fuse_setup makes a temp dir under /var/tmp with an image (4096+8, PI type 1 unless IMG_ARGS
# says otherwise) and a mountpoint; fuse_mount starts the daemon in front (-f) in the background
# of this shell with its stderr in $T/daemon.log, and waits until the mount is live; the EXIT
# trap always unmounts, stops the daemon and removes the temp dir. Exit 77 (ctest skip) only
# when /dev/fuse is missing.
set -euo pipefail

BUILD=$(cd "${BUILD}" && pwd)
GUARDFS=${BUILD}/guardfs
MKFS=${BUILD}/mkfs.guardfs
FSCK=${BUILD}/fsck.guardfs
T=
MNT=
IMG=
DAEMON_PID=

fail() {
	echo "FAIL: $*" >&2
	[[ -n ${T} && -f ${T}/daemon.log ]] && { echo "--- daemon log:" >&2; tail -n 30 "${T}/daemon.log" >&2; }
	exit 1
}

fuse_is_mounted() {
	grep -Eq " ${MNT} fuse(blk)?\.guardfs " /proc/self/mounts
}

fuse_cleanup() {
	local rc=$?
	set +e
	if [[ -n ${MNT} ]] && grep -q " ${MNT} " /proc/self/mounts; then
		fusermount3 -u "${MNT}" 2>/dev/null || umount -l "${MNT}" 2>/dev/null
	fi
	if [[ -n ${DAEMON_PID} ]] && kill -0 "${DAEMON_PID}" 2>/dev/null; then
		for _ in $(seq 100); do kill -0 "${DAEMON_PID}" 2>/dev/null || break; sleep 0.1; done
		kill -9 "${DAEMON_PID}" 2>/dev/null
	fi
	[[ -n ${T} && -z ${KEEP:-} ]] && rm -rf "${T}"
	exit ${rc}
}

fuse_setup() {
	[[ -c /dev/fuse ]] || { echo "SKIP: /dev/fuse is missing"; exit 77; }
	[[ -x ${GUARDFS} && -x ${MKFS} ]] || fail "guardfs or mkfs.guardfs not built in ${BUILD}"
	T=$(mktemp -d /var/tmp/guardfs-test.XXXXXX)
	chmod 755 "${T}"
	trap fuse_cleanup EXIT
	MNT=${T}/mnt
	IMG=${T}/img
	mkdir "${MNT}"
	"${MKFS}" --size "${IMG_SIZE:-512M}" ${IMG_ARGS:---lba-size 4096 --md-size 8 --pi-type 1} \
		"${IMG}" >"${T}/mkfs.log" 2>&1 || { cat "${T}/mkfs.log" >&2; fail "mkfs.guardfs"; }
}

# Wait until the mount is live (the daemon in front, so we know its pid).
fuse_wait_mounted() {
	for _ in $(seq 200); do
		fuse_is_mounted && stat "${MNT}/." >/dev/null 2>&1 && return 0
		kill -0 "${DAEMON_PID}" 2>/dev/null || fail "the daemon exited before mounting"
		sleep 0.05
	done
	fail "the mount did not come up"
}

fuse_mount() {
	# A background job of a script starts with SIGINT ignored; the daemon must see it.
	env --default-signal=INT "${GUARDFS}" "${IMG}" "${MNT}" -f "$@" 2>>"${T}/daemon.log" &
	DAEMON_PID=$!
	fuse_wait_mounted
}

# Unmount cleanly and wait for the daemon's exit status, which must be 0.
fuse_umount() {
	fusermount3 -u "${MNT}" || fail "fusermount3 -u"
	local rc=0
	wait "${DAEMON_PID}" || rc=$?
	DAEMON_PID=
	[[ ${rc} -eq 0 ]] || fail "the daemon exited with ${rc} after unmount"
}

# One counter of the mount's user.guardfs.stats (docs/MOUNTING.md).
fuse_stat() {
	local v
	v=$(python3 -c 'import os,sys; sys.stdout.write(os.getxattr(sys.argv[1], "user.guardfs.stats").decode())' \
		"${MNT}" | awk -v n="$1" '$1 == n { print $2 }')
	[[ -n ${v} ]] || fail "no counter $1 in user.guardfs.stats"
	echo "${v}"
}

# The unprivileged test user (created when absent; two tests may race to create it).
TEST_USER=guardfs-test
fuse_test_user() {
	id -u "${TEST_USER}" >/dev/null 2>&1 ||
		useradd --system --no-create-home "${TEST_USER}" 2>/dev/null ||
		id -u "${TEST_USER}" >/dev/null || fail "cannot create the test user ${TEST_USER}"
}
