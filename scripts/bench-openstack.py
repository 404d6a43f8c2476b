#!/usr/bin/python3
"""OpenStack figures (not a timed test; doc/performance.md has the numbers):

1. l2population apply rate in the daemon: one add_fdb_entries payload with
   the whole table of a network (as neutron-server sends a host when it gets
   its first port there, or on a resync), N ports behind R remote VTEPs; then
   the update (chg_ip of every port) and the remove of the same payload.
2. The agent's time from port binding to ACTIVE against a real
   neutron-server (tests/openstack/cloud.py): a port is created bound to the
   host, then polled until Neutron says ACTIVE; repeated, median and worst.

    scripts/bench-openstack.py [--ports 1000,10000,100000] [--remotes 100] [--bindings 20]
                               [--skip-cloud] [--json FILE]

Root; hugepages are not needed (the daemon runs --no-huge on net_ring)."""
import argparse
import json
import random
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "openstack"))
sys.path.insert(0, os.path.join(TOP, "tests", "func"))
BUILD = os.environ.get("TSW_BUILD", os.path.join(TOP, "build"))
TUNSW = os.path.join(BUILD, "app", "tunsw", "tunsw")
NET = "0e7d3c1a-5b2f-4a4e-9d1c-2f6b8a9c0d11"

CONF = """
[agent]
l2_population = true
arp_responder = true
[tunnel]
local_ip = 198.18.0.1
types = vxlan, gre
[uplink]
devargs = net_ring0
mac = 02:00:00:00:00:01
[dataplane]
idle_sleep_us = 100
mbufs = 8192
fdb_size = {fdb}
[control]
socket = {d}/ctl.sock
vhost_socket_dir = {d}/vhu
max_request = 67108864
"""


class Ctl:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.f = self.s.makefile("rb")

    def call(self, op, **kw):
        self.s.sendall((json.dumps(dict(kw, op=op)) + "\n").encode())
        rep = json.loads(self.f.readline())
        assert rep["ok"], rep
        return rep["result"]


def start_daemon(d, fdb, prefix):
    with open(os.path.join(d, "tunsw.conf"), "w") as f:
        f.write(CONF.format(d=d, fdb=fdb))
    log = open(os.path.join(d, "tunsw.log"), "w+")
    p = subprocess.Popen([TUNSW, "-l", "0-1", "--no-pci", "--no-huge", "--no-shconf", "-m",
                          "1024", "--file-prefix", prefix, "--", "--config",
                          os.path.join(d, "tunsw.conf")], stdout=log, stderr=subprocess.STDOUT)
    end = time.time() + 30
    while not os.path.exists(os.path.join(d, "ctl.sock")):
        assert p.poll() is None and time.time() < end, open(log.name).read()
        time.sleep(0.1)
    time.sleep(0.5)
    return p


def apply_rate(ports, remotes):
    d = tempfile.mkdtemp(prefix="tswbos")
    p = start_daemon(d, max(65536, 2 * ports), "tswbos")
    try:
        c = Ctl(os.path.join(d, "ctl.sock"))
        c.call("network_add", name=NET, type="vxlan", segmentation_id=1001)

        def mac(i):
            return "fa:16:3e:%02x:%02x:%02x" % (i >> 16 & 255, i >> 8 & 255, i & 255)

        def ip(i, base=10):
            return "%d.%d.%d.%d" % (base, i >> 16 & 255, i >> 8 & 255, i & 255)

        by_remote = {}
        for i in range(ports):
            by_remote.setdefault("198.18.%d.%d" % (1 + (i % remotes) // 250,
                                                   2 + (i % remotes) % 250), []).append(i)
        table = {r: [["00:00:00:00:00:00", "0.0.0.0"]] + [[mac(i), ip(i)] for i in idx]
                 for r, idx in by_remote.items()}
        payload = {NET: {"segment_id": 1001, "network_type": "vxlan", "ports": table}}
        table2 = {r: [["00:00:00:00:00:00", "0.0.0.0"]] + [[mac(i), ip(i, 11)] for i in idx]
                  for r, idx in by_remote.items()}
        payload2 = {NET: {"segment_id": 1001, "network_type": "vxlan", "ports": table2}}
        chg = {"chg_ip": {NET: {r: {"before": [[mac(i), ip(i)] for i in idx],
                                    "after": [[mac(i), ip(i, 11)] for i in idx]}
                                for r, idx in by_remote.items()}}}
        out = {"ports": ports, "remotes": remotes}
        for name, op, body in (("add", "add_fdb_entries", payload),
                               ("add_again", "add_fdb_entries", payload),
                               ("update", "update_fdb_entries", chg),
                               ("remove", "remove_fdb_entries", payload2)):
            t0 = time.perf_counter()
            res = c.call(op, fdb_entries=body)
            dt = time.perf_counter() - t0
            out[name] = {"seconds": round(dt, 3), "entries_per_s": round(ports / dt),
                         "result": {k: v for k, v in res.items() if k != "skipped"}}
            print("l2pop %-9s %6d ports / %3d remotes: %8.3f s  %9.0f entries/s  %s" % (
                name, ports, remotes, dt, ports / dt, out[name]["result"]), flush=True)
        out["under_load"] = probe_while(c, os.path.join(d, "ctl.sock"), payload, ports)
        return out
    finally:
        p.terminate()
        p.wait()
        shutil.rmtree(d, ignore_errors=True)


def probe_while(c, sock, payload, ports):
    """The table added again after a remove, once in one request and once
    cut as the agent cuts it (resync.chunks, 2000 entries a request), while
    a second client asks show_info every millisecond: how long the other
    clients wait meanwhile. The daemon's own figure for the learn path is
    show_counters' control.max_slice_us (the longest the management lcore
    spent applying changes between two learn polls)."""
    import multiprocessing
    sys.path.insert(0, os.path.join(TOP, "app", "networking-tunsw"))
    from networking_tunsw import resync
    out = {}
    for mode in ("one_request", "chunks_of_2000"):
        c.call("remove_fdb_entries", fdb_entries=payload)
        parts = [payload] if mode == "one_request" else \
            resync.chunks("add_fdb_entries", payload, 2000)
        # the probe in a process of its own: a thread here would wait for
        # this one's JSON encoding (the GIL), not for tunsw
        stop, res = multiprocessing.Event(), multiprocessing.Queue()

        def probe():
            pc = Ctl(sock)
            lat = []
            while not stop.is_set():
                t0 = time.perf_counter()
                pc.call("show_info")
                lat.append(time.perf_counter() - t0)
                time.sleep(0.001)
            res.put(lat)

        lines = [(json.dumps({"op": "add_fdb_entries", "fdb_entries": part}) + "\n").encode()
                 for part in parts]
        th = multiprocessing.Process(target=probe)
        th.start()
        time.sleep(0.2)
        t0 = time.perf_counter()
        for line in lines:
            c.s.sendall(line)
            assert json.loads(c.f.readline())["ok"]
        dt = time.perf_counter() - t0
        time.sleep(0.05)
        stop.set()
        lat = res.get()
        th.join()
        lat.sort()
        out[mode] = {"requests": len(parts), "seconds": round(dt, 3),
                     "probe_max_ms": round(lat[-1] * 1e3, 2),
                     "probe_p99_ms": round(lat[int(len(lat) * 0.99)] * 1e3, 2),
                     "probes": len(lat)}
        print("l2pop add %6d ports as %-15s %4d requests %7.3f s; another client waited "
              "at most %6.2f ms (p99 %.2f ms, %d probes)" % (
                  ports, mode, len(parts), dt, out[mode]["probe_max_ms"],
                  out[mode]["probe_p99_ms"], len(lat)), flush=True)
    out["control"] = c.call("show_counters")["control"]
    print("management lcore: at most %d us applying changes between two learn polls "
          "(%d steps, %d slices cut)" % (out["control"]["max_slice_us"], out["control"]["steps"],
                                         out["control"]["slices_cut"]), flush=True)
    return out


def binding_to_active(n, polling_interval):
    import cloud
    d = tempfile.mkdtemp(prefix="tswbos")
    cl = cloud.Cloud(os.path.join(d, "cloud"))
    daemon = None
    try:
        cl.start()
        os.makedirs(os.path.join(d, "vhu"))
        daemon = start_daemon(d, 4096, "tswbosb")
        ini = cl.agent_conf("bench-host", os.path.join(d, "ctl.sock"), os.path.join(d, "vhu"),
                            polling_interval=polling_interval)
        cl.start_agent("bench-host", ini)
        cl.wait_agent_alive("bench-host")
        net = cl.create("network", name="bench")
        cl.create("subnet", network_id=net["id"], cidr="10.30.0.0/24", ip_version=4,
                  enable_dhcp=False)
        times = {"no_vm": [], "vm_starts": []}
        for i in range(2 * n):
            mode = "vm_starts" if i % 2 else "no_vm"
            t0 = time.time()
            p = cl.create("port", network_id=net["id"], device_owner="compute:nova",
                          device_id="bench%d" % i, **{"binding:host_id": "bench-host"})
            qemu = None
            if mode == "vm_starts":     # QEMU, paused, serves the port's socket
                qemu = socket.socket(socket.AF_UNIX)
                qemu.bind(p["binding:vif_details"]["vhostuser_socket"])
                qemu.listen(1)
            cl.wait_ports_active([p["id"]], timeout=60, poll=0.02)
            times[mode].append(time.time() - t0)
            if qemu is not None:
                qemu.close()
                os.unlink(p["binding:vif_details"]["vhostuser_socket"])
            cl.delete("port", p["id"])
            time.sleep(0.5 + random.uniform(0, polling_interval))   # any phase of the poll
        out = {"polling_interval": polling_interval, "n": n}
        for mode, t in times.items():
            out[mode] = {"median_s": round(statistics.median(t), 3),
                         "min_s": round(min(t), 3), "max_s": round(max(t), 3)}
            print("binding -> ACTIVE (%s, polling_interval %d s, %d ports): median %.2f s, "
                  "min %.2f s, max %.2f s" % (mode, polling_interval, n, out[mode]["median_s"],
                                             out[mode]["min_s"], out[mode]["max_s"]),
                  flush=True)
        return out
    finally:
        cl.stop_all()
        if daemon is not None:
            daemon.terminate()
            daemon.wait()
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ports", default="1000,10000,100000",
                    help="table sizes, comma-separated")
    ap.add_argument("--remotes", type=int, default=100)
    ap.add_argument("--bindings", type=int, default=20)
    ap.add_argument("--skip-cloud", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args()
    res = {"l2pop": [apply_rate(int(n), a.remotes) for n in a.ports.split(",")]}
    if not a.skip_cloud:
        res["binding"] = [binding_to_active(a.bindings, pi) for pi in (2, 1)]
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)


if __name__ == "__main__":
    main()
