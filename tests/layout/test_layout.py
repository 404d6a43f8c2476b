#!/usr/bin/python3
"""The layout of lib/ (#24): every module lives in the folder
doc/architecture.md's layout table names, includes only headers of its own
folder or of the folders the table says it may include, and no two modules
include each other, directly or through others (no cycle). The table is
read from the document itself, so document and tree cannot drift apart.

    test_layout.py            check; prints each violation; exit 1 on any
"""
import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIB = os.path.join(TOP, "lib")
DOC = os.path.join(TOP, "doc", "architecture.md")


def layout_table():
    """{folder: set of folders it may include} from the table under the
    "## Layout" heading of doc/architecture.md."""
    text = open(DOC).read()
    m = re.search(r"^## Layout\n(.*?)(?=^## )", text, re.S | re.M)
    if not m:
        raise SystemExit("doc/architecture.md has no '## Layout' section")
    may = {}
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`lib/"):
            continue
        folder = cells[0].strip("`").rstrip("/").split("/", 1)[1]
        deps = set(re.findall(r"`([a-z]+)`", cells[2]))
        may[folder] = deps
    if not may:
        raise SystemExit("doc/architecture.md: no layout rows (| `lib/FOLDER/` | ... | ... |)")
    return may


def modules():
    """{module: folder} and {module: set of modules it includes}."""
    where, inc = {}, {}
    for folder in sorted(os.listdir(LIB)):
        path = os.path.join(LIB, folder)
        if not os.path.isdir(path):
            continue
        for f in sorted(os.listdir(path)):
            if not f.endswith((".c", ".h")):
                continue
            mod = f[:-2]
            if where.get(mod, folder) != folder:
                raise SystemExit("%s is in two folders" % mod)
            where[mod] = folder
            with open(os.path.join(path, f)) as fh:
                for h in re.findall(r'^#include "(tsw_[a-z_]+)\.h"', fh.read(), re.M):
                    if h != mod:
                        inc.setdefault(mod, set()).add(h)
    return where, inc


def cycles(inc):
    """Module cycles, each as a list (first == last)."""
    found, state, stack = [], {}, []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for n in sorted(inc.get(m, ())):
            if state.get(n) == 1:
                found.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(inc):
        if m not in state:
            visit(m)
    return found


def check():
    may = layout_table()
    where, inc = modules()
    bad = []
    for folder in sorted(set(where.values()) - set(may)):
        bad.append("lib/%s/ is not in doc/architecture.md's layout table" % folder)
    for mod in sorted(inc):
        for h in sorted(inc[mod]):
            if h not in where:
                bad.append("%s (lib/%s/) includes %s.h, which is in no folder of lib/" %
                           (mod, where[mod], h))
                continue
            a, b = where[mod], where[h]
            if a != b and b not in may.get(a, set()):
                bad.append("%s (lib/%s/) includes %s.h (lib/%s/): %s may include only %s" %
                           (mod, a, h, b, a, ", ".join(sorted(may.get(a, ()))) or "itself"))
    for c in cycles(inc):
        bad.append("cycle: " + " -> ".join(c))
    return bad, where


def main():
    bad, where = check()
    for b in bad:
        print(b)
    print("%d modules in %d folders; %d violations" % (len(where), len(set(where.values())),
                                                      len(bad)))
    print("%d passed, %d failed" % (0 if bad else 1, 1 if bad else 0))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
