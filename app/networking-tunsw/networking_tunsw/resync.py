"""Mark and sweep of the l2population state after a full resync.

When the agent (re)starts, or the daemon restarted, the agent reports every
port of this host up again with refresh_tunnels; neutron-server then sends
this host the whole FDB of each of its networks. Entries the daemon holds
from before that Neutron does not send again are stale (a remote port was
deleted while the agent was away) and must go; entries that Neutron sends
must never flicker. So: snapshot the daemon's static state first (the
mark), let every l2population message that arrives afterwards strike what it
names, and after a grace period remove what is left (the sweep), each only
while it is still what the snapshot saw.

Entries are tuples:
    ("fdb", network, mac, remote)      static FDB entry behind remote's tunnel
    ("arp", network, ip, mac)          ARP responder entry
    ("flood", network, remote)         remote in the network's flood set
"""

FLOOD_MAC = "00:00:00:00:00:00"


PAGE = 5000


def paged(daemon, op, **args):
    """Every entry of show_fdb / show_arp, a page at a time: the daemon spends
    a bounded time on each (a whole large table in one reply would hold its
    management lcore, and learning, for as long as it takes to build)."""
    cursor = 0
    while cursor is not None:
        page = daemon.call(op, cursor=cursor, limit=PAGE, **args)
        for e in page["entries"]:
            yield e
        cursor = page["next"]


def snapshot(daemon, networks):
    """The daemon's static state of the given networks (a set of entries)."""
    nets = set(networks)
    seen = set()
    for e in paged(daemon, "show_fdb"):
        if e["network"] in nets and e["kind"] == "static":
            seen.add(("fdb", e["network"], e["mac"], e["tunnel"]["remote"]))
    for e in paged(daemon, "show_arp"):
        if e["network"] in nets:
            seen.add(("arp", e["network"], e["ip"], e["mac"]))
    for n in daemon.call("show_networks"):
        if n["name"] in nets:
            for remote in n["flood"]:
                seen.add(("flood", n["name"], remote))
    return seen


def _pair(entry):
    if isinstance(entry, dict):
        return entry.get("mac_address"), entry.get("ip_address")
    return entry[0], entry[1]


def named_in_fdb(fdb_entries):
    """Every entry an add_fdb_entries / remove_fdb_entries payload names."""
    out = set()
    for net, body in (fdb_entries or {}).items():
        if not isinstance(body, dict):
            continue
        for remote, entries in (body.get("ports") or {}).items():
            for entry in entries:
                mac, ip = _pair(entry)
                if mac == FLOOD_MAC:
                    out.add(("flood", net, remote))
                    continue
                out.add(("fdb", net, mac, remote))
                if ip:
                    out.add(("arp", net, ip, mac))
    return out


def named_in_update(fdb_entries):
    """Every ARP entry an update_fdb_entries (chg_ip) payload names."""
    out = set()
    for net, agents in ((fdb_entries or {}).get("chg_ip") or {}).items():
        for _remote, change in (agents or {}).items():
            for key in ("before", "after"):
                for entry in change.get(key) or []:
                    mac, ip = _pair(entry)
                    out.add(("arp", net, ip, mac))
    return out


def chunks(op, fdb_entries, limit):
    """An l2population payload cut into payloads of at most limit entries
    (same shape, same order), so that the daemon applies a network's whole
    table as several short requests and its learn path and other clients
    get their turn in between. Small payloads come back whole."""
    if op == "update_fdb_entries":
        per = [(net, remote, change) for net, agents in
               ((fdb_entries or {}).get("chg_ip") or {}).items()
               for remote, change in (agents or {}).items()]
        size = sum(len(c.get("before") or []) + len(c.get("after") or []) for _n, _r, c in per)
        if size <= limit:
            return [fdb_entries]
        out = []
        for net, remote, change in per:    # one agent's change per payload
            out.append({"chg_ip": {net: {remote: change}}})
        return out
    size = sum(len(v) for body in (fdb_entries or {}).values() if isinstance(body, dict)
               for v in (body.get("ports") or {}).values())
    if size <= limit:
        return [fdb_entries]
    out, cur, n = [], {}, 0
    for net, body in fdb_entries.items():
        for remote, entries in (body.get("ports") or {}).items():
            for i in range(0, len(entries), limit):
                part = entries[i:i + limit]
                if n + len(part) > limit and cur:
                    out.append(cur)
                    cur, n = {}, 0
                dst = cur.setdefault(net, {k: v for k, v in body.items() if k != "ports"})
                dst.setdefault("ports", {}).setdefault(remote, []).extend(part)
                n += len(part)
    if cur:
        out.append(cur)
    return out


def sweep(daemon, stale, log):
    """Remove each stale entry that is still as the snapshot saw it."""
    removed = 0
    arp_now = {}           # network -> {(ip, mac)}, read once per network
    for e in sorted(stale):
        kind, net = e[0], e[1]
        if kind == "fdb":
            mac, remote = e[2], e[3]
            now = daemon.call("show_fdb", network=net, mac=mac)
            if any(x["kind"] == "static" and x["tunnel"]["remote"] == remote for x in now):
                daemon.call("fdb_del", network=net, mac=mac)
                removed += 1
                log.info("resync: removed stale FDB entry network %s mac %s -> %s",
                         net, mac, remote)
        elif kind == "arp":
            ip, mac = e[2], e[3]
            if net not in arp_now:
                arp_now[net] = {(x["ip"], x["mac"]) for x in paged(daemon, "show_arp",
                                                                  network=net)}
            if (ip, mac) in arp_now[net]:
                daemon.call("arp_del", network=net, ip=ip)
                removed += 1
                log.info("resync: removed stale ARP entry network %s %s -> %s", net, ip, mac)
        else:
            remote = e[2]
            nets = [n for n in daemon.call("show_networks") if n["name"] == net]
            if nets and remote in nets[0]["flood"]:
                daemon.call("flood_del", network=net, remote=remote)
                removed += 1
                log.info("resync: removed stale flood entry network %s -> %s", net, remote)
    return removed
