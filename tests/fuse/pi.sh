#!/bin/bash
# tests/fuse/pi.sh BUILD - PI end to end through the mount. A file's block is damaged in the
# image while unmounted - first one data byte, then (data restored) its PI reference tag - and
# after a remount: reading that block fails with EIO both buffered and O_DIRECT (alone, and
# among overlapping direct reads, which the daemon answers from their completions), every other
# block of the file reads back right, the daemon's log line names the file with offset, LBA and
# expected/found values, each failing read was read again first (pi_rereads), and
# `fsck.guardfs --scrub` lists the file and the byte range.
# The block's LBA comes from the user.guardfs.map virtual xattr.
BUILD=$1
source "$(dirname "$0")/lib.sh"
fuse_setup
fuse_mount

FILE_SIZE=$((1 << 20))
BAD_OFF=$((256 << 10)) # the damaged 4 KiB block of the file
head -c ${FILE_SIZE} /dev/urandom >"${T}/expected"
mkdir "${MNT}/vm"
cp "${T}/expected" "${MNT}/vm/disk.raw"
sync "${MNT}/vm/disk.raw"
map=$(python3 -c 'import os,sys; sys.stdout.write(os.getxattr(sys.argv[1], "user.guardfs.map").decode())' "${MNT}/vm/disk.raw")
read -r _ _ _ lba_size _ md_size _ nlb < <(head -1 <<<"${map}")
[[ ${lba_size} -eq 4096 && ${md_size} -eq 8 ]] || fail "map header: ${map}"
# The extent line covering BAD_OFF: "offset length type lba".
lba=$(awk -v o=${BAD_OFF} 'NR > 1 && $1 <= o && o < $1 + $2 && $3 == "mapped" { print $4 + (o - $1) / 4096 }' <<<"${map}")
[[ -n ${lba} ]] || fail "no mapped extent at ${BAD_OFF}: ${map}"
fuse_umount

patch_byte() { # $1: image offset; xor the byte there with 0x5a
	python3 - "${IMG}" "$1" <<'PY'
import sys
path, off = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0x5a]))
PY
}

# Reading [BAD_OFF, +4096) fails, the rest of the file is intact; $1 names the damage.
expect_damage() {
	fuse_mount
	local f=${MNT}/vm/disk.raw
	dd if="${f}" of=/dev/null bs=4096 skip=$((BAD_OFF / 4096)) count=1 2>"${T}/dd.err" &&
		fail "$1: buffered read of the damaged block succeeded"
	grep -q "Input/output error" "${T}/dd.err" || fail "$1: buffered read: $(cat "${T}/dd.err")"
	dd if="${f}" of=/dev/null bs=4096 skip=$((BAD_OFF / 4096)) count=1 iflag=direct \
		2>"${T}/dd.err" && fail "$1: O_DIRECT read of the damaged block succeeded"
	grep -q "Input/output error" "${T}/dd.err" || fail "$1: direct read: $(cat "${T}/dd.err")"
	# Overlapping direct reads are answered from their completions (fuse/ops_file.c): the
	# error must come back that way too, and the reads around the block must still succeed.
	local async=$(fuse_stat direct_reads_async)
	fio --name=qd8 --filename="${f}" --rw=read --bs=4k --iodepth=8 --ioengine=io_uring \
		--direct=1 --size=${FILE_SIZE} --continue_on_error=read --output="${T}/fio.out" \
		>"${T}/fio.err" 2>&1 || true
	grep -q "err= *5" "${T}/fio.out" || grep -q "Input/output error" "${T}/fio.err" ||
		fail "$1: QD 8 direct reads did not fail with EIO: $(cat "${T}/fio.out" "${T}/fio.err")"
	[[ $(fuse_stat direct_reads_async) -gt ${async} ]] ||
		fail "$1: no direct read was answered from its completion"
	# Everything but the damaged block reads back as written, buffered and direct.
	for flag in "" "iflag=direct"; do
		cmp <(dd if="${f}" bs=4096 count=$((BAD_OFF / 4096)) ${flag} status=none) \
			<(head -c ${BAD_OFF} "${T}/expected") || fail "$1: data before the block (${flag})"
		cmp <(dd if="${f}" bs=4096 skip=$((BAD_OFF / 4096 + 1)) ${flag} status=none) \
			<(tail -c +$((BAD_OFF + 4096 + 1)) "${T}/expected") ||
			fail "$1: data after the block (${flag})"
	done
	grep -E "/vm/disk.raw \(inode [0-9]+\) offset ${BAD_OFF} LBA ${lba}: .*PI .*check failed.*expected.*found" \
		"${T}/daemon.log" >/dev/null || fail "$1: no log line naming the file, offset and LBA"
	[[ $(fuse_stat pi_errors) -gt 0 ]] ||
		fail "$1: pi_errors counter did not move"
	# Damage on the medium: every read failed was read again (pi_retries=2), none passed.
	[[ $(fuse_stat pi_rereads) -ge 2 && $(fuse_stat pi_recovered) -eq 0 ]] ||
		fail "$1: pi_rereads $(fuse_stat pi_rereads), pi_recovered $(fuse_stat pi_recovered)"
	fuse_umount
	local out rc=0
	out=$("${FSCK}" -n --scrub "${IMG}" 2>&1) || rc=$?
	[[ ${rc} -eq 4 ]] || fail "$1: fsck --scrub exit ${rc}: ${out}"
	grep -q "damage: /vm/disk.raw (inode [0-9]*): bytes \[${BAD_OFF}, $((BAD_OFF + 4096))):" \
		<<<"${out}" || fail "$1: scrub did not list the file and range: ${out}"
	: >"${T}/daemon.log"
}

# 1. A data byte.
data_off=$((lba * lba_size + 1234))
patch_byte ${data_off}
expect_damage "data byte"
patch_byte ${data_off} # restored
"${FSCK}" -n --scrub "${IMG}" >/dev/null || fail "the restored image does not scrub clean"

# 2. The PI reference tag (type 1: the low 32 bits of the LBA, last 4 bytes of the tuple).
tag_off=$((nlb * lba_size + lba * md_size + 4))
patch_byte ${tag_off}
expect_damage "reference tag"

# 3. pi_report=stderr: the daemon in the background still reports PI failures on its stderr.
"${GUARDFS}" "${IMG}" "${MNT}" -o pi_report=stderr 2>"${T}/pi-report.log" || fail "background mount"
dd if="${MNT}/vm/disk.raw" of=/dev/null bs=4096 skip=$((BAD_OFF / 4096)) count=1 iflag=direct \
	2>/dev/null && fail "pi_report: the damaged block read"
fusermount3 -u "${MNT}"
for _ in $(seq 100); do pgrep -f "guardfs ${IMG} " >/dev/null || break; sleep 0.1; done
grep -q "/vm/disk.raw (inode [0-9]*) offset ${BAD_OFF} LBA ${lba}: .*PI .*check failed" \
	"${T}/pi-report.log" || fail "pi_report=stderr: no report: $(cat "${T}/pi-report.log")"
echo PASS
