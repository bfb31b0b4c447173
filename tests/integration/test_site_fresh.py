"""site.yml on the fresh lab, before anything prepared it: the refusals and check mode change nothing.

`make test` runs this file with test_lab.py before the Molecule scenario
converges the lab; on a lab site.yml already prepared it is skipped.
"""
import os
import subprocess
import sys

import pytest

from conftest import REPO, is_prepared
from test_migrate import Run

ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
# What site.yml writes or starts, per host: its fingerprint must not move when nothing may change.
FOOTPRINT = {
    "controller": "md5sum /etc/nova/nova.conf",
    "compute1": "md5sum /etc/nova/nova.conf /etc/libvirt/libvirtd.conf; ls -la /var/lib/nova/.ssh 2>&1 | sort; "
                "systemctl is-enabled libvirtd-tcp.socket 2>&1; ls /etc/libvirt",
}
FOOTPRINT["compute2"] = FOOTPRINT["compute1"]


@pytest.fixture(scope="module", autouse=True)
def fresh_lab(lab_hosts):
    if is_prepared(lab_hosts):
        pytest.skip("this lab was already prepared by site.yml; these checks need a fresh lab")


def footprint(lab_hosts):
    return {name: lab_hosts[name].run(command, check=False).stdout for name, command in FOOTPRINT.items()}


def site(*args):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    return Run(subprocess.run([ANSIBLE_PLAYBOOK, "-i", "lab/hosts", "playbooks/site.yml", *args], cwd=REPO,
                              env=env, capture_output=True, text=True, timeout=900, check=False))


def recap(run):
    """{host: changed} from the play recap."""
    counts = {}
    for line in run.raw.splitlines():
        fields = line.split()
        if len(fields) > 2 and fields[1] == ":" and fields[2].startswith("ok="):
            counts[fields[0]] = int(next(field for field in fields if field.startswith("changed=")).split("=")[1])
    return counts


def test_a_refusing_compute_leaves_every_host_unchanged(lab_hosts):
    """Unauthenticated TCP without its explicit opt-in: refused before the controller is touched."""
    before = footprint(lab_hosts)
    run = site("-e", "novaops_libvirt_auth_tcp=none")
    assert run.rc != 0
    assert 'novaops_libvirt_auth_tcp is "none"' in run.text and "novaops_libvirt_allow_unauthenticated_tcp" in run.text
    assert set(recap(run).values()) == {0}, recap(run)
    assert footprint(lab_hosts) == before


def test_check_mode_predicts_changes_everywhere_and_makes_none(lab_hosts):
    before = footprint(lab_hosts)
    run = site("--check")
    assert run.rc == 0, run
    predicted = recap(run)
    assert set(predicted) == {"controller", "compute1", "compute2"} and all(predicted.values()), predicted
    assert footprint(lab_hosts) == before
    print("\nsite.yml --check on the fresh lab, changed per host:", predicted)
