"""Names neutron-server and the agent agree on."""

AGENT_TYPE = "tunsw agent"          # agents table: agent_type
AGENT_BINARY = "tunsw-agent"        # agents table: binary
DRIVER_NAME = "tunsw"               # [ml2] mechanism_drivers
# Socket names as Neutron's openvswitch driver makes them (Nova and
# operators know them): "vhu" + port id, 14 characters in all.
VHOST_PREFIX = "vhu"
VHOST_NAME_LEN = 14
DEFAULT_SOCKET_DIR = "/run/tunsw/vhost"   # the daemon's default vhost_socket_dir


def vhost_socket_name(port_id):
    """The socket file name of a port, in the agent's socket directory."""
    return (VHOST_PREFIX + port_id)[:VHOST_NAME_LEN]
