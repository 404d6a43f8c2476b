"""R-G1..R-G9: Neutron's security groups (stateful and stateless), given by
control requests as tunsw-agent gives them (security_group_set,
security_group_members, address_group_set, port_security_set with
security_groups), enforced on the frames of a filtered port; every drop
counted under its reason (sg_deny, ct_invalid, ct_full, ct_port_limit,
ct_revoked)."""
from scapy.layers.inet import TCP
from scapy.layers.inet6 import (ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6ND_NS,
                                ICMPv6ND_RA, ICMPv6MLReport, IPv6)

from tsw import *

M1, M2, M3, M9 = mac(1), mac(2), mac(3), mac(9)
A1, A2, A3 = "10.0.0.1", "10.0.0.2", "10.0.0.3"
REMOTE = "10.0.0.9"       # a VM on another host, behind the tunnel to R2
ANY4 = "0.0.0.0/0"


def rule(direction, protocol=None, pmin=None, pmax=None, prefix=None, group=None,
         agroup=None, ethertype="IPv4"):
    r = {"direction": direction, "ethertype": ethertype, "protocol": protocol,
         "port_range_min": pmin, "port_range_max": pmax, "remote_ip_prefix": prefix,
         "remote_group_id": group}
    if agroup is not None:
        r["remote_address_group_id"] = agroup
    return r


def sg(gid, rules, stateful=True):
    return {"op": "security_group_set", "name": gid, "rules": rules, "stateful": stateful}


def secure(port, m, ips, groups):
    return {"op": "port_security_set", "port": port, "enabled": True, "mac": m,
            "fixed_ips": ips, "security_groups": groups}


def tcp(src, dst, sport, dport, flags, src_mac=M9, dst_mac=M1, **ip):
    return Ether(src=src_mac, dst=dst_mac) / IP(src=src, dst=dst, **ip) / TCP(
        sport=sport, dport=dport, flags=flags) / Raw(b"t" * 10)


def udp(src, dst, sport, dport, src_mac=M9, dst_mac=M1):
    return Ether(src=src_mac, dst=dst_mac) / IP(src=src, dst=dst) / UDP(
        sport=sport, dport=dport) / Raw(b"u" * 10)


def from_tunnel(f, vni=1001):
    return vxlan(f, vni)


class Case:
    """Frames in order, each with what must become of it: 'vmN' (delivered
    to that port), 'tunnel' (sent to the remote), or a drop reason (found
    nowhere). vm1 and vm2 first announce themselves (a gratuitous ARP each:
    their MACs are learned, frames to them are not flooded)."""

    def __init__(self, control, sections=None):
        self.control = list(control)
        self.sections = sections or standard_sections()
        self.frames = [(0.5, "vm1", Ether(src=M1, dst=BCAST) / ARP(hwsrc=M1, psrc=A1, pdst=A1),
                        None),
                       (0.51, "vm2", Ether(src=M2, dst=BCAST) / ARP(hwsrc=M2, psrc=A2, pdst=A2),
                        None)]
        self.t = 1.0

    def at(self, req):
        """A control request now, between frames."""
        self.control.append((self.t, req))
        self.t += 0.01

    def send(self, port, f, want):
        self.frames.append((self.t, port, f, want))
        self.t += 0.01

    def run(self, extra=None):
        """extra: drops beyond the frames' own (a flood's copies)."""
        r = run([(t, p, f) for t, p, f, _ in self.frames], self.sections,
                control=self.control)
        bad = [x for x in r.replies if not x.get("ok")]
        assert not bad, "refused: %s" % bad
        outs = {n: list(r.out(n)) for n in ("vm1", "vm2", "vm3", "uplink")}
        diff, reasons = [], {}
        for t, p, f, want in self.frames:
            if want is None:
                continue
            inner = bytes(f if p != "uplink" else f[VXLAN].payload)
            if want == "tunnel":
                ok = any(inner in o for o in outs["uplink"])
            elif want in outs:
                ok = inner in outs[want]
            else:
                ok = not any(inner in outs[n] for n in ("vm1", "vm2", "vm3")) and \
                    not any(inner in o for o in outs["uplink"] if p != "uplink")
                reasons[want] = reasons.get(want, 0) + 1
            if not ok:
                diff.append((round(t, 3), p, f.summary(), want))
        if diff:
            raise AssertionError("not as wanted:\n  %s\ndrops: %s" % (
                "\n  ".join(map(str, diff)), r.drops()))
        for k, v in (extra or {}).items():
            reasons[k] = reasons.get(k, 0) + v
        sg_drops = {k: v for k, v in r.drops().items()
                    if k in ("sg_deny", "ct_invalid", "ct_full", "ct_port_limit",
                             "ct_revoked")}
        eq(sg_drops, reasons, "drops by reason")
        return r


def test_R_G5_R_G6_new_connections_need_a_rule_of_their_direction():
    c = Case([(0.1, sg("web", [rule("ingress", "tcp", 80, 80, ANY4)])),
              (0.2, secure("vm1", M1, [A1], ["web"]))])
    c.send("vm1", udp(A1, REMOTE, 68, 67, src_mac=M1, dst_mac=BCAST), "tunnel")  # DHCP (R-G2)
    c.send("uplink", from_tunnel(tcp(REMOTE, A1, 40000, 80, "S")), "vm1")
    c.send("uplink", from_tunnel(tcp(REMOTE, A1, 40001, 22, "S")), "sg_deny")
    c.send("uplink", from_tunnel(udp(REMOTE, A1, 40002, 53)), "sg_deny")
    # no egress rule: vm1 starts nothing (R-G6)...
    c.send("vm1", tcp(A1, REMOTE, 41000, 443, "S", src_mac=M1, dst_mac=M9), "sg_deny")
    # ...but answers what was let in (R-G4)
    c.send("vm1", tcp(A1, REMOTE, 80, 40000, "SA", src_mac=M1, dst_mac=M9), "tunnel")
    c.send("uplink", from_tunnel(tcp(REMOTE, A1, 40000, 80, "A")), "vm1")
    c.run()


def test_R_G3_invalid_packets_are_dropped():
    c = Case([(0.1, sg("open", [rule("ingress", None, prefix=ANY4),
                                rule("egress", None, prefix=ANY4)])),
              (0.2, secure("vm1", M1, [A1], ["open"]))])
    c.send("uplink", from_tunnel(tcp(REMOTE, A1, 40000, 80, "SA")), "ct_invalid")  # starts nothing
    c.send("uplink", from_tunnel(tcp(REMOTE, A1, 40000, 80, "R")), "ct_invalid")
    c.send("uplink", from_tunnel(Ether(src=M9, dst=M1) / IP(src=REMOTE, dst=A1) /
                                 ICMP(type=8, code=1)), "ct_invalid")           # echo, code 1
    c.send("uplink", from_tunnel(Ether(src=M9, dst=M1) / IP(src=REMOTE, dst=A1) /
                                 ICMP(type=0)), "ct_invalid")                   # a reply to nothing
    c.send("uplink", from_tunnel(Ether(src=M9, dst=M1) / IP(src=REMOTE, dst=A1) /
                                 ICMP(type=9)), "ct_invalid")                   # neither query nor error
    c.send("uplink", from_tunnel(Ether(src=M9, dst=M1) / IP(src=REMOTE, dst=A1, chksum=0x1234) /
                                 UDP(sport=1, dport=2)), "ct_invalid")          # bad header checksum
    # a later fragment names no connection (not reassembled); the first passes
    c.send("uplink", from_tunnel(Ether(src=M9, dst=M1) / IP(src=REMOTE, dst=A1, id=5, flags=1) /
                                 UDP(sport=3, dport=4) / Raw(b"f" * 16)), "vm1")
    c.send("uplink", from_tunnel(Ether(src=M9, dst=M1) / IP(src=REMOTE, dst=A1, id=5, frag=3,
                                                           proto=17) / Raw(b"g" * 8)),
           "ct_invalid")
    # a mid-stream segment may start one where a rule allows it
    c.send("uplink", from_tunnel(tcp(REMOTE, A1, 40001, 80, "A")), "vm1")
    c.send("uplink", from_tunnel(Ether(src=M9, dst=M1) / IP(src=REMOTE, dst=A1) /
                                 ICMP(type=8, id=7)), "vm1")
    c.send("vm1", Ether(src=M1, dst=M9) / IP(src=A1, dst=REMOTE) / ICMP(type=0, id=7), "tunnel")
    c.run()


def test_R_G4_replies_and_related_icmp_errors_pass():
    c = Case([(0.1, sg("out", [rule("egress", "udp", 53, 53, ANY4)])),
              (0.2, secure("vm1", M1, [A1], ["out"]))])
    q = udp(A1, REMOTE, 5353, 53, src_mac=M1, dst_mac=M9)
    c.send("vm1", q, "tunnel")
    c.send("uplink", from_tunnel(udp(REMOTE, A1, 53, 5353)), "vm1")            # the reply
    err = Ether(src=M9, dst=M1) / IP(src=REMOTE, dst=A1) / ICMP(type=3, code=3) / bytes(q[IP])[:28]
    c.send("uplink", from_tunnel(err), "vm1")                                   # related
    other = udp(A1, REMOTE, 6000, 123, src_mac=M1, dst_mac=M9)
    err2 = Ether(src=M9, dst=M1) / IP(src=REMOTE, dst=A1) / ICMP(type=3, code=3) / bytes(other[IP])[:28]
    c.send("uplink", from_tunnel(err2), "ct_invalid")                           # quotes nothing
    c.send("uplink", from_tunnel(udp(REMOTE, A1, 53, 5354)), "sg_deny")        # not a reply
    c.run()


def test_R_G5_remote_prefix_remote_group_and_address_group():
    c = Case([(0.1, sg("app", [])),
              (0.11, {"op": "security_group_members", "name": "app",
                      "set": [REMOTE, "10.7.0.0/24"]}),          # a pair with a prefix
              (0.12, {"op": "address_group_set", "name": "office",
                      "addresses": ["10.5.0.0/16", "10.6.6.6"]}),
              (0.13, sg("db", [rule("ingress", "tcp", 5432, 5432, group="app"),
                               rule("ingress", "tcp", 22, 22, prefix="10.9.0.0/16"),
                               rule("ingress", "tcp", 443, 443, agroup="office")])),
              (0.2, secure("vm1", M1, [A1], ["db"]))])
    for src, port, want in ((REMOTE, 5432, "vm1"), ("10.7.0.5", 5432, "vm1"),
                            ("10.0.0.8", 5432, "sg_deny"), ("10.9.1.1", 22, "vm1"),
                            ("10.8.1.1", 22, "sg_deny"), ("10.5.3.3", 443, "vm1"),
                            ("10.6.6.6", 443, "vm1"), ("10.6.6.7", 443, "sg_deny"),
                            (REMOTE, 443, "sg_deny")):
        c.send("uplink", from_tunnel(tcp(src, A1, 30000, port, "S")), want)
    c.run()


def test_R_G7_a_removed_member_or_rule_cuts_its_connections_at_once():
    c = Case([(0.1, sg("app", [])),
              (0.11, {"op": "security_group_members", "name": "app", "set": [REMOTE, "10.0.0.8"]}),
              (0.12, sg("db", [rule("ingress", "tcp", 5432, 5432, group="app"),
                               rule("ingress", "tcp", 80, 80, ANY4)])),
              (0.2, secure("vm1", M1, [A1], ["db"]))])
    c.send("uplink", from_tunnel(tcp(REMOTE, A1, 30000, 5432, "S")), "vm1")
    c.send("uplink", from_tunnel(tcp("10.0.0.8", A1, 30001, 5432, "S")), "vm1")
    c.send("uplink", from_tunnel(tcp(REMOTE, A1, 30002, 80, "S")), "vm1")
    c.send("vm1", tcp(A1, REMOTE, 5432, 30000, "SA", src_mac=M1, dst_mac=M9), "tunnel")
    c.at({"op": "security_group_members", "name": "app", "remove": [REMOTE]})
    # cut in both directions from the change on; the other member's goes on
    c.send("vm1", tcp(A1, REMOTE, 5432, 30000, "A", src_mac=M1, dst_mac=M9), "ct_revoked")
    c.send("uplink", from_tunnel(tcp(REMOTE, A1, 30000, 5432, "A")), "ct_revoked")
    c.send("uplink", from_tunnel(tcp("10.0.0.8", A1, 30001, 5432, "A")), "vm1")
    # a rule removed: its connections go, the others' stay
    c.at(sg("db", [rule("ingress", "tcp", 5432, 5432, group="app")]))
    c.send("uplink", from_tunnel(tcp(REMOTE, A1, 30002, 80, "A")), "ct_revoked")
    c.send("vm1", tcp(A1, REMOTE, 80, 30002, "A", src_mac=M1, dst_mac=M9), "ct_revoked")
    c.send("uplink", from_tunnel(tcp("10.0.0.8", A1, 30001, 5432, "A")), "vm1")
    c.run()


def test_R_G5_between_two_local_ports_both_filters_apply():
    c = Case([(0.1, sg("client", [rule("egress", "tcp", prefix=ANY4)])),
              (0.11, sg("server", [rule("ingress", "tcp", 80, 80, ANY4)])),
              (0.2, secure("vm1", M1, [A1], ["client"])),
              (0.21, secure("vm2", M2, [A2], ["server"]))])
    c.send("vm2", Ether(src=M2, dst=BCAST) / ARP(hwsrc=M2, psrc=A2, pdst=A1), "vm1")   # learn M2
    c.send("vm1", tcp(A1, A2, 40000, 80, "S", src_mac=M1, dst_mac=M2), "vm2")
    c.send("vm1", tcp(A1, A2, 40001, 81, "S", src_mac=M1, dst_mac=M2), "sg_deny")   # vm2's ingress
    c.send("vm2", tcp(A2, A1, 80, 40000, "SA", src_mac=M2, dst_mac=M1), "vm1")      # the reply
    c.send("vm2", tcp(A2, A1, 40002, 22, "S", src_mac=M2, dst_mac=M1), "sg_deny")   # vm2's egress
    c.run()


def test_R_G8_stateless_groups_judge_every_packet():
    c = Case([(0.1, sg("sl", [rule("ingress", "tcp", 80, 80, ANY4)], stateful=False)),
              (0.2, secure("vm1", M1, [A1], ["sl"]))])
    c.send("uplink", from_tunnel(tcp(REMOTE, A1, 40000, 80, "S")), "vm1")
    c.send("vm1", tcp(A1, REMOTE, 80, 40000, "SA", src_mac=M1, dst_mac=M9), "sg_deny")  # no rule
    c.send("uplink", from_tunnel(tcp(REMOTE, A1, 40000, 80, "SA")), "vm1")   # nothing tracked
    c.at(sg("sl", [rule("ingress", "tcp", 80, 80, ANY4), rule("egress", "tcp", prefix=ANY4)],
            stateful=False))
    # (another port: the frames' bytes tell them apart)
    c.send("vm1", tcp(A1, REMOTE, 80, 40001, "SA", src_mac=M1, dst_mac=M9), "tunnel")
    r = c.run()
    eq(r.state["counters"].get("connections", {}).get("count", 0), 0, "nothing tracked")


def test_R_G9_floods_pass_each_receiving_ports_ingress_filter():
    c = Case([(0.1, sg("web", [rule("ingress", "tcp", 80, 80, ANY4)])),
              (0.2, secure("vm1", M1, [A1], ["web"]))])
    bc = Ether(src=M9, dst=BCAST) / IP(src=REMOTE, dst="10.0.0.255") / UDP(sport=9, dport=9)
    arp = Ether(src=M9, dst=BCAST) / ARP(hwsrc=M9, psrc=REMOTE, pdst=A1)
    unknown = tcp(REMOTE, A1, 40000, 81, "S", dst_mac="fa:16:3e:00:00:77")
    c.send("uplink", from_tunnel(bc), "vm2")
    c.send("uplink", from_tunnel(arp), "vm1")                # ARP (R-G2)
    c.send("uplink", from_tunnel(unknown), "vm2")            # unknown unicast, flooded
    r = c.run(extra={"sg_deny": 2})
    eq(bytes(bc) in r.out("vm1") or bytes(unknown) in r.out("vm1"), False,
       "vm1's ingress filter took the broadcast and the flooded frame")
    eq(bytes(arp) in r.out("vm2"), True, "ARP to vm2 too")


def test_R_G3_zones_a_connection_of_one_network_opens_nothing_in_another():
    s = standard_sections()
    s["port vm3"] = dict(s["port vm3"])
    c = Case([(0.1, sg("web", [rule("ingress", "tcp", 80, 80, ANY4)])),
              (0.11, sg("none", [])),
              (0.2, secure("vm1", M1, [A1], ["web"])),
              (0.21, secure("vm3", M3, [A1], ["none"]))], s)
    c.send("uplink", from_tunnel(tcp(REMOTE, A1, 40000, 80, "S")), "vm1")
    # the same addresses and ports in network red: a new connection there
    c.send("uplink", from_tunnel(tcp(REMOTE, A1, 40000, 80, "A", dst_mac=M3), 1002), "sg_deny")
    c.run()


def test_R_G2_always_allowed_ipv6_and_judged_icmpv6():
    ll1 = "fe80::f816:3eff:fe00:1"
    c = Case([(0.1, sg("v6", [rule("ingress", "icmp", 128, 0, "::/0", ethertype="IPv6")])),
              (0.2, secure("vm1", M1, [A1, "fd00::1"], ["v6"]))])
    mcast = "33:33:00:00:00:01"
    c.send("uplink", from_tunnel(Ether(src=M9, dst=mcast) / IPv6(src="fe80::9", dst="ff02::1") /
                                 ICMPv6ND_RA()), "vm1")                              # RA in
    c.send("uplink", from_tunnel(Ether(src=M9, dst=M1) / IPv6(src="fd00::9", dst="fd00::1") /
                                 ICMPv6ND_NS(tgt="fd00::1")), "vm1")                 # NS in
    c.send("vm1", Ether(src=M1, dst=M9) / IPv6(src="fd00::1", dst="fd00::9") /
           ICMPv6ND_NA(tgt="fd00::1"), "tunnel")                                    # its own NA
    c.send("vm1", Ether(src=M1, dst=M9) / IPv6(src="fd00::1", dst="fd00::9") /
           ICMPv6ND_NA(tgt="fd00::77"), "sg_deny")                                  # not its address
    c.send("vm1", Ether(src=M1, dst="33:33:00:00:00:16") / IPv6(src=ll1, dst="ff02::16") /
           ICMPv6MLReport(), "sg_deny")                                             # MLD: rules
    c.send("uplink", from_tunnel(Ether(src=M9, dst=M1) / IPv6(src="fd00::9", dst="fd00::1") /
                                 ICMPv6EchoRequest(id=5)), "vm1")
    c.send("vm1", Ether(src=M1, dst=M9) / IPv6(src="fd00::1", dst="fd00::9") /
           ICMPv6EchoReply(id=5), "tunnel")
    c.send("uplink", from_tunnel(Ether(src=M9, dst=M1) / IPv6(src="fd00::9", dst="fd00::1") /
                                 UDP(sport=1, dport=2)), "sg_deny")
    c.run()


def test_R_G1_only_ports_with_port_security_and_groups_are_filtered():
    c = Case([(0.1, sg("none", [])),
              (0.2, secure("vm1", M1, [A1], ["none"])),
              (0.3, {"op": "port_security_set", "port": "vm2", "enabled": True, "mac": M2,
                     "fixed_ips": [A2]})])                       # no groups given: R-S only
    c.send("uplink", from_tunnel(tcp(REMOTE, A1, 40000, 80, "S")), "sg_deny")
    c.send("uplink", from_tunnel(tcp(REMOTE, A2, 40000, 80, "S", dst_mac=M2)), "vm2")
    c.at({"op": "port_security_set", "port": "vm1", "enabled": False})   # R-G1: off
    c.send("uplink", from_tunnel(tcp(REMOTE, A1, 40001, 80, "S")), "vm1")
    c.run()


def test_R_G_table_full_refuses_new_connections_established_go_on():
    s = standard_sections()
    s["security"] = {"max_connections": "64"}
    c = Case([(0.1, sg("open", [rule("ingress", "udp", 1, 65535, ANY4)])),
              (0.2, secure("vm1", M1, [A1], ["open"]))], s)
    c.send("uplink", from_tunnel(udp(REMOTE, A1, 999, 1000)), "vm1")
    for i in range(120):
        c.frames.append((c.t, "uplink", from_tunnel(udp(REMOTE, A1, 2000 + i, 1000)), None))
        c.t += 0.001
    c.send("uplink", from_tunnel(udp(REMOTE, A1, 999, 1000)), "vm1")    # established
    r = run([(t, p, f) for t, p, f, _ in c.frames], s, control=c.control)
    full = r.drops().get("ct_full", 0)
    got = sum(1 for b in r.out("vm1") if UDP in Ether(b))
    assert full > 0 and full + got == 122 and got <= 64 + 1, (full, got, r.drops())
    eq(bytes(c.frames[-1][2][VXLAN].payload) in r.out("vm1"), True, "established goes on")


def test_R_G_a_port_over_its_connection_limit_is_refused_new_ones_alone():
    """[security] max_connections_per_port: vm1 makes 3 connections (2 out,
    1 in), then its new ones are refused (ct_port_limit) in both
    directions while its established ones go on and vm2 makes its own;
    show_ports and show_connections say whose they are; flushed, vm1 makes
    new ones again; deleted, its connections go with it."""
    s = standard_sections()
    s["security"] = {"max_connections_per_port": "3"}
    both = [rule("ingress", "udp", 1, 65535, ANY4), rule("egress", "udp", 1, 65535, ANY4)]
    c = Case([(0.1, sg("udp", both)), (0.2, secure("vm1", M1, [A1], ["udp"])),
              (0.3, secure("vm2", M2, [A2], ["udp"]))], s)
    out1 = lambda sp: udp(A1, REMOTE, sp, 53, src_mac=M1, dst_mac=M9)       # noqa: E731
    # the remote's MAC learned behind the tunnel: frames to it are not
    # flooded (a flood's copy would give vm2's filter a side on vm1's)
    c.send("uplink", from_tunnel(Ether(src=M9, dst=BCAST) / ARP(hwsrc=M9, psrc=REMOTE,
                                                                pdst=REMOTE)), None)
    c.send("vm1", out1(5001), "tunnel")
    c.send("vm1", out1(5002), "tunnel")
    c.send("uplink", from_tunnel(udp(REMOTE, A1, 6001, 7000)), "vm1")
    c.send("vm1", out1(5003), "ct_port_limit")
    c.send("uplink", from_tunnel(udp(REMOTE, A1, 6002, 7000)), "ct_port_limit")
    c.send("vm1", udp(A1, REMOTE, 5001, 53, src_mac=M1, dst_mac=M9) / Raw(b"again"), "tunnel")
    c.send("uplink", from_tunnel(udp(REMOTE, A1, 53, 5002)), "vm1")          # a reply
    c.send("vm2", udp(A2, REMOTE, 5001, 53, src_mac=M2, dst_mac=M9), "tunnel")
    c.send("vm2", udp(A2, REMOTE, 5004, 53, src_mac=M2, dst_mac=M9), "tunnel")
    c.at({"op": "show_ports"})
    c.at({"op": "show_connections", "port": "vm2"})
    c.at({"op": "show_counters"})
    c.at({"op": "show_info"})
    c.at({"op": "flush_connections", "port": "vm1"})
    c.send("vm1", out1(5005), "tunnel")
    c.at({"op": "port_del", "name": "vm1"})
    c.at({"op": "show_connections"})
    r = c.run()
    res = r.ok_replies()
    ports = {p["name"]: p["connections"] for p in res[3]}
    eq((ports["vm1"], ports["vm2"], ports["vm3"]), (3, 2, 0), "show_ports connections")
    eq(sorted(x["made_by"] for x in res[4]["entries"]), ["vm2", "vm2"], "made_by")
    eq(res[5]["connections"]["max_per_port"], 3, "show_counters max_per_port")
    eq(res[6]["max_connections_per_port"], 3, "show_info")
    eq(res[7]["flushed"], 3, "flushed")
    # deleted, vm1's connections went with it (a port given its index
    # later starts with none counted)
    eq(sorted(x["made_by"] for x in res[9]["entries"]), ["vm2", "vm2"], "after port_del")


def test_R_G_views_trace_and_flush():
    ctl = [(0.1, sg("web", [rule("ingress", "tcp", 80, 80, ANY4)])),
           (0.2, secure("vm1", M1, [A1], ["web"])),
           (1.5, {"op": "show_connections"}),
           (1.51, {"op": "show_connections", "port": "vm1", "limit": 1}),
           (1.52, {"op": "show_security_groups"}),
           (1.53, {"op": "show_ports"}),
           (1.54, {"op": "trace", "port": "vm1",
                   "frame": bytes(tcp(A1, REMOTE, 41000, 443, "S", src_mac=M1,
                                      dst_mac=M9)).hex()}),
           (1.55, {"op": "flush_connections", "port": "vm1"}),
           (1.56, {"op": "show_connections"}),
           (1.57, {"op": "show_counters"})]
    inputs = [(1.0, "uplink", from_tunnel(tcp(REMOTE, A1, 40000, 80, "S"))),
              (1.1, "uplink", from_tunnel(tcp(REMOTE, A1, 40001, 80, "S")))]
    r = run(inputs, control=ctl)
    res = r.ok_replies()
    conns = res[2]["entries"]
    eq(len(conns), 2, "two connections")
    c0 = sorted(conns, key=lambda x: x["sport"])[0]
    eq((c0["src"], c0["dst"], c0["sport"], c0["dport"], c0["state"], c0["network"]),
       (REMOTE, A1, 40000, 80, "syn_sent", "blue"), "a connection")
    eq(c0["ports"], [{"port": "vm1", "as": "responder", "allowed": True}], "its filtered end")
    eq(len(res[3]["entries"]) == 1 and res[3]["next"] is not None, True, "paged")
    g = {x["name"]: x for x in res[4]}
    eq((g["web"]["stateful"], g["web"]["ports"], len(g["web"]["rules"])), (True, ["vm1"], 1),
       "show_security_groups")
    eq({p["name"]: p["security_groups"] for p in res[5]}["vm1"], ["web"], "show_ports")
    eq((res[6]["rule"], res[6]["drops"]), ("R-G6", {"sg_deny": 1}), "trace names R-G6")
    eq(res[7]["flushed"], 2, "flushed")
    eq(res[8]["entries"], [], "none left")
    eq(res[9]["connections"]["count"], 0, "count")


def test_R_G6_denied_frames_amid_a_burst_leave_the_others_their_destinations():
    """Frames of one burst from vm1, denied and allowed in turn, to vm2 and
    to a remote VM: each allowed one reaches exactly the destination its
    MAC has (its FDB lookup, made for the whole burst before the verdicts,
    stays with it when the denied ones are taken out), the denied ones
    nowhere."""
    ctl = [(0.1, sg("web-out", [rule("egress", "tcp", 80, 80, ANY4)])),
           (0.2, secure("vm1", M1, [A1], ["web-out"]))]
    to2 = lambda sp, dp: tcp(A1, A2, sp, dp, "S", src_mac=M1, dst_mac=M2)        # noqa: E731
    to9 = lambda sp, dp: tcp(A1, REMOTE, sp, dp, "S", src_mac=M1, dst_mac=M9)    # noqa: E731
    burst = [(to2(41000, 22), None), (to2(41001, 80), "vm2"), (to9(41002, 23), None),
             (to9(41003, 80), "tunnel"), (udp(A1, REMOTE, 41004, 80, src_mac=M1), None),
             (to2(41005, 80), "vm2"), (to9(41006, 80), "tunnel"), (to9(41007, 443), None)]
    inputs = [(0.5, "vm1", Ether(src=M1, dst=BCAST) / ARP(hwsrc=M1, psrc=A1, pdst=A1)),
              (0.51, "vm2", Ether(src=M2, dst=BCAST) / ARP(hwsrc=M2, psrc=A2, pdst=A2)),
              (0.52, "uplink", from_tunnel(Ether(src=M9, dst=BCAST) /
                                           ARP(hwsrc=M9, psrc=REMOTE, pdst=REMOTE)))]
    inputs += [(1.0, "vm1", f) for f, _ in burst]
    r = run(inputs, control=ctl)
    bad = [x for x in r.replies if not x.get("ok")]
    assert not bad, bad
    at_vm2, at_tunnel = list(r.out("vm2")), list(r.out("uplink"))
    for f, want in burst:
        where = ([n for n in ("vm2",) if bytes(f) in at_vm2] +
                 ["tunnel" for o in at_tunnel if bytes(f) in o])
        eq(where, [want] if want else [], "where %s went" % f.summary())
    eq({k: v for k, v in r.drops().items() if k.startswith(("sg_", "ct_"))},
       {"sg_deny": 4}, "drops")


def test_R_G_one_burst_opens_uses_and_closes_a_connection():
    """The connection lookups of a burst are started before any frame of it
    is judged: a SYN, then the same flow's ACK, FIN and a second
    flow's frames in the same burst (one input, one timestamp) see what the
    frames before them made; a burst from the tunnel likewise."""
    ctl = [(0.1, sg("out", [rule("egress", "tcp", prefix=ANY4),
                            rule("ingress", "tcp", 22, 22, ANY4)])),
           (0.2, secure("vm1", M1, [A1], ["out"])),
           (1.5, {"op": "show_connections"})]
    out = lambda sp, fl: tcp(A1, REMOTE, sp, 80, fl, src_mac=M1, dst_mac=M9)   # noqa: E731
    inn = lambda sp, fl: from_tunnel(tcp(REMOTE, A1, sp, 22, fl))             # noqa: E731
    vm_burst = [out(41000, "S"), out(41000, "A"), out(41000, "FA"), out(41001, "S"),
                out(41001, "R")]
    up_burst = [inn(42000, "S"), inn(42000, "A"), inn(42001, "SA"), inn(42002, "S")]
    inputs = [(0.5, "vm1", Ether(src=M1, dst=BCAST) / ARP(hwsrc=M1, psrc=A1, pdst=A1))]
    inputs += [(1.0, "vm1", f) for f in vm_burst] + [(1.1, "uplink", f) for f in up_burst]
    r = run(inputs, control=ctl)
    bad = [x for x in r.replies if not x.get("ok")]
    assert not bad, bad
    sent = list(r.out("uplink"))
    for f in vm_burst:
        assert any(bytes(f) in o for o in sent), "not sent: " + f.summary()
    got = list(r.out("vm1"))
    for f in (up_burst[0], up_burst[1], up_burst[3]):
        assert bytes(f[VXLAN].payload) in got, "not delivered: " + f.summary()
    assert bytes(up_burst[2][VXLAN].payload) not in got, "a SYN-ACK started a connection"
    eq({k: v for k, v in r.drops().items() if k.startswith(("sg_", "ct_"))},
       {"ct_invalid": 1}, "drops")
    conns = {c["sport"]: c["state"] for c in r.ok_replies()[2]["entries"]}
    eq(conns, {41000: "fin_wait", 41001: "close", 42000: "syn_sent", 42002: "syn_sent"},
       "states")


def test_R_G_refused_requests_name_the_field_and_change_nothing():
    bad = [
        (sg("x", [rule("sideways", "tcp")]), "rules[0].direction"),
        (sg("x", [rule("ingress", "tcp", 90, 80)]), "rules[0].port_range_min"),
        (sg("x", [rule("ingress", "gre", 1, 2)]), "rules[0].port_range_min"),
        (sg("x", [rule("ingress", "icmpv6")]), "rules[0].protocol"),
        (sg("x", [rule("ingress", "tcp", prefix="fd00::/8")]), "rules[0].remote_ip_prefix"),
        (sg("x", [rule("ingress", "tcp", prefix="10.0.0.0/8", group="g")]),
         "rules[0].remote_group_id"),
        (sg("x", [rule("ingress", "bogus")]), "rules[0].protocol"),
        (secure("vm1", M1, [A1], ["nosuch"]), "security_groups[0]"),
        ({"op": "security_group_members", "name": "g", "add": ["10.0.0.300"]}, "add[0]"),
        ({"op": "security_group_del", "name": "web"}, "name"),       # used by vm1
    ]
    ctl = [(0.1, sg("web", [rule("ingress", "tcp", 80, 80, ANY4)])),
           (0.2, secure("vm1", M1, [A1], ["web"]))]
    ctl += [(0.3 + i * 0.01, b) for i, (b, _) in enumerate(bad)]
    ctl += [(0.5, {"op": "show_security_groups"})]
    inputs = [(1.0, "uplink", from_tunnel(tcp(REMOTE, A1, 40000, 80, "S")))]
    r = run(inputs, control=ctl)
    fields = [x.get("field") for x in r.replies[2:2 + len(bad)]]
    eq(fields, [f for _, f in bad], "refusals")
    eq([x["name"] for x in r.replies[-1]["result"]], ["web"], "nothing else defined")
    eq(len(r.out("vm1")), 1, "web still filters as before")


if __name__ == "__main__":
    run_tests(globals())
