"""R-G*: tunsw's security groups against Neutron's own `openvswitch`
firewall driver (python3-neutron's OVSFirewallDriver) on Open vSwitch 3.1
(userspace datapath and conntrack, a private ovsdb-server and ovs-vswitchd),
frame by frame.

One network, two ports: A filtered (port security, its fixed IPs, one
security group with TCP/UDP/ICMP rules for IPv4 and IPv6, port ranges,
prefixes and a remote group), B without port security. The same rules, as
neutron-server hands them to an agent, go to Neutron's driver (flows on a
br-int with veth ports into a namespace) and, through networking-tunsw's
own rule mapping, to tunsw (tunsw-replay); the same frames go through
both, in the same order. Each frame must come out on the same ports on
both, or the difference must be one semantics.md names (a stricter tunsw
choice), said below with its rule.

Needs root, python3-neutron and openvswitch-switch."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "func"))
sys.path.insert(0, os.path.join(TOP, "tests", "replay"))
sys.path.insert(0, os.path.join(TOP, "app", "networking-tunsw"))

from scapy.layers.inet import ICMP, IP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6  # noqa: E402
from scapy.layers.l2 import ARP, Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402

import neutron_ovsfw  # noqa: E402
from tsw import Skip, mac, run, run_tests  # noqa: E402
from tswfunc import P, interrupt, sh  # noqa: E402

MA, MB = mac(1), mac(2)
A4, B4 = "10.0.0.1", "10.0.0.2"
A6, B6 = "fd00::1", "fd00::2"
PAIR = "10.0.0.100"          # A's allowed address pair
SG, RG = "sg-a", "sg-rg"
BR = P + "br"
NS = P + "fw"

# The group, as neutron-server gives it to an agent (security_group_info_
# for_devices): remote_ip_prefix renamed by direction.
RULES = [
    {"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
     "port_range_min": 22, "port_range_max": 22},
    {"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
     "port_range_min": 1000, "port_range_max": 2000, "source_ip_prefix": "10.0.0.0/30"},
    {"direction": "ingress", "ethertype": "IPv4", "protocol": "udp",
     "port_range_min": 53, "port_range_max": 53, "remote_group_id": RG},
    {"direction": "ingress", "ethertype": "IPv4", "protocol": "icmp",
     "port_range_min": 8, "port_range_max": 0},
    {"direction": "ingress", "ethertype": "IPv6", "protocol": "tcp",
     "port_range_min": 80, "port_range_max": 80},
    {"direction": "ingress", "ethertype": "IPv6", "protocol": "ipv6-icmp"},
    {"direction": "egress", "ethertype": "IPv4", "protocol": "udp",
     "dest_ip_prefix": "10.0.0.0/24"},
    {"direction": "egress", "ethertype": "IPv4", "protocol": "tcp",
     "port_range_min": 443, "port_range_max": 443},
    {"direction": "egress", "ethertype": "IPv4", "protocol": "icmp"},
    {"direction": "egress", "ethertype": "IPv6"},
]
RULES = [dict(r, security_group_id=SG) for r in RULES]
MEMBERS = {"IPv4": [(B4, MB)], "IPv6": []}   # (IP, MAC), as the agent's cache gives them


class Steps:
    """Frames in order, each tagged (IPv4 id, IPv6 flow label) and named,
    and changes of the group between them: (name, src, frame, tag), or
    (name, None, (rules, members), None) for a change (as the agent's
    refresh_firewall makes it)."""

    def __init__(self):
        self.steps = []
        self.tag = 0

    def add(self, name, src, frame):
        self.tag += 1
        if IP in frame:
            frame[IP].id = self.tag
        else:
            frame[IPv6].fl = self.tag
        self.steps.append((name, src, Ether(bytes(frame)), self.tag))

    def change(self, name, rules, members):
        self.steps.append((name, None, (rules, members), None))


def tag_of(data):
    f = Ether(data)
    if IP in f:
        return f[IP].id
    if IPv6 in f:
        return f[IPv6].fl
    return None


def tcp4(src, dst, sport, dport, flags, seq=1000, ack=0, fwd=True):
    """Data (8 bytes) with P only: a handshake's segments carry none."""
    m = (MB, MA) if fwd else (MA, MB)
    f = Ether(src=m[0], dst=m[1]) / IP(src=src, dst=dst) / TCP(
        sport=sport, dport=dport, flags=flags, seq=seq, ack=ack)
    return f / Raw(b"t" * 8) if "P" in flags else f


def steps():
    """B -> A is ingress to A; A -> B egress from A."""
    s = Steps()
    # a TCP connection to an allowed port, both ways, and one not allowed
    s.add("ingress tcp 22 syn", "B", tcp4(B4, A4, 40000, 22, "S", 100))
    s.add("its syn-ack", "A", tcp4(A4, B4, 22, 40000, "SA", 500, 101, False))
    s.add("its ack", "B", tcp4(B4, A4, 40000, 22, "A", 101, 501))
    s.add("its data in", "B", tcp4(B4, A4, 40000, 22, "PA", 101, 501))
    s.add("its data out", "A", tcp4(A4, B4, 22, 40000, "PA", 501, 109, False))
    s.add("ingress tcp 23 syn (no rule)", "B", tcp4(B4, A4, 40001, 23, "S"))
    # a port range with a source prefix
    for port in (999, 1000, 2000, 2001):
        s.add("ingress tcp %d from %s" % (port, B4), "B", tcp4(B4, A4, 41000 + port, port, "S"))
    s.add("ingress tcp 1500 from 10.0.0.3 (in the /30)", "B",
          tcp4("10.0.0.3", A4, 42000, 1500, "S"))
    s.add("ingress tcp 1500 from 10.0.0.5 (outside)", "B",
          tcp4("10.0.0.5", A4, 42001, 1500, "S"))
    # a remote group: B's address is a member, 10.0.0.3 is not
    s.add("ingress udp 53 from the member", "B",
          Ether(src=MB, dst=MA) / IP(src=B4, dst=A4) / UDP(sport=5353, dport=53) / Raw(b"q"))
    s.add("its reply", "A",
          Ether(src=MA, dst=MB) / IP(src=A4, dst=B4) / UDP(sport=53, dport=5353) / Raw(b"r"))
    s.add("ingress udp 53 from a non-member", "B",
          Ether(src=MB, dst=MA) / IP(src="10.0.0.3", dst=A4) / UDP(sport=5354, dport=53))
    # ICMP type and code
    s.add("ingress echo request", "B",
          Ether(src=MB, dst=MA) / IP(src=B4, dst=A4) / ICMP(type=8, id=7, seq=1))
    s.add("its echo reply", "A",
          Ether(src=MA, dst=MB) / IP(src=A4, dst=B4) / ICMP(type=0, id=7, seq=1))
    s.add("ingress timestamp request (no rule)", "B",
          Ether(src=MB, dst=MA) / IP(src=B4, dst=A4) / ICMP(type=13, id=8))
    s.add("ingress echo request code 1 (no rule)", "B",
          Ether(src=MB, dst=MA) / IP(src=B4, dst=A4) / ICMP(type=8, code=1, id=9, seq=1))
    # egress rules with a destination prefix and a port
    s.add("egress udp to 10.0.0.2 (in 10.0.0.0/24)", "A",
          Ether(src=MA, dst=MB) / IP(src=A4, dst=B4) / UDP(sport=6000, dport=7000))
    s.add("egress udp to 192.168.9.9 (outside)", "A",
          Ether(src=MA, dst=MB) / IP(src=A4, dst="192.168.9.9") / UDP(sport=6001, dport=7000))
    s.add("egress tcp 443 syn", "A", tcp4(A4, B4, 43000, 443, "S", fwd=False))
    s.add("its syn-ack in", "B", tcp4(B4, A4, 443, 43000, "SA", 900, 1001))
    s.add("egress tcp 444 syn (no rule)", "A", tcp4(A4, B4, 43001, 444, "S", fwd=False))
    # IPv6
    s.add("ingress tcp6 80 syn", "B", Ether(src=MB, dst=MA) / IPv6(src=B6, dst=A6) / TCP(
        sport=44000, dport=80, flags="S"))
    s.add("ingress tcp6 81 syn (no rule)", "B", Ether(src=MB, dst=MA) / IPv6(src=B6, dst=A6) /
          TCP(sport=44001, dport=81, flags="S"))
    s.add("ingress echo6 request", "B", Ether(src=MB, dst=MA) / IPv6(src=B6, dst=A6) /
          ICMPv6EchoRequest(id=3, seq=1))
    s.add("egress udp6", "A", Ether(src=MA, dst=MB) / IPv6(src=A6, dst=B6) / UDP(
        sport=45000, dport=45001))
    # port security before the groups: a spoofed source from A
    s.add("egress from a spoofed source", "A",
          Ether(src=MA, dst=MB) / IP(src="10.0.0.9", dst=B4) / UDP(sport=6002, dport=7000))
    # a lone ACK to an allowed port (no connection): both pick it up
    s.add("ingress tcp 22 ack without a connection", "B",
          tcp4(B4, A4, 40100, 22, "A", 5000, 6000))
    s.add("ingress tcp 22 syn+fin", "B", tcp4(B4, A4, 40101, 22, "SF"))
    # ICMP errors: about a connection (related), about none
    sent = IP(src=A4, dst=B4, id=999) / UDP(sport=6100, dport=7100) / Raw(b"x" * 8)
    s.add("egress udp for an error", "A", Ether(src=MA, dst=MB) / sent)
    s.add("ingress port unreachable about it (related)", "B",
          Ether(src=MB, dst=MA) / IP(src=B4, dst=A4) / ICMP(type=3, code=3) / bytes(sent))
    other = IP(src=A4, dst=B4, id=998) / UDP(sport=6101, dport=7101) / Raw(b"x" * 8)
    s.add("ingress port unreachable about nothing sent", "B",
          Ether(src=MB, dst=MA) / IP(src=B4, dst=A4) / ICMP(type=3, code=3) / bytes(other))
    # an allowed address pair
    s.add("egress udp from the allowed pair 10.0.0.100", "A",
          Ether(src=MA, dst=MB) / IP(src=PAIR, dst=B4) / UDP(sport=6200, dport=7200))
    s.add("ingress tcp 22 syn to the pair", "B", tcp4(B4, PAIR, 40200, 22, "S"))
    # B leaves the remote group: new connections from it are refused
    s.change("B leaves the remote group", RULES, {"IPv4": [], "IPv6": []})
    s.add("ingress udp 53 from the ex-member (new)", "B",
          Ether(src=MB, dst=MA) / IP(src=B4, dst=A4) / UDP(sport=5400, dport=53))
    s.add("ingress udp 53 on the member's old connection", "B",
          Ether(src=MB, dst=MA) / IP(src=B4, dst=A4) / UDP(sport=5353, dport=53) / Raw(b"q"))
    # the SSH rule goes: new connections refused, the open one cut
    s.change("the tcp 22 rule is deleted", [r for r in RULES if r.get("port_range_min") != 22],
             {"IPv4": [], "IPv6": []})
    s.add("ingress tcp 22 syn after the rule went", "B", tcp4(B4, A4, 40300, 22, "S"))
    s.add("egress data on the cut connection (reply side first)", "A",
          tcp4(A4, B4, 22, 40000, "PA", 509, 109, False))
    s.add("ingress data on the cut connection", "B", tcp4(B4, A4, 40000, 22, "PA", 109, 517))
    return s.steps


# ---- tunsw ------------------------------------------------------------------

def tunsw_verdicts(st):
    """{step name: sorted ports it came out of} through tunsw-replay."""
    from networking_tunsw.firewall import daemon_rule, member_ips
    sections = {
        "agent": {},
        "tunnel": {"local_ip": "198.18.0.1", "types": "vxlan"},
        "uplink": {"devargs": "net_null0", "mac": "02:00:00:00:00:01"},
        "network blue": {"type": "vxlan", "segmentation_id": "1001"},
        "port vm1": {"devargs": "net_vhost1,iface=/tmp/x1", "network": "blue"},
        "port vm2": {"devargs": "net_vhost2,iface=/tmp/x2", "network": "blue"},
    }
    def group(t, rules, members):
        return [(t, {"op": "security_group_set", "name": SG,
                     "rules": [daemon_rule(r) for r in rules]}),
                (t + 0.001, {"op": "security_group_members", "name": RG,
                             "set": member_ips(members)})]
    control = group(0.1, RULES, MEMBERS) + [
        (0.12, {"op": "port_security_set", "port": "vm1", "enabled": True, "mac": MA,
                "fixed_ips": [A4, A6], "allowed_address_pairs": [{"ip_address": PAIR}],
                "security_groups": [SG]})]
    port = {"A": "vm1", "B": "vm2"}
    inputs = [(0.5, "vm1", Ether(src=MA, dst="ff:ff:ff:ff:ff:ff") / ARP(
                   hwsrc=MA, psrc=A4, pdst=A4)),
              (0.51, "vm2", Ether(src=MB, dst="ff:ff:ff:ff:ff:ff") / ARP(
                   hwsrc=MB, psrc=B4, pdst=B4))]
    for i, (_, src, f, _) in enumerate(st):
        if src is None:
            control += group(1.0 + 0.01 * i, *f)
        else:
            inputs.append((1.0 + 0.01 * i, port[src], f))
    r = run(inputs, sections, control=control)
    r.ok_replies()
    names = {tag: n for n, src, _, tag in st if src is not None}
    out = {n: [] for n in names.values()}
    for p, side in (("vm1", "A"), ("vm2", "B"), ("uplink", "uplink")):
        for data in r.raw.get(p, []):
            t = tag_of(data)
            if t in names:
                out[names[t]].append(side)
    return {k: sorted(v) for k, v in out.items()}, r


# ---- Open vSwitch with Neutron's firewall -----------------------------------

class OVS:
    """A private ovsdb-server and ovs-vswitchd (userspace datapath)."""

    def __init__(self, d):
        self.d = d
        self.procs = []
        env = dict(os.environ, OVS_RUNDIR=d, OVS_LOGDIR=d, OVS_DBDIR=d, OVS_SYSCONFDIR=d)
        self.env = env
        db = os.path.join(d, "conf.db")
        sh("ovsdb-tool", "create", db, "/usr/share/openvswitch/vswitch.ovsschema")
        self.sock = os.path.join(d, "db.sock")
        self.start(["ovsdb-server", db, "--remote=punix:" + self.sock,
                    "--unixctl=" + os.path.join(d, "ovsdb-server.ctl"),
                    "--log-file=" + os.path.join(d, "ovsdb-server.log")])
        wait(lambda: os.path.exists(self.sock), 30, "ovsdb-server's socket")
        self.vsctl("--no-wait", "init")
        self.start(["ovs-vswitchd", "unix:" + self.sock,
                    "--unixctl=" + os.path.join(d, "ovs-vswitchd.ctl"),
                    "--log-file=" + os.path.join(d, "ovs-vswitchd.log")])

    def start(self, args):
        self.procs.append(subprocess.Popen(args, env=self.env, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL))

    def vsctl(self, *args):
        return sh("ovs-vsctl", "--db=unix:" + self.sock, "--timeout=30", *args, env=self.env)

    def ofctl(self, *args):
        return sh("ovs-ofctl", *args, env=self.env)

    def log(self):
        try:
            with open(os.path.join(self.d, "ovs-vswitchd.log")) as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def stop(self):
        for p in reversed(self.procs):
            interrupt(p)           # OVS's daemons exit cleanly on SIGINT
        self.procs = []


def wait(cond, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError("no %s in %ss" % (what, timeout))


def wire(ovs, d):
    """veths A and B: one end in namespace NS, the other a br-int port."""
    sh("ip", "netns", "add", NS)
    sh("ip", "netns", "exec", NS, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
       "net.ipv6.conf.default.disable_ipv6=1")
    for side, m in (("a", MA), ("b", MB)):
        inner, outer = P + side, P + side + "o"
        sh("ip", "link", "add", inner, "type", "veth", "peer", "name", outer)
        sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % outer)
        sh("ip", "link", "set", inner, "netns", NS)
        sh("ip", "netns", "exec", NS, "ethtool", "-K", inner, "tx", "off", "rx", "off")
        sh("ethtool", "-K", outer, "tx", "off", "rx", "off")
        sh("ip", "netns", "exec", NS, "ip", "link", "set", inner, "up")
        sh("ip", "link", "set", outer, "up")
        ovs.vsctl("add-port", BR, outer, "--", "set", "Interface", outer,
                  "external_ids:iface-id=port-" + side, "external_ids:attached-mac=" + m,
                  "external_ids:iface-status=active", "--", "set", "Port", outer, "tag=1",
                  "other_config:tag=1", "other_config:segmentation_id=1001",
                  "other_config:network_type=vxlan")
    helper = subprocess.Popen(["ip", "netns", "exec", NS, "/usr/bin/python3",
                               os.path.join(HERE, "ovs_wire.py"), P + "a", P + "b"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert json.loads(helper.stdout.readline()).get("ready"), "ovs_wire did not start"
    return helper


def unwire():
    for side in ("a", "b"):
        subprocess.run(["ip", "link", "del", P + side + "o"], capture_output=True)
    # the userspace bridge's internal port, a tap ovs-vswitchd leaves behind
    subprocess.run(["ip", "link", "del", BR], capture_output=True)
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)


def marker(src, n):
    """An ARP request from src's own MAC and address (every filter passes
    it: R-S*, R-G2), for an address nobody has."""
    m, ip = (MA, A4) if src == "A" else (MB, B4)
    return bytes(Ether(src=m, dst="ff:ff:ff:ff:ff:ff") / ARP(
        hwsrc=m, psrc=ip, pdst="10.255.%d.%d" % (n // 250, n % 250 + 1)))


def ovs_verdicts(st, d):
    """{step name: sorted ports it came out of} through Open vSwitch."""
    ovs = OVS(d)
    helper = None
    try:
        ovs.vsctl("add-br", BR, "--", "set", "bridge", BR, "datapath_type=netdev")
        fw = neutron_ovsfw.driver(BR, ovs.d, ovs.sock)
        helper = wire(ovs, d)
        # as SecurityGroupAgentRpc.prepare_devices_filter does
        port_a = {"device": "port-a", "mac_address": MA, "fixed_ips": [A4, A6],
                  "security_groups": [SG], "port_security_enabled": True,
                  "allowed_address_pairs": [{"ip_address": PAIR, "mac_address": MA}],
                  "network_id": "net-blue"}
        port_b = {"device": "port-b", "mac_address": MB, "fixed_ips": [B4, B6],
                  "security_groups": [], "port_security_enabled": False,
                  "allowed_address_pairs": [], "network_id": "net-blue"}
        neutron_ovsfw.apply(fw, {SG: RULES}, {RG: MEMBERS}, [port_a, port_b])
        iface = {"A": P + "a", "B": P + "b"}
        side = {P + "a": "A", P + "b": "B"}
        out = {}
        # each side announces itself first, as in tunsw's run
        n = 0
        for name, src, f, tag in st:
            if src is None:         # refresh_firewall, as the agent does it
                fw.filter_defer_apply_on()
                fw.update_security_group_rules(SG, f[0])
                fw.update_security_group_members(RG, f[1])
                fw.update_port_filter(port_a)
                fw.filter_defer_apply_off()
                continue
            n += 1
            dst = "B" if src == "A" else "A"
            helper.stdin.write(json.dumps({"src": iface[src], "dst": iface[dst],
                                           "frame": bytes(f).hex(),
                                           "markers": [marker(src, 2 * n).hex(),
                                                       marker(src, 2 * n + 1).hex()]}) + "\n")
            helper.stdin.flush()
            rep = json.loads(helper.stdout.readline())
            assert rep["marker"], "step %r: the marker never came through:\n%s\n%s" % (
                name, ovs.ofctl("dump-flows", BR).stdout[-4000:], ovs.log())
            out[name] = sorted(side[n] for n, h in rep["got"]
                               if tag_of(bytes.fromhex(h)) == tag)
        flows = ovs.ofctl("dump-flows", BR).stdout
        return out, flows
    finally:
        if helper is not None:
            helper.stdin.close()
            helper.wait(10)
        ovs.stop()
        unwire()


# Where tunsw is stricter by design (semantics.md), named with the rule.
KNOWN = {
    "egress data on the cut connection (reply side first)":
        "R-G7: cut in both directions at the change; Neutron's OVS firewall marks "
        "the connection (ct_mark=1) only at its next original-direction packet",
}


def test_R_G_same_verdicts_as_neutrons_openvswitch_firewall():
    if shutil.which("ovs-vswitchd") is None:
        raise Skip("openvswitch-switch is not installed")
    if os.geteuid() != 0:
        raise Skip("needs root")
    st = steps()
    tsw, r = tunsw_verdicts(st)
    with tempfile.TemporaryDirectory(prefix="tswovs") as d:
        ovs, flows = ovs_verdicts(st, d)
    rows, diff = [], []
    for name, src, _, _ in st:
        if src is None:
            rows.append("  -- %s" % name)
            continue
        same = tsw[name] == ovs[name]
        rows.append("  %-46s tunsw %-10s ovs %-10s %s" % (
            name, ",".join(tsw[name]) or "-", ",".join(ovs[name]) or "-",
            "" if same else ("KNOWN: " + KNOWN[name] if name in KNOWN else "DIFFERENT")))
        if not same and name not in KNOWN:
            diff.append(name)
    print("\n".join(rows))
    assert not diff, "tunsw and Neutron's openvswitch firewall differ on %s\n%s\n" \
        "tunsw drops: %s\nOVS flows:\n%s" % (diff, "\n".join(rows), r.drops(), flows[-6000:])
    # the comparison means something: both passed and both dropped frames,
    # and every known difference still shows
    assert any(tsw.values()) and not all(tsw.values()), tsw
    for name in KNOWN:
        assert tsw[name] != ovs[name], "%s: no longer different (KNOWN is stale)" % name


if __name__ == "__main__":
    sys.exit(run_tests(globals()))
