#!/usr/bin/env bash
# Reserve and mount 2 MiB hugepages (default 1 GiB) unless already there.
set -euo pipefail
SIZE=${1:-1G}
mkdir -p /dev/hugepages
if ! mount | grep -q "on /dev/hugepages type hugetlbfs"; then
	mount -t hugetlbfs nodev /dev/hugepages
fi
have=$(awk '/HugePages_Total/ {print $2}' /proc/meminfo)
if [ "${have:-0}" -lt 512 ]; then
	dpdk-hugepages.py --reserve "$SIZE"
fi
