"""The manual cold migration on the lab (migrate.yml -e mode=cold -e cold_method=manual).

One server, `mig-manual`, moves compute1 -> compute2 by hand and back, then
through the faults; every case ends with Nova, Placement, Neutron and libvirt
agreeing on exactly one host and the guest's disk record intact (the same
`disk_id`, one boot more). Faults are injected with the tasks file's own
checkpoint (manual_stop_before, validated), a connection URL to a closed
port, rsync's --bwlimit to make a copy slow enough to kill or to race,
libvirt stopped, an inventory without the source) rather than by sleeping.
"""
import os
import pathlib
import re
import signal
import subprocess
import threading

import pytest

from conftest import REPO, wait_until
from test_migrate import (COMPUTES, LIBVIRT_UNITS, boots, defined_hosts, migrate, qemu_hosts, service_state)

SERVER = "mig-manual"
SLOW_COPY = "--bwlimit=64"
LAB_HOSTS_DIR = pathlib.Path(os.environ.get("NOVAOPS_LAB_DIR", "/var/lib/novaops-lab")) / "hosts"
MEASURED = {}
MANUAL = dict(mode="cold", cold_method="manual", allow_stop="true")
MANUAL_REPORT = re.compile(r"([\w.-]+) -> ([\w.-]+), cold migration \(manual\), done in ([\d.]+) s, now (\w+) on "
                           r"([\w.-]+)")


def manual(target, **extra):
    return migrate(target, instance=SERVER, **dict(MANUAL, **extra))


def provider_usage_counts(cloud, host, server_id):
    """Whether the host's resource provider counts the server (it holds allocations there)."""
    provider = list(cloud.placement.resource_providers(name=host))[0]
    allocation = cloud.placement.get_allocation(server_id)
    return provider.id in (allocation.allocations or {})


def placement_audit(lab_hosts):
    result = lab_hosts["controller"].run(
        "sudo -u nova /opt/openstack/bin/nova-manage --config-file /etc/nova/nova.conf placement audit --verbose",
        check=False, timeout=120)
    return result


def assert_consistent_on(cloud, lab_hosts, server, host, disk_id):
    """Nova, Placement, Neutron, libvirt agree on `host`; the guest booted from the same disk there."""
    current = cloud.compute.get_server(server.id)
    assert current.compute_host == host and current.hypervisor_hostname == host
    assert current.status == "ACTIVE" and not current.task_state, (current.status, current.task_state)
    assert qemu_hosts(lab_hosts, current.instance_name) == [host]
    assert defined_hosts(lab_hosts, current.instance_name) == [host]
    other = [name for name in COMPUTES if name != host][0]
    assert provider_usage_counts(cloud, host, server.id)
    assert not provider_usage_counts(cloud, other, server.id), f"{other}'s provider still counts the server"
    ports = list(cloud.network.ports(device_id=server.id))
    assert ports and all(port.binding_host_id == host for port in ports)
    wait_until(lambda: all(cloud.network.get_port(port.id).status == "ACTIVE" for port in ports), 90,
               what=f"the ports ACTIVE on {host}")
    audit = placement_audit(lab_hosts)
    assert audit.returncode == 0, f"placement audit rc {audit.returncode}: {audit.stdout} {audit.stderr}"
    assert "orphaned" not in audit.stdout.lower() or "0 orphaned" in audit.stdout.lower(), audit.stdout
    latest = wait_until(lambda: boots(lab_hosts, host, server.id), 120, what=f"the guest booted on {host}")[-1]
    assert latest["disk_id"] == disk_id, "the disk did not survive the move"
    return latest


@pytest.fixture(scope="module", autouse=True)
def prepared_for_migration(prepared_lab):
    """Every test here needs the computes prepared by playbooks/site.yml."""
    return prepared_lab


@pytest.fixture(scope="module")
def server(cloud, lab_hosts):
    image = cloud.image.find_image("mig-guest") or cloud.create_image(
        "mig-guest", filename=str(REPO / "lab/state/images/guest.qcow2"), disk_format="qcow2",
        container_format="bare", wait=True, os_shutdown_timeout="5")
    flavor = cloud.compute.find_flavor("mig-tiny") or cloud.compute.create_flavor(
        name="mig-tiny", ram=128, vcpus=1, disk=1)
    network = cloud.network.find_network("mig-manual-net") or cloud.network.create_network(name="mig-manual-net")
    if not list(cloud.network.subnets(network_id=network.id)):
        cloud.network.create_subnet(network_id=network.id, cidr="192.168.79.0/24", ip_version=4,
                                    name="mig-manual-subnet")
    for stale in cloud.compute.servers(name=f"^{SERVER}$", all_projects=True):
        cloud.compute.delete_server(stale)
        cloud.compute.wait_for_delete(stale, wait=120)
    created = cloud.compute.create_server(name=SERVER, image_id=image.id, flavor_id=flavor.id,
                                          networks=[{"uuid": network.id}], availability_zone="nova:compute1")
    created = cloud.compute.wait_for_server(created, wait=300)
    created.first_boot = wait_until(lambda: boots(lab_hosts, "compute1", created.id), 120,
                                    what="the guest's first boot")[-1]
    yield created
    # Deleting while a nova-compute is down would leave the guest and its files behind there.
    computes_in_service(cloud, lab_hosts)
    cloud.compute.delete_server(created)
    cloud.compute.wait_for_delete(created, wait=180)
    cloud.network.delete_network(network)
    print("\nmeasured (manual):", MEASURED)


def in_host_namespaces(name, command):
    """Run a command as the lab's own root inside a host's namespaces (mounts a container may not do)."""
    pid = (LAB_HOSTS_DIR / name / "nspawn.pid").read_text().strip()
    init = subprocess.run(["pgrep", "-P", pid], capture_output=True, text=True, check=True).stdout.split()[0]
    return subprocess.run(["nsenter", "-t", init, "-a", "--", "sh", "-c", command], capture_output=True,
                          text=True, check=True, timeout=60)


def untouched(cloud, lab_hosts, server, host):
    """Nothing changed: still ACTIVE on host, running there only."""
    current = cloud.compute.get_server(server.id)
    assert (current.compute_host, current.status) == (host, "ACTIVE"), (current.compute_host, current.status)
    assert qemu_hosts(lab_hosts, server.instance_name) == [host]


def slow_manual_run_in_background(target):
    """A manual move whose copy is slowed down enough to interrupt it; returns (thread, outcome)."""
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(run=manual(target, rsync_extra_options=SLOW_COPY)))
    thread.start()
    return thread, outcome


def slow_copy_running(lab_hosts, host, server):
    """Whether the slowed rsync of the instance directory runs (not the backing file's, which comes first)."""
    return any(SLOW_COPY in line and f"/{server.id}/" in line
               for line in lab_hosts[host].run("pgrep -af rsync", check=False).stdout.splitlines())


def wait_for_the_slow_copy(lab_hosts, host, server, thread, outcome):
    """Until the slowed copy runs; a run that ended before (refused, failed) fails the test with its output at once."""
    wait_until(lambda: slow_copy_running(lab_hosts, host, server) or not thread.is_alive(), 240,
               interval=0.5, what="the slow copy running")
    if not thread.is_alive():
        raise AssertionError(f"the slowed run ended before its copy was seen: {outcome.get('run')}")


def disk_gb_total(cloud, host):
    provider = list(cloud.placement.resource_providers(name=host))[0]
    return sum(inventory.total for inventory in cloud.placement.resource_provider_inventories(provider)
               if inventory.resource_class == "DISK_GB")


def computes_in_service(cloud, lab_hosts):
    """Every compute's nova-compute running and seen up, whatever a test left behind."""
    for name in COMPUTES:
        lab_hosts[name].run("systemctl start nova-compute")
    for name in COMPUTES:
        wait_until(lambda: service_state(cloud, name)[0] == "up", 180, interval=5, what=f"nova-compute on {name} up")


def rerun_finishes_the_move(cloud, lab_hosts, server, target):
    """The same command run again completes the move, consistent on the target with the guest's disk."""
    finished = manual(target)
    assert finished.rc == 0, finished
    assert_consistent_on(cloud, lab_hosts, server, target, server.first_boot["disk_id"])


def where(cloud, server):
    return cloud.compute.get_server(server.id).compute_host


def other_than(host):
    return [name for name in COMPUTES if name != host][0]


# -- the move ---------------------------------------------------------------------------

def test_manual_move_and_back(cloud, lab_hosts, server):
    disk_id = server.first_boot["disk_id"]
    predicted = manual("compute2", check=True)
    assert predicted.rc == 0, predicted
    assert "compute1 -> compute2, cold migration (manual), would move (check mode)" in predicted.text
    assert where(cloud, server) == "compute1"

    moved = manual("compute2")
    assert moved.rc == 0, moved
    report = MANUAL_REPORT.search(moved.text)
    assert report and report.group(1, 2, 4, 5) == ("compute1", "compute2", "ACTIVE", "compute2"), moved
    MEASURED["manual compute1->compute2 (playbook wall)"] = moved.wall
    booted = assert_consistent_on(cloud, lab_hosts, server, "compute2", disk_id)
    assert booted["boots"] > server.first_boot["boots"]
    assert lab_hosts["compute1"].run(f"test -e /var/lib/nova/instances/{server.id}", check=False).returncode != 0

    again = manual("compute2")
    assert again.rc == 0 and "already runs on compute2: nothing to move" in again.text, again
    assert again.changed == 0

    back = manual("compute1")
    assert back.rc == 0, back
    assert_consistent_on(cloud, lab_hosts, server, "compute1", disk_id)


# -- bad input: clear error, nothing changed --------------------------------------------------

def test_active_without_permission_to_stop(cloud, lab_hosts, server):
    host = where(cloud, server)
    run = migrate(other_than(host), instance=SERVER, mode="cold", cold_method="manual")
    assert run.rc != 0
    assert "the manual method shuts it down for the copy" in run.text and "allow_stop=true" in run.text
    assert qemu_hosts(lab_hosts, server.instance_name) == [host]


def test_unknown_database_credentials(cloud, lab_hosts, server):
    """A wrong password stops the move at the database step; the re-run finishes it."""
    host = where(cloud, server)
    target = other_than(host)
    run = manual(target, nova_db_connection="mysql+pymysql://nova:wrong-password@127.0.0.1/nova")
    assert run.rc != 0
    assert "refused user 'nova' (access denied)" in run.text
    assert "wrong-password" not in run.raw
    assert where(cloud, server) == host
    assert defined_hosts(lab_hosts, server.instance_name) == [host]
    rerun_finishes_the_move(cloud, lab_hosts, server, target)


# -- faults: each ends on exactly one host, consistent --------------------------------------

def test_database_unreachable_at_the_update_step(cloud, lab_hosts, server):
    host = where(cloud, server)
    target = other_than(host)
    run = manual(target, nova_db_connection="mysql+pymysql://nova:x@127.0.0.1:3399/nova")
    assert run.rc != 0
    assert "cannot connect to nova's database at 127.0.0.1:3399" in run.text
    assert where(cloud, server) == host and defined_hosts(lab_hosts, server.instance_name) == [host]
    rerun_finishes_the_move(cloud, lab_hosts, server, target)


def test_rsync_killed_mid_copy(cloud, lab_hosts, server):
    host = where(cloud, server)
    target = other_than(host)
    thread, outcome = slow_manual_run_in_background(target)
    wait_for_the_slow_copy(lab_hosts, host, server, thread, outcome)
    lab_hosts[host].run(f"pkill -KILL -f 'rsync .*{SLOW_COPY}'", check=False)
    thread.join(600)
    run = outcome["run"]
    assert run.rc != 0 and "Nova's records still name" in run.text, run
    assert where(cloud, server) == host
    assert lab_hosts[target].run(f"test -e /var/lib/nova/instances/{server.id}", check=False).returncode != 0, \
        "a half copy was put in place"
    rerun_finishes_the_move(cloud, lab_hosts, server, target)


def test_interrupted_then_target_nova_compute_down_at_start(cloud, lab_hosts, server):
    host = where(cloud, server)
    target = other_than(host)
    run = manual(target, manual_stop_before="start")
    assert run.rc != 0 and "Stopped before the step 'start'" in run.text
    assert where(cloud, server) == target  # the commit point is passed: Nova names the target
    lab_hosts[target].run("systemctl stop nova-compute")
    try:
        finished = manual(target)
        assert finished.rc == 0, finished
        assert lab_hosts[target].run("systemctl is-active nova-compute", check=False).stdout.strip() == "active"
    finally:
        computes_in_service(cloud, lab_hosts)
    assert_consistent_on(cloud, lab_hosts, server, target, server.first_boot["disk_id"])


def libvirt_down(host):
    host.run(f"systemctl stop libvirtd.service libvirtd-tcp.socket {LIBVIRT_UNITS}")


def libvirt_back(cloud, host):
    host.run(f"systemctl start {LIBVIRT_UNITS} libvirtd-tcp.socket && systemctl start libvirtd.service")
    # nova-compute disabled itself when libvirt went away ("AUTO: Connection to libvirt lost").
    host.run("systemctl restart nova-compute")
    wait_until(lambda: service_state(cloud, host.name) == ("up", "enabled"), 180, interval=5,
               what=f"nova-compute on {host.name} up and enabled again")


def test_failure_after_the_guest_ran_on_the_target_is_not_rolled_back(cloud, lab_hosts, server):
    """Once started on the target the guest's disk there is the newest: a later failure keeps it, the re-run
    finishes (the rollback of old booted the source's pre-move copy and lost every write since)."""
    host = where(cloud, server)
    target = other_than(host)
    first = manual(target, manual_stop_before="verify", keep_source="true")
    assert first.rc != 0 and "Stopped before the step 'verify'" in first.text, first
    assert qemu_hosts(lab_hosts, server.instance_name) == [target]
    libvirt_down(lab_hosts[target])
    try:
        failed = manual(target, keep_source="true")
    finally:
        libvirt_back(cloud, lab_hosts[target])
    assert failed.rc != 0, failed
    assert f"Nova's records already name {target}" in failed.text and "was rolled back" not in failed.text, failed
    assert where(cloud, server) == target
    assert qemu_hosts(lab_hosts, server.instance_name) == [target]
    assert lab_hosts[target].run(f"test -d /var/lib/nova/instances/{server.id}", check=False).returncode == 0
    rerun_finishes_the_move(cloud, lab_hosts, server, target)


@pytest.mark.xfail(reason="in the last lab run the first run's slowed copy of a fresh server was not seen within "
                          "240 s (in the run before, the refusal itself passed); not yet understood", strict=False)
def test_a_second_run_for_the_same_server_is_refused(cloud, lab_hosts, server):
    """Two runs for one server would kill each other's copy; the second is refused, the first finishes, and the
    server is locked while it moves (a tenant cannot start it on the source mid-copy)."""
    host = where(cloud, server)
    target = other_than(host)
    thread, outcome = slow_manual_run_in_background(target)
    try:
        wait_for_the_slow_copy(lab_hosts, host, server, thread, outcome)
        current = cloud.compute.get_server(server.id)
        assert current.is_locked, "the server is not locked during the move"
        second = manual(target)
        assert second.rc != 0, second
        assert "another run" in second.text and "is moving this server" in second.text, second
    finally:
        # Whatever failed, the first run must end before the next test moves the server.
        thread.join(900)
    # The first run is undisturbed: it finishes (a killed copy would have failed it).
    assert outcome["run"].rc == 0, outcome["run"]
    assert not cloud.compute.get_server(server.id).is_locked
    assert_consistent_on(cloud, lab_hosts, server, target, server.first_boot["disk_id"])


def test_source_missing_from_the_inventory_is_refused(cloud, lab_hosts, server, tmp_path):
    """Not a false "nothing to move": the source must be reachable, and nothing is changed."""
    host = where(cloud, server)
    target = other_than(host)
    lines = (REPO / "lab" / "hosts").read_text().splitlines()
    inventory = tmp_path / "hosts"
    inventory.write_text("\n".join(line for line in lines if not line.strip().startswith(host)) + "\n")
    run = manual(target, inventory=inventory)
    assert run.rc != 0, run
    assert f"{host} is not in the inventory group compute" in run.text and "nothing was changed" in run.text, run
    assert "nothing to move" not in run.text
    untouched(cloud, lab_hosts, server, host)


def test_source_nova_compute_stopped_before_the_move(cloud, lab_hosts, server):
    host = where(cloud, server)
    target = other_than(host)
    lab_hosts[host].run("systemctl stop nova-compute")
    try:
        run = manual(target)
        assert run.rc == 0, run
        assert_consistent_on(cloud, lab_hosts, server, target, server.first_boot["disk_id"])
    finally:
        computes_in_service(cloud, lab_hosts)
    # The returning nova-compute must not resurrect or destroy anything.
    assert_consistent_on(cloud, lab_hosts, server, target, server.first_boot["disk_id"])


def test_target_not_reachable_by_nova_over_ssh(cloud, lab_hosts, server):
    host = where(cloud, server)
    target = other_than(host)
    keys = "/var/lib/nova/.ssh/authorized_keys"
    lab_hosts[target].run(f"mv {keys} {keys}.away")
    try:
        run = manual(target)
    finally:
        lab_hosts[target].run(f"mv {keys}.away {keys}")
    assert run.rc != 0 and f"nova on {host} cannot ssh to" in run.text, run
    assert "nothing was changed" in run.text.lower(), run
    untouched(cloud, lab_hosts, server, host)


def test_target_out_of_disk_space(cloud, lab_hosts, server):
    """A target too small for the copy is refused before the server is stopped."""
    host = where(cloud, server)
    target = other_than(host)
    instances = "/var/lib/nova/instances"
    in_host_namespaces(target, f"mount -t tmpfs -o size=4m,mode=0755,uid=$(id -u nova),gid=$(id -g nova) "
                               f"novaops-full {instances}")
    try:
        run = manual(target)
    finally:
        in_host_namespaces(target, f"umount {instances}")
        # nova-compute may have reported the 4 MiB tmpfs to Placement (DISK_GB 0, as in a CI run): the next
        # move to this target would be refused for room until its next report, so it reports now.
        lab_hosts[target].run("systemctl restart nova-compute")
        wait_until(lambda: disk_gb_total(cloud, target) > 0, 180, interval=5,
                   what=f"Placement's DISK_GB on {target} back")
    # Two refusals can catch it, whichever sees the small disk first: the module's own free-space check
    # ("The target has 4.0 MiB free"), or Placement, once nova-compute reported the tmpfs (DISK_GB 0).
    assert run.rc != 0, run
    assert ("The target has" in run.text and "MiB free" in run.text) or \
        "DISK_GB 1 needed, the target has none" in run.text, run
    assert "nothing was changed" in run.text.lower(), run
    untouched(cloud, lab_hosts, server, host)


def test_network_cut_during_the_copy(cloud, lab_hosts, server):
    """The target's cable pulled mid-copy: the copy fails within a minute, the re-run finishes the move."""
    host = where(cloud, server)
    target = other_than(host)
    thread, outcome = slow_manual_run_in_background(target)
    wait_for_the_slow_copy(lab_hosts, host, server, thread, outcome)
    link = f"vb-{target}"
    subprocess.run(["ip", "link", "set", link, "down"], check=True)
    try:
        wait_until(lambda: SLOW_COPY not in lab_hosts[host].run("pgrep -af rsync", check=False).stdout, 120,
                   interval=2, what="the copy giving up on the cut network")
    finally:
        subprocess.run(["ip", "link", "set", link, "up"], check=True)
    thread.join(600)
    run = outcome["run"]
    assert run.rc != 0 and "Nova's records still name" in run.text, run
    assert where(cloud, server) == host
    wait_until(lambda: service_state(cloud, target)[0] == "up", 180, interval=5, what=f"{target} up again")
    rerun_finishes_the_move(cloud, lab_hosts, server, target)


def test_playbook_killed_mid_copy_then_rerun(cloud, lab_hosts, server):
    """ansible-playbook killed (as by a closed terminal) while it copies: the re-run finishes the move."""
    host = where(cloud, server)
    target = other_than(host)
    thread, outcome = slow_manual_run_in_background(target)
    wait_for_the_slow_copy(lab_hosts, host, server, thread, outcome)
    playbooks = subprocess.run(["pgrep", "-f", f"ansible-playbook .*{SLOW_COPY}"], capture_output=True,
                               text=True, check=False).stdout.split()
    assert playbooks, "the running ansible-playbook was not found"
    for pid in playbooks:
        os.kill(int(pid), signal.SIGKILL)
    thread.join(120)
    assert outcome["run"].rc != 0
    assert where(cloud, server) == host
    rerun_finishes_the_move(cloud, lab_hosts, server, target)
