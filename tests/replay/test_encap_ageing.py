"""R-E1..R-E4 (encapsulation on the wire) and R-A1..R-A3 (ageing)."""
import struct
from scapy.all import raw
from tsw import *


def ip_csum_ok(ipb):
    s = sum(struct.unpack("!%dH" % (len(ipb) // 2), ipb))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s == 0xffff


def test_R_E1_vxlan_outer_header_exact():
    s = standard_sections()
    s["fdb blue " + mac(30)] = {"remote": R2}
    flow = Ether(src=mac(1), dst=mac(30)) / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=7, dport=9)
    f1 = flow / Raw(b"a" * 60)
    f2 = flow / Raw(b"b" * 200)
    r = run([(1.0, "vm1", f1), (2.0, "vm1", f2)], s)
    up = r.out("uplink")
    eq(len(up), 2, "two frames")
    for i, (b, inner) in enumerate(zip(up, (f1, f2))):
        p = Ether(b)
        sport = p[UDP].sport
        assert 49152 <= sport <= 65535, sport
        want = (Ether(src=UPLINK_MAC, dst=R2_MAC) /
                IP(src=LOCAL_IP, dst=R2, ttl=64, flags="DF", id=i, tos=0, proto=17) /
                UDP(sport=sport, dport=4789, chksum=0) / VXLAN(flags=0x08, vni=1001) / inner)
        eq(b, bytes(want), "frame %d bytes" % i)
        assert ip_csum_ok(b[14:34])
    eq(Ether(up[0])[UDP].sport, Ether(up[1])[UDP].sport, "same inner flow, same source port")


def test_R_E1_source_port_follows_inner_flow():
    s = standard_sections()
    s["fdb blue " + mac(30)] = {"remote": R2}
    frames = [Ether(src=mac(1), dst=mac(30)) / IP(src="10.0.0.1", dst="10.0.0.2") /
              UDP(sport=1000 + i, dport=53) / Raw(b"p" * 20) for i in range(16)]
    r = run([(1.0 + i, "vm1", f) for i, f in enumerate(frames)], s)
    ports = {Ether(b)[UDP].sport for b in r.out("uplink")}
    assert len(ports) >= 8, ports   # 16 flows spread over the range
    assert all(49152 <= p <= 65535 for p in ports)


def test_R_E1_options_ttl_df_dscp_port():
    s = standard_sections()
    s["tunnel"].update({"ttl": "17", "dont_fragment": "false", "dscp": "10",
                        "vxlan_udp_port": "8472"})
    s["fdb blue " + mac(30)] = {"remote": R2}
    r = run([(1.0, "vm1", frame(mac(1), mac(30)))], s)
    p = Ether(r.out("uplink")[0])
    eq((p[IP].ttl, int(p[IP].flags), p[IP].tos, p[UDP].dport), (17, 0, 40, 8472), "options")
    assert ip_csum_ok(raw(p)[14:34])
    # and decapsulation listens on the configured port only
    p8472 = vxlan(frame(mac(20), BCAST), 1001)
    p8472[UDP].dport = 8472
    r = run([(1.0, "uplink", p8472), (2.0, "uplink", vxlan(frame(mac(20), BCAST), 1001))], s)
    eq(len(r.out("vm1")), 1, "received on 8472")
    eq(r.drops(), {"ip_bad_proto": 1}, "4789 is not tunnel traffic any more")


def test_R_E1_dscp_inherit():
    s = standard_sections()
    s["tunnel"]["dscp_inherit"] = "true"
    s["fdb blue " + mac(30)] = {"remote": R2}
    inner = Ether(src=mac(1), dst=mac(30)) / IP(src="10.0.0.1", dst="10.0.0.2", tos=0xb9) / ICMP()
    r = run([(1.0, "vm1", inner)], s)
    p = Ether(r.out("uplink")[0])
    eq(p[IP].tos, 0xb8, "DSCP copied, ECN not")
    assert ip_csum_ok(raw(p)[14:34])


def test_R_E1_tunnel_csum_vxlan():
    s = standard_sections()
    s["tunnel"]["tunnel_csum"] = "true"
    s["fdb blue " + mac(30)] = {"remote": R2}
    r = run([(1.0, "vm1", frame(mac(1), mac(30), payload=b"c" * 77))], s)
    b = r.out("uplink")[0]
    p = Ether(b)
    got = p[UDP].chksum
    assert got != 0
    p[UDP].chksum = None
    eq(Ether(raw(p))[UDP].chksum, got, "valid UDP checksum")


def test_R_E2_gre_outer_header_exact():
    s = standard_sections()
    s["fdb green " + mac(31)] = {"remote": R3}
    inner = frame(mac(4), mac(31))
    r = run([(1.0, "vm4", inner)], s)
    b = r.out("uplink")[0]
    want = (Ether(src=UPLINK_MAC, dst=R3_MAC) /
            IP(src=LOCAL_IP, dst=R3, ttl=64, flags="DF", id=0, proto=47) /
            GRE(key_present=1, key=2001, proto=0x6558) / inner)
    eq(b, bytes(want), "bytes")
    assert ip_csum_ok(b[14:34])


def test_R_E2_gre_checksum():
    s = standard_sections()
    s["tunnel"]["tunnel_csum"] = "true"
    s["fdb green " + mac(31)] = {"remote": R3}
    inner = frame(mac(4), mac(31), payload=b"g" * 51)
    r = run([(1.0, "vm4", inner)], s)
    b = r.out("uplink")[0]
    want = (Ether(src=UPLINK_MAC, dst=R3_MAC) /
            IP(src=LOCAL_IP, dst=R3, ttl=64, flags="DF", id=0, proto=47) /
            GRE(chksum_present=1, key_present=1, key=2001, proto=0x6558) / inner)
    eq(b, bytes(want), "bytes with checksum")   # scapy fills the GRE checksum
    # and the decapsulation side verifies it
    inner_in = frame(mac(31), BCAST, payload=b"h" * 51)
    good = Ether(src=R3_MAC, dst=UPLINK_MAC) / IP(src=R3, dst=LOCAL_IP) / \
        GRE(chksum_present=1, key_present=1, key=2001, proto=0x6558) / inner_in
    good = Ether(bytes(good))
    bad = bytearray(bytes(good))
    bad[-1] ^= 0xff
    r = run([(1.0, "uplink", good), (2.0, "uplink", bytes(bad))], s)
    eq(r.drops(), {"gre_bad_csum": 1}, "bad checksum dropped")
    eq(r.out("vm4"), [bytes(inner_in)], "good one delivered")


def test_R_E3_ip_checksum_valid_for_all_sizes():
    s = standard_sections()
    s["fdb blue " + mac(30)] = {"remote": R2}
    s["fdb green " + mac(31)] = {"remote": R3}
    ins = []
    for i, n in enumerate(range(46, 1400, 97)):
        ins.append((1.0 + i, "vm1", frame(mac(1), mac(30), payload=bytes([i]) * n)))
        ins.append((1.5 + i, "vm4", frame(mac(4), mac(31), payload=bytes([i]) * n)))
    r = run(ins, s)
    eq(len(r.out("uplink")), len(ins), "all encapsulated")
    for k, b in enumerate(r.out("uplink")):
        assert ip_csum_ok(b[14:34]), k
        eq(struct.unpack("!H", b[16:18])[0], len(b) - 14, "IP total length")


def test_R_E4_too_big_dropped():
    s = standard_sections()
    s["fdb blue " + mac(30)] = {"remote": R2}
    s["fdb green " + mac(31)] = {"remote": R3}
    fits = frame(mac(1), mac(30), payload=b"f" * (1464 - 14))      # 1500 - 36
    big = frame(mac(1), mac(30), payload=b"f" * (1465 - 14))
    gfits = frame(mac(4), mac(31), payload=b"f" * (1472 - 14))     # 1500 - 28
    gbig = frame(mac(4), mac(31), payload=b"f" * (1473 - 14))
    r = run([(1.0, "vm1", fits), (2.0, "vm1", big), (3.0, "vm4", gfits), (4.0, "vm4", gbig)], s)
    eq(r.drops(), {"too_big": 2}, "drops")
    eq([len(b) for b in r.out("uplink")], [1514, 1514], "outer frames of exactly MTU + 14")
    eq(r.state["counters"]["tunnels"]["vxlan/" + R2]["drops"], 1, "tunnel drops")


def test_R_A1_tunnel_learned_expiry():
    learn = vxlan(frame(mac(20), BCAST), 1001)
    to20 = frame(mac(1), mac(20))
    r = run([(0.0, "uplink", learn), (299.0, "vm1", to20), (600.0, "vm1", to20)])
    up = r.out("uplink")
    eq(len(up), 1 + 2, "t=299 unicast to R2, t=600 flooded to both")
    eq(Ether(up[0])[IP].dst, R2, "unicast while fresh")
    eq(r.fdb("blue").get(mac(20)), None, "aged out")
    eq(r.state["counters"]["learn"]["aged"] >= 1, True, "aged counter")


def test_R_A1_relearn_extends():
    learn = vxlan(frame(mac(20), BCAST), 1001)
    to20 = frame(mac(1), mac(20))
    r = run([(0.0, "uplink", learn), (200.0, "uplink", learn), (450.0, "vm1", to20),
             (501.0, "vm1", to20)])
    up = r.out("uplink")
    eq(len(up), 1 + 2, "t=450 unicast (re-learned at 200), t=501 flooded")


def test_R_A1_custom_timeout():
    s = standard_sections()
    s["agent"] = {"tunnel_learn_timeout": "30"}
    learn = vxlan(frame(mac(20), BCAST), 1001)
    to20 = frame(mac(1), mac(20))
    r = run([(0.0, "uplink", learn), (29.0, "vm1", to20), (31.0, "vm1", to20)], s)
    eq(len(r.out("uplink")), 3, "unicast at 29 s, flooded at 31 s")


def test_R_A2_local_learned_expiry():
    s = standard_sections()
    s["agent"] = {"mac_ageing": "60"}
    r = run([(0.0, "vm2", frame(mac(2), BCAST)), (59.0, "vm1", frame(mac(1), mac(2))),
             (61.0, "vm1", frame(mac(1), mac(2)))], s)
    eq(len(r.out("vm2")), 2, "vm2 gets both (unicast, then flood)")
    eq(len(r.out("uplink")), 2 + 2, "bcast x2 at 0 s, flood x2 at 61 s")
    eq(r.fdb("blue").get(mac(2)), None, "aged out")


def test_R_A3_static_never_expires():
    s = standard_sections()
    s["fdb blue " + mac(30)] = {"remote": R3}
    r = run([(1.0, "vm1", frame(mac(1), mac(30))),
             (100000.0, "vm1", frame(mac(1), mac(30)))], s)
    eq([Ether(b)[IP].dst for b in r.out("uplink")], [R3, R3], "still unicast")
    eq(r.fdb("blue")[mac(30)]["kind"], "static", "kind")


if __name__ == "__main__":
    run_tests(globals())
