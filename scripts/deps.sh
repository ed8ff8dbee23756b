# Sourced by scripts/test and scripts/demo: install every Debian 12 package the build, the tests
# and the demo need. Runs apt-get update once per machine boot unless the packages are all there.
GUARDFS_APT_PACKAGES=(
	build-essential cmake pkg-config git
	libfuse3-dev fuse3 liburing-dev libnvme-dev libjson-c-dev libisal-dev check
	fio qemu-utils clang libclang-rt-14-dev clang-format
	qemu-system-x86 linux-image-amd64 busybox-static cpio
	systemd nvme-cli
)

guardfs_install_deps() {
	local missing=()
	local p
	for p in "${GUARDFS_APT_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "guardfs: missing packages (${missing[*]}); run as root to install them" >&2
		return 1
	fi
	echo "guardfs: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
}
