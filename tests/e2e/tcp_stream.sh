#!/bin/bash
# The userspace TCP proxy, connection by connection: every bind form served
# (and an IPv6 server), use_backend and tcp-request rules in mode tcp,
# half-close, timeout client/server/tunnel/client-fin, a clean close (FIN,
# logged) when no server is left, redispatch past several dead servers,
# bounded memory per connection, the process-wide global maxconn.
# Runs in its own network namespace (unshare -n): only its loopback is used.
if [ -z "${XLB_IN_NS:-}" ]; then
	exec unshare -n env XLB_IN_NS=1 bash "$0" "$@"
fi
ip link set lo up
. "$(dirname "$0")/lib.sh"

# tcpc ADDR PORT [SEND] [SHUT] [WAIT_S] [DELAY_S] [LINGER_S]: a raw TCP client.
# Connects, waits DELAY_S, sends SEND (\r \n allowed), shuts its write side
# when SHUT is 1, reads until EOF, a reset or WAIT_S seconds, then keeps the
# socket open LINGER_S more seconds. Prints "END MS BYTES FIRSTWORD" with END
# one of eof, reset, timeout, nocon and MS the time from connect to END.
cat >"$T_TMP/tcpc.pl" <<'PL'
use strict;
use warnings;
use Socket;
use IO::Socket::INET;
use Time::HiRes qw(time);
my ($host, $port, $send, $shut, $wait, $delay, $linger) = @ARGV;
$send //= ''; $shut //= 0; $wait //= 5; $delay //= 0; $linger //= 0;
$send =~ s/\\r/\r/g;
$send =~ s/\\n/\n/g;
my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp', Timeout => 5);
if (!$s) { print "nocon 0 0 -\n"; exit 0; }
my $t0 = time();
select(undef, undef, undef, $delay) if $delay > 0;
syswrite($s, $send) if length $send;
shutdown($s, 1) if $shut;
my ($got, $end) = ('', 'timeout');
while (time() - $t0 < $wait) {
	my $rin = '';
	vec($rin, fileno($s), 1) = 1;
	next unless select(my $rout = $rin, undef, undef, 0.02) > 0;
	my $n = sysread($s, my $buf, 65536);
	if (!defined $n) { $end = $!{ECONNRESET} ? 'reset' : 'error'; last; }
	if ($n == 0) { $end = 'eof'; last; }
	$got .= $buf;
}
my $ms = int((time() - $t0) * 1000);
select(undef, undef, undef, $linger) if $linger > 0;
my ($w) = $got =~ /^(\S+)/;
$w = $1 if $got =~ /\r\n\r\n(\S+)/;
printf "%s %d %d %s\n", $end, $ms, length($got), $w // '-';
PL
tcpc() { perl "$T_TMP/tcpc.pl" "$@"; }
# field N of a "END MS BYTES WORD" line
fld() { echo "$1" | cut -d' ' -f"$2"; }

P1=$(t_port); P2=$(t_port); P3=$(t_port); PC=$(t_port); PD1=$(t_port); PD2=$(t_port)
FE=$(t_port); FE2=$(t_port)
demo s1 127.0.0.1:$P1
demo s2 127.0.0.1:$P2
demo s3 127.0.0.1:$P3
demo c1 127.0.0.1:$PC -c

# run_cfg NAME: start lbd on $T_TMP/NAME.cfg (written by the caller) and wait for $FE
run_cfg() {
	start_lbd "$T_TMP/$1.cfg"
	if ! wait_port 127.0.0.1 $FE 5; then
		fail "$1: lbd listens on $FE"
		sed 's/^/#   /' "$T_TMP/lbd.log"
	fi
}
# tcplog lines go to lbd's stdout, which start_lbd writes to $T_TMP/lbd.log
LOGS="global
    log stdout format raw local0"

# ---- every bind form is served ----
FR=$(t_port); t_port >/dev/null; t_port >/dev/null # three consecutive ports
FL=$(t_port); FS=$(t_port); F6=$(t_port); FV6=$(t_port); P6=$(t_port)
have6=0
ip -6 addr show dev lo 2>/dev/null | grep -q '::1/128' && have6=1
cat >"$T_TMP/binds.cfg" <<CFG
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$FE
    bind 127.0.0.1:$FR-$((FR + 2))
    bind 127.0.0.2:$FL,127.0.0.3:$FL
    bind *:$FS
    bind :$FE2
$([ $have6 = 1 ] && echo "    bind [::1]:$F6")
    default_backend be
backend be
    server s1 127.0.0.1:$P1
frontend to6
    bind 127.0.0.1:$FV6
    default_backend be6
backend be6
    server v6 [::1]:$P6
CFG
if [ $have6 = 1 ]; then
	"$DEMO" -n v6 -l "[::1]:$P6" >/dev/null 2>&1 &
	T_PIDS+=($!)
	wait_port ::1 $P6 5
fi
run_cfg binds
expect_eq "bind ADDR:PORT is served" "$(get http://127.0.0.1:$FE/)" s1
for p in $FR $((FR + 1)) $((FR + 2)); do
	expect_eq "bind port range: port $p is served" "$(get http://127.0.0.1:$p/)" s1
done
expect_eq "bind list: first address served" "$(get http://127.0.0.2:$FL/)" s1
expect_eq "bind list: second address served" "$(get http://127.0.0.3:$FL/)" s1
expect_eq "bind *:PORT listens on every address" "$(get http://127.0.0.4:$FS/)" s1
expect_eq "bind :PORT listens on every address" "$(get http://127.0.0.5:$FE2/)" s1
if [ $have6 = 1 ]; then
	expect_eq "bind [::1]:PORT is served over IPv6" "$(get -g "http://[::1]:$F6/")" s1
	expect_eq "an IPv6 server ([::1]) behind an IPv4 bind" "$(get http://127.0.0.1:$FV6/)" v6
else
	skip "no IPv6 on loopback: bind [::1]"
fi
stop_lbd

# ---- mode tcp routing: use_backend and tcp-request on the connection's addresses ----
cat >"$T_TMP/route.cfg" <<CFG
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$FE
    bind 127.0.0.1:$FE2
    acl from_two src 127.0.0.2
    tcp-request connection reject if { src 127.0.0.3 }
    use_backend b2 if from_two
    use_backend b3 if { dst_port $FE2 }
    default_backend b1
backend b1
    server s1 127.0.0.1:$P1
backend b2
    server s2 127.0.0.1:$P2
backend b3
    tcp-request content reject if { src 127.0.0.4 }
    server s3 127.0.0.1:$P3
CFG
run_cfg route
expect_eq "mode tcp: no rule matches: default_backend" "$(get http://127.0.0.1:$FE/)" s1
expect_eq "mode tcp: use_backend if { src ... } routes on the client address" \
	"$(get --interface 127.0.0.2 http://127.0.0.1:$FE/)" s2
expect_eq "mode tcp: use_backend if { dst_port ... } routes on the bind" \
	"$(get http://127.0.0.1:$FE2/)" s3
get --interface 127.0.0.3 http://127.0.0.1:$FE/ >/dev/null 2>&1
rc=$?
# 56: reset while receiving; 7: reset seen while connecting (it comes that fast)
check "mode tcp: tcp-request connection reject resets the connection (curl status $rc)" \
	[ "$rc" = 56 -o "$rc" = 7 ]
get --interface 127.0.0.4 http://127.0.0.1:$FE2/ >/dev/null 2>&1
rc=$?
check "mode tcp: a backend's tcp-request content reject closes it before any server (curl status $rc)" \
	[ "$rc" = 52 -o "$rc" = 56 ]
expect_eq "mode tcp: other clients of that backend are served" \
	"$(get --interface 127.0.0.5 http://127.0.0.1:$FE2/)" s3
stop_lbd

# ---- half-close ----
cat >"$T_TMP/half.cfg" <<CFG
defaults
    mode tcp
    timeout connect 1s
    timeout client 300ms
    timeout server 5s
frontend fe
    bind 127.0.0.1:$FE
    default_backend count
frontend fe2
    bind 127.0.0.1:$FE2
    default_backend web
backend count
    server c1 127.0.0.1:$PC
backend web
    server s1 127.0.0.1:$P1
CFG
run_cfg half
# The count server answers only once it sees the client's FIN: 3 MB go
# through the 16 kB buffers, the FIN follows them, the answer comes back on
# the half-closed connection.
r=$(head -c 3000000 /dev/zero | socat -t 5 - TCP:127.0.0.1:$FE)
expect_eq "half-close: the server gets all 3000000 bytes and the FIN, the client the answer" \
	"$r" "c1 3000000"
# A client that shut its side waits for a slow server longer than timeout
# client: it is not waiting to send anything, so timeout client does not cut it.
r=$(tcpc 127.0.0.1 $FE2 'GET /slow?ms=800 HTTP/1.0\r\n\r\n' 1 5)
expect_eq "half-close: the answer arrives 800ms after the client's FIN (timeout client 300ms)" \
	"$(fld "$r" 1) $(fld "$r" 4)" "eof s1"
stop_lbd

# ---- timeouts ----
cat >"$T_TMP/to.cfg" <<CFG
$LOGS
defaults
    mode tcp
    log global
    option tcplog
    timeout connect 1s
frontend idle_client
    bind 127.0.0.1:$FE
    timeout client 300ms
    default_backend s5
frontend slow_server
    bind 127.0.0.1:$FE2
    timeout client 5s
    default_backend s300
backend s5
    timeout server 5s
    server s1 127.0.0.1:$P1
backend s300
    timeout server 300ms
    server s2 127.0.0.1:$P2
CFG
run_cfg to
r=$(tcpc 127.0.0.1 $FE '' 0 3)
ms=$(fld "$r" 2)
expect_eq "timeout client: an idle client is closed" "$(fld "$r" 1)" eof
check "timeout client: after about 300ms (${ms}ms)" [ "$ms" -ge 250 -a "$ms" -lt 1500 ]
r=$(tcpc 127.0.0.1 $FE2 'GET /slow?ms=3000 HTTP/1.0\r\n\r\n' 0 3)
ms=$(fld "$r" 2)
expect_eq "timeout server: a silent server's connection is closed, nothing answered" \
	"$(fld "$r" 1) $(fld "$r" 3)" "eof 0"
check "timeout server: after about 300ms (${ms}ms)" [ "$ms" -ge 250 -a "$ms" -lt 1500 ]
sleep 0.1
check "tcplog: the client timeout is logged as cD" grep -q ' idle_client s5/s1 .* cD ' $T_TMP/lbd.log
check "tcplog: the server timeout is logged as sD" grep -q ' slow_server s300/s2 .* sD ' $T_TMP/lbd.log
stop_lbd

cat >"$T_TMP/tunnel.cfg" <<CFG
$LOGS
defaults
    mode tcp
    log global
    option tcplog
    timeout connect 1s
    timeout client 300ms
    timeout server 300ms
frontend tun
    bind 127.0.0.1:$FE
    default_backend tun
backend tun
    timeout tunnel 900ms
    server s1 127.0.0.1:$P1
frontend fin
    bind 127.0.0.1:$FE2
    timeout client 5s
    timeout client-fin 300ms
    default_backend web
backend web
    timeout server 5s
    server s1 127.0.0.1:$P1
CFG
run_cfg tunnel
r=$(tcpc 127.0.0.1 $FE 'GET / HTTP/1.0\r\n\r\n' 0 3 0.6)
expect_eq "timeout tunnel: a connection idle 600ms (> client/server 300ms) still works" \
	"$(fld "$r" 1) $(fld "$r" 4)" "eof s1"
r=$(tcpc 127.0.0.1 $FE '' 0 3)
ms=$(fld "$r" 2)
check "timeout tunnel: an idle connection is closed after about 900ms (${ms}ms)" \
	[ "$(fld "$r" 1)" = eof -a "$ms" -ge 800 -a "$ms" -lt 2000 ]
# The server closes after its answer (HTTP/1.0); the client keeps its side
# open: timeout client-fin (300ms), not timeout client (5s), ends it.
tcpc 127.0.0.1 $FE2 'GET / HTTP/1.0\r\n\r\n' 0 2 0 1.2 >/dev/null
tt=$(grep ' fin web/s1 ' $T_TMP/lbd.log | awk '{print $5}' | cut -d/ -f3)
check "timeout client-fin: a client that keeps its half open is closed after ~300ms (Tt ${tt:-none})" \
	[ "${tt:-0}" -ge 250 -a "${tt:-0}" -lt 1000 ]
check "timeout client-fin: logged as a client timeout (cD)" grep -q ' fin web/s1 .* cD ' $T_TMP/lbd.log
stop_lbd

# ---- no server left: the client is closed cleanly, and it is logged ----
cat >"$T_TMP/nosrv.cfg" <<CFG
$LOGS
defaults
    mode tcp
    log global
    option tcplog
    timeout connect 200ms
    timeout client 5s
    timeout server 5s
    timeout queue 5s
frontend fe
    bind 127.0.0.1:$FE
    default_backend none
backend none
    server s1 127.0.0.1:$P1 disabled
    server s2 127.0.0.1:$P2 disabled
frontend fe2
    bind 127.0.0.1:$FE2
    default_backend dead
backend dead
    retries 1
    server d1 127.0.0.1:$PD1
CFG
run_cfg nosrv
r=$(tcpc 127.0.0.1 $FE '' 0 3)
ms=$(fld "$r" 2)
expect_eq "no usable server: the client gets a FIN (not a reset, not a wait)" "$(fld "$r" 1)" eof
check "no usable server: at once, not after timeout queue (${ms}ms)" [ "$ms" -lt 1000 ]
check "no usable server: lbd logs it" grep -q "no server available for the connection from 127.0.0.1" $T_TMP/lbd.log
check "no usable server: the tcplog line says <NOSRV> and SC" grep -q ' fe none/<NOSRV> .* SC ' $T_TMP/lbd.log
# The client has sent data by the time the last attempt fails (SYNs to the
# server are dropped: 2 x timeout connect): still a FIN, not a reset.
if nft add table inet xlbt 2>/dev/null &&
	nft add chain inet xlbt out '{ type filter hook output priority 0; }' &&
	nft add rule inet xlbt out tcp dport $PD1 tcp flags syn drop; then
	r=$(tcpc 127.0.0.1 $FE2 'hello\n' 0 3)
	ms=$(fld "$r" 2)
	expect_eq "every attempt timed out: the client that sent data gets a FIN, not a reset" \
		"$(fld "$r" 1)" eof
	check "... after the two attempts (${ms}ms >= 350ms)" [ "$ms" -ge 350 -a "$ms" -lt 2000 ]
	check "every attempt timed out: lbd logs it" \
		grep -q "no server could take the connection from 127.0.0.1" $T_TMP/lbd.log
	check "... and the tcplog line says sC" grep -q ' fe2 dead/<NOSRV> .* sC ' $T_TMP/lbd.log
	nft delete table inet xlbt
else
	skip "nft unusable: client with data closed after failed attempts"
fi
check "lbd is still running" kill -0 $LBD_PID
stop_lbd

# ---- option redispatch: past several dead servers, and with a hash ----
cat >"$T_TMP/redisp.cfg" <<CFG
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    retries 3
    option redispatch
frontend fe
    bind 127.0.0.1:$FE
    default_backend src
frontend fe2
    bind 127.0.0.1:$FE2
    default_backend first
backend src
    balance source
    hash-type consistent
    timeout connect 100ms
    server d1 127.0.0.1:$PD1
    server s3 127.0.0.1:$P3
backend first
    balance first
    server d1 127.0.0.1:$PD1
    server d2 127.0.0.1:$PD2
    server s3 127.0.0.1:$P3
CFG
run_cfg redisp
# With a hash, as HAProxy: the retries stay on the client's server (it is
# its server), each after a turn-around of min(timeout connect, 1 s) =
# 100 ms, and only the last one goes elsewhere: retries 3 makes three
# attempts on d1 with two waits, then the fourth on s3.
bad=0
slow=0
for i in $(seq 10 29); do
	t0=$(date +%s%N)
	r=$(get --interface 127.0.0.$i http://127.0.0.1:$FE/)
	[ $((($(date +%s%N) - t0) / 1000000)) -ge 190 ] && slow=$((slow + 1))
	[ "$r" = s3 ] || bad=$((bad + 1))
done
expect_eq "balance source: 20 clients, those of the refusing server reach the live one" "$bad" 0
check "balance source: ... after two turn-around waits on their own server ($slow of 20 took >= 190ms)" \
	[ "$slow" -ge 1 -a "$slow" -lt 20 ]
bad=0
for i in 1 2 3 4 5; do
	[ "$(get http://127.0.0.1:$FE2/)" = s3 ] || bad=$((bad + 1))
done
expect_eq "balance first: two refusing servers, every client reaches the third" "$bad" 0
stop_lbd

# ---- bounded memory per connection ----
cat >"$T_TMP/mem.cfg" <<CFG
global
    nbthread 2
defaults
    mode tcp
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:$FE
    default_backend be
backend be
    server s1 127.0.0.1:$P1
CFG
run_cfg mem
get http://127.0.0.1:$FE/ >/dev/null # warm up both workers' allocators
get http://127.0.0.1:$FE/ >/dev/null
rss() { awk '/^VmRSS/ {print $2}' /proc/$LBD_PID/status; }
rss0=$(rss)
N=$((32 * 1024 * 1024))
for fd in 3 4 5 6; do
	eval "exec $fd<>/dev/tcp/127.0.0.1/$FE"
	printf 'GET /big?n=%d HTTP/1.0\r\n\r\n' $N >&$fd
done
sleep 0.7 # the server pushes as fast as it can; nobody reads
rss1=$(rss)
check "4 stalled 32 MB downloads: lbd grows by $((rss1 - rss0)) kB (< 4096 kB)" \
	[ $((rss1 - rss0)) -lt 4096 ]
for fd in 3 4 5 6; do
	n=$(timeout 20 cat <&$fd | wc -c)
	eval "exec $fd<&-"
	check "download on fd $fd complete once read ($n bytes)" [ "$n" -gt $N -a "$n" -lt $((N + 200)) ]
done
stop_lbd

# ---- global maxconn limits the whole process ----
cat >"$T_TMP/gmax.cfg" <<CFG
global
    maxconn 1
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend a
    bind 127.0.0.1:$FE
    default_backend be
frontend b
    bind 127.0.0.1:$FE2
    default_backend be
backend be
    server s1 127.0.0.1:$P1
CFG
run_cfg gmax
# (the second client starts once s1 holds the first one's request)
get "http://127.0.0.1:$FE/slow?ms=1000" -o /dev/null &
slow=$!
wait_pending 1 $P1 || fail "global maxconn 1: the first request reaches s1"
t0=$(date +%s%N)
r=$(get http://127.0.0.1:$FE2/)
dt=$((($(date +%s%N) - t0) / 1000000))
wait $slow
expect_eq "global maxconn 1: a client of another frontend is served" "$r" s1
check "global maxconn 1: ... once the first connection ended (${dt}ms >= 300ms)" [ "$dt" -ge 300 ]
stop_lbd

t_done
