#!/bin/bash
# mmdebstrap customize hook: make a rootfs boot cleanly as an nspawn lab host.
# $1 = rootfs. Runs on the machine, not in the chroot.
set -euo pipefail
root=$1
# Host keys are made per host at lab-up; a shared rootfs must not carry one set for all.
rm -f "$root"/etc/ssh/ssh_host_*
# Per-host machine-id is written at lab-up.
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
chroot "$root" systemctl enable systemd-networkd.service >/dev/null 2>&1 || true
# Units that make no sense in a container or wait on hardware.
for unit in systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer \
            e2scrub_all.timer e2scrub_reap.service fstrim.timer \
            getty@tty1.service serial-getty@ttyS0.service systemd-resolved.service \
            man-db.timer; do
  chroot "$root" systemctl mask "$unit" >/dev/null 2>&1 || true
done
# No password logins: root and everyone else get in by key only.
sed -i 's/^#\?PasswordAuthentication.*/PasswordAuthentication no/' "$root/etc/ssh/sshd_config"
echo 'UseDNS no' >> "$root/etc/ssh/sshd_config"
# A quiet, fast journal.
mkdir -p "$root/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=persistent\nSystemMaxUse=64M\n' > "$root/etc/systemd/journald.conf.d/lab.conf"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*_Packages
