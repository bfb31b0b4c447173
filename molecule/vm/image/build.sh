#!/usr/bin/env bash
# Builds the base root file system of the Molecule "vm" scenario's computes:
# Debian bookworm for User-Mode Linux guests (the kernel is the machine's
# linux.uml of Debian's user-mode-linux package, see ../vm.sh), with libvirt + QEMU, sshd, SELinux
# (policy "default", enforcing) and the nova user and nova.conf the compute
# roles expect. Nothing but Debian packages is downloaded.
#
#   build.sh CACHE_DIR KERNEL_DIR    prints the directory holding the image
#
# KERNEL_DIR is the guests' kernel (../vm.sh kernel): its modules/ are
# copied into the image. The image is cached under CACHE_DIR/base-<key>,
# where <key> is a hash of this script, of overlay/ (the recipe) and of the
# kernel's name: a changed recipe or kernel builds a new image, an unchanged
# one is reused. A missing cache is simply rebuilt.
# Older images are removed once the new one is complete.
#
# The result is an ext4 file system image (disk.raw, no partition table: UML
# attaches it as /dev/ubda), labelled for SELinux at build time with setfiles,
# so no guest ever relabels at boot. Guests never write to it: each boots
# from its own copy-on-write file over it (ubd0=COW,disk.raw).
set -euo pipefail

image_dir_of_recipe() {
    local recipe_dir=$1 cache_dir=$2 kernel_dir=$3 key
    key=$(cd "$recipe_dir" && { sha256sum build.sh; find overlay -type f -print0 | sort -z \
        | xargs -0 sha256sum; find overlay -printf '%p %m\n' | sort; basename "$kernel_dir"; } \
        | sha256sum | cut -c1-16)
    printf '%s/base-%s\n' "$cache_dir" "$key"
}

main() {
    local cache_dir=${1:?usage: build.sh CACHE_DIR KERNEL_DIR}
    local kernel_dir=${2:?usage: build.sh CACHE_DIR KERNEL_DIR}
    local recipe_dir image_dir work_dir
    recipe_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    [[ -d $kernel_dir/modules ]] || { echo "$kernel_dir has no modules/: not a kernel of vm.sh kernel" >&2; return 1; }
    mkdir -p "$cache_dir"
    image_dir=$(image_dir_of_recipe "$recipe_dir" "$cache_dir" "$kernel_dir")
    if [[ -e $image_dir/complete ]]; then
        printf '%s\n' "$image_dir"
        return 0
    fi

    # One build at a time per cache; a build killed half-way leaves only a
    # work directory, which the next build removes.
    exec 9>"$cache_dir/.lock"
    flock 9
    if [[ -e $image_dir/complete ]]; then
        printf '%s\n' "$image_dir"
        return 0
    fi
    echo "novaops-vm: building the base image in $cache_dir (recipe changed or no cache)" >&2
    local stale
    for stale in "$cache_dir"/work.*; do
        [[ -e $stale ]] && remove_tree "$stale"
    done
    work_dir=$(mktemp -d "$cache_dir/work.XXXXXX")
    build_rootfs "$recipe_dir" "$cache_dir" "$kernel_dir" "$work_dir/rootfs" >&2
    make_disk "$work_dir" >&2
    remove_tree "$work_dir/rootfs"
    touch "$work_dir/complete"
    rm -rf "$image_dir"
    mv "$work_dir" "$image_dir"
    # Images of older recipes are of no further use.
    find "$cache_dir" -maxdepth 1 -name 'base-*' ! -path "$image_dir" -exec rm -rf {} +
    printf '%s\n' "$image_dir"
}

# Removes a build tree that a killed build may have left with file systems
# mounted in it (mmdebstrap mounts /proc, /sys, /dev in the chroot): unmount
# them first, and never let rm cross into another file system.
remove_tree() {
    local tree mounts
    tree=$(realpath "$1")
    mounts=$(findmnt -rn -o TARGET | awk -v tree="$tree/" 'index($0, tree) == 1' | sort -r)
    if [[ -n $mounts ]]; then
        xargs -r -d '\n' umount -l <<<"$mounts"
    fi
    rm -rf --one-file-system "$tree"
}

build_rootfs() {
    local recipe_dir=$1 cache_dir=$2 kernel_dir=$3 rootfs=$4
    local debs=$cache_dir/debs
    mkdir -p "$debs"
    # mmdebstrap installs no recommends. The .debs are kept between builds
    # (sync-in before, sync-out after) so a changed recipe downloads little.
    # No kernel or initramfs: UML boots the machine's linux.uml directly.
    # qemu-system-x86: libvirt's qemu driver probes it, as on a real compute
    # (no nested guest is started). python3-selinux/-semanage and
    # policycoreutils-python-utils are what Ansible's SELinux facts and
    # modules import in the guests, which have no network to install them.
    mmdebstrap \
        --variant=minbase \
        --hook-dir=/usr/share/mmdebstrap/hooks/eatmydata \
        --include="systemd,systemd-sysv,dbus,libpam-systemd,udev,kmod,iproute2,procps,\
openssh-server,python3,python3-apt,sudo,less,\
libvirt-daemon-system,libvirt-clients,qemu-system-x86,sasl2-bin,libsasl2-modules,\
selinux-policy-default,selinux-basics,selinux-utils,policycoreutils,auditd,\
python3-selinux,python3-semanage,policycoreutils-python-utils" \
        --setup-hook='mkdir -p "$1"/var/cache/apt/archives' \
        --setup-hook="sync-in '$debs' /var/cache/apt/archives" \
        --customize-hook="sync-out /var/cache/apt/archives '$debs'" \
        --customize-hook="copy-in '$recipe_dir/overlay/.' /" \
        --customize-hook="$recipe_dir/build.sh customize \"\$1\" '$kernel_dir'" \
        --skip=download/empty \
        bookworm "$rootfs" \
        "deb http://deb.debian.org/debian bookworm main" \
        "deb http://deb.debian.org/debian bookworm-updates main" \
        "deb http://deb.debian.org/debian-security bookworm-security main"
    rm -f "$debs"/lock
    rm -rf "$debs"/partial
    # Labels every file for SELinux with the image's own policy. The machine
    # has no SELinux: the labels are plain security.selinux xattrs, which
    # mke2fs -d copies into the image. -r: the tree is not /.
    setfiles -r "$rootfs" -F "$rootfs/etc/selinux/default/contexts/files/file_contexts" "$rootfs"
}

# Runs inside mmdebstrap's customize hook: $1 is the root file system.
customize() {
    local rootfs=$1 kernel_dir=$2 uml_modules
    # The nova user as nova-common makes it (system user, home
    # /var/lib/nova, no login shell), in group libvirt like nova-compute's.
    chroot "$rootfs" adduser --system --group --home /var/lib/nova \
        --shell /usr/sbin/nologin --gecos 'OpenStack Compute' nova >/dev/null
    chroot "$rootfs" adduser nova libvirt >/dev/null
    mkdir -p "$rootfs/etc/nova"
    chroot "$rootfs" chown -R root:nova /etc/nova
    chmod 0750 "$rootfs/etc/nova"
    chmod 0640 "$rootfs/etc/nova/nova.conf"

    # The guest kernel's modules (libvirt loads some), where kmod looks.
    uml_modules=$(find "$kernel_dir/modules" -mindepth 1 -maxdepth 1 -type d | sort -V | tail -n 1)
    [[ -n $uml_modules ]] || { echo "no $kernel_dir/modules/<version>" >&2; return 1; }
    mkdir -p "$rootfs/lib/modules"
    cp -a "$uml_modules" "$rootfs/lib/modules/"
    chroot "$rootfs" depmod -a "$(basename "$uml_modules")"

    # Every guest gets its own host keys from its seed disk at first boot.
    rm -f "$rootfs"/etc/ssh/ssh_host_*
    chmod 0755 "$rootfs/usr/local/sbin/novaops-seed"
    chroot "$rootfs" systemctl enable novaops-seed.service nova-compute.service \
        systemd-networkd.service >/dev/null 2>&1
    # Static addresses only: nothing to wait for at boot.
    chroot "$rootfs" systemctl mask systemd-networkd-wait-online.service >/dev/null 2>&1
    # No console to log in on (UML's consoles are null), no first-boot
    # questions to ask on one, no fsck or scrub on a throwaway disk.
    chroot "$rootfs" systemctl mask getty.target console-getty.service systemd-firstboot.service \
        e2scrub_reap.service e2scrub_all.timer >/dev/null 2>&1
    # Nothing in the guests needs libvirt's NAT network (no guests run).
    rm -f "$rootfs/etc/libvirt/qemu/networks/autostart/default.xml"
    # A shutdown or reboot must not wait for guests that are not there.
    sed -i 's/^#\?SHUTDOWN_TIMEOUT=.*/SHUTDOWN_TIMEOUT=5/' "$rootfs/etc/default/libvirt-guests"

    # SELinux enforcing from the first boot, by configuration (not
    # enforcing=1 on the kernel command line, which would hide whether a mode
    # set by the roles persists).
    printf 'SELINUX=enforcing\nSELINUXTYPE=default\n' >"$rootfs/etc/selinux/config"
    printf '/dev/ubda / ext4 defaults,errors=remount-ro 0 0\n' >"$rootfs/etc/fstab"
    printf 'localhost\n' >"$rootfs/etc/hostname"
    # Each guest makes its own machine id at first boot.
    printf 'uninitialized\n' >"$rootfs/etc/machine-id"
    rm -f "$rootfs/var/lib/dbus/machine-id"
    rm -f "$rootfs"/var/cache/apt/archives/*.deb
}

make_disk() {
    local work_dir=$1 rootfs=$1/rootfs
    # 3 GiB, sparse: the base holds ~1 GiB; each guest's copy-on-write file
    # takes what it writes.
    mke2fs -q -F -t ext4 -L novaops-root -d "$rootfs" "$work_dir/disk.raw" 3G
    chmod 0755 "$work_dir"
    # Prove the labels made it into the image before anyone boots it.
    if ! debugfs -R 'ea_get /usr/sbin/libvirtd security.selinux' "$work_dir/disk.raw" 2>/dev/null \
            | grep -q 'virtd_exec_t'; then
        echo "the disk image lost the SELinux labels (security.selinux xattrs)" >&2
        return 1
    fi
    # Guests only read it; their copy-on-write files record its mtime.
    chmod 0444 "$work_dir/disk.raw"
}

if [[ ${1:-} == customize ]]; then
    customize "$2" "$3"
else
    main "$@"
fi
