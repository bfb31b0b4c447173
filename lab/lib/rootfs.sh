# Building the cached root filesystems and layers the hosts boot from. Sourced.
# shellcheck shell=bash

LAB_MIRRORS=(
  "deb http://deb.debian.org/debian $LAB_SUITE main"
  "deb http://deb.debian.org/debian $LAB_SUITE-updates main"
  "deb http://deb.debian.org/debian-security $LAB_SUITE-security main"
)

LAB_ROOTFS_RECIPE="minbase eatmydata customize v1"
LAB_VENV_RECIPE="pip 25.3 no-deps v1"

package_list() {  # package_list FILE... -> comma-separated names
  grep -hv '^\s*#' "$@" | awk 'NF {print $1}' | paste -sd, -
}

# build_rootfs KIND PACKAGE_FILE... : a full Debian rootfs for one kind of host,
# cached under $LAB_CACHE/rootfs/KIND-HASH. Prints its path.
build_rootfs() {
  local kind=$1; shift
  local files=("$LAB_DIR/rootfs/packages-common.txt" "$@")
  local hash dest tmp
  # Bump LAB_ROOTFS_RECIPE when the mmdebstrap call itself changes.
  hash=$(recipe_hash "${files[@]}" "$LAB_DIR/rootfs/customize.sh" <(echo "$LAB_ROOTFS_RECIPE"))
  dest=$LAB_CACHE/rootfs/$kind-$hash
  if [ -f "$dest/.complete" ]; then echo "$dest"; return 0; fi
  log "building $kind rootfs (cache miss: $dest)"
  mkdir -p "$LAB_CACHE/rootfs"
  tmp=$dest.tmp
  rm -rf "$tmp"
  mmdebstrap --variant=minbase --mode=root \
    --include="$(package_list "${files[@]}")" \
    --hook-dir=/usr/share/mmdebstrap/hooks/eatmydata \
    --aptopt='Acquire::Retries "3"' \
    --customize-hook="$LAB_DIR/rootfs/customize.sh \"\$1\"" \
    "$LAB_SUITE" "$tmp" "${LAB_MIRRORS[@]}" >"$LAB_CACHE/rootfs/$kind.log" 2>&1 \
    || die "mmdebstrap for $kind failed; see $LAB_CACHE/rootfs/$kind.log"
  touch "$tmp/.complete"
  rm -rf "$dest"; mv "$tmp" "$dest"
  # Older builds of this kind are dead weight.
  find "$LAB_CACHE/rootfs" -maxdepth 1 -name "$kind-*" ! -path "$dest" -exec rm -rf {} +
  echo "$dest"
}

# with_chroot ROOT CMD... : run CMD inside ROOT with /proc, /sys, /dev and the
# machine's DNS (pip needs PyPI), and unmount whatever happens.
with_chroot() {
  local root=$1; shift
  mount -t proc proc "$root/proc"
  mount --rbind /sys "$root/sys"; mount --make-rslave "$root/sys"
  mount --rbind /dev "$root/dev"; mount --make-rslave "$root/dev"
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  local rc=0
  chroot "$root" "$@" || rc=$?
  umount -R "$root/dev" "$root/sys" "$root/proc" 2>/dev/null || umount -lR "$root/dev" "$root/sys" "$root/proc"
  : > "$root/etc/resolv.conf"
  return $rc
}

# build_openstack_layer : /opt/openstack (the PyPI OpenStack virtualenv) as an
# overlay layer shared by every host. Built in a throwaway builder rootfs that
# has the compilers, so the hosts don't carry them.
build_openstack_layer() {
  local lock=$LAB_DIR/requirements/openstack.lock
  local hash dest builder
  [ -f "$lock" ] || die "missing $lock"
  hash=$(recipe_hash "$lock" "$LAB_DIR/rootfs/packages-builder.txt" <(echo "$LAB_VENV_RECIPE"))
  dest=$LAB_CACHE/layers/openstack-$hash
  if [ -f "$dest/.complete" ]; then echo "$dest"; return 0; fi
  builder=$(build_rootfs builder "$LAB_DIR/rootfs/packages-builder.txt")
  log "building the OpenStack virtualenv layer (cache miss: $dest)"
  mkdir -p "$LAB_CACHE/layers" "$LAB_CACHE/pip"
  rm -rf "$builder/opt/openstack" "$builder/tmp/openstack.lock"
  cp "$lock" "$builder/tmp/openstack.lock"
  # The machine's CA bundle: PyPI may be reached through an intercepting proxy.
  cp /etc/ssl/certs/ca-certificates.crt "$builder/tmp/machine-ca.crt"
  mkdir -p "$builder/root/.cache/pip"
  mount --bind "$LAB_CACHE/pip" "$builder/root/.cache/pip"
  local rc=0
  with_chroot "$builder" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
      PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CERT=/tmp/machine-ca.crt sh -ec '
      python3 -m venv /opt/openstack
      /opt/openstack/bin/pip install -q --upgrade "pip==25.3" wheel
      /opt/openstack/bin/pip install -q --no-deps -r /tmp/openstack.lock
      /opt/openstack/bin/pip check' >"$LAB_CACHE/layers/openstack.log" 2>&1 || rc=$?
  umount "$builder/root/.cache/pip"
  [ $rc -eq 0 ] || die "building the OpenStack virtualenv failed; see $LAB_CACHE/layers/openstack.log"
  rm -rf "$dest.tmp"; mkdir -p "$dest.tmp/opt"
  mv "$builder/opt/openstack" "$dest.tmp/opt/openstack"
  touch "$dest.tmp/.complete"
  rm -rf "$dest"; mv "$dest.tmp" "$dest"
  find "$LAB_CACHE/layers" -maxdepth 1 -name 'openstack-*' ! -path "$dest" -exec rm -rf {} +
  echo "$dest"
}
