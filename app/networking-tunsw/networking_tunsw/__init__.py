"""networking-tunsw: OpenStack Neutron integration of the tunsw dataplane.

- networking_tunsw.agent: tunsw-agent, the L2 agent beside the daemon on
  every compute host (state reports, port wiring, l2population);
- networking_tunsw.mech_driver: the ML2 mechanism driver "tunsw" that binds
  ports to hosts with a live tunsw agent (vif_type vhostuser).
"""
__version__ = "0.1.0"
