#!/bin/bash
# tests/fuse/posix.sh BUILD POSIX_TEST - mount a fresh image and run the POSIX Check suite on
# it, with a test user (created here when absent) for the permission checks; then unmount, and
# fsck the image: the whole run must leave it clean.
BUILD=$1
POSIX_TEST=$2
source "$(dirname "$0")/lib.sh"
fuse_setup
fuse_test_user
# allow_other: without it the kernel lets no other user in at all.
fuse_mount -o allow_other
GUARDFS_MNT=${MNT} GUARDFS_TEST_UID=$(id -u "${TEST_USER}") \
	GUARDFS_TEST_GID=$(id -g "${TEST_USER}") "${POSIX_TEST}" || fail "POSIX suite"
fuse_umount
"${FSCK}" -n "${IMG}" || fail "fsck.guardfs -n after the POSIX suite"
echo "PASS"
