"""The lab itself: the state the manual procedure starts from, on real services."""
import re

import pytest

from conftest import guest_console, wait_until


def test_computes_up_and_chassis_registered(cloud):
    services = {s.host: s for s in cloud.compute.services(binary="nova-compute")}
    for host in ("compute1", "compute2"):
        assert services[host].state == "up" and services[host].status == "enabled", services[host]
    agents = {a.host for a in cloud.network.agents() if a.agent_type == "OVN Controller agent" and a.is_alive}
    assert {"compute1", "compute2"} <= agents


def test_control_plane_units_named_as_packages(lab_hosts):
    units = "mariadb rabbitmq-server ovn-central keystone glance-api placement-api nova-api nova-scheduler " \
            "nova-conductor neutron-api neutron-periodic-workers neutron-ovn-maintenance-worker"
    result = lab_hosts["controller"].run(f"systemctl is-active {units}", check=False)
    assert result.stdout.split() == ["active"] * len(units.split()), result.stdout


def test_computes_not_yet_prepared_for_migration(lab_hosts):
    if lab_hosts["compute1"].run("test -e /var/lib/nova/.ssh", check=False).returncode == 0:
        pytest.skip("this lab was already prepared by site.yml; its starting state is checked on a fresh lab")
    for name in ("compute1", "compute2"):
        host = lab_hosts[name]
        assert host.run("getent passwd nova").stdout.strip().endswith(":/usr/sbin/nologin")
        assert host.run("test -e /var/lib/nova/.ssh", check=False).returncode != 0
        assert host.run("systemctl is-active libvirtd-tcp.socket", check=False).stdout.strip() != "active"
        assert "virt_type = qemu" in host.run("cat /etc/nova/nova.conf").stdout


@pytest.fixture()
def probe_server(cloud):
    image = cloud.image.find_image("lab-probe-image")
    if image is None:
        image = cloud.create_image("lab-probe-image", filename="lab/state/images/guest.qcow2",
                                   disk_format="qcow2", container_format="bare", wait=True,
                                   os_shutdown_timeout="5")
    flavor = cloud.compute.find_flavor("lab-probe") or cloud.compute.create_flavor(
        name="lab-probe", ram=128, vcpus=1, disk=1)
    network = cloud.network.find_network("lab-probe-net") or cloud.network.create_network(name="lab-probe-net")
    if not list(cloud.network.subnets(network_id=network.id)):
        cloud.network.create_subnet(network_id=network.id, cidr="192.168.77.0/24", ip_version=4,
                                    name="lab-probe-subnet")
    for stale in cloud.compute.servers(name="^lab-probe$"):
        cloud.compute.delete_server(stale)
        cloud.compute.wait_for_delete(stale)
    server = cloud.compute.create_server(name="lab-probe", image_id=image.id, flavor_id=flavor.id,
                                         networks=[{"uuid": network.id}], availability_zone="nova:compute1")
    server = cloud.compute.wait_for_server(server, wait=300)
    yield server
    cloud.compute.delete_server(server)
    cloud.compute.wait_for_delete(server, wait=120)
    cloud.network.delete_network(network)
    cloud.compute.delete_flavor(flavor)
    cloud.image.delete_image(image)


def test_server_with_nic_boots_on_compute1(cloud, lab_hosts, probe_server):
    server = cloud.compute.get_server(probe_server.id)
    assert server.status == "ACTIVE" and server.compute_host == "compute1"
    ports = list(cloud.network.ports(device_id=server.id))
    assert len(ports) == 1
    wait_until(lambda: cloud.network.get_port(ports[0].id).status == "ACTIVE", 60, what="port ACTIVE")
    port = cloud.network.get_port(ports[0].id)
    assert port.binding_host_id == "compute1" and port.binding_vif_type == "ovs"
    compute1 = lab_hosts["compute1"]
    assert server.instance_name in compute1.run("pgrep -a qemu-system-x86").stdout
    assert lab_hosts["compute2"].run("pgrep -a qemu-system-x86", check=False).stdout == ""

    def ticks():
        lines = [line for line in guest_console(compute1, server.id) if "novaops-guest: tick=" in line]
        return len(lines) >= 3 and lines

    lines = wait_until(ticks, 120, what="the guest's ticks on its serial console")
    assert re.search(r"tick=\d+ boot_id=[0-9a-f-]{36}", lines[-1])
    assert any("novaops-guest: booted" in line and "boots=1" in line for line in guest_console(compute1, server.id))


def test_guest_powers_off_on_the_button_and_snapshots_upload(cloud, lab_hosts, probe_server):
    """Nova's stop presses the ACPI power button: the guest must act on it (or every stop waits Nova's
    shutdown timeout); a snapshot goes through Glance's uWSGI in 1 MiB chunks (rejected by its default
    chunked-input limit: HTTP 500 "unable to receive chunked part")."""
    server = cloud.compute.get_server(probe_server.id)
    compute1 = lab_hosts["compute1"]
    wait_until(lambda: any("listening to the power button" in line for line in guest_console(compute1, server.id)),
               120, what="the guest listening to its power button")
    cloud.compute.stop_server(server)
    cloud.compute.wait_for_server(server, status="SHUTOFF", wait=120)
    assert any("power button pressed" in line for line in guest_console(compute1, server.id))
    snapshot = None
    try:
        snapshot = cloud.compute.create_server_image(server, "lab-probe-snapshot", wait=True, timeout=300)
        assert cloud.image.get_image(snapshot.id).status == "active"
    finally:
        for image in cloud.image.images(name="lab-probe-snapshot"):
            cloud.image.delete_image(image)
