"""Runs inside the differential test's namespace: sends a step's frame on
one veth, then a marker (an ARP request that every filter passes) behind
it on the same veth, and once the marker came out on the other side a
second one; it reports every frame that arrived on any veth until then.
Open vSwitch's userspace datapath finishes a batch of received frames,
recirculations (conntrack) included, before it reads the next: the first
marker may share the frame's batch and overtake it through a
recirculation, the second one, sent only once the first is out, cannot.
So no fixed sleep decides a verdict.

stdin, one JSON object a line: {"src": IFACE, "dst": IFACE, "frame": HEX,
"markers": [HEX, HEX]}; stdout: {"got": [[IFACE, HEX], ...], "marker":
bool (both came)}."""
import json
import select
import socket
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23


def main():
    socks = {}
    for name in sys.argv[1:]:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        s.bind((name, 0))
        socks[name] = s
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        step = json.loads(line)
        # what came before this step (late floods, noise) is not its
        for s in socks.values():
            s.setblocking(False)
            try:
                while s.recv(65535):
                    pass
            except BlockingIOError:
                pass
            s.setblocking(True)
        socks[step["src"]].send(bytes.fromhex(step["frame"]))
        got, seen = [], False
        for marker in (bytes.fromhex(m) for m in step["markers"]):
            socks[step["src"]].send(marker)
            seen = False
            end = time.time() + 20
            while not seen and time.time() < end:
                ready, _, _ = select.select(list(socks.values()), [], [], 0.5)
                for s in ready:
                    data = s.recv(65535)
                    name = next(n for n, x in socks.items() if x is s)
                    if name == step["dst"] and data[:len(marker)] == marker:
                        seen = True
                    else:
                        got.append([name, data.hex()])
            if not seen:
                break
        print(json.dumps({"got": got, "marker": seen}), flush=True)


if __name__ == "__main__":
    main()
