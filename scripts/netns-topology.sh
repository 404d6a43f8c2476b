#!/usr/bin/env bash
# Virtual hosts for tunsw's demo and functional tests, all in network
# namespaces this script creates (nothing gets an address in the root
# namespace; underlay 198.18.0.0/24, overlay 198.19.0.0/16).
#
#   netns-topology.sh up   PREFIX [vxlan|gre]   create
#   netns-topology.sh down PREFIX               remove everything PREFIX made
#
# PREFIX (<= 5 chars) keeps concurrent runs apart. Created:
#   ${P}rem   namespace "remote host": eth0 198.18.0.2/24 (MAC 02:00:00:00:00:02),
#             a kernel VXLAN (VNI 1001, port 4789) or gretap (key 1001) device
#             "tun0" to 198.18.0.1 with overlay 198.19.1.2/24 (MAC 02:00:00:00:01:02)
#   ${P}vm1   namespace "VM 1": eth0 198.19.1.1/24 (MAC 02:00:00:00:01:01)
#   ${P}up    root-namespace veth end for tunsw's uplink (MAC 02:00:00:00:00:01, no address)
#   ${P}v1    root-namespace veth end for tunsw's VM port (no address)
set -euo pipefail

cmd=${1:?up|down}
P=${2:?prefix}
TYPE=${3:-vxlan}

down() {
	ip netns del "${P}rem" 2>/dev/null || true
	ip netns del "${P}vm1" 2>/dev/null || true
	ip link del "${P}up" 2>/dev/null || true
	ip link del "${P}v1" 2>/dev/null || true
}


up() {
	down
	ip netns add "${P}rem"
	ip netns add "${P}vm1"
	# IPv4 only: no IPv6 chatter (router solicitations, MLD) on the wires
	for ns in "${P}rem" "${P}vm1"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	done

	ip link add "${P}up" type veth peer name eth0 netns "${P}rem"
	# root-namespace ends carry no address at all, not even IPv6 link-local
	sysctl -qw "net.ipv6.conf.${P}up.disable_ipv6=1"
	ip link set "${P}up" address 02:00:00:00:00:01 mtu 1500 up
	ethtool -K "${P}up" tx off rx off >/dev/null
	ip -n "${P}rem" link set eth0 address 02:00:00:00:00:02 up
	ip netns exec "${P}rem" ethtool -K eth0 tx off rx off >/dev/null
	ip -n "${P}rem" link set lo up
	ip -n "${P}rem" addr add 198.18.0.2/24 dev eth0
	# no static ARP entry for 198.18.0.1: tunsw answers ARP for local_ip
	if [ "$TYPE" = gre ]; then
		ip -n "${P}rem" link add tun0 type gretap local 198.18.0.2 remote 198.18.0.1 key 1001
		ip -n "${P}rem" link set tun0 mtu 1458
	else
		ip -n "${P}rem" link add tun0 type vxlan id 1001 local 198.18.0.2 remote 198.18.0.1 \
			dstport 4789 udp6zerocsumrx
		ip -n "${P}rem" link set tun0 mtu 1450
	fi
	ip -n "${P}rem" link set tun0 address 02:00:00:00:01:02 up
	ip -n "${P}rem" addr add 198.19.1.2/24 dev tun0

	ip link add "${P}v1" type veth peer name eth0 netns "${P}vm1"
	sysctl -qw "net.ipv6.conf.${P}v1.disable_ipv6=1"
	ip link set "${P}v1" mtu 1500 up
	ethtool -K "${P}v1" tx off rx off >/dev/null
	ip -n "${P}vm1" link set eth0 address 02:00:00:00:01:01 mtu 1450 up
	ip netns exec "${P}vm1" ethtool -K eth0 tx off rx off >/dev/null
	ip -n "${P}vm1" link set lo up
	ip -n "${P}vm1" addr add 198.19.1.1/24 dev eth0
}

case "$cmd" in
up) up ;;
down) down ;;
*) echo "usage: $0 up|down PREFIX [vxlan|gre]" >&2; exit 2 ;;
esac
