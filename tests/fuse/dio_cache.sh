#!/bin/bash
# tests/fuse/dio_cache.sh BUILD - direct writes at depth 16 from four fio jobs (libaio, crc32c
# verify) into a file that a loop of `cat` keeps reading through the page cache, three rounds;
# after each, every block must verify through the page cache. The reader makes every write
# queue kernel invalidations that block behind its readahead; this once stalled the mount for
# minutes (the readahead waited for a background request slot held by a write whose reply
# waited for the invalidation: fuse/main.c, fuse/inval.c). The test's own timeout catches that.
BUILD=$1
source "$(dirname "$0")/lib.sh"
command -v fio >/dev/null || fail "fio missing"
fuse_setup
fuse_mount
F=${MNT}/f
jobs=(--name=d --filename="${F}" --size=16m --offset_increment=16m --numjobs=4 --bsrange=4k-64k
	--rw=randwrite --verify=crc32c --verify_fatal=1 --randrepeat=1 --verify_state_save=0)
for round in 1 2 3; do
	fio --name=fill --filename="${F}" --size=64m --bs=1m --rw=write --ioengine=psync \
		--output=/dev/null || fail "fill, round ${round}"
	cat "${F}" >/dev/null
	(while [[ ! -e ${T}/stop ]]; do cat "${F}" >/dev/null || break; done) &
	reader=$!
	fio "${jobs[@]}" --ioengine=libaio --iodepth=16 --direct=1 --do_verify=0 \
		--output="${T}/write.out"
	status=$?
	touch "${T}/stop"
	wait "${reader}"
	rm -f "${T}/stop"
	[[ ${status} -eq 0 ]] || { cat "${T}/write.out" >&2; fail "direct writes, round ${round}"; }
	fio "${jobs[@]}" --ioengine=psync --direct=0 --verify_only=1 --output="${T}/verify.out" ||
		{ cat "${T}/verify.out" >&2; fail "buffered verify, round ${round}"; }
	grep -q "err= 0" "${T}/verify.out" || { cat "${T}/verify.out" >&2; fail "verify errors"; }
done
# The reader was open during the writes: they were told to the kernel, and replies waited.
[[ $(fuse_stat kernel_invalidations) -gt 0 ]] || fail "no kernel invalidation was sent"
[[ $(fuse_stat direct_writes_async) -gt 0 ]] || fail "no direct write was answered from its completion"
fuse_umount
"${FSCK}" -n "${IMG}" >/dev/null || fail "fsck.guardfs -n after the rounds"
echo PASS
