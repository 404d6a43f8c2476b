"""Real guests: a Linux guest under QEMU (TCG) attached to tunsw over
vhost-user as Nova attaches one, its traffic through VXLAN to a Linux kernel
VXLAN host in a namespace (the topology of test_daemon.py). Needs root,
hugepages, qemu-system-x86, busybox-static, cpio and the Debian cloud
kernel package (scripts/install-deps.sh); the guest image is built once
under build/guest (tests/guest/mkguest.sh)."""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "guest"))
from guest import QemuGuest  # noqa: E402
from tswfunc import P, Ctl, Daemon, with_topology  # noqa: E402
from test_daemon import config  # noqa: E402

GUEST_MAC = "02:00:00:00:01:01"


def guest(d, server=False, mtu=1450, **kw):
    """Guest vm1 at Neutron's VXLAN MTU (1500 - 50) unless told otherwise."""
    return QemuGuest(d, "vm1", os.path.join(d, "vm1.sock"), GUEST_MAC, "198.19.1.1/24",
                     server=server, mtu=mtu, **kw)


def iperf3_rate(vm, seconds=3, reverse=False):
    """iperf3 TCP from the guest to the remote host (a one-off server in its
    namespace), or from the remote host to the guest (reverse): the
    receiver's Mbit/s."""
    srv = subprocess.Popen(["ip", "netns", "exec", P + "rem", "iperf3", "-s", "-1"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        out = vm.ok("iperf3 -c 198.19.1.2 -t %d -f m%s" % (seconds, " -R" if reverse else ""),
                    timeout=60 + seconds)
    finally:
        srv.kill()
        srv.wait()
    rate = re.findall(r"([\d.]+) Mbits/sec.*receiver", out)
    assert rate and float(rate[-1]) > 0, out
    return rate[-1]


@with_topology
def test_guest_ping_and_tcp_through_vxlan(d):
    """A guest kernel's ARP, ICMP and TCP (iperf3) through tunsw to a kernel
    VXLAN host and back; what virtio-net features the guest sees."""
    sw = Daemon(d, config(d))
    vm = guest(d)
    try:
        boot = vm.wait_booted()
        out = vm.ok("ping -c 3 -W 2 198.19.1.2", timeout=30)
        assert "3 packets received" in out, out
        rate = iperf3_rate(vm)
        features = vm.ok("cat /sys/class/net/eth0/device/features").strip()
        ctl = Ctl(os.path.join(d, "ctl.sock"))
        c = ctl.ok("show_counters")
        ctl.close()
        assert c["ports"]["vm1"]["rx_pkts"] > 100 and c["ports"]["vm1"]["tx_pkts"] > 100, c
        print("guest booted in %.1f s; iperf3 guest -> remote %s Mbit/s (TCG); "
              "virtio features %s" % (boot, rate, features))
    finally:
        vm.stop()
        rc = sw.stop()
    assert rc == 0, sw.text()[-2000:]


@with_topology
def test_tunsw_restart_under_running_guest_client_mode(d):
    """QEMU owns the vhost-user socket (server), tunsw connects as client
    (client=1), as with Nova: tunsw is killed and started again while the
    guest runs; traffic resumes without touching the guest. Measured: from
    tunsw's start to the guest's first answered ping."""
    vm = guest(d, server=True)
    sw = None
    try:
        time.sleep(1)
        sw = Daemon(d, config(d, client=True))
        vm.wait_booted()
        vm.ok("ping -c 2 -W 2 198.19.1.2", timeout=30)
        sw.proc.kill()            # as a crash: no clean shutdown
        sw.proc.wait()
        t0 = time.time()
        sw = Daemon(d, config(d, client=True))
        resumed = None
        while time.time() - t0 < 60:
            rc, _ = vm.run("ping -c 1 -W 1 198.19.1.2", timeout=10)
            if rc == 0:
                resumed = time.time() - t0
                break
        assert resumed is not None, "no traffic 60 s after tunsw restarted"
        print("traffic resumed %.2f s after tunsw was started again" % resumed)
    finally:
        vm.stop()
        rc = sw.stop() if sw is not None else 0
    assert rc == 0, sw.text()[-2000:]


def csum_errors():
    """TCP segments the remote host's kernel dropped for a bad checksum."""
    out = subprocess.run(["ip", "netns", "exec", P + "rem", "nstat", "-az", "TcpInCsumErrors"],
                         capture_output=True, text=True).stdout
    m = re.search(r"TcpInCsumErrors\s+(\d+)", out)
    return int(m.group(1)) if m else 0


def offload_run(d, tso, mtu=1450, conf=None, reverse=False, gro=True):
    """iperf3 guest -> remote (or remote -> guest: reverse) with the
    guest's offloads offered (tso=1: TSO and checksum offload) or not, and
    coalescing for the guest ([dataplane] gro) or not; returns (Mbit/s,
    show_counters, the guest's offload settings)."""
    conf = conf or config(d)
    if tso:
        conf = conf.replace("vm1.sock", "vm1.sock,tso=1")
    if not gro:
        conf = conf.replace("[dataplane]", "[dataplane]\ngro = false")
    sw = Daemon(d, conf)
    vm = guest(d, mtu=mtu)
    try:
        vm.wait_booted()
        vm.ok("ping -c 2 -W 2 198.19.1.2", timeout=30)
        before = csum_errors()
        rate = float(iperf3_rate(vm, seconds=4, reverse=reverse))
        feats = vm.ok("ethtool -k eth0 | grep -E '^(tcp-segmentation-offload|tx-checksumming):'")
        ctl = Ctl(os.path.join(d, "ctl.sock"))
        c = ctl.ok("show_counters")
        ctl.close()
        assert csum_errors() == before, "the remote host saw bad TCP checksums"
    finally:
        vm.stop()
        rc = sw.stop()
    assert rc == 0, sw.text()[-2000:]
    return rate, c, feats


@with_topology
def test_guest_tso_and_checksum_offload_through_vxlan(d):
    """tso=1 on the vhost-user port: the guest turns TSO and checksum
    offload on and hands tunsw 64 KB TCP frames with partial checksums;
    tunsw cuts them into segments of the guest's MSS, completes every
    checksum and encapsulates each; the remote kernel takes them all (no
    checksum error, iperf3 completes). Without tso=1 the guest segments
    itself. Both rates are printed: the ratio is what TSO buys."""
    rate_on, c, feats = offload_run(d, True)
    assert "tcp-segmentation-offload: on" in feats and "tx-checksumming: on" in feats, feats
    off = c["offload"]
    assert off["tso_frames"] > 100 and off["tso_segments"] > 2 * off["tso_frames"], off
    assert c["drops"]["tso_bad"] == 0 and c["drops"]["too_big"] == 0, c["drops"]
    rate_off, c2, feats2 = offload_run(d, False)
    assert "tcp-segmentation-offload: off" in feats2, feats2
    assert c2["offload"]["tso_frames"] == 0, c2["offload"]
    print("iperf3 guest -> remote, MTU 1450: %.0f Mbit/s with TSO, %.0f without (%.1fx); "
          "%d TSO frames -> %d segments, %d checksums completed" %
          (rate_on, rate_off, rate_on / rate_off, off["tso_frames"], off["tso_segments"],
           off["csum_completed"]))


@with_topology
def test_guest_gro_tunnel_to_guest(d):
    """TCP from the remote host to the guest: the decapsulated segments of
    a flow bound for the guest (which negotiated GUEST_TSO4 and GUEST_CSUM)
    are coalesced with rte_gro into TSO frames for it; the guest's TCP takes
    them (iperf3 completes, its receive counters match). Without
    [dataplane] gro every segment reaches the guest alone."""
    rate_on, c, _ = offload_run(d, True, reverse=True)
    off = c["offload"]
    assert off["gro_merged"] > 1000, off
    # a guest under TCG is slower than the sender: its full ring (tx_full)
    # is TCP's congestion signal; nothing else may be dropped
    assert set(k for k, v in c["drops"].items() if v) <= {"tx_full"}, c["drops"]
    rate_off, c2, _ = offload_run(d, True, reverse=True, gro=False)
    assert c2["offload"]["gro_merged"] == 0, c2["offload"]
    print("iperf3 remote -> guest, MTU 1450: %.0f Mbit/s with GRO, %.0f without (%.1fx); "
          "%d segments merged; guest ring full %d / %d times" %
          (rate_on, rate_off, rate_on / rate_off, off["gro_merged"], c["drops"]["tx_full"],
           c2["drops"]["tx_full"]))


def jumbo_config(d):
    """The daemon's config for a 9000-byte underlay: af_packet frames and
    mbufs sized for it, [uplink] mtu 9000."""
    return (config(d).replace("iface=%sup" % P, "iface=%sup,framesz=10240,blocksz=20480" % P)
            .replace("[uplink]", "[uplink]\nmtu = 9000")
            .replace("[dataplane]", "[dataplane]\nmbuf_size = 10240"))


def jumbo_underlay():
    """The topology's underlay at MTU 9000, the remote's VXLAN at 8950."""
    for cmd in (["ip", "link", "set", P + "up", "mtu", "9000"],
                ["ip", "-n", P + "rem", "link", "set", "eth0", "mtu", "9000"],
                ["ip", "-n", P + "rem", "link", "set", "tun0", "mtu", "8950"]):
        subprocess.run(cmd, check=True)


@with_topology
def test_jumbo_frames_guest_mtu_8950_through_vxlan(d):
    """[uplink] mtu 9000 (af_packet frames and mbufs sized for it), a guest
    at MTU 8950 (9000 minus VXLAN's 50): 8928-byte pings and TCP at that
    MTU both ways; a frame over the tunnel's limit is dropped and counted
    (R-E4), never sent."""
    jumbo_underlay()
    sw = Daemon(d, jumbo_config(d))
    vm = guest(d, mtu=8950)
    try:
        vm.wait_booted()
        out = vm.ok("ping -c 3 -W 2 -s 8900 198.19.1.2", timeout=30)
        assert "3 packets received" in out and "8908 bytes from" in out, out
        rate = iperf3_rate(vm)
        # the guest at 9000 now: a 9000-byte frame cannot get 50 bytes more
        vm.ok("ip link set eth0 mtu 9000")
        vm.run("ping -c 1 -W 1 -s 8950 198.19.1.2", timeout=10)
        ctl = Ctl(os.path.join(d, "ctl.sock"))
        c = ctl.ok("show_counters")
        ctl.close()
        assert c["drops"]["too_big"] >= 1, c["drops"]
        print("jumbo: iperf3 guest -> remote at MTU 8950: %s Mbit/s (TCG)" % rate)
    finally:
        vm.stop()
        rc = sw.stop()
    assert rc == 0, sw.text()[-2000:]


def two_guests(offload):
    """Guest A on tunsw host A, guest B on tunsw host B (network blue, VXLAN
    1001, the underlay of test_e2e.py); with offload: tso=1 on both ports
    and GRO, else neither. Returns (iperf3 A -> B Mbit/s, counters of A,
    counters of B)."""
    import tempfile
    from test_e2e import HOSTS, host_conf, three_hosts_teardown, three_hosts_up
    d = tempfile.mkdtemp(prefix="tswfunc")
    three_hosts_up(P)
    daemons, guests = [], []
    try:
        for i, h in enumerate("AB"):
            hd = os.path.join(d, h)
            os.makedirs(hd)
            conf = host_conf(hd, h, "false").replace(
                "net_af_packet1,iface=%s" % (P + h + "b1"),
                "net_vhost0,iface=%s/blue.sock%s" % (hd, ",tso=1" if offload else ""))
            if not offload:
                conf = conf.replace("[dataplane]", "[dataplane]\ngro = false")
            daemons.append(Daemon(hd, conf, prefix=P + h))
            guests.append(QemuGuest(hd, "g" + h, os.path.join(hd, "blue.sock"),
                                    "02:00:00:00:0%d:09" % (i + 1), "10.9.0.%d/24" % (i + 1),
                                    mtu=1450, iperf=(h == "B")))   # Neutron's VXLAN MTU
        for g in guests:
            g.wait_booted()
        out = guests[0].ok("ping -c 3 -W 2 10.9.0.2", timeout=30)
        assert "3 packets received" in out, out
        out = guests[0].ok("iperf3 -c 10.9.0.2 -t 3 -f m", timeout=60)
        rate = re.findall(r"([\d.]+) Mbits/sec.*receiver", out)
        assert rate and float(rate[-1]) > 0, out
        counters = []
        for h in "AB":
            ctl = Ctl(os.path.join(d, h, "ctl.sock"))
            if h == "A":
                fdb = {e["mac"]: e for e in ctl.ok("show_fdb", network="blue")}
                e = fdb["02:00:00:00:02:09"]
                assert (e["kind"], e["tunnel"]["remote"]) == ("tunnel", HOSTS["B"][0]), e
            counters.append(ctl.ok("show_counters"))
            ctl.close()
        return float(rate[-1]), counters[0], counters[1]
    finally:
        for g in guests:
            g.stop()
        three_hosts_teardown(d, daemons)


def test_two_guests_on_two_tunsw_hosts():
    """Guest to guest across two tunsw hosts: ping and iperf3 TCP, each tunsw
    learning the other guest behind its tunnel; then again with the guests'
    offloads: host A cuts guest A's TSO frames, host B coalesces them for
    guest B."""
    rate_off, a, b = two_guests(False)
    assert a["offload"]["tso_frames"] == 0 and b["offload"]["gro_merged"] == 0
    rate_on, a, b = two_guests(True)
    assert a["offload"]["tso_frames"] > 100, a["offload"]
    assert b["offload"]["gro_merged"] > 100, b["offload"]
    print("two guests on two tunsw hosts: iperf3 %.0f Mbit/s, %.0f with offloads (%.1fx; TCG)"
          % (rate_off, rate_on, rate_on / rate_off))


@with_topology
def test_guest_changes_its_queue_pairs_two_workers(d):
    """Two workers, a port offering two queue pairs, a one-vCPU guest that
    enables one (Linux enables as many as it has vCPUs): both workers share
    the guest's queue 0; `ethtool -L eth0 combined 2` in the guest gives each
    worker its own, `combined 1` takes it back; traffic from both uplink
    queues (both workers) reaches the guest at every step, nothing is lost
    to a queue the guest does not read (tx_full)."""
    conf = (config(d).replace("iface=%sup" % P, "iface=%sup,qpairs=2" % P)
            .replace("vm1.sock", "vm1.sock,queues=2")
            .replace("[dataplane]", "[dataplane]\nworkers = 2"))
    sw = Daemon(d, conf, lcores=("--lcores", "0@0,1@1,2@1"))
    vm = guest(d, queues=2, iperf=True)
    path = os.path.join(d, "ctl.sock")

    def step(want):
        end = time.time() + 10
        while True:
            ctl = Ctl(path)
            q = ctl.ok("show_ports")[0]["tx_queues"]
            ctl.close()
            if q == want or time.time() > end:
                break
            time.sleep(0.2)
        assert q == want, "tx queues %s, want %s" % (q, want)
        # 8 UDP streams from the remote host: both uplink queues, both workers
        out = subprocess.run(["ip", "netns", "exec", P + "rem", "iperf3", "-c", "198.19.1.1",
                              "-u", "-b", "2M", "-P", "8", "-t", "2", "-J"],
                             capture_output=True, text=True, timeout=60).stdout
        import json as _json
        got = _json.loads(out)["end"]["sum"]
        assert got["packets"] > 0, out[-2000:]
        return got["lost_percent"]

    try:
        vm.wait_booted()
        vm.ok("ping -c 2 -W 2 198.19.1.2", timeout=30)
        losses = [step([0])]
        vm.ok("ethtool -L eth0 combined 2")
        losses.append(step([0, 1]))
        vm.ok("ethtool -L eth0 combined 1")
        losses.append(step([0]))
        ctl = Ctl(path)
        c = ctl.ok("show_counters")
        workers = ctl.ok("show_workers")
        ctl.close()
        assert all(w["pkts"] > 0 for w in workers), workers
        assert c["drops"]["tx_full"] == 0, c["drops"]
        print("queue pairs 1 -> 2 -> 1 in the guest: UDP loss %s %%" % losses)
    finally:
        vm.stop()
        rc = sw.stop()
    assert rc == 0, sw.text()[-2000:]


@with_topology
def test_guest_restart_tunsw_server_mode(d):
    """tunsw owns the socket (server mode); the guest is powered off hard
    and started again: the port comes back without touching tunsw."""
    sw = Daemon(d, config(d))
    vm = guest(d)
    try:
        vm.wait_booted()
        vm.ok("ping -c 2 -W 2 198.19.1.2", timeout=30)
        vm.proc.kill()            # as a crashed QEMU
        vm.proc.wait()
        vm.stop()
        vm = guest(d)
        vm.wait_booted()
        vm.ok("ping -c 2 -W 2 198.19.1.2", timeout=30)
        ctl = Ctl(os.path.join(d, "ctl.sock"))
        ports = ctl.ok("show_ports")
        ctl.close()
        assert [p["name"] for p in ports] == ["vm1"], ports
    finally:
        vm.stop()
        rc = sw.stop()
    assert rc == 0, sw.text()[-2000:]


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "replay"))
    from tsw import run_tests
    run_tests(globals())
