#!/usr/bin/python3
"""Run one libFuzzer target for a while from its seed corpus (copied: the
repository's seeds are never written) and report what it did.

    run_fuzz.py TARGET SEED_DIR SECONDS [CORPUS_DIR]

Prints the executions, their rate, the coverage (libFuzzer's cov: edges
and ft: features), the corpus size, and any finding (the reproducer is kept
beside the corpus); closes with "1 passed, 0 failed" or "0 passed, 1
failed". With CORPUS_DIR the corpus persists there (scripts/fuzz.sh)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile


def main():
    exe, seeds, secs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    keep = sys.argv[4] if len(sys.argv) > 4 else None
    name = os.path.basename(exe)
    work = keep or tempfile.mkdtemp(prefix="tswfuzz")
    corpus = os.path.join(work, "corpus") if not keep else keep
    os.makedirs(corpus, exist_ok=True)
    for f in os.listdir(seeds):
        shutil.copy(os.path.join(seeds, f), os.path.join(corpus, "seed-" + f))
    art = os.path.join(work if not keep else os.path.dirname(keep.rstrip("/")), "findings-")
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    # fuzz_control: inputs of up to 512 bytes (about five requests) reach the
    # same coverage as 2 KB ones at several times the rate (doc/fuzzing.md);
    # -timeout counts wall time: 60 s, so that a run starved by other work
    # is not reported as a hang
    max_len = 512 if name == "fuzz_control" else 2048
    r = subprocess.run([exe, "-max_total_time=%d" % secs, "-print_final_stats=1",
                        "-max_len=%d" % max_len, "-timeout=60", "-rss_limit_mb=4096",
                        "-artifact_prefix=" + art, corpus],
                       capture_output=True, text=True, env=env)
    out = r.stderr
    execs = re.search(r"stat::number_of_executed_units:\s+(\d+)", out)
    rate = re.search(r"stat::average_exec_per_sec:\s+(\d+)", out)
    cov = re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+)", out)
    crash = re.findall(r"Test unit written to (\S+)", out)
    print("%s: %s executions, %s/s, coverage %s edges, %s features, corpus %s" % (
        name, execs.group(1) if execs else "?", rate.group(1) if rate else "?",
        cov[-1][0] if cov else "?", cov[-1][1] if cov else "?", cov[-1][2] if cov else "?"))
    if r.returncode != 0 or crash:
        print(out[-6000:])
        print("finding: %s" % (crash or "exit %d" % r.returncode))
        print("0 passed, 1 failed")
        sys.exit(1)
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
