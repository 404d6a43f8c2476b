#!/usr/bin/env bash
# Fuzz tunsw with libFuzzer (clang, ASan, UBSan): the uplink and VM frame
# paths (linear and chained mbufs), a physical network's device, a guest's offloads, control
# requests and l2population payloads, the config parser, capture files.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     default: 600 s each, every target
#
# Targets: uplink vm control config offload pcap portsec phys. The corpus of each target grows in
# build-fuzz/corpus/TARGET (seeded from tests/fuzz/corpus/TARGET); findings
# are written beside it as build-fuzz/corpus/findings-*. One line per
# target: executions, rate, coverage, corpus size. Needs root for nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-600}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(uplink vm control config offload pcap portsec phys)
./scripts/install-deps.sh >/dev/null
if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false -Dbuildtype=debug -Db_lto=false \
		-Doptimization=1 >/dev/null
fi
ninja -C build-fuzz >/dev/null
rc=0
for t in "${TARGETS[@]}"; do
	mkdir -p "build-fuzz/corpus/$t"
	/usr/bin/python3 tests/fuzz/run_fuzz.py "build-fuzz/tests/fuzz/fuzz_$t" \
		"tests/fuzz/corpus/$t" "$SECS" "build-fuzz/corpus/$t" | grep -v "passed, " || rc=1
done
exit $rc
