# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The host checks' commands, sentences and timeouts.

The checks get a fake runner that answers like virsh and ssh do; run_command
itself runs small scripts in tmp_path.
"""

import os
import sys
import time

import pytest

from ansible_collections.novaops.migration.plugins.module_utils import host_checks
from ansible_collections.novaops.migration.plugins.module_utils.host_checks import (
    CommandResult, HostCheckError, one_line, run_checks, run_command, ssh_argv, target_addresses, user_exists,
    virsh_argv,
)

URI = 'qemu+tcp://compute2/system'
TARGET_CONF = dict(libvirt_uri='qemu+tls://10.1.0.12/system', ssh_address='10.0.0.12', my_ip='10.0.0.12',
                   changed=False)


class FakeRunner(object):
    """Answers each command with the next scripted result; records the argv."""

    def __init__(self, *results):
        self.results = list(results)
        self.calls = []

    def __call__(self, argv, timeout):
        self.calls.append((argv, timeout))
        return self.results.pop(0)


def ok(stdout=''):
    return CommandResult(rc=0, stdout=stdout, stderr='', timed_out=False)


def failed(rc, stderr):
    return CommandResult(rc=rc, stdout='', stderr=stderr, timed_out=False)


TIMED_OUT = CommandResult(rc=124, stdout='', stderr='', timed_out=True)


@pytest.fixture(autouse=True)
def as_root(monkeypatch):
    monkeypatch.setattr(host_checks, 'effective_user', lambda: (0, 'root'))
    # The users the tests ssh as exist on "this host"; the test machine need not have them.
    monkeypatch.setattr(host_checks, 'user_exists', lambda name: True)


def checks(runner, **options):
    values = dict(mode='live', target_host='compute2', source_host='compute1', runner=runner)
    values.update(options)
    return run_checks(**values)


# -- the commands --------------------------------------------------------------

def test_virsh_runs_under_timeout():
    assert virsh_argv(URI, 20) == ['timeout', '20', 'virsh', '-c', URI, 'hostname']


SSH = ['ssh', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-o', 'StrictHostKeyChecking=yes', '10.0.0.12',
       'true']


@pytest.mark.parametrize('euid, user, prefix', [
    (0, 'root', ['runuser', '-u', 'nova', '--']),
    (1000, 'ansible', ['sudo', '-n', '-u', 'nova']),
    (64060, 'nova', []),
])
def test_ssh_runs_as_the_ssh_user_with_strict_host_key_checking(euid, user, prefix):
    assert ssh_argv('10.0.0.12', 'nova', 20, euid, user) == ['timeout', '20'] + prefix + SSH


def test_ssh_connect_timeout_never_exceeds_the_check_timeout():
    argv = ssh_argv('10.0.0.12', 'nova', 3, 0, 'root')
    assert 'ConnectTimeout=3' in argv and argv[:2] == ['timeout', '3']
    assert 'StrictHostKeyChecking=yes' in argv


def test_one_line():
    assert one_line('error: failed to connect\n  error: Connection refused\n\n') == \
        'error: failed to connect error: Connection refused'
    assert one_line('') == ''
    assert len(one_line('x' * 5000)) < 1100


# -- where the checks connect ----------------------------------------------------

def test_without_target_conf_nova_would_use_the_target_name():
    assert target_addresses('compute2', None) == ('qemu+tcp://compute2/system', 'compute2')
    assert target_addresses('compute2', {}) == ('qemu+tcp://compute2/system', 'compute2')


def test_with_target_conf_its_addresses():
    assert target_addresses('compute2', TARGET_CONF) == ('qemu+tls://10.1.0.12/system', '10.0.0.12')


def test_target_conf_that_is_not_nova_conf_info_is_refused():
    with pytest.raises(HostCheckError, match='target_conf has no libvirt_uri.*nova_conf_info'):
        target_addresses('compute2', dict(my_ip='10.0.0.12'))


def test_target_conf_of_a_failed_read_says_why():
    with pytest.raises(HostCheckError, match='/etc/nova/nova.conf does not exist'):
        target_addresses('compute2', dict(failed=True, msg='/etc/nova/nova.conf does not exist'))


def test_target_conf_of_a_skipped_task_is_refused():
    with pytest.raises(HostCheckError, match='skipped task'):
        target_addresses('compute2', dict(changed=False, skipped=True, skip_reason='Conditional result was False'))


@pytest.mark.parametrize('conf', [
    dict(libvirt_uri=URI, ssh_address='-oProxyCommand=touch /tmp/x'),
    dict(libvirt_uri=URI, ssh_address='10.0.0.12 true; reboot'),
    dict(libvirt_uri='qemu+tcp://compute2/system hostname', ssh_address='10.0.0.12'),
    dict(libvirt_uri='', ssh_address='10.0.0.12'),
])
def test_addresses_that_are_not_addresses_are_refused(conf):
    with pytest.raises(HostCheckError):
        target_addresses('compute2', conf)


@pytest.mark.parametrize('target_host', ['', '-compute2', 'compute 2'])
def test_bad_target_host(target_host):
    with pytest.raises(HostCheckError, match='target_host'):
        target_addresses(target_host, None)


@pytest.mark.parametrize('options, message', [
    (dict(mode='warm'), 'mode'),
    (dict(timeout=0), 'timeout'),
    (dict(timeout=-5), 'timeout'),
    (dict(ssh_user='-nova'), 'ssh_user'),
    (dict(ssh_user=''), 'ssh_user'),
    (dict(required_tools=['']), 'required_tools'),
])
def test_bad_options(options, message):
    runner = FakeRunner()
    with pytest.raises(HostCheckError, match=message):
        checks(runner, **options)
    assert runner.calls == []


# -- live --------------------------------------------------------------------------

def test_libvirt_reachable():
    runner = FakeRunner(ok('compute2\n'))
    result = checks(runner, target_conf=TARGET_CONF)
    assert runner.calls == [(['timeout', '20', 'virsh', '-c', 'qemu+tls://10.1.0.12/system', 'hostname'], 20)]
    assert result == dict(
        checks=[dict(name='libvirt on compute2 reachable from compute1', ok=True,
                     detail='virsh -c qemu+tls://10.1.0.12/system on compute1 answered compute2')],
        problems=[], libvirt_uri='qemu+tls://10.1.0.12/system', ssh_address='10.0.0.12')


def test_libvirt_unreachable():
    runner = FakeRunner(failed(1, "error: failed to connect to the hypervisor\nerror: unable to connect to server at "
                                  "'compute2:16509': Connection refused\n"))
    result = checks(runner)
    assert result['problems'] == [
        "libvirt on compute2 is not reachable from compute1: virsh -c qemu+tcp://compute2/system failed: error: "
        "failed to connect to the hypervisor error: unable to connect to server at 'compute2:16509': Connection "
        "refused. Is libvirt listening on compute2 (libvirtd-tcp.socket, the novaops_libvirt role)?"]
    check = result['checks'][0]
    assert check['ok'] is False and check['name'] == 'libvirt on compute2 reachable from compute1'
    assert check['detail'].startswith('virsh -c qemu+tcp://compute2/system failed: error: failed to connect')
    assert check['detail'].endswith('(libvirtd-tcp.socket, the novaops_libvirt role)?')


def test_libvirt_timed_out():
    result = checks(FakeRunner(TIMED_OUT), timeout=5)
    assert result['problems'] == [
        "libvirt on compute2 is not reachable from compute1: virsh -c qemu+tcp://compute2/system failed: timed out "
        "after 5 seconds. Is libvirt listening on compute2 (libvirtd-tcp.socket, the novaops_libvirt role)?"]


def test_libvirt_over_tls_points_at_the_tls_socket():
    result = checks(FakeRunner(failed(1, 'error: unable to connect to server\n')), target_conf=TARGET_CONF)
    assert '(libvirtd-tls.socket, the novaops_libvirt role)?' in result['problems'][0]


def test_libvirt_failing_without_a_word():
    result = checks(FakeRunner(failed(1, '')))
    assert 'virsh -c qemu+tcp://compute2/system failed: rc 1 and no output.' in result['problems'][0]


# -- cold --------------------------------------------------------------------------

def test_ssh_works():
    runner = FakeRunner(ok())
    result = checks(runner, mode='cold', target_conf=TARGET_CONF)
    assert runner.calls == [(['timeout', '20', 'runuser', '-u', 'nova', '--'] + SSH, 20)]
    assert result['problems'] == []
    assert result['checks'] == [dict(name='nova ssh from compute1 to compute2', ok=True,
                                     detail='ssh 10.0.0.12 true as nova on compute1 works')]
    assert result['ssh_address'] == '10.0.0.12'


def test_ssh_refused():
    result = checks(FakeRunner(failed(255, 'Host key verification failed.\r\n')), mode='cold',
                    target_conf=TARGET_CONF)
    assert result['problems'] == [
        'nova on compute1 cannot ssh to 10.0.0.12 (rc 255): Host key verification failed. Set up the trust with '
        'the novaops_ssh_trust role.']
    assert result['checks'][0]['ok'] is False
    assert result['checks'][0]['detail'] == (
        'ssh 10.0.0.12 true as nova on compute1 failed (rc 255): Host key verification failed. Set up the trust '
        'with the novaops_ssh_trust role.')


def test_ssh_timed_out():
    result = checks(FakeRunner(TIMED_OUT), mode='cold', timeout=7)
    problem, = result['problems']
    assert problem.startswith('nova on compute1 cannot ssh to compute2: timed out after 7 seconds.')
    assert 'novaops_ssh_trust' in problem


def test_ssh_as_another_user():
    runner = FakeRunner(failed(1, 'runuser: user backup does not exist\n'))
    result = checks(runner, mode='cold', ssh_user='backup')
    assert runner.calls[0][0][:6] == ['timeout', '20', 'runuser', '-u', 'backup', '--']
    assert result['checks'][0]['name'] == 'backup ssh from compute1 to compute2'
    assert result['problems'][0].startswith('backup on compute1 cannot ssh to compute2 (rc 1): runuser: user backup')


def test_ssh_as_a_user_this_host_does_not_have(monkeypatch):
    monkeypatch.setattr(host_checks, 'user_exists', lambda name: False)
    runner = FakeRunner()
    result = checks(runner, mode='cold', target_conf=TARGET_CONF)
    assert runner.calls == []
    assert result['problems'] == [
        'nova on compute1 cannot ssh to 10.0.0.12: there is no user nova on compute1. Set ssh_user to the user '
        'nova-compute runs as there.']
    assert result['checks'][0]['ok'] is False
    assert result['checks'][0]['detail'].startswith('There is no user nova on compute1.')


def test_user_exists():
    # The real one (the fixture replaces host_checks.user_exists).
    assert user_exists('root') is True
    assert user_exists('novaops-no-such-user') is False


def test_source_host_defaults_to_this_hosts_name(monkeypatch):
    monkeypatch.setattr(host_checks.socket, 'gethostname', lambda: 'compute1.example')
    result = checks(FakeRunner(ok('compute2')), source_host=None)
    assert result['checks'][0]['name'] == 'libvirt on compute2 reachable from compute1.example'


# -- tools ------------------------------------------------------------------------------

def test_required_tools(monkeypatch):
    monkeypatch.setattr(host_checks.shutil, 'which', lambda tool: '/usr/bin/rsync' if tool == 'rsync' else None)
    result = checks(FakeRunner(ok('compute2')), required_tools=['rsync', 'qemu-img'])
    assert result['checks'][1:] == [
        dict(name='rsync installed on compute1', ok=True, detail='/usr/bin/rsync'),
        dict(name='qemu-img installed on compute1', ok=False, detail='qemu-img is not on the PATH of compute1 (%s)'
             % os.environ.get('PATH', '')),
    ]
    assert result['problems'] == ['qemu-img is not installed on compute1 (not on its PATH %s): install it there.'
                                  % os.environ.get('PATH', '')]


def test_every_problem_at_once(monkeypatch):
    monkeypatch.setattr(host_checks.shutil, 'which', lambda tool: None)
    result = checks(FakeRunner(failed(255, 'Connection refused')), mode='cold', required_tools=['rsync', 'tar'])
    assert len(result['problems']) == 3
    assert [check['ok'] for check in result['checks']] == [False, False, False]


# -- run_command, for real -------------------------------------------------------------------

def script(tmp_path, name, body):
    path = tmp_path / name
    path.write_text('#!%s\nimport os, subprocess, sys, time\n%s\n' % (sys.executable, body))
    path.chmod(0o755)
    return str(path)


def test_run_command_output(tmp_path):
    command = script(tmp_path, 'speak', 'print("out"); sys.stderr.write("err\\n"); sys.exit(3)')
    assert run_command([command], 5) == CommandResult(rc=3, stdout='out\n', stderr='err\n', timed_out=False)


def test_run_command_reads_the_rc_124_of_timeout_as_timed_out(tmp_path):
    command = script(tmp_path, 'timeout', 'sys.exit(124)')
    assert run_command([command, '5', 'virsh'], 5).timed_out is True


def test_run_command_gives_no_input(tmp_path):
    command = script(tmp_path, 'ask', 'print(repr(sys.stdin.read()))')
    assert run_command([command], 5).stdout == "''\n"


def test_run_command_stops_a_hung_command_and_its_children(tmp_path, monkeypatch):
    # A `timeout` that does not do its job: the backstop kills the whole process group.
    monkeypatch.setattr(host_checks, 'BACKSTOP_GRACE_SECONDS', 0.5)
    marker = tmp_path / 'child-alive'
    child = script(tmp_path, 'child', 'time.sleep(1.5)\nopen(%r, "w").close()' % str(marker))
    command = script(tmp_path, 'hang', 'subprocess.call([%r]); time.sleep(60)' % child)
    started = time.monotonic()
    result = run_command([command], 1)
    assert time.monotonic() - started < 5
    assert result.timed_out is True
    time.sleep(1.5)
    assert not marker.exists()


def test_run_command_of_a_missing_program(tmp_path):
    result = run_command([str(tmp_path / 'missing')], 5)
    assert result.rc == 127 and not result.timed_out
    assert 'missing' in result.stderr
