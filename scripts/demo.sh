#!/usr/bin/env bash
# README command (a): install, build, reserve hugepages and run tunsw on
# the demo topology of config/demo.conf: a VM (testpmd virtio-user over
# vhost-user, bridged into namespace tswdvm1) pings a remote host
# (namespace tswdrem, Linux kernel VXLAN) through tunsw. A stats line is
# printed every second; Ctrl-C stops everything and removes what it made.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root (namespaces, hugepages)" >&2; exit 1; }
./scripts/install-deps.sh
./scripts/hugepages.sh 1G
./scripts/build.sh build >/dev/null

P=tswd
RUN=/run/tunsw-demo
pids=()
cleanup() {
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	sleep 1
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	./scripts/netns-topology.sh down "$P"
	rm -rf "$RUN" /var/run/dpdk/${P}* /dev/hugepages/${P}*
	echo "demo: cleaned up"
}
trap cleanup EXIT INT TERM

./scripts/netns-topology.sh up "$P" vxlan
mkdir -p "$RUN"

# tunsw: management on lcore 0, its worker on lcore 1
./build/app/tunsw/tunsw -l 0-1 --no-pci --no-huge --no-shconf -m 512 --file-prefix ${P}sw \
	--log-level=lib.eal:warning -- --config config/demo.conf &
pids+=($!)
for _ in $(seq 50); do [ -S "$RUN/vm1.sock" ] && break; sleep 0.2; done

# the "VM": virtio-user <-> af_packet into namespace tswdvm1 (forwarding on lcore 0).
# DPDK 22.11's af_packet PMD derives its fanout group from the pid; if it
# collides with tunsw's, testpmd exits at once: start it again (new pid).
for attempt in 1 2 3 4; do
	dpdk-testpmd -l 0-1 --main-lcore 1 --no-pci --single-file-segments --file-prefix ${P}vm \
		-m 256 --log-level=lib.eal:warning \
		--vdev "virtio_user0,path=$RUN/vm1.sock,queues=1" --vdev "net_af_packet1,iface=${P}v1" -- \
		--stats-period 3600 --forward-mode=io --nb-cores=1 --no-mlockall </dev/null \
		>"$RUN/vm.log" 2>&1 &
	vm=$!
	sleep 3
	kill -0 "$vm" 2>/dev/null && break
	grep -q PACKET_FANOUT "$RUN/vm.log" || { cat "$RUN/vm.log" >&2; exit 1; }
	rm -rf /var/run/dpdk/${P}vm /dev/hugepages/${P}vm*
done
pids+=("$vm")

echo "demo: VM 198.19.1.1 pings the remote host's overlay address 198.19.1.2 through tunsw"
ip netns exec ${P}vm1 ping -i 0.2 198.19.1.2 | sed -u 's/^/demo: vm1: /' &
pids+=($!)
echo "demo: running; Ctrl-C to stop. In another shell: app/tunswctl/tunswctl -s $RUN/ctl.sock show fdb"
wait "${pids[0]}"
