#!/bin/bash
# The runtime API against a live lbd: every command at each level (user,
# operator, admin), malformed input, the line protocol (`;`, escapes,
# prompt, idle timeout, long lines), weight 0 and drain with open
# connections, add/del server, set server addr, JSON commands.
# Runs in its own network namespace (unshare -n): only its loopback is used.
if [ -z "${XLB_IN_NS:-}" ]; then
	exec unshare -n env XLB_IN_NS=1 bash "$0" "$@"
fi
ip link set lo up
. "$(dirname "$0")/lib.sh"

P1=$(t_port); P2=$(t_port); P3=$(t_port); PDEAD=$(t_port); FE=$(t_port); PAPI=$(t_port)

ADMIN=$T_TMP/admin.sock
OPER=$T_TMP/oper.sock
USER=$T_TMP/user.sock
# on SOCKET COMMAND-LINE: the raw answer
on() { printf '%s\n' "$2" | socat -t 5 - UNIX-CONNECT:"$1"; }
API_SOCK=$ADMIN
first_line() { head -n1; }

demo s1 127.0.0.1:$P1
demo s2 127.0.0.1:$P2
demo s3 127.0.0.1:$P3

cfg=$T_TMP/api.cfg
cat >"$cfg" <<CFG
global
    stats socket $ADMIN mode 600 level admin
    stats socket $OPER level operator
    stats socket $USER mode 666 level user
    stats socket ipv4@127.0.0.1:$PAPI level admin
    stats socket $T_TMP/owned.sock mode 640 uid 65534 gid 65534 level user
    stats timeout 1s
defaults
    mode tcp
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
    retries 2
    option redispatch
frontend fe
    bind 127.0.0.1:$FE
    default_backend web
backend web
    server s1 127.0.0.1:$P1 weight 10
    server s2 127.0.0.1:$P2 weight 10
backend other
    server o1 127.0.0.1:$P3 check inter 200
CFG
start_lbd "$cfg"
if ! wait_port 127.0.0.1 $FE 5; then
	fail "lbd listens on $FE"
	sed 's/^/# /' "$T_TMP/lbd.log"
	exit 1
fi
for i in $(seq 1 50); do [ -S "$ADMIN" ] && break; sleep 0.05; done

# ---- sockets and levels ----
expect_eq "unix socket level admin" "$(on "$ADMIN" "show cli level" | first_line)" "admin"
expect_eq "unix socket level operator" "$(on "$OPER" "show cli level" | first_line)" "operator"
expect_eq "unix socket level user" "$(on "$USER" "show cli level" | first_line)" "user"
expect_eq "ipv4@ socket" "$(echo "show cli level" | socat -t 5 - TCP:127.0.0.1:$PAPI | first_line)" "admin"
expect_eq "stats socket mode 600" "$(stat -c %a "$ADMIN")" "600"
expect_eq "stats socket mode 666" "$(stat -c %a "$USER")" "666"
expect_eq "stats socket mode 640 uid 65534 gid 65534" "$(stat -c '%a %u %g' "$T_TMP/owned.sock")" \
	"640 65534 65534"
expect_eq "an owned socket answers at its level" \
	"$(on "$T_TMP/owned.sock" "show cli level" | first_line)" "user"

# fd@N: a listening socket inherited from the parent (here systemd-socket-activate,
# which passes it as fd 3), beside a unix one; kept across a reload.
if command -v systemd-socket-activate >/dev/null; then
	PFD=$(t_port)
	cat >"$T_TMP/fd.cfg" <<CFG
global
    stats socket fd@3 level admin
    stats socket $T_TMP/fd-user.sock level user
defaults
    mode tcp
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
backend web
    server s1 127.0.0.1:$P1
CFG
	systemd-socket-activate -l 127.0.0.1:$PFD "$LBD" -f "$T_TMP/fd.cfg" >"$T_TMP/fd.log" 2>&1 &
	FDPID=$!
	T_PIDS+=($FDPID)
	for i in $(seq 1 50); do [ -S "$T_TMP/fd-user.sock" ] && break; sleep 0.05; done
	fdq() { echo "$1" | socat -t 5 - TCP:127.0.0.1:$PFD | first_line; }
	expect_eq "stats socket fd@3 (inherited listener) answers at level admin" \
		"$(fdq "show cli level")" "admin"
	expect_eq "beside a unix socket of level user" \
		"$(on "$T_TMP/fd-user.sock" "show cli level" | first_line)" "user"
	expect_eq "reload through the fd@ socket" "$(fdq reload)" "Success"
	expect_eq "the fd@ socket still answers after the reload" "$(fdq "show cli level")" "admin"
	kill $FDPID
	wait $FDPID 2>/dev/null
else
	skip "systemd-socket-activate not installed: fd@N not tested"
fi

# Commands every level may run.
for c in "show info" "show stat" "show servers state" "show backend" "show servers json" \
	"show status json" "show version" "get weight web/s1" "show cli level" "help" "show xdp" \
	"show conns"; do
	for s in "$USER" "$OPER" "$ADMIN"; do
		r=$(on "$s" "$c")
		if [ -z "$r" ] || [[ "$r" == "Permission denied"* ]] || [[ "$r" == "Unknown command"* ]]; then
			fail "'$c' at level $(basename "$s" .sock)"
			echo "#   got: $(echo "$r" | head -2)"
			continue 2
		fi
	done
	ok "'$c' answers at every level"
done
# Operator commands.
for c in "show sess" "clear counters"; do
	expect_eq "'$c' is refused at level user" "$(on "$USER" "$c" | first_line)" "Permission denied"
	r=$(on "$OPER" "$c" | first_line)
	check "'$c' is allowed at level operator" [ "$r" != "Permission denied" ]
done
# Admin commands: refused below admin, with HAProxy's message.
for c in "set server web/s1 weight 10" "set weight web/s1 10" "enable server web/s1" \
	"disable server web/s1" "enable health other/o1" "disable health other/o1" \
	"add server web/x 127.0.0.1:1" "del server web/s1" "set maxconn server web/s1 0" \
	"reload" "xdp down" "shutdown" "clear counters all" "set server web/s1 state ready"; do
	a=$(on "$USER" "$c")
	b=$(on "$OPER" "$c")
	expect_eq "'$c' is refused at levels user and operator" "$a|$b" \
		"Permission denied|Permission denied"
done
check "lbd survived the refused shutdown" kill -0 $LBD_PID
expect_eq "'user' lowers the session's level" "$(api "user; show cli level" | tr '\n' ' ')" " user  "
expect_eq "'operator' cannot raise a user session" "$(on "$USER" "operator; show cli level" | tr '\n' '|')" \
	"Permission denied||user||"

# ---- line protocol ----
expect_eq "two commands on one line, each answer ends with an empty line" \
	"$(api "show cli level;show version" | tr '\n' '|')" "admin||$(build/lbd -v >/dev/null; api "show version" | head -1)||"
expect_eq "several lines in non-interactive mode are all answered" \
	"$(printf 'show cli level\nshow cli level\n' | socat -t 5 - UNIX-CONNECT:$ADMIN | grep -c admin)" 2
out=$(printf 'prompt\nshow cli level\n\nshow backend\nquit\nshow version\n' | socat -t 5 - UNIX-CONNECT:$ADMIN)
ok_if "prompt: interactive mode shows '> ' and answers each line" \
	'[ "$(echo "$out" | grep -c "^> ")" -ge 2 ] && echo "$out" | grep -q "^> admin$"'
check "quit ends the interactive session (nothing after it)" \
	[ "$(echo "$out" | grep -c "$(api "show version" | head -1)")" = 0 ]
out=$( (sleep 2.5; echo "show cli level") | socat -t 5 - UNIX-CONNECT:$ADMIN)
expect_eq "stats timeout 1s closes an idle session" "$out" ""
expect_eq "unterminated last line is answered at EOF" "$(printf 'show cli level' | socat -t 5 - UNIX-CONNECT:$ADMIN | head -1)" "admin"
expect_eq "escaped ';' stays in a word (unknown server name)" \
	"$(api 'get weight web/s\;1' | head -1)" "No such server."

# ---- malformed input: an error line, never a crash or a hang ----
declare -A bad=(
	["foo"]="Unknown command. Please enter one of the following commands only :"
	["show"]="Unknown command, but maybe one of the following ones is a better match:"
	["set server"]="Require 'backend/server'."
	["set server web"]="Require 'backend/server'."
	["set server web/"]="Require 'backend/server'."
	["set server web/zz weight 1"]="No such server."
	["set server nope/s1 weight 1"]="No such backend."
	["set server web/s1 weight"]="Require <weight> or <weight%>."
	["set server web/s1 weight abc"]="Empty weight string empty or preceded by garbage"
	["set server web/s1 weight 300"]="Absolute weight can only be between 0 and 256 inclusive."
	["set server web/s1 weight 10x"]="Trailing garbage in weight string"
	["set server web/s1 weight -5%"]="Relative weight must be positive."
	["set server web/s1 state"]="'set server <srv> state' expects 'ready', 'drain' and 'maint'."
	["set server web/s1 state bogus"]="'set server <srv> state' expects 'ready', 'drain' and 'maint'."
	["set server web/s1 health maybe"]="'set server <srv> health' expects 'up', 'stopping', or 'down'."
	["set server web/s1 bogus"]="usage: set server <backend>/<server> addr | check-addr | check-port | health | state | weight"
	["set server web/s1 addr"]="set server <b>/<s> addr requires an address and optionally a port."
	["set server web/s1 addr notanip"]="Invalid addr 'notanip'."
	["add server"]="Require 'backend/server'."
	["add server web/x"]="'server' expects <name> and <addr>[:<port>] as arguments."
	["add server nope/x 127.0.0.1:1"]="No such backend."
	["add server web/s1 127.0.0.1:1"]="Already exists a server with the same name in backend."
	["add server web/x 127.0.0.1:1 bogus"]="unknown keyword 'bogus'."
	["add server web/x 127.0.0.1:1 weight"]="'weight' expects an argument."
	["add server web/x 127.0.0.1:1 weight 999"]="weight of server x is not within 0 and 256 (999)."
	["del server web/s1"]="Only servers in maintenance mode can be deleted."
	["del server web/nope"]="No such server."
	["get weight"]="Require 'backend/server'."
	["set maxconn server web/s1 lots"]="maxconn string empty or preceded by garbage"
	["show servers state nope"]="Can't find backend."
	["show servers json nope"]="Can't find backend."
	["shutdown now please"]="Unknown command, but maybe one of the following ones is a better match:"
	["set timeout cli abc"]="Expects an integer value."
)
for c in "${!bad[@]}"; do
	expect_eq "malformed: '$c'" "$(api "$c" | head -1)" "${bad[$c]}"
done
head -c 100000 /dev/zero | tr '\0' 'a' >"$T_TMP/long"
expect_eq "a 100 kB line is refused" "$(socat -t 5 - UNIX-CONNECT:$ADMIN <"$T_TMP/long" | head -1)" \
	"Command line too long."
expect_eq "a command with 100 words is refused" "$(api "show $(seq -s ' ' 1 100)" | head -1)" \
	"Too many words in the command."
head -c 3000 /dev/urandom >"$T_TMP/garbage"
timeout 5 socat -t 3 - UNIX-CONNECT:$ADMIN <"$T_TMP/garbage" >/dev/null 2>&1
check "binary garbage: lbd still answers" [ "$(api "show cli level" | head -1)" = admin ]
printf 'show\0 cli level\n' | socat -t 3 - UNIX-CONNECT:$ADMIN >/dev/null 2>&1
expect_eq "empty line / blanks / bare ';' answer nothing harmful" "$(api '  ;; ' | tr -d '\n')" ""
pids=()
for i in $(seq 1 40); do
	api "show stat" >"$T_TMP/par.$i" &
	pids+=($!)
done
wait "${pids[@]}"
n=$(grep -l '^# pxname,svname' "$T_TMP"/par.* | wc -l)
expect_eq "40 concurrent sessions all answered" "$n" 40
# 500 random commands from the API's own words, in one interactive session.
words=(show stat info servers state json status backend set server web/s1 web/zz nope/s1 weight
	state ready drain maint health up down addr 127.0.0.1 port 1 99999 -1 0 50% 256 257 x
	enable disable add get clear counters all help user operator prompt timeout cli
	maxconn conns sess xdp version ';' '\;' '\\' "'" '"' '%' '' check inter rise fall backup)
{
	echo prompt
	for i in $(seq 1 500); do
		line=""
		for j in $(seq 1 $((RANDOM % 7 + 1))); do
			line+="${words[$((RANDOM % ${#words[@]}))]} "
		done
		case "$line" in *prompt* | *quit*) line=${line//prompt/help} ;; esac
		echo "$line"
	done
	echo quit
} >"$T_TMP/fuzz"
timeout 30 socat -t 10 - UNIX-CONNECT:$ADMIN <"$T_TMP/fuzz" >"$T_TMP/fuzz.out" 2>&1
check "500 random commands in one session: lbd still answers" [ "$(api "show cli level" | head -1)" = admin ]
check "lbd still running after the malformed input" kill -0 $LBD_PID
# Undo what the random commands may have changed.
api "set server web/s1 weight 10; set server web/s1 state ready; set server web/s1 health up" >/dev/null
api "set server web/s2 weight 10; set server web/s2 state ready; set server web/s1 addr 127.0.0.1 port $P1" >/dev/null
api "set maxconn server web/s1 0" >/dev/null

# ---- weight ----
expect_eq "set server weight: no output on success" "$(api "set server web/s1 weight 50%")" ""
expect_eq "weight 50% of the initial 10" "$(api "get weight web/s1" | head -1)" "5 (initial 10)"
api "set weight web/s1 10" >/dev/null
expect_eq "set weight (deprecated form)" "$(api "get weight web/s1" | head -1)" "10 (initial 10)"

# Open a slow connection on each server, then take s1 out with weight 0:
# its connection completes, no new connection goes to it.
# pending_both: the requests s1 and s2 hold unanswered
pending_both() { echo $(($(tcp_pending $P1 | grep -c .) + $(tcp_pending $P2 | grep -c .))); }
two_pending() { [ "$(pending_both)" -ge 2 ]; }
slow_pair() {
	get "http://127.0.0.1:$FE/slow?ms=1500" >"$T_TMP/slow1" &
	sp1=$!
	get "http://127.0.0.1:$FE/slow?ms=1500" >"$T_TMP/slow2" &
	sp2=$!
	# both placed by lbd and held by the servers
	wait_for 10 two_pending
}
for mode in "weight 0" "state drain" "state maint"; do
	slow_pair
	cur=$(api "show stat" | awk -F, '$1=="web" && $2=="s1" {print $5}')
	expect_eq "$mode: s1 has one open connection before" "$cur" 1
	api "set server web/s1 $mode" >/dev/null
	seen=$(for i in $(seq 1 8); do get http://127.0.0.1:$FE/; done | sort -u | tr '\n' ' ')
	expect_eq "$mode: new connections avoid s1" "$seen" "s2 "
	wait $sp1 $sp2
	expect_eq "$mode: the open connections completed" "$(cat "$T_TMP/slow1" "$T_TMP/slow2" | sort | tr '\n' ' ')" "s1 s2 "
	api "set server web/s1 weight 10; set server web/s1 state ready" >/dev/null
	seen=$(for i in $(seq 1 8); do get http://127.0.0.1:$FE/; done | sort -u | tr '\n' ' ')
	expect_eq "$mode undone: s1 takes traffic again" "$seen" "s1 s2 "
done
expect_eq "show stat status while drained" \
	"$(api "set server web/s1 state drain" >/dev/null; api "show stat" | awk -F, '$2=="s1"{print $18}')" "DRAIN"
expect_eq "show stat status in maintenance" \
	"$(api "disable server web/s1" >/dev/null; api "show stat" | awk -F, '$2=="s1"{print $18}')" "MAINT"
expect_eq "show servers state: admin state FMAINT (1), op state stopped (0)" \
	"$(api "show servers state web" | awk '$4=="s1" {print $6, $7}')" "0 1"
api "enable server web/s1" >/dev/null
expect_eq "enable server: back to no check / ready" "$(api "show stat" | awk -F, '$2=="s1"{print $18}')" "no check"
check "maintenance is logged with HAProxy's wording" \
	grep -q "Server web/s1 is going DOWN for maintenance. 1 active and 0 backup servers left." "$T_TMP/lbd.log"
check "leaving maintenance is logged" grep -q "Server web/s1 is UP/READY (leaving forced maintenance)." "$T_TMP/lbd.log"
check "drain is logged" grep -q "Server web/s1 enters drain state." "$T_TMP/lbd.log"
api "set server web/s1 health down" >/dev/null
expect_eq "set server health down" "$(api "show stat" | awk -F, '$2=="s1"{print $18}')" "DOWN"
api "set server web/s1 health up" >/dev/null
expect_eq "set server health up" "$(api "show stat" | awk -F, '$2=="s1"{print $18}')" "no check"

# ---- add / del server ----
expect_eq "add server" "$(api "add server web/s3 127.0.0.1:$P3 weight 10 maxconn 50")" "New server registered."
expect_eq "an added server starts in maintenance (as HAProxy)" \
	"$(api "show servers state web" | awk '$4=="s3" {print $7, $8}')" "1 10"
seen=$(for i in $(seq 1 6); do get http://127.0.0.1:$FE/; done | sort -u | tr '\n' ' ')
expect_eq "a server in maintenance gets no traffic" "$seen" "s1 s2 "
api "enable server web/s3" >/dev/null
seen=$(for i in $(seq 1 9); do get http://127.0.0.1:$FE/; done | sort -u | tr '\n' ' ')
expect_eq "enabled, the added server takes traffic" "$seen" "s1 s2 s3 "
j=$(api "show servers json web")
expect_eq "show servers json: origin api, key = the socket" \
	"$(echo "$j" | jq -r '.servers[] | select(.name=="s3") | "\(.origin) \(.origin_key) \(.port) \(.weight) \(.maxconn)"')" \
	"api $ADMIN $P3 10 50"
expect_eq "add server enabled: ready at once" \
	"$(api "add server web/s4 127.0.0.1:$PDEAD enabled check inter 200 rise 1 fall 1"; api "show servers state web" | awk '$4=="s4" {print $7, $14}')" \
	"$(printf 'New server registered.\n\n0 2')"
api "enable health web/s4" >/dev/null
for i in $(seq 1 40); do [ "$(api "show stat" | awk -F, '$2=="s4"{print $18}')" = DOWN ] && break; sleep 0.05; done
expect_eq "its check runs once enabled and marks the dead server DOWN" \
	"$(api "show stat" | awk -F, '$2=="s4"{print $18, $37}')" "DOWN L4CON"
errs=0
for i in $(seq 1 12); do get http://127.0.0.1:$FE/ >/dev/null || errs=$((errs + 1)); done
expect_eq "no request fails with a dead added server" "$errs" 0
api "disable server web/s4" >/dev/null
expect_eq "del server (in maintenance)" "$(api "del server web/s4")" "Server deleted."
expect_eq "a deleted server is gone" "$(api "show servers state web" | awk '$4=="s4"' | wc -l)" 0
# Delete a server with an open connection: the connection finishes on it.
api "disable server web/s1; disable server web/s2" >/dev/null
get "http://127.0.0.1:$FE/slow?ms=1200" >"$T_TMP/slow3" &
sp=$!
# (s3 holds the request before the other servers come back)
wait_pending 1 $P3 || fail "the slow request reaches s3"
api "enable server web/s1; enable server web/s2; disable server web/s3" >/dev/null
expect_eq "del server with a connection open" "$(api "del server web/s3")" "Server deleted."
seen=$(for i in $(seq 1 6); do get http://127.0.0.1:$FE/; done | sort -u | tr '\n' ' ')
expect_eq "no new connection goes to the deleted server" "$seen" "s1 s2 "
wait $sp
expect_eq "the open connection finished on the deleted server" "$(cat "$T_TMP/slow3")" "s3"
expect_eq "a name can be reused after del" "$(api "add server web/s3 127.0.0.1:$P3")" "New server registered."

# ---- set server addr ----
expect_eq "set server addr + port" "$(api "set server web/s2 addr 127.0.0.1 port $P3")" \
	"no need to change the addr, port changed from '$P2' to '$P3' by 'stats socket command'"
api "disable server web/s1" >/dev/null
expect_eq "traffic follows the new address" "$(get http://127.0.0.1:$FE/)" "s3"
api "set server web/s2 addr 127.0.0.1 port $P2; enable server web/s1" >/dev/null
expect_eq "and back" "$(api "show servers state web" | awk '$4=="s2" {print $19}')" "$P2"

# ---- JSON and lbd's own commands ----
check "show servers json is valid JSON" sh -c "echo \"\$(printf 'show servers json\n' | socat -t 5 - UNIX-CONNECT:$ADMIN)\" | jq -e '.servers | length > 0' >/dev/null"
st=$(api "show status json")
expect_eq "show status json: frontend tier and reason" \
	"$(echo "$st" | jq -r '.frontends[0] | "\(.name) \(.mode) \(.tier) \(.reason) \(.binds[0].addr)"')" \
	"fe tcp userspace no XDP interface attached 127.0.0.1:$FE"
r=$(api "show xdp" | head -1)
ok_if "show xdp without an XDP interface says so ($r)" \
	'[ "$r" = "XDP: not attached" ] || [ "$r" = "XDP tier: not attached (no xlb-interface configured)" ]'
r=$(api "xdp down" | head -1)
ok_if "xdp down without an XDP interface succeeds ($r)" \
	'[ "$r" = "XDP detached, pins removed." ] || [ "$r" = "XDP tier not attached: nothing to detach." ]'
expect_eq "show info names the process" "$(api "show info" | grep -E '^(Name|Pid):' | tr '\n' ' ')" \
	"Name: lbd Pid: $LBD_PID "
expect_eq "set maxconn server" "$(api "set maxconn server web/s1 7"; api "show stat" | awk -F, '$2=="s1"{print $7}')" "$(printf '\n7')"
api "clear counters all" >/dev/null
expect_eq "clear counters all resets the totals" "$(api "show stat" | awk -F, '$2=="s1"{print $8}')" 0
check "lbd still running" kill -0 $LBD_PID

alive() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null)
	[ -n "$st" ] && [[ "$st" != Z* ]]
}
# shutdown: answers, then stops (soft).
expect_eq "shutdown answers before stopping" "$(api "shutdown" | head -1)" "Stopping (soft, open connections finish)."
for i in $(seq 1 50); do alive $LBD_PID || break; sleep 0.1; done
check "lbd stopped after shutdown" [ "$(alive $LBD_PID && echo running)" = "" ]
ok_if "its unix sockets are removed" '[ ! -e "$ADMIN" ] && [ ! -e "$USER" ]'
t_done
