"""Draining compute1 on the lab with the collection's own playbook (playbooks/drain.yml).

Four small servers on compute1: two running, one stopped, one reset to ERROR
(which Nova refuses to move). The drain must disable compute1 with its
reason, live-migrate the running ones and cold-migrate the stopped one to
compute2 (the only other compute, chosen by the scheduler), then fail listing
the ERROR one, which stays on compute1. A second drain changes nothing;
`-e enable=true` puts compute1 back in service, once.

Any other server on compute1 is moved too: that is what a drain does. Every
server created here is deleted at the end, and compute1 enabled again, even
when a test fails. The tests run in order and share the servers.
"""
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO, delete_guest_resources, guest_resources
from test_migrate import Run

PLAYBOOK = "playbooks/drain.yml"
ANSIBLE_PLAYBOOK = str(pathlib.Path(sys.executable).parent / "ansible-playbook")
OPENSTACK = str(pathlib.Path(sys.executable).parent / "openstack")
REASON = "novaops drain test"
RUNNING = ("mig-drain-run1", "mig-drain-run2")
STOPPED = "mig-drain-off"
BROKEN = "mig-drain-broken"
NAMES = RUNNING + (STOPPED, BROKEN)
LOGS = REPO / "tests" / "output" / "logs"
# Durations measured in this run, printed at the end (pytest -s shows them).
MEASURED = {}


def drain(check=False, run_timeout=900, **extra_vars):
    """Run the drain playbook; extra_vars become -e NAME=VALUE (host defaults to compute1)."""
    extra_vars.setdefault("host", "compute1")
    extra_vars.setdefault("reason", REASON)
    # As JSON: a reason has spaces, which key=value would split.
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
    # The whole output of every run, to read after a failure (tests/output is git-ignored).
    LOGS.mkdir(parents=True, exist_ok=True)
    with open(LOGS / "test_drain.log", "a", encoding="utf-8") as log:
        log.write(f"\n===== {' '.join(argv[3:])} (rc {run.rc}, {run.wall} s)\n{run.raw}")
    return run


def osc(*args):
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(REPO / "lab" / "clouds.yaml"), OS_CLOUD="lab")
    result = subprocess.run([OPENSTACK, *args], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"openstack {' '.join(args)}: {result.stderr.strip()}"


def compute_service(cloud, host):
    return [s for s in cloud.compute.services(binary="nova-compute") if s.host == host][0]


def where(cloud, servers):
    """name -> (status, host, task_state) as Nova says now."""
    found = {}
    for name, server in servers.items():
        current = cloud.compute.get_server(server.id)
        found[name] = (current.status, current.compute_host, current.task_state)
    return found


# -- fixtures -------------------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def prepared_for_migration(prepared_lab):
    """Cold migration needs nova's ssh trust, live migration libvirt over TCP: playbooks/site.yml."""
    return prepared_lab


@pytest.fixture(scope="module")
def servers(cloud):
    """The four servers on compute1, in their states; deleted at the end whatever happened."""
    created = {}
    made = []  # the image, flavor and network this fixture created (others' are left alone)
    try:
        image, flavor, network, made = guest_resources(cloud)
        for name in NAMES:
            for stale in cloud.compute.servers(name=f"^{name}$", all_projects=True):
                cloud.compute.delete_server(stale)
                cloud.compute.wait_for_delete(stale, wait=120)
        # An earlier run that died may have left them disabled.
        for host in ("compute1", "compute2"):
            if compute_service(cloud, host).status != "enabled":
                osc("compute", "service", "set", "--enable", host, "nova-compute")

        for name in NAMES:  # booted together, waited for together
            created[name] = cloud.compute.create_server(name=name, image_id=image.id, flavor_id=flavor.id,
                                                        networks=[{"uuid": network.id}],
                                                        availability_zone="nova:compute1")
        for name in NAMES:
            created[name] = cloud.compute.wait_for_server(created[name], wait=300)
        cloud.compute.stop_server(created[STOPPED])
        cloud.compute.wait_for_server(created[STOPPED], status="SHUTOFF", wait=180)
        osc("server", "set", "--auto-approve", "--state", "error", created[BROKEN].id)
        assert {name: state[:2] for name, state in where(cloud, created).items()} == {
            RUNNING[0]: ("ACTIVE", "compute1"), RUNNING[1]: ("ACTIVE", "compute1"),
            STOPPED: ("SHUTOFF", "compute1"), BROKEN: ("ERROR", "compute1")}
        yield created
    finally:
        for server in created.values():
            cloud.compute.delete_server(server, ignore_missing=True)
        for server in created.values():
            cloud.compute.wait_for_delete(server, wait=180)
        if compute_service(cloud, "compute1").status != "enabled":
            osc("compute", "service", "set", "--enable", "compute1", "nova-compute")
        delete_guest_resources(cloud, made)
        print("\nmeasured:", MEASURED)


# -- the drain ----------------------------------------------------------------------------

def test_unknown_host_is_refused(cloud, servers):
    run = drain(host="compute9")
    assert run.rc != 0
    # The plan, first of all, finds no such host: nothing was disabled.
    assert "no nova-compute service runs on host 'compute9' (compute hosts: compute1, compute2)" in run.text, run
    assert compute_service(cloud, "compute1").status == "enabled"


def test_check_mode_predicts_without_changing_anything(cloud, servers):
    earlier = {s.id: len(list(cloud.compute.migrations(server_id=s.id))) for s in servers.values()}
    run = drain(check=True, target="compute2")
    # The ERROR server would stay: the prediction fails like the drain would.
    assert run.rc != 0, run
    assert "Drain of compute1 (check mode): " in run.text, run
    assert f"{RUNNING[0]} ({servers[RUNNING[0]].id}): live migration compute1 -> compute2 (check mode)" in run.text
    assert f"{STOPPED} ({servers[STOPPED].id}): cold migration compute1 -> compute2 (check mode)" in run.text
    assert "compute1 would not be drained" in run.text
    assert f"{BROKEN} ({servers[BROKEN].id}), ERROR: it is in ERROR" in run.text
    service = compute_service(cloud, "compute1")
    assert service.status == "enabled"
    assert {name: state[:2] for name, state in where(cloud, servers).items()} == {
        RUNNING[0]: ("ACTIVE", "compute1"), RUNNING[1]: ("ACTIVE", "compute1"),
        STOPPED: ("SHUTOFF", "compute1"), BROKEN: ("ERROR", "compute1")}
    assert {s.id: len(list(cloud.compute.migrations(server_id=s.id))) for s in servers.values()} == earlier


def test_drain_moves_what_can_move_and_fails_listing_the_rest(cloud, servers):
    run = drain(concurrency=2)
    MEASURED["drain of 3 movable servers, concurrency 2 (playbook wall)"] = run.wall
    assert run.rc != 0, run
    # Progress lines while the moves ran: all three started at once, the third waiting for one of the two
    # move slots (the sliding window); then the report of what moved where.
    assert "waiting for a free move slot (2 at once)" in run.text, run
    assert "batch" not in run.text, run
    for name in RUNNING:
        assert f"{name} ({servers[name].id}): live migration compute1 -> compute2 in " in run.text, run
    assert f"{STOPPED} ({servers[STOPPED].id}): cold migration compute1 -> compute2 in " in run.text, run
    # Failing loudly, naming the one that could not move and why.
    assert "compute1 is not drained:" in run.text, run
    assert f"{BROKEN} ({servers[BROKEN].id}), ERROR: it is in ERROR" in run.text, run
    assert "Nova moves no server in ERROR" in run.text

    assert where(cloud, servers) == {
        RUNNING[0]: ("ACTIVE", "compute2", None), RUNNING[1]: ("ACTIVE", "compute2", None),
        STOPPED: ("SHUTOFF", "compute2", None), BROKEN: ("ERROR", "compute1", None)}
    for name in RUNNING + (STOPPED,):
        records = list(cloud.compute.migrations(server_id=servers[name].id))
        assert records, f"no migration record for {name}"
        latest = sorted(records, key=lambda record: record.id)[-1]
        expected = ("migration", "confirmed") if name == STOPPED else ("live-migration", "completed")
        assert (latest.migration_type, latest.status, latest.source_compute, latest.dest_compute) == \
            (*expected, "compute1", "compute2")
    service = compute_service(cloud, "compute1")
    assert (service.status, service.disabled_reason) == ("disabled", REASON)


def test_second_drain_changes_nothing(cloud, servers):
    before = where(cloud, servers)
    run = drain()
    assert run.rc != 0, run
    assert run.changed == 0, run
    assert "0 server(s) moved" in run.text, run
    assert f"{BROKEN} ({servers[BROKEN].id}), ERROR: it is in ERROR" in run.text, run
    assert where(cloud, servers) == before


def test_enable_puts_the_host_back_in_service(cloud, servers):
    run = drain(enable="true")
    assert run.rc == 0, run
    assert run.changed == 1, run
    assert "nova-compute on compute1 is enabled" in run.text
    service = compute_service(cloud, "compute1")
    assert (service.status, service.disabled_reason) == ("enabled", None)

    again = drain(enable="true")
    assert again.rc == 0, again
    assert again.changed == 0, again
    assert "(it already was)" in again.text
    # Nothing moved back: enabling only lets the scheduler use the host again.
    assert where(cloud, servers)[RUNNING[0]][:2] == ("ACTIVE", "compute2")


def test_drain_with_nothing_left_to_move_succeeds(cloud, servers):
    """With the ERROR server gone, draining again disables the host and reports it drained."""
    cloud.compute.delete_server(servers[BROKEN])
    cloud.compute.wait_for_delete(servers[BROKEN], wait=180)
    try:
        run = drain(target="compute2")
        on_compute1 = [s.name for s in cloud.compute.servers(all_projects=True, compute_host="compute1")]
        if on_compute1:
            pytest.skip(f"other servers are on compute1 ({', '.join(on_compute1)}); the drain did its best")
        assert run.rc == 0, run
        assert "0 server(s) moved, 0 still on compute1" in run.text, run
        assert compute_service(cloud, "compute1").status == "disabled"
        again = drain(target="compute2")
        assert again.rc == 0 and again.changed == 0, again
    finally:
        osc("compute", "service", "set", "--enable", "compute1", "nova-compute")


def test_a_long_drain_followed_for_a_thousand_rounds(cloud, lab_hosts, servers, tmp_path):
    """A drain whose live move lasts: followed round after round without a growing stack, every batch runs,
    the report says how many rounds it took, and nothing is left in the async directory."""
    # The ERROR server was deleted by the test before.
    alive = {name: server for name, server in servers.items() if name != BROKEN}
    on_compute2 = [name for name, (_status, host, _task) in where(cloud, alive).items() if host == "compute2"]
    assert RUNNING[0] in on_compute2, where(cloud, servers)
    instance = cloud.compute.get_server(servers[RUNNING[0]].id).instance_name
    folder = pathlib.Path(os.environ.get("ANSIBLE_ASYNC_DIR", pathlib.Path.home() / ".ansible_async"))
    jobs_before = set(folder.iterdir()) if folder.is_dir() else set()
    report = tmp_path / "drain.json"
    # 1 MiB/s: this live move takes well over a minute; a round every 0.05 s makes that a thousand rounds and more
    # (at 2 MiB/s it took 42 s, 983 rounds with the cold move after it, on this machine).
    lab_hosts["compute2"].run(f"virsh migrate-setspeed {instance} --bandwidth 1")
    try:
        run = drain(host="compute2", target="compute1", concurrency=1, progress_interval="0.05",
                    report_file=str(report), run_timeout=1800)
    finally:
        lab_hosts["compute2"].run(f"virsh migrate-setspeed {instance} --bandwidth 8796093022207", check=False)
        osc("compute", "service", "set", "--enable", "compute2", "nova-compute")
    assert run.rc == 0, run
    MEASURED["long drain of compute2 (playbook wall)"] = run.wall
    record = json.loads(report.read_text())
    MEASURED["rounds of the long drain"] = record["rounds"]
    assert record["rounds"] >= 1000, record
    assert sorted(move["name"] for move in record["moves"] if move["moved"] and move["name"] in NAMES) == \
        sorted(on_compute2), record
    assert record["still_there"] == [], record
    assert all(host == "compute1" for name, (_s, host, _t) in where(cloud, alive).items() if name in on_compute2)
    assert (set(folder.iterdir()) if folder.is_dir() else set()) <= jobs_before, "async job files were left behind"


def drain_until_killed(killed_when, run_timeout=900, **extra_vars):
    """Run the drain and SIGKILL it, with everything it started, once ``killed_when()`` holds."""
    extra_vars.setdefault("reason", REASON)
    argv = [ANSIBLE_PLAYBOOK, "-i", "lab/hosts", PLAYBOOK, "-e", json.dumps(extra_vars)]
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(REPO / "lab" / "clouds.yaml"), OS_CLOUD="lab",
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    LOGS.mkdir(parents=True, exist_ok=True)
    output = LOGS / "test_drain.killed.out"
    with open(output, "w", encoding="utf-8") as out:
        process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True)
        try:
            deadline = time.monotonic() + run_timeout
            while not killed_when():
                if process.poll() is not None:
                    raise AssertionError(f"the drain ended (rc {process.returncode}) before it was killed: "
                                         f"{output.read_text()[-3000:]}")
                if time.monotonic() > deadline:
                    raise AssertionError("the moment to kill the drain never came")
                time.sleep(0.5)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=60)
    return process.returncode


def test_a_drain_killed_during_a_live_move_is_finished_by_the_rerun(cloud, lab_hosts, servers, tmp_path):
    """Killed while a live move runs (a cancelled AWX job, a dead controller), the drain leaves the move to Nova,
    which carries it on. The operator's re-run, started at once, waits for that move to end instead of finding the
    server busy and failing, then moves the rest and finishes."""
    alive = {name: server for name, server in servers.items() if name != BROKEN}
    placed = where(cloud, alive)
    assert placed[RUNNING[0]][1] == "compute1", placed
    slow = cloud.compute.get_server(servers[RUNNING[0]].id)
    # 2 MiB/s: the move lasts about half a minute, long enough to kill the drain in it and start the re-run.
    lab_hosts["compute1"].run(f"virsh migrate-setspeed {slow.instance_name} --bandwidth 2")
    report = tmp_path / "rerun.json"
    try:
        rc = drain_until_killed(lambda: cloud.compute.get_server(slow.id).status == "MIGRATING", host="compute1",
                                target="compute2", concurrency=1)
        assert rc == -signal.SIGKILL
        in_flight = cloud.compute.get_server(slow.id)
        assert (in_flight.status, in_flight.compute_host) == ("MIGRATING", "compute1")
        run = drain(host="compute1", target="compute2", concurrency=1, report_file=str(report))
    finally:
        lab_hosts["compute1"].run(f"virsh migrate-setspeed {slow.instance_name} --bandwidth 8796093022207",
                                  check=False)
        osc("compute", "service", "set", "--enable", "compute1", "nova-compute")
    MEASURED["drain re-run after a kill during a live move (playbook wall)"] = run.wall
    assert run.rc == 0, run
    assert (f"first for 1 server(s) busy with a task (a move an interrupted run started): {RUNNING[0]} ({slow.id}, "
            f"MIGRATING, task migrating); all of them have ended.") in run.text, run
    record = json.loads(report.read_text())
    assert record["still_there"] == [], record
    # The move the killed run started is Nova's, not the re-run's; the re-run moved what the killed one had not.
    moved = {move["name"] for move in record["moves"] if move["moved"]}
    assert RUNNING[0] not in moved and moved <= {RUNNING[1], STOPPED}, record
    assert {name: state[:2] for name, state in where(cloud, alive).items()} == {
        RUNNING[0]: ("ACTIVE", "compute2"), RUNNING[1]: ("ACTIVE", "compute2"), STOPPED: ("SHUTOFF", "compute2")}
