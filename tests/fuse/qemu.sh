#!/bin/bash
# tests/fuse/qemu.sh BUILD - the qemu block tools on a guardfs mount: qemu-img create (raw and
# qcow2, preallocation off|falloc|full), convert, map (holes must show: SEEK_DATA/SEEK_HOLE),
# check; qemu-io with -t none (O_DIRECT on a 4096+8 namespace: qemu must find the 4096
# alignment by itself) and -t writeback, writing and verifying patterns from 512 B to 4 MiB,
# both ways (written with one cache mode, verified with the other); qemu-img bench writing
# 4 KiB at depth 16 with each of qemu's AIO engines (threads, native, io_uring), cache=none,
# every byte then verified by qemu-io.
BUILD=$1
source "$(dirname "$0")/lib.sh"
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null || fail "qemu-utils missing"
fuse_setup
fuse_mount
cd "${MNT}"

for fmt in raw qcow2; do
	for prealloc in off falloc full; do
		f=${fmt}-${prealloc}.img
		qemu-img create -q -f ${fmt} -o preallocation=${prealloc} ${f} 64M ||
			fail "qemu-img create ${fmt} preallocation=${prealloc}"
		size=$(stat -c %s ${f})
		[[ ${fmt} == qcow2 || ${size} -eq $((64 << 20)) ]] || fail "${f}: size ${size}"
		if [[ ${fmt} == qcow2 ]]; then
			qemu-img check -q ${f} || fail "qemu-img check ${f}"
		fi
	done
done
# preallocation=full really allocates; off leaves a hole the map must show.
blocks_full=$(stat -c %b raw-full.img)
[[ ${blocks_full} -ge $(((64 << 20) / 512)) ]] || fail "raw-full.img has ${blocks_full} blocks"
qemu-img map --output=json raw-off.img | grep -q '"data": false' || fail "raw-off.img: no hole mapped"

# Patterns at every size from 512 B to 4 MiB, at offsets qemu must align itself for -t none.
pattern_cmds() { # $1: write|read  $2: base offset
	local cmds=() sz off=$2 i=1
	for sz in 512 1024 4096 65536 1048576 4194304; do
		cmds+=(-c "$1 -P $((0x10 + i)) ${off} ${sz}")
		off=$((off + sz + 512 * i))
		i=$((i + 1))
	done
	printf '%s\n' "${cmds[@]}"
}
run_io() { # $1: cache mode  $2: format  $3: file  $4: write|read  $5: base
	local -a cmds
	mapfile -t cmds < <(pattern_cmds "$4" "$5")
	local out
	out=$(qemu-io -t "$1" -f "$2" "${cmds[@]}" "$3" 2>&1) || fail "qemu-io -t $1 $4 $3: ${out}"
	if grep -qiE "fail|error|mismatch|pattern" <<<"${out}"; then
		fail "qemu-io -t $1 $4 $3: ${out}"
	fi
}
for fmt in raw qcow2; do
	f=${fmt}-off.img
	run_io none ${fmt} ${f} write 0
	run_io none ${fmt} ${f} read 0
	run_io writeback ${fmt} ${f} read 0
	run_io writeback ${fmt} ${f} write $((32 << 20))
	run_io writeback ${fmt} ${f} read $((32 << 20))
	run_io none ${fmt} ${f} read $((32 << 20))
done
qemu-img check -q qcow2-off.img || fail "qemu-img check after qemu-io"

# A VM's disk at depth 16: overlapping direct writes, which the daemon answers from their
# completions (fuse/ops_file.c); each engine writes its own 8 MiB, each with its own pattern.
async=$(fuse_stat direct_writes_async)
i=0
for aio in threads native io_uring; do
	off=$((i * (8 << 20)))
	qemu-img bench -q -w -t none -i ${aio} -d 16 -c 2048 -s 4096 -o ${off} \
		--pattern=$((0x31 + i)) -f raw raw-full.img || fail "qemu-img bench -i ${aio}"
	out=$(qemu-io -t none -f raw -c "read -P $((0x31 + i)) ${off} 8M" raw-full.img 2>&1) ||
		fail "qemu-io read after bench -i ${aio}: ${out}"
	grep -qiE "fail|error|mismatch|pattern" <<<"${out}" && fail "bench -i ${aio}: ${out}"
	i=$((i + 1))
done
[[ $(fuse_stat direct_writes_async) -gt ${async} ]] ||
	fail "qemu's depth-16 writes were never answered from their completions"

# convert both ways; the copies compare equal, and holes survive into the raw copy.
qemu-img convert -O raw qcow2-off.img conv.raw || fail "qemu-img convert to raw"
qemu-img convert -t none -O qcow2 conv.raw conv.qcow2 || fail "qemu-img convert -t none to qcow2"
qemu-img compare -q qcow2-off.img conv.raw || fail "convert: raw copy differs"
qemu-img compare -q conv.raw conv.qcow2 || fail "convert: qcow2 copy differs"
qemu-img check -q conv.qcow2 || fail "qemu-img check conv.qcow2"
qemu-img map --output=json conv.raw | grep -q '"data": false' || fail "conv.raw: holes lost"
qemu-img map --output=json conv.raw | grep -q '"data": true' || fail "conv.raw: no data mapped"

cd /
fuse_umount
"${FSCK}" -n "${IMG}" >/dev/null || fail "fsck.guardfs -n after qemu"
echo PASS
