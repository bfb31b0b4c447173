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
# How many computes (compute1..computeN); each takes about 1 GiB of RAM with a few tiny guests.
LAB_COMPUTES=${LAB_COMPUTES:-2}
case $LAB_COMPUTES in
  [1-9] | 1[0-9] | 20) ;;
  *) printf 'lab: ERROR: LAB_COMPUTES must be a number from 1 to 20, got %s\n' "$LAB_COMPUTES" >&2; exit 2 ;;
esac
# name role address
LAB_HOSTS=("controller controller $LAB_PREFIX.10")
for ((lab_index = 1; lab_index <= LAB_COMPUTES; lab_index++)); do
  LAB_HOSTS+=("compute$lab_index compute $LAB_PREFIX.$((10 + lab_index))")
done
unset lab_index

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
