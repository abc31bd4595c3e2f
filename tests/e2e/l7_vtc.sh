#!/bin/bash
# Run every tests/vtc/*.vtc with varnishtest twice: against lbd and against
# /usr/sbin/haproxy. The .vtc files describe behaviour lbd shares with
# HAProxy, so HAProxy is the oracle: both runs must pass.
#
# varnishtest's `haproxy` command starts $HAPROXY_PROGRAM with
# "-d -f CFG" and hands it the listening sockets as fd@${feN}; lbd takes the
# same flags and the same config.
#
#   tests/e2e/l7_vtc.sh [NAME...]   (names without .vtc; default: all)
# Environment: VTC_TARGETS="lbd haproxy" (which programs to run),
# VTC_VERBOSE=1 (print the log of failed runs), HAPROXY (default /usr/sbin/haproxy).
#
# Prints TAP lines "ok - NAME (lbd)" / "ok - NAME (haproxy)".
#
# Runs in its own network namespace (unshare -n), where SYNs to
# 127.0.0.3:9 are dropped: the .vtc files get that address as ${blackhole}
# (a server that never answers, for `timeout connect`).
if [ -z "${XLB_IN_NS:-}" ]; then
	exec unshare -n env XLB_IN_NS=1 bash "$0" "$@"
fi
set -u
ip link set lo up
. "$(dirname "$0")/lib.sh"

BLACKHOLE=127.0.0.3:9
if ! nft -f - <<NFT; then
table ip xlb_vtc {
	chain out {
		type filter hook output priority 0;
		ip daddr ${BLACKHOLE%:*} tcp dport ${BLACKHOLE#*:} drop
	}
}
NFT
	echo "# nft failed: tests using \${blackhole} will fail"
fi

VTC_DIR=$E2E_ROOT/tests/vtc
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
TARGETS=${VTC_TARGETS:-"lbd haproxy"}

if ! command -v varnishtest >/dev/null 2>&1; then
	skip "varnishtest is not installed (Debian package varnish)"
	exit 0
fi

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for f in "$VTC_DIR"/*.vtc; do
		names+=("$(basename "$f" .vtc)")
	done
fi

run_one() {
	local name=$1 target=$2 prog log rc
	case "$target" in
	lbd) prog=$LBD ;;
	haproxy) prog=$HAPROXY ;;
	esac
	if [ ! -x "$prog" ]; then
		skip "$name ($target): $prog not found"
		return
	fi
	log=$T_TMP/$name.$target.log
	# -t: a hung test fails instead of blocking the suite
	HAPROXY_PROGRAM=$prog timeout 120 varnishtest -t 60 -v -Dblackhole=$BLACKHOLE \
		"$VTC_DIR/$name.vtc" >"$log" 2>&1
	rc=$?
	if [ $rc = 0 ]; then
		ok "$name ($target)"
	else
		fail "$name ($target)"
		grep -E '^(----|#  )' "$log" | head -5 | sed 's/^/#   /'
		if [ "${VTC_VERBOSE:-0}" = 1 ]; then
			sed 's/^/#   /' "$log" | tail -80
		fi
	fi
}

for name in "${names[@]}"; do
	if [ ! -f "$VTC_DIR/$name.vtc" ]; then
		fail "$name: no such test $VTC_DIR/$name.vtc"
		continue
	fi
	for target in $TARGETS; do
		run_one "$name" "$target"
	done
done
[ "$T_FAILED" = 0 ]
