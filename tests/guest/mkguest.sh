#!/usr/bin/env bash
# Build the test guest from Debian packages only: a Debian cloud kernel
# (vmlinuz and its virtio-net modules, extracted with dpkg-deb) and an
# initramfs with busybox-static, iperf3 and the libraries it needs, whose
# /init brings eth0 up from the kernel command line and then serves a shell
# on the serial console (the tests' command channel; tests/guest/guest.py).
#
#   tests/guest/mkguest.sh OUTDIR      -> OUTDIR/vmlinuz OUTDIR/initrd.gz
#
# Kernel command line the guest understands:
#   tsw.ip=ADDR/LEN  tsw.gw=ADDR  tsw.mtu=N  (eth0), tsw.iperf=1 (iperf3 -s -D)
# Needs: busybox-static, iperf3, ethtool, cpio, and the kernel package (downloaded
# with apt-get download when it is not in OUTDIR already). Idempotent: a
# complete OUTDIR is left as it is.
set -euo pipefail
OUT=${1:?usage: mkguest.sh OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
[ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.gz" ] && exit 0

KPKG=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends:/ {print $2; exit}')
[ -n "$KPKG" ] || { echo "mkguest: no linux-image-cloud-amd64 in apt" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DEB=$(ls "$OUT"/"$KPKG"_*.deb 2>/dev/null | head -1 || true)
if [ -z "$DEB" ]; then
	(cd "$OUT" && apt-get download "$KPKG" >/dev/null 2>&1) ||
		{ echo "mkguest: apt-get download $KPKG failed" >&2; exit 1; }
	DEB=$(ls "$OUT"/"$KPKG"_*.deb | head -1)
fi
dpkg-deb -x "$DEB" "$WORK/k"
KVER=${KPKG#linux-image-}
cp "$WORK/k/boot/vmlinuz-$KVER" "$OUT/vmlinuz.tmp"

R="$WORK/root"
mkdir -p "$R"/{bin,sbin,etc,proc,sys,dev,tmp,lib/modules,lib64,lib/x86_64-linux-gnu,usr/bin}
cp /bin/busybox "$R/bin/busybox"
for app in sh ash mount umount insmod ip ifconfig route ping cat echo sleep ls ps kill \
	   seq dd wc grep sed awk tr head tail mkdir uname hostname poweroff sync \
	   md5sum nc; do
	ln -sf busybox "$R/bin/$app"
done
# virtio-net and what it needs, in dependency order
KMOD="$WORK/k/lib/modules/$KVER/kernel"
for m in drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko \
	 drivers/virtio/virtio_pci_modern_dev.ko drivers/virtio/virtio_pci_legacy_dev.ko \
	 drivers/virtio/virtio_pci.ko net/core/failover.ko drivers/net/net_failover.ko \
	 drivers/net/virtio_net.ko; do
	[ -f "$KMOD/$m" ] && cp "$KMOD/$m" "$R/lib/modules/"
	[ -f "$KMOD/$m" ] && basename "$m" >> "$R/lib/modules/order"
done
# iperf3 and ethtool (queue pairs: ethtool -L), with their libraries
for bin in iperf3 ethtool; do
	cp "$(command -v $bin)" "$R/usr/bin/$bin"
	for lib in $(ldd "$(command -v $bin)" | awk '/=>/ {print $3} /ld-linux/ {print $1}'); do
		mkdir -p "$R$(dirname "$lib")"
		cp -L "$lib" "$R$lib"
	done
done
cat > "$R/init" <<'EOF'
#!/bin/sh
export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# in dependency order; a second pass for anything that still waited
for pass in 1 2; do
	for m in $(cat /lib/modules/order); do insmod /lib/modules/$m 2>/dev/null; done
done
arg() { for a in $(cat /proc/cmdline); do case $a in $1=*) echo "${a#*=}";; esac; done; }
ip link set lo up
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -n "$(arg tsw.mtu)" ] && ip link set eth0 mtu "$(arg tsw.mtu)"
ip link set eth0 up
[ -n "$(arg tsw.ip)" ] && ip addr add "$(arg tsw.ip)" dev eth0
[ -n "$(arg tsw.gw)" ] && ip route add default via "$(arg tsw.gw)"
[ "$(arg tsw.iperf)" = 1 ] && iperf3 -s -D >/dev/null 2>&1
echo "tsw-guest ready $(cat /sys/class/net/eth0/address)"
exec setsid sh -c 'exec sh </dev/ttyS0 >/dev/ttyS0 2>&1'
EOF
chmod +x "$R/init"
(cd "$R" && find . | cpio --quiet -o -H newc | gzip -1) > "$OUT/initrd.gz.tmp"
mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
mv "$OUT/initrd.gz.tmp" "$OUT/initrd.gz"
