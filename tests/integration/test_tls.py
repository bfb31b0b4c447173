"""Live migration over TLS on the lab: libvirt's qemu+tls:// and QEMU's native TLS for the streams.

lab/pki.yml makes a CA and a certificate per compute; site.yml with lab/tls.yml installs them
(novaops_libvirt_transport: tls, novaops_libvirt_native_tls: true). Then: a second site.yml
changes nothing; libvirt's TLS port refuses a client without a certificate (and the TCP port is
closed); a QEMU migration listener set up as libvirt sets it up for native TLS, with the
credentials the role installed, refuses a client without a certificate; and a live migration
through migrate.yml passes while the source QEMU's migration parameters show the TLS credentials
in use. At the end site.yml puts the lab back on TCP with SASL, native TLS off, for the other tests.
"""
import json
import pathlib
import re
import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest

from conftest import HOSTS, LAB_STATE, REPO, delete_guest_resources, guest_resources, wait_until
from test_migrate import migrate

BIN = pathlib.Path(sys.executable).parent
PKI = LAB_STATE / "pki"
SERVER = "mig-tls"
LOGS = REPO / "tests" / "output" / "logs"
TLS_PORT, TCP_PORT = 16514, 16509
# A port of QEMU's migration range that Nova's own moves (which start at 49152) will not take here.
PROBE_PORT = 49251
PROBE_PORT_OPEN = f":{PROBE_PORT}"


def site(*extra):
    argv = [str(BIN / "ansible-playbook"), "-i", "lab/hosts", "playbooks/site.yml", *extra]
    completed = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=1200, check=False)
    LOGS.mkdir(parents=True, exist_ok=True)
    with open(LOGS / "test_tls.log", "a", encoding="utf-8") as log:
        log.write(f"\n===== site.yml {' '.join(extra)} (rc {completed.returncode})\n{completed.stdout}{completed.stderr}")
    return completed


def changed_per_host(completed):
    found = {}
    for line in completed.stdout.splitlines():
        match = re.match(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)", line)
        if match:
            found[match.group(1)] = int(match.group(2))
    return found


@pytest.fixture(scope="module", autouse=True)
def tls_lab(prepared_lab):
    made = subprocess.run([str(BIN / "ansible-playbook"), "-i", "lab/hosts", "lab/pki.yml"], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)
    assert made.returncode == 0, made.stdout[-3000:]
    switched = site("-e", "@lab/tls.yml")
    try:
        assert switched.returncode == 0, switched.stdout[-5000:]
        yield prepared_lab
    finally:
        back = site()
        assert back.returncode == 0, back.stdout[-5000:]
        for name in ("compute1", "compute2"):
            assert prepared_lab[name].run("systemctl is-active libvirtd-tcp.socket", check=False).stdout.strip() == "active"


def test_a_second_site_run_over_tls_changes_nothing(tls_lab):
    again = site("-e", "@lab/tls.yml")
    assert again.returncode == 0, again.stdout[-5000:]
    assert changed_per_host(again) == {"controller": 0, "compute1": 0, "compute2": 0}
    for name in ("compute1", "compute2"):
        host = tls_lab[name]
        conf = host.run("grep -E '^live_migration_(scheme|with_native_tls)' /etc/nova/nova.conf").stdout.split("\n")
        assert "live_migration_scheme = tls" in conf and "live_migration_with_native_tls = true" in conf
        assert host.run("systemctl is-active libvirtd-tls.socket", check=False).stdout.strip() == "active"
        assert host.run("systemctl is-active libvirtd-tcp.socket", check=False).stdout.strip() != "active"
        modes = host.run("stat -c '%n %U %a' /etc/pki/libvirt/private/serverkey.pem /etc/pki/qemu/server-key.pem")
        assert modes.stdout.split("\n")[:2] == ["/etc/pki/libvirt/private/serverkey.pem root 600",
                                                "/etc/pki/qemu/server-key.pem libvirt-qemu 400"]


def tls_probe(address, port, certificate=None):
    """What a TLS client gets from address:port: 'refused' (the server ended the session) or 'open'."""
    context = ssl.create_default_context(cafile=str(PKI / "ca.pem"))
    context.check_hostname = False
    if certificate:
        context.load_cert_chain(str(PKI / f"{certificate}.pem"), str(PKI / f"{certificate}-key.pem"))
    with socket.create_connection((address, port), timeout=10) as raw:
        try:
            with context.wrap_socket(raw) as session:
                session.settimeout(3)
                # TLS 1.3 sends the server's verdict on the client certificate after the handshake.
                data = session.recv(1)
                return "refused" if data == b"" else "open"
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            return "refused"
        except socket.timeout:
            # The server waits for the client to speak: the session was accepted.
            return "open"


def test_libvirt_refuses_a_client_without_a_certificate(tls_lab):
    address = HOSTS["compute2"]
    assert tls_probe(address, TLS_PORT) == "refused"
    # Not vacuous: with compute1's certificate the same port accepts the session.
    assert tls_probe(address, TLS_PORT, certificate="compute1") == "open"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((address, TCP_PORT), timeout=10).close()


def qemu_tls_listener(host, port):
    """A QEMU migration listener on host, with libvirt's native-TLS settings and the role's credentials.

    Started as QEMU's user, with /etc/pki/qemu and verify-peer as libvirt passes them for a native TLS
    migration; returns the ssh process (its stdout collects QEMU's and QMP's output).
    """
    qmp = [
        {"execute": "qmp_capabilities"},
        {"execute": "migrate-set-parameters", "arguments": {"tls-creds": "novaops_probe_tls"}},
        {"execute": "migrate-incoming", "arguments": {"uri": f"tcp:{HOSTS[host.name]}:{port}"}},
    ]
    script = (f"(printf '%s\\n' {' '.join(repr(json.dumps(command)) for command in qmp)}; sleep 40) | "
              "timeout 45 runuser -u libvirt-qemu -- qemu-system-x86_64 -machine none -nodefaults -display none "
              "-object tls-creds-x509,id=novaops_probe_tls,dir=/etc/pki/qemu,endpoint=server,verify-peer=on "
              "-incoming defer -qmp stdio 2>&1")
    argv = ["ssh", "-q", "-i", str(LAB_STATE / "ssh" / "id_ed25519"), "-o", "BatchMode=yes",
            "-o", f"UserKnownHostsFile={LAB_STATE / 'ssh' / 'known_hosts'}", "-o", "StrictHostKeyChecking=yes",
            f"root@{HOSTS[host.name]}", script]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def listening(address, port):
    try:
        socket.create_connection((address, port), timeout=2).close()
    except OSError:
        return False
    return True


def test_qemu_migration_port_refuses_a_client_without_a_certificate(tls_lab):
    host = tls_lab["compute2"]
    address = HOSTS["compute2"]
    for certificate, expected in ((None, "refused"), ("compute1", "open")):
        listener = qemu_tls_listener(host, PROBE_PORT)
        try:
            # Not connect-probed while waiting: QEMU takes the first connection as the migration stream.
            wait_until(lambda: PROBE_PORT_OPEN in host.run(f"ss -Hltn 'sport = :{PROBE_PORT}' || true",
                                                           check=False).stdout or None, 30,
                       what=f"QEMU listening on {PROBE_PORT}")
            assert tls_probe(address, PROBE_PORT, certificate=certificate) == expected, certificate
        finally:
            listener.kill()
            output = listener.communicate(timeout=60)[0]
            host.run("pkill -f 'id=novaops_probe_tls' || true", check=False)
        with open(LOGS / "test_tls.log", "a", encoding="utf-8") as log:
            log.write(f"\n===== QEMU listener, client certificate {certificate}\n{output}")


@pytest.fixture(scope="module")
def server(cloud, tls_lab):
    image, flavor, network, made = guest_resources(cloud)
    for stale in cloud.compute.servers(name=f"^{SERVER}$", all_projects=True):
        cloud.compute.delete_server(stale)
        cloud.compute.wait_for_delete(stale, wait=120)
    created = cloud.compute.create_server(name=SERVER, image_id=image.id, flavor_id=flavor.id,
                                          networks=[{"uuid": network.id}], availability_zone="nova:compute1")
    created = cloud.compute.wait_for_server(created, wait=300)
    yield cloud.compute.get_server(created.id)
    cloud.compute.delete_server(created)
    cloud.compute.wait_for_delete(created, wait=180)
    delete_guest_resources(cloud, made)


def test_live_migration_over_native_tls(cloud, tls_lab, server):
    source = tls_lab["compute1"]
    domain = server.instance_name
    # The source QEMU's migration parameters while the move runs: libvirt sets tls-creds for native TLS
    # and clears them afterwards.
    seen, done = [], threading.Event()

    def watch():
        while not done.is_set():
            answer = source.run(f"virsh qemu-monitor-command --hmp {domain} 'info migrate_parameters' 2>/dev/null "
                                "| grep -E '^tls-(creds|hostname)' || true", check=False, timeout=30).stdout
            seen.extend(line for line in answer.splitlines() if line.strip())
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        run = migrate("compute2", instance=SERVER, mode="live")
    finally:
        done.set()
        watcher.join(timeout=60)
    assert run.rc == 0, run
    current = cloud.compute.get_server(server.id)
    assert (current.status, current.compute_host) == ("ACTIVE", "compute2")
    creds = [line for line in seen if re.match(r"^tls-creds: '?\w", line)]
    assert creds, f"the source QEMU never showed TLS credentials for its migration stream: {sorted(set(seen))}"
