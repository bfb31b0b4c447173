#!/usr/bin/env bash
# Starts and stops the User-Mode Linux guests of the Molecule "vm" scenario.
# A UML guest is a real, separate Linux kernel (the machine's linux.uml,
# package user-mode-linux) run as an ordinary process: no KVM needed, and
# several times faster than QEMU's TCG.
#
#   vm.sh start NAME ADDRESS IMAGE_DIR HOSTS_FILE KERNEL_DIR
#       Boots guest NAME, with the kernel in KERNEL_DIR (vm.sh kernel), with the management address ADDRESS (10.98.0.x) on
#       the bridge novavm0, from its own copy-on-write file over the base
#       image in IMAGE_DIR (made by image/build.sh). HOSTS_FILE becomes the
#       guest's /etc/hosts. Its host keys, made here, are pinned in
#       RUNTIME_DIR/ssh/known_hosts for the controller's ssh.
#   vm.sh stop
#       Stops every guest (uml_mconsole halt, then SIGKILL to its process
#       group after a timeout), removes the veths, the bridge and the runtime
#       directory, and what a killed image build left mounted. Safe to run at
#       any time, also after a killed run.
#   vm.sh host-deps
#       Installs the Debian packages that build and run the guests, only those
#       missing.
#   vm.sh kernel
#       Prints the directory holding the guests' kernel (linux.uml) and its
#       modules (modules/VERSION), taken from Debian's user-mode-linux package
#       and cached (see uml_kernel below for why not always the machine's).
#
# Environment: NOVAOPS_VM_RUNTIME_DIR (default /var/lib/novaops-vm),
# NOVAOPS_VM_CACHE_DIR (default /var/cache/novaops-vm, see image/build.sh),
# NOVAOPS_VM_MEMORY (guest memory, default 768M), NOVAOPS_VM_UML_SUITE (the
# Debian suite the kernel comes from when the machine's is too old, default
# sid).
set -euo pipefail

RUNTIME_DIR=${NOVAOPS_VM_RUNTIME_DIR:-/var/lib/novaops-vm}
CACHE_DIR=${NOVAOPS_VM_CACHE_DIR:-/var/cache/novaops-vm}
# Where each guest's UML control directory (pid file, mconsole socket) lives:
# RUNTIME_DIR/uml/NAME. Not ~/.uml, so that `stop` finds only ours.
UML_DIR=$RUNTIME_DIR/uml
BRIDGE=novavm0
BRIDGE_ADDRESS=10.98.0.1/24
# Every network device of the scenario starts with this (the veths are
# nvm<octet>h on the bridge, nvm<octet>g for the guest's vector transport).
VETH_PREFIX=nvm
STOP_TIMEOUT=30

# What the machine needs: the UML kernel and its mconsole client, the image
# build (mmdebstrap with its eatmydata hook, setfiles, mke2fs -d, debugfs)
# and the network and helpers used here.
HOST_PACKAGES=(user-mode-linux uml-utilities mmdebstrap eatmydata policycoreutils e2fsprogs
    iproute2 ethtool openssh-client util-linux coreutils procps patchelf apt dpkg)

# The first UML version that sizes the FPU state it saves and restores by
# the host's XSAVE size ("um: switch to regset API and depend on XSTATE").
# Older ones (bookworm's 6.1, trixie's 6.12) panic at the first process on a
# host whose CPU has AVX-512 or AMX: the host kernel refuses their smaller
# PTRACE_SETREGSET NT_X86_XSTATE buffer, "userspace - ptrace set fp regs
# failed, errno = 14", "Attempted to kill init! exitcode=0x0000000b".
UML_MIN_VERSION=6.13

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

# Prints the directory of the guests' kernel: CACHE_DIR/uml-<package
# version>/ with linux.uml and modules/<kernel version>/. The machine's own
# user-mode-linux when it is recent enough; otherwise (Debian 12 and 13)
# the package of NOVAOPS_VM_UML_SUITE, fetched with apt-get download from a
# private package list (the machine's apt sources are not changed) and
# unpacked here. Its linux.uml needs a newer C library than the machine's:
# that suite's libc6 is unpacked next to it and the binary's interpreter and
# library path point at it (patchelf). Running it through that ld.so instead
# does not work: UML then finds its memory layout wrong ("Too few physical
# memory!").
uml_kernel() {
    local installed suite=${NOVAOPS_VM_UML_SUITE:-sid} apt_dir version kernel_dir work modules
    installed=$(dpkg-query -W -f='${Version}' user-mode-linux 2>/dev/null || true)
    if [[ -n $installed ]] && dpkg --compare-versions "$installed" ge "$UML_MIN_VERSION"; then
        kernel_dir=$CACHE_DIR/uml-$installed
        if [[ ! -e $kernel_dir/complete ]]; then
            rm -rf "$kernel_dir"
            mkdir -p "$kernel_dir/modules"
            ln -s /usr/bin/linux.uml "$kernel_dir/linux.uml"
            cp -a /usr/lib/uml/modules/. "$kernel_dir/modules/"
            touch "$kernel_dir/complete"
        fi
        printf '%s\n' "$kernel_dir"
        return 0
    fi
    apt_dir=$CACHE_DIR/apt-$suite
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
    printf 'deb http://deb.debian.org/debian %s main\n' "$suite" >"$apt_dir/sources.list"
    local apt_options=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=-
        -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::archives=$apt_dir/archives"
        -o APT::Sandbox::User=root)
    # The package list is refreshed once a day at most. A kernel already
    # unpacked is reused while the suite still has its version, and also
    # when the archive cannot be reached.
    if [[ -z $(find "$apt_dir/lists" -maxdepth 1 -name '*_Packages*' -mtime -1 2>/dev/null) ]]; then
        apt-get -qq "${apt_options[@]}" update >&2 || echo "novaops-vm: could not refresh the $suite package list" >&2
    fi
    version=$(apt-cache "${apt_options[@]}" show --no-all-versions user-mode-linux 2>/dev/null \
        | sed -n 's/^Version: //p' | head -n 1)
    if [[ -z $version ]]; then
        # No list: the newest kernel already unpacked, if any.
        kernel_dir=$(find "$CACHE_DIR" -maxdepth 2 -name complete -path '*/uml-*' -printf '%h\n' | sort -V | tail -n 1)
        [[ -n $kernel_dir ]] || { echo "novaops-vm: no user-mode-linux >= $UML_MIN_VERSION in $suite, none cached" >&2; exit 1; }
        printf '%s\n' "$kernel_dir"
        return 0
    fi
    kernel_dir=$CACHE_DIR/uml-$version
    if [[ ! -e $kernel_dir/complete ]]; then
        echo "novaops-vm: fetching user-mode-linux $version and its C library from $suite" >&2
        rm -rf "$kernel_dir"
        work=$(mktemp -d "$CACHE_DIR/uml-work.XXXXXX")
        (cd "$work" && apt-get -qq "${apt_options[@]}" download user-mode-linux libc6 >&2)
        dpkg-deb -x "$work"/user-mode-linux_*.deb "$work/uml"
        dpkg-deb -x "$work"/libc6_*.deb "$work/libc"
        mkdir -p "$work/kernel"
        mv "$work/libc/usr/lib/x86_64-linux-gnu" "$work/kernel/lib"
        mv "$work/uml/usr/lib/uml/modules" "$work/kernel/modules"
        install -m 0755 "$work/uml/usr/bin/linux.uml" "$work/kernel/linux.uml"
        patchelf --set-interpreter "$kernel_dir/lib/ld-linux-x86-64.so.2" --set-rpath "$kernel_dir/lib" \
            "$work/kernel/linux.uml"
        touch "$work/kernel/complete"
        mv "$work/kernel" "$kernel_dir"
        rm -rf "$work"
        "$kernel_dir/linux.uml" --version >/dev/null
        # Kernels of older versions are of no further use.
        find "$CACHE_DIR" -maxdepth 1 -name 'uml-*' ! -path "$kernel_dir" -exec rm -rf {} +
    fi
    printf '%s\n' "$kernel_dir"
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

# Large TCP transfers to a UML guest stall unless segmentation and receive
# offloads are off on both ends of its veth (5 MB took 94 s with them on).
offloads_off() {
    ethtool -K "$1" tso off gso off gro off >/dev/null 2>&1 || true
}

start_vm() {
    local name=$1 address=$2 image_dir=$3 hosts_file=$4 kernel_dir=$5
    local vm_dir=$RUNTIME_DIR/$name seed_dir octet mac host_end guest_end pid
    [[ $address =~ ^10\.98\.0\.([0-9]+)$ ]] || { echo "address $address is not in 10.98.0.0/24" >&2; exit 2; }
    octet=${BASH_REMATCH[1]}
    mac=$(printf '52:54:00:98:00:%02x' "$octet")
    host_end=$VETH_PREFIX${octet}h
    guest_end=$VETH_PREFIX${octet}g
    if [[ -e $UML_DIR/$name/pid ]] && kill -0 "$(cat "$UML_DIR/$name/pid")" 2>/dev/null; then
        echo "$name is already running (pid $(cat "$UML_DIR/$name/pid"))" >&2
        exit 1
    fi
    bridge_up
    controller_key
    rm -rf "$vm_dir" "${UML_DIR:?}/$name"
    mkdir -p "$vm_dir" "$UML_DIR"

    # The seed disk: a tar archive the guest unpacks over / at first boot
    # (novaops-seed.service reads it from /dev/ubdb).
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

    # The guest's end stays without an address: UML reads and writes its
    # frames through a raw socket on it (transport=raw). Not a tap: taps
    # stalled, and stayed busy after a guest's reboot.
    ip link delete "$host_end" 2>/dev/null || true
    ip link add "$host_end" type veth peer name "$guest_end"
    ip link set dev "$host_end" master "$BRIDGE"
    offloads_off "$host_end"
    offloads_off "$guest_end"
    ip link set dev "$host_end" up
    ip link set dev "$guest_end" up

    # ubd0=COW,BASE: the guest writes only to its own copy-on-write file
    # (made at first boot); ubd1r: the seed, read-only. No console (con=null;
    # con0's output goes to console.log). SELinux is always on in Debian's
    # UML kernel; its mode comes from /etc/selinux/config in the image, so
    # that a mode the roles set is what the next boot uses. A reboot inside
    # restarts the kernel in this same process.
    local uml_command=(
        "$kernel_dir/linux.uml"
        "umid=$name" "uml_dir=$UML_DIR"
        "mem=${NOVAOPS_VM_MEMORY:-768M}"
        "ubd0=$vm_dir/root.cow,$image_dir/disk.raw" "ubd1r=$vm_dir/seed.tar"
        root=/dev/ubda rw
        "vec0:transport=raw,ifname=$guest_end,mac=$mac"
        con0=null,fd:1 con=null ssl=null
        quiet
    )
    # Its own session and process group (setsid), so that `stop` can end the
    # kernel and every process it made at once, by that group.
    setsid "${uml_command[@]}" </dev/null >>"$vm_dir/console.log" 2>&1 &
    pid=$!
    printf '%s\n' "$pid" >"$vm_dir/uml.pid"
    local waited=0
    until [[ -S $UML_DIR/$name/mconsole ]] || ((waited >= 30)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 1
        waited=$((waited + 1))
    done
    if [[ ! -S $UML_DIR/$name/mconsole ]]; then
        echo "$name: linux.uml did not start, see $vm_dir/console.log:" >&2
        tail -n 30 "$vm_dir/console.log" >&2
        exit 1
    fi
    printf '%s started (pid %s, address %s)\n' "$name" "$pid" "$address"
}

# True when PID is a linux.uml of this runtime directory (not someone
# else's UML, not a recycled pid).
is_our_uml() {
    local pid=$1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == */linux.uml ]] || return 1
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF "uml_dir=$UML_DIR"
}

# Stops one guest: halt through its mconsole, then SIGKILL to its process
# group if it is still there after STOP_TIMEOUT seconds.
stop_guest() {
    local pid=$1 name=$2 waited=0
    is_our_uml "$pid" || return 0
    if [[ -S $UML_DIR/$name/mconsole ]]; then
        timeout 10 uml_mconsole "$UML_DIR/$name/mconsole" halt >/dev/null 2>&1 || true
    fi
    while kill -0 "$pid" 2>/dev/null && ((waited < STOP_TIMEOUT)); do
        sleep 1
        waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "$name (pid $pid) did not halt in ${STOP_TIMEOUT}s: SIGKILL" >&2
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
}

stop_all() {
    local pidfile name link
    local -A stopping=()
    if [[ -d $RUNTIME_DIR ]]; then
        for pidfile in "$RUNTIME_DIR"/*/uml.pid; do
            [[ -e $pidfile ]] || continue
            name=$(basename "$(dirname "$pidfile")")
            stopping[$(cat "$pidfile")]=$name
        done
    fi
    # A guest of ours whose pid file is gone (runtime directory removed by
    # hand): found by the uml_dir on its command line. Only the kernel's
    # main process (the leader of its process group) counts: the processes
    # it made for its own guest processes share its command line.
    local proc_dir pid umid
    for proc_dir in /proc/[0-9]*; do
        pid=${proc_dir#/proc/}
        [[ -n ${stopping[$pid]:-} ]] && continue
        is_our_uml "$pid" || continue
        [[ $(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ') == "$pid" ]] || continue
        umid=$(tr '\0' '\n' <"$proc_dir/cmdline" | sed -n 's/^umid=//p')
        stopping[$pid]=${umid:-unknown}
    done
    # Halt them all at once (each takes a few seconds), then wait for each.
    for pid in "${!stopping[@]}"; do
        stop_guest "$pid" "${stopping[$pid]}" &
    done
    wait
    for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' \
            | grep -E "^$VETH_PREFIX[0-9]+[hg]$" || true); do
        ip link delete "$link" 2>/dev/null || true
    done
    ip link delete "$BRIDGE" 2>/dev/null || true
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
    host-deps) host_deps ;;
    kernel) uml_kernel ;;
    *) sed -n '2,/^set -euo/p' "$0" >&2; exit 2 ;;
esac
