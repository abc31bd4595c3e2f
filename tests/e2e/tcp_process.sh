#!/bin/bash
# lbd as a process: -f repeated (and -f DIR), -d, -D with -p, SIGTERM and
# SIGINT with open connections, hard-stop-after, user/group/chroot after
# binding, nbthread workers with a control loop that answers while they are
# busy, and listening sockets inherited with fd@N / fd@${VAR} (served, kept
# across a reload, refused when they are not sockets).
# Runs in its own network namespace (unshare -n): only its loopback is used.
if [ -z "${XLB_IN_NS:-}" ]; then
	exec unshare -n env XLB_IN_NS=1 bash "$0" "$@"
fi
ip link set lo up
. "$(dirname "$0")/lib.sh"

P1=$(t_port); FE=$(t_port); FE2=$(t_port)
demo s1 127.0.0.1:$P1

# gone PID TENTHS: true when PID exits within TENTHS tenths of a second
gone() {
	local i
	for ((i = 0; i < $2; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	! kill -0 "$1" 2>/dev/null
}
# estab PORT: wait (up to 5 s) until a client connection to 127.0.0.1:PORT is established
estab() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ -n "$(ss -Htn state established "( dst 127.0.0.1:$1 )")" ] && return 0
		sleep 0.05
	done
	return 1
}
DEFAULTS="defaults
    mode tcp
    timeout connect 1s
    timeout client 10s
    timeout server 10s"
BACKEND="backend be
    server s1 127.0.0.1:$P1"

# ---- -f may repeat; -f DIR reads DIR/*.cfg in order ----
mkdir -p "$T_TMP/conf.d"
printf 'global\n    maxconn 100\n%s\n' "$DEFAULTS" >"$T_TMP/conf.d/10-global.cfg"
printf 'frontend fe\n    bind 127.0.0.1:%s\n    default_backend be\n' $FE >"$T_TMP/conf.d/20-fe.cfg"
printf '%s\n' "$BACKEND" >"$T_TMP/conf.d/30-be.cfg"
"$LBD" -c -f "$T_TMP/conf.d/20-fe.cfg" >"$T_TMP/c.out" 2>&1
expect_eq "-c on the frontend file alone fails (its backend is elsewhere)" "$?" 1
check "... naming file:line and the missing backend" \
	grep -q "20-fe.cfg:3: 'default_backend': no backend named 'be'" "$T_TMP/c.out"
"$LBD" -c -f "$T_TMP/conf.d/10-global.cfg" -f "$T_TMP/conf.d/20-fe.cfg" \
	-f "$T_TMP/conf.d/30-be.cfg" >"$T_TMP/c.out" 2>&1
expect_eq "-c with the three files given by -f -f -f is valid" "$?" 0
start_lbd "$T_TMP/conf.d/10-global.cfg" -f "$T_TMP/conf.d/20-fe.cfg" -f "$T_TMP/conf.d/30-be.cfg"
wait_port 127.0.0.1 $FE 5
expect_eq "lbd -f A -f B -f C serves the frontend of B with the backend of C" \
	"$(get http://127.0.0.1:$FE/)" s1
stop_lbd
start_lbd "$T_TMP/conf.d"
wait_port 127.0.0.1 $FE 5
expect_eq "lbd -f DIR serves the same" "$(get http://127.0.0.1:$FE/)" s1
stop_lbd

cfg=$T_TMP/one.cfg
printf '%s\nfrontend fe\n    bind 127.0.0.1:%s\n    default_backend be\n%s\n' "$DEFAULTS" $FE \
	"$BACKEND" >"$cfg"

# ---- -d: debug messages, foreground ----
start_lbd "$cfg" -d
wait_port 127.0.0.1 $FE 5
get http://127.0.0.1:$FE/ >/dev/null
sleep 0.1
check "-d: connections are traced ([DEBUG] accepted ...)" \
	grep -q "DEBUG.*proxy 'fe': accepted fd [0-9]* from 127.0.0.1" "$T_TMP/lbd.log"
expect_eq "no nbthread: one worker per core" \
	"$(cat /proc/$LBD_PID/task/*/comm | grep -c '^lbd-w')" "$(nproc)"
stop_lbd

# ---- -D -p: daemon with a pidfile ----
pidf=$T_TMP/lbd.pid
timeout 5 "$LBD" -D -p "$pidf" -f "$cfg" >"$T_TMP/daemon.out" 2>&1
expect_eq "-D: the command returns 0 once the daemon is up" "$?" 0
# lbd -D returns only once the daemon wrote its pidfile and listens: no wait here
dpid=$(cat "$pidf" 2>/dev/null)
if [ -n "$dpid" ]; then
	T_PIDS+=($dpid)
else
	# do not leave an orphan daemon holding the port for the next tests
	dpid=$(ss -Hltnp "sport = :$FE" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
	[ -n "$dpid" ] && T_PIDS+=($dpid)
	dpid=
fi
check "-p: the pidfile holds the daemon's pid as soon as lbd -D returns (${dpid:-none})" \
	kill -0 "${dpid:-999999}"
expect_eq "-D: ... and it is listening by then" \
	"$(ss -Hltn "sport = :$FE" | wc -l)" 1
check "-D: the daemon is detached: not our child, in a session of its own" \
	[ "$(ps -o ppid= -p "${dpid:-999999}" | tr -d ' ')" != "$$" -a \
	"$(ps -o sid= -p "${dpid:-999999}" | tr -d ' ')" != "$(ps -o sid= -p $$ | tr -d ' ')" ]
wait_port 127.0.0.1 $FE 5
expect_eq "-D: the daemon serves" "$(get http://127.0.0.1:$FE/)" s1
kill -TERM "${dpid:-999999}" 2>/dev/null
check "-D: SIGTERM stops the daemon" gone "${dpid:-999999}" 30
check "-p: the pidfile is removed at exit" [ ! -e "$pidf" ]

# A daemon that fails after detaching (its stats socket cannot be made):
# lbd -D says so and exits 1, and leaves no pidfile behind.
touch "$T_TMP/afile"
printf 'global\n    stats socket %s/afile/api.sock level admin\n' "$T_TMP" >"$T_TMP/dfail.cfg"
cat "$cfg" >>"$T_TMP/dfail.cfg"
timeout 5 "$LBD" -D -p "$pidf" -f "$T_TMP/dfail.cfg" >"$T_TMP/daemon.out" 2>&1
rc=$?
expect_eq "-D: a daemon that dies before it is ready makes lbd -D exit 1" "$rc" 1
check "-D: ... with a message" grep -q "the daemon exited before it was ready" "$T_TMP/daemon.out"
check "-D: ... and no stale pidfile" [ ! -e "$pidf" ]
check "-D: ... and nothing listening" [ -z "$(ss -Hltn "sport = :$FE")" ]

# ---- SIGTERM / SIGINT stop at once, open connections included ----
for sig in TERM INT; do
	start_lbd "$cfg"
	wait_port 127.0.0.1 $FE 5
	CURL_TIMEOUT=8 get "http://127.0.0.1:$FE/slow?ms=4000" >"$T_TMP/slow.out" 2>&1 &
	slow=$!
	estab $FE
	t0=$(date +%s%N)
	kill -$sig $LBD_PID
	check "SIG$sig: lbd exits at once despite an open connection" gone $LBD_PID 10
	wait $slow
	rc=$?
	dt=$((($(date +%s%N) - t0) / 1000000))
	check "SIG$sig: the open connection is closed (curl status $rc after ${dt}ms)" \
		[ "$rc" != 0 -a "$dt" -lt 2000 ]
	wait $LBD_PID 2>/dev/null
done

# ---- hard-stop-after bounds a soft stop ----
printf 'global\n    hard-stop-after 1500ms\n' >"$T_TMP/hs.cfg"
cat "$cfg" >>"$T_TMP/hs.cfg"
start_lbd "$T_TMP/hs.cfg"
wait_port 127.0.0.1 $FE 5
CURL_TIMEOUT=12 get "http://127.0.0.1:$FE/slow?ms=8000" >/dev/null 2>&1 &
slow=$!
estab $FE
t0=$(date +%s%N)
kill -USR1 $LBD_PID
sleep 0.5
check "hard-stop-after: still soft-stopping after 500ms" kill -0 $LBD_PID
check "hard-stop-after 1500ms: lbd exits without waiting for the 8s connection" gone $LBD_PID 60
dt=$((($(date +%s%N) - t0) / 1000000))
check "hard-stop-after: ... after about 1500ms (${dt}ms)" [ "$dt" -ge 1400 -a "$dt" -lt 6000 ]
check "hard-stop-after: it said so" grep -q "hard-stop-after expired: closing 1 remaining" "$T_TMP/lbd.log"
wait $slow
wait $LBD_PID 2>/dev/null

# ---- user / group / chroot: privileges dropped after binding ----
if getent passwd nobody >/dev/null && getent group nogroup >/dev/null; then
	mkdir -p "$T_TMP/jail"
	uid=$(id -u nobody)
	gid=$(getent group nogroup | cut -d: -f3)
	# Port 81 needs root to bind: lbd binds it before dropping privileges.
	printf 'global\n    user nobody\n    group nogroup\n    chroot %s\n    nbthread 2\n' \
		"$T_TMP/jail" >"$T_TMP/priv.cfg"
	printf '%s\nfrontend fe\n    bind 127.0.0.1:81\n    default_backend be\n%s\n' \
		"$DEFAULTS" "$BACKEND" >>"$T_TMP/priv.cfg"
	start_lbd "$T_TMP/priv.cfg"
	wait_port 127.0.0.1 81 5
	expect_eq "user nobody: lbd still serves its privileged port" "$(get http://127.0.0.1:81/)" s1
	expect_eq "user nobody: the process runs as uid $uid" \
		"$(awk '/^Uid:/ {print $2, $3, $4, $5}' /proc/$LBD_PID/status)" "$uid $uid $uid $uid"
	expect_eq "group nogroup: and as gid $gid" \
		"$(awk '/^Gid:/ {print $2, $3, $4, $5}' /proc/$LBD_PID/status)" "$gid $gid $gid $gid"
	expect_eq "no supplementary groups are kept" \
		"$(awk '/^Groups:/ {print $2}' /proc/$LBD_PID/status)" ""
	bad=0
	for t in /proc/$LBD_PID/task/*; do
		[ "$(awk '/^Uid:/ {print $3}' $t/status)" = "$uid" ] || bad=$((bad + 1))
	done
	expect_eq "every thread (workers included) runs as nobody" "$bad" 0
	expect_eq "chroot: the process root is the jail" "$(readlink /proc/$LBD_PID/root)" "$T_TMP/jail"
	# A reload cannot read the config inside the jail: refused, the running one stays.
	kill -HUP $LBD_PID
	sleep 0.3
	check "a reload after chroot is refused and lbd lives on" kill -0 $LBD_PID
	expect_eq "... still serving" "$(get http://127.0.0.1:81/)" s1
	stop_lbd
else
	skip "no user nobody / group nogroup"
fi

# ---- nbthread workers; the control loop answers while they are busy ----
sock=$T_TMP/api.sock
printf 'global\n    nbthread 3\n    stats socket %s mode 600 level admin\n' "$sock" >"$T_TMP/thr.cfg"
cat "$cfg" >>"$T_TMP/thr.cfg"
start_lbd "$T_TMP/thr.cfg"
wait_port 127.0.0.1 $FE 5
expect_eq "nbthread 3: three worker threads" \
	"$(cat /proc/$LBD_PID/task/*/comm | grep -c '^lbd-w')" 3
expect_eq "show info reports them" \
	"$(echo 'show info' | socat -t 5 - UNIX-CONNECT:$sock | awk '/^Nbthread:/ {print $2}')" 3
loaders=()
for i in 1 2 3 4; do
	curl -s --max-time 20 "http://127.0.0.1:$FE/big?n=20000000000" -o /dev/null &
	loaders+=($!)
done
sleep 0.3
worst=0
for i in 1 2 3 4 5; do
	t0=$(date +%s%N)
	r=$(echo 'show info' | socat -t 5 - UNIX-CONNECT:$sock | grep -c '^CurrConns: [1-9]')
	dt=$((($(date +%s%N) - t0) / 1000000))
	[ "$r" = 1 ] || worst=99999
	[ $dt -gt $worst ] && worst=$dt
	sleep 0.1
done
busy=0
for p in "${loaders[@]}"; do kill -0 $p 2>/dev/null && busy=$((busy + 1)); done
check "4 downloads kept the workers busy during the queries ($busy running)" [ $busy = 4 ]
check "the control loop answered each query in < 2000ms while they ran (worst ${worst}ms)" \
	[ $worst -lt 2000 ]
kill "${loaders[@]}" 2>/dev/null
wait "${loaders[@]}" 2>/dev/null
stop_lbd

# ---- fd@N and fd@${VAR}: inherited listening sockets ----
# The launcher opens a listening socket as fd 7 and a bound, not yet
# listening, socket whose number it puts in XLB_LFD, then execs lbd.
cat >"$T_TMP/launch.pl" <<'PL'
use strict;
use warnings;
use IO::Socket::INET;
use POSIX qw(dup2);
use Fcntl;
my ($p1, $p2, @cmd) = @ARGV;
my $a = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$p1", Listen => 16, ReuseAddr => 1)
	or die "listen $p1: $!";
my $b = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$p2", Proto => 'tcp', ReuseAddr => 1)
	or die "bind $p2: $!";
dup2(fileno($a), 7) or die "dup2: $!";
fcntl($b, F_SETFD, 0) or die "fcntl: $!";
$ENV{XLB_LFD} = fileno($b);
exec @cmd or die "exec: $!";
PL
cat >"$T_TMP/fd.cfg" <<CFG
$DEFAULTS
frontend by_number
    bind fd@7
    default_backend be
frontend by_var
    bind fd@\${XLB_LFD}
    default_backend be
$BACKEND
CFG
perl "$T_TMP/launch.pl" $FE $FE2 "$LBD" -f "$T_TMP/fd.cfg" >"$T_TMP/lbd.log" 2>&1 &
LBD_PID=$!
T_PIDS+=($LBD_PID)
wait_port 127.0.0.1 $FE 5
wait_port 127.0.0.1 $FE2 5
expect_eq "bind fd@7: lbd serves the inherited listening socket" "$(get http://127.0.0.1:$FE/)" s1
expect_eq "bind fd@\${XLB_LFD}: lbd puts the inherited bound socket to listen and serves it" \
	"$(get http://127.0.0.1:$FE2/)" s1
kill -HUP $LBD_PID
sleep 1.5 # the old generation's listeners are collected within a second
bad=0
for i in 1 2 3 4 5; do
	[ "$(get http://127.0.0.1:$FE/)" = s1 ] || bad=$((bad + 1))
	[ "$(get http://127.0.0.1:$FE2/)" = s1 ] || bad=$((bad + 1))
	sleep 0.1
done
expect_eq "after a reload both inherited sockets are still served (10 requests)" "$bad" 0
check "the reload kept lbd running" kill -0 $LBD_PID
stop_lbd

# Inherited descriptors that are not usable listening sockets are refused.
XLB_LFD=9 "$LBD" -f "$T_TMP/fd.cfg" >"$T_TMP/bad.out" 2>&1 7</dev/null 9</dev/null
expect_eq "fd@7 on /dev/null: lbd refuses to start" "$?" 1
check "... saying where and why" grep -q "fd.cfg:7: bind 'fd@7': fd 7 is not a stream socket" \
	"$T_TMP/bad.out"
printf '%s\nfrontend f\n    bind fd@9\n    default_backend be\n%s\n' "$DEFAULTS" "$BACKEND" \
	>"$T_TMP/fd9.cfg"
"$LBD" -f "$T_TMP/fd9.cfg" >"$T_TMP/bad.out" 2>&1 9<&-
expect_eq "fd@9 not open: lbd refuses to start" "$?" 1
check "... saying where and why" grep -q "fd9.cfg:7: bind 'fd@9': fd 9 is not open" "$T_TMP/bad.out"

t_done
