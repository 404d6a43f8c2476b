"""R-S1..R-S5: port security as Neutron defines it (port_security_enabled,
allowed_address_pairs), from the config file and from the control socket;
every frame a spoofing VM sends is dropped under its reason, the VM's own
traffic and ports without port security forward as before."""
from scapy.layers.inet6 import (ICMPv6EchoRequest, ICMPv6ND_NS, ICMPv6ND_RA,
                                ICMPv6ND_Redirect, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                                IPv6ExtHdrHopByHop, IPv6ExtHdrRouting)
from scapy.layers.ipsec import AH

from tsw import *

M1, M2, M5, M9 = mac(1), mac(2), mac(5), mac(9)
LL1 = "fe80::f816:3eff:fe00:1"      # EUI-64 link-local of fa:16:3e:00:00:01
OTHER_LL = "fe80::f816:3eff:fe00:9"


def secured(**port):
    """vm1 with port security: its MAC M1, fixed IPs 10.0.0.1 and fd00::1,
    allowed pairs 10.1.0.0/24 (its own MAC) and 10.2.0.5 with MAC M5."""
    s = standard_sections()
    s["port vm1"] = dict(s["port vm1"], port_security="true", mac=M1,
                         ips="10.0.0.1, fd00::1",
                         allowed_address_pairs="10.1.0.0/24, 10.2.0.5@" + M5, **port)
    return s


def ip4(src_mac, src_ip, dst="10.0.0.2", **kw):
    return Ether(src=src_mac, dst=M2) / IP(src=src_ip, dst=dst, **kw) / UDP(sport=1000,
                                                                           dport=2000) / Raw(b"p" * 20)


def ip6(src_mac, src_ip, l4=None, dst="fd00::2"):
    return Ether(src=src_mac, dst=M2) / IPv6(src=src_ip, dst=dst) / (
        l4 if l4 is not None else UDP(sport=1000, dport=2000) / Raw(b"p" * 20))


def arp(src_mac, sha, spa, op=1):
    return Ether(src=src_mac, dst=BCAST) / ARP(op=op, hwsrc=sha, psrc=spa, pdst="10.0.0.2")


def verdicts(frames, sections=None):
    """Send each frame from vm1 (M2 is learned on vm2 first); return, per
    frame, 'pass' when it reached vm2 or the drop reason it was counted
    under. Frames go one per burst, 0.1 s apart."""
    learn_m2 = (0.5, "vm2", frame(M2, BCAST))
    inputs = [learn_m2] + [(1.0 + i * 0.1, "vm1", f) for i, f in enumerate(frames)]
    r = run(inputs, sections or secured())
    got = set(bytes(p) for p in r.out("vm2"))
    out = []
    for f in frames:
        out.append("pass" if bytes(f) in got else "dropped")
    return out, r


def expect(cases, sections=None):
    frames = [f for f, _ in cases]
    got, r = verdicts(frames, sections)
    want = ["pass" if w == "pass" else "dropped" for _, w in cases]
    bad = [(i, cases[i][0].summary(), got[i], cases[i][1]) for i in range(len(cases))
           if got[i] != want[i]]
    if bad:
        raise AssertionError("verdicts differ: %s" % bad)
    reasons = {}
    for _, w in cases:
        if w != "pass":
            reasons[w] = reasons.get(w, 0) + 1
    eq({k: v for k, v in r.drops().items() if k.startswith("ps_")}, reasons, "drops")
    return r


def test_R_S1_source_mac_must_be_allowed():
    expect([(ip4(M1, "10.0.0.1"), "pass"),
            (ip4(M9, "10.0.0.1"), "ps_src_mac"),          # another VM's MAC
            (ip4(M5, "10.2.0.5"), "pass"),                # an allowed pair's MAC
            (frame("fa:16:3e:aa:bb:cc", M2), "ps_src_mac")])


def test_R_S2_ipv4_source_must_be_allowed_for_that_mac():
    expect([(ip4(M1, "10.0.0.99"), "ps_src_ip"),
            (ip4(M1, "10.1.0.77"), "pass"),               # allowed prefix
            (ip4(M1, "10.1.1.1"), "ps_src_ip"),
            (ip4(M5, "10.0.0.1"), "ps_src_ip"),           # M1's IP with M5
            (ip4(M1, "10.2.0.5"), "ps_src_ip"),           # M5's IP with M1
            # DHCP discover from 0.0.0.0 is allowed; other traffic from it not
            (Ether(src=M1, dst=BCAST) / IP(src="0.0.0.0", dst="255.255.255.255") /
             UDP(sport=68, dport=67) / Raw(b"d" * 240), "pass"),
            (Ether(src=M1, dst=M2) / IP(src="0.0.0.0", dst="10.0.0.2") / UDP(sport=68,
                                                                           dport=99), "ps_src_ip")])


def test_R_S2_ipv6_source_link_local_and_dad():
    expect([(ip6(M1, "fd00::1"), "pass"),
            (ip6(M1, "fd00::99"), "ps_src_ip"),
            (ip6(M1, LL1), "pass"),                       # EUI-64 of M1
            (ip6(M1, OTHER_LL), "ps_src_ip"),
            (ip6(M1, "::", ICMPv6ND_NS(tgt="fd00::1")), "pass"),   # DAD
            (ip6(M1, "::"), "ps_src_ip")])


def test_R_S3_arp_spoofing_and_other_ethertypes():
    expect([(arp(M1, M1, "10.0.0.1"), "pass"),
            (arp(M1, M1, "10.0.0.66"), "ps_arp_spoof"),    # claims another IP
            (arp(M1, M9, "10.0.0.1"), "ps_arp_spoof"),     # another sender MAC
            (arp(M1, M1, "0.0.0.0"), "pass"),              # probe (RFC 5227)
            (arp(M1, M5, "10.2.0.5", op=2), "pass"),       # the pair's MAC and IP
            (frame(M1, M2, ethertype=0x8035), "ps_ethertype"),   # RARP
            (frame(M1, M2, ethertype=0x88cc), "ps_ethertype")])  # LLDP


def test_R_S4_dhcp_servers_and_router_advertisements():
    expect([(Ether(src=M1, dst=BCAST) / IP(src="10.0.0.1", dst="255.255.255.255") /
             UDP(sport=67, dport=68) / Raw(b"o" * 240), "ps_dhcp_server"),
            (ip6(M1, LL1, ICMPv6ND_RA(), dst="ff02::1"), "ps_router_adv"),
            (ip6(M1, LL1, IPv6ExtHdrHopByHop() / ICMPv6ND_RA(), dst="ff02::1"),
             "ps_router_adv"),                            # RA behind an option header
            (ip6(M1, LL1, ICMPv6ND_Redirect(tgt="fd00::5", dst="fd00::6")), "ps_router_adv"),
            (ip6(M1, LL1, UDP(sport=547, dport=546) / Raw(b"x" * 20)), "ps_dhcp_server"),
            (ip6(M1, LL1, UDP(sport=546, dport=547) / Raw(b"x" * 20)), "pass")])   # client


def test_R_S4_router_advertisements_behind_any_chain_of_extension_headers():
    """The whole chain is walked, bounded by the packet and not by a count:
    an RA or a DHCPv6 server reply behind nine options headers, behind AH,
    behind routing, fragment (first and only fragment) and mobility-shaped
    headers is still dropped; a chain that does not end inside the packet
    (or inside the first fragment, RFC 7112) is dropped as ps_ipv6_chain;
    ordinary traffic behind long chains and later fragments pass."""
    def dst(n):
        h = IPv6ExtHdrDestOpt()
        for _ in range(n - 1):
            h = h / IPv6ExtHdrDestOpt()
        return h

    def ah(nh):
        return AH(nh=nh, payloadlen=4, spi=7, seq=1, icv=b"\0" * 12)   # 24 bytes

    ra = ICMPv6ND_RA()
    dhcp6 = UDP(sport=547, dport=546) / Raw(b"x" * 20)
    ping = ICMPv6EchoRequest(data=b"e" * 16)
    # a destination options header claiming 64 bytes with 16 present
    cut = ip6(M1, LL1, Raw(bytes([58, 7]) + b"\x01\x0c" + b"\0" * 12))
    cut[IPv6].nh = 60
    # a first fragment that ends inside the chain: its second header is cut
    first = ip6(M1, LL1, IPv6ExtHdrFragment(nh=60, m=1, offset=0, id=9) /
                Raw(bytes([58, 1]) + b"\x01\x04" + b"\0" * 4))
    # mobility header type 135 in the uniform format of RFC 6564
    mob = ip6(M1, LL1, Raw(bytes([58, 0]) + b"\0" * 6) / ra)
    mob[IPv6].nh = 135
    expect([(ip6(M1, LL1, dst(9) / ra, dst="ff02::1"), "ps_router_adv"),
            (ip6(M1, LL1, dst(40) / ra, dst="ff02::1"), "ps_router_adv"),
            (ip6(M1, LL1, ah(58) / ra, dst="ff02::1"), "ps_router_adv"),
            (ip6(M1, LL1, IPv6ExtHdrHopByHop() / ah(60) / dst(3) / ra), "ps_router_adv"),
            (ip6(M1, LL1, IPv6ExtHdrRouting() / ICMPv6ND_Redirect(tgt="fd00::5",
                                                                   dst="fd00::6")),
             "ps_router_adv"),
            (ip6(M1, LL1, IPv6ExtHdrFragment(nh=58, id=3) / ra), "ps_router_adv"),
            (mob, "ps_router_adv"),
            (ip6(M1, LL1, dst(12) / dhcp6), "ps_dhcp_server"),
            (ip6(M1, LL1, ah(17) / dhcp6), "ps_dhcp_server"),
            (cut, "ps_ipv6_chain"),
            (first, "ps_ipv6_chain"),
            (ip6(M1, "fd00::1", dst(9) / ping), "pass"),
            (ip6(M1, "fd00::1", ah(58) / ping), "pass"),
            (ip6(M1, "fd00::1", IPv6ExtHdrFragment(nh=58, offset=2, id=9) / Raw(b"f" * 16)),
             "pass")])          # a later fragment: no upper header to judge


def test_R_S5_frames_to_the_vm_are_not_filtered_and_unsecured_ports_forward():
    """A tunnel frame with any source reaches vm1; vm2 (no port security)
    forwards a spoofed frame as before."""
    spoof = ip4(M9, "10.9.9.9")
    inner = Ether(src=M9, dst=M1) / IP(src="10.7.7.7", dst="10.0.0.1") / Raw(b"t" * 30)
    r = run([(1.0, "vm1", ip4(M1, "10.0.0.1", dst="10.0.0.255")),   # M1 learned on vm1
             (1.5, "uplink", vxlan(inner, 1001)),
             (2.0, "vm2", Ether(src=M9, dst=BCAST) / IP(src="10.9.9.9", dst="10.0.0.2"))],
            secured())
    eq([bytes(p) for p in r.out("vm1")][-2:][0], bytes(inner), "tunnel frame to vm1")
    eq(len(r.out("vm1")), 2, "vm1 got the tunnel frame and vm2's broadcast")
    eq({k: v for k, v in r.drops().items() if k.startswith("ps_")}, {}, "no port-security drop")
    del spoof


def test_R_S_control_sets_replaces_and_clears_a_policy():
    """port_security_set at run time (as tunsw-agent pushes Neutron's
    port_security_enabled and allowed_address_pairs): the policy applies from
    then on, a new one replaces it, enabled = false clears it; show_ports
    tells it; bad arguments are refused naming the field, changing nothing."""
    setp = {"op": "port_security_set", "port": "vm1", "enabled": True, "mac": M1,
            "fixed_ips": [{"subnet_id": "x", "ip_address": "10.0.0.1"}],
            "allowed_address_pairs": [{"ip_address": "10.5.0.0/16"},
                                      {"ip_address": "10.6.0.1", "mac_address": M5}]}
    bad = [dict(setp, mac="01:00:5e:00:00:01"), dict(setp, fixed_ips=["10.0.0.0/24"]),
           dict(setp, allowed_address_pairs=[{"ip_address": "10.0.0.300"}]),
           dict(setp, allowed_address_pairs=[{"ip_address": "1.2.3.4", "mac_address": "x"}]),
           {"op": "port_security_set", "port": "vm1", "enabled": False, "mac": M1},
           dict(setp, port="nosuch"), dict(setp, port="uplink")]
    ctl = [(0.8, setp)] + [(0.85 + i * 0.01, b) for i, b in enumerate(bad)] + [
        (1.25, {"op": "show_ports"}),
        (1.35, dict(setp, allowed_address_pairs=[])),
        (1.55, {"op": "port_security_set", "port": "vm1", "enabled": False})]
    frames = [(0.5, "vm2", frame(M2, BCAST)),
              (0.7, "vm1", ip4(M1, "10.9.0.1", dst="10.0.0.7")),   # before: no policy
              (1.0, "vm1", ip4(M1, "10.9.0.1")),          # dropped
              (1.1, "vm1", ip4(M1, "10.5.3.3")),          # allowed prefix
              (1.2, "vm1", ip4(M5, "10.6.0.1")),          # allowed pair
              (1.4, "vm1", ip4(M1, "10.5.3.3", dst="10.0.0.8")),   # replaced: dropped
              (1.6, "vm1", ip4(M9, "10.9.0.1"))]          # cleared: forwarded
    r = run(frames, standard_sections(), control=ctl)
    fields = [x.get("field") for x in r.replies[1:1 + len(bad)]]
    eq(fields, ["mac", "fixed_ips[0]", "allowed_address_pairs[0].ip_address",
                "allowed_address_pairs[0].mac_address", "mac", "port", "port"], "refusals")
    eq(all(x["ok"] for x in [r.replies[0]] + r.replies[1 + len(bad):]), True, "accepted")
    show = {p["name"]: p["port_security"] for p in r.replies[1 + len(bad)]["result"]}
    eq(show["vm2"], False, "vm2 has none")
    eq(show["vm1"]["mac"], M1, "policy mac")
    eq(sorted((a["mac"], a["ip"]) for a in show["vm1"]["allowed"]),
       [(M1, "10.0.0.1"), (M1, "10.5.0.0/16"), (M5, "10.6.0.1")], "policy pairs")
    got = {bytes(p) for p in r.out("vm2")}
    eq([bytes(f) in got for _, _, f in frames[1:]], [True, False, True, True, False, True],
       "forwarded")
    eq(r.drops().get("ps_src_ip"), 2, "two dropped as ps_src_ip")


def test_R_S_port_added_with_its_policy_filters_its_first_frame():
    """#20 item 6: no window without a policy. port_add carries the port's
    policy (as tunsw-agent adds Neutron's ports), in force before the port
    carries a frame: a spoofed frame right after the port_add is dropped
    (before: the port forwarded anything until the port_security_set that
    followed). A bad policy refuses the whole port_add, naming the field;
    enabled = false adds a port without port security. (vm1 is deleted and
    added again: the replay's inputs are the config's ports.)"""
    vhost = "net_vhost%d,iface=/run/tunsw/vhost/vm%d.sock"
    pol = {"enabled": True, "mac": M9, "fixed_ips": ["10.0.0.9"]}
    ctl = [(0.45, {"op": "port_del", "name": "vm1"}),
           (0.5, {"op": "port_add", "name": "vm1", "network": "blue", "devargs": vhost % (9, 9),
                  "port_security": pol}),
           (0.6, {"op": "port_add", "name": "vm8", "network": "blue", "devargs": vhost % (8, 8),
                  "port_security": dict(pol, mac="01:00:5e:00:00:01")}),
           (0.61, {"op": "port_add", "name": "vm8", "network": "blue", "devargs": vhost % (8, 8),
                   "port_security": dict(pol, fixed_ip="10.0.0.8")}),
           (0.62, {"op": "port_add", "name": "vm8", "network": "blue", "devargs": vhost % (8, 8),
                   "port_security": {"enabled": False, "mac": M9}}),
           (0.63, {"op": "port_add", "name": "vm8", "network": "blue", "devargs": vhost % (8, 8),
                   "port_security": "on"}),
           (0.8, {"op": "port_add", "name": "vm7", "network": "blue", "devargs": vhost % (7, 7),
                  "port_security": {"enabled": False}}),
           (0.9, {"op": "show_ports"})]
    frames = [(0.4, "vm2", frame(M2, BCAST)),
              (0.5001, "vm1", ip4(M9, "10.0.0.66")),     # its first frame: spoofed IP
              (0.5002, "vm1", ip4(M1, "10.0.0.1")),      # another VM's MAC
              (0.5003, "vm1", ip4(M9, "10.0.0.9"))]      # its own
    r = run(frames, standard_sections(), control=ctl)
    reps = r.replies
    eq([x["ok"] for x in reps], [True, True, False, False, False, False, True, True], "accepted")
    eq([x.get("field") for x in reps[2:6]],
       ["port_security.mac", "port_security", "port_security.mac", "port_security"], "fields")
    show = {p["name"]: p["port_security"] for p in reps[7]["result"]}
    eq("vm8" in show or "vm7" not in show, False, "vm8 never added, vm7 added")
    eq((show["vm1"]["mac"], show["vm7"]), (M9, False), "policies shown")
    got = {bytes(p) for p in r.out("vm2")}
    eq([bytes(f) in got for _, _, f in frames[1:]], [False, False, True], "forwarded")
    eq({k: v for k, v in r.drops().items() if k.startswith("ps_")},
       {"ps_src_ip": 1, "ps_src_mac": 1}, "drops")


def test_R_S_trace_names_the_rule():
    f = bytes(ip4(M9, "10.0.0.1")).hex()
    g = bytes(arp(M1, M1, "10.0.0.66")).hex()
    r = run([], secured(), control=[(0.5, {"op": "trace", "port": "vm1", "frame": f}),
                                    (0.6, {"op": "trace", "port": "vm1", "frame": g})])
    t1, t2 = r.ok_replies()
    eq((t1["rule"], t1["outputs"], t1["drops"]), ("R-S1", [], {"ps_src_mac": 1}), "R-S1")
    eq((t2["rule"], t2["drops"]), ("R-S3", {"ps_arp_spoof": 1}), "R-S3")


def test_R_S_config_errors_name_the_key():
    for key, value in (("mac", "zz"), ("ips", "10.0.0.1/24"),
                       ("allowed_address_pairs", "10.0.0.1@01:00:5e:00:00:01")):
        s = secured()
        s["port vm1"][key] = value
        p = run([], s, expect_rc=1)
        eq("[port vm1] %s:" % key in p.stderr, True, "error names %s: %s" % (key, p.stderr))
    s = standard_sections()
    s["port vm1"] = dict(s["port vm1"], mac=M1)
    p = run([], s, expect_rc=1)
    eq("[port vm1] mac: only with port_security = true" in p.stderr, True, p.stderr)


if __name__ == "__main__":
    run_tests(globals())
