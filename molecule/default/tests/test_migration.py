"""Checks, from the lab hosts themselves, that the cloud is ready for migration.

Run by molecule's testinfra verifier after converge, idempotence and the
restarts of side_effect. Hosts come from the lab's inventory (lab/hosts).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import testinfra

REPO = Path(os.environ.get("NOVAOPS_REPO", Path(__file__).resolve().parents[3]))
INVENTORY = os.environ.get("NOVAOPS_LAB_INVENTORY", str(REPO / "lab/hosts"))
NOVA_CONF = os.environ.get("NOVAOPS_LAB_NOVA_CONF", "/etc/nova/nova.conf")
COMPUTES = ("compute1", "compute2")
PAIRS = [("compute1", "compute2"), ("compute2", "compute1")]


def lab_host(name: str):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}")


def management_address(name: str) -> str:
    return lab_host(name).ansible.get_variables()["ansible_host"]


def as_nova(host, command: str):
    """Run COMMAND as nova, with nova's environment, as nova-compute would."""
    return host.run("runuser -u nova -- sh -c %s", command)


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_nova_reaches_the_other_compute_over_ssh(source, target):
    host = lab_host(source)
    for destination in (target, management_address(target)):
        result = as_nova(host, "ssh -o BatchMode=yes -o StrictHostKeyChecking=yes "
                         f"{shlex.quote(destination)} true")
        assert result.rc == 0, f"{source} -> {destination}: {result.stderr}"


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_nova_reaches_the_other_libvirt(source, target):
    host = lab_host(source)
    for destination in (target, management_address(target)):
        result = as_nova(host, f"virsh -c qemu+tcp://{destination}/system list --all")
        assert result.rc == 0, f"{source} -> {destination}: {result.stderr}"


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_libvirt_refuses_clients_without_credentials(source, target):
    """The TCP socket authenticates: no credentials, no connection."""
    result = lab_host(source).run(
        "LIBVIRT_AUTH_FILE=/nonexistent virsh -c qemu+tcp://%s/system list < /dev/null", target)
    assert result.rc != 0


@pytest.mark.parametrize("name", COMPUTES)
def test_libvirt_listens_on_the_management_address_only(name):
    host = lab_host(name)
    address = management_address(name)
    listening = host.run("ss -Htln 'sport = :16509'").stdout
    assert f"{address}:16509" in listening
    assert "0.0.0.0:16509" not in listening and "*:16509" not in listening
    assert host.service("libvirtd-tcp.socket").is_enabled


@pytest.mark.parametrize("name", COMPUTES)
def test_nova_account(name):
    host = lab_host(name)
    nova = host.user("nova")
    assert nova.shell == "/bin/bash"
    shadow = host.run("getent shadow nova").stdout.split(":")
    assert shadow[1][:1] in ("!", "*"), "nova's password must stay locked"
    ssh_dir = host.file(f"{nova.home}/.ssh")
    assert ssh_dir.is_directory and ssh_dir.mode == 0o700 and ssh_dir.user == "nova"
    key = host.file(f"{nova.home}/.ssh/id_ed25519")
    assert key.mode == 0o600 and key.user == "nova"
    config = host.file(f"{nova.home}/.ssh/config")
    assert not config.exists or "StrictHostKeyChecking no" not in config.content_string
    known_hosts = host.file(f"{nova.home}/.ssh/known_hosts").content_string
    assert "novaops.migration ssh_trust" in known_hosts


@pytest.mark.parametrize("name", COMPUTES)
def test_nova_compute_libvirt_settings(name):
    host = lab_host(name)
    conf = host.file(NOVA_CONF).content_string
    assert "virt_type = qemu" in conf
    assert "live_migration_scheme = tcp" in conf
    assert "live_migration_with_native_tls = false" in conf
    assert f"live_migration_inbound_addr = {management_address(name)}" in conf


def test_scheduler_filters_on_the_controller():
    conf = lab_host("controller").file(NOVA_CONF).content_string
    lines = [line.replace(" ", "") for line in conf.splitlines()]
    enabled = next(line for line in lines if line.startswith("enabled_filters="))
    filters = enabled.split("=", 1)[1].split(",")
    assert filters[0] == "AggregateInstanceExtraSpecsFilter"
    assert "ComputeFilter" in filters and "ServerGroupAntiAffinityFilter" in filters
    # nova 34 has neither; nova-scheduler would not start with them.
    assert "RamFilter" not in filters and "AvailabilityZoneFilter" not in filters


def openstack(*args: str) -> list[dict]:
    env = dict(os.environ)
    env.setdefault("OS_CLIENT_CONFIG_FILE", str(REPO / "lab/clouds.yaml"))
    env.setdefault("OS_CLOUD", "lab")
    client = Path(sys.executable).with_name("openstack")
    result = subprocess.run([str(client), *args, "-f", "json"], capture_output=True,
                            text=True, env=env, timeout=120, check=True)
    return json.loads(result.stdout)


def test_nova_scheduler_and_computes_are_up():
    services = openstack("compute", "service", "list")
    states = {(s["Binary"], s["Host"]): s["State"] for s in services}
    schedulers = [state for (binary, _host), state in states.items() if binary == "nova-scheduler"]
    assert schedulers and all(state == "up" for state in schedulers), services
    computes = [state for (binary, _host), state in states.items() if binary == "nova-compute"]
    assert len(computes) >= 2 and all(state == "up" for state in computes), services
