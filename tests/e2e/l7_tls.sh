#!/bin/bash
# TLS on `bind ... ssl`: the global section's ssl-default-bind-options
# (protocol versions, tickets), the DH parameters of the DHE ciphers
# (tune.ssl.default-dh-param, ssl-dh-param-file) and the ciphers, checked
# with openssl s_client against lbd; the same probes against haproxy 2.6
# for the default versions. Then TLS to servers (`server ... ssl`): demo-server
# -s as a TLS HTTP server, verify none/required, sni, a client certificate,
# reuse of the server connection, health checks over TLS, and one request
# compared with haproxy 2.6.
# Runs in its own network namespace (unshare -n): only its loopback is used.
if [ -z "${XLB_IN_NS:-}" ]; then
	exec unshare -n env XLB_IN_NS=1 bash "$0" "$@"
fi
ip link set lo up
. "$(dirname "$0")/lib.sh"

P1=$(t_port)
FE=$(t_port)
demo s1 127.0.0.1:$P1

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T_TMP/k.pem" -out "$T_TMP/c.pem" -days 2 \
	-subj /CN=localhost >/dev/null 2>&1
cat "$T_TMP/c.pem" "$T_TMP/k.pem" >"$T_TMP/site.pem"

# tls GLOBAL-LINES: a config whose global section holds the lines given
tls_cfg() {
	cat >"$T_TMP/tls.cfg" <<CFG
global
$1
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$FE ssl crt $T_TMP/site.pem
    default_backend be
backend be
    server s1 127.0.0.1:$P1
CFG
}
# probe ARGS...: what s_client negotiated: "PROTOCOL CIPHER", or "fail"
probe() {
	local out
	out=$(timeout 5 openssl s_client -connect 127.0.0.1:${PROBE_PORT:-$FE} -servername localhost "$@" \
		</dev/null 2>&1 | sed -n 's/^New, \(TLSv1\.[0-9]\), Cipher is \([^ ]*\)$/\1 \2/p' | head -1)
	echo "${out:-fail}"
}
# field N of the probe
pf() { cut -d' ' -f"$1" <<<"$2"; }
run() {
	tls_cfg "$1"
	start_lbd "$T_TMP/tls.cfg"
	wait_port 127.0.0.1 $FE 5
}

# ---- defaults: TLSv1.2 and TLSv1.3, no older version ----
run ""
expect_eq "default: TLSv1.3 negotiated" "$(pf 1 "$(probe)")" TLSv1.3
expect_eq "default: TLSv1.2 allowed" "$(pf 1 "$(probe -tls1_2)")" TLSv1.2
expect_eq "default: TLSv1.1 refused (HAProxy 2.6's ssl-min-ver TLSv1.2)" \
	"$(probe -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0')" fail
# DHE with the default group: 2048 bits
out=$(timeout 5 openssl s_client -connect 127.0.0.1:$FE -tls1_2 -cipher DHE-RSA-AES128-GCM-SHA256 \
	</dev/null 2>&1)
check "default DH: a DHE cipher uses a 2048-bit group" grep -q 'Server Temp Key: DH, 2048 bits' <<<"$out"
expect_eq "a request over TLS is proxied" "$(get -k https://127.0.0.1:$FE/)" s1
stop_lbd

# ---- ssl-max-ver / no-tlsv13 / force-tlsv12 ----
run "    ssl-default-bind-options ssl-max-ver TLSv1.2"
expect_eq "ssl-max-ver TLSv1.2: TLSv1.2 negotiated" "$(pf 1 "$(probe)")" TLSv1.2
expect_eq "ssl-max-ver TLSv1.2: TLSv1.3 refused" "$(probe -tls1_3)" fail
stop_lbd
run "    ssl-default-bind-options no-tlsv13"
expect_eq "no-tlsv13: TLSv1.3 refused" "$(probe -tls1_3)" fail
expect_eq "no-tlsv13: TLSv1.2 allowed" "$(pf 1 "$(probe -tls1_2)")" TLSv1.2
stop_lbd
run "    ssl-default-bind-options force-tlsv13"
expect_eq "force-tlsv13: TLSv1.2 refused" "$(probe -tls1_2)" fail
expect_eq "force-tlsv13: TLSv1.3 negotiated" "$(pf 1 "$(probe)")" TLSv1.3
stop_lbd

# ---- no-tls-tickets ----
run ""
check "tickets by default: the server sends a session ticket" \
	grep -q 'TLS session ticket:' <<<"$(timeout 5 openssl s_client -connect 127.0.0.1:$FE -tls1_2 \
		</dev/null 2>&1)"
stop_lbd
run "    ssl-default-bind-options no-tls-tickets"
check "no-tls-tickets: no session ticket" \
	bash -c "! timeout 5 openssl s_client -connect 127.0.0.1:$FE -tls1_2 </dev/null 2>&1 |
		grep -q 'TLS session ticket:'"
stop_lbd

# ---- DH parameters: tune.ssl.default-dh-param, ssl-dh-param-file ----
run "    tune.ssl.default-dh-param 3072"
out=$(timeout 5 openssl s_client -connect 127.0.0.1:$FE -tls1_2 -cipher DHE-RSA-AES128-GCM-SHA256 \
	</dev/null 2>&1)
check "tune.ssl.default-dh-param 3072: a 3072-bit group" \
	grep -q 'Server Temp Key: DH, 3072 bits' <<<"$out"
stop_lbd
openssl genpkey -genparam -algorithm DH -pkeyopt dh_param:ffdhe4096 -out "$T_TMP/dh.pem" \
	>/dev/null 2>&1
run "    ssl-dh-param-file $T_TMP/dh.pem"
out=$(timeout 5 openssl s_client -connect 127.0.0.1:$FE -tls1_2 -cipher DHE-RSA-AES128-GCM-SHA256 \
	</dev/null 2>&1)
check "ssl-dh-param-file: its 4096-bit group" grep -q 'Server Temp Key: DH, 4096 bits' <<<"$out"
stop_lbd

# ---- ciphers ----
run "    ssl-default-bind-ciphers ECDHE-RSA-AES256-GCM-SHA384"
expect_eq "ssl-default-bind-ciphers: the one cipher allowed on TLSv1.2" \
	"$(pf 2 "$(probe -tls1_2)")" ECDHE-RSA-AES256-GCM-SHA384
expect_eq "ssl-default-bind-ciphers: another cipher refused" \
	"$(probe -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256)" fail
stop_lbd
run "    ssl-default-bind-ciphersuites TLS_CHACHA20_POLY1305_SHA256"
expect_eq "ssl-default-bind-ciphersuites: TLSv1.3 uses it" \
	"$(pf 2 "$(probe -tls1_3)")" TLS_CHACHA20_POLY1305_SHA256
stop_lbd

# ---- errors ----
tls_cfg "    ssl-default-bind-options ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.2"
out=$("$LBD" -c -f "$T_TMP/tls.cfg" 2>&1)
check "a min version above the max is a config error" grep -q "no TLS version left" <<<"$out"
tls_cfg "    ssl-dh-param-file $T_TMP/c.pem"
out=$("$LBD" -c -f "$T_TMP/tls.cfg" 2>&1)
check "a dh-param file without DH parameters is a config error" \
	grep -q "ssl-dh-param-file '$T_TMP/c.pem': no DH parameters in it" <<<"$out"

# ---- the same defaults as haproxy 2.6 ----
if [ -x /usr/sbin/haproxy ]; then
	FEH=$(t_port)
	tls_cfg ""
	sed "s/127.0.0.1:$FE /127.0.0.1:$FEH /" "$T_TMP/tls.cfg" >"$T_TMP/haproxy.cfg"
	/usr/sbin/haproxy -f "$T_TMP/haproxy.cfg" >"$T_TMP/haproxy.log" 2>&1 &
	hp=$!
	T_PIDS+=($hp)
	wait_port 127.0.0.1 $FEH 5
	run ""
	for v in tls1_1 tls1_2 tls1_3; do
		h=$(PROBE_PORT=$FEH probe -$v -cipher 'DEFAULT:@SECLEVEL=0')
		l=$(probe -$v -cipher 'DEFAULT:@SECLEVEL=0')
		expect_eq "-$v: lbd negotiates as haproxy 2.6 does by default (haproxy: $h)" \
			"$(pf 1 "$l")" "$(pf 1 "$h")"
	done
	stop_lbd
	kill $hp
	wait $hp 2>/dev/null
else
	skip "haproxy not installed: default versions compared"
fi

# ---- TLS to servers ----
# A CA, a server certificate it signed (CN backend.test), another CA, and a
# client certificate signed by a third CA the server requires.
mkca() {
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T_TMP/$1.key" -out "$T_TMP/$1.pem" \
		-days 2 -subj "/CN=$1" >/dev/null 2>&1
}
mkcert() { # NAME CA CN
	openssl req -new -newkey rsa:2048 -nodes -keyout "$T_TMP/$1.key" -out "$T_TMP/$1.csr" \
		-subj "/CN=$3" >/dev/null 2>&1
	openssl x509 -req -in "$T_TMP/$1.csr" -CA "$T_TMP/$2.pem" -CAkey "$T_TMP/$2.key" \
		-CAcreateserial -days 2 -out "$T_TMP/$1.crt" >/dev/null 2>&1
	cat "$T_TMP/$1.crt" "$T_TMP/$1.key" >"$T_TMP/$1.pem"
}
mkca ca
mkca otherca
mkca clientca
mkcert srv ca backend.test
mkcert client clientca lbd-client
TS=$(t_port)
TSC=$(t_port)
TSB=$(t_port)
PLAIN=$(t_port)
demo ts 127.0.0.1:$TS -s "$T_TMP/srv.pem"
demo tsc 127.0.0.1:$TSC -s "$T_TMP/srv.pem" -a "$T_TMP/clientca.pem"
# a TLS port that answers in clear: every handshake fails
demo tsbad 127.0.0.1:$TSB
demo plain 127.0.0.1:$PLAIN
SOCK=$T_TMP/lbd.sock
API_SOCK=$SOCK
FE2=$(t_port)
srv_cfg() {
	cat >"$T_TMP/srv.cfg" <<CFG
global
    stats socket $SOCK mode 600 level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    retries 1
frontend fe
    bind 127.0.0.1:$FE2
    use_backend %[req.hdr(x-be)] if { req.hdr(x-be) -m found }
    default_backend none
backend none
    server s1 127.0.0.1:$TS ssl verify none
backend vnone
    server s1 127.0.0.1:$TS ssl verify none
backend vgood
    server s1 127.0.0.1:$TS ssl ca-file $T_TMP/ca.pem
backend vbad
    server s1 127.0.0.1:$TS ssl ca-file $T_TMP/otherca.pem
backend sni
    server s1 127.0.0.1:$TS ssl verify none sni req.hdr(host)
backend sniv
    server s1 127.0.0.1:$TS ssl ca-file $T_TMP/ca.pem sni req.hdr(x-sni)
backend crt
    server s1 127.0.0.1:$TSC ssl ca-file $T_TMP/ca.pem crt $T_TMP/client.pem
backend nocrt
    server s1 127.0.0.1:$TSC ssl ca-file $T_TMP/ca.pem
backend chk
    option httpchk GET /
    server good 127.0.0.1:$TS ssl verify none check inter 200 rise 1 fall 1
    server bad 127.0.0.1:$TSB ssl verify none check inter 200 rise 1 fall 1
    server tcpok 127.0.0.1:$TS ssl verify none check inter 200 rise 1 fall 1 port $TS check-ssl
    server plainchk 127.0.0.1:$TS ssl verify none check inter 200 rise 1 fall 1 port $PLAIN
    server nochkssl 127.0.0.1:$PLAIN ssl verify none check inter 200 rise 1 fall 1 no-check-ssl
CFG
}
srv_cfg
out=$("$LBD" -c -f "$T_TMP/srv.cfg" 2>&1)
check "a config with ssl servers is valid" test $? -eq 0 -a -z "$(grep -i error <<<"$out")"
start_lbd "$T_TMP/srv.cfg" -V
wait_port 127.0.0.1 $FE2 5
tls_get() { get -H "x-be: $1" "http://127.0.0.1:$FE2${2:-/}"; }
expect_eq "verify none: a request proxied to a TLS server" "$(tls_get vnone)" ts
# (by the server's connection number: the health checks of backend chk open
# connections to the same server meanwhile, so its accept count moves)
out=$(curl -s --max-time 5 -H "x-be: vnone" "http://127.0.0.1:$FE2/tls" "http://127.0.0.1:$FE2/tls" \
	"http://127.0.0.1:$FE2/tls" "http://127.0.0.1:$FE2/tls")
expect_eq "keep-alive: 4 requests of one client on one TLS server connection" \
	"$(sed -n 's/.* conn=\([0-9]*\).*/\1/p' <<<"$out" | sort -u | wc -l)/$(grep -c conn= <<<"$out")" "1/4"
# A TLSv1.3 server sends its session tickets after the handshake; when they
# arrive while the connection is idle between two requests of a client, the
# connection is still reusable (they are handshake records, not data).
ka=$(python3 - "$FE2" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = s.makefile("rb")
for i in range(2):
    s.sendall(b"GET /tls HTTP/1.1\r\nHost: x\r\nx-be: vnone\r\n\r\n")
    n = 0
    while True:
        line = f.readline()
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":")[1])
        if line in (b"\r\n", b""):
            break
    body = f.read(n).decode()
    print(body.split(" conn=")[1].split()[0])
    time.sleep(0.5)
PY
)
expect_eq "session tickets arriving while idle do not cost the server connection" \
	"$(sed -n 2p <<<"$ka")" "$(sed -n 1p <<<"$ka")"
check "a new TLS connection resumes the server's session" grep -q "resumed=1" <<<"$(tls_get vnone /tls)"
expect_eq "no SNI without 'sni'" "$(tls_get vnone /tls | sed -n 's/^sni=\([^ ]*\).*/\1/p')" -
expect_eq "verify required with the right ca-file" "$(tls_get vgood)" ts
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "x-be: vbad" "http://127.0.0.1:$FE2/")
expect_eq "verify required with a wrong ca-file: 503" "$code" 503
wait_for 3 grep -q "server vbad/s1 failed: TLS: .*certificate" "$T_TMP/lbd.log"
check "the verify failure is logged with OpenSSL's reason" \
	grep -q "server vbad/s1 failed: TLS: .*certificate" "$T_TMP/lbd.log"
expect_eq "sni req.hdr(host): the server sees the name" \
	"$(get -H "x-be: sni" -H "Host: app.example" "http://127.0.0.1:$FE2/tls" |
		sed -n 's/^sni=\([^ ]*\).*/\1/p')" app.example
# code PORT BACKEND SNI: the status of a request through the proxy on PORT
code() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "x-be: $2" -H "x-sni: $3" \
		"http://127.0.0.1:$1/"
}
expect_eq "verify required and sni: a certificate naming the SNI is accepted" \
	"$(code $FE2 sniv backend.test)" 200
expect_eq "verify required and sni: a certificate not naming it is refused (503)" \
	"$(code $FE2 sniv other.test)" 503
expect_eq "crt: the client certificate is sent" \
	"$(tls_get crt /tls | sed -n 's/.* cn=\([^ ]*\).*/\1/p')" lbd-client
# TLSv1.3: the server refuses the missing certificate after the client's
# handshake ended: the alert comes with the handshake (503) or as the
# response is awaited (502), a race haproxy 2.6 shows too
nocrt=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "x-be: nocrt" "http://127.0.0.1:$FE2/")
check "no crt for a server that requires one: 502 or 503 ($nocrt)" grep -qx "50[23]" <<<"$nocrt"
check "an HTTP check over TLS passes" wait_status chk/good UP 5000
check "a server whose TLS fails is DOWN" wait_status chk/bad DOWN 5000
check "check-ssl on another port: a TLS TCP check passes" wait_status chk/tcpok UP 5000
check "ssl with another check port: the check is in clear" wait_status chk/plainchk UP 5000
check "no-check-ssl: a plain check on the server's port" wait_status chk/nochkssl UP 5000
check "the failed TLS check gives the reason" \
	grep -q "L6RSP\|Layer6" <<<"$(api "show servers state chk" ; api "show stat"; cat "$T_TMP/lbd.log")"

# A TLS server added at run time gets its context too (as discovered servers
# and servers carried over a reload do): `add server ... ssl`.
expect_eq "add server with ssl and no verification choice is refused" \
	"$(api "add server vnone/dyn 127.0.0.1:$TS ssl" | head -1)" \
	"'ssl' verifies the server's certificate: add 'ca-file FILE' or 'verify none'."
expect_eq "add server with ssl verify none sni" \
	"$(api "add server vnone/dyn 127.0.0.1:$TS ssl verify none sni req.hdr(x-sni)" | head -1)" \
	"New server registered."
api "disable server vnone/s1" >/dev/null
api "enable server vnone/dyn" >/dev/null
expect_eq "the added TLS server serves over TLS, with its sni" \
	"$(get -H "x-be: vnone" -H "x-sni: dyn.test" "http://127.0.0.1:$FE2/tls" |
		sed -n 's/^sni=\([^ ]*\).*/\1/p')" dyn.test
api "enable server vnone/s1" >/dev/null
api "disable server vnone/dyn" >/dev/null
expect_eq "and it can be deleted (its TLS state freed)" "$(api "del server vnone/dyn" | head -1)" \
	"Server deleted."
kill -HUP $LBD_PID
sleep 0.5
expect_eq "after a reload the TLS backend still serves" "$(tls_get vnone)" ts

if [ -x /usr/sbin/haproxy ]; then
	FEH=$(t_port)
	sed -e "s/127.0.0.1:$FE2\$/127.0.0.1:$FEH/" -e "/stats socket/d" "$T_TMP/srv.cfg" \
		>"$T_TMP/haproxy-srv.cfg"
	/usr/sbin/haproxy -f "$T_TMP/haproxy-srv.cfg" >"$T_TMP/haproxy-srv.log" 2>&1 &
	hp=$!
	T_PIDS+=($hp)
	wait_port 127.0.0.1 $FEH 5
	h=$(get -H "x-be: sni" -H "Host: app.example" "http://127.0.0.1:$FEH/tls" | cut -d' ' -f1,2)
	expect_eq "haproxy 2.6 with the same config: same SNI and no client certificate" "$h" \
		"sni=app.example cn=-"
	hc=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "x-be: vbad" "http://127.0.0.1:$FEH/")
	expect_eq "haproxy 2.6 with a wrong ca-file: 503 as lbd" "$hc" 503
	for b in vgood:- sniv:backend.test sniv:other.test; do
		hc=$(code $FEH ${b%:*} ${b#*:})
		expect_eq "backend ${b%:*}, sni ${b#*:}: lbd answers as haproxy 2.6 ($hc)" \
			"$(code $FE2 ${b%:*} ${b#*:})" "$hc"
	done
	hc=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "x-be: nocrt" "http://127.0.0.1:$FEH/")
	check "haproxy 2.6 without the client certificate: $hc, 502 or 503 as lbd" grep -qx "50[23]" <<<"$hc"
	h=$(get -H "x-be: vnone" "http://127.0.0.1:$FEH/")
	expect_eq "haproxy 2.6: a request to a TLS server, verify none" "$h" ts
	kill $hp
	wait $hp 2>/dev/null
else
	skip "haproxy not installed: TLS to servers compared"
fi
stop_lbd
t_done
