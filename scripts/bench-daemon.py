#!/usr/bin/python3
"""The daemon against DPDK's testpmd, as the issue describes the limit:
testpmd's io forwarding in tunsw's place, on the same devices.

Both are fed by the same generator (tunsw-bench --generator: a virtio-user
guest, vhost-user server, sending the vm->tunnel traffic over MACS
destination MACs) through a net_vhost port, and send into net_null with
no-rx=1 (the uplink sink). Each side runs in its own process on lcore 1
(the measured core; the generator busy-polls lcore 0, which tunsw's
management thread and testpmd's main lcore share without polling):

  testpmd --forward-mode=io --record-core-cycles: its "CPU cycles/packet"
          (busy cycles / packets over the run, as tunsw counts them), and
          its busy share estimated as those cycles times its rate;
  tunsw   the real daemon, the FDB pushed as l2population does (MACS
          entries over 64 remote VTEPs, one add_fdb_entries per VTEP), its
          worker's cycles per packet from show_workers over a window.

Runs PAIRS pairs (testpmd, then tunsw) and prints each and the median
ratio, and the median of the pairs whose tunsw worker the generator kept
at least 97 % busy (a worker fed less polls part-empty bursts, each
packet then carrying more of a poll's cost); --json writes them. Needs
root and hugepages (scripts/bench.sh reserves them). Usage:

  scripts/bench-daemon.py [--macs 65536] [--pairs 3] [--seconds 8] [--json F]
                          [--idle-ports N] [--idle-poll-us US]

With --idle-ports N each pair also runs tunsw with N more VM ports whose
guests (tests/func/vhostfront.py, a light vhost-user front end) are
connected and idle, and compares the busy path's cycles per packet.

(TSW_BUILD: the build directory, default build/.)
"""
import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("TSW_BUILD", os.path.join(ROOT, "build"))
BENCH = os.path.join(BUILD, "app", "tunsw-bench", "tunsw-bench")
TUNSW = os.path.join(BUILD, "app", "tunsw", "tunsw")
TUNNELS = 64
IDLE_POLL_US = 500        # [dataplane] idle_queue_poll_us (--idle-poll-us)
FED_FULLY_PCT = 97        # a pair whose tunsw worker was busier: fed fully


def mac(prefix, i):
    """tunsw-bench's MACs: fa:16:PP:ii:ii:ii."""
    return "fa:16:%02x:%02x:%02x:%02x" % (prefix, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff)


def vtep(t):
    return "198.18.%d.%d" % ((2 + t) >> 8, (2 + t) & 0xff)


def eal(prefix, lcores):
    return ["-l", lcores, "--main-lcore", "0", "--no-pci", "--single-file-segments", "-m", "512",
            "--file-prefix", prefix, "--log-level=*:error"]


def cleanup(prefix):
    subprocess.run("rm -rf /var/run/dpdk/%s /dev/hugepages/%s*" % (prefix, prefix), shell=True)


def generator(d, secs, macs):
    sock = os.path.join(d, "vm1.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    prefix = "tswbdg%d" % os.getpid()
    p = subprocess.Popen([BENCH] + eal(prefix, "0") + ["--", "--generator", sock, "--seconds",
                                                       str(secs), "--macs", str(macs)],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for _ in range(100):                 # the generator is the vhost-user server
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    return p, sock, prefix


def finish(p, prefix):
    out = p.communicate(timeout=120)[0]
    cleanup(prefix)
    m = re.search(r"sent (\d+) frames", out)
    return int(m.group(1)) if m else 0


def run_testpmd(d, secs, macs, warm=3.0):
    gen, sock, gprefix = generator(d, warm + secs + 4, macs)
    prefix = "tswbdt%d" % os.getpid()
    tp = subprocess.Popen(["dpdk-testpmd"] + eal(prefix, "0,1") + [
        "--vdev", "net_vhost0,iface=%s,client=1,queues=1" % sock,
        "--vdev", "net_null0,no-rx=1", "--",
        "--forward-mode=io", "--record-core-cycles", "--nb-cores=1", "--rxq=1", "--txq=1",
        "--stats-period", "1"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True)
    try:
        time.sleep(warm + secs)
        tp.send_signal(signal.SIGTERM)       # testpmd prints its summary and exits
        out = tp.communicate(timeout=30)[0]
    finally:
        if tp.poll() is None:
            tp.kill()
            tp.wait()
        cleanup(prefix)
    finish(gen, gprefix)
    cyc = re.search(r"CPU cycles/packet=([\d.]+)", out)
    # port 0's rate, printed every second: the prints of the last secs seconds
    pps = [int(x) for x in re.findall(r"Rx-pps:\s+(\d+)", out)][0::2][-int(secs):]
    pps = [x for x in pps if x > 0]
    mhz = re.search(r"at (\d+) MHz", out)
    r = {"cycles_per_pkt": float(cyc.group(1)) if cyc else 0.0,
         "mpps": statistics.median(pps) / 1e6 if pps else 0.0}
    # testpmd counts the cycles of its rounds with packets only: its core's
    # busy share over the window is those cycles a packet times the rate
    r["busy_pct"] = (100.0 * r["cycles_per_pkt"] * r["mpps"] / float(mhz.group(1))
                     if mhz else 0.0)
    return r


class Ctl:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.buf = b""
        self.n = 0

    def call(self, op, **kw):
        self.n += 1
        self.s.sendall((json.dumps(dict(id=self.n, op=op, **kw)) + "\n").encode())
        while b"\n" not in self.buf:
            self.buf += self.s.recv(1 << 20)
        line, self.buf = self.buf.split(b"\n", 1)
        rep = json.loads(line)
        if "error" in rep:
            raise RuntimeError("%s: %s" % (op, rep["error"]))
        return rep.get("result")


def config(d, macs):
    s = ["[agent]", "l2_population = true", "", "[tunnel]", "local_ip = 198.18.0.1",
         "types = vxlan", "", "[uplink]", "devargs = net_null0,no-rx=1",
         "mac = fa:16:00:00:00:01", "mtu = 1500", ""]
    for t in range(TUNNELS):
        s += ["[neighbor %s]" % vtep(t), "mac = %s" % mac(0x99, t), ""]
    s += ["[network bench]", "type = vxlan", "segmentation_id = 1001", "",
          "[port vm1]", "devargs = net_vhost0,iface=%s,client=1" % os.path.join(d, "vm1.sock"),
          "network = bench", "", "[dataplane]", "workers = 1", "idle_sleep_us = 0",
          "fdb_size = %d" % (2 * macs + 4096), "mbufs = 16384", "stats_interval = 0",
          "idle_queue_poll_us = %d" % IDLE_POLL_US, "",
          "[control]", "socket = %s" % os.path.join(d, "ctl.sock"), ""]
    path = os.path.join(d, "tunsw.conf")
    with open(path, "w") as f:
        f.write("\n".join(s))
    return path


def idle_ports(ctl, d, n):
    """n more VM ports in network bench, each with a guest device of the
    light vhost-user front end (tests/func/vhostfront.py) that never sends:
    idle guests beside the busy one. Returns the front end."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "func"))
    from vhostfront import Front
    socks = [os.path.join(d, "vhost", "idle%d.sock" % i) for i in range(n)]   # vhost_socket_dir
    front = Front(socks)
    for i, sock in enumerate(socks):
        ctl.call("port_add", name="idle%d" % i, network="bench",
                 devargs="net_vhost_idle%d,iface=%s,client=1" % (i, sock))
        if i % 50 == 49:
            front.accept(0.05)
    if front.accept(120) != n:
        raise RuntimeError("idle guests: %d of %d set up" % (front.accept(0), n))
    return front


def run_tunsw(d, secs, macs, warm=3.0, idle=0):
    conf = config(d, macs)
    prefix = "tswbdd%d" % os.getpid()
    ctl_path = os.path.join(d, "ctl.sock")
    if os.path.exists(ctl_path):
        os.unlink(ctl_path)
    # tunsw first, the FDB pushed before any frame: then the generator
    sw = subprocess.Popen([TUNSW] + eal(prefix, "0,1") + ["--", "--config", conf],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(200):
            if os.path.exists(ctl_path):
                break
            if sw.poll() is not None:
                raise RuntimeError("tunsw exited: " + sw.stderr.read())
            time.sleep(0.05)
        ctl = Ctl(ctl_path)
        per = macs // TUNNELS
        for t in range(TUNNELS):      # flows spread over all MACs, MAC i behind VTEP i % 64
            ports = [["00:00:00:00:00:00", "0.0.0.0"]] + [
                [mac(0x3e, i), "10.%d.%d.%d" % ((i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff)]
                for i in range(t, macs, TUNNELS)]
            ctl.call("add_fdb_entries", fdb_entries={"bench": {
                "segment_id": 1001, "network_type": "vxlan", "ports": {vtep(t): ports}}})
        assert per > 0
        front = idle_ports(ctl, d, idle) if idle else None
        gen, _, gprefix = generator(d, secs + warm + 2, macs)
        time.sleep(warm)
        w0 = ctl.call("show_workers")[0]
        c0 = ctl.call("show_counters")
        time.sleep(secs)
        w1 = ctl.call("show_workers")[0]
        c1 = ctl.call("show_counters")
        finish(gen, gprefix)
        if front is not None:
            front.close()
    finally:
        sw.send_signal(signal.SIGINT)
        try:
            sw.wait(timeout=20)
        except subprocess.TimeoutExpired:
            sw.kill()
            sw.wait()
        cleanup(prefix)
    dp = w1["pkts"] - w0["pkts"]
    return {"cycles_per_pkt": (w1["busy_cycles"] - w0["busy_cycles"]) / dp if dp else 0.0,
            "mpps": dp / secs / 1e6,
            "busy_pct": 100.0 * (w1["busy_cycles"] - w0["busy_cycles"]) /
            max(1, w1["busy_cycles"] + w1["idle_cycles"] - w0["busy_cycles"] - w0["idle_cycles"]),
            "drops": c1["total_drops"] - c0["total_drops"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--macs", type=int, default=65536)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--json")
    ap.add_argument("--idle-ports", type=int, default=0,
                    help="also run tunsw with this many idle guests' ports beside the busy "
                    "one (light vhost-user front end), and compare")
    ap.add_argument("--idle-poll-us", type=int, default=500,
                    help="the daemon's [dataplane] idle_queue_poll_us (500)")
    a = ap.parse_args()
    global IDLE_POLL_US
    IDLE_POLL_US = a.idle_poll_us
    if a.macs < TUNNELS:
        sys.exit("--macs: at least %d (one per tunnel)" % TUNNELS)
    pairs = []
    with tempfile.TemporaryDirectory(prefix="tswbd") as d:
        for k in range(a.pairs):
            io = run_testpmd(d, a.seconds, a.macs)
            sw = run_tunsw(d, a.seconds, a.macs)
            ratio = sw["cycles_per_pkt"] / io["cycles_per_pkt"] if io["cycles_per_pkt"] else 0
            mratio = sw["mpps"] / io["mpps"] if io["mpps"] else 0
            pairs.append({"testpmd_io": io, "tunsw": sw, "ratio": ratio, "mpps_ratio": mratio})
            print("pair %d: testpmd io %.1f cycles/pkt %.2f Mpps (busy %.1f %%) | tunsw %.1f "
                  "cycles/pkt %.2f Mpps (busy %.1f %%, %d drops) | %.2fx cycles, %.2fx Mpps" % (
                      k + 1, io["cycles_per_pkt"], io["mpps"], io["busy_pct"],
                      sw["cycles_per_pkt"], sw["mpps"], sw["busy_pct"], sw["drops"], ratio,
                      mratio), flush=True)
            if a.idle_ports:
                si = run_tunsw(d, a.seconds, a.macs, idle=a.idle_ports)
                pairs[-1]["tunsw_idle_ports"] = si
                pairs[-1]["idle_ratio"] = (si["cycles_per_pkt"] / sw["cycles_per_pkt"]
                                           if sw["cycles_per_pkt"] else 0)
                print("        tunsw with %d idle guests' ports beside: %.1f cycles/pkt "
                      "%.2f Mpps (%d drops) | %.2fx the cycles without them" % (
                          a.idle_ports, si["cycles_per_pkt"], si["mpps"], si["drops"],
                          pairs[-1]["idle_ratio"]), flush=True)
    res = {"path": "daemon vm->tunnel vxlan vs testpmd io", "macs": a.macs, "tunnels": TUNNELS,
           "bytes": 64, "pairs": pairs,
           "ratio_to_io": statistics.median(p["ratio"] for p in pairs),
           "mpps_ratio_to_io": statistics.median(p["mpps_ratio"] for p in pairs)}
    print("median: tunsw %.2fx testpmd io's cycles per packet, %.2fx its Mpps" % (
        res["ratio_to_io"], res["mpps_ratio_to_io"]))
    # A worker the generator did not keep busy polls part-empty bursts,
    # whose cost per packet is higher: the pairs fed fully, apart.
    full = [p["ratio"] for p in pairs if p["tunsw"]["busy_pct"] >= FED_FULLY_PCT]
    res["fed_fully_pct"] = FED_FULLY_PCT
    res["fed_fully_pairs"] = len(full)
    res["fed_fully_ratio_to_io"] = statistics.median(full) if full else None
    if full:
        print("median of the %d of %d pairs with tunsw's worker %d %% busy or more: %.2fx" % (
            len(full), len(pairs), FED_FULLY_PCT, res["fed_fully_ratio_to_io"]))
    else:
        print("no pair kept tunsw's worker %d %% busy: the generator set the pace" %
              FED_FULLY_PCT)
    if a.idle_ports:
        res["idle_ports"] = a.idle_ports
        res["idle_ratio"] = statistics.median(p["idle_ratio"] for p in pairs)
        print("median: with %d idle guests' ports beside, %.2fx the busy path's cycles per "
              "packet" % (a.idle_ports, res["idle_ratio"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
