"""End-to-end tests against peers no one here wrote: Linux kernel VXLAN
(and gretap, where the kernel has it) in network namespaces, vhost-user
VMs, and a second tunsw. tunsw resolves every underlay MAC itself by ARP
(no [neighbor] entries, no static ARP entries on the peers) and answers ARP
and ping for its local_ip. Needs root and hugepages."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from tswfunc import (P, TOP, TOPO, Ctl, Daemon, Guest, cleanup_dpdk_files, conf, interrupt,
                     ping, sh, wait_reachable, with_topology)

sys.path.insert(0, os.path.join(TOP, "tests", "replay"))
from tsw import Skip  # noqa: E402

SNIFF_VNI = r"""
import sys
from scapy.all import sniff, IP, UDP, VXLAN, GRE, ICMP
def tunnelled(p):
    return IP in p and p[IP].src == "198.18.0.1" and ((UDP in p and p[UDP].dport == 4789) or GRE in p)
got = sniff(iface="eth0", timeout=float(sys.argv[1]), lfilter=tunnelled, count=5,
            started_callback=lambda: print("ready", flush=True))
for p in got:
    if VXLAN in p:
        print("VXLAN", p[VXLAN].vni, p[IP].flags, p[IP].ttl)
    else:
        print("GRE", p[GRE].key, p[GRE].proto)
"""

# Raw-socket listener (fast to start, no scapy; all frames, so that it also
# works on a bridge port): LISTEN IFACE SECONDS MARKER... prints the markers it
# saw in frames; LISTEN IFACE SECONDS --gre prints the GRE flows it saw
# ("src>dst key=K proto=P", ';'-separated).
LISTEN = r"""
import socket, struct, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
s.settimeout(0.2)
print("ready", flush=True)
end, seen, gre = time.time() + float(sys.argv[2]), set(), sys.argv[3] == "--gre"
while time.time() < end:
    try:
        d = s.recv(65535)
    except socket.timeout:
        continue
    if not gre:
        seen.update(m for m in sys.argv[3:] if m.encode() in d)
        continue
    if d[12:14] != b"\x08\x00":
        continue
    ihl = (d[14] & 15) * 4
    if d[23] == 47 and d[14 + ihl] & 0x20:          # GRE with the K bit
        flags, proto, key = struct.unpack("!HHI", d[14 + ihl:14 + ihl + 8])
        seen.add("%s>%s key=%d proto=%#x" % (socket.inet_ntoa(d[26:30]),
                                             socket.inet_ntoa(d[30:34]), key, proto))
print((";" if gre else " ").join(sorted(seen)) or "-", flush=True)
"""

SEND = r"""
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
src = s.getsockname()[4]
frame = b"\xff" * 6 + src + b"\x88\xb5" + sys.argv[2].encode().ljust(46, b".")
for _ in range(3):
    s.send(frame)
"""


def ns(name, *cmd, **kw):
    return sh("ip", "netns", "exec", name, *cmd, **kw)


def vm_conf(d, tun_type, client=False):
    return conf(d, {"agent": {"l2_population": "false"}, "tunnel": {"types": tun_type},
                    "remote 198.18.0.2": {"type": tun_type},
                    "network blue": {"type": tun_type, "segmentation_id": 1001},
                    "port vm1": {"devargs": "net_vhost0,iface={d}/vm1.sock" +
                                 (",client=1" if client else ""), "network": "blue"}})


def vm_to_kernel_host(d, tun_type):
    """A vhost-user VM on tunsw pings and runs iperf3 to a kernel host."""
    sw = Daemon(d, vm_conf(d, tun_type))
    vm = Guest(d, os.path.join(d, "vm1.sock"), P + "v1")
    iperf = None
    try:
        sniffer = subprocess.Popen(["ip", "netns", "exec", P + "rem", "/usr/bin/python3", "-c",
                                    SNIFF_VNI, "60"], stdout=subprocess.PIPE, text=True)
        assert sniffer.stdout.readline().strip() == "ready"
        try:
            wait_reachable(P + "vm1", "198.19.1.2")
        except AssertionError as e:
            with open(os.path.join(d, "guest.log")) as f:
                vmlog = f.read()[-1500:]
            ctl = Ctl(os.path.join(d, "ctl.sock"))
            diag = (ctl.ok("show_counters"), ctl.ok("show_neighbors"), ctl.ok("show_fdb"))
            raise AssertionError("%s\n--- tunsw:\n%s\n--- guest:\n%s\n--- state: %r" %
                                 (e, sw.text()[-1500:], vmlog, diag)) from None
        assert ping(P + "vm1", "198.19.1.2", count=5) == 5, "VM -> remote overlay"
        out, _ = sniffer.communicate(timeout=90)
        if tun_type == "vxlan":
            assert out.count("VXLAN 1001 DF 64") == 5, out
        else:
            assert out.count("GRE 1001 25944") == 5, out
        assert ping(P + "rem", "198.19.1.1", count=3) >= 2, "remote -> VM"
        # tunsw answered ARP for its local_ip and resolved the remote by ARP
        neigh = ns(P + "rem", "ip", "neigh", "show", "198.18.0.1").stdout
        assert "lladdr 02:00:00:00:00:01" in neigh, neigh
        ctl = Ctl(os.path.join(d, "ctl.sock"))
        nb = {n["ip"]: n for n in ctl.ok("show_neighbors")}
        assert nb["198.18.0.2"]["mac"] == "02:00:00:00:00:02", nb
        assert nb["198.18.0.2"]["state"] == "reachable", nb
        # ping to tunsw's own address
        assert ping(P + "rem", "198.18.0.1", count=3) >= 3, "ping local_ip"
        assert ctl.ok("show_counters")["underlay"]["icmp_echo_replies"] >= 3
        ctl.close()
        # iperf3: TCP through the tunnel, VM MTU 1450 (VXLAN) / 1458 (GRE)
        iperf = subprocess.Popen(["ip", "netns", "exec", P + "rem", "iperf3", "-s", "-1"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        r = subprocess.run(["ip", "netns", "exec", P + "vm1", "iperf3", "-c", "198.19.1.2",
                            "-t", "3", "-J"], capture_output=True, text=True, timeout=60)
        res = json.loads(r.stdout)
        assert "error" not in res, res.get("error")
        bps = res["end"]["sum_received"]["bits_per_second"]
        assert bps > 1e6, "iperf3 %.0f bit/s" % bps
        print("iperf3 VM -> %s host: %.1f Mbit/s" % (tun_type, bps / 1e6))
    finally:
        if iperf is not None and iperf.poll() is None:
            iperf.kill()
        vm.stop()
        rc = sw.stop()
    assert rc == 0, sw.text()[-2000:]
    c = sw.text()
    assert not re.search(r"^\s+(no_neighbor|no_route|too_big)\s+[1-9]", c, re.M), c[-2000:]


@with_topology
def test_vxlan_vm_to_kernel_host_ping_iperf3_arp_by_tunsw(d):
    vm_to_kernel_host(d, "vxlan")


def test_gre_vm_to_kernel_gretap_host():
    """The same against a Linux gretap device with key = segmentation id."""
    probe = subprocess.run(["ip", "link", "add", P + "gtp", "type", "gretap", "remote",
                            "198.18.0.9", "key", "5"], capture_output=True, text=True)
    if probe.returncode != 0:
        raise Skip("this kernel has no gretap (ip_gre) support: %s" % probe.stderr.strip())
    sh("ip", "link", "del", P + "gtp")
    sh(TOPO, "up", P, "gre")
    d = tempfile.mkdtemp(prefix="tswfunc")
    try:
        vm_to_kernel_host(d, "gre")
    finally:
        sh(TOPO, "down", P)
        cleanup_dpdk_files()
        shutil.rmtree(d, ignore_errors=True)


# ---- three hosts: two tunsw, one kernel VXLAN host ------------------------

HOSTS = {"A": ("198.18.0.1", "02:00:00:00:0a:01"), "B": ("198.18.0.2", "02:00:00:00:0b:01")}
KERNEL_C = "198.18.0.3"
NETS = {"blue": 1001, "red": 1002}


def three_hosts_up(p):
    down = three_hosts_down(p)
    sh("ip", "netns", "add", p + "ul")                 # the underlay L2 segment
    ns(p + "ul", "ip", "link", "add", "br0", "type", "bridge")
    ns(p + "ul", "ip", "link", "set", "br0", "up")
    for h in ("A", "B"):
        up = p + h + "up"
        sh("ip", "link", "add", up, "type", "veth", "peer", "name", h, "netns", p + "ul")
        sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % up)
        sh("ip", "link", "set", up, "address", HOSTS[h][1], "up")
        sh("ethtool", "-K", up, "tx", "off", "rx", "off")
        ns(p + "ul", "ip", "link", "set", h, "master", "br0", "up")
        for net in NETS:                               # VM namespaces, overlapping IPs
            vm, v = p + h + net[0], p + h + net[0] + "1"
            sh("ip", "netns", "add", vm)
            ns(vm, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
            sh("ip", "link", "add", v, "type", "veth", "peer", "name", "eth0", "netns", vm)
            sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % v)
            sh("ip", "link", "set", v, "up")
            sh("ethtool", "-K", v, "tx", "off", "rx", "off")
            ns(vm, "ip", "link", "set", "eth0", "mtu", "1450", "up")
            ns(vm, "ethtool", "-K", "eth0", "tx", "off", "rx", "off")
            ns(vm, "ip", "addr", "add", "10.9.0.%d/24" % (1 if h == "A" else 2), "dev", "eth0")
    c = p + "C"
    sh("ip", "netns", "add", c)
    sh("ip", "netns", "add", c + "r")
    for n in (c, c + "r"):
        ns(n, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
    ns(p + "ul", "ip", "link", "add", "C", "type", "veth", "peer", "name", "eth0", "netns", c)
    ns(p + "ul", "ip", "link", "set", "C", "master", "br0", "up")
    ns(c, "ip", "link", "set", "eth0", "up")
    # real checksums on the wire: af_packet sees what a NIC would
    ns(c, "ethtool", "-K", "eth0", "tx", "off", "rx", "off")
    for port in ("A", "B", "C"):
        ns(p + "ul", "ethtool", "-K", port, "tx", "off", "rx", "off")
    ns(c, "ip", "addr", "add", KERNEL_C + "/24", "dev", "eth0")
    for net, vni in NETS.items():
        dev = "vx" + net[0]
        ns(c, "ip", "link", "add", dev, "type", "vxlan", "id", str(vni), "local", KERNEL_C,
           "dstport", "4789")
        for peer in ("198.18.0.1", "198.18.0.2"):
            ns(c, "bridge", "fdb", "append", "00:00:00:00:00:00", "dev", dev, "dst", peer)
        if net == "red":                               # same IP, other namespace
            ns(c, "ip", "link", "set", dev, "netns", c + "r")
        where = c if net == "blue" else c + "r"
        ns(where, "ip", "link", "set", dev, "mtu", "1450", "up")
        ns(where, "ip", "addr", "add", "10.9.0.3/24", "dev", dev)
    return down


def three_hosts_down(p):
    for n in [p + "ul", p + "C", p + "Cr"] + [p + h + net[0] for h in "AB" for net in NETS]:
        subprocess.run(["ip", "netns", "del", n], capture_output=True)
    for h in "AB":
        subprocess.run(["ip", "link", "del", p + h + "up"], capture_output=True)
        for net in NETS:
            subprocess.run(["ip", "link", "del", p + h + net[0] + "1"], capture_output=True)
    return None


def three_hosts_teardown(d, daemons):
    """Stop the hosts' daemons, remove the topology and the test's files."""
    for sw in daemons:
        interrupt(sw.proc)
    three_hosts_down(P)
    cleanup_dpdk_files()
    shutil.rmtree(d, ignore_errors=True)


def host_conf(d, h, l2pop, gre_red=False):
    """Host h's config; gre_red: network red is GRE (key 1002) instead."""
    local, mac = HOSTS[h]
    other = HOSTS["B" if h == "A" else "A"][0]
    part = {"agent": {"l2_population": l2pop},
            "tunnel": {"local_ip": local, "types": "vxlan, gre"},
            "uplink": {"devargs": "net_af_packet0,iface=" + P + h + "up", "mac": mac},
            "remote " + other: {"type": "vxlan, gre" if gre_red else "vxlan"},
            "remote " + KERNEL_C: {"type": "vxlan"}}
    for i, (net, vni) in enumerate(NETS.items()):
        part["network " + net] = {"type": "gre" if gre_red and net == "red" else "vxlan",
                                  "segmentation_id": vni}
        part["port %s-vm" % net] = {"devargs": "net_af_packet%d,iface=%s" % (
            i + 1, P + h + net[0] + "1"), "network": net}
    return conf(d, part)


def start_host(d, h, l2pop, gre_red=False):
    """tunsw for host h."""
    return Daemon(os.path.join(d, h), host_conf(os.path.join(d, h), h, l2pop, gre_red),
                  prefix=P + h)


def broadcast_reach(sender_ns, marker, listeners):
    """Send a broadcast frame with marker from sender_ns; return the set of
    listener names (name -> (netns, iface)) that saw it."""
    procs = {}
    for name, (n, iface) in listeners.items():
        procs[name] = subprocess.Popen(["ip", "netns", "exec", n, "/usr/bin/python3", "-c",
                                        LISTEN, iface, "4", marker],
                                       stdout=subprocess.PIPE, text=True)
    for pr in procs.values():
        assert pr.stdout.readline().strip() == "ready"
    ns(sender_ns, "/usr/bin/python3", "-c", SEND, "eth0", marker)
    return {name for name, pr in procs.items() if pr.communicate(timeout=30)[0].strip() == marker}


def test_three_hosts_two_networks_overlapping_ips():
    """Two tunsw hosts and a kernel VXLAN host, networks blue and red with
    the same VM addresses: broadcast reaches exactly its own network's
    hosts, unicast is learned, nothing crosses networks; with l2population
    the flood set alone decides where BUM goes."""
    d = tempfile.mkdtemp(prefix="tswfunc")
    three_hosts_up(P)
    daemons = []
    try:
        for h in "AB":
            os.makedirs(os.path.join(d, h))
            daemons.append(start_host(d, h, "false"))
        everyone = {"A-blue": (P + "Ab", "eth0"), "A-red": (P + "Ar", "eth0"),
                    "B-blue": (P + "Bb", "eth0"), "B-red": (P + "Br", "eth0"),
                    "C-blue": (P + "C", "vxb"), "C-red": (P + "Cr", "vxr")}

        def others(sender):
            return {k: v for k, v in everyone.items() if k != sender}
        time.sleep(1)
        got = broadcast_reach(P + "Ab", "BCAST-BLUE-1", others("A-blue"))
        assert got == {"B-blue", "C-blue"}, "blue broadcast reached %s" % sorted(got)
        got = broadcast_reach(P + "Ar", "BCAST-RED-1", others("A-red"))
        assert got == {"B-red", "C-red"}, "red broadcast reached %s" % sorted(got)
        # unicast, same addresses in both networks
        for vm in ("Ab", "Ar"):
            assert ping(P + vm, "10.9.0.2", count=3) >= 2, vm + " -> B"
            assert ping(P + vm, "10.9.0.3", count=3) >= 2, vm + " -> C"
        mac = {vm: ns(P + vm, "cat", "/sys/class/net/eth0/address").stdout.strip()
               for vm in ("Bb", "Br")}
        ctl = Ctl(os.path.join(d, "A", "ctl.sock"))
        fdb = {(e["network"], e["mac"]): e for e in ctl.ok("show_fdb")}
        ctl.close()
        for net, vm in (("blue", "Bb"), ("red", "Br")):
            e = fdb[(net, mac[vm])]
            assert (e["kind"], e["tunnel"]["remote"]) == ("tunnel", "198.18.0.2"), e
        assert ("red", mac["Bb"]) not in fdb and ("blue", mac["Br"]) not in fdb, fdb
        # l2population: A floods blue only to B and red only to C
        interrupt(daemons[0].proc)
        daemons[0] = start_host(d, "A", "true")
        ctl = Ctl(os.path.join(d, "A", "ctl.sock"))
        flood = ["00:00:00:00:00:00", "0.0.0.0"]
        ctl.ok("add_fdb_entries", fdb_entries={
            "blue": {"segment_id": 1001, "network_type": "vxlan", "ports": {"198.18.0.2": [flood]}},
            "red": {"segment_id": 1002, "network_type": "vxlan", "ports": {KERNEL_C: [flood]}}})
        ctl.close()
        got = broadcast_reach(P + "Ab", "BCAST-BLUE-2", others("A-blue"))
        assert got == {"B-blue"}, "blue with flood set {B} reached %s" % sorted(got)
        got = broadcast_reach(P + "Ar", "BCAST-RED-2", others("A-red"))
        assert got == {"C-red"}, "red with flood set {C} reached %s" % sorted(got)
    finally:
        three_hosts_teardown(d, daemons)


def test_gre_between_two_tunsw_hosts():
    """GRE end to end between two tunsw instances (kernel gretap may be
    missing here; this one always runs): VMs of a GRE network reach each
    other, the wire carries GRE with key = segmentation id both ways, and
    each tunsw resolved the other's MAC by ARP."""
    d = tempfile.mkdtemp(prefix="tswfunc")
    three_hosts_up(P)
    daemons = []
    try:
        for h in "AB":
            os.makedirs(os.path.join(d, h))
            daemons.append(start_host(d, h, "false", gre_red=True))
        sniff = subprocess.Popen(["ip", "netns", "exec", P + "ul", "/usr/bin/python3", "-c",
                                  LISTEN, "A", "15", "--gre"], stdout=subprocess.PIPE, text=True)
        assert sniff.stdout.readline().strip() == "ready"
        wait_reachable(P + "Ar", "10.9.0.2")
        assert ping(P + "Ar", "10.9.0.2", count=5) == 5, "red (GRE) A -> B"
        assert ping(P + "Br", "10.9.0.1", count=3) == 3, "red (GRE) B -> A"
        keys = set(sniff.communicate(timeout=30)[0].strip().split(";"))
        assert {"198.18.0.1>198.18.0.2 key=1002 proto=0x6558",
                "198.18.0.2>198.18.0.1 key=1002 proto=0x6558"} <= keys, keys
        ctl = Ctl(os.path.join(d, "A", "ctl.sock"))
        t = ctl.ok("show_counters")["tunnels"]["gre/198.18.0.2"]
        nb = {n["ip"]: n["mac"] for n in ctl.ok("show_neighbors")}
        ctl.close()
        assert t["tx_pkts"] >= 8 and t["rx_pkts"] >= 8, t
        assert nb["198.18.0.2"] == HOSTS["B"][1], nb
    finally:
        three_hosts_teardown(d, daemons)


@with_topology
def test_vm_restart_server_mode(d):
    """tunsw as vhost-user server: the guest's virtio-user is killed and
    started again; traffic resumes without restarting tunsw. (Client mode:
    test_daemon.py.)"""
    sw = Daemon(d, vm_conf(d, "vxlan"))
    vm = Guest(d, os.path.join(d, "vm1.sock"), P + "v1")
    try:
        wait_reachable(P + "vm1", "198.19.1.2")
        assert ping(P + "vm1", "198.19.1.2", count=3) == 3, "before restart"
        vm.proc.kill()
        vm.proc.wait()
        time.sleep(1)
        vm = Guest(d, os.path.join(d, "vm1.sock"), P + "v1")
        wait_reachable(P + "vm1", "198.19.1.2")
        assert ping(P + "vm1", "198.19.1.2", count=3) == 3, "after the guest came back"
    finally:
        vm.stop()
        rc = sw.stop()
    assert rc == 0, sw.text()[-2000:]


if __name__ == "__main__":
    from tsw import run_tests
    run_tests(globals())
