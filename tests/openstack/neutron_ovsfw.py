"""Neutron's own `openvswitch` firewall driver (python3-neutron's
OVSFirewallDriver) on an Open vSwitch bridge, made as Neutron's OVS agent
makes it, for a private Open vSwitch (its OVS_RUNDIR and ovsdb socket):
privsep runs in this process (we are root; sudo would drop OVS_RUNDIR).
Used by tests/openstack/test_ovs_firewall.py (verdicts) and by
scripts/bench-ovs.sh (OVS-DPDK with the firewall's flows)."""
import os
import subprocess


def driver(bridge, rundir, ovsdb_sock, datapath_type="netdev"):
    """The driver on bridge, with the agent's br-int defaults in place:
    table 0 to the firewall's entry table 60, which sends what no port
    claims to NORMAL (br_int.setup_default_table)."""
    os.environ["OVS_RUNDIR"] = rundir
    from oslo_config import cfg
    from oslo_privsep import priv_context
    from neutron.conf.agent import common as agent_conf
    from neutron.conf.agent import ovsdb_api
    from neutron.conf.agent import securitygroups_rpc as sg_conf
    from neutron.conf.plugins.ml2.drivers import ovs_conf
    import neutron.privileged as privileged
    for name in dir(privileged):
        ctx = getattr(privileged, name)
        if isinstance(ctx, priv_context.PrivContext):
            ctx.set_client_mode(False)
    agent_conf.register_root_helper(cfg.CONF)
    sg_conf.register_securitygroups_opts(cfg.CONF)
    ovs_conf.register_ovs_opts(cfg.CONF)
    ovs_conf.register_ovs_agent_opts(cfg.CONF)
    ovsdb_api.register_ovsdb_api_opts(cfg.CONF)
    cfg.CONF([], project="neutron")
    cfg.CONF.set_override("root_helper", "", "AGENT")
    cfg.CONF.set_override("ovsdb_connection", "unix:" + ovsdb_sock, "OVS")
    from neutron.agent.common import ovs_lib
    from neutron.agent.linux.openvswitch_firewall import firewall
    from neutron.plugins.ml2.drivers.openvswitch.agent.openflow import br_cookie

    class AgentBridge(br_cookie.OVSBridgeCookieMixin, ovs_lib.OVSBridge):
        pass
    br = AgentBridge(bridge, datapath_type=datapath_type)
    for args in (["del-flows", bridge],
                 ["add-flow", bridge, "table=0,priority=0,actions=resubmit(,60)"],
                 ["add-flow", bridge, "table=60,priority=3,actions=NORMAL"]):
        subprocess.run(["ovs-ofctl"] + args, check=True, capture_output=True,
                       env=dict(os.environ, OVS_RUNDIR=rundir))
    return firewall.OVSFirewallDriver(br)


def apply(fw, groups, members, ports):
    """As SecurityGroupAgentRpc.prepare_devices_filter: the groups' rules
    ({id: [rule]}), remote groups' members ({id: {"IPv4": [(ip, mac)]}}),
    then each port."""
    fw.filter_defer_apply_on()
    for sg, rules in groups.items():
        fw.update_security_group_rules(sg, rules)
    for sg, m in members.items():
        fw.update_security_group_members(sg, m)
    for p in ports:
        fw.prepare_port_filter(p)
    fw.filter_defer_apply_off()
