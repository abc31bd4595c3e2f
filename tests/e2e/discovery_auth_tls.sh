#!/bin/bash
# Discovery from an etcd that wants TLS with client certificates and
# user/password authentication: lbd connects with its CA, certificate and
# key, gets a token, and gets a new one when the old one expired
# (--auth-token-ttl 2) and a reconnect is refused with it. Wrong credentials
# leave the backend on its last known servers and say why. Loopback of this
# script's own network namespace only.
if [ -z "${XLB_IN_NS:-}" ]; then
	exec unshare -n env XLB_IN_NS=1 bash "$0" "$@"
fi
ip link set lo up
. "$(dirname "$0")/lib.sh"

for t in etcd etcdctl socat openssl; do
	if ! command -v $t >/dev/null; then
		skip "$t not installed"
		exit 0
	fi
done
export ETCDCTL_API=3

EC=$(t_port); EPP=$(t_port); PX=$(t_port); FE=$(t_port)
P1=$(t_port); P2=$(t_port); P3=$(t_port)
SOCK=$T_TMP/lbd.sock
PFX=/services/web/
C=$T_TMP/pki
demo s1 127.0.0.1:$P1
demo s2 127.0.0.1:$P2
demo s3 127.0.0.1:$P3

# A CA, etcd's certificate for 127.0.0.1, and a client certificate. etcd's
# HTTP gateway refuses client certificates that carry a CommonName when
# --client-cert-auth is on (it would ignore it), so lbd's has none.
mkdir -p "$C"
(
	cd "$C" || exit 1
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
		-subj "/CN=xlb test CA" &&
		openssl req -newkey rsa:2048 -nodes -keyout etcd.key -out etcd.csr -subj "/CN=etcd" &&
		printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >etcd.ext &&
		openssl x509 -req -in etcd.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out etcd.crt \
			-days 2 -extfile etcd.ext &&
		openssl req -newkey rsa:2048 -nodes -keyout lbd.key -out lbd.csr -subj "/O=xlb" &&
		printf 'extendedKeyUsage=clientAuth\n' >lbd.ext &&
		openssl x509 -req -in lbd.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out lbd.crt \
			-days 2 -extfile lbd.ext &&
		openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr -subj "/CN=root" &&
		openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
			-out admin.crt -days 2 -extfile lbd.ext
) >"$T_TMP/openssl.log" 2>&1
check "test certificates generated" test -s "$C/lbd.crt"

ec() {
	etcdctl --endpoints https://127.0.0.1:$EC --cacert "$C/ca.crt" --cert "$C/admin.crt" \
		--key "$C/admin.key" --dial-timeout 2s --command-timeout 5s "$@"
}
api() { echo "$*" | socat -t 5 - "UNIX-CONNECT:$SOCK" 2>/dev/null; }
srvs() {
	api "show servers state ${1:-web}" | awk '$1 !~ /^#/ && NF > 5 {print $4}' | sort |
		tr '\n' ' ' | sed 's/ $//'
}
srvs_are() { [ "$(srvs)" = "$1" ]; }
disc() { api "show discovery" | grep "^$1,"; }

etcd --name e1 --data-dir "$T_TMP/etcd" \
	--listen-client-urls https://127.0.0.1:$EC --advertise-client-urls https://127.0.0.1:$EC \
	--listen-peer-urls http://127.0.0.1:$EPP --initial-advertise-peer-urls http://127.0.0.1:$EPP \
	--initial-cluster e1=http://127.0.0.1:$EPP \
	--cert-file "$C/etcd.crt" --key-file "$C/etcd.key" --trusted-ca-file "$C/ca.crt" \
	--client-cert-auth --auth-token-ttl 2 >"$T_TMP/etcd.log" 2>&1 &
ETCD_PID=$!
T_PIDS+=($ETCD_PID)
check "etcd starts with TLS and client certificates" wait_for 15 ec endpoint health 2>/dev/null
{
	ec user add root:rootpw && ec role add root && ec user grant-role root root &&
		ec user add web:webpw && ec role add webread &&
		ec role grant-permission webread --prefix=true read $PFX &&
		ec user grant-role web webread && ec auth enable
} >"$T_TMP/auth.log" 2>&1
check "etcd authentication enabled (user web reads $PFX)" grep -q "Authentication Enabled" \
	"$T_TMP/auth.log"
ec put ${PFX}s1 "127.0.0.1:$P1" >/dev/null

socat TCP-LISTEN:$PX,bind=127.0.0.1,fork,reuseaddr TCP:127.0.0.1:$EC >/dev/null 2>&1 &
PROXY_PID=$!
T_PIDS+=($PROXY_PID)
wait_port 127.0.0.1 $PX 5

TLS="ca-file $C/ca.crt crt $C/lbd.crt key $C/lbd.key"
cat >"$T_TMP/lbd.cfg" <<CFG
global
    stats socket $SOCK level admin
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$FE
    default_backend web
backend web
    discovery etcd endpoints https://127.0.0.1:$PX prefix $PFX user web password webpw $TLS
backend wrongpw
    discovery etcd endpoints https://127.0.0.1:$EC prefix $PFX user web password nope $TLS
backend nocert
    discovery etcd endpoints https://127.0.0.1:$EC prefix $PFX user web password webpw ca-file $C/ca.crt
backend noperm
    discovery etcd endpoints https://127.0.0.1:$EC prefix /services/other/ user web password webpw $TLS
CFG
start_lbd "$T_TMP/lbd.cfg"
wait_port 127.0.0.1 $FE 5 || fail "lbd listens"
check "servers are discovered over TLS with a token" wait_for 5 srvs_are "s1"
expect_eq "and serve" "$(get http://127.0.0.1:$FE/)" "s1"
check "show discovery: online, one token" sh -c "echo 'show discovery' |
	socat -t 5 - UNIX-CONNECT:$SOCK | grep '^web,' | grep -q 'online,yes,.* auths 1'"
ec put ${PFX}s2 "127.0.0.1:$P2" >/dev/null
check "events arrive on the TLS watch" wait_for 5 srvs_are "s1 s2"

check "a wrong password: the backend stays offline" sh -c "echo 'show discovery' |
	socat -t 5 - UNIX-CONNECT:$SOCK | grep -q '^wrongpw,etcd,$PFX,offline,no,'"
check "and the log says the authentication was refused" \
	wait_for 5 grep -q "'wrongpw': etcd unreachable (.*authentication as 'web' refused" "$T_TMP/lbd.log"
check "no client certificate: offline too" sh -c "echo 'show discovery' |
	socat -t 5 - UNIX-CONNECT:$SOCK | grep -q '^nocert,etcd,$PFX,offline,no,'"
check "a prefix the user may not read: offline, permission denied logged" \
	wait_for 5 grep -q "'noperm': etcd unreachable (.*permission denied" "$T_TMP/lbd.log"

# The token expires (2 s without use); the open watch keeps working.
sleep 3
ec put ${PFX}s3 "127.0.0.1:$P3" >/dev/null
check "an open watch outlives its token" wait_for 5 srvs_are "s1 s2 s3"
# Cut the stream: the reconnect is refused with the old token, lbd gets a new
# one and resumes from its revision (the delete made meanwhile is seen).
kill -STOP $PROXY_PID
pkill -KILL -P $PROXY_PID
kill -KILL $PROXY_PID
{ wait $PROXY_PID; } 2>/dev/null
ec del ${PFX}s2 >/dev/null
sleep 0.5
socat TCP-LISTEN:$PX,bind=127.0.0.1,fork,reuseaddr TCP:127.0.0.1:$EC >/dev/null 2>&1 &
PROXY_PID=$!
T_PIDS+=($PROXY_PID)
check "after the reconnect, the event made meanwhile is applied" wait_for 10 srvs_are "s1 s3"
check "with a new token (auths 2)" sh -c "echo 'show discovery' |
	socat -t 5 - UNIX-CONNECT:$SOCK | grep '^web,' | grep -q 'online,yes,.* auths 2'"
expect_eq "resumed without listing again" \
	"$(grep -c "'web': .* registered under" "$T_TMP/lbd.log")" 1

kill $LBD_PID
wait $LBD_PID 2>/dev/null
if [ "$T_FAILED" != 0 ]; then
	sed 's/^/#   /' "$T_TMP/lbd.log" | tail -60
fi
t_done
