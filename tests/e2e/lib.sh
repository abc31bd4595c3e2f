#!/bin/bash
# Shared helpers for end-to-end tests. Source it from a test script:
#   . "$(dirname "$0")/lib.sh"
# Every test runs on loopback (127.0.0.1) or inside network namespaces it
# creates; everything started is stopped by the EXIT trap.

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$E2E_ROOT/build
LBD=$BUILD/lbd
LBCTL=$BUILD/lbctl
DEMO=$BUILD/demo-server
T_TMP=$(mktemp -d /tmp/xlb-e2e.XXXXXX)
T_PIDS=()
T_NETNS=()
T_FAILED=0

ok() { echo "ok - $*"; }
fail() {
	echo "not ok - $*"
	T_FAILED=$((T_FAILED + 1))
}
skip() { echo "ok - # skip $*"; }
# check DESCRIPTION COMMAND...: ok when the command succeeds
check() {
	local d=$1
	shift
	if "$@"; then ok "$d"; else fail "$d"; fi
}
# expect_eq DESCRIPTION GOT EXPECTED
expect_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1"
		echo "#   got '$2', expected '$3'"
	fi
}

t_cleanup() {
	local p ns
	for p in "${T_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	# Namespaces are recorded in a file: t_netns runs inside $(...).
	for ns in $(cat "$T_TMP/.netns" 2>/dev/null); do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
	done
	sleep 0.1
	for p in "${T_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	for ns in $(cat "$T_TMP/.netns" 2>/dev/null); do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$T_TMP"
}
trap t_cleanup EXIT

# A free TCP port on 127.0.0.1 from a per-test base, so parallel runs rarely
# collide. The counter lives in a file: t_port runs in $(...) subshells.
echo $((20000 + ($$ * 37) % 9000)) >"$T_TMP/.port"
t_port() {
	local p
	p=$(cat "$T_TMP/.port")
	while (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null; do
		p=$((p + 1))
	done
	echo $((p + 1)) >"$T_TMP/.port"
	echo "$p"
}

# wait_port ADDR PORT [TIMEOUT_S]: wait until something listens
wait_port() {
	local i n=$(((${3:-5}) * 20))
	for ((i = 0; i < n; i++)); do
		(echo >/dev/tcp/$1/$2) 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# demo NAME ADDR:PORT [extra args]: start a demo server in the background
demo() {
	local name=$1 addr=$2
	shift 2
	"$DEMO" -n "$name" -l "$addr" "$@" >"$T_TMP/demo-$name.log" 2>&1 &
	T_PIDS+=($!)
	wait_port "${addr%:*}" "${addr##*:}" 5
}

# start_lbd CFG [args]: start lbd in the foreground (background job), wait for its binds
LBD_PID=
start_lbd() {
	local cfg=$1
	shift
	"$LBD" -f "$cfg" "$@" >"$T_TMP/lbd.log" 2>&1 &
	LBD_PID=$!
	T_PIDS+=($LBD_PID)
	sleep 0.2
	kill -0 $LBD_PID 2>/dev/null
}

# curl through the balancer: prints the body
get() {
	curl -s --max-time "${CURL_TIMEOUT:-5}" "$@"
}

# Make a named network namespace that is deleted at exit.
t_netns() {
	local ns="xlbt-$$-$1"
	ip netns add "$ns" || return 1
	echo "$ns" >>"$T_TMP/.netns"
	ip -n "$ns" link set lo up
	echo "$ns"
}

t_done() {
	[ "$T_FAILED" = 0 ]
}
