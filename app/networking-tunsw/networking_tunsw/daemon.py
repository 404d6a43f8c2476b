"""Client of tunsw's control socket (doc/control-api.md): one JSON request
per line, one reply per request, in order. Safe to share between green
threads: a call holds the connection until its reply is in."""
import json
import socket
import threading


class Unreachable(Exception):
    """The daemon cannot be reached (no socket, refused, closed, timeout)."""


class Refused(Exception):
    """The daemon refused a request; field and reason say why."""

    def __init__(self, op, reply):
        self.op = op
        self.field = reply.get("field")
        self.reason = reply.get("reason")
        super().__init__("%s refused: %s" % (op, reply.get("error")))


class Daemon:
    def __init__(self, path, timeout=30.0):
        self.path = path
        self.timeout = timeout
        self._sock = None
        self._buf = b""
        self._id = 0
        self._lock = threading.Lock()

    def close(self):
        with self._lock:
            self._close()

    def _close(self):
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._sock = None
        self._buf = b""

    def _connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self.path)
        except OSError as e:
            s.close()
            raise Unreachable("%s: %s" % (self.path, e.strerror or e)) from None
        self._sock = s

    def _readline(self):
        while b"\n" not in self._buf:
            chunk = self._sock.recv(1 << 20)
            if not chunk:
                raise Unreachable("%s: the daemon closed the connection" % self.path)
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line

    def call(self, op, **args):
        """The result of op, or Refused / Unreachable. A broken connection is
        reopened by the next call."""
        with self._lock:
            if self._sock is None:
                self._connect()
            self._id += 1
            rid = self._id
            req = dict(args, op=op, id=rid)
            try:
                self._sock.sendall((json.dumps(req) + "\n").encode())
                reply = json.loads(self._readline())
            except (OSError, ValueError, Unreachable) as e:
                self._close()
                if isinstance(e, Unreachable):
                    raise
                raise Unreachable("%s: %s" % (self.path, e)) from None
            if reply.get("id") != rid:
                self._close()
                raise Unreachable("%s: reply %r to request %d" % (self.path, reply.get("id"), rid))
        if not reply.get("ok"):
            raise Refused(op, reply)
        return reply.get("result")
