"""ML2 mechanism driver "tunsw": binds normal (vnic_type normal) ports on
hosts whose tunsw agent is alive and offers the segment's network type: a
tunnel type the agent reports (tunnel_types), or vlan and flat on a
physical network the agent maps (configurations.bridge_mappings, as the
Open vSwitch agent reports its own); any other segment is left for the
next driver.

The binding tells Nova to give the VM a vhost-user NIC:
- vif_type vhostuser;
- vhostuser_socket: the agent's vhostuser_socket_dir + ("vhu" + port id)[:14];
- vhostuser_mode server: QEMU is the vhost-user server and tunsw connects as
  client, so a restarted tunsw reconnects to running VMs;
- vhostuser_ovs_plug false: nothing is plugged into Open vSwitch;
- port_filter: true only when the agent reports that port security and
  security groups are both enforced (configurations.port_filter: the
  daemon enforces both and the agent runs tunsw's firewall driver).
"""
import os

from neutron_lib.api.definitions import portbindings
from neutron_lib import constants as n_const
from oslo_log import log as logging

from neutron.plugins.ml2.drivers import mech_agent

from networking_tunsw import constants

LOG = logging.getLogger(__name__)


class TunswMechanismDriver(mech_agent.SimpleAgentMechanismDriverBase):

    def __init__(self):
        super().__init__(
            constants.AGENT_TYPE,
            portbindings.VIF_TYPE_VHOST_USER,
            {portbindings.CAP_PORT_FILTER: False},
            supported_vnic_types=[portbindings.VNIC_NORMAL])

    @property
    def connectivity(self):
        return portbindings.CONNECTIVITY_L2

    def get_allowed_network_types(self, agent=None):
        conf = (agent or {}).get("configurations", {})
        types = [t for t in conf.get("tunnel_types", [])
                 if t in (n_const.TYPE_VXLAN, n_const.TYPE_GRE)]
        if conf.get("bridge_mappings"):
            # provider networks on the physical networks it maps (the base
            # class checks the segment's physical_network against them)
            types += [n_const.TYPE_VLAN, n_const.TYPE_FLAT]
        return types

    def get_mappings(self, agent):
        return agent["configurations"].get("bridge_mappings", {})

    def check_vlan_transparency(self, context):
        return False

    def get_vif_details(self, context, agent, segment):
        conf = agent["configurations"]
        sock_dir = conf.get("vhostuser_socket_dir", constants.DEFAULT_SOCKET_DIR)
        path = os.path.join(sock_dir, constants.vhost_socket_name(context.current["id"]))
        return {
            portbindings.VIF_DETAILS_CONNECTIVITY: self.connectivity,
            portbindings.CAP_PORT_FILTER: bool(conf.get("port_filter", False)),
            portbindings.OVS_HYBRID_PLUG: False,
            portbindings.VHOST_USER_MODE: portbindings.VHOST_USER_MODE_SERVER,
            portbindings.VHOST_USER_OVS_PLUG: False,
            portbindings.VHOST_USER_SOCKET: path,
        }
