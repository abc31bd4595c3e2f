#!/bin/bash
# lbctl against a live lbd: tables and --json for every read command,
# weight/enable/disable/drain, reload, errors (unknown names list what
# exists, permission, no daemon), help, and up/down of a daemonized lbd.
# Runs in its own network namespace (unshare -n): only its loopback is used.
if [ -z "${XLB_IN_NS:-}" ]; then
	exec unshare -n env XLB_IN_NS=1 bash "$0" "$@"
fi
ip link set lo up
. "$(dirname "$0")/lib.sh"

P1=$(t_port); P2=$(t_port); FE=$(t_port)
ADMIN=$T_TMP/admin.sock
USER=$T_TMP/user.sock
export XLB_SOCKET=$ADMIN
L=$LBCTL

demo s1 127.0.0.1:$P1
demo s2 127.0.0.1:$P2

cfg=$T_TMP/lb.cfg
cat >"$cfg" <<CFG
global
    stats socket $ADMIN mode 600 level admin
    stats socket $USER level user
defaults
    mode tcp
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$FE
    default_backend web
backend web
    server s1 127.0.0.1:$P1 check inter 200
    server s2 127.0.0.1:$P2 check inter 200 weight 20
    server bk 127.0.0.1:$P2 backup
backend empty
CFG

# ---- up / down (daemon) ----
out=$("$L" up -f "$cfg" 2>&1)
rc=$?
expect_eq "lbctl up exits 0" "$rc" 0
ok_if "lbctl up reports the pid and the socket ($out)" 'echo "$out" | grep -q "^lbd started (pid [0-9]*), runtime API on $ADMIN"'
pid=$(echo "$out" | sed -n 's/.*(pid \([0-9]*\)).*/\1/p')
[ -n "$pid" ] && T_PIDS+=($pid)
check "lbd runs as a daemon" kill -0 "$pid"
expect_eq "it serves" "$(get http://127.0.0.1:$FE/ | grep -c '^s[12]$')" 1
out=$("$L" up -f "$cfg" 2>&1)
rc=$?
ok_if "a second lbctl up is refused ($out)" '[ $rc = 1 ] && echo "$out" | grep -q "already running"'
out=$("$L" up 2>&1)
ok_if "lbctl up without -f: one-line error" '[ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -q "^lbctl: up: expected -f CFG"'
out=$("$L" up -f "$cfg" --xdp-mode turbo 2>&1)
ok_if "lbctl up --xdp-mode checks its value" 'echo "$out" | grep -q "expects native or generic"'

# ---- status ----
out=$("$L" status)
ok_if "status: header line with pid" 'echo "$out" | head -1 | grep -q "^lbd .*, pid $pid, "'
ok_if "status: frontend table with tier and reason" \
	'echo "$out" | grep -Eq "^fe +tcp +127.0.0.1:$FE +userspace +no XDP interface attached$"'
ok_if "status: backend table" 'echo "$out" | grep -Eq "^web +tcp +roundrobin +UP +3 +2\+1$"'
ok_if "status --json is JSON with the frontends" \
	'[ "$("$L" status --json | jq -r ".frontends[0].tier")" = userspace ]'
ok_if "--json before the command works too" '[ "$("$L" --json status | jq -r ".pid")" = "$pid" ]'

# ---- servers ----
sleep 0.5
out=$("$L" servers)
ok_if "servers: header" 'echo "$out" | head -1 | grep -Eq "^BACKEND +SERVER +ADDRESS +WEIGHT +STATE +CHECK +CONNS +TOTAL +ORIGIN$"'
ok_if "servers: a checked server with its last check" \
	'echo "$out" | grep -Eq "^web +s1 +127.0.0.1:$P1 +1 +UP +L4OK \([0-9]+ms\) +[0-9]+ +[0-9]+ +config$"'
ok_if "servers: a backup server" 'echo "$out" | grep -Eq "^web +bk +127.0.0.1:$P2 +1 +UP \(backup\) +- "'
ok_if "servers BACKEND filters" '[ "$("$L" servers web | grep -c "^web ")" = 3 ]'
ok_if "servers --json" '[ "$("$L" servers --json | jq -r ".servers | length")" = 3 ]'
out=$("$L" servers nope 2>&1)
rc=$?
ok_if "servers of an unknown backend: exit 1, lists the backends ($out)" \
	'[ $rc = 1 ] && [ "$out" = "lbctl: no backend '"'"'nope'"'"' (backends: web, empty)" ]'

# ---- changes ----
expect_eq "weight" "$("$L" weight web/s1 7)" "web/s1: weight 7"
expect_eq "the weight is applied" "$("$L" servers --json | jq -r '.servers[] | select(.name=="s1") | .weight')" 7
expect_eq "weight N%" "$("$L" weight web/s2 50% >/dev/null; "$L" raw get weight web/s2)" "10 (initial 20)"
out=$("$L" weight web/nope 3 2>&1)
rc=$?
ok_if "an unknown server: exit 1, lists the backend's servers ($out)" \
	'[ $rc = 1 ] && [ "$out" = "lbctl: no server '"'"'nope'"'"' in backend '"'"'web'"'"' (servers: s1, s2, bk)" ]'
out=$("$L" weight nope/s1 3 2>&1)
ok_if "an unknown backend lists the backends" '[ "$out" = "lbctl: no backend '"'"'nope'"'"' (backends: web, empty)" ]'
out=$("$L" weight web/s1 999 2>&1)
rc=$?
ok_if "an invalid weight: exit 1 with lbd's reason ($out)" \
	'[ $rc = 1 ] && [ "$out" = "lbctl: weight: Absolute weight can only be between 0 and 256 inclusive." ]'
out=$("$L" weight web 3 2>&1)
ok_if "a name without a slash" 'echo "$out" | grep -q "^lbctl: expected BACKEND/SERVER"'
# Arguments are words of one command: a ';' or a blank cannot start another one.
out=$("$L" weight web/s2 '20;disable server web/s1' 2>&1)
rc=$?
ok_if "a value with ';' is one (refused) word, not a second command ($out)" \
	'[ $rc = 1 ] && [ "$out" = "lbctl: weight: Trailing garbage in weight string" ]'
out=$("$L" servers 'web;shutdown' 2>&1)
ok_if "a backend name with ';' is one word ($out)" \
	'echo "$out" | grep -q "^lbctl: no backend '"'"'web;shutdown'"'"'"'
expect_eq "nothing else ran: s1 still ready, lbd running" \
	"$("$L" servers --json | jq -r '.servers[] | select(.name=="s1") | .admin')" ready
expect_eq "drain" "$("$L" drain web/s1)" "web/s1: drain"
expect_eq "drain shows in servers" "$("$L" servers --json | jq -r '.servers[] | select(.name=="s1") | .state')" DRAIN
expect_eq "disable" "$("$L" disable web/s1)" "web/s1: maint"
expect_eq "disable shows in servers" "$("$L" servers --json | jq -r '.servers[] | select(.name=="s1") | .state')" MAINT
seen=$(for i in $(seq 1 4); do get http://127.0.0.1:$FE/; done | sort -u | tr '\n' ' ')
expect_eq "a disabled server gets no traffic" "$seen" "s2 "
expect_eq "enable" "$("$L" enable web/s1)" "web/s1: ready"
seen=$(for i in $(seq 1 12); do get http://127.0.0.1:$FE/; done | sort -u | tr '\n' ' ')
expect_eq "enabled, it gets traffic again" "$seen" "s1 s2 "
out=$("$L" -s "$USER" disable web/s1 2>&1)
rc=$?
ok_if "a user-level socket: exit 1, permission denied in one line" \
	'[ $rc = 1 ] && [ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -q "^lbctl: permission denied"'
ok_if "read commands work on a user-level socket" '"$L" -s "$USER" servers >/dev/null'

# ---- stats ----
out=$("$L" stats)
ok_if "stats: table with frontend, servers and backend rows" \
	'echo "$out" | grep -q "^frontend fe " && echo "$out" | grep -q "^  web/s1 " && echo "$out" | grep -q "^backend web "'
ok_if "stats --json: objects keyed by HAProxy's column names" \
	'[ "$("$L" stats --json | jq -r ".[] | select(.svname==\"FRONTEND\") | .pxname")" = fe ]'

# ---- reload ----
expect_eq "reload" "$("$L" reload)" "reload: Success"

# ---- errors and help ----
out=$("$L" -s $T_TMP/nothere.sock status 2>&1)
rc=$?
ok_if "no daemon: exit 1, one line ($out)" \
	'[ $rc = 1 ] && [ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -q "cannot connect to $T_TMP/nothere.sock"'
out=$(XLB_SOCKET=$T_TMP/nothere.sock "$L" servers 2>&1)
ok_if "XLB_SOCKET is the default socket" 'echo "$out" | grep -q "nothere.sock"'
out=$("$L" frobnicate 2>&1)
rc=$?
ok_if "unknown command: exit 1" '[ $rc = 1 ] && echo "$out" | grep -q "unknown command"'
ok_if "help lists the commands" '"$L" help | grep -q "up -f CFG"'
for c in status servers weight enable disable drain reload stats up down; do
	ok_if "lbctl $c --help" '"$L" $c --help | head -1 | grep -q "^Usage: lbctl \[-s SOCKET\] $c"'
done
ok_if "raw passes a runtime API command" '[ "$("$L" raw show cli level)" = admin ]'

# ---- down ----
out=$("$L" down 2>&1)
rc=$?
ok_if "lbctl down exits 0 ($out)" '[ $rc = 0 ] && echo "$out" | grep -q "^lbd stopped (pid $pid)"'
check "lbd is gone" [ ! -d /proc/$pid ]
check "its socket is removed" [ ! -e "$ADMIN" ]
out=$("$L" down 2>&1)
rc=$?
ok_if "lbctl down without a daemon: exit 1, one line" '[ $rc = 1 ] && [ "$(echo "$out" | wc -l)" = 1 ]'
t_done
