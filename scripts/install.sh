#!/usr/bin/env bash
# Install tunsw on an OpenStack host, from this repository and Debian's
# packages only (root):
#
#   scripts/install.sh compute      the daemon, tunswctl, tunsw-agent, systemd
#                                   units, example configs (kept if present)
#   scripts/install.sh controller   the ML2 mechanism driver "tunsw" for
#                                   neutron-server (then restart it)
#
# PREFIX (default /usr/local) is where binaries go; doc/openstack.md says
# what to configure next.
set -euo pipefail
cd "$(dirname "$0")/.."
ROLE=${1:?usage: $0 compute|controller}
PREFIX=${PREFIX:-/usr/local}
SITE=$(/usr/bin/python3 -c 'import sys; print("'"$PREFIX"'/lib/python3.%d/dist-packages" % sys.version_info.minor)')

install_config() {   # SRC DST: an example config, never over an existing one
	if [ -e "$2" ]; then
		echo "kept $2 (the new example is $2.example)"
		install -m 0644 "$1" "$2.example"
	else
		install -D -m 0644 "$1" "$2"
		echo "installed $2"
	fi
}

case "$ROLE" in
compute)
	./scripts/install-deps.sh compute
	./scripts/build.sh build-install -Dbuildtype=release -Dtests=false --prefix "$PREFIX"
	meson install -C build-install --quiet
	./scripts/install-networking-tunsw.sh "$SITE" "$PREFIX/bin"
	install_config config/tunsw.conf /etc/tunsw/tunsw.conf
	install_config config/tunsw_agent.ini /etc/neutron/plugins/ml2/tunsw_agent.ini
	install -d -m 0755 "$PREFIX/share/doc/tunsw"
	install -m 0644 doc/*.md "$PREFIX/share/doc/tunsw/"
	for unit in tunsw.service tunsw-agent.service; do
		sed "s#/usr/local#$PREFIX#g" "config/systemd/$unit" > "/etc/systemd/system/$unit"
		echo "installed /etc/systemd/system/$unit"
	done
	install -d -m 0755 /var/log/neutron
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload
	fi
	echo "next: edit /etc/tunsw/tunsw.conf and tunsw_agent.ini, then"
	echo "      systemctl enable --now tunsw tunsw-agent   (doc/openstack.md)"
	;;
controller)
	./scripts/install-deps.sh controller
	./scripts/install-networking-tunsw.sh "$SITE" "$PREFIX/bin"
	echo "next: [ml2] mechanism_drivers = tunsw,l2population in ml2_conf.ini, then restart"
	echo "      neutron-server (doc/openstack.md)"
	;;
*)
	echo "usage: $0 compute|controller" >&2
	exit 2
	;;
esac
