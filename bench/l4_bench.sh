#!/bin/bash
# L4 side by side: the same wrk load through
#   xdp      lbd's XDP tier (xlb-interface, native XDP on veth, fullnat)
#   nft      nftables DNAT `numgen inc mod N` + SNAT, in the balancer's kernel
#   haproxy  /usr/sbin/haproxy 2.6, mode tcp, nbthread = lbd's
#   direct   the client straight to one server (routed through the balancer, no NAT)
# each measured twice: new connections per second (one request per connection,
# `Connection: close`) and keep-alive requests per second; plus the XDP
# program's own cost per packet (build/tests/bpf_test_lb --bench).
#
#   [cli] c1 198.51.100.2 --- c0 198.51.100.1 [balancer] 203.0.113.1 s0 --- s1 203.0.113.10-12 [srv]
#
# VIPs on c0: .100 xdp, .101 nft, .103 haproxy. The balancer is this script's
# own network namespace (unshare -n, so lbd keeps the host's bpffs); the client
# and the servers get named namespaces unique to this run. Everything is torn
# down on exit; traffic never leaves these namespaces.
#
# Usage: bash bench/l4_bench.sh          (root; `make` done)
# Environment (defaults):
#   WRK_THREADS=2 WRK_CONNS=64 WRK_DURATION=10s   the same for every target
#   REPEAT=1              rounds; each round runs every target, medians are reported
#   TARGETS="xdp nft haproxy direct"
#   SERVER=nginx          nginx: one nginx-light, 2 workers, one server block per
#                         address; demo: 3 x build/demo-server (single-threaded: one
#                         of them caps the direct target at one core, see README)
#   NBTHREAD=2            lbd and haproxy threads
#   BPF_BENCH_N=200000    runs per case for bpf_test_lb --bench (0: skip)
#   PEER_NAPI=gro         how the client's and servers' veth ends get NAPI (needed to
#                         receive redirected frames): gro, or xdp (an XDP_PASS program)
#   PIN_CPUS=0            1: wrk on CPU 0; lbd, haproxy and the servers on CPU 1
#                         (softirq work still runs where the sender runs; see README)
#   WAIT_IDLE=30          before each run, wait up to this many seconds for the
#                         machine to be >= 85% idle (another benchmark running)
#   PROFILE_XDP=1         after the XDP runs, 2 short runs with kernel.bpf_stats_enabled
#                         (restored after) for the program's live ns/packet
#   DIAG_SRV_NO_TW=0      1: servers keep no TIME_WAIT (diagnosis, not a fair setting)
#   PERF=0                1: perf record -a during the XDP profile runs (top symbols
#                         to stderr; with KEEP_LOGS=1 the data is kept)
#   KEEP_LOGS=0           1: keep the temporary directory (wrk outputs, logs)
# Speed is reported, never asserted: the exit status says only whether the
# benchmark could run.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
THREADS=${WRK_THREADS:-2}
CONNS=${WRK_CONNS:-64}
DURATION=${WRK_DURATION:-10s}
REPEAT=${REPEAT:-1}
TARGETS=${TARGETS:-xdp nft haproxy direct}
SERVER=${SERVER:-nginx}
NBTHREAD=${NBTHREAD:-2}
BPF_BENCH_N=${BPF_BENCH_N:-200000}
PIN_CPUS=${PIN_CPUS:-0}
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
PEER_NAPI=${PEER_NAPI:-gro}

die() {
	echo "l4_bench: $*" >&2
	exit 1
}

# Duration in seconds (wrk accepts 10, 10s, 2m).
dur_s() {
	case "$1" in
	*m) echo $((${1%m} * 60)) ;;
	*s) echo "${1%s}" ;;
	*) echo "$1" ;;
	esac
}

# ---- outside: checks, then re-run in a fresh network namespace under a time bound ----
if [ -z "${XLB_L4B_IN_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || die "needs root (network namespaces, XDP, nftables)"
	for f in lbd demo-server xdp_pass.bpf.o tests/bpf_test_lb; do
		[ -e "$BUILD/$f" ] || die "build/$f is missing: run make first"
	done
	for c in wrk nft ethtool curl socat unshare timeout; do
		command -v $c >/dev/null || die "$c is not installed"
	done
	case " $TARGETS " in *" haproxy "*) [ -x "$HAPROXY" ] || die "$HAPROXY is missing" ;; esac
	[ "$SERVER" = nginx ] && ! command -v nginx >/dev/null && die "nginx is not installed"
	d=$(dur_s "$DURATION")
	[[ "$d" =~ ^[0-9]+$ ]] && [ "$d" -gt 0 ] || die "WRK_DURATION '$DURATION': use 10, 10s or 1m"
	nt=$(echo $TARGETS | wc -w)
	# Per wrk run: its duration, set-up and the wait for a quiet machine;
	# 2 runs per target and round; then the XDP profile runs and bpf_test_lb.
	limit=$((REPEAT * nt * 2 * (d + 20 + ${WAIT_IDLE:-30}) + 360))
	XLB_L4B_IN_NS=1 exec timeout -k 15 "$limit" unshare -n bash "$0" "$@"
fi

# ---- inside the balancer's namespace ----
DUR_S=$(dur_s "$DURATION")
TMP=$(mktemp -d /tmp/xlb-l4bench.XXXXXX)
PIN=/sys/fs/bpf/xlb-l4bench-$$
CLI=xlbl4b-$$-cli
SRV=xlbl4b-$$-srv
PIDS=()
LBD_PID=
HAP_PID=
SRV_ADDRS=(203.0.113.10 203.0.113.11 203.0.113.12)
VIP_XDP=198.51.100.100
VIP_NFT=198.51.100.101
VIP_HAP=198.51.100.103
SOCK=$TMP/lbd.sock

in_cli() { ip netns exec "$CLI" "$@"; }
in_srv() { ip netns exec "$SRV" "$@"; }
# Run a bounded command in the background and wait for it, so that a signal
# (timeout, Ctrl-C) reaches the traps at once instead of after the command.
bounded() {
	"$@" &
	BG_PID=$!
	wait $BG_PID
	local rc=$?
	BG_PID=
	return $rc
}
log() { echo "# $*" >&2; }

cleanup() {
	local p ns
	trap - EXIT INT TERM
	[ -n "${STATS_OLD:-}" ] && sysctl -qw kernel.bpf_stats_enabled="$STATS_OLD"
	if [ -n "$LBD_PID" ] && kill -0 "$LBD_PID" 2>/dev/null; then
		echo "xdp down" | socat -t 3 - "UNIX-CONNECT:$SOCK" >/dev/null 2>&1
	fi
	[ -n "${BG_PID:-}" ] && kill -- "$BG_PID" 2>/dev/null
	[ -n "${PERF_PID:-}" ] && kill -- "$PERF_PID" 2>/dev/null
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	# Whatever still runs in this run's own namespaces (nginx workers, ...).
	for ns in "$CLI" "$SRV"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	done
	nft delete table ip xlbl4b 2>/dev/null
	ip link set dev c0 xdp off 2>/dev/null
	ip link set dev s0 xdp off 2>/dev/null
	rm -rf "$PIN" 2>/dev/null
	ip netns del "$CLI" 2>/dev/null
	ip netns del "$SRV" 2>/dev/null
	if [ "${KEEP_LOGS:-0}" = 1 ]; then
		echo "# logs kept in $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# CPU affinity wrappers (PIN_CPUS=1: the load generator gets CPU 0 to itself
# as far as the scheduler allows; everything else runs on CPU 1).
CLI_CPU=()
OTHER_CPU=()
if [ "$PIN_CPUS" = 1 ] && [ "$(nproc)" -ge 2 ]; then
	CLI_CPU=(taskset -c 0)
	OTHER_CPU=(taskset -c 1)
fi

# ---- topology (tests/e2e/xdp_l4.sh's) ----
# Namespaces a killed earlier run left behind (its process is gone).
for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^xlbl4b-[0-9]+-(cli|srv)$/ {print $1}'); do
	p=${ns#xlbl4b-}
	p=${p%-*}
	kill -0 "$p" 2>/dev/null || ip netns del "$ns" 2>/dev/null
done
for d in /sys/fs/bpf/xlb-l4bench-*; do
	[ -d "$d" ] && ! kill -0 "${d##*-}" 2>/dev/null && rm -rf "$d"
done
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
ip link set lo up
ip netns add "$CLI" || die "cannot create netns $CLI"
ip netns add "$SRV" || die "cannot create netns $SRV"
in_cli ip link set lo up
in_srv ip link set lo up
# This run's namespaces (by inode), to tell its processes from other jobs'.
OUR_NS=":.($(stat -L -c %i /proc/self/ns/net)|$(stat -L -c %i /run/netns/$CLI)|$(stat -L -c %i /run/netns/$SRV))."
ip link add c0 type veth peer name c1 netns "$CLI" || die "cannot create veth c0/c1"
ip link add s0 type veth peer name s1 netns "$SRV" || die "cannot create veth s0/s1"
ip addr add 198.51.100.1/24 dev c0
for v in $VIP_XDP $VIP_NFT $VIP_HAP; do ip addr add $v/32 dev c0; done
ip addr add 203.0.113.1/24 dev s0
ip link set c0 up
ip link set s0 up
sysctl -qw net.ipv4.ip_forward=1
in_cli ip addr add 198.51.100.2/24 dev c1
in_cli ip link set c1 up
in_cli ip route add default via 198.51.100.1
for a in "${SRV_ADDRS[@]}"; do in_srv ip addr add $a/24 dev s1; done
in_srv ip link set s1 up
in_srv ip route add default via 203.0.113.1
# XDP cannot fix partial checksums: every sender computes its own (for every
# target alike). Frames redirected into a veth are received only when its
# peer runs NAPI: GRO on the peers (PEER_NAPI=gro, default) or an XDP_PASS
# program (PEER_NAPI=xdp, as tests/e2e does; it makes every target pay a copy
# of each skb into an XDP buffer on c1 and s1). It stays for every target.
for i in c0 s0; do ethtool -K $i tx off >/dev/null; done
in_cli ethtool -K c1 tx off >/dev/null
in_srv ethtool -K s1 tx off >/dev/null
if [ "$PEER_NAPI" = xdp ]; then
	in_cli ip link set dev c1 xdp obj "$BUILD/xdp_pass.bpf.o" sec xdp || die "XDP_PASS on c1"
	in_srv ip link set dev s1 xdp obj "$BUILD/xdp_pass.bpf.o" sec xdp || die "XDP_PASS on s1"
else
	in_cli ethtool -K c1 gro on >/dev/null || die "gro on c1"
	in_srv ethtool -K s1 gro on >/dev/null || die "gro on s1"
fi
# Many short connections: outgoing connects (wrk, haproxy) may reuse their own
# TIME_WAIT tuples; deep accept queues.
for ns in "" "$CLI" "$SRV"; do
	if [ -n "$ns" ]; then
		ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.core.somaxconn=4096 \
			net.ipv4.tcp_max_syn_backlog=4096
	else
		sysctl -qw net.ipv4.tcp_tw_reuse=1 net.core.somaxconn=4096 \
			net.ipv4.tcp_max_syn_backlog=4096
	fi
done

# Diagnosis only (DIAG_SRV_NO_TW=1): servers keep no TIME_WAIT sockets, so no
# SYN can be refused by one (bench/README.md, L4 findings, PAWS).
[ "${DIAG_SRV_NO_TW:-0}" = 1 ] && in_srv sysctl -qw net.ipv4.tcp_max_tw_buckets=0

# ---- servers ----
wait_listen() { # NS ADDR:PORT
	local i
	for i in $(seq 1 100); do
		ip netns exec "$1" ss -ltnH | grep -q " $2 " && return 0
		sleep 0.05
	done
	return 1
}
if [ "$SERVER" = nginx ]; then
	mkdir -p "$TMP/nginx"
	{
		echo "worker_processes 2; pid $TMP/nginx/pid; error_log $TMP/nginx/error.log;"
		echo "daemon off; worker_rlimit_nofile 65536;"
		echo "events { worker_connections 16384; }"
		echo "http { access_log off; keepalive_requests 10000000; keepalive_timeout 60s;"
		echo "  client_body_temp_path $TMP/nginx; proxy_temp_path $TMP/nginx;"
		echo "  fastcgi_temp_path $TMP/nginx; uwsgi_temp_path $TMP/nginx; scgi_temp_path $TMP/nginx;"
		n=1
		for a in "${SRV_ADDRS[@]}"; do
			echo "  server { listen $a:8080 reuseport backlog=4096; location / { return 200 \"s$n\\n\"; } }"
			n=$((n + 1))
		done
		echo "}"
	} >"$TMP/nginx/nginx.conf"
	ip netns exec "$SRV" "${OTHER_CPU[@]}" nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" \
		>"$TMP/nginx.log" 2>&1 &
	PIDS+=($!)
else
	n=1
	for a in "${SRV_ADDRS[@]}"; do
		ip netns exec "$SRV" "${OTHER_CPU[@]}" "$BUILD/demo-server" -n s$n -l $a:8080 >"$TMP/s$n.log" 2>&1 &
		PIDS+=($!)
		n=$((n + 1))
	done
fi
for a in "${SRV_ADDRS[@]}"; do
	wait_listen "$SRV" "$a:8080" || die "server $a:8080 does not listen ($SERVER)"
done
# Neighbours both ways (bpf_fib_lookup forwards only to resolved next hops).
for a in "${SRV_ADDRS[@]}"; do ping -c1 -W1 $a >/dev/null; done
ping -c1 -W1 198.51.100.2 >/dev/null

# Every target starts with no TIME_WAIT socket anywhere: the servers' TIME_WAIT
# left by the previous target (same server tuples, other TCP timestamp offsets)
# would refuse its SYNs (PAWS) and charge it for its predecessor.
fresh_tcp_state() {
	ss -K -tn state time-wait >/dev/null 2>&1
	in_cli ss -K -tn state time-wait >/dev/null 2>&1
	in_srv ss -K -tn state time-wait >/dev/null 2>&1
}

# ---- targets: start, check, stop ----
SERVER_LIST=""
n=1
for a in "${SRV_ADDRS[@]}"; do
	SERVER_LIST+="    server s$n $a:8080"$'\n'
	n=$((n + 1))
done

start_xdp() {
	cat >"$TMP/lbd.cfg" <<CFG
global
    nbthread $NBTHREAD
    stats socket $SOCK level admin
    xlb-interface c0,s0
    xlb-xdp-mode native
    xlb-pin-root $PIN
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend web
    bind $VIP_XDP:80
    default_backend web
backend web
    balance roundrobin
$SERVER_LIST
CFG
	rm -f "$SOCK"
	"${OTHER_CPU[@]}" "$BUILD/lbd" -f "$TMP/lbd.cfg" >>"$TMP/lbd.log" 2>&1 &
	LBD_PID=$!
	PIDS+=($LBD_PID)
	for i in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
	kill -0 $LBD_PID 2>/dev/null || { cat "$TMP/lbd.log" >&2; return 1; }
	ip -d link show c0 | grep -q 'xdp ' || { log "XDP is not attached natively to c0"; return 1; }
	TARGET_ADDR=$VIP_XDP:80
}
stop_xdp() {
	api "show xdp" >"$TMP/xdp-stats.$ROUND.txt" 2>&1
	api "xdp down" >/dev/null 2>&1
	kill $LBD_PID 2>/dev/null
	wait $LBD_PID 2>/dev/null
	LBD_PID=
	rm -rf "$PIN"
}
api() { echo "$*" | socat -t 5 - "UNIX-CONNECT:$SOCK"; }

start_nft() {
	local map="" i=0 a
	for a in "${SRV_ADDRS[@]}"; do
		map+="${map:+, }$i : $a"
		i=$((i + 1))
	done
	nft -f - <<NFT || return 1
table ip xlbl4b {
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr $VIP_NFT tcp dport 80 dnat to numgen inc mod ${#SRV_ADDRS[@]} map { $map } : 8080
	}
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		ct status dnat oifname "s0" snat to 203.0.113.1
	}
}
NFT
	TARGET_ADDR=$VIP_NFT:80
}
stop_nft() {
	nft list table ip xlbl4b >"$TMP/nft.$ROUND.txt" 2>&1
	nft delete table ip xlbl4b
}

start_haproxy() {
	cat >"$TMP/haproxy.cfg" <<CFG
global
    nbthread $NBTHREAD
    maxconn 8000
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend web
    bind $VIP_HAP:80
    default_backend web
backend web
    balance roundrobin
$SERVER_LIST
CFG
	"${OTHER_CPU[@]}" "$HAPROXY" -db -f "$TMP/haproxy.cfg" >>"$TMP/haproxy.log" 2>&1 &
	HAP_PID=$!
	PIDS+=($HAP_PID)
	for i in $(seq 1 50); do ss -ltnH | grep -q " $VIP_HAP:80 " && break; sleep 0.1; done
	kill -0 $HAP_PID 2>/dev/null || { cat "$TMP/haproxy.log" >&2; return 1; }
	TARGET_ADDR=$VIP_HAP:80
}
stop_haproxy() {
	kill $HAP_PID 2>/dev/null
	wait $HAP_PID 2>/dev/null
	HAP_PID=
}

start_direct() { TARGET_ADDR=${SRV_ADDRS[0]}:8080; }
stop_direct() { :; }

# The target answers, and a balancer spreads 6 requests over every server.
check_target() { # TARGET
	local seq want=3
	seq=$(for i in 1 2 3 4 5 6; do in_cli curl -s -m 3 "http://$TARGET_ADDR/"; done | sort -u | tr '\n' ' ')
	[ "$1" = direct ] && want=1
	if [ "$(echo $seq | wc -w)" != $want ]; then
		log "$1: http://$TARGET_ADDR/ answered '$seq' (want $want distinct servers)"
		return 1
	fi
}

# ---- measuring ----
cpu_sample() { awk '/^cpu / {print $2+$3, $4, $7+$8, $5+$6, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
# cpu_delta BEFORE AFTER -> "user% sys% softirq% idle%"
cpu_delta() {
	echo "$1 $2" | awk '{t = $10 - $5; if (t <= 0) t = 1;
		printf "%.0f %.0f %.0f %.0f", 100*($6-$1)/t, 100*($7-$2)/t, 100*($8-$3)/t, 100*($9-$4)/t}'
}
idle_pct() { # over 1 s
	local a b
	a=$(cpu_sample)
	sleep 1
	b=$(cpu_sample)
	cpu_delta "$a" "$b" | awk '{print $4}'
}
# Wait (at most WAIT_IDLE s) until the machine is quiet: another benchmark on
# the same 2 cores would be measured instead of ours. Prints the idle %.
wait_quiet() {
	local i idle=0
	for ((i = 0; i <= ${WAIT_IDLE:-30}; i += 2)); do
		idle=$(idle_pct)
		[ "$idle" -ge 85 ] && break
		sleep 1
	done
	echo "$idle"
}
# CPU ticks (user + system, reaped children included) of every process that
# is not in this run's three namespaces and is not a kernel thread: other
# jobs on the machine. A process that exits is still counted, through its
# parent's cutime/cstime.
foreign_ticks() {
	find /proc -maxdepth 3 -regex '/proc/[0-9]+/ns/net' -printf '%h %l\n' 2>/dev/null |
		awk -v ours="$OUR_NS" '$2 !~ ours {sub(/\/ns$/, "", $1); print $1 "/stat"}' |
		xargs cat 2>/dev/null |
		awk '{pid = $1; sub(/^.*\) /, ""); if (pid != 2 && $2 != 2) s += $12 + $13 + $14 + $15}
			END {printf "%d\n", s}'
}
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)
# Loss counters, summed over the 3 namespaces and the 4 veth ends:
# "retrans syn_retrans paws_tw listen_drops if_drops"
#   retrans      TCP segments retransmitted (RetransSegs)
#   syn_retrans  of which SYNs (TCPSynRetrans): a connection waited for an RTO
#   paws_tw      SYNs a TIME_WAIT socket refused (PAWSTimewait): the tuple was
#                reused with an older TCP timestamp
#   listen_drops SYNs or ACKs a full accept queue dropped (ListenDrops)
#   if_drops     veth rx/tx drops plus ethtool drop/error counters (XDP ring full)
net_snap() {
	local ns v
	for ns in "" "$CLI" "$SRV"; do
		${ns:+ip netns exec "$ns"} awk '
			/^Tcp:/ && !h { for (i = 1; i <= NF; i++) c[$i] = i; h = 1; next }
			/^Tcp:/ && h { r = $c["RetransSegs"] }
			/^TcpExt:/ && !e { for (i = 1; i <= NF; i++) x[$i] = i; e = 1; next }
			/^TcpExt:/ && e { sr = $x["TCPSynRetrans"]; pw = $x["PAWSTimewait"]; l = $x["ListenDrops"] }
			END { print r + 0, sr + 0, pw + 0, l + 0, 0 }' /proc/net/snmp /proc/net/netstat
		# /proc/net/dev is the reader's namespace (/sys/class/net is the mounter's).
		${ns:+ip netns exec "$ns"} awk -F'[: ]+' '$2 ~ /^[cs][01]$/ {print 0, 0, 0, 0, $6 + $14}' /proc/net/dev
		for i in c0 s0 c1 s1; do
			${ns:+ip netns exec "$ns"} ethtool -S $i 2>/dev/null |
				awk '/drops|errors/ {s += $2} END {print 0, 0, 0, 0, s + 0}'
		done
	done | awk '{for (i = 1; i <= 5; i++) s[i] += $i} END {print s[1], s[2], s[3], s[4], s[5]}'
}
# KEEP_LOGS=1: every counter of every namespace before/after each run (nstat -asz).
nstat_dump() { # LABEL
	local ns
	[ "${KEEP_LOGS:-0}" = 1 ] || return 0
	for ns in lb "$CLI" "$SRV"; do
		if [ "$ns" = lb ]; then nstat -asz; else ip netns exec "$ns" nstat -asz; fi \
			>"$TMP/nstat.$1.${ns##*-}.txt" 2>&1
	done
}
net_delta() { echo "$1 $2" | awk '{print $6-$1, $7-$2, $8-$3, $9-$4, $10-$5}'; }
# run_wrk TARGET MODE(close|ka): writes RES[...]
run_wrk() {
	local t=$1 mode=$2 out=$TMP/wrk.$1.$2.$ROUND.txt hdr=() c0 c1 n0 n1 f0 f1 t0 t1 foreign
	local rps p50 p99 errs non2xx idle
	[ "$mode" = close ] && hdr=(-H 'Connection: close')
	idle=$(wait_quiet)
	nstat_dump "$t.$mode.$ROUND.before"
	n0=$(net_snap)
	f0=$(foreign_ticks)
	t0=$(date +%s.%N)
	c0=$(cpu_sample)
	bounded ip netns exec "$CLI" timeout -k 5 $((DUR_S + 15)) "${CLI_CPU[@]}" \
		wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "${hdr[@]}" "http://$TARGET_ADDR/" \
		>"$out" 2>&1
	c1=$(cpu_sample)
	t1=$(date +%s.%N)
	f1=$(foreign_ticks)
	n1=$(net_snap)
	nstat_dump "$t.$mode.$ROUND.after"
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
	p50=$(awk '$1 == "50%" {print $2}' "$out")
	p99=$(awk '$1 == "99%" {print $2}' "$out")
	errs=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$out")
	non2xx=$(awk '/Non-2xx/ {print $NF}' "$out")
	RES[$t.$mode.rps.$ROUND]=${rps:-0}
	RES[$t.$mode.p50.$ROUND]=$(to_ms "${p50:-0ms}")
	RES[$t.$mode.p99.$ROUND]=$(to_ms "${p99:-0ms}")
	RES[$t.$mode.err.$ROUND]=$((${errs:-0} + ${non2xx:-0}))
	RES[$t.$mode.cpu.$ROUND]=$(cpu_delta "$c0" "$c1")
	RES[$t.$mode.net.$ROUND]=$(net_delta "$n0" "$n1")
	RES[$t.$mode.idle.$ROUND]=$idle
	foreign=$(awk -v a="$f0" -v b="$f1" -v t0="$t0" -v t1="$t1" -v hz="$CLK_TCK" -v n="$NCPU" \
		'BEGIN { d = (t1 - t0) * hz * n; printf "%.0f", (d > 0 ? 100 * (b - a) / d : 0) }')
	RES[$t.$mode.foreign.$ROUND]=$foreign
	# Busy: the run started on a busy machine, or other jobs took > 10 % of it.
	RES[$t.$mode.busy.$ROUND]=0
	[ "$idle" -lt 85 ] || [ "$foreign" -gt 10 ] && RES[$t.$mode.busy.$ROUND]=1
	[ -n "$rps" ] || { log "$t/$mode: wrk gave no result:"; sed 's/^/#   /' "$out" >&2; }
	log "$t/$mode round $ROUND: ${rps:-?} req/s, p50 ${p50:-?}, p99 ${p99:-?}," \
		"errors ${errs:-0}+${non2xx:-0}; cpu user/sys/softirq/idle ${RES[$t.$mode.cpu.$ROUND]}" \
		"(idle before: $idle%, other jobs: $foreign%); retrans/syn-retrans/paws-tw/listen-drops/if-drops ${RES[$t.$mode.net.$ROUND]}"
}
# latency value from wrk ("1.23ms", "850.00us", "1.01s") in ms
to_ms() {
	echo "$1" | awk '{v = $1 + 0; if ($1 ~ /us$/) v /= 1000; else if ($1 ~ /ms$/) v = v;
		else if ($1 ~ /m$/) v *= 60000; else if ($1 ~ /s$/) v *= 1000; printf "%.3f", v}'
}
# median over rounds of RES[KEY.r]
# median KEY PREFIX: the median over the rounds of RES[KEY.r], leaving out
# rounds that ran on a busy machine (RES[PREFIX.busy.r]) unless all did.
median() {
	local r rounds=()
	for ((r = 1; r <= REPEAT; r++)); do
		[ "${RES[$2.busy.$r]:-0}" = 0 ] && rounds+=($r)
	done
	[ ${#rounds[@]} = 0 ] && rounds=($(seq 1 "$REPEAT"))
	for r in "${rounds[@]}"; do echo "${RES[$1.$r]:-0}"; done |
		sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2] + v[NR/2+1]) / 2}'
}
# busy_mark PREFIX: "" when every round ran quiet, "†" when some did not
# (left out of the median), "‡" when none did (the median includes them).
busy_mark() {
	local r n=0
	for ((r = 1; r <= REPEAT; r++)); do
		[ "${RES[$1.busy.$r]:-0}" = 1 ] && n=$((n + 1))
	done
	if [ $n = 0 ]; then echo ""; elif [ $n -lt "$REPEAT" ]; then echo "†"; else echo "‡"; fi
}
sum_rounds() {
	local r s=0
	for ((r = 1; r <= REPEAT; r++)); do s=$((s + ${RES[$1.$r]:-0})); done
	echo $s
}

declare -A RES
declare -A OK

# The XDP program's own time per packet on the live traffic (kernel.bpf_stats_enabled,
# a short extra run: the stats cost ~2 clock reads per packet, so they are off
# during the measured runs). Writes LIVE[close|ka] = "ns/packet packets".
declare -A LIVE
STATS_OLD=
profile_xdp() {
	local id m s0 s1 out
	[ "${PROFILE_XDP:-1}" = 1 ] || return 0
	id=$(ip -d link show c0 | grep -o 'prog/xdp id [0-9]*' | awk '{print $3}')
	[ -n "$id" ] || return 0
	STATS_OLD=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null) || return 0
	sysctl -qw kernel.bpf_stats_enabled=1 || return 0
	for m in close ka; do
		local hdr=()
		[ "$m" = close ] && hdr=(-H 'Connection: close')
		s0=$(bpftool prog show id "$id" | grep -o 'run_time_ns [0-9]* run_cnt [0-9]*')
		s0=${s0:-run_time_ns 0 run_cnt 0}
		if [ "${PERF:-0}" = 1 ] && command -v perf >/dev/null; then
			timeout -k 5 20 perf record -q -a -g -o "$TMP/perf.$m.data" -- sleep 2 \
				>/dev/null 2>&1 &
			PERF_PID=$!
		fi
		bounded ip netns exec "$CLI" timeout -k 5 20 wrk -t"$THREADS" -c"$CONNS" -d3s "${hdr[@]}" \
			"http://$TARGET_ADDR/" >"$TMP/wrk.profile.$m.txt" 2>&1
		if [ -n "${PERF_PID:-}" ]; then
			wait "$PERF_PID"
			PERF_PID=
			perf report -q -i "$TMP/perf.$m.data" --no-children --sort sym 2>/dev/null |
				grep -v '^$' | head -40 >"$TMP/perf.$m.txt"
			log "perf, XDP $m run, top symbols (whole machine; $TMP/perf.$m.txt):"
			grep '%' "$TMP/perf.$m.txt" | head -25 | sed 's/^/#   /' >&2
		fi
		s1=$(bpftool prog show id "$id" | grep -o 'run_time_ns [0-9]* run_cnt [0-9]*')
		s1=${s1:-run_time_ns 0 run_cnt 0}
		LIVE[$m]=$(echo "$s0 $s1" | awk '{n = $8 - $4; if (n > 0) printf "%.1f %d", ($6 - $2) / n, n}')
		[ -n "${LIVE[$m]}" ] ||
			log "XDP profile ($m): no run_cnt change (kernel.bpf_stats_enabled reset by another job?)"
	done
	sysctl -qw kernel.bpf_stats_enabled="$STATS_OLD"
	STATS_OLD=
}

declare -A RES
declare -A OK

log "wrk -t$THREADS -c$CONNS -d$DURATION, servers: $SERVER x ${#SRV_ADDRS[@]}, nbthread $NBTHREAD," \
	"rounds: $REPEAT, targets: $TARGETS"
for ((ROUND = 1; ROUND <= REPEAT; ROUND++)); do
	for t in $TARGETS; do
		if ! declare -F start_$t >/dev/null; then
			log "unknown target '$t'"
			continue
		fi
		# Another job's clean-up may delete namespaces it does not own: stop
		# rather than report numbers of a broken topology.
		[ -e "/run/netns/$CLI" ] && [ -e "/run/netns/$SRV" ] && ip link show c0 >/dev/null 2>&1 ||
			die "namespace $CLI/$SRV or veth c0 vanished (removed from outside): results discarded"
		fresh_tcp_state
		if ! start_$t; then
			log "$t: could not start"
			stop_$t 2>/dev/null
			continue
		fi
		if check_target $t; then
			OK[$t]=1
			run_wrk $t close
			run_wrk $t ka
			[ "$t" = xdp ] && [ "$ROUND" = "$REPEAT" ] && profile_xdp
		fi
		stop_$t
	done
done

# ---- XDP program cost per packet: bpf_prog_test_run (no redirect executed) ----
BPF_OUT=$TMP/bpf_bench.txt
: >"$BPF_OUT"
if [ "$BPF_BENCH_N" -gt 0 ]; then
	log "bpf_test_lb --bench $BPF_BENCH_N"
	bounded timeout -k 5 300 "$BUILD/tests/bpf_test_lb" --bench "$BPF_BENCH_N" >"$BPF_OUT" 2>&1 ||
		log "bpf_test_lb --bench failed"
fi
# bpf_case TITLE_PREFIX -> "raw over counters" (counters: the line after the case)
bpf_case() {
	awk -v pat="bench: $1" '
		want { sub(/^# *counters: */, ""); c = $0; want = 0 }
		index($0, pat) == 1 { for (i = 1; i <= NF; i++) {
				if ($i == "ns/run" || $i == "ns/run,") raw = $(i-1)
				if ($i == "over") over = $(i-2) }
			want = 1 }
		END { if (raw != "") print raw, (over == "" ? "-" : over), c }' "$BPF_OUT"
}

# ---- report ----
name_of() {
	case $1 in
	xdp) echo "xlb XDP fullnat (lbd)" ;;
	nft) echo "nftables DNAT+SNAT" ;;
	haproxy) echo "haproxy 2.6 mode tcp" ;;
	direct) echo "direct (one server)" ;;
	*) echo "$1" ;;
	esac
}
ratio() { # A B
	awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f×", a / b; else printf "–" }'
}
declare -A MED MARK
nbusy=0
for t in $TARGETS; do
	[ -n "${OK[$t]:-}" ] || continue
	for m in close ka; do
		for k in rps p50 p99; do MED[$t.$m.$k]=$(median $t.$m.$k $t.$m); done
		MARK[$t.$m]=$(busy_mark $t.$m)
		MED[$t.$m.err]=$(sum_rounds $t.$m.err)
		for ((r = 1; r <= REPEAT; r++)); do
			nbusy=$((nbusy + ${RES[$t.$m.busy.$r]:-0}))
		done
	done
done
nft_c=${MED[nft.close.rps]:-0}
hap_c=${MED[haproxy.close.rps]:-0}
dir_k=${MED[direct.ka.rps]:-0}

echo
echo "## L4 results ($(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs)"
echo
rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)
git -C "$ROOT" diff --quiet HEAD -- bpf userspace 2>/dev/null || rev+=" + uncommitted bpf/userspace changes"
echo "Build: ${rev:-?}; build/lbd of $(date -u -r "$BUILD/lbd" '+%Y-%m-%d %H:%M UTC')."
echo
echo "wrk -t$THREADS -c$CONNS -d$DURATION --latency, the same for every target; servers: $SERVER x" \
	"${#SRV_ADDRS[@]}; lbd/haproxy nbthread $NBTHREAD; rounds: $REPEAT (medians);" \
	"PEER_NAPI=$PEER_NAPI; PIN_CPUS=$PIN_CPUS${DIAG_SRV_NO_TW:+; DIAG_SRV_NO_TW=$DIAG_SRV_NO_TW}"
if [ "$nbusy" -gt 0 ]; then
	echo
	echo "**$nbusy runs shared the machine with other jobs** (< 85 % idle at the start after" \
		"waiting up to ${WAIT_IDLE:-30} s, or other processes took > 10 % of the CPU during the" \
		"run). † = such rounds were left out of the median; ‡ = every round was such, the" \
		"number measures that contention too."
fi
echo
echo "| target | conn/s | keep-alive req/s | p50 / p99 close (ms) | p50 / p99 keep-alive (ms) | conn/s vs nft | conn/s vs haproxy | keep-alive vs direct | errors |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for t in $TARGETS; do
	if [ -z "${OK[$t]:-}" ]; then
		echo "| $(name_of $t) | failed | | | | | | | |"
		continue
	fi
	printf "| %s | %.0f%s | %.0f%s | %.2f / %.2f | %.2f / %.2f | %s | %s | %s | %s |\n" "$(name_of $t)" \
		"${MED[$t.close.rps]}" "${MARK[$t.close]}" "${MED[$t.ka.rps]}" "${MARK[$t.ka]}" \
		"${MED[$t.close.p50]}" "${MED[$t.close.p99]}" "${MED[$t.ka.p50]}" "${MED[$t.ka.p99]}" \
		"$(ratio "${MED[$t.close.rps]}" "$nft_c")" "$(ratio "${MED[$t.close.rps]}" "$hap_c")" \
		"$(ratio "${MED[$t.ka.rps]}" "$dir_k")" "$((${MED[$t.close.err]} + ${MED[$t.ka.err]}))"
done
echo
echo "Per run, last round — CPU of the whole machine (user / sys / softirq / idle %); idle % just"
echo "before the run / CPU % that other jobs took during it; loss over all namespaces: TCP"
echo "retransmits / of which SYNs / SYNs refused by a server's TIME_WAIT (PAWS) / listen drops /"
echo "veth drops:"
echo
echo "| target | close: cpu | idle / others | loss | keep-alive: cpu | idle / others | loss |"
echo "| --- | --- | ---: | --- | --- | ---: | --- |"
for t in $TARGETS; do
	[ -n "${OK[$t]:-}" ] || continue
	echo "| $(name_of $t) | ${RES[$t.close.cpu.$REPEAT]:-}" \
		"| ${RES[$t.close.idle.$REPEAT]:-} / ${RES[$t.close.foreign.$REPEAT]:-}" \
		"| ${RES[$t.close.net.$REPEAT]:-} | ${RES[$t.ka.cpu.$REPEAT]:-}" \
		"| ${RES[$t.ka.idle.$REPEAT]:-} / ${RES[$t.ka.foreign.$REPEAT]:-} | ${RES[$t.ka.net.$REPEAT]:-} |"
done

empty=$(bpf_case "empty XDP program")
syn=$(bpf_case "TCP SYN, new flow")
est=$(bpf_case "TCP ACK, established flow")
est6=$(bpf_case "IPv6 TCP ACK, established flow")
# A case is valid only when its counters show the path it names.
bpf_valid() { # "raw over counters" WANT_WORDS...
	local c=$1 w
	shift
	for w in "$@"; do case " ${c#* * } " in *" $w="*) ;; *) return 1 ;; esac; done
}
est_ns=
echo
echo "XDP program per packet:"
echo
echo "| measure | ns/packet | over the empty program | path taken (counters) |"
echo "| --- | ---: | ---: | --- |"
if [ -n "$empty" ]; then
	row() { # TITLE CASE WANT...
		local title=$1 c=$2 note
		shift 2
		[ -n "$c" ] || return 0
		note=${c#* * }
		bpf_valid "$c" "$@" || note="**not the $title path**: $note"
		echo "| bpf_prog_test_run: $title | ${c%% *} | $(echo "$c" | awk '{print $2}') | $note |"
	}
	row "IPv4 TCP SYN, new fullnat flow" "$syn" new_flow redirect
	row "IPv4 TCP ACK, established flow" "$est" fwd redirect
	row "IPv6 TCP ACK, established flow" "$est6" fwd redirect
	# The program's own cost: the time over the empty program (the harness floor).
	bpf_valid "$est" fwd redirect && est_ns=$(echo "$est" | awk '{print $2}') &&
		EST_NOTE=" over the empty program (${est%% *} ns raw)"
	[ -z "$est_ns" ] && bpf_valid "$est6" fwd redirect && est_ns=$(echo "$est6" | awk '{print $2}') &&
		EST_NOTE=" over the empty program, IPv6 (the IPv4 case did not take the XDP path)"
fi
for m in close ka; do
	[ -n "${LIVE[$m]:-}" ] || continue
	echo "| live wrk $m through XDP (3 s, run_time_ns/run_cnt) | ${LIVE[$m]% *} | | ${LIVE[$m]#* } packets, both directions |"
done
echo
echo "(bpf_prog_test_run: ${BPF_BENCH_N} single runs per case, the empty program costs" \
	"${empty%% *} ns; the redirect itself is not executed. Live: the program's own time on real" \
	"frames, every packet of the run, SYN/FIN and replies included.)"

met() { # VALUE OP LIMIT
	awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { if (v == "" || v + 0 == 0) { print "not measured"; exit }
		ok = (op == ">=") ? (v + 0 >= l) : (v + 0 <= l); print (ok ? "met" : "NOT met") }'
}
if [ -n "${OK[xdp]:-}" ]; then
	x_c=${MED[xdp.close.rps]}
	x_k=${MED[xdp.ka.rps]}
	r_n=$(awk -v a="$x_c" -v b="$nft_c" 'BEGIN { if (b > 0) printf "%.2f", a / b }')
	r_h=$(awk -v a="$x_c" -v b="$hap_c" 'BEGIN { if (b > 0) printf "%.2f", a / b }')
	r_d=$(awk -v a="$x_k" -v b="$dir_k" 'BEGIN { if (b > 0) printf "%.2f", a / b }')
	live=${LIVE[ka]:-}
	echo
	echo "Targets (reported, never asserted):"
	echo
	echo "- XDP conn/s ≥ 1.0× nftables: ${r_n:-–}× — $(met "$r_n" ">=" 1.0)"
	echo "- XDP conn/s ≥ 1.3× haproxy: ${r_h:-–}× — $(met "$r_h" ">=" 1.3)"
	echo "- XDP keep-alive req/s ≥ 0.9× direct: ${r_d:-–}× — $(met "$r_d" ">=" 0.9)"
	echo "- ≤ 100 ns per established-flow packet: bpf_prog_test_run ${est_ns:-–} ns${EST_NOTE:-}" \
		"— $(met "$est_ns" "<=" 100); live keep-alive run ${live% *} ns (all packets, both" \
		"directions, clock reads included) — $(met "${live% *}" "<=" 100)"
	if [ -s "$TMP/xdp-stats.$REPEAT.txt" ]; then
		echo
		echo "XDP counters after the last round (non-zero):" \
			"$(awk -F': ' 'NF == 2 && $2 + 0 > 0 && $1 !~ /^(pin_root|interfaces|mode)$/ \
				{printf "%s%s=%s", s, $1, $2; s = ", "}' "$TMP/xdp-stats.$REPEAT.txt")"
	fi
fi

# Connections that waited for a SYN retransmission timeout, and why.
diag=""
for t in $TARGETS; do
	[ -n "${OK[$t]:-}" ] || continue
	set -- ${RES[$t.close.net.$REPEAT]:-0 0 0 0 0}
	[ "$2" -gt 0 ] || continue
	diag+="- $(name_of $t), close run: $2 SYN retransmissions"
	[ "$3" -gt 0 ] && diag+=", $3 SYNs refused by a server's TIME_WAIT socket (PAWS: the server-side tuple was reused by another client connection, whose TCP timestamps have another random offset)"
	[ "$4" -gt 0 ] && diag+=", $4 listen drops"
	[ "$5" -gt 0 ] && diag+=", $5 veth drops"
	diag+=$'\n'
done
if [ -n "$diag" ]; then
	echo
	echo "Connections that stalled on a SYN timeout (last round):"
	echo
	printf "%s" "$diag"
fi
exit 0
