#!/usr/bin/env bash
# Install everything tunsw needs to build, run and test, from Debian 12's
# packages only. Idempotent; needs root.
set -euo pipefail
PKGS=(
	gcc pkg-config meson ninja-build          # build
	libdpdk-dev libnuma-dev libcunit1-dev     # DPDK 22.11, libnuma, CUnit
	libjansson-dev                            # JSON for the control socket
	dpdk dpdk-dev                             # dpdk-hugepages.py, testpmd, dumpcap, telemetry
	python3 python3-scapy                     # replay and functional tests
	iproute2 ethtool iputils-ping procps      # namespaces for the demo and tests
	iperf3                                    # end-to-end throughput test
)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
