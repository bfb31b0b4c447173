# Shared settings and helpers for the lab scripts. Sourced, not run.
# shellcheck shell=bash

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(cd "$LAB_DIR/.." && pwd)

# Caches survive lab-down and fresh clones; lab-clean drops them.
LAB_CACHE=${LAB_CACHE:-/var/cache/novaops-lab}
# Runtime state of the one lab on this machine (overlay uppers, pids, logs).
LAB_RUN=${LAB_RUN:-/var/lib/novaops-lab}
# Generated outputs the operator uses (inventory, clouds.yaml, keys), git-ignored.
LAB_STATE=$LAB_DIR/state

LAB_SUITE=bookworm
LAB_BRIDGE=novalab0
LAB_PREFIX=10.99.0
LAB_GATEWAY=$LAB_PREFIX.1
LAB_CGROUP=novaops-lab
# name role address
LAB_HOSTS=(
  "controller controller $LAB_PREFIX.10"
  "compute1 compute $LAB_PREFIX.11"
  "compute2 compute $LAB_PREFIX.12"
)

export PIP_CONFIG_FILE=/dev/null
export DEBIAN_FRONTEND=noninteractive

log()  { printf '%s lab: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die()  { printf '%s lab: ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }

host_field() {  # host_field NAME {role|address}
  local entry name role address
  for entry in "${LAB_HOSTS[@]}"; do
    read -r name role address <<<"$entry"
    if [ "$name" = "$1" ]; then
      case $2 in role) echo "$role" ;; address) echo "$address" ;; esac
      return 0
    fi
  done
  return 1
}

host_names() { local entry; for entry in "${LAB_HOSTS[@]}"; do echo "${entry%% *}"; done; }

# Hash of files and strings, to key cached layers on their recipe.
recipe_hash() { cat "$@" | sha256sum | cut -c1-16; }
