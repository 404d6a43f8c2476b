#!/usr/bin/python3
"""Write the benchmark's traffic as pcap files for pktgen-dpdk (or any
generator that replays pcaps), one file per path:

  vm-to-tunnel.pcap   from a VM: unicast to 64K remote MACs (fa:16:3e:...),
                      for a tunsw with those MACs in its FDB behind tunnels
  vm-bcast.pcap       from a VM: broadcast (floods to the flood set)
  vm-arp.pcap         from a VM: ARP requests for 10.1.x.y (ARP responder)
  tunnel-to-vm.pcap   to the uplink: VXLAN VNI 1001 from 64 VTEPs
                      198.18.0.2.., inner source MACs spread over 64K, inner
                      destination the VM MAC fa:16:01:00:00:01

  scripts/pktgen-pcaps.py OUT_DIR [--frames N] [--size 64|1500] [--local-ip IP]
                          [--uplink-mac MAC]

Frame sizes exclude the FCS. Configure tunsw to match (doc/performance.md
has a config and the pktgen command lines).
"""
import argparse
import logging
import os

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import ARP, Ether, IP, UDP, VXLAN, Raw, wrpcap  # noqa: E402


def mac(prefix, i):
    return "fa:16:%02x:%02x:%02x:%02x" % (prefix, (i >> 16) & 255, (i >> 8) & 255, i & 255)


def pad(p, size):
    n = size - len(p)
    return p / Raw(b"\x00" * n) if n > 0 else p


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--frames", type=int, default=4096)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--macs", type=int, default=65536)
    ap.add_argument("--local-ip", default="198.18.0.1")
    ap.add_argument("--uplink-mac", default="fa:16:00:00:00:01")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    n, size = a.frames, a.size
    vm = mac(0x01, 1)

    def inner(dst, k):
        return pad(Ether(src=mac(0x01, k % 64), dst=dst) /
                   IP(src="10.0.0.%d" % (1 + k % 200), dst="10.0.1.%d" % (1 + (k >> 8) % 200)) /
                   UDP(sport=1024 + k % 16000, dport=5001), size)

    step = 2654435761
    wrpcap(os.path.join(a.out, "vm-to-tunnel.pcap"),
           [inner(mac(0x3e, (k * step) % a.macs), k) for k in range(n)])
    wrpcap(os.path.join(a.out, "vm-bcast.pcap"),
           [inner("ff:ff:ff:ff:ff:ff", k) for k in range(n)])
    wrpcap(os.path.join(a.out, "vm-arp.pcap"),
           [pad(Ether(src=vm, dst="ff:ff:ff:ff:ff:ff") /
                ARP(op=1, hwsrc=vm, psrc="10.0.0.1",
                    pdst="10.1.%d.%d" % (((k * step) % a.macs) >> 8, ((k * step) % a.macs) & 255)),
                60) for k in range(n)])
    frames = []
    for k in range(n):
        t = k % 64
        i = (k * step) % a.macs
        inn = pad(Ether(src=mac(0x3e, i), dst=vm) / IP(src="10.0.1.1", dst="10.0.0.1") /
                  UDP(sport=1024 + k % 16000, dport=5001), size)
        frames.append(Ether(src="02:99:00:00:00:%02x" % t, dst=a.uplink_mac) /
                      IP(src="198.18.0.%d" % (2 + t), dst=a.local_ip, flags="DF") /
                      UDP(sport=49152 + t, dport=4789) / VXLAN(vni=1001, flags=0x08) / inn)
    wrpcap(os.path.join(a.out, "tunnel-to-vm.pcap"), frames)
    print("wrote %d frames per file to %s" % (n, a.out))


if __name__ == "__main__":
    main()
