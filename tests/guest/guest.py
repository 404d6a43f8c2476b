"""A Linux guest under QEMU (TCG) attached over vhost-user, as Nova starts
one: shared guest memory (memfd), virtio-net-pci on a vhost-user netdev.
Its serial console is a UNIX socket on which the tests run shell commands
(tests/guest/mkguest.sh builds the kernel and initramfs).

QEMU 7.2 under TCG crashes in msix_set_vector_notifiers when vhost-user
starts unless the NIC has vectors=0 (no MSI-X: the guest uses INTx)."""
import os
import re
import signal
import socket
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
IMAGE = os.environ.get("TSW_GUEST_IMAGE", os.path.join(TOP, "build", "guest"))


def build_image():
    """The guest's kernel and initramfs (built once, under build/guest)."""
    subprocess.run([os.path.join(HERE, "mkguest.sh"), IMAGE], check=True, timeout=600)
    return os.path.join(IMAGE, "vmlinuz"), os.path.join(IMAGE, "initrd.gz")


class QemuGuest:
    """server=True: QEMU owns the vhost-user socket (tunsw's client=1 mode,
    what Nova does); else QEMU connects to tunsw's socket and reconnects
    when tunsw restarts."""

    def __init__(self, d, name, vhost_sock, mac, ip, gw=None, mtu=None, server=False,
                 iperf=False, mem_mb=256, queues=1):
        kernel, initrd = build_image()
        self.name = name
        self.console_path = os.path.join(d, name + ".console")
        self.log_path = os.path.join(d, name + ".qemu.log")
        append = "console=ttyS0 quiet panic=-1 tsw.ip=%s" % ip
        if gw:
            append += " tsw.gw=%s" % gw
        if mtu:
            append += " tsw.mtu=%d" % mtu
        if iperf:
            append += " tsw.iperf=1"
        chardev = "socket,id=c0,path=%s" % vhost_sock + \
            (",server=on,wait=off" if server else ",reconnect=1")
        self.cmd = ["qemu-system-x86_64", "-machine", "q35,accel=tcg,memory-backend=mem",
                    "-m", "%dM" % mem_mb, "-smp", "1",
                    "-object", "memory-backend-memfd,id=mem,size=%dM,share=on" % mem_mb,
                    "-kernel", kernel, "-initrd", initrd, "-append", append,
                    "-display", "none", "-nodefaults", "-no-reboot",
                    "-serial", "unix:%s,server=on,wait=off" % self.console_path,
                    "-chardev", chardev,
                    "-netdev", "vhost-user,id=n0,chardev=c0,queues=%d" % queues,
                    "-device", "virtio-net-pci,netdev=n0,mac=%s,vectors=0%s" %
                    (mac, ",mq=on" if queues > 1 else "")]
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.sock = None
        self.buf = b""

    def _connect(self, timeout):
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise AssertionError("qemu exited %s: %s" % (self.proc.returncode,
                                                            open(self.log_path).read()[-2000:]))
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(self.console_path)
                s.settimeout(0.2)
                self.sock = s
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("no console socket from qemu")

    def _read_until(self, pattern, timeout):
        end = time.time() + timeout
        rx = re.compile(pattern)
        while time.time() < end:
            m = rx.search(self.buf)
            if m:
                out = self.buf[:m.end()]
                self.buf = self.buf[m.end():]
                return out, m
            try:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise AssertionError("guest console closed")
                self.buf += chunk
            except socket.timeout:
                pass
        raise AssertionError("guest %s: no %r in %ds; console: %r" %
                             (self.name, pattern, timeout, self.buf[-1500:]))

    def wait_booted(self, timeout=120):
        """Until the guest's shell answers (TCG boots in ~10 s)."""
        t0 = time.time()
        self._connect(30)
        end = t0 + timeout
        while True:
            self.sock.sendall(b"\necho BOOT$((40+2))OK\n")
            try:
                self._read_until(rb"BOOT42OK", 2)
                return time.time() - t0
            except AssertionError:
                if time.time() > end:
                    raise

    def run(self, cmd, timeout=60):
        """Run a shell command in the guest: (exit status, output)."""
        self.buf = b""
        self.sock.sendall(cmd.encode() + b"; echo __RC$((0))__$?__\n")
        out, m = self._read_until(rb"__RC0__(\d+)__", timeout)
        text = out.decode(errors="replace")
        end = text.rfind("\n", 0, m.start())    # output: after the echoed command line
        echo = text.find("__RC$((0))__$?__")
        start = text.find("\n", echo) + 1 if echo >= 0 else 0
        return int(m.group(1)), text[start:end + 1].replace("\r\n", "\n") if end >= start else ""

    def ok(self, cmd, timeout=60):
        rc, out = self.run(cmd, timeout)
        assert rc == 0, "guest %s: '%s' exited %d:\n%s" % (self.name, cmd, rc, out)
        return out

    def stop(self):
        if self.sock is not None:
            self.sock.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
