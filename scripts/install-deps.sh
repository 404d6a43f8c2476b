#!/usr/bin/env bash
# Install what tunsw needs, from Debian 12's packages only. Idempotent;
# needs root.
#
#   install-deps.sh             everything: build, run, test (developers, CI)
#   install-deps.sh compute     build and run the daemon and tunsw-agent
#   install-deps.sh controller  the ML2 driver on a neutron-server host
set -euo pipefail
BUILD=(gcc pkg-config meson ninja-build libdpdk-dev libnuma-dev libcunit1-dev libjansson-dev
	libpcap-dev)
RUN=(dpdk python3)                 # dpdk-hugepages.py, dumpcap, telemetry; tunswctl
AGENT=(python3-neutron)            # tunsw-agent and the driver run on Debian's neutron
TEST=(
	dpdk-dev                                  # testpmd (virtio-user guests)
	python3-scapy                             # replay and functional tests
	iproute2 ethtool iputils-ping procps      # namespaces for the demo and tests
	iperf3                                    # end-to-end throughput test
	clang libclang-rt-14-dev                  # libFuzzer targets (tests/fuzz)
	# QEMU guests (tests/guest: the kernel package itself is fetched with
	# apt-get download, never installed on the host)
	qemu-system-x86 busybox-static cpio
	# a real neutron-server with RabbitMQ and MariaDB (tests/openstack)
	neutron-common python3-pymysql rabbitmq-server mariadb-server
	# Open vSwitch 3.1 with Neutron's openvswitch firewall: the reference
	# of the security-group differential test (userspace datapath)
	openvswitch-switch
)
case "${1:-all}" in
all) PKGS=("${BUILD[@]}" "${RUN[@]}" "${AGENT[@]}" "${TEST[@]}") ;;
compute) PKGS=("${BUILD[@]}" "${RUN[@]}" "${AGENT[@]}") ;;
controller) PKGS=("${AGENT[@]}") ;;
*) echo "usage: $0 [all|compute|controller]" >&2; exit 2 ;;
esac
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# Debian's maintainer scripts would start RabbitMQ, MariaDB and neutron
	# at once; the tests start their own from private directories.
	made_policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		made_policy=1
	fi
	rc=0
	apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}" || rc=$?
	[ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
	exit $rc
fi
