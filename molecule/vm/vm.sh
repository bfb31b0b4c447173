#!/usr/bin/env bash
# Starts and stops the QEMU virtual machines of the Molecule "vm" scenario.
#
#   vm.sh start NAME ADDRESS IMAGE_DIR HOSTS_FILE
#       Boots VM NAME with the management address ADDRESS (10.98.0.x) on
#       the bridge novavm0, from a copy-on-write overlay of the base image
#       in IMAGE_DIR (made by image/build.sh). HOSTS_FILE becomes the VM's
#       /etc/hosts. Its host keys, made here, are pinned in
#       RUNTIME_DIR/ssh/known_hosts for the controller's ssh.
#   vm.sh stop
#       Stops every VM (SIGTERM, then SIGKILL after a timeout), removes the
#       taps, the bridge, the runtime directory and what a killed image build
#       left mounted. Safe to run at any time, also after a killed run.
#   vm.sh accel KERNEL
#       Prints the QEMU accelerator to use (kvm or tcg): kvm only when KERNEL
#       really boots under it.
#   vm.sh host-deps
#       Installs the Debian packages that build and run the VMs, only those
#       missing.
#
# Environment: NOVAOPS_VM_RUNTIME_DIR (default /var/lib/novaops-vm),
# NOVAOPS_VM_CACHE_DIR (default /var/cache/novaops-vm, see image/build.sh),
# NOVAOPS_VM_ACCEL (kvm or tcg: skip the detection), NOVAOPS_VM_MEMORY
# (MiB, default 1024), NOVAOPS_VM_CPUS (default 1), NOVAOPS_VM_NICE (niceness
# of QEMU, default 10: leave CPU to whatever else runs on the machine).
set -euo pipefail

RUNTIME_DIR=${NOVAOPS_VM_RUNTIME_DIR:-/var/lib/novaops-vm}
CACHE_DIR=${NOVAOPS_VM_CACHE_DIR:-/var/cache/novaops-vm}
BRIDGE=novavm0
BRIDGE_ADDRESS=10.98.0.1/24
STOP_TIMEOUT=20

# What the machine needs: QEMU (seabios and ipxe-qemu come with it; the VMs
# boot their kernel directly, no UEFI), the image build (mmdebstrap with its
# eatmydata hook, mkfs.ext4 -d, debugfs) and the helpers used here.
HOST_PACKAGES=(qemu-system-x86 qemu-utils mmdebstrap eatmydata e2fsprogs iproute2
    openssh-client util-linux tar coreutils procps)

host_deps() {
    local package missing=()
    for package in "${HOST_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null | grep -q 'ok installed' \
            || missing+=("$package")
    done
    ((${#missing[@]} == 0)) && return 0
    echo "installing on the machine: ${missing[*]}"
    apt-get update -qq -o DPkg::Lock::Timeout=600
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
}

# KVM only where /dev/kvm really runs an ordinary guest. It may exist and
# still not: under kvm_pvm (PVM) QEMU aborts ("failed to set MSR") or the
# guest hangs. The probe boots KERNEL with no root disk: a guest that runs
# reaches "Kernel panic ... Unable to mount root" in a second or two.
choose_accel() {
    local kernel=${1:-} log
    if [[ -n ${NOVAOPS_VM_ACCEL:-} ]]; then
        printf '%s\n' "$NOVAOPS_VM_ACCEL"
        return 0
    fi
    if [[ ! -r /dev/kvm || ! -w /dev/kvm || ! -r $kernel ]]; then
        echo "novaops-vm: no usable /dev/kvm (or no kernel to probe it with): TCG" >&2
        printf 'tcg\n'
        return 0
    fi
    log=$(mktemp)
    timeout 30 nice -n "${NOVAOPS_VM_NICE:-10}" qemu-system-x86_64 \
        -machine q35,accel=kvm -cpu host -smp 1 -m 256 \
        -nodefaults -display none -monitor none -serial "file:$log" -no-reboot \
        -kernel "$kernel" -append "console=ttyS0 panic=-1" >/dev/null 2>&1 || true
    if grep -q 'Kernel panic' "$log"; then
        echo "novaops-vm: a guest kernel boots under /dev/kvm: KVM" >&2
        printf 'kvm\n'
    else
        echo "novaops-vm: /dev/kvm does not boot a guest kernel here$([[ -e /sys/module/kvm_pvm ]] && echo ' (kvm_pvm)'): TCG" >&2
        printf 'tcg\n'
    fi
    rm -f "$log"
}

bridge_up() {
    # A bridge left by a killed run is reused as it is.
    if ! ip link show dev "$BRIDGE" >/dev/null 2>&1; then
        ip link add name "$BRIDGE" type bridge
    fi
    ip address replace "$BRIDGE_ADDRESS" dev "$BRIDGE"
    ip link set dev "$BRIDGE" up
}

# The controller's key pair: ansible and testinfra log in as root with it.
controller_key() {
    mkdir -p -m 0700 "$RUNTIME_DIR/ssh"
    if [[ ! -e $RUNTIME_DIR/ssh/id_ed25519 ]]; then
        ssh-keygen -q -t ed25519 -N '' -C "novaops-molecule-vm" -f "$RUNTIME_DIR/ssh/id_ed25519"
    fi
}

start_vm() {
    local name=$1 address=$2 image_dir=$3 hosts_file=$4
    local vm_dir=$RUNTIME_DIR/$name seed_dir octet mac tap accel cpu
    [[ $address =~ ^10\.98\.0\.([0-9]+)$ ]] || { echo "address $address is not in 10.98.0.0/24" >&2; exit 2; }
    octet=${BASH_REMATCH[1]}
    mac=$(printf '52:54:00:98:00:%02x' "$octet")
    tap=$BRIDGE-$octet
    if [[ -e $vm_dir/qemu.pid ]] && kill -0 "$(cat "$vm_dir/qemu.pid")" 2>/dev/null; then
        echo "$name is already running (pid $(cat "$vm_dir/qemu.pid"))" >&2
        exit 1
    fi
    bridge_up
    controller_key
    rm -rf "$vm_dir"
    mkdir -p "$vm_dir"

    # The seed disk: a tar archive the VM unpacks over / at first boot.
    seed_dir=$vm_dir/seed
    mkdir -p "$seed_dir/etc/ssh" "$seed_dir/etc/systemd/network" "$seed_dir/root/.ssh"
    ssh-keygen -q -t ed25519 -N '' -C "root@$name" -f "$seed_dir/etc/ssh/ssh_host_ed25519_key"
    printf '%s\n' "$name" >"$seed_dir/etc/hostname"
    install -m 0644 "$hosts_file" "$seed_dir/etc/hosts"
    printf '[Match]\nMACAddress=%s\n\n[Network]\nAddress=%s/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n' \
        "$mac" "$address" >"$seed_dir/etc/systemd/network/10-novaops-vm.network"
    install -m 0600 "$RUNTIME_DIR/ssh/id_ed25519.pub" "$seed_dir/root/.ssh/authorized_keys"
    chmod 0700 "$seed_dir/root/.ssh"
    tar -C "$seed_dir" --owner=0 --group=0 -cf "$vm_dir/seed.tar" etc root

    # Pin the host key for the controller, under the name and the address.
    touch "$RUNTIME_DIR/ssh/known_hosts"
    sed -i "/^$name,/d" "$RUNTIME_DIR/ssh/known_hosts"
    printf '%s,%s %s\n' "$name" "$address" \
        "$(cut -d' ' -f1-2 "$seed_dir/etc/ssh/ssh_host_ed25519_key.pub")" >>"$RUNTIME_DIR/ssh/known_hosts"

    qemu-img create -q -f qcow2 -F raw -b "$image_dir/disk.raw" "$vm_dir/disk.qcow2"

    ip link delete "$tap" 2>/dev/null || true
    ip tuntap add dev "$tap" mode tap
    ip link set dev "$tap" master "$BRIDGE" up

    accel=$(choose_accel "$image_dir/vmlinuz")
    cpu=max
    [[ $accel == kvm ]] && cpu=host
    # SELinux comes from the kernel command line (security=selinux), its mode
    # from /etc/selinux/config in the image (enforcing), so that a mode the
    # roles set is what the next boot uses.
    local qemu_command=(
        nice -n "${NOVAOPS_VM_NICE:-10}" qemu-system-x86_64
        -name "$name"
        -machine q35,accel="$accel" -cpu "$cpu"
        -smp "${NOVAOPS_VM_CPUS:-1}" -m "${NOVAOPS_VM_MEMORY:-1024}"
        -nodefaults -display none -monitor none
        -chardev "file,id=console,path=$vm_dir/console.log,append=on" -serial chardev:console
        -kernel "$image_dir/vmlinuz" -initrd "$image_dir/initrd.img"
        -append "root=/dev/vda rw console=ttyS0 quiet security=selinux selinux=1 audit=1 fsck.mode=skip"
        -drive "file=$vm_dir/disk.qcow2,format=qcow2,if=none,id=root,cache=unsafe,discard=unmap"
        -device virtio-blk-pci,drive=root
        -drive "file=$vm_dir/seed.tar,format=raw,if=none,id=seed,readonly=on"
        -device virtio-blk-pci,drive=seed,serial=novaops-seed
        -netdev "tap,id=net0,ifname=$tap,script=no,downscript=no"
        -device "virtio-net-pci,netdev=net0,mac=$mac"
        -device virtio-rng-pci
        -pidfile "$vm_dir/qemu.pid" -no-reboot
    )
    # A reboot is a power cycle: QEMU exits (-no-reboot) and the loop starts
    # it again from the same disk. Under TCG a warm reset of this q35 guest
    # hung in early kernel init (soft lockup in swapper/0), a fresh QEMU does
    # not. The loop ends when `vm.sh stop` has marked the VM as stopping.
    setsid bash -c '
        vm_dir=$1; shift
        while [[ ! -e $vm_dir/stopping ]]; do
            "$@" || { echo "qemu exited with $?" >&2; sleep 5; }
        done' supervise "$vm_dir" "${qemu_command[@]}" \
        </dev/null >>"$vm_dir/qemu.log" 2>&1 &
    printf '%s\n' "$!" >"$vm_dir/supervisor.pid"
    local waited=0
    until [[ -s $vm_dir/qemu.pid ]] || ((waited >= 30)); do
        sleep 1
        waited=$((waited + 1))
    done
    [[ -s $vm_dir/qemu.pid ]] || { echo "$name: QEMU did not start, see $vm_dir/qemu.log" >&2; cat "$vm_dir/qemu.log" >&2; exit 1; }
    printf '%s started (pid %s, accel %s, address %s)\n' "$name" "$(cat "$vm_dir/qemu.pid")" "$accel" "$address"
}

# Stops one QEMU process: SIGTERM, then SIGKILL if it is still there after
# STOP_TIMEOUT seconds. Only a process that is really this VM's QEMU.
stop_pid() {
    local pid=$1 name=$2 waited=0
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    grep -qa -- "-name" "/proc/$pid/cmdline" 2>/dev/null || return 0
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "-name $name " || return 0
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && ((waited < STOP_TIMEOUT)); do
        sleep 1
        waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "$name (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT}s: SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
}

stop_all() {
    local pidfile name tap supervisor
    if [[ -d $RUNTIME_DIR ]]; then
        for pidfile in "$RUNTIME_DIR"/*/supervisor.pid; do
            [[ -e $pidfile ]] && touch "$(dirname "$pidfile")/stopping"
        done
        for pidfile in "$RUNTIME_DIR"/*/qemu.pid; do
            [[ -e $pidfile ]] || continue
            name=$(basename "$(dirname "$pidfile")")
            stop_pid "$(cat "$pidfile")" "$name"
        done
    fi
    # The supervisors end by themselves once their QEMU is gone; one that
    # has not (it was between two QEMUs) is told to.
    if [[ -d $RUNTIME_DIR ]]; then
        for pidfile in "$RUNTIME_DIR"/*/supervisor.pid; do
            [[ -e $pidfile ]] || continue
            supervisor=$(cat "$pidfile")
            if [[ $supervisor =~ ^[0-9]+$ ]] && grep -qa supervise "/proc/$supervisor/cmdline" 2>/dev/null; then
                kill -TERM "$supervisor" 2>/dev/null || true
            fi
        done
    fi
    # A QEMU of ours whose pid file is gone (runtime directory removed by
    # hand): found by the pid file path on its command line.
    local proc_dir cmdline
    for proc_dir in /proc/[0-9]*; do
        cmdline=$(tr '\0' ' ' <"$proc_dir/cmdline" 2>/dev/null) || continue
        if [[ $cmdline == *qemu-system-* && $cmdline == *"-pidfile $RUNTIME_DIR/"* ]]; then
            name=${cmdline#*-name }
            stop_pid "${proc_dir#/proc/}" "${name%% *}"
        fi
    done
    for tap in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep "^$BRIDGE-" || true); do
        ip link delete "$tap" 2>/dev/null || true
    done
    ip link delete "$BRIDGE" 2>/dev/null || true
    unmount_under "$RUNTIME_DIR"
    rm -rf --one-file-system "$RUNTIME_DIR"
    # A build killed half-way leaves /proc, /sys, /dev mounted in its work
    # directory; only when no build holds the cache's lock.
    if [[ -d $CACHE_DIR ]] && compgen -G "$CACHE_DIR/work.*" >/dev/null; then
        exec 9>"$CACHE_DIR/.lock"
        if flock -n 9; then
            local work_dir
            for work_dir in "$CACHE_DIR"/work.*; do
                unmount_under "$work_dir"
                rm -rf --one-file-system "$work_dir"
            done
        fi
        exec 9>&-
    fi
}

# Unmounts everything mounted at or below a directory, deepest first.
unmount_under() {
    local tree mounts
    [[ -e $1 ]] || return 0
    tree=$(realpath "$1")
    mounts=$(findmnt -rn -o TARGET | awk -v tree="$tree" '$0 == tree || index($0, tree "/") == 1' | sort -r)
    if [[ -n $mounts ]]; then
        xargs -r -d '\n' umount -l <<<"$mounts"
    fi
}

case ${1:-} in
    start) shift; start_vm "$@" ;;
    stop) stop_all ;;
    accel) choose_accel "${2:-}" ;;
    host-deps) host_deps ;;
    *) sed -n '2,/^set -euo/p' "$0" >&2; exit 2 ;;
esac
