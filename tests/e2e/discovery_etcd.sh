#!/bin/bash
# Service discovery from a real etcd (Debian etcd-server) through lbd's
# userspace TCP proxy: servers put under the prefix take traffic, deleted ones
# get no new connections while open ones finish, lease expiry removes them,
# unparsable values are skipped, host names are resolved, a broken stream
# resumes from the last revision without missing events, a compaction
# meanwhile means a re-list
# that applies the difference, etcd down keeps the last known servers (and
# the state file brings them back at boot), 200 servers at once, reload.
#
# lbd reaches etcd through a TCP relay (socat) that the test cuts to break
# the watch stream while etcd keeps taking writes. Everything runs on the
# loopback of this script's own network namespace.
if [ -z "${XLB_IN_NS:-}" ]; then
	exec unshare -n env XLB_IN_NS=1 bash "$0" "$@"
fi
ip link set lo up
. "$(dirname "$0")/lib.sh"

for t in etcd etcdctl socat; do
	if ! command -v $t >/dev/null; then
		skip "$t not installed (etcd-server, etcd-client, socat)"
		exit 0
	fi
done
export ETCDCTL_API=3

EC=$(t_port)   # etcd client port
EPP=$(t_port)  # etcd peer port
PX=$(t_port)   # relay lbd goes through
PDEAD=$(t_port) # nothing listens here
FE=$(t_port); FE2=$(t_port)
P1=$(t_port); P2=$(t_port); P3=$(t_port); P4=$(t_port); P5=$(t_port); PST=$(t_port)
SOCK=$T_TMP/lbd.sock
STATE=$T_TMP/state.json
PFX=/services/web/

demo s1 127.0.0.1:$P1
demo s2 127.0.0.1:$P2
demo s3 127.0.0.1:$P3
demo s4 127.0.0.1:$P4
demo s5 127.0.0.1:$P5
demo static 127.0.0.1:$PST

ec() { etcdctl --endpoints http://127.0.0.1:$EC --dial-timeout 2s --command-timeout 5s "$@"; }
api() { echo "$*" | socat -t 5 - "UNIX-CONNECT:$SOCK" 2>/dev/null; }
# Discovered servers of backend web, sorted: "s1 s2"
srvs() {
	api "show servers state ${1:-web}" | awk '$1 !~ /^#/ && NF > 5 {print $4}' | sort |
		grep -v '^static$' | tr '\n' ' ' | sed 's/ $//'
}
srvs_are() { [ "$(srvs)" = "$1" ]; }
has_srv() { srvs | tr ' ' '\n' | grep -qx "$1"; }
no_srv() { ! has_srv "$1"; }
# names answering N sequential connections, sorted unique
served_by() {
	local i
	for ((i = 0; i < $1; i++)); do get http://127.0.0.1:$FE/; done | sort -u | tr '\n' ' ' |
		sed 's/ $//'
}

ETCD_PID=
start_etcd() {
	etcd --name e1 --data-dir "$T_TMP/etcd" \
		--listen-client-urls http://127.0.0.1:$EC --advertise-client-urls http://127.0.0.1:$EC \
		--listen-peer-urls http://127.0.0.1:$EPP \
		--initial-advertise-peer-urls http://127.0.0.1:$EPP \
		--initial-cluster e1=http://127.0.0.1:$EPP >>"$T_TMP/etcd.log" 2>&1 &
	ETCD_PID=$!
	T_PIDS+=($ETCD_PID)
	wait_for 15 ec endpoint health >/dev/null 2>&1
}
stop_etcd() {
	kill "$ETCD_PID" 2>/dev/null
	wait "$ETCD_PID" 2>/dev/null
}

PROXY_PID=
start_proxy() {
	socat TCP-LISTEN:$PX,bind=127.0.0.1,fork,reuseaddr TCP:127.0.0.1:$EC >/dev/null 2>&1 &
	PROXY_PID=$!
	T_PIDS+=($PROXY_PID)
	wait_port 127.0.0.1 $PX 5
}
# Cut every connection through the relay and stop listening.
stop_proxy() {
	kill -STOP "$PROXY_PID" 2>/dev/null
	pkill -KILL -P "$PROXY_PID" 2>/dev/null
	kill -KILL "$PROXY_PID" 2>/dev/null
	wait "$PROXY_PID" 2>/dev/null
}

check "etcd starts on 127.0.0.1:$EC" start_etcd
start_proxy

cat >"$T_TMP/lbd.cfg" <<CFG
global
    stats socket $SOCK level admin
    xlb-state-file $STATE
defaults
    mode tcp
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:$FE
    default_backend web
frontend fe2
    bind 127.0.0.1:$FE2
    default_backend api
backend web
    balance roundrobin
    default-server check inter 1s
    server static 127.0.0.1:$PST
    discovery etcd endpoints http://127.0.0.1:$PX prefix $PFX
backend api
    discovery etcd endpoints http://127.0.0.1:$PDEAD,http://127.0.0.1:$EC prefix /services/api/
CFG
"$LBD" -c -f "$T_TMP/lbd.cfg" >/dev/null 2>&1
expect_eq "lbd -c accepts the discovery keyword" "$?" 0
printf 'backend web\n    discovery etcd endpoints ftp://x prefix /s/\n' >"$T_TMP/bad.cfg"
"$LBD" -c -f "$T_TMP/bad.cfg" >"$T_TMP/bad.out" 2>&1
check "lbd -c rejects a bad endpoint with file:line" grep -q "bad.cfg:2: .*ftp://x" "$T_TMP/bad.out"

ec put ${PFX}s1 "{\"addr\":\"127.0.0.1\",\"port\":$P1,\"weight\":1,\"zone\":\"a\"}" >/dev/null
start_lbd "$T_TMP/lbd.cfg"
wait_port 127.0.0.1 $FE 5 || fail "lbd listens on $FE"
check "the server registered before start is listed" wait_for 5 srvs_are "s1"
expect_eq "static and discovered servers share the traffic" "$(served_by 4)" "s1 static"
check "show discovery: synced, online" sh -c "echo 'show discovery' | socat -t 5 - UNIX-CONNECT:$SOCK |
	grep -q '^web,etcd,$PFX,online,yes,1,1,'"
check "lbctl servers shows origin etcd and the key" \
	sh -c "'$LBCTL' -s '$SOCK' servers | grep -E '\\bs1\\b' | grep -q 'etcd (${PFX}s1)'"

# A put: the new server takes traffic within a second. Timed from etcd's
# answer to the put (the event is in etcd then; etcdctl's start-up is left
# out), the bound of 2 s still holds the polling of `show servers state` on a
# loaded machine; from before etcdctl starts, 3 s.
t0=$(ms)
ec put ${PFX}s2 "127.0.0.1:$P2" >/dev/null
t1=$(ms)
wait_for 5 has_srv s2
t2=$(ms)
check "a put adds the server (in $((t2 - t1)) ms < 2000 after the put, $((t2 - t0)) ms < 3000 with etcdctl)" \
	[ $((t2 - t1)) -lt 2000 -a $((t2 - t0)) -lt 3000 ]
expect_eq "the new server receives traffic" "$(served_by 6)" "s1 s2 static"

# Another backend whose first endpoint is dead still discovers through the second.
ec put /services/api/a1 "127.0.0.1:$P5" >/dev/null
check "a dead first endpoint: the next one is used" \
	wait_for 5 sh -c "echo 'show servers state api' | socat -t 5 - UNIX-CONNECT:$SOCK | grep -q ' a1 '"
expect_eq "and its server serves" "$(get http://127.0.0.1:$FE2/)" "s5"
expect_eq "one dead endpoint out of two is not logged as an outage" \
	"$(grep -c "'api': etcd unreachable" "$T_TMP/lbd.log")" 0

# An unparsable value is skipped with one log line naming the key.
ec put ${PFX}broken "not-an-address" >/dev/null
ec put ${PFX}s3 "{\"addr\":\"127.0.0.1\",\"port\":$P3}" >/dev/null
wait_for 3 has_srv s3
expect_eq "an unparsable value adds nothing and changes nothing" "$(srvs)" "s1 s2 s3"
expect_eq "one log line names the skipped key" \
	"$(grep -c "key '${PFX}broken' skipped" "$T_TMP/lbd.log")" 1

# A host name is resolved (off the control loop), IPv4 preferred: localhost
# gives 127.0.0.1. A name that does not resolve is skipped with one log line.
ec put ${PFX}named "localhost:$P4" >/dev/null
check "a host name in a value: the server is added" wait_for 5 has_srv named
expect_eq "... at the address the name resolves to (IPv4 first)" \
	"$(api "show servers state web" | awk '$4 == "named" {print $5 ":" $19}')" "127.0.0.1:$P4"
expect_eq "... and it takes traffic" "$(served_by 8)" "s1 s2 s3 s4 static"
ec put ${PFX}nowhere "{\"addr\":\"no-such-host.invalid\",\"port\":$P4}" >/dev/null
check "a name that does not resolve is skipped with one log line" \
	wait_for 10 grep -q "key '${PFX}nowhere' skipped: cannot resolve 'no-such-host.invalid'" \
	"$T_TMP/lbd.log"
ec del ${PFX}named >/dev/null
ec del ${PFX}nowhere >/dev/null
check "... and nothing else changed (named deleted again)" wait_for 5 srvs_are "s1 s2 s3"

# A weight in the value is applied in place.
ec put ${PFX}s3 "{\"addr\":\"127.0.0.1\",\"port\":$P3,\"weight\":5}" >/dev/null
check "a weight change is applied" wait_for 3 sh -c "echo 'show servers state web' |
	socat -t 5 - UNIX-CONNECT:$SOCK | awk '\$4 == \"s3\" {print \$8}' | grep -qx 5"
# An address change is applied in place: server s3 now connects to s4's port.
ec put ${PFX}s3 "{\"addr\":\"127.0.0.1\",\"port\":$P4}" >/dev/null
check "an address change is applied in place" wait_for 3 sh -c "echo 'show servers state web' |
	socat -t 5 - UNIX-CONNECT:$SOCK | awk '\$4 == \"s3\" {print \$19}' | grep -qx $P4"
expect_eq "and new connections follow it" "$(served_by 8)" "s1 s2 s4 static"
ec put ${PFX}s3 "{\"addr\":\"127.0.0.1\",\"port\":$P3}" >/dev/null
check "and back" wait_for 3 sh -c "echo 'show servers state web' |
	socat -t 5 - UNIX-CONNECT:$SOCK | awk '\$4 == \"s3\" {print \$19}' | grep -qx $P3"

# A delete: no new connections, open ones finish. Six slow requests (held
# 8 s by the server, answered with its name: still open after the delete,
# its polling and the 8 requests that follow, even on a loaded machine) and
# six large transfers read after a pause (more than the socket buffers hold)
# are open when s2 goes.
BIG=40000000
# web_conns: connections lbd holds to the servers of web
web_conns() {
	api "show servers json web" | jq '[.servers[].cur_conns] | add' 2>/dev/null
}
web_conns_ge() { [ "$(web_conns)" -ge "$1" ] 2>/dev/null; }
s2conns() {
	api "show servers json web" | jq '[.servers[] | select(.name == "s2")][0].cur_conns' 2>/dev/null
}
s2conns_ge() { [ "$(s2conns)" -ge "$1" ] 2>/dev/null; }
# Six connections in a row cover the four servers: s2 gets at least one of
# each kind (the big ones start once lbd has placed the six slow ones).
for i in 1 2 3 4 5 6; do
	get --max-time 20 "http://127.0.0.1:$FE/slow?ms=8000" >"$T_TMP/slow$i" &
	slows[$i]=$!
done
wait_for 10 web_conns_ge 6
for i in 1 2 3 4 5 6; do
	curl -s --max-time 30 "http://127.0.0.1:$FE/big?n=$BIG" | { sleep 2; wc -c; } >"$T_TMP/big$i" &
	bigs[$i]=$!
done
wait_for 10 web_conns_ge 12
wait_for 5 s2conns_ge 2
n=$(s2conns)
check "connections are open on s2 (${n:-?})" [ "${n:-0}" -ge 2 ]
# Timed as the put above: from etcd's answer (< 2 s) and with etcdctl (< 3 s).
t0=$(ms)
ec del ${PFX}s2 >/dev/null
t1=$(ms)
wait_for 5 no_srv s2
t2=$(ms)
check "a delete removes the server (in $((t2 - t1)) ms < 2000 after the delete, $((t2 - t0)) ms < 3000 with etcdctl)" \
	[ $((t2 - t1)) -lt 2000 -a $((t2 - t0)) -lt 3000 ]
r=$(served_by 8)
expect_eq "the removed server gets no new connections" "$r" "s1 s3 static"
alive=0
for i in 1 2 3 4 5 6; do kill -0 ${slows[$i]} 2>/dev/null && alive=$((alive + 1)); done
expect_eq "the open connections are still running" "$alive" 6
bad=0
for i in 1 2 3 4 5 6; do
	wait ${slows[$i]} || bad=$((bad + 1))
	wait ${bigs[$i]}
	[ "$(cat "$T_TMP/big$i")" = "$BIG" ] || bad=$((bad + 1))
done
expect_eq "every open connection completed in full" "$bad" 0
expect_eq "s2's slow requests were answered by s2 after its removal" \
	"$(cat "$T_TMP"/slow* | sort | uniq -c | awk '$2 == "s2" {print ($1 >= 1)}')" 1

# Lease expiry: a registration that dies without revoking goes after its TTL.
"$E2E_ROOT/tools/xlb-register" -q -e http://127.0.0.1:$EC -p $PFX -i s4 -a 127.0.0.1 -P $P4 \
	-t 2 --client etcdctl &
reg=$!
T_PIDS+=($reg)
check "xlb-register (etcdctl) registers s4" wait_for 5 has_srv s4
pkill -KILL -P $reg
kill -KILL $reg
{ wait $reg; } 2>/dev/null
t0=$(ms)
wait_for 10 no_srv s4
dt=$(($(ms) - t0))
check "lease expiry removes s4 (after ${dt} ms, TTL 2 s)" [ "$dt" -lt 8000 ]
# SIGTERM revokes the lease: the key goes at once.
"$E2E_ROOT/tools/xlb-register" -q -e http://127.0.0.1:$EC -p $PFX -i s5 -a 127.0.0.1 -P $P5 \
	-t 30 --client curl &
reg=$!
T_PIDS+=($reg)
check "xlb-register (curl) registers s5" wait_for 5 has_srv s5
expect_eq "s5 serves" "$(served_by 8 | grep -o s5)" "s5"
kill -TERM $reg
wait $reg
check "SIGTERM to xlb-register deregisters s5 at once" wait_for 2 no_srv s5

# The stream breaks (relay cut); events made meanwhile are not missed.
lists=$(grep -c "registered under '$PFX'" "$T_TMP/lbd.log")
stop_proxy
ec put ${PFX}s4 "127.0.0.1:$P4" >/dev/null
ec del ${PFX}s1 >/dev/null
ec put ${PFX}s3 "{\"addr\":\"127.0.0.1\",\"port\":$P3,\"weight\":2}" >/dev/null
expect_eq "etcd unreachable: lbd keeps serving the known servers" "$(served_by 6)" \
	"s1 s3 static"
check "the outage is logged" wait_for 3 grep -q "'web': etcd unreachable" "$T_TMP/lbd.log"
sleep 1
start_proxy
check "after the relay returns, the events made meanwhile are applied" \
	wait_for 10 srvs_are "s3 s4"
check "the outage's end is logged" grep -q "'web': etcd reachable again" "$T_TMP/lbd.log"
expect_eq "the outage is logged once" "$(grep -c "'web': etcd unreachable" "$T_TMP/lbd.log")" 1
expect_eq "resumed from the last revision: no re-list" \
	"$(grep -c "registered under '$PFX'" "$T_TMP/lbd.log")" "$lists"
expect_eq "traffic follows" "$(served_by 6)" "s3 s4 static"

# Compaction while disconnected: the watch cannot resume, lbd lists again.
stop_proxy
ec put ${PFX}s1 "127.0.0.1:$P1" >/dev/null
ec del ${PFX}s4 >/dev/null
ec put ${PFX}s2 "127.0.0.1:$P2" >/dev/null
ec del ${PFX}s2 >/dev/null
ec put ${PFX}s5 "127.0.0.1:$P5" >/dev/null
rev=$(ec get / --prefix --keys-only -w json 2>/dev/null | sed -n 's/.*"revision":\([0-9]*\).*/\1/p')
ec compact "$rev" >/dev/null
ec put ${PFX}s2 "127.0.0.1:$P2" >/dev/null
start_proxy
check "after a compaction, a re-list gives the right set" wait_for 10 srvs_are "s1 s2 s3 s5"
check "the compaction is logged" grep -q "was compacted" "$T_TMP/lbd.log"
expect_eq "traffic follows" "$(served_by 8)" "s1 s2 s3 s5 static"

# etcd itself stops: lbd keeps serving and recovers when it returns.
stop_etcd
sleep 1
expect_eq "etcd down: lbd keeps serving" "$(served_by 8)" "s1 s2 s3 s5 static"
check "lbd is still running" kill -0 $LBD_PID
start_etcd || fail "etcd restarts"
ec put ${PFX}s4 "127.0.0.1:$P4" >/dev/null
check "after etcd returns, a new put is picked up" wait_for 10 has_srv s4
expect_eq "nothing else changed" "$(srvs)" "s1 s2 s3 s4 s5"

# 200 servers at once (two transactions of 100 puts).
for b in 0 1; do
	{
		echo
		for i in $(seq $((b * 100)) $((b * 100 + 99))); do
			printf 'put %sbulk-%03d 127.0.0.1:%s\n' "$PFX" "$i" "$P1"
		done
		echo
		echo
	} | ec txn >/dev/null
done
bulk() {
	api "show servers json web" | jq '[.servers[] | select(.origin == "etcd" and
		(.name | startswith("bulk-")))] | length' 2>/dev/null
}
bulk_done() { [ "$(bulk)" = 200 ]; }
check "200 servers registered at once are all picked up" wait_for 10 bulk_done
expect_eq "show servers json counts 200 bulk servers" "$(bulk)" 200
check "show discovery counts 205 entries" sh -c "echo 'show discovery' |
	socat -t 5 - UNIX-CONNECT:$SOCK | grep -q '^web,etcd,$PFX,online,yes,205,205,'"
ec del --prefix ${PFX}bulk- >/dev/null
check "and all removed by one prefix delete" wait_for 10 srvs_are "s1 s2 s3 s4 s5"

# Reload: discovered servers stay, the watch continues on the new generation,
# and they take the new default-server settings (as servers discovered now would).
cp "$T_TMP/lbd.cfg" "$T_TMP/lbd.cfg.orig"
sed -i 's/default-server check inter 1s$/default-server check inter 1s maxconn 7/' "$T_TMP/lbd.cfg"
expect_eq "reload succeeds" "$(api reload | head -1)" "Success"
expect_eq "discovered servers carried over the reload" "$(srvs)" "s1 s2 s3 s4 s5"
expect_eq "they take the reloaded default-server (maxconn 7), s3 keeps its etcd weight 2" \
	"$(api "show servers json web" | jq -r '[.servers[] | select(.origin == "etcd") |
		"\(.name)=\(.maxconn)/\(.weight)"] | sort | join(" ")')" "s1=7/1 s2=7/1 s3=7/2 s4=7/1 s5=7/1"
cp "$T_TMP/lbd.cfg.orig" "$T_TMP/lbd.cfg"
ec del ${PFX}s5 >/dev/null
check "after the reload, events still apply" wait_for 5 srvs_are "s1 s2 s3 s4"
expect_eq "and traffic follows" "$(served_by 8)" "s1 s2 s3 s4 static"

# Restart with etcd down: the state file gives the last known set.
kill $LBD_PID
wait $LBD_PID 2>/dev/null
check "the state file was written" grep -q "${PFX}s4" "$STATE"
stop_etcd
mv "$T_TMP/lbd.log" "$T_TMP/lbd-1.log"
start_lbd "$T_TMP/lbd.cfg"
wait_port 127.0.0.1 $FE 5
check "etcd down at boot: servers come from the state file" wait_for 8 srvs_are "s1 s2 s3 s4"
check "and it is logged" grep -q "saved in '$STATE'" "$T_TMP/lbd.log"
expect_eq "they serve" "$(served_by 8)" "s1 s2 s3 s4 static"
start_etcd || fail "etcd restarts"
ec del ${PFX}s3 >/dev/null
check "etcd back: the listing replaces the saved set" wait_for 10 srvs_are "s1 s2 s4"

kill $LBD_PID
wait $LBD_PID 2>/dev/null
stop_proxy
stop_etcd
if [ "$T_FAILED" != 0 ]; then
	for f in "$T_TMP"/lbd-1.log "$T_TMP"/lbd.log; do
		[ -f "$f" ] && sed 's/^/#   /' "$f" | tail -80
	done
fi
t_done
