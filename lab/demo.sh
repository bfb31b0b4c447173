#!/usr/bin/env bash
# The README's main job on the lab (make demo): prepare the cloud, create the
# procedure's resources and myinstance on compute1, live-migrate it to
# compute2, cold-migrate it back, live to compute2 again and back by the
# manual method (copy + database), and report what moved where, how long it
# took, and what the guest itself saw. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
# The playbooks name no cloud: openstacksdk takes the lab's from OS_CLOUD.
export OS_CLIENT_CONFIG_FILE=$PWD/lab/clouds.yaml OS_CLOUD=lab PIP_CONFIG_FILE=/dev/null
playbook=.venv/bin/ansible-playbook
report=()

step() {  # step LABEL COMMAND...
  local label=$1; shift
  local started=$SECONDS
  echo "=== $label"
  "$@"
  report+=("$(printf '%-52s %4ds' "$label" $((SECONDS - started)))")
}

where() {  # where SERVER -> "host status"
  .venv/bin/openstack --os-cloud lab server show "$1" -f value -c OS-EXT-SRV-ATTR:host -c status | paste -sd' '
}

guest_line() {  # guest_line HOST UUID PATTERN -> last matching console line
  lab/lab.sh ssh "$1" "grep -a '$3' /var/lib/nova/instances/$2/console.log | tail -n1" 2>/dev/null || true
}

step "prepare the cloud (site.yml)" $playbook -i lab/hosts playbooks/site.yml
step "image, flavor, network, subnet, myinstance (server.yml)" \
  $playbook playbooks/server.yml -e novaops_server_host=compute1 -e novaops_server_image_file=lab/state/images/guest.qcow2
uuid=$(.venv/bin/openstack --os-cloud lab server show myinstance -f value -c id)
start_host=$(where myinstance | cut -d' ' -f1)
before=$(guest_line "$start_host" "$uuid" 'novaops-guest: tick=')
step "live migration of myinstance -> compute2" \
  $playbook -i lab/hosts playbooks/migrate.yml -e instance=myinstance -e target=compute2 -e mode=live
after_live=$(guest_line compute2 "$uuid" 'novaops-guest: tick=')
step "cold migration (api) of myinstance -> compute1" \
  $playbook -i lab/hosts playbooks/migrate.yml -e instance=myinstance -e target=compute1 -e mode=cold
sleep 10
booted=$(guest_line compute1 "$uuid" 'novaops-guest: booted')
# The procedure's own cold migration (copy, chown, database), done right:
# back to compute2 live, then by hand to compute1.
step "live migration of myinstance -> compute2" \
  $playbook -i lab/hosts playbooks/migrate.yml -e instance=myinstance -e target=compute2 -e mode=live
step "cold migration (manual) of myinstance -> compute1" \
  $playbook -i lab/hosts playbooks/migrate.yml -e instance=myinstance -e target=compute1 -e mode=cold \
  -e cold_method=manual -e allow_stop=true
sleep 10
booted_manual=$(guest_line compute1 "$uuid" 'novaops-guest: booted')

echo
echo "=== report"
printf '%s\n' "${report[@]}"
echo "myinstance ($uuid): started on $start_host, now $(where myinstance)"
echo "guest before live migration: ${before:-?}"
echo "guest after live migration:  ${after_live:-?}"
echo "guest after cold migration:  ${booted:-?}"
echo "guest after manual cold migration: ${booted_manual:-?}"
audit_rc=0
lab/lab.sh ssh controller "sudo -u nova /opt/openstack/bin/nova-manage --config-file /etc/nova/nova.conf \
  placement audit 2>/dev/null" || audit_rc=$?
echo "nova-manage placement audit: exit $audit_rc (0: no orphaned allocations)"
