#!/usr/bin/python3
"""TCP throughput of a real guest through a VXLAN tunnel: tunsw beside
Open vSwitch with its DPDK datapath (Debian's openvswitch-switch-dpdk, 3.1),
the same QEMU guest (TCG; tests/guest) and the same remote host (a Linux
kernel VXLAN device in a namespace), in one run.

    scripts/bench-guests.py [SECONDS]        (root; default 5 s per iperf3)
    BENCH_ROWS=tunsw/1450/on,ovs-dpdk/1450/off scripts/bench-guests.py   (some rows)

For each switch, MTU (guest 1450 on a 1500 underlay, 8950 on 9000) and
offload setting (tunsw: net_vhost tso=1 and [dataplane] gro; OVS:
other_config:userspace-tso-enable), iperf3 TCP guest -> remote and
remote -> guest. One guest boot per row. OVS runs in a namespace of its own
that holds the uplink's veth end and the address 198.18.0.1 (nothing in the
root namespace), one PMD thread on core 1, a single bridge with the guest's
vhost-user port (QEMU the server, OVS the client, as with Nova) and a VXLAN
port (key 1001) plus br-phy with the af_packet uplink, as Neutron's
tunnelling setup has it. Prints a table and one JSON object on its last line.
A row that cannot be measured is reported with the reason, never as 0."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "func"))
sys.path.insert(0, os.path.join(TOP, "tests", "guest"))
from guest import QemuGuest  # noqa: E402
from tswfunc import P, TOPO, Daemon, cleanup_dpdk_files, sh  # noqa: E402
from test_daemon import config  # noqa: E402
from test_guest import jumbo_config, jumbo_underlay  # noqa: E402

VSWITCHD = "/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk"
SECS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
MAC = "02:00:00:00:01:01"


def iperf(vm, reverse):
    srv = subprocess.Popen(["ip", "netns", "exec", P + "rem", "iperf3", "-s", "-1"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        # a stalled transfer must not hang the guest's console
        rc, out = vm.run("timeout %d iperf3 -c 198.19.1.2 -t %d -f m%s" %
                         (30 + SECS, SECS, " -R" if reverse else ""), timeout=90 + SECS)
    finally:
        srv.kill()
        srv.wait()
    rate = re.findall(r"([\d.]+) Mbits/sec.*receiver", out)
    if rc != 0 or not rate:
        return None, "iperf3 failed (exit %d): %s" % (rc, out.strip()[-160:])
    return float(rate[-1]), None


def measure(vm):
    vm.wait_booted()
    rc, out = vm.run("ping -c 3 -W 2 198.19.1.2", timeout=30)
    if rc != 0:
        return {"error": "no ping through the tunnel"}
    feats = vm.ok("ethtool -k eth0 | grep -E '^(tcp-segmentation-offload|tx-checksumming):'")
    row = {"guest_tso": "tcp-segmentation-offload: on" in feats}
    for name, rev in (("guest_to_remote", False), ("remote_to_guest", True)):
        rate, err = iperf(vm, rev)
        row[name] = rate if rate is not None else err
    return row


def tunsw_row(d, mtu, offload):
    conf = jumbo_config(d) if mtu == 8950 else config(d)
    if offload:
        conf = conf.replace("vm1.sock", "vm1.sock,tso=1")
    else:
        conf = conf.replace("[dataplane]", "[dataplane]\ngro = false")
    conf = conf.replace("idle_sleep_us = 100", "idle_sleep_us = 0")   # busy poll, as OVS's PMD
    sw = Daemon(d, conf, lcores=("--lcores", "0@0,1@1"))
    vm = QemuGuest(d, "vm1", os.path.join(d, "vm1.sock"), MAC, "198.19.1.1/24", mtu=mtu,
                   iperf=True)
    try:
        return measure(vm)
    finally:
        vm.stop()
        sw.stop()


class Ovs:
    def __init__(self, d, mtu, tso):
        self.d = d
        self.ns = P + "ovs"
        self.prefix = P + "ovsd"
        env = dict(os.environ, OVS_RUNDIR=d, OVS_DBDIR=d, OVS_LOGDIR=d)
        self.env = env
        self.v = ["ovs-vsctl", "--db=unix:%s/db.sock" % d, "--timeout=30"]
        sh("ip", "netns", "add", self.ns)
        sh("ip", "-n", self.ns, "link", "set", "lo", "up")
        sh("ip", "link", "set", P + "up", "netns", self.ns)
        sh("ip", "-n", self.ns, "link", "set", P + "up", "up")
        subprocess.run(["ovsdb-tool", "create", d + "/conf.db",
                        "/usr/share/openvswitch/vswitch.ovsschema"], check=True, env=env)
        subprocess.run(["ovsdb-server", d + "/conf.db", "--remote=punix:%s/db.sock" % d,
                        "--pidfile=%s/ovsdb.pid" % d, "--detach", "--log-file=%s/ovsdb.log" % d],
                       check=True, env=env, stderr=subprocess.DEVNULL)
        self.vsctl("--no-wait", "init")
        self.vsctl("--no-wait", "set", "Open_vSwitch", ".", "other_config:dpdk-init=true",
                   "other_config:dpdk-lcore-mask=0x1", "other_config:pmd-cpu-mask=0x2",
                   "other_config:dpdk-socket-mem=1024",
                   "other_config:userspace-tso-enable=%s" % ("true" if tso else "false"),
                   "other_config:dpdk-extra=--no-pci --file-prefix %s" % self.prefix)
        subprocess.run(["ip", "netns", "exec", self.ns, VSWITCHD, "unix:%s/db.sock" % d,
                        "--pidfile=%s/vswitchd.pid" % d, "--detach",
                        "--log-file=%s/vswitchd.log" % d], check=True, env=env,
                       stderr=subprocess.DEVNULL)
        self.vsctl("add-br", "br-phy", "--", "set", "bridge", "br-phy", "datapath_type=netdev",
                   "other_config:hwaddr=02:00:00:00:00:01", "--",
                   "add-port", "br-phy", "phy0", "--", "set", "interface", "phy0", "type=dpdk",
                   "options:dpdk-devargs=net_af_packet0,iface=%sup" % P)
        self.vsctl("add-br", "br-int", "--", "set", "bridge", "br-int", "datapath_type=netdev",
                   "--", "add-port", "br-int", "vm1", "--", "set", "interface", "vm1",
                   "type=dpdkvhostuserclient", "options:vhost-server-path=%s/vm1.sock" % d,
                   *(["mtu_request=8950"] if mtu == 8950 else []),
                   "--", "add-port", "br-int", "vxlan0", "--", "set", "interface", "vxlan0",
                   "type=vxlan", "options:remote_ip=198.18.0.2", "options:local_ip=198.18.0.1",
                   "options:key=1001")
        sh("ip", "-n", self.ns, "addr", "add", "198.18.0.1/24", "dev", "br-phy")
        if mtu == 8950:
            sh("ip", "-n", self.ns, "link", "set", "br-phy", "mtu", "9000")
        sh("ip", "-n", self.ns, "link", "set", "br-phy", "up")
        time.sleep(1)
        self.appctl("tnl/arp/set", "br-phy", "198.18.0.2", "02:00:00:00:00:02")
        br = "unix:%s/br-int.mgmt" % d
        subprocess.run(["ovs-ofctl", "del-flows", br], check=True)
        for f in ("in_port=vm1,actions=output:vxlan0", "in_port=vxlan0,actions=output:vm1"):
            subprocess.run(["ovs-ofctl", "add-flow", br, f], check=True)

    def vsctl(self, *args):
        subprocess.run(self.v + list(args), check=True, env=self.env,
                       stdout=subprocess.DEVNULL)

    def appctl(self, *args):
        pid = open(self.d + "/vswitchd.pid").read().strip()
        return subprocess.run(["ovs-appctl", "-t", "%s/ovs-vswitchd-dpdk.%s.ctl" % (self.d, pid)]
                              + list(args), check=True, env=self.env, capture_output=True,
                              text=True).stdout

    def drops(self):
        try:
            return self.appctl("coverage/show")
        except subprocess.CalledProcessError:
            return ""

    def stop(self):
        for f in ("vswitchd.pid", "ovsdb.pid"):
            try:
                os.kill(int(open(os.path.join(self.d, f)).read()), signal.SIGTERM)
            except (OSError, ValueError):
                pass
        time.sleep(1)
        subprocess.run(["ip", "netns", "del", self.ns], stderr=subprocess.DEVNULL)
        shutil.rmtree("/var/run/dpdk/" + self.prefix, ignore_errors=True)


def ovs_row(d, mtu, offload):
    ovs = Ovs(d, mtu, offload)
    vm = None
    try:
        vm = QemuGuest(d, "vm1", os.path.join(d, "vm1.sock"), MAC, "198.19.1.1/24", mtu=mtu,
                       server=True, iperf=True)
        row = measure(vm)
        # OVS's own account of what it dropped (coverage counters)
        row["ovs_drops"] = {m.group(1): int(m.group(2)) for m in re.finditer(
            r"^(\S*(?:drop|tso)\S*)\s.*total: (\d+)", ovs.drops(), re.M) if int(m.group(2))}
        return row
    finally:
        if vm is not None:
            vm.stop()
        ovs.stop()


def main():
    if os.geteuid() != 0:
        sys.exit("bench-guests: needs root")
    have_ovs = os.access(VSWITCHD, os.X_OK)
    rows = []
    for switch in ("tunsw", "ovs-dpdk"):
        for mtu in (1450, 8950):
            for offload in (False, True):
                only = os.environ.get("BENCH_ROWS")      # e.g. "tunsw/1450/on,ovs-dpdk/1450/off"
                if only and "%s/%d/%s" % (switch, mtu, "on" if offload else "off") not in \
                        only.split(","):
                    continue
                d = tempfile.mkdtemp(prefix="tswbg")
                sh(TOPO, "up", P, "vxlan")
                try:
                    if mtu == 8950:
                        jumbo_underlay()
                    if switch == "tunsw":
                        r = tunsw_row(d, mtu, offload)
                    elif have_ovs and mtu == 8950:
                        # OVS-DPDK sets a port's MTU on the device and drops
                        # longer frames on TX; net_af_packet refuses MTU 9000
                        # (it reports a 1518-byte maximum whatever its
                        # interface takes), so OVS cannot carry jumbo frames
                        # on this uplink (tunsw leaves af_packet's MTU to its
                        # kernel interface)
                        r = {"error": "not measurable: OVS cannot set MTU 9000 on "
                                      "net_af_packet (Invalid argument)"}
                    elif have_ovs:
                        r = ovs_row(d, mtu, offload)
                    else:
                        r = {"error": VSWITCHD + " missing (openvswitch-switch-dpdk)"}
                except Exception as e:  # noqa: BLE001 - a row fails alone, with its reason
                    r = {"error": "%s: %s" % (type(e).__name__, str(e)[-300:])}
                finally:
                    sh(TOPO, "down", P)
                    cleanup_dpdk_files()
                    shutil.rmtree(d, ignore_errors=True)
                r.update(switch=switch, guest_mtu=mtu, offload=offload)
                rows.append(r)
                print("%-9s MTU %4d offload %-3s  guest->remote %-10s remote->guest %-10s %s" % (
                    switch, mtu, "on" if offload else "off",
                    r.get("guest_to_remote", "-"), r.get("remote_to_guest", "-"),
                    r.get("error", "guest TSO %s" % ("on" if r.get("guest_tso") else "off"))),
                    flush=True)
    print(json.dumps({"seconds": SECS, "rows": rows}))
    bad = [r for r in rows if "error" in r or not isinstance(r.get("guest_to_remote"), float)]
    sys.exit(1 if any(r["switch"] == "tunsw" for r in bad) else 0)


if __name__ == "__main__":
    main()
