#!/bin/bash
# Cookie persistence in lbd's L7 proxy (`cookie NAME insert|rewrite|prefix
# ...`, `server ... cookie VALUE`), for what tests/vtc/l7_cookie.vtc cannot
# show: config errors with file:line, many requests sticking to a server,
# what the server receives (demo-server's /echo), servers put in maintenance
# or drained through the runtime API, a server added with `add server ...
# cookie`, keep-alive with alternating cookies on one client connection (and
# the server connection pool), a hashing algorithm, `option redispatch` when
# the persisted server refuses. Where HAProxy 2.6 is installed, the same
# config runs through it too and the Set-Cookie / Cache-Control headers,
# the chosen servers, and the status and %tsc logged for each request (its
# last two characters: the persistence cookie letters) must be the same.
# Runs in its own network namespace (unshare -n): only its loopback is used.
if [ -z "${XLB_IN_NS:-}" ]; then
	exec unshare -n env XLB_IN_NS=1 bash "$0" "$@"
fi
ip link set lo up
. "$(dirname "$0")/lib.sh"

HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
P1=$(t_port); P2=$(t_port); P3=$(t_port); P4=$(t_port); DEAD=$(t_port)
demo w1 127.0.0.1:$P1
demo w2 127.0.0.1:$P2
demo w3 127.0.0.1:$P3
demo w4 127.0.0.1:$P4

# --- config errors, with file:line
bad=$T_TMP/bad.cfg
bad_cookie() {
	cat >"$bad" <<CFG
defaults
    mode http
backend be
    cookie SRV $1
    server s1 127.0.0.1:$P1 cookie s1
CFG
	"$LBD" -c -f "$bad" 2>&1
}
out=$(bad_cookie "insert rewrite")
check "lbd -c: two cookie modes are refused (file:line)" \
	grep -q "bad.cfg:4:.*'rewrite', 'insert' and 'prefix' are incompatible" <<<"$out"
out=$(bad_cookie "insert dynamic")
check "lbd -c: 'cookie ... dynamic' is refused, naming the option" \
	grep -q "bad.cfg:4:.*option 'dynamic'.*not supported" <<<"$out"
out=$(bad_cookie "preserve")
check "lbd -c: 'preserve' without insert or indirect is refused" \
	grep -q "bad.cfg:4:.*'preserve' requires" <<<"$out"
out=$(bad_cookie 'insert attr "a;b"')
check "lbd -c: ';' in an attribute is refused" grep -q "bad.cfg:4:.*attribute" <<<"$out"
out=$(bad_cookie "insert indirect nocache maxidle 30m maxlife 8h domain .a.example")
expect_eq "lbd -c: insert indirect nocache maxidle maxlife domain is valid" "$?" 0
cat >"$bad" <<CFG
defaults
    mode http
backend be
    cookie SRV insert
    option persist
    server s1 127.0.0.1:$P1 cookie s1
CFG
out=$("$LBD" -c -f "$bad" 2>&1)
check "lbd -c: 'option persist' is refused, not ignored" grep -q "bad.cfg:5:.*persist" <<<"$out"

# --- the proxies: the same config for lbd and haproxy (FE and API differ)
write_cfg() { # FILE FE_PORT API_SOCKET
	cat >"$1" <<CFG
global
    stats socket $3 level admin
defaults
    mode http
    log stdout format raw local0
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
frontend ins
    bind 127.0.0.1:$2
    log-format "CK %HQ %ST %tsc"
    http-request deny if { path_beg /fdeny }
    use_backend ind if { path_beg /ind }
    use_backend rw if { path_beg /rw }
    use_backend pfx2 if { path_beg /px }
    use_backend srvck if { path_beg /sc }
    use_backend keep if { path_beg /keep }
    use_backend nock if { path_beg /nock }
    use_backend dates if { path_beg /d/ }
    use_backend passive if { path_beg /pv }
    use_backend hashed if { path_beg /h/ }
    use_backend pfx if { hdr(x-be) -m str pfx }
    use_backend post if { path_beg /post }
    use_backend redisp if { path_beg /r/ }
    default_backend app
backend app
    balance roundrobin
    cookie SERVERID insert indirect nocache httponly domain .example.com
    server w1 127.0.0.1:$P1 cookie w1
    server w2 127.0.0.1:$P2 cookie w2
    server w3 127.0.0.1:$P3 cookie w3
backend hashed
    balance uri
    hash-type consistent
    cookie SERVERID insert indirect
    server w1 127.0.0.1:$P1 cookie w1
    server w2 127.0.0.1:$P2 cookie w2
    server w3 127.0.0.1:$P3 cookie w3
backend pfx
    balance roundrobin
    cookie JSESSIONID prefix
    server w1 127.0.0.1:$P1 cookie w1
    server w2 127.0.0.1:$P2 cookie w2
backend post
    cookie SRV insert postonly secure
    server w1 127.0.0.1:$P1 cookie w1
backend redisp
    balance roundrobin
    retries 2
    option redispatch
    cookie SERVERID insert indirect
    server w1 127.0.0.1:$P1 cookie w1
    server dead 127.0.0.1:$DEAD cookie dead
backend rw
    balance roundrobin
    cookie SERVERID rewrite
    http-response add-header Set-Cookie "SERVERID=app; path=/"
    server w1 127.0.0.1:$P1 cookie w1
    server w2 127.0.0.1:$P2 cookie w2
backend pfx2
    cookie JSESSIONID prefix
    http-response add-header Set-Cookie "JSESSIONID=app7"
    server w1 127.0.0.1:$P1 cookie w1
backend srvck
    cookie SRV insert
    http-response add-header Set-Cookie "SRV=own"
    server w1 127.0.0.1:$P1 cookie w1
backend keep
    cookie SRV insert preserve
    http-response add-header Set-Cookie "SRV=own"
    server w1 127.0.0.1:$P1 cookie w1
backend nock
    cookie SRV insert
    server w1 127.0.0.1:$P1
backend dates
    cookie SRV insert maxidle 1h maxlife 1d
    http-request deny if { path_beg /d/deny }
    server w1 127.0.0.1:$P1 cookie w1
backend ind
    cookie SID indirect
    http-response add-header Set-Cookie "SID=abc"
    server w1 127.0.0.1:$P1 cookie w1
backend passive
    cookie SID
    http-response add-header Set-Cookie "SID=abc"
    server w1 127.0.0.1:$P1 cookie w1
CFG
}
FE=$(t_port)
API=$T_TMP/lbd.sock
write_cfg "$T_TMP/lbd.cfg" "$FE" "$API"
start_lbd "$T_TMP/lbd.cfg" || fail "lbd starts"
wait_port 127.0.0.1 "$FE" 5
API_SOCK=$API

# curl -si; prints the response head lowercased names: "set-cookie: ..." etc.
head_of() { # URL [curl args]
	local url=$1
	shift
	curl -s -D - -o /dev/null --max-time 5 "$@" "$url" | tr -d '\r' |
		sed -E 's/^([A-Za-z-]+):/\L\1:/'
}
hdr() { # NAME (from stdin)
	grep -i "^$1:" | head -1 | sed -E 's/^[^:]+: ?//'
}
B=http://127.0.0.1:$FE

# --- insert indirect nocache
h=$(head_of "$B/")
first=$(hdr x-server <<<"$h")
expect_eq "insert: the first response sets the cookie of the server it came from" \
	"$(hdr set-cookie <<<"$h")" "SERVERID=$first; path=/; domain=.example.com; HttpOnly"
expect_eq "nocache: no Cache-control: private on a response no cache would store (as HAProxy)" \
	"$(hdr cache-control <<<"$h")" ""
n=0 sc=0
for i in $(seq 20); do
	h=$(head_of "$B/" -H "Cookie: SERVERID=$first")
	[ "$(hdr x-server <<<"$h")" = "$first" ] && n=$((n + 1))
	[ -n "$(hdr set-cookie <<<"$h")" ] && sc=$((sc + 1))
done
expect_eq "insert: 20 requests with the cookie all go to its server" "$n" 20
expect_eq "indirect: no Set-Cookie when the client has the right one" "$sc" 0
echo_body=$(get "$B/echo" -H "Cookie: a=1; SERVERID=w2; b=2")
check "a request with another server's value goes there" grep -q "^X-Server: w2" \
	<<<"$(curl -s -D - -o /dev/null "$B/echo" -H "Cookie: SERVERID=w2")"
check "indirect: the server does not receive the persistence cookie" \
	grep -q "^Cookie: a=1; b=2" <<<"$echo_body"
check "indirect: ... nothing of it is left" \
	bash -c '! grep -qi "SERVERID" <<<"$1"' _ "$echo_body"
h=$(head_of "$B/" -H "Cookie: SERVERID=nosuch")
expect_eq "an unknown value is load-balanced and gets a new cookie" \
	"$(hdr set-cookie <<<"$h" | cut -d';' -f1)" "SERVERID=$(hdr x-server <<<"$h")"

# --- maintenance and drain through the runtime API
api "disable server app/w2" >/dev/null
bad2=0
for i in 1 2 3 4; do
	h=$(head_of "$B/" -H "Cookie: SERVERID=w2")
	s=$(hdr x-server <<<"$h")
	c=$(hdr set-cookie <<<"$h" | cut -d';' -f1)
	[ "$s" != w2 ] && [ "$c" = "SERVERID=$s" ] || bad2=$((bad2 + 1))
done
expect_eq "a server in maintenance: its cookie's requests are balanced and get a new cookie" \
	"$bad2" 0
api "enable server app/w2" >/dev/null
api "set server app/w3 state drain" >/dev/null
h=$(head_of "$B/" -H "Cookie: SERVERID=w3")
expect_eq "a draining server still takes its persistent requests" \
	"$(hdr x-server <<<"$h")/$(hdr set-cookie <<<"$h")" "w3/"
seen3=0
for i in $(seq 6); do
	[ "$(get "$B/")" = w3 ] && seen3=$((seen3 + 1))
done
expect_eq "... but no balanced one" "$seen3" 0
api "set server app/w3 state ready" >/dev/null

# --- a server added on the runtime API with a cookie
out=$(api "add server app/w4 127.0.0.1:$P4 cookie w4")
check "add server ... cookie is accepted" grep -q "New server registered" <<<"$out"
api "enable server app/w4" >/dev/null
expect_eq "an added server's cookie sends requests to it" \
	"$(get "$B/" -H "Cookie: SERVERID=w4")" w4
api "disable server app/w4" >/dev/null
api "del server app/w4" >/dev/null
h=$(head_of "$B/" -H "Cookie: SERVERID=w4")
check "after del server, its cookie is balanced again" \
	grep -q "^set-cookie: SERVERID=w[123];" <<<"$h"

# --- keep-alive: alternating cookies on one client connection
ka=$(python3 - "$FE" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = s.makefile("rb")
out = []
for i in range(12):
    srv = ["w1", "w2", "w3"][i % 3]
    s.sendall(("GET /echo HTTP/1.1\r\nHost: x\r\nCookie: k=%d; SERVERID=%s\r\n\r\n" % (i, srv)).encode())
    status = f.readline()
    hdrs = {}
    while True:
        l = f.readline().decode().rstrip("\r\n")
        if not l:
            break
        k, v = l.split(":", 1)
        hdrs[k.lower()] = v.strip()
    body = f.read(int(hdrs.get("content-length", "0"))).decode()
    okc = ("Cookie: k=%d\r\n" % i) in body and "SERVERID" not in body
    out.append("%s=%s%s%s" % (srv, hdrs.get("x-server"), "" if okc else "!cookie",
                              "!setcookie" if "set-cookie" in hdrs else ""))
print(" ".join(out))
PY
)
want=$(for i in $(seq 0 11); do s=w$((i % 3 + 1)); printf '%s=%s ' $s $s; done)
expect_eq "keep-alive: each request of one connection follows its own cookie (pooled server connections included)" \
	"$ka" "${want% }"

# --- a hashing algorithm: the cookie wins over the hash
hs=$(get "$B/h/some/path")
other=w1
[ "$hs" = w1 ] && other=w2
expect_eq "balance uri: the cookie overrides the hash" \
	"$(get "$B/h/some/path" -H "Cookie: SERVERID=$other")" "$other"

# --- prefix: the server part is removed from the request
pb=$(get "$B/echo" -H "x-be: pfx" -H "Cookie: JSESSIONID=w2~app42; z=9")
check "prefix: the request goes to the server of the prefix" grep -q "^X-Server: w2" \
	<<<"$(curl -s -D - -o /dev/null "$B/" -H "x-be: pfx" -H "Cookie: JSESSIONID=w2~app42")"
check "prefix: the server receives its own value" grep -q "^Cookie: JSESSIONID=app42; z=9" \
	<<<"$pb"

# --- option redispatch: the persisted server refuses
h=$(head_of "$B/r/" -H "Cookie: SERVERID=dead")
expect_eq "redispatch: a refused persistent request ends on another server with a new cookie" \
	"$(hdr x-server <<<"$h")/$(hdr set-cookie <<<"$h")" "w1/SERVERID=w1; path=/"

# --- show stat keeps its format
cols=$(api "show stat" | head -1 | tr ',' '\n' | grep -c .)
check "show stat still has its columns" test "$cols" -gt 60

# --- the same requests through HAProxy 2.6: identical headers and servers
sequence() { # BASE: print what the client sees for a fixed sequence
	local b=$1 u
	for u in "/" "/ -H Cookie:SERVERID=w2" "/ -H Cookie:SERVERID=nosuch" \
		"/ -H Cookie:SERVERID=w3;a=b" "/ -H x-be:pfx -H Cookie:JSESSIONID=w1~x" "/post" \
		"/post -X POST -d x" "/h/a/b/c" "/h/a/b/c -H Cookie:SERVERID=w3"; do
		# shellcheck disable=SC2086
		head_of "$b${u%% *}" $([ "$u" != "${u#* }" ] && echo "${u#* }") |
			grep -E "^(set-cookie|cache-control|x-server):" | sort | tr '\n' '|'
		echo
	done
}
# --- the persistence letters of %tsc (its last two characters), request by
# request: "STEP LETTERS" for a fixed sequence, LETTERS as lbd must log them
ckdate() { # SECONDS: HAProxy's cookie date (4-second units, 5 base64 characters)
	local a=ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/
	local u=$((($1 >> 2) & 0x3fffffff)) i s=
	for i in 4 3 2 1 0; do
		s+=${a:$(((u >> (6 * i)) & 63)):1}
	done
	echo "$s"
}
CK_N=0
ckreq() { # BASE LETTERS PATH [curl args]: one request, logged with ?ck=N
	local b=$1 want=$2 path=$3
	shift 3
	CK_N=$((CK_N + 1))
	echo "$CK_N $want" >>"$T_TMP/ck.want"
	curl -s -o /dev/null --max-time 10 "$@" "$b$path?ck=$CK_N"
}
ck_sequence() { # BASE API_SOCKET LOG: prints "N %tsc" for each request
	local b=$1 sock=$2 log=$3 now
	local old new fut
	now=$(date +%s)
	old=$(ckdate 4)
	new=$(ckdate $((now - 100)))
	fut=$(ckdate $((now + 600)))
	capi() { printf '%s\n' "$*" | socat -t 5 - UNIX-CONNECT:"$sock" >/dev/null; }
	CK_N=0
	: >"$T_TMP/ck.want"
	ckreq "$b" NI /                                     # balanced, cookie inserted
	ckreq "$b" VN / -H "Cookie: SERVERID=w2"            # valid, nothing to insert
	ckreq "$b" II / -H "Cookie: SERVERID=nosuch"        # names no server
	ckreq "$b" II / -H "Cookie: SERVERID="              # empty value
	ckreq "$b" VN / -H "Cookie: SERVERID=w1; SERVERID=w3" # the first one is used
	ckreq "$b" VN / -H "Cookie: SERVERID=nosuch; SERVERID=w3"
	capi "disable server app/w2"
	ckreq "$b" DI / -H "Cookie: SERVERID=w2"            # server in maintenance
	capi "enable server app/w2"
	capi "set server app/w3 state drain"
	ckreq "$b" VN / -H "Cookie: SERVERID=w3"            # draining: still valid
	capi "set server app/w3 state ready"
	ckreq "$b" DI /r/ -H "Cookie: SERVERID=dead"        # redispatched elsewhere
	ckreq "$b" VN /r/ -H "Cookie: SERVERID=w1"
	ckreq "$b" NR /rw                                   # rewrite mode
	ckreq "$b" VR /rw -H "Cookie: SERVERID=w2"
	capi "disable server rw/w1"
	capi "disable server rw/w2"
	ckreq "$b" DN /rw -H "Cookie: SERVERID=w1"          # no server at all: 503
	capi "enable server rw/w1"
	capi "enable server rw/w2"
	ckreq "$b" NR /px                                   # prefix mode
	ckreq "$b" VR /px -H "Cookie: JSESSIONID=w1~app7"
	ckreq "$b" VN / -H "x-be: pfx" -H "Cookie: JSESSIONID=w2~x" # no server cookie
	ckreq "$b" NI /sc                                   # the server's cookie replaced
	ckreq "$b" VD /sc -H "Cookie: SRV=w1"               # ... deleted
	ckreq "$b" NP /keep                                 # preserve: passed as is
	ckreq "$b" VP /keep -H "Cookie: SRV=w1"
	ckreq "$b" NI /nock                                 # "delete me" cookie
	ckreq "$b" II /nock -H "Cookie: SRV=w1"
	ckreq "$b" NI /d/                                   # maxidle, maxlife
	ckreq "$b" VU /d/ -H "Cookie: SRV=w1|$new"          # no first date: updated
	ckreq "$b" VU /d/ -H "Cookie: SRV=w1|$new|$new"     # last date past: updated
	ckreq "$b" VN /d/ -H "Cookie: SRV=w1|$fut|$new"     # nothing to refresh
	ckreq "$b" EI /d/ -H "Cookie: SRV=w1|$old|$new"     # idle too long
	ckreq "$b" OI /d/ -H "Cookie: SRV=w1|$new|$old"     # too old
	ckreq "$b" NN /d/deny                               # denied: no cookie looked at
	ckreq "$b" -- /fdeny                                # denied before the backend
	ckreq "$b" NP /ind                                  # indirect alone
	ckreq "$b" VD /ind -H "Cookie: SID=w1"
	ckreq "$b" IP /ind -H "Cookie: SID=zz"
	ckreq "$b" -- /pv                                   # passive: not shown
	ckreq "$b" -- /pv -H "Cookie: SID=w1"
	ckreq "$b" NN /post                                 # postonly, a GET
	ckreq "$b" NI /post -X POST -d x
	ckreq "$b" VN /h/a/b/c -H "Cookie: SERVERID=w3"
	wait_for 5 grep -q "^CK ?ck=$CK_N " "$log"
	sed -nE 's/^CK \?ck=([0-9]+) ([0-9]+ ....)$/\1 \2/p' "$log" | sort -n
}
ck_letters() { sed -E 's/^([0-9]+) [0-9]+ ..(..)$/\1 \2/' <<<"$1"; }
lck=$(ck_sequence "$B" "$API" "$T_TMP/lbd.log")
expect_eq "%tsc: lbd's persistence letters, request by request" \
	"$(ck_letters "$lck")" "$(cat "$T_TMP/ck.want")"
[ -n "${VERBOSE:-}" ] && printf '#   %s\n' "${lck//$'\n'/$'\n#   '}"

if [ -x "$HAPROXY" ]; then
	HFE=$(t_port)
	write_cfg "$T_TMP/haproxy.cfg" "$HFE" "$T_TMP/haproxy.sock"
	"$HAPROXY" -db -f "$T_TMP/haproxy.cfg" >"$T_TMP/haproxy.log" 2>&1 &
	T_PIDS+=($!)
	wait_port 127.0.0.1 "$HFE" 5
	# both balance round-robin from the same start: restart lbd's counters
	kill "$LBD_PID"
	wait "$LBD_PID" 2>/dev/null
	start_lbd "$T_TMP/lbd.cfg" || fail "lbd restarts"
	wait_port 127.0.0.1 "$FE" 5
	l=$(sequence "$B")
	hp=$(sequence "http://127.0.0.1:$HFE")
	expect_eq "lbd and haproxy 2.6: same Set-Cookie, Cache-Control and servers" "$l" "$hp"
	[ -n "${VERBOSE:-}" ] && echo "$l" | sed 's/^/#   /'
	lck=$(ck_sequence "$B" "$API" "$T_TMP/lbd.log")
	hck=$(ck_sequence "http://127.0.0.1:$HFE" "$T_TMP/haproxy.sock" "$T_TMP/haproxy.log")
	expect_eq "lbd and haproxy 2.6: same status and %tsc (all 4 characters), request by request" \
		"$lck" "$hck"
	[ -n "${VERBOSE:-}" ] && paste -d' ' <(echo "$lck") <(echo "$hck") | sed 's/^/#   /'
else
	skip "haproxy not installed: no comparison"
fi

t_done
