# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""migration_host_check against fake virsh, ssh, runuser, sudo and timeout.

The fakes are one small script under five names in a directory put first on
PATH. Each logs its name and arguments to a file, then behaves as the
environment says: FAKE_VIRSH / FAKE_SSH = ok, fail or hang. The fake timeout
really stops what it runs after the given number of seconds (exit 124, as
coreutils' does); the fake runuser and sudo run the rest of their command.
"""

import json
import os
import sys
import time

import pytest

from ansible_collections.novaops.migration.plugins.module_utils import host_checks
from ansible_collections.novaops.migration.plugins.modules import migration_host_check

FAKE_TOOL = r'''#!%(python)s
import json, os, subprocess, sys, time
tool, args = os.path.basename(sys.argv[0]), sys.argv[1:]
with open(os.environ['FAKE_LOG'], 'a') as log:
    log.write(json.dumps([tool] + args) + '\n')
behaviour = os.environ.get('FAKE_' + tool.upper(), 'ok')
if tool == 'timeout':
    try:
        sys.exit(subprocess.run(args[1:], timeout=float(args[0])).returncode)
    except subprocess.TimeoutExpired:
        sys.exit(124)
if tool == 'runuser':
    # runuser -u USER -- COMMAND...
    rest = args[args.index('--') + 1:]
    os.execvp(rest[0], rest)
if tool == 'sudo':
    # sudo -n -u USER COMMAND...
    rest = args[3:]
    os.execvp(rest[0], rest)
if behaviour == 'hang':
    time.sleep(60)
if tool == 'virsh':
    if behaviour == 'fail':
        sys.stderr.write("error: failed to connect to the hypervisor\n"
                         "error: unable to connect to server at 'compute2:16509': Connection refused\n")
        sys.exit(1)
    print(os.environ.get('FAKE_VIRSH_ANSWER', 'compute2'))
if tool == 'ssh':
    if behaviour == 'fail':
        sys.stderr.write('Host key verification failed.\r\n')
        sys.exit(255)
'''

SSH_OPTIONS = ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-o', 'StrictHostKeyChecking=yes']
TARGET_CONF = dict(changed=False, my_ip='10.0.0.12', host='compute2', live_migration_scheme='tcp',
                   live_migration_inbound_addr='10.1.0.12', libvirt_uri='qemu+tcp://10.1.0.12/system',
                   ssh_address='10.0.0.12', instances_path='/var/lib/nova/instances', files=['/etc/nova/nova.conf'])


class Fakes(object):
    def __init__(self, tmp_path, monkeypatch):
        self.bin = tmp_path / 'bin'
        self.bin.mkdir()
        self.log = tmp_path / 'calls.log'
        self.log.write_text('')
        self.monkeypatch = monkeypatch
        for tool in ('virsh', 'ssh', 'runuser', 'sudo', 'timeout'):
            self.install(tool)
        monkeypatch.setenv('PATH', '%s%s%s' % (self.bin, os.pathsep, os.environ.get('PATH', '')))
        monkeypatch.setenv('FAKE_LOG', str(self.log))

    def install(self, tool):
        path = self.bin / tool
        path.write_text(FAKE_TOOL % dict(python=sys.executable))
        path.chmod(0o755)

    def behave(self, **behaviours):
        for tool, behaviour in behaviours.items():
            self.monkeypatch.setenv('FAKE_' + tool.upper(), behaviour)

    def calls(self):
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture
def fakes(tmp_path, monkeypatch):
    monkeypatch.setattr(host_checks, 'effective_user', lambda: (0, 'root'))
    # nova exists on a compute; the test machine need not have it.
    monkeypatch.setattr(host_checks, 'user_exists', lambda name: True)
    return Fakes(tmp_path, monkeypatch)


@pytest.fixture
def run(run_host_module):
    def run_migration_host_check(check_mode=False, **args):
        values = dict(target_host='compute2', source_host='compute1')
        values.update(args)
        return run_host_module(migration_host_check.main, values, check_mode=check_mode)

    return run_migration_host_check


# -- live -----------------------------------------------------------------------------

def test_live_without_target_conf_connects_to_the_target_name(fakes, run):
    result = run(mode='live')
    assert fakes.calls() == [['timeout', '20', 'virsh', '-c', 'qemu+tcp://compute2/system', 'hostname'],
                             ['virsh', '-c', 'qemu+tcp://compute2/system', 'hostname']]
    assert result == dict(
        changed=False, problems=[], libvirt_uri='qemu+tcp://compute2/system', ssh_address='compute2',
        checks=[dict(name='libvirt on compute2 reachable from compute1', ok=True,
                     detail='virsh -c qemu+tcp://compute2/system on compute1 answered compute2')])


def test_live_with_target_conf_connects_where_nova_will(fakes, run):
    result = run(mode='live', target_conf=TARGET_CONF)
    assert fakes.calls()[0] == ['timeout', '20', 'virsh', '-c', 'qemu+tcp://10.1.0.12/system', 'hostname']
    assert result['problems'] == [] and result['checks'][0]['ok'] is True
    assert result['libvirt_uri'] == 'qemu+tcp://10.1.0.12/system' and result['ssh_address'] == '10.0.0.12'


def test_live_failure_is_a_problem_not_a_failure(fakes, run):
    fakes.behave(virsh='fail')
    result = run(mode='live')
    assert 'failed' not in result and result['changed'] is False
    assert result['checks'][0]['ok'] is False
    assert result['problems'] == [
        "libvirt on compute2 is not reachable from compute1: virsh -c qemu+tcp://compute2/system failed: error: "
        "failed to connect to the hypervisor error: unable to connect to server at 'compute2:16509': Connection "
        "refused. Is libvirt listening on compute2 (libvirtd-tcp.socket, the novaops_libvirt role)?"]


def test_live_timeout(fakes, run):
    fakes.behave(virsh='hang')
    started = time.monotonic()
    result = run(mode='live', timeout=1)
    assert time.monotonic() - started < 10
    assert fakes.calls()[0][:2] == ['timeout', '1']
    assert result['problems'] == [
        'libvirt on compute2 is not reachable from compute1: virsh -c qemu+tcp://compute2/system failed: timed out '
        'after 1 second. Is libvirt listening on compute2 (libvirtd-tcp.socket, the novaops_libvirt role)?']


# -- cold -----------------------------------------------------------------------------

def test_cold_as_root_runs_ssh_as_nova_with_runuser(fakes, run):
    result = run(mode='cold', target_conf=TARGET_CONF)
    ssh = ['ssh'] + SSH_OPTIONS + ['10.0.0.12', 'true']
    assert fakes.calls() == [['timeout', '20', 'runuser', '-u', 'nova', '--'] + ssh,
                             ['runuser', '-u', 'nova', '--'] + ssh,
                             ssh]
    assert result['problems'] == []
    assert result['checks'] == [dict(name='nova ssh from compute1 to compute2', ok=True,
                                     detail='ssh 10.0.0.12 true as nova on compute1 works')]


def test_cold_as_another_user_runs_ssh_as_nova_with_sudo(fakes, monkeypatch, run):
    monkeypatch.setattr(host_checks, 'effective_user', lambda: (1000, 'ansible'))
    result = run(mode='cold', target_conf=TARGET_CONF)
    ssh = ['ssh'] + SSH_OPTIONS + ['10.0.0.12', 'true']
    assert fakes.calls() == [['timeout', '20', 'sudo', '-n', '-u', 'nova'] + ssh,
                             ['sudo', '-n', '-u', 'nova'] + ssh,
                             ssh]
    assert result['problems'] == []


def test_cold_as_nova_runs_ssh_itself(fakes, monkeypatch, run):
    monkeypatch.setattr(host_checks, 'effective_user', lambda: (64060, 'nova'))
    run(mode='cold', target_conf=TARGET_CONF)
    assert fakes.calls() == [['timeout', '20', 'ssh'] + SSH_OPTIONS + ['10.0.0.12', 'true'],
                             ['ssh'] + SSH_OPTIONS + ['10.0.0.12', 'true']]


@pytest.mark.parametrize('user', [(0, 'root'), (1000, 'ansible'), (64060, 'nova')])
def test_host_keys_are_always_checked(fakes, monkeypatch, user, run):
    # Whatever nova's ~/.ssh/config says: ssh takes the first value of an option, and -o comes first.
    monkeypatch.setattr(host_checks, 'effective_user', lambda: user)
    run(mode='cold', timeout=5)
    ssh_call, = [call for call in fakes.calls() if call[0] == 'ssh']
    assert ssh_call[ssh_call.index('StrictHostKeyChecking=yes') - 1] == '-o'
    assert not [argument for argument in ssh_call if 'StrictHostKeyChecking' in argument
                and argument != 'StrictHostKeyChecking=yes']


def test_cold_failure_with_stderr(fakes, run):
    fakes.behave(ssh='fail')
    result = run(mode='cold', target_conf=TARGET_CONF)
    assert 'failed' not in result
    assert result['checks'][0]['ok'] is False
    assert result['problems'] == [
        'nova on compute1 cannot ssh to 10.0.0.12 (rc 255): Host key verification failed. Set up the trust with '
        'the novaops_ssh_trust role.']


def test_cold_timeout(fakes, run):
    fakes.behave(ssh='hang')
    started = time.monotonic()
    result = run(mode='cold', target_conf=TARGET_CONF, timeout=1)
    assert time.monotonic() - started < 10
    problem, = result['problems']
    assert problem.startswith('nova on compute1 cannot ssh to 10.0.0.12: timed out after 1 second.')


# -- the rest -------------------------------------------------------------------------

def test_required_tools_are_looked_up_on_this_host(fakes, run):
    fakes.install('rsync')
    result = run(mode='live', required_tools=['rsync', 'novaops-no-such-tool'])
    assert [(check['name'], check['ok']) for check in result['checks']] == [
        ('libvirt on compute2 reachable from compute1', True),
        ('rsync installed on compute1', True),
        ('novaops-no-such-tool installed on compute1', False)]
    assert result['checks'][1]['detail'] == str(fakes.bin / 'rsync')
    problem, = result['problems']
    assert problem.startswith('novaops-no-such-tool is not installed on compute1 (not on its PATH ')


def test_every_problem_at_once(fakes, run):
    fakes.behave(ssh='fail')
    result = run(mode='cold', required_tools=['novaops-no-such-tool', 'novaops-nor-this'])
    assert len(result['problems']) == 3 and 'failed' not in result


def test_check_mode_runs_the_checks(fakes, run):
    fakes.behave(virsh='fail')
    result = run(mode='live', check_mode=True)
    assert fakes.calls()[0][0] == 'timeout'
    assert result['changed'] is False and len(result['problems']) == 1


def test_source_host_defaults_to_the_hostname(fakes, monkeypatch, run_host_module):
    monkeypatch.setattr(host_checks.socket, 'gethostname', lambda: 'compute1.lab')
    result = run_host_module(migration_host_check.main, dict(mode='live', target_host='compute2'))
    # The module exited (exit_json), it did not fail.
    assert 'failed' not in result
    assert result['checks'][0]['name'] == 'libvirt on compute2 reachable from compute1.lab'


@pytest.mark.parametrize('args, message', [
    (dict(mode='live', timeout=0), 'timeout'),
    (dict(mode='cold', ssh_user='-oProxyCommand=x'), 'ssh_user'),
    (dict(mode='cold', target_conf=dict(my_ip='10.0.0.12')), 'target_conf has no libvirt_uri'),
    (dict(mode='cold', target_conf=dict(TARGET_CONF, ssh_address='-oProxyCommand=x')), 'ssh_address'),
    (dict(mode='live', target_host='-compute2'), 'target_host'),
    (dict(mode='warm'), 'mode'),
])
def test_bad_options_fail_before_running_anything(fakes, args, message, run):
    result = run(**args)
    assert result['failed'] and message in result['msg']
    assert fakes.calls() == []
