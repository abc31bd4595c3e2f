#!/bin/bash
# log-format, unique-id-format / unique-id-header and header captures:
# the SAME config runs on lbd and on /usr/sbin/haproxy (2.6, the oracle),
# both logging to stdout in format raw; the same requests go through both
# and their lines must be equal once the values that legitimately differ
# are masked (dates, timers, client and frontend ports, the pid and request
# counter inside unique-ids, %B/%U which count each proxy's own rewritten
# heads, and the connection counters of mode tcp). Then lbd alone: the
# unique-id header the server receives, `option httplog` byte layout, and
# config errors reported by `lbd -c` with file:line.
# Runs in its own network namespace (unshare -n): only its loopback is used.
if [ -z "${XLB_IN_NS:-}" ]; then
	exec unshare -n env XLB_IN_NS=1 bash "$0" "$@"
fi
ip link set lo up
. "$(dirname "$0")/lib.sh"

HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
P1=$(t_port)
demo s1 127.0.0.1:$P1

# write_cfg BASE: the shared config, frontends on ports BASE..BASE+4
write_cfg() {
	local b=$1
	cat <<CFG
global
    nbthread 1
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    log stdout format raw local0
frontend fe_json
    bind 127.0.0.1:$b
    capture request header Host len 32
    capture request header X-Q len 12
    capture response header X-Server len 8
    unique-id-format %{+X}o\ %ci:%cp_%fi:%fp_%Ts_%rt:%pid
    unique-id-header X-Unique-ID
    http-request set-header X-Uid-Copy %ID
    log-format "J {\"client\":\"%ci\",\"cport\":%cp,\"date\":\"%tr\",\"fe\":%{+Q}ft,\"f\":\"%f\",\"be\":%{+Q}b,\"srv\":%{+Q}s,\"TR\":%TR,\"Tw\":%Tw,\"Tc\":%Tc,\"Tr\":%Tr,\"Ta\":%Ta,\"Tt\":%Tt,\"Th\":%Th,\"Ti\":%Ti,\"Tq\":%Tq,\"status\":%ST,\"bytes\":%B,\"in\":%U,\"req\":%{+Q}r,\"method\":%{+Q}HM,\"uri\":%{+Q}HU,\"path\":%{+Q}HP,\"query\":%{+Q}HQ,\"ver\":%{+Q}HV,\"tsc\":\"%tsc\",\"ts\":\"%ts\",\"hr\":%{+Q}hr,\"hrl\":[%{+Q}hrl],\"hs\":\"%hs\",\"hsl\":\"%hsl\",\"host\":%{+Q}[capture.req.hdr(0)],\"q\":\"%{+E}[capture.req.hdr(1)]\",\"srvhdr\":%{+Q}[capture.res.hdr(0)],\"uid\":%{+Q}ID,\"uid2\":\"%[unique-id]\",\"src\":\"%[src]\",\"conns\":\"%ac/%fc/%bc/%sc/%rc\",\"queue\":\"%sq/%bq\",\"si\":\"%si:%sp\",\"fi\":\"%fi\",\"cc\":\"%CC/%CS\",\"pct\":\"%%\"}"
    default_backend be
frontend fe_httplog
    bind 127.0.0.1:$((b + 1))
    option httplog
    capture request header Host len 32
    capture request header X-Q len 12
    capture response header X-Server len 8
    capture response header X-None len 8
    default_backend be
frontend fe_clf
    bind 127.0.0.1:$((b + 2))
    option httplog clf
    capture request header X-Q len 12
    capture response header X-Server len 8
    default_backend be
frontend fe_misc
    bind 127.0.0.1:$((b + 3))
    log-format "M   %{+Q}o%r %HM %{-Q}HU %ST %hr %hrl %hs %hsl %ID %ts %{+X}ci %{+Q}[src_port,upper]\ %{+Q}ms|%{+X}ms|%{+Q}b|%{+E}HU  end "
    capture request header X-Q len 12
    default_backend be
listen tcp
    mode tcp
    bind 127.0.0.1:$((b + 4))
    unique-id-format %{+X}o\ %ci:%cp_%fi:%fp_%Ts_%rt:%pid
    log-format "T %ci %fi %b/%s %ST %B %U %ts %tsc [%hr] {%hrl} %{+Q}ID %[src] %{+Q}[dst_port] %Tw/%Tc/%Tt %ac/%fc/%bc/%sc/%rc %sq/%bq %si:%sp %[capture.req.hdr(0)] %{+Q}[unique-id]"
    server s1 127.0.0.1:$P1
backend be
    server s1 127.0.0.1:$P1
CFG
}

# send_reqs BASE: the same requests, in order, to one proxy
send_reqs() {
	local b=$1 xq='X-Q: a"b\c]{|}#xyz'
	get -o /dev/null -A curl/x -H "$xq" "http://127.0.0.1:$b/a?b=c"
	get -o /dev/null -A curl/x -H "$xq" "http://127.0.0.1:$((b + 1))/a?b=c"
	get -o /dev/null -A curl/x -H "$xq" "http://127.0.0.1:$((b + 2))/a?b=c"
	get -o /dev/null -A curl/x -H "$xq" "http://127.0.0.1:$((b + 3))/a?b=c"
	get -o /dev/null "http://127.0.0.1:$b/status/404"
	get -o /dev/null "http://127.0.0.1:$((b + 1))/p?"
	get -o /dev/null -0 "http://127.0.0.1:$((b + 3))/x/y"
	# a bad request, the connection held until the 400 (HAProxy logs CR if it sees the FIN first)
	(
		exec 5<>"/dev/tcp/127.0.0.1/$((b + 3))" || exit
		printf 'GE T / HTTP/1.1\r\nX-Q: zz\r\n\r\n' >&5
		read -r -t 3 _ <&5
	)
	get -o /dev/null "http://127.0.0.1:$((b + 4))/tcp"
}

# listening BASE: the five ports listen (checked without connecting: a probe would be logged)
listening() {
	local p
	for p in $1 $(($1 + 1)) $(($1 + 2)) $(($1 + 3)) $(($1 + 4)); do
		ss -Hltn "( sport = :$p )" | grep -q . || return 1
	done
}

# mask: replace what legitimately differs between the two proxies
DATE='[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})?( \+0000)?'
mask() {
	sed -E \
		-e "s#$DATE#DATE#g" \
		-e 's/7F000001:[0-9A-F]{4}_7F000001:[0-9A-F]{4}_[0-9A-F]{8}_[0-9A-F]{4}:[0-9A-F]+/UID/g' \
		-e 's/127\.0\.0\.1:[0-9]+/127.0.0.1:P/g' \
		-e 's/"(cport|TR|Tw|Tc|Tr|Ta|Tt|Th|Ti|Tq|bytes|in)":-?[0-9]+/"\1":N/g' \
		-e 's#^(127\.0\.0\.1:P \[DATE\] fe_httplog [^ ]+) [-0-9/]+ ([0-9]+) [0-9]+ #\1 T \2 B #' \
		-e 's#^(127\.0\.0\.1 - - \[DATE\] "[^"]*" [0-9]+) [0-9]+ "" "" [0-9]+ [0-9]+ ("[^"]*" "[^"]*" "[^"]*")( -?[0-9]+){5} #\1 B "" "" CP MS \2 T #' \
		-e 's#^(M .*) "[0-9]+" [0-9]+\|[0-9A-F]+\|#\1 "CP" MS|MSX|#' \
		-e 's#^(T [^ ]+ [^ ]+ [^ ]+ -1 [0-9]+ [0-9]+ .* "UID" [^ ]+) "[0-9]+" [-0-9/]+ [-0-9/+]+ #\1 "FP" T CONNS #'
}

# two blocks of five free ports (nothing else runs in this namespace)
LB=$(t_port)
HB=$((LB + 100))
write_cfg $LB >"$T_TMP/lbd.cfg"
write_cfg $HB >"$T_TMP/h.cfg"

check "lbd -c accepts the shared config" "$LBD" -c -q -f "$T_TMP/lbd.cfg"
start_lbd "$T_TMP/lbd.cfg" || fail "lbd starts"
wait_for 5 listening $LB || fail "lbd listens"
send_reqs $LB
# lbd-only: the unique-id the server receives is the one logged; a client's is kept
echo_body=$(get -H "X-Unique-ID: client" "http://127.0.0.1:$LB/echo" | tr -d '\r')
sleep 0.3
grep -E '^[JMT] |fe_httplog|fe_clf' "$T_TMP/lbd.log" >"$T_TMP/lbd.lines"

if [ ! -x "$HAPROXY" ]; then
	skip "haproxy is not installed: no comparison"
else
	"$HAPROXY" -f "$T_TMP/h.cfg" -db >"$T_TMP/haproxy.log" 2>"$T_TMP/haproxy.err" &
	T_PIDS+=($!)
	if wait_for 5 listening $HB; then
		send_reqs $HB
		sleep 0.3
	else
		fail "haproxy listens"
		cat "$T_TMP/haproxy.err"
	fi
	grep -E '^[JMT] |fe_httplog|fe_clf' "$T_TMP/haproxy.log" >"$T_TMP/h.lines"
	expect_eq "both logged the 9 requests" \
		"$(wc -l <"$T_TMP/lbd.lines") $(wc -l <"$T_TMP/h.lines")" "10 9"
	mask <"$T_TMP/lbd.lines" | head -9 >"$T_TMP/lbd.masked"
	mask <"$T_TMP/h.lines" >"$T_TMP/h.masked"
	names=("JSON log-format with %{+Q}, %{+E}, captures, %[...] and unique-id"
		"option httplog with request and response captures"
		"option httplog clf"
		"%{+Q}o, %{-Q}, +X, +E, separators and trailing space"
		"JSON line of a 404 without X-Q (empty capture, empty query)"
		"option httplog: empty captures, empty query"
		"HTTP/1.0 request: %hr with an absent header"
		"<BADREQ>: no captures, no unique-id"
		"mode tcp log-format: %ST -1, HTTP captures empty, %ID and samples")
	for i in "${!names[@]}"; do
		l=$(sed -n "$((i + 1))p" "$T_TMP/lbd.masked")
		h=$(sed -n "$((i + 1))p" "$T_TMP/h.masked")
		expect_eq "same line as HAProxy: ${names[$i]}" "$l" "$h"
	done
fi

# the masks hid only what they should: spot checks of lbd's raw lines
check "httplog line: captures between the queues and the request" \
	grep -Eq '^127\.0\.0\.1:[0-9]+ \[[^]]+\] fe_httplog be/s1 [0-9]+/[0-9]+/[0-9]+/[0-9]+/[0-9]+ 200 [0-9]+ - - ---- [0-9/]+ 0/0 \{127\.0\.0\.1:'$((LB + 1))'\|a#22b\\c\]#7B#7C#7D#23xy\} \{s1\|\} "GET /a\?b=c HTTP/1\.1"$' \
	"$T_TMP/lbd.lines"
check "JSON line: capture with +E, response capture, %%" \
	grep -Fq '"q":"a\"b\\c\]{|}#xy","srvhdr":"s1"' "$T_TMP/lbd.lines"
uid=$(grep -o '^J .*"uri":"/echo".*' "$T_TMP/lbd.lines" | grep -Eo '"uid":"[^"]*"' | cut -d'"' -f4)
check "unique-id logged for /echo" test -n "$uid"
expect_eq "the server receives the logged unique-id in X-Unique-ID" \
	"$(grep -i '^x-unique-id: 7F' <<<"$echo_body")" "X-Unique-ID: $uid"
expect_eq "http-request set-header with %ID sends the same unique-id" \
	"$(grep -i '^x-uid-copy: ' <<<"$echo_body")" "X-Uid-Copy: $uid"
expect_eq "the client's own X-Unique-ID is kept (as HAProxy)" \
	"$(grep -ic '^x-unique-id: client$' <<<"$echo_body")" 1
expect_eq "%[unique-id] is %ID" \
	"$(grep -c '"uid":"\([^"]*\)","uid2":"\1"' "$T_TMP/lbd.lines")" 3

# --- config errors: lbd -c names file:line and the variable (HAProxy refuses them too)
bad=$T_TMP/bad.cfg
cfg_err() {
	printf 'defaults\n mode %s\n log stdout format raw local0\n timeout client 1s\n timeout server 1s\n timeout connect 1s\nfrontend f\n bind 127.0.0.1:%s\n %s\n default_backend b\nbackend b\n server s 127.0.0.1:%s\n' \
		"$1" "$LB" "$2" "$P1" >"$bad"
	"$LBD" -c -f "$bad" >"$T_TMP/c.out" 2>&1
	local rc=$?
	head -1 "$T_TMP/c.out"
	return $rc
}
out=$(cfg_err http 'log-format "%ci %foo"')
rc=$?
expect_eq "lbd -c: an unknown variable makes the config invalid" "$rc" 1
check "lbd -c: the message names file:line and the variable ($out)" \
	grep -q "bad.cfg:9: .*no such format variable '%foo'" <<<"$out"
if [ -x "$HAPROXY" ]; then
	check "haproxy -c refuses it too" bash -c "! '$HAPROXY' -c -f '$bad' >/dev/null 2>&1"
fi
out=$(cfg_err tcp 'log-format "%ci %r"')
check "lbd -c: an HTTP variable in a mode tcp log-format is refused ($out)" \
	grep -q "bad.cfg:9: .*format variable '%r' is reserved for mode http" <<<"$out"
if [ -x "$HAPROXY" ]; then
	check "haproxy -c refuses it too" bash -c "! '$HAPROXY' -c -f '$bad' >/dev/null 2>&1"
fi
out=$(cfg_err http 'unique-id-format %[nosuch]')
check "lbd -c: an unknown fetch in unique-id-format ($out)" \
	grep -q "bad.cfg:9: .*unique-id-format.*unknown fetch method 'nosuch'" <<<"$out"
out=$(cfg_err http 'log-format %[res.hdr(x)]')
check "lbd -c: a response fetch in log-format is refused ($out)" \
	grep -q "bad.cfg:9: .*'res.hdr' is not available" <<<"$out"
out=$(cfg_err http 'capture cookie c len 10')
check "lbd -c: capture cookie refused by name ($out)" \
	grep -q "bad.cfg:9: 'capture cookie' is not supported by lbd" <<<"$out"
out=$(cfg_err http 'log-format "a% b"')
check "lbd -c: a lone % is refused ($out)" grep -q "bad.cfg:9: .*near '% b'" <<<"$out"

t_done
