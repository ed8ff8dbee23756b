#!/usr/bin/env bash
# The whole filesystem on a real NVMe driver: mkfs.guardfs, the guardfs daemon and fsck.guardfs
# run inside a QEMU guest (Debian's kernel, TCG) on emulated NVMe namespaces with PI, through
# /dev/ng0nN and io_uring passthrough; the images then move to the host's file backend and back.
#
#   boot 1 (guest): per namespace, mkfs.guardfs on /dev/ng0nN; mount; buffered, O_DIRECT and
#           fsync'd writes, a rename into a new directory, a truncate; read everything back
#           (buffered and O_DIRECT) and compare; unmount (the daemon must exit 0);
#           fsck.guardfs -n --scrub on the device. Then mount again, write one file and fsync
#           it, write another without, and cut the power (poweroff -f with the daemon running).
#   host:   fsck.guardfs -n --scrub on each image (recovering the cut-off log in memory), mount
#           it through the file backend: every file the guest finished, and the fsync'd one
#           written before the power cut, has the contents the guest printed; write a new file.
#   boot 2 (guest): mount each namespace again through NVMe and print the new file's checksum,
#           which must match the host's.
# Each namespace's PI is checked by QEMU's controller on every guest command (PRCHK on) and by
# our file backend's strict mode on the host.
#
# usage: run-daemon-test.sh BUILD_DIR NVME_HOST WORKDIR
#   BUILD_DIR holds guardfs, mkfs.guardfs and fsck.guardfs; NVME_HOST is tests/qemu/nvme_host.
# Exit 0 = pass, 1 = fail, 77 = skipped (no qemu-system-x86_64, no guest kernel or module, no
# /dev/fuse on the host).
set -euo pipefail

formats=("4096+8:t1" "4096+16:t1:g64" "512+8:t3")
nfmt=${#formats[@]}
modules=(crypto/crct10dif_common lib/crc-t10dif lib/crc64 lib/crc64-rocksoft
	crypto/crc64_rocksoft_generic block/t10-pi drivers/nvme/host/nvme-core
	drivers/nvme/host/nvme fs/fuse/fuse)
# Namespace size: 96 MiB of data, room for the log, checkpoints and a few files.
NS_DATA_BYTES=$((96 << 20))

source "$(dirname "$0")/guest-lib.sh"
guest_require "${modules[@]}"
[ -c /dev/fuse ] || skip "/dev/fuse is missing on the host"

build=$(realpath "$1")
host_bin=$(realpath "$2")
work=$3
rm -rf "$work"
mkdir -p "$work"
echo "qemu daemon test: kernel $KVER, formats ${formats[*]}"

# --- initramfs: busybox, guardfs and its tools with their libraries, the modules ---
root=$work/root
guest_root "$root"
guest_add_programs "$root" "$build/guardfs" "$build/mkfs.guardfs" "$build/fsck.guardfs"
guest_add_modules "$root" "${modules[@]}"
mkdir -p "$root/etc"
ln -s /proc/self/mounts "$root/etc/mtab"

# Shell functions for the guest's stages.
cat >"$root/lib.sh" <<'EOF'
set -e
say() { echo "GUEST: $*"; }
mounted() { grep -q " $1 fuse.guardfs " /proc/mounts; }
gmount() { # dev mnt: the daemon in front, in the background; wait until the mount is live
	mkdir -p "$2"
	guardfs "$1" "$2" -f -o dirty_expire_ms=3600000 2>>/tmp/daemon.log &
	pid=$!
	for i in $(seq 600); do
		mounted "$2" && return 0
		kill -0 $pid 2>/dev/null || { cat /tmp/daemon.log; say "daemon died"; return 1; }
		sleep 0.1
	done
	say "mount of $1 not live"
	return 1
}
gumount() { # mnt: unmount; the daemon must exit 0
	umount "$2" 2>/dev/null || umount "$1"
	rc=0
	wait $pid || rc=$?
	[ $rc -eq 0 ] || { cat /tmp/daemon.log; say "daemon exited $rc"; return 1; }
}
sum() { # ns name file
	echo "SUM $1 $2 $(md5sum <"$3" | cut -d' ' -f1)"
}
EOF

cat >"$root/stage1.sh" <<'EOF'
. /lib.sh
n=$1
dev=/dev/ng0n$n
m=/mnt/$n
mkfs.guardfs "$dev"
gmount "$dev" "$m"
head -c 3000000 /dev/urandom >/tmp/buffered
head -c 4194304 /dev/urandom >/tmp/direct
head -c 1000000 /dev/urandom >/tmp/trunc
cp /tmp/buffered "$m/buffered"
dd if=/tmp/direct of="$m/direct" bs=1M oflag=direct conv=fsync 2>/dev/null
cp /tmp/trunc "$m/trunc"
truncate -s 300000 "$m/trunc"
head -c 300000 /tmp/trunc >/tmp/trunc.short
mkdir "$m/dir"
mv "$m/buffered" "$m/dir/moved"
sync "$m/dir/moved" "$m/trunc"
cmp /tmp/buffered "$m/dir/moved"
cmp /tmp/trunc.short "$m/trunc"
dd if="$m/direct" of=/tmp/direct.back bs=1M iflag=direct 2>/dev/null
cmp /tmp/direct /tmp/direct.back
sum "$n" dir/moved /tmp/buffered
sum "$n" direct /tmp/direct
sum "$n" trunc /tmp/trunc.short
guardfs --stats "$m" | grep -E '^(pi_|io_)' || true
gumount "$dev" "$m"
fsck.guardfs -n --scrub "$dev"
say "ns $n: clean after unmount"
# The power cut: one file fsync'd, one not; the daemon keeps running into poweroff -f.
gmount "$dev" "$m"
head -c 2000000 /dev/urandom >/tmp/synced
cp /tmp/synced "$m/synced"
sync "$m/synced"
sum "$n" synced /tmp/synced
head -c 2000000 /dev/urandom >"$m/unsynced"
say "ns $n: ready for the power cut"
EOF

cat >"$root/stage2.sh" <<'EOF'
. /lib.sh
n=$1
gmount /dev/ng0n$n /mnt/$n
sum "$n" host "/mnt/$n/from-host"
dd if="/mnt/$n/from-host" of=/dev/null bs=1M iflag=direct 2>/dev/null
gumount /dev/ng0n$n /mnt/$n
fsck.guardfs -n --scrub /dev/ng0n$n
EOF

{
	echo "last=/dev/ng0n$nfmt"
	echo "nfmt=$nfmt"
	cat <<'EOF'
for i in $(seq 100); do
	[ -e $last ] && [ -c /dev/fuse ] && break
	sleep 0.1
done
ok=0
for n in $(seq $nfmt); do
	sh /stage$stage.sh $n || { ok=1; echo "GUEST: stage $stage failed on /dev/ng0n$n"; break; }
done
[ $ok -eq 0 ]
EOF
} | guest_initrd "$root" "$work/initrd.gz" "${modules[@]}"

# --- the namespaces' backing images, empty ---
drives=()
for i in "${!formats[@]}"; do
	img=$work/ns$((i + 1)).img
	props=$("$host_bin" qemu-props "${formats[$i]}")
	lba=${formats[$i]%%+*}
	md=${formats[$i]#*+}
	md=${md%%:*}
	truncate -s $((NS_DATA_BYTES / lba * (lba + md))) "$img"
	drives+=(-drive "file=$img,if=none,id=d$((i + 1)),format=raw,discard=unmap"
		-device "nvme-ns,bus=nvme0,drive=d$((i + 1)),nsid=$((i + 1)),$props")
done

boot() { # stage
	guest_boot "$1" "$work/boot$1.log" "$work/initrd.gz" \
		-device nvme,serial=guardfs,id=nvme0 "${drives[@]}" ||
		{ echo "FAIL: boot $1 did not report PASS (guest console above)"; exit 1; }
}

# The checksum the guest printed for file $2 of namespace $1.
guest_sum() {
	# (the console may put the firmware's escape sequences before the guest's first line)
	grep -ho 'SUM .*' "$work"/boot*.log |
		awk -v n="$1" -v f="$2" '$2 == n && $3 == f { print $4 }' | tail -n 1
}

mnt=$work/mnt
daemon=
host_cleanup() {
	if [ -n "$daemon" ]; then
		fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
		wait "$daemon" 2>/dev/null || true
	fi
}
trap host_cleanup EXIT

host_mount() { # image
	mkdir -p "$mnt"
	"$build/guardfs" "$1" "$mnt" -f 2>>"$work/host-daemon.log" &
	daemon=$!
	for _ in $(seq 600); do
		grep -q " $mnt fuse.guardfs " /proc/self/mounts && return 0
		kill -0 "$daemon" 2>/dev/null || break
		sleep 0.05
	done
	cat "$work/host-daemon.log"
	echo "FAIL: host mount of $1 not live"
	exit 1
}

host_umount() {
	fusermount3 -u "$mnt"
	wait "$daemon" || { echo "FAIL: host daemon exited $?"; exit 1; }
	daemon=
}

start=$SECONDS
boot 1
for i in "${!formats[@]}"; do
	n=$((i + 1))
	img=$work/ns$n.img
	echo "--- host: namespace $n (${formats[$i]}) after the power cut"
	"$build/fsck.guardfs" -n --scrub "$img" ||
		{ echo "FAIL: fsck.guardfs -n --scrub of ns $n (${formats[$i]}) after the power cut"; exit 1; }
	host_mount "$img"
	for f in dir/moved direct trunc synced; do
		want=$(guest_sum $n $f)
		[ -n "$want" ] || { echo "FAIL: the guest printed no checksum for ns $n $f"; exit 1; }
		got=$(md5sum <"$mnt/$f" | cut -d' ' -f1) ||
			{ echo "FAIL: ns $n (${formats[$i]}): $f unreadable on the host"; exit 1; }
		[ "$got" = "$want" ] ||
			{ echo "FAIL: ns $n (${formats[$i]}): $f differs on the host"; exit 1; }
	done
	# 5 MiB + 12 KiB: the guest reads it with O_DIRECT in 1 MiB requests, the last one short.
	head -c $(((5 << 20) + 12288)) /dev/urandom >"$mnt/from-host"
	md5sum <"$mnt/from-host" | cut -d' ' -f1 >"$work/from-host.$n"
	host_umount
done
boot 2
for i in "${!formats[@]}"; do
	n=$((i + 1))
	[ "$(guest_sum $n host)" = "$(cat "$work/from-host.$n")" ] ||
		{ echo "FAIL: ns $n (${formats[$i]}): the host's file differs in the guest"; exit 1; }
done
echo "qemu daemon test passed in $((SECONDS - start)) s"
trap - EXIT
rm -rf "$work"
