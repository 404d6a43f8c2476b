"""tunsw-agent: the Neutron L2 agent of a compute host running tunsw.

It does for the tunsw daemon what neutron-openvswitch-agent does for br-int
and br-tun:
- reports its state to neutron-server every [agent] report_interval (agent
  type "tunsw agent"; configurations carry tunneling_ip, tunnel_types,
  bridge_mappings (the daemon's [physnet] sections),
  l2_population, arp_responder, vhostuser_socket_dir), while the daemon
  answers;
- every [agent] polling_interval (at once after a port_update/port_delete
  notification or when QEMU creates a vhost-user socket in the socket
  directory) asks neutron-server which ports are bound to this host
  (get_ports_by_vnic_type_and_host: Neutron sends nothing when a port is
  created or bound), wires the new ones in the daemon (the port's network,
  then a vhost-user client port on the socket Nova's QEMU serves), reports
  them up (update_device_list) and unwires and reports down the ones that
  went;
- enforces Neutron's security groups through Neutron's own agent-side code
  (securitygroups_rpc.SecurityGroupAgentRpc over the push-notification
  resource cache, as neutron-openvswitch-agent) with tunsw's firewall
  driver ([securitygroup] firewall_driver = tunsw, firewall.py): rules,
  remote groups' members and each port's groups go to the daemon; a port
  is added with security_groups [] (nothing but R-G2 passes) until its
  groups are known;
- applies l2population's add/remove/update_fdb_entries through the daemon,
  which ignores what is not its business (networks without a local port,
  its own VTEP, repeated adds, removes of what it does not have);
- resyncs everything when it starts and when the daemon restarted (its
  instance id changed): wires every port again, reports all up with
  refresh_tunnels so that neutron-server sends each network's whole table,
  then removes the entries Neutron did not send again (resync.py).

tunsw's names are Neutron's ids: a network is named by its network id, a
VM port by its port id, so `tunswctl show ports` and `show fdb --network
NET` match what `openstack port show` says.
"""
import os
import re
import sys
import threading
import time

import oslo_messaging
from neutron_lib import constants as n_const
from neutron_lib import context as n_context
from neutron_lib.agent import topics
from oslo_config import cfg
from oslo_log import log as logging
from oslo_service import loopingcall

from neutron import objects
from neutron.agent import resource_cache
from neutron.agent import rpc as agent_rpc
from neutron.agent import securitygroups_rpc as sg_rpc
from neutron.api.rpc.handlers import securitygroups_rpc as sg_rpc_handlers
from neutron.common import config as common_config
from neutron.conf.agent import common as agent_common
from neutron.conf.agent import securitygroups_rpc as sg_conf

from networking_tunsw import config as tunsw_config
from networking_tunsw import constants
from networking_tunsw import daemon as tunsw_daemon
from networking_tunsw import firewall as tunsw_firewall
from networking_tunsw import resync

LOG = logging.getLogger(__name__)

# Entries per request to the daemon: a network's whole table (thousands of
# ports) goes as requests of a few milliseconds each.
L2POP_CHUNK = 2000

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def is_neutron_id(name):
    """Names the agent manages: Neutron ids. Ports and networks with other
    names come from tunsw.conf or an operator and are left alone."""
    return bool(UUID_RE.match(name))


def vhost_devargs(port_id, sock_dir, tso=True, queues=1):
    """net_vhost devargs of a port: tunsw is the vhost-user client of the
    socket QEMU serves (vhostuser_mode server on Nova's side), so a restarted
    tunsw reconnects to running VMs; tso: the guest may use TSO and checksum
    offload (tunsw segments and completes in software); queues: the queue
    pairs a multiqueue guest may enable."""
    path = "%s/%s" % (sock_dir.rstrip("/"), constants.vhost_socket_name(port_id))
    return "net_vhost_%s,iface=%s,client=1,queues=%d%s" % (
        port_id.replace("-", "")[:16], path, queues, ",tso=1" if tso else ""), path


class L2popEndpoint:
    """RPC endpoint for q-agent-notifier-l2population-update (fanout and
    this host's queue)."""
    target = oslo_messaging.Target(version="1.0")

    def __init__(self, agent):
        self.agent = agent

    def add_fdb_entries(self, context, fdb_entries, host=None):
        self.agent.l2pop("add_fdb_entries", fdb_entries)

    def remove_fdb_entries(self, context, fdb_entries, host=None):
        self.agent.l2pop("remove_fdb_entries", fdb_entries)

    def update_fdb_entries(self, context, fdb_entries, host=None):
        self.agent.l2pop("update_fdb_entries", fdb_entries)


class NotifyEndpoint:
    """port_update, port_delete, network_delete: a look at the bound ports
    right away instead of at the next polling interval."""
    target = oslo_messaging.Target(version="1.5")

    def __init__(self, agent):
        self.agent = agent

    def port_update(self, context, **kwargs):
        port = kwargs.get("port") or {}
        self.agent.poke("port_update", port.get("id"))

    def port_delete(self, context, **kwargs):
        self.agent.poke("port_delete", kwargs.get("port_id"))

    def network_delete(self, context, **kwargs):
        self.agent.poke("network_delete", None)


# [securitygroup] firewall_driver values that mean tunsw's driver
FIREWALL_NAMES = ("tunsw", "networking_tunsw.firewall.TunswFirewallDriver")


class SecurityGroupAgent(sg_rpc.SecurityGroupAgentRpc):
    """Neutron's agent-side security-group code; a change it hears of (from
    the push-notification cache: a rule, a port's IPs, allowed address
    pairs or groups, an address group) marks the ports to filter again, and
    the agent's loop is woken to do it at once."""

    def __init__(self, agent, *args, **kwargs):
        self.agent = agent
        super().__init__(*args, **kwargs)

    def security_groups_rule_updated(self, security_groups):
        super().security_groups_rule_updated(security_groups)
        self.agent.poke("security_groups_rule_updated", None)

    def security_groups_member_updated(self, security_groups):
        super().security_groups_member_updated(security_groups)
        self.agent.poke("security_groups_member_updated", None)

    def address_group_updated(self, address_group_id):
        super().address_group_updated(address_group_id)
        self.agent.poke("address_group_updated", None)

    def address_group_deleted(self, address_group_id):
        super().address_group_deleted(address_group_id)
        self.agent.poke("address_group_deleted", None)


class TunswAgent:
    def __init__(self, conf):
        self.conf = conf
        self.host = conf.host
        self.agent_id = "tunsw-agent-%s" % self.host
        self.daemon = tunsw_daemon.Daemon(conf.TUNSW.control_socket, conf.TUNSW.daemon_timeout)
        self.context = n_context.get_admin_context_without_session()
        self.plugin_rpc = agent_rpc.PluginApi(topics.PLUGIN)
        self.state_rpc = agent_rpc.PluginReportStateAPI(topics.REPORTS)
        self.instance = None           # the daemon's, when last seen
        self.daemon_ok = False
        self.report_failed = False
        self.full_sync = True          # first loop: everything
        self.updated = set()           # port ids to look at again
        self.wake = threading.Event()
        self.lock = threading.Lock()   # l2pop messages vs. the resync mark
        self.pending = None            # resync: entries not yet named again
        self.sweep_at = None
        self.wired = {}                # port id -> network id (in the daemon)
        self.settled = set()           # ports whose state neutron-server has (up or down)
        self.refusals = {}             # port id -> the daemon's last refusal (logged once)
        self.info = self._wait_for_daemon()
        self.local_ip, self.tunnel_types, self.sock_dir = self._check_daemon(self.info)
        self.bridge_mappings = {}
        self._set_bridge_mappings(self.info)
        # security groups: Neutron's agent code with tunsw's firewall driver
        self.sg_agent = None
        self.port_sgs = {}             # port id -> its security groups (filtered ports)
        driver = conf.SECURITYGROUP.firewall_driver or "noop"
        if sg_rpc.is_firewall_enabled() and driver in FIREWALL_NAMES:
            if not self.info.get("security_groups", False):
                raise SystemExit("[securitygroup] firewall_driver = %s, but this tunsw daemon "
                                 "does not enforce security groups" % driver)
            tunsw_firewall.TunswFirewallDriver.agent = self
            # as neutron-openvswitch-agent: what the rules need (ports with
            # their IPs and allowed address pairs, groups, rules, address
            # groups) from the push-notification cache, and the changes
            # from its events (neutron-server's own security-group
            # notifications miss an allowed address pair's change)
            objects.register_objects()
            self.rcache = resource_cache.RemoteResourceCache(
                agent_rpc.CacheBackedPluginApi.RESOURCE_TYPES)
            self.rcache.start_watcher()
            sg_api = sg_rpc_handlers.SecurityGroupServerAPIShim(self.rcache)
            self.sg_agent = SecurityGroupAgent(self, self.context, sg_api,
                                               defer_refresh_firewall=True)
            sg_api.register_legacy_sg_notification_callbacks(self.sg_agent)
        elif sg_rpc.is_firewall_enabled() and driver != "noop":
            raise SystemExit("[securitygroup] firewall_driver = %s cannot filter tunsw's "
                             "ports: use tunsw (or noop)" % driver)
        # what the daemon enforces itself (Neutron's port_filter: port
        # security and security groups both); the driver binds with it
        self.port_security = bool(self.info.get("port_security", False))
        self.port_filter = self.port_security and self.sg_agent is not None
        self.agent_state = {
            "binary": constants.AGENT_BINARY,
            "host": self.host,
            "topic": n_const.L2_AGENT_TOPIC,
            "agent_type": constants.AGENT_TYPE,
            "start_flag": True,
            "configurations": {
                "tunneling_ip": self.local_ip,
                "tunnel_types": self.tunnel_types,
                # physical network -> its device ("uplink" or a DPDK
                # device), the daemon's [physnet] sections; the OVS agent
                # reports its bridge_mappings the same way
                "bridge_mappings": self.bridge_mappings,
                "l2_population": conf.AGENT.l2_population,
                "arp_responder_enabled": conf.AGENT.arp_responder,
                "arp_responder": conf.AGENT.arp_responder,
                "vhostuser_socket_dir": self.sock_dir,
                "vhostuser_mode": "server",
                # what the daemon enforces itself (Neutron's port_filter)
                "port_filter": self.port_filter,
                "daemon_version": self.info.get("version"),
                "devices": 0,
            },
        }

    # ---- the daemon ---------------------------------------------------------

    def _wait_for_daemon(self):
        delay = 1.0
        while True:
            try:
                return self.daemon.call("show_info")
            except tunsw_daemon.Unreachable as e:
                LOG.error("tunsw daemon unreachable (%s); retrying in %.0f s", e, delay)
            time.sleep(delay)
            delay = min(delay * 2, 30.0)

    def _check_daemon(self, info):
        """tunneling_ip and tunnel types; the agent's options must agree with
        the daemon's (a mismatch would make Neutron send what tunsw drops)."""
        conf = self.conf
        local_ip = conf.VXLAN.local_ip or info["local_ip"]
        problems = []
        if local_ip != info["local_ip"]:
            problems.append("[vxlan] local_ip %s but the daemon's local_ip is %s"
                            % (local_ip, info["local_ip"]))
        types = [t.strip() for t in conf.AGENT.tunnel_types if t.strip()] or info["tunnel_types"]
        for t in types:
            if t not in info["tunnel_types"]:
                problems.append("[agent] tunnel_types has %s, which the daemon has not enabled "
                                "(its types: %s)" % (t, ", ".join(info["tunnel_types"])))
        if conf.AGENT.l2_population != info["l2_population"]:
            problems.append("[agent] l2_population is %s but the daemon's is %s"
                            % (conf.AGENT.l2_population, info["l2_population"]))
        if conf.AGENT.arp_responder != info["arp_responder"]:
            problems.append("[agent] arp_responder is %s but the daemon's is %s"
                            % (conf.AGENT.arp_responder, info["arp_responder"]))
        sock_dir = (conf.TUNSW.vhostuser_socket_dir or info["vhost_socket_dir"]).rstrip("/")
        if sock_dir != info["vhost_socket_dir"]:
            problems.append("[tunsw] vhostuser_socket_dir is %s but the daemon plugs sockets of "
                            "%s only ([control] vhost_socket_dir)"
                            % (sock_dir, info["vhost_socket_dir"]))
        if problems:
            for p in problems:
                LOG.error("configuration: %s", p)
            raise SystemExit("tunsw-agent: its configuration disagrees with the daemon's")
        LOG.info("tunsw daemon %s (instance %s) at %s: local_ip %s, tunnel types %s, "
                 "vhost-user sockets in %s", info["version"], info["instance"],
                 self.conf.TUNSW.control_socket, local_ip, ",".join(types), sock_dir)
        return local_ip, types, sock_dir

    def _set_bridge_mappings(self, info):
        """The daemon's physical networks, as the OVS agent's bridge_mappings
        (physnet -> its device), also in the state reported to Neutron."""
        maps = {p["name"]: p["device"] for p in info.get("physical_networks", [])}
        if maps != self.bridge_mappings:
            LOG.info("physical networks (bridge_mappings): %s",
                     ", ".join("%s:%s" % kv for kv in sorted(maps.items())) or "none")
        self.bridge_mappings = maps
        if getattr(self, "agent_state", None) is not None:
            self.agent_state["configurations"]["bridge_mappings"] = maps

    def _daemon_alive(self):
        """Reach the daemon; a new instance means a restart: resync."""
        try:
            info = self.daemon.call("show_info")
        except tunsw_daemon.Unreachable as e:
            if self.daemon_ok:
                LOG.error("tunsw daemon unreachable: %s; not reporting state until it is back",
                          e)
            self.daemon_ok = False
            return False
        if self.instance is not None and info["instance"] != self.instance:
            LOG.warning("tunsw daemon restarted (instance %s -> %s): full resync",
                        self.instance, info["instance"])
            self.full_sync = True
            self.wired = {}
            self.settled = set()
            # its groups are gone with it: ports are wired closed ([]) and
            # opened as Neutron's code pushes the groups again (new devices)
            self.port_sgs = {}
            # its physical networks may have changed with its config: the
            # next state report carries them (the driver binds by them)
            self._set_bridge_mappings(info)
        elif not self.daemon_ok and self.instance is not None:
            LOG.info("tunsw daemon reachable again (instance %s)", info["instance"])
        self.instance = info["instance"]
        self.daemon_ok = True
        return True

    # ---- neutron-server -----------------------------------------------------

    def report_state(self):
        # Like the Open vSwitch agent with OVS dead: no heartbeat while the
        # daemon does not answer, so that Neutron binds no port to a host
        # that cannot wire it. (Restarts are noticed by the main loop.)
        try:
            self.daemon.call("show_info")
        except tunsw_daemon.Unreachable as e:
            LOG.error("tunsw daemon unreachable (%s): state not reported", e)
            return
        self.agent_state["configurations"]["devices"] = len(self.wired)
        try:
            status = self.state_rpc.report_state(self.context, self.agent_state, True)
        except Exception as e:  # noqa: BLE001 - any RPC failure is logged and retried
            LOG.error("report_state to neutron-server failed (%s: %s); is neutron-server "
                      "running and RabbitMQ reachable (transport_url)? Retrying in %s s",
                      type(e).__name__, e, self.conf.AGENT.report_interval)
            self.report_failed = True
            return
        if self.report_failed:
            LOG.info("neutron-server reachable again: state reported")
            self.report_failed = False
        if status == "revived":
            LOG.info("neutron-server had this agent down: full resync")
            self.full_sync = True
            self.wake.set()
        self.agent_state.pop("start_flag", None)

    def poke(self, why, port_id):
        LOG.debug("%s %s: looking at the ports now", why, port_id)
        if port_id:
            self.updated.add(port_id)
        self.wake.set()

    # ---- l2population -------------------------------------------------------

    def l2pop(self, op, fdb_entries):
        with self.lock:
            if self.pending is not None:
                if op == "update_fdb_entries":
                    self.pending -= resync.named_in_update(fdb_entries)
                else:
                    self.pending -= resync.named_in_fdb(fdb_entries)
        total = {}
        for part in resync.chunks(op, fdb_entries, L2POP_CHUNK):
            try:
                result = self.daemon.call(op, fdb_entries=part)
            except tunsw_daemon.Refused as e:
                LOG.error("l2population %s refused by tunsw: %s (payload %s)", op, e, part)
                return
            except tunsw_daemon.Unreachable as e:
                # the daemon restarted: the resync after it brings the tables back
                LOG.warning("l2population %s not applied, daemon unreachable: %s", op, e)
                return
            for k, v in result.items():
                total[k] = total.get(k, 0) + v if isinstance(v, int) else \
                    total.get(k, []) + list(v)
        LOG.info("l2population %s: %s", op, total)
        LOG.debug("l2population %s payload: %s", op, fdb_entries)

    # ---- ports --------------------------------------------------------------

    def _ours(self, port):
        """A port bound here by the tunsw driver (vhost-user in our dir)."""
        if port.get("binding:vif_type") != "vhostuser":
            return False
        sock = (port.get("binding:vif_details") or {}).get("vhostuser_socket", "")
        return sock.rsplit("/", 1)[0] == self.sock_dir

    def _daemon_networks(self):
        return {n["name"]: n for n in self.daemon.call("show_networks")}

    def _ensure_network(self, nets, net_id, net_type, seg_id, physnet=None):
        """The daemon's network net_id as Neutron's segment says: a tunnel
        (type, id), or a provider network (vlan and its VLAN id, or flat,
        on physical network physnet)."""
        want = (net_type, seg_id, physnet)
        have = nets.get(net_id)
        if have is not None and (have["type"], have.get("segmentation_id"),
                                 have.get("physical_network")) == want:
            return
        if have is not None:   # the segment changed: rebuild the network
            LOG.warning("network %s changed from %s %s to %s %s: its ports are re-plugged",
                        net_id, have["type"], have.get("segmentation_id"), net_type, seg_id)
            for p in have["ports"]:
                self.daemon.call("port_del", name=p)
                self.wired.pop(p, None)
            self.daemon.call("network_del", name=net_id)
        args = dict(name=net_id, type=net_type)
        if seg_id is not None:
            args["segmentation_id"] = seg_id
        if physnet is not None:
            args["physical_network"] = physnet
        self.daemon.call("network_add", **args)
        nets[net_id] = dict(args, ports=[], flood=[])
        LOG.info("network %s (%s %s%s) created", net_id, net_type,
                 seg_id if seg_id is not None else "",
                 " on " + physnet if physnet is not None else "")

    def _segment(self, d):
        """(type, segmentation id, physical network) of a port's device
        details when this host offers it, else None (logged)."""
        pid, net_id, t = d["port_id"], d["network_id"], d.get("network_type")
        if t in self.tunnel_types:
            return t, int(d["segmentation_id"]), None
        if t in ("vlan", "flat"):
            physnet = d.get("physical_network")
            if physnet not in self.bridge_mappings:
                LOG.error("port %s: network %s is %s on physical network %s, which this "
                          "host does not map (bridge_mappings: %s)", pid, net_id, t, physnet,
                          ",".join(sorted(self.bridge_mappings)) or "none")
                return None
            return t, int(d["segmentation_id"]) if t == "vlan" else None, physnet
        LOG.error("port %s: network %s is of type %s, which this host does not offer (%s)",
                  pid, net_id, t, ",".join(self.tunnel_types +
                                          (["vlan", "flat"] if self.bridge_mappings else [])))
        return None

    def _wire(self, nets, in_daemon, d):
        """Wire one port from its device details; True when it is up."""
        pid, net_id = d["port_id"], d["network_id"]
        seg = self._segment(d)
        if seg is None:
            return False
        if not d.get("admin_state_up", True):
            if pid in in_daemon:
                self._unwire(pid, in_daemon)
            LOG.info("port %s is administratively down: not wired", pid)
            return False
        self._ensure_network(nets, net_id, *seg)
        have = in_daemon.get(pid)
        if have is not None and have["network"] != net_id:
            self._unwire(pid, in_daemon)
            have = None
        added = have is None
        policy, security = self._policy(d)
        if added:
            # the port is added with its policy: it carries no frame before
            # the policy is in force (the OVS agent's dead VLAN, #20)
            devargs, path = vhost_devargs(pid, self.sock_dir, self.conf.TUNSW.guest_tso,
                                          self.conf.TUNSW.vhost_queues)
            args = dict(name=pid, network=net_id, devargs=devargs)
            if policy is not None:
                args["port_security"] = policy
            self.daemon.call("port_add", **args)
            nets[net_id]["ports"].append(pid)
            in_daemon[pid] = {"name": pid, "network": net_id}
            ips = ",".join(ip["ip_address"] for ip in d.get("fixed_ips") or [])
            LOG.info("port %s wired: mac %s ip %s network %s (%s %s), vhost-user socket %s, "
                     "port security %s", pid, d.get("mac_address"), ips or "-", net_id,
                     d["network_type"], d["segmentation_id"], path, security)
        elif policy is not None:
            self.daemon.call("port_security_set", port=pid, **policy)
        self.wired[pid] = net_id
        return True

    def _policy(self, d):
        """Neutron's port_security_enabled, fixed IPs and allowed address
        pairs as the daemon's policy of the port (R-S*): the arguments of
        port_security_set (None when this daemon does not enforce it), and
        a summary."""
        if not self.port_security:
            return None, "not enforced by this daemon"
        if not d.get("port_security_enabled", True):
            return {"enabled": False}, "off"
        pairs = [{"ip_address": p["ip_address"], "mac_address": p.get("mac_address")}
                 for p in d.get("allowed_address_pairs") or []]
        fixed = [ip["ip_address"] if isinstance(ip, dict) else ip
                 for ip in d.get("fixed_ips") or []]
        policy = {"enabled": True, "mac": d["mac_address"], "fixed_ips": fixed,
                  "allowed_address_pairs": pairs}
        groups = ""
        if self.sg_agent is not None:
            # until Neutron's security-group code says which, none: only
            # R-G2 traffic passes (no window in which the port is open)
            policy["security_groups"] = self.port_sgs.get(d.get("port_id") or d.get("device"),
                                                          [])
            groups = ", %d security groups" % len(policy["security_groups"])
        return (policy, "on (%d fixed IPs, %d allowed pairs%s)" % (len(fixed), len(pairs),
                                                                   groups))

    def port_groups(self, device):
        """tunsw's firewall driver: a port's security groups (and its port
        security, from the same device details) to the daemon."""
        pid = device["device"]
        if not device.get("port_security_enabled", True):
            self.port_sgs.pop(pid, None)
        else:
            self.port_sgs[pid] = list(device.get("security_groups") or [])
        if pid not in self.wired:
            return                     # wired later, with these groups
        policy, summary = self._policy(dict(device, port_id=pid))
        if policy is not None:
            self.daemon.call("port_security_set", port=pid, **policy)
        LOG.info("port %s: port security %s", pid, summary)

    def _unwire(self, pid, in_daemon):
        try:
            self.daemon.call("port_del", name=pid)
        except tunsw_daemon.Refused as e:
            LOG.warning("port %s: %s", pid, e)
        in_daemon.pop(pid, None)
        self.wired.pop(pid, None)
        self.port_sgs.pop(pid, None)
        if self.sg_agent is not None:
            self.sg_agent.remove_devices_filter([pid])
        LOG.info("port %s unwired", pid)

    def _drop_empty_networks(self):
        for name, n in self._daemon_networks().items():
            if is_neutron_id(name) and not n["ports"]:
                self.daemon.call("network_del", name=name)
                LOG.info("network %s has no port here any more: removed with its FDB, ARP "
                         "and flood entries", name)

    def sync(self):
        """One look at what Neutron binds here against what the daemon has."""
        full = self.full_sync
        updated, self.updated = self.updated, set()
        bound = self.plugin_rpc.get_ports_by_vnic_type_and_host(
            self.context, "normal", self.host)
        wanted = {p["id"] for p in bound if self._ours(p)}
        in_daemon = {p["name"]: p for p in self.daemon.call("show_ports")
                     if is_neutron_id(p["name"])}
        existed = set(in_daemon)
        for pid, p in in_daemon.items():
            # a restarted agent keeps what the daemon enforces until
            # Neutron's code says otherwise (never [] or open meanwhile)
            if pid not in self.port_sgs and isinstance(p.get("security_groups"), list):
                self.port_sgs[pid] = p["security_groups"]
        todo = sorted(wanted if full else
                      (wanted - set(in_daemon)) | (wanted & updated) |
                      (wanted - self.settled))
        gone = sorted(set(in_daemon) - wanted)
        if full:
            # the mark: what the daemon holds before Neutron sends it again
            marked = resync.snapshot(self.daemon, {p["network"] for p in in_daemon.values()})
            with self.lock:
                self.pending = marked
        up, down, failed = [], [], []
        if todo:
            res = self.plugin_rpc.get_devices_details_list_and_failed_devices(
                self.context, devices=todo, agent_id=self.agent_id, host=self.host)
            nets = self._daemon_networks()
            failed.extend(res.get("failed_devices") or [])
            for d in res.get("devices") or []:
                if "network_id" not in d or d.get(n_const.NO_ACTIVE_BINDING):
                    LOG.info("port %s is not bound here (yet): skipped", d.get("device"))
                    continue
                try:
                    (up if self._wire(nets, in_daemon, d) else down).append(d["port_id"])
                except tunsw_daemon.Refused as e:
                    if self.refusals.get(d["port_id"]) != str(e):
                        LOG.error("port %s: %s (retried every polling interval)",
                                  d["port_id"], e)
                    self.refusals[d["port_id"]] = str(e)
                    failed.append(d["port_id"])
        if self.sg_agent is not None:
            # security groups of the ports wired now (new) or looked at again
            # (updated), and of those Neutron's notifications marked
            new = {p for p in up if p not in existed}
            self.sg_agent.setup_port_filters(new, set(up) - new)
        for pid in gone:
            self._unwire(pid, in_daemon)
            down.append(pid)
        if gone:
            self._drop_empty_networks()
        if up or down:
            res = self.plugin_rpc.update_device_list(self.context, up, down, self.agent_id,
                                                     self.host, refresh_tunnels=full)
            LOG.info("reported to neutron-server: up %s down %s%s", up, down,
                     " (full resync: refresh_tunnels)" if full else "")
            failed.extend(res.get("failed_devices_up") or [])
            failed.extend(res.get("failed_devices_down") or [])
            self.settled |= set(up + down) - set(failed)
        self.settled &= wanted
        self.refusals = {p: e for p, e in self.refusals.items() if p in failed}
        if set(failed) - set(self.refusals):
            LOG.warning("ports to try again: %s", sorted(set(failed) - set(self.refusals)))
        if failed:
            self.updated |= set(failed) & wanted
        if full:
            self.full_sync = False
            self.sweep_at = time.monotonic() + self.conf.TUNSW.resync_grace
            LOG.info("full resync: %d port(s) wired, stale entries go in %.0f s unless "
                     "Neutron names them again", len(up), self.conf.TUNSW.resync_grace)

    def maybe_sweep(self):
        if self.sweep_at is None or time.monotonic() < self.sweep_at:
            return
        with self.lock:
            stale, self.pending = self.pending or set(), None
        self.sweep_at = None
        n = resync.sweep(self.daemon, stale, LOG)
        LOG.info("full resync done: %d stale entr%s removed", n, "y" if n == 1 else "ies")

    def watch_sockets(self):
        """QEMU creating a vhost-user socket in the directory (Nova starting
        a VM, paused until Neutron says the port is ACTIVE) is this host's
        own sign of a new port, as an OVSDB interface is for the Open
        vSwitch agent: look at the bound ports at once."""
        seen = None
        while True:
            try:
                now = {n for n in os.listdir(self.sock_dir)
                       if n.startswith(constants.VHOST_PREFIX)}
            except OSError:
                now = set()
            if seen is not None and now - seen:
                self.poke("vhost-user socket", None)
            seen = now
            time.sleep(0.2)

    # ---- main loop ----------------------------------------------------------

    def run(self):
        self.instance = self.info["instance"]
        self.daemon_ok = True
        endpoints = [L2popEndpoint(self), NotifyEndpoint(self)]
        consumers = [[topics.L2POPULATION, topics.UPDATE, self.host],
                     [topics.PORT, topics.UPDATE], [topics.PORT, topics.DELETE],
                     [topics.NETWORK, topics.DELETE]]
        conn = agent_rpc.create_consumers(endpoints, topics.AGENT, consumers)
        heartbeat = loopingcall.FixedIntervalLoopingCall(self.report_state)
        heartbeat.start(interval=self.conf.AGENT.report_interval)
        watcher = threading.Thread(target=self.watch_sockets, daemon=True)
        watcher.start()
        LOG.info("tunsw-agent on host %s running", self.host)
        try:
            while True:
                self.wake.clear()
                if self._daemon_alive():
                    try:
                        self.sync()
                        self.maybe_sweep()
                    except tunsw_daemon.Unreachable as e:
                        LOG.error("tunsw daemon unreachable during sync: %s", e)
                        self.daemon_ok = False
                    except tunsw_daemon.Refused as e:
                        LOG.error("sync: %s; trying again", e)
                        self.full_sync = True
                    except oslo_messaging.MessagingTimeout as e:
                        LOG.error("neutron-server does not answer (%s); is it running and "
                                  "RabbitMQ reachable? Trying again", e)
                    except Exception:  # noqa: BLE001 - the loop must go on
                        LOG.exception("sync failed; trying again")
                self.wake.wait(self.conf.AGENT.polling_interval)
        finally:
            heartbeat.stop()
            conn.close()


def main():
    common_config.register_common_config_options()
    agent_common.register_agent_state_opts_helper(cfg.CONF)
    sg_conf.register_securitygroups_opts(cfg.CONF)
    tunsw_config.register_opts(cfg.CONF)
    common_config.init(sys.argv[1:])
    common_config.setup_logging()
    try:
        agent = TunswAgent(cfg.CONF)
    except SystemExit as e:
        LOG.error("%s", e)
        return 1
    agent.run()
    return 0
