#!/usr/bin/env bash
# README command (b) and CI: install what the tests need, build tunsw
# twice (release, and ASan+UBSan), run the whole suite. Needs root (network
# namespaces, hugepages for the virtio-user peer). Prints one closing line
# "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh || exit 1
./scripts/hugepages.sh 1G || exit 1
./scripts/build.sh build || exit 1
./scripts/build.sh build-asan -Dsanitize=true -Dbuildtype=debug -Db_lto=false || exit 1
# libFuzzer targets (clang): a few seconds each from the seed corpus
CC=clang ./scripts/build.sh build-fuzz -Dfuzz=true -Dtests=false -Dbuildtype=debug -Db_lto=false \
	-Doptimization=1 || exit 1

run_suite() {   # DIR, meson test args...
	local dir=$1
	shift
	meson test -C "$dir" --print-errorlogs "$@"
	cp "$dir/meson-logs/testlog.json" "$results/$(basename "$dir").json"
}
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
run_suite build
# Unit and replay tests again under AddressSanitizer and UBSan.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	run_suite build-asan --suite unit --suite replay
run_suite build-fuzz --suite fuzz
read -r passed failed skipped < <(/usr/bin/python3 scripts/count-results.py "$results"/*.json)
[ "$skipped" -eq 0 ] || echo "$skipped skipped (this machine cannot run them; reasons above)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
