"""CI smoke run of the benchmark: every path runs and reports; no timing is
asserted (timings belong to scripts/bench.sh on a quiet machine)."""
import json
import os
import subprocess
import sys
import tempfile

BENCH = os.environ["TSW_BENCH"]
PATHS = {"vm->vlan provider (tag)", "vlan provider->vm (untag+learn)",
         "vm->tunnel vxlan", "vm->tunnel gre", "tunnel->vm vxlan (decap+learn)", "vm->vm local",
         "vm broadcast -> 8 tunnels", "arp responder", "vm->tunnel vxlan, one VM source",
         "vm->tunnel vxlan, port security", "vm->tunnel vxlan, security groups",
         "vm->tunnel vxlan, stateless group", "tunnel->vm vxlan, security groups",
         "vm->tunnel vxlan, security groups, 1 K conns",
         "vm->tunnel vxlan, security groups, 1 M conns",
         "vm->tunnel vxlan, security groups, 20 rules, 100 K conns",
         "tunnel->vm vxlan, security groups, 20 rules, 100 K conns",
         "vm->tunnel vxlan, security groups, new conns"}

with tempfile.TemporaryDirectory() as d:
    out = os.path.join(d, "bench.json")
    r = subprocess.run([BENCH, "-l", "0-1", "--no-huge", "--no-shconf", "-m", "1024", "--no-pci",
                        "--file-prefix", "tswsmoke%d" % os.getpid(), "--log-level=*:error", "--",
                        "--quick", "--harness", "ring", "--json", out],
                       capture_output=True, text=True, timeout=300)
    print(r.stdout)
    if r.returncode != 0:
        print(r.stderr)
        sys.exit(1)
    doc = json.load(open(out))
    res = doc["results"]
    seen = {x["path"] for x in res}
    failed = 0
    if seen != PATHS:
        print("FAIL paths: missing %s, unexpected %s" % (sorted(PATHS - seen),
                                                         sorted(seen - PATHS)))
        failed += 1
    for x in res:
        b = x["baseline"]
        # the worker's output reaches its devices: a path whose frames are
        # refused (tx_full) measures freeing instead of sending (a full
        # ring now and then is the generator's pace, more with the flood's
        # eight copies a frame on a busy machine)
        # a connection table that refuses connections measures refusals
        if x.get("ct_full"):
            print("FAIL %s: %d frames refused by a full connection table" %
                  (x["path"], x["ct_full"]))
            failed += 1
        if not x["frames"] or x["tx_full"] > x["sent"]:
            print("FAIL %s: most output refused: %d tx_full, %d sent, of %d frames" %
                  (x["path"], x["tx_full"], x["sent"], x["frames"]))
            failed += 1
        if x["port_security_drops"] != 0:
            print("FAIL %s: the policy drops the VM's own frames: %r" % (x["path"], x))
            failed += 1
        if "group" in x["path"] and x["drops"] > x["tx_full"]:
            print("FAIL %s: the security groups drop what their rules allow: %r" % (x["path"], x))
            failed += 1
        if not (x["mpps"] > 0 and x["cycles_per_pkt"] > 0 and b["mpps"] > 0 and
                b["cycles_per_pkt"] > 0 and x["ratio_to_io"] > 0 and len(x["pairs"]) >= 1):
            print("FAIL %s: nothing measured: %r" % (x["path"], x))
            failed += 1
    comps = doc.get("components", [])
    if len(comps) != 3 or not all(c["fdb_lookup"] > 0 and c["encap"] > 0 and c["flow_hash"] > 0
                                  and c["port_security"] > 0 and c["sg_new_connection"] > 0
                                  and c["sg_established"] > 0
                                  and c["sg_established_1k_cached"] > 0
                                  and c["sg_established_1k_cached_best"] > 0 for c in comps):
        print("FAIL components: %r" % comps)
        failed += 1
    mem = doc.get("memory_load_cycles", {})
    if sorted(mem) != ["packed_4mb", "spread_128mb"] or not all(v > 0 for v in mem.values()):
        print("FAIL memory: %r" % mem)
        failed += 1
    rb = doc.get("ruleset_build_ms", {})
    if sorted(rb) != ["10", "100", "1000"] or not all(v > 0 for v in rb.values()):
        print("FAIL rule set builds: %r" % rb)
        failed += 1
    print("%d passed, %d failed" % (0 if failed else 1, failed))
    sys.exit(1 if failed else 0)
