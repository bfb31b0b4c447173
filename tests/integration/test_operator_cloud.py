"""The collection as an operator gets it: installed from its tarball, on a cloud not named `lab`, as a non-root user.

Everything here runs outside the checkout (no ansible.cfg of ours, no .collections link): the
collection is built with `ansible-galaxy collection build` and installed with `ansible-galaxy
collection install -p`, the lab's clouds.yaml is copied with its cloud renamed `prod` and chosen
only by OS_CLOUD (no `-e cloud` anywhere), and the inventory logs in as `opsadmin`, a user with
sudo on every lab host, so each host-side task must ask for `become` itself. Through that: site.yml
(already applied as root, so it must change nothing), server.yml, a live, a cold and a manual cold
move, and a drain. The tests run in order and share the server.
"""
import json
import os
import pathlib
import shlex
import subprocess
import sys

import pytest
import yaml

from conftest import HOSTS, LAB, LAB_STATE, REPO
from test_migrate import Run

BIN = pathlib.Path(sys.executable).parent
OPERATOR = "opsadmin"
CLOUD = "prod"
SERVER = "ops-instance"
# server.yml's resources, under names no other test uses.
RESOURCES = dict(novaops_server_name=SERVER, novaops_server_image_name="ops-guest",
                 novaops_server_flavor_name="ops-tiny", novaops_server_network_name="ops-net",
                 novaops_server_subnet_name="ops-subnet", novaops_server_subnet_cidr="192.168.79.0/24",
                 novaops_server_subnet_gateway="192.168.79.1", novaops_server_subnet_pool_start="192.168.79.100",
                 novaops_server_subnet_pool_end="192.168.79.110", novaops_server_flavor_ram=128,
                 novaops_server_flavor_disk=1, novaops_server_image_file=str(LAB_STATE / "images" / "guest.qcow2"),
                 novaops_server_image_properties={"os_shutdown_timeout": "5"}, novaops_server_host="compute1")
LOGS = REPO / "tests" / "output" / "logs"


@pytest.fixture(scope="module", autouse=True)
def prepared_for_migration(prepared_lab):
    return prepared_lab


@pytest.fixture(scope="module")
def operator_user(lab_hosts):
    """opsadmin on every lab host: the lab's ssh key, sudo without a password (as AWX's machine credential)."""
    key = (LAB_STATE / "ssh" / "id_ed25519.pub").read_text().strip()
    setup = " && ".join([
        f"(id {OPERATOR} >/dev/null 2>&1 || useradd --create-home --shell /bin/bash {OPERATOR})",
        f"install -d -m 0700 -o {OPERATOR} -g {OPERATOR} /home/{OPERATOR}/.ssh",
        f"printf '%s\\n' {shlex.quote(key)} > /home/{OPERATOR}/.ssh/authorized_keys",
        f"chown {OPERATOR}: /home/{OPERATOR}/.ssh/authorized_keys",
        f"chmod 0600 /home/{OPERATOR}/.ssh/authorized_keys",
        f"printf '%s\\n' '{OPERATOR} ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/{OPERATOR}",
        f"chmod 0440 /etc/sudoers.d/{OPERATOR}",
    ])
    for host in lab_hosts.values():
        host.run(setup)
    yield OPERATOR
    for host in lab_hosts.values():
        host.run(f"rm -f /etc/sudoers.d/{OPERATOR}; userdel --remove {OPERATOR} 2>/dev/null || true", check=False)


@pytest.fixture(scope="module")
def operator(tmp_path_factory, operator_user):
    """A directory outside the checkout with the installed collection, the renamed cloud and opsadmin's inventory."""
    where = tmp_path_factory.mktemp("operator")
    galaxy = str(BIN / "ansible-galaxy")
    subprocess.run([galaxy, "collection", "build", str(REPO), "--output-path", str(where)], check=True,
                   capture_output=True, text=True, cwd=where)
    tarball, = where.glob("novaops-migration-*.tar.gz")
    installed = subprocess.run([galaxy, "collection", "install", "-p", str(where / "collections"), str(tarball)],
                               capture_output=True, text=True, cwd=where, check=False)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert not (where / "collections" / "ansible_collections" / "novaops" / "migration" / "lab").exists()

    clouds = yaml.safe_load((LAB / "clouds.yaml").read_text())
    clouds["clouds"] = {CLOUD: clouds["clouds"]["lab"]}
    (where / "clouds.yaml").write_text(yaml.safe_dump(clouds))
    (where / "clouds.yaml").chmod(0o600)

    lines = [line for line in (LAB / "hosts").read_text().splitlines() if not line.startswith("ansible_user=")]
    (where / "hosts").write_text("\n".join(lines + [f"ansible_user={OPERATOR}", ""]))
    # The vault's part of the lab (the SASL password) goes with the inventory, as an operator's would.
    (where / "group_vars").mkdir()
    (where / "group_vars" / "compute.yml").write_text((LAB / "group_vars" / "compute.yml").read_text())
    return where


def playbook(operator, name, *extra, timeout=1200, os_cloud=CLOUD):
    """ansible-playbook novaops.migration.NAME from the installed collection, in the operator's directory.

    os_cloud=None runs it as AWX does with an OpenStack credential: OS_CLIENT_CONFIG_FILE names a
    clouds.yaml with a single cloud, and no OS_CLOUD.
    """
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("ANSIBLE_", "OS_", "MOLECULE_"))}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(operator / "collections"), OS_CLIENT_CONFIG_FILE=str(operator / "clouds.yaml"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_CALLBACK_RESULT_FORMAT="yaml")
    if os_cloud:
        env["OS_CLOUD"] = os_cloud
    argv = [str(BIN / "ansible-playbook"), "-i", str(operator / "hosts"), f"novaops.migration.{name}", *extra]
    completed = subprocess.run(argv, cwd=operator, env=env, capture_output=True, text=True, timeout=timeout,
                               check=False)
    LOGS.mkdir(parents=True, exist_ok=True)
    with open(LOGS / "test_operator_cloud.log", "a", encoding="utf-8") as log:
        log.write(f"\n===== {' '.join(argv[3:])} (rc {completed.returncode})\n{completed.stdout}{completed.stderr}")
    return completed


def recap(completed):
    """host -> changed, from the play recap."""
    found = {}
    for line in completed.stdout.splitlines():
        fields = line.split()
        if len(fields) > 2 and fields[1] == ":" and fields[2].startswith("ok="):
            found[fields[0]] = int(dict(field.split("=") for field in fields[2:])["changed"])
    return found


def where_is(cloud, name):
    server = cloud.compute.find_server(name, ignore_missing=False)
    server = cloud.compute.get_server(server.id)
    return server.status, server.compute_host


@pytest.fixture(scope="module")
def created(cloud, operator):
    """server.yml's resources, deleted at the end even when a test fails."""
    yield
    server = cloud.compute.find_server(SERVER)
    if server:
        cloud.compute.delete_server(server)
        cloud.compute.wait_for_delete(server, wait=180)
    for service, find, delete, name in (
            (cloud.network, "find_network", "delete_network", "ops-net"),
            (cloud.compute, "find_flavor", "delete_flavor", "ops-tiny"),
            (cloud.image, "find_image", "delete_image", "ops-guest")):
        resource = getattr(service, find)(name)
        if resource:
            getattr(service, delete)(resource)
    for name in ("compute1", "compute2"):
        service = [s for s in cloud.compute.services(binary="nova-compute") if s.host == name][0]
        if service.status != "enabled":
            cloud.compute.enable_service(service)


def test_site_as_a_sudo_user_changes_nothing(operator):
    run = playbook(operator, "site")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert set(recap(run)) >= set(HOSTS), recap(run)
    assert recap(run) == dict.fromkeys(recap(run), 0), f"a second site.yml, as {OPERATOR}, changed something"


def test_server_playbook_from_the_tarball(cloud, operator, created):
    run = playbook(operator, "server", "-e", json.dumps(RESOURCES))
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert where_is(cloud, SERVER) == ("ACTIVE", "compute1")


@pytest.mark.parametrize("target, extra", [
    ("compute2", {}),
    ("compute1", {"mode": "cold"}),
    ("compute2", {"mode": "cold", "cold_method": "manual", "allow_stop": "true"}),
], ids=["live", "cold", "manual"])
def test_moves_as_a_sudo_user(cloud, operator, created, target, extra):
    variables = [f"{name}={value}" for name, value in dict(instance=SERVER, target=target, **extra).items()]
    run = playbook(operator, "migrate", *sum((["-e", v] for v in variables), []))
    assert run.returncode == 0, Run(run)
    assert where_is(cloud, SERVER) == ("ACTIVE", target)


def test_drain_as_a_sudo_user(cloud, operator, created):
    run = playbook(operator, "drain", "-e", json.dumps(dict(host="compute2", target="compute1",
                                                            reason="novaops operator test")))
    assert run.returncode == 0, Run(run)
    assert where_is(cloud, SERVER) == ("ACTIVE", "compute1")
    # As AWX runs it: the credential's clouds.yaml and no OS_CLOUD.
    back = playbook(operator, "drain", "-e", json.dumps(dict(novaops_drain_host="compute2", novaops_drain_enable=True)),
                    os_cloud=None)
    assert back.returncode == 0, Run(back)
    service = [s for s in cloud.compute.services(binary="nova-compute") if s.host == "compute2"][0]
    assert service.status == "enabled"
