#!/usr/bin/env bash
# Install the Python package networking-tunsw (tunsw-agent and the ML2
# mechanism driver "tunsw") for Debian's /usr/bin/python3, with the entry
# points neutron-server and oslo.config look up, and the tunsw-agent command.
#
#   install-networking-tunsw.sh [SITE_DIR [BIN_DIR]]
#
# Default: /usr/local/lib/python3.X/dist-packages and /usr/local/bin (on
# Debian's sys.path; nothing under /usr is touched). Tests install into a
# private SITE_DIR and put it on PYTHONPATH. No registry: the package is
# copied from this repository; its dependencies are Debian's python3-neutron.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../app/networking-tunsw" && pwd)
PY=/usr/bin/python3
SITE=${1:-$($PY -c 'import sys; print("/usr/local/lib/python3.%d/dist-packages" % sys.version_info.minor)')}
BIN=${2:-/usr/local/bin}
VERSION=$($PY -c "import ast,sys; t=open('$SRC/networking_tunsw/__init__.py').read(); print([n.value.value for n in ast.parse(t).body if isinstance(n, ast.Assign) and n.targets[0].id == '__version__'][0])")
DIST="$SITE/networking_tunsw-$VERSION.dist-info"

mkdir -p "$SITE" "$BIN"
rm -rf "$SITE/networking_tunsw" "$SITE"/networking_tunsw-*.dist-info
cp -r "$SRC/networking_tunsw" "$SITE/networking_tunsw"
find "$SITE/networking_tunsw" -name __pycache__ -prune -exec rm -rf {} +
mkdir -p "$DIST"
cat > "$DIST/METADATA" <<META
Metadata-Version: 2.1
Name: networking-tunsw
Version: $VERSION
Summary: OpenStack Neutron agent and ML2 mechanism driver for the tunsw dataplane
License: BSD-3-Clause
META
cp "$SRC/entry_points.txt" "$DIST/entry_points.txt"
echo "tunsw install-networking-tunsw.sh" > "$DIST/INSTALLER"
(cd "$SITE" && find networking_tunsw "$(basename "$DIST")" -type f | sed 's/$/,,/') > "$DIST/RECORD"
cat > "$BIN/tunsw-agent" <<LAUNCH
#!$PY
import sys
sys.path.insert(0, "$SITE")
from networking_tunsw.cmd import main
main()
LAUNCH
chmod 755 "$BIN/tunsw-agent"
$PY -c "
import sys; sys.path.insert(0, '$SITE')
from importlib.metadata import entry_points
for group in ('neutron.ml2.mechanism_drivers', 'neutron.agent.firewall_drivers'):
    eps = [e for e in entry_points(group=group) if e.name == 'tunsw']
    assert eps and eps[0].value.startswith('networking_tunsw'), group + ': not found'
" || { echo "install-networking-tunsw: the entry points are not visible from $SITE" >&2; exit 1; }
echo "networking-tunsw $VERSION installed in $SITE (tunsw-agent in $BIN)"
