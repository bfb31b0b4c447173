"""No secret of the lab in anything the collection prints, at -vvv and with --diff.

The secrets are the ones the lab generated (database, message queue, service and admin
passwords, libvirt's SASL password) and the private ssh keys (the lab's, nova's on the computes).
site.yml runs with `--diff -vvv` after a setting it owns was changed in nova.conf on the
controller and on compute1, so the ini_file tasks really rewrite nova.conf (which holds the
passwords) and restart the services; migrate.yml runs a real live move at -vvv with the cloud
given as a dict, password included, as the base's `cloud` option allows. The whole output, and
the async job files the move left, are searched for every secret.
"""
import json
import os
import pathlib
import subprocess
import sys
import threading
import time

import pytest
import yaml

from conftest import LAB, LAB_STATE, REPO, delete_guest_resources, guest_resources

BIN = pathlib.Path(sys.executable).parent
LAB_SECRETS = pathlib.Path("/var/lib/novaops-lab/secrets")
SERVER = "mig-secrets"
LOGS = REPO / "tests" / "output" / "logs"


@pytest.fixture(scope="module", autouse=True)
def prepared_for_migration(prepared_lab):
    return prepared_lab


def key_body(text):
    """The lines of a private key between its armour: what would leak of it."""
    return [line for line in text.splitlines() if line and not line.startswith("-----")]


@pytest.fixture(scope="module")
def secrets(lab_hosts):
    """name -> secret value, every one the lab made."""
    found = {}
    for line in LAB_SECRETS.read_text().splitlines():
        name, _separator, value = line.partition("=")
        if name.endswith("PASSWORD") and value:
            found[name] = value
    for number, line in enumerate(key_body((LAB_STATE / "ssh" / "id_ed25519").read_text())):
        found[f"lab ssh key line {number}"] = line
    for compute in ("compute1", "compute2"):
        key = lab_hosts[compute].run("cat /var/lib/nova/.ssh/id_ed25519").stdout
        for number, line in enumerate(key_body(key)):
            found[f"{compute} nova ssh key line {number}"] = line
    assert {"DB_PASSWORD", "RABBIT_PASSWORD", "SERVICE_PASSWORD", "ADMIN_PASSWORD", "LIBVIRT_SASL_PASSWORD"} <= set(found)
    return found


def run_playbook(name, *argv, environment=None):
    env = dict(os.environ if environment is None else environment, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    started = time.time()
    completed = subprocess.run([str(BIN / "ansible-playbook"), "-i", "lab/hosts", f"playbooks/{name}", *argv],
                               cwd=REPO, env=env, capture_output=True, text=True, timeout=1800, check=False)
    LOGS.mkdir(parents=True, exist_ok=True)
    # The log itself is checked for secrets below, so it can be kept.
    (LOGS / f"test_secrets-{name}.log").write_text(completed.stdout + completed.stderr)
    completed.started = started
    return completed


def leaked(secrets, text):
    return sorted(name for name, value in secrets.items() if value in text)


def test_site_with_diff_and_vvv_prints_no_secret(lab_hosts, secrets):
    # Settings the roles own, changed behind their back: both nova.conf files are rewritten.
    lab_hosts["controller"].run(r"sed -i '/^\[DEFAULT\]/a scheduler_default_filters = RetryFilter' /etc/nova/nova.conf")
    lab_hosts["compute1"].run(
        r"sed -i 's/^live_migration_inbound_addr *=.*/live_migration_inbound_addr = 10.99.0.250/' /etc/nova/nova.conf")
    run = run_playbook("site.yml", "--diff", "-vvv")
    assert run.returncode == 0, run.stdout[-4000:]
    output = run.stdout + run.stderr
    assert "scheduler_default_filters" in output and "live_migration_inbound_addr" in output, \
        "the changed settings were not rewritten: the test proved nothing"
    assert lab_hosts["compute1"].run("grep -c '^live_migration_inbound_addr = 10.99.0.11' /etc/nova/nova.conf").stdout.strip() == "1"
    assert not leaked(secrets, output)


@pytest.fixture(scope="module")
def server(cloud):
    image, flavor, network, made = guest_resources(cloud)
    for stale in cloud.compute.servers(name=f"^{SERVER}$", all_projects=True):
        cloud.compute.delete_server(stale)
        cloud.compute.wait_for_delete(stale, wait=120)
    created = cloud.compute.create_server(name=SERVER, image_id=image.id, flavor_id=flavor.id,
                                          networks=[{"uuid": network.id}], availability_zone="nova:compute1")
    created = cloud.compute.wait_for_server(created, wait=300)
    yield created
    cloud.compute.delete_server(created)
    cloud.compute.wait_for_delete(created, wait=180)
    delete_guest_resources(cloud, made)


def test_migrate_with_a_cloud_dict_at_vvv_prints_no_secret(cloud, server, secrets, tmp_path):
    definition = yaml.safe_load((LAB / "clouds.yaml").read_text())["clouds"]["lab"]
    assert definition["auth"]["password"] == secrets["ADMIN_PASSWORD"]
    extra = json.dumps(dict(instance=SERVER, target="compute2", cloud=definition))
    # No OS_CLOUD: the dict is the only way the play knows the cloud.
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OS_")}
    # The move's background job writes its result (with its arguments) to the async directory, and
    # follow_jobs removes the file once read: it is read here while the play runs.
    environment["ANSIBLE_ASYNC_DIR"] = str(tmp_path / "async")
    seen, done = {}, threading.Event()

    def watch():
        while not done.is_set():
            for path in (tmp_path / "async").glob("*"):
                try:
                    seen[path.name] = path.read_text(errors="replace")
                except OSError:
                    pass
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        run = run_playbook("migrate.yml", "-vvv", "-e", extra, environment=environment)
    finally:
        done.set()
        watcher.join()
    assert run.returncode == 0, run.stdout[-4000:]
    assert cloud.compute.get_server(server.id).compute_host == "compute2"
    assert "module_args" in run.stdout, "-vvv showed no module arguments: the test proved nothing"
    assert not leaked(secrets, run.stdout + run.stderr)
    # A finished job's file holds the module's result, with its arguments under invocation.
    assert any('"invocation"' in text for text in seen.values()), f"no finished job file was read: {seen}"
    for name, text in seen.items():
        assert not leaked(secrets, text), name
