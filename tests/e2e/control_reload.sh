#!/bin/bash
# Reload: SIGHUP, `reload` on the runtime API and `lbctl reload`. A good
# config swaps in (new backend routes, no request fails under steady load);
# a broken one is rejected with file:line and the old config keeps serving.
# Server state (health, weight, maintenance, API-added servers) survives;
# unchanged stats sockets keep their socket.
# Runs in its own network namespace (unshare -n): only its loopback is used.
if [ -z "${XLB_IN_NS:-}" ]; then
	exec unshare -n env XLB_IN_NS=1 bash "$0" "$@"
fi
ip link set lo up
. "$(dirname "$0")/lib.sh"

P1=$(t_port); P2=$(t_port); P3=$(t_port); P4=$(t_port); FE=$(t_port); FE2=$(t_port)
ADMIN=$T_TMP/admin.sock
USER=$T_TMP/user.sock
NEWSOCK=$T_TMP/new.sock
API_SOCK=$ADMIN
API_TIMEOUT=10

demo s1 127.0.0.1:$P1
demo s2 127.0.0.1:$P2
S2=${T_PIDS[-1]}
demo s3 127.0.0.1:$P3
demo s4 127.0.0.1:$P4

cfg=$T_TMP/lb.cfg
write_cfg() { # write_cfg VERSION
	cat >"$cfg" <<CFG
global
    stats socket $ADMIN mode 600 level admin
    stats socket $USER level ${USERLEVEL:-user}
${EXTRA_GLOBAL:-}
defaults
    mode tcp
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
    retries 3
    option redispatch
frontend fe
    bind 127.0.0.1:$FE
    default_backend web
backend web
    server s1 127.0.0.1:$P1 check inter 200 rise 2 fall 2
    server s2 127.0.0.1:$P2 check inter 200 rise 2 fall 2 weight 10
CFG
	if [ "$1" = 2 ]; then
		cat >>"$cfg" <<CFG
frontend fe2
    bind 127.0.0.1:$FE2
    default_backend api
backend api
    server s3 127.0.0.1:$P3 check inter 200
CFG
	fi
}
write_cfg 1
start_lbd "$cfg"
if ! wait_port 127.0.0.1 $FE 5; then
	fail "lbd listens on $FE"
	sed 's/^/# /' "$T_TMP/lbd.log"
	exit 1
fi
for i in $(seq 1 50); do [ -S "$ADMIN" ] && break; sleep 0.05; done
ino=$(stat -c %i "$ADMIN")
# The frontend's listening socket, by inode: an unchanged bind keeps it.
fe_ino() { ss -Hltne "sport = :$FE" | grep -o 'ino:[0-9]*'; }
fe_ino0=$(fe_ino)

# State made at run time, to be carried over.
api "set server web/s2 weight 5" >/dev/null
api "add server web/s4 127.0.0.1:$P4 enabled" >/dev/null
kill $S2
wait_status web/s2 DOWN 3000
expect_eq "before reload: s2 is DOWN" "$(srv_status web/s2)" "DOWN"

# ---- good reload under steady load ----
# wrk opens a new connection for every request (Connection: close), so that
# connections keep arriving while the listeners are handed over; this
# namespace's own port range and TIME_WAIT reuse keep it from running out of
# ports. The curl loop beside it checks every answer. The range starts above
# every port this test binds (t_port hands out 20000 to about 29050, and
# FE2 + 1000 is below 30100): a client socket (or its TIME_WAIT) on one of
# them would make a later bind there, as `demo s2` below, fail (EADDRINUSE).
sysctl -qw net.ipv4.ip_local_port_range="32768 65000" net.ipv4.tcp_tw_reuse=1
WRKLOG=$T_TMP/wrk.log
if command -v wrk >/dev/null; then
	wrk -t2 -c8 -d4s -H 'Connection: close' http://127.0.0.1:$FE/ >"$WRKLOG" 2>&1 &
	wrkpid=$!
fi
LOOPLOG=$T_TMP/loop.log
(
	end=$((SECONDS + 5))
	while [ $SECONDS -lt $end ]; do
		curl -s --max-time 3 -o /dev/null -w '%{http_code} %{size_download}\n' http://127.0.0.1:$FE/ || echo "ERR"
	done
) >"$LOOPLOG" 2>&1 &
loop=$!
sleep 0.5
write_cfg 2
kill -HUP $LBD_PID
wait_port 127.0.0.1 $FE2 2
expect_eq "SIGHUP: the new frontend and backend route" "$(get http://127.0.0.1:$FE2/)" "s3"
sleep 0.5
expect_eq "reload on the runtime API answers Success" "$(api reload | head -1)" "Success"
sleep 0.5
out=$("$LBCTL" -s "$ADMIN" reload)
expect_eq "lbctl reload" "$out" "reload: Success"
wait $loop
total=$(grep -c . "$LOOPLOG")
bad=$(grep -vc '^000 0$\|^200 ' "$LOOPLOG")
errs=$(grep -vc '^200 ' "$LOOPLOG")
ok_if "steady load during 3 reloads: $total connections, none failed" '[ "$total" -gt 20 ] && [ "$errs" = 0 ]'
[ "$errs" = 0 ] || sort "$LOOPLOG" | uniq -c | sed 's/^/# /'
if [ -n "${wrkpid:-}" ]; then
	wait $wrkpid
	wrkreq=$(awk '/requests in/ {print $1}' "$WRKLOG")
	ok_if "wrk during the 3 reloads: ${wrkreq:-?} requests, no socket error, no non-2xx" \
		'[ "${wrkreq:-0}" -gt 1000 ] && ! grep -q -e "Socket errors" -e "Non-2xx" "$WRKLOG"'
	grep -q -e "Socket errors" -e "Non-2xx" "$WRKLOG" && sed 's/^/# /' "$WRKLOG"
else
	skip "wrk not installed"
fi
expect_eq "the unchanged frontend kept its listening socket" "$(fe_ino)" "$fe_ino0"
check "logged" grep -q "configuration reloaded" "$T_TMP/lbd.log"

# ---- state carried over ----
expect_eq "a server DOWN before the reload is still DOWN (not reset to UP)" "$(srv_status web/s2)" "DOWN"
expect_eq "its check counters are kept (no new DOWN transition logged)" \
	"$(grep -c 'Server web/s2 is DOWN' "$T_TMP/lbd.log")" 1
expect_eq "a weight set at run time is kept" "$(api "get weight web/s2" | head -1)" "5 (initial 10)"
stot() { api "show stat" | awk -F, '$1=="web" && $2=="s1" {print $8 "/" $9}'; }
stot0=$(stot)
api reload >/dev/null
expect_eq "a server's counters are kept (s1 sessions/bytes in $stot0, no traffic meanwhile)" \
	"$(stot)" "$stot0"
expect_eq "a server added on the API is carried over" \
	"$(api "show servers json web" | jq -r '.servers[] | select(.name=="s4") | "\(.origin) \(.admin)"')" "api ready"
seen=$(for i in $(seq 1 6); do get http://127.0.0.1:$FE/; done | sort -u | tr '\n' ' ')
expect_eq "and still takes traffic" "$seen" "s1 s4 "
expect_eq "the admin socket was kept (same inode)" "$(stat -c %i "$ADMIN")" "$ino"
demo s2 127.0.0.1:$P2
wait_status web/s2 UP 3000
expect_eq "checks run on the new generation: s2 back UP" "$(srv_status web/s2)" "UP"

# ---- broken config: rejected, old one keeps serving ----
cp "$cfg" "$cfg.good"
printf 'backend broken\n    balance nosuchalgo\n' >>"$cfg"
line=$(grep -n nosuchalgo "$cfg" | cut -d: -f1)
out=$(api reload)
ok_if "API reload of a broken config: the error has file:line ($cfg:$line)" \
	'echo "$out" | grep -q "^$cfg:$line: "'
out=$("$LBCTL" -s "$ADMIN" reload 2>&1)
rc=$?
expect_eq "lbctl reload of a broken config exits 1" "$rc" 1
ok_if "with one line naming file:line" '[ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -q "$cfg:$line: "'
# (the API reloads above logged the same line: one more is the SIGHUP's)
rejected() { grep -c "reload rejected, the running configuration keeps serving" "$T_TMP/lbd.log"; }
nrej=$(rejected)
more_rejected() { [ "$(rejected)" -gt "$nrej" ]; }
kill -HUP $LBD_PID
check "SIGHUP with a broken config: logged as rejected" wait_for 5 more_rejected
expect_eq "the old config keeps serving (fe)" "$(get http://127.0.0.1:$FE/ >/dev/null && echo yes)" "yes"
expect_eq "the old config keeps serving (fe2)" "$(get http://127.0.0.1:$FE2/)" "s3"
check "lbd still running" kill -0 $LBD_PID

# A bind that cannot be opened: rejected too, nothing changes.
cp "$cfg.good" "$cfg"
socat TCP-LISTEN:$((FE2 + 1000)),bind=127.0.0.1,reuseaddr,fork SYSTEM:"sleep 1" &
T_PIDS+=($!)
wait_port 127.0.0.1 $((FE2 + 1000)) 5
printf 'frontend clash\n    bind 127.0.0.1:%d\n    default_backend api\n' $((FE2 + 1000)) >>"$cfg"
out=$(api reload)
ok_if "a bind already in use rejects the reload ($(echo $out | head -c 80))" \
	'echo "$out" | grep -q "cannot bind"'
expect_eq "and the old config keeps serving" "$(get http://127.0.0.1:$FE2/)" "s3"

# A stats socket that cannot be created: rejected with file:line.
cp "$cfg.good" "$cfg"
sed -i "s|^    stats socket $USER.*|&\n    stats socket /proc/nope/x.sock level admin|" "$cfg"
line=$(grep -n /proc/nope "$cfg" | cut -d: -f1)
out=$(api reload)
ok_if "an unusable stats socket rejects the reload with file:line" \
	'echo "$out" | grep -q "^$cfg:$line: cannot bind stats socket"'
expect_eq "the existing sockets still answer" "$(api "show cli level" | head -1)" "admin"

# ---- stats sockets across reloads ----
cp "$cfg.good" "$cfg"
USERLEVEL=operator EXTRA_GLOBAL="    stats socket $NEWSOCK level admin" write_cfg 2
expect_eq "reload adding a socket and changing a level" "$(api reload | head -1)" "Success"
expect_eq "the new socket answers" "$(echo "show cli level" | socat -t 5 - UNIX-CONNECT:$NEWSOCK | head -1)" "admin"
expect_eq "the level of a kept socket follows the config" \
	"$(echo "show cli level" | socat -t 5 - UNIX-CONNECT:$USER | head -1)" "operator"
expect_eq "the admin socket still has the same inode" "$(stat -c %i "$ADMIN")" "$ino"
write_cfg 2
api reload >/dev/null
check "a socket removed from the config is closed and unlinked" [ ! -e "$NEWSOCK" ]

# Reload after reload while connections stay open on old generations.
get "http://127.0.0.1:$FE/slow?ms=1500" >"$T_TMP/slow" &
sp=$!
sleep 0.2
for i in 1 2 3; do api reload >/dev/null; done
wait $sp
ok_if "a connection open across three reloads completes ($(cat "$T_TMP/slow"))" \
	'grep -qx "s[124]" "$T_TMP/slow"'
sleep 2.5
check "lbd still running after the old generations are freed" kill -0 $LBD_PID
expect_eq "and serves" "$(get http://127.0.0.1:$FE2/)" "s3"
t_done
