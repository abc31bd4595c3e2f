#!/bin/sh
# Check that every C file is formatted with the repo's .clang-format.
# --tap prints one TAP line per file.
cd "$(dirname "$0")/.." || exit 1
tap=0
[ "$1" = "--tap" ] && tap=1
bad=0
files=$(git ls-files '*.c' '*.h' 2>/dev/null)
[ -z "$files" ] && files=$(find bpf userspace l7 tools tests bench -name '*.[ch]' 2>/dev/null)
for f in $files; do
	[ -f "$f" ] || continue
	if clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
		[ $tap = 1 ] && echo "ok - style $f"
	else
		bad=$((bad + 1))
		if [ $tap = 1 ]; then
			echo "not ok - style $f (run: make format)"
		else
			echo "$f: not formatted (run: make format)"
		fi
	fi
done
[ $bad = 0 ]
