#!/bin/bash
# The L4 tier end to end: lbd attaches the XDP program to the balancer's
# veths and mode tcp/udp VIPs are served in the kernel (fullnat and nat),
# with real clients (curl, wrk, socat) and demo servers in their own
# namespaces:
#
#   [cli] c1 198.51.100.2 --- c0 198.51.100.1 [balancer] 203.0.113.1 s0 --- s1 203.0.113.10,.11 [srv]
#         fd00:c::2                fd00:c::1             fd00:5::1              fd00:5::10
#
# The balancer is this script's own network namespace (unshare -n), so lbd
# keeps the host's bpffs; the VIPs are assigned to c0 (an attached interface).
if [ -z "${XLB_IN_NS:-}" ]; then
	exec unshare -n env XLB_IN_NS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

PIN=/sys/fs/bpf/xlb-e2e-$$
cleanup_xdp() {
	[ -d "$PIN" ] && "$LBD" -h >/dev/null 2>&1
	ip link set dev c0 xdp off 2>/dev/null
	ip link set dev s0 xdp off 2>/dev/null
	rm -rf "$PIN" 2>/dev/null
}
trap 'cleanup_xdp; t_cleanup' EXIT

xdp_topology -6 198.51.100.100 198.51.100.102 fd00:c::100 # fullnat VIPs, nat VIP .102
xdp_demo_servers -l "[fd00:5::10]:8080" -u 203.0.113.10:5353 -- -u 203.0.113.11:5353

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
frontend web6
    bind [fd00:c::100]:80
    default_backend web6
backend web6
    server s1v6 [fd00:5::10]:8080
backend web
    balance roundrobin
    server s1 203.0.113.10:8080 check inter 300ms
    server s2 203.0.113.11:8080 check inter 300ms
frontend webnat
    bind 198.51.100.102:80
    default_backend webnat
backend webnat
    xlb-forward nat
    server n1 203.0.113.10:8080
frontend dns
    bind udp@198.51.100.100:53
    default_backend dns
backend dns
    server u1 203.0.113.10:5353
    server u2 203.0.113.11:5353
frontend local
    bind 127.0.0.1:18080
    default_backend web
CFG
"$LBD" -f "$T_TMP/xdp.cfg" >"$T_TMP/lbd.log" 2>&1 &
LBD_PID=$!
T_PIDS+=($LBD_PID)
for i in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
if ! kill -0 $LBD_PID 2>/dev/null; then
	fail "lbd starts with xlb-interface c0,s0"
	cat "$T_TMP/lbd.log"
	exit 1
fi
API_SOCK=$SOCK

check "XDP program attached natively to c0" sh -c "ip -d link show c0 | grep -q 'xdp '"
check "maps pinned under the pin root" test -e "$PIN/vips"
check "bpftool shows typed fields of the pinned vips map" \
	sh -c "bpftool map dump pinned $PIN/vips | grep -q be_idx"
if ss -ltn | grep -q '198.51.100.100:80'; then
	fail "lbd has no socket on the XDP VIP"
else
	ok "lbd has no socket on the XDP VIP"
fi
r=$(echo "show status json" | socat -t 5 - "UNIX-CONNECT:$SOCK" 2>/dev/null)
echo "$r" | grep -q '"web"' && ok "show status json lists the frontends" || fail "show status json lists the frontends"
check "the loopback frontend is served by lbd's own socket" sh -c "ss -ltn | grep -q 127.0.0.1:18080"

# lbd's own connections (health checks) take source ports from the band
# fullnat never keeps for a client (56000-60999), so their replies are never
# mistaken for a flow's.
sleep 0.7
ports=$(ss -tanH '( dport = :8080 )' | awk '$4 ~ /^203\.0\.113\.1:/ {split($4, a, ":"); print a[2]}')
low=$(echo "$ports" | awk 'NF && ($1 < 56000 || $1 > 60999)' | wc -l)
check "health checks use source ports 56000-60999 ($(echo $ports | wc -w) seen, $low outside)" \
	[ -n "$ports" -a "$low" = 0 ]
seq=$(for i in 1 2 3 4; do in_cli curl -s -m 3 http://198.51.100.100/; done | tr '\n' ' ')
expect_eq "fullnat: round-robin through XDP" "$seq" "s1 s2 s1 s2 "
r=$(in_cli curl -s -m 3 http://198.51.100.100/echo | grep -i '^host:' | tr -d '\r')
expect_eq "fullnat: the request reaches the server unchanged" "$r" "Host: 198.51.100.100"
r=$(in_cli curl -s -m 3 -g 'http://[fd00:c::100]/')
case "$r" in s1 | s2) ok "IPv6 VIP served through XDP ($r)" ;; *)
	fail "IPv6 VIP served through XDP (got '$r')"
	api show xdp | grep -v ': 0$' | sed 's/^/#   /'
	ip -6 neigh | sed 's/^/#   /'
	;;
esac
# The server's end of the flow is the connection holding the slow request
# (the health checks of web's servers only connect, and come from 203.0.113.1).
in_cli curl -s -m 5 -o "$T_TMP/nat" 'http://198.51.100.102/slow?ms=1500' &
nat=$!
wait_pending -N "$SRV" 1 8080
peer=$(tcp_pending -N "$SRV" 8080 | head -1)
wait $nat
expect_eq "nat mode: served through XDP" "$(cat "$T_TMP/nat")" "s1"
expect_eq "nat mode: the server sees the client's own address" "${peer%:*}" "198.51.100.2"
r=$(echo ping | in_cli socat -T2 - UDP:198.51.100.100:53)
case "$r" in s1:ping | s2:ping) ok "UDP request/response through XDP ($r)" ;; *) fail "UDP through XDP (got '$r')" ;; esac

if command -v wrk >/dev/null; then
	out=$(in_cli wrk -t1 -c4 -d1s http://198.51.100.100/ 2>&1)
	reqs=$(echo "$out" | awk '/requests in/ {print $1}')
	bad=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
	errs=$(echo "$out" | grep -c 'Socket errors')
	check "wrk through XDP: $reqs requests, no errors" [ "${reqs:-0}" -gt 100 -a -z "$bad" -a "$errs" = 0 ]
fi

stats=$(api show xdp)
pk=$(echo "$stats" | awk -F, '$1 == "web" {print $2}')
nf=$(echo "$stats" | awk -F, '$1 == "web" {print $4}')
check "XDP counters account for the traffic (web: ${pk:-?} packets, ${nf:-?} new flows)" \
	[ "${pk:-0}" -gt 100 -a "${nf:-0}" -ge 6 ]

# A long transfer is not disturbed when the other server is taken out.
in_cli curl -s -m 20 -D "$T_TMP/big.h" -o "$T_TMP/big" --limit-rate 4M \
	'http://198.51.100.100/big?n=6000000' &
big=$!
for i in $(seq 1 30); do grep -qi '^x-server' "$T_TMP/big.h" 2>/dev/null && break; sleep 0.05; done
on=$(awk -F': ' 'tolower($1) == "x-server" {print $2}' "$T_TMP/big.h" | tr -d '\r')
other=s1
[ "$on" = s1 ] && other=s2
api "disable server web/$other" >/dev/null
sleep 0.2
seq=$(for i in 1 2 3; do in_cli curl -s -m 3 http://198.51.100.100/; done | tr '\n' ' ')
expect_eq "after disable server web/$other, new flows go to $on" "$seq" "$on $on $on "
wait $big
expect_eq "a long transfer on $on runs to completion while $other is taken out" \
	"$(stat -c %s "$T_TMP/big" 2>/dev/null)" 6000000
api "enable server web/$other" >/dev/null

# Restart: lbd exits, established flows keep flowing on the pinned state.
in_cli curl -s -m 20 -o "$T_TMP/big2" --limit-rate 4M 'http://198.51.100.100/big?n=4000000' &
big=$!
sleep 0.3
kill $LBD_PID
wait $LBD_PID 2>/dev/null
check "the program stays attached when lbd exits" sh -c "ip -d link show c0 | grep -q 'xdp '"
wait $big
expect_eq "a flow keeps flowing while lbd is stopped" "$(stat -c %s "$T_TMP/big2" 2>/dev/null)" 4000000
"$LBD" -f "$T_TMP/xdp.cfg" >>"$T_TMP/lbd.log" 2>&1 &
LBD_PID=$!
T_PIDS+=($LBD_PID)
for i in $(seq 1 50); do api show info >/dev/null 2>&1 && break; sleep 0.1; done
r=$(in_cli curl -s -m 3 http://198.51.100.100/)
case "$r" in s1 | s2) ok "lbd picks the pinned state up again ($r)" ;; *) fail "after restart (got '$r')" ;; esac

# xdp down: no pins, no program left.
api "xdp down" >"$T_TMP/down.out"
if ip -d link show c0 | grep -q 'xdp '; then
	fail "xdp down detaches the program"
else
	ok "xdp down detaches the program"
fi
check "xdp down leaves no pins" test ! -e "$PIN"
t_done
