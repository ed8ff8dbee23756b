#!/bin/bash
# tests/fuse/exerciser.sh BUILD [OPS] - the model-based exerciser's POSIX backend through a real
# guardfs mount (4096+8, PI type 1): OPS operations (default 100,000) in each of three modes,
# every byte every read returns checked against the model: buffered with a third of the
# in-size reads and writes through MAP_SHARED mappings (msync'd), O_DIRECT for every request
# (all aligned), and mixed (half of the aligned requests O_DIRECT beside buffered and unaligned
# ones on the same files). Each mode uses its own seed (SEED overrides the first; the others
# follow) and directory, all on one mount; the files are kept (--keep) so that after a clean
# unmount fsck.guardfs -n checks a filesystem with data on it. FUSE refuses collapse/insert
# fallocates in the kernel: the exerciser skips and counts those.
BUILD=$1
OPS=${2:-100000}
source "$(dirname "$0")/lib.sh"
EXERCISER=${BUILD}/tests/exerciser/exerciser
[[ -x ${EXERCISER} ]] || fail "exerciser not built in ${BUILD}"
SEED=${SEED:-$(((RANDOM << 15 | RANDOM) + 1))}
echo "exerciser.sh: seeds ${SEED}.. (SEED=${SEED} replays)"

fuse_setup
fuse_mount

run_mode() {
	local name=$1 seed=$2 start=${SECONDS}
	shift 2
	mkdir "${MNT}/${name}"
	"${EXERCISER}" --backend posix --dir "${MNT}/${name}" --seed "${seed}" --ops "${OPS}" \
		--keep "$@" >"${T}/${name}.log" 2>&1 ||
		{ cat "${T}/${name}.log" >&2; fail "exerciser ${name}"; }
	cat "${T}/${name}.log"
	echo "exerciser.sh: ${name}: ${OPS} ops in $((SECONDS - start)) s"
}

run_mode buffered_mmap "${SEED}" --mmap
run_mode direct $((SEED + 1)) --dio direct
run_mode mixed $((SEED + 2)) --dio mixed
# The runs above must really have gone through mmap and O_DIRECT.
grep -q 'mmap reads [1-9][0-9]*, mmap writes [1-9]' "${T}/buffered_mmap.log" || fail "no mmap I/O"
grep -q 'direct I/O requests [1-9]' "${T}/direct.log" || fail "no direct I/O (direct)"
grep -q 'direct I/O requests [1-9]' "${T}/mixed.log" || fail "no direct I/O (mixed)"

fuse_umount
"${FSCK}" -n "${IMG}" >"${T}/fsck.log" 2>&1 || { cat "${T}/fsck.log" >&2; fail "fsck.guardfs -n"; }
cat "${T}/fsck.log"
echo "exerciser.sh: ok"
