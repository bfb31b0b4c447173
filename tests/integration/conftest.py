"""Fixtures for tests that run against the real lab (make lab-up).

The lab is three nspawn hosts with a real OpenStack; these tests talk to it the
way an operator does: the cloud `lab` from lab/clouds.yaml, and ssh to the
hosts with the lab's pinned host keys.
"""
import os
import pathlib
import shlex
import subprocess
import sys
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
LAB = REPO / "lab"
LAB_STATE = LAB / "state"


def lab_hosts_from_inventory(inventory=LAB / "hosts"):
    """The lab's hosts and addresses as lab/lab.sh up wrote them (LAB_COMPUTES decides how many computes)."""
    hosts = {}
    if inventory.exists():
        for line in inventory.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 2 and fields[1].startswith("ansible_host="):
                hosts[fields[0]] = fields[1].split("=", 1)[1]
    return hosts or {"controller": "10.99.0.10", "compute1": "10.99.0.11", "compute2": "10.99.0.12"}


HOSTS = lab_hosts_from_inventory()
COMPUTES = tuple(sorted((name for name in HOSTS if name.startswith("compute")), key=lambda name: int(name[7:])))


def pytest_collection_modifyitems(config, items):
    if not (LAB / "clouds.yaml").exists():
        # Not skipped: a test run that should have had a lab must say it had none.
        raise pytest.UsageError("the lab is not up: run `make lab-up` first (tests/integration needs it)")


@pytest.fixture(scope="session")
def cloud():
    import openstack

    os.environ["OS_CLIENT_CONFIG_FILE"] = str(LAB / "clouds.yaml")
    return openstack.connect(cloud="lab")


class LabHost:
    def __init__(self, name):
        self.name = name
        self.address = HOSTS[name]

    def run(self, command, check=True, timeout=60):
        argv = [
            "ssh", "-q", "-i", str(LAB_STATE / "ssh" / "id_ed25519"), "-o", "BatchMode=yes",
            "-o", f"UserKnownHostsFile={LAB_STATE / 'ssh' / 'known_hosts'}",
            "-o", "StrictHostKeyChecking=yes", f"root@{self.address}", command,
        ]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"{self.name}: {command!r} exited {result.returncode}: {result.stderr.strip()}")
        return result


@pytest.fixture(scope="session")
def lab_hosts():
    return {name: LabHost(name) for name in HOSTS}


def wait_until(predicate, timeout, interval=1.0, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def guest_console(host, server_id):
    """The lab guest's serial console lines on the compute that runs it."""
    path = f"/var/lib/nova/instances/{server_id}/console.log"
    return host.run(f"cat {shlex.quote(path)} 2>/dev/null || true", check=False).stdout.splitlines()


def is_prepared(lab_hosts):
    """Whether playbooks/site.yml has prepared the computes (libvirt TCP, nova's ssh trust)."""
    for name in COMPUTES:
        host = lab_hosts[name]
        if host.run("systemctl is-active libvirtd-tcp.socket", check=False).stdout.strip() != "active":
            return False
        if host.run("test -e /var/lib/nova/.ssh/id_ed25519", check=False).returncode != 0:
            return False
    return True


@pytest.fixture(scope="session")
def prepared_lab(lab_hosts):
    """The lab prepared for migration by the collection's own site playbook, as an operator does it.

    `make test` runs the Molecule scenario (which converges site.yml on the fresh
    lab) before these tests; run alone, the tests prepare the lab themselves.
    """
    if not is_prepared(lab_hosts):
        playbook = pathlib.Path(sys.executable).parent / "ansible-playbook"
        result = subprocess.run([str(playbook), "-i", "lab/hosts", "playbooks/site.yml"], cwd=REPO,
                                capture_output=True, text=True, timeout=1200, check=False)
        assert result.returncode == 0, f"site.yml failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
        assert is_prepared(lab_hosts), "site.yml ran but the computes are not prepared"
    return lab_hosts


def guest_resources(cloud):
    """The image, flavor and network the migration tests boot their guests from, made when missing.

    Returns (image, flavor, network, made): ``made`` lists the (kind, resource) this call created, for
    delete_guest_resources, so a test removes only what it made and leaves another test's alone.
    """
    made = []
    image = cloud.image.find_image("mig-guest")
    if image is None:
        image = cloud.create_image("mig-guest", filename=str(REPO / "lab/state/images/guest.qcow2"),
                                   disk_format="qcow2", container_format="bare", wait=True,
                                   os_shutdown_timeout="5")
        made.append(("image", image))
    flavor = cloud.compute.find_flavor("mig-tiny")
    if flavor is None:
        flavor = cloud.compute.create_flavor(name="mig-tiny", ram=128, vcpus=1, disk=1)
        made.append(("flavor", flavor))
    network = cloud.network.find_network("mig-net")
    if network is None:
        network = cloud.network.create_network(name="mig-net")
        made.append(("network", network))
    if not list(cloud.network.subnets(network_id=network.id)):
        cloud.network.create_subnet(network_id=network.id, cidr="192.168.78.0/24", ip_version=4, name="mig-subnet")
    return image, flavor, network, made


def delete_guest_resources(cloud, made):
    """Delete what guest_resources made, newest first."""
    delete = dict(image=cloud.image.delete_image, flavor=cloud.compute.delete_flavor,
                  network=cloud.network.delete_network)
    for kind, resource in reversed(made):
        delete[kind](resource)
