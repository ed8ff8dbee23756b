#!/bin/bash
# tools_cli.sh - CLI tests of mkfs.guardfs and fsck.guardfs, one section per ctest.
#
#   tools_cli.sh SECTION BUILD_DIR MKIMAGE
#
# Every check states what it expects; a failure prints the command's output and the script
# exits non-zero at the end of the section. Images live in a private directory under
# TOOLS_TEST_DIR (default /var/tmp) and are removed on exit.
set -u
section=$1 build=$2 mkimage=$3
mkfs=$build/mkfs.guardfs fsck=$build/fsck.guardfs
dir=$(mktemp -d "${TOOLS_TEST_DIR:-/var/tmp}/tools_cli.XXXXXX")
trap 'rm -rf "$dir"' EXIT
img=$dir/img
failed=0 out= rc=

run() { out=$("$@" 2>&1); rc=$?; }
fail() { echo "FAIL: $*"; echo "--- output (rc=$rc):"; echo "$out"; echo "---"; failed=1; }
ok() { echo "ok: $*"; }
expect_rc() { # expected-rc description
	if [ "$rc" -eq "$1" ]; then ok "$2 (rc $rc)"; else fail "$2: rc $rc, expected $1"; fi
}
expect_out() { # regex description
	if grep -Eq -- "$1" <<<"$out"; then ok "$2"; else fail "$2: no line matching '$1'"; fi
}
expect_count() { # count regex description: lines matching
	local n; n=$(grep -Ec -- "$2" <<<"$out")
	if [ "$n" -eq "$1" ]; then ok "$3"; else fail "$3: $n lines match '$2', expected $1"; fi
}
expect_lines() { # count description
	local n; n=$(grep -c . <<<"$out")
	if [ "$n" -eq "$1" ]; then ok "$2"; else fail "$2: $n lines, expected $1"; fi
}

# A refusal: non-zero exit, exactly one line of output, matching the regex.
refuse() { # regex args...
	local re=$1; shift
	rm -f "$img"
	run "$mkfs" "$@"
	if [ "$rc" -ne 0 ] && [ "$(grep -c . <<<"$out")" -eq 1 ] && grep -Eq -- "$re" <<<"$out"; then
		ok "mkfs $* refused: $out"
	else
		fail "mkfs $* should be refused with one line matching '$re'"
	fi
}

section_mkfs_options() {
	refuse "unknown option" --bogus --size 64M "$img"
	refuse "lba-size.*512 or 4096" --lba-size 1024 --size 64M "$img"
	refuse "md-size 8 is smaller than the 16-byte PI tuple" --guard 64 --md-size 8 --size 64M "$img"
	refuse "md-size 4 is smaller" --md-size 4 --size 64M "$img"
	refuse "md-size 24: must be" --md-size 24 --size 64M "$img"
	refuse "pi-type 5" --pi-type 5 --size 64M "$img"
	refuse "guard 32" --guard 32 --size 64M "$img"
	refuse "need PI" --pi-type 0 --pi-first --size 64M "$img"
	refuse "block-size 6144: must be a power of two" --block-size 6144 --size 64M "$img"
	refuse "block-size 512: must be a power of two from the LBA size \(4096\)" --block-size 512 --size 64M "$img"
	refuse "block-size 131072" --block-size 128K --size 64M "$img"
	refuse "too small" --size 100K "$img"
	refuse "not a size" --size 12Q "$img"
	refuse "does not exist; give --size" "$img"
	refuse "no SOURCE" --size 64M
	refuse "label is 65 bytes" --label "$(printf 'x%.0s' {1..65})" --size 64M "$img"
	[ -e "$img" ] && fail "a refused mkfs left $img behind" || ok "refusals create nothing"

	rm -f "$img"
	run "$mkfs" --size 64M --label "my label" "$img"
	expect_rc 0 "mkfs with a label"
	expect_out "format: +4096\+8 " "summary names the format"
	expect_out "PI: +type 1, 16-bit guard .*last" "summary names PI type, guard, location"
	expect_out "capacity: +63\.[0-9] MiB \(16352 LBAs\)" "summary names the capacity"
	expect_out "block size: 4096" "summary names the block size"
	expect_out "UUID: +[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}" "summary names a v4 UUID"
	expect_out "label: +my label" "summary names the label"
	[ "$(stat -c %s "$img")" -eq $((64 << 20)) ] && ok "file created at --size" || fail "file size"
	[ "$(stat -c %b "$img")" -lt 40000 ] && ok "file is sparse" || fail "file not sparse"

	run "$mkfs" "$img"
	[ "$rc" -ne 0 ] && grep -q "use --force" <<<"$out" && ok "existing guardfs refused" || fail "existing guardfs not refused"
	run "$mkfs" --force --size 32M --pi-type 0 "$img"
	expect_rc 0 "--force overwrites and resizes"
	expect_out "format: +4096\+0 " "pi-type 0 defaults md-size to 0"
	expect_out "PI: +none" "no PI"
	[ "$(stat -c %s "$img")" -eq $((32 << 20)) ] && ok "resized" || fail "not resized"
	run "$mkfs" -f "$img"
	expect_rc 0 "an existing file keeps its size without --size"
	expect_out "capacity: +31\.[0-9] MiB" "size kept"
	run "$mkfs" --help
	expect_rc 0 "--help"
}

# mkfs then fsck -n clean, for each format the issue names.
section_mkfs_formats() {
	local f
	while read -r f; do
		rm -f "$img"
		# shellcheck disable=SC2086
		run "$mkfs" --size 48M $f "$img"
		expect_rc 0 "mkfs $f"
		run "$fsck" -n "$img"
		expect_rc 0 "fsck -n after mkfs $f"
		expect_out "clean, 2 inodes" "fsck says clean for $f"
	done <<'EOF2'
--lba-size 512 --md-size 8 --pi-type 1
--lba-size 4096 --md-size 8 --pi-type 1
--lba-size 4096 --md-size 16 --guard 64
--lba-size 4096 --md-size 8 --pi-type 3
--lba-size 4096 --md-size 0 --pi-type 0
--pi-first
--pi-type 2 --block-size 16K
--lba-size 512 --md-size 64 --guard 64 --pi-first --block-size 512
EOF2
	run "$mkfs" -f --size 48M --guard 64 --md-size 16 "$img"
	expect_out "64-bit guard \(CRC-64/NVME\)" "summary names the 64-bit guard"
}

section_fsck_refusals() {
	run "$fsck" -n "$dir/missing"
	expect_rc 8 "fsck on a missing file"
	head -c 16M /dev/zero >"$img"
	run "$fsck" -n "$img"
	expect_rc 8 "fsck on a zeroed file"
	expect_out "not a guardfs namespace" "says it is not guardfs"
	head -c 4M /dev/urandom >"$img"
	run "$fsck" "$img"
	expect_rc 8 "fsck on random bytes"
	run "$fsck" --bogus "$img"
	expect_rc 16 "unknown option is a usage error"
	run "$fsck" -n -y "$img"
	expect_rc 16 "-n with -y is a usage error"
	run "$fsck"
	expect_rc 16 "no SOURCE is a usage error"

	# Both checkpoint headers damaged: the journal cannot be recovered, nothing is written.
	rm -f "$img"
	"$mkfs" --size 64M "$img" >/dev/null
	"$mkimage" populate "$img" >/dev/null
	eval "$("$mkimage" layout "$img")"
	"$mkimage" flip "$img" $((ckpt_a * block_size + 100)) >/dev/null
	"$mkimage" flip "$img" $((ckpt_b * block_size + 100)) >/dev/null
	local sum; sum=$(md5sum <"$img")
	run "$fsck" -y "$img"
	expect_rc 4 "unrecoverable journal: errors left"
	expect_out "metadata damaged beyond what fsck can repair" "says so in one line"
	[ "$(md5sum <"$img")" = "$sum" ] && ok "image untouched" || fail "fsck wrote to a damaged image"
}

# Superblock damage: the backup carries the mount, fsck reports and -y rewrites.
section_fsck_superblock() {
	local backup=$(( (64 * 1024 * 1024 / 4104 - 1) * 4096 ))
	rm -f "$img"
	run "$mkfs" --size 64M "$img"
	"$mkimage" flip "$img" 100 >/dev/null
	run "$fsck" -n "$img"
	expect_rc 4 "damaged primary superblock is an error"
	expect_out "primary superblock at LBA 0 (damaged|unreadable)" "names the primary copy"
	run "$fsck" -y "$img"
	expect_rc 1 "-y rewrites it"
	expect_out "repaired: both superblock copies rewritten" "reports the repair"
	run "$fsck" -n "$img"
	expect_rc 0 "clean after the repair"

	"$mkimage" flip "$img" $((backup + 100)) >/dev/null
	run "$fsck" -n "$img"
	expect_rc 4 "damaged backup superblock is an error"
	expect_out "backup superblock at LBA $((backup / 4096))" "names the backup copy"
	"$mkimage" flip "$img" 100 >/dev/null
	run "$fsck" -n "$img"
	expect_rc 4 "both copies damaged: errors left"
	expect_out "no valid backup" "says no copy is usable"
	run "$fsck" -y "$img"
	expect_rc 4 "-y cannot repair both copies"

	rm -f "$img"
	run "$mkfs" --size 64M "$img"
	"$mkimage" flip "$img" 0 >/dev/null
	"$mkimage" flip "$img" "$backup" >/dev/null
	run "$fsck" -n "$img"
	expect_rc 8 "both magics gone: not guardfs"
}

where() { # image path offset -> sets ino, data_off, app_off, lba_size
	eval "$("$mkimage" where "$@")"
}

section_scrub() {
	local fmt
	for fmt in "" "--lba-size 512" "--guard 64 --md-size 16 --pi-first"; do
		rm -f "$img"
		# shellcheck disable=SC2086
		"$mkfs" --size 64M $fmt "$img" >/dev/null || fail "mkfs $fmt"
		"$mkimage" populate "$img" >/dev/null || fail "populate"
		run "$fsck" -n --scrub "$img"
		expect_rc 0 "[$fmt] clean image scrubs clean"
		expect_out "no damage found" "[$fmt] says no damage found"
		# Never-written metadata blocks read as zeros in a non-sparse copy: not damage.
		cp --sparse=never "$img" "$dir/copy"
		run "$fsck" -n --scrub "$dir/copy"
		expect_rc 0 "[$fmt] a non-sparse copy scrubs clean"
		rm -f "$dir/copy"

		where "$img" /a/b/f1 5000
		"$mkimage" flip "$img" "$data_off" >/dev/null
		local s=$((5000 / lba_size * lba_size))
		run "$fsck" -n "$img"
		expect_rc 0 "[$fmt] data damage is invisible to the metadata check"
		run "$fsck" -n --scrub "$img"
		expect_rc 4 "[$fmt] scrub finds damaged data"
		expect_out "^damage: /a/b/f1 \(inode $ino\): bytes \[$s, $((s + lba_size))\): guard$" \
			"[$fmt] names /a/b/f1 and bytes [$s, $((s + lba_size)))"
		expect_out "1 damaged block\(s\), 1 damaged file\(s\)" "[$fmt] counts it"

		where "$img" /f2 1048676
		"$mkimage" flip "$img" "$app_off" >/dev/null
		s=$((1048676 / lba_size * lba_size))
		run "$fsck" -n --scrub "$img"
		expect_rc 4 "[$fmt] scrub finds a damaged app tag"
		expect_out "^damage: /f2 \(inode $ino\): bytes \[$s, $((s + lba_size))\): app$" \
			"[$fmt] names /f2 and the app tag"
	done
	# Two neighbouring bad blocks merge into one range.
	rm -f "$img"
	"$mkfs" --size 64M "$img" >/dev/null
	"$mkimage" populate "$img" >/dev/null
	where "$img" /f2 8192; "$mkimage" flip "$img" "$data_off" >/dev/null
	where "$img" /f2 12288; "$mkimage" flip "$img" "$data_off" >/dev/null
	run "$fsck" -n --scrub "$img"
	expect_out "^damage: /f2 \(inode $ino\): bytes \[8192, 16384\): guard$" "adjacent blocks merge"

	# Metadata blocks are scrubbed too: a damaged block of the log is named by area and LBA.
	rm -f "$img"
	"$mkfs" --size 64M "$img" >/dev/null
	"$mkimage" populate "$img" >/dev/null
	eval "$("$mkimage" layout "$img")"
	"$mkimage" flip "$img" $((log_start * block_size + 200)) >/dev/null
	run "$fsck" -n --scrub "$img"
	expect_rc 4 "damaged log block found by the scrub"
	expect_out "^damage: metadata \(log area\): LBA $((log_start * block_size / 4096)): guard$" \
		"names the log area and the LBA"
}

section_repair() {
	rm -f "$img"
	"$mkfs" --size 64M "$img" >/dev/null
	"$mkimage" populate "$img" >/dev/null
	eval "$("$mkimage" nlink "$img" /f2 5)"
	local sum; sum=$(md5sum <"$img")
	run "$fsck" -n "$img"
	[ "$(md5sum <"$img")" = "$sum" ] && ok "-n wrote nothing" || fail "-n changed the image"
	run "$fsck" "$img"
	[ "$(md5sum <"$img")" = "$sum" ] && ok "no option writes nothing" || fail "fsck changed the image"
	expect_rc 4 "wrong link count is an error"
	expect_out "inode $ino \(/f2\): link count is 5, should be 2" "names the inode and counts"
	expect_out "run with -y" "suggests -y"
	run "$fsck" -y "$img"
	expect_rc 1 "-y corrects the link count"
	expect_out "repaired: inode $ino: link count set to 2" "reports the repair"
	run "$fsck" -n "$img"
	expect_rc 0 "clean afterwards"

	eval "$("$mkimage" orphan "$img" /a/b/f1)"
	run "$fsck" -n "$img"
	expect_rc 4 "unreachable inode is an error"
	expect_out "inode $ino \(unreachable\): inode with 1 link\(s\) that no directory entry names" \
		"names the orphan"
	run "$fsck" -y "$img"
	expect_rc 1 "-y links it into lost+found"
	expect_out "repaired: inode $ino linked as /lost\+found/#$ino" "reports where"
	run "$fsck" -n --scrub "$img"
	expect_rc 0 "clean afterwards, data intact"
	where "$img" "/lost+found/#$ino" 0 && ok "the orphan's data is reachable" || fail "lookup"

	# Written blocks wholly past EOF: -y frees them through the metadata API.
	eval "$("$mkimage" size "$img" "/lost+found/#$ino" 5000)"
	run "$fsck" -n "$img"
	expect_rc 4 "mapped blocks past EOF are an error"
	expect_out "inode $ino \(/lost\+found/#$ino\): written blocks at file offset 8192, past its size 5000" \
		"names the file, offset and size"
	run "$fsck" -y "$img"
	expect_rc 1 "-y frees them"
	expect_out "repaired: inode $ino: blocks from file offset 8192 \(past EOF\) freed" "reports it"
	run "$fsck" -n --scrub "$img"
	expect_rc 0 "clean afterwards"
	expect_out "clean, [0-9]+ inodes, 2 extents" "the file keeps its first two blocks"

	# An inode unlinked while open, as a crash leaves it: not an error, freed at mount.
	eval "$("$mkimage" unlink "$img" /f2)"
	eval "$("$mkimage" unlink "$img" /d/f2link)"
	run "$fsck" -n --scrub "$img"
	expect_rc 0 "an unlinked inode left by a crash is not an error"
	expect_out "1 unlinked inode\(s\) still open at a crash; the next read-write mount frees" \
		"reports it"
	"$mkimage" big "$img" 1 >/dev/null || fail "read-write mount"
	run "$fsck" -n "$img"
	expect_rc 0 "clean after a read-write mount"
	grep -q "still open" <<<"$out" && fail "the orphan was not freed" || ok "freed at mount"
}

# Unreachable directories: -y gives the top of each lost subtree (or one member of a cycle) an
# entry in lost+found, with a cookie lost+found never gave, and everything below comes back.
section_repair_dirs() {
	local lf ino ino1 ino2 fino
	rm -f "$img"
	"$mkfs" --size 64M "$img" >/dev/null
	"$mkimage" populate "$img" >/dev/null
	eval "$("$mkimage" stat "$img" /lost+found)"; lf=$ino
	# lost+found gives cookie 3 to x, which goes again: the next entry must get 4, not 3.
	"$mkimage" mkdir "$img" /lost+found/x && "$mkimage" rmdir "$img" /lost+found/x ||
		fail "mkdir, rmdir in lost+found"
	eval "$("$mkimage" lostdir "$img" /a)"
	run "$fsck" -n "$img"
	expect_rc 4 "a directory no entry names is an error"
	expect_out "inode $ino \(unreachable\): directory with 3 link\(s\) that no directory entry names" \
		"names the directory and its links"
	expect_count 1 "unreachable" "only the top of the lost subtree is reported (not /a/b, f1)"
	run "$fsck" -y "$img"
	expect_rc 1 "-y attaches it to lost+found"
	expect_out "repaired: directory inode $ino linked as /lost\+found/#$ino$" "reports where"
	expect_count 1 "linked as" "attaches the top only"
	expect_out "repaired: inode $lf: link count set to 3" "lost+found counts the subdirectory"
	run "$fsck" -n --scrub "$img"
	expect_rc 0 "clean afterwards, data intact"
	run "$mkimage" stat "$img" "/lost+found/#$ino"
	expect_out "^parent=$lf$" "its '..' is lost+found"
	expect_out "^cookie=4$" "its entry has a cookie lost+found never gave"
	expect_out "^nlink=3$" "it keeps its subdirectory"
	run "$mkimage" stat "$img" /lost+found
	expect_out "^nlink=3$" "lost+found has 3 links"
	run "$mkimage" verify "$img" "/lost+found/#$ino/b/f1"
	expect_rc 0 "the file below it reads back as written"

	# Two directories naming each other, nothing else naming them; the damage is in the log.
	rm -f "$img"
	"$mkfs" --size 64M "$img" >/dev/null
	"$mkimage" populate "$img" >/dev/null
	eval "$("$mkimage" cycle "$img" /a /d)"
	run "$fsck" -n "$img"
	expect_rc 4 "a cycle the root does not reach is an error"
	expect_out "inode $ino1 \(unreachable\): directory in a cycle of directories the root does not reach \(named 'a' by inode $ino2\)" \
		"names the member where it breaks the cycle"
	expect_count 1 "unreachable" "one line for the cycle"
	run "$fsck" -y "$img"
	expect_rc 1 "-y breaks it"
	expect_out "repaired: directory inode $ino1 moved from inode $ino2 \('a'\) to /lost\+found/#$ino1$" \
		"moves the entry that closed the cycle"
	expect_out "repaired: inode $ino2: link count set to 2" "the directory it left loses a link"
	run "$fsck" -n --scrub "$img"
	expect_rc 0 "clean afterwards, data intact"
	run "$mkimage" stat "$img" "/lost+found/#$ino1/d"
	expect_out "^ino=$ino2$" "the other member hangs below it"
	expect_out "^parent=$ino1$" "with '..' right"
	run "$mkimage" verify "$img" "/lost+found/#$ino1/d/f2link"
	expect_rc 0 "a file in the cycle reads back"
	run "$mkimage" verify "$img" "/lost+found/#$ino1/b/f1"
	expect_rc 0 "a file below it too"

	# No lost+found: reported and left; then one where "#<ino>" is taken; a lost file as well.
	rm -f "$img"
	"$mkfs" --size 64M "$img" >/dev/null
	"$mkimage" populate "$img" >/dev/null
	"$mkimage" rmdir "$img" /lost+found || fail "rmdir /lost+found"
	"$mkimage" big "$img" 1 >/dev/null || fail "big"
	eval "$("$mkimage" orphan "$img" /big)"; fino=$ino
	eval "$("$mkimage" lostdir "$img" /a)"
	run "$fsck" -y "$img"
	expect_rc 4 "nothing to attach to"
	expect_out "no /lost\+found directory: unreachable inodes stay as they are" "says so"
	expect_count 0 "repaired:" "repairs nothing"
	run "$fsck" -n "$img"
	expect_rc 4 "still reported"
	expect_out "inode $ino \(unreachable\): directory with 3 link" "the directory is still lost"
	"$mkimage" mkdir "$img" /lost+found && "$mkimage" mkdir "$img" "/lost+found/#$ino" ||
		fail "mkdir"
	run "$fsck" -y "$img"
	expect_rc 1 "-y attaches both"
	expect_out "repaired: directory inode $ino linked as /lost\+found/#$ino\.1$" \
		"a name that is taken gets a suffix"
	expect_out "repaired: inode $fino linked as /lost\+found/#$fino$" "the file too"
	run "$fsck" -n --scrub "$img"
	expect_rc 0 "clean afterwards"
	run "$mkimage" verify "$img" "/lost+found/#$ino.1/b/f1"
	expect_rc 0 "the file below the directory reads back"
	run "$mkimage" verify "$img" "/lost+found/#$fino"
	expect_rc 0 "the lost file reads back"
}

section_progress() {
	rm -f "$img"
	"$mkfs" --size 200M "$img" >/dev/null
	"$mkimage" big "$img" 128 >/dev/null || fail "writing 128 MiB"
	run env GUARDFS_PROGRESS_SECS=0.005 "$fsck" -n --scrub "$img"
	expect_rc 0 "scrub of 128 MiB"
	local n; n=$(grep -Ec "^scrub: [0-9.]+ [KMG]?i?B / [0-9.]+ MiB \([0-9.]+%\), .*/s, ETA [0-9]+:[0-9]{2}$" <<<"$out")
	[ "$n" -ge 2 ] && ok "$n plain progress lines" || fail "expected progress lines, got $n"
	grep -q $'\r' <<<"$out" && fail "no carriage returns off a terminal" || ok "no bar off a terminal"
	run "$fsck" -n --scrub "$img"
	n=$(grep -Ec "ETA" <<<"$out")
	[ "$n" -eq 0 ] && ok "a short scrub prints no progress at the default interval" || fail "progress lines: $n"
}

"section_$section"
exit $failed
