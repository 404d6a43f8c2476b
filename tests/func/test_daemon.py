"""Functional tests of the tunsw daemon with real parts: a vhost-user VM
port driven by testpmd's virtio-user (bridged to a VM namespace through
af_packet), an af_packet uplink to a namespace with a Linux kernel VXLAN
device as the remote host. Needs root and hugepages (virtio-user memory
must be shareable)."""
import os
import re
import subprocess
import sys
import tempfile
import time

from tswfunc import (P, TOP, TUNSW, Daemon, Guest, cleanup_dpdk_files, conf, counters, interrupt, ping,
                     wait_reachable, with_topology)

def config(d, client=False, *parts):
    """One VM port (vhost-user, server mode unless client) in network blue,
    the kernel VXLAN host behind 198.18.0.2; then parts (tswfunc.conf)."""
    return conf(d, {"neighbor 198.18.0.2": {"mac": "02:00:00:00:00:02"},
                    "remote 198.18.0.2": {"type": "vxlan"},
                    "network blue": {"type": "vxlan", "segmentation_id": 1001},
                    "port vm1": {"devargs": "net_vhost0,iface={d}/vm1.sock" +
                                 (",client=1" if client else ""), "network": "blue"}}, *parts)


SNIFF = r"""
import sys
from scapy.all import sniff, IP, UDP, VXLAN, Ether, ICMP
got = sniff(iface="eth0", timeout=float(sys.argv[1]),
            lfilter=lambda p: UDP in p and p[UDP].dport == 4789 and IP in p and
                              p[IP].src == "198.18.0.1" and ICMP in p[VXLAN].payload,
            count=1, started_callback=lambda: print("ready", flush=True))
for p in got:
    print("VXLAN", p[IP].src, p[IP].dst, p[VXLAN].vni, p[VXLAN].payload[Ether].src, p[IP].flags, p[IP].ttl)
"""


def VM(d, server=False, queues=1, extra=()):
    """The guest of port vm1."""
    return Guest(d, os.path.join(d, "vm1.sock"), P + "v1", server=server, queues=queues,
                 extra=extra)


@with_topology
def test_R_F3_R_T2_vm_to_kernel_vxlan_both_ways(d):
    """A VM behind vhost-user pings a kernel VXLAN host: the echo request is
    encapsulated (VNI 1001, from local_ip, DF, TTL 64) and the reply is
    decapsulated back to the VM."""
    sw = Daemon(d, config(d))
    vm = VM(d)
    try:
        sniffer = subprocess.Popen(["ip", "netns", "exec", P + "rem", "/usr/bin/python3", "-c",
                                    SNIFF, "40"], stdout=subprocess.PIPE, text=True)
        assert sniffer.stdout.readline().strip() == "ready", "sniffer did not start"
        wait_reachable(P + "vm1", "198.19.1.2")
        got = ping(P + "vm1", "198.19.1.2")
        assert got >= 4, "ping VM -> remote: %d of 5 replies" % got
        out, _ = sniffer.communicate(timeout=60)
        assert "VXLAN 198.18.0.1 198.18.0.2 1001 02:00:00:00:01:01 DF 64" in out, out
        got = ping(P + "rem", "198.19.1.1", count=3)
        assert got >= 2, "ping remote -> VM: %d of 3" % got
    finally:
        vm.stop()
        rc = sw.stop()
    text = sw.text()
    assert rc == 0, "tunsw exit %s" % rc
    vm1 = counters(text, "vm1")
    tun = re.search(r"^vxlan/198\.18\.0\.2\s+(\d+)\s+(\d+)\s+(\d+)", text, re.M)
    assert vm1[0] >= 8 and vm1[2] >= 8, "vm1 rx/tx %s" % vm1
    assert tun and int(tun.group(1)) >= 8 and int(tun.group(2)) >= 8, text
    assert not os.path.exists(os.path.join(d, "vm1.sock")), "vhost socket left behind"


@with_topology
def test_vhost_client_mode_and_vm_restart(d):
    """tunsw as vhost-user client (QEMU-style server socket in the VM);
    the VM side is restarted and traffic resumes without restarting tunsw."""
    vm = VM(d, server=True)
    time.sleep(2)
    sw = Daemon(d, config(d, client=True))
    try:
        wait_reachable(P + "vm1", "198.19.1.2")
        assert ping(P + "vm1", "198.19.1.2", count=3) >= 2, "before restart"
        vm.stop()
        time.sleep(1)
        vm = VM(d, server=True)
        wait_reachable(P + "vm1", "198.19.1.2")
        assert ping(P + "vm1", "198.19.1.2", count=3) >= 2, "after VM restart"
    finally:
        vm.stop()
        rc = sw.stop()
    assert rc == 0, sw.text()


@with_topology
def test_two_workers_share_the_queues(d):
    """[dataplane] workers = 2 (three lcores on two CPUs via --lcores): the
    uplink and the VM port each have two queue pairs, one per worker, and
    traffic crosses both ways."""
    conf = (config(d).replace("iface=%sup" % P, "iface=%sup,qpairs=2" % P)
            .replace("net_vhost0,iface=%s/vm1.sock" % d, "net_af_packet1,iface=%sv1,qpairs=2" % P)
            .replace("[dataplane]", "[dataplane]\nworkers = 2"))
    sw = Daemon(d, conf, lcores=("--lcores", "0@0,1@1,2@1"))
    try:
        time.sleep(1)
        assert ping(P + "vm1", "198.19.1.2", count=5) >= 4, "VM -> remote"
        assert ping(P + "rem", "198.19.1.1", count=5) >= 4, "remote -> VM"
        from tswfunc import Ctl
        ctl = Ctl(os.path.join(d, "ctl.sock"))
        workers = ctl.ok("show_workers")
        ctl.close()
        assert [(w["lcore"], w["rx_queues"]) for w in workers] == [(1, 2), (2, 2)], workers
    finally:
        rc = sw.stop()
    assert rc == 0, sw.text()[-2000:]


UDP_SEND = r"""
import socket, sys, time
n = 0
for rnd in range(int(sys.argv[2])):
    for port in range(40000, 40032):          # 32 flows: both uplink queues
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", port))
        s.sendto(b"x" * 64, (sys.argv[1], 5001))
        s.close()
        n += 1
    time.sleep(0.02)
print(n)
"""

UDP_COUNT = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5001))
s.settimeout(float(sys.argv[1]))
print("ready", flush=True)
n = 0
try:
    while True:
        s.recv(2048)
        n += 1
except socket.timeout:
    pass
print(n)
"""


def udp_flows(src, dst, dst_ip):
    """UDP_SEND's 640 datagrams (32 flows) from namespace P+src to dst_ip,
    counted in namespace P+dst: (sent, received)."""
    counter = subprocess.Popen(["ip", "netns", "exec", P + dst, "/usr/bin/python3", "-c",
                                UDP_COUNT, "3"], stdout=subprocess.PIPE, text=True)
    assert counter.stdout.readline().strip() == "ready"
    sent = int(subprocess.run(["ip", "netns", "exec", P + src, "/usr/bin/python3", "-c",
                               UDP_SEND, dst_ip, "20"], capture_output=True, text=True,
                              timeout=60).stdout)
    return sent, int(counter.communicate(timeout=30)[0])


@with_topology
def test_one_queue_guest_on_two_workers_loses_nothing(d):
    """Two workers, a vhost-user port offering two queue pairs and a guest
    that enables one (as most guests do): frames for the guest arrive on
    both uplink queues, so both workers transmit to it, and the second
    worker must share the guest's one queue (before: it sent on the queue
    the guest never enabled and lost every frame, tx_full)."""
    from tswfunc import Ctl
    conf = (config(d).replace("iface=%sup" % P, "iface=%sup,qpairs=2" % P)
            .replace("vm1.sock", "vm1.sock,queues=2")
            .replace("[dataplane]", "[dataplane]\nworkers = 2"))
    sw = Daemon(d, conf, lcores=("--lcores", "0@0,1@1,2@1"))
    vm = VM(d)
    try:
        wait_reachable(P + "vm1", "198.19.1.2")
        assert ping(P + "rem", "198.19.1.1", count=3) >= 2, "remote -> VM"
        sent, got = udp_flows("rem", "vm1", "198.19.1.1")
        ctl = Ctl(os.path.join(d, "ctl.sock"))
        c = ctl.ok("show_counters")
        workers = ctl.ok("show_workers")
        ctl.close()
        assert all(w["pkts"] > 0 for w in workers), "both workers carried frames: %s" % workers
        assert c["drops"]["tx_full"] == 0, c["drops"]
        assert got == sent == 640, "the guest got %d of %d" % (got, sent)
    finally:
        vm.stop()
        rc = sw.stop()
    assert rc == 0, sw.text()[-2000:]


@with_topology
def test_multiqueue_guest_sends_on_every_queue_one_worker(d):
    """#22, found with Nova's multiqueue flavors: a guest that enables two
    queue pairs sends on both (its kernel spreads flows over them); with one
    worker the daemon polled one RX queue per worker, and every frame the
    guest sent on its second queue was lost, uncounted. Every RX queue of a
    vhost-user port is polled now, spread over the workers: 32 UDP flows
    from the guest, 640 datagrams, all arrive."""
    from tswfunc import Ctl
    conf = config(d).replace("vm1.sock", "vm1.sock,queues=2")
    sw = Daemon(d, conf)
    vm = VM(d, queues=2)
    try:
        wait_reachable(P + "vm1", "198.19.1.2")
        sent, got = udp_flows("vm1", "rem", "198.19.1.2")
        ctl = Ctl(os.path.join(d, "ctl.sock"))
        ports = {p["name"]: p for p in ctl.ok("show_ports")}
        workers = ctl.ok("show_workers")
        ctl.close()
        assert got == sent == 640, "the remote got %d of %d; ports %s, workers %s" % (
            got, sent, ports, workers)
    finally:
        vm.stop()
        rc = sw.stop()
    assert rc == 0, sw.text()[-2000:]


def guest_queue_counts(vm, queues):
    """The guest's last per-queue counts of its virtio port (testpmd's
    periodic xstats): {"rx": [...], "tx": [...]} (rx: what tunsw sent it on
    each queue; tx: what it sent tunsw)."""
    text = open(vm.log_path).read()
    got = {}
    for m in re.finditer(r"(rx|tx)_q(\d+)_good_packets\s+(\d+)", text):
        got[(m.group(1), int(m.group(2)))] = int(m.group(3))   # the last print wins
    return {d: [got.get((d, q), 0) for q in range(queues)] for d in ("rx", "tx")}


@with_topology
def test_four_queue_guest_every_queue_both_ways_one_worker(d):
    """#22: a guest with four queue pairs (Nova's multiqueue) on one worker:
    32 UDP flows each way. Towards the guest, tunsw spreads the frames over
    every queue the guest enabled, by flow (before: all on the worker's one
    queue); from the guest, every queue it sends on is read. All 640 arrive
    each way, and every queue carried frames in both directions (the
    guest's own per-queue counters)."""
    from tswfunc import Ctl
    conf = config(d).replace("vm1.sock", "vm1.sock,queues=4")
    sw = Daemon(d, conf)
    names = ",".join("%s_q%d_good_packets" % (x, q) for x in ("rx", "tx") for q in range(4))
    vm = VM(d, queues=4, extra=["--display-xstats=" + names, "--stats-period=1"])
    try:
        wait_reachable(P + "vm1", "198.19.1.2")
        sent_in, got_in = udp_flows("rem", "vm1", "198.19.1.1")
        sent_out, got_out = udp_flows("vm1", "rem", "198.19.1.2")
        ctl = Ctl(os.path.join(d, "ctl.sock"))
        port = ctl.ok("show_ports")[0]
        ctl.close()
        end = time.time() + 10
        while time.time() < end:     # the guest prints its counters once a second
            qc = guest_queue_counts(vm, 4)
            if all(qc["rx"]) and all(qc["tx"]):
                break
            time.sleep(0.5)
        assert got_in == sent_in == 640 and got_out == sent_out == 640, (
            "to the VM %d/%d, from it %d/%d; port %s" % (got_in, sent_in, got_out, sent_out,
                                                         port))
        assert port["tx_queues"] == [0, 1, 2, 3] and port["rx_queues"] == [0, 1, 2, 3], port
        assert all(qc["rx"]) and all(qc["tx"]), "per queue: %s\n%s" % (
            qc, open(vm.log_path).read()[-1500:])
        print("per guest queue: to it %s, from it %s" % (qc["rx"], qc["tx"]))
    finally:
        vm.stop()
        rc = sw.stop()
    assert rc == 0, sw.text()[-2000:]


@with_topology
def test_guest_with_more_queues_than_offered_is_reported(d):
    """#22: DPDK 22.11's vhost library offers a guest 128 queue pairs
    whatever the port's queues= says, and what a guest sends on a pair the
    port does not poll is never read. tunsw cannot refuse the pair, but it
    says so: a warning naming the port and the pair, and show_ports'
    unserved_queue_pairs (a 2-queue guest on a port offering one)."""
    from tswfunc import Ctl
    sw = Daemon(d, config(d))
    vm = VM(d, queues=2)
    ctl = Ctl(os.path.join(d, "ctl.sock"))
    try:
        end = time.time() + 30
        port = {}
        while time.time() < end:
            port = ctl.ok("show_ports")[0]
            if port.get("unserved_queue_pairs"):
                break
            time.sleep(0.2)
        assert port.get("unserved_queue_pairs") == [1] and port["rx_queues"] == [0], port
        sw.wait_for("the guest enabled queue pair 1, but the port offers 1", 10)
    finally:
        ctl.close()
        vm.stop()
        rc = sw.stop()
    assert rc == 0, sw.text()[-2000:]


FILLER_GUESTS = 2


def filler_guests(d, socks):
    """Guests that only attach (testpmd, rxonly): one virtio-user device per
    socket, the sockets split over FILLER_GUESTS processes (a DPDK process
    holds at most 32 ethdevs)."""
    procs = []
    for g in range(FILLER_GUESTS):
        mine = socks[g::FILLER_GUESTS]
        if not mine:
            continue
        cmd = ["dpdk-testpmd", "-l", "0-1", "--main-lcore", "1", "--no-pci",
               "--single-file-segments", "--file-prefix", "%sf%d" % (P, g), "-m", "512"]
        for i, sock in enumerate(mine):
            cmd += ["--vdev", "virtio_user%d,path=%s,queues=1,queue_size=256" % (i, sock)]
        cmd += ["--", "--stats-period", "10", "--forward-mode=rxonly", "--nb-cores=1",
                "--no-mlockall", "--rxd=256", "--txd=256", "--total-num-mbufs=16384"]
        log = open(os.path.join(d, "filler%d.log" % g), "w")
        procs.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                      stderr=subprocess.STDOUT))
        from tswfunc import STARTED
        STARTED.append(procs[-1])
    return procs


@with_topology
def test_forty_vm_ports_past_the_ethdev_limit(d):
    """#22: a VM port is a port on DPDK's vhost library, not an ethdev (32 in
    Debian's DPDK, the uplink one of them: 31 VM ports at most before).
    40 vhost-user ports added at run time, 39 guests attached by two filler
    processes and the 40th port's guest bridged to namespace vm1: every
    guest is seen connected, the 40th forwards both ways to the kernel
    VXLAN host; ten ports deleted and added again under traffic, and the
    40th still forwards. The time to add the 40th port is printed."""
    from tswfunc import Ctl
    # no config-time VM port: all 40 come through the control socket
    conf_text = conf(d, {"neighbor 198.18.0.2": {"mac": "02:00:00:00:00:02"},
                         "remote 198.18.0.2": {"type": "vxlan"},
                         "network blue": {"type": "vxlan", "segmentation_id": 1001},
                         "dataplane": {"mbufs": 32768}})
    sw = Daemon(d, conf_text, mem_mb=1024)
    ctl = Ctl(os.path.join(d, "ctl.sock"))
    fillers, vm = [], None
    try:
        socks = [os.path.join(d, "p%d.sock" % i) for i in range(39)]
        for i, sock in enumerate(socks):
            ctl.ok("port_add", name="p%d" % i, network="blue",
                   devargs="net_vhost_p%d,iface=%s" % (i, sock))
        t0 = time.time()
        ctl.ok("port_add", name="vm1", network="blue",
               devargs="net_vhost_vm1,iface=%s" % os.path.join(d, "vm1.sock"))
        add_ms = (time.time() - t0) * 1000
        print("adding the 40th port took %.1f ms (round trip through the control socket)" %
              add_ms)
        fillers = filler_guests(d, socks)
        vm = VM(d)
        end = time.time() + 60
        while time.time() < end:
            ports = ctl.ok("show_ports")
            up = [p["name"] for p in ports if p.get("guest_connected")]
            if len(up) == 40:
                break
            time.sleep(0.5)
        assert len(ports) == 40 and len(up) == 40, (
            "connected: %d of %d: %s\n%s\n%s" % (len(up), len(ports), sorted(
                set(p["name"] for p in ports) - set(up)), sw.text()[-3000:],
                open(os.path.join(d, "filler0.log")).read()[-1500:]))
        wait_reachable(P + "vm1", "198.19.1.2")
        assert ping(P + "rem", "198.19.1.1", count=3) >= 2, "remote -> the 40th VM"
        # ten ports go and come back while vm1 is pinged
        pinger = subprocess.Popen(["ip", "netns", "exec", P + "vm1", "ping", "-q", "-i", "0.05",
                                   "198.19.1.2"], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        for i in range(10):
            ctl.ok("port_del", name="p%d" % i)
        for i in range(10):
            ctl.ok("port_add", name="p%d" % i, network="blue",
                   devargs="net_vhost_p%d,iface=%s" % (i, socks[i]))
        time.sleep(0.5)
        interrupt(pinger)
        out = pinger.stdout.read()
        m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
        assert m and int(m.group(1)) > 5 and int(m.group(2)) >= int(m.group(1)) - 1, \
            "vm1 pinged while ten other ports went and came: %s" % out
        assert len(ctl.ok("show_ports")) == 40
        sent, got = udp_flows("vm1", "rem", "198.19.1.2")
        c = ctl.ok("show_counters")
        assert got == sent == 640, "the remote got %d of %d; vm1: %s" % (
            got, sent, c["ports"].get("vm1"))
    finally:
        ctl.close()
        if vm is not None:
            vm.stop()
        for f in fillers:
            interrupt(f)
        rc = sw.stop()
    assert rc == 0, sw.text()[-2000:]


@with_topology
def test_capture_request_records_a_vhost_user_port(d):
    """#22: dpdk-dumpcap sees ethdevs only, and a VM port is a socket of the
    vhost library now: capture_start records what a port receives and
    sends into the daemon's capture_dir (pcapng, one interface named after
    the port, each frame's direction), up to count frames, then ends by
    itself; the files replay offline with the daemon's own config and the
    replay sends what the daemon sent. A file name with a path, an existing
    file and a second capture of one port are refused."""
    from tswfunc import Ctl
    sw = Daemon(d, config(d))
    vm = VM(d)
    ctl = Ctl(os.path.join(d, "ctl.sock"))
    try:
        wait_reachable(P + "vm1", "198.19.1.2")
        for bad, field in (({"file": "../x.pcapng"}, "file"), ({"file": "x.pcap"}, "file"),
                           ({"file": ".x.pcapng"}, "file"), ({"port": "nope"}, "port")):
            rep = ctl.call("capture_start", **dict({"port": "vm1", "file": "a.pcapng"}, **bad))
            assert rep["ok"] is False and rep["error"].startswith(field + ": "), rep
        ctl.ok("capture_start", port="vm1", file="vm1.pcapng", count=16)
        rep = ctl.call("capture_start", port="vm1", file="other.pcapng")
        assert rep["ok"] is False and "already" in rep["error"], rep
        from tswfunc import TUNSWCTL
        r = subprocess.run(["/usr/bin/python3", TUNSWCTL, "--socket", os.path.join(d, "ctl.sock"),
                            "capture", "start",
                            "uplink", "up.pcapng", "--count", "16"], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr
        assert ping(P + "vm1", "198.19.1.2", count=10) >= 8
        end = time.time() + 30
        while time.time() < end:
            caps = {c["port"]: c for c in ctl.ok("show_captures")}
            if not any(c["running"] for c in caps.values()):
                break
            time.sleep(0.2)
        assert all(not c["running"] and c["written"] == 16 and c["lost"] == 0 and
                   not c["write_failed"] for c in caps.values()), caps
        rep = ctl.call("capture_start", port="vm1", file="vm1.pcapng")
        assert rep["ok"] is False and "exists" in rep["error"], rep
        rep = ctl.call("capture_stop", port="vm1")
        assert rep["ok"] is False and rep["error"].startswith("port: "), rep
        sys.path.insert(0, os.path.join(TOP, "tests", "replay"))
        from scapy.all import Ether, ICMP, IP, VXLAN
        from tsw import pcapng_blocks, read_pcapng
        cap = {}
        for name in ("vm1", "up"):
            ifaces, frames = pcapng_blocks(os.path.join(d, "capture", name + ".pcapng"))
            assert [i["name"] for i in ifaces] == ["vm1" if name == "vm1" else "uplink"], ifaces
            assert len(frames) == 16
            for _, _, b, dr in frames:
                cap.setdefault((name, dr), []).append(Ether(b))
        vm_in, vm_out = cap.get(("vm1", 1), []), cap.get(("vm1", 2), [])
        assert vm_in and vm_out, {k: len(v) for k, v in cap.items()}
        assert all(p.src == "02:00:00:00:01:01" for p in vm_in), [p.summary() for p in vm_in]
        assert any(ICMP in p and p[IP].src == "198.19.1.2" for p in vm_out)
        up_out = [p for p in cap.get(("up", 2), []) if VXLAN in p]
        assert up_out and all(p[VXLAN].vni == 1001 for p in up_out)
        out = os.path.join(d, "replay")
        os.makedirs(out)
        r = subprocess.run([os.path.join(TOP, "build", "app", "tunsw-replay", "tunsw-replay"),
                            "--config", sw.conf, "--out-dir", out,
                            "--in", os.path.join(d, "capture", "vm1.pcapng"),
                            "--in", os.path.join(d, "capture", "up.pcapng")],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        got, _ = read_pcapng(os.path.join(out, "out.pcapng"))
        inner = [bytes(Ether(b)[VXLAN].payload) for _, b in got["uplink"] if VXLAN in Ether(b)]
        assert inner and inner[:3] == [bytes(p) for p in vm_in][:3], (inner, vm_in)
    finally:
        ctl.close()
        vm.stop()
        rc = sw.stop()
    assert rc == 0, sw.text()[-2000:]


def test_config_error_starts_nothing():
    with tempfile.TemporaryDirectory(prefix="tswfunc") as d:
        conf = os.path.join(d, "bad.conf")
        with open(conf, "w") as f:
            f.write(config(d).replace("segmentation_id = 1001",
                                                              "segmentation_id = 99999999"))
        r = subprocess.run([TUNSW, "-l", "0-1", "--no-pci", "--no-huge", "--no-shconf",
                            "--file-prefix", P + "bad", "--", "--config", conf],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode != 0
        assert "[network blue] segmentation_id: '99999999' is out of range" in r.stderr, r.stderr
        assert not os.path.exists(os.path.join(d, "vm1.sock")), "started a port"
        r = subprocess.run([TUNSW, "--check-config", conf], capture_output=True, text=True)
        assert r.returncode != 0 and "segmentation_id" in r.stderr
        # [control]: the default vhost_socket_dir ("vhost" beside the socket)
        # must leave room for a socket name; a group must be a name
        long_dir = "/" + "d" * 99        # + "/vhost/" leaves no byte for a name
        for part, want in (({"socket": long_dir + "/c", "vhost_socket_dir": None},
                            "[control]: socket: its directory is too long"),
                           ({"vhost_socket_group": "no group"},
                            "vhost_socket_group: 'no group' is not a group name")):
            with open(conf, "w") as f:
                f.write(config(d, False, {"control": part}))
            r = subprocess.run([TUNSW, "--check-config", conf], capture_output=True, text=True)
            assert r.returncode != 0 and want in r.stderr, (want, r.stderr)
    cleanup_dpdk_files()


def test_uplink_device_error_names_section():
    with tempfile.TemporaryDirectory(prefix="tswfunc") as d:
        conf = os.path.join(d, "bad.conf")
        with open(conf, "w") as f:
            f.write(config(d).replace(P + "up", "nosuchif"))
        r = subprocess.run([TUNSW, "-l", "0-1", "--no-pci", "--no-huge", "--no-shconf",
                            "--file-prefix", P + "bad", "--log-level=*:emerg", "--",
                            "--config", conf], capture_output=True, text=True, timeout=30)
        assert r.returncode != 0
        assert "[uplink] devargs: cannot probe device" in r.stderr, r.stderr
    cleanup_dpdk_files()


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(TOP, "tests", "replay"))
    from tsw import run_tests
    run_tests(globals())
