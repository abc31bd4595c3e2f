#!/bin/bash
# Run every test suite: unit tests, BPF packet tests, fuzzers (bounded),
# end-to-end tests. Each test prints TAP-style "ok - ..." / "not ok - ..."
# lines; this script counts them and ends with "N passed, N failed".
# TESTS=pattern runs only the suites whose path matches.
set -u
cd "$(dirname "$0")/.."

LOGDIR=build/test-logs
mkdir -p "$LOGDIR"
passed=0
failed=0
skipped=0
failed_names=()

run_suite() {
	local name=$1
	shift
	local log="$LOGDIR/$(echo "$name" | tr '/ ' '__').log"
	local start=$SECONDS rc
	if [ -n "${TESTS:-}" ] && [[ "$name" != *${TESTS}* ]]; then
		return
	fi
	echo "== $name"
	timeout --kill-after=10 "${SUITE_TIMEOUT:-300}" "$@" >"$log" 2>&1
	rc=$?
	local p f s
	p=$(grep -c '^ok - ' "$log" || true)
	s=$(grep -c '^ok - # skip' "$log" || true)
	f=$(grep -c '^not ok - ' "$log" || true)
	p=$((p - s))
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		# A crash or a timeout without a failed check is still a failure.
		f=1
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	grep -E '^(not ok - |#   )' "$log" | head -20
	[ "$f" != 0 ] && failed_names+=("$name")
	echo "   $p passed, $f failed, $s skipped ($((SECONDS - start))s) log: $log"
}

for t in build/tests/test_*; do
	[ -x "$t" ] && run_suite "unit/$(basename "$t")" "$t"
done
for t in build/tests/bpf_*; do
	[ -x "$t" ] && run_suite "bpf/$(basename "$t")" "$t"
done
for f in build/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	n=$(basename "$f")
	corpus=tests/fuzz/corpus_${n#fuzz_}
	run_suite "fuzz/$n" sh -c "d=\$(mktemp -d) && cp -r $corpus/. \"\$d\" 2>/dev/null; \
		$f -max_total_time=${FUZZ_SECONDS:-20} -print_final_stats=0 \"\$d\" >/dev/null 2>\$d.log; \
		rc=\$?; tail -3 \$d.log; rm -rf \"\$d\" \$d.log; \
		if [ \$rc = 0 ]; then echo 'ok - $n ran ${FUZZ_SECONDS:-20}s without a crash'; \
		else echo 'not ok - $n found a crash'; fi"
done
for t in tests/e2e/*.sh; do
	case "$t" in */lib.sh) continue ;; esac
	run_suite "e2e/$(basename "$t" .sh)" bash "$t"
done
run_suite "style/check-style" sh scripts/check-style.sh --tap

if [ ${#failed_names[@]} -gt 0 ]; then
	echo "failed suites: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
