#!/bin/bash
# bench_cli.sh - the benchmark programs as a user runs them, one section per ctest:
#
#   bench_cli.sh SECTION BENCH_DIR
#
# refusals: every bench exits 2 with a usage line for an unknown option or an out-of-range
# value, and measures nothing. The other sections run one bench briefly and check the shape of
# what it prints: its table row(s) and its last line(s), each ratio a positive number with two
# decimals. Figures are not asserted: this is a shared, noisy machine (bench/ measures speed).
set -u
section=$1 bench=$2
dir=$(mktemp -d "${BENCH_TEST_DIR:-/var/tmp}/bench_cli.XXXXXX")
trap 'rm -rf "$dir"' EXIT
failed=0 out= rc=

run() { out=$("$@" 2>&1); rc=$?; }
fail() { echo "FAIL: $*"; echo "--- output (rc=$rc):"; echo "$out"; echo "---"; failed=1; }
ok() { echo "ok: $*"; }

# A refusal: exit status 2, a usage line, and no table (nothing was measured).
refuse() { # description command...
	local what=$1; shift
	run "$@"
	if [ "$rc" -eq 2 ] && grep -q '^usage: ' <<<"$out" && ! grep -q 'ratio=' <<<"$out"; then
		ok "$what refused"
	else
		fail "$what: expected exit 2 with a usage line and no figures"
	fi
}

# A run that worked: exit 0, a row for each named case, and the named ratio lines last, in
# this order, each a positive number.
expect_run() { # "case1|case2" ratio_name... (after run)
	local rows=$1; shift
	local n=$# i=0 line name value
	if [ "$rc" -ne 0 ]; then fail "exit status $rc"; return; fi
	IFS='|' read -ra want <<<"$rows"
	for row in "${want[@]}"; do
		grep -Eq "^$row +[0-9]" <<<"$out" || { fail "no table row for '$row'"; return; }
	done
	for name in "$@"; do
		i=$((i + 1))
		line=$(tail -n $((n - i + 1)) <<<"$out" | head -n 1)
		value=${line#"$name="}
		if [ "$value" = "$line" ] || ! [[ $value =~ ^[0-9]+\.[0-9]{2}$ ]] ||
			[ "$value" = "0.00" ]; then
			fail "line $i of the last $n is '$line', expected $name=X.XX"
			return
		fi
	done
	ok "rows '$rows' and last lines $*"
}

case $section in
refusals)
	for b in ns-bench dio-bench mount-bench cache-bench; do
		refuse "$b: unknown option" "$bench/$b" -Z
	done
	for b in pi-bench meta-bench; do
		refuse "$b: an argument (it takes none)" "$bench/$b" extra
	done
	refuse "journal-bench: an option (it takes a directory)" "$bench/journal-bench" -Z
	refuse "journal-bench: two directories" "$bench/journal-bench" "$dir" "$dir"
	refuse "ns-bench -c that selects no case" "$bench/ns-bench" -f "$dir/img" -c nosuchcase
	refuse "ns-bench -r 0" "$bench/ns-bench" -f "$dir/img" -r 0
	refuse "ns-bench -r 65 (more than it keeps)" "$bench/ns-bench" -f "$dir/img" -r 65
	refuse "ns-bench -t 0" "$bench/ns-bench" -f "$dir/img" -t 0
	refuse "ns-bench -s too small for one 1 MiB request" "$bench/ns-bench" -f "$dir/img" -s 0
	refuse "dio-bench -c that selects no case" "$bench/dio-bench" -d "$dir" -c nosuchcase
	refuse "dio-bench -r 0" "$bench/dio-bench" -d "$dir" -r 0
	refuse "dio-bench -r 65" "$bench/dio-bench" -d "$dir" -r 65
	refuse "dio-bench -t 0" "$bench/dio-bench" -d "$dir" -t 0
	refuse "dio-bench -m 4 (less than QD 16 of 1 MiB)" "$bench/dio-bench" -d "$dir" -m 4
	refuse "mount-bench -c that selects no case" "$bench/mount-bench" -d "$dir" -c nosuchcase
	refuse "mount-bench -r 0" "$bench/mount-bench" -d "$dir" -r 0
	refuse "mount-bench -m 4" "$bench/mount-bench" -d "$dir" -m 4
	# Nothing was left behind by the refusals.
	left=$(find "$dir" -mindepth 1 | head -n 3)
	if [ -z "$left" ]; then ok "refusals created no files"; else
		out=$left rc=0; fail "refusals left files behind"; fi
	;;
pi)
	run "$bench/pi-bench"
	expect_run "" crc64_vs_isal_ratio copygen_vs_memcpy_ratio
	;;
journal)
	run "$bench/journal-bench" "$dir"
	if [ "$rc" -eq 0 ] && grep -Eq '^commits: 1 thread [0-9]+/s' <<<"$out" &&
		grep -Eq '^journal_open: 1000000 records replayed' <<<"$out"; then
		ok "journal-bench ran its commits, checkpoint and replay"
	else
		fail "journal-bench: expected its commit and replay lines"
	fi
	;;
ns)
	run "$bench/ns-bench" -f "$dir/img" -s 0.25 -t 1 -r 1 -c "4k randwrite qd1"
	expect_run "4k randwrite qd1" ns_vs_fio_ratio
	[ -e "$dir/img" ] && { out=$(ls -l "$dir"); rc=0; fail "ns-bench kept its image without -k"; }
	run "$bench/ns-bench" -f "$dir/img" -s 0.25 -t 1 -r 2 -v -c "1m seqread"
	expect_run "1m seqread qd8" ns_vs_fio_ratio
	grep -Eq '^  1m seqread qd8 round 2: ratio [0-9]' <<<"$out" ||
		fail "ns-bench -v: no line for round 2"
	;;
dio)
	run "$bench/dio-bench" -d "$dir" -m 16 -t 0.2 -r 1 -c "qd1"
	expect_run "4k randread qd1|4k randwrite qd1|1m read qd1|1m write qd1" \
		pi_vs_nopi_ratio dio_vs_fio_ratio
	run "$bench/dio-bench" -d "$dir" -m 16 -t 0.2 -r 1 -T -c "qd16"
	expect_run "4k randread qd16|1m write qd16" pi_vs_nopi_ratio dio_vs_fio_ratio
	run "$bench/dio-bench" -d "$dir" -m 16 -t 0.2 -r 2 -b -v -c "1m"
	expect_run "1m read qd16|1m write qd1" pi_vs_nopi_ratio dio_vs_fio_ratio
	grep -q 'copies through the bounce both ways' <<<"$out" || fail "dio-bench -b: no header"
	left=$(find "$dir" -mindepth 1 | head -n 3)
	[ -z "$left" ] || { out=$left rc=0; fail "dio-bench left its files behind"; }
	;;
mount)
	run "$bench/mount-bench" -d "$dir" -m 16 -t 1 -r 1 -c "1m write qd4" -B "$bench/.."
	expect_run "1m write qd4" mount_vs_raw_ratio
	left=$(find "$dir" -mindepth 1 | head -n 3)
	[ -z "$left" ] || { out=$left rc=0; fail "mount-bench left files or a mount behind"; }
	;;
*)
	echo "bench_cli.sh: unknown section $section" >&2
	exit 2
	;;
esac
exit $failed
