"""novaops.migration.novaops_ssh_trust across three made-up computes on this machine.

Every "compute" is this machine over a local connection, with its own facts,
its own host keys and its own ~nova/.ssh in a scratch directory (the user is
root here, whose shell is already /bin/bash; nothing under /root is touched).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

COMPUTES = {"compute-a": "10.99.0.21", "compute-b": "10.99.0.22", "compute-c": "10.99.0.23"}
WRAPPER = Path(__file__).resolve().parents[3] / "roles/novaops_ssh_trust/files/novaops-nova-ssh-wrapper"
# The first of the role's candidates that this machine has, as the role picks it.
PYTHON = next(path for path in ("/usr/bin/python3", "/usr/libexec/platform-python") if os.access(path, os.X_OK))


def inventory(hosts: dict[str, str]) -> str:
    lines = ["[compute]"]
    lines += [f"{name} ansible_connection=local compute_address={address}" for name, address in hosts.items()]
    return "\n".join(lines) + "\n"


def play(tmp_path: Path) -> list:
    return [{
        "name": "ssh_trust role on made-up computes",
        "hosts": "compute",
        "gather_facts": False,
        "pre_tasks": [{"novaops_test_facts": {"facts": {
            "os_family": "Debian",
            "hostname": "{{ inventory_hostname }}",
            "fqdn": "{{ inventory_hostname }}.lab",
            # 192.168.122.1: libvirt's virbr0, the same on every compute.
            "all_ipv4_addresses": ["{{ compute_address }}", "127.0.0.1", "192.168.122.1"],
            "all_ipv6_addresses": ["fe80::1"],
            "selinux": {"status": "disabled"},
        }}}],
        "roles": [{"role": "novaops.migration.novaops_ssh_trust",
                   "novaops_ssh_trust_user": "root",
                   "novaops_ssh_trust_shell": "/bin/bash"}],
    }]


def private_paths(tmp_path: Path) -> dict:
    return {
        "__novaops_ssh_trust_ssh_dir": str(tmp_path / "{{ inventory_hostname }}/nova/.ssh"),
        "__novaops_ssh_trust_host_key_dir": str(tmp_path / "{{ inventory_hostname }}/etc/ssh"),
        "novaops_ssh_trust_wrapper_path": str(tmp_path / "{{ inventory_hostname }}/libexec/novaops/nova-ssh-wrapper"),
        "__novaops_ssh_trust_wrapper_config": str(tmp_path / "{{ inventory_hostname }}/etc/novaops/wrapper.conf"),
    }


def forced_command(tmp_path: Path, name: str) -> str:
    return (f'command="{PYTHON} -I {tmp_path}/{name}/libexec/novaops/nova-ssh-wrapper '
            f'{tmp_path}/{name}/etc/novaops/wrapper.conf"')


@pytest.fixture
def host_keys(tmp_path: Path) -> dict[str, list[str]]:
    """Real host key pairs per compute, as sshd would have made them."""
    keys = {}
    for name in COMPUTES:
        ssh_dir = tmp_path / name / "etc/ssh"
        ssh_dir.mkdir(parents=True)
        keys[name] = []
        for key_type in ("ed25519", "ecdsa"):
            key = ssh_dir / f"ssh_host_{key_type}_key"
            subprocess.run(["ssh-keygen", "-q", "-t", key_type, "-N", "", "-C", f"root@{name}", "-f", str(key)],
                           check=True)
            keys[name].append(" ".join(key.with_suffix(".pub").read_text().split()[:2]))
    return keys


def test_every_compute_trusts_every_other(run_playbook, tmp_path, host_keys):
    first = run_playbook(play(tmp_path), inventory=inventory(COMPUTES), extra_vars=private_paths(tmp_path))
    assert first.rc == 0, first.output

    public_keys = {
        name: " ".join((tmp_path / name / "nova/.ssh/id_ed25519.pub").read_text().split()[:2])
        for name in COMPUTES
    }
    for name in COMPUTES:
        ssh_dir = tmp_path / name / "nova/.ssh"
        assert ssh_dir.stat().st_mode & 0o777 == 0o700
        assert (ssh_dir / "id_ed25519").stat().st_mode & 0o777 == 0o600
        authorized = (ssh_dir / "authorized_keys").read_text()
        known_hosts = (ssh_dir / "known_hosts").read_text()
        assert public_keys[name] not in authorized, "a compute does not need its own key"
        assert "StrictHostKeyChecking" not in known_hosts
        for peer, address in COMPUTES.items():
            if peer == name:
                assert f"{peer}," not in known_hosts
                continue
            # Only the peer's own address: virbr0's, which every compute has, would let any of them in.
            assert f'restrict,from="{address}",{forced_command(tmp_path, name)} {public_keys[peer]} root@{peer}' \
                in authorized
            for host_key in host_keys[peer]:
                assert f"{peer},{peer}.lab,{address} {host_key}\n" in known_hosts
            assert "127.0.0.1" not in known_hosts
        assert "192.168.122.1" not in authorized
        wrapper = tmp_path / name / "libexec/novaops/nova-ssh-wrapper"
        assert wrapper.read_bytes() == WRAPPER.read_bytes()
        assert wrapper.stat().st_mode & 0o7777 == 0o755 and wrapper.stat().st_uid == 0
        assert wrapper.parent.stat().st_mode & 0o777 == 0o755
        config = tmp_path / name / "etc/novaops/wrapper.conf"
        assert json.loads(config.read_text()) == {"allowed_paths": ["/var/lib/nova/instances"]}
        assert config.stat().st_mode & 0o7777 == 0o644 and config.stat().st_uid == 0

    second = run_playbook(play(tmp_path), inventory=inventory(COMPUTES), extra_vars=private_paths(tmp_path))
    assert second.rc == 0, second.output
    assert all(second.changed(name) == 0 for name in COMPUTES), second.output
    assert public_keys["compute-a"] in (tmp_path / "compute-b/nova/.ssh/authorized_keys").read_text(), \
        "keys must not be regenerated"


def test_a_single_compute_is_refused(run_playbook, tmp_path, host_keys):
    result = run_playbook(play(tmp_path), inventory=inventory({"compute-a": "10.99.0.21"}),
                          extra_vars=private_paths(tmp_path))
    assert result.rc != 0
    assert "migration needs at least two computes" in result.output.replace("\n", " ")


def test_missing_nova_user_is_refused(run_playbook, tmp_path, host_keys):
    plays = play(tmp_path)
    plays[0]["roles"][0]["novaops_ssh_trust_user"] = "no-such-nova-user"
    result = run_playbook(plays, inventory=inventory(COMPUTES), extra_vars=private_paths(tmp_path))
    assert result.rc != 0
    assert "User no-such-nova-user does not exist" in result.output


def test_the_keys_of_a_compute_that_left_the_group_are_removed(run_playbook, tmp_path, host_keys):
    assert run_playbook(play(tmp_path), inventory=inventory(COMPUTES), extra_vars=private_paths(tmp_path)).rc == 0
    authorized = tmp_path / "compute-a/nova/.ssh/authorized_keys"
    authorized.write_text(authorized.read_text() + "ssh-ed25519 AAAAC3NzaOPERATOR operator@laptop\n")
    assert "root@compute-c" in authorized.read_text()

    staying = {name: address for name, address in COMPUTES.items() if name != "compute-c"}
    again = run_playbook(play(tmp_path), inventory=inventory(staying), extra_vars=private_paths(tmp_path))
    assert again.rc == 0, again.output
    text = authorized.read_text()
    assert "root@compute-c" not in text
    assert "root@compute-b" in text
    assert "operator@laptop" in text, "entries the role did not write are left alone"


def test_the_forced_command_runs_the_allowed_commands_only(run_playbook, tmp_path, host_keys):
    """The installed wrapper, with the settings the role wrote, as sshd would run it from authorized_keys."""
    plays = play(tmp_path)
    instances = tmp_path / "instances"
    (instances / "srv").mkdir(parents=True)
    plays[0]["roles"][0]["novaops_ssh_trust_allowed_paths"] = [str(instances)]
    assert run_playbook(plays, inventory=inventory(COMPUTES), extra_vars=private_paths(tmp_path)).rc == 0
    authorized = (tmp_path / "compute-a/nova/.ssh/authorized_keys").read_text()
    entry = next(line for line in authorized.splitlines() if line.endswith("root@compute-b"))
    command = entry.split('command="', 1)[1].split('"', 1)[0]

    def over_ssh(request):
        environ = {"PATH": "/usr/bin:/bin", "SSH_ORIGINAL_COMMAND": request, "SSH_CLIENT": "10.99.0.22 4000 22"}
        return subprocess.run(["sh", "-c", command], env=environ, capture_output=True, check=False)

    assert over_ssh(f"mkdir -p {instances}/srv/probe").returncode == 0
    assert (instances / "srv/probe").is_dir()
    refused = over_ssh("cat /etc/passwd")
    assert refused.returncode == 1 and b"refused" in refused.stderr and refused.stdout == b""
    assert over_ssh(f"mkdir -p {tmp_path}/outside").returncode == 1
    assert not (tmp_path / "outside").exists()


def test_without_the_forced_command_keys_run_anything(run_playbook, tmp_path, host_keys):
    extra = private_paths(tmp_path) | {"novaops_ssh_trust_forced_command": False}
    assert run_playbook(play(tmp_path), inventory=inventory(COMPUTES), extra_vars=extra).rc == 0
    authorized = (tmp_path / "compute-a/nova/.ssh/authorized_keys").read_text()
    assert 'restrict,from="10.99.0.22" ' in authorized and "command=" not in authorized
    assert not (tmp_path / "compute-a/libexec").exists()

    # Turned on later: the same entries gain command=, the departed-peers comments stay as they were.
    again = run_playbook(play(tmp_path), inventory=inventory(COMPUTES), extra_vars=private_paths(tmp_path))
    assert again.rc == 0, again.output
    lines = (tmp_path / "compute-a/nova/.ssh/authorized_keys").read_text().splitlines()
    assert len(lines) == 2 and all(forced_command(tmp_path, "compute-a") in line for line in lines)
    assert sorted(line.rsplit(" ", 1)[1] for line in lines) == ["root@compute-b", "root@compute-c"]


@pytest.mark.parametrize(("paths", "message"), [
    (["var/lib/nova/instances"], "each entry must be an absolute path below /"),
    (["/"], "each entry must be an absolute path below /"),
    (["/var/lib/nova/instances/../.."], "each entry must be an absolute path below /"),
    ([], "novaops_ssh_trust_allowed_paths is empty"),
])
def test_preflight_refuses_allowed_paths_that_are_not_absolute_directories(run_playbook, tmp_path, host_keys,
                                                                           paths, message):
    plays = play(tmp_path)
    plays[0]["roles"][0]["novaops_ssh_trust_allowed_paths"] = paths
    result = run_playbook(plays, inventory=inventory(COMPUTES), extra_vars=private_paths(tmp_path))
    assert result.rc != 0
    assert message in result.output.replace("\n", " ")
    assert not (tmp_path / "compute-a/nova/.ssh/authorized_keys").exists()


def test_preflight_refuses_a_wrapper_path_a_shell_would_read(run_playbook, tmp_path, host_keys):
    extra = private_paths(tmp_path) | {"novaops_ssh_trust_wrapper_path": str(tmp_path / "a b/$(id)")}
    result = run_playbook(play(tmp_path), inventory=inventory(COMPUTES), extra_vars=extra)
    assert result.rc != 0
    assert "it goes into authorized_keys' command=" in result.output.replace("\n", " ")


def test_check_mode_predicts_the_wrapper_and_writes_nothing(run_playbook, tmp_path, host_keys):
    result = run_playbook(play(tmp_path), inventory=inventory(COMPUTES), extra_vars=private_paths(tmp_path),
                          check=True)
    assert result.rc == 0, result.output
    assert all(result.changed(name) > 0 for name in COMPUTES), result.output
    assert not (tmp_path / "compute-a/libexec").exists()
    assert not (tmp_path / "compute-a/etc/novaops").exists()
    assert not (tmp_path / "compute-a/nova/.ssh/authorized_keys").exists()
