#!/bin/bash
# The novaops.migration lab: controller, compute1 and compute2 as systemd-nspawn
# hosts on a private bridge, running a real OpenStack. See lab/README.md.
#   lab.sh up | down | clean | status | mem | ssh HOST [CMD] | restart-host HOST
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
. "$LAB_DIR/lib/rootfs.sh"
. "$LAB_DIR/lib/hosts.sh"
. "$LAB_DIR/lib/populate.sh"

[ "$(id -u)" = 0 ] || die "the lab needs root (namespaces, mounts, a bridge)"

take_lock() {
  mkdir -p /run/lock
  exec 9>/run/lock/novaops-lab.lock
  flock -n 9 || die "another lab command holds /run/lock/novaops-lab.lock (one lab per machine)"
}

guest_image() {
  local hash cached
  hash=$(recipe_hash "$LAB_DIR/image/init" "$LAB_DIR/image/build-guest.sh")
  cached=$LAB_CACHE/images/guest-$hash.qcow2
  if [ ! -f "$cached" ]; then
    log "building the guest image"
    mkdir -p "$LAB_CACHE/images"
    find "$LAB_CACHE/images" -name 'guest-*.qcow2' -delete
    "$LAB_DIR/image/build-guest.sh" "$cached.tmp" && mv "$cached.tmp" "$cached" \
      || die "building the guest image failed"
  fi
  mkdir -p "$LAB_STATE/images"
  cp "$cached" "$LAB_STATE/images/guest.qcow2"
}

all_running() {
  local name
  for name in $(host_names); do host_nspawn_pid "$name" >/dev/null || return 1; done
}

write_outputs() {
  local inventory=$LAB_DIR/hosts
  {
    echo "# Written by lab/lab.sh up; removed by lab-down."
    echo "[controller]"
    echo "controller ansible_host=$(host_field controller address)"
    echo
    echo "[compute]"
    local name
    for name in $(host_names); do
      [ "$(host_field "$name" role)" = compute ] && echo "$name ansible_host=$(host_field "$name" address)"
    done
    echo
    echo "[all:vars]"
    echo "ansible_user=root"
    echo "ansible_python_interpreter=/usr/bin/python3"
    echo "ansible_ssh_private_key_file=$LAB_STATE/ssh/id_ed25519"
    echo "ansible_ssh_common_args='-o UserKnownHostsFile=$LAB_STATE/ssh/known_hosts -o StrictHostKeyChecking=yes'"
  } > "$inventory"
  # The operator's side of the roles' secrets, as a vault would hold them.
  mkdir -p "$LAB_DIR/group_vars"
  (umask 077; cat > "$LAB_DIR/group_vars/compute.yml") <<YAML
# Written by lab/lab.sh up; removed by lab-down.
novaops_libvirt_sasl_password: $LIBVIRT_SASL_PASSWORD
YAML
  (umask 077; cat > "$LAB_DIR/clouds.yaml") <<YAML
# Written by lab/lab.sh up; removed by lab-down. Admin of the lab's Keystone.
clouds:
  lab:
    auth:
      auth_url: http://$CONTROLLER_IP:5000/v3
      username: admin
      password: $ADMIN_PASSWORD
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    identity_api_version: 3
YAML
}

cmd_up() {
  take_lock
  local started=$SECONDS
  if all_running && [ -f "$LAB_RUN/ready" ]; then
    log "lab already up (make lab-down to remove it)"
    ensure_secrets; write_outputs
    return 0
  fi
  # Whatever a killed or half-finished run left is removed first: a fresh lab
  # must not meet stale compute-node rows or half-written overlays.
  teardown quiet
  local controller_root compute_root openstack_layer
  controller_root=$(build_rootfs controller "$LAB_DIR/rootfs/packages-controller.txt")
  compute_root=$(build_rootfs compute "$LAB_DIR/rootfs/packages-compute.txt")
  openstack_layer=$(build_openstack_layer)
  guest_image
  mkdir -p "$LAB_RUN/hosts" "$LAB_RUN/logs"
  ensure_secrets
  ensure_lab_key
  ensure_bridge
  : > "$LAB_STATE/ssh/known_hosts"
  local entry name role address lower
  for entry in "${LAB_HOSTS[@]}"; do
    read -r name role address <<<"$entry"
    case $role in controller) lower=$controller_root ;; compute) lower=$compute_root ;; esac
    mount_host "$name" "$openstack_layer" "$lower"
    populate_host "$name" "$role" "$address" "$openstack_layer"
    local key
    for key in "$(host_root "$name")"/etc/ssh/ssh_host_*_key.pub; do
      echo "$name,$address $(cut -d' ' -f1,2 "$key")" >> "$LAB_STATE/ssh/known_hosts"
    done
    start_host "$name"
  done
  for entry in "${LAB_HOSTS[@]}"; do
    read -r name role address <<<"$entry"
    wait_ssh "$name" "$address" 120
  done
  log "hosts answer ssh after $((SECONDS - started))s; bootstrapping the controller (log: $LAB_RUN/logs/bootstrap.log)"
  if ! ssh_host "$(host_field controller address)" /usr/local/sbin/lab-bootstrap >"$LAB_RUN/logs/bootstrap.log" 2>&1; then
    tail -n 15 "$LAB_RUN/logs/bootstrap.log" >&2
    die "controller bootstrap failed; see $LAB_RUN/logs/bootstrap.log"
  fi
  log "controller ready after $((SECONDS - started))s; waiting for the computes"
  local computes
  computes=$(for name in $(host_names); do [ "$(host_field "$name" role)" = compute ] && echo "$name"; done | xargs)
  # shellcheck disable=SC2086
  ssh_host "$(host_field controller address)" /usr/local/sbin/lab-wait-computes 300 $computes \
    || die "computes did not come up; lab.sh ssh compute1 journalctl -u nova-compute"
  write_outputs
  touch "$LAB_RUN/ready"
  log "lab up in $((SECONDS - started))s: inventory $LAB_DIR/hosts, cloud 'lab' in $LAB_DIR/clouds.yaml"
}

teardown() {
  local name names
  # Hosts that a changed LAB_HOSTS no longer names are stopped too.
  names=$( { host_names; if [ -d "$LAB_RUN/hosts" ]; then ls "$LAB_RUN/hosts"; fi; } | sort -u)
  # Power off in parallel: each host takes seconds to shut its services down.
  for name in $names; do stop_host "$name" & done
  wait
  remove_bridge
  rm -rf "$LAB_RUN" "$LAB_STATE" "$LAB_DIR/hosts" "$LAB_DIR/clouds.yaml" "$LAB_DIR/group_vars"
  [ "${1:-}" = quiet ] || log "lab down"
}

cmd_down() { take_lock; teardown; }

cmd_clean() {
  take_lock
  teardown
  rm -rf "$LAB_CACHE"
  log "caches removed ($LAB_CACHE)"
}

cmd_status() {
  local entry name role address state
  for entry in "${LAB_HOSTS[@]}"; do
    read -r name role address <<<"$entry"
    if host_nspawn_pid "$name" >/dev/null; then state="running (nspawn pid $(host_nspawn_pid "$name"))"; else state=stopped; fi
    printf '%-11s %-10s %-12s %s\n' "$name" "$role" "$address" "$state"
  done
  [ -f "$LAB_RUN/ready" ] && echo "lab: ready" || echo "lab: not ready"
}

# RAM in use per host: the PSS of every process in the host's cgroup.
cmd_mem() {
  local name total=0 kib pid
  for name in $(host_names); do
    kib=0
    for pid in $(find "/sys/fs/cgroup/systemd/$LAB_CGROUP/$name" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u); do
      kib=$((kib + $(awk '/^Pss:/ {s += $2} END {print s + 0}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)))
    done
    printf '%-11s %6d MiB\n' "$name" $((kib / 1024))
    total=$((total + kib))
  done
  printf '%-11s %6d MiB\n' total $((total / 1024))
}

cmd_ssh() {
  local name=${1:?usage: lab.sh ssh HOST [CMD]}; shift
  local address
  address=$(host_field "$name" address) || die "unknown host $name"
  exec ssh -i "$LAB_STATE/ssh/id_ed25519" -o UserKnownHostsFile="$LAB_STATE/ssh/known_hosts" \
    -o StrictHostKeyChecking=yes "root@$address" "$@"
}

known_host() {  # known_host NAME : the host's role, or die
  local role
  role=$(host_field "$1" role) || die "unknown host $1"
  [ -d "$(host_dir "$1")/upper" ] || die "host $1 has never been up; run lab.sh up"
  echo "$role"
}

power_on() {  # power_on NAME ROLE : its disk (overlay upper) as it was left
  local name=$1 role=$2 lower
  lower=$(find "$LAB_CACHE/rootfs" -maxdepth 1 -name "$role-*" ! -name '*.tmp' | head -n1)
  mount_host "$name" "$(find "$LAB_CACHE/layers" -maxdepth 1 -name 'openstack-*' ! -name '*.tmp' | head -n1)" "$lower"
  start_host "$name"
  wait_ssh "$name" "$(host_field "$name" address)" 120
}

# Power-cycle one host as a reboot would: its disk (overlay upper) is kept.
cmd_restart_host() {
  local name=${1:?usage: lab.sh restart-host HOST} role
  take_lock
  role=$(known_host "$name")
  stop_host "$name"
  power_on "$name" "$role"
  log "host $name restarted"
}

# A host that dies: the plug pulled, its guests gone with it, its disk kept for start-host.
cmd_stop_host() {
  local name=${1:?usage: lab.sh stop-host HOST}
  take_lock
  known_host "$name" >/dev/null
  host_nspawn_pid "$name" >/dev/null || { log "host $name is already off"; return 0; }
  stop_host "$name" hard
  log "host $name powered off"
}

cmd_start_host() {
  local name=${1:?usage: lab.sh start-host HOST} role
  take_lock
  role=$(known_host "$name")
  if host_nspawn_pid "$name" >/dev/null; then log "host $name is already on"; return 0; fi
  power_on "$name" "$role"
  log "host $name powered on"
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  clean) cmd_clean ;;
  status) cmd_status ;;
  mem) cmd_mem ;;
  ssh) shift; cmd_ssh "$@" ;;
  restart-host) shift; cmd_restart_host "$@" ;;
  stop-host) shift; cmd_stop_host "$@" ;;
  start-host) shift; cmd_start_host "$@" ;;
  *) echo "usage: $0 up|down|clean|status|mem|ssh HOST [CMD]|restart-host HOST|stop-host HOST|start-host HOST" >&2
     exit 2 ;;
esac
