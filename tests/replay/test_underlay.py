"""The underlay slow path: ARP and ICMP for local_ip, ARP resolution of next
hops (queue, retries, re-checks, gratuitous ARP), routes, R-E1's next-hop
MAC. The pcap clock drives every timer."""
from tsw import *

GW, GW_MAC = "198.18.0.254", "02:00:00:00:00:fe"
FAR = "198.20.0.5"          # a remote VTEP beyond the connected /24


def no_r3_neighbor(**uplink):
    s = standard_sections()
    del s["neighbor " + R3]
    s["uplink"] = dict(s["uplink"], **uplink)
    return s


def arp_request(tpa, src=R3, src_mac=R3_MAC):
    return Ether(src=src_mac, dst=BCAST) / ARP(op=1, hwsrc=src_mac, psrc=src, pdst=tpa)


def arp_reply(src=R3, src_mac=R3_MAC):
    return (Ether(src=src_mac, dst=UPLINK_MAC) /
            ARP(op=2, hwsrc=src_mac, psrc=src, hwdst=UPLINK_MAC, pdst=LOCAL_IP))


def our_request(tpa, dst=BCAST):
    return bytes(Ether(src=UPLINK_MAC, dst=dst) /
                 ARP(op=1, hwsrc=UPLINK_MAC, psrc=LOCAL_IP, hwdst="00:00:00:00:00:00", pdst=tpa))


def outer_dst(b):
    p = Ether(b)
    return (p.dst, p[IP].dst)


def show(t, op):
    return (t, {"op": op})


def test_arp_request_for_local_ip_answered():
    r = run([(1.0, "uplink", arp_request(LOCAL_IP, src=R2, src_mac=R2_MAC)),
             (2.0, "uplink", arp_request("198.18.0.77", src=R2, src_mac=R2_MAC))])
    want = (Ether(src=UPLINK_MAC, dst=R2_MAC) /
            ARP(op=2, hwsrc=UPLINK_MAC, psrc=LOCAL_IP, hwdst=R2_MAC, pdst=R2))
    eq(r.out("uplink"), [bytes(want)], "one reply, for local_ip only")
    eq(r.drops(), {}, "ARP is not a drop")


def test_icmp_echo_to_local_ip_answered():
    ping = (Ether(src=R2_MAC, dst=UPLINK_MAC) / IP(src=R2, dst=LOCAL_IP, ttl=61, id=7) /
            ICMP(type=8, id=0x42, seq=3) / Raw(b"tunsw" * 10))
    bad = Ether(bytes(ping))
    bad[ICMP].chksum = 0x1234
    r = run([(1.0, "uplink", ping), (2.0, "uplink", bad)])
    eq(len(r.out("uplink")), 1, "one reply, the bad checksum ignored")
    rep = Ether(r.out("uplink")[0])
    eq((rep.src, rep.dst, rep[IP].src, rep[IP].dst, rep[IP].ttl), (UPLINK_MAC, R2_MAC,
                                                                    LOCAL_IP, R2, 64), "reply")
    eq((rep[ICMP].type, rep[ICMP].id, rep[ICMP].seq, bytes(rep[ICMP].payload)),
       (0, 0x42, 3, b"tunsw" * 10), "echo reply")
    chk = Ether(bytes(rep))
    del chk[IP].chksum, chk[ICMP].chksum
    chk = Ether(bytes(chk))
    eq((rep[IP].chksum, rep[ICMP].chksum), (chk[IP].chksum, chk[ICMP].chksum), "checksums")


def test_icmp_echo_to_a_multicast_mac_ignored():
    """An echo request to local_ip sent to a group MAC (or from one) gets no
    answer, as a host stack's; a reply never carries a multicast source."""
    pings = [Ether(src=R2_MAC, dst=dst) / IP(src=R2, dst=LOCAL_IP, id=i) /
             ICMP(type=8, id=0x42, seq=i) / Raw(b"m" * 20)
             for i, dst in enumerate(["01:00:5e:00:00:01", BCAST, "33:33:00:00:00:01"])]
    pings.append(Ether(src="01:00:5e:00:00:09", dst=UPLINK_MAC) / IP(src=R2, dst=LOCAL_IP) /
                 ICMP(type=8, id=0x42, seq=9) / Raw(b"m" * 20))
    r = run([(1.0 + i * 0.1, "uplink", p) for i, p in enumerate(pings)])
    eq(r.out("uplink"), [], "no reply")


def test_R_E1_next_hop_resolved_by_arp_then_queue_released():
    """A frame to a VTEP whose MAC is unknown waits while tunsw asks; the
    answer releases it with the right outer MAC; later frames go at once."""
    f1 = frame(mac(1), BCAST)
    r = run([(1.0, "vm1", f1), (1.5, "uplink", arp_reply()), (2.0, "vm1", frame(mac(1), BCAST))],
            no_r3_neighbor(), control=[show(1.6, "show_neighbors")])
    out = r.out("uplink")
    eq([outer_dst(b) if Ether(b).type == 0x0800 else "arp" for b in out],
       [(R2_MAC, R2), "arp", (R3_MAC, R3), (R2_MAC, R2), (R3_MAC, R3)], "uplink order")
    eq(out[1], our_request(R3), "broadcast ARP request for R3")
    eq(r.times("uplink")[:3], [1.0, 1.0, 1.5], "request at once, queued frame on the answer")
    eq(bytes(Ether(out[2])[VXLAN].payload), bytes(f1), "the queued frame itself")
    nb = {n["ip"]: n for n in r.ok_replies()[0]}
    eq((nb[R3]["mac"], nb[R3]["state"], nb[R2]["state"]), (R3_MAC, "reachable", "static"),
       "neighbors")
    eq(r.drops(), {}, "nothing dropped")


def test_R_E1_unanswered_arp_retries_then_drops():
    f = frame(mac(1), BCAST)
    r = run([(1.0, "vm1", f), (20.0, "vm1", f)], no_r3_neighbor(),
            control=[(19.0, {"op": "show_counters"})])
    reqs = [t for b, t in zip(r.out("uplink"), r.times("uplink")) if Ether(b).type == 0x0806]
    eq(reqs, [1.0, 2.0, 4.0, 20.0], "3 tries (1 s, 2 s apart), then a new round")
    u = r.ok_replies()[0]["underlay"]
    eq((u["failed"], u["dropped_unresolved"], u["queued"]), (1, 1, 1), "given up")


def test_R_E1_queue_bounded():
    fs = [(1.0 + i / 1000.0, "vm1", frame(mac(1), BCAST)) for i in range(40)]
    r = run(fs, no_r3_neighbor(), control=[show(1.5, "show_counters")])
    u = r.ok_replies()[0]["underlay"]
    eq((u["queued"], u["queue_full"]), (32, 8), "32 wait, the rest is dropped and counted")


def test_reachable_time_then_recheck_and_expiry():
    """arp_reachable later tunsw re-checks with unicast requests while still
    using the MAC; without an answer the entry goes and frames wait again."""
    f = frame(mac(1), mac(60))
    s = no_r3_neighbor(arp_reachable="5", arp_retries="2")
    s["fdb blue " + mac(60)] = {"remote": R3}
    r = run([(1.0, "vm1", f), (1.5, "uplink", arp_reply()), (7.0, "vm1", f),
             (9.0, "vm1", f)], s)
    arp = [(t, Ether(b).dst) for b, t in zip(r.out("uplink"), r.times("uplink"))
           if Ether(b).type == 0x0806]
    eq(arp, [(1.0, BCAST), (6.5, R3_MAC), (7.5, R3_MAC), (9.0, BCAST)],
       "broadcast, two unicast re-checks, broadcast after expiry")
    data = [(t, Ether(b).dst) for b, t in zip(r.out("uplink"), r.times("uplink"))
            if Ether(b).type == 0x0800]
    eq(data, [(1.5, R3_MAC), (7.0, R3_MAC)], "the 9.0 frame waits for an answer")


def test_gratuitous_arp_moves_next_hop_static_wins():
    f = frame(mac(1), BCAST)
    garp3 = (Ether(src="02:00:00:00:03:33", dst=BCAST) /
             ARP(op=1, hwsrc="02:00:00:00:03:33", psrc=R3, pdst=R3))
    garp2 = (Ether(src="02:00:00:00:02:22", dst=BCAST) /
             ARP(op=2, hwsrc="02:00:00:00:02:22", psrc=R2, pdst=R2))
    r = run([(1.0, "vm1", f), (1.5, "uplink", arp_reply()), (2.0, "uplink", garp3),
             (2.1, "uplink", garp2), (3.0, "vm1", f)], no_r3_neighbor())
    last = [outer_dst(b) for b, t in zip(r.out("uplink"), r.times("uplink"))
            if t == 3.0]
    eq(sorted(last), [(R2_MAC, R2), ("02:00:00:00:03:33", R3)],
       "R3 follows its gratuitous ARP; static R2 does not")


def test_routes_gateway_and_control():
    s = standard_sections()
    s["uplink"] = dict(s["uplink"], gateway=GW)
    s["neighbor " + GW] = {"mac": GW_MAC}
    s["remote " + FAR] = {"type": "vxlan"}
    s["route 198.21.0.0/16"] = {"via": R2}
    s["remote 198.21.3.4"] = {"type": "vxlan"}
    f = frame(mac(3), BCAST)
    ctl = [(1.5, {"op": "route_add", "prefix": "198.20.0.0/24", "via": R3}),
           (2.5, {"op": "route_del", "prefix": "198.20.0.0/24"}),
           (2.6, {"op": "show_routes"}),
           (2.7, {"op": "route_add", "prefix": "198.20.0.0/24", "via": "198.19.0.1"})]
    r = run([(1.0, "vm3", f), (2.0, "vm3", f), (3.0, "vm3", f)], s, control=ctl)
    by_t = {}
    for b, t in zip(r.out("uplink"), r.times("uplink")):
        by_t.setdefault(t, set()).add(outer_dst(b))
    eq(by_t[1.0], {(R2_MAC, R2), (R3_MAC, R3), (GW_MAC, FAR), (R2_MAC, "198.21.3.4")},
       "on-link, default gateway, static route")
    eq((R3_MAC, FAR) in by_t[2.0], True, "a more specific route from the control socket")
    eq((GW_MAC, FAR) in by_t[3.0], True, "back to the gateway once deleted")
    eq([x["ok"] for x in r.replies], [True, True, True, False], "replies")
    eq(r.replies[3]["field"], "via", "via off-link refused")
    eq([(x["prefix"], x["via"], x["origin"]) for x in r.replies[2]["result"]],
       [("198.18.0.0/24", None, "connected"), ("0.0.0.0/0", GW, "config"),
        ("198.21.0.0/16", R2, "config")], "routes")


def test_no_route_counted():
    s = standard_sections()
    s["remote " + FAR] = {"type": "vxlan"}
    r = run([(1.0, "vm1", frame(mac(1), BCAST))], s)
    eq(r.drops(), {"no_route": 1}, "unreachable VTEP")
    eq(len(r.out("uplink")), 2, "R2 and R3 still get theirs")


def test_trace_shows_the_slow_path():
    """trace: ARP for local_ip goes to the management thread; a frame to an
    unresolved next hop is encapsulated and waits for ARP."""
    ctl = [(1.0, {"op": "trace", "port": "uplink",
                  "frame": bytes(arp_request(LOCAL_IP, src=R2, src_mac=R2_MAC)).hex()}),
           (1.1, {"op": "trace", "port": "vm1", "frame": bytes(frame(mac(1), BCAST)).hex()})]
    r = run([], no_r3_neighbor(), control=ctl)
    a, b = r.ok_replies()
    eq((a["rule"], [o["port"] for o in a["outputs"]], a["drops"]),
       ("underlay (ARP/ICMP for local_ip)", ["management"], {}), "ARP for local_ip")
    outs = sorted((o["port"], o.get("tunnel", {}).get("remote", ""), o.get("waits_for_arp", ""))
                  for o in b["outputs"])
    eq((b["rule"], outs), ("R-F4", [("uplink", R2, ""), ("uplink", R3, R3), ("vm2", "", "")]),
       "flood: R3's copy waits for ARP")
    eq(r.out("uplink"), [], "trace sends nothing, not even an ARP request")


if __name__ == "__main__":
    run_tests(globals())
