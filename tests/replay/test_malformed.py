"""R-C4 and the malformed-input corpus: every truncation point of the outer
and inner headers, bad lengths, versions and checksums, unknown ids and
VTEPs. Everything is dropped, counted under a reason, and the replay ends
with no leaked mbuf (exit status 2 would fail run())."""
import struct
from tsw import *

INNER = frame(mac(20), BCAST, payload=b"i" * 46)


def fixed_lengths(b):
    """Rewrite IP total length, IP checksum and UDP length to match b."""
    b = bytearray(b)
    if len(b) >= 34:
        struct.pack_into("!H", b, 16, len(b) - 14)
        struct.pack_into("!H", b, 24, 0)
        s = sum(struct.unpack("!10H", bytes(b[14:34])))
        while s >> 16:
            s = (s & 0xffff) + (s >> 16)
        struct.pack_into("!H", b, 24, ~s & 0xffff)
    if len(b) >= 42 and b[23] == 17:
        struct.pack_into("!HH", b, 38, len(b) - 34, 0)   # length, no checksum
    return bytes(b)


def all_dropped(frames):
    r = run([(1.0 + i * 0.001, "uplink", f) for i, f in enumerate(frames)])
    for p in ("vm1", "vm2", "vm3", "vm4", "vm5", "uplink"):
        eq(r.out(p), [], "output on " + p)
    eq(r.state["counters"]["total_drops"], len(frames), "every frame dropped once")
    eq(r.port("uplink")["drops"], len(frames), "uplink drops")
    eq(r.fdb(), {}, "nothing learned")
    return r.drops()


def test_R_C4_every_truncation_point_vxlan():
    full = bytes(vxlan(INNER, 1001))
    drops = all_dropped([full[:n] for n in range(len(full))])
    assert set(drops) <= {"runt", "uplink_not_ip", "ip_truncated", "ip_bad_len"}, drops


def test_R_C4_every_truncation_point_vxlan_consistent_lengths():
    full = bytes(vxlan(INNER, 1001))
    frames = [fixed_lengths(full[:n]) for n in range(34, 42 + 8 + 14)]
    drops = all_dropped(frames)
    assert set(drops) <= {"ip_bad_proto", "udp_truncated", "udp_bad_len",
                          "inner_truncated"}, drops
    assert drops.get("inner_truncated", 0) == 14, drops
    assert drops.get("udp_truncated", 0) >= 8, drops


def test_R_C4_every_truncation_point_gre():
    full = bytes(gre(INNER, 2001))
    drops = all_dropped([full[:n] for n in range(len(full))] +
                        [fixed_lengths(full[:n]) for n in range(34, 42 + 14)])
    assert "gre_truncated" in drops and "inner_truncated" in drops, drops


def test_R_C4_bad_ip_headers():
    good = vxlan(INNER, 1001)
    cases = []
    p = Ether(bytes(good)); p[IP].version = 6; cases.append(bytes(p))
    p = Ether(bytes(good)); p[IP].ihl = 4; cases.append(bytes(p))
    p = Ether(bytes(good)); p[IP].len = 10; cases.append(bytes(p))
    p = Ether(bytes(good)); p[IP].len = 2000; cases.append(bytes(p))
    b = bytearray(bytes(good)); b[24] ^= 0x55; cases.append(bytes(b))           # checksum
    cases.append(bytes(vxlan(INNER, 1001, flags="MF")))                          # fragment
    cases.append(bytes(vxlan(INNER, 1001, frag=8)))                              # fragment
    b = bytearray(bytes(good)); b[14] = 0x4f; cases.append(bytes(b))            # IHL 15, no options
    drops = all_dropped(cases)
    eq(drops, {"ip_bad_version": 1, "ip_bad_hlen": 1, "ip_bad_len": 2, "ip_bad_csum": 2,
               "ip_fragment": 2}, "drops")


def test_R_C4_ip_options_accepted():
    """A valid IHL > 5 header is parsed, not dropped."""
    p = Ether(src=R2_MAC, dst=UPLINK_MAC) / IP(src=R2, dst=LOCAL_IP, options=b"\x01\x01\x01\x00") / \
        UDP(sport=1234, dport=4789) / VXLAN(vni=1001, flags=0x08) / INNER
    r = run([(1.0, "uplink", p)])
    eq(r.out("vm1"), [bytes(INNER)], "delivered")


def test_R_C4_bad_udp_and_gre():
    cases = []
    p = vxlan(INNER, 1001); p[UDP].len = 5; cases.append(bytes(p))
    p = vxlan(INNER, 1001); p[UDP].len = 3000; cases.append(bytes(p))
    p = vxlan(INNER, 1001); p[UDP].chksum = 0x1234; cases.append(bytes(p))
    p = gre(INNER, 2001); p[GRE].version = 1; cases.append(bytes(p))
    p = gre(INNER, 2001); p[GRE].routing_present = 1; cases.append(bytes(p))
    drops = all_dropped(cases)
    eq(drops, {"udp_bad_len": 2, "udp_bad_csum": 1, "gre_bad_version": 1, "gre_routing": 1},
       "drops")


def test_R_C4_unknown_ids_and_vteps():
    drops = all_dropped([bytes(vxlan(INNER, 999)), bytes(vxlan(INNER, 0xffffff)),
                         bytes(gre(INNER, 0xffffffff)), bytes(vxlan(INNER, 1001, src=R9)),
                         bytes(gre(INNER, 2001, src="198.18.1.1"))])
    eq(drops, {"unknown_id": 3, "unknown_vtep": 2}, "drops")


def test_R_C4_runts_from_vm_ports():
    s = standard_sections()
    r = run([(1.0 + i, "vm1", bytes(frame(mac(1), BCAST))[:i]) for i in range(14)] +
            [(20.0, "vm1", bytes(Ether(src=mac(1), dst=BCAST, type=0x8100))[:14] + b"\x00")], s)
    eq(r.drops(), {"runt": 15}, "drops")
    eq(r.out("vm2") + r.out("uplink"), [], "nothing forwarded")


if __name__ == "__main__":
    run_tests(globals())
