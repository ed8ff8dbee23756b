# shellcheck shell=bash
# tests/qemu/guest-lib.sh - shared by the tests that boot Debian's kernel under QEMU (TCG) with
# an emulated NVMe controller and run programs of ours inside it (run-nvme-test.sh,
# run-daemon-test.sh). Sourced after `set -euo pipefail`.
#
#   guest_require MODULE...     skip (exit 77) without qemu-system-x86_64, a guest kernel in
#                               /boot or one of the kernel modules; fail without busybox (which
#                               scripts/test installs). Sets QEMU, KERNEL, KVER, MODDIR, BUSYBOX.
#   guest_root ROOT             start an initramfs tree: busybox and the usual directories
#   guest_add_programs ROOT PROG...  copy programs to ROOT/bin with their shared libraries
#   guest_add_modules ROOT MODULE...  copy (and unxz) kernel modules to ROOT/lib/modules
#   guest_init_head MODULE...   print the start of an /init: busybox applets, /proc, /sys,
#                               /dev, the sanitizer options of this run, insmod of each module
#   guest_initrd ROOT OUT MODULE...  write ROOT/init (guest_init_head, the script on stdin,
#                               then the result line and poweroff) and pack ROOT into OUT
#   guest_boot STAGE LOG INITRD QEMU_ARG...
#                               boot with gfs_stage=STAGE on the kernel command line, console to
#                               stdout and LOG; fail unless the guest printed
#                               "GFS-QEMU-RESULT stage=STAGE PASS"
# The script reports on the status of its last command.

skip() {
	echo "SKIP: $*"
	exit 77
}

guest_require() {
	local m
	QEMU=$(command -v qemu-system-x86_64 || true)
	[ -n "$QEMU" ] || skip "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
	KERNEL=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1 || true)
	[ -n "$KERNEL" ] || skip "no guest kernel in /boot (apt-get install linux-image-amd64)"
	[ -r "$KERNEL" ] || skip "$KERNEL is not readable by this user"
	KVER=${KERNEL#/boot/vmlinuz-}
	MODDIR=/lib/modules/$KVER/kernel
	BUSYBOX=$(command -v busybox || true)
	if [ -z "$BUSYBOX" ]; then # scripts/test installs it: its absence is a broken set-up
		echo "FAIL: busybox not found (apt-get install busybox-static)"
		exit 1
	fi
	for m in "$@"; do
		[ -e "$MODDIR/$m.ko" ] || [ -e "$MODDIR/$m.ko.xz" ] ||
			skip "kernel module $m missing under $MODDIR"
	done
}

guest_root() {
	local gcc_s
	mkdir -p "$1"/{bin,dev,proc,sys,tmp,mnt,lib/modules}
	cp "$BUSYBOX" "$1/bin/busybox"
	guest_copy_libs "$1" "$BUSYBOX"
	# glibc loads libgcc_s at run time (pthread_cancel unwinds with it): ldd does not list it.
	# (awk reads to the end: with pipefail, ldconfig killed by SIGPIPE would fail the script)
	gcc_s=$(ldconfig -p | awk '!p && $1 == "libgcc_s.so.1" && /x86-64/ { p = $NF } END { print p }')
	if [ -n "$gcc_s" ]; then
		mkdir -p "$1$(dirname "$gcc_s")"
		cp -L "$gcc_s" "$1$gcc_s"
	fi
}

# The shared libraries and loader of a program (none for a static one).
guest_copy_libs() {
	local root=$1 lib
	for lib in $( (ldd "$2" 2>/dev/null || true) | grep -o '/[^ ]*' | sort -u); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

guest_add_programs() {
	local root=$1 prog
	shift
	for prog in "$@"; do
		cp "$prog" "$root/bin/"
		guest_copy_libs "$root" "$prog"
	done
}

guest_add_modules() {
	local root=$1 m
	shift
	for m in "$@"; do
		if [ -e "$MODDIR/$m.ko" ]; then
			cp "$MODDIR/$m.ko" "$root/lib/modules/"
		else
			xz -dc "$MODDIR/$m.ko.xz" >"$root/lib/modules/$(basename "$m").ko"
		fi
	done
}

guest_init_head() {
	local m
	echo '#!/bin/busybox sh'
	echo '/bin/busybox --install -s /bin'
	echo 'mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs dev /dev'
	echo "export ASAN_OPTIONS='${ASAN_OPTIONS:-}' UBSAN_OPTIONS='${UBSAN_OPTIONS:-}'"
	for m in "$@"; do
		echo "insmod /lib/modules/$(basename "$m").ko || echo 'insmod $(basename "$m") failed'"
	done
	echo "stage=\$(sed -n 's/.*gfs_stage=\\([0-9a-z]*\\).*/\\1/p' /proc/cmdline)"
}

# In an /init: report stage $stage by the status of the command that just ran.
guest_result_line() {
	echo 'if [ $? -eq 0 ]; then r=PASS; else r=FAIL; fi'
	echo 'echo "GFS-QEMU-RESULT stage=$stage $r"'
	echo 'poweroff -f'
}

guest_initrd() {
	local root=$1 out=$2
	shift 2
	{
		guest_init_head "$@"
		cat
		guest_result_line
	} >"$root/init"
	chmod +x "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
}

guest_boot() {
	local stage=$1 log=$2 initrd=$3
	shift 3
	echo "=== boot $stage ==="
	timeout 300 "$QEMU" -accel tcg -m 512 -smp 1 -nographic -no-reboot -net none \
		-kernel "$KERNEL" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 quiet gfs_stage=$stage" "$@" </dev/null 2>&1 |
		tr -d '\r' | tee "$log" || true
	grep -q "^GFS-QEMU-RESULT stage=$stage PASS" "$log"
}
