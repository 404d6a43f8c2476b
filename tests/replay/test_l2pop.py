"""R-L1..R-L4 (l2population RPCs), R-F5/R-F6 driven by them, and the control
requests of replay --control: validation, hot-plug, trace, counters."""
from tsw import *

FLOOD = ["00:00:00:00:00:00", "0.0.0.0"]
UUID = "5f1e7c4e-1a2b-4c3d-8e9f-0123456789ab"


def l2pop_sections(**agent):
    s = standard_sections()
    s["agent"] = dict({"l2_population": "true", "arp_responder": "true"}, **agent)
    s["neighbor " + R9] = {"mac": "02:00:00:00:00:09"}
    return s


def entries(net, ports, seg=1001, ntype="vxlan"):
    return {net: {"segment_id": seg, "network_type": ntype, "ports": ports}}


def add(t, ports, net="blue", **kw):
    return (t, {"op": "add_fdb_entries", "fdb_entries": entries(net, ports, **kw)})


def remove(t, ports, net="blue", **kw):
    return (t, {"op": "remove_fdb_entries", "fdb_entries": entries(net, ports, **kw)})


def arp_req(src, spa, tpa):
    return Ether(src=src, dst=BCAST) / ARP(op=1, hwsrc=src, psrc=spa, pdst=tpa)


def outer(b):
    p = Ether(b)
    return (p[IP].dst, p[VXLAN].vni, p[VXLAN].payload[Ether].dst)


def test_R_L1_add_creates_tunnel_flood_entry_fdb_and_arp():
    ctl = [add(0.5, {R9: [FLOOD, [mac(50), "10.0.0.50"]]})]
    inputs = [(1.0, "vm1", frame(mac(1), mac(50))),
              (2.0, "vm1", frame(mac(1), BCAST)),
              (3.0, "vm1", arp_req(mac(1), "10.0.0.1", "10.0.0.50"))]
    r = run(inputs, l2pop_sections(), control=ctl)
    res = r.ok_replies()[0]
    eq((res["fdb"], res["flood"], res["arp"], res["tunnels_created"]), (1, 1, 1, 1), "result")
    t = r.tunnels()[("vxlan", R9)]
    eq((t["configured"], t["static_refs"], t["next_hop"]), (False, 2, "02:00:00:00:00:09"),
       "tunnel created by the first entry")
    eq(r.flood("blue"), [R9], "flood set is exactly the flooding entries (R-F5)")
    e = r.fdb("blue")[mac(50)]
    eq((e["kind"], e["tunnel"]["remote"]), ("static", R9), "static FDB entry")
    eq(r.arp("blue"), {"10.0.0.50": mac(50)}, "ARP entry")
    # unicast to R9 only; broadcast to the flood set only (not R2/R3); the ARP
    # request answered locally (R-F6), nothing of it to tunnels
    eq([outer(b) for b in r.out("uplink")], [(R9, 1001, mac(50)), (R9, 1001, BCAST)],
       "uplink")
    eq(len(r.out("vm1")), 1, "ARP reply to vm1")
    eq(Ether(r.out("vm1")[0])[ARP].hwsrc, mac(50), "reply carries the entry's MAC")


def test_R_L1_network_matched_by_segment_id():
    """Neutron keys payloads by network UUID; a network named otherwise is
    found by (network_type, segment_id)."""
    ctl = [add(0.5, {R9: [[mac(51), "10.0.0.51"]]}, net=UUID, seg=1002)]
    r = run([], l2pop_sections(), control=ctl)
    r.ok_replies()
    eq(r.fdb("red")[mac(51)]["tunnel"]["remote"], R9, "red = vxlan 1002")
    eq(r.fdb("blue"), {}, "not blue")


def test_R_L1_skips_own_ip_unknown_networks_and_types():
    ctl = [(0.5, {"op": "add_fdb_entries", "fdb_entries": {
        "blue": {"segment_id": 1001, "network_type": "vxlan",
                 "ports": {LOCAL_IP: [[mac(1), "10.0.0.1"]]}},
        UUID: {"segment_id": 4242, "network_type": "vxlan", "ports": {R9: [FLOOD]}},
        "phys": {"segment_id": 100, "network_type": "vlan", "ports": {R9: [FLOOD]}}}})]
    r = run([], l2pop_sections(), control=ctl)
    res = r.ok_replies()[0]
    eq(sorted(tuple(sorted(x.items())) for x in res["skipped"]),
       sorted([(("agent_ip", LOCAL_IP), ("reason", "this host's own local_ip")),
               (("network", UUID), ("reason", "no such network on this host")),
               (("network", "phys"), ("reason", "network_type is not tunnelled by tunsw"))]),
       "skipped")
    eq(r.fdb(), {}, "fdb")
    eq(("vxlan", R9) in r.tunnels(), False, "no tunnel")


def test_R_L1_vm_migration_repoints_static_entry():
    """The same MAC pushed behind another VTEP moves; the old VTEP's tunnel
    goes with its last entry."""
    ctl = [add(0.5, {R9: [[mac(52), "10.0.0.52"]]}),
           add(0.6, {R3: [[mac(52), "10.0.0.52"]]})]
    r = run([(1.0, "vm1", frame(mac(1), mac(52)))], l2pop_sections(), control=ctl)
    r.ok_replies()
    eq(r.fdb("blue")[mac(52)]["tunnel"]["remote"], R3, "entry moved")
    eq(("vxlan", R9) in r.tunnels(), False, "R9 tunnel gone")
    eq([outer(b)[0] for b in r.out("uplink")], [R3], "unicast to R3")


def test_R_L2_remove_undoes_add_and_deletes_tunnel():
    ports = {R9: [FLOOD, [mac(50), "10.0.0.50"]]}
    ctl = [add(0.5, ports), remove(1.5, ports)]
    inputs = [(1.0, "vm1", frame(mac(1), mac(50))),
              (2.0, "vm1", frame(mac(1), mac(50))),
              (3.0, "vm1", arp_req(mac(1), "10.0.0.1", "10.0.0.50"))]
    r = run(inputs, l2pop_sections(), control=ctl)
    res = r.ok_replies()[1]
    eq((res["fdb"], res["flood"], res["arp"], res["tunnels_deleted"]), (1, 1, 1, 1), "result")
    eq(("vxlan", R9) in r.tunnels(), False, "tunnel deleted with its last entry")
    eq((r.flood("blue"), r.fdb("blue").get(mac(50)), r.arp("blue")), ([], None, {}),
       "flood set, FDB and ARP entries gone")
    # after removal: unknown unicast and the unanswered ARP go to vm2 only
    eq([outer(b)[0] for b in r.out("uplink")], [R9], "only the first frame was tunnelled")
    eq(len(r.out("vm2")), 2, "vm2 gets the unknown unicast and the ARP request")
    eq(r.out("vm1"), [], "no ARP reply")


def test_R_L2_tunnel_kept_while_another_network_uses_it():
    ctl = [add(0.5, {R9: [FLOOD]}),
           add(0.5, {R9: [[mac(60), "10.2.0.60"]]}, net="red", seg=1002),
           remove(1.0, {R9: [FLOOD]})]
    r = run([], l2pop_sections(), control=ctl)
    r.ok_replies()
    eq(r.tunnels()[("vxlan", R9)]["static_refs"], 1, "still used by red")
    ctl.append(remove(2.0, {R9: [[mac(60), "10.2.0.60"]]}, net="red", seg=1002))
    r = run([], l2pop_sections(), control=ctl)
    eq(("vxlan", R9) in r.tunnels(), False, "gone with red's last entry")


def test_R_L2_declared_remote_survives_removal():
    ctl = [add(0.5, {R2: [FLOOD, [mac(53), "10.0.0.53"]]}),
           remove(1.0, {R2: [FLOOD, [mac(53), "10.0.0.53"]]})]
    r = run([], l2pop_sections(), control=ctl)
    r.ok_replies()
    t = r.tunnels()[("vxlan", R2)]
    eq((t["configured"], t["static_refs"]), (True, 0), "[remote] tunnel stays")


def test_R_L2_remove_of_old_vtep_keeps_moved_entry():
    """remove for the old VTEP after the MAC moved must not delete the new
    entry (Neutron sends add-new then remove-old on migration)."""
    ctl = [add(0.5, {R9: [[mac(54), "10.0.0.54"]]}),
           add(0.6, {R3: [[mac(54), "10.0.0.55"]]}),
           remove(0.7, {R9: [[mac(54), "10.0.0.54"]]})]
    r = run([], l2pop_sections(), control=ctl)
    res = r.ok_replies()
    eq(r.fdb("blue")[mac(54)]["tunnel"]["remote"], R3, "entry kept")
    # the move took R9's last entry, so its tunnel went with it; like the
    # OVS agent, a removal naming a remote without a tunnel is skipped whole
    # (ARP entries included: one may be another remote's by now)
    eq(res[2]["skipped"], [{"network": "blue", "agent_ip": R9,
                            "reason": "no tunnel to this remote"}], "skipped")
    eq(r.arp("blue"), {"10.0.0.54": mac(54), "10.0.0.55": mac(54)}, "ARP entries")


def test_R_L3_update_chg_ip_replaces_arp_entries_only():
    ctl = [add(0.5, {R9: [[mac(50), "10.0.0.50"]]}),
           (1.0, {"op": "update_fdb_entries", "fdb_entries": {"chg_ip": {"blue": {R9: {
               "before": [[mac(50), "10.0.0.50"]], "after": [[mac(50), "10.0.0.60"]]}}}}})]
    inputs = [(2.0, "vm1", arp_req(mac(1), "10.0.0.1", "10.0.0.60")),
              (3.0, "vm1", arp_req(mac(1), "10.0.0.1", "10.0.0.50"))]
    r = run(inputs, l2pop_sections(), control=ctl)
    eq(r.ok_replies()[1]["arp"], 2, "one removed, one added")
    eq(r.arp("blue"), {"10.0.0.60": mac(50)}, "ARP entry replaced")
    e = r.fdb("blue")[mac(50)]
    eq((e["kind"], e["tunnel"]["remote"]), ("static", R9), "FDB untouched")
    eq(len(r.out("vm1")), 1, "only the new IP is answered")
    eq(Ether(r.out("vm1")[0])[ARP].psrc, "10.0.0.60", "answer for the new IP")


def test_R_L4_adds_and_removes_are_idempotent():
    ports = {R9: [FLOOD, [mac(50), "10.0.0.50"]]}
    once = run([], l2pop_sections(), control=[add(0.5, ports)])
    twice = run([], l2pop_sections(), control=[add(0.5, ports), add(0.6, ports)])
    for key in ("fdb", "arp", "tunnels", "networks"):
        eq(twice.state[key], once.state[key], key + " after a repeated add")
    r = run([], l2pop_sections(),
            control=[remove(0.4, ports), add(0.5, ports), add(0.6, ports),
                     remove(0.7, ports), remove(0.8, ports)])
    eq([x["ok"] for x in r.replies], [True] * 5, "every request accepted")
    eq((r.fdb(), r.arp(), ("vxlan", R9) in r.tunnels()), ({}, {}, False),
       "one remove undoes repeated adds")


def test_R_L1_invalid_payload_changes_nothing():
    """A bad entry anywhere refuses the whole request, naming the field."""
    bad = {R9: [FLOOD, [mac(50), "10.0.0.50"], ["01:00:5e:00:00:01", "10.0.0.9"]]}
    r = run([], l2pop_sections(), control=[add(0.5, bad)])
    rep = r.replies[0]
    eq(rep["ok"], False, "refused")
    eq(rep["field"], "fdb_entries.blue.ports.%s[2].mac" % R9, "field")
    eq((r.fdb(), r.arp(), r.flood("blue"), ("vxlan", R9) in r.tunnels()),
       ({}, {}, [], False), "nothing applied")


def test_control_l2pop_refused_when_l2population_off():
    r = run([], l2pop_sections(l2_population="false"),
            control=[add(0.5, {R9: [FLOOD]})])
    eq((r.replies[0]["ok"], r.replies[0]["field"]), (False, "op"), "refused")


BAD_REQUESTS = [
    ({"op": "network_add", "name": "n1", "type": "vxlan", "segmentation_id": 1 << 24},
     "segmentation_id"),
    ({"op": "network_add", "name": "n1", "type": "vxlan", "segmentation_id": "5"},
     "segmentation_id"),
    ({"op": "network_add", "name": "n1", "type": "geneve", "segmentation_id": 5}, "type"),
    ({"op": "network_add", "name": "n1", "type": "vlan", "segmentation_id": 5}, "physical_network"),
    ({"op": "network_add", "name": "bad name", "type": "vxlan", "segmentation_id": 5}, "name"),
    ({"op": "network_add", "name": "blue2", "type": "vxlan", "segmentation_id": 1001},
     "segmentation_id"),
    ({"op": "network_del", "name": "blue"}, "name"),
    ({"op": "fdb_add", "network": "blue", "mac": "fa:16:3e:00:00", "remote": R9}, "mac"),
    ({"op": "fdb_add", "network": "blue", "mac": "ff:ff:ff:ff:ff:ff", "remote": R9}, "mac"),
    ({"op": "fdb_add", "network": "blue", "mac": mac(5), "remote": "198.18.0.300"}, "remote"),
    ({"op": "fdb_add", "network": "blue", "mac": mac(5), "remote": LOCAL_IP}, "remote"),
    ({"op": "fdb_add", "network": "nope", "mac": mac(5), "remote": R9}, "network"),
    ({"op": "fdb_add", "network": "blue", "mac": mac(5), "remote": R9, "vni": 3}, "vni"),
    ({"op": "arp_add", "network": "blue", "ip": "224.0.0.1", "mac": mac(5)}, "ip"),
    ({"op": "flood_add", "network": "blue"}, "remote"),
    ({"op": "remote_add", "ip": R9, "type": 4}, "type"),
    ({"op": "frobnicate"}, "op"),
    ({"id": 3.5, "op": "show_ports"}, "id"),
    ({"op": "trace", "port": "vm1", "frame": "zz" * 20}, "frame"),
    ({"op": "trace", "port": "vm1", "frame": "00" * 5}, "frame"),
    ({"op": "port_add", "name": "vm1", "network": "blue", "devargs": "net_null9"}, "name"),
    # only vhost-user sockets in [control] vhost_socket_dir (here /run/tunsw)
    ({"op": "port_add", "name": "vm8", "network": "blue", "devargs": "net_null9"}, "devargs"),
    ({"op": "port_add", "name": "vm8", "network": "blue",
      "devargs": "net_pcap9,tx_pcap=/etc/x"}, "devargs"),
    ({"op": "port_add", "name": "vm8", "network": "blue",
      "devargs": "net_vhost9,iface=/tmp/vm8.sock"}, "devargs"),
]


def test_control_bad_requests_refused_state_unchanged():
    ctl = [(0.1 * (i + 1), req) for i, (req, _) in enumerate(BAD_REQUESTS)]
    base = run([], l2pop_sections())
    r = run([], l2pop_sections(), control=ctl)
    eq(len(r.replies), len(BAD_REQUESTS), "one reply per request")
    for (req, field), rep in zip(BAD_REQUESTS, r.replies):
        eq((rep["ok"], rep["field"]), (False, field), "reply to %r" % req)
        assert rep["error"].startswith(field + ": ") and len(rep["reason"]) > 5, rep
    for key in ("fdb", "arp", "tunnels", "networks", "ports"):
        eq(r.state[key], base.state[key], key + " unchanged")
    eq(r.replies[0]["id"], 1, "id echoed")


def test_control_tables_add_and_delete():
    ctl = [(0.1, {"op": "network_add", "name": "n7", "type": "gre", "segmentation_id": 7}),
           (0.2, {"op": "remote_add", "ip": R9, "type": "gre"}),
           (0.3, {"op": "fdb_add", "network": "n7", "mac": mac(70), "remote": R9,
                  "ip": "10.7.0.70"}),
           (0.4, {"op": "arp_add", "network": "n7", "ip": "10.7.0.71", "mac": mac(71)}),
           (0.5, {"op": "show_fdb", "network": "n7"}),
           (0.6, {"op": "show_arp", "network": "n7"}),
           (0.7, {"op": "fdb_del", "network": "n7", "mac": mac(70), "ip": "10.7.0.70"}),
           (0.8, {"op": "arp_del", "network": "n7", "ip": "10.7.0.71"}),
           (0.9, {"op": "remote_del", "ip": R9, "type": "gre"}),
           (1.0, {"op": "network_del", "name": "n7"})]
    r = run([], l2pop_sections(), control=ctl)
    res = r.ok_replies()
    eq([(e["mac"], e["kind"], e["tunnel"]["type"]) for e in res[4]],
       [(mac(70), "static", "gre")], "show_fdb")
    eq([(e["ip"], e["mac"]) for e in res[5]],
       [("10.7.0.70", mac(70)), ("10.7.0.71", mac(71))], "show_arp")
    eq(res[6]["removed"], "static", "fdb_del")
    eq(("gre", R9) in r.tunnels(), False, "tunnel deleted")
    eq([n["name"] for n in r.state["networks"]], ["blue", "red", "green"], "n7 deleted")
    eq(r.arp(), {}, "arp")


def test_control_port_hot_plug_in_replay():
    ctl = [(1.5, {"op": "port_add", "name": "vm9", "network": "blue",
                  "devargs": "net_vhost9,iface=/run/tunsw/vhost/vm9.sock"}),
           (2.5, {"op": "port_del", "name": "vm9"})]
    f = frame(mac(1), BCAST)
    r = run([(1.0, "vm1", f), (2.0, "vm1", f), (3.0, "vm1", f)], control=ctl)
    r.ok_replies()
    eq(r.out("vm9"), [bytes(f)], "vm9 got only the frame sent while it existed")
    eq(len(r.out("vm2")), 3, "vm2 got all three")
    eq("vm9" in r.state["counters"]["ports"], False, "vm9 gone from counters")


def test_control_trace_tells_rule_and_sends_nothing():
    s = l2pop_sections()
    ctl = [add(0.5, {R9: [[mac(50), "10.0.0.50"]]}),
           (1.0, {"op": "trace", "port": "vm1", "frame": bytes(frame(mac(1), mac(50))).hex()}),
           (1.1, {"op": "trace", "port": "uplink",
                  "frame": bytes(vxlan(frame(mac(80), mac(1)), 4242)).hex()}),
           (1.2, {"op": "trace", "port": "vm1",
                  "frame": bytes(arp_req(mac(1), "10.0.0.1", "10.0.0.50")).hex()})]
    r = run([], s, control=ctl)
    res = r.ok_replies()
    t = res[1]
    eq(t["rule"], "R-F3", "rule")
    eq([(o["port"], o["tunnel"]) for o in t["outputs"]],
       [("uplink", {"type": "vxlan", "remote": R9, "id": 1001})], "outputs")
    eq(Ether(bytes.fromhex(t["outputs"][0]["frame"]))[VXLAN].payload[Ether].dst, mac(50),
       "inner frame")
    eq(t["learn"], [{"network": "blue", "mac": mac(1), "kind": "local", "port": "vm1"}],
       "would learn")
    eq((res[2]["rule"], res[2]["drops"], res[2]["outputs"]),
       ("R-C2", {"unknown_id": 1}, []), "unknown VNI")
    eq((res[3]["rule"], [o["port"] for o in res[3]["outputs"]]), ("R-F6", ["vm1", "vm2"]),
       "ARP responder")
    eq((r.out("uplink"), r.out("vm1"), r.out("vm2")), ([], [], []), "nothing transmitted")
    eq(r.fdb("blue").get(mac(1)), None, "nothing learned")
    eq((r.state["counters"]["total_drops"], r.state["counters"]["ports"]["vm1"]["rx_pkts"]),
       (0, 0), "nothing counted")


def test_control_counters_reset():
    f = frame(mac(1), BCAST)
    ctl = [(1.5, {"op": "counters_reset"}), (2.5, {"op": "show_counters"})]
    r = run([(1.0, "vm1", f), (2.0, "vm1", f)], control=ctl)
    shown = r.ok_replies()[1]
    eq((shown["ports"]["vm1"]["rx_pkts"], shown["ports"]["vm2"]["tx_pkts"]), (1, 1),
       "counted since the reset")
    eq(r.port("vm1")["rx_pkts"], 1, "state.json shows the same view")


def test_control_recreated_tunnel_counts_from_zero():
    ctl = [add(0.5, {R9: [[mac(50), ""]]}), remove(1.5, {R9: [[mac(50), ""]]}),
           add(2.5, {R9: [[mac(50), ""]]})]
    f = frame(mac(1), mac(50))
    r = run([(1.0, "vm1", f), (1.1, "vm1", f), (3.0, "vm1", f)], l2pop_sections(),
            control=ctl)
    r.ok_replies()
    eq(r.state["counters"]["tunnels"]["vxlan/" + R9]["tx_pkts"], 1, "new tunnel's count")



def mac3(i):
    return "fa:16:3e:%02x:%02x:%02x" % (i >> 16 & 255, i >> 8 & 255, i & 255)


def test_refused_fdb_add_changes_nothing_when_the_arp_table_is_full():
    """fdb_add with an ip, refused because the ARP table is full, leaves the
    existing static entry for that MAC as it was (it was deleted before)."""
    sec = l2pop_sections()
    sec["dataplane"] = {"fdb_size": "1024"}
    ctl = [(0.1, {"op": "fdb_add", "network": "blue", "mac": mac(7), "remote": R2})]
    ctl += [(0.2 + i * 1e-4, {"op": "arp_add", "network": "red", "ip": "10.7.%d.%d" % (
        i >> 8, i & 255), "mac": mac3(0x100 + i)}) for i in range(1100)]
    ctl.append((0.5, {"op": "fdb_add", "network": "blue", "mac": mac(7), "remote": R9,
                      "ip": "10.0.0.7"}))
    r = run([], sec, control=ctl)
    full = [x for x in r.replies[1:1101] if not x["ok"]]
    eq(len(full) > 0 and all(x["field"] == "ip" for x in full), True,
       "the ARP table fills up (%d refused)" % len(full))
    last = r.replies[-1]
    eq((last["ok"], last["field"]), (False, "ip"), "fdb_add refused on ip: %r" % last)
    e = r.fdb("blue")[mac(7)]
    eq((e["kind"], e["tunnel"]["remote"]), ("static", R2), "the static entry is untouched")
    eq("10.0.0.7" in r.arp("blue"), False, "no ARP entry")
    eq(("vxlan", R9) in r.tunnels(), False, "no tunnel left behind")


def test_R_L4_results_count_what_changed():
    """Repeated adds and removes of what is absent count nothing: a remove
    claims only the removals that happened."""
    ports = {R9: [FLOOD] + [[mac3(i), "10.0.%d.%d" % (i >> 8, i & 255)] for i in range(1, 501)]}
    ctl = [add(0.1, ports), add(0.2, ports), remove(0.3, ports), remove(0.4, ports)]
    r = run([], l2pop_sections(), control=ctl)
    got = [(x["fdb"], x["flood"], x["arp"], x["tunnels_created"], x["tunnels_deleted"])
           for x in r.ok_replies()]
    eq(got, [(500, 1, 500, 1, 0), (0, 0, 0, 0, 0), (500, 1, 500, 0, 1), (0, 0, 0, 0, 0)],
       "counts")
    eq((r.fdb("blue"), r.arp("blue")), ({}, {}), "empty again")


def test_R_L1_large_payload_applied_whole():
    """A network's whole table in one add (20 000 ports behind 40 remotes),
    then removed: every entry in, every entry out (the apply is linear; the
    benchmark, scripts/bench-openstack.py, times it)."""
    remotes = ["198.18.1.%d" % (10 + i) for i in range(40)]
    ports = {rm: [FLOOD] for rm in remotes}
    for i in range(20000):
        ports[remotes[i % 40]].append([mac3(0x10000 + i), "10.%d.%d.%d" % (
            100 + (i >> 16), (i >> 8) & 255, i & 255)])
    sec = l2pop_sections()
    sec["dataplane"] = {"fdb_size": "65536"}
    r = run([], sec, control=[add(0.1, ports)])
    res = r.ok_replies()[0]
    eq((res["fdb"], res["arp"], res["flood"], res["tunnels_created"]), (20000, 20000, 40, 40),
       "added")
    eq(len(r.fdb("blue")), 20000, "FDB")
    eq(len(r.arp("blue")), 20000, "ARP")
    r = run([], sec, control=[add(0.1, ports), remove(0.2, ports)])
    res = r.ok_replies()[1]
    eq((res["fdb"], res["arp"], res["flood"], res["tunnels_deleted"]), (20000, 20000, 40, 40),
       "removed")
    eq((len(r.fdb("blue")), len(r.arp("blue")), r.tunnels().get(("vxlan", remotes[0]))),
       (0, 0, None), "empty")

if __name__ == "__main__":
    run_tests(globals())
