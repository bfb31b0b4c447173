"""The procedure's resource modules against the real lab, through ansible-playbook.

targets/modules.yml does check mode -> real -> again -> bad inputs for every
module and asserts as it goes; this test runs it and then checks with the SDK
that the bad inputs created nothing and that the cleanup removed everything.
"""
import os
import pathlib
import subprocess

from conftest import REPO

TARGETS = pathlib.Path(__file__).parent / "targets"
# server.yml has no default image: the collection ships none.
IMAGE_FILE = ("-e", f"novaops_server_image_file={REPO / 'lab/state/images/guest.qcow2'}")
BAD_INPUT_NAMES = {
    "image": ["it-image-missing", "it-image-format"],
    "flavor": ["it-flavor-badcreds"],
    "network": ["it-network-unreachable"],
    "subnet": ["it-subnet-badpool", "it-subnet-badgw"],
    "server": ["it-server-badimage", "it-server-badflavor", "it-server-badnet"],
}


def run_playbook(playbook, tmp_path, *extra):
    # server.yml names no cloud: openstacksdk takes the lab's from OS_CLOUD (modules.yml names it itself).
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(REPO / "lab" / "clouds.yaml"), OS_CLOUD="lab",
               NOVAOPS_IT_TMP=str(tmp_path), ANSIBLE_FORCE_COLOR="0")
    result = subprocess.run([str(REPO / ".venv" / "bin" / "ansible-playbook"), str(playbook), *extra],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=1800, check=False)
    (tmp_path / "playbook.log").write_text(result.stdout + result.stderr)
    return result


def test_procedure_resources_modules(cloud, tmp_path):
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(tmp_path / "other.qcow2"), "1M"], check=True)
    result = run_playbook(TARGETS / "modules.yml", tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "failed=0" in result.stdout

    listings = {
        "image": [i.name for i in cloud.image.images()],
        "flavor": [f.name for f in cloud.compute.flavors()],
        "network": [n.name for n in cloud.network.networks()],
        "subnet": [s.name for s in cloud.network.subnets()],
        "server": [s.name for s in cloud.compute.servers()],
    }
    for kind, names in BAD_INPUT_NAMES.items():
        created = sorted(set(names) & set(listings[kind]))
        assert not created, f"bad input created {kind}(s) {created}"
    leftovers = {kind: [n for n in found if n and n.startswith("it-")] for kind, found in listings.items()}
    assert not any(leftovers.values()), f"cleanup left {leftovers}"


def test_server_playbook_is_idempotent(cloud, tmp_path):
    """playbooks/server.yml (the procedure's first half): myinstance ACTIVE with its NIC, then no change."""
    first = run_playbook(REPO / "playbooks" / "server.yml", tmp_path, *IMAGE_FILE)
    assert first.returncode == 0, first.stdout[-4000:]
    second = run_playbook(REPO / "playbooks" / "server.yml", tmp_path, *IMAGE_FILE)
    assert second.returncode == 0 and "changed=0" in second.stdout, second.stdout[-4000:]
    server = cloud.compute.find_server("myinstance")
    assert cloud.compute.get_server(server.id).status == "ACTIVE"
    ports = list(cloud.network.ports(device_id=server.id))
    assert len(ports) == 1 and ports[0].binding_host_id == cloud.compute.get_server(server.id).compute_host
