"""Rolling maintenance of three computes on the lab (playbooks/maintenance.yml).

It needs a lab of three computes (`LAB_COMPUTES=3 make lab-up`; `make test` brings one up for this file after
the other integration tests). One running server on each compute:

1. A maintenance whose step leaves compute1's nova-compute stopped (a failed upgrade): the play drains
   compute1, runs the step, waits health_timeout for compute1's nova-compute to report again and stops there,
   saying so, with compute1 still disabled, compute2 and compute3 untouched and every server running.
2. nova-compute repaired, the same command with a real reboot as the step (ansible.builtin.reboot) and the
   same state file resumes: compute1 is not maintained again (its phase says so), only checked and enabled;
   compute2 is drained, rebooted and put back; the run is killed (SIGKILL, as a dead controller or a cancelled
   job would end it) once compute3 is drained.
3. The same command again resumes at compute3: drained again (nothing left to move), rebooted, put back.
4. A fourth run changes nothing.
5. All three maintained again with the reboot and move_back=true (a state file of its own), one host per host
   aggregate at a time (wave_by=aggregate; compute1 and compute3 in one aggregate, compute2 in another):
   compute1 and compute2 are drained together (both to compute3), rebooted at the same time and get their
   servers back, then compute3 alone once both are back in service; every server ends where it was.

Every server created here is deleted at the end, and every compute enabled with nova-compute running, even when
a test fails. The tests run in order and share the servers and the state file.
"""
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from conftest import COMPUTES, REPO, delete_guest_resources, guest_resources, wait_until
from test_migrate import Run

PLAYBOOK = "playbooks/maintenance.yml"
ANSIBLE_PLAYBOOK = str(pathlib.Path(sys.executable).parent / "ansible-playbook")
OPENSTACK = str(pathlib.Path(sys.executable).parent / "openstack")
MAINTAINED = ("compute1", "compute2", "compute3")
NAMES = {f"mig-maint-{number}": host for number, host in enumerate(MAINTAINED, start=1)}
REASON = "novaops maintenance test"
BREAK = str(REPO / "tests" / "integration" / "files" / "maintenance-stop-nova-compute.yml")
REBOOT = str(REPO / "lab" / "maintenance-reboot.yml")
TIMED_REBOOT = str(REPO / "tests" / "integration" / "files" / "maintenance-timed-reboot.yml")
LOGS = REPO / "tests" / "output" / "logs"
MEASURED = {}
MOVED_OFF = {}  # host -> names of the servers its drain moved, as the killed run recorded them

if COMPUTES[:3] != MAINTAINED:
    # Not skipped: `make test` brings up a lab of three computes for this file; one of two must say so.
    raise pytest.UsageError(f"test_maintenance.py needs a lab of three computes (LAB_COMPUTES=3 make lab-up); "
                            f"this lab has {', '.join(COMPUTES) or 'none'}")


def maintenance_argv(extra_vars):
    extra_vars.setdefault("hosts", ",".join(MAINTAINED))
    extra_vars.setdefault("reason", REASON)
    return [ANSIBLE_PLAYBOOK, "-i", "lab/hosts", PLAYBOOK, "-e", json.dumps(extra_vars)]


def maintenance_env():
    return dict(os.environ, OS_CLIENT_CONFIG_FILE=str(REPO / "lab" / "clouds.yaml"), OS_CLOUD="lab",
                ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")


def logged(argv, run):
    LOGS.mkdir(parents=True, exist_ok=True)
    with open(LOGS / "test_maintenance.log", "a", encoding="utf-8") as log:
        log.write(f"\n===== {' '.join(argv[3:])} (rc {run.rc}, {run.wall} s)\n{run.raw}")
    return run


def maintain(run_timeout=1500, **extra_vars):
    argv = maintenance_argv(extra_vars)
    started = time.monotonic()
    run = Run(subprocess.run(argv, cwd=REPO, env=maintenance_env(), capture_output=True, text=True,
                             timeout=run_timeout, check=False))
    run.wall = round(time.monotonic() - started, 1)
    return logged(argv, run)


def maintain_until_killed(state_file, killed_when, run_timeout=1500, **extra_vars):
    """Run the maintenance and SIGKILL it (with everything it started) once ``killed_when(state)`` holds."""
    argv = maintenance_argv(dict(extra_vars, state_file=str(state_file)))
    started = time.monotonic()
    output = LOGS / "test_maintenance.killed.out"
    LOGS.mkdir(parents=True, exist_ok=True)
    with open(output, "w", encoding="utf-8") as out:
        process = subprocess.Popen(argv, cwd=REPO, env=maintenance_env(), stdout=out, stderr=subprocess.STDOUT,
                                   text=True, start_new_session=True)
        try:
            def reached():
                if process.poll() is not None:
                    raise AssertionError(f"the maintenance ended (rc {process.returncode}) before it was killed")
                try:
                    return killed_when(json.loads(state_file.read_text()))
                except (FileNotFoundError, json.JSONDecodeError):
                    return False

            wait_until(reached, run_timeout, interval=0.5, what="the phase to kill the maintenance at")
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=60)
    run = Run(subprocess.CompletedProcess(argv, process.returncode, output.read_text(), ""))
    run.wall = round(time.monotonic() - started, 1)
    return logged(argv, run)


def osc(*args):
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(REPO / "lab" / "clouds.yaml"), OS_CLOUD="lab")
    result = subprocess.run([OPENSTACK, *args], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"openstack {' '.join(args)}: {result.stderr.strip()}"


def compute_service(cloud, host):
    return [s for s in cloud.compute.services(binary="nova-compute") if s.host == host][0]


def answer(lab_hosts, host, command):
    """What `command` prints on the host, or "" while the host does not answer (rebooting: ssh may hang)."""
    try:
        return lab_hosts[host].run(command, check=False, timeout=10).stdout.strip()
    except subprocess.TimeoutExpired:
        return ""


def init_started(lab_hosts, host):
    """When the host's init (PID 1) started, in clock ticks: it changes when the host reboots.

    A host in the middle of a reboot (a killed run's) is waited for rather than read as an error."""
    return wait_until(lambda: answer(lab_hosts, host, "awk '{print $22}' /proc/1/stat"), 300, interval=3,
                      what=f"{host} answering ssh")


def where(cloud, servers):
    return {name: (cloud.compute.get_server(s.id).status, cloud.compute.get_server(s.id).compute_host)
            for name, s in servers.items()}


def healthy(cloud, lab_hosts):
    """Every maintained compute answering ssh, with nova-compute running, enabled and up."""
    for host in MAINTAINED:
        wait_until(lambda: answer(lab_hosts, host, "echo yes") == "yes", 300, interval=3,
                   what=f"{host} answering ssh")
        if lab_hosts[host].run("systemctl is-active nova-compute", check=False).stdout.strip() != "active":
            lab_hosts[host].run("systemctl start nova-compute")
        if compute_service(cloud, host).status != "enabled":
            osc("compute", "service", "set", "--enable", host, "nova-compute")
    wait_until(lambda: all(compute_service(cloud, host).state == "up" for host in MAINTAINED), 180,
               interval=3, what="every nova-compute up")


def phases(state_file):
    return {host: entry["phase"] for host, entry in json.loads(state_file.read_text())["hosts"].items()}


def moves_of(state_file, host):
    moves = json.loads(state_file.read_text())["hosts"][host]["drain"]["moves"]
    return [(move["name"], move["mode"], move["moved"], move["host"]) for move in moves]


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
    untouched = {host: init_started(lab_hosts, host) for host in ("compute2", "compute3")}
    run = maintain(maintenance_tasks=BREAK, state_file=str(state_file), health_timeout=30,
                   report_file=str(report_file))
    MEASURED["maintenance stopped at compute1 (s)"] = run.wall
    assert run.rc != 0, run
    assert "Maintenance of compute1, compute2, compute3: 0 of 3 host(s) done" in run.text, run
    assert "stopped at compute1" in run.text, run
    # Why it stopped, in the operator's words (not the health wait's retries running out).
    assert "nova-compute on compute1 has not reported since" in run.text, run
    assert "within 30 s, so it stays disabled" in run.text, run
    # compute1 was emptied and stays out of the scheduler; the others were not touched; every server runs.
    placed = where(cloud, servers)
    assert placed["mig-maint-1"] in (("ACTIVE", "compute2"), ("ACTIVE", "compute3")), placed
    assert placed["mig-maint-2"] == ("ACTIVE", "compute2") and placed["mig-maint-3"] == ("ACTIVE", "compute3")
    assert compute_service(cloud, "compute1").status == "disabled"
    assert compute_service(cloud, "compute1").disabled_reason == REASON
    for host, started in untouched.items():
        assert compute_service(cloud, host).status == "enabled"
        assert init_started(lab_hosts, host) == started
    assert phases(state_file) == dict(compute1="maintained")
    assert moves_of(state_file, "compute1") == [("mig-maint-1", "live", True, placed["mig-maint-1"][1])]
    report = json.loads(report_file.read_text())
    assert report["playbook"] == "maintenance" and report["stopped_at"] == "compute1"


def test_the_repaired_run_reboots_the_next_host_and_is_killed_after_draining_the_last(cloud, lab_hosts, servers,
                                                                                      state_file):
    lab_hosts["compute1"].run("systemctl start nova-compute")
    before = {host: init_started(lab_hosts, host) for host in MAINTAINED}
    placed_before = where(cloud, servers)
    run = maintain_until_killed(state_file, lambda state: state["hosts"].get("compute3", {}).get("phase"),
                                maintenance_tasks=REBOOT, progress_interval=2)
    MEASURED["repaired maintenance until killed after draining compute3 (s)"] = run.wall
    assert run.rc == -signal.SIGKILL, run
    assert "compute1 resumes after the phase maintained" in run.text, run
    assert phases(state_file) == dict(compute1="done", compute2="done", compute3="drained")
    # compute1's step had run already: it was not rebooted; compute2 was, and is back in service.
    assert init_started(lab_hosts, "compute1") == before["compute1"]
    assert init_started(lab_hosts, "compute2") != before["compute2"]
    assert compute_service(cloud, "compute1").status == "enabled"
    assert compute_service(cloud, "compute2").status == "enabled"
    assert lab_hosts["compute2"].run("systemctl is-active libvirtd-tcp.socket", check=False).stdout.strip() == \
        "active"
    # compute3 is empty and out of the scheduler; every server runs on exactly one of the others.
    assert compute_service(cloud, "compute3").status == "disabled"
    placed = where(cloud, servers)
    assert all(status == "ACTIVE" and host in ("compute1", "compute2") for status, host in placed.values()), placed
    # What compute3 held when its drain began: its own server, whichever the scheduler sent it from compute1
    # in the first test, and whichever it sent it from compute2 in this run.
    held = {name for name, (_status, host) in placed_before.items() if host == "compute3"}
    held |= {move[0] for move in moves_of(state_file, "compute2") if move[3] == "compute3"}
    MOVED_OFF["compute3"] = sorted(move[0] for move in moves_of(state_file, "compute3"))
    assert MOVED_OFF["compute3"] == sorted(held), (placed_before, moves_of(state_file, "compute2"))
    # The kill may have landed as compute3's reboot began: the operator's re-run comes once the host is back (a
    # reboot under way takes the host down within seconds).
    time.sleep(15)
    wait_until(lambda: answer(lab_hosts, "compute3", "systemctl is-active nova-compute") == "active", 300,
               interval=3, what="compute3's nova-compute running")


def test_the_rerun_after_the_kill_resumes_at_the_last_host(cloud, lab_hosts, servers, state_file):
    before = {host: init_started(lab_hosts, host) for host in MAINTAINED}
    run = maintain(maintenance_tasks=REBOOT, state_file=str(state_file), progress_interval=2)
    MEASURED["maintenance resumed at compute3 (s)"] = run.wall
    assert run.rc == 0, run
    assert "compute3 resumes after the phase drained" in run.text, run
    assert "Maintenance of compute1, compute2, compute3: 3 of 3 host(s) done" in run.text, run
    # Only compute3's step ran in this run: a host drained but not known maintained is maintained (again).
    assert init_started(lab_hosts, "compute1") == before["compute1"]
    assert init_started(lab_hosts, "compute2") == before["compute2"]
    assert init_started(lab_hosts, "compute3") != before["compute3"]
    for host in MAINTAINED:
        assert compute_service(cloud, host).status == "enabled"
    placed = where(cloud, servers)
    assert all(status == "ACTIVE" and host in MAINTAINED for status, host in placed.values()), placed
    assert phases(state_file) == {host: "done" for host in MAINTAINED}
    # compute3 was empty already: its second drain moved nothing, and the moves the killed run made are kept.
    assert sorted(move[0] for move in moves_of(state_file, "compute3")) == MOVED_OFF["compute3"]


def test_a_finished_maintenance_changes_nothing(cloud, servers, state_file):
    run = maintain(maintenance_tasks=REBOOT, state_file=str(state_file))
    assert run.rc == 0, run
    assert run.changed == 0, run
    assert "compute1, compute2, compute3 done already (state file), none to go" in run.text, run


AGGREGATES = {"novaops-test-rack-a": ("compute1", "compute3"), "novaops-test-rack-b": ("compute2",)}


def remove_aggregates(cloud):
    for aggregate in cloud.compute.aggregates():
        if aggregate.name in AGGREGATES:
            for host in aggregate.hosts or []:
                cloud.compute.remove_host_from_aggregate(aggregate, host)
            cloud.compute.delete_aggregate(aggregate)


@pytest.fixture
def racks(cloud):
    remove_aggregates(cloud)
    try:
        for name, hosts in AGGREGATES.items():
            aggregate = cloud.compute.create_aggregate(name=name)
            for host in hosts:
                cloud.compute.add_host_to_aggregate(aggregate, host)
        yield AGGREGATES
    finally:
        remove_aggregates(cloud)


def test_a_maintenance_in_waves_with_move_back_leaves_every_server_where_it_was(
        cloud, lab_hosts, servers, racks, tmp_path):
    placed_before = where(cloud, servers)
    held = {host: sorted(name for name, (_status, where_now) in placed_before.items() if where_now == host)
            for host in MAINTAINED}
    # Test 3 left compute3 empty: the three servers are on compute1 and compute2, so something moves.
    assert held["compute1"] or held["compute2"], placed_before
    assert not held["compute3"], placed_before
    before = {host: init_started(lab_hosts, host) for host in MAINTAINED}
    state_file = tmp_path / "state.json"
    report_file = tmp_path / "report.json"
    marks = tmp_path / "steps"
    marks.mkdir()
    run = maintain(maintenance_tasks=TIMED_REBOOT, step_marks=str(marks), wave_by="aggregate", move_back=True,
                   state_file=str(state_file), report_file=str(report_file), progress_interval=2)
    MEASURED["maintenance of three computes by aggregate with move back, two waves (s)"] = run.wall
    assert run.rc == 0, run
    assert ("2 wave(s), one host per host aggregate at a time: compute1 and compute2 together, then compute3."
            in run.text), run
    assert "Maintenance of compute1, compute2, compute3: 3 of 3 host(s) done" in run.text, run
    assert where(cloud, servers) == placed_before
    state = json.loads(state_file.read_text())
    report = json.loads(report_file.read_text())
    reached = report["reached"]
    step = {host: {end: float((marks / f"{host}.{end}").read_text()) for end in ("began", "ended")}
            for host in MAINTAINED}
    # The wave: both hosts drained before either's step began, and each one's reboot began before the other's
    # ended - they rebooted at the same time, not one after the other.
    assert max(reached[host]["drained"] for host in ("compute1", "compute2")) < \
        min(step[host]["began"] for host in ("compute1", "compute2")), (reached, step)
    assert step["compute1"]["began"] < step["compute2"]["ended"], step
    assert step["compute2"]["began"] < step["compute1"]["ended"], step
    # The next wave started once the first was back in service, its servers moved back.
    assert reached["compute3"]["drained"] > max(reached[host]["done"] for host in ("compute1", "compute2")), reached
    assert step["compute3"]["began"] > max(step[host]["ended"] for host in ("compute1", "compute2")), step
    for host in MAINTAINED:
        entry = state["hosts"][host]
        assert entry["phase"] == "done", state
        assert init_started(lab_hosts, host) != before[host], host
        assert compute_service(cloud, host).status == "enabled"
        moved_off = sorted(move["name"] for move in entry["drain"]["moves"] if move["moved"])
        moved_back = sorted(move["name"] for move in (entry.get("move_back") or {}).get("moves") or []
                            if move["moved"])
        assert moved_off == moved_back == held[host], state
        assert sorted(move["name"] for move in report["moved_back"][host]) == held[host], report
    # Neither host of the first wave took the other's servers: compute3 was the only host left for them.
    first_wave = report["moves"]["compute1"] + report["moves"]["compute2"]
    assert first_wave and all(move["moved"] and move["host"] == "compute3" for move in first_wave), report
    for host in ("compute1", "compute2"):
        assert f"Move back to {host}: {len(held[host])} server(s) moved back, 0 stay elsewhere" in run.text, run
    assert phases(state_file) == {host: "done" for host in MAINTAINED}
