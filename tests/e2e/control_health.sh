#!/bin/bash
# Health checks: TCP and HTTP checks, rise/fall timing, HAProxy's log
# wording, `http-check expect` (status, string, negation), servers that hang
# or answer garbage, `timeout check`, backup servers taking over.
# Runs in its own network namespace (unshare -n): only its loopback is used.
if [ -z "${XLB_IN_NS:-}" ]; then
	exec unshare -n env XLB_IN_NS=1 bash "$0" "$@"
fi
ip link set lo up
. "$(dirname "$0")/lib.sh"

SOCK=$T_TMP/lbd.sock
API_SOCK=$SOCK
# up_or_going B/S: "UP" when the server is up, even with a failed check under way
# ("UP 1/2" on a loaded machine); else its status
up_or_going() {
	local st
	st=$(srv_status "$1")
	case "$st" in "UP" | "UP "*) echo UP ;; *) echo "$st" ;; esac
}
# wait_log_re REGEX [TIMEOUT_S]: wait for a line of lbd's log matching an ERE
wait_log_re() {
	local i n=$(((${2:-5}) * 20))
	for ((i = 0; i < n; i++)); do
		grep -qE -- "$1" "$T_TMP/lbd.log" && return 0
		sleep 0.05
	done
	return 1
}
# wait_log PATTERN [TIMEOUT_S]: wait for a line of lbd's log
wait_log() {
	local i n=$(((${2:-5}) * 20))
	for ((i = 0; i < n; i++)); do
		grep -qF -- "$1" "$T_TMP/lbd.log" && return 0
		sleep 0.05
	done
	return 1
}
# webl_steps: "LINE RESULT HEALTH/OF STATE" for each check of webl/s1 that
# lbd's log shows (option log-health-checks), e.g. "42 failed 2/3 UP"
webl_steps() {
	awk '/Health check for server webl\/s1 / && match($0, /status: [0-9]+\/[0-9]+ [A-Z]+\.$/) {
		print NR, ($0 ~ /webl\/s1 succeeded, /) ? "succeeded" : "failed", substr($0, RSTART + 8, RLENGTH - 9)
	}' "$T_TMP/lbd.log"
}
# webl_steps_upto LINE STEP: the first STEP (e.g. "failed 0/2 DOWN") logged
# after line LINE of lbd's log, with the two steps before it: "A,B,STEP"
webl_steps_upto() {
	webl_steps | awk -v from="$1" -v want="$2" '{ st = $2 " " $3 " " $4; s[++n] = st }
		$1 > from && st == want { print s[n - 2] "," s[n - 1] "," st; exit }'
}
webl_logged() { [ -n "$(webl_steps_upto "$1" "$2")" ]; }

P1=$(t_port); P2=$(t_port); P3=$(t_port); PB=$(t_port); FE=$(t_port); PHANG=$(t_port); PGARB=$(t_port); FE2=$(t_port); PB2=$(t_port); PCNT=$(t_port); PDEAD=$(t_port)
demo s1 127.0.0.1:$P1
S1=${T_PIDS[-1]}
demo s2 127.0.0.1:$P2
S2=${T_PIDS[-1]}
demo s3 127.0.0.1:$P3
S3=${T_PIDS[-1]}
demo bk 127.0.0.1:$PB
demo bk2 127.0.0.1:$PB2
# Accepts and never answers.
socat TCP-LISTEN:$PHANG,bind=127.0.0.1,reuseaddr,fork SYSTEM:"sleep 30" &
T_PIDS+=($!)
# Answers garbage (TCP echo mode: its name, then what it reads).
demo garb 127.0.0.1:$PGARB -e
# Answers 500 and notes the time of every check it receives.
socat TCP-LISTEN:$PCNT,bind=127.0.0.1,reuseaddr,fork \
	SYSTEM:"date +%s%N >>$T_TMP/cnt; echo HTTP/1.0 500 KO; echo" &
T_PIDS+=($!)
wait_port 127.0.0.1 $PHANG 5
wait_port 127.0.0.1 $PCNT 5

cfg=$T_TMP/h.cfg
cat >"$cfg" <<CFG
global
    stats socket $SOCK mode 600 level admin
defaults
    mode tcp
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
    timeout check 300ms
    retries 3
    option redispatch
frontend fe
    bind 127.0.0.1:$FE
    default_backend web
backend web
    option httpchk GET /
    http-check expect status 200
    default-server check inter 200 rise 2 fall 3
    server s1 127.0.0.1:$P1
    server s2 127.0.0.1:$P2
    server s3 127.0.0.1:$P3
    server bk 127.0.0.1:$PB backup
# web's s1 checked the same way, with one log line per check that moves the
# counter: the rise/fall steps of the kill and restart below
backend webl
    option httpchk GET /
    http-check expect status 200
    option log-health-checks
    server s1 127.0.0.1:$P1 check inter 200 rise 2 fall 3
backend st500
    option httpchk GET /status/500
    option log-health-checks
    http-check expect status 200
    server a 127.0.0.1:$P1 check inter 200 fall 2
backend stneg
    option httpchk GET /status/500
    http-check expect ! status 500
    server a 127.0.0.1:$P1 check inter 200 fall 2
backend strok
    option httpchk GET /
    http-check expect string s2
    server a 127.0.0.1:$P2 check inter 200 fall 2
backend strbad
    option httpchk
    http-check send meth GET uri / ver HTTP/1.1 hdr Host www.example.com
    http-check expect string nothere
    server a 127.0.0.1:$P2 check inter 200 fall 2
backend hdrchk
    option httpchk
    http-check send meth GET uri /echo ver HTTP/1.1 hdr X-Check "yes please"
    http-check expect string "X-Check: yes please"
    server a 127.0.0.1:$P2 check inter 200 fall 2
backend defreq
    option httpchk
    http-check send uri /echo
    http-check expect rstring "^OPTIONS /echo HTTP/1\.0"
    server a 127.0.0.1:$P2 check inter 200 fall 2
backend fast
    option httpchk GET /
    server a 127.0.0.1:$P2 check inter 5s fastinter 100 rise 1 fall 4
backend slowdown
    option httpchk GET /
    server a 127.0.0.1:$PCNT check inter 5s fastinter 3s downinter 150 rise 2 fall 1
backend fresh
    server dead 127.0.0.1:$PDEAD check inter 5s rise 2 fall 3
    server mnt 127.0.0.1:$P2 check inter 5s rise 2 fall 3
backend rstatus
    option httpchk GET /status/204
    http-check expect rstatus ^2[0-9][0-9]$
    server a 127.0.0.1:$P3 check inter 200 fall 2
backend default_ok
    option httpchk
    server a 127.0.0.1:$P3 check inter 200 fall 2
backend hang
    option httpchk GET /
    server a 127.0.0.1:$PHANG check inter 200 fall 2
    server t 127.0.0.1:$PHANG check inter 200 fall 2 port $P1
backend garbage
    option httpchk GET /
    server a 127.0.0.1:$PGARB check inter 200 fall 2
backend tcpchk
    server hang 127.0.0.1:$PHANG check inter 200 fall 2
    server addr 127.0.0.2:$P1 check inter 200 fall 2 addr 127.0.0.1
    server nochk 127.0.0.1:$P2
frontend fe2
    bind 127.0.0.1:$FE2
    default_backend allbk
backend allbk
    option allbackups
    server a1 127.0.0.1:$P3 check inter 200 rise 1 fall 1
    server b1 127.0.0.1:$PB backup check inter 200
    server b2 127.0.0.1:$PB2 backup check inter 200
CFG
start_lbd "$cfg"
if ! wait_port 127.0.0.1 $FE 5; then
	fail "lbd listens on $FE"
	sed 's/^/# /' "$T_TMP/lbd.log"
	exit 1
fi

# Every server starts UP (HAProxy) and the first checks confirm it.
sleep 0.8
expect_eq "checked servers start and stay UP" "$(srv_status web/s1) $(srv_status web/s2)" "UP UP"
expect_eq "httpchk: status 200 expected, 200 received: check_status L7OK" \
	"$(api "show stat" | awk -F, '$1=="web" && $2=="s1" {sub(/^\* /, "", $37); print $37, $38}')" "L7OK 200"

# ---- expectations ----
wait_status st500/a DOWN 3000 >/dev/null
expect_eq "expect status 200, server answers 500: DOWN" "$(srv_status st500/a)" "DOWN"
check "option log-health-checks: each check that moves the counter is logged with it" \
	wait_log 'Health check for server st500/a failed, reason: Layer7 wrong status, code: 500, info: "Internal Server Error", check duration: '
# (as HAProxy 2.6: starting at `rise`, the first failure is 0/2 DOWN)
check "  ... the first failure takes a new server DOWN: 0/2 DOWN" \
	grep -q 'st500/a failed.*status: 0/2 DOWN.$' "$T_TMP/lbd.log"
check "  ... and the transition line leaves the reason to it, as HAProxy" \
	wait_log 'Server st500/a is DOWN. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.'
check "the last server of a backend going down is an alert" \
	wait_log "backend 'st500' has no server available!"
expect_eq "expect ! status 500, server answers 500: DOWN" "$(wait_status stneg/a DOWN 3000 >/dev/null; srv_status stneg/a)" "DOWN"
check "logged with HAProxy's wording (Layer7 wrong status, code 500)" \
	wait_log 'Server stneg/a is DOWN, reason: Layer7 wrong status, code: 500, info: "Internal Server Error", check duration: '
expect_eq "expect string matching the body: UP" "$(up_or_going strok/a)" "UP"
wait_status strbad/a DOWN 3000 >/dev/null
expect_eq "expect string absent from the body: DOWN" "$(srv_status strbad/a)" "DOWN"
check "logged as an invalid response whose content did not match" \
	wait_log 'Server strbad/a is DOWN, reason: Layer7 invalid response, info: "HTTP content check did not match"'
expect_eq "expect rstatus ^2[0-9][0-9]$ with 204: UP" "$(up_or_going rstatus/a)" "UP"
expect_eq "http-check send ... hdr: the header is sent (expect string on /echo): UP" \
	"$(up_or_going hdrchk/a)" "UP"
expect_eq "default request OPTIONS ... HTTP/1.0, uri from http-check send (expect rstring): UP" \
	"$(up_or_going defreq/a)" "UP"
# As HAProxy, a server starts UP at `rise` ("up, but will fall down at first
# failure"): dead at start, it is DOWN after one check, not fall (3) x inter (5s).
expect_eq "a server dead at start is DOWN at its first failed check" "$(srv_status fresh/dead)" "DOWN"
# Leaving maintenance: UP at `rise` and checked at once (HAProxy's "start OK
# but check immediately"), whatever the state before.
api "disable server fresh/mnt; set server fresh/mnt addr 127.0.0.1 port $PDEAD" >/dev/null
api "disable server fresh/dead; set server fresh/dead addr 127.0.0.1 port $P2" >/dev/null
api "enable server fresh/mnt; enable server fresh/dead" >/dev/null
expect_eq "a DOWN server leaving maintenance is UP at once" "$(up_or_going fresh/dead)" "UP"
dt=$(wait_status_ms fresh/mnt DOWN 1500)
ok_if "an UP server leaving maintenance is checked at once, DOWN at its first failure (${dt} ms)" \
	'[ "$dt" != timeout ]'
# inter 5s, fall 4: without fastinter the 4 failures would take 15 s.
# Fully up (inter 5s, fall 4), then its address goes dead: the first failure
# is checked at once, the next three fastinter apart.
expect_eq "fastinter: the server is fully UP first" "$(srv_status fast/a)" "UP"
api "set server fast/a addr 127.0.0.1 port $PDEAD" >/dev/null
dt=$(wait_status_ms fast/a DOWN 3000)
ok_if "fastinter: 4 failed checks 100 ms apart mark it DOWN in ${dt} ms (inter 5s: 15 s)" \
	'[ "$dt" != timeout ]'
# DOWN after its first check (fall 1): then checked every downinter, not inter or fastinter.
wait_status slowdown/a DOWN 2000 >/dev/null
n0=$(wc -l <"$T_TMP/cnt")
sleep 1.5
n1=$(wc -l <"$T_TMP/cnt")
ok_if "downinter 150: a DOWN server is checked $((n1 - n0)) times in 1.5 s (2..11; inter 5s: 0..1)" \
	'[ $((n1 - n0)) -ge 2 ] && [ $((n1 - n0)) -le 11 ]'
expect_eq "no expect rule: 2xx/3xx passes" "$(up_or_going default_ok/a)" "UP"
wait_status hang/a DOWN 3000 >/dev/null
expect_eq "a server that accepts and never answers fails the HTTP check" "$(srv_status hang/a)" "DOWN"
# (timeout check 300ms; without it, what is left of inter 200 would bound it)
check "logged as a Layer7 timeout bounded by timeout check" wait_log_re \
	'Server hang/a is DOWN, reason: Layer7 timeout, check duration: [3-9][0-9][0-9]ms'
expect_eq "'port' makes the check go to another port" "$(srv_status hang/t)" "UP"
wait_status garbage/a DOWN 3000 >/dev/null
expect_eq "a server answering garbage fails the HTTP check" "$(srv_status garbage/a)" "DOWN"
check "logged as an invalid response" wait_log 'Server garbage/a is DOWN, reason: Layer7 invalid response'
expect_eq "a plain TCP check passes on a server that only accepts" "$(srv_status tcpchk/hang)" "UP"
expect_eq "'addr' makes the check go to another address" "$(srv_status tcpchk/addr)" "UP"
state=$(api "show servers state tcpchk" | awk '$4=="addr" {print $23}')
expect_eq "show servers state reports the check address" "$state" "127.0.0.1"

# ---- kill a server under traffic ----
# Steady traffic; s1 dies; it must be marked down within
# fall * inter + timeout check (+ scheduling slack), and every request after
# the mark must succeed (retries + redispatch cover the ones before).
LOOPLOG=$T_TMP/loop.log
(
	end=$((SECONDS + 6))
	while [ $SECONDS -lt $end ]; do
		r=$(curl -s --max-time 2 http://127.0.0.1:$FE/) || r="ERR"
		echo "$(date +%s%N) $r"
	done
) >"$LOOPLOG" &
loop=$!
sleep 0.5
nlog=$(wc -l <"$T_TMP/lbd.log")
kill $S1
t_kill=$(date +%s%N)
dt=$(wait_status_ms web/s1 DOWN 6000)
# At most fall 3 * inter 200 + timeout check 300, plus one interval for the
# check already scheduled when the server died: 1.1 s. The bound leaves room
# for a loaded machine (checks and polls run late, never early); that it
# takes exactly `fall` failed checks is shown by webl's log lines below.
ok_if "killed server marked DOWN in ${dt}ms (expected <= 3*200 + 300 + 200ms; bound 3000ms)" \
	'[ "$dt" != timeout ] && [ "$dt" -le 3000 ]'
t_down=$(date +%s%N)
check "logged: Server web/s1 is DOWN, reason: Layer4 connection problem, info: \"Connection refused\"" \
	wait_log 'Server web/s1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: '
check "with the servers left and the sessions" \
	wait_log '2 active and 0 backup servers left. '
# The three checks that end in DOWN: from full health (3/3 UP) a server goes
# DOWN at its third failure in a row, whatever the timing (a glitch before the
# kill would only have repeated a step).
wait_for 5 webl_logged "$nlog" 'failed 0/2 DOWN'
expect_eq "fall 3 (log-health-checks): the 3rd failed check in a row marks it DOWN" \
	"$(webl_steps_upto "$nlog" 'failed 0/2 DOWN')" "failed 2/3 UP,failed 1/3 UP,failed 0/2 DOWN"
wait $loop
after=$(awk -v t=$t_down '$1 > t' "$LOOPLOG")
n_after=$(echo "$after" | grep -c .)
bad_after=$(echo "$after" | grep -vc -e ' s2$' -e ' s3$')
ok_if "requests after the DOWN mark: $n_after, all served by s2/s3" '[ "$n_after" -gt 5 ] && [ "$bad_after" = 0 ]'
# Before the mark, retries and redispatch cover refused connects; only a
# request in flight on s1 when it was killed may be lost.
errs=$(grep -c ' ERR$' "$LOOPLOG")
ok_if "at most the request in flight at the kill failed ($errs)" '[ "$errs" -le 1 ]'

# Back: UP after rise (2) successful checks.
nlog=$(wc -l <"$T_TMP/lbd.log")
demo s1 127.0.0.1:$P1
S1=${T_PIDS[-1]}
dt=$(wait_status_ms web/s1 UP 6000)
# rise 2 * inter 200: at most 0.4 s, bounded for a loaded machine; the count
# of checks is shown by webl's log lines.
ok_if "restarted server back UP after rise=2 checks in ${dt}ms (expected <= 2*200ms; bound 3000ms)" \
	'[ "$dt" != timeout ] && [ "$dt" -le 3000 ]'
# (while DOWN, failed checks move nothing and are not logged)
wait_for 5 webl_logged "$nlog" 'succeeded 3/3 UP'
expect_eq "rise 2 (log-health-checks): DOWN, one passed check (1/2), the 2nd marks it UP" \
	"$(webl_steps_upto "$nlog" 'succeeded 3/3 UP')" "failed 0/2 DOWN,succeeded 1/2 DOWN,succeeded 3/3 UP"
check "logged: Server web/s1 is UP, reason: Layer7 check passed, code: 200" \
	wait_log 'Server web/s1 is UP, reason: Layer7 check passed, code: 200, check duration: '
check "with the servers online" wait_log '3 active and 0 backup servers online.'
seen=$(for i in $(seq 1 9); do get http://127.0.0.1:$FE/; done | sort -u | tr '\n' ' ')
expect_eq "the restored server takes traffic again" "$seen" "s1 s2 s3 "

# ---- backup servers ----
# Kill every active server: the backup takes over.
kill $S1 $S2 $S3
wait_status web/s1 DOWN 3000 >/dev/null
wait_status web/s2 DOWN 3000 >/dev/null
wait_status web/s3 DOWN 3000 >/dev/null
seen=$(for i in $(seq 1 6); do get http://127.0.0.1:$FE/; done | sort -u | tr '\n' ' ')
expect_eq "all actives down: the backup server takes over" "$seen" "bk "
check "logged: running on backup" wait_log '0 active and 1 backup servers left. Running on backup.'
st=$(api "show stat" | awk -F, '$1=="web" && $2=="BACKEND" {print $18, $20, $21}')
expect_eq "BACKEND row: UP with 0 active and 1 backup" "$st" "UP 0 1"

# option allbackups: with the only active down, both backups share the load.
wait_status allbk/a1 DOWN 3000 >/dev/null
seen=$(for i in $(seq 1 6); do get http://127.0.0.1:$FE2/; done | sort -u | tr '\n' ' ')
expect_eq "option allbackups: every backup takes traffic" "$seen" "bk bk2 "
demo s3 127.0.0.1:$P3
wait_status allbk/a1 UP 3000 >/dev/null
seen=$(for i in $(seq 1 6); do get http://127.0.0.1:$FE2/; done | sort -u | tr '\n' ' ')
expect_eq "an active back up: the backups stop taking traffic" "$seen" "s3 "

# ---- enable/disable health ----
api "disable health web/s3" >/dev/null
expect_eq "disable health: show servers state check state has no ENABLED bit" \
	"$(($(api "show servers state web" | awk '$4=="s3" {print $14}') & ~1))" "2"
api "enable health web/s3" >/dev/null
# (bit 0x1, a check in progress, may be set too: mask it)
expect_eq "enable health: check state CONFIGURED|ENABLED (6)" \
	"$(($(api "show servers state web" | awk '$4=="s3" {print $14}') & ~1))" "6"
expect_eq "enable health on a server without check is refused" \
	"$(api "enable health tcpchk/nochk")" "Health check was not configured on this server, cannot enable."
expect_eq "enable health on unknown names" \
	"$(api "enable health fe2/x"; api "disable health tcpchk/nope")" "$(printf 'No such backend.\n\nNo such server.\n')"

check "lbd still running" kill -0 $LBD_PID

# ---- spread-checks ----
# A second lbd: one server checked every 200 ms with spread-checks 50: each
# interval is drawn from 100..300 ms. The next check is scheduled once the
# previous one has ended, so an interval between two checks the server
# receives is never shorter than its draw, and without spread none is
# shorter than 200 ms (a loaded machine only adds delays). Each interval is
# below 190 ms with probability 0.45 (0.4 with 10 ms of delay): none of 30
# is, 0.6^30 = 2e-7. And 30 draws span less than 60 ms about never (3e-14).
kill $LBD_PID
wait $LBD_PID 2>/dev/null
: >"$T_TMP/cnt"
cat >"$T_TMP/spread.cfg" <<CFG
global
    spread-checks 50
defaults
    mode tcp
    timeout connect 500ms
    timeout check 300ms
backend web
    option httpchk GET /
    server a 127.0.0.1:$PCNT check inter 200 fastinter 200 downinter 200 fall 1
CFG
start_lbd "$T_TMP/spread.cfg"
# 32 checks (about 6.4 s): 30 intervals once the first one is left out
cnt_ge() { [ "$(wc -l <"$T_TMP/cnt")" -ge "$1" ]; }
wait_for 20 cnt_ge 32
kill $LBD_PID
wait $LBD_PID 2>/dev/null
spread=$(awk 'NR > 2 { d = ($1 - p) / 1000000; if (!n++ || d < lo) lo = d; if (d > hi) hi = d }
	{ p = $1 } END { printf "%d %d %d", n, lo, hi }' "$T_TMP/cnt")
read -r n lo hi <<<"$spread"
ok_if "spread-checks 50: $n intervals of inter 200 range from $lo to $hi ms (one < 190, span >= 60)" \
	'[ "$n" -ge 30 ] && [ "$lo" -lt 190 ] && [ $((hi - lo)) -ge 60 ]'
t_done
