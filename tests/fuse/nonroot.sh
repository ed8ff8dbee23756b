#!/bin/bash
# tests/fuse/nonroot.sh BUILD - a normal user formats an image file they own, mounts it with
# plain `guardfs img mnt` (the daemon goes to the background), uses it, and unmounts it with
# `fusermount3 -u mnt`; the daemon exits after writing everything back, and the data is there
# at the next mount. The user is created when absent.
BUILD=$1
source "$(dirname "$0")/lib.sh"
[[ -c /dev/fuse ]] || { echo "SKIP: /dev/fuse is missing"; exit 77; }
command -v fusermount3 >/dev/null || fail "fusermount3 missing"
fuse_test_user
T=$(mktemp -d /var/tmp/guardfs-test.XXXXXX)
trap 'fusermount3 -u "${T}/home/mnt" 2>/dev/null || true; rm -rf "${T}"' EXIT
chmod 755 "${T}"
mkdir "${T}/home"
chown "${TEST_USER}:" "${T}/home"
# The binaries must be reachable by the user: copy them into their directory.
cp "${GUARDFS}" "${MKFS}" "${T}/home/"
chown "${TEST_USER}:" "${T}/home/"*

runuser -u "${TEST_USER}" -- bash -euo pipefail -c '
	cd "$1"
	./mkfs.guardfs --size 256M --lba-size 4096 --md-size 8 --pi-type 1 img >/dev/null
	mkdir mnt
	./guardfs img mnt
	grep -q " $1/mnt fuse.guardfs .*user_id=$(id -u)" /proc/self/mounts
	head -c 3000000 /dev/urandom >data
	cp data mnt/file
	[[ $(stat -c %U mnt/file) == $(id -un) ]]
	fusermount3 -u mnt
	# The background daemon exits once it wrote everything back.
	for i in $(seq 100); do pgrep -u "$(id -u)" -x guardfs >/dev/null || break; sleep 0.1; done
	! pgrep -u "$(id -u)" -x guardfs >/dev/null
	./guardfs img mnt
	cmp data mnt/file
	fusermount3 -u mnt
' _ "${T}/home" || fail "non-root mount/unmount"
echo PASS
