#!/usr/bin/env bash
# The benchmark, one command: install what is needed, build, reserve
# hugepages, run tunsw-bench on this machine (2 cores: a generator and the
# measured worker) and print the table; the JSON goes to
# build/bench/results.json. Takes 3-5 minutes. Needs root (hugepages).
#
#   scripts/bench.sh [--quick] [--harness vhost|ring] [--only TEXT]
#
# Nothing else may busy-poll these cores while it runs.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/hugepages.sh 1G
./scripts/build.sh build >/dev/null
mkdir -p build/bench
prefix=tswbench$$
trap 'rm -rf /var/run/dpdk/$prefix /dev/hugepages/${prefix}*' EXIT
exec build/app/tunsw-bench/tunsw-bench -l 0-1 --main-lcore 0 --no-pci --single-file-segments \
	-m 768 --file-prefix "$prefix" --log-level='*:error' -- \
	--json build/bench/results.json "$@"
