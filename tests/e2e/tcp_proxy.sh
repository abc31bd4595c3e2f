#!/bin/bash
# The userspace TCP proxy (mode tcp without XDP): distribution, weights,
# refused servers, maxconn, timeout connect, soft stop, lbd -c.
# Runs in its own network namespace (unshare -n): only its loopback is used.
if [ -z "${XLB_IN_NS:-}" ]; then
	exec unshare -n env XLB_IN_NS=1 bash "$0" "$@"
fi
ip link set lo up
. "$(dirname "$0")/lib.sh"

P1=$(t_port); P2=$(t_port); P3=$(t_port); PDEAD=$(t_port); FE=$(t_port)
demo s1 127.0.0.1:$P1
demo s2 127.0.0.1:$P2
demo s3 127.0.0.1:$P3

# count_names N URL: N sequential requests, prints "name count" lines sorted
count_names() {
	local i
	for ((i = 0; i < $1; i++)); do
		get "$2"
	done | sort | uniq -c | awk '{print $2"="$1}' | tr '\n' ' '
}

cfg=$T_TMP/rr.cfg
cat >"$cfg" <<CFG
global
    maxconn 100
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$FE
    default_backend be
backend be
    balance roundrobin
    server s1 127.0.0.1:$P1
    server s2 127.0.0.1:$P2
    server s3 127.0.0.1:$P3
CFG
start_lbd "$cfg"
wait_port 127.0.0.1 $FE 5 || fail "lbd listens on $FE"
expect_eq "roundrobin spreads 30 connections evenly over 3 servers" \
	"$(count_names 30 http://127.0.0.1:$FE/)" "s1=10 s2=10 s3=10 "
seq6=$(for i in 1 2 3 4 5 6; do get http://127.0.0.1:$FE/; done | tr '\n' ' ')
set -- $seq6
check "roundrobin rotates in a fixed order ($seq6)" \
	[ "$1" != "$2" -a "$2" != "$3" -a "$1" != "$3" -a "$1" = "$4" -a "$2" = "$5" -a "$3" = "$6" ]
kill $LBD_PID; wait $LBD_PID 2>/dev/null

# Weights 3,1,1: exact 3:1:1 over 50 sequential connections.
sed -i 's/^    server s1 .*/    server s1 127.0.0.1:'$P1' weight 3/' "$cfg"
start_lbd "$cfg"
wait_port 127.0.0.1 $FE 5
expect_eq "weights 3,1,1 give 30/10/10 of 50 connections" \
	"$(count_names 50 http://127.0.0.1:$FE/)" "s1=30 s2=10 s3=10 "
kill $LBD_PID; wait $LBD_PID 2>/dev/null

# A refused server is skipped with `option redispatch` and no client sees an error.
cat >"$cfg" <<CFG
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    retries 2
    option redispatch
frontend fe
    bind 127.0.0.1:$FE
    default_backend be
backend be
    server s1 127.0.0.1:$P1
    server dead 127.0.0.1:$PDEAD
    server s3 127.0.0.1:$P3
CFG
start_lbd "$cfg"
wait_port 127.0.0.1 $FE 5
errors=0
for i in $(seq 1 30); do
	r=$(get http://127.0.0.1:$FE/) || errors=$((errors + 1))
	case "$r" in s1 | s3) ;; *) errors=$((errors + 1)) ;; esac
done
expect_eq "option redispatch: a refused server costs no client its connection (30 requests)" \
	"$errors" 0
kill $LBD_PID; wait $LBD_PID 2>/dev/null

# Without `option redispatch` (HAProxy's default), retries stay on the
# server that refused, each after min(timeout connect, 1 s): with retries 2
# and timeout connect 300ms, three attempts and two 300 ms waits, then the
# client is closed, although s3 is up.
cat >"$cfg" <<CFG
defaults
    mode tcp
    timeout connect 300ms
    timeout client 5s
    timeout server 5s
    retries 2
frontend fe
    bind 127.0.0.1:$FE
    default_backend be
backend be
    balance first
    server dead 127.0.0.1:$PDEAD
    server s3 127.0.0.1:$P3
CFG
start_lbd "$cfg" -V
# (wait for the listener without connecting: a probe would be a client too)
for i in $(seq 1 50); do
	ss -Hltn "sport = :$FE" | grep -q . && break
	sleep 0.1
done
t0=$(date +%s%N)
r=$(get http://127.0.0.1:$FE/)
rc=$?
dt=$((($(date +%s%N) - t0) / 1000000))
check "no redispatch: the client of a refusing server gets no answer (curl rc $rc)" \
	[ "$rc" != 0 -a -z "$r" ]
check "no redispatch: after two turn-around waits (${dt}ms >= 550ms)" [ "$dt" -ge 550 ]
check "no redispatch: and not after timeout connect x3 plus 1 s waits (${dt}ms < 2500ms)" \
	[ "$dt" -lt 2500 ]
expect_eq "no redispatch: three attempts, all on the refusing server" \
	"$(grep -c 'connect to server be/dead .* failed' $T_TMP/lbd.log)/$(grep -c 'be/s3' $T_TMP/lbd.log)" \
	"3/0"
kill $LBD_PID; wait $LBD_PID 2>/dev/null

# timeout connect: SYNs to one server are dropped; the connection is
# redispatched after `timeout connect` and served by the other server.
if command -v nft >/dev/null; then
	nft add table inet xlbt && nft add chain inet xlbt out '{ type filter hook output priority 0; }' &&
		nft add rule inet xlbt out tcp dport $P2 tcp flags syn drop
	cat >"$cfg" <<CFG
defaults
    mode tcp
    timeout connect 300ms
    timeout client 5s
    timeout server 5s
    retries 1
    option redispatch
frontend fe
    bind 127.0.0.1:$FE
    default_backend be
backend be
    balance first
    server s2 127.0.0.1:$P2
    server s3 127.0.0.1:$P3
CFG
	start_lbd "$cfg"
	wait_port 127.0.0.1 $FE 5
	t0=$(date +%s%N)
	r=$(get http://127.0.0.1:$FE/)
	dt=$((($(date +%s%N) - t0) / 1000000))
	expect_eq "a blackholed server is abandoned after timeout connect" "$r" "s3"
	check "the retry waited for timeout connect (${dt}ms >= 250ms)" [ "$dt" -ge 250 ]
	check "and not much longer (${dt}ms < 2000ms)" [ "$dt" -lt 2000 ]
	kill $LBD_PID; wait $LBD_PID 2>/dev/null
	nft delete table inet xlbt
else
	skip "nft not installed: timeout connect"
fi

# Frontend maxconn 1: the second client waits in the backlog until the first ends.
cat >"$cfg" <<CFG
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$FE
    maxconn 1
    default_backend be
backend be
    server s1 127.0.0.1:$P1
CFG
start_lbd "$cfg"
wait_port 127.0.0.1 $FE 5
# (the second client starts once s1 holds the first one's request)
get http://127.0.0.1:$FE/slow?ms=1000 -o /dev/null &
slow=$!
wait_pending 1 $P1 || fail "frontend maxconn: the first request reaches s1"
t0=$(date +%s%N)
r=$(get http://127.0.0.1:$FE/)
dt=$((($(date +%s%N) - t0) / 1000000))
wait $slow
expect_eq "frontend maxconn: the waiting client is served" "$r" "s1"
check "frontend maxconn: it waited for the first connection (${dt}ms >= 300ms)" [ "$dt" -ge 300 ]
kill $LBD_PID; wait $LBD_PID 2>/dev/null

# Server maxconn 1 with a queue: the second connection waits for the slot.
cat >"$cfg" <<CFG
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout queue 3s
frontend fe
    bind 127.0.0.1:$FE
    default_backend be
backend be
    server s1 127.0.0.1:$P1 maxconn 1
CFG
start_lbd "$cfg"
wait_port 127.0.0.1 $FE 5
get http://127.0.0.1:$FE/slow?ms=1000 -o /dev/null &
slow=$!
wait_pending 1 $P1 || fail "server maxconn: the first request reaches s1"
t0=$(date +%s%N)
r=$(get http://127.0.0.1:$FE/)
dt=$((($(date +%s%N) - t0) / 1000000))
wait $slow
expect_eq "server maxconn: the queued connection is served" "$r" "s1"
check "server maxconn: it was queued until the slot freed (${dt}ms >= 300ms)" [ "$dt" -ge 300 ]
kill $LBD_PID; wait $LBD_PID 2>/dev/null

# Same with a short timeout queue: the queued client is closed, lbd lives on.
sed -i 's/timeout queue 3s/timeout queue 200ms/' "$cfg"
start_lbd "$cfg"
wait_port 127.0.0.1 $FE 5
get http://127.0.0.1:$FE/slow?ms=1500 -o /dev/null &
slow=$!
wait_pending 1 $P1 || fail "timeout queue: the first request reaches s1"
r=$(get http://127.0.0.1:$FE/)
expect_eq "timeout queue: the queued client is closed without an answer" "$r" ""
wait $slow
check "lbd still running after a queue timeout" kill -0 $LBD_PID
expect_eq "and serves the next client" "$(get http://127.0.0.1:$FE/)" "s1"

# Soft stop (SIGUSR1): no new connections, the open one finishes, then exit.
# (the open request, held 3 s by s1, is there before the signal, and still
# open once new connections are refused)
CURL_TIMEOUT=10 get "http://127.0.0.1:$FE/slow?ms=3000" -o $T_TMP/slow &
slow=$!
wait_pending 1 $P1 || fail "soft stop: the open request reaches s1"
kill -USR1 $LBD_PID
# (curl's status 7: the connection itself is refused; a queued connection
# closed after timeout queue would fail differently)
refused() {
	get http://127.0.0.1:$FE/ >/dev/null
	[ $? = 7 ]
}
if wait_for 3 refused; then
	ok "soft stop: new connections are refused"
else
	fail "soft stop: new connections are refused"
fi
check "soft stop: lbd waits for the open connection" kill -0 $LBD_PID
wait $slow
expect_eq "soft stop: the open request completed" "$(cat $T_TMP/slow)" "s1"
for i in $(seq 1 50); do kill -0 $LBD_PID 2>/dev/null || break; sleep 0.1; done
if kill -0 $LBD_PID 2>/dev/null; then fail "soft stop: lbd exits once idle"; else ok "soft stop: lbd exits once idle"; fi

# lbd -c on good and bad files.
"$LBD" -c -f "$cfg" >$T_TMP/c.out 2>&1
expect_eq "lbd -c exits 0 on a valid file" "$?" 0
printf 'frontend fe\n    bind 127.0.0.1:1\n    mode tcp\n    balance nosuchalgo\n' >$T_TMP/bad.cfg
"$LBD" -c -f $T_TMP/bad.cfg >$T_TMP/c.out 2>&1
expect_eq "lbd -c exits 1 on an invalid file" "$?" 1
check "the error names file:line" grep -q "bad.cfg:4" $T_TMP/c.out

t_done
