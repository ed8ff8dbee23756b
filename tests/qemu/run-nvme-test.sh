#!/usr/bin/env bash
# The real-driver test of core/ns's NVMe backend: boot Debian's kernel under QEMU (TCG) with an
# emulated NVMe controller holding one namespace per PI format, and drive them from inside the
# guest through /dev/ng0nN with io_uring passthrough (tests/qemu/nvme_guest).
#
#   boot 1: namespaces 1-N start empty: write patterns with PI and all PRCHK bits, read back,
#           show the controller's checks refusing bad tuples (nvme_guest write-verify);
#           namespaces N+1-2N were written on the host through the file backend: read them in
#           full with all PRCHK bits, so QEMU's own checker judges our PI (read-all).
#   host:   flip one data byte and one PI byte per image 1-N at the offsets of QEMU's backing
#           layout (nvme_host corrupt, which first checks the blocks sit where expected).
#   boot 2: exactly those LBAs fail, with the right tag; their neighbours and all other
#           blocks pass (check-corruption).
#
# usage: run-nvme-test.sh NVME_GUEST NVME_HOST WORKDIR
# Exit 0 = pass, 1 = fail, 77 = skipped (no qemu-system-x86_64, or no guest kernel and its
# NVMe modules).
# GFS_QEMU_SEED picks the corrupted LBAs and bytes (printed, so a failure can be rerun).
set -euo pipefail

# The issue's five formats, plus Type 2 with the 64-bit guard and ref tags above 2^32 (CDW3).
formats=("512+8:t1" "4096+8:t1" "4096+16:t1:g64" "4096+8:t3" "4096+16:t1:first"
	"4096+16:t2:g64")
nfmt=${#formats[@]}
modules=(crypto/crct10dif_common lib/crc-t10dif lib/crc64 lib/crc64-rocksoft
	crypto/crc64_rocksoft_generic block/t10-pi drivers/nvme/host/nvme-core
	drivers/nvme/host/nvme)

source "$(dirname "$0")/guest-lib.sh"
guest_require "${modules[@]}"

guest_bin=$(realpath "$1")
host_bin=$(realpath "$2")
work=$3
seed=${GFS_QEMU_SEED:-$(((RANDOM << 15) | RANDOM))}
echo "qemu nvme test: seed $seed (rerun with GFS_QEMU_SEED=$seed), kernel $KVER"
rm -rf "$work"
mkdir -p "$work"

# --- initramfs: busybox, the guest program and its libraries, the NVMe modules ---
root=$work/root
guest_root "$root"
guest_add_programs "$root" "$guest_bin"
guest_add_modules "$root" "${modules[@]}"
nsargs() { # first nsid, then one format per namespace
	local nsid=$1 f
	shift
	for f in "$@"; do
		printf ' /dev/ng0n%d=%s' "$nsid" "$f"
		nsid=$((nsid + 1))
	done
}
cat >"$root/stage1.sh" <<EOF
/bin/nvme_guest write-verify$(nsargs 1 "${formats[@]}") || exit 1
/bin/nvme_guest read-all$(nsargs $((nfmt + 1)) "${formats[@]}") || exit 1
EOF
cat >"$root/stage2.sh" <<EOF
/bin/nvme_guest check-corruption $seed$(nsargs 1 "${formats[@]}") || exit 1
EOF
{
	# Linux 6.1 verifies Type 2 like Type 1 (ref tag = LBA) when it reads the partition table.
	echo "echo 'note: \"protection error\" lines for the t2 namespaces come from the guest" \
		"kernel scanning partitions (it checks Type 2 ref tags as Type 1); expected'"
	echo "last=/dev/ng0n$((2 * nfmt))"
	cat <<'EOF'
for i in $(seq 100); do
	[ -e $last ] && break
	sleep 0.1
done
for f in /sys/block/nvme0n*/integrity/format; do echo "$f: $(cat $f)"; done
sh /stage$stage.sh
EOF
} | guest_initrd "$root" "$work/initrd.gz" "${modules[@]}"

# --- images: 1-5 empty, 6-10 written on the host through the file backend ---
drives=()
for i in "${!formats[@]}"; do
	f=${formats[$i]}
	"$host_bin" create "$work/ns$((i + 1)).img" "$f"
	"$host_bin" prepare "$work/ns$((i + 1 + nfmt)).img" "$f" $((i + 1))
done
for i in "${!formats[@]}"; do
	props=$("$host_bin" qemu-props "${formats[$i]}")
	for nsid in $((i + 1)) $((i + 1 + nfmt)); do
		drives+=(-drive "file=$work/ns$nsid.img,if=none,id=d$nsid,format=raw,discard=unmap"
			-device "nvme-ns,bus=nvme0,drive=d$nsid,nsid=$nsid,$props")
	done
done

boot() { # stage
	guest_boot "$1" "$work/boot$1.log" "$work/initrd.gz" \
		-device nvme,serial=guardfs,id=nvme0 "${drives[@]}" ||
		{ echo "FAIL: boot $1 did not report PASS (guest console above; seed $seed)"; exit 1; }
}

start=$SECONDS
boot 1
for i in "${!formats[@]}"; do
	"$host_bin" corrupt "$seed" "$work/ns$((i + 1)).img" "${formats[$i]}" $((i + 1))
done
boot 2
echo "qemu nvme test passed in $((SECONDS - start)) s of boots (seed $seed)"
rm -rf "$work"
