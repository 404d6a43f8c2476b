"""MAC-table caps ([dataplane] mac_limit_port, mac_limit_network): a VM
flooding random source MACs fills its own port's share only; beyond a cap
frames are still forwarded (flooded when unknown) but not learned, and
counted; one network cannot exhaust the table for another."""
from tsw import *


def macs(prefix, n):
    return ["fa:16:%02x:00:00:%02x" % (prefix, i) for i in range(n)]


def limited(**dataplane):
    s = standard_sections()
    s["dataplane"] = dict({"mac_limit_port": "4", "mac_limit_network": "6"}, **dataplane)
    return s


def test_port_cap_then_network_cap_other_networks_unaffected():
    flood = [(1.0 + i * 0.01, "vm1", frame(m, BCAST)) for i, m in enumerate(macs(1, 10))]
    flood += [(2.0 + i * 0.01, "vm2", frame(m, BCAST)) for i, m in enumerate(macs(2, 3))]
    flood += [(3.0 + i * 0.01, "vm3", frame(m, BCAST)) for i, m in enumerate(macs(3, 3))]
    r = run(flood, limited())
    blue = r.fdb("blue")
    eq(len([e for e in blue.values() if e["port"] == "vm1"]), 4, "vm1: its port cap")
    eq(len([e for e in blue.values() if e["port"] == "vm2"]), 2, "vm2: what the network cap left")
    eq(len(r.fdb("red")), 3, "red learns as before")
    eq(r.state["counters"]["learn"]["limited"], 6 + 1, "not learned, counted")
    eq(len(r.out("vm2")), 10, "vm1's frames all forwarded (flooded) all the same")
    ports = {p["name"]: p["learned_macs"] for p in r.state["ports"]}
    eq((ports["vm1"], ports["vm2"], ports["vm3"]), (4, 2, 3), "show_ports learned_macs")
    nets = {n["name"]: n["learned_macs"] for n in r.state["networks"]}
    eq((nets["blue"], nets["red"]), (6, 3), "show_networks learned_macs")


def test_a_full_port_cannot_steal_a_learned_mac():
    """vm1 at its cap sends with vm2's MAC: the entry stays on vm2."""
    victim = "fa:16:3e:00:00:22"
    ins = [(0.5, "vm2", frame(victim, BCAST))]
    ins += [(1.0 + i * 0.01, "vm1", frame(m, BCAST)) for i, m in enumerate(macs(1, 4))]
    ins += [(2.0, "vm1", frame(victim, BCAST)), (3.0, "vm3", frame(mac(3), victim))]
    r = run(ins, limited(mac_limit_network="100"))
    eq(r.fdb("blue")[victim]["port"], "vm2", "still on vm2")


def test_ageing_and_port_removal_give_the_share_back():
    """Entries that age out, or go with their port, no longer count."""
    ins = [(1.0 + i * 0.01, "vm1", frame(m, BCAST)) for i, m in enumerate(macs(1, 4))]
    ins += [(400.0 + i * 0.01, "vm1", frame(m, BCAST)) for i, m in enumerate(macs(4, 4))]
    r = run(ins, limited(mac_limit_network="100"))
    eq(sorted(r.fdb("blue")), sorted(macs(4, 4)), "after mac_ageing, four new ones learned")
    eq(r.state["counters"]["learn"]["limited"], 0, "nothing limited")
    ctl = [(1.5, {"op": "port_del", "name": "vm1"})]
    ins = [(1.0 + i * 0.01, "vm1", frame(m, BCAST)) for i, m in enumerate(macs(1, 4))]
    ins += [(2.0 + i * 0.01, "vm2", frame(m, BCAST)) for i, m in enumerate(macs(2, 6))]
    r = run(ins, limited(), control=ctl)
    eq(len(r.fdb("blue")), 4, "vm2 learned up to its own cap once vm1's went")
    eq(r.state["counters"]["learn"]["limited"], 2, "vm2's fifth and sixth")


def test_config_limits_validated():
    for key, value, why in (("mac_limit_port", "-1", "is not a non-negative integer"),
                            ("mac_limit_network", "70000", "is out of range")):
        s = standard_sections()
        s["dataplane"] = {key: value}
        p = run([], s, expect_rc=1)
        eq("[dataplane] %s: '%s' %s" % (key, value, why) in p.stderr, True, p.stderr)


if __name__ == "__main__":
    run_tests(globals())
