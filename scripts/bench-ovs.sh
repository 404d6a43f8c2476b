#!/usr/bin/env bash
# The peer baseline of the benchmark: Open vSwitch with its DPDK datapath
# (Debian's openvswitch-switch-dpdk) set up as a Neutron compute node, fed
# the same vm->tunnel VXLAN traffic (64 K destination MACs, 64-byte frames)
# by tunsw-bench's generator over vhost-user; its cycles per packet are read
# from `ovs-appctl dpif-netdev/pmd-stats-show`.
#
#   scripts/bench-ovs.sh [WARMUP_S] [WINDOW_S] [MACS] [firewall]   (called by scripts/bench.sh)
#
# firewall: Neutron's own openvswitch firewall driver (python3-neutron's
# OVSFirewallDriver, tests/openstack/neutron_ovsfw.py) filters vm1 with the
# rules of tunsw-bench's security-group paths (Neutron's default group and
# a web group: 9 rules) and its port security; the generator sends those
# paths' frames (one VM, 64 K UDP flows: as many conntrack entries).
#
# Topology, as the Neutron OVS agent builds it:
#   br-int (NORMAL): vm1 = dpdkvhostuserclient, access port tag 1; patch-tun
#   br-tun: patch-int; vxlan0 (remote 198.18.0.2, key=flow); Neutron's tables
#           0/2/4/10/20/22 with 64 K l2population unicast flows in table 20
#   br-phy: phy0 = net_null (the sink); its address 198.18.0.1/24 lives in the
#           network namespace ovs-vswitchd runs in (nothing in the root one)
# One PMD thread on core 1 (the measured core), the generator on core 0.
# Everything runs from a private directory and is stopped afterwards.
# Prints one JSON object on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
WARM=${1:-5}
WIN=${2:-5}
MACS=${3:-65536}
MODE=${4:-}
VSWITCHD=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
BENCH=build/app/tunsw-bench/tunsw-bench
[ -x "$VSWITCHD" ] || { echo "bench-ovs: $VSWITCHD missing (openvswitch-switch-dpdk)" >&2; exit 1; }
D=$(mktemp -d /tmp/tswovs.XXXXXX)
NS=tswovs$$
GENPFX=tswgen$$
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -f "$D/vswitchd.pid" ] && kill "$(cat "$D/vswitchd.pid")" 2>/dev/null || true
	[ -f "$D/ovsdb.pid" ] && kill "$(cat "$D/ovsdb.pid")" 2>/dev/null || true
	sleep 1
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$D" /var/run/dpdk/"$GENPFX" /var/run/dpdk/tswovs$$ /dev/hugepages/"$GENPFX"*
}
trap cleanup EXIT
export OVS_RUNDIR=$D OVS_DBDIR=$D OVS_LOGDIR=$D
V="ovs-vsctl --db=unix:$D/db.sock"

ip netns add "$NS"
ip -n "$NS" link set lo up
ovsdb-tool create "$D/conf.db" /usr/share/openvswitch/vswitch.ovsschema
ovsdb-server "$D/conf.db" --remote=punix:"$D/db.sock" --pidfile="$D/ovsdb.pid" --detach \
	--log-file="$D/ovsdb.log" 2>/dev/null
$V --no-wait init
$V --no-wait set Open_vSwitch . other_config:dpdk-init=true other_config:dpdk-lcore-mask=0x1 \
	other_config:pmd-cpu-mask=0x2 other_config:dpdk-socket-mem=256 \
	"other_config:dpdk-extra=--no-pci --file-prefix tswovs$$"
ip netns exec "$NS" "$VSWITCHD" unix:"$D/db.sock" --pidfile="$D/vswitchd.pid" --detach \
	--log-file="$D/vswitchd.log" 2>/dev/null
A="ovs-appctl -t $D/ovs-vswitchd-dpdk.$(cat "$D/vswitchd.pid").ctl"

$V add-br br-int -- set bridge br-int datapath_type=netdev \
	-- add-port br-int vm1 tag=1 -- set interface vm1 type=dpdkvhostuserclient \
	   options:vhost-server-path="$D/vm1.sock" external_ids:iface-id=vm1 \
	   external_ids:attached-mac=fa:16:01:00:00:01 external_ids:iface-status=active \
	-- set port vm1 other_config:tag=1 \
	-- add-port br-int patch-tun -- set interface patch-tun type=patch options:peer=patch-int
$V add-br br-tun -- set bridge br-tun datapath_type=netdev \
	-- add-port br-tun patch-int -- set interface patch-int type=patch options:peer=patch-tun \
	-- add-port br-tun vxlan0 -- set interface vxlan0 type=vxlan options:remote_ip=198.18.0.2 \
	   options:local_ip=198.18.0.1 options:in_key=flow options:out_key=flow
$V add-br br-phy -- set bridge br-phy datapath_type=netdev other_config:hwaddr=02:00:00:00:00:01 \
	-- add-port br-phy phy0 -- set interface phy0 type=dpdk options:dpdk-devargs=net_null0,no-rx=1
ip -n "$NS" addr add 198.18.0.1/24 dev br-phy
ip -n "$NS" link set br-phy up
sleep 1
$A tnl/arp/set br-phy 198.18.0.2 02:00:00:00:00:02 >/dev/null

/usr/bin/python3 - "$D/brtun.flows" <<'EOF'
import sys
lines = [
    "table=0,priority=1,in_port=patch-int,actions=resubmit(,2)",
    "table=0,priority=1,in_port=vxlan0,actions=resubmit(,4)",
    "table=0,priority=0,actions=drop",
    "table=2,priority=0,dl_dst=00:00:00:00:00:00/01:00:00:00:00:00,actions=resubmit(,20)",
    "table=2,priority=0,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=resubmit(,22)",
    "table=4,priority=1,tun_id=1001,actions=mod_vlan_vid:1,resubmit(,10)",
    "table=4,priority=0,actions=drop",
    "table=10,priority=1,actions=learn(cookie=0,table=20,priority=1,hard_timeout=300,"
    "NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:0->NXM_OF_VLAN_TCI[],"
    "load:NXM_NX_TUN_ID[]->NXM_NX_TUN_ID[],output:OXM_OF_IN_PORT[]),output:patch-int",
    "table=20,priority=0,actions=resubmit(,22)",
    "table=22,priority=1,dl_vlan=1,actions=strip_vlan,load:1001->NXM_NX_TUN_ID[],output:vxlan0",
    "table=22,priority=0,actions=drop",
]
for i in range(65536):   # l2population: the remote MACs tunsw-bench sends to
    lines.append("table=20,priority=2,dl_vlan=1,dl_dst=fa:16:3e:%02x:%02x:%02x,"
                 "actions=strip_vlan,load:1001->NXM_NX_TUN_ID[],output:vxlan0"
                 % (i >> 16, (i >> 8) & 255, i & 255))
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
EOF
ovs-ofctl del-flows unix:"$D/br-tun.mgmt"
ovs-ofctl add-flows unix:"$D/br-tun.mgmt" "$D/brtun.flows" >/dev/null
gen_args=()
if [ "$MODE" = firewall ]; then
	gen_args=(--one-vm)
	/usr/bin/python3 - "$D" <<'EOF'
import sys
sys.path.insert(0, "tests/openstack")
import neutron_ovsfw
d = sys.argv[1]
fw = neutron_ovsfw.driver("br-int", d, d + "/db.sock")
SG, MAC = "sg-bench", "fa:16:01:00:00:01"
# tunsw-bench's bench_ruleset(), as neutron-server hands it to an agent
rules = [{"direction": "egress", "ethertype": "IPv4"},
         {"direction": "egress", "ethertype": "IPv6"},
         {"direction": "ingress", "ethertype": "IPv4", "remote_group_id": SG},
         {"direction": "ingress", "ethertype": "IPv6", "remote_group_id": SG}]
rules += [{"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
           "port_range_min": p, "port_range_max": p} for p in (22, 80, 443)]
rules += [{"direction": "ingress", "ethertype": "IPv4", "protocol": "icmp"},
          {"direction": "ingress", "ethertype": "IPv4", "protocol": "udp",
           "port_range_min": 5001, "port_range_max": 5001, "source_ip_prefix": "10.0.0.0/16"}]
rules = [dict(r, security_group_id=SG) for r in rules]
# tunsw-bench's PS_IPS and PS_PAIRS
port = {"device": "vm1", "mac_address": MAC, "fixed_ips": ["10.0.0.1", "fd00::1"],
        "security_groups": [SG], "port_security_enabled": True, "network_id": "net",
        "allowed_address_pairs": [{"ip_address": a, "mac_address": MAC}
                                  for a in ("10.9.1.0/24", "10.9.2.0/24", "10.0.0.0/23")] +
                                 [{"ip_address": "10.9.3.7", "mac_address": "fa:16:3e:00:00:99"}]}
neutron_ovsfw.apply(fw, {SG: rules}, {SG: {"IPv4": [("10.0.0.1", MAC)],
                                           "IPv6": [("fd00::1", MAC)]}}, [port])
EOF
fi

"$BENCH" -l 0 --no-pci --single-file-segments -m 256 --file-prefix "$GENPFX" \
	--log-level='*:error' -- --generator "$D/vm1.sock" --seconds $((WARM + WIN + 2)) --macs "$MACS" \
	"${gen_args[@]}" >"$D/gen.log" 2>&1 &
pids+=($!)
sleep "$WARM"
$A dpif-netdev/pmd-stats-clear >/dev/null
sleep "$WIN"
$A dpif-netdev/pmd-stats-show >"$D/pmd.txt"
conns=$($A dpctl/ct-get-nconns 2>/dev/null || echo 0)
wait "${pids[0]}" || true
/usr/bin/python3 - "$D/pmd.txt" "$WIN" "$MACS" "$D/gen.log" "$MODE" "$conns" <<'EOF'
import json, re, sys
t = open(sys.argv[1]).read()
pmd = t.split("main thread:")[0]
m = re.search(r"packets received: (\d+)", pmd)
pkts = int(m.group(1)) if m else 0
if pkts == 0:
    # a benchmark fails loudly, it never reports a zero
    sys.exit("bench-ovs: OVS's PMD received nothing; generator log:\n" +
             open(sys.argv[4]).read()[-1500:])
proc = re.search(r"avg processing cycles per packet: ([\d.]+)", pmd)
allc = re.search(r"avg cycles per packet: ([\d.]+)", pmd)
miss = sum(int(x) for x in re.findall(r"miss with (?:success|failed) upcall: (\d+)", pmd))
fw = sys.argv[5] == "firewall"
print(json.dumps({"path": "ovs-dpdk vm->tunnel vxlan" + (", openvswitch firewall" if fw else ""),
                  "macs": int(sys.argv[3]), "tunnels": 1, "bytes": 64,
                  "connections": int(sys.argv[6]) if sys.argv[6].isdigit() else 0,
                  "mpps": pkts / float(sys.argv[2]) / 1e6,
                  "cycles_per_pkt": float(proc.group(1)) if proc else 0.0,
                  "cycles_per_pkt_all": float(allc.group(1)) if allc else 0.0,
                  "upcall_misses": miss}))
EOF
