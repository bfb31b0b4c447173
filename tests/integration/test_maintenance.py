"""Rolling maintenance of compute1 and compute2 on the lab (playbooks/maintenance.yml).

One running server on each compute. First a maintenance whose step leaves
compute1's nova-compute stopped (a failed upgrade): the play drains compute1,
runs the step, waits health_timeout for compute1 to come back and stops
there, with compute1 still disabled, compute2 untouched and every server
running. Then, nova-compute repaired, the same command with a real reboot as
the step and the same state file resumes: compute1 is not maintained again
(its phase says so), only checked and enabled; compute2 is drained, rebooted
(ansible.builtin.reboot) and put back. A third run changes nothing.

Every server created here is deleted at the end, and both computes enabled
with nova-compute running, even when a test fails. The tests run in order and
share the servers and the state file.
"""
import json
import os
import pathlib
import subprocess
import sys
import time

import pytest

from conftest import REPO, delete_guest_resources, guest_resources, wait_until
from test_migrate import Run

PLAYBOOK = "playbooks/maintenance.yml"
ANSIBLE_PLAYBOOK = str(pathlib.Path(sys.executable).parent / "ansible-playbook")
OPENSTACK = str(pathlib.Path(sys.executable).parent / "openstack")
NAMES = {"mig-maint-1": "compute1", "mig-maint-2": "compute2"}
REASON = "novaops maintenance test"
BREAK = str(REPO / "tests" / "integration" / "files" / "maintenance-stop-nova-compute.yml")
REBOOT = str(REPO / "lab" / "maintenance-reboot.yml")
LOGS = REPO / "tests" / "output" / "logs"
MEASURED = {}


def maintain(run_timeout=1200, **extra_vars):
    extra_vars.setdefault("hosts", "compute1,compute2")
    extra_vars.setdefault("reason", REASON)
    argv = [ANSIBLE_PLAYBOOK, "-i", "lab/hosts", PLAYBOOK, "-e", json.dumps(extra_vars)]
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(REPO / "lab" / "clouds.yaml"), OS_CLOUD="lab",
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    started = time.monotonic()
    run = Run(subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=run_timeout,
                             check=False))
    run.wall = round(time.monotonic() - started, 1)
    LOGS.mkdir(parents=True, exist_ok=True)
    with open(LOGS / "test_maintenance.log", "a", encoding="utf-8") as log:
        log.write(f"\n===== {' '.join(argv[3:])} (rc {run.rc}, {run.wall} s)\n{run.raw}")
    return run


def osc(*args):
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(REPO / "lab" / "clouds.yaml"), OS_CLOUD="lab")
    result = subprocess.run([OPENSTACK, *args], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"openstack {' '.join(args)}: {result.stderr.strip()}"


def compute_service(cloud, host):
    return [s for s in cloud.compute.services(binary="nova-compute") if s.host == host][0]


def init_started(lab_hosts, host):
    """When the host's init (PID 1) started, in clock ticks: it changes when the host reboots."""
    return lab_hosts[host].run("awk '{print $22}' /proc/1/stat").stdout.strip()


def where(cloud, servers):
    return {name: (cloud.compute.get_server(s.id).status, cloud.compute.get_server(s.id).compute_host)
            for name, s in servers.items()}


def healthy(cloud, lab_hosts):
    """Both computes with nova-compute running, enabled and up."""
    for host in ("compute1", "compute2"):
        if lab_hosts[host].run("systemctl is-active nova-compute", check=False).stdout.strip() != "active":
            lab_hosts[host].run("systemctl start nova-compute")
        if compute_service(cloud, host).status != "enabled":
            osc("compute", "service", "set", "--enable", host, "nova-compute")
    wait_until(lambda: all(compute_service(cloud, host).state == "up" for host in ("compute1", "compute2")), 180,
               interval=3, what="both nova-compute up")


@pytest.fixture(scope="module", autouse=True)
def prepared_for_migration(prepared_lab):
    return prepared_lab


@pytest.fixture(scope="module")
def state_file(tmp_path_factory):
    return tmp_path_factory.mktemp("maintenance") / "state.json"


@pytest.fixture(scope="module")
def servers(cloud, lab_hosts):
    created, made = {}, []
    try:
        image, flavor, network, made = guest_resources(cloud)
        for name in NAMES:
            for stale in cloud.compute.servers(name=f"^{name}$", all_projects=True):
                cloud.compute.delete_server(stale)
                cloud.compute.wait_for_delete(stale, wait=120)
        healthy(cloud, lab_hosts)
        for name, host in NAMES.items():
            created[name] = cloud.compute.create_server(name=name, image_id=image.id, flavor_id=flavor.id,
                                                        networks=[{"uuid": network.id}],
                                                        availability_zone=f"nova:{host}")
        for name in NAMES:
            created[name] = cloud.compute.wait_for_server(created[name], wait=300)
        assert where(cloud, created) == {name: ("ACTIVE", host) for name, host in NAMES.items()}
        yield created
    finally:
        healthy(cloud, lab_hosts)
        for server in created.values():
            cloud.compute.delete_server(server, ignore_missing=True)
        for server in created.values():
            cloud.compute.wait_for_delete(server, wait=180)
        delete_guest_resources(cloud, made)
        print("\nmeasured:", MEASURED)


def test_a_host_that_does_not_come_back_stops_the_maintenance(cloud, lab_hosts, servers, state_file, tmp_path):
    report_file = tmp_path / "report.json"
    compute2_init = init_started(lab_hosts, "compute2")
    started = time.monotonic()
    run = maintain(maintenance_tasks=BREAK, state_file=str(state_file), health_timeout=30,
                   report_file=str(report_file))
    MEASURED["maintenance stopped at compute1 (s)"] = round(time.monotonic() - started, 1)
    assert run.rc != 0, run
    assert "Maintenance of compute1, compute2: 0 of 2 host(s) done" in run.text, run
    assert "stopped at compute1" in run.text, run
    # compute1 was emptied and stays out of the scheduler; compute2 was not touched; every server runs.
    assert where(cloud, servers) == {name: ("ACTIVE", "compute2") for name in NAMES}
    assert compute_service(cloud, "compute1").status == "disabled"
    assert compute_service(cloud, "compute1").disabled_reason == REASON
    assert compute_service(cloud, "compute2").status == "enabled"
    assert init_started(lab_hosts, "compute2") == compute2_init
    state = json.loads(state_file.read_text())
    assert state["hosts"]["compute1"]["phase"] == "maintained"
    assert "compute2" not in state["hosts"]
    moves = state["hosts"]["compute1"]["drain"]["moves"]
    assert [(move["name"], move["mode"], move["moved"], move["host"]) for move in moves] == [
        ("mig-maint-1", "live", True, "compute2")]
    report = json.loads(report_file.read_text())
    assert report["playbook"] == "maintenance" and report["stopped_at"] == "compute1"


def test_the_repaired_run_resumes_and_reboots_the_next_host(cloud, lab_hosts, servers, state_file):
    lab_hosts["compute1"].run("systemctl start nova-compute")
    compute1_init, compute2_init = init_started(lab_hosts, "compute1"), init_started(lab_hosts, "compute2")
    started = time.monotonic()
    run = maintain(maintenance_tasks=REBOOT, state_file=str(state_file), progress_interval=2)
    MEASURED["resumed maintenance, compute2 drained and rebooted (s)"] = round(time.monotonic() - started, 1)
    assert run.rc == 0, run
    assert "compute1 resumes after the phase maintained" in run.text, run
    assert "Maintenance of compute1, compute2: 2 of 2 host(s) done" in run.text, run
    # compute1's step had run already: it was not rebooted; compute2 was.
    assert init_started(lab_hosts, "compute1") == compute1_init
    assert init_started(lab_hosts, "compute2") != compute2_init
    for host in ("compute1", "compute2"):
        assert compute_service(cloud, host).status == "enabled"
    assert where(cloud, servers) == {name: ("ACTIVE", "compute1") for name in NAMES}
    assert lab_hosts["compute2"].run("systemctl is-active libvirtd-tcp.socket", check=False).stdout.strip() == \
        "active"
    state = json.loads(state_file.read_text())
    assert {host: entry["phase"] for host, entry in state["hosts"].items()} == dict(compute1="done", compute2="done")


def test_a_finished_maintenance_changes_nothing(cloud, servers, state_file):
    run = maintain(maintenance_tasks=REBOOT, state_file=str(state_file))
    assert run.rc == 0, run
    assert run.changed == 0, run
    assert "compute1, compute2 done already (state file), none to go" in run.text, run
