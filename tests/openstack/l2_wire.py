"""Runs inside a differential test's namespace: for each step sends a frame
on one veth, then two markers behind it on the same veth (the second only
once the first came out on every veth it is awaited on: a switch finishes
what it received before), and reports every frame that arrived on any veth
since the last report, in arrival order per veth, markers included (a copy
a switch sent late is read with the next step's: the order on each veth is
what counts). A marker is known by the end of its payload (MARK + step
number), whatever tag it carries by then, so no fixed sleep decides what a
step did.

argv: the veths. stdin, one JSON object a line: {"src": IFACE, "frame": HEX,
"markers": [[HEX, [DST_IFACE, ...]], [HEX, [...]]]}; stdout: {"got":
{IFACE: [HEX, ...]}, "marker": bool (both came)}."""
import json
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_IGNORE_OUTGOING = 23
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
AUX = struct.Struct("IIIHHHH")      # struct tpacket_auxdata


def recv(s):
    """A frame as it was on the wire: the kernel moves a received frame's
    VLAN tag into metadata (whatever the offloads); put it back."""
    data, anc, _flags, _addr = s.recvmsg(65535, socket.CMSG_SPACE(AUX.size))
    for level, kind, val in anc:
        if level == SOL_PACKET and kind == PACKET_AUXDATA and len(val) >= AUX.size:
            status, _l, _sl, _mac, _net, tci, tpid = AUX.unpack_from(val)
            if status & TP_STATUS_VLAN_VALID:
                tpid = tpid if status & TP_STATUS_VLAN_TPID_VALID else 0x8100
                data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
    return data


def drain(socks, got):
    for name, s in socks.items():
        s.setblocking(False)
        try:
            while True:
                got.setdefault(name, []).append(recv(s).hex())
        except BlockingIOError:
            pass
        s.setblocking(True)


def main():
    socks = {}
    for name in sys.argv[1:]:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        s.bind((name, 0))
        socks[name] = s
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        step = json.loads(line)
        got = {}
        drain(socks, got)           # what a switch sent late, in order
        socks[step["src"]].send(bytes.fromhex(step["frame"]))
        seen = False
        for marker, dsts in step["markers"]:
            mark = bytes.fromhex(marker)
            tail = mark[-12:]            # MARK + step: the payload, tag or not
            socks[step["src"]].send(mark)
            waiting = set(dsts)
            end = time.time() + 20
            while waiting and time.time() < end:
                ready, _, _ = select.select(list(socks.values()), [], [], 0.5)
                for s in ready:
                    data = recv(s)
                    name = next(n for n, x in socks.items() if x is s)
                    got.setdefault(name, []).append(data.hex())
                    if tail in data:
                        waiting.discard(name)
            seen = not waiting
            if not seen:
                break
        drain(socks, got)
        print(json.dumps({"got": got, "marker": seen}), flush=True)


if __name__ == "__main__":
    main()
