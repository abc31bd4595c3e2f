#!/bin/bash
# HAProxy's HTTP statistics page served by lbd's L7 workers (`stats enable`,
# `stats uri`, `stats auth`, `stats refresh` ...): 401 and WWW-Authenticate,
# the HTML page listing servers with their state, `;csv` equal to `show stat`
# of the stats socket, states following `disable server` and health checks
# within the documented freshness (doc/http.md), methods (HEAD, POST, PUT),
# keep-alive (the page does not eat the next request), TLS binds, `stats
# scope`, a backend serving the page, `lbd -c` refusing stats in mode tcp;
# and, when HAProxy 2.6 is installed, the same status codes as HAProxy.
# Runs in its own network namespace (unshare -n): only its loopback is used.
if [ -z "${XLB_IN_NS:-}" ]; then
	exec unshare -n env XLB_IN_NS=1 bash "$0" "$@"
fi
ip link set lo up
. "$(dirname "$0")/lib.sh"

P1=$(t_port); P2=$(t_port); P3=$(t_port); ST=$(t_port); FE=$(t_port); TLS=$(t_port)
API=$T_TMP/api.sock
API_SOCK=$API
# hdr NAME: the value of a response header in curl -si output on stdin
hdr() { tr -d '\r' | awk -v n="$1" 'BEGIN{IGNORECASE=1} $0=="" {exit} index(tolower($0), tolower(n) ":")==1 {sub(/^[^:]*: */, ""); print}'; }
code() { get -o /dev/null -w '%{http_code}' "$@"; }
# csv_cols FIELDS: pxname,svname,status (or other) columns of CSV on stdin, header dropped
csv_cols() { grep -v '^#' | grep . | cut -d, -f"$1"; }

demo s1 127.0.0.1:$P1
demo s2 127.0.0.1:$P2
demo o1 127.0.0.1:$P3

# --- lbd -c: the page needs mode http
bad=$T_TMP/bad.cfg
cat >"$bad" <<CFG
listen db
    mode tcp
    bind 127.0.0.1:$ST
    stats uri /stats
    server s1 127.0.0.1:$P1
CFG
out=$("$LBD" -c -f "$bad" 2>&1)
expect_eq "lbd -c: stats in a mode tcp proxy is a config error" "$?" 1
check "lbd -c: the message names file:line and mode http" \
	grep -q "bad.cfg:4: proxy 'db': the statistics page ('stats ...') needs 'mode http'" <<<"$out"
sed -i 's|stats uri /stats|stats admin if TRUE|' "$bad"
out=$("$LBD" -c -f "$bad" 2>&1)
check "lbd -c: stats admin refused, pointing to the runtime API" \
	grep -q "bad.cfg:4: 'stats admin' is not supported by lbd.*runtime API" <<<"$out"

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T_TMP/k.pem" -out "$T_TMP/c.pem" -days 2 \
	-subj /CN=localhost >/dev/null 2>&1
cat "$T_TMP/c.pem" "$T_TMP/k.pem" >"$T_TMP/site.pem"

cfg=$T_TMP/stats.cfg
cat >"$cfg" <<CFG
global
    nbthread 2
    stats socket $API level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen stats
    bind 127.0.0.1:$ST
    stats enable
    stats uri /stats
    stats refresh 10s
    stats realm Haproxy\ Statistics
    stats auth admin:secret
    stats auth ops:s3cr:et
    stats hide-version
    stats show-legends
    server s1 127.0.0.1:$P1
frontend fe
    bind 127.0.0.1:$FE
    bind 127.0.0.1:$TLS ssl crt $T_TMP/site.pem
    stats uri /st
    stats scope .
    stats scope web
    use_backend other if { path_beg /other /ost }
    default_backend web
backend web
    server s1 127.0.0.1:$P1 check inter 200 fall 2 rise 2
    server s2 127.0.0.1:$P2 check inter 200 fall 2 rise 2
backend other
    stats uri /ost
    stats auth o:p
    server o1 127.0.0.1:$P3
CFG
start_lbd "$cfg" || fail "lbd starts"
if ! wait_port 127.0.0.1 $ST 5 || ! wait_port 127.0.0.1 $FE 5; then
	fail "lbd listens"
	sed 's/^/# /' "$T_TMP/lbd.log"
	exit 1
fi
for i in $(seq 50); do [ -S "$API" ] && break; sleep 0.05; done
# let the checks make the servers UP (rise 2, inter 200ms)
for i in $(seq 40); do
	[ "$(api "show stat" | awk -F, '$1=="web" && $18=="UP"' | wc -l)" = 2 ] && break
	sleep 0.1
done
sleep 0.6 # one snapshot after that

U=http://127.0.0.1:$ST/stats

# --- authentication
expect_eq "no credentials: 401" "$(code $U)" 401
expect_eq "401 carries WWW-Authenticate with the realm" \
	"$(get -i $U | hdr www-authenticate)" 'Basic realm="Haproxy Statistics"'
expect_eq "wrong password: 401" "$(code -u admin:wrong $U)" 401
expect_eq "unknown user: 401" "$(code -u nobody:secret $U)" 401
expect_eq "malformed Authorization: 401" "$(code -H 'Authorization: Basic !!!' $U)" 401
expect_eq "good credentials: 200" "$(code -u admin:secret $U)" 200
expect_eq "second stats auth line (password with a colon): 200" "$(code -u ops:s3cr:et $U)" 200

# --- the page
page=$(get -u admin:secret $U)
head_out=$(get -i -u admin:secret $U | tr -d '\r')
expect_eq "stats refresh 10s: Refresh header" "$(hdr refresh <<<"$head_out")" 10
expect_eq "HTML content type" "$(hdr content-type <<<"$head_out")" "text/html"
expect_eq ";norefresh drops the Refresh header" \
	"$(get -i -u admin:secret "$U;norefresh" | hdr refresh)" ""
check "HTML: a table per proxy (web, other)" \
	grep -q '<th class="pxname"[^>]*>web ' <<<"$page"
check "HTML: backend 'other' listed" grep -q '<th class="pxname"[^>]*>other ' <<<"$page"
for s in s1 s2; do
	check "HTML: web/$s listed UP" grep -Eq "<tr class=\"active_up\"><td class=\"name\">$s .*>[0-9a-z]+ UP</td>" <<<"$page"
done
check "HTML: o1 listed (no check)" grep -q '<td class="name">o1 .*no check</td>' <<<"$page"
check "HTML: backend and frontend rows" grep -q '<td class="name">Backend</td>' <<<"$page"
check "HTML: check status shown" grep -q 'L4OK' <<<"$page"
check "hide-version: no version in the page" test -z "$(grep -o 'version [0-9]' <<<"$page")"
check "show-legends: server addresses and the legend" \
	grep -q "127.0.0.1:$P1, id 1" <<<"$page"
check "process information" grep -q '<b>pid = </b>[0-9]' <<<"$page"

# --- CSV equals show stat
csv=$(get -u admin:secret "$U;csv")
stat=$(api "show stat")
expect_eq ";csv: text/plain" "$(get -i -u admin:secret "$U;csv" | hdr content-type)" "text/plain"
expect_eq ";csv: header line identical to show stat" "$(head -1 <<<"$csv")" "$(head -1 <<<"$stat")"
expect_eq ";csv: pxname,svname,status identical to show stat" \
	"$(csv_cols 1,2,18 <<<"$csv")" "$(csv_cols 1,2,18 <<<"$stat")"
expect_eq ";csv: iid,sid,type,addr,check_status identical" \
	"$(csv_cols 28,29,33,74 <<<"$csv")" "$(csv_cols 28,29,33,74 <<<"$stat")"
expect_eq ";csv: as many columns per row as show stat" \
	"$(awk -F, '{print NF}' <<<"$csv" | sort -u)" "$(grep . <<<"$stat" | awk -F, '{print NF}' | sort -u)"

# --- state changes show within the documented freshness (snapshot every 0.5 s)
api "disable server web/s1" >/dev/null
sleep 0.8
expect_eq "disable server: MAINT on ;csv within 0.8 s" \
	"$(get -u admin:secret "$U;csv" | awk -F, '$1=="web" && $2=="s1" {print $18}')" MAINT
check "disable server: MAINT on the HTML page" \
	grep -Eq '<tr class="maintain"><td class="name">s1 .*MAINT</td>' <<<"$(get -u admin:secret $U)"
expect_eq ";no-maint hides it" \
	"$(get -u admin:secret "$U;csv;no-maint" | awk -F, '$1=="web" && $2=="s1"' | wc -l)" 0
api "enable server web/s1" >/dev/null
for i in $(seq 40); do
	[ "$(api "show stat" | awk -F, '$1=="web" && $2=="s1" {print $18}')" = UP ] && break
	sleep 0.1
done
kill "${T_PIDS[1]}" # demo s2
ok_down=
for i in $(seq 40); do
	st=$(get -u admin:secret "$U;csv" | awk -F, '$1=="web" && $2=="s2" {print $18}')
	[ "$st" = DOWN ] && ok_down=1 && break
	sleep 0.1
done
check "server killed with checks on: DOWN on the page (fall 2, inter 200ms)" test -n "$ok_down"
check "server killed: HTML row is active_down" \
	grep -Eq '<tr class="active_down"><td class="name">s2 ' <<<"$(get -u admin:secret $U)"
expect_eq ";up hides the DOWN server" \
	"$(get -u admin:secret "$U;csv;up" | awk -F, '$2=="s2"' | wc -l)" 0

# --- methods
hd=$(curl -s -I --max-time 5 -u admin:secret $U | tr -d '\r')
expect_eq "HEAD: 200" "$(head -1 <<<"$hd" | cut -d' ' -f2)" 200
check "HEAD: headers only (content-length of the page)" grep -q '^content-length: [1-9]' <<<"$hd"
post=$(get -i -u admin:secret -d 'action=maint' $U | tr -d '\r')
expect_eq "POST (admin action): 303 as HAProxy without stats admin" "$(head -1 <<<"$post" | cut -d' ' -f2)" 303
expect_eq "POST: back to the page with ;st=DENY" "$(hdr location <<<"$post")" "/stats;st=DENY"
expect_eq "PUT: not for the page, proxied as HAProxy does" "$(get -u admin:secret -X PUT $U)" s1
expect_eq "DELETE without credentials: proxied too" "$(get -X DELETE $U)" s1
expect_eq ";json: refused with 501" "$(code -u admin:secret "$U;json")" 501

# --- keep-alive: the page does not consume backend traffic
v=$(curl -sv --max-time 5 "http://127.0.0.1:$FE/st;csv" "http://127.0.0.1:$FE/hello" 2>&1)
check "stats then a proxied request on the same connection: reused" grep -q 'Re-using existing connection' <<<"$v"
check "the request after the page reaches the backend" grep -qx 's1' <<<"$v"
v=$(curl -sv --max-time 5 "http://127.0.0.1:$FE/hello" "http://127.0.0.1:$FE/st" "http://127.0.0.1:$FE/other" 2>&1)
check "proxied, page, proxied on one connection" \
	test "$(grep -c 'Re-using existing connection' <<<"$v")" = 2 -a "$(grep -cx 's1\|o1' <<<"$v")" = 2
expect_eq "a path shorter than the stats uri is proxied" "$(get "http://127.0.0.1:$FE/s")" s1
# pipelined: two requests in one write
pipe=$(printf 'GET /st;csv HTTP/1.1\r\nHost: x\r\n\r\nGET /p HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
	timeout 5 nc -q 3 127.0.0.1 $FE | tr -d '\r')
expect_eq "pipelined: page then proxied answer" "$(grep -c '^HTTP/1.1 200' <<<"$pipe"),$(tail -1 <<<"$pipe")" "2,s1"

# --- stats scope: only the frontend itself and web
scoped=$(get "http://127.0.0.1:$FE/st;csv")
expect_eq "stats scope . and web: only fe and web rows" \
	"$(csv_cols 1 <<<"$scoped" | sort -u | tr '\n' ' ')" "fe web "
check "stats scope: no auth configured, no 401" test "$(code "http://127.0.0.1:$FE/st")" = 200
check "no stats refresh: no Refresh header" test -z "$(get -i "http://127.0.0.1:$FE/st" | hdr refresh)"

# --- a backend with stats serves the page once routed to (use_backend, then its rules)
expect_eq "backend stats: 401 after use_backend" "$(code "http://127.0.0.1:$FE/ost")" 401
expect_eq "backend stats: HAProxy's default realm" \
	"$(get -i "http://127.0.0.1:$FE/ost" | hdr www-authenticate)" 'Basic realm="HAProxy Statistics"'
expect_eq "backend stats: 200 with its credentials" "$(code -u o:p "http://127.0.0.1:$FE/ost")" 200
expect_eq "backend stats: other paths of that backend proxied" "$(get "http://127.0.0.1:$FE/other")" o1

# --- TLS bind
tls=$(curl -sk --max-time 5 "https://127.0.0.1:$TLS/st;csv")
expect_eq "TLS: ;csv header over https" "$(head -1 <<<"$tls")" "$(head -1 <<<"$stat")"
v=$(curl -skv --max-time 5 "https://127.0.0.1:$TLS/st" "https://127.0.0.1:$TLS/x" 2>&1)
check "TLS keep-alive: page then proxied request" \
	test "$(grep -c 'Re-using existing connection' <<<"$v")" = 1 -a "$(grep -cx 's1' <<<"$v")" = 1

# --- only the proxy's own stats uri is answered
expect_eq "stats uri /st: /haproxy?stats is proxied" "$(get "http://127.0.0.1:$FE/haproxy?stats")" s1

# --- HAProxy 2.6 answers the same status codes
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
if [ -x "$HAPROXY" ]; then
	HP=$(t_port)
	cat >"$T_TMP/h.cfg" <<CFG
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen stats
    bind 127.0.0.1:$HP
    stats uri /stats
    stats refresh 10s
    stats auth admin:secret
    server s1 127.0.0.1:$P1
CFG
	"$HAPROXY" -f "$T_TMP/h.cfg" -db >"$T_TMP/haproxy.log" 2>&1 &
	T_PIDS+=($!)
	wait_port 127.0.0.1 $HP 5
	H=http://127.0.0.1:$HP/stats
	for c in "" "-u admin:wrong" "-u admin:secret" "-u admin:secret -I" \
		"-u admin:secret -d a=b" "-u admin:secret -X PUT"; do
		# shellcheck disable=SC2086
		expect_eq "same status as HAProxy: ${c:-no credentials}" "$(code $c $U)" "$(code $c $H)"
	done
	expect_eq "same Refresh header as HAProxy" "$(get -i -u admin:secret "$U;csv" | hdr refresh)" \
		"$(get -i -u admin:secret "$H;csv" | hdr refresh)"
	expect_eq "same CSV header as HAProxy" "$(get -u admin:secret "$U;csv" | head -1)" \
		"$(get -u admin:secret "$H;csv" | head -1)"
	expect_eq "same default realm as HAProxy" "$(get -i $H | hdr www-authenticate | sed 's/Basic realm=//')" '"HAProxy Statistics"'
else
	skip "HAProxy not installed: no comparison"
fi

check "lbd still running" kill -0 "$LBD_PID"
t_done
