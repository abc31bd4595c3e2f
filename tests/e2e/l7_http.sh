#!/bin/bash
# lbd's L7 proxy, for what the shared .vtc files (l7_vtc.sh) cannot show:
# ACL errors reported by `lbd -c` with file:line, the server connection
# pool (reuse, expiry), httplog lines with dontlognull, reload and soft stop.
# Runs in its own network namespace (unshare -n): only its loopback is used.
if [ -z "${XLB_IN_NS:-}" ]; then
	exec unshare -n env XLB_IN_NS=1 bash "$0" "$@"
fi
ip link set lo up
. "$(dirname "$0")/lib.sh"

P1=$(t_port); P2=$(t_port); FE=$(t_port)
demo s1 127.0.0.1:$P1
demo s2 127.0.0.1:$P2

# established connections from lbd to a server port
srv_conns() {
	ss -Htn state established "( dport = :$1 )" 2>/dev/null | wc -l
}

# --- lbd -c reports ACL and rule errors with file:line
bad=$T_TMP/bad.cfg
cat >"$bad" <<CFG
defaults
    mode http
frontend fe
    bind 127.0.0.1:$FE
    acl api path_beg /api
    use_backend be if api nosuch
backend be
    server s1 127.0.0.1:$P1
CFG
out=$("$LBD" -c -f "$bad" 2>&1)
rc=$?
expect_eq "lbd -c: unknown ACL makes the config invalid" "$rc" 1
check "lbd -c: the message names file:line and the ACL" \
	grep -q "bad.cfg:6:.*no such ACL : 'nosuch'" <<<"$out"
sed -i 's/use_backend be if api nosuch/http-request frobnicate/' "$bad"
out=$("$LBD" -c -f "$bad" 2>&1)
check "lbd -c: unknown http-request action reported with file:line" \
	grep -q "bad.cfg:6:.*frobnicate" <<<"$out"

cfg=$T_TMP/l7.cfg
write_cfg() {
	cat >"$cfg" <<CFG
global
    nbthread 2
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    log stdout format raw local0
    option httplog
    option dontlognull
frontend fe
    bind 127.0.0.1:$FE
    acl is_two path_beg /two
    use_backend $1 if is_two
    default_backend one
backend one
    timeout http-keep-alive 1s
    server s1 127.0.0.1:$P1
backend two
    server s2 127.0.0.1:$P2
backend other
    server s1 127.0.0.1:$P1
CFG
}
write_cfg two
start_lbd "$cfg" || fail "lbd starts"
wait_port 127.0.0.1 $FE 5

expect_eq "default_backend" "$(get http://127.0.0.1:$FE/)" "s1"
expect_eq "use_backend on path_beg" "$(get http://127.0.0.1:$FE/two/x)" "s2"

# --- server connection pool: one client connection, many requests, one server connection
urls=()
for i in $(seq 20); do urls+=("http://127.0.0.1:$FE/$i"); done
before=$(srv_conns $P1)
body=$(get "${urls[@]}" | sort -u | tr '\n' ' ')
expect_eq "20 keep-alive requests answered" "$body" "s1 "
# (the first request of a client connection always opens one: http-reuse safe)
expect_eq "the 20 requests opened at most one server connection" \
	"$(($(srv_conns $P1) - before <= 1))" 1
# the backend's timeout http-keep-alive (1s) closes idle pooled connections
sleep 1.6
expect_eq "idle pooled server connection closed after timeout http-keep-alive" "$(srv_conns $P1)" 0

# --- httplog lines; a connection without a request is not logged (dontlognull)
nbad=$(grep -c '<BADREQ>' "$T_TMP/lbd.log")
get -o /dev/null http://127.0.0.1:$FE/logged
(exec 3<>/dev/tcp/127.0.0.1/$FE; exec 3>&-) 2>/dev/null
sleep 0.3
check "httplog line for a request" \
	grep -Eq "^127\.0\.0\.1:[0-9]+ \[[^]]+\] fe one/s1 [0-9]+/[0-9]+/[0-9]+/[0-9]+/[0-9]+ 200 [0-9]+ - - ---- [0-9/]+ 0/0 \"GET /logged HTTP/1.1\"$" \
	"$T_TMP/lbd.log"
expect_eq "dontlognull: empty connection not logged" \
	"$(grep -c '<BADREQ>' "$T_TMP/lbd.log")" "$nbad"

# --- reload: new routing for new requests, pooled connections of the old generation go
get -o /dev/null http://127.0.0.1:$FE/two/warm
check "pooled connections to s2 before the reload" test "$(srv_conns $P2)" -ge 1
write_cfg other
kill -HUP "$LBD_PID"
sleep 0.5
expect_eq "after reload /two goes to the new backend" "$(get http://127.0.0.1:$FE/two/x)" "s1"
sleep 1
expect_eq "pooled connections of the old generation closed" "$(srv_conns $P2)" 0

# --- soft stop: the in-flight request completes, idle keep-alive clients are closed
exec 4<>/dev/tcp/127.0.0.1/$FE
printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' >&4
slow_out=$T_TMP/slow.out
get -o "$slow_out" -w '%{http_code}' "http://127.0.0.1:$FE/slow?ms=800" >"$T_TMP/slow.code" &
slow_pid=$!
sleep 0.2
kill -USR1 "$LBD_PID"
wait $slow_pid
expect_eq "soft stop: the in-flight request completes" "$(cat "$T_TMP/slow.code")" 200
timeout 2 cat <&4 >"$T_TMP/idle.out"
check "soft stop: the idle keep-alive client got its response and a close" \
	grep -q "^s1" "$T_TMP/idle.out"
for i in $(seq 40); do
	kill -0 "$LBD_PID" 2>/dev/null || break
	sleep 0.05
done
check "soft stop: lbd exits once its connections are done" bash -c "! kill -0 $LBD_PID 2>/dev/null"
exec 4>&-
t_done
