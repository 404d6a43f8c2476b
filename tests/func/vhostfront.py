"""A light vhost-user front end (what QEMU is to a vhost-user port), for
scale tests: one process drives hundreds of virtio-net devices, where a
DPDK virtio-user process holds at most 32 ethdevs.

Each device listens on its own Unix socket (QEMU's server mode: tunsw's
port is `client=1`, as Nova makes them), accepts tunsw's connection and
drives the vhost-user protocol as QEMU does: features (VIRTIO_F_VERSION_1
and protocol features, none of them asked for), owner, one memory region
(a slice of a memfd shared by all devices), one queue pair of split rings,
kick and call eventfds, rings enabled. The guest side of the rings is done
here in Python: frames are sent on the TX ring (a 12-byte virtio-net header
of zeros, then the frame) and received on the RX ring, whose buffers are
posted again once read. The device asks not to be interrupted
(VRING_AVAIL_F_NO_INTERRUPT); nothing here kicks: tunsw polls.
"""
import mmap
import os
import resource
import selectors
import socket
import struct
import time

# vhost-user requests
GET_FEATURES, SET_FEATURES, SET_OWNER, SET_MEM_TABLE = 1, 2, 3, 5
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE = 8, 9, 10
SET_VRING_KICK, SET_VRING_CALL = 12, 13
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, SET_VRING_ENABLE = 15, 16, 18
F_VERSION_1 = 1 << 32
F_PROTOCOL_FEATURES = 1 << 30

QSIZE = 8                 # descriptors per ring
BUF = 2048                # bytes per buffer
HDR = 12                  # virtio-net header (VERSION_1)
SLICE = 64 * 1024         # one device's part of the shared memory
GPA0 = 0                  # guest physical address of the memory's start
UVA0 = 0x100000000        # the "front end's" virtual address of it


def raise_nofile():
    """Hundreds of devices need thousands of descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Ring:
    """One split virtqueue at offset off of the shared memory."""

    def __init__(self, mem, off, buf_off):
        self.mem, self.desc, self.buf = mem, off, buf_off
        self.avail = off + 16 * QSIZE
        self.used = (self.avail + 6 + 2 * QSIZE + 3) & ~3
        self.avail_idx = 0
        self.used_seen = 0
        self.free = list(range(QSIZE))
        # no interrupts, please; nothing used yet (a slice used before)
        struct.pack_into("<HH", mem, self.avail, 1, 0)
        struct.pack_into("<HH", mem, self.used, 0, 0)

    def addrs(self):
        return UVA0 + self.desc, UVA0 + self.used, UVA0 + self.avail

    def post(self, d, length, write):
        struct.pack_into("<QIHH", self.mem, self.desc + 16 * d, GPA0 + self.buf + d * BUF,
                         length, 2 if write else 0, 0)
        struct.pack_into("<H", self.mem, self.avail + 4 + 2 * (self.avail_idx % QSIZE), d)
        self.avail_idx = (self.avail_idx + 1) & 0xffff
        struct.pack_into("<H", self.mem, self.avail + 2, self.avail_idx)

    def used_entries(self):
        """(descriptor, length) of each newly used buffer."""
        idx = struct.unpack_from("<H", self.mem, self.used + 2)[0]
        out = []
        while self.used_seen != idx:
            e = self.used + 4 + 8 * (self.used_seen % QSIZE)
            out.append(struct.unpack_from("<II", self.mem, e))
            self.used_seen = (self.used_seen + 1) & 0xffff
        return out


class Device:
    """One virtio-net device behind the socket at path."""

    def __init__(self, front, index, path, legacy=False):
        self.front, self.index, self.path = front, index, path
        self.legacy = legacy      # no protocol features: rings enabled by kick
        self.off = index * SLICE
        self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(path):
            os.unlink(path)
        self.lsock.bind(path)
        self.lsock.listen(1)
        self.lsock.setblocking(False)
        self.conn = None
        self.ready = False
        self.fds = []

    def close(self):
        for s in (self.conn, self.lsock):
            if s is not None:
                s.close()
        for fd in self.fds:
            os.close(fd)
        self.fds, self.conn, self.ready = [], None, False

    # -- the protocol (tunsw answers GET requests only) --

    def msg(self, req, payload=b"", fds=()):
        hdr = struct.pack("<III", req, 0x1, len(payload))
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("%di" % len(fds), *fds))] \
            if fds else []
        self.conn.sendmsg([hdr + payload], anc)

    def reply_u64(self):
        data = b""
        while len(data) < 20:
            chunk = self.conn.recv(20 - len(data))
            if not chunk:
                raise ConnectionError("%s: closed" % self.path)
            data += chunk
        req, flags, size = struct.unpack_from("<III", data)
        assert size == 8, (req, flags, size)
        return struct.unpack_from("<Q", data, 12)[0]

    def setup(self):
        """Drive a freshly accepted connection to a running device."""
        c = self.conn
        c.setblocking(True)
        c.settimeout(30)
        self.msg(GET_FEATURES)
        offered = self.reply_u64()
        want = offered & (F_VERSION_1 | (0 if self.legacy else F_PROTOCOL_FEATURES))
        if want & F_PROTOCOL_FEATURES:
            self.msg(GET_PROTOCOL_FEATURES)
            self.reply_u64()
            self.msg(SET_PROTOCOL_FEATURES, struct.pack("<Q", 0))
        self.msg(SET_OWNER)
        self.msg(SET_FEATURES, struct.pack("<Q", want))
        size = self.front.size
        region = struct.pack("<QQQQ", GPA0, size, UVA0, 0)
        self.msg(SET_MEM_TABLE, struct.pack("<II", 1, 0) + region + bytes(32 * 7),
                 [self.front.memfd])
        mem = self.front.mem
        base = self.off
        # ring 0: the guest's RX; ring 1: its TX; buffers after the rings
        self.rx = Ring(mem, base, base + 4096)
        self.tx = Ring(mem, base + 1024, base + 4096 + QSIZE * BUF)
        for i, ring in enumerate((self.rx, self.tx)):
            kick, call = os.eventfd(0, os.EFD_NONBLOCK), os.eventfd(0, os.EFD_NONBLOCK)
            self.fds += [kick, call]
            self.msg(SET_VRING_NUM, struct.pack("<II", i, QSIZE))
            self.msg(SET_VRING_BASE, struct.pack("<II", i, 0))
            d, u, a = ring.addrs()
            self.msg(SET_VRING_ADDR, struct.pack("<IIQQQQ", i, 0, d, u, a, 0))
            self.msg(SET_VRING_KICK, struct.pack("<Q", i), [kick])
            self.msg(SET_VRING_CALL, struct.pack("<Q", i), [call])
        for d in range(QSIZE):           # every RX buffer offered to tunsw
            self.rx.free.remove(d)
            self.rx.post(d, BUF, True)
        if want & F_PROTOCOL_FEATURES:
            for i in (0, 1):
                self.msg(SET_VRING_ENABLE, struct.pack("<II", i, 1))
        self.ready = True

    # -- frames --

    def send(self, frame):
        """Put one frame on the TX ring; False when the ring is full."""
        for d, _ in self.tx.used_entries():
            self.tx.free.append(d)
        if not self.tx.free:
            return False
        d = self.tx.free.pop()
        o = self.tx.buf + d * BUF
        self.front.mem[o:o + HDR + len(frame)] = bytes(HDR) + frame
        self.tx.post(d, HDR + len(frame), False)
        return True

    def recv(self):
        """Frames tunsw put on the RX ring since the last call (buffers
        posted again)."""
        out = []
        for d, length in self.rx.used_entries():
            o = self.rx.buf + d * BUF
            out.append(bytes(self.front.mem[o + HDR:o + length]))
            self.rx.post(d, BUF, True)
        return out


class Front:
    """n devices on sockets path_of(i), memory for all of them."""

    def __init__(self, paths, legacy=()):
        raise_nofile()
        self.size = max(len(paths), 1) * SLICE
        self.memfd = os.memfd_create("vhostfront", 0)
        os.ftruncate(self.memfd, self.size)
        self.mem = mmap.mmap(self.memfd, self.size)
        self.devs = [Device(self, i, p, i in legacy) for i, p in enumerate(paths)]
        self.sel = selectors.DefaultSelector()
        for dv in self.devs:
            self.sel.register(dv.lsock, selectors.EVENT_READ, dv)

    def accept(self, timeout):
        """Accept and set up connections until every device is ready or
        timeout seconds passed; returns how many are ready."""
        end = time.time() + timeout
        while time.time() < end and not all(d.ready for d in self.devs):
            for key, _ in self.sel.select(0.2):
                dv = key.data
                conn, _ = dv.lsock.accept()
                if dv.conn is not None:      # tunsw came back: a new device
                    dv.conn.close()
                    for fd in dv.fds:
                        os.close(fd)
                    dv.fds, dv.ready = [], False
                dv.conn = conn
                dv.setup()
        return sum(d.ready for d in self.devs)

    def close(self):
        for dv in self.devs:
            dv.close()
        self.mem.close()
        os.close(self.memfd)
