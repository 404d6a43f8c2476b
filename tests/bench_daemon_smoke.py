"""CI smoke run of scripts/bench-daemon.py: testpmd's io forwarding and the
daemon each forward the generator's traffic and report their cycles; no
timing is asserted (scripts/bench.sh measures)."""
import json
import os
import subprocess
import sys
import tempfile

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts",
                      "bench-daemon.py")

with tempfile.TemporaryDirectory() as d:
    out = os.path.join(d, "daemon.json")
    r = subprocess.run(["/usr/bin/python3", SCRIPT, "--pairs", "1", "--seconds", "2",
                        "--macs", "4096", "--json", out], capture_output=True, text=True,
                       timeout=240)
    print(r.stdout)
    if r.returncode != 0:
        print(r.stderr)
        sys.exit(1)
    res = json.load(open(out))
    p = res["pairs"][0]
    failed = []
    fed = p["tunsw"]["busy_pct"] >= res["fed_fully_pct"]
    if res["fed_fully_pairs"] != (1 if fed else 0) or \
            res["fed_fully_ratio_to_io"] != (p["ratio"] if fed else None):
        failed.append("the fed-fully summary does not match the pair: %r" %
                      {k: res[k] for k in ("fed_fully_pct", "fed_fully_pairs",
                                           "fed_fully_ratio_to_io")})
    if not (p["testpmd_io"]["cycles_per_pkt"] > 0 and p["testpmd_io"]["mpps"] > 0):
        failed.append("testpmd reported nothing: %r" % p["testpmd_io"])
    # an estimate (cycles over the whole run, the rate of its last seconds):
    # present, and a share of one core give or take the warm-up's rounds
    if not 0 < p["testpmd_io"].get("busy_pct", 0) <= 125:
        failed.append("testpmd's busy share is not a core's: %r" % p["testpmd_io"])
    if not (p["tunsw"]["cycles_per_pkt"] > 0 and p["tunsw"]["mpps"] > 0):
        failed.append("tunsw forwarded nothing: %r" % p["tunsw"])
    if p["tunsw"]["drops"] != 0:
        failed.append("tunsw dropped %d frames" % p["tunsw"]["drops"])
    for f in failed:
        print("FAIL " + f)
    print("%d passed, %d failed" % (0 if failed else 1, len(failed)))
    sys.exit(1 if failed else 0)
