"""R-V1..R-V5: provider networks (VLAN and flat) on physical networks, the
OVS agent's bridge_mappings. phys1 is the uplink itself (it also carries
the tunnels: R-V4), phys2 a device of its own."""
from tsw import *

P2_DEV = "net_null9"
X, Y = "02:aa:00:00:00:01", "02:aa:00:00:00:02"     # hosts on the physical segment


def provider_sections(mtu1="1500"):
    s = standard_sections()
    s["physnet phys1"] = {"device": "uplink", "mtu": mtu1}
    s["physnet phys2"] = {"device": P2_DEV}
    s["network v100"] = {"type": "vlan", "physical_network": "phys1", "segmentation_id": "100"}
    s["network v200"] = {"type": "vlan", "physical_network": "phys1", "segmentation_id": "200"}
    s["network flat1"] = {"type": "flat", "physical_network": "phys1"}
    s["network p2v100"] = {"type": "vlan", "physical_network": "phys2",
                           "segmentation_id": "100"}
    s["port vm6"] = {"devargs": "net_vhost6,iface=/tmp/x6", "network": "v100"}
    s["port vm7"] = {"devargs": "net_vhost7,iface=/tmp/x7", "network": "v100"}
    s["port vm8"] = {"devargs": "net_vhost8,iface=/tmp/x8", "network": "flat1"}
    s["port vm9"] = {"devargs": "net_vhost9,iface=/tmp/x9", "network": "p2v100"}
    s["port vm10"] = {"devargs": "net_vhost10,iface=/tmp/x10", "network": "v200"}
    return s


def tagged(f, vid, pcp=0, tpid=0x8100):
    """f (an untagged Ether frame) with one tag inserted after the MACs."""
    b = bytes(f)
    return b[:12] + tpid.to_bytes(2, "big") + ((pcp << 13) | vid).to_bytes(2, "big") + b[12:]


VMS = ("vm1", "vm2", "vm3", "vm4", "vm5", "vm6", "vm7", "vm8", "vm9", "vm10")


def others(r, *but):
    return {p: len(r.out(p)) for p in VMS + ("uplink", "phys2") if p not in but and r.out(p)}


def test_R_V1_vlan_flood_leaves_tagged_flat_untagged():
    f6 = frame(mac(6), BCAST)
    f8 = frame(mac(8), BCAST)
    u6 = frame(mac(6), "02:bb:00:00:00:99")          # unknown unicast
    r = run([(1.0, "vm6", f6), (2.0, "vm8", f8), (3.0, "vm6", u6)], provider_sections())
    eq(r.out("uplink"), [tagged(f6, 100), bytes(f8), tagged(u6, 100)], "on P: tagged, untagged")
    eq(r.out("vm7"), [bytes(f6), bytes(u6)], "the other local port of v100")
    eq(others(r, "uplink", "vm7"), {}, "nowhere else (no tunnel, no other network)")
    eq(r.drops(), {}, "drops")


def test_R_V1_priority_tag_keeps_its_priority():
    f = frame(mac(6), BCAST)
    g = frame(mac(8), BCAST)
    r = run([(1.0, "vm6", tagged(f, 0, pcp=5)), (2.0, "vm8", tagged(g, 0, pcp=3))],
            provider_sections())
    eq(r.out("uplink"), [tagged(f, 100, pcp=5), bytes(g)],
       "VLAN: VID set, PCP kept; flat: the priority tag goes")


def test_R_V2_tag_selects_the_network_and_is_removed():
    f = frame(X, BCAST)
    g = frame(Y, BCAST)
    r = run([(1.0, "uplink", tagged(f, 100)), (2.0, "uplink", tagged(g, 200)),
             (3.0, "uplink", f), (4.0, "uplink", tagged(g, 100, tpid=0x88a8)),
             (5.0, "uplink", tagged(f, 0, pcp=6))], provider_sections())
    eq(r.out("vm6"), [bytes(f), bytes(g)], "v100: 802.1Q and 802.1ad, untagged")
    eq(r.out("vm7"), [bytes(f), bytes(g)], "v100's other port")
    eq(r.out("vm10"), [bytes(g)], "v200")
    eq(r.out("vm8"), [bytes(f), bytes(f)], "untagged and priority-tagged: the flat network")
    eq(others(r, "vm6", "vm7", "vm8", "vm10"), {}, "never back to P, nor to tunnels")
    eq(r.state["counters"]["networks"]["v100"]["from_phys_pkts"], 2, "counted")


def test_R_V2_unknown_tag_or_untagged_without_flat_dropped():
    f = frame(X, BCAST)
    s = provider_sections()
    r = run([(1.0, "uplink", tagged(f, 300)), (2.0, "phys2", f),
             (3.0, "phys2", tagged(f, 200)), (4.0, "phys2", tagged(f, 100))], s)
    eq(r.drops(), {"phys_unknown_vlan": 3}, "drops")
    eq(r.port("phys2")["drops"], 2, "counted against phys2")
    eq(r.port("uplink")["drops"], 1, "counted against the uplink")
    eq(r.out("vm9"), [bytes(f)], "phys2's VLAN 100 is p2v100 only")
    eq(r.out("vm6") + r.out("vm7"), [], "phys1's VLAN 100 is another network")


def test_R_V3_learned_against_P_then_unicast():
    s = provider_sections()
    r = run([(1.0, "uplink", tagged(frame(X, BCAST), 100)),
             (2.0, "vm6", frame(mac(6), X)),                 # to P only, tagged
             (3.0, "uplink", tagged(frame(X, mac(6)), 100)),  # to vm6 only
             (4.0, "uplink", tagged(frame(Y, X), 100))], s)   # behind P: not back
    eq(r.fdb("v100")[X]["physical_network"], "phys1", "X learned against P")
    eq(r.fdb("v100")[X]["kind"], "local", "ages as local learning")
    eq(r.fdb("v100")[mac(6)]["port"], "vm6", "vm6 learned on its port")
    eq(r.out("uplink"), [tagged(frame(mac(6), X), 100)], "vm6 -> X on P, tagged")
    eq(r.out("vm6"), [bytes(frame(X, BCAST)), bytes(frame(X, mac(6)))], "vm6")
    eq(r.out("vm7"), [bytes(frame(X, BCAST))], "vm7: the broadcast only")
    eq(r.drops(), {"same_port": 1}, "the frame to a MAC behind P")


def test_R_V3_mac_move_between_P_and_a_vm_followed_at_once():
    s = provider_sections()
    r = run([(1.0, "uplink", tagged(frame(X, BCAST), 100)),
             (2.0, "vm7", frame(X, mac(6))),                     # X moved to vm7
             (3.0, "uplink", tagged(frame(Y, X), 100)),          # to vm7
             (4.0, "uplink", tagged(frame(X, mac(7)), 100)),     # X back behind P
             (5.0, "vm7", frame(mac(7), X))], s)                 # to P
    eq(r.fdb("v100")[X]["physical_network"], "phys1", "back on P")
    eq(r.out("vm7")[1], bytes(frame(Y, X)), "after the move, P's frame to X reaches vm7")
    eq(bytes(frame(Y, X)) in r.out("vm6"), False, "and not vm6 (not flooded)")
    eq(r.out("uplink")[-1:], [tagged(frame(mac(7), X), 100)], "after the move back: to P")


def test_R_V3_learning_separate_per_network():
    s = provider_sections()
    r = run([(1.0, "uplink", tagged(frame(X, BCAST), 100)),
             (2.0, "vm10", frame(mac(10), X))], s)
    eq(sorted(r.fdb("v100")), [X], "v100 learned X")
    eq(sorted(r.fdb("v200")), [mac(10)], "not v200")
    eq(r.out("uplink"), [tagged(frame(mac(10), X), 200)], "v200 floods to P, tag 200")


def test_R_V4_tunnels_and_physical_network_share_the_uplink():
    inner = frame(mac(20), BCAST)
    f8 = frame(mac(8), BCAST)
    arp = Ether(src=R2_MAC, dst=BCAST) / ARP(op=1, hwsrc=R2_MAC, psrc=R2, pdst=LOCAL_IP)
    r = run([(1.0, "uplink", vxlan(inner, 1001)),       # tunnel: blue's VMs
             (2.0, "vm1", frame(mac(1), BCAST)),        # blue: tunnels only
             (3.0, "vm8", f8),                          # flat: untagged on the uplink
             (4.0, "uplink", arp)], provider_sections())
    eq(r.out("vm1"), [bytes(inner)], "tunnel traffic is decapsulated as before")
    up = r.pkts("uplink")
    vx = [p for p in up if p.haslayer(VXLAN)]
    eq(len(vx), 2, "blue's broadcast in a VXLAN packet to each remote")
    eq([bytes(p) for p in up if not p.haslayer(VXLAN) and not p.haslayer(ARP)], [bytes(f8)],
       "the flat network's frame, untagged")
    replies = [p for p in up if p.haslayer(ARP) and p[ARP].op == 2]
    eq(len(replies), 1, "the underlay still answers ARP for local_ip")
    eq(r.out("vm8"), [bytes(arp)], "and the flat network sees the broadcast")


def test_R_V4_a_physical_network_never_leaves_on_another():
    f9 = frame(mac(9), BCAST)
    f6 = frame(mac(6), BCAST)
    r = run([(1.0, "vm9", f9), (2.0, "vm6", f6), (3.0, "phys2", tagged(frame(X, BCAST), 100))],
            provider_sections())
    eq(r.out("phys2"), [tagged(f9, 100)], "phys2's network leaves on phys2, tagged")
    eq(r.out("uplink"), [tagged(f6, 100)], "phys1's on the uplink")
    eq(r.out("vm9"), [bytes(frame(X, BCAST))], "phys2's frame to its network only")
    eq(r.out("vm6"), [], "nothing of phys2 reaches phys1's VLAN 100")


def test_R_V5_mtu_bounds_frames_the_tag_not_counted():
    ok = frame(mac(6), BCAST, payload=b"a" * 1500)
    big = frame(mac(6), BCAST, payload=b"b" * 1501)
    pok = frame(X, BCAST, payload=b"c" * 1500)
    pbig = frame(X, BCAST, payload=b"d" * 1501)
    r = run([(1.0, "vm6", ok), (2.0, "vm6", big), (3.0, "uplink", tagged(pok, 100)),
             (4.0, "uplink", tagged(pbig, 100))], provider_sections())
    eq([len(b) for b in r.out("uplink")], [1518], "a 1518-byte tagged frame fits MTU 1500")
    eq(r.out("vm7"), [bytes(ok), bytes(big), bytes(pok)],
       "local ports are not P: its MTU is not theirs")
    eq(r.drops(), {"phys_too_big": 2}, "the oversize frames, both ways")


def test_R_V5_mtu_per_physical_network():
    big = frame(mac(6), BCAST, payload=b"b" * 1400)
    r = run([(1.0, "vm6", big), (2.0, "vm9", big)], provider_sections(mtu1="1300"))
    eq(r.out("uplink"), [], "phys1 (MTU 1300)")
    eq(len(r.out("phys2")), 1, "phys2 (1500)")
    eq(r.drops(), {"phys_too_big": 1}, "drops")


def test_R_V_security_groups_and_port_security_on_a_vlan_network():
    """A provider network's VM port is filtered as on a tunnel network:
    port security on what it sends, its security groups on what reaches it
    from P (ingress) and what it sends to P (egress, stateful: the reply
    from P passes)."""
    from scapy.layers.inet import TCP
    m6, ip6, xip = mac(6), "10.1.0.6", "10.1.0.99"
    rules = [{"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
              "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0",
              "remote_group_id": None},
             {"direction": "egress", "ethertype": "IPv4", "protocol": None,
              "port_range_min": None, "port_range_max": None,
              "remote_ip_prefix": "0.0.0.0/0", "remote_group_id": None}]
    ctl = [(0.1, {"op": "security_group_set", "name": "sg1", "rules": rules}),
           (0.2, {"op": "port_security_set", "port": "vm6", "enabled": True, "mac": m6,
                  "fixed_ips": [ip6], "security_groups": ["sg1"]})]

    def tcp(src_mac, dst_mac, src, dst, sport, dport, flags):
        return Ether(src=src_mac, dst=dst_mac) / IP(src=src, dst=dst) / TCP(
            sport=sport, dport=dport, flags=flags) / Raw(b"s" * 10)
    ssh = tcp(X, m6, xip, ip6, 40000, 22, "S")
    web = tcp(X, m6, xip, ip6, 40001, 80, "S")
    out = tcp(m6, X, ip6, xip, 50000, 443, "S")
    back = tcp(X, m6, xip, ip6, 443, 50000, "SA")
    spoof = tcp(m6, X, "10.1.0.66", xip, 50001, 443, "S")
    r = run([(0.5, "vm6", Ether(src=m6, dst=BCAST) / ARP(hwsrc=m6, psrc=ip6, pdst=ip6)),
             (0.6, "uplink", tagged(Ether(src=X, dst=BCAST) / ARP(hwsrc=X, psrc=xip,
                                                                  pdst=xip), 100)),
             (1.0, "uplink", tagged(ssh, 100)), (1.1, "uplink", tagged(web, 100)),
             (1.2, "vm6", out), (1.3, "uplink", tagged(back, 100)), (1.4, "vm6", spoof)],
            provider_sections(), control=ctl)
    r.ok_replies()
    eq([b for b in r.out("vm6") if b in (bytes(ssh), bytes(web), bytes(back))],
       [bytes(ssh), bytes(back)], "ssh (a rule) and the reply (a connection) reach vm6")
    eq(tagged(out, 100) in r.out("uplink"), True, "egress to P allowed, tagged")
    eq(tagged(spoof, 100) in r.out("uplink"), False, "a spoofed source never reaches P")
    eq(r.drops(), {"sg_deny": 1, "ps_src_ip": 1}, "drops")


def test_R_V3_network_mac_limit_holds_for_macs_behind_P():
    s = provider_sections()
    s["dataplane"] = {"mac_limit_network": "2"}
    r = run([(1.0 + i / 10, "uplink", tagged(frame("02:aa:00:00:01:%02x" % i, BCAST), 100))
             for i in range(4)], s)
    eq(len(r.fdb("v100")), 2, "two MACs learned behind P, the network's cap")
    eq(r.state["counters"]["learn"]["limited"] >= 2, True, "the others counted as limited")
    eq(len(r.out("vm6")), 4, "frames still flooded to the local ports")


def test_provider_networks_config_refused():
    def refused(mutate, why):
        s = provider_sections()
        mutate(s)
        p = run([], s, expect_rc=1)
        if why not in p.stderr:
            raise AssertionError("want %r in: %s" % (why, p.stderr))
    refused(lambda s: s.update({"network x": {"type": "vlan", "physical_network": "phys9",
                                              "segmentation_id": "5"}}), "no [physnet phys9]")
    refused(lambda s: s.update({"network x": {"type": "vlan", "physical_network": "phys1",
                                              "segmentation_id": "4095"}}), "segmentation_id")
    refused(lambda s: s.update({"network x": {"type": "vlan", "physical_network": "phys1",
                                              "segmentation_id": "100"}}),
            "VLAN 100 of phys1 already used by network v100")
    refused(lambda s: s.update({"network x": {"type": "flat", "physical_network": "phys1"}}),
            "already used by network flat1")
    refused(lambda s: s.update({"physnet phys3": {"device": "uplink"}}),
            "the uplink already carries physical network phys1")
    refused(lambda s: s.update({"flood v100": {"remotes": R2}}), "provider network")


def test_provider_networks_control():
    s = provider_sections()
    ctl = [(0.5, {"op": "network_add", "name": "v300", "type": "vlan",
                  "physical_network": "phys1", "segmentation_id": 300}),
           (0.6, {"op": "network_add", "name": "bad1", "type": "vlan",
                  "physical_network": "nope", "segmentation_id": 300}),
           (0.7, {"op": "network_add", "name": "bad2", "type": "vlan",
                  "physical_network": "phys1", "segmentation_id": 300}),
           (0.8, {"op": "network_add", "name": "bad3", "type": "flat",
                  "physical_network": "phys1"}),
           (0.9, {"op": "network_add", "name": "bad4", "type": "vlan",
                  "physical_network": "phys1", "segmentation_id": 4095}),
           (1.0, {"op": "port_add", "name": "vm11", "network": "v300",
                  "devargs": "net_vhost11,iface=/run/tunsw/vhost/x11.sock"}),
           (1.1, {"op": "fdb_add", "network": "v100", "mac": X, "remote": R2}),
           (1.2, {"op": "show_info"}),
           (1.3, {"op": "trace", "port": "vm9", "frame": bytes(frame(mac(9), BCAST)).hex()}),
           (1.4, {"op": "port_add", "name": "phys2", "network": "v100",
                  "devargs": "net_vhost12,iface=/run/tunsw/vhost/x12.sock"}),
           (3.0, {"op": "network_del", "name": "v300"}),
           (3.1, {"op": "port_del", "name": "vm11"}),
           (3.2, {"op": "network_del", "name": "v300"})]
    f = frame(X, BCAST)
    r = run([(2.0, "uplink", tagged(f, 300)), (4.0, "uplink", tagged(f, 300))], s, control=ctl)
    oks = [x.get("ok") for x in r.replies]
    eq(oks, [True, False, False, False, False, True, False, True, True, False, False, True,
             True], "replies")
    eq(r.replies[9]["field"], "name", "a port named like a physical network refused")
    tr = r.replies[8]["result"]["outputs"]
    eq([(o["port"], o["frame"]) for o in tr], [("phys2", tagged(frame(mac(9), BCAST), 100).hex())],
       "trace names the physical network's device and shows the tag")
    errs = [x.get("field") for x in r.replies]
    eq(errs[1:5], ["physical_network", "segmentation_id", "physical_network",
                   "segmentation_id"], "fields named")
    eq(errs[6], "network", "no l2population on a provider network")
    info = r.replies[7]["result"]
    eq(sorted((p["name"], p["device"], p["mtu"]) for p in info["physical_networks"]),
       [("phys1", "uplink", 1500), ("phys2", P2_DEV, 1500)], "show_info")
    eq(info["bridge_mappings"], "phys1:uplink,phys2:" + P2_DEV, "bridge_mappings")
    eq(r.out("vm11"), [bytes(f)], "VLAN 300 reaches the new network's port")
    eq(r.drops(), {"phys_unknown_vlan": 1}, "VLAN 300 is no network once deleted")


if __name__ == "__main__":
    run_tests(globals())
