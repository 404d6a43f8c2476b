"""tunsw-agent's options, in Neutron's style: [agent] and [vxlan] carry the
names the Open vSwitch / Linux bridge agents use where they mean the same;
[tunsw] is the daemon's side. The agent reads neutron.conf (transport_url,
host, ...) and its own file, as every Neutron agent does:

    tunsw-agent --config-file /etc/neutron/neutron.conf \\
                --config-file /etc/neutron/plugins/ml2/tunsw_agent.ini
"""
from oslo_config import cfg

agent_opts = [
    cfg.IntOpt("polling_interval", default=2, min=1,
               help="Seconds between two looks at the ports Neutron binds to this host "
                    "(a port_update or port_delete notification triggers one at once)."),
    cfg.ListOpt("tunnel_types", default=[],
                help="Network types to offer (vxlan, gre). Empty: the types the tunsw "
                     "daemon has enabled ([tunnel] types in tunsw.conf)."),
    cfg.BoolOpt("l2_population", default=True,
                help="Use Neutron's l2population (needs [agent] l2_population = true in "
                     "tunsw.conf; the agent refuses to start when they disagree)."),
    cfg.BoolOpt("arp_responder", default=True,
                help="Reported to Neutron; must equal [agent] arp_responder in tunsw.conf."),
]

vxlan_opts = [
    cfg.StrOpt("local_ip",
               help="This host's VTEP address, reported as tunneling_ip. Empty: tunsw's "
                    "[tunnel] local_ip. When set, it must equal it."),
]

tunsw_opts = [
    cfg.StrOpt("control_socket", default="/run/tunsw/tunsw.sock",
               help="The tunsw daemon's control socket ([control] socket in tunsw.conf)."),
    cfg.StrOpt("vhostuser_socket_dir",
               help="Directory of the VMs' vhost-user sockets. Nova's QEMU creates them "
                    "(vhost-user server); tunsw connects to each as client. Empty: the "
                    "daemon's [control] vhost_socket_dir; when set, it must equal it (the "
                    "daemon plugs sockets of that directory only)."),
    cfg.BoolOpt("guest_tso", default=True,
                help="Offer the VMs TSO and checksum offload (net_vhost's tso=1): the guest "
                     "hands tunsw 64 KB TCP frames, tunsw cuts them into segments before "
                     "encapsulating them (doc/architecture.md, 'Guest offloads')."),
    cfg.IntOpt("vhost_queues", default=8, min=1, max=32,
               help="Queue pairs each VM port offers (net_vhost's queues=): a multiqueue "
                    "guest (flavor hw:vif_multiqueue_enabled: as many pairs as vCPUs) may "
                    "enable up to this many, and the daemon polls every one; QEMU refuses "
                    "a guest asking for more than its port offers."),
    cfg.FloatOpt("daemon_timeout", default=30.0, min=1.0,
                 help="Seconds to wait for one reply of the daemon."),
    cfg.FloatOpt("resync_grace", default=5.0, min=0.0,
                 help="After a full resync has reported this host's ports up, seconds to "
                      "wait for Neutron's l2population tables before the FDB, ARP and "
                      "flood entries that Neutron did not send again are removed."),
]


def register_opts(conf):
    # neutron-lib's RPC client backs off a timed-out call up to
    # rpc_response_max_timeout, which Neutron's own agents register: without
    # it the first timeout of an overloaded server raised NoSuchOptError in
    # place of the backoff, and the agent started its whole sync over,
    # loading the server more (seen with 200 ports on a 2-vCPU cloud)
    from neutron.conf import service as neutron_service
    try:
        conf.register_opts(neutron_service.RPC_EXTRA_OPTS)
    except cfg.DuplicateOptError:
        pass
    conf.register_opts(agent_opts, "AGENT")
    conf.register_opts(vxlan_opts, "VXLAN")
    conf.register_opts(tunsw_opts, "TUNSW")


def list_opts():
    return [("AGENT", agent_opts), ("VXLAN", vxlan_opts), ("TUNSW", tunsw_opts)]
