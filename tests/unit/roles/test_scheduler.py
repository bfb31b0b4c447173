"""novaops.migration.novaops_scheduler, run on this machine with RedHat and Debian facts."""

from __future__ import annotations

from pathlib import Path

import pytest

from role_helpers import ini_sections, write_executable

NOVA_CONF = """\
[DEFAULT]
debug = false
# The manual procedure wrote the pre-Ocata name here.
scheduler_default_filters = AggregateInstanceExtraSpecsFilter,AvailabilityZoneFilter,RamFilter,ComputeFilter

[filter_scheduler]
host_subset_size = 1
"""

# Python 2 argparse (Queens on CentOS 7) prints --version to stderr, with noise.
NOVA_MANAGE_PY2 = """#!/bin/sh
echo "Option \\"verbose\\" from group \\"DEFAULT\\" is deprecated for removal." >&2
echo "{version}" >&2
"""
NOVA_MANAGE_PY3 = """#!/bin/sh
echo "Eventlet is deprecated." >&2
echo "{version}"
"""

QUEENS_EXPECTED = [
    "AggregateInstanceExtraSpecsFilter", "AvailabilityZoneFilter", "RamFilter", "ComputeFilter",
    "RetryFilter", "ComputeCapabilitiesFilter", "ImagePropertiesFilter",
    "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter",
]


def scheduler_play(os_family: str, tmp_path: Path, **role_vars) -> list:
    return [{
        "name": "scheduler role on made-up facts",
        "hosts": "localhost",
        "gather_facts": False,
        "pre_tasks": [{"novaops_test_facts": {"facts": {"os_family": os_family}}}],
        "roles": [{"role": "novaops.migration.novaops_scheduler", **role_vars}],
        "post_tasks": [{
            "name": "Record what the role decided",
            "ansible.builtin.copy": {
                "dest": str(tmp_path / "decided.json"),
                "content": "{{ {'services': __novaops_scheduler_services,"
                           " 'version': __novaops_scheduler_version} | to_json }}",
                "mode": "0644",
            },
        }],
    }]


@pytest.fixture
def controller(tmp_path: Path) -> dict:
    nova_conf = tmp_path / "etc/nova/nova.conf"
    nova_conf.parent.mkdir(parents=True)
    nova_conf.write_text(NOVA_CONF)
    nova_conf.chmod(0o640)
    return {"nova_conf": nova_conf, "bin": tmp_path / "bin"}


def test_queens_on_redhat_writes_enabled_filters_with_release_defaults(run_playbook, controller, tmp_path):
    write_executable(controller["bin"] / "nova-manage", NOVA_MANAGE_PY2.format(version="17.0.13"))
    role_vars = {
        "novaops_scheduler_nova_conf": str(controller["nova_conf"]),
        # The first candidate does not exist: the role must move on to the next.
        "novaops_scheduler_nova_manage_candidates": [
            str(tmp_path / "missing/nova-manage"), str(controller["bin"] / "nova-manage")],
    }
    first = run_playbook(scheduler_play("RedHat", tmp_path, **role_vars))
    assert first.rc == 0, first.output

    conf = ini_sections(controller["nova_conf"])
    assert conf["filter_scheduler"]["enabled_filters"].split(",") == QUEENS_EXPECTED
    assert "scheduler_default_filters" not in conf["DEFAULT"]
    assert conf["DEFAULT"]["debug"] == "false", "other options must be kept"
    assert conf["filter_scheduler"]["host_subset_size"] == "1"
    assert controller["nova_conf"].stat().st_mode & 0o777 == 0o640, "the file's mode must be kept"

    decided = (tmp_path / "decided.json").read_text()
    assert "openstack-nova-scheduler" in decided and "openstack-nova-conductor" in decided
    assert "openstack-nova-api" in decided
    assert '"version": "17.0.13"' in decided

    second = run_playbook(scheduler_play("RedHat", tmp_path, **role_vars))
    assert second.rc == 0, second.output
    assert second.changed() == 0, second.output


def test_current_release_drops_removed_filters_with_a_warning(run_playbook, controller, tmp_path):
    write_executable(controller["bin"] / "nova-manage", NOVA_MANAGE_PY3.format(version="34.0.0"))
    result = run_playbook(scheduler_play(
        "Debian", tmp_path,
        novaops_scheduler_nova_conf=str(controller["nova_conf"]),
        novaops_scheduler_nova_manage_candidates=[str(controller["bin"] / "nova-manage")]))
    assert result.rc == 0, result.output

    enabled = ini_sections(controller["nova_conf"])["filter_scheduler"]["enabled_filters"].split(",")
    assert enabled == [
        "AggregateInstanceExtraSpecsFilter", "ComputeFilter", "ComputeCapabilitiesFilter",
        "ImagePropertiesFilter", "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter",
    ]
    assert "WARNING: nova 34.0.0 (2026.2 Hibiscus) no longer ships AvailabilityZoneFilter, RamFilter" in result.output
    assert '"nova-scheduler"' in (tmp_path / "decided.json").read_text()


@pytest.mark.parametrize(("version", "dropped"), [
    ("19.3.2", []),                                    # Stein: RamFilter still there
    ("20.0.0", ["RamFilter"]),                         # Train removed Core/Ram/DiskFilter
    ("27.1.0", ["RamFilter"]),                         # 2023.1: AZ filter deprecated only
    ("28.0.0", ["AvailabilityZoneFilter", "RamFilter"]),  # 2023.2 removed it
])
def test_filters_follow_the_release(run_playbook, controller, tmp_path, version, dropped):
    result = run_playbook(scheduler_play(
        "Debian", tmp_path,
        novaops_scheduler_nova_conf=str(controller["nova_conf"]),
        novaops_scheduler_nova_version=version,
        novaops_scheduler_keep_release_defaults=False))
    assert result.rc == 0, result.output
    enabled = ini_sections(controller["nova_conf"])["filter_scheduler"]["enabled_filters"].split(",")
    requested = ["AggregateInstanceExtraSpecsFilter", "AvailabilityZoneFilter", "RamFilter", "ComputeFilter"]
    assert enabled == [name for name in requested if name not in dropped]


def test_pre_ocata_release_writes_the_old_option(run_playbook, controller, tmp_path):
    controller["nova_conf"].write_text("[DEFAULT]\ndebug = false\n")
    result = run_playbook(scheduler_play(
        "RedHat", tmp_path,
        novaops_scheduler_nova_conf=str(controller["nova_conf"]),
        novaops_scheduler_nova_version="14.1.0"))
    assert result.rc == 0, result.output
    conf = ini_sections(controller["nova_conf"])
    assert "filter_scheduler" not in conf
    assert conf["DEFAULT"]["scheduler_default_filters"].split(",")[:4] == [
        "AggregateInstanceExtraSpecsFilter", "AvailabilityZoneFilter", "RamFilter", "ComputeFilter"]
    assert "DiskFilter" in conf["DEFAULT"]["scheduler_default_filters"]


def test_unknown_filter_fails_and_lists_the_valid_ones(run_playbook, controller, tmp_path):
    result = run_playbook(scheduler_play(
        "RedHat", tmp_path,
        novaops_scheduler_nova_conf=str(controller["nova_conf"]),
        novaops_scheduler_nova_version="17.0.0",
        novaops_scheduler_filters=["ComputeFilter", "RamFIlter"]))
    assert result.rc != 0
    assert "Unknown scheduler filter(s) RamFIlter" in result.output
    assert "ServerGroupAffinityFilter" in result.output
    assert "TrustedFilter" not in result.output.split("Valid filters")[1].split("Check the")[0]
    assert controller["nova_conf"].read_text() == NOVA_CONF, "nothing may be written after a failed check"


def test_missing_nova_manage_fails_clearly(run_playbook, controller, tmp_path):
    result = run_playbook(scheduler_play(
        "RedHat", tmp_path,
        novaops_scheduler_nova_conf=str(controller["nova_conf"]),
        novaops_scheduler_nova_manage_candidates=[str(tmp_path / "nowhere/nova-manage")]))
    assert result.rc != 0
    assert "Could not find nova's version" in result.output


def test_missing_nova_conf_fails_clearly(run_playbook, tmp_path):
    result = run_playbook(scheduler_play(
        "RedHat", tmp_path,
        novaops_scheduler_nova_conf=str(tmp_path / "etc/nova/nova.conf"),
        novaops_scheduler_nova_version="17.0.0"))
    assert result.rc != 0
    assert "does not exist" in result.output


def test_diff_never_prints_nova_conf(run_playbook, controller, tmp_path):
    """ini_file returns the whole file in its diff; nova.conf holds the database and message queue passwords."""
    secrets = ("rabbit-pw-1729", "db-pw-2718", "keystone-pw-3141")
    controller["nova_conf"].write_text(
        NOVA_CONF + "\n[DEFAULT]\ntransport_url = rabbit://nova:%s@controller:5672/\n"
        "[database]\nconnection = mysql+pymysql://nova:%s@controller/nova\n"
        "[keystone_authtoken]\npassword = %s\n" % secrets)
    write_executable(controller["bin"] / "nova-manage", NOVA_MANAGE_PY3.format(version="34.0.0"))
    # run_playbook runs with --diff.
    result = run_playbook(scheduler_play(
        "Debian", tmp_path,
        novaops_scheduler_nova_conf=str(controller["nova_conf"]),
        novaops_scheduler_nova_manage_candidates=[str(controller["bin"] / "nova-manage")]))
    assert result.rc == 0, result.output
    assert result.changed() > 0, "the filters were written"
    for secret in secrets:
        assert secret not in result.output
    assert "enabled_filters" in result.output, "what the role writes is still told"
