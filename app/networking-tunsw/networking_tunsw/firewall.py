"""tunsw's firewall driver for Neutron's security-group agent code.

Neutron's agents enforce security groups through
neutron.agent.securitygroups_rpc.SecurityGroupAgentRpc, which pulls what
neutron-server knows (security_group_info_for_devices: each port's groups,
each group's rules, each remote group's member IPs), follows its
notifications (security_groups_rule_updated, security_groups_member_updated)
and hands everything to a firewall driver (neutron.agent.firewall.
FirewallDriver). Neutron's openvswitch driver turns it into OpenFlow flows;
this one turns it into the tunsw daemon's requests:

- update_security_group_rules(sg, rules) -> security_group_set (stateful
  as Neutron's rules say);
- update_security_group_members(id, ips) -> security_group_members (set),
  or address_group_set for an id that rules name as
  remote_address_group_id (neutron-server sends both kinds alike);
- prepare/update_port_filter(port) -> the port's groups, through the agent
  (port_security_set with its port security and security_groups);
- remove_port_filter(port) -> forgotten (the agent unwires the port).

[securitygroup] firewall_driver = tunsw (or this class's path) selects it;
noop leaves security groups to nobody (the binding then says
port_filter false).
"""
from oslo_log import log as logging

from neutron.agent import firewall

LOG = logging.getLogger(__name__)

# what Neutron's rule dicts carry that the daemon reads
RULE_KEYS = ("direction", "ethertype", "protocol", "port_range_min", "port_range_max",
             "remote_ip_prefix", "remote_group_id", "remote_address_group_id")
# neutron-server hands the agents a rule's remote_ip_prefix renamed by
# direction (securitygroups_rpc_base.DIRECTION_IP_PREFIX)
PREFIX_KEYS = {"ingress": "source_ip_prefix", "egress": "dest_ip_prefix"}


def daemon_rule(r):
    """A rule as neutron-server gives it to an agent, as the daemon takes
    it: the direction's prefix key back to remote_ip_prefix (dropping it
    would widen the rule to every remote)."""
    out = {k: r.get(k) for k in RULE_KEYS if k in r}
    prefix = r.get(PREFIX_KEYS.get(r.get("direction"), ""))
    if prefix is not None:
        out["remote_ip_prefix"] = prefix
    return out


def member_ips(members):
    """Neutron's {"IPv4": [...], "IPv6": [...]} of IPs or (IP, MAC) pairs,
    as the daemon's list of IP[/LEN] strings."""
    out = []
    for family in ("IPv4", "IPv6"):
        for m in members.get(family) or []:
            ip = m[0] if isinstance(m, (list, tuple)) else m
            if ip:
                out.append(str(ip))
    return sorted(set(out))


class TunswFirewallDriver(firewall.FirewallDriver):
    # the agent whose daemon and ports this driver serves; set by the agent
    # before it creates SecurityGroupAgentRpc (which creates the driver)
    agent = None

    def __init__(self, integration_bridge=None):
        self._ports = {}
        self._address_groups = set()

    @property
    def ports(self):
        return self._ports

    def _daemon(self):
        return self.agent.daemon

    # ---- groups -------------------------------------------------------------

    def update_security_group_rules(self, sg_id, sg_rules):
        rules = [daemon_rule(r) for r in sg_rules or []]
        for r in rules:
            if r.get("remote_address_group_id"):
                self._address_groups.add(r["remote_address_group_id"])
        stateful = all(r.get("stateful", True) for r in sg_rules or [])
        self._daemon().call("security_group_set", name=sg_id, stateful=stateful, rules=rules)
        LOG.debug("security group %s: %d rules (%s)", sg_id, len(rules),
                  "stateful" if stateful else "stateless")

    def update_security_group_members(self, sg_id, sg_members):
        ips = member_ips(sg_members or {})
        if sg_id in self._address_groups:
            self._daemon().call("address_group_set", name=sg_id, addresses=ips)
        else:
            self._daemon().call("security_group_members", name=sg_id, set=ips)
        LOG.debug("remote group %s: %d members", sg_id, len(ips))

    def security_group_updated(self, action_type, sec_group_ids, device_ids=None):
        pass    # the agent pulls and pushes again (refresh_firewall)

    # ---- ports --------------------------------------------------------------

    def prepare_port_filter(self, port):
        self._ports[port["device"]] = port
        self.agent.port_groups(port)

    def update_port_filter(self, port):
        self.prepare_port_filter(port)

    def remove_port_filter(self, port):
        self._ports.pop(port.get("device"), None)

    def filter_defer_apply_on(self):
        pass

    def filter_defer_apply_off(self):
        pass

    def process_trusted_ports(self, port_ids):
        pass

    def remove_trusted_ports(self, port_ids):
        pass
