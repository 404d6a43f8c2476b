"""Shared parts of the functional tests: the daemon under test, namespaces,
cleanup. Needs root."""
import atexit
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
TUNSW = os.environ.get("TSW_DAEMON", os.path.join(TOP, "build", "app", "tunsw", "tunsw"))
TUNSWCTL = os.path.join(TOP, "app", "tunswctl", "tunswctl")
TOPO = os.path.join(TOP, "scripts", "netns-topology.sh")
P = "tf%d" % (os.getpid() % 1000)


# every tunsw (and guest) process a test started: stopped at the end of its
# topology and when the test program exits, whatever happened (a start-up
# that timed out on a loaded machine left daemons running for 40 minutes)
STARTED = []


def stop_all():
    """Stop every process this program started that still runs."""
    for proc in STARTED:
        interrupt(proc)
    STARTED.clear()


atexit.register(stop_all)

# The tests' tunsw.conf: this base, updated by each test's parts (conf()).
BASE_CONF = {
    "tunnel": {"local_ip": "198.18.0.1", "types": "vxlan"},
    "uplink": {"devargs": "net_af_packet0,iface=" + P + "up", "mac": "02:00:00:00:00:01"},
    # 2-core test machine: a worker with nothing to do naps, leaving the CPU
    # to the kernel hosts, ping and scapy
    "dataplane": {"idle_sleep_us": 100, "mbufs": 8192, "fdb_size": 4096},
    # run-time ports' sockets beside the control socket (the default, its
    # directory's "vhost", is tested by test_control)
    "control": {"socket": "{d}/ctl.sock", "vhost_socket_dir": "{d}"},
}


def conf(d, *parts):
    """The text of a tunsw.conf for a daemon in directory d: BASE_CONF
    updated by each part in turn, a dict {section: {key: value}} (a value
    None drops the key, a section None drops the section); "{d}" in a value
    is d. Sections come out in the order first named ([agent] first)."""
    secs = {}
    for part in (BASE_CONF,) + parts:
        for name, keys in part.items():
            if keys is None:
                secs.pop(name, None)
                continue
            cur = secs.setdefault(name, {})
            for k, v in keys.items():
                if v is None:
                    cur.pop(k, None)
                else:
                    cur[k] = v
    order = sorted(secs, key=lambda n: n != "agent")
    out = []
    for name in order:
        out.append("[%s]" % name)
        out.extend("%s = %s" % (k, str(v).replace("{d}", d)) for k, v in secs[name].items())
    return "\n".join(out) + "\n"


def interrupt(proc):
    """SIGINT, as Ctrl-C would; SIGKILL after 20 s. Returns the exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def sh(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True, text=True, **kw)


GUEST_SHORT = "guest came up without all its ports"
RETRY_START = ("PACKET_FANOUT", GUEST_SHORT)


def start_retrying_fanout(start):
    """Call start(), which raises AssertionError with the process's output
    when the process did not come up, again while that failure is one a new
    try can cure (RETRY_START): a PACKET_FANOUT collision (DPDK 22.11's
    af_packet PMD names its fanout group (pid ^ ifindex) & 0xffff, so two
    DPDK processes with af_packet ports, tunsw and a guest's testpmd or two
    tunsw, often collide and the second cannot create its port; a new pid
    gets a new group), or a guest whose testpmd lost a port in its probe and
    went on without it."""
    for attempt in range(4):
        try:
            return start()
        except AssertionError as e:
            if not any(m in str(e) for m in RETRY_START) or attempt == 3:
                raise
    raise AssertionError("unreachable")


class Daemon:
    """tunsw on lcores 0-1 (worker on 1) with config text conf, in dir d."""

    def __init__(self, d, conf, huge=False, lcores=("-l", "0-1"), prefix=None, mem_mb=512):
        self.d = d
        self.conf = os.path.join(d, "tunsw.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.cmd = ([TUNSW] + list(lcores) + ["--no-pci"] +
                    (["-m", "256"] if huge else ["--no-huge", "--no-shconf", "-m", str(mem_mb)]) +
                    ["--file-prefix", prefix or P + "sw", "--log-level=lib.eal:warning", "--",
                     "--config", self.conf, "--stats-interval", "1"])
        start_retrying_fanout(self._start)

    def _start(self):
        self.log = open(os.path.join(self.d, "tunsw.log"), "w+")
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=subprocess.STDOUT)
        STARTED.append(self.proc)
        try:
            self.wait_for("tunsw: running", 20)
        except BaseException:
            interrupt(self.proc)     # never left running by a start that failed
            raise

    def text(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def wait_for(self, what, timeout):
        end = time.time() + timeout
        while time.time() < end:
            if what in self.text():
                return
            if self.proc.poll() is not None:
                raise AssertionError("tunsw exited %s:\n%s" % (self.proc.returncode, self.text()))
            time.sleep(0.2)
        raise AssertionError("tunsw: no '%s' in %ss:\n%s" % (what, timeout, self.text()))

    def stop(self):
        return interrupt(self.proc)

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


class Guest:
    """A VM's virtio-net: testpmd with virtio-user on the vhost-user socket,
    io-forwarding to an af_packet port on iface (the VM namespace's veth).
    Main lcore 1, forwarding lcore 0: never on tunsw's worker core (1)."""

    def __init__(self, d, sock, iface, server=False, prefix=None, queues=1, extra=()):
        """queues > 1: a multiqueue guest, all its queue pairs enabled; what
        the namespace sends is spread over them (the af_packet port's
        queues, a fanout by flow) and forwarded queue by queue."""
        self.prefix = prefix or P + "vm"
        self.server = server
        self.n_ports = 2          # virtio-user and af_packet
        self.log_path = os.path.join(d, "guest.log" if prefix is None else prefix + ".log")
        vdev = "virtio_user0,path=%s,queues=%d%s" % (sock, queues, ",server=1" if server else "")
        self.cmd = ["dpdk-testpmd", "-l", "0-1", "--main-lcore", "1", "--no-pci",
                    "--single-file-segments", "--file-prefix", self.prefix, "-m", "256",
                    "--vdev", vdev, "--vdev", "net_af_packet1,iface=%s,qpairs=%d" % (iface, queues),
                    "--", "--stats-period", "10", "--forward-mode=io", "--nb-cores=1",
                    "--no-mlockall", "--rxq=%d" % queues, "--txq=%d" % queues] + list(extra)
        start_retrying_fanout(self._start)

    def _start(self):
        shutil.rmtree("/var/run/dpdk/%s" % self.prefix, ignore_errors=True)   # an earlier try's
        for path in glob.glob("/dev/hugepages/%s*" % self.prefix):
            os.unlink(path)
        with open(self.log_path, "w") as log:   # this try's output only
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        STARTED.append(self.proc)
        if self.server:
            # virtio-user in server mode waits in its probe for tunsw to
            # connect, which the test does later: still running after 2 s is up
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                return
        else:
            # A client probes at once: up when testpmd forwards on all its
            # ports (n_ports). A port whose probe failed (virtio-user not
            # connected, af_packet not created) is left out by testpmd,
            # which then forwards one port to itself: the VM unreachable.
            end = time.time() + 60
            while self.proc.poll() is None and time.time() < end:
                with open(self.log_path) as f:
                    m = re.search(r"packet forwarding - ports=(\d+)", f.read())
                if m and int(m.group(1)) == self.n_ports:
                    return
                if m:
                    interrupt(self.proc)
                    raise AssertionError("%s (ports=%s of %d):\n%s" %
                                         (GUEST_SHORT, m.group(1), self.n_ports,
                                          open(self.log_path).read()[-2000:]))
                time.sleep(0.1)
            if self.proc.poll() is None:
                interrupt(self.proc)
                raise AssertionError("guest testpmd did not start forwarding in 60 s:\n%s" %
                                     open(self.log_path).read()[-2000:])
        raise AssertionError("guest testpmd exited %s:\n%s" %
                             (self.proc.returncode, open(self.log_path).read()[-2000:]))

    def stop(self):
        interrupt(self.proc)


class Ctl:
    """A control socket client speaking newline-delimited JSON."""

    def __init__(self, path, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.next_id = 1

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, op, **args):
        rid = self.next_id
        self.next_id += 1
        self.send_raw((json.dumps(dict(args, op=op, id=rid)) + "\n").encode())
        return rid

    def recv(self):
        # a reply may be 100 MB (a million FDB entries): look for the end in
        # each new chunk only, join once (the daemon closes a client that
        # takes request_timeout to read its replies)
        parts = [self.buf]
        while b"\n" not in parts[-1]:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError("control socket closed")
            parts.append(chunk)
        line, self.buf = b"".join(parts).split(b"\n", 1)
        return json.loads(line)

    def call(self, op, **args):
        rid = self.send(op, **args)
        rep = self.recv()
        assert rep["id"] == rid, (rep, rid)
        return rep

    def ok(self, op, **args):
        rep = self.call(op, **args)
        assert rep["ok"], rep
        return rep["result"]

    def close(self):
        self.sock.close()


def ping(ns, dst, count=5, deadline=20):
    r = subprocess.run(["ip", "netns", "exec", ns, "ping", "-c", str(count), "-i", "0.2",
                        "-w", str(deadline), dst], capture_output=True, text=True)
    m = re.search(r"(\d+) received", r.stdout)
    return int(m.group(1)) if m else 0


def wait_reachable(ns, dst, timeout=30):
    """Ping once a second until dst answers (a guest's virtio-user takes a
    moment to attach; ARP on every hop resolves on the first frames)."""
    end = time.time() + timeout
    while time.time() < end:
        r = subprocess.run(["ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "1", dst],
                           capture_output=True, text=True)
        if r.returncode == 0:
            return
    raise AssertionError("%s: %s unreachable for %ds" % (ns, dst, timeout))


def counters(text, row):
    m = re.search(r"^%s\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)" % re.escape(row), text, re.M)
    assert m, "no counter row %s in:\n%s" % (row, text)
    return [int(x) for x in m.groups()]


def cleanup_dpdk_files():
    """EAL runtime dirs and hugepage files of this test's prefixes."""
    for path in glob.glob("/var/run/dpdk/%s*" % P):
        shutil.rmtree(path, ignore_errors=True)
    for path in glob.glob("/dev/hugepages/%s*" % P):
        os.unlink(path)


def dump_logs(d, lines=40):
    """What a failed test started said: the last lines of each log in d
    (tunsw's, the guests', the peers')."""
    for path in sorted(glob.glob(os.path.join(d, "*.log"))):
        try:
            with open(path, errors="replace") as f:
                tail = f.read().splitlines()[-lines:]
        except OSError as e:
            tail = ["(unreadable: %s)" % e]
        print("---- %s (last %d lines) ----" % (os.path.basename(path), len(tail)))
        print("\n".join(tail))


def with_topology(fn):
    def wrapper():
        sh(TOPO, "up", P, "vxlan")
        d = tempfile.mkdtemp(prefix="tswfunc")
        try:
            fn(d)
        except BaseException:
            dump_logs(d)
            raise
        finally:
            stop_all()
            sh(TOPO, "down", P)
            cleanup_dpdk_files()
            shutil.rmtree(d, ignore_errors=True)
    wrapper.__name__ = fn.__name__
    return wrapper


