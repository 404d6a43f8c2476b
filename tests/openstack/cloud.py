"""A real OpenStack control plane for tests: MariaDB, RabbitMQ and Debian's
neutron-server (ML2 with mechanism drivers tunsw and l2population), all
started from a private directory as root, listening on 127.0.0.1 only
(MariaDB on a unix socket), stopped by their PIDs. Plus the tunsw-agents of
the test's compute hosts and a small REST client (auth_strategy = noauth:
every request runs as admin of project fake_project_id).

See ../shared/reference/neutron.md for what the server sends and expects."""
import glob
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
PY = "/usr/bin/python3"
NEEDED = ["/usr/bin/neutron-server", "/usr/bin/neutron-db-manage", "/usr/sbin/mariadbd",
          "/usr/bin/mariadb-install-db", "/usr/lib/rabbitmq/bin/rabbitmq-server", "/usr/bin/epmd"]


def missing():
    """What this machine lacks to run the cloud (empty: nothing)."""
    return [p for p in NEEDED if not os.path.exists(p)]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout, what, proc=None, log=None):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.3)
    tail = open(log).read()[-3000:] if log and os.path.exists(log) else ""
    raise AssertionError("%s not listening on %d after %ss\n%s" % (what, port, timeout, tail))


def stop(proc, grace=15):
    """SIGTERM to the process group, SIGKILL after grace seconds."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


class Cloud:
    def __init__(self, d):
        self.d = d
        self.procs = {}
        self.site = os.path.join(d, "site")
        self.bin = os.path.join(d, "bin")
        for sub in ("log", "etc", "state", "lock", "rmq", "db"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        subprocess.run([os.path.join(TOP, "scripts", "install-networking-tunsw.sh"),
                        self.site, self.bin], check=True, capture_output=True)
        self.env = dict(os.environ, PYTHONPATH=self.site)
        self.amqp_port = free_port()
        self.api_port = free_port()

    def _spawn(self, name, cmd, env=None):
        log = open(os.path.join(self.d, "log", name + ".out"), "w")
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=env or self.env, start_new_session=True, cwd=self.d)
        self.procs[name] = p
        return p

    def log(self, name):
        return os.path.join(self.d, "log", name + ".out")

    # ---- services -----------------------------------------------------------

    def start(self):
        t0 = time.time()
        self._mariadb()
        self._rabbitmq()
        self._neutron_conf()
        r = subprocess.run(["neutron-db-manage", "--config-file", self.conf, "--config-file",
                            self.ml2_conf, "upgrade", "heads"], capture_output=True, text=True,
                           env=self.env)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        self.start_server()
        self.startup_s = time.time() - t0

    def _mariadb(self):
        db = os.path.join(self.d, "db")
        self.db_sock = os.path.join(self.d, "mysql.sock")
        r = subprocess.run(["mariadb-install-db", "--datadir=" + db, "--user=root",
                            "--auth-root-authentication-method=socket"],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        p = self._spawn("mariadb", ["mariadbd", "--datadir=" + db, "--socket=" + self.db_sock,
                                    "--skip-networking", "--user=root",
                                    "--pid-file=" + os.path.join(self.d, "mysql.pid"),
                                    "--log-error=" + self.log("mariadb-err")])
        end = time.time() + 60
        while not os.path.exists(self.db_sock):
            assert p.poll() is None and time.time() < end, open(self.log("mariadb-err")).read()
            time.sleep(0.2)
        sql = ("CREATE DATABASE neutron; CREATE USER 'neutron'@'localhost' IDENTIFIED BY "
               "'tswpw'; GRANT ALL ON neutron.* TO 'neutron'@'localhost';")
        for _ in range(50):
            r = subprocess.run(["mariadb", "-S", self.db_sock, "-u", "root", "-e", sql],
                               capture_output=True, text=True)
            if r.returncode == 0:
                return
            time.sleep(0.2)
        raise AssertionError("mariadb: " + r.stderr)

    def _rabbitmq(self):
        rmq = os.path.join(self.d, "rmq")
        epmd_port = free_port()
        with open(os.path.join(rmq, "enabled_plugins"), "w") as f:
            f.write("[].\n")
        env = dict(os.environ, HOME=rmq, ERL_EPMD_PORT=str(epmd_port),
                   ERL_EPMD_ADDRESS="127.0.0.1")
        self._spawn("epmd", ["epmd", "-address", "127.0.0.1", "-port", str(epmd_port)], env)
        wait_port(epmd_port, 10, "epmd")
        env.update(
            RABBITMQ_NODENAME="tsw%d@localhost" % os.getpid(),
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1", RABBITMQ_NODE_PORT=str(self.amqp_port),
            RABBITMQ_DIST_PORT=str(free_port()),
            RABBITMQ_MNESIA_BASE=os.path.join(rmq, "mnesia"),
            RABBITMQ_LOG_BASE=os.path.join(rmq, "log"),
            RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(rmq, "enabled_plugins"),
            RABBITMQ_CONFIG_FILE=os.path.join(rmq, "rabbitmq"),
            RABBITMQ_ADVANCED_CONFIG_FILE=os.path.join(rmq, "advanced.config"),
            RABBITMQ_CONF_ENV_FILE=os.path.join(rmq, "rabbitmq-env.conf"),
            RABBITMQ_SERVER_ERL_ARGS="+sbwt none +sbwtdcpu none +sbwtdio none",
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}")
        self.rabbit_env = env
        self.start_rabbitmq()

    def start_rabbitmq(self):
        p = self._spawn("rabbitmq", ["/usr/lib/rabbitmq/bin/rabbitmq-server"], self.rabbit_env)
        wait_port(self.amqp_port, 90, "rabbitmq", p, self.log("rabbitmq"))

    def _neutron_conf(self):
        self.transport_url = "rabbit://guest:guest@127.0.0.1:%d/" % self.amqp_port
        self.conf = os.path.join(self.d, "etc", "neutron.conf")
        self.ml2_conf = os.path.join(self.d, "etc", "ml2_conf.ini")
        with open(self.conf, "w") as f:
            f.write("""[DEFAULT]
core_plugin = ml2
service_plugins =
auth_strategy = noauth
bind_host = 127.0.0.1
bind_port = {api}
api_workers = 1
rpc_workers = 1
rpc_state_report_workers = 1
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
transport_url = {url}
state_path = {d}/state
[database]
connection = mysql+pymysql://neutron:tswpw@localhost/neutron?unix_socket={d}/mysql.sock
[oslo_concurrency]
lock_path = {d}/lock
[agent]
report_interval = 5
""".format(api=self.api_port, url=self.transport_url, d=self.d))
        with open(self.ml2_conf, "w") as f:
            f.write("""[ml2]
type_drivers = vxlan,gre,vlan,flat
tenant_network_types = vxlan
mechanism_drivers = tunsw,l2population
extension_drivers = port_security
[ml2_type_vxlan]
vni_ranges = 1001:2000
[ml2_type_gre]
tunnel_id_ranges = 1001:2000
[ml2_type_vlan]
network_vlan_ranges = physnet1:100:199,physnet2:100:199
[ml2_type_flat]
flat_networks = physnet1,physnet2
[securitygroup]
enable_security_group = true
firewall_driver = noop
""")

    def start_server(self):
        p = self._spawn("neutron-server", ["neutron-server", "--config-file", self.conf,
                                           "--config-file", self.ml2_conf, "--log-file",
                                           self.log("server")])
        wait_port(self.api_port, 90, "neutron-server", p, self.log("server"))
        end = time.time() + 60
        while True:                     # the API answers once the plugin is loaded
            try:
                self.get("/networks")
                return
            except (OSError, AssertionError):
                assert time.time() < end and p.poll() is None, open(self.log("server")).read()[-3000:]
                time.sleep(0.5)

    def stop_all(self):
        for name in ("neutron-server", "rabbitmq", "epmd", "mariadb"):
            stop(self.procs.get(name))
        # RabbitMQ's Erlang VM may leave helpers in its session
        for name in list(self.procs):
            stop(self.procs[name], grace=5)

    # ---- agents -------------------------------------------------------------

    def agent_conf(self, host, ctl_sock, sock_dir, extra="", polling_interval=1):
        path = os.path.join(self.d, "etc", "tunsw-agent-%s.ini" % host)
        with open(path, "w") as f:
            f.write("""[DEFAULT]
host = {host}
rpc_response_timeout = 10
[agent]
report_interval = 5
polling_interval = {poll}
[tunsw]
control_socket = {ctl}
vhostuser_socket_dir = {dir}
resync_grace = 3
{extra}""".format(host=host, ctl=ctl_sock, dir=sock_dir, extra=extra, poll=polling_interval))
        return path

    def start_agent(self, host, ini):
        name = "agent-" + host
        log = self.log(name + "-log")
        open(log, "a").close()
        return self._spawn(name, [os.path.join(self.bin, "tunsw-agent"), "--config-file",
                                  self.conf, "--config-file", ini, "--log-file", log])

    def agent_log(self, host):
        with open(self.log("agent-%s-log" % host)) as f:
            return f.read()

    def wait_agent_alive(self, host, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            for a in self.get("/agents")["agents"]:
                if a["host"] == host and a["alive"] and a["agent_type"] == "tunsw agent":
                    return a
            time.sleep(0.5)
        raise AssertionError("agent on %s not alive:\n%s" % (host, self.agent_log(host)[-3000:]))

    # ---- REST ---------------------------------------------------------------

    def request(self, method, path, body=None, expect=(200, 201, 204)):
        c = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=180)
        c.request(method, "/v2.0" + path, body=json.dumps(body) if body is not None else None,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        c.close()
        assert r.status in expect, "%s %s: %d %s" % (method, path, r.status, data[:500])
        return json.loads(data) if data else None

    def get(self, path):
        return self.request("GET", path)

    def create(self, kind, **attrs):
        return self.request("POST", "/%ss" % kind, {kind: attrs})[kind]

    def update(self, kind, rid, **attrs):
        return self.request("PUT", "/%ss/%s" % (kind, rid), {kind: attrs})[kind]

    def delete(self, kind, rid):
        self.request("DELETE", "/%ss/%s" % (kind, rid))

    def port(self, pid):
        return self.get("/ports/" + pid)["port"]

    def wait_ports_active(self, ids, timeout=60, poll=0.3):
        end = time.time() + timeout
        ids = set(ids)
        while True:
            st = {p["id"]: p["status"] for p in self.get("/ports")["ports"] if p["id"] in ids}
            if all(st.get(i) == "ACTIVE" for i in ids):
                return
            assert time.time() < end, "ports not ACTIVE after %ss: %s" % (
                timeout, {i: s for i, s in st.items() if s != "ACTIVE"})
            time.sleep(poll)


def cleanup_leftovers(d):
    """Processes a killed earlier run may have left (by their private dir)."""
    for pid_file in glob.glob(os.path.join(d, "*.pid")):
        try:
            os.kill(int(open(pid_file).read()), signal.SIGKILL)
        except (OSError, ValueError):
            pass
    shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":      # a cloud by hand: python3 cloud.py DIR
    c = Cloud(sys.argv[1])
    c.start()
    print("neutron-server on 127.0.0.1:%d (AMQP %d), up in %.1fs" %
          (c.api_port, c.amqp_port, c.startup_s), flush=True)
    try:
        signal.pause()
    finally:
        c.stop_all()
