"""Console entry point of tunsw-agent."""
import sys


def main():
    # Neutron's RPC servers run on eventlet: patch before anything imports
    # socket or threading, as neutron's own agents do.
    from neutron.common import eventlet_utils
    eventlet_utils.monkey_patch()
    from networking_tunsw import agent
    sys.exit(agent.main())


if __name__ == "__main__":
    main()
