#!/bin/bash
# The runtime API cases where lbd claims HAProxy's format, run against
# /usr/sbin/haproxy (2.6) as the oracle and against lbd with the same
# config: `show stat` columns and the fields lbd fills, `show servers state`,
# `set server ... weight|state` with their error messages, `get weight`,
# permissions and the `;` framing.
# Runs in its own network namespace (unshare -n): only its loopback is used.
if [ -z "${XLB_IN_NS:-}" ]; then
	exec unshare -n env XLB_IN_NS=1 bash "$0" "$@"
fi
ip link set lo up
. "$(dirname "$0")/lib.sh"
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
if [ ! -x "$HAPROXY" ]; then
	skip "haproxy is not installed"
	exit 0
fi

P1=$(t_port); P3=$(t_port); PB=$(t_port); PDEAD=$(t_port); FEH=$(t_port); FEL=$(t_port)
demo s1 127.0.0.1:$P1
demo s3 127.0.0.1:$P3
demo bk 127.0.0.1:$PB

# mkcfg SOCKDIR FRONTEND_PORT
mkcfg() {
	cat <<CFG
global
    stats socket $1/admin.sock mode 600 level admin
    stats socket $1/user.sock mode 600 level user
defaults
    mode tcp
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
    timeout check 300ms
frontend fe
    bind 127.0.0.1:$2
    default_backend web
backend web
    balance roundrobin
    server s1 127.0.0.1:$P1 check inter 200 rise 2 fall 2 weight 10
    server s2 127.0.0.1:$PDEAD check inter 200 rise 2 fall 2 weight 20
    server s3 127.0.0.1:$P3 weight 30
    server bk 127.0.0.1:$PB backup check inter 200 port $P1
CFG
}
mkdir -p "$T_TMP/h" "$T_TMP/l"
mkcfg "$T_TMP/h" $FEH >"$T_TMP/h.cfg"
mkcfg "$T_TMP/l" $FEL >"$T_TMP/l.cfg"
"$HAPROXY" -f "$T_TMP/h.cfg" -db >"$T_TMP/haproxy.log" 2>&1 &
T_PIDS+=($!)
start_lbd "$T_TMP/l.cfg"
wait_port 127.0.0.1 $FEH 5 || fail "haproxy listens"
wait_port 127.0.0.1 $FEL 5 || fail "lbd listens"
sleep 1.5 # checks settle: s2 DOWN after fall=2, the others UP

H() { printf '%s\n' "$2" | socat -t 5 - UNIX-CONNECT:"$T_TMP/h/$1.sock"; }
B() { printf '%s\n' "$2" | socat -t 5 - UNIX-CONNECT:"$T_TMP/l/$1.sock"; }
# same DESCRIPTION SOCKET COMMAND [FILTER]: both answers (through FILTER) are equal
same() {
	local filter=${4:-cat} h l
	h=$(H "$2" "$3" | eval "$filter")
	l=$(B "$2" "$3" | eval "$filter")
	if [ "$h" = "$l" ]; then
		ok "$1"
	else
		fail "$1"
		diff <(echo "$h") <(echo "$l") | head -10 | sed 's/^/#   /'
	fi
}
# stat_cols NAMES...: print these columns of `show stat`, found by header name
stat_cols() {
	awk -F, -v want="$*" 'NR==1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i; n = split(want, w, " "); next }
		NF > 1 { line = ""; for (j = 1; j <= n; j++) line = line (j > 1 ? "," : "") $(col[w[j]]); print line }'
}

# ---- show stat ----
same "show stat: identical header (every column, in order)" admin "show stat" "head -1"
same "show stat: same rows (proxy, service) in the same order" admin "show stat" "cut -d, -f1,2"
same "show stat: every row has the same number of fields" admin "show stat" "awk -F, '{print NF}'"
# (a check in progress when the answer is built shows as "* L4OK" on either side)
same "show stat: server status, weight, act, bck, check status/desc, rise/fall/health, addr" admin \
	"show stat" "stat_cols pxname svname status weight act bck check_status check_desc check_rise check_fall check_health addr uweight | grep -v -e FRONTEND -e BACKEND | sed 's/,\\* /,/'"
same "show stat: type and mode of every row, status of FRONTEND/BACKEND" admin "show stat" \
	"stat_cols pxname svname type mode | sort; stat_cols svname status act bck | grep -e FRONTEND -e BACKEND"
same "show stat: last_chk of a refused check" admin "show stat" "stat_cols svname last_chk check_code | grep s2"

# ---- show servers state ----
same "show servers state: version and header lines" admin "show servers state" "head -2"
same "show servers state: 25 fields per server" admin "show servers state" "awk 'NR > 2 && NF { print NF }'"
# All but be_id (HAProxy numbers proxies from 2 here) and the seconds since the last change.
# What depends on a check being in progress when the answer is built is masked:
# srv_check_state's bit 0x1, and srv_check_result, that HAProxy resets to 0
# (unknown) while a check runs; the result is compared on its own below.
ss_fields="awk 'NR > 2 && NF { \$1 = \"-\"; \$10 = \"-\"; \$12 = \"-\"; \$14 -= \$14 % 2; print }'"
same "show servers state: every field but be_id and time since last change" admin "show servers state" "$ss_fields"
same "show servers state web: one backend" admin "show servers state web" "$ss_fields"
# srv_check_result: equal on both sides at a moment where neither has a check
# in progress (a few tries: with checks every 200 ms, most answers have none).
ss_result="awk 'NR > 2 && NF { print \$4, \$12, \$14 % 2 }'"
for i in $(seq 1 20); do
	h=$(H admin "show servers state web" | eval "$ss_result")
	l=$(B admin "show servers state web" | eval "$ss_result")
	# (no line with a check in progress on either side)
	if ! grep -q ' 1$' <<<"$h$l"; then
		break
	fi
	sleep 0.05
done
expect_eq "show servers state: srv_check_result of every server, no check in progress" \
	"$(cut -d' ' -f1,2 <<<"$l" | tr '\n' ' ')" "$(cut -d' ' -f1,2 <<<"$h" | tr '\n' ' ')"
same "show servers state of an unknown backend" admin "show servers state nope"

# ---- set server weight / state, get weight ----
for c in "set server web/s1 weight 20" "get weight web/s1" "set server web/s1 weight 50%" \
	"get weight web/s1" "set server web/s3 weight 0" "get weight web/s3" \
	"set weight web/s3 7" "get weight web/s3" "set server web/s1 weight 300" \
	"set server web/s1 weight abc" "set server web/s1 weight" "set server web/s1 weight -5%" \
	"set server web/nope weight 1" "set server nope/s1 weight 1" "set server web weight 1" \
	"set server web/s1 state bogus" "set server web/s1 state" "get weight web/nope" \
	"set server web/s1 health bogus" "set maxconn server web/s1 abc"; do
	same "'$c'" admin "$c"
done
for c in "set server web/s1 state drain" "set server web/s2 state maint" "set server web/s3 state maint"; do
	same "'$c'" admin "$c"
done
sleep 0.3
same "after drain/maint: show stat status and weights" admin "show stat" "stat_cols svname status weight act bck"
same "after drain/maint: show servers state op/admin state and check state" admin "show servers state web" \
	"awk 'NR > 2 && NF { print \$4, \$6, \$7, \$8, \$14 - \$14 % 2 }'"
for c in "set server web/s1 state ready" "enable server web/s2" "set server web/s3 state ready"; do
	same "'$c'" admin "$c"
done
sleep 0.3
same "back to ready: show stat status" admin "show stat" "stat_cols svname status weight"

# ---- levels and framing ----
same "a user-level socket refuses set server" user "set server web/s1 weight 3"
same "a user-level socket refuses disable server" user "disable server web/s1"
same "show cli level" user "show cli level"
same "';' framing: each answer ends with an empty line" admin "show cli level;get weight web/s1;show cli level"
same "several lines in non-interactive mode" admin "$(printf 'show cli level\nget weight web/s3')"
same "show backend" admin "show backend"
same "help WORD: the same header and footer" admin "help set" "awk 'NR == 1; { l[NR] = \$0 } END { for (i = NR - 3; i <= NR; i++) print l[i] }'"
same "prompt: interactive framing" admin "$(printf 'prompt\nshow cli level\nget weight web/s3\nquit')"
same "del server of a server not in maintenance" admin "del server web/s1" "head -1"
same "add server to an unknown backend" admin "add server nope/x 127.0.0.1:1" "head -1"
same "add server with a name in use" admin "add server web/s1 127.0.0.1:1" "head -1"
same "add server without an address" admin "add server web/x" "head -1"
t_done
