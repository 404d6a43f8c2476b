#!/usr/bin/env bash
# Configure (once) and build tunsw in DIR (default build/); extra
# arguments go to meson setup, e.g. -Dsanitize=true.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-build}
shift || true
if [ ! -f "$DIR/build.ninja" ]; then
	meson setup "$DIR" "$@" >/dev/null
fi
ninja -C "$DIR"
