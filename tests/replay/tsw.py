"""Replay-test helpers: build a config and input pcaps, run tunsw-replay,
read back every port's output (out.pcapng, one interface per port, read
here independently of tunsw's writer; or NAME.pcap files) and state.json.

Tests are plain functions named test_<RULE>_<what>; run_tests() runs the
ones of a module, prints one line per test and a closing summary line,
and exits non-zero when one failed.
"""
import json
import logging
import os
import struct
import subprocess
import sys
import tempfile
import time
import traceback

from scapy.all import (ARP, Dot1Q, Ether, GRE, ICMP, IP, UDP, VXLAN, Raw,
                       rdpcap, wrpcap, conf as scapy_conf)

scapy_conf.verb = 0
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

REPLAY = os.environ.get("TSW_REPLAY", os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "app", "tunsw-replay", "tunsw-replay"))

LOCAL_IP = "198.18.0.1"
UPLINK_MAC = "02:00:00:00:00:01"
R2, R3, R9 = "198.18.0.2", "198.18.0.3", "198.18.0.9"
R2_MAC, R3_MAC = "02:00:00:00:00:02", "02:00:00:00:00:03"
BCAST = "ff:ff:ff:ff:ff:ff"


def mac(n):
    """VM MAC number n (Neutron's fa:16:3e prefix)."""
    return "fa:16:3e:00:00:%02x" % n


def standard_sections():
    """Two VXLAN networks and one GRE network, five VM ports, two remotes."""
    return {
        "agent": {},
        "tunnel": {"local_ip": LOCAL_IP, "types": "vxlan, gre"},
        "uplink": {"devargs": "net_null0", "mac": UPLINK_MAC, "mtu": "1500"},
        "neighbor " + R2: {"mac": R2_MAC},
        "neighbor " + R3: {"mac": R3_MAC},
        "remote " + R2: {"type": "vxlan, gre"},
        "remote " + R3: {"type": "vxlan, gre"},
        "network blue": {"type": "vxlan", "segmentation_id": "1001"},
        "network red": {"type": "vxlan", "segmentation_id": "1002"},
        "network green": {"type": "gre", "segmentation_id": "2001"},
        "port vm1": {"devargs": "net_vhost1,iface=/tmp/x1", "network": "blue"},
        "port vm2": {"devargs": "net_vhost2,iface=/tmp/x2", "network": "blue"},
        "port vm3": {"devargs": "net_vhost3,iface=/tmp/x3", "network": "red"},
        "port vm4": {"devargs": "net_vhost4,iface=/tmp/x4", "network": "green"},
        "port vm5": {"devargs": "net_vhost5,iface=/tmp/x5", "network": "green"},
    }


def render_config(sections):
    out = []
    for name, keys in sections.items():
        if keys is None:
            continue
        out.append("[%s]" % name)
        out.extend("%s = %s" % kv for kv in keys.items())
        out.append("")
    return "\n".join(out)


def vxlan(inner, vni, src=R2, src_mac=R2_MAC, sport=40000, dst=LOCAL_IP, **ip):
    return (Ether(src=src_mac, dst=UPLINK_MAC) / IP(src=src, dst=dst, **ip) /
            UDP(sport=sport, dport=4789) / VXLAN(vni=vni, flags=0x08) / inner)


def gre(inner, key, src=R2, src_mac=R2_MAC, dst=LOCAL_IP, **ip):
    return (Ether(src=src_mac, dst=UPLINK_MAC) / IP(src=src, dst=dst, **ip) /
            GRE(key_present=1, key=key, proto=0x6558) / inner)


def frame(src, dst, payload=b"x" * 46, ethertype=0x0800):
    """A plain Ethernet frame with an opaque payload."""
    return Ether(src=src, dst=dst, type=ethertype) / Raw(payload)


def pcapng_blocks(path):
    """A pcapng file as its blocks say, read here independently of tunsw's
    code: its interfaces [{"name", "descr", "hw", "tsresol"}] (if_name,
    if_description, if_hardware, if_tsresol; interface ids start again in
    each section) and its enhanced packet blocks [(time_s, interface,
    bytes, direction)] (epb_flags bits 0-1, 0 without the option). Checks
    every block's two lengths, either byte order."""
    with open(path, "rb") as f:
        buf = f.read()
    off, ifaces, frames, order, base = 0, [], [], "<", 0
    while off < len(buf):
        btype, blen = struct.unpack_from(order + "II", buf, off)
        if btype == 0x0A0D0D0A:
            order = "<" if struct.unpack_from("<I", buf, off + 8)[0] == 0x1A2B3C4D else ">"
            blen = struct.unpack_from(order + "I", buf, off + 4)[0]
            base = len(ifaces)
        assert blen >= 12 and blen % 4 == 0 and off + blen <= len(buf), (path, off, blen)
        assert struct.unpack_from(order + "I", buf, off + blen - 4)[0] == blen, (path, off)
        body = buf[off + 8:off + blen - 4]
        if btype in (1, 6):
            if btype == 6:
                ifid, hi, lo, cap, orig = struct.unpack_from(order + "IIIII", body, 0)
                assert cap == orig and base + ifid < len(ifaces), (path, off)
            opts = body[8:] if btype == 1 else body[20 + (cap + 3) // 4 * 4:]
            o, vals = 0, {}
            while o + 4 <= len(opts):
                code, ln = struct.unpack_from(order + "HH", opts, o)
                if code == 0:
                    break
                vals[code] = opts[o + 4:o + 4 + ln]
                o += 4 + (ln + 3) // 4 * 4
            if btype == 1:
                ifaces.append({"name": vals[2].decode() if 2 in vals else None,
                               "descr": vals.get(3, b"").decode(),
                               "hw": vals.get(15, b"").decode(),
                               "tsresol": vals[9][0] if 9 in vals else 6})
            else:
                res = ifaces[base + ifid]["tsresol"]
                per_s = 2 ** (res & 0x7f) if res & 0x80 else 10 ** res
                d = struct.unpack(order + "I", vals[2])[0] & 3 if 2 in vals else 0
                frames.append(((hi << 32 | lo) / per_s, base + ifid, bytes(body[20:20 + cap]), d))
        off += blen
    return ifaces, frames


def read_pcapng(path):
    """tunsw-replay's out.pcapng: frames per interface name {name: [(time_s,
    bytes)]} and its interfaces in order [(name, description)].
    Interfaces of one name are one port's (deleted and added again);
    nanosecond resolution (if_tsresol 9) is required, as tunsw-replay
    writes it."""
    ifaces, frames = pcapng_blocks(path)
    out = {}
    for ifc in ifaces:
        assert ifc["tsresol"] == 9 and ifc["name"] is not None, (path, ifc)
        out.setdefault(ifc["name"], [])
    for t, i, data, _ in frames:
        out[ifaces[i]["name"]].append((t, data))
    return out, [(ifc["name"], ifc["descr"]) for ifc in ifaces]


class Result:
    def __init__(self, out_dir, names):
        self.raw = {}
        self.time = {}
        with open(os.path.join(out_dir, "state.json")) as f:
            self.state = json.load(f)
        ng = os.path.join(out_dir, "out.pcapng")
        if os.path.exists(ng):
            frames, self.ifaces = read_pcapng(ng)
            for n, fr in frames.items():
                self.raw[n] = [b for _, b in fr]
                self.time[n] = [t for t, _ in fr]
            names = []
        names = set(names) | {f[:-5] for f in os.listdir(out_dir)
                              if f.endswith(".pcap") and not f.startswith("in-")}
        for n in names:
            path = os.path.join(out_dir, n + ".pcap")
            if not os.path.exists(path):
                continue
            pkts = rdpcap(path) if os.path.getsize(path) > 24 else []
            self.raw[n] = [bytes(p) for p in pkts]
            self.time[n] = [float(p.time) for p in pkts]
        self.replies = []
        path = os.path.join(out_dir, "control.jsonl")
        if os.path.exists(path):
            with open(path) as f:
                self.replies = [json.loads(line) for line in f]

    def out(self, port):
        return self.raw[port]

    def times(self, port):
        """Transmit times (pcap clock) of port's frames."""
        return self.time[port]

    def pkts(self, port):
        return [Ether(b) for b in self.raw[port]]

    def drops(self):
        return {k: v for k, v in self.state["counters"]["drops"].items() if v}

    def fdb(self, network=None):
        return {e["mac"]: e for e in self.state["fdb"]
                if network is None or e["network"] == network}

    def port(self, name):
        return self.state["counters"]["ports"][name]

    def arp(self, network=None):
        return {e["ip"]: e["mac"] for e in self.state["arp"]
                if network is None or e["network"] == network}

    def tunnels(self):
        return {(t["type"], t["remote"]): t for t in self.state["tunnels"]}

    def flood(self, network):
        return sorted(next(n["flood"] for n in self.state["networks"] if n["name"] == network))

    def ok_replies(self):
        """Assert every control request was accepted; return the results."""
        for r in self.replies:
            if not r.get("ok"):
                raise AssertionError("control request refused: %r" % r)
        return [r["result"] for r in self.replies]


def run(inputs, sections=None, expect_rc=0, control=None, out_format=None):
    """inputs: list of (time_s, port_name, scapy_frame_or_bytes).
    control: list of (time_s, request dict) for --control.
    out_format: None (tunsw-replay's default, pcapng) or "pcap".
    Returns a Result after running tunsw-replay."""
    sections = sections if sections is not None else standard_sections()
    with tempfile.TemporaryDirectory(prefix="tswtest") as d:
        cfg = os.path.join(d, "tunsw.conf")
        with open(cfg, "w") as f:
            f.write(render_config(sections))
        per_port = {}
        for t, port, fr in inputs:
            p = Raw(bytes(fr))      # exact bytes, whatever they are
            p.time = t
            per_port.setdefault(port, []).append(p)
        args = [REPLAY, "--config", cfg, "--out-dir", d]
        if out_format is not None:
            args += ["--out-format", out_format]
        for port, pkts in per_port.items():
            path = os.path.join(d, "in-%s.pcap" % port)
            wrpcap(path, pkts, linktype=1)
            args += ["--in", "%s=%s" % (port, path)]
        if control is not None:
            path = os.path.join(d, "control-in.jsonl")
            with open(path, "w") as f:
                for i, (t, req) in enumerate(control):
                    f.write(json.dumps(dict(req, ts=t, id=req.get("id", i + 1))) + "\n")
            args += ["--control", path]
        proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
        if proc.returncode != expect_rc:
            raise AssertionError("tunsw-replay exited %d (want %d): %s" %
                                 (proc.returncode, expect_rc, proc.stderr[-2000:]))
        if expect_rc != 0:
            return proc
        names = [k.split(" ", 1)[1] for k in sections if k.startswith("port ")] + ["uplink"]
        return Result(d, names)


def eq(a, b, what=""):
    if a != b:
        raise AssertionError("%s: got %r, want %r" % (what, a, b))


class Skip(Exception):
    """Raised by a test that cannot run on this machine (reason given)."""


def run_tests(module_globals):
    names = sorted(n for n in module_globals if n.startswith("test_"))
    only = sys.argv[1:]
    passed = failed = skipped = 0
    for n in names:
        if only and not any(o in n for o in only):
            continue
        t0 = time.time()
        try:
            module_globals[n]()
            print("PASS %s (%.1fs)" % (n, time.time() - t0))
            passed += 1
        except Skip as e:
            print("SKIP %s: %s" % (n, e))
            skipped += 1
        except Exception:  # noqa: BLE001 - report every failure
            print("FAIL %s (%.1fs)" % (n, time.time() - t0))
            traceback.print_exc(file=sys.stdout)
            failed += 1
    if skipped:
        print("%d skipped" % skipped)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or passed == 0 else 0)
