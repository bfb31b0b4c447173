# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest

from ansible_collections.novaops.migration.plugins.module_utils.libvirt_domain import (
    LibvirtDomainError, parse_domstate, parse_persistent, tap_name, validate_domain_name, validate_port_ids,
    virsh_failure,
)


@pytest.mark.parametrize('output, state', [('running\n\n', 'running'), ('shut off\n\n', 'shut off'),
                                           ('in shutdown\n', 'in shutdown'), ('idle\n\n', 'blocked'),
                                           ('paused\n\n', 'paused'), ('crashed\n\n', 'crashed'),
                                           ('pmsuspended\n\n', 'pmsuspended'), ('\nrunning (booted)\n', 'running')])
def test_domstate_output(output, state):
    assert parse_domstate(output) == state


@pytest.mark.parametrize('output', ['', '\n\n', 'no state\n', 'exploded\n'])
def test_unknown_domstate_output_is_an_error(output):
    with pytest.raises(LibvirtDomainError, match='expected one of'):
        parse_domstate(output)


@pytest.mark.parametrize('output, persistent', [
    ('Id:             -\nName:           instance-0000000a\nPersistent:     yes\nAutostart:      disable\n', True),
    ('Id:             3\nPersistent:     no\n', False),
    ('Id:             3\n', None),
])
def test_dominfo_persistence(output, persistent):
    assert parse_persistent(output) is persistent


@pytest.mark.parametrize('stderr, kind', [
    ("error: failed to get domain 'instance-0000000a'\n", 'missing'),
    ("error: failed to get domain 'instance-0000000a'\nerror: Domain not found: no domain with matching name "
     "'instance-0000000a'\n", 'missing'),
    ("error: Domain not found: no domain with matching uuid\n", 'missing'),
    ("error: failed to connect to the hypervisor\nerror: Failed to connect socket to "
     "'/var/run/libvirt/libvirt-sock': No such file or directory\n", 'unreachable'),
    # libvirtd going away between the connection and the lookup is not a missing domain either
    ("error: failed to get domain 'x'\nerror: End of file while reading data: Input/output error\n", 'unreachable'),
    ("error: internal error: something else\n", None),
])
def test_virsh_failures(stderr, kind):
    assert virsh_failure(stderr) == kind


@pytest.mark.parametrize('name', ['instance-0000000a', 'a', 'vm_1.2+b', 'x' * 128])
def test_good_domain_names(name):
    assert validate_domain_name(name) == name


@pytest.mark.parametrize('name', ['', '-instance', '-', 'x' * 129, 'a b', 'a\n', 'é', None])
def test_bad_domain_names(name):
    with pytest.raises(LibvirtDomainError, match='name'):
        validate_domain_name(name)


def test_port_ids_are_checked_lowered_and_deduplicated():
    ports = ['3F1C9A52-7B0E-4D2A-9C4E-5A6B7C8D9E0F', 'a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d',
             '3f1c9a52-7b0e-4d2a-9c4e-5a6b7c8d9e0f']
    assert validate_port_ids(ports) == ['3f1c9a52-7b0e-4d2a-9c4e-5a6b7c8d9e0f', 'a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d']


@pytest.mark.parametrize('port', ['', 'not-a-uuid', '3f1c9a527b0e4d2a9c4e5a6b7c8d9e0f',
                                  '-3f1c9a52-7b0e-4d2a-9c4e-5a6b7c8d9e0', None])
def test_bad_port_ids(port):
    with pytest.raises(LibvirtDomainError, match='UUID'):
        validate_port_ids([port])


def test_tap_name_is_os_vifs():
    assert tap_name('3f1c9a52-7b0e-4d2a-9c4e-5a6b7c8d9e0f') == 'tap3f1c9a52-7b'
    assert len(tap_name('3f1c9a52-7b0e-4d2a-9c4e-5a6b7c8d9e0f')) == 14
