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

# ok_if DESCRIPTION EXPRESSION: ok when the shell expression (eval'd) succeeds
ok_if() { if eval "$2"; then ok "$1"; else fail "$1"; fi; }

# ms: the time now in milliseconds
ms() { echo $(($(date +%s%N) / 1000000)); }

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

# wait_for TIMEOUT_S CMD...: run CMD every 50 ms until it succeeds; returns 1
# when it has not after TIMEOUT_S * 20 tries (a slow CMD on a loaded machine
# makes the wait longer, never shorter).
wait_for() {
	local n=$(($1 * 20)) i
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# tcp_pending [-N NETNS] PORT: the peers (ADDR:PORT, one a line) of the
# established TCP connections on the local port PORT (of this network
# namespace, or with -N of a named one) that received bytes and sent none:
# requests a server has read and not answered yet (demo-server's
# /slow?ms=N), not idle, pooled or answered connections, nor the bare
# connects of TCP health checks. What a test waits for, instead of sleeping,
# before it counts on a request in a background client being in flight.
tcp_pending() {
	local ns=()
	if [ "$1" = -N ]; then
		ns=(-N "$2")
		shift 2
	fi
	ss "${ns[@]}" -Htni state established "( sport = :$1 )" 2>/dev/null | awk '
		/^[^ \t]/ { peer = $4; next }
		{
			rcvd = 0; sent = 0
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^bytes_received:/) { sub(/^[^:]*:/, "", $i); rcvd = $i + 0 }
				if ($i ~ /^bytes_sent:/) { sub(/^[^:]*:/, "", $i); sent = $i + 0 }
			}
			if (peer != "" && rcvd > 0 && sent == 0) print peer
			peer = ""
		}'
}
# wait_pending [-N NETNS] N PORT: wait (up to 10 s) until the server on PORT
# holds at least N such requests; returns 1 on timeout
wait_pending() {
	local ns=()
	if [ "$1" = -N ]; then
		ns=(-N "$2")
		shift 2
	fi
	wait_for 10 _tcp_at_least "$1" _tcp_pending_count "${ns[@]}" "$2"
}
_tcp_pending_count() { tcp_pending "$@" | grep -c .; }
# _tcp_at_least N CMD...: CMD prints a number >= N
_tcp_at_least() {
	local n=$1 c
	shift
	c=$("$@")
	[ "${c:-0}" -ge "$n" ]
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

# stop_lbd: SIGTERM, and SIGKILL if lbd is still there after 3s
stop_lbd() {
	local i
	kill $LBD_PID 2>/dev/null
	for ((i = 0; i < 30; i++)); do
		kill -0 $LBD_PID 2>/dev/null || break
		sleep 0.1
	done
	kill -9 $LBD_PID 2>/dev/null
	wait $LBD_PID 2>/dev/null
}

# api COMMAND...: lbd's answer to one command line on the stats socket
# $API_SOCK (set by the test; socat's timeout is API_TIMEOUT, 5 s by default)
api() { printf '%s\n' "$*" | socat -t "${API_TIMEOUT:-5}" - UNIX-CONNECT:"$API_SOCK"; }
# srv_status B/S: the status column of `show stat` for a server
srv_status() {
	api "show stat" | awk -F, -v px="${1%/*}" -v sv="${1#*/}" '$1==px && $2==sv {print $18}'
}
# wait_status B/S STATUS TIMEOUT_MS: wait until the server has STATUS;
# returns 1 on timeout
wait_status() { wait_status_ms "$@" >/dev/null; }
# wait_status_ms B/S STATUS TIMEOUT_MS: the same, and prints the ms it took
# ("timeout" on timeout)
wait_status_ms() {
	local t0 i n=$(($3 / 20))
	t0=$(date +%s%N)
	for ((i = 0; i < n; i++)); do
		if [ "$(srv_status "$1")" = "$2" ]; then
			echo $((($(date +%s%N) - t0) / 1000000))
			return 0
		fi
		sleep 0.02
	done
	echo "timeout"
	return 1
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

# The L4 tier's topology, for scripts whose own network namespace (unshare -n)
# is the balancer:
#
#   [cli] c1 198.51.100.2 --- c0 198.51.100.1 [balancer] 203.0.113.1 s0 --- s1 203.0.113.10,.11 [srv]
#         fd00:c::2                fd00:c::1             fd00:5::1              fd00:5::10   (with -6)
#
# xdp_topology [-6] [VIP...]: make the CLI and SRV namespaces (in_cli, in_srv
# run commands there) and the veths, with each VIP assigned to c0 (an
# attached interface); -6 adds the IPv6 addresses and forwarding. Mounts
# bpffs if needed. Skips the test (exit 0) when veths cannot be made.
XDP_V6=0
in_cli() { ip netns exec "$CLI" "$@"; }
in_srv() { ip netns exec "$SRV" "$@"; }
xdp_topology() {
	local vip
	XDP_V6=0
	if [ "${1:-}" = -6 ]; then
		XDP_V6=1
		shift
	fi
	ip link set lo up
	# Not in $(...) subshells of the caller: CLI and SRV are set here.
	CLI=$(t_netns cli) || return 1
	SRV=$(t_netns srv) || return 1
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	if ! ip link add c0 type veth peer name c1 netns "$CLI" ||
		! ip link add s0 type veth peer name s1 netns "$SRV"; then
		skip "cannot create veth pairs"
		exit 0
	fi
	ip addr add 198.51.100.1/24 dev c0
	ip addr add 203.0.113.1/24 dev s0
	for vip in "$@"; do
		case "$vip" in
		*:*) ip addr add "$vip/128" dev c0 nodad ;;
		*) ip addr add "$vip/32" dev c0 ;;
		esac
	done
	in_cli ip addr add 198.51.100.2/24 dev c1
	in_srv ip addr add 203.0.113.10/24 dev s1
	in_srv ip addr add 203.0.113.11/24 dev s1
	if [ $XDP_V6 = 1 ]; then
		ip addr add fd00:c::1/64 dev c0 nodad
		ip addr add fd00:5::1/64 dev s0 nodad
		in_cli ip addr add fd00:c::2/64 dev c1 nodad
		in_srv ip addr add fd00:5::10/64 dev s1 nodad
		sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	else
		sysctl -qw net.ipv4.ip_forward=1
	fi
	ip link set c0 up
	ip link set s0 up
	in_cli ip link set c1 up
	in_srv ip link set s1 up
	in_cli ip route add default via 198.51.100.1
	in_srv ip route add default via 203.0.113.1
	if [ $XDP_V6 = 1 ]; then
		in_cli ip -6 route add default via fd00:c::1
		in_srv ip -6 route add default via fd00:5::1
	fi
	# XDP cannot fix partial checksums: senders compute them. The peers get an
	# XDP_PASS program so redirected frames are received (veth NAPI).
	in_cli ethtool -K c1 tx off >/dev/null
	in_srv ethtool -K s1 tx off >/dev/null
	ethtool -K c0 tx off >/dev/null
	ethtool -K s0 tx off >/dev/null
	in_cli ip link set dev c1 xdp obj "$BUILD/xdp_pass.bpf.o" sec xdp 2>/dev/null ||
		in_cli ethtool -K c1 gro on >/dev/null
	in_srv ip link set dev s1 xdp obj "$BUILD/xdp_pass.bpf.o" sec xdp 2>/dev/null ||
		in_srv ethtool -K s1 gro on >/dev/null
}

# xdp_demo_servers [S1 ARGS...] [-- S2 ARGS...]: demo servers s1 on
# 203.0.113.10:8080 and s2 on 203.0.113.11:8080 in SRV (extra demo-server
# args for each), logs in $T_TMP/s1.log and s2.log; then resolve the
# neighbours both ways (the program needs them for bpf_fib_lookup).
xdp_demo_servers() {
	local a1=() a2=() i
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		a1+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	a2=("$@")
	# `ip netns exec` execs the server: $! is the server itself, which cleanup kills.
	ip netns exec "$SRV" "$DEMO" -n s1 -l 203.0.113.10:8080 "${a1[@]}" >"$T_TMP/s1.log" 2>&1 &
	T_PIDS+=($!)
	ip netns exec "$SRV" "$DEMO" -n s2 -l 203.0.113.11:8080 "${a2[@]}" >"$T_TMP/s2.log" 2>&1 &
	T_PIDS+=($!)
	for i in $(seq 1 50); do
		in_srv ss -ltn | grep -q 203.0.113.11:8080 && break
		sleep 0.05
	done
	ping -c1 -W1 203.0.113.10 >/dev/null
	ping -c1 -W1 203.0.113.11 >/dev/null
	ping -c1 -W1 198.51.100.2 >/dev/null
	if [ $XDP_V6 = 1 ]; then
		ping -6 -c1 -W1 fd00:5::10 >/dev/null 2>&1
		ping -6 -c1 -W1 fd00:c::2 >/dev/null 2>&1
	fi
	return 0
}
