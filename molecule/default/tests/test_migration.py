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
# The novaops_ssh_trust role's defaults: the forced command of nova's keys and the one directory it allows.
WRAPPER = "/usr/local/libexec/novaops/nova-ssh-wrapper"
WRAPPER_CONFIG = "/etc/novaops/nova-ssh-wrapper.conf"
INSTANCES = "/var/lib/nova/instances"
PROBE = f"{INSTANCES}/novaops-wrapper-probe"
SSH = "ssh -T -o BatchMode=yes -o StrictHostKeyChecking=yes"


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


def nova_ssh(host, target: str, remote: str = ""):
    """ssh as nova from host to target, as Nova's cold migration connects; remote is one word for ssh."""
    quoted = shlex.quote(remote) if remote else ""
    return as_nova(host, f"{SSH} {shlex.quote(target)} {quoted} </dev/null")


@pytest.mark.parametrize("name", COMPUTES)
def test_every_authorised_nova_key_runs_the_forced_command(name):
    host = lab_host(name)
    nova = host.user("nova")
    lines = host.file(f"{nova.home}/.ssh/authorized_keys").content_string.splitlines()
    entries = [line for line in lines if line.split() and line.split()[-1].startswith("nova@")]
    # One per other compute of the lab (LAB_COMPUTES may make more than two).
    assert entries, lines
    for entry in entries:
        options = entry.split(" ssh-", 1)[0]
        assert options.startswith("restrict,from=") and ",command=" in options, entry
        assert f" -I {WRAPPER} {WRAPPER_CONFIG}\"" in options, entry
    wrapper = host.file(WRAPPER)
    assert wrapper.user == "root" and wrapper.group == "root" and wrapper.mode == 0o755
    assert host.file(os.path.dirname(WRAPPER)).user == "root"
    config = host.file(WRAPPER_CONFIG)
    assert config.user == "root" and config.mode == 0o644
    assert json.loads(config.content_string) == {"allowed_paths": [INSTANCES]}


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_nova_gets_no_shell_on_the_other_compute(source, target):
    result = nova_ssh(lab_host(source), target)
    assert result.rc == 1, f"{source} -> {target}: rc {result.rc}, {result.stdout} {result.stderr}"
    assert "interactive login is not allowed" in result.stderr


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_nova_cannot_run_other_commands_on_the_other_compute(source, target):
    host = lab_host(source)
    for remote in ("cat /etc/passwd", "sh -c id", f"rm -rf {INSTANCES}", "mkdir -p /var/lib/nova/.ssh/x"):
        result = nova_ssh(host, target, remote)
        assert result.rc == 1, f"{remote}: rc {result.rc}, {result.stderr}"
        assert "novaops-nova-ssh-wrapper: refused:" in result.stderr, remote
        assert "root:" not in result.stdout
    assert lab_host(target).file(INSTANCES).is_directory


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_nova_cannot_forward_ports_through_the_other_compute(source, target):
    """restrict refuses forwarding: -W at once, -L when the tunnel is used (it would reach the peer's sshd)."""
    host = lab_host(source)
    # ssh's own 255 would make testinfra raise instead of returning the result.
    stdio = as_nova(host, f"{SSH} -W 127.0.0.1:22 {shlex.quote(target)} </dev/null || exit 1")
    assert stdio.rc != 0 and "prohibited" in stdio.stderr, stdio.stderr
    port = 47022 + PAIRS.index((source, target))
    read_banner = ("import socket, sys; s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), 5); "
                   "s.settimeout(5); print('BANNER=%r' % s.recv(4))")
    script = f"""
log=$(mktemp)
{SSH} -o ExitOnForwardFailure=yes -N -L 127.0.0.1:{port}:127.0.0.1:22 {shlex.quote(target)} </dev/null 2>"$log" &
tunnel=$!
tries=0
until ss -Htln 'sport = :{port}' | grep -q . || ! kill -0 $tunnel 2>/dev/null || [ $tries -ge 40 ]; do
    sleep 0.25; tries=$((tries + 1))
done
python3 -c {shlex.quote(read_banner)} {port}
sleep 1
kill $tunnel 2>/dev/null
wait $tunnel 2>/dev/null
cat "$log"
rm -f "$log"
"""
    result = as_nova(host, script)
    assert "BANNER=b''" in result.stdout, result.stdout + result.stderr
    assert "administratively prohibited" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_nova_makes_and_removes_instance_files_on_the_other_compute(source, target):
    host, peer = lab_host(source), lab_host(target)
    made = nova_ssh(host, target, f"mkdir -p {PROBE}")
    assert made.rc == 0, made.stderr
    assert peer.file(PROBE).is_directory and peer.file(PROBE).user == "nova"
    removed = nova_ssh(host, target, f"rm -rf {PROBE}")
    assert removed.rc == 0, removed.stderr
    assert not peer.file(PROBE).exists
    # The collection's fresh copy starts the same way: a chain whose first part makes the directory.
    chained = nova_ssh(host, target, f"mkdir -p {PROBE} && rm -rf {PROBE}")
    assert chained.rc == 0, chained.stderr
    assert not peer.file(PROBE).exists


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_nova_copies_into_the_instances_path_only(source, target):
    """Nova's scp in both protocols (SFTP, OpenSSH 9's default, and -O) and rsync, as a cold migration copies."""
    host, peer = lab_host(source), lab_host(target)
    local = f"/tmp/novaops-wrapper-probe-{source}"
    outside = "/var/lib/nova/novaops-wrapper-probe-outside"
    assert as_nova(host, f"printf probe > {local}").rc == 0
    try:
        assert nova_ssh(host, target, f"mkdir -p {PROBE}").rc == 0
        copies = {
            "sftp": f"scp -q -o BatchMode=yes -o StrictHostKeyChecking=yes -C -r {local} {target}:{PROBE}/sftp",
            "scp": f"scp -q -O -o BatchMode=yes -o StrictHostKeyChecking=yes -C -r {local} {target}:{PROBE}/scp",
            "rsync": f"rsync -a --sparse -e {shlex.quote(SSH)} {local} {target}:{PROBE}/rsync",
        }
        for name, command in copies.items():
            result = as_nova(host, command + " </dev/null")
            assert result.rc == 0, f"{name}: {result.stderr}"
            assert peer.file(f"{PROBE}/{name}").content_string == "probe", name
        for name, command in copies.items():
            result = as_nova(host, command.replace(f"{PROBE}/{name}", outside) + " </dev/null")
            assert result.rc != 0, f"{name} wrote outside {INSTANCES}"
            assert not peer.file(outside).exists, name
    finally:
        nova_ssh(host, target, f"rm -rf {PROBE}")
        host.run("rm -f %s", local)
    assert not peer.file(PROBE).exists


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
