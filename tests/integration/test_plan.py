"""novaops.migration.migration_plan on the lab, for servers crafted to get each verdict.

On compute1: a member of an anti-affinity group whose other member runs on
compute2 (the only other compute, so it cannot move), a locked server, a
paused one, one reset to ERROR, a stopped one, and one waiting in
VERIFY_RESIZE after a cold migration from compute2 that was not confirmed.
The plan, made through ansible-playbook, must give each its verdict and
reasons, report the group as a plan-wide problem, and change nothing.
"""
import json
import os
import pathlib
import subprocess
import sys

import pytest

from conftest import REPO, guest_resources

TARGET = pathlib.Path(__file__).parent / "targets" / "plan.yml"
ANSIBLE_PLAYBOOK = str(pathlib.Path(sys.executable).parent / "ansible-playbook")
OPENSTACK = str(pathlib.Path(sys.executable).parent / "openstack")
GROUP = "mig-plan-apart"
ON_COMPUTE1 = ("mig-plan-apart1", "mig-plan-locked", "mig-plan-paused", "mig-plan-error", "mig-plan-off")
ON_COMPUTE2 = ("mig-plan-apart2", "mig-plan-resize")


def osc(*args):
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(REPO / "lab" / "clouds.yaml"), OS_CLOUD="lab")
    result = subprocess.run([OPENSTACK, *args], env=env, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, f"openstack {' '.join(args)}: {result.stderr.strip()}"
    return result.stdout


def plan(tmp_path, **extra_vars):
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(REPO / "lab" / "clouds.yaml"), OS_CLOUD="lab",
               NOVAOPS_IT_TMP=str(tmp_path), ANSIBLE_FORCE_COLOR="0")
    argv = [ANSIBLE_PLAYBOOK, str(TARGET), "-e", json.dumps(extra_vars)]
    result = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return json.loads((tmp_path / "plan.json").read_text())


@pytest.fixture(scope="module", autouse=True)
def prepared_for_migration(prepared_lab):
    return prepared_lab


@pytest.fixture(scope="module")
def servers(cloud):
    created, group = {}, None
    try:
        image, flavor, network, _made = guest_resources(cloud)
        for name in ON_COMPUTE1 + ON_COMPUTE2:
            for stale in cloud.compute.servers(name=f"^{name}$", all_projects=True):
                cloud.compute.delete_server(stale)
                cloud.compute.wait_for_delete(stale, wait=120)
        for stale in cloud.compute.server_groups():
            if stale.name == GROUP:
                cloud.compute.delete_server_group(stale)
        group = cloud.compute.create_server_group(name=GROUP, policy="anti-affinity")
        for names, host in ((ON_COMPUTE1, "compute1"), (ON_COMPUTE2, "compute2")):
            for name in names:
                hints = {"group": group.id} if name.startswith("mig-plan-apart") else {}
                created[name] = cloud.compute.create_server(
                    name=name, image_id=image.id, flavor_id=flavor.id, networks=[{"uuid": network.id}],
                    availability_zone=f"nova:{host}", scheduler_hints=hints)
        for name in created:
            created[name] = cloud.compute.wait_for_server(created[name], wait=300)
        cloud.compute.lock_server(created["mig-plan-locked"])
        cloud.compute.pause_server(created["mig-plan-paused"])
        cloud.compute.stop_server(created["mig-plan-off"])
        osc("server", "set", "--auto-approve", "--state", "error", created["mig-plan-error"].id)
        osc("--os-compute-api-version", "2.56", "server", "migrate", "--host", "compute1", "--wait",
            created["mig-plan-resize"].id)
        for name, status in (("mig-plan-paused", "PAUSED"), ("mig-plan-off", "SHUTOFF"),
                             ("mig-plan-resize", "VERIFY_RESIZE")):
            cloud.compute.wait_for_server(created[name], status=status, wait=300)
        assert cloud.compute.get_server(created["mig-plan-resize"].id).compute_host == "compute1"
        yield created
    finally:
        for server in created.values():
            current = cloud.compute.find_server(server.id, ignore_missing=True)
            if current is not None and current.is_locked:
                cloud.compute.unlock_server(current)
            cloud.compute.delete_server(server, ignore_missing=True)
        for server in created.values():
            cloud.compute.wait_for_delete(server, wait=180)
        if group is not None:
            cloud.compute.delete_server_group(group, ignore_missing=True)


def test_each_crafted_server_gets_its_verdict(cloud, servers, tmp_path):
    before = {name: (cloud.compute.get_server(s.id).status, cloud.compute.get_server(s.id).compute_host)
              for name, s in servers.items()}
    result = plan(tmp_path)
    entries = {entry["name"]: entry for entry in result["servers"]}
    got = {name: (entries[name]["verdict"], entries[name]["target"], entries[name]["blocked_by"])
           for name in ON_COMPUTE1 + ("mig-plan-resize",)}
    assert got == {
        "mig-plan-apart1": ("skip", None, "move"),
        "mig-plan-locked": ("live", "compute2", None),
        "mig-plan-paused": ("live", "compute2", None),
        "mig-plan-error": ("skip", None, "state"),
        "mig-plan-off": ("cold", "compute2", None),
        "mig-plan-resize": ("skip", None, "state"),
    }, json.dumps(result, indent=1)[:6000]
    reasons = {name: " ".join(entry["reasons"] + entry["warnings"]) for name, entry in entries.items()}
    assert GROUP in reasons["mig-plan-apart1"], reasons["mig-plan-apart1"]
    assert "locked" in reasons["mig-plan-locked"]
    assert "ERROR" in reasons["mig-plan-error"]
    assert "VERIFY_RESIZE" in reasons["mig-plan-resize"] or "resize" in reasons["mig-plan-resize"]
    assert any(GROUP in problem for problem in result["problems"]), result["problems"]
    # Servers of other tests may be on compute1 too; ours are all there.
    assert result["summary"]["skip"] >= 3
    # A fixed number of requests plus two per compute host, whatever the number of servers.
    computes = len(list(cloud.compute.services(binary="nova-compute")))
    assert result["api_calls"] == 6 + 2 * computes, result["api_calls"]
    assert result["changed"] is False
    after = {name: (cloud.compute.get_server(s.id).status, cloud.compute.get_server(s.id).compute_host)
             for name, s in servers.items()}
    assert after == before


def test_fallback_cold_does_not_move_a_paused_server_cold(servers, tmp_path):
    result = plan(tmp_path, plan_fallback="cold")
    entries = {entry["name"]: entry for entry in result["servers"]}
    assert entries["mig-plan-paused"]["verdict"] == "live"
    # The anti-affinity member has nowhere to go, live or cold.
    assert (entries["mig-plan-apart1"]["verdict"], entries["mig-plan-apart1"]["blocked_by"]) == ("skip", "move")
