"""A stand-in for the tunsw daemon of a simulated compute host, for the
scale test only: it speaks the control protocol's subset that tunsw-agent
uses and keeps networks and ports in memory without any dataplane.

Why it exists: Debian's DPDK 22.11 is built with RTE_MAX_ETHPORTS = 32, so a
real tunsw holds at most 31 VM ports (the uplink is one). 200 ports need
more hosts than two real ones; the extra hosts run the real tunsw-agent
against this stub, so that neutron-server sees ACTIVE ports on them and
pushes their entries to the two real tunsw hosts under test.

    python3 stubd.py SOCKET LOCAL_IP VHOST_SOCKET_DIR
"""
import json
import os
import random
import socketserver
import sys
import threading

STATE = {"networks": {}, "ports": {}}
LOCK = threading.Lock()


def handle(req, local_ip, instance, vhost_dir):
    op = req.get("op")
    n, p = STATE["networks"], STATE["ports"]
    if op == "show_info":
        return {"version": "stub", "instance": instance, "local_ip": local_ip,
                "tunnel_types": ["vxlan", "gre"], "vxlan_udp_port": 4789,
                "l2_population": True, "arp_responder": True, "mtu": 1500,
                "vhost_socket_dir": vhost_dir}
    if op == "show_ports":
        return [{"name": k, "network": v, "dpdk_port": 0} for k, v in sorted(p.items())]
    if op == "show_networks":
        return [{"name": k, "type": v["type"], "segmentation_id": v["id"],
                 "ports": sorted(x for x, net in p.items() if net == k), "flood": []}
                for k, v in sorted(n.items())]
    if op in ("show_fdb", "show_arp"):
        paged = "cursor" in req or "limit" in req
        return {"entries": [], "next": None} if paged else []
    if op == "network_add":
        n[req["name"]] = {"type": req["type"], "id": req["segmentation_id"]}
        return {}
    if op == "network_del":
        n.pop(req["name"], None)
        return {}
    if op == "port_add":
        if req["network"] not in n:
            raise ValueError("network: no such network")
        p[req["name"]] = req["network"]
        return {}
    if op == "port_del":
        p.pop(req["name"], None)
        return {}
    if op in ("add_fdb_entries", "remove_fdb_entries", "update_fdb_entries"):
        return {"fdb": 0, "flood": 0, "arp": 0, "tunnels_created": 0, "tunnels_deleted": 0,
                "skipped": []}
    raise ValueError("op: not in the stub")


def main():
    path, local_ip, vhost_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    instance = "%016x" % random.getrandbits(64)

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            for line in self.rfile:
                req = json.loads(line)
                try:
                    with LOCK:
                        rep = {"id": req.get("id"), "ok": True,
                               "result": handle(req, local_ip, instance, vhost_dir)}
                except (KeyError, ValueError) as e:
                    rep = {"id": req.get("id"), "ok": False, "error": str(e),
                           "field": "request", "reason": str(e)}
                self.wfile.write((json.dumps(rep) + "\n").encode())

    if os.path.exists(path):
        os.unlink(path)
    server = socketserver.ThreadingUnixStreamServer(path, Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
