#!/bin/bash
# Discovery through the L4 tier: servers put in etcd take new flows at the
# XDP VIP within a second; a deleted server takes no new flows while its open
# ones finish. Topology from xdp_topology (lib.sh):
#
#   [cli] c1 198.51.100.2 --- c0 198.51.100.1 [balancer] 203.0.113.1 s0 --- s1 203.0.113.10,.11 [srv]
#
# The balancer is this script's own network namespace (unshare -n); etcd runs
# on its loopback.
if [ -z "${XLB_IN_NS:-}" ]; then
	exec unshare -n env XLB_IN_NS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

for t in etcd etcdctl socat; do
	if ! command -v $t >/dev/null; then
		skip "$t not installed"
		exit 0
	fi
done
if [ ! -f "$BUILD/lb.bpf.o" ]; then
	skip "build/lb.bpf.o not built"
	exit 0
fi
export ETCDCTL_API=3

PIN=/sys/fs/bpf/xlb-disc-$$
cleanup_xdp() {
	ip link set dev c0 xdp off 2>/dev/null
	ip link set dev s0 xdp off 2>/dev/null
	rm -rf "$PIN" 2>/dev/null
}
trap 'cleanup_xdp; t_cleanup' EXIT

xdp_topology 198.51.100.100
xdp_demo_servers

EC=$(t_port); EPP=$(t_port)
ec() { etcdctl --endpoints http://127.0.0.1:$EC --dial-timeout 2s --command-timeout 5s "$@"; }
etcd --name e1 --data-dir "$T_TMP/etcd" \
	--listen-client-urls http://127.0.0.1:$EC --advertise-client-urls http://127.0.0.1:$EC \
	--listen-peer-urls http://127.0.0.1:$EPP --initial-advertise-peer-urls http://127.0.0.1:$EPP \
	--initial-cluster e1=http://127.0.0.1:$EPP >"$T_TMP/etcd.log" 2>&1 &
T_PIDS+=($!)
check "etcd starts" wait_for 15 ec endpoint health 2>/dev/null
PFX=/services/web/
ec put ${PFX}s1 '{"addr":"203.0.113.10","port":8080}' >/dev/null

SOCK=$T_TMP/lbd.sock
cat >"$T_TMP/xdp.cfg" <<CFG
global
    stats socket $SOCK level admin
    xlb-interface c0,s0
    xlb-pin-root $PIN
defaults
    mode tcp
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend web
    bind 198.51.100.100:80
    default_backend web
backend web
    balance roundrobin
    discovery etcd endpoints http://127.0.0.1:$EC prefix $PFX
CFG
"$LBD" -f "$T_TMP/xdp.cfg" >"$T_TMP/lbd.log" 2>&1 &
LBD_PID=$!
T_PIDS+=($LBD_PID)
for i in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
if ! kill -0 $LBD_PID 2>/dev/null; then
	fail "lbd starts with xlb-interface c0,s0"
	sed 's/^/#   /' "$T_TMP/lbd.log"
	exit 1
fi
API_SOCK=$SOCK
vip() { in_cli curl -s -m 3 http://198.51.100.100/"${1:-}"; }
served() {
	local i
	for ((i = 0; i < $1; i++)); do vip; done | sort -u | tr '\n' ' ' | sed 's/ $//'
}

tier=$(api "show status json" | jq -r '.. | objects | select(.name? == "web" and has("tier")) | .tier' 2>/dev/null | head -1)
expect_eq "the frontend is served by XDP" "$tier" "xdp"
check "the listed server takes flows at the VIP" wait_for 5 sh -c \
	"[ \"\$(ip netns exec $CLI curl -s -m 3 http://198.51.100.100/)\" = s1 ]"

# A put: new flows reach the new server within a second. Timed from etcd's
# answer to the put (the event is in etcd then; etcdctl's start-up is left
# out), the bound of 2 s still holds the polling (each poll starts curls in
# the client namespace) on a loaded machine; from before etcdctl starts, 3 s.
t0=$(ms)
ec put ${PFX}s2 '{"addr":"203.0.113.11","port":8080}' >/dev/null
t1=$(ms)
s2_seen() { [ "$(vip)" = s2 ] || [ "$(vip)" = s2 ]; }
wait_for 5 s2_seen
t2=$(ms)
check "a put reaches the XDP tier: new flows go to s2 (after $((t2 - t1)) ms < 2000, $((t2 - t0)) ms < 3000 with etcdctl)" \
	[ $((t2 - t1)) -lt 2000 -a $((t2 - t0)) -lt 3000 ]
expect_eq "flows are spread over both" "$(served 6)" "s1 s2"

# A delete: open flows to s2 finish, new flows avoid it within a second.
# Four slow requests (held 4 s by the servers: still open after the delete
# and its polling), two on each server: the servers have all four before the
# delete.
for i in 1 2 3 4; do
	in_cli curl -s -m 15 -o "$T_TMP/slow$i" 'http://198.51.100.100/slow?ms=4000' &
	slows[$i]=$!
done
wait_pending -N "$SRV" 4 8080 || fail "the 4 slow requests reach the servers"
t0=$(ms)
ec del ${PFX}s2 >/dev/null
t1=$(ms)
only_s1() { [ "$(served 4)" = s1 ]; }
wait_for 5 only_s1
t2=$(ms)
check "a delete reaches the XDP tier: new flows avoid s2 (after $((t2 - t1)) ms < 2000, $((t2 - t0)) ms < 3000 with etcdctl)" \
	[ $((t2 - t1)) -lt 2000 -a $((t2 - t0)) -lt 3000 ]
expect_eq "and keep avoiding it" "$(served 6)" "s1"
bad=0
for i in 1 2 3 4; do wait ${slows[$i]} || bad=$((bad + 1)); done
expect_eq "the flows open on s2 and s1 completed" "$bad" 0
expect_eq "s2 answered its open flows after its removal" \
	"$(cat "$T_TMP"/slow* | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" "s1=2 s2=2 "

kill $LBD_PID
wait $LBD_PID 2>/dev/null
if [ "$T_FAILED" != 0 ]; then
	sed 's/^/#   /' "$T_TMP/lbd.log" | tail -40
fi
t_done
