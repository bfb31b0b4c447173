#!/bin/bash
# Build the lab's guest image from Debian packages only: Debian's kernel, a
# busybox-static initramfs running ./init, syslinux on a FAT filesystem, as a
# whole-disk qcow2 of about 10 MB. Usage: build-guest.sh OUTPUT.qcow2
set -euo pipefail
out=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

apt-get download -o Debug::NoLocking=1 linux-image-amd64 >/dev/null 2>&1
kernel_pkg=$(dpkg-deb -f linux-image-amd64_*.deb Depends | sed -n 's/^\(linux-image-[^ ]*\).*/\1/p')
apt-get download "$kernel_pkg" >/dev/null 2>&1
dpkg-deb -x "$kernel_pkg"_*.deb kernel
kver=$(ls kernel/lib/modules)

mkdir -p initramfs/{bin,dev,proc,sys,etc,lib/modules}
cp /bin/busybox initramfs/bin/busybox
cp "$here/init" initramfs/init
chmod 0755 initramfs/init
# Load order matters: cores before the drivers that use them.
: > initramfs/etc/modules.order
for module in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
              virtio_blk failover net_failover virtio_net; do
  path=$(find "kernel/lib/modules/$kver" -name "$module.ko" | head -n1)
  [ -n "$path" ] || { echo "module $module not in $kernel_pkg" >&2; exit 1; }
  cp "$path" initramfs/lib/modules/
  echo "$module" >> initramfs/etc/modules.order
done
# The power button (ACPI button driver, reported through evdev): built in on some kernels.
for module in evdev button; do
  path=$(find "kernel/lib/modules/$kver" -name "$module.ko*" | head -n1)
  [ -n "$path" ] || continue
  case $path in
    *.ko.xz) xz -dc "$path" > "initramfs/lib/modules/$module.ko" ;;
    *.ko.zst) zstd -qdc "$path" > "initramfs/lib/modules/$module.ko" ;;
    *) cp "$path" initramfs/lib/modules/ ;;
  esac
  echo "$module" >> initramfs/etc/modules.order
done
(cd initramfs && find . | cpio -o -H newc --quiet | gzip -9) > initrd.gz

cat > syslinux.cfg <<'CFG'
DEFAULT guest
PROMPT 0
TIMEOUT 0
LABEL guest
  KERNEL vmlinuz
  INITRD initrd.gz
  APPEND console=tty0 console=ttyS0,115200 loglevel=3 panic=5
CFG
# 16 MiB FAT filesystem at the start of a 24 MiB disk; the guest keeps its
# record past the filesystem's end.
mkfs.vfat -n NOVAOPS -C boot.img 16384 >/dev/null
syslinux --install boot.img
mcopy -i boot.img "kernel/boot/vmlinuz-$kver" ::vmlinuz
mcopy -i boot.img initrd.gz ::initrd.gz
mcopy -i boot.img syslinux.cfg ::syslinux.cfg
truncate -s 24M boot.img
qemu-img convert -O qcow2 -c boot.img guest.qcow2
mkdir -p "$(dirname "$out")"
mv guest.qcow2 "$out"
