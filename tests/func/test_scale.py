"""Scale tests of the tunsw daemon: a thousand vhost-user VM ports on one
worker, driven by a light vhost-user front end of our own (vhostfront.py:
one process, a device per port) since a DPDK virtio-user process holds 32
ethdevs. Needs root."""
import os
import random
import struct
import sys
import time

from tswfunc import TOP, Ctl, Daemon, conf, with_topology
from vhostfront import Front

N_PORTS = int(os.environ.get("TSW_SCALE_PORTS", "1000"))


def mac(i):
    return bytes([0x02, 0x5c, 0, 0, i >> 8 & 255, i & 255])


def frame(dst, src, seq):
    """A 64-byte Ethernet frame of an experimental ethertype carrying seq."""
    return dst + src + b"\x88\xb5" + struct.pack("<I", seq) + bytes(46)


def wait_frames(front, dev, want, timeout=10):
    """Frames device dev received until one satisfies want(frame) or the
    deadline: (found, every frame seen)."""
    seen = []
    end = time.time() + timeout
    while time.time() < end:
        for f in front.devs[dev].recv():
            seen.append(f)
            if want(f):
                return True, seen
        time.sleep(0.001)
    return False, seen


def drain(front, devs):
    for d in devs:
        front.devs[d].recv()


def exchange(front, a, b, seq):
    """a sends to b, b answers a (unicast both ways once b is learned):
    None, or what went wrong."""
    fa = frame(mac(b), mac(a), seq)
    if not front.devs[a].send(fa):
        return "port %d: TX ring full" % a
    ok, seen = wait_frames(front, b, lambda f: f == fa)
    if not ok:
        return "port %d never got port %d's frame %d (%d other frames)" % (b, a, seq, len(seen))
    fb = frame(mac(a), mac(b), seq + 1)
    front.devs[b].send(fb)
    ok, seen = wait_frames(front, a, lambda f: f == fb)
    if not ok:
        return "port %d never got port %d's answer %d" % (a, b, seq + 1)
    return None


def wait_connected(ctl):
    """Until every port's guest device is up in the daemon, both of its
    queues enabled."""
    end = time.time() + 60
    while time.time() < end:
        ports = ctl.ok("show_ports")
        up = sum(1 for p in ports if p.get("guest_connected") and p.get("rx_queues") == [0]
                 and p.get("tx_queues") == [0])
        if up == N_PORTS:
            break
        time.sleep(0.2)
    assert len(ports) == N_PORTS and up == N_PORTS, "%d of %d ports with a guest: %s" % (
        up, len(ports), [p for p in ports if not p.get("guest_connected")][:3])


@with_topology
def test_thousand_vm_ports_one_worker(d):
    """#22: 1 000 vhost-user VM ports (client mode, as Nova makes them) added
    through the control socket to one tunsw with one worker; a guest
    device behind every port (two of them without vhost-user protocol
    features: their rings are enabled by the kick, and DPDK 22.11's library
    reports that too).
    Every port's guest is seen connected; frames between random pairs of
    ports arrive (the first flooded to all 1 000, then unicast both ways);
    50 ports deleted and added again while pairs keep exchanging; the
    1 000th port forwards. Printed: the time to add a port with 999
    present and the daemon's memory per port."""
    conf_text = conf(d, {"network blue": {"type": "vxlan", "segmentation_id": 1001},
                         "dataplane": {"mbufs": 65536, "fdb_size": 65536}})
    socks = [os.path.join(d, "g%d.sock" % i) for i in range(N_PORTS)]
    front = Front(socks, legacy=(3, N_PORTS - 2))
    sw = Daemon(d, conf_text, mem_mb=2048)
    ctl = Ctl(os.path.join(d, "ctl.sock"), timeout=120)
    try:
        rss0 = sw.rss_kb()
        times = []
        for i, sock in enumerate(socks):
            t0 = time.time()
            ctl.ok("port_add", name="p%d" % i, network="blue",
                   devargs="net_vhost_p%d,iface=%s,client=1" % (i, sock))
            times.append(time.time() - t0)
            if i % 50 == 49:
                front.accept(0.05)        # answer the daemon's connections meanwhile
        ready = front.accept(120)
        rss1 = sw.rss_kb()
        print("1 000 ports: add %.1f ms median, %.1f ms the last (999 present), "
              "%.1f ms the slowest; daemon RSS +%.0f KB per port" % (
                  sorted(times)[len(times) // 2] * 1e3, times[-1] * 1e3, max(times) * 1e3,
                  (rss1 - rss0) / N_PORTS))
        assert ready == N_PORTS, "%d of %d guest devices set up" % (ready, N_PORTS)
        wait_connected(ctl)
        rnd = random.Random(22)
        seq = 0
        pairs = [(rnd.randrange(N_PORTS), rnd.randrange(N_PORTS)) for _ in range(20)]
        pairs += [(N_PORTS - 1, 0), (3, N_PORTS - 2)]     # the 1 000th; the legacy ones
        for a, b in pairs:
            if a == b:
                continue
            err = exchange(front, a, b, seq)
            assert err is None, err
            seq += 2
        # 50 ports go and come back while others exchange frames
        gone = rnd.sample(range(10, N_PORTS - 10), min(50, N_PORTS - 20))
        for k, i in enumerate(gone):
            ctl.ok("port_del", name="p%d" % i)
            if k % 10 == 0:
                err = exchange(front, 0, N_PORTS - 1, seq)
                assert err is None, "while ports are deleted: " + err
                seq += 2
        assert len(ctl.ok("show_ports")) == N_PORTS - len(gone)
        for i in gone:
            ctl.ok("port_add", name="p%d" % i, network="blue",
                   devargs="net_vhost_p%d,iface=%s,client=1" % (i, socks[i]))
        for dv in front.devs:
            if dv.index in gone:
                dv.ready = False
        assert front.accept(60) == N_PORTS
        wait_connected(ctl)       # the daemon has set the new devices up too
        for a, b in [(gone[0], gone[1]), (N_PORTS - 1, gone[2]), (gone[3], 0)]:
            drain(front, (a, b))
            err = exchange(front, a, b, seq)
            assert err is None, "after the ports came back: " + err
            seq += 2
        c = ctl.ok("show_counters")
        print("drops: %s" % {k: v for k, v in c.get("drops", {}).items() if v})
    finally:
        ctl.close()
        rc = sw.stop()
        front.close()
    assert rc == 0, sw.text()[-3000:]


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(TOP, "tests", "replay"))
    from tsw import run_tests
    run_tests(globals())
