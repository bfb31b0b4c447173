"""novaops.migration.novaops_libvirt, run on this machine with RedHat and Debian facts.

The RHEL path (/etc/sysconfig, openstack-nova-compute, LIBVIRTD_ARGS, the
cyrus-sasl tools) is only exercised here: the lab runs Debian.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from role_helpers import ini_sections, write_executable

# The settings of a packaged libvirtd.conf that the role touches, as shipped:
# commented examples.
LIBVIRTD_CONF = """\
# Master libvirt daemon configuration file
#listen_tls = 0
#listen_tcp = 1
#tls_port = "16514"
#tcp_port = "16509"
#listen_addr = "192.168.0.1"
#unix_sock_group = "libvirt"
#auth_tcp = "sasl"
#auth_tls = "none"
log_level = 3
"""

NOVA_CONF = """\
[DEFAULT]
my_ip = 10.99.0.11

[libvirt]
virt_type = kvm
"""

ADDRESSES = ["10.99.0.11", "192.0.2.7"]


def facts(os_family: str, selinux: str = "disabled") -> dict:
    return {
        "os_family": os_family,
        "all_ipv4_addresses": ADDRESSES,
        "all_ipv6_addresses": ["fe80::1"],
        "default_ipv4": {"address": "10.99.0.11"},
        "selinux": {"status": selinux},
    }


@pytest.fixture
def compute(tmp_path: Path) -> dict:
    """A scratch file tree with what a compute has before the role runs."""
    root = tmp_path / "root"
    paths = {
        "conf_dir": root / "etc/libvirt",
        "default_dir": root / "etc/default",
        "sysconfig_dir": root / "etc/sysconfig",
        "systemd_dir": root / "etc/systemd/system",
        "bin": root / "usr/sbin",
        "nova_conf": root / "etc/nova/nova.conf",
        "sasl_conf": root / "etc/sasl2/libvirt.conf",
    }
    for key in ("conf_dir", "default_dir", "sysconfig_dir", "systemd_dir", "bin"):
        paths[key].mkdir(parents=True)
    paths["nova_conf"].parent.mkdir(parents=True)
    # libvirt's packages ship this, set up for Kerberos.
    paths["sasl_conf"].parent.mkdir(parents=True)
    paths["sasl_conf"].write_text("mech_list: gssapi\nkeytab: /etc/libvirt/krb5.tab\n")
    paths["nova_conf"].write_text(NOVA_CONF)
    paths["nova_conf"].chmod(0o640)
    for daemon in ("libvirtd", "virtproxyd"):
        (paths["conf_dir"] / f"{daemon}.conf").write_text(LIBVIRTD_CONF)
    # Stand-ins for the SASL tools: a user file instead of a Berkeley DB.
    write_executable(paths["bin"] / "saslpasswd2", """#!/bin/sh
db=""; create=0; user=""
while [ $# -gt 0 ]; do
  case "$1" in -f) db=$2; shift 2;; -a) shift 2;; -p) shift;; -c) create=1; shift;; *) user=$1; shift;; esac
done
password=$(cat)
grep -v "^$user@" "$db" 2>/dev/null > "$db.new" || true
echo "$user@testhost: userPassword $password" >> "$db.new"
mv "$db.new" "$db"
echo "$user create=$create" >> "$db.calls"
""")
    write_executable(paths["bin"] / "sasldblistusers2", """#!/bin/sh
[ -f "$2" ] || exit 1
cut -d' ' -f1-2 "$2"
""")
    paths["root"] = root
    return paths


def set_version(compute: dict, daemon: str, version: str) -> None:
    write_executable(compute["bin"] / daemon, f"#!/bin/sh\necho '{daemon} (libvirt) {version}'\n")


def libvirt_play(os_family: str, compute: dict, selinux: str = "disabled", **role_vars) -> list:
    role_vars.setdefault("novaops_libvirt_nova_conf", str(compute["nova_conf"]))
    role_vars.setdefault("novaops_libvirt_auth_conf_group", "root")
    role_vars.setdefault("novaops_libvirt_sasl_password", "s3cret-for-tests")
    return [{
        "name": "libvirt role on made-up facts",
        "hosts": "localhost",
        "gather_facts": False,
        "pre_tasks": [{"novaops_test_facts": {"facts": facts(os_family, selinux)}}],
        "roles": [{"role": "novaops.migration.novaops_libvirt", **role_vars}],
    }]


def private_paths(compute: dict, os_family: str) -> dict:
    """Point the role's private paths into the scratch tree (extra vars win)."""
    env_dir = compute["sysconfig_dir"] if os_family == "RedHat" else compute["default_dir"]
    return {
        "__novaops_libvirt_conf_dir": str(compute["conf_dir"]),
        "__novaops_libvirt_env_dir": str(env_dir),
        "__novaops_libvirt_systemd_dir": str(compute["systemd_dir"]),
        "__novaops_libvirt_daemon_bin_dir": str(compute["bin"]),
        "__novaops_libvirt_sasl_conf": str(compute["sasl_conf"]),
        "__novaops_libvirt_sasl_db": str(compute["conf_dir"] / "passwd.db"),
        "__novaops_libvirt_auth_conf": str(compute["conf_dir"] / "auth.conf"),
        "__novaops_libvirt_saslpasswd2": str(compute["bin"] / "saslpasswd2"),
        "__novaops_libvirt_sasldblistusers2": str(compute["bin"] / "sasldblistusers2"),
        # Nothing gets installed on the machine running the tests.
        "__novaops_libvirt_sasl_packages": [],
        "__novaops_libvirt_selinux_packages": [],
    }


def conf_settings(path: Path) -> dict[str, str]:
    settings = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _separator, value = line.partition("=")
            settings[key.strip()] = value.strip()
    return settings


def test_rhel8_socket_activation_with_sasl(run_playbook, compute):
    """RHEL 8 (libvirt 8, socket activation) with the role's defaults."""
    set_version(compute, "libvirtd", "8.0.0")
    sysconfig = compute["sysconfig_dir"] / "libvirtd"
    # What the manual procedure left behind.
    sysconfig.write_text('# Override the default config file\nLIBVIRTD_ARGS="--listen"\n')
    play = libvirt_play("RedHat", compute, novaops_libvirt_daemon="libvirtd")
    extra = private_paths(compute, "RedHat")

    first = run_playbook(play, extra_vars=extra)
    assert first.rc == 0, first.output

    # --listen removed (it stops libvirtd under socket activation), with a warning.
    assert 'LIBVIRTD_ARGS=""' in sysconfig.read_text()
    assert "WARNING:" in first.output and "passes\n--listen" not in first.output
    assert "refuses to start with it" in first.output.replace("\n", " ")

    # Only auth_tcp in libvirtd.conf: listen_* are ignored with socket activation.
    settings = conf_settings(compute["conf_dir"] / "libvirtd.conf")
    assert settings == {"auth_tcp": '"sasl"', "log_level": "3"}

    dropin = (compute["systemd_dir"] / "libvirtd-tcp.socket.d/novaops-listen.conf").read_text()
    assert dropin.startswith("#")
    assert "\nListenStream=\nListenStream=10.99.0.11:16509\n" in dropin

    sasl = compute["sasl_conf"].read_text()
    assert "mech_list: digest-md5" in sasl
    assert f"sasldb_path: {compute['conf_dir'] / 'passwd.db'}" in sasl
    auth_conf = compute["conf_dir"] / "auth.conf"
    assert "authname=migration\npassword=s3cret-for-tests\n" in auth_conf.read_text()
    assert "[auth-libvirt-default]\ncredentials=novaops-migration" in auth_conf.read_text()
    assert auth_conf.stat().st_mode & 0o777 == 0o640
    assert (compute["conf_dir"] / "passwd.db").stat().st_mode & 0o777 == 0o600
    assert (compute["conf_dir"] / "passwd.db.calls").read_text() == "migration create=1\n"
    assert "s3cret-for-tests" not in first.output, "the password must not be logged"

    nova = ini_sections(compute["nova_conf"])
    assert nova["libvirt"] == {
        "virt_type": "qemu",
        "cpu_mode": "none",
        "live_migration_scheme": "tcp",
        "live_migration_inbound_addr": "10.99.0.11",
        "live_migration_with_native_tls": "false",
    }
    assert compute["nova_conf"].stat().st_mode & 0o777 == 0o640
    assert "SELinux is not enabled" in first.output
    assert "No active firewall" in first.output

    second = run_playbook(play, extra_vars=extra)
    assert second.rc == 0, second.output
    assert second.changed() == 0, second.output
    assert (compute["conf_dir"] / "passwd.db.calls").read_text() == "migration create=1\n"

    # A new password is set again, on the existing user (no -c).
    third = run_playbook(libvirt_play("RedHat", compute, novaops_libvirt_daemon="libvirtd",
                                      novaops_libvirt_sasl_password="rotated"), extra_vars=extra)
    assert third.rc == 0, third.output
    assert (compute["conf_dir"] / "passwd.db.calls").read_text().splitlines() == [
        "migration create=1", "migration create=0"]
    assert "password=rotated" in auth_conf.read_text()


def test_diff_never_prints_the_files_that_hold_passwords(run_playbook, compute):
    """ini_file, lineinfile and template return whole files in their diff; nova.conf holds passwords."""
    secrets = ("rabbit-pw-1729", "db-pw-2718")
    compute["nova_conf"].write_text(
        NOVA_CONF + "\n[DEFAULT]\ntransport_url = rabbit://nova:%s@controller:5672/\n"
        "[database]\nconnection = mysql+pymysql://nova:%s@controller/nova\n" % secrets)
    set_version(compute, "libvirtd", "9.0.0")
    # run_playbook runs with --diff.
    result = run_playbook(libvirt_play("Debian", compute, novaops_libvirt_daemon="libvirtd",
                                       novaops_libvirt_max_concurrent_live_migrations=2),
                          extra_vars=private_paths(compute, "Debian"))
    assert result.rc == 0, result.output
    assert ini_sections(compute["nova_conf"])["libvirt"]["live_migration_scheme"] == "tcp"
    for secret in secrets + ("s3cret-for-tests",):
        assert secret not in result.output
    # Which option changed is still told (the loop's label), without the file.
    assert "live_migration_scheme=tcp" in result.output
    assert "transport_url" not in result.output


def test_rhel7_listening_daemon_for_old_libvirt(run_playbook, compute):
    """RHEL 7 (Queens era, libvirt 4.5): libvirtd opens the sockets itself."""
    set_version(compute, "libvirtd", "4.5.0")
    result = run_playbook(libvirt_play("RedHat", compute, novaops_libvirt_daemon="libvirtd"),
                          extra_vars=private_paths(compute, "RedHat"))
    assert result.rc == 0, result.output
    settings = conf_settings(compute["conf_dir"] / "libvirtd.conf")
    assert settings["listen_tcp"] == "1"
    assert settings["listen_tls"] == "0"
    assert settings["listen_addr"] == '"10.99.0.11"'
    assert settings["auth_tcp"] == '"sasl"'
    assert 'LIBVIRTD_ARGS="--listen"' in (compute["sysconfig_dir"] / "libvirtd").read_text()
    assert not (compute["systemd_dir"] / "libvirtd-tcp.socket.d").exists()


def test_rhel9_modular_daemons_use_virtproxyd(run_playbook, compute):
    set_version(compute, "virtproxyd", "9.5.0")
    result = run_playbook(
        libvirt_play("RedHat", compute, novaops_libvirt_daemon="virtproxyd",
                     novaops_libvirt_listen_address="192.0.2.7"),
        extra_vars=private_paths(compute, "RedHat"))
    assert result.rc == 0, result.output
    assert conf_settings(compute["conf_dir"] / "virtproxyd.conf")["auth_tcp"] == '"sasl"'
    assert conf_settings(compute["conf_dir"] / "libvirtd.conf") == {"log_level": "3"}
    dropin = compute["systemd_dir"] / "virtproxyd-tcp.socket.d/novaops-listen.conf"
    assert "ListenStream=192.0.2.7:16509" in dropin.read_text()
    assert ini_sections(compute["nova_conf"])["libvirt"]["live_migration_inbound_addr"] == "192.0.2.7"


def test_debian_tls_transport(run_playbook, compute, tmp_path):
    set_version(compute, "libvirtd", "9.0.0")
    pki = tmp_path / "pki"
    tls_files = [pki / name for name in ("CA/cacert.pem", "libvirt/servercert.pem",
                                         "libvirt/private/serverkey.pem", "libvirt/clientcert.pem",
                                         "libvirt/private/clientkey.pem")]
    for path in tls_files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("PEM\n")
    extra = private_paths(compute, "Debian") | {"__novaops_libvirt_tls_files": [str(p) for p in tls_files]}
    result = run_playbook(libvirt_play("Debian", compute, novaops_libvirt_daemon="libvirtd",
                                       novaops_libvirt_transport="tls"), extra_vars=extra)
    assert result.rc == 0, result.output
    assert conf_settings(compute["conf_dir"] / "libvirtd.conf")["auth_tls"] == '"none"'
    dropin = compute["systemd_dir"] / "libvirtd-tls.socket.d/novaops-listen.conf"
    assert "ListenStream=10.99.0.11:16514" in dropin.read_text()
    assert ini_sections(compute["nova_conf"])["libvirt"]["live_migration_scheme"] == "tls"
    # x509 client certificates authenticate: no SASL set up.
    assert compute["sasl_conf"].read_text().startswith("mech_list: gssapi")


def test_tls_certificates_given_as_files_are_installed_for_libvirt_and_qemu(run_playbook, compute, tmp_path):
    """Native TLS: the CA, the host's certificate and key go where libvirt and QEMU read them, keys private."""
    set_version(compute, "libvirtd", "9.0.0")
    given = tmp_path / "operator-pki"
    given.mkdir()
    key_text = "-----BEGIN PRIVATE KEY-----\nS3CRETKEYMATERIAL\n-----END PRIVATE KEY-----\n"
    (given / "ca.pem").write_text("CA CERT\n")
    (given / "host.pem").write_text("HOST CERT\n")
    (given / "host-key.pem").write_text(key_text)
    pki = tmp_path / "pki"
    extra = private_paths(compute, "Debian") | {"__novaops_libvirt_pki_dir": str(pki),
                                                "__novaops_libvirt_qemu_user": "root"}
    play = libvirt_play("Debian", compute, novaops_libvirt_daemon="libvirtd", novaops_libvirt_transport="tls",
                        novaops_libvirt_tls_ca_cert_file=str(given / "ca.pem"),
                        novaops_libvirt_tls_cert_file=str(given / "host.pem"),
                        novaops_libvirt_tls_key_file=str(given / "host-key.pem"))
    result = run_playbook(play, extra_vars=extra)
    assert result.rc == 0, result.output
    modes = {path: oct((pki / path).stat().st_mode & 0o777) for path in (
        "CA/cacert.pem", "libvirt/servercert.pem", "libvirt/clientcert.pem", "libvirt/private/serverkey.pem",
        "libvirt/private/clientkey.pem", "qemu/ca-cert.pem", "qemu/server-cert.pem", "qemu/client-cert.pem",
        "qemu/server-key.pem", "qemu/client-key.pem")}
    assert modes == {"CA/cacert.pem": "0o644", "libvirt/servercert.pem": "0o644", "libvirt/clientcert.pem": "0o644",
                     "libvirt/private/serverkey.pem": "0o600", "libvirt/private/clientkey.pem": "0o600",
                     "qemu/ca-cert.pem": "0o644", "qemu/server-cert.pem": "0o644", "qemu/client-cert.pem": "0o644",
                     "qemu/server-key.pem": "0o400", "qemu/client-key.pem": "0o400"}
    assert (pki / "qemu/server-key.pem").read_text() == key_text
    assert oct((pki / "libvirt/private").stat().st_mode & 0o777) == "0o700"
    nova = ini_sections(compute["nova_conf"])["libvirt"]
    assert (nova["live_migration_scheme"], nova["live_migration_with_native_tls"]) == ("tls", "true")
    # The run uses --diff: the key's content is not in the output.
    assert "S3CRETKEYMATERIAL" not in result.output

    again = run_playbook(play, extra_vars=extra)
    assert again.rc == 0 and "changed=0" in again.output, again.output


def test_tls_certificate_files_go_together(run_playbook, compute, tmp_path):
    set_version(compute, "libvirtd", "9.0.0")
    (tmp_path / "ca.pem").write_text("CA\n")
    extra = private_paths(compute, "Debian") | {"__novaops_libvirt_pki_dir": str(tmp_path / "pki")}
    result = run_playbook(libvirt_play("Debian", compute, novaops_libvirt_daemon="libvirtd",
                                       novaops_libvirt_transport="tls",
                                       novaops_libvirt_tls_ca_cert_file=str(tmp_path / "ca.pem")), extra_vars=extra)
    assert result.rc != 0
    assert "go together" in result.output
    assert not (tmp_path / "pki").exists()


def test_tcp_turns_native_tls_off(run_playbook, compute):
    """Going back from tls to tcp must not leave QEMU expecting TLS streams."""
    set_version(compute, "libvirtd", "9.0.0")
    compute["nova_conf"].write_text(NOVA_CONF + "live_migration_with_native_tls = true\n")
    result = run_playbook(libvirt_play("Debian", compute, novaops_libvirt_daemon="libvirtd"),
                          extra_vars=private_paths(compute, "Debian"))
    assert result.rc == 0, result.output
    assert ini_sections(compute["nova_conf"])["libvirt"]["live_migration_with_native_tls"] == "false"


def test_tls_without_certificates_fails(run_playbook, compute, tmp_path):
    set_version(compute, "libvirtd", "9.0.0")
    extra = private_paths(compute, "Debian") | {"__novaops_libvirt_tls_files": [str(tmp_path / "no/ca.pem")]}
    result = run_playbook(libvirt_play("Debian", compute, novaops_libvirt_daemon="libvirtd",
                                       novaops_libvirt_transport="tls"), extra_vars=extra)
    assert result.rc != 0
    assert "the role does not run a CA" in result.output


def test_unauthenticated_tcp_needs_the_opt_in(run_playbook, compute):
    set_version(compute, "libvirtd", "9.0.0")
    extra = private_paths(compute, "Debian")
    refused = run_playbook(libvirt_play("Debian", compute, novaops_libvirt_daemon="libvirtd",
                                        novaops_libvirt_auth_tcp="none"), extra_vars=extra)
    assert refused.rc != 0
    assert "novaops_libvirt_allow_unauthenticated_tcp: true" in refused.output.replace("\n", " ")
    assert conf_settings(compute["conf_dir"] / "libvirtd.conf") == {"log_level": "3"}

    allowed = run_playbook(libvirt_play("Debian", compute, novaops_libvirt_daemon="libvirtd",
                                        novaops_libvirt_auth_tcp="none",
                                        novaops_libvirt_allow_unauthenticated_tcp=True),
                           extra_vars=extra)
    assert allowed.rc == 0, allowed.output
    assert "WARNING: libvirt on localhost will accept unauthenticated" in allowed.output.replace("\n", " ")
    assert conf_settings(compute["conf_dir"] / "libvirtd.conf")["auth_tcp"] == '"none"'
    assert compute["sasl_conf"].read_text().startswith("mech_list: gssapi")


def test_sasl_without_password_fails(run_playbook, compute):
    set_version(compute, "libvirtd", "9.0.0")
    result = run_playbook(libvirt_play("Debian", compute, novaops_libvirt_daemon="libvirtd",
                                       novaops_libvirt_sasl_password=""),
                          extra_vars=private_paths(compute, "Debian"))
    assert result.rc != 0
    assert "novaops_libvirt_sasl_password is empty" in result.output.replace("\n", " ")


def test_listen_address_must_belong_to_the_host(run_playbook, compute):
    set_version(compute, "libvirtd", "9.0.0")
    result = run_playbook(libvirt_play("Debian", compute, novaops_libvirt_daemon="libvirtd",
                                       novaops_libvirt_listen_address="10.99.0.12"),
                          extra_vars=private_paths(compute, "Debian"))
    assert result.rc != 0
    assert "10.99.0.12 is not an address of localhost" in result.output.replace("\n", " ")


def test_missing_libvirt_fails(run_playbook, compute):
    result = run_playbook(libvirt_play("Debian", compute, novaops_libvirt_daemon="libvirtd"),
                          extra_vars=private_paths(compute, "Debian"))
    assert result.rc != 0
    assert "Install the libvirt daemon" in result.output.replace("\n", " ")
