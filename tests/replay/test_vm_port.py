"""R-C1, R-F1..R-F6: frames from VM ports."""
from tsw import *


def test_R_C1_access_port_network():
    """A frame from vm1 belongs to blue only: vm2 and blue's tunnels get it,
    red's and green's ports never do."""
    f = frame(mac(1), BCAST)
    r = run([(1.0, "vm1", f)])
    eq(r.out("vm2"), [bytes(f)], "vm2")
    for p in ("vm1", "vm3", "vm4", "vm5"):
        eq(r.out(p), [], p)
    vnis = sorted(Ether(b)[VXLAN].vni for b in r.out("uplink"))
    eq(vnis, [1001, 1001], "uplink VNIs")


def test_R_C1_tagged_frame_dropped():
    tagged = Ether(src=mac(1), dst=BCAST) / Dot1Q(vlan=5) / Raw(b"y" * 46)
    prio = Ether(src=mac(1), dst=mac(2)) / Dot1Q(vlan=0, prio=3) / Raw(b"z" * 46)
    r = run([(1.0, "vm1", tagged), (2.0, "vm2", frame(mac(2), BCAST)), (3.0, "vm1", prio)])
    eq(r.drops(), {"vm_vlan_tagged": 1}, "drops")
    eq(r.port("vm1")["drops"], 1, "vm1 drops")
    # priority-tagged (VID 0) is accepted and delivered without the tag, as
    # OVS's access ports do (tests/openstack/test_ovs_provider.py shows it)
    eq(r.out("vm2"), [bytes(prio)[:12] + bytes(prio)[16:]], "vm2")


def test_R_C1_priority_tag_off_before_a_tunnel():
    """OVS's br-tun sends a VM's frame untagged (strip_vlan): a priority
    tag never reaches the tunnel, where the receiver would drop it (R-T3)."""
    prio = Ether(src=mac(1), dst=BCAST) / Dot1Q(vlan=0, prio=5) / Raw(b"t" * 46)
    r = run([(1.0, "vm1", prio)])
    inner = [bytes(Ether(b)[VXLAN].payload) for b in r.out("uplink")]
    eq(inner, [bytes(prio)[:12] + bytes(prio)[16:]] * 2, "untagged inside")


def test_R_F1_learn_local_and_move():
    r = run([(1.0, "vm1", frame(mac(7), BCAST)),
             (2.0, "vm2", frame(mac(7), BCAST)),
             (3.0, "vm1", frame(mac(8), BCAST))])
    fdb = r.fdb("blue")
    eq(fdb[mac(7)]["kind"], "local", "kind")
    eq(fdb[mac(7)]["port"], "vm2", "moved to vm2")
    eq(fdb[mac(8)]["port"], "vm1", "mac 8")
    eq(r.state["counters"]["learn"]["moved"], 1, "moves")


def test_R_F1_multicast_source_not_learned():
    r = run([(1.0, "vm1", frame("01:00:5e:00:00:01", BCAST))])
    eq(r.fdb(), {}, "fdb")


def test_R_F1_local_mac_beats_static_entry():
    """br-int's MAC table before br-tun's static entries: a MAC static
    behind R2 that sends from vm1 (a VM that has just migrated here) gets
    vm2's frames on vm1; the static entry itself is unchanged and governs
    again once the local entry ages out (mac_ageing 5 s here)."""
    s = standard_sections()
    s["agent"] = {"mac_ageing": "5"}
    s["fdb blue " + mac(9)] = {"remote": R2}
    r = run([(1.0, "vm1", frame(mac(9), BCAST)),
             (2.0, "vm2", frame(mac(2), mac(9))),
             (9.0, "vm2", frame(mac(2), mac(9)))], s)
    e = r.fdb("blue")[mac(9)]
    eq((e["kind"], e["tunnel"]["remote"]), ("static", R2), "static entry unchanged")
    eq(r.out("vm1"), [bytes(frame(mac(2), mac(9)))], "vm1 got the first unicast only")
    up = r.out("uplink")
    eq(len(up), 2 + 1, "uplink: flood copy x2 of the broadcast, then the second unicast")
    eq(Ether(up[-1])[IP].dst, R2, "after local ageing, to R2 again")


def test_R_F2_known_local_unicast():
    f = frame(mac(1), mac(2))
    r = run([(1.0, "vm2", frame(mac(2), BCAST)), (2.0, "vm1", f)])
    eq(r.out("vm2"), [bytes(f)], "vm2 gets only the unicast")
    eq(len(r.out("uplink")), 2, "only vm2's broadcast went to the tunnels")
    eq(r.out("vm1"), [bytes(frame(mac(2), BCAST))], "vm1 got vm2's broadcast")


def test_R_F2_same_port_dropped():
    r = run([(1.0, "vm1", frame(mac(1), BCAST)), (2.0, "vm1", frame(mac(3), mac(1)))])
    eq(r.drops(), {"same_port": 1}, "drops")
    eq(r.out("vm2"), [bytes(frame(mac(1), BCAST))], "vm2 got only the broadcast")


def test_R_F2_frame_to_its_own_source_dropped_never_flooded():
    """Learn first, then look up (OVS NORMAL, Linux bridge): a frame whose
    destination is its own source MAC is dropped as same-port, also the
    first frame of a MAC nobody knows yet."""
    r = run([(1.0, "vm1", frame(mac(7), mac(7))), (2.0, "vm1", frame(mac(7), mac(7), b"y" * 46))])
    eq(r.drops(), {"same_port": 2}, "drops")
    eq((r.out("vm2"), r.out("uplink")), ([], []), "nothing flooded")
    eq(r.fdb("blue")[mac(7)]["port"], "vm1", "the source was learned")


def test_R_F3_learned_tunnel_unicast():
    inner = frame(mac(20), BCAST)
    f = frame(mac(1), mac(20))
    r = run([(1.0, "uplink", vxlan(inner, 1001, src=R3)), (2.0, "vm1", f)])
    up = r.out("uplink")
    eq(len(up), 1, "one encapsulated copy")
    p = Ether(up[0])
    eq((p[IP].dst, p[VXLAN].vni, bytes(p[VXLAN].payload)), (R3, 1001, bytes(f)), "to R3")
    eq(r.out("vm2"), [bytes(inner)], "vm2 got only the decapsulated broadcast")


def test_R_F3_static_tunnel_unicast():
    s = standard_sections()
    s["fdb blue " + mac(30)] = {"remote": R3}
    f = frame(mac(1), mac(30))
    r = run([(1.0, "vm1", f)], s)
    up = r.out("uplink")
    eq(len(up), 1, "one copy")
    eq((Ether(up[0])[IP].dst, Ether(up[0])[Ether].dst), (R3, R3_MAC), "to R3")
    eq(r.out("vm2"), [], "never leaked to other VMs")


def test_R_F4_broadcast_flood():
    f = frame(mac(1), BCAST)
    r = run([(1.0, "vm1", f)])
    eq(r.out("vm2"), [bytes(f)], "vm2")
    dsts = sorted((Ether(b)[IP].dst, Ether(b)[VXLAN].vni) for b in r.out("uplink"))
    eq(dsts, [(R2, 1001), (R3, 1001)], "one copy per tunnel")
    for b in r.out("uplink"):
        eq(bytes(Ether(b)[VXLAN].payload), bytes(f), "inner frame intact")
    eq(r.state["counters"]["networks"]["blue"]["flooded"], 1, "flooded")


def test_R_F4_flood_to_many_tunnels():
    """40 tunnels and a port: more copies than one burst of them (32); every
    tunnel gets exactly one, the inner frame intact, and all copies carry
    the same VXLAN source port (one inner flow)."""
    s = standard_sections()
    remotes = ["198.18.0.%d" % i for i in range(100, 140)]
    for i, ip in enumerate(remotes):
        s["neighbor " + ip] = {"mac": "02:77:00:00:00:%02x" % (i + 1)}
        s["remote " + ip] = {"type": "vxlan"}
    f = frame(mac(1), BCAST)
    r = run([(1.0, "vm1", f), (2.0, "vm1", frame(mac(1), mac(55)))], s)
    eq(r.out("vm2"), [bytes(f), bytes(frame(mac(1), mac(55)))], "vm2 gets both")
    up = [Ether(b) for b in r.out("uplink")]
    eq(len(up), 2 * 42, "two frames x 42 tunnels")
    first = up[:42]
    eq(sorted(p[IP].dst for p in first), sorted([R2, R3] + remotes), "one copy per tunnel")
    for p in first:
        eq(bytes(p[VXLAN].payload), bytes(f), "inner frame intact")
        eq(p[VXLAN].vni, 1001, "VNI")
    eq(len({p[UDP].sport for p in first}), 1, "one source port for one flow")
    eq(r.drops(), {}, "no drops")


def test_R_F4_unknown_unicast_and_multicast_flood():
    u = frame(mac(1), mac(99))
    mc = frame(mac(1), "01:00:5e:01:02:03")
    r = run([(1.0, "vm1", u), (2.0, "vm1", mc)])
    eq(r.out("vm2"), [bytes(u), bytes(mc)], "vm2")
    eq(len(r.out("uplink")), 4, "two frames x two tunnels")


def test_R_F4_gre_network_flood():
    f = frame(mac(4), BCAST)
    r = run([(1.0, "vm4", f)])
    eq(r.out("vm5"), [bytes(f)], "vm5")
    keys = sorted((Ether(b)[IP].dst, Ether(b)[GRE].key) for b in r.out("uplink"))
    eq(keys, [(R2, 2001), (R3, 2001)], "GRE copies")
    eq(r.out("vm1") + r.out("vm2") + r.out("vm3"), [], "no leak to vxlan networks")


def test_R_F4_no_destination_counted():
    s = standard_sections()
    del s["remote " + R2], s["remote " + R3]
    r = run([(1.0, "vm3", frame(mac(3), BCAST))], s)
    eq(r.drops(), {"no_destination": 1}, "drops")


def test_R_F5_flood_set_without_l2pop_is_all_tunnels():
    s = standard_sections()
    s["flood blue"] = {"remotes": R2}       # ignored without l2population
    r = run([(1.0, "vm1", frame(mac(1), BCAST))], s)
    eq(sorted(Ether(b)[IP].dst for b in r.out("uplink")), [R2, R3], "all tunnels")


def test_R_F5_flood_set_with_l2pop():
    s = standard_sections()
    s["agent"] = {"l2_population": "true"}
    s["flood blue"] = {"remotes": R2}
    r = run([(1.0, "vm1", frame(mac(1), BCAST)), (2.0, "vm3", frame(mac(3), BCAST))], s)
    eq([(Ether(b)[IP].dst, Ether(b)[VXLAN].vni) for b in r.out("uplink")], [(R2, 1001)],
       "only blue's flood set; red has none")
    nets = {n["name"]: n for n in r.state["networks"]}
    eq(nets["blue"]["flood"], [R2], "state flood set")
    eq(nets["red"]["flood"], [], "red flood set")


def arp_req(src, spa, tpa):
    return Ether(src=src, dst=BCAST) / ARP(op=1, hwsrc=src, psrc=spa, pdst=tpa)


def test_R_F6_arp_responder_answers():
    s = standard_sections()
    s["agent"] = {"arp_responder": "true"}
    s["fdb blue " + mac(40)] = {"remote": R2, "ip": "10.1.0.40"}
    req = arp_req(mac(1), "10.1.0.1", "10.1.0.40")
    r = run([(1.0, "vm1", req)], s)
    want = (Ether(src=mac(40), dst=mac(1)) /
            ARP(op=2, hwsrc=mac(40), psrc="10.1.0.40", hwdst=mac(1), pdst="10.1.0.1"))
    eq(r.out("vm1"), [bytes(want)], "reply on the requesting port")
    eq(r.out("vm2"), [bytes(req)], "local port still gets the request")
    eq(r.out("uplink"), [], "no copy to tunnels")
    eq(r.state["counters"]["arp_replies"], 1, "arp_replies")


def test_R_F6_arp_responder_unknown_ip_floods():
    s = standard_sections()
    s["agent"] = {"arp_responder": "true"}
    s["fdb blue " + mac(40)] = {"remote": R2, "ip": "10.1.0.40"}
    req = arp_req(mac(1), "10.1.0.1", "10.1.0.41")
    r = run([(1.0, "vm1", req)], s)
    eq(r.out("vm1"), [], "no reply")
    eq(len(r.out("uplink")), 2, "flooded to both tunnels (R-F4)")


def test_R_F6_arp_responder_off():
    s = standard_sections()
    s["fdb blue " + mac(40)] = {"remote": R2, "ip": "10.1.0.40"}
    r = run([(1.0, "vm1", arp_req(mac(1), "10.1.0.1", "10.1.0.40"))], s)
    eq(r.out("vm1"), [], "no reply when arp_responder is off")
    eq(len(r.out("uplink")), 2, "flooded")


def test_R_F6_arp_responder_other_network():
    """An ARP entry of blue does not answer for red."""
    s = standard_sections()
    s["agent"] = {"arp_responder": "true"}
    s["fdb blue " + mac(40)] = {"remote": R2, "ip": "10.1.0.40"}
    r = run([(1.0, "vm3", arp_req(mac(3), "10.1.0.3", "10.1.0.40"))], s)
    eq(r.out("vm3"), [], "no reply in red")


if __name__ == "__main__":
    run_tests(globals())
