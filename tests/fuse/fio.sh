#!/bin/bash
# tests/fuse/fio.sh BUILD - fio with verify=crc32c through the mount: random writes of mixed
# sizes, every block verified on read-back, buffered (psync) and direct (io_uring, O_DIRECT),
# then a direct pass verifying what the buffered pass wrote (and the reverse) after a remount.
# The direct verify reads overlap, so the small ones take the daemon's async reply path.
BUILD=$1
source "$(dirname "$0")/lib.sh"
command -v fio >/dev/null || fail "fio missing"
fuse_setup
fuse_mount

run_fio() { # name, then fio options
	local name=$1
	shift
	fio --name="${name}" --directory="${MNT}" --filename="${name}.dat" --size=48M \
		--bsrange=4k-256k --verify=crc32c --verify_fatal=1 --do_verify=1 \
		--randrepeat=1 --verify_state_save=0 --output="${T}/${name}.out" "$@" ||
		{ cat "${T}/${name}.out" >&2; fail "fio ${name}"; }
	grep -q "err= 0" "${T}/${name}.out" || { cat "${T}/${name}.out" >&2; fail "fio ${name} errors"; }
}
run_fio buffered --rw=randwrite --ioengine=psync --direct=0 --numjobs=1
run_fio direct --rw=randwrite --ioengine=io_uring --iodepth=16 --direct=1 --numjobs=1
# Its verify pass reads at QD 16: small reads were answered from their completions.
[[ $(fuse_stat direct_reads_async) -gt 0 ]] || fail "no direct read was answered from its completion"
# And its QD 16 writes, overlapping, were answered from theirs; every block verified.
[[ $(fuse_stat direct_writes_async) -gt 0 ]] || fail "no direct write was answered from its completion"
# Those took their request buffers along and were written from them in place.
[[ $(fuse_stat direct_writes_took_buf) -gt 0 ]] || fail "no async direct write took its request buffer"
[[ $(fuse_stat dio_in_place) -gt 0 ]] || fail "no direct write went to the device in place"
# Eight threads of synchronous direct writes to one file, each in its own 6 MiB, as qemu's
# aio=threads I/O threads write a disk image: the kernel sends them in parallel only because
# the open said FOPEN_PARALLEL_DIRECT_WRITES (fuse/ops_file.c); every block verifies.
overlapped=$(fuse_stat direct_writes_overlapped) # io_uring's writes above overlap anyway
fio --name=parallel --directory="${MNT}" --filename=parallel.dat --size=6M --offset_increment=6M \
	--numjobs=8 --bsrange=4k-64k --rw=randwrite --ioengine=psync --direct=1 \
	--verify=crc32c --verify_fatal=1 --do_verify=1 --randrepeat=1 --verify_state_save=0 \
	--output="${T}/parallel.out" || { cat "${T}/parallel.out" >&2; fail "fio parallel"; }
grep -q "err= 0" "${T}/parallel.out" || { cat "${T}/parallel.out" >&2; fail "fio parallel errors"; }
[[ $(fuse_stat direct_writes_overlapped) -gt ${overlapped} ]] ||
	fail "synchronous direct writes to one file never overlapped"
fuse_umount
fuse_mount
# After a remount: what each pass wrote verifies through the other path.
run_fio buffered --rw=randwrite --ioengine=io_uring --direct=1 --verify_only=1
run_fio direct --rw=randwrite --ioengine=psync --direct=0 --verify_only=1
fuse_umount
"${FSCK}" -n "${IMG}" >/dev/null || fail "fsck.guardfs -n after fio"
echo PASS
