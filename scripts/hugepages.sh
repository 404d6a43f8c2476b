#!/usr/bin/env bash
# Reserve and mount 2 MiB hugepages (default 1 GiB) unless that many are
# there already (never fewer than there are).
set -euo pipefail
SIZE=${1:-1G}
mkdir -p /dev/hugepages
if ! mount | grep -q "on /dev/hugepages type hugetlbfs"; then
	mount -t hugetlbfs nodev /dev/hugepages
fi
have=$(awk '/HugePages_Total/ {print $2}' /proc/meminfo)
want=$(/usr/bin/python3 -c "import sys; s = sys.argv[1].upper(); m = {'G': 1024, 'M': 1}[s[-1]]; print(int(s[:-1]) * m // 2)" "$SIZE")
if [ "${have:-0}" -lt "$want" ]; then
	dpdk-hugepages.py --reserve "$SIZE"
fi
