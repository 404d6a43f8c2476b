#!/usr/bin/env python3
"""Sum test cases over meson testlog.json files: each runner's own closing
line ("N passed, M failed" or CUnit's "tests T R P F"); a test whose output
has neither counts as one case by its result. Prints "P F S" (S: cases
skipped because the machine cannot run them, each said in its output)."""
import json
import re
import sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            out = t.get("stdout") or ""
            ok = t["result"] == "OK"
            m = re.findall(r"^(\d+) passed, (\d+) failed$", out, re.M)
            c = re.search(r"^\s+tests\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", out, re.M)
            if m:
                p, f_ = int(m[-1][0]), int(m[-1][1])
            elif c:
                p, f_ = int(c.group(3)), int(c.group(4))
            else:
                p, f_ = (1, 0) if ok else (0, 1)
            if not ok and f_ == 0:
                f_ = 1          # crashed or timed out after its last case
            passed += p
            failed += f_
            skipped += sum(int(x) for x in re.findall(r"^(\d+) skipped$", out, re.M))
            for line in re.findall(r"^SKIP .*$", out, re.M):
                print("%s: %s" % (t["name"], line), file=sys.stderr)
print(passed, failed, skipped)
