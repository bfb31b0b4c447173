# Starting and stopping the nspawn hosts, their overlays and the bridge. Sourced.
# shellcheck shell=bash

host_dir()  { echo "$LAB_RUN/hosts/$1"; }
host_root() { echo "$LAB_RUN/hosts/$1/root"; }

# PID of the host's systemd-nspawn, if it is running.
host_nspawn_pid() {
  local pidfile pid
  pidfile=$(host_dir "$1")/nspawn.pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -n "$pid" ] && [ -d "/proc/$pid" ] && grep -q systemd-nspawn "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

# PID 1 of the container (the child of nspawn), for nsenter.
host_init_pid() {
  local nspawn
  nspawn=$(host_nspawn_pid "$1") || return 1
  pgrep -P "$nspawn" | head -n1
}

host_exec() {  # host_exec NAME CMD... : run in the host's namespaces
  local pid
  pid=$(host_init_pid "$1") || die "host $1 is not running"
  shift
  nsenter -t "$pid" -a -- "$@"
}

ensure_bridge() {
  if ! ip link show "$LAB_BRIDGE" >/dev/null 2>&1; then
    ip link add "$LAB_BRIDGE" type bridge
  fi
  ip addr replace "$LAB_GATEWAY/24" dev "$LAB_BRIDGE"
  ip link set "$LAB_BRIDGE" up
}

remove_bridge() {
  ip link show "$LAB_BRIDGE" >/dev/null 2>&1 && ip link del "$LAB_BRIDGE"
  return 0
}

# mount_host NAME LOWER... : overlay root for a host (upper kept in $LAB_RUN).
mount_host() {
  local name=$1; shift
  local dir lowers
  dir=$(host_dir "$name")
  mkdir -p "$dir/upper" "$dir/work" "$dir/root"
  # The upper dir's mode becomes the mode of the host's /.
  chmod 0755 "$dir" "$dir/upper" "$dir/root"
  if mountpoint -q "$dir/root"; then return 0; fi
  lowers=$(IFS=:; echo "$*")
  mount -t overlay "lab-$name" -o "lowerdir=$lowers,upperdir=$dir/upper,workdir=$dir/work" "$dir/root"
}

unmount_host() {
  local dir
  dir=$(host_dir "$1")
  # Mounts a host made inside its root (none expected, but a killed run may leave some).
  if [ -d "$dir/root" ]; then
    local m
    for m in $(awk -v r="$dir/root/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r); do
      umount -l "$m" 2>/dev/null || true
    done
    while mountpoint -q "$dir/root"; do umount "$dir/root" 2>/dev/null || umount -l "$dir/root"; done
  fi
}

cgroup_dirs() {
  local name=$1
  echo "/sys/fs/cgroup/systemd/$LAB_CGROUP/$name"
  [ -d /sys/fs/cgroup/unified ] && echo "/sys/fs/cgroup/unified/$LAB_CGROUP/$name"
}

# The cgroup tree nspawn leaves behind must be removed bottom-up.
remove_cgroups() {
  local name=$1 top dir
  for top in $(cgroup_dirs "$name"); do
    [ -d "$top" ] || continue
    find "$top" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  for top in /sys/fs/cgroup/systemd/$LAB_CGROUP /sys/fs/cgroup/unified/$LAB_CGROUP; do
    [ -d "$top" ] && rmdir "$top" 2>/dev/null || true
  done
  return 0
}

start_host() {  # start_host NAME
  local name=$1 dir root
  dir=$(host_dir "$name"); root=$(host_root "$name")
  if host_nspawn_pid "$name" >/dev/null; then return 0; fi
  rm -rf "/run/systemd/nspawn/propagate/$name"
  remove_cgroups "$name"
  local cg
  for cg in $(cgroup_dirs "$name"); do mkdir -p "$cg"; done
  # The host must not inherit any descriptor of its caller: the lab lock (fd 9)
  # or a lock a wrapper script holds (flock CMD) would be held for its lifetime.
  # nspawn with --keep-unit puts the container in the caller's cgroup: give it its own first.
  # A reboot from inside (systemctl reboot, ansible.builtin.reboot) ends nspawn with 133, as
  # systemd-nspawn@.service's RestartForceExitStatus knows: the loop boots the host again.
  rm -f "$dir/nspawn.pid"
  setsid bash -c '
      for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
      for cg in '"$(cgroup_dirs "$name" | tr '\n' ' ')"'; do echo $$ > "$cg/cgroup.procs"; done
      while :; do
        systemd-nspawn --boot --directory="$0" --machine="$1" --hostname="$1" \
          --network-bridge="$2" --register=no --keep-unit --resolv-conf=off \
          --timezone=off --link-journal=no --console=passive \
          --capability=CAP_NET_ADMIN,CAP_SYS_ADMIN,CAP_IPC_LOCK \
          --property=DeviceAllow="/dev/net/tun rwm" --bind=/dev/net/tun &
        echo $! > "$3.tmp" && mv "$3.tmp" "$3"
        wait $! && break
        [ $? -eq 133 ] || break
        echo "lab: $1 rebooted from inside: booting it again"
      done' \
      "$root" "$name" "$LAB_BRIDGE" "$dir/nspawn.pid" </dev/null >"$dir/console.log" 2>&1 9>&- &
  local i
  for i in $(seq 1 20); do [ -s "$dir/nspawn.pid" ] && break; sleep 0.1; done
}

# stop_host NAME [hard] : orderly poweroff, then force the container's init, never nspawn itself.
# With "hard" the plug is pulled at once (a host that dies): no service shuts down.
stop_host() {
  local name=$1 mode=${2:-orderly} nspawn init i
  if nspawn=$(host_nspawn_pid "$name"); then
    init=$(pgrep -P "$nspawn" | head -n1 || true)
    if [ "$mode" != hard ]; then
      kill -TERM "$nspawn" 2>/dev/null || true
      for i in $(seq 1 60); do [ -d "/proc/$nspawn" ] || break; sleep 0.5; done
    fi
    if [ -d "/proc/$nspawn" ] && [ -n "$init" ]; then
      [ "$mode" = hard ] || log "host $name did not power off in 30 s; killing its init ($init)"
      kill -KILL "$init" 2>/dev/null || true
      for i in $(seq 1 20); do [ -d "/proc/$nspawn" ] || break; sleep 0.5; done
    fi
  fi
  rm -f "$(host_dir "$name")/nspawn.pid"
  # Stray processes still in the host's cgroup (a killed nspawn orphans them).
  local cg pids
  for cg in $(cgroup_dirs "$name"); do
    [ -d "$cg" ] || continue
    pids=$(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
  done
  sleep 0.2
  ip link del "vb-$name" 2>/dev/null || true
  unmount_host "$name"
  remove_cgroups "$name"
  rm -rf "/run/systemd/nspawn/propagate/$name"
}

wait_ssh() {  # wait_ssh NAME ADDRESS TIMEOUT
  local name=$1 address=$2 timeout=${3:-90} i
  for i in $(seq 1 $((timeout * 2))); do
    if ssh_host "$address" true 2>/dev/null; then return 0; fi
    if ! host_nspawn_pid "$name" >/dev/null; then
      die "host $name exited while booting; see $(host_dir "$name")/console.log"
    fi
    sleep 0.5
  done
  die "host $name ($address) did not answer ssh within ${timeout}s; see $(host_dir "$name")/console.log"
}

ssh_host() {  # ssh_host ADDRESS CMD...
  local address=$1; shift
  ssh -q -i "$LAB_STATE/ssh/id_ed25519" -o BatchMode=yes -o ConnectTimeout=3 \
      -o UserKnownHostsFile="$LAB_STATE/ssh/known_hosts" -o StrictHostKeyChecking=yes \
      "root@$address" "$@"
}
