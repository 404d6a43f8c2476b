"""networking-tunsw's parts that need no cloud: the mechanism driver's
binding decisions, the agent's names for tunsw objects, the resync's mark
and sweep against a daemon double that records what it was asked."""
import logging
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "app", "networking-tunsw"))
sys.path.insert(0, os.path.join(TOP, "tests", "replay"))

from networking_tunsw import constants, resync  # noqa: E402

NET = "5f1e7c4e-1a2b-4c3d-8e9f-0123456789ab"
PORT = "bd9f61d9-6423-4657-af93-aef379474202"
LOG = logging.getLogger("test")


class FakeDaemon:
    """The control socket's show/del ops over in-memory tables."""

    def __init__(self, fdb, arp, flood):
        self.fdb, self.arp, self.flood = fdb, arp, flood
        self.calls = []

    @staticmethod
    def page(rows, a):
        """The daemon's paging: cursor/limit give {"entries", "next"}."""
        if "cursor" not in a and "limit" not in a:
            return rows
        c, lim = a.get("cursor", 0), a.get("limit", 1000)
        return {"entries": rows[c:c + lim], "next": c + lim if c + lim < len(rows) else None}

    def call(self, op, **a):
        self.calls.append((op, a))
        if op == "show_fdb":
            return self.page([{"network": n, "mac": m, "kind": "static", "tunnel": {"remote": r}}
                              for (n, m), r in sorted(self.fdb.items())
                              if a.get("network", n) == n and a.get("mac", m) == m], a)
        if op == "show_arp":
            return self.page([{"network": n, "ip": i, "mac": m}
                              for (n, i), m in sorted(self.arp.items())
                              if a.get("network", n) == n], a)
        if op == "show_networks":
            return [{"name": n, "flood": sorted(r), "ports": []} for n, r in self.flood.items()]
        if op == "fdb_del":
            del self.fdb[(a["network"], a["mac"])]
        elif op == "arp_del":
            del self.arp[(a["network"], a["ip"])]
        elif op == "flood_del":
            self.flood[a["network"]].discard(a["remote"])
        else:
            raise AssertionError("unexpected op " + op)
        return {}


def test_rpc_backoff_option_registered():
    """neutron-lib's backing-off RPC client reads rpc_response_max_timeout
    after a timeout; Neutron's agents register it, so must this one (it
    raised NoSuchOptError under a loaded server, and the agent restarted
    its sync at every timeout)."""
    from oslo_config import cfg
    from networking_tunsw import config
    conf = cfg.ConfigOpts()
    config.register_opts(conf)
    config.register_opts(conf)          # twice: as the agent and its tests may
    conf([])
    assert conf.rpc_response_max_timeout == 600, conf.rpc_response_max_timeout


def test_vhost_socket_name_matches_neutrons_openvswitch_driver():
    # neutron's agent_vhu_sockpath: ("vhu" + port_id)[:14]
    assert constants.vhost_socket_name(PORT) == "vhubd9f61d9-64"


def test_vm_ports_offer_multiqueue_guests_their_queue_pairs():
    """#22: Nova gives a multiqueue flavor's guest as many queue pairs as
    vCPUs; QEMU refuses a guest asking for more than the port offers. The
    agent offers [tunsw] vhost_queues (8) in the devargs it gives the
    daemon, which polls every one."""
    from oslo_config import cfg
    from networking_tunsw import agent, config
    conf = cfg.ConfigOpts()
    config.register_opts(conf)
    conf([])
    assert conf.TUNSW.vhost_queues == 8
    devargs, path = agent.vhost_devargs(PORT, "/run/tunsw/vhost", True,
                                        conf.TUNSW.vhost_queues)
    assert devargs == ("net_vhost_bd9f61d964234657,iface=/run/tunsw/vhost/vhubd9f61d9-64,client=1,"
                       "queues=8,tso=1"), devargs
    assert path == "/run/tunsw/vhost/vhubd9f61d9-64"


def test_mech_driver_binds_vhostuser_server_mode_without_ovs_plug():
    try:
        from networking_tunsw import mech_driver
    except ImportError as e:   # neutron is not installed
        from tsw import Skip
        raise Skip("python3-neutron: %s" % e)

    class Ctx:
        current = {"id": PORT}

    d = mech_driver.TunswMechanismDriver()
    agent = {"agent_type": constants.AGENT_TYPE, "alive": True, "host": "compute-1",
             "configurations": {"tunnel_types": ["vxlan", "gre", "geneve"],
                                "vhostuser_socket_dir": "/run/tunsw",
                                "port_filter": False}}
    vd = d.get_vif_details(Ctx(), agent, {})
    assert vd == {"connectivity": "l2", "port_filter": False, "ovs_hybrid_plug": False,
                  "vhostuser_mode": "server", "vhostuser_ovs_plug": False,
                  "vhostuser_socket": "/run/tunsw/vhubd9f61d9-64"}, vd
    assert d.vif_type == "vhostuser"
    assert d.get_allowed_network_types(agent) == ["vxlan", "gre"]
    seg = {"network_type": "vxlan", "segmentation_id": 7, "physical_network": None,
           "network_id": NET, "id": "seg-1"}
    assert d.check_segment_for_agent(seg, agent)
    assert not d.check_segment_for_agent(dict(seg, network_type="geneve"), agent)
    assert not d.check_segment_for_agent(dict(seg, network_type="vlan", physical_network="p"),
                                         agent)
    other = dict(agent, agent_type="Open vSwitch agent")
    assert not d.check_segment_for_agent(seg, other)
    # #23: vlan and flat on the physical networks the agent maps, as the
    # OVS agent's bridge_mappings; others are left to the next driver
    agent["configurations"]["bridge_mappings"] = {"physnet1": "uplink"}
    assert d.get_allowed_network_types(agent) == ["vxlan", "gre", "vlan", "flat"]
    vlan = dict(seg, network_type="vlan", segmentation_id=100, physical_network="physnet1")
    assert d.check_segment_for_agent(vlan, agent)
    assert d.check_segment_for_agent(dict(vlan, network_type="flat", segmentation_id=None),
                                     agent)
    assert not d.check_segment_for_agent(dict(vlan, physical_network="physnet2"), agent)
    # port_filter only when the agent says the daemon enforces it
    agent["configurations"]["port_filter"] = True
    assert d.get_vif_details(Ctx(), agent, {})["port_filter"] is True


def test_agent_wires_provider_networks_on_mapped_physnets():
    """#23: a port of a vlan or flat network on a physical network the
    daemon has ([physnet]) gets its network as network_add with type,
    physical_network and (vlan) the VLAN id; an unmapped physical network
    or type is refused, the daemon untouched; a changed segment rebuilds
    the network."""
    try:
        from networking_tunsw import agent
    except ImportError as e:
        from tsw import Skip
        raise Skip("python3-neutron: %s" % e)

    class D:
        def __init__(self):
            self.calls = []

        def call(self, op, **a):
            self.calls.append((op, a))
            return {}

    a = agent.TunswAgent.__new__(agent.TunswAgent)
    a.daemon, a.tunnel_types, a.wired = D(), ["vxlan"], {}
    a.bridge_mappings = {}
    a.agent_state = {"configurations": {}}
    # what the daemon's show_info says, as at start and after its restart
    a._set_bridge_mappings({"physical_networks": [
        {"name": "physnet1", "device": "uplink", "mtu": 1500},
        {"name": "physnet2", "device": "net_af_packet2", "mtu": 9000}]})
    assert a.bridge_mappings == {"physnet1": "uplink", "physnet2": "net_af_packet2"}
    assert a.agent_state["configurations"]["bridge_mappings"] == a.bridge_mappings
    dev = {"port_id": PORT, "network_id": NET, "network_type": "vlan",
           "segmentation_id": 100, "physical_network": "physnet1"}
    assert a._segment(dev) == ("vlan", 100, "physnet1")
    assert a._segment(dict(dev, network_type="flat", segmentation_id=None)) == \
        ("flat", None, "physnet1")
    assert a._segment(dict(dev, physical_network="physnet9")) is None
    assert a._segment(dict(dev, network_type="geneve")) is None
    assert a._segment(dict(dev, network_type="vxlan", segmentation_id=5,
                           physical_network=None)) == ("vxlan", 5, None)
    nets = {}
    a._ensure_network(nets, NET, "vlan", 100, "physnet1")
    a._ensure_network(nets, NET, "vlan", 100, "physnet1")        # as it is: nothing
    assert a.daemon.calls == [("network_add", {"name": NET, "type": "vlan",
                                               "segmentation_id": 100,
                                               "physical_network": "physnet1"})], a.daemon.calls
    # the daemon's show_networks shape for a flat network: no segmentation_id
    nets = {NET: {"name": NET, "type": "flat", "physical_network": "physnet2", "ports": ["p1"]}}
    a.daemon.calls = []
    a._ensure_network(nets, NET, "flat", None, "physnet2")
    assert a.daemon.calls == []
    a._ensure_network(nets, NET, "vlan", 7, "physnet2")           # the segment changed
    assert [c[0] for c in a.daemon.calls] == ["port_del", "network_del", "network_add"]
    assert a.daemon.calls[-1][1] == {"name": NET, "type": "vlan", "segmentation_id": 7,
                                     "physical_network": "physnet2"}


def test_payload_names_every_entry_in_both_entry_shapes():
    add = {NET: {"segment_id": 9, "network_type": "vxlan", "ports": {
        "198.18.0.2": [["00:00:00:00:00:00", "0.0.0.0"], ["fa:16:3e:00:00:01", "10.0.0.1"]],
        "198.18.0.3": [{"mac_address": "fa:16:3e:00:00:02", "ip_address": "10.0.0.2"}]}}}
    assert resync.named_in_fdb(add) == {
        ("flood", NET, "198.18.0.2"),
        ("fdb", NET, "fa:16:3e:00:00:01", "198.18.0.2"), ("arp", NET, "10.0.0.1",
                                                           "fa:16:3e:00:00:01"),
        ("fdb", NET, "fa:16:3e:00:00:02", "198.18.0.3"), ("arp", NET, "10.0.0.2",
                                                           "fa:16:3e:00:00:02")}
    upd = {"chg_ip": {NET: {"198.18.0.2": {"before": [["fa:16:3e:00:00:01", "10.0.0.1"]],
                                           "after": [["fa:16:3e:00:00:01", "10.0.0.9"]]}}}}
    assert resync.named_in_update(upd) == {("arp", NET, "10.0.0.1", "fa:16:3e:00:00:01"),
                                           ("arp", NET, "10.0.0.9", "fa:16:3e:00:00:01")}
    assert resync.named_in_fdb(None) == set() and resync.named_in_update({}) == set()


def test_large_payloads_cut_into_requests_of_bounded_size():
    ports = {"198.18.0.%d" % r: [["00:00:00:00:00:00", "0.0.0.0"]] +
             [["fa:16:3e:00:%02x:%02x" % (r, i), "10.%d.0.%d" % (r, i)] for i in range(250)]
             for r in range(2, 10)}
    add = {NET: {"segment_id": 9, "network_type": "vxlan", "ports": ports},
           "other": {"segment_id": 10, "network_type": "gre", "ports": {
               "198.18.0.2": [["fa:16:3e:01:00:01", "10.1.0.1"]]}}}
    parts = resync.chunks("add_fdb_entries", add, 300)
    assert all(sum(len(v) for b in p.values() for v in b["ports"].values()) <= 300
               for p in parts), [len(p) for p in parts]
    assert 7 <= len(parts) <= 9, len(parts)  # 2009 entries, cut at remote boundaries
    # together, the parts name exactly what the payload names, with its keys
    assert set().union(*(resync.named_in_fdb(p) for p in parts)) == resync.named_in_fdb(add)
    assert all(b["segment_id"] in (9, 10) and "network_type" in b
               for p in parts for b in p.values())
    assert resync.chunks("add_fdb_entries", add, 5000) == [add]
    upd = {"chg_ip": {NET: {"198.18.0.%d" % r: {"before": [["fa:16:3e:00:00:01", "10.0.0.1"]],
                                                "after": [["fa:16:3e:00:00:01", "10.0.0.2"]]}
                            for r in range(2, 6)}}}
    assert resync.chunks("update_fdb_entries", upd, 100) == [upd]
    parts = resync.chunks("update_fdb_entries", upd, 3)
    assert len(parts) == 4 and set().union(*(resync.named_in_update(p) for p in parts)) == \
        resync.named_in_update(upd)


def test_sweep_removes_only_what_neutron_did_not_name_again():
    d = FakeDaemon(fdb={(NET, "fa:16:3e:00:00:01"): "198.18.0.2",
                        (NET, "fa:16:3e:00:00:02"): "198.18.0.2",
                        ("other-net", "fa:16:3e:00:00:03"): "198.18.0.2"},
                   arp={(NET, "10.0.0.1"): "fa:16:3e:00:00:01",
                        (NET, "10.0.0.2"): "fa:16:3e:00:00:02"},
                   flood={NET: {"198.18.0.2", "198.18.0.4"}, "other-net": {"198.18.0.4"}})
    mark = resync.snapshot(d, {NET})
    assert len(mark) == 6, mark            # other-net is not the agent's
    # Neutron's full table names port 1 and 198.18.0.2's flood entry
    mark -= resync.named_in_fdb({NET: {"segment_id": 9, "network_type": "vxlan", "ports": {
        "198.18.0.2": [["00:00:00:00:00:00", "0.0.0.0"], ["fa:16:3e:00:00:01", "10.0.0.1"]]}}})
    # meanwhile port 2 moved to another remote: the snapshot's entry is not it
    d.fdb[(NET, "fa:16:3e:00:00:02")] = "198.18.0.5"
    assert resync.sweep(d, mark, LOG) == 2   # port 2's ARP entry, 198.18.0.4's flood
    assert d.fdb == {(NET, "fa:16:3e:00:00:01"): "198.18.0.2",
                     (NET, "fa:16:3e:00:00:02"): "198.18.0.5",
                     ("other-net", "fa:16:3e:00:00:03"): "198.18.0.2"}
    assert d.arp == {(NET, "10.0.0.1"): "fa:16:3e:00:00:01"}
    assert d.flood == {NET: {"198.18.0.2"}, "other-net": {"198.18.0.4"}}


def test_snapshot_reads_tables_page_by_page():
    """The agent never asks for a whole table in one reply (a large one
    would hold the daemon's management lcore): every show_fdb/show_arp it
    sends is paged, and it reads every page."""
    fdb = {(NET, "fa:16:3e:00:%02x:%02x" % (i >> 8, i & 255)): "198.18.0.2" for i in range(7)}
    arp = {(NET, "10.0.0.%d" % i): "fa:16:3e:00:00:%02x" % i for i in range(5)}
    d = FakeDaemon(fdb=fdb, arp=arp, flood={NET: set()})
    old, resync.PAGE = resync.PAGE, 2
    try:
        mark = resync.snapshot(d, {NET})
    finally:
        resync.PAGE = old
    assert len(mark) == 12, mark
    shows = [a for op, a in d.calls if op in ("show_fdb", "show_arp")]
    assert all("cursor" in a and a["limit"] == 2 for a in shows), shows
    assert len(shows) == 4 + 3, shows    # 7 FDB entries in 4 pages, 5 ARP in 3


SG_WEB, SG_DB, AG = "sg-web-0001", "sg-db-0002", "ag-office-0003"


class SgPluginRpc:
    """neutron-server's security_group_info_for_devices answer, shaped as
    securitygroups_rpc_base builds it: a rule's remote_ip_prefix renamed by
    direction (source_ip_prefix / dest_ip_prefix), remote members as (IP,
    MAC) pairs per ethertype, address groups among sg_member_ips."""

    def __init__(self):
        self.asked = []

    def security_group_info_for_devices(self, context, devices):
        self.asked.append(sorted(devices))
        dev = {"device": PORT, "port_security_enabled": True,
               "security_groups": [SG_WEB, SG_DB], "mac_address": "fa:16:3e:00:00:01",
               "fixed_ips": ["10.0.0.5"], "allowed_address_pairs": [],
               "security_group_rules": []}
        return {
            "devices": {PORT: dev},
            "security_groups": {
                SG_WEB: [{"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
                          "port_range_min": 443, "port_range_max": 443,
                          "source_ip_prefix": "192.0.2.0/24", "stateful": True},
                         {"direction": "egress", "ethertype": "IPv6",
                          "dest_ip_prefix": "2001:db8::/32", "stateful": True}],
                SG_DB: [{"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
                         "port_range_min": 5432, "port_range_max": 5432,
                         "remote_group_id": SG_WEB, "stateful": False},
                        {"direction": "ingress", "ethertype": "IPv4",
                         "remote_address_group_id": AG, "stateful": False}]},
            "sg_member_ips": {SG_WEB: {"IPv4": [("10.0.0.5", "fa:16:3e:00:00:01"),
                                                ("10.0.0.6", "fa:16:3e:00:00:02")],
                                       "IPv6": []},
                              AG: {"IPv4": [("198.51.100.0/24", None)]}}}


def test_security_groups_through_neutrons_agent_code():
    """Neutron's SecurityGroupAgentRpc with tunsw's firewall driver turns
    what neutron-server sends into the daemon's requests: prefixes kept
    (a dropped source_ip_prefix would open the rule to every source),
    stateless groups stateless, remote-group members by IP, address groups
    as address groups, the port's groups in its policy; a port without
    port security gets none; unwired, Neutron forgets the filter."""
    try:
        from oslo_config import cfg
        from neutron.agent import securitygroups_rpc as sg_rpc
        from neutron.conf.agent import securitygroups_rpc as sg_conf
        from networking_tunsw import agent as tunsw_agent
    except ImportError as e:
        from tsw import Skip
        raise Skip("python3-neutron: %s" % e)
    sg_conf.register_securitygroups_opts(cfg.CONF)
    cfg.CONF.set_override("enable_security_group", True, "SECURITYGROUP")
    try:
        cfg.CONF.register_opt(cfg.IntOpt("rpc_resources_processing_step", default=20))
    except cfg.DuplicateOptError:
        pass

    class Recorder:
        def __init__(self):
            self.calls = []

        def call(self, op, **a):
            self.calls.append((op, a))
            return {}

    a = tunsw_agent.TunswAgent.__new__(tunsw_agent.TunswAgent)
    a.daemon, a.port_security, a.port_sgs, a.wired = Recorder(), True, {}, {PORT: NET}
    tunsw_agent.tunsw_firewall.TunswFirewallDriver.agent = a
    rpc = SgPluginRpc()
    # (the alias "tunsw" is the installed entry point's: install-networking-
    # tunsw.sh checks it; from the source tree, the class path)
    cfg.CONF.set_override("firewall_driver", "networking_tunsw.firewall.TunswFirewallDriver",
                          "SECURITYGROUP")
    a.sg_agent = sg_rpc.SecurityGroupAgentRpc(None, rpc, defer_refresh_firewall=True)
    assert type(a.sg_agent.firewall).__name__ == "TunswFirewallDriver"
    a.sg_agent.setup_port_filters({PORT}, set())
    calls = a.daemon.calls
    by_op = {}
    for op, args in calls:
        by_op.setdefault(op, []).append(args)
    web = [x for x in by_op["security_group_set"] if x["name"] == SG_WEB][0]
    db = [x for x in by_op["security_group_set"] if x["name"] == SG_DB][0]
    assert web["stateful"] is True and db["stateful"] is False, (web, db)
    assert web["rules"][0]["remote_ip_prefix"] == "192.0.2.0/24", web
    assert web["rules"][0]["port_range_min"] == 443, web
    assert web["rules"][1]["remote_ip_prefix"] == "2001:db8::/32", web
    assert not any(k.endswith("_ip_prefix") and k != "remote_ip_prefix"
                   for r in web["rules"] + db["rules"] for k in r), (web, db)
    assert db["rules"][0]["remote_group_id"] == SG_WEB, db
    assert by_op["security_group_members"] == [{"name": SG_WEB,
                                                "set": ["10.0.0.5", "10.0.0.6"]}], by_op
    assert by_op["address_group_set"] == [{"name": AG, "addresses": ["198.51.100.0/24"]}], by_op
    # groups and members before the port names them
    last_group = max(i for i, (op, _) in enumerate(calls) if op != "port_security_set")
    ps = [(i, x) for i, (op, x) in enumerate(calls) if op == "port_security_set"]
    assert ps and ps[-1][0] > last_group, calls
    pol = ps[-1][1]
    assert pol["port"] == PORT and pol["enabled"] is True, pol
    assert sorted(pol["security_groups"]) == sorted([SG_WEB, SG_DB]), pol
    assert pol["fixed_ips"] == ["10.0.0.5"] and pol["mac"] == "fa:16:3e:00:00:01", pol
    # a rule changed: Neutron marks the port, the next loop pulls again
    a.daemon.calls.clear()
    a.sg_agent.security_groups_rule_updated([SG_WEB])
    assert not a.daemon.calls, "deferred until the agent's loop"
    a.sg_agent.setup_port_filters(set(), set())
    assert rpc.asked[-1] == [PORT], rpc.asked
    assert any(op == "security_group_set" for op, _ in a.daemon.calls), a.daemon.calls
    # port security off: no groups in the policy
    a.port_groups({"device": PORT, "port_security_enabled": False})
    assert a.daemon.calls[-1] == ("port_security_set", {"port": PORT, "enabled": False}), \
        a.daemon.calls[-1]
    assert PORT not in a.port_sgs
    # a port not wired yet keeps its groups for the wiring, asks nothing
    n = len(a.daemon.calls)
    a.port_groups({"device": "other", "security_groups": [SG_DB]})
    assert len(a.daemon.calls) == n and a.port_sgs["other"] == [SG_DB]
    a.sg_agent.remove_devices_filter([PORT])
    assert PORT not in a.sg_agent.firewall.ports


if __name__ == "__main__":
    from tsw import run_tests
    run_tests(globals())
