#!/bin/bash
# format.sh SOURCE_DIR - fail naming every C file that clang-format would change.
set -u
top=$1
if ! command -v clang-format >/dev/null; then
	echo "style_format: clang-format is not installed (scripts/test installs it); skipped"
	exit 77
fi
cd "$top" || exit 1
bad=0
while IFS= read -r -d '' f; do
	if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "not clang-format clean: $f (clang-format -i $f)"
		bad=1
	fi
done < <(find pi core fuse tools tests bench -name '*.[ch]' -print0 | sort -z)
[ "$bad" -eq 0 ] && echo "every C file is clang-format clean ($(clang-format --version))"
exit $bad
