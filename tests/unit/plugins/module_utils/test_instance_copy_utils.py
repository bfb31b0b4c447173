# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import os

import pytest

from ansible_collections.novaops.migration.plugins.module_utils.instance_copy import (
    CopyError, differing_paths, find_stale_copies, is_copy_of, remote_path, ssh_option_args, user_command,
    validate_rsync_options, validate_target_address,
)

UUID = '2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e'
INSTANCE_DIR = '/var/lib/nova/instances/' + UUID
PARTIAL_DIR = '/var/lib/nova/instances/.%s.novaops-partial' % UUID
TOOLS = dict(runuser='/usr/sbin/runuser', sudo='/usr/bin/sudo')


@pytest.mark.parametrize('options', [
    [], ['--bwlimit=50M'], ['--bwlimit=1000'], ['--bwlimit=2g', '--compress'], ['-z'], ['--compress-level=0'],
    ['--compress-level=9', '--bwlimit=10K'],
])
def test_allowed_rsync_options(options):
    assert validate_rsync_options(options) == options


@pytest.mark.parametrize('option', [
    '--remove-source-files', '--rsync-path=sudo rsync', '-e', 'ssh -o StrictHostKeyChecking=no', '--delete-before',
    '--bwlimit=50X', '--bwlimit=', '--compress-level=10', '--bwlimit=50M --compress', '-zz', '--inplace',
    '--compress-choice=zstd', '../other', '',
])
def test_anything_else_is_refused_naming_what_is_accepted(option):
    with pytest.raises(CopyError) as error:
        validate_rsync_options(['--compress', option])
    message = str(error.value)
    assert repr(option) in message
    for accepted in ('--bwlimit=N', '--compress', '-z', '--compress-level=0..9'):
        assert accepted in message
    assert error.value.step == 'validate'


@pytest.mark.parametrize('address', ['10.99.0.12', 'compute2', 'compute2.lab.example', 'fd00::12', '::1',
                                     'c-2.example'])
def test_target_addresses_that_are_accepted(address):
    assert validate_target_address(address) == address


@pytest.mark.parametrize('address', ['', '-oProxyCommand=touch /tmp/pwned', '-compute2', 'compute 2', 'compute2;id',
                                     'nova@compute2', 'compute2:/tmp', 'compute2\n', '$(id)', 'a..b', 'host-.lab'])
def test_target_addresses_that_are_refused(address):
    with pytest.raises(CopyError) as error:
        validate_target_address(address)
    assert 'target_address' in str(error.value)


def test_remote_paths_bracket_ipv6_addresses():
    assert remote_path('compute2', PARTIAL_DIR + '/') == 'compute2:%s/' % PARTIAL_DIR
    assert remote_path('10.99.0.12', '/x') == '10.99.0.12:/x'
    assert remote_path('fd00::12', '/x') == '[fd00::12]:/x'


def test_the_default_ssh_options_fail_fast_and_check_the_host_key():
    args = ssh_option_args(None)
    pairs = [args[index + 1] for index in range(0, len(args), 2)]
    assert all(args[index] == '-o' for index in range(0, len(args), 2))
    assert set(pairs) == {'BatchMode=yes', 'ServerAliveInterval=5', 'ServerAliveCountMax=3',
                          'StrictHostKeyChecking=yes', 'ConnectTimeout=10'}


def test_given_ssh_options_are_merged_over_the_defaults_and_yaml_booleans_become_yes_no():
    args = ssh_option_args({'ConnectTimeout': 3, 'Compression': True, 'BatchMode': True})
    assert 'ConnectTimeout=3' in args and 'ConnectTimeout=10' not in args
    assert 'Compression=yes' in args and 'BatchMode=yes' in args
    assert 'StrictHostKeyChecking=yes' in args


@pytest.mark.parametrize('value', ['no', 'accept-new', 'off', False])
def test_host_key_checking_cannot_be_turned_off(value):
    with pytest.raises(CopyError) as error:
        ssh_option_args({'StrictHostKeyChecking': value})
    assert 'StrictHostKeyChecking' in str(error.value)


def test_host_key_checking_may_be_repeated_as_yes():
    assert 'StrictHostKeyChecking=yes' in ssh_option_args({'StrictHostKeyChecking': 'yes'})


@pytest.mark.parametrize('options', [{'Bad Key': 'x'}, {'ProxyCommand': 'nc %h 22'}, {'User': "a'b"}, {'-F': 'x'}])
def test_ssh_options_that_would_not_survive_rsyncs_rsh_are_refused(options):
    with pytest.raises(CopyError):
        ssh_option_args(options)


def test_commands_run_as_the_copy_user_with_runuser_as_root():
    assert user_command('nova', ['/usr/bin/rsync', '-a'], TOOLS, euid=0, current_user='root') == [
        '/usr/sbin/runuser', '-u', 'nova', '--', '/usr/bin/rsync', '-a']


def test_commands_run_as_the_copy_user_with_sudo_otherwise():
    assert user_command('nova', ['/usr/bin/tar'], TOOLS, euid=1000, current_user='deploy') == [
        '/usr/bin/sudo', '-n', '-u', 'nova', '--', '/usr/bin/tar']


def test_commands_already_running_as_the_copy_user_are_not_wrapped():
    assert user_command('nova', ['/usr/bin/tar'], TOOLS, euid=115, current_user='nova') == ['/usr/bin/tar']


def test_a_missing_wrapper_is_an_error():
    with pytest.raises(CopyError) as error:
        user_command('nova', ['/usr/bin/tar'], dict(runuser=None, sudo=None), euid=0, current_user='root')
    assert 'runuser' in str(error.value)


@pytest.mark.parametrize('argv', [
    ['rsync', '--archive', '--sparse', INSTANCE_DIR + '/', '10.99.0.12:%s/' % PARTIAL_DIR],
    ['/usr/bin/rsync', '-a', INSTANCE_DIR, 'compute2:/elsewhere'],
    ['rsync', '--server', '--sender', '-logDtprSe.iLsfxCIvu', '.', INSTANCE_DIR + '/'],
    ['tar', '-C', INSTANCE_DIR, '--exclude=console.log*', '--sparse', '-cf', '-', '.'],
    ['tar', '-C', PARTIAL_DIR, '--sparse', '-xpf', '-'],
    ['rsync', '-a', INSTANCE_DIR + '/disk', 'compute2:%s/disk' % PARTIAL_DIR],
])
def test_copies_of_this_server_are_recognised(argv):
    assert is_copy_of(argv, [INSTANCE_DIR, PARTIAL_DIR]) is True


@pytest.mark.parametrize('argv', [
    ['rsync', '-a', '/var/lib/nova/instances/ffffffff-0000-4000-8000-000000000000/', 'compute2:/x/'],
    ['rsync', '-a', INSTANCE_DIR + '-other/', 'compute2:/x/'],
    ['sleep', '300', INSTANCE_DIR],
    ['ssh', '-o', 'BatchMode=yes', 'compute2', 'mkdir -p %s && tar -C %s --sparse -xpf -' % (PARTIAL_DIR, PARTIAL_DIR)],
    ['runuser', '-u', 'nova', '--', 'rsync', '-a', INSTANCE_DIR + '/', 'compute2:/x/'],
    ['qemu-img', 'info', INSTANCE_DIR + '/disk'],
    [],
])
def test_other_processes_are_left_alone(argv):
    assert is_copy_of(argv, [INSTANCE_DIR, PARTIAL_DIR]) is False


def test_differences_are_listed_by_path_up_to_ten():
    output = '\n'.join(['>fcst...... disk', '*deleting   stale-file', '.d..t...... ./', 'cd+++++++++ sub dir/'] +
                       ['>f+++++++++ file%02d' % index for index in range(12)]) + '\n'
    assert differing_paths(output) == ['disk', 'stale-file', './', 'sub dir/', 'file00', 'file01', 'file02', 'file03',
                                       'file04', 'file05']
    assert differing_paths('') == []
    assert differing_paths(output, limit=2) == ['disk', 'stale-file']


def fake_process(proc, pid, argv, state='S', start_time=4242):
    directory = proc / str(pid)
    directory.mkdir()
    (directory / 'cmdline').write_bytes(b'\0'.join(part.encode() for part in argv) + b'\0')
    fields = [state] + ['0'] * 18 + [str(start_time)] + ['0'] * 10
    (directory / 'stat').write_text('%d (%s) %s\n' % (pid, os.path.basename(argv[0])[:15], ' '.join(fields)))


def test_stale_copies_are_found_in_proc_by_owner_and_command_line(tmp_path):
    proc = tmp_path / 'proc'
    proc.mkdir()
    (proc / 'self').mkdir()
    fake_process(proc, 101, ['rsync', '-a', INSTANCE_DIR + '/', 'compute2:%s/' % PARTIAL_DIR])
    fake_process(proc, 102, ['tar', '-C', INSTANCE_DIR, '-cf', '-', '.'], start_time=77)
    fake_process(proc, 103, ['rsync', '-a', INSTANCE_DIR + '/', 'x:/y/'], state='Z')
    fake_process(proc, 104, ['rsync', '-a', '/var/lib/nova/instances/%s/' % ('f' * 8 + UUID[8:]), 'x:/y/'])
    fake_process(proc, os.getpid(), ['rsync', '-a', INSTANCE_DIR + '/', 'x:/y/'])
    uid = os.geteuid()
    found = find_stale_copies(uid, [INSTANCE_DIR, PARTIAL_DIR], proc=str(proc))
    assert found == {101: b'4242', 102: b'77'}
    assert find_stale_copies(uid + 1, [INSTANCE_DIR, PARTIAL_DIR], proc=str(proc)) == {}
