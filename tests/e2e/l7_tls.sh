#!/bin/bash
# TLS on `bind ... ssl`: the global section's ssl-default-bind-options
# (protocol versions, tickets), the DH parameters of the DHE ciphers
# (tune.ssl.default-dh-param, ssl-dh-param-file) and the ciphers, checked
# with openssl s_client against lbd; the same probes against haproxy 2.6
# for the default versions.
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
stop_lbd() { kill $LBD_PID 2>/dev/null; wait $LBD_PID 2>/dev/null; }
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
t_done
