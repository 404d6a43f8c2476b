"""Provider networks (R-V1..R-V5) with real peers: Linux hosts in network
namespaces behind a "physical" switch, vhost-user VMs, while a VXLAN tunnel
network runs on the same uplink. This kernel has no 802.1Q, bridge or tc
vlan action, so the physical switch is Open vSwitch 3.1 (userspace
datapath, as a top-of-rack switch would be): trunk ports towards tunsw,
access ports to the hosts, which stay plain untagged kernel hosts. Needs
root and hugepages.

  uplink (trunk: VLAN 1 native untagged, 100) -- OVS br P+b1 -- rem (VLAN 1): underlay
      198.18.0.2 with a kernel VXLAN device; h100 (VLAN 100): 198.20.100.2
  phys2 device (trunk: 200) -- OVS br P+b2 -- h200 (VLAN 200): 198.20.200.2

  VM1 (blue, VXLAN 1001)                      -> rem's VXLAN device 198.19.1.2 (tunnel)
  VM2 (v100, VLAN 100 on phys1 = the uplink)  -> h100
  VM3 (flat1, flat on phys1)                  -> rem's eth0 itself (the untagged segment)
  VM4 (v200, VLAN 200 on phys2, its own device) -> h200
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

from tswfunc import (P, TOP, Ctl, Daemon, Guest, cleanup_dpdk_files, conf, interrupt, ping, sh,
                     start_retrying_fanout, stop_all, wait_reachable)

sys.path.insert(0, os.path.join(TOP, "tests", "replay"))
sys.path.insert(0, os.path.join(TOP, "tests", "openstack"))
from tsw import Skip, run_tests  # noqa: E402

REM_MAC = "02:00:00:00:00:02"
H100_MAC = "02:00:00:00:64:02"
H200_MAC = "02:00:00:00:c8:02"


class Guests(Guest):
    """Several VMs' virtio-nets in one testpmd: virtio-user i io-forwarding
    to an af_packet port on iface i (paired ports 2i, 2i+1), one forwarding
    core (0), never tunsw's worker core."""

    def __init__(self, d, pairs):
        self.prefix = P + "vm"
        self.server = False
        self.n_ports = 2 * len(pairs)
        self.log_path = os.path.join(d, "guest.log")
        vdevs = []
        for i, (sock, iface) in enumerate(pairs):
            vdevs += ["--vdev", "virtio_user%d,path=%s" % (i, sock),
                      "--vdev", "net_af_packet%d,iface=%s" % (i, iface)]
        self.cmd = (["dpdk-testpmd", "-l", "0-1", "--main-lcore", "1", "--no-pci",
                     "--single-file-segments", "--file-prefix", self.prefix, "-m", "256"] +
                    vdevs + ["--", "--stats-period", "10", "--forward-mode=io",
                             "--nb-cores=1", "--no-mlockall"])
        start_retrying_fanout(self._start)

    def _start(self):
        """As Guest's, and a device that failed to come up fails the start:
        with several vdevs testpmd goes on without it (its ports then pair
        wrongly); an af_packet port's PACKET_FANOUT collision with tunsw's
        is retried in a new process."""
        super()._start()
        with open(self.log_path) as f:
            log = f.read()
        if "failed to initialize" in log:
            interrupt(self.proc)
            raise AssertionError("guest testpmd: a device did not come up:\n" + "\n".join(
                line for line in log.splitlines() if "FANOUT" in line or "fail" in line))


def ns(name, *cmd):
    return sh("ip", "netns", "exec", name, *cmd)


def veth(root_end, n, mac, addr=None, mtu=1500):
    """Namespace n with eth0 (mac, addr) whose peer root_end stays in the
    root namespace with no address; offloads off on both."""
    sh("ip", "netns", "add", n)
    ns(n, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
    ns(n, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
    sh("ip", "link", "add", root_end, "type", "veth", "peer", "name", "eth0", "netns", n)
    sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % root_end)
    sh("ip", "link", "set", root_end, "mtu", "1500", "up")
    sh("ethtool", "-K", root_end, "tx", "off", "rx", "off")
    sh("ip", "-n", n, "link", "set", "eth0", "address", mac, "mtu", str(mtu), "up")
    ns(n, "ethtool", "-K", "eth0", "tx", "off", "rx", "off")
    sh("ip", "-n", n, "link", "set", "lo", "up")
    if addr:
        sh("ip", "-n", n, "addr", "add", addr, "dev", "eth0")


def root_veth(a, b):
    """A veth pair a <-> b, both in the root namespace, no address."""
    sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
    for x in (a, b):
        sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % x)
        sh("ip", "link", "set", x, "mtu", "1500", "up")
        sh("ethtool", "-K", x, "tx", "off", "rx", "off")


NAMESPACES = ("rem", "h100", "h200", "vm1", "vm2", "vm3", "vm4")
# b1, b2: the switch's bridges' internal ports (taps left by ovs-vswitchd)
LINKS = ("up", "s1", "p2", "s2", "r0", "h1", "h2", "v1", "v2", "v3", "v4", "b1", "b2")


def topology_up(ovs):
    topology_down()
    veth(P + "r0", P + "rem", REM_MAC, "198.18.0.2/24")
    ns(P + "rem", "ip", "link", "add", "tun0", "type", "vxlan", "id", "1001", "local",
       "198.18.0.2", "remote", "198.18.0.1", "dstport", "4789", "udp6zerocsumrx")
    sh("ip", "-n", P + "rem", "link", "set", "tun0", "address", "02:00:00:00:01:02", "mtu",
       "1450", "up")
    sh("ip", "-n", P + "rem", "addr", "add", "198.19.1.2/24", "dev", "tun0")
    veth(P + "h1", P + "h100", H100_MAC, "198.20.100.2/24")
    veth(P + "h2", P + "h200", H200_MAC, "198.20.200.2/24")
    veth(P + "v1", P + "vm1", "02:00:00:00:01:01", "198.19.1.1/24", mtu=1450)
    veth(P + "v2", P + "vm2", "02:00:00:00:02:01", "198.20.100.1/24")
    veth(P + "v3", P + "vm3", "02:00:00:00:03:01", "198.18.0.50/24")
    veth(P + "v4", P + "vm4", "02:00:00:00:04:01", "198.20.200.1/24")
    root_veth(P + "up", P + "s1")     # tunsw's uplink <-> the switch's trunk
    root_veth(P + "p2", P + "s2")     # tunsw's phys2 device <-> the other switch
    sh("ip", "link", "set", P + "up", "address", "02:00:00:00:00:01")
    for br, ports in ((P + "b1", ((P + "s1", ["tag=1", "vlan_mode=native-untagged",
                                              "trunks=1,100"]),
                                  (P + "r0", ["tag=1"]), (P + "h1", ["tag=100"]))),
                      (P + "b2", ((P + "s2", ["trunks=200"]), (P + "h2", ["tag=200"])))):
        ovs.vsctl("add-br", br, "--", "set", "bridge", br, "datapath_type=netdev")
        for port, opts in ports:
            ovs.vsctl("add-port", br, port, "--", "set", "port", port, *opts)


def topology_down():
    for n in NAMESPACES:
        subprocess.run(["ip", "netns", "del", P + n], capture_output=True)
    for v in LINKS:
        subprocess.run(["ip", "link", "del", P + v], capture_output=True)


def provider_conf(d):
    return conf(d, {
        "agent": {"l2_population": "false"},
        "remote 198.18.0.2": {"type": "vxlan"},
        "physnet phys1": {"device": "uplink"},
        "physnet phys2": {"device": "net_af_packet2,iface=" + P + "p2"},
        "uplink": {"gateway": None},
        "network blue": {"type": "vxlan", "segmentation_id": 1001},
        "network v100": {"type": "vlan", "physical_network": "phys1", "segmentation_id": 100},
        "network flat1": {"type": "flat", "physical_network": "phys1"},
        "network v200": {"type": "vlan", "physical_network": "phys2", "segmentation_id": 200},
        "port vm1": {"devargs": "net_vhost1,iface={d}/vm1.sock", "network": "blue"},
        "port vm2": {"devargs": "net_vhost2,iface={d}/vm2.sock", "network": "v100"},
        "port vm3": {"devargs": "net_vhost3,iface={d}/vm3.sock", "network": "flat1"},
        "port vm4": {"devargs": "net_vhost4,iface={d}/vm4.sock", "network": "v200"},
    })


def test_R_V1_R_V4_vlan_flat_and_tunnel_on_one_uplink_and_a_second_physnet():
    if shutil.which("ovs-vswitchd") is None:
        raise Skip("no Open vSwitch (openvswitch-switch) for the physical switch")
    from test_ovs_firewall import OVS
    d = tempfile.mkdtemp(prefix="tswfunc")
    ovs = None
    try:
        ovs = OVS(d)
        topology_up(ovs)
        run_provider(d, ovs)
    finally:
        stop_all()
        if ovs is not None:
            ovs.stop()
        topology_down()
        cleanup_dpdk_files()
        shutil.rmtree(d, ignore_errors=True)


def run_provider(d, ovs):
    sw = guests = None
    try:
        sw = Daemon(d, provider_conf(d))
        guests = Guests(d, [(os.path.join(d, "vm%d.sock" % i), "%sv%d" % (P, i))
                            for i in (1, 2, 3, 4)])
        paths = [("vm1", "198.19.1.2", "tunnel"), ("vm2", "198.20.100.2", "VLAN 100 on the uplink"),
                 ("vm3", "198.18.0.2", "flat on the uplink"),
                 ("vm4", "198.20.200.2", "VLAN 200 on phys2")]
        ctl0 = Ctl(os.path.join(d, "ctl.sock"))
        # a physical network's own device is captured like a port (16 frames)
        ctl0.ok("capture_start", port="phys2", file="phys2.pcapng", count=16)
        rep = ctl0.call("capture_start", port="phys1", file="p1.pcapng")
        assert rep["ok"] is False and "capture 'uplink'" in rep["error"], rep
        ctl0.close()
        for vm, dst, what in paths:
            try:
                wait_reachable(P + vm, dst, timeout=60)
            except AssertionError as e:
                ctl = Ctl(os.path.join(d, "ctl.sock"))
                diag = (ctl.ok("show_counters"), ctl.ok("show_fdb"))
                with open(os.path.join(d, "guest.log")) as f:
                    glog = f.read()
                glog = glog[:2500] + "\n...\n" + glog[-1500:]
                raise AssertionError("%s (%s)\n--- tunsw:\n%s\n--- guests:\n%s\n--- state: %r"
                                     "\n--- switch:\n%s" % (e, what, sw.text()[-2000:], glog,
                                                            diag, ovs.log())) from None
            assert ping(P + vm, dst, count=5) == 5, what
        # the other way: the physical hosts reach the VMs
        assert ping(P + "h100", "198.20.100.1", count=3) == 3, "h100 -> VM2"
        assert ping(P + "rem", "198.18.0.50", count=3) == 3, "rem -> VM3 (flat)"
        assert ping(P + "h200", "198.20.200.1", count=3) == 3, "h200 -> VM4"
        ctl = Ctl(os.path.join(d, "ctl.sock"))
        fdb = {(e["network"], e["mac"]): e for e in ctl.ok("show_fdb")}
        # R-V3: the physical hosts learned against their physical network
        assert fdb[("v100", H100_MAC)].get("physical_network") == "phys1", fdb
        assert fdb[("flat1", REM_MAC)].get("physical_network") == "phys1", fdb
        assert fdb[("v200", H200_MAC)].get("physical_network") == "phys2", fdb
        assert ("v100", REM_MAC) not in fdb and ("flat1", H100_MAC) not in fdb, "R-V2"
        assert ("v200", H100_MAC) not in fdb and ("v100", H200_MAC) not in fdb, "R-V4"
        c = ctl.ok("show_counters")
        for net in ("v100", "flat1", "v200"):
            assert c["networks"][net]["from_phys_pkts"] >= 5, (net, c["networks"][net])
        assert c["ports"]["phys2"]["rx_pkts"] >= 5 and c["ports"]["phys2"]["tx_pkts"] >= 5, \
            c["ports"]["phys2"]
        end = time.time() + 30
        while time.time() < end:
            cap = {c["port"]: c for c in ctl.ok("show_captures")}["phys2"]
            if not cap["running"]:
                break
            time.sleep(0.2)
        assert cap["written"] == 16 and cap["lost"] == 0, cap
        from tsw import pcapng_blocks
        ifaces, frames = pcapng_blocks(os.path.join(d, "capture", "phys2.pcapng"))
        assert [i["name"] for i in ifaces] == ["phys2"], ifaces
        tags = {(b[12:14], int.from_bytes(b[14:16], "big") & 0xfff) for _, _, b, _ in frames}
        assert tags == {(b"\x81\x00", 200)}, tags        # VLAN 200 both ways, on the wire
        info = ctl.ok("show_info")
        assert info["bridge_mappings"] == "phys1:uplink,phys2:net_af_packet2", info
        nets = {n["name"]: n for n in ctl.ok("show_networks")}
        assert (nets["v100"]["type"], nets["v100"]["segmentation_id"],
                nets["v100"]["physical_network"]) == ("vlan", 100, "phys1"), nets["v100"]
        assert nets["flat1"]["type"] == "flat" and "segmentation_id" not in nets["flat1"]
        ctl.close()
    finally:
        if guests is not None:
            guests.stop()
        rc = sw.stop() if sw is not None else 0
    assert rc == 0, sw.text()[-2000:]


if __name__ == "__main__":
    run_tests(globals())
