"""Conformance over time: control timelines (tunsw-replay --control) with
traffic between the l2population messages, as Neutron sends them to an
Open vSwitch compute node; what OVS does is the expectation (R-F1, R-T1,
R-L1..R-L4), or the documented tunsw choice where named so.

Timelines: live migration in and out (add on the new host, device up,
remove on the old), duplicate adds, removes of what was never added,
removes for remotes without a tunnel, adds for networks without a local
port, static-then-learned and learned-then-static MACs, a tunnel removed
while its MACs are in use, the ARP responder's reply length."""
from tsw import *
from test_l2pop import FLOOD, add, remove, arp_req, l2pop_sections

R7 = "198.18.0.7"
M = mac(60)          # the migrating VM
M_IP = "10.0.0.60"


def sections(**agent):
    s = l2pop_sections(**agent)
    s["neighbor " + R7] = {"mac": "02:00:00:00:00:07"}
    return s


def dest(p):
    """Where a frame went: ("tunnel", remote) or the VM port name."""
    return ("tunnel", Ether(p)[IP].dst)


def test_live_migration_in_local_vm_beats_static_R_F1():
    """M lives behind R9 (static, from neutron-server), then migrates to
    vm2 here: its first frame (the guest's gratuitous ARP) comes from vm2
    before Neutron's remove for R9 arrives. Meanwhile vm1's frames to M go
    to vm2 (br-int learned it there), frames to M from other hosts too;
    after the remove, still vm2."""
    garp = Ether(src=M, dst=BCAST) / ARP(op=1, hwsrc=M, psrc=M_IP, pdst=M_IP)
    to_m = frame(mac(1), M)
    ctl = [add(0.5, {R9: [FLOOD, [M, M_IP]]}),
           remove(5.0, {R9: [[M, M_IP]]})]
    inputs = [(1.0, "vm1", to_m),                       # before: to R9
              (2.0, "vm2", garp),                       # M is here now
              (3.0, "vm1", to_m),                       # -> vm2, not R9
              (3.5, "uplink", vxlan(frame(mac(70), M), 1001, src=R9)),  # -> vm2
              (6.0, "vm1", to_m)]                       # after the remove: vm2
    r = run(inputs, sections(), control=ctl)
    res = r.ok_replies()
    eq(res[1]["fdb"], 1, "the remove took the static entry")
    unicasts = [Ether(p)[VXLAN].payload for p in r.out("uplink")
                if Ether(p)[VXLAN].payload[Ether].dst == M]
    eq(len(unicasts), 1, "only the frame before the migration went to R9")
    eq(r.out("vm2").count(bytes(to_m)), 2, "vm1's frames after the migration reach vm2")
    eq(sum(1 for p in r.pkts("vm2") if p.src == mac(70)), 1, "the remote's frame reaches vm2")
    e = r.fdb("blue")[M]
    eq((e["kind"], e["port"]), ("local", "vm2"), "learned on vm2 once the static went")


def test_static_entry_shows_the_local_override():
    """show_fdb: the static entry stays as Neutron set it; what br-int
    learned under it is shown beside it, in effect."""
    ctl = [add(0.5, {R9: [FLOOD, [M, M_IP]]})]
    r = run([(1.0, "vm2", frame(M, BCAST))], sections(), control=ctl)
    r.ok_replies()
    e = r.fdb("blue")[M]
    eq((e["kind"], e["tunnel"]["remote"]), ("static", R9), "static entry")
    eq({k: v for k, v in e["learned"].items() if k != "age_ms"},
       {"kind": "local", "port": "vm2", "in_effect": True}, "learned part")


def test_live_migration_out_static_governs_after_port_goes():
    """M lived on vm2 here and migrates to R9: neutron-server adds it
    behind R9 (the destination's device up) while the port still exists
    here; vm2's removal (Nova unplugs it) hands M to the static entry."""
    to_m = frame(mac(1), M)
    ctl = [add(2.0, {R9: [FLOOD, [M, M_IP]]}),
           (4.0, {"op": "port_del", "name": "vm2"})]
    inputs = [(1.0, "vm2", frame(M, BCAST)),
              (3.0, "vm1", to_m),      # M still local here: vm2
              (5.0, "vm1", to_m)]      # vm2 gone: the static entry, R9
    r = run(inputs, sections(), control=ctl)
    r.ok_replies()
    eq(r.out("vm2"), [bytes(to_m)], "vm2 got the frame before its removal")
    last = Ether(r.out("uplink")[-1])
    eq((last[IP].dst, last[VXLAN].payload[Ether].dst), (R9, M), "then to R9")
    e = r.fdb("blue")[M]
    eq((e["kind"], e["tunnel"]["remote"], "learned" in e), ("static", R9, False), "entry")


def test_R_F1_static_governs_again_when_seen_from_a_tunnel():
    """Local knowledge ends when the MAC arrives from a tunnel (R-T1:
    either way the MAC is no longer local)."""
    to_m = frame(mac(1), M)
    ctl = [add(0.5, {R9: [FLOOD, [M, M_IP]]})]
    inputs = [(1.0, "vm2", frame(M, BCAST)),
              (2.0, "vm1", to_m),
              (3.0, "uplink", vxlan(frame(M, mac(1)), 1001, src=R9)),
              (4.0, "vm1", to_m)]
    r = run(inputs, sections(), control=ctl)
    eq(r.out("vm2").count(bytes(to_m)), 1, "vm2 got the frame before")
    last = Ether(r.out("uplink")[-1])
    eq((last[IP].dst, last[VXLAN].payload[Ether].dst), (R9, M), "R9 after")


def test_R_T1_learned_then_static_then_removed_remembers_learned():
    """M is learned from R7's tunnel, becomes static behind R9, then the
    static entry is removed: like br-tun's learned flow under
    l2population's, the learned location is used again (not a flood),
    while R7's tunnel lives (another entry uses it)."""
    to_m = frame(mac(1), M)
    ctl = [add(0.5, {R7: [FLOOD, [mac(61), "10.0.0.61"]]}),
           add(2.0, {R9: [FLOOD, [M, M_IP]]}),
           remove(4.0, {R9: [[M, M_IP]]})]
    inputs = [(1.0, "uplink", vxlan(frame(M, BCAST), 1001, src=R7)),
              (3.0, "vm1", to_m),
              (5.0, "vm1", to_m)]
    r = run(inputs, sections(), control=ctl)
    r.ok_replies()
    outs = [(Ether(p)[IP].dst, Ether(p)[VXLAN].payload[Ether].dst) for p in r.out("uplink")]
    eq(outs, [(R9, M), (R7, M)], "static R9 while present, then the learned R7, no flood")
    e = r.fdb("blue")[M]
    eq((e["kind"], e["tunnel"]["remote"]), ("tunnel", R7), "learned entry back")


def test_R_T1_static_then_learned_static_governs_then_learned():
    """Static behind R9; frames from R7 with that source never move it
    (R-T1); after the static entry's removal the learned R7 is used."""
    to_m = frame(mac(1), M)
    ctl = [add(0.5, {R7: [FLOOD, [mac(61), "10.0.0.61"]], R9: [FLOOD, [M, M_IP]]}),
           remove(4.0, {R9: [[M, M_IP]]})]
    inputs = [(1.0, "uplink", vxlan(frame(M, BCAST), 1001, src=R7)),
              (2.0, "vm1", to_m),
              (5.0, "vm1", to_m)]
    r = run(inputs, sections(), control=ctl)
    r.ok_replies()
    outs = [(Ether(p)[IP].dst, Ether(p)[VXLAN].payload[Ether].dst) for p in r.out("uplink")]
    eq(outs, [(R9, M), (R7, M)], "R9 while static, then R7")


def test_R_L4_duplicate_adds_and_removes_of_what_was_never_added():
    ports = {R9: [FLOOD, [M, M_IP]]}
    ctl = [add(0.5, ports), add(0.6, ports),
           remove(0.7, {R9: [[mac(99), "10.0.0.99"]]}),
           remove(0.8, {R7: [[mac(98), "10.0.0.98"]]})]
    r = run([], sections(), control=ctl)
    res = r.ok_replies()
    eq([(x["fdb"], x["flood"], x["arp"], x["tunnels_created"]) for x in res[:2]],
       [(1, 1, 1, 1), (0, 0, 0, 0)], "the second add changes nothing")
    eq([(x["fdb"], x["arp"], x["tunnels_deleted"]) for x in res[2:]], [(0, 0, 0), (0, 0, 0)],
       "removes of what is absent change nothing")
    eq(r.arp("blue"), {M_IP: M}, "ARP table")


def test_R_L2_remove_for_a_remote_without_tunnel_is_skipped_whole():
    """Issue #13 item 2: R9's add installed M_IP -> M; a removal naming R7
    (no tunnel here) for the same pair must not delete it (the OVS agent
    skips a removal for a remote it has no tunnel port to)."""
    r200 = "198.18.0.200"   # its last byte has the top bit of the word set
    ctl = [add(0.5, {R9: [FLOOD, [M, M_IP]]}),
           remove(1.0, {R7: [[M, M_IP]], r200: [[M, M_IP]]})]
    inputs = [(2.0, "vm1", arp_req(mac(1), "10.0.0.1", M_IP))]
    r = run(inputs, sections(), control=ctl)
    res = r.ok_replies()
    eq((res[1]["fdb"], res[1]["arp"]), (0, 0), "nothing removed")
    eq(sorted(res[1]["skipped"], key=lambda s: s.get("agent_ip", "")),
       [{"network": "blue", "agent_ip": r200, "reason": "no tunnel to this remote"},
        {"network": "blue", "agent_ip": R7, "reason": "no tunnel to this remote"}],
       "skipped, one per remote")
    eq(r.arp("blue"), {M_IP: M}, "ARP entry kept")
    eq(Ether(r.out("vm1")[0])[ARP].hwsrc, M, "still answered")


def test_R_L1_add_for_a_network_without_local_port_is_ignored():
    """Issue #13 item 3: neutron-server fans an add out to every agent; a
    network with no port here (white) gets nothing, no tunnel is created,
    and frames from that VTEP for another network stay unaccepted (no
    tunnel: R-C3)."""
    s = sections()
    s["network white"] = {"type": "vxlan", "segmentation_id": "1009"}
    ctl = [add(0.5, {R7: [FLOOD, [M, M_IP]]}, net="white", seg=1009)]
    inputs = [(1.0, "uplink", vxlan(frame(mac(70), BCAST), 1001, src=R7))]
    r = run(inputs, s, control=ctl)
    res = r.ok_replies()
    eq((res[0]["fdb"], res[0]["flood"], res[0]["arp"], res[0]["tunnels_created"]),
       (0, 0, 0, 0), "nothing applied")
    eq(res[0]["skipped"], [{"network": "white", "reason": "no local port on this network"}],
       "skipped")
    eq(("vxlan", R7) in r.tunnels(), False, "no tunnel to R7")
    eq(r.out("vm1"), [], "R7's frame for blue not accepted")
    eq(r.drops(), {"unknown_vtep": 1}, "dropped as from an unknown VTEP")


def test_network_entries_go_with_its_last_local_port():
    """The OVS agent reclaims a network's local VLAN with its last port:
    its l2population flows go, a tunnel with its last user. The port
    coming back gets them again from neutron-server (its next add)."""
    ctl = [add(0.5, {R7: [FLOOD, [M, M_IP]]}, net="red", seg=1002),
           (1.0, {"op": "port_del", "name": "vm3"}),
           add(1.5, {R7: [FLOOD, [M, M_IP]]}, net="red", seg=1002)]
    r = run([], sections(), control=ctl)
    res = r.ok_replies()
    eq(res[0]["tunnels_created"], 1, "tunnel to R7 for red")
    eq(("vxlan", R7) in r.tunnels(), False, "R7's tunnel went with red's last port")
    eq((r.fdb("red"), r.arp("red"), r.flood("red")), ({}, {}, []), "red's entries gone")
    eq(res[2]["fdb"], 0, "later adds for red ignored")


def test_R_F6_arp_reply_as_long_as_the_request():
    """Issue #13 item 5: OVS's ARP responder rewrites the request in place:
    a request padded to 60 bytes gets a 60-byte reply, an unpadded one a
    42-byte reply."""
    ctl = [add(0.5, {R9: [FLOOD, [M, M_IP]]})]
    req = arp_req(mac(1), "10.0.0.1", M_IP)
    padded = bytes(req) + b"\0" * (60 - len(bytes(req)))
    r = run([(1.0, "vm1", req), (2.0, "vm1", padded)], sections(), control=ctl)
    r.ok_replies()
    eq([len(p) for p in r.out("vm1")], [42, 60], "reply lengths")
    a, b = r.pkts("vm1")
    eq((b[ARP].op, b[ARP].hwsrc, b[ARP].psrc, b[ARP].pdst), (2, M, M_IP, "10.0.0.1"), "reply")
    eq(r.out("vm1")[1][42:], b"\0" * 18, "the request's padding kept")


def test_tunnel_removed_while_its_macs_are_in_use_floods_tunsw_choice():
    """Documented tunsw choice (doc/architecture.md): when a tunnel goes
    (its last l2population entry removed), what was learned behind it is
    forgotten and frames to those MACs flood, where OVS keeps its learned
    flow to the deleted port (up to 300 s) and blackholes them."""
    ctl = [add(0.5, {R7: [FLOOD, [mac(61), "10.0.0.61"]]}),
           remove(2.0, {R7: [FLOOD, [mac(61), "10.0.0.61"]]})]
    inputs = [(1.0, "uplink", vxlan(frame(M, BCAST), 1001, src=R7)),
              (1.5, "vm1", frame(mac(1), M)),
              (3.0, "vm1", frame(mac(1), M))]
    r = run(inputs, sections(), control=ctl)
    res = r.ok_replies()
    eq(res[1]["tunnels_deleted"], 1, "R7's tunnel deleted")
    eq(M in r.fdb("blue"), False, "M forgotten")
    eq(Ether(r.out("uplink")[0])[IP].dst, R7, "unicast to R7 while it lived")
    eq(r.out("vm2").count(bytes(frame(mac(1), M))), 1, "then flooded (vm2 got a copy)")


def test_vm_migration_add_new_then_remove_old_keeps_new_tunsw_choice():
    """Documented tunsw choice: the old host's removal matches (MAC, VTEP),
    so add-new-then-remove-old keeps the new entry, and the ARP entry of a
    MAC that is static behind another VTEP by then stays with it (the OVS
    agent's removal matches the MAC, and the IP, only and would delete
    both)."""
    ctl = [add(0.5, {R9: [FLOOD, [M, M_IP]], R7: [FLOOD]}),
           add(1.0, {R7: [[M, M_IP]]}),
           remove(1.5, {R9: [[M, M_IP]]})]
    r = run([(2.0, "vm1", frame(mac(1), M))], sections(), control=ctl)
    r.ok_replies()
    eq(r.fdb("blue")[M]["tunnel"]["remote"], R7, "new entry kept")
    eq(Ether(r.out("uplink")[0])[IP].dst, R7, "to the new host")
    eq(r.arp("blue"), {M_IP: M}, "ARP entry kept")


if __name__ == "__main__":
    run_tests(globals())
