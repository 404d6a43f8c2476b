#!/usr/bin/env bash
# The benchmark, one command: install what is needed, build, reserve
# hugepages, run tunsw-bench on this machine (2 cores: a generator and the
# measured worker) and print the table; then the peer baseline, OVS-DPDK as
# a Neutron compute node fed the same traffic (scripts/bench-ovs.sh; skip it
# with --no-ovs), with tunsw's row measured again just before and after it.
# Between the two, the daemon itself against testpmd's io forwarding in its
# place (scripts/bench-daemon.py). JSON: build/bench/results.json. About 11
# minutes (8 without OVS). Needs root (hugepages, a network namespace for
# OVS's VTEP address) and 2 GB of hugepages (it
# reserves them). A part that measures nothing stops it with a non-zero
# exit and the reason: it never prints a zero as a figure.
#
#   scripts/bench.sh [--no-ovs] [--quick] [--harness vhost|ring] [--only TEXT]
#                    [--macs N] [--tunnels N] [--bytes N] [--window S] [--no-baseline]
#
# Nothing else may busy-poll these cores while it runs.
set -euo pipefail
cd "$(dirname "$0")/.."
ovs=1
args=()
for a in "$@"; do
	if [ "$a" = --no-ovs ]; then ovs=0; else args+=("$a"); fi
done
./scripts/install-deps.sh
[ $ovs -eq 0 ] || dpkg-query -W -f='${Status}' openvswitch-switch-dpdk 2>/dev/null |
	grep -q "install ok installed" || {
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		openvswitch-switch-dpdk >/dev/null
}
# tunsw-bench takes 1.5 GB, all reserved at its start (-m): its heap must
# never grow while it runs, since a memory hotplug event makes the
# virtio-user guest (in the same process) send SET_MEM_TABLE to the vhost
# backend (also in it) while holding the hotplug lock the backend needs to
# answer: both wait for ever (seen with the security-group rows' 1 M-entry
# connection tables built and freed row after row). With the OVS peer,
# OVS-DPDK (up to 1 GB) and the generator (256 MB) run together, never
# beside tunsw-bench.
./scripts/hugepages.sh 2G
./scripts/build.sh build >/dev/null
mkdir -p build/bench
prefix=tswbench$$
trap 'rm -rf /var/run/dpdk/$prefix /dev/hugepages/${prefix}*' EXIT
bench() {
	build/app/tunsw-bench/tunsw-bench -l 0-1 --main-lcore 0 --no-pci --single-file-segments \
		-m 1536 --file-prefix "$prefix" --log-level='*:error' -- "$@" |
		grep -v '^VHOST_CONFIG\|^virtio_user'
}
bench --json build/bench/results.json "${args[@]}"
quick=0
for a in "${args[@]}"; do [ "$a" != --quick ] || quick=1; done
echo
echo "the daemon (app/tunsw) against testpmd io forwarding in its place: vhost-user in,"
echo "net_null out, the same generator; 64 K MACs, 64 tunnels, 64-byte frames"
if [ $quick -eq 1 ]; then
	/usr/bin/python3 scripts/bench-daemon.py --pairs 1 --seconds 2 --json build/bench/daemon.json
else
	# and with 1 000 idle guests' VM ports beside the busy one (#22)
	/usr/bin/python3 scripts/bench-daemon.py --pairs 5 --seconds 3 --idle-ports 1000 \
		--json build/bench/daemon.json
fi
/usr/bin/python3 - build/bench/results.json build/bench/daemon.json <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))
res["daemon"] = json.load(open(sys.argv[2]))
json.dump(res, open(sys.argv[1], "w"), indent=1)
# never report a zero: every path must have measured something
bad = ["%s (%s MACs)" % (r.get("path"), r.get("macs")) for r in res["results"]
       if not r.get("mpps") or not r.get("cycles_per_pkt")]
if not res["results"] or bad:
    sys.exit("bench: no figure for " + (", ".join(bad) or "any path"))
# nor a figure for freeing frames instead of sending them (a full ring now
# and then is the generator's pace; most frames refused is a harness fault)
bad = ["%s (%s MACs): %d frames refused by the output devices, %d sent" % (
           r["path"], r["macs"], r["tx_full"], r["sent"]) for r in res["results"]
       if r["tx_full"] > r["sent"]]
if bad:
    sys.exit("bench: " + "; ".join(bad))
PY
[ $ovs -eq 1 ] || exit 0
echo
echo "peer: Open vSwitch $(ovs-vsctl --version | head -1 | awk '{print $NF}') with DPDK, Neutron" \
	"br-int/br-tun, one PMD on the measured core, same generator and traffic;"
echo "tunsw measured again just before and just after each OVS run (the machine's speed drifts)"
: >build/bench/ovs.jsonl
# OVS-DPDK as a plain Neutron compute node at 64 K and 1 K MACs, then with
# Neutron's openvswitch firewall filtering vm1 (tunsw's security-group path
# beside it: the same rules, port security and 64 K UDP flows)
for run in 65536 1024 1024:firewall 65536:firewall; do
	macs=${run%%:*}
	mode=${run#"$macs"}
	mode=${mode#:}
	row="vm->tunnel vxlan"
	[ -z "$mode" ] || row="vm->tunnel vxlan, security groups"
	adjacent() {
		bench --only "$row\$" --macs "$macs" --tunnels 64 --bytes 64 \
			--no-components --json "build/bench/adjacent-$macs$mode-$1.json" >/dev/null
	}
	adjacent before
	# a part that produced no figure stops the benchmark, with its reason
	if ! ./scripts/bench-ovs.sh 8 5 "$macs" $mode >"build/bench/ovs-$macs$mode.out" \
			2>"build/bench/ovs-$macs$mode.log"; then
		echo "bench: the OVS-DPDK peer ($macs MACs $mode) produced no figure:" >&2
		tail -5 "build/bench/ovs-$macs$mode.log" >&2
		exit 1
	fi
	tail -1 "build/bench/ovs-$macs$mode.out" >>build/bench/ovs.jsonl
	adjacent after
done
/usr/bin/python3 - build/bench/results.json build/bench/ovs.jsonl <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))
peer = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
for p in peer:
    p["tunsw_adjacent"] = []
    for when in ("before", "after"):
        mode = "firewall" if "firewall" in p["path"] else ""
        adj = json.load(open("build/bench/adjacent-%d%s-%s.json" % (p["macs"], mode, when)))["results"]
        if adj:
            p["tunsw_adjacent"].append(adj[0])
res["peer"] = peer
json.dump(res, open(sys.argv[1], "w"), indent=1)
# never report a zero: the peer and tunsw beside it must have measured
bad = ["%s (%s MACs)" % (r.get("path"), r.get("macs")) for r in peer
       if not r.get("mpps") or not r.get("cycles_per_pkt")]
bad += ["tunsw before/after OVS (%d MACs)" % p["macs"] for p in peer
        if len(p["tunsw_adjacent"]) != 2]
if bad:
    sys.exit("bench: no figure for " + ", ".join(bad))
print("%-50s %6s %6s %8s %18s %14s" % ("path", "MACs", "Mpps", "cyc/pkt",
                                       "tunsw before/after", "tunsw/OVS"))
for p in peer:
    t = [a["cycles_per_pkt"] for a in p["tunsw_adjacent"]]
    q = ["%.3f" % (x / p["cycles_per_pkt"]) for x in t] if p["cycles_per_pkt"] else []
    print("%-50s %6d %6.2f %8.1f %18s %14s" % (
        p["path"], p["macs"], p["mpps"], p["cycles_per_pkt"],
        " / ".join("%.1f" % x for x in t) or "-", " / ".join(q) or "-"))
PY
