#!/bin/bash
# lbd's L7 proxy, for what the shared .vtc files (l7_vtc.sh) cannot show:
# ACL errors reported by `lbd -c` with file:line, the server connection
# pool (reuse, expiry), httplog lines with dontlognull, reload and soft stop;
# where lbd is stricter than HAProxy 2.6 (doc/http.md "lbd and HAProxy
# 2.6"): the requests HAProxy accepts and lbd refuses, errorfiles for 400
# and 408; an IPv6 client in ACLs; leastconn counting requests in flight;
# log targets stderr and a unix syslog socket.
# Runs in its own network namespace (unshare -n): only its loopback is used.
if [ -z "${XLB_IN_NS:-}" ]; then
	exec unshare -n env XLB_IN_NS=1 bash "$0" "$@"
fi
ip link set lo up
. "$(dirname "$0")/lib.sh"

P1=$(t_port); P2=$(t_port); FE=$(t_port); FE2=$(t_port)
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

frontend fe2
    bind 127.0.0.1:$FE2
    bind [::1]:$FE2
    timeout http-request 300ms
    errorfile 400 $T_TMP/400.http
    errorfile 408 $T_TMP/408.http
    acl v6 src ::1
    acl doc6 src 2001:db8::/32
    http-request return status 200 content-type text/plain string v6 if v6 !doc6
    use_backend lc if { hdr(x-lc) -m found }
    default_backend one
backend lc
    timeout http-keep-alive 1s
    balance leastconn
    server s1 127.0.0.1:$P1
    server s2 127.0.0.1:$P2
CFG
}
for s in 400 408; do
	printf 'HTTP/1.1 %s Custom\r\nContent-Length: 11\r\nX-Errorfile: %s\r\n\r\ncustom %s\n' \
		$s $s $s >"$T_TMP/$s.http"
done
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
# the backend's timeout http-keep-alive (1s) closes idle pooled connections:
# well within 3.5 s (timeout server and client are 5 s)
t0=$(date +%s%N)
no_srv_conns() { [ "$(srv_conns $1)" = 0 ]; }
wait_for 5 no_srv_conns $P1
dt=$((($(date +%s%N) - t0) / 1000000))
expect_eq "idle pooled server connection closed after timeout http-keep-alive (in ${dt} ms < 3500)" \
	"$(srv_conns $P1) $((dt < 3500))" "0 1"

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

# --- requests HAProxy 2.6 accepts and lbd refuses (400), sent raw
# status_of PORT BYTES: the status code of the response (printf escapes in BYTES)
status_of() {
	local line=
	exec 5<>"/dev/tcp/127.0.0.1/$1" || return
	printf "$2" >&5
	IFS= read -r -t 3 line <&5
	exec 5<&-
	line=${line#HTTP/1.? }
	echo "${line%% *}"
}
expect_eq "raw request: well-formed control" \
	"$(status_of $FE 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')" 200
while IFS='|' read -r what req; do
	expect_eq "stricter than HAProxy: $what gets 400" "$(status_of $FE "$req")" 400
done <<'REQS'
HTTP/1.2|GET / HTTP/1.2\r\nHost: x\r\n\r\n
HTTP/2.0 in an HTTP/1 request line|GET / HTTP/2.0\r\nHost: x\r\n\r\n
HTTP/1.1 without Host|GET / HTTP/1.1\r\n\r\n
two identical Host headers|GET / HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n
obs-fold (a header continued on the next line)|GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n
'*' target outside OPTIONS|GET * HTTP/1.1\r\nHost: x\r\n\r\n
Transfer-Encoding in HTTP/1.0|POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n
two spaces after the method|GET  / HTTP/1.1\r\nHost: x\r\n\r\n
NUL in a header value|GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n
REQS

# --- errorfile 400 and 408 (HAProxy 2.6 answers these from its connection layer, without them)
out=$(printf 'GET /a b HTTP/1.1\r\nHost: x\r\n\r\n' | timeout 3 nc -q 2 127.0.0.1 $FE2 | tr -d '\r')
check "errorfile 400 replaces the bad request page" grep -q '^X-Errorfile: 400' <<<"$out"
out=$( (printf 'GET / HTTP/1.1\r\n'; sleep 1) | timeout 3 nc 127.0.0.1 $FE2 | tr -d '\r')
check "errorfile 408 replaces the request timeout page" grep -q '^X-Errorfile: 408' <<<"$out"

# --- src with IPv6 clients and networks
expect_eq "src ::1 matches an IPv6 client" "$(get -g "http://[::1]:$FE2/")" "v6"
expect_eq "src ::1 does not match an IPv4 client" "$(get "http://127.0.0.1:$FE2/")" "s1"

# --- leastconn counts requests in flight: while one request is slow, the others go elsewhere
get -H "x-lc: 1" "http://127.0.0.1:$FE2/slow?ms=2500" >"$T_TMP/lc.slow" &
lc_pid=$!
# wait until the slow request is with a server (its client connection is up), however busy the machine
for i in $(seq 60); do
	[ "$(ss -Htn state established "( dport = :$FE2 )" | wc -l)" -ge 1 ] && break
	sleep 0.05
done
sleep 0.2
lc_fast=$(for i in 1 2 3 4; do get -H "x-lc: 1" "http://127.0.0.1:$FE2/"; echo; done | grep . | sort -u)
wait $lc_pid
lc_slow=$(grep . "$T_TMP/lc.slow")
check "leastconn: the fast requests all avoid the server busy with the slow one" \
	test -n "$lc_slow" -a -n "$lc_fast" -a "$(wc -l <<<"$lc_fast")" = 1 -a "$lc_fast" != "$lc_slow"
[ "$(wc -l <<<"$lc_fast")" = 1 ] && [ "$lc_fast" != "$lc_slow" ] ||
	echo "#   slow request on '$lc_slow', fast ones on '$(echo $lc_fast)'"

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
# (in flight: s1 holds the request, unanswered)
wait_pending 1 $P1 || fail "soft stop: the slow request reaches s1"
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

# --- log targets: stderr and a unix datagram syslog socket (as `log /dev/log local0`)
FE3=$(t_port)
socat -u UNIX-RECV:"$T_TMP/log.sock" OPEN:"$T_TMP/syslog.out",creat,append &
T_PIDS+=($!)
for i in $(seq 40); do [ -S "$T_TMP/log.sock" ] && break; sleep 0.05; done
# UDP syslog: one receiver takes every format-rfc5424 line, another stands
# behind a `notice` target that the info-level traffic lines must not reach.
UDPLOG=$(t_port)
UDPNOTICE=$(t_port)
socat -u UDP-RECV:$UDPLOG,bind=127.0.0.1 OPEN:"$T_TMP/udp.out",creat,append &
T_PIDS+=($!)
socat -u UDP-RECV:$UDPNOTICE,bind=127.0.0.1 OPEN:"$T_TMP/udp-notice.out",creat,append &
T_PIDS+=($!)
cat >"$T_TMP/logs.cfg" <<CFG
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    option httplog
frontend logs
    bind 127.0.0.1:$FE3
    log stderr format raw local0
    log $T_TMP/log.sock local0
    log 127.0.0.1:$UDPLOG len 120 format rfc5424 local3
    log udp@127.0.0.1:$UDPNOTICE local4 notice
    default_backend one
backend one
    server s1 127.0.0.1:$P1
CFG
"$LBD" -f "$T_TMP/logs.cfg" >/dev/null 2>"$T_TMP/logs.err" &
T_PIDS+=($!)
wait_port 127.0.0.1 $FE3 5
get -o /dev/null "http://127.0.0.1:$FE3/to-stderr"
sleep 0.3
check "log stderr: the httplog line" grep -Eq '^127\.0\.0\.1:[0-9]+ \[.*\] logs one/s1 .* 200 .*"GET /to-stderr HTTP/1.1"$' "$T_TMP/logs.err"
check "log to a unix socket: a syslog line (<134> = local0.info)" \
	grep -Eq '^<134>.*: 127\.0\.0\.1:[0-9]+ \[.*\] logs one/s1 .* 200 .*"GET /to-stderr HTTP/1.1"' "$T_TMP/syslog.out"
check "log to UDP, format rfc5424: <158>1 DATE HOST lbd PID - - then the line" \
	grep -Eq '^<158>1 [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+[+-][0-9:]{5} [^ ]+ lbd [0-9]+ - - 127\.0\.0\.1:[0-9]+ \[' "$T_TMP/udp.out"
# (socat appends the datagrams as they come: each starts with <158>1, every
# line here is longer than 120 bytes, so they start every 120 bytes)
udpsz=$(stat -c %s "$T_TMP/udp.out")
udpoffs=$(grep -aob '<158>1 ' "$T_TMP/udp.out" | cut -d: -f1 | tr '\n' ' ')
check "log len 120: each datagram is cut at 120 bytes (size $udpsz, starts at $udpoffs)" \
	bash -c "[ $udpsz -gt 0 ] && [ \$(($udpsz % 120)) = 0 ] && [ \"$udpoffs\" = \"\$(seq -s ' ' 0 120 $((udpsz - 1))) \" ]"
expect_eq "log ... notice: no info-level traffic line reaches it" "$(stat -c %s "$T_TMP/udp-notice.out" 2>/dev/null || echo 0)" 0
t_done
