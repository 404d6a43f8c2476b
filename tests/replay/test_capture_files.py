"""Capture files in and out of tunsw-replay (#12): a dpdk-dumpcap-style
pcapng file with several interfaces replays with each interface mapped to
its port (by the device dumpcap records, by the port's name, or chosen on
the command line), the frames a port sent (outbound) are not inputs, and
the pcapng output (one interface per port) holds what the classic pcap
files hold. The pcapng input files are written here, independently of
tunsw's writer, as DPDK 22.11's dumpcap writes them: interfaces named
"dpdk:N" with the device in if_hardware ("vdev-net_vhost1"), every frame's
direction in epb_flags."""
import os
import struct
import subprocess
import tempfile

from tsw import *

IN, OUT = 1, 2


def opt(code, val):
    return struct.pack("<HH", code, len(val)) + val + b"\0" * (-len(val) % 4)


def block(btype, body):
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def write_dumpcap(path, devices, frames):
    """devices: DPDK device names (interface i is "dpdk:i"); frames: (time,
    interface, bytes, direction). Nanosecond timestamps, as dumpcap."""
    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) +
                opt(4, b"dpdk-dumpcap") + opt(0, b""))
    for i, dev in enumerate(devices):
        out += block(1, struct.pack("<HHI", 1, 0, 0) + opt(9, b"\x09") +
                     opt(2, b"dpdk:%d" % i) + opt(15, b"vdev-" + dev.encode()) + opt(0, b""))
    for t, i, data, d in frames:
        ns = int(round(t * 1e9))
        out += block(6, struct.pack("<IIIII", i, ns >> 32, ns & 0xffffffff, len(data),
                                    len(data)) + data + b"\0" * (-len(data) % 4) +
                     opt(2, struct.pack("<I", d)) + opt(0, b""))
    with open(path, "wb") as f:
        f.write(out)


def replay(d, args, expect_rc=0):
    cfg = os.path.join(d, "tunsw.conf")
    with open(cfg, "w") as f:
        f.write(render_config(standard_sections()))
    out = os.path.join(d, "out-%d" % len(os.listdir(d)))
    os.makedirs(out)
    p = subprocess.run([REPLAY, "--config", cfg, "--out-dir", out] + args,
                       capture_output=True, text=True, timeout=120)
    if p.returncode != expect_rc:
        raise AssertionError("tunsw-replay exited %d (want %d): %s" %
                             (p.returncode, expect_rc, p.stderr[-2000:]))
    return (Result(out, []) if expect_rc == 0 else None), p.stderr


def traffic():
    """vm1 (net_vhost1) talks to a remote VM behind R2 (net_null0, the
    uplink): ARP-less unicast both ways, so that learning on both sides
    changes what later frames do."""
    remote = mac(0x51)
    return [
        (1.000, "uplink", bytes(vxlan(frame(remote, BCAST), 1001))),
        (1.001, "vm1", bytes(frame(mac(1), remote))),
        (1.002, "uplink", bytes(vxlan(frame(remote, mac(1)), 1001))),
        (1.003, "vm1", bytes(frame(mac(1), BCAST))),
        (1.004, "vm2", bytes(frame(mac(2), mac(1)))),
        (1.005, "uplink", bytes(vxlan(frame(remote, mac(2)), 1001))),
    ]


DEVICES = ["net_null0", "net_vhost1", "net_vhost2", "net_vhost3"]
IFACE = {"uplink": 0, "vm1": 1, "vm2": 2}


def same(a, b):
    for p in ("uplink", "vm1", "vm2", "vm3", "vm4", "vm5"):
        eq(a.out(p), b.out(p), "output on " + p)
        eq(a.times(p), b.times(p), "times on " + p)
    eq(a.fdb(), b.fdb(), "FDB")
    eq(a.state["counters"], b.state["counters"], "counters")


def test_dumpcap_capture_maps_interfaces_by_device():
    """One file, three interfaces with frames (and one without), given
    as --in FILE: the same forwarding as the frames given port by port."""
    with tempfile.TemporaryDirectory(prefix="tswcap") as d:
        ng = os.path.join(d, "cap.pcapng")
        write_dumpcap(ng, DEVICES, [(t, IFACE[p], b, IN) for t, p, b in traffic()])
        eq([(i, b, dr) for _, i, b, dr in pcapng_blocks(ng)[1]],
           [(IFACE[p], b, IN) for _, p, b in traffic()], "the helpers agree")
        got, _ = replay(d, ["--in", ng])
        want = run(traffic())
        same(got, want)
        assert got.out("vm1") and got.out("uplink") and got.out("vm2"), "forwarded"
        eq(got.port("vm2")["rx_pkts"], 1, "vm2's frame went in on vm2")


def test_outbound_frames_are_not_inputs():
    """dumpcap records both directions; what tunsw sent on a port
    (epb_flags outbound) is not fed back in."""
    sent = [(1.0015, IFACE["uplink"], bytes(vxlan(frame(mac(1), mac(0x51)), 1001)), OUT),
            (1.0025, IFACE["vm1"], bytes(frame(mac(0x51), mac(1))), OUT)]
    with tempfile.TemporaryDirectory(prefix="tswcap") as d:
        ng = os.path.join(d, "cap.pcapng")
        write_dumpcap(ng, DEVICES, [(t, IFACE[p], b, IN) for t, p, b in traffic()] + sent)
        got, err = replay(d, ["--in", ng])
        same(got, run(traffic()))
        assert "2 outbound frames" in err, err


def test_interface_chosen_by_name_or_device_or_index():
    """--in NAME=FILE:INTERFACE takes that interface's frames only, as
    NAME's input; the interface by device, dumpcap's name or index."""
    with tempfile.TemporaryDirectory(prefix="tswcap") as d:
        ng = os.path.join(d, "cap.pcapng")
        write_dumpcap(ng, DEVICES, [(t, IFACE[p], b, IN) for t, p, b in traffic()])
        vm1_frames = [(t, "vm3", b) for t, p, b in traffic() if p == "vm1"]
        want = run(vm1_frames)
        for sel in ("net_vhost1", "dpdk:1", "1", "vdev-net_vhost1"):
            got, _ = replay(d, ["--in", "vm3=%s:%s" % (ng, sel)])
            same(got, want)
            eq(got.port("vm3")["rx_pkts"], 2, "vm1's two frames in on vm3 (%s)" % sel)


def test_one_name_for_several_interfaces_is_refused():
    with tempfile.TemporaryDirectory(prefix="tswcap") as d:
        ng = os.path.join(d, "cap.pcapng")
        write_dumpcap(ng, DEVICES, [(t, IFACE[p], b, IN) for t, p, b in traffic()])
        _, err = replay(d, ["--in", "vm1=" + ng], expect_rc=1)
        assert "pick one with NAME=FILE:INTERFACE" in err, err
        _, err = replay(d, ["--in", "vm1=%s:net_tap0" % ng], expect_rc=1)
        assert 'no interface "net_tap0"' in err, err


def test_interface_of_no_port_is_refused():
    with tempfile.TemporaryDirectory(prefix="tswcap") as d:
        ng = os.path.join(d, "cap.pcapng")
        write_dumpcap(ng, ["net_null0", "net_tap0"],
                      [(1.0, 1, bytes(frame(mac(1), BCAST)), IN)])
        _, err = replay(d, ["--in", ng], expect_rc=1)
        assert 'hardware "vdev-net_tap0"' in err and "no port" in err, err


def test_pcap_and_pcapng_outputs_hold_the_same():
    """--out-format pcap writes NAME.pcap files; the default pcapng file
    has an interface per port (named after it, described by its device)
    with the same frames and times."""
    ng = run(traffic())
    pc = run(traffic(), out_format="pcap")
    assert not hasattr(pc, "ifaces"), "pcap output read from NAME.pcap"
    same(ng, pc)
    eq(ng.ifaces[:3], [("uplink", "net_null0"), ("vm1", "net_vhost1"), ("vm2", "net_vhost2")],
       "interfaces")


def test_port_added_by_control_gets_an_interface():
    """A port created by a control request gets its interface then; its
    frames are there."""
    ctl = [(0.5, {"op": "port_add", "name": "vm9", "network": "blue",
                  "devargs": "net_vhost9,iface=/run/tunsw/vhost/vm9.sock"})]
    r = run([(1.0, "vm1", frame(mac(1), BCAST))], control=ctl)
    r.ok_replies()
    eq(r.ifaces[-1], ("vm9", "net_vhost9"), "vm9's interface")
    eq(len(r.out("vm9")), 1, "vm1's broadcast reached vm9")


if __name__ == "__main__":
    run_tests(globals())
