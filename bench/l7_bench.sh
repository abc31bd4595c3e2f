#!/bin/bash
# L7 benchmark: wrk through lbd, HAProxy and nginx with the same routing
# (one ACL, three servers), the same number of threads, keep-alive and one
# request per connection. Prints requests/s, p50/p99 latency and their
# ratios to HAProxy's.
#
# Three network namespaces joined by veth pairs, created here and always
# removed:
#   client (wrk) 10.77.1.1 -- 10.77.1.2 balancer 10.77.2.1 -- 10.77.2.2 servers
# Servers are build/demo-server instances on 10.77.2.2:8001..8003.
#
#   bench/l7_bench.sh [-d SECONDS] [-c CONNECTIONS] [-t THREADS] [-p "lbd haproxy nginx"]
# Speed is measured here, never asserted: the exit status only says whether
# every run completed. KEEP_LOGS=1 keeps the configs and logs in
# /tmp/l7bench-logs.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
LBD=$ROOT/build/lbd
DEMO=$ROOT/build/demo-server
DUR=10
CONNS=64
THREADS=$(nproc 2>/dev/null || echo 2)
PROXIES="lbd haproxy nginx"
while getopts "d:c:t:p:" o; do
	case $o in
	d) DUR=$OPTARG ;;
	c) CONNS=$OPTARG ;;
	t) THREADS=$OPTARG ;;
	p) PROXIES=$OPTARG ;;
	*) echo "usage: $0 [-d SECONDS] [-c CONNECTIONS] [-t THREADS] [-p PROXIES]" >&2; exit 2 ;;
	esac
done

for bin in wrk ip "$LBD" "$DEMO"; do
	if ! command -v "$bin" >/dev/null 2>&1; then
		echo "missing: $bin (make build/lbd build/demo-server; apt-get install wrk)" >&2
		exit 1
	fi
done
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || ulimit -n 32768 2>/dev/null

TAG=xlbb$$
NS_C=$TAG-cli
NS_B=$TAG-lb
NS_S=$TAG-srv
TMP=$(mktemp -d /tmp/xlb-bench.XXXXXX)
PIDS=()

cleanup() {
	[ -n "${KEEP_LOGS:-}" ] && rm -rf /tmp/l7bench-logs && cp -r "$TMP" /tmp/l7bench-logs
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	ip netns del "$NS_C" 2>/dev/null
	ip netns del "$NS_B" 2>/dev/null
	ip netns del "$NS_S" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

in_ns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

setup_net() {
	ip netns add "$NS_C" && ip netns add "$NS_B" && ip netns add "$NS_S" || return 1
	ip link add "${TAG}c" type veth peer name "${TAG}b1" || return 1
	ip link add "${TAG}s" type veth peer name "${TAG}b2" || return 1
	ip link set "${TAG}c" netns "$NS_C"
	ip link set "${TAG}b1" netns "$NS_B"
	ip link set "${TAG}b2" netns "$NS_B"
	ip link set "${TAG}s" netns "$NS_S"
	in_ns "$NS_C" ip addr add 10.77.1.1/24 dev "${TAG}c"
	in_ns "$NS_B" ip addr add 10.77.1.2/24 dev "${TAG}b1"
	in_ns "$NS_B" ip addr add 10.77.2.1/24 dev "${TAG}b2"
	in_ns "$NS_S" ip addr add 10.77.2.2/24 dev "${TAG}s"
	for ns in "$NS_C" "$NS_B" "$NS_S"; do
		in_ns "$ns" ip link set lo up
		for dev in $(in_ns "$ns" ls /sys/class/net); do
			in_ns "$ns" ip link set "$dev" up
		done
		# many short connections: do not run out of ports
		in_ns "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
		in_ns "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1
		in_ns "$ns" sysctl -qw net.core.somaxconn=4096
	done
}

wait_tcp() {
	local ns=$1 addr=$2 port=$3 i
	for i in $(seq 100); do
		in_ns "$ns" bash -c "(echo >/dev/tcp/$addr/$port) 2>/dev/null" && return 0
		sleep 0.05
	done
	return 1
}

start_servers() {
	local i
	for i in 1 2 3; do
		ip netns exec "$NS_S" "$DEMO" -n "s$i" -l "10.77.2.2:800$i" >"$TMP/s$i.log" 2>&1 &
		PIDS+=($!)
		wait_tcp "$NS_S" 10.77.2.2 "800$i" || return 1
	done
}

# HAProxy language, for lbd and haproxy alike
write_hap_cfg() {
	cat >"$TMP/hap.cfg" <<CFG
global
    nbthread $THREADS
    maxconn 8000
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 10.77.1.2:8080
    acl is_api path_beg /api
    use_backend api if is_api
    default_backend web
backend web
    balance roundrobin
    server s1 10.77.2.2:8001
    server s2 10.77.2.2:8002
    server s3 10.77.2.2:8003
backend api
    server s3 10.77.2.2:8003
CFG
}

write_nginx_cfg() {
	cat >"$TMP/nginx.conf" <<CFG
worker_processes $THREADS;
pid $TMP/nginx.pid;
error_log $TMP/nginx.err warn;
events { worker_connections 8000; }
http {
    access_log off;
    upstream web { server 10.77.2.2:8001; server 10.77.2.2:8002; server 10.77.2.2:8003; keepalive 64; }
    upstream api { server 10.77.2.2:8003; keepalive 64; }
    server {
        listen 10.77.1.2:8080 reuseport;
        location /api { proxy_pass http://api; proxy_http_version 1.1; proxy_set_header Connection ""; }
        location / { proxy_pass http://web; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
}
CFG
}

# (not through in_ns: $! must be the proxy itself, which `ip netns exec` becomes)
start_proxy() {
	case $1 in
	lbd) ip netns exec "$NS_B" "$LBD" -q -f "$TMP/hap.cfg" >"$TMP/lbd.log" 2>&1 & ;;
	haproxy) ip netns exec "$NS_B" haproxy -f "$TMP/hap.cfg" >"$TMP/haproxy.log" 2>&1 & ;;
	nginx) ip netns exec "$NS_B" nginx -c "$TMP/nginx.conf" -g "daemon off;" >"$TMP/nginx.log" 2>&1 & ;;
	esac
	PROXY_PID=$!
	PIDS+=($PROXY_PID)
	wait_tcp "$NS_C" 10.77.1.2 8080
}

stop_proxy() {
	local i
	kill "$PROXY_PID" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$PROXY_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$PROXY_PID" 2>/dev/null
	wait "$PROXY_PID" 2>/dev/null
	sleep 0.5
}

# run_wrk MODE: prints "rps p50 p99 errors" (latencies as wrk prints them;
# errors: non-2xx responses and socket errors)
run_wrk() {
	local extra=() out
	[ "$1" = close ] && extra=(-H "Connection: close")
	out=$(in_ns "$NS_C" wrk -t "$THREADS" -c "$CONNS" -d "${DUR}s" --latency "${extra[@]}" \
		http://10.77.1.2:8080/ 2>&1)
	echo "$out" >>"$TMP/wrk.log"
	awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
	     /Non-2xx/ {err += $NF}
	     /Socket errors/ {gsub(/[^0-9 ]/, " "); err += $1 + $2 + $3 + $4}
	     END {printf "%s %s %s %d\n", rps ? rps : 0, p50 ? p50 : "-", p99 ? p99 : "-", err}' <<<"$out"
}

command -v haproxy >/dev/null || PROXIES=${PROXIES/haproxy/}
command -v nginx >/dev/null || PROXIES=${PROXIES/nginx/}

setup_net || { echo "cannot set up the namespaces" >&2; exit 1; }
start_servers || { echo "demo servers did not start" >&2; exit 1; }
write_hap_cfg
write_nginx_cfg

declare -A RPS P50 P99
WARN=()
rc=0
for mode in keepalive close; do
	for p in $PROXIES; do
		if ! start_proxy "$p"; then
			echo "$p did not start" >&2
			rc=1
			continue
		fi
		# warm-up, then the measured run
		in_ns "$NS_C" wrk -t1 -c4 -d1s http://10.77.1.2:8080/ >/dev/null 2>&1
		read -r r a b e < <(run_wrk $mode)
		RPS[$p.$mode]=$r
		P50[$p.$mode]=$a
		P99[$p.$mode]=$b
		[ "${e:-0}" != 0 ] && WARN+=("$p $mode: $e errors (non-2xx or socket errors, see wrk's output)")
		stop_proxy
	done
done

printf "\nL7 proxy benchmark: %s threads, %s connections, %ss per run, one ACL, three servers\n" \
	"$THREADS" "$CONNS" "$DUR"
# wrk prints latencies as 512.00us, 1.20ms or 1.01s: in microseconds
to_us() {
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000;
		else if (v ~ /s$/) print n * 1000000; else print "" }'
}
printf "%-10s %-10s %12s %10s %10s %12s %12s\n" mode proxy "req/s" p50 p99 "req/s ratio" "p99 ratio"
for mode in keepalive close; do
	for p in $PROXIES; do
		r=${RPS[$p.$mode]:-0}
		h=${RPS[haproxy.$mode]:-0}
		ratio=$(awk -v r="$r" -v h="$h" 'BEGIN { if (h > 0) printf "%.2f", r / h; else print "-" }')
		a=$(to_us "${P99[$p.$mode]:--}")
		b=$(to_us "${P99[haproxy.$mode]:--}")
		pratio=$(awk -v a="$a" -v b="$b" 'BEGIN { if (a != "" && b > 0) printf "%.2f", a / b; else print "-" }')
		printf "%-10s %-10s %12s %10s %10s %12s %12s\n" "$mode" "$p" "$r" "${P50[$p.$mode]:--}" \
			"${P99[$p.$mode]:--}" "$ratio" "$pratio"
	done
done
echo "(ratios against haproxy: req/s higher is better, p99 lower is better)"
for w in "${WARN[@]}"; do echo "warning: $w"; done
exit $rc
