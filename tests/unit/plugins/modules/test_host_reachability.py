# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import errno
import socket

import pytest

from ansible.module_utils import basic

from ansible_collections.novaops.migration.plugins.modules import host_reachability


class FakeNetwork(object):
    """What the host does on each port (an outcome or an exception) and what ping answers."""

    def __init__(self):
        self.ports = {}
        self.ping = '/usr/bin/ping'
        self.ping_outcome = (1, '', '')
        self.connections = []
        self.commands = []

    def create_connection(self, address, timeout=None):
        self.connections.append((address, timeout))
        outcome = self.ports.get(address[1], socket.timeout('timed out'))
        if isinstance(outcome, Exception):
            raise outcome
        return FakeSocket()

    def run_command(self, args, **kwargs):
        self.commands.append(args)
        return self.ping_outcome


class FakeSocket(object):
    closed = False

    def close(self):
        self.closed = True


@pytest.fixture
def network(monkeypatch):
    fake = FakeNetwork()
    monkeypatch.setattr(host_reachability.socket, 'create_connection', fake.create_connection)
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', lambda module, args, **kwargs: fake.run_command(args))
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                        lambda module, name, required=False, opt_dirs=None: fake.ping if name == 'ping' else None)
    return fake


def probe(run_host_module, check_mode=False, **args):
    values = dict(address='10.99.0.12')
    values.update(args)
    return run_host_module(host_reachability.main, values, check_mode=check_mode)


def test_a_dead_host_answers_nothing(run_host_module, network):
    result = probe(run_host_module)
    assert result['changed'] is False
    assert result['reachable'] is False
    assert result['tcp'] == {22: False}
    assert result['tcp_errors'] == {22: 'timed out after 3 s'}
    assert result['icmp'] is False
    assert result['icmp_detail'] == 'no reply to one ping within 3 s'
    assert network.connections == [(('10.99.0.12', 22), 3)]
    assert network.commands == [['/usr/bin/ping', '-c', '1', '-W', '3', '10.99.0.12']]


def test_a_live_host_answers_ssh_and_ping(run_host_module, network):
    network.ports[22] = 'open'
    network.ping_outcome = (0, '1 packets transmitted, 1 received', '')
    result = probe(run_host_module)
    assert result['reachable'] is True
    assert result['tcp'] == {22: True}
    assert result['tcp_errors'] == {}
    assert result['icmp'] is True
    assert result['icmp_detail'] is None


def test_a_refused_connection_is_an_answer(run_host_module, network):
    network.ports[22] = ConnectionRefusedError(errno.ECONNREFUSED, 'Connection refused')
    result = probe(run_host_module, icmp=False)
    assert result['tcp'] == {22: True}
    assert result['reachable'] is True
    assert result['icmp'] is None
    assert network.commands == []


def test_several_ports_and_their_errors(run_host_module, network):
    network.ports[16509] = 'open'
    network.ports[22] = OSError(errno.EHOSTUNREACH, 'No route to host')
    result = probe(run_host_module, ports=[22, 16509], timeout=1)
    assert result['tcp'] == {22: False, 16509: True}
    assert result['tcp_errors'] == {22: '[Errno %d] No route to host' % errno.EHOSTUNREACH}
    assert result['reachable'] is True
    assert network.commands[0][4] == '1'


def test_an_unknown_name(run_host_module, network):
    network.ports[22] = socket.gaierror(-2, 'Name or service not known')
    network.ping_outcome = (2, '', 'ping: compute9: Name or service not known\n')
    result = probe(run_host_module, address='compute9')
    assert result['tcp_errors'][22].startswith('cannot resolve compute9')
    assert result['icmp'] is None
    assert result['icmp_detail'] == ('ping could not run (rc 2: ping: compute9: Name or service not known); '
                                     'ICMP is unknown')
    assert result['reachable'] is False


def test_a_missing_ping_is_unknown_not_down(run_host_module, network):
    network.ping = None
    result = probe(run_host_module)
    assert result['icmp'] is None
    assert 'ping binary is not installed' in result['icmp_detail']
    assert network.commands == []


def test_check_mode_tests_too(run_host_module, network):
    network.ports[22] = 'open'
    result = probe(run_host_module, check_mode=True)
    assert result['changed'] is False
    assert result['tcp'] == {22: True}
    assert len(network.commands) == 1


@pytest.mark.parametrize('args, message', [
    (dict(timeout=0), 'timeout must be at least 1 second'),
    (dict(ports=[22, 70000]), 'ports must be TCP ports between 1 and 65535, got 70000'),
])
def test_bad_options(run_host_module, network, args, message):
    result = probe(run_host_module, **args)
    assert result['failed'] is True
    assert message in result['msg']
    assert network.connections == []
