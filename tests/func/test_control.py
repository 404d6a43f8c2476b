"""Functional tests of the control plane against a running daemon that
forwards continuously: a VM namespace pings a kernel VXLAN host through
tunsw (af_packet VM port and uplink) while the tests hammer the control
socket, hot-plug ports, send bad input, and drive tunswctl. Needs root."""
import grp
import json
import os
import random
import re
import socket
import stat
import subprocess
import sys
import time

from tswfunc import (P, TOP, TUNSWCTL, Ctl, Daemon, conf, interrupt, with_topology)

REMOTE_MAC = "02:00:00:00:01:02"     # the kernel VXLAN device's overlay MAC
VM_MAC = "02:00:00:00:01:01"

# A daemon with l2population, two networks, an af_packet VM port (vm1 in
# the VM namespace) and the kernel VXLAN host's MAC as a static entry.
CONTROL = {
    "agent": {"l2_population": "true", "arp_responder": "true"},
    "tunnel": {"types": "vxlan, gre"},
    "neighbor 198.18.0.2": {"mac": "02:00:00:00:00:02"},
    "neighbor 198.18.0.9": {"mac": "02:00:00:00:00:09"},
    "network blue": {"type": "vxlan", "segmentation_id": 1001},
    "network red": {"type": "vxlan", "segmentation_id": 1002},
    "port vm1": {"devargs": "net_af_packet1,iface=" + P + "v1", "network": "blue"},
    "fdb blue " + REMOTE_MAC: {"remote": "198.18.0.2", "ip": "198.19.1.2"},
    "flood blue": {"remotes": "198.18.0.2"},
    "dataplane": {"fdb_size": 262144},
    "control": {"max_clients": 64, "max_request": 8192, "idle_timeout": 3},
}


def control_conf(d, *parts):
    """CONTROL updated by parts (tswfunc.conf)."""
    return conf(d, CONTROL, *parts)


def start(d):
    sw = Daemon(d, control_conf(d))
    return sw, os.path.join(d, "ctl.sock")


class Pinger:
    """Steady traffic VM -> remote and back, through tunsw, the whole test."""

    def __init__(self, interval="0.005"):
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", P + "vm1", "ping", "-q", "-i", interval, "198.19.1.2"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def stop(self):
        """(transmitted, received), not counting the last echo request: ping
        reports it as lost when it is stopped while that one is on its way."""
        interrupt(self.proc)
        out = self.proc.stdout.read()
        m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
        assert m, out
        sent, got = int(m.group(1)), int(m.group(2))
        return (sent - 1, got) if got == sent - 1 else (sent, got)


def tables(ctl, op):
    """A table without the ages of learned entries or parts (they move with
    time)."""
    def strip(row):
        return {k: strip(v) if isinstance(v, dict) else v for k, v in row.items()
                if k != "age_ms"}
    return [strip(row) for row in ctl.ok(op)]


def fwd_drops(c):
    """Drops that would mean forwarding was disturbed."""
    return {k: v for k, v in c["drops"].items() if v}


@with_topology
def test_load_100k_fdb_requests_and_100_port_cycles_while_forwarding(d):
    """(a) 100 000 fdb add/remove requests and 100 VM port add/del cycles
    while the worker forwards a ping stream both ways: final tables equal
    the expected ones, every request answered once, no mbuf or heap growth,
    the unchanged destination never lost a frame."""
    sw, sock = start(d)
    ctl = Ctl(sock)
    pinger = None
    try:
        time.sleep(1)
        before = ctl.ok("show_counters")["memory"]
        rss0 = sw.rss_kb()
        pinger = Pinger()
        time.sleep(1)
        rnd = random.Random(7)
        macs = ["fa:16:3e:%02x:%02x:%02x" % (i >> 16, (i >> 8) & 255, i & 255)
                for i in range(1, 5001)]
        remotes = ["198.18.0.%d" % n for n in (9, 10, 11, 12)]
        expected = {}
        n_req, window = 100000, 500
        sent = 0
        replies = {}
        while sent < n_req:
            ids = []
            for _ in range(min(window, n_req - sent)):
                m = rnd.choice(macs)
                net = rnd.choice(("blue", "red"))
                if rnd.random() < 0.55:
                    r = rnd.choice(remotes)
                    ids.append(ctl.send("fdb_add", network=net, mac=m, remote=r))
                    expected[(net, m)] = r
                else:
                    ids.append(ctl.send("fdb_del", network=net, mac=m))
                    expected.pop((net, m), None)
                sent += 1
            for rid in ids:
                rep = ctl.recv()
                assert rep["id"] == rid, "reply out of order: %r for %d" % (rep, rid)
                assert rep["ok"], rep
                assert rid not in replies, "two replies for %d" % rid
                replies[rid] = True
        assert len(replies) == n_req
        # port hot-plug cycles: vhost-user VM ports (server mode, no guest).
        # (net_null is not used here: its PMD leaks 384 bytes of DPDK heap
        # per attach/detach in 22.11, which would hide a leak of ours.)
        for i in range(100):
            dev = "net_vhost%d,iface=%s/hp%d.sock" % (10 + i, d, i)
            ctl.ok("port_add", name="hp%d" % i, network="blue", devargs=dev)
            ports = [p["name"] for p in ctl.ok("show_ports")]
            assert ports == ["vm1", "hp%d" % i], ports
            ctl.ok("port_del", name="hp%d" % i)
        assert not any(f.startswith("hp") for f in os.listdir(d)), "vhost sockets left"
        sent_pkts, got = pinger.stop()
        pinger = None
        # final tables: exactly the expected static entries plus the config's
        fdb = ctl.ok("show_fdb")
        static = {(e["network"], e["mac"]): e["tunnel"]["remote"]
                  for e in fdb if e["kind"] == "static"}
        want = dict(expected)
        want[("blue", REMOTE_MAC)] = "198.18.0.2"
        assert static == want, "static FDB differs: %d vs %d entries" % (len(static), len(want))
        refs = {t["remote"]: t["static_refs"] for t in ctl.ok("show_tunnels")}
        for r in remotes:
            n = sum(1 for v in expected.values() if v == r)
            assert refs.get(r, 0) == n, "tunnel %s: %s refs, %d entries" % (r, refs.get(r), n)
        c = ctl.ok("show_counters")
        assert c["control"]["refused"] == 0, c["control"]
        assert c["control"]["requests"] >= n_req + 300, c["control"]
        # forwarding: not a frame lost, nothing dropped
        assert sent_pkts > 300 and got == sent_pkts, "ping %d sent, %d received" % (sent_pkts, got)
        assert fwd_drops(c) == {}, fwd_drops(c)
        # no growth: remove what the load added, compare with the start
        for (net, m) in list(expected):
            ctl.ok("fdb_del", network=net, mac=m)
        time.sleep(0.5)
        after = ctl.ok("show_counters")["memory"]
        assert after["mbufs_in_use"] == before["mbufs_in_use"], (before, after)
        # (a few hundred bytes of slack: retired objects are freed a grace
        # period late, so the allocator may have split its blocks
        # differently; a leak per request would be megabytes)
        assert after["heap_allocated"] <= before["heap_allocated"] + 4096, (before, after)
        assert sw.rss_kb() - rss0 < 32 * 1024, "RSS grew %d kB" % (sw.rss_kb() - rss0)
    finally:
        if pinger is not None:
            pinger.stop()
        ctl.close()
        rc = sw.stop()
    assert rc == 0, sw.text()[-3000:]


BAD = [
    (b"{not json\n", "request"),
    (b"[1,2]\n", "request"),
    (b'{"id": 1}\n', "op"),
    (b'{"id": 2, "op": "launch_missiles"}\n', "op"),
    (b'{"id": 3, "op": "network_add", "name": "n", "type": "vxlan", '
     b'"segmentation_id": 16777216}\n', "segmentation_id"),
    (b'{"id": 4, "op": "network_add", "name": "n", "type": "vxlan", '
     b'"segmentation_id": "7"}\n', "segmentation_id"),
    (b'{"id": 5, "op": "fdb_add", "network": "blue", "mac": "zz:16:3e:00:00:01", '
     b'"remote": "198.18.0.9"}\n', "mac"),
    (b'{"id": 6, "op": "fdb_add", "network": "blue", "mac": "fa:16:3e:00:00:01", '
     b'"remote": "198.18.0"}\n', "remote"),
    (b'{"id": 7, "op": "arp_add", "network": 5, "ip": "10.0.0.1", "mac": "fa:16:3e:00:00:01"}\n',
     "network"),
    (b'{"id": 8, "op": "show_fdb", "network": "blue", "extra": 1}\n', "extra"),
    (b'{"id": 9, "op": "port_add", "name": "x", "network": "blue", "devargs": "net_bogus0"}\n',
     "devargs"),
    (b'{"id": 10, "op": "add_fdb_entries", "fdb_entries": {"blue": {"segment_id": 1001, '
     b'"network_type": "vxlan", "ports": {"198.18.0.9": [["fa:16:3e:00:00:01", "10.0.0.300"]]}}}}\n',
     "fdb_entries.blue.ports.198.18.0.9[0].ip"),
]


@with_topology
def test_bad_input_refused_state_unchanged_forwarding_unaffected(d):
    """(b) malformed JSON, unknown op, wrong types, out-of-range ids, bad
    MAC or IP, an oversized request, a silent client, 200 clients at once."""
    sw, sock = start(d)
    ctl = Ctl(sock)
    pinger = None
    try:
        time.sleep(1)
        pinger = Pinger()
        time.sleep(1)
        state0 = {op: tables(ctl, op) for op in ("show_fdb", "show_networks", "show_tunnels",
                                                 "show_ports", "show_arp")}
        silent = socket.socket(socket.AF_UNIX)
        silent.connect(sock)
        for raw, field in BAD:
            ctl.send_raw(raw)
            rep = ctl.recv()
            assert rep["ok"] is False and rep["field"] == field, (raw, rep)
            assert rep["error"].startswith(field + ": "), rep
        # the silent client does not hold anyone up, and is closed when idle
        assert ctl.ok("show_ports")[0]["name"] == "vm1"
        silent.settimeout(10)
        t0 = time.time()
        assert silent.recv(100) == b"", "silent client not closed"
        assert 2 <= time.time() - t0 < 8, "idle close after %.1fs" % (time.time() - t0)
        # oversized request: an error line, then the connection is closed
        big = Ctl(sock)
        big.send_raw(b'{"op": "show_ports", "pad": "' + b"x" * 20000 + b'"}\n')
        rep = big.recv()
        assert rep["ok"] is False and "max_request" in rep["error"], rep
        try:
            big.recv()
            raise AssertionError("oversized client still open")
        except (EOFError, ConnectionResetError):
            pass
        # 200 clients at once: each is served or told it is one too many
        clients = []
        for _ in range(200):
            s = socket.socket(socket.AF_UNIX)
            s.connect(sock)
            s.settimeout(10)
            clients.append(s)
        for s in clients:
            try:
                s.sendall(b'{"id": 1, "op": "show_networks"}\n')
            except (BrokenPipeError, ConnectionResetError):
                pass    # one too many: tunsw already said so and closed it
        served = busy = 0
        for s in clients:
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            rep = json.loads(data)
            if rep["ok"]:
                served += 1
            else:
                assert rep["error"] == "request: too many clients", rep
                busy += 1
            s.close()
        assert served + busy == 200 and served >= 60 and busy >= 100, (served, busy)
        ctl2 = Ctl(sock)   # served again once they are gone
        for op, want in state0.items():
            assert tables(ctl2, op) == want, "%s changed" % op
        c = ctl2.ok("show_counters")
        ctl2.close()
        sent, got = pinger.stop()
        pinger = None
        assert sent > 100 and got == sent, "ping %d/%d" % (got, sent)
        assert fwd_drops(c) == {}, fwd_drops(c)
    finally:
        if pinger is not None:
            pinger.stop()
        ctl.close()
        rc = sw.stop()
    assert rc == 0, sw.text()[-3000:]


@with_topology
def test_vhost_port_hot_plug_with_a_running_guest(d):
    """A vhost-user port added at runtime gets its queues polled (a
    virtio-user guest's frames are counted on it), and is removed while the
    guest still sends: tunsw stays up and keeps forwarding."""
    sw, sock = start(d)
    ctl = Ctl(sock)
    guest = None
    try:
        ctl.ok("port_add", name="vm9", network="red",
               devargs="net_vhost9,iface=%s/vm9.sock" % d)
        guest_mac = "02:00:00:00:09:09"
        log = open(os.path.join(d, "guest.log"), "w")
        guest = subprocess.Popen(
            ["dpdk-testpmd", "-l", "0-1", "--main-lcore", "1", "--no-pci",
             "--single-file-segments", "--file-prefix", P + "g9", "-m", "256",
             "--vdev", "virtio_user0,path=%s/vm9.sock,queues=1,mac=%s" % (d, guest_mac),
             "--", "--stats-period", "10", "--forward-mode=txonly", "--nb-cores=1",
             "--eth-peer=0,%s" % guest_mac, "--no-mlockall"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        rx = 0
        for _ in range(40):
            time.sleep(0.5)
            rx = ctl.ok("show_counters")["ports"]["vm9"]["rx_pkts"]
            if rx > 1000:
                break
        assert rx > 1000, "hot-plugged port polled: %d frames" % rx
        fdb = {e["mac"]: e for e in ctl.ok("show_fdb", network="red")}
        assert fdb[guest_mac]["port"] == "vm9", fdb
        ctl.ok("port_del", name="vm9")
        assert [p["name"] for p in ctl.ok("show_ports")] == ["vm1"]
        assert ctl.ok("show_fdb", network="red") == [], "entries of the port flushed"
        pinger = Pinger("0.01")
        time.sleep(2)
        sent, got = pinger.stop()
        assert sent > 50 and got == sent, "forwarding after the delete: %d/%d" % (got, sent)
    finally:
        if guest is not None:
            interrupt(guest)
        ctl.close()
        rc = sw.stop()
    assert rc == 0, sw.text()[-3000:]


@with_topology
def test_dumpcap_captures_a_tunsw_port(d):
    """rte_pdump is initialised: dpdk-dumpcap (a secondary process, so tunsw
    runs on hugepages here) captures the uplink and a VM port, both
    directions, one file each (DPDK 22.11's dumpcap, given several -i,
    captures only the last one: seen here); replayed offline with the
    daemon's own config, each file's interface goes to its port by the
    device dumpcap recorded (#12), what tunsw sent is not taken as input,
    and the forwarding decisions are the same: the remote's frames reach
    vm1 decapsulated, in order, and vm1's frames leave for the remote."""
    sw = Daemon(d, control_conf(d), huge=True)
    pinger = None
    caps = [os.path.join(d, "up.pcapng"), os.path.join(d, "vm1.pcapng")]
    try:
        time.sleep(1)
        dumpcaps = [subprocess.Popen(["dpdk-dumpcap", "--file-prefix", P + "sw", "-i", dev,
                                      "-c", "16", "-w", path, "-q"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                    for dev, path in zip(("net_af_packet0", "net_af_packet1"), caps)]
        time.sleep(1)
        pinger = Pinger("0.05")
        for dc in dumpcaps:
            out = dc.communicate(timeout=60)[0]
            assert dc.returncode == 0, out
        pinger.stop()
        pinger = None
        sys.path.insert(0, os.path.join(TOP, "tests", "replay"))
        from scapy.all import Ether, VXLAN, IP
        from tsw import pcapng_blocks
        cap = {}
        for path in caps:
            ifaces, frames = pcapng_blocks(path)
            dev = {i: ifc["hw"].split("-", 1)[1] for i, ifc in enumerate(ifaces)}
            assert set(dev.values()) == {"net_af_packet0", "net_af_packet1"}, ifaces
            for _, i, b, dr in frames:
                cap.setdefault((dev[i], dr), []).append(Ether(b))
        up_in, vm_in = cap.get(("net_af_packet0", 1)), cap.get(("net_af_packet1", 1))
        assert up_in and vm_in and cap.get(("net_af_packet0", 2)) and \
            cap.get(("net_af_packet1", 2)), {k: len(v) for k, v in cap.items()}
        vx = [p for p in up_in if VXLAN in p]
        assert vx and all(p[VXLAN].vni == 1001 for p in vx), [p.summary() for p in up_in]
        assert {p[IP].src for p in vx} == {"198.18.0.2"}
        replay_out = os.path.join(d, "replay")
        os.makedirs(replay_out)
        r = subprocess.run([os.path.join(TOP, "build", "app", "tunsw-replay", "tunsw-replay"),
                            "--config", sw.conf, "--out-dir", replay_out,
                            "--in", caps[0], "--in", caps[1]],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert "outbound frames (sent on the port) skipped" in r.stderr, r.stderr
        from tsw import read_pcapng
        got, _ = read_pcapng(os.path.join(replay_out, "out.pcapng"))
        # what the replay sent on each port is what the daemon sent there
        # (the two captures may end a frame apart: their common part)
        def agree(replayed, captured, what):
            n = min(len(replayed), len(captured))
            assert n >= 5 and replayed[:n] == captured[:n], (what, replayed, captured)
        agree([b for _, b in got["vm1"]], [bytes(p) for p in cap[("net_af_packet1", 2)]],
              "vm1")
        inner = lambda frames: [bytes(f[VXLAN].payload) for f in frames if VXLAN in f]
        agree(inner(Ether(b) for _, b in got["uplink"]), inner(cap[("net_af_packet0", 2)]),
              "uplink")
        assert {Ether(b)[IP].dst for _, b in got["uplink"] if VXLAN in Ether(b)} == \
            {"198.18.0.2"}
    finally:
        if pinger is not None:
            pinger.stop()
        rc = sw.stop()
    assert rc == 0, sw.text()[-3000:]


NEW_MACS = r"""
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
dst = bytes.fromhex(sys.argv[1].replace(":", ""))
n, end = 0, time.time() + float(sys.argv[2])
while time.time() < end:
    for i in range(50):                       # ~5 000 frames a second
        src = bytes([0x02, 0xee, 0, (n >> 16) & 255, (n >> 8) & 255, n & 255])
        s.send(dst + src + b"\x08\x00" + b"\x00" * 46)
        n = (n + 1) % 20000
    time.sleep(0.01)
"""


PROBE = r"""
import json, os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rb")
while not os.path.exists(sys.argv[2]):
    t = time.time()
    s.sendall(b'{"op": "show_counters", "id": 1}\n')
    json.loads(f.readline())
    print("%.1f" % ((time.time() - t) * 1000), flush=True)
    time.sleep(0.05)
"""


@with_topology
def test_million_entry_table_dumped_in_pages_while_learning(d):
    """1 000 000 static entries (with as many ARP entries), then the whole
    FDB read back a page at a time while a VM sends from thousands of new
    source MACs: every page is a bounded piece of the management lcore's
    time, so learn events keep flowing (no learn ring overflows) and
    forwarding loses nothing. Then the same table in one unpaged show_fdb:
    the daemon reads it page by page too (the lcore never builds a
    million-entry reply at once, which held learning for a second), sorted
    off the lcore; another client's request is answered meanwhile."""
    sw = Daemon(d, control_conf(d, {"dataplane": {"fdb_size": 2097152},
                                    "control": {"max_request": 67108864}}), mem_mb=1536)
    sock = os.path.join(d, "ctl.sock")
    pinger = None
    try:
        time.sleep(1)
        ctl = Ctl(sock, timeout=120)
        n, chunk = 1000000, 100000
        for base in range(0, n, chunk):
            ports = {}
            for i in range(base, base + chunk):
                ports.setdefault("198.18.1.%d" % (2 + i % 100), []).append(
                    ["fa:16:3e:%02x:%02x:%02x" % (i >> 16 & 255, i >> 8 & 255, i & 255),
                     "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255)])
            res = ctl.ok("add_fdb_entries", fdb_entries={"blue": {
                "segment_id": 1001, "network_type": "vxlan", "ports": ports}})
            assert res["fdb"] == chunk, res
        before = ctl.ok("show_counters")["learn"]
        pinger = Pinger()
        gen = subprocess.Popen(["ip", "netns", "exec", P + "vm1", "/usr/bin/python3", "-c",
                                NEW_MACS, REMOTE_MAC, "90"])
        time.sleep(1)
        seen, cursor, pages, t0 = 0, 0, 0, time.time()
        while cursor is not None:
            page = ctl.ok("show_fdb", cursor=cursor, limit=10000)
            seen += len(page["entries"])
            cursor, pages = page["next"], pages + 1
        took = time.time() - t0
        # the whole table unpaged; a probe client in another process (not
        # behind this one's GIL while it parses 100 MB) meanwhile
        stop = os.path.join(d, "probe.stop")
        probe = subprocess.Popen(["/usr/bin/python3", "-c", PROBE, sock, stop],
                                 stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)
        t1 = time.time()
        whole = ctl.ok("show_fdb")
        took_whole = time.time() - t1
        open(stop, "w").close()
        probe_ms = [float(x) for x in probe.communicate(timeout=60)[0].split()]
        keys = [(e["network"], e["mac"]) for e in whole]
        assert len(whole) >= n and keys == sorted(keys), "unpaged: %d entries" % len(whole)
        gen.kill()
        gen.wait()
        ctl.close()     # idle past idle_timeout while the reply was checked
        ctl = Ctl(sock)
        after = ctl.ok("show_counters")
        ctl.close()
        sent, got = pinger.stop()
        pinger = None
        posted = after["learn"]["posted"] - before["posted"]
        assert seen >= n, "dumped %d entries" % seen
        assert posted > 1000, "the learning load did not run: %s" % after["learn"]
        assert after["learn"]["ring_full"] == before["ring_full"], after["learn"]
        assert got == sent and sent > 50, "forwarding lost %d of %d" % (sent - got, sent)
        print("dumped %d entries in %d pages in %.1f s, then %d unpaged in %.1f s (another "
              "client's show_counters: worst %.0f ms of %d), while %d learn events flowed, "
              "none lost" % (seen, pages, took, len(whole), took_whole, max(probe_ms),
                             len(probe_ms), posted))
    finally:
        if pinger is not None:
            pinger.stop()
        rc = sw.stop()
    assert rc == 0, sw.text()[-3000:]


def tunswctl(sock, *args, stdin=None):
    return subprocess.run(["/usr/bin/python3", TUNSWCTL, "-s", sock] + list(args),
                          capture_output=True, text=True, input=stdin, timeout=60)


@with_topology
def test_tunswctl_against_running_daemon(d):
    """(d) the CLI: tables, changes, l2pop payloads, trace, exit codes."""
    sw, sock = start(d)
    try:
        time.sleep(1)
        r = tunswctl(sock, "show", "networks")
        assert r.returncode == 0 and re.search(r"^blue\s+vxlan\s+1001\s+-\s+vm1\s+198\.18\.0\.2",
                                               r.stdout, re.M), r.stdout
        assert tunswctl(sock, "network", "add", "green", "--type", "gre", "--id", "77"
                        ).returncode == 0
        pairs = [["00:00:00:00:00:00", "0.0.0.0"], ["fa:16:3e:00:07:07", "10.7.0.7"]]
        # green has no VM port here: skipped, as the OVS agent does
        r = tunswctl(sock, "--json", "l2pop", "add", "-", stdin=json.dumps(
            {"green": {"segment_id": 77, "network_type": "gre", "ports": {"198.18.0.9": pairs}}}))
        assert r.returncode == 0 and json.loads(r.stdout)["result"]["skipped"] == [
            {"network": "green", "reason": "no local port on this network"}], r.stdout
        payload = {"blue": {"segment_id": 1001, "network_type": "vxlan",
                            "ports": {"198.18.0.9": pairs}}}
        r = tunswctl(sock, "l2pop", "add", "-", stdin=json.dumps(payload))
        assert r.returncode == 0, r.stderr
        r = tunswctl(sock, "show", "fdb", "--network", "blue")
        assert re.search(r"^blue\s+fa:16:3e:00:07:07\s+static\s+vxlan/198\.18\.0\.9", r.stdout,
                         re.M), r.stdout
        r = tunswctl(sock, "--json", "show", "arp", "--network", "blue")
        assert {"network": "blue", "ip": "10.7.0.7", "mac": "fa:16:3e:00:07:07"} in \
            json.loads(r.stdout)["result"], r.stdout
        r = tunswctl(sock, "show", "tunnels")
        assert re.search(r"^vxlan\s+198\.18\.0\.9\s+02:00:00:00:00:09\s+no\s+2", r.stdout,
                         re.M), r.stdout
        frame = (REMOTE_MAC.replace(":", "") + VM_MAC.replace(":", "") + "0800" + "00" * 46)
        r = tunswctl(sock, "trace", "vm1", frame)
        assert r.returncode == 0 and "rule R-F3" in r.stdout and "vxlan id 1001 to 198.18.0.2" \
            in r.stdout, r.stdout
        r = tunswctl(sock, "l2pop", "remove", "-", stdin=json.dumps(payload))
        assert r.returncode == 0
        assert "198.18.0.9" not in tunswctl(sock, "show", "tunnels").stdout
        # refused -> 1 with the daemon's reason; usage -> 2; no daemon -> 3
        r = tunswctl(sock, "network", "add", "big", "--id", str(1 << 24))
        assert r.returncode == 1 and "segmentation_id" in r.stderr, r.stderr
        assert tunswctl(sock, "frobnicate").returncode == 2
        r = tunswctl(os.path.join(d, "nope.sock"), "show", "ports")
        assert r.returncode == 3 and "cannot connect" in r.stderr
        for sub in ([], ["show"], ["fdb", "add"], ["l2pop"], ["trace"]):
            r = tunswctl(sock, *(sub + ["--help"]))
            assert r.returncode == 0 and "usage:" in r.stdout, (sub, r.stdout)
        # security groups: defined by call, shown and used by the CLI
        r = tunswctl(sock, "call", "security_group_set", json.dumps(
            {"name": "web", "rules": [{"direction": "ingress", "ethertype": "IPv4",
                                       "protocol": "tcp", "port_range_min": 80,
                                       "port_range_max": 80}]}))
        assert r.returncode == 0, r.stderr
        r = tunswctl(sock, "show", "security-groups")
        assert re.search(r"^web\s+security_group\s+yes\s+1\s+0/0\s+-", r.stdout, re.M), \
            r.stdout
        r = tunswctl(sock, "show", "connections", "--port", "vm1")
        assert r.returncode == 0 and r.stdout.startswith("NETWORK"), (r.stdout, r.stderr)
        r = tunswctl(sock, "--json", "connections", "flush", "--network", "blue")
        assert r.returncode == 0 and json.loads(r.stdout)["result"] == {"flushed": 0}, r.stdout
        r = tunswctl(sock, "show", "connections", "--address", "10.0.0.300")
        assert r.returncode == 1 and "address" in r.stderr, r.stderr
        r = tunswctl(sock, "counters", "reset")
        assert r.returncode == 0
        r = tunswctl(sock, "show", "workers")
        assert re.search(r"^0\s+1\s+2\s+\d+", r.stdout, re.M), r.stdout
        r = tunswctl(sock, "show", "counters")
        assert r.returncode == 0 and re.search(r"^vm1\s+\d+", r.stdout, re.M), r.stdout
    finally:
        rc = sw.stop()
    assert rc == 0, sw.text()[-3000:]


def big_group(n, extra=()):
    """n egress TCP rules, destination port 1000+i from 10.(i/250).(i%250).0/24
    (distinct ACL rules), plus ICMP both ways and extra."""
    rules = [{"direction": "egress", "ethertype": "IPv4", "protocol": "tcp",
              "port_range_min": 1000 + i, "port_range_max": 1000 + i,
              "remote_ip_prefix": "10.%d.%d.0/24" % (i // 250, i % 250)} for i in range(n)]
    rules += [{"direction": "egress", "ethertype": "IPv4", "protocol": "icmp"},
              {"direction": "ingress", "ethertype": "IPv4", "protocol": "icmp"},
              {"direction": "egress", "ethertype": "IPv4", "protocol": "tcp",
               "port_range_min": 22, "port_range_max": 22,
               "remote_ip_prefix": "198.19.1.2/32"}]
    return rules + list(extra)


def tcp_syn(dport, dst="198.19.1.2"):
    """An Ethernet/IPv4/TCP SYN from vm1 (hex), checksums right."""
    import struct

    def csum(b):
        s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
        s = (s >> 16) + (s & 0xffff)
        return (~(s + (s >> 16))) & 0xffff
    src, dsta = socket.inet_aton("198.19.1.1"), socket.inet_aton(dst)
    tcp = struct.pack("!HHIIBBHHH", 40000, dport, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
    tcp = tcp[:16] + struct.pack("!H", csum(src + dsta + struct.pack("!BBH", 0, 6, 20) + tcp)) \
        + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0, 64, 6, 0, src, dsta)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = bytes.fromhex(REMOTE_MAC.replace(":", "") + VM_MAC.replace(":", "")) + b"\x08\x00"
    return (eth + ip + tcp).hex()


def denied(c, frame):
    """Whether vm1's filter drops frame (trace), as sg_deny."""
    r = c.ok("trace", port="vm1", frame=frame)
    assert r["drops"] in ({}, {"sg_deny": 1}), r
    return r["drops"] == {"sg_deny": 1}


@with_topology
def test_rule_sets_built_off_the_management_lcore_while_pinging(d):
    """Security-group rule sets are compiled by a control thread, not the
    management lcore, and published whole: a port given a 1 000-rule group,
    the group changed twice under it and a change that cannot be built
    (33 remote groups) refused with the builder's reason and nothing changed,
    while vm1 pings on through the filter and learning goes on."""
    sw = Daemon(d, control_conf(d, {"control": {"max_request": 1 << 20}}))
    sock = os.path.join(d, "ctl.sock")
    ping = None
    try:
        c = Ctl(sock)
        ping = Pinger()
        c.ok("security_group_set", name="big", rules=big_group(1000))
        c.ok("port_security_set", port="vm1", enabled=True, mac=VM_MAC,
             fixed_ips=["198.19.1.1"], security_groups=["big"])
        counters = c.ok("show_counters")
        before = counters["control"]["rule_set_builds"]
        rx0 = counters["ports"]["vm1"]["rx_pkts"]
        # the rule set is the group's: port 1000+i to 10.x.y.0/24 only
        r = c.ok("trace", port="vm1", frame=tcp_syn(1500, "10.2.0.9"))
        assert not r["drops"] and r["security_group"]["rule"] == "big#500", r
        assert denied(c, tcp_syn(1501, "10.2.0.9"))
        # changed under the port: 1 000 other rules (port 2000+i)
        rules2 = [dict(x, port_range_min=x["port_range_min"] + 1000,
                       port_range_max=x["port_range_max"] + 1000)
                  if x.get("port_range_min", 0) >= 1000 else x for x in big_group(1000)]
        c.ok("security_group_set", name="big", rules=rules2)
        assert not denied(c, tcp_syn(2500, "10.2.0.9"))
        assert denied(c, tcp_syn(1500, "10.2.0.9"))
        # 33 remote groups in one rule set: rte_acl's group field has 32 bits
        bad = big_group(10, [{"direction": "ingress", "ethertype": "IPv4",
                              "remote_group_id": "g%d" % i} for i in range(33)])
        rep = c.call("security_group_set", name="big", rules=bad)
        assert not rep["ok"] and "remote groups" in rep["error"], rep
        shown = {g["name"]: g for g in c.ok("show_security_groups")}
        assert len(shown["big"]["rules"]) == len(rules2) and "g0" not in shown, shown["big"]
        assert not denied(c, tcp_syn(2500, "10.2.0.9"))
        after = c.ok("show_counters")["control"]
        b = after["rule_set_builds"]
        # the port's set, two changes (one refused): all built off the lcore
        assert b["inline"] == before["inline"] == 0, after
        assert b["off_lcore"] >= before["off_lcore"] + 2 and b["rounds"] >= 3, after
        # enough of the ping stream through the filter (a loaded machine
        # may have sent only a few in the time the requests took)
        end = time.time() + 60
        while c.ok("show_counters")["ports"]["vm1"]["rx_pkts"] - rx0 < 24:
            assert time.time() < end, c.ok("show_counters")["ports"]["vm1"]
            time.sleep(0.1)
        sent, got = ping.stop()
        ping = None
        assert sent >= 10 and got >= sent - 2, (sent, got, after)
        print("  rule-set rounds: %d, longest %d us; management slice at most %d us" %
              (b["rounds"], b["max_round_us"], after["max_slice_us"]))
    finally:
        if ping is not None:
            ping.stop()
        rc = sw.stop()
    assert rc == 0, sw.text()[-3000:]


@with_topology
def test_default_vhost_dir_is_made_for_qemu(d):
    """#22, found with Nova and libvirt: QEMU, running as libvirt-qemu
    (group kvm), creates a VM's server socket in vhost_socket_dir. Its
    default is "vhost" beside the control socket, made mode 3775 group kvm
    with the directory above traversable, not listable: a user of group kvm
    binds a socket there and port_add plugs it, that user cannot connect to
    the control socket, and a socket beside the control socket is refused."""
    run = os.path.join(d, "run")
    vd = os.path.join(run, "vhost")
    os.chmod(d, 0o711)                    # the test's directory, as /run is
    qemu = ["setpriv", "--reuid=nobody", "--regid=kvm", "--clear-groups", "/usr/bin/python3",
            "-c"]
    sw = Daemon(d, control_conf(d, {"control": {"socket": run + "/ctl.sock",
                                                "vhost_socket_dir": None}}))
    q = None
    try:
        assert "vhost_socket_dir %s created (mode 3775, group kvm)" % vd in sw.text(), \
            sw.text()[-2000:]
        st = os.stat(vd)
        assert stat.S_IMODE(st.st_mode) == 0o3775 and st.st_gid == grp.getgrnam("kvm").gr_gid, \
            (oct(st.st_mode), st.st_gid)
        up = stat.S_IMODE(os.stat(run).st_mode)
        assert up & 0o001 and not up & 0o004, oct(up)
        q = subprocess.Popen(qemu + ["import socket, sys, time\n"
                                     "s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])\n"
                                     "s.listen(4); print('up', flush=True); time.sleep(120)",
                                     vd + "/vhu-q"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        line = q.stdout.readline()
        assert line.strip() == "up", line + q.stdout.read()
        r = subprocess.run(qemu + ["import socket, sys\n"
                                   "socket.socket(socket.AF_UNIX).connect(sys.argv[1])",
                                   run + "/ctl.sock"], capture_output=True, text=True)
        assert r.returncode != 0 and "PermissionError" in r.stderr, r
        c = Ctl(run + "/ctl.sock")
        assert c.ok("show_info")["vhost_socket_dir"] == vd
        c.ok("port_add", name="vm9", network="red",
             devargs="net_vhost9,iface=%s/vhu-q,client=1" % vd)
        rep = c.call("port_add", name="vm8", network="red",
                     devargs="net_vhost8,iface=%s/vm8.sock" % run)
        assert not rep["ok"] and "vhost_socket_dir" in rep["error"], rep
    finally:
        if q is not None:
            q.kill()
            q.wait()
        rc = sw.stop()
    assert rc == 0, sw.text()[-3000:]


@with_topology
def test_telemetry_shows_tunsw(d):
    """dpdk-telemetry.py shows tunsw's commands."""
    sw, sock = start(d)
    try:
        time.sleep(1)
        q = "/tunsw/info\n/tunsw/port,vm1\n/tunsw/network,blue\n/tunsw/drops\n/tunsw/worker,0\n"
        r = subprocess.run(["dpdk-telemetry.py", "-f", P + "sw"], input=q,
                           capture_output=True, text=True, timeout=30)
        out = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
        by = {list(o)[0]: list(o.values())[0] for o in out}
        assert by["/tunsw/info"]["ports"] == 1 and by["/tunsw/info"]["networks"] == 2, by
        assert by["/tunsw/port"]["network"] == "blue" and "rx_pkts" in by["/tunsw/port"], by
        assert by["/tunsw/network"]["segmentation_id"] == 1001, by
        assert "unknown_id" in by["/tunsw/drops"], by
        assert "busy_cycles" in by["/tunsw/worker"], by
    finally:
        rc = sw.stop()
    assert rc == 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(TOP, "tests", "replay"))
    from tsw import run_tests
    run_tests(globals())
