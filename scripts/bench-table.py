#!/usr/bin/python3
"""Render build/bench/results.json (scripts/bench.sh) as the Markdown tables
of doc/performance.md: the paths, the peer, and the targets.

  scripts/bench-table.py [results.json]
"""
import json
import sys


# Between a baseline's cycles per frame in the machine's fast state and in
# its slow one (doc/performance.md, runs of 2026-11-25 and 2026-12-06):
# vm->uplink 55-75 / 105-150, uplink->vm 134-151 / 289-340, vm->vm 104 /
# 204-211, 1 500-byte frames 476 / 564.
SPLIT = {"io forwarding vm->uplink": 95, "io forwarding uplink->vm": 220,
         "io forwarding vm->vm": 160}


def state(io_cycles, baseline="io forwarding vm->uplink", size=64):
    """The machine's state a measurement fell in, from its I/O baseline's
    cycles per frame."""
    split = 520 if size > 64 else SPLIT.get(baseline, 95)
    return "fast" if io_cycles < split else "slow"


def row_state(r):
    return state(r["baseline"]["cycles_per_pkt"], r["baseline"]["path"], r["bytes"])


def daemon_state(cycles):
    """The same from the tunsw daemon's own cycles per frame in
    bench-daemon.py (~115 fast, ~170 slow): a pair counts for a state only
    when testpmd and tunsw both saw it."""
    return "fast" if cycles < 140 else "slow"


def k(n):
    return "%d M" % (n >> 20) if n >= 1 << 20 else "%d K" % (n >> 10) if n >= 1024 else str(n)


def main():
    d = json.load(open(sys.argv[1] if len(sys.argv) > 1 else "build/bench/results.json"))
    res = d["results"]
    print("| path | MACs | tunnels | bytes | Mpps | cycles/pkt | its io baseline: Mpps | "
          "cycles/pkt | × io cycles | × io Mpps | busy % | state |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in res:
        b = r["baseline"]
        print("| %s | %s | %s | %d | %.2f | %.1f | %.2f | %.1f | %.2f | %.2f | %.1f | %s |" % (
            r["path"].replace("->", "→"), k(r["macs"]), r["tunnels"], r["bytes"], r["mpps"],
            r["cycles_per_pkt"], b["mpps"], b["cycles_per_pkt"], r["ratio_to_io"],
            r["mpps_ratio_to_io"], r["busy_pct"], row_state(r)))

    def row(path, macs=65536, tunnels=64, size=64):
        return next((r for r in res if r["path"] == path and r["macs"] == macs and
                     r["tunnels"] == tunnels and r["bytes"] == size), None)
    vx = row("vm->tunnel vxlan")
    peer = {p["macs"]: p for p in d.get("peer", [])}
    dm = d.get("daemon")
    if dm:
        print("\n| pair | testpmd io: cycles/pkt | Mpps | tunsw daemon: cycles/pkt | Mpps | busy % "
              "| × io cycles | × io Mpps | state |\n|---|---|---|---|---|---|---|---|---|")
        for i, p in enumerate(dm["pairs"]):
            io, sw = p["testpmd_io"], p["tunsw"]
            print("| %d | %.1f | %.2f | %.1f | %.2f | %.0f | %.2f | %.2f | %s |" % (
                i + 1, io["cycles_per_pkt"], io["mpps"], sw["cycles_per_pkt"], sw["mpps"],
                sw["busy_pct"], p["ratio"], p["mpps_ratio"],
                state(io["cycles_per_pkt"]) if state(io["cycles_per_pkt"]) ==
                daemon_state(sw["cycles_per_pkt"]) else "mixed"))
        print("| median | | | | | | %.2f | %.2f | |" % (dm["ratio_to_io"],
                                                       dm["mpps_ratio_to_io"]))

    def adjacent(p):     # tunsw measured right before and after this OVS run
        return [x["cycles_per_pkt"] for x in p.get("tunsw_adjacent", [])]

    if peer:
        print("\n| path | MACs | Mpps | cycles/pkt | tunsw cycles/pkt just before / after "
              "| tunsw ÷ OVS (cycles) |\n|---|---|---|---|---|---|")
        for m, p in sorted(peer.items(), reverse=True):
            t = adjacent(p)
            print("| OVS-DPDK vm→tunnel VXLAN | %s | %.2f | %.1f | %s | %s |" % (
                k(m), p["mpps"], p["cycles_per_pkt"], " / ".join("%.1f" % x for x in t) or "-",
                " / ".join("%.3f" % (x / p["cycles_per_pkt"]) for x in t) or "-"))
    small, big = row("vm->tunnel vxlan", macs=1024), [r for r in res if r["path"] ==
                                                      "vm->tunnel vxlan" and r["macs"] > 65536]
    tun = row("tunnel->vm vxlan (decap+learn)")
    print("\n| target (#12) | measured | state | met? |\n|---|---|---|---|")
    if dm:
        for st in ("fast", "slow"):
            rs = sorted(p["ratio"] for p in dm["pairs"]
                        if state(p["testpmd_io"]["cycles_per_pkt"]) == st and
                        daemon_state(p["tunsw"]["cycles_per_pkt"]) == st)
            if rs:
                print("| VM→tunnel VXLAN ≤ 1.5× testpmd io cycles (the daemon, vhost-user → "
                      "net_null) | %s× (%d of %d pairs) | %s | %s |" % (
                          " – ".join("%.2f" % x for x in sorted({rs[0], rs[-1]})), len(rs),
                          len(dm["pairs"]), st,
                          "yes" if rs[len(rs) // 2] <= 1.5 else "**no**"))
    if vx:
        print("| VM→tunnel VXLAN ≤ 1.5× io forwarding cycles (tunsw-bench) | %.2f× | %s | %s |" % (
            vx["ratio_to_io"], row_state(vx),
            "yes" if vx["ratio_to_io"] <= 1.5 else "**no**"))
    if tun:
        print("| tunnel→VM ≤ 1.5× io forwarding | %.2f× | %s | %s |" % (
            tun["ratio_to_io"], row_state(tun),
            "yes" if tun["ratio_to_io"] <= 1.5 else "**no**"))
    if small and big:
        # against each row's own baseline: the machine's speed drifts between rows
        g = big[0]["ratio_to_io"] / small["ratio_to_io"] - 1
        print("| 1 K → 1 M MACs ≤ +25 %% cycles | %+.0f %% (%.2f× → %.2f× io; %.0f → %.0f "
              "cycles) | %s / %s | %s |" % (
            100 * g, small["ratio_to_io"], big[0]["ratio_to_io"], small["cycles_per_pkt"],
            big[0]["cycles_per_pkt"], row_state(small), row_state(big[0]),
            "yes" if g <= 0.25 else "**no**"))
    if peer:
        q = [x / p["cycles_per_pkt"] for m, p in sorted(peer.items(), reverse=True)
             for x in adjacent(p)]
        if q:
            print("| ≤ 1/3 of OVS-DPDK's cycles | %.3f× – %.3f× | | %s |" % (
                min(q), max(q), "yes" if all(x <= 1 / 3 for x in q) else "**no**"))

if __name__ == "__main__":
    main()
