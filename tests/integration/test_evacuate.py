"""Evacuating a dead compute1 on the lab with the collection's own playbook (playbooks/evacuate.yml).

Three small servers on compute1, on local disks: one running, one stopped,
one reset to ERROR. First the refusals that must change nothing: compute1
alive with only its nova-compute stopped (Nova still counts it up, and the
host answers), then compute1 powered off (`lab.sh stop-host`, the plug
pulled) but evacuation would rebuild the servers from their image and
allow_rebuild is not given. Then the evacuation itself: the play waits for
Nova to count the silent host down, forces it down, rebuilds the three on
compute2 and reports; a second run changes nothing. Last, compute1 is
powered on again; its nova-compute removes the evacuated guests, and
`-e recover=true` checks that (no guest defined twice, no allocation left on
compute1) before it unsets the forced-down state and enables compute1.

Every server created here is deleted at the end, and compute1 powered on,
un-forced and enabled again, even when a test fails. The tests run in order
and share the servers.
"""
import json
import os
import pathlib
import re
import subprocess
import sys
import time

import pytest

from conftest import REPO, delete_guest_resources, guest_resources, wait_until
from test_migrate import Run

PLAYBOOK = "playbooks/evacuate.yml"
ANSIBLE_PLAYBOOK = str(pathlib.Path(sys.executable).parent / "ansible-playbook")
OPENSTACK = str(pathlib.Path(sys.executable).parent / "openstack")
LAB_SH = str(REPO / "lab" / "lab.sh")
RUNNING, STOPPED, BROKEN = "mig-evac-run", "mig-evac-off", "mig-evac-broken"
NAMES = (RUNNING, STOPPED, BROKEN)
LOGS = REPO / "tests" / "output" / "logs"
MEASURED = {}


def evacuate(check=False, run_timeout=900, **extra_vars):
    """Run the evacuation playbook; extra_vars become -e (host defaults to compute1)."""
    extra_vars.setdefault("host", "compute1")
    argv = [ANSIBLE_PLAYBOOK, "-i", "lab/hosts", PLAYBOOK, "-e", json.dumps(extra_vars)]
    if check:
        argv.append("--check")
    # The playbook names no cloud: openstacksdk takes the lab's from OS_CLOUD, as an operator's would.
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(REPO / "lab" / "clouds.yaml"), OS_CLOUD="lab",
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    started = time.monotonic()
    run = Run(subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=run_timeout,
                             check=False))
    run.wall = round(time.monotonic() - started, 1)
    LOGS.mkdir(parents=True, exist_ok=True)
    with open(LOGS / "test_evacuate.log", "a", encoding="utf-8") as log:
        log.write(f"\n===== {' '.join(argv[3:])} (rc {run.rc}, {run.wall} s)\n{run.raw}")
    return run


def osc(*args):
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(REPO / "lab" / "clouds.yaml"), OS_CLOUD="lab")
    result = subprocess.run([OPENSTACK, *args], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"openstack {' '.join(args)}: {result.stderr.strip()}"


def lab(*args):
    result = subprocess.run([LAB_SH, *args], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, f"lab.sh {' '.join(args)}: {result.stderr.strip()[-2000:]}"


def compute_service(cloud, host):
    return [s for s in cloud.compute.services(binary="nova-compute") if s.host == host][0]


def where(cloud, servers):
    """name -> (status, host) as Nova says now."""
    return {name: (cloud.compute.get_server(server.id).status, cloud.compute.get_server(server.id).compute_host)
            for name, server in servers.items()}


def provider_traits(cloud, name):
    provider = list(cloud.placement.resource_providers(name=name))[0]
    return cloud.placement.get(f"/resource_providers/{provider.id}/traits", microversion="1.6").json()["traits"]


def put_compute1_back(cloud, lab_hosts):
    """compute1 powered on, its nova-compute running, not forced down, enabled."""
    lab("start-host", "compute1")
    wait_until(lambda: lab_hosts["compute1"].run("systemctl is-active nova-compute", check=False).stdout.strip()
               == "active", 180, interval=2, what="nova-compute active on compute1")
    service = compute_service(cloud, "compute1")
    if service.is_forced_down:
        osc("--os-compute-api-version", "2.53", "compute", "service", "set", "--up", "compute1", "nova-compute")
    # Enabled only once Nova counts it up: else Nova leaves the provider's COMPUTE_STATUS_DISABLED trait and
    # the scheduler skips compute1 until its nova-compute restarts.
    wait_until(lambda: compute_service(cloud, "compute1").state == "up", 180, interval=3,
               what="nova-compute on compute1 up")
    if service.status != "enabled":
        osc("compute", "service", "set", "--enable", "compute1", "nova-compute")
    wait_until(lambda: "COMPUTE_STATUS_DISABLED" not in provider_traits(cloud, "compute1"), 120, interval=3,
               what="compute1's provider without COMPUTE_STATUS_DISABLED")


# -- fixtures -------------------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def prepared_for_migration(prepared_lab):
    return prepared_lab


@pytest.fixture(scope="module")
def servers(cloud, lab_hosts):
    """The three servers on compute1, in their states; deleted at the end whatever happened."""
    created = {}
    made = []
    try:
        image, flavor, network, made = guest_resources(cloud)
        for name in NAMES:
            for stale in cloud.compute.servers(name=f"^{name}$", all_projects=True):
                cloud.compute.delete_server(stale)
                cloud.compute.wait_for_delete(stale, wait=120)
        for host in ("compute1", "compute2"):
            service = compute_service(cloud, host)
            if service.status != "enabled" or service.is_forced_down:
                put_compute1_back(cloud, lab_hosts) if host == "compute1" else osc(
                    "compute", "service", "set", "--enable", host, "nova-compute")

        for name in NAMES:
            created[name] = cloud.compute.create_server(name=name, image_id=image.id, flavor_id=flavor.id,
                                                        networks=[{"uuid": network.id}],
                                                        availability_zone="nova:compute1")
        for name in NAMES:
            created[name] = cloud.compute.wait_for_server(created[name], wait=300)
        cloud.compute.stop_server(created[STOPPED])
        cloud.compute.wait_for_server(created[STOPPED], status="SHUTOFF", wait=180)
        osc("server", "set", "--auto-approve", "--state", "error", created[BROKEN].id)
        assert where(cloud, created) == {RUNNING: ("ACTIVE", "compute1"), STOPPED: ("SHUTOFF", "compute1"),
                                         BROKEN: ("ERROR", "compute1")}
        yield created
    finally:
        put_compute1_back(cloud, lab_hosts)
        for server in created.values():
            cloud.compute.delete_server(server, ignore_missing=True)
        for server in created.values():
            cloud.compute.wait_for_delete(server, wait=180)
        delete_guest_resources(cloud, made)
        print("\nmeasured:", MEASURED)


# -- refusals that change nothing ------------------------------------------------------

def test_a_host_that_answers_is_not_evacuated(cloud, lab_hosts, servers):
    compute1 = lab_hosts["compute1"]
    compute1.run("systemctl stop nova-compute")
    try:
        run = evacuate(allow_rebuild=True)
    finally:
        compute1.run("systemctl start nova-compute")
    assert run.rc != 0, run
    assert "Not evacuating compute1, nothing was changed" in run.text, run
    assert "compute1 answers ssh and ICMP from the controller" in run.text, run
    service = compute_service(cloud, "compute1")
    assert service.is_forced_down is False and service.status == "enabled"
    assert {name: state[1] for name, state in where(cloud, servers).items()} == dict.fromkeys(NAMES, "compute1")
    wait_until(lambda: compute_service(cloud, "compute1").state == "up", 120, interval=3,
               what="nova-compute on compute1 up again")


def test_servers_on_local_disks_are_not_rebuilt_without_allow_rebuild(cloud, servers):
    lab("stop-host", "compute1")
    started = time.monotonic()
    run = evacuate()
    MEASURED["refusal after waiting for Nova to count compute1 down (s)"] = round(time.monotonic() - started, 1)
    assert run.rc != 0, run
    # The play waited for Nova to see the silent host down, then refused on the plan, before forcing anything.
    assert "nova-compute on compute1 is down in the API" in run.text, run
    assert "compute1 answers neither ssh nor ICMP from the controller" in run.text, run
    # Any other server on compute1 (another test's) is counted too.
    assert "Not evacuating compute1, nothing was changed: " in run.text and " would lose data" in run.text, run
    for name in NAMES:
        assert f"{name} ({servers[name].id}): its root disk is local" in run.text, run
    service = compute_service(cloud, "compute1")
    assert service.is_forced_down is False and service.status == "enabled"
    assert {name: state[1] for name, state in where(cloud, servers).items()} == dict.fromkeys(NAMES, "compute1")


# -- the evacuation -------------------------------------------------------------------

def test_check_mode_predicts_the_evacuation(cloud, servers):
    run = evacuate(check=True, allow_rebuild=True, target="compute2")
    assert run.rc == 0, run
    assert "Evacuation of compute1 (check mode): " in run.text, run
    assert " would be evacuated, 0 would stay on compute1" in run.text, run
    assert f"{BROKEN} ({servers[BROKEN].id}): evacuation compute1 -> compute2, would come back ACTIVE" in run.text
    service = compute_service(cloud, "compute1")
    assert service.is_forced_down is False and service.status == "enabled"
    assert {name: state[1] for name, state in where(cloud, servers).items()} == dict.fromkeys(NAMES, "compute1")


def test_a_fenced_host_is_evacuated_and_each_server_comes_back_in_its_state(cloud, lab_hosts, servers, tmp_path):
    report_file = tmp_path / "evacuation.json"
    started = time.monotonic()
    # The lab's fencing step powers compute1 off (it already is: lab.sh says so and succeeds).
    run = evacuate(allow_rebuild=True, fence=str(REPO / "lab" / "fence.yml"), novaops_lab_sh=LAB_SH,
                   report_file=str(report_file), progress_interval=2)
    MEASURED["evacuation of 3 servers (s)"] = round(time.monotonic() - started, 1)
    assert run.rc == 0, run
    assert "the fencing step succeeded" in run.text, run
    assert re.search(r"Evacuation of compute1: \d+ server\(s\) evacuated, 0 still on compute1", run.text), run
    assert where(cloud, servers) == {RUNNING: ("ACTIVE", "compute2"), STOPPED: ("SHUTOFF", "compute2"),
                                     BROKEN: ("ACTIVE", "compute2")}
    service = compute_service(cloud, "compute1")
    assert service.is_forced_down is True and service.status == "disabled"
    assert service.disabled_reason == "evacuated by novaops.migration: host failed"
    report = json.loads(report_file.read_text())
    assert report["playbook"] == "evacuate" and report["verdict"] == "gone"
    assert sorted((entry["name"], entry["evacuated"], entry["host"], entry["rebuild"])
                  for entry in report["evacuations"] if entry["name"] in NAMES) == [
        (name, True, "compute2", True) for name in sorted(NAMES)]
    # The rebuilt guests run on compute2 (QEMU there), the stopped one does not.
    running = lab_hosts["compute2"].run("virsh list --name", check=False).stdout.split()
    for name, should_run in ((RUNNING, True), (BROKEN, True), (STOPPED, False)):
        instance = cloud.compute.get_server(servers[name].id).instance_name
        assert (instance in running) is should_run, (name, instance, running)
    # Each port is bound to compute2 now.
    for name in NAMES:
        ports = list(cloud.network.ports(device_id=servers[name].id))
        assert [port.binding_host_id for port in ports] == ["compute2"], (name, ports)


def test_a_second_evacuation_changes_nothing(cloud, servers):
    run = evacuate(allow_rebuild=True)
    assert run.rc == 0, run
    assert run.changed == 0, run
    assert "Evacuation of compute1: 0 server(s) evacuated, 0 still on compute1" in run.text, run


# -- the host comes back --------------------------------------------------------------

def test_the_host_that_came_back_is_checked_then_put_back_in_service(cloud, lab_hosts, servers):
    lab("start-host", "compute1")
    started = time.monotonic()
    run = evacuate(recover=True, cleanup_timeout=300)
    MEASURED["recovery of compute1 (s)"] = round(time.monotonic() - started, 1)
    assert run.rc == 0, run
    # Evacuations from compute1 by earlier runs are checked too.
    assert re.search(r"Recovery of compute1: (\d+) evacuation\(s\) cleaned up by its nova-compute, \d+ server\(s\) "
                     r"and \d+ guest\(s\) checked, no guest runs twice\.", run.text), run
    service = compute_service(cloud, "compute1")
    assert service.is_forced_down is False and service.status == "enabled"
    wait_until(lambda: compute_service(cloud, "compute1").state == "up", 120, interval=3,
               what="nova-compute on compute1 up")
    # The scheduler may place servers there again: its provider lost the trait that filters disabled hosts.
    assert "COMPUTE_STATUS_DISABLED" not in provider_traits(cloud, "compute1")
    # Nothing of the evacuated servers is left on compute1: no guest, no instance directory, no allocation.
    defined = lab_hosts["compute1"].run("virsh list --all --name", check=False).stdout.split()
    for name, server in servers.items():
        current = cloud.compute.get_server(server.id)
        assert current.instance_name not in defined, (name, defined)
        assert lab_hosts["compute1"].run(f"test -e /var/lib/nova/instances/{server.id}", check=False).returncode, name
        providers = dict(cloud.placement.get_allocation(server.id).allocations or {})
        compute1 = [p.id for p in cloud.placement.resource_providers(name="compute1")]
        assert not set(providers) & set(compute1), (name, providers)
    again = evacuate(recover=True)
    assert again.rc == 0 and again.changed == 0, again
