"""novaops.migration.novaops_ssh_trust across three made-up computes on this machine.

Every "compute" is this machine over a local connection, with its own facts,
its own host keys and its own ~nova/.ssh in a scratch directory (the user is
root here, whose shell is already /bin/bash; nothing under /root is touched).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

COMPUTES = {"compute-a": "10.99.0.21", "compute-b": "10.99.0.22", "compute-c": "10.99.0.23"}


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
    }


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
            assert f'restrict,from="{address}" {public_keys[peer]} root@{peer}' in authorized
            for host_key in host_keys[peer]:
                assert f"{peer},{peer}.lab,{address} {host_key}\n" in known_hosts
            assert "127.0.0.1" not in known_hosts
        assert "192.168.122.1" not in authorized

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
