"""R-V1..R-V3: tunsw's provider networks against Open vSwitch 3.1 (userspace
datapath, a private ovsdb-server and ovs-vswitchd) with the Open vSwitch
agent's own br-int and physical-bridge flows, frame by frame.

One physical network physnet1: a br-phys with the "NIC" (a veth) and the
patch pair to br-int, as the agent's setup_physical_bridges makes it; three
networks on it — VLAN 100 (ports A and B), flat (port C), VLAN 200 (port
D) — each with its local VLAN on br-int (access ports) and the agent's
provision_local_vlan flows on both bridges (python3-neutron's native
br_int.py / br_phys.py, written here as ovs-ofctl flows: Debian's neutron
ships the os-ken OpenFlow driver only, which needs a controller app). The
same frames, in the same order, go through tunsw (tunsw-replay with
[physnet physnet1] on a device of its own and the same networks): every
veth (port) must receive the same frames in the same order on both,
learning and flooding included, or the difference must be one
semantics.md names (a tunsw choice), said below with its rule.

Needs root and openvswitch-switch."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "func"))
sys.path.insert(0, os.path.join(TOP, "tests", "replay"))

from scapy.layers.l2 import ARP, Dot1Q, Ether  # noqa: E402
from scapy.layers.inet import ICMP, IP  # noqa: E402
from scapy.packet import Raw  # noqa: E402

from tsw import Skip, run, run_tests  # noqa: E402
from tswfunc import P, interrupt, sh  # noqa: E402

NS = P + "prv"
# the bridges, prefixed: a userspace bridge's internal port is a tap in the
# root namespace (removed at the end), never a name a real OVS may use
BR_INT, BR_PHYS = P + "bi", P + "bp"
BCAST = "ff:ff:ff:ff:ff:ff"
# port: (network, local VLAN on br-int, its VM's MAC)
PORTS = {"A": ("v100", 1, "fa:16:3e:00:01:0a"), "B": ("v100", 1, "fa:16:3e:00:01:0b"),
         "C": ("flat1", 2, "fa:16:3e:00:02:0c"), "D": ("v200", 3, "fa:16:3e:00:03:0d")}
NETS = {"v100": 100, "flat1": None, "v200": 200}
X, Y, Z = "02:aa:00:00:00:01", "02:aa:00:00:00:02", "02:aa:00:00:00:03"   # hosts behind P
PHYS = "ph"                         # the NIC's side (a trunk)
MARK_SRC = {"A": PORTS["A"][2], "B": PORTS["B"][2], "C": PORTS["C"][2], "D": PORTS["D"][2],
            PHYS: "02:aa:00:00:00:ee"}

# Known differences (a tunsw choice semantics.md names): none expected in
# these steps; a step listed here must still differ.
KNOWN = {}


def tagged(f, vid, pcp=0):
    b = bytes(f)
    return b[:12] + b"\x81\x00" + ((pcp << 13) | vid).to_bytes(2, "big") + b[12:]


def steps():
    """(name, source port, frame bytes)."""
    a, b, c, d = (PORTS[p][2] for p in "ABCD")
    s = []

    def add(name, src, f):
        s.append((name, src, bytes(f)))
    add("A broadcast: B, and P tagged 100 (R-V1)", "A",
        Ether(src=a, dst=BCAST) / ARP(hwsrc=a, psrc="10.1.0.10", pdst="10.1.0.1"))
    add("P broadcast tag 100 from X: A and B untagged (R-V2)", PHYS,
        tagged(Ether(src=X, dst=BCAST) / ARP(hwsrc=X, psrc="10.1.0.1", pdst="10.1.0.10"), 100))
    add("A to X (learned behind P): P only, tagged (R-V3)", "A",
        Ether(src=a, dst=X) / IP(src="10.1.0.10", dst="10.1.0.1") / ICMP())
    add("X to A (learned on A): A only (R-V3)", PHYS,
        tagged(Ether(src=X, dst=a) / IP(src="10.1.0.1", dst="10.1.0.10") / ICMP(type=0), 100))
    add("X to B (unknown): flooded to A and B", PHYS,
        tagged(Ether(src=X, dst=b) / Raw(b"u" * 46), 100))
    add("B to A: A only", "B", Ether(src=b, dst=a) / Raw(b"b" * 46))
    add("P untagged broadcast from Y: C only (flat, R-V2)", PHYS,
        Ether(src=Y, dst=BCAST) / Raw(b"y" * 46))
    add("C to Y: P untagged (R-V1)", "C", Ether(src=c, dst=Y) / Raw(b"c" * 46))
    add("P tag 200 from Z: D only", PHYS, tagged(Ether(src=Z, dst=BCAST) / Raw(b"z" * 46), 200))
    add("D to Z: P tagged 200", "D", Ether(src=d, dst=Z) / Raw(b"d" * 46))
    add("P tag 300 (no network): nowhere (R-V2)", PHYS,
        tagged(Ether(src=Z, dst=BCAST) / Raw(b"n" * 46), 300))
    add("P tag 100 to a MAC behind P: nowhere (R-V3)", PHYS,
        tagged(Ether(src=Y, dst=X) / Raw(b"h" * 46), 100))
    add("A priority-tagged (PCP 5) to X: P tagged 100, PCP 5 (R-V1)", "A",
        tagged(Ether(src=a, dst=X) / Raw(b"p" * 46), 0, pcp=5))
    add("C priority-tagged (PCP 3) to Y: P untagged (R-V1, flat)", "C",
        tagged(Ether(src=c, dst=Y) / Raw(b"q" * 46), 0, pcp=3))
    add("X on the flat network too: C (no leak between networks)", PHYS,
        Ether(src=X, dst=BCAST) / Raw(b"f" * 46))
    add("C to X: P untagged (flat's own learning)", "C", Ether(src=c, dst=X) / Raw(b"g" * 46))
    add("A to X still on VLAN 100", "A", Ether(src=a, dst=X) / Raw(b"k" * 46))
    add("A priority-tagged broadcast: B untagged, P tagged 100 PCP 6", "A",
        tagged(Ether(src=a, dst=BCAST) / Raw(b"r" * 46), 0, pcp=6))
    add("D priority-tagged (PCP 1) broadcast: P tagged 200 PCP 1", "D",
        tagged(Ether(src=d, dst=BCAST) / Raw(b"s" * 46), 0, pcp=1))
    # the last step reaches every port it can: what a switch sent late for
    # an earlier step is read before its markers
    add("last: X broadcast on VLAN 100", PHYS,
        tagged(Ether(src=X, dst=BCAST) / Raw(b"l" * 46), 100))
    return s


def marker(src, n, k):
    """A broadcast from src's marker MAC carrying MARK + step + k, and the
    ports it is awaited on: the other ports of src's network and P (from P:
    tagged 100, A and B)."""
    f = Ether(src=MARK_SRC[src], dst=BCAST, type=0x88b5) / Raw(
        b"." * 34 + b"MARK%06d%02d" % (n, k))
    if src == PHYS:
        return tagged(f, 100), ["A", "B"]
    net = PORTS[src][0]
    return bytes(f), [p for p, v in PORTS.items() if v[0] == net and p != src] + [PHYS]


# ---- tunsw ------------------------------------------------------------------

def tunsw_outputs(st):
    """{port: [frame hex, ...]} through tunsw-replay, markers included."""
    sections = {
        "agent": {},
        "tunnel": {"local_ip": "198.18.0.1", "types": "vxlan"},
        "uplink": {"devargs": "net_null0", "mac": "02:00:00:00:00:01"},
        "physnet physnet1": {"device": "net_null7"},
    }
    for net, vid in NETS.items():
        sections["network " + net] = ({"type": "flat", "physical_network": "physnet1"}
                                      if vid is None else
                                      {"type": "vlan", "physical_network": "physnet1",
                                       "segmentation_id": str(vid)})
    for i, (p, (net, _l, _m)) in enumerate(PORTS.items()):
        sections["port " + p] = {"devargs": "net_vhost%d,iface=/tmp/p%d" % (i, i),
                                 "network": net}
    inputs = []
    for n, (_name, src, f) in enumerate(st):
        t = 1.0 + 0.01 * n
        port = "physnet1" if src == PHYS else src
        inputs.append((t, port, f))
        for k in (1, 2):
            inputs.append((t + 0.001 * k, port, marker(src, n, k)[0]))
    r = run(inputs, sections)
    out = {p: [x.hex() for x in r.raw.get(p, [])] for p in PORTS}
    out[PHYS] = [x.hex() for x in r.raw.get("physnet1", [])]
    return out, r


# ---- Open vSwitch with the OVS agent's flows --------------------------------

def agent_flows():
    """br-int and br-phys flows as the OVS agent installs them for these
    networks (setup_default_table, setup_physical_bridges' drop_port, and
    provision_local_vlan on both bridges; native/br_int.py, br_phys.py)."""
    br_int = [
        "table=0,priority=0,actions=goto_table:59",                   # LOCAL_SWITCHING
        "table=59,priority=0,actions=goto_table:60",                  # PACKET_RATE_LIMIT
        "table=60,priority=3,actions=NORMAL",                         # TRANSIENT_TABLE
        "table=23,priority=0,actions=drop",                           # CANARY_TABLE
        "table=24,priority=0,actions=drop",                           # ARP_SPOOF_TABLE
        "table=0,priority=65535,dl_vlan=4095,actions=drop",           # DEAD_VLAN_TAG
        "table=62,priority=3,actions=NORMAL",                         # TRANSIENT_EGRESS
        "table=30,priority=0,actions=goto_table:59",                  # LOCAL_EGRESS
        "table=31,priority=0,actions=goto_table:59",                  # LOCAL_IP
        "table=0,priority=2,in_port=int-br-phys,actions=drop",
    ]
    br_phys = [
        "table=0,priority=0,actions=NORMAL",
        "table=0,priority=2,in_port=phy-br-phys,actions=drop",
    ]
    lvids = {}
    for net, lvid, _m in PORTS.values():
        lvids[net] = lvid
    for net, lvid in lvids.items():
        vid = NETS[net]
        if vid is None:
            br_int.append("table=0,priority=3,in_port=int-br-phys,vlan_tci=0x0000/0x1fff,"
                          "actions=push_vlan:0x8100,set_field:%d->vlan_vid,goto_table:59"
                          % (lvid | 0x1000))
            br_phys.append("table=0,priority=4,in_port=phy-br-phys,dl_vlan=%d,"
                           "actions=pop_vlan,NORMAL" % lvid)
        else:
            br_int.append("table=0,priority=3,in_port=int-br-phys,dl_vlan=%d,"
                          "actions=set_field:%d->vlan_vid,goto_table:59" % (vid, lvid | 0x1000))
            br_phys.append("table=0,priority=4,in_port=phy-br-phys,dl_vlan=%d,"
                           "actions=set_field:%d->vlan_vid,NORMAL" % (lvid, vid | 0x1000))
    return br_int, br_phys


def ovs_outputs(st, d):
    from test_ovs_firewall import OVS
    ovs = OVS(d)
    helper = None
    try:
        ovs.vsctl("add-br", BR_INT, "--", "set", "bridge", BR_INT, "datapath_type=netdev",
                  "--", "set-fail-mode", BR_INT, "secure")
        ovs.vsctl("add-br", BR_PHYS, "--", "set", "bridge", BR_PHYS,
                  "datapath_type=netdev", "--", "set-fail-mode", BR_PHYS, "secure")
        ovs.vsctl("add-port", BR_INT, "int-br-phys", "--", "set", "Interface",
                  "int-br-phys", "type=patch", "options:peer=phy-br-phys")
        ovs.vsctl("add-port", BR_PHYS, "phy-br-phys", "--", "set", "Interface",
                  "phy-br-phys", "type=patch", "options:peer=int-br-phys")
        helper = wire(ovs)
        br_int, br_phys = agent_flows()
        for br, flows in ((BR_INT, br_int), (BR_PHYS, br_phys)):
            ovs.ofctl("-O", "OpenFlow13", "del-flows", br)
            for f in flows:
                ovs.ofctl("-O", "OpenFlow13", "add-flow", br, f)
        out = {p: [] for p in list(PORTS) + [PHYS]}
        iface = {p: P + "i" + p.lower() for p in out}
        back = {v: k for k, v in iface.items()}
        for n, (name, src, f) in enumerate(st):
            marks = [marker(src, n, k) for k in (1, 2)]
            helper.stdin.write(json.dumps({
                "src": iface[src], "frame": f.hex(),
                "markers": [[m.hex(), [iface[x] for x in dsts]] for m, dsts in marks]}) + "\n")
            helper.stdin.flush()
            res = json.loads(helper.stdout.readline())
            assert res["marker"], "step %r: the markers never came through OVS:\n%s" % (
                name, ovs.log())
            for ifc, frames in res["got"].items():
                out[back[ifc]] += frames
        flows = "\n".join(ovs.ofctl("-O", "OpenFlow13", "dump-flows", br).stdout
                          for br in (BR_INT, BR_PHYS))
        return out, flows
    finally:
        if helper is not None:
            helper.stdin.close()
            interrupt(helper)
        for br in (BR_INT, BR_PHYS):
            subprocess.run(["ovs-vsctl", "--db=unix:" + ovs.sock, "--timeout=10",
                            "--if-exists", "del-br", br], capture_output=True, env=ovs.env)
        ovs.stop()
        unwire()


def wire(ovs):
    """A veth per VM port (an access port of br-int with its local VLAN)
    and one for the NIC (a port of br-phys); the inner ends in namespace NS."""
    sh("ip", "netns", "add", NS)
    sh("ip", "netns", "exec", NS, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
       "net.ipv6.conf.default.disable_ipv6=1")
    for p in list(PORTS) + [PHYS]:
        inner, outer = P + "i" + p.lower(), P + "o" + p.lower()
        sh("ip", "link", "add", inner, "type", "veth", "peer", "name", outer)
        sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % outer)
        sh("ip", "link", "set", inner, "netns", NS)
        # tags stay in the frames (no VLAN offload: a raw socket would
        # read them stripped into metadata)
        off = ["tx", "off", "rx", "off", "rxvlan", "off", "txvlan", "off",
               "rx-vlan-stag-hw-parse", "off", "tx-vlan-stag-hw-insert", "off"]
        sh("ip", "netns", "exec", NS, "ethtool", "-K", inner, *off)
        sh("ethtool", "-K", outer, *off)
        sh("ip", "netns", "exec", NS, "ip", "link", "set", inner, "up")
        sh("ip", "link", "set", outer, "up")
        if p == PHYS:
            ovs.vsctl("add-port", BR_PHYS, outer)
        else:
            net, lvid, m = PORTS[p]
            ovs.vsctl("add-port", BR_INT, outer, "--", "set", "Interface", outer,
                      "external_ids:iface-id=port-" + p, "external_ids:attached-mac=" + m,
                      "--", "set", "Port", outer, "tag=%d" % lvid)
    helper = subprocess.Popen(["ip", "netns", "exec", NS, "/usr/bin/python3",
                               os.path.join(HERE, "l2_wire.py")] +
                              [P + "i" + p.lower() for p in list(PORTS) + [PHYS]],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert json.loads(helper.stdout.readline()).get("ready"), "l2_wire did not start"
    return helper


def unwire():
    for p in list(PORTS) + [PHYS]:
        subprocess.run(["ip", "link", "del", P + "o" + p.lower()], capture_output=True)
    for br in (BR_INT, BR_PHYS):
        subprocess.run(["ip", "link", "del", br], capture_output=True)
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)


def describe(frames):
    out = []
    for h in frames:
        e = Ether(bytes.fromhex(h))
        tag = " vlan %d pcp %d" % (e[Dot1Q].vlan, e[Dot1Q].prio) if Dot1Q in e else ""
        mark = b"MARK" in bytes(e)
        out.append("%s>%s%s%s" % (e.src, e.dst, tag, " (marker)" if mark else ""))
    return out


def test_R_V_same_frames_as_the_ovs_agents_bridges():
    if shutil.which("ovs-vswitchd") is None:
        raise Skip("openvswitch-switch is not installed")
    if os.geteuid() != 0:
        raise Skip("needs root")
    st = steps()
    tsw, r = tunsw_outputs(st)
    with tempfile.TemporaryDirectory(prefix="tswovsp") as d:
        ovs, flows = ovs_outputs(st, d)
    diff = [p for p in ovs if ovs[p] != tsw[p]]
    rows = []
    for p in ovs:
        rows.append("  %-3s tunsw %3d frames, ovs %3d frames %s" % (
            p, len(tsw[p]), len(ovs[p]), "" if p not in diff else "DIFFERENT"))
        if p in diff:
            n = next((i for i, (x, y) in enumerate(zip(tsw[p], ovs[p])) if x != y),
                     min(len(tsw[p]), len(ovs[p])))
            rows.append("      first difference at frame %d: tunsw %s, ovs %s" % (
                n, describe(tsw[p][n:n + 3]), describe(ovs[p][n:n + 3])))
    print("\n".join(rows))
    assert not diff, "tunsw and the OVS agent's bridges differ on %s\n%s\ntunsw drops: %s\n" \
        "OVS flows:\n%s" % (diff, "\n".join(rows), r.drops(), flows[-6000:])
    # the comparison means something: every port got frames, markers aside
    for p in ovs:
        assert any(b"MARK" not in bytes.fromhex(h) for h in ovs[p]), (p, describe(ovs[p]))
    assert r.drops().get("phys_unknown_vlan") == 1 and r.drops().get("same_port") == 1, \
        r.drops()


if __name__ == "__main__":
    run_tests(globals())
