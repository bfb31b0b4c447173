# Writing a host's identity and configuration into its overlay before it boots. Sourced.
# shellcheck shell=bash

# Secrets of this lab, made once per lab (lab-down forgets them with the hosts).
ensure_secrets() {
  local file=$LAB_RUN/secrets
  mkdir -p "$LAB_RUN"
  if [ ! -s "$file" ]; then
    (umask 077; {
      echo "CONTROLLER_IP=$LAB_PREFIX.10"
      for key in DB_PASSWORD RABBIT_PASSWORD SERVICE_PASSWORD ADMIN_PASSWORD LIBVIRT_SASL_PASSWORD; do
        echo "$key=$(head -c 18 /dev/urandom | base64 | tr -d '+/=' )"
      done
    } > "$file")
  fi
  # A lab made before a key existed gets it added.
  grep -q '^LIBVIRT_SASL_PASSWORD=' "$file" || echo "LIBVIRT_SASL_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '+/=')" >> "$file"
  # shellcheck disable=SC1090
  . "$file"
}

ensure_lab_key() {
  mkdir -p "$LAB_STATE/ssh"; chmod 0700 "$LAB_STATE/ssh"
  [ -f "$LAB_STATE/ssh/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C novaops-lab -f "$LAB_STATE/ssh/id_ed25519"
}

# render SRC DEST NAME ADDRESS : copy a file, filling @@PLACEHOLDERS@@.
render() {
  sed -e "s|@@CONTROLLER_IP@@|$CONTROLLER_IP|g" -e "s|@@HOST_IP@@|$4|g" -e "s|@@HOST_NAME@@|$3|g" \
      -e "s|@@DB_PASSWORD@@|$DB_PASSWORD|g" -e "s|@@RABBIT_PASSWORD@@|$RABBIT_PASSWORD|g" \
      -e "s|@@SERVICE_PASSWORD@@|$SERVICE_PASSWORD|g" -e "s|@@ADMIN_PASSWORD@@|$ADMIN_PASSWORD|g" \
      "$1" > "$2"
}

# merge_ini OUT IN... : one INI from several, later files win (oslo.config reads the result).
merge_ini() {
  local out=$1; shift
  python3 - "$out" "$@" <<'PY'
import configparser, sys
parser = configparser.RawConfigParser(strict=False, default_section="__none__")
parser.optionxform = str
for path in sys.argv[2:]:
    parser.read(path)
with open(sys.argv[1], "w") as handle:
    handle.write("# Lab configuration written by lab/lab.sh.\n")
    parser.write(handle)
PY
}

populate_host() {  # populate_host NAME ROLE ADDRESS OPENSTACK_LAYER
  local name=$1 role=$2 address=$3 layer=$4 root tmp
  root=$(host_root "$name")
  tmp=$(mktemp -d)
  echo "$name" > "$root/etc/hostname"
  {
    echo "127.0.0.1 localhost"
    echo "::1 localhost ip6-localhost ip6-loopback"
    local entry n r a
    for entry in "${LAB_HOSTS[@]}"; do
      read -r n r a <<<"$entry"
      # Short name first: libvirt and nova then agree that host == node.
      echo "$a $n"
    done
  } > "$root/etc/hosts"
  [ -s "$root/etc/machine-id" ] || { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; echo; } > "$root/etc/machine-id"
  mkdir -p "$root/etc/systemd/network"
  printf '[Match]\nName=host0\n\n[Network]\nAddress=%s/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n' \
    "$address" > "$root/etc/systemd/network/10-host0.network"
  install -d -m 0700 "$root/root/.ssh"
  install -m 0600 "$LAB_STATE/ssh/id_ed25519.pub" "$root/root/.ssh/authorized_keys"
  # Per-host host keys, pinned in the machine's known_hosts for the lab.
  ssh-keygen -A -f "$root" >/dev/null
  install -d -m 0700 "$root/etc/lab"
  install -m 0600 "$LAB_RUN/secrets" "$root/etc/lab/secrets"

  # Configuration files of the role, then nova.conf merged from its parts.
  local src rel
  while IFS= read -r -d '' src; do
    rel=${src#"$LAB_DIR/files/$role/"}
    mkdir -p "$root/$(dirname "$rel")"
    render "$src" "$root/$rel" "$name" "$address"
    [ -x "$src" ] && chmod 0755 "$root/$rel"
    case $rel in etc/sudoers.d/*|etc/lab/*) chmod 0440 "$root/$rel" ;; esac
  done < <(find "$LAB_DIR/files/$role" -type f -print0)
  render "$LAB_DIR/files/common/nova-common.conf" "$tmp/common.conf" "$name" "$address"
  merge_ini "$root/etc/nova/nova.conf" "$tmp/common.conf" "$root/etc/nova/nova.conf.lab"
  rm -f "$root/etc/nova/nova.conf.lab"
  # Paste pipelines ship in the virtualenv's etc/, not in /etc.
  local project paste
  for project in nova glance neutron; do
    for paste in "$layer"/opt/openstack/etc/"$project"/*paste*.ini; do
      [ -f "$paste" ] && [ -d "$root/etc/$project" ] && cp -n "$paste" "$root/etc/$project/"
    done
  done

  # Service users as distribution packages make them.
  local user
  case $role in
    controller) for user in keystone glance placement nova neutron; do add_system_user "$root" "$user"; done ;;
    compute)
      add_system_user "$root" nova
      chroot "$root" usermod -a -G libvirt,kvm nova
      install -d -o "$(uid_of "$root" nova)" -g "$(gid_of "$root" nova)" -m 0755 \
        "$root/var/lib/nova" "$root/var/lib/nova/instances" "$root/var/lib/nova/tmp"
      ;;
  esac
  chroot "$root" sh -c 'chown -R root:$(id -gn nova 2>/dev/null || echo root) /etc/nova && chmod 0750 /etc/nova && chmod 0640 /etc/nova/*' 2>/dev/null || true
  if [ "$role" = controller ]; then
    local project
    for project in keystone glance placement neutron; do
      chroot "$root" sh -c "chown -R root:$project /etc/$project && chmod -R g+rX,o-rwx /etc/$project"
    done
  fi
  enable_units "$root" "$role"
  rm -rf "$tmp"
}

add_system_user() {  # add_system_user ROOT NAME : nologin, home /var/lib/NAME, no password
  chroot "$1" id "$2" >/dev/null 2>&1 && return 0
  chroot "$1" useradd --system --user-group --home-dir "/var/lib/$2" --shell /usr/sbin/nologin "$2"
}
uid_of() { chroot "$1" id -u "$2"; }
gid_of() { chroot "$1" id -g "$2"; }

enable_units() {  # enable_units ROOT ROLE
  local root=$1 role=$2
  case $role in
    controller)
      # The OpenStack services start from lab-bootstrap once their databases exist.
      ;;
    compute)
      # The packaged Open vSwitch units load the kernel datapath this machine lacks.
      systemctl --root="$root" mask openvswitch-switch.service ovs-record-hostname.service >/dev/null 2>&1 || true
      systemctl --root="$root" enable ovsdb-server.service ovs-vswitchd.service ovn-controller.service \
        nova-compute.service >/dev/null 2>&1
      ;;
  esac
}
