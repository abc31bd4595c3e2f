#!/bin/sh
# Install the Debian packages that building, testing and running xlb need.
# Idempotent: only missing packages are installed.
set -e

PKGS="build-essential clang llvm libbpf-dev libelf-dev zlib1g-dev libev-dev libssl-dev
libjansson-dev libcurl4-openssl-dev bpftool iproute2 ethtool nftables curl
clang-format haproxy varnish etcd-server etcd-client wrk nginx-light netcat-openbsd
util-linux procps psmisc socat iputils-ping perl python3 jq openssl libclang-rt-14-dev"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run as root to install)" >&2
	exit 1
fi

echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Do not let the haproxy/nginx/etcd packages start their own services: they
# would take ports the tests use.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends $missing >/dev/null
