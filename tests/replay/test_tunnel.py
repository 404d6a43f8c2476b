"""R-C2, R-C3, R-T1..R-T3: frames from tunnels."""
from tsw import *


def test_R_C2_vxlan_decap_by_vni():
    inner = frame(mac(20), BCAST)
    r = run([(1.0, "uplink", vxlan(inner, 1001)), (2.0, "uplink", vxlan(inner, 1002))])
    eq(r.out("vm1"), [bytes(inner)], "vm1 (blue)")
    eq(r.out("vm2"), [bytes(inner)], "vm2 (blue)")
    eq(r.out("vm3"), [bytes(inner)], "vm3 (red)")
    eq(r.out("vm4") + r.out("vm5"), [], "green")
    eq(r.state["counters"]["tunnels"]["vxlan/" + R2]["rx_pkts"], 2, "tunnel rx")


def test_R_C2_gre_decap_by_key():
    inner = frame(mac(21), BCAST)
    r = run([(1.0, "uplink", gre(inner, 2001))])
    eq(r.out("vm4"), [bytes(inner)], "vm4")
    eq(r.out("vm5"), [bytes(inner)], "vm5")
    eq(r.out("vm1") + r.out("vm3"), [], "vxlan networks")


def test_R_C2_vxlan_with_udp_checksum_accepted():
    inner = frame(mac(20), BCAST)
    p = vxlan(inner, 1001)
    p[UDP].chksum = None          # scapy computes a valid checksum
    p = Ether(bytes(p))
    assert p[UDP].chksum != 0
    r = run([(1.0, "uplink", p)])
    eq(r.out("vm1"), [bytes(inner)], "accepted with a valid UDP checksum")


def test_R_C2_vxlan_zero_udp_checksum_accepted():
    inner = frame(mac(20), BCAST)
    p = vxlan(inner, 1001)
    p[UDP].chksum = 0
    r = run([(1.0, "uplink", p)])
    eq(r.out("vm1"), [bytes(inner)], "accepted with checksum 0")


def test_R_C2_unknown_ids_dropped():
    inner = frame(mac(20), BCAST)
    r = run([(1.0, "uplink", vxlan(inner, 4242)), (2.0, "uplink", gre(inner, 1001)),
             (3.0, "uplink", gre(inner, 7))])
    eq(r.drops(), {"unknown_id": 3}, "drops")
    eq(sum(len(r.out(p)) for p in ("vm1", "vm2", "vm3", "vm4", "vm5", "uplink")), 0, "no output")


def test_R_C2_not_tunnel_traffic_dropped():
    inner = frame(mac(20), BCAST)
    other_port = vxlan(inner, 1001)
    other_port[UDP].dport = 4790
    no_i = vxlan(inner, 1001)
    no_i[VXLAN].flags = 0
    not_local = vxlan(inner, 1001, dst="198.18.0.77")
    gre_ip = gre(inner, 2001)
    gre_ip[GRE].proto = 0x0800
    gre_nokey = Ether(src=R2_MAC, dst=UPLINK_MAC) / IP(src=R2, dst=LOCAL_IP) / GRE(proto=0x6558) / inner
    lldp = Ether(src=R2_MAC, dst="01:80:c2:00:00:0e", type=0x88cc) / Raw(b"\x02\x07" * 20)
    other_mac = vxlan(inner, 1001)
    other_mac[Ether].dst = "02:00:00:00:00:99"
    r = run([(1.0, "uplink", other_port), (2.0, "uplink", no_i), (3.0, "uplink", not_local),
             (4.0, "uplink", gre_ip), (5.0, "uplink", gre_nokey), (6.0, "uplink", lldp),
             (7.0, "uplink", other_mac)])
    eq(r.drops(), {"ip_bad_proto": 1, "vxlan_bad_flags": 1, "ip_not_local": 1,
                   "gre_bad_proto": 1, "gre_no_key": 1, "uplink_not_ip": 1,
                   "uplink_other_mac": 1}, "drops")
    eq(r.port("uplink")["drops"], 7, "uplink drops")


def test_R_C3_unknown_vtep_dropped():
    s = standard_sections()
    s["remote " + R3] = {"type": "vxlan"}       # R3 has no GRE tunnel
    inner = frame(mac(20), BCAST)
    r = run([(1.0, "uplink", vxlan(inner, 1001, src=R9)),
             (2.0, "uplink", gre(inner, 2001, src=R3)),
             (3.0, "uplink", vxlan(inner, 1001, src=R3))], s)
    eq(r.drops(), {"unknown_vtep": 2}, "drops")
    eq(r.out("vm1"), [bytes(inner)], "the frame from a known VTEP passes")
    eq(list(r.fdb("blue")), [mac(20)], "nothing learned from unknown VTEPs")
    eq(r.fdb("blue")[mac(20)]["tunnel"]["remote"], R3, "learned on R3")


def test_R_T4_frame_to_its_own_source_from_a_tunnel_dropped():
    """The inner source is learned behind the tunnel before the destination
    is looked up: a frame to itself is split-horizon, never flooded to VMs."""
    r = run([(1.0, "uplink", vxlan(frame(mac(30), mac(30)), 1001))])
    eq(r.drops(), {"split_horizon": 1}, "drops")
    eq((r.out("vm1"), r.out("vm2")), ([], []), "no VM got it")
    eq(r.fdb("blue")[mac(30)]["kind"], "tunnel", "learned from the tunnel")


def test_R_T1_learn_from_tunnel():
    inner = frame(mac(20), BCAST)
    r = run([(1.0, "uplink", vxlan(inner, 1001, src=R2)),
             (2.0, "uplink", gre(frame(mac(21), BCAST), 2001, src=R3))])
    e = r.fdb("blue")[mac(20)]
    eq((e["kind"], e["tunnel"]), ("tunnel", {"type": "vxlan", "remote": R2}), "blue entry")
    e = r.fdb("green")[mac(21)]
    eq((e["kind"], e["tunnel"]), ("tunnel", {"type": "gre", "remote": R3}), "green entry")


def test_R_T1_move_between_tunnels_and_to_local():
    r = run([(1.0, "uplink", vxlan(frame(mac(20), BCAST), 1001, src=R2)),
             (2.0, "uplink", vxlan(frame(mac(20), BCAST), 1001, src=R3)),
             (3.0, "vm1", frame(mac(1), mac(20)))])
    eq(r.fdb("blue")[mac(20)]["tunnel"]["remote"], R3, "moved to R3")
    eq([Ether(b)[IP].dst for b in r.out("uplink")], [R3], "unicast follows the move")


def test_R_T1_static_not_overwritten_from_tunnel():
    s = standard_sections()
    s["fdb blue " + mac(20)] = {"remote": R2}
    r = run([(1.0, "uplink", vxlan(frame(mac(20), BCAST), 1001, src=R3))], s)
    e = r.fdb("blue")[mac(20)]
    eq((e["kind"], e["tunnel"]["remote"]), ("static", R2), "static kept")


def test_R_T2_known_local_only():
    inner = frame(mac(20), mac(2))
    r = run([(1.0, "vm2", frame(mac(2), BCAST)), (2.0, "uplink", vxlan(inner, 1001))])
    eq(r.out("vm2"), [bytes(inner)], "vm2")
    eq(r.out("vm1"), [bytes(frame(mac(2), BCAST))], "vm1 only saw vm2's broadcast")
    eq(len(r.out("uplink")), 2, "only vm2's broadcast went out (never tunnel->tunnel)")


def test_R_T2_unknown_and_broadcast_to_local_ports_only():
    u = frame(mac(20), mac(77))
    b = frame(mac(20), BCAST)
    r = run([(1.0, "uplink", vxlan(u, 1001)), (2.0, "uplink", vxlan(b, 1001))])
    eq(r.out("vm1"), [bytes(u), bytes(b)], "vm1")
    eq(r.out("vm2"), [bytes(u), bytes(b)], "vm2")
    eq(r.out("uplink"), [], "split horizon")


def test_R_T2_dst_behind_tunnel_dropped():
    s = standard_sections()
    s["fdb blue " + mac(30)] = {"remote": R3}
    r = run([(1.0, "uplink", vxlan(frame(mac(31), BCAST), 1001, src=R3)),
             (2.0, "uplink", vxlan(frame(mac(20), mac(30)), 1001, src=R2)),
             (3.0, "uplink", vxlan(frame(mac(20), mac(31)), 1001, src=R2))], s)
    eq(r.drops(), {"split_horizon": 2}, "drops")
    eq(len(r.out("vm1")), 1, "only the broadcast")
    eq(r.out("uplink"), [], "never back to a tunnel")


def test_R_T3_inner_vlan_dropped():
    inner = Ether(src=mac(20), dst=BCAST) / Dot1Q(vlan=0) / Raw(b"q" * 46)
    r = run([(1.0, "uplink", vxlan(inner, 1001))])
    eq(r.drops(), {"inner_vlan_tagged": 1}, "drops")
    eq(r.out("vm1"), [], "vm1")
    eq(r.fdb(), {}, "not learned")


if __name__ == "__main__":
    run_tests(globals())
