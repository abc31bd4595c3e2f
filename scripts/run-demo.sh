#!/bin/sh
# `make run`: start three demo servers and lbd on examples/quickstart.cfg,
# in the foreground. Ctrl-C stops everything. `run-demo.sh stop` stops a
# demo left running in the background.
cd "$(dirname "$0")/.." || exit 1
PIDS=/tmp/xlb-demo.pids

stop() {
	[ -f $PIDS ] && kill $(cat $PIDS) 2>/dev/null
	rm -f $PIDS
}

if [ "$1" = stop ]; then
	stop
	exit 0
fi
stop
: >$PIDS
for i in 1 2 3; do
	build/demo-server -n s$i -l 127.0.0.1:900$i &
	echo $! >>$PIDS
done
trap 'stop; exit 0' INT TERM
cat <<MSG

  xlb demo: lbd on examples/quickstart.cfg, frontend http://127.0.0.1:8080/
  demo servers s1 s2 s3 on 127.0.0.1:9001-9003

  try:   curl http://127.0.0.1:8080/            (backend web: s2, s1, s2, ... s2 has weight 2)
         curl http://127.0.0.1:8080/api/x       (backend api: s3)
         build/lbctl -s /tmp/xlb-demo.sock servers
         build/lbctl -s /tmp/xlb-demo.sock drain web/s2
         build/lbctl -s /tmp/xlb-demo.sock stats
  stop:  Ctrl-C

MSG
build/lbd -f examples/quickstart.cfg &
LBD=$!
echo $LBD >>$PIDS
wait $LBD
stop
