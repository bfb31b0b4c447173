# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""instance_copy between two temporary directories, for real.

"The source" and "the target" are two trees under tmp_path holding the same
paths (source/var/lib/nova/instances and target/var/lib/nova/instances). The
real tar and rsync do the copying; a fake ssh runs the remote command locally
with ``sh -c`` after rewriting the source tree's prefix to the target's, as if
it had reached another host with the same layout. It logs every call, and can
refuse to connect or corrupt a file behind the copy's back. A fake qemu-img
names the backing file; fake runuser and sudo log and run the rest.
"""

import hashlib
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import time

import pytest

from ansible_collections.novaops.migration.plugins.module_utils import instance_copy as instance_copy_utils
from ansible_collections.novaops.migration.plugins.modules import instance_copy

UUID = '2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e'
OTHER_UUID = 'ffffffff-0000-4000-8000-000000000000'
TARGET = '10.99.0.12'
MIB = 1024 * 1024
BASE_NAME = '5f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6'

pytestmark = pytest.mark.skipif(not (shutil.which('rsync') and shutil.which('tar')),
                                reason='the copy tests run the real rsync and tar')

FAKE_SSH = r'''#!%(python)s
import json, os, sys
WITH_ARGUMENT = set('BbcDEeFIiJLlmOoPpQRSWw')
args = sys.argv[1:]
index = 0
while index < len(args) and args[index].startswith('-') and len(args[index]) > 1:
    if args[index] == '--':
        index += 1
        break
    index += 2 if args[index][1] in WITH_ARGUMENT and len(args[index]) == 2 else 1
host, command = args[index], ' '.join(args[index + 1:])
command = command.replace(os.environ['FAKE_SSH_SOURCE_ROOT'], os.environ['FAKE_SSH_TARGET_ROOT'])
with open(os.environ['FAKE_SSH_LOG'], 'a') as log:
    log.write(json.dumps(dict(argv=args, host=host, command=command)) + '\n')
if os.environ.get('FAKE_SSH_FAIL'):
    sys.stderr.write('ssh: connect to host %%s port 22: Connection refused\n' %% host)
    sys.exit(255)
corrupt = os.environ.get('FAKE_SSH_CORRUPT')
if corrupt and '--server' in command and os.path.exists(corrupt):
    # Same size, same mtime, one byte different: only a checksum sees it.
    status = os.stat(corrupt)
    with open(corrupt, 'r+b') as stream:
        stream.seek(16 * 1024 * 1024)
        byte = stream.read(1)
        stream.seek(16 * 1024 * 1024)
        stream.write(bytes([byte[0] ^ 0xff]))
    os.utime(corrupt, ns=(status.st_atime_ns, status.st_mtime_ns))
os.execvp('sh', ['sh', '-c', command])
'''

# rsync, logged (the remote side, reached through the fake ssh, too), then the real one.
FAKE_RSYNC = r'''#!/bin/sh
printf '%%s\n' "$*" >> "$FAKE_RSYNC_LOG"
exec %(rsync)s "$@"
'''

# runuser -u USER -- CMD... and sudo -n -u USER -- CMD...: logged, then CMD as is.
FAKE_WRAPPER = r'''#!/bin/sh
printf '%s %s\n' "$(basename "$0")" "$*" >> "$FAKE_WRAPPER_LOG"
while [ $# -gt 0 ] && [ "$1" != "--" ]; do shift; done
shift
exec "$@"
'''

FAKE_QEMU_IMG = r'''#!%(python)s
import json, os, sys
args = sys.argv[1:]
if args[:3] != ['info', '-U', '--output=json'] or len(args) != 4 or not os.path.exists(args[3]):
    sys.stderr.write('fake qemu-img: cannot answer %%r\n' %% (args,))
    sys.exit(1)
info = {'virtual-size': 1073741824, 'filename': args[3], 'format': 'qcow2'}
if os.environ.get('FAKE_QEMU_IMG_BACKING'):
    info['backing-filename'] = os.environ['FAKE_QEMU_IMG_BACKING']
json.dump(info, sys.stdout)
'''


@pytest.fixture(autouse=True)
def short_grace(monkeypatch):
    # A stale copy that ignores SIGTERM is killed after this long (seconds).
    monkeypatch.setattr(instance_copy_utils, 'STALE_COPY_GRACE_SECONDS', 1.0)


class Hosts(object):
    """The source and the target, and what the fakes saw."""

    def __init__(self, tmp_path):
        self.root = tmp_path
        self.source_root = tmp_path / 'source'
        self.target_root = tmp_path / 'target'
        self.instances_path = self.source_root / 'var/lib/nova/instances'
        self.target_instances = self.target_root / 'var/lib/nova/instances'
        self.instance_dir = self.instances_path / UUID
        self.partial_dir = self.target_instances / ('.%s.novaops-partial' % UUID)
        self.ssh_log = tmp_path / 'ssh.log'
        self.rsync_log = tmp_path / 'rsync.log'
        self.wrapper_log = tmp_path / 'wrapper.log'
        self.bin = tmp_path / 'bin'
        for path in (self.instances_path, self.target_instances, self.bin):
            path.mkdir(parents=True)
        for path in (self.ssh_log, self.rsync_log, self.wrapper_log):
            path.write_text('')

    def ssh_calls(self):
        return [json.loads(line) for line in self.ssh_log.read_text().splitlines()]

    def rsync_calls(self):
        return self.rsync_log.read_text().splitlines()

    def target_path(self, source_path):
        return self.target_root / os.path.relpath(str(source_path), str(self.source_root))


def install(path, text):
    path.write_text(text)
    path.chmod(0o755)


@pytest.fixture
def hosts(tmp_path, monkeypatch):
    found = Hosts(tmp_path)
    install(found.bin / 'ssh', FAKE_SSH % dict(python=sys.executable))
    install(found.bin / 'rsync', FAKE_RSYNC % dict(rsync=shutil.which('rsync')))
    install(found.bin / 'qemu-img', FAKE_QEMU_IMG % dict(python=sys.executable))
    install(found.bin / 'runuser', FAKE_WRAPPER)
    install(found.bin / 'sudo', FAKE_WRAPPER)
    monkeypatch.setenv('PATH', '%s:%s' % (found.bin, os.environ.get('PATH', '/usr/bin:/bin')))
    monkeypatch.setenv('FAKE_SSH_SOURCE_ROOT', str(found.source_root))
    monkeypatch.setenv('FAKE_SSH_TARGET_ROOT', str(found.target_root))
    monkeypatch.setenv('FAKE_SSH_LOG', str(found.ssh_log))
    monkeypatch.setenv('FAKE_RSYNC_LOG', str(found.rsync_log))
    monkeypatch.setenv('FAKE_WRAPPER_LOG', str(found.wrapper_log))
    for name in ('FAKE_SSH_FAIL', 'FAKE_SSH_CORRUPT', 'FAKE_QEMU_IMG_BACKING'):
        monkeypatch.delenv(name, raising=False)
    return found


def current_user():
    return pwd.getpwuid(os.geteuid()).pw_name


@pytest.fixture
def run(run_host_module):
    def run_instance_copy(hosts, check_mode=False, **args):
        # The tests run the copy as whoever runs them, so no wrapper is needed (one test asks for another user).
        values = dict(server_id=UUID, instances_path=str(hosts.instances_path), target_address=TARGET,
                      copy_user=current_user())
        values.update(args)
        return run_host_module(instance_copy.main, values, check_mode=check_mode)

    return run_instance_copy


def make_instance(directory):
    """An instance directory with a sparse 64 MiB disk holding 12 KiB of data, and a console log."""
    directory.mkdir(parents=True)
    with open(directory / 'disk', 'wb') as disk:
        disk.truncate(64 * MIB)
        disk.seek(16 * MIB)
        disk.write(os.urandom(8192))
        disk.seek(48 * MIB)
        disk.write(b'end of disk' * 372)
    (directory / 'disk.info').write_text('{"%s/disk": "qcow2"}' % directory)
    (directory / 'console.log').write_text('login: \n' * 1000)
    os.utime(directory / 'disk', (1700000000, 1700000000))
    return directory


def tree(path):
    found = {}
    for root, directories, files in os.walk(str(path)):
        for name in [''] + directories + files:
            full = os.path.join(root, name) if name else root
            status = os.lstat(full)
            digest = None
            if stat.S_ISREG(status.st_mode):
                with open(full, 'rb') as stream:
                    digest = hashlib.sha256(stream.read()).hexdigest()
            found[os.path.relpath(full, str(path))] = (status.st_mode, status.st_size, status.st_mtime_ns, digest)
    return found


def contents(path):
    """Names and file contents (not times), for comparing a copy with its original."""
    return dict((name, (mode, size, digest)) for name, (mode, size, mtime, digest) in tree(path).items())


def without_console_log(found):
    return dict((name, value) for name, value in found.items() if not name.startswith('console.log'))


# -- copying -------------------------------------------------------------------------

def test_a_fresh_copy_is_streamed_with_tar_and_verified(hosts, run):
    make_instance(hosts.instance_dir)
    source_before = tree(hosts.source_root)
    result = run(hosts)
    assert result.get('failed') is not True, result.get('msg')
    assert result['changed'] is True
    assert result['method'] == 'tar' and result['verified'] is True
    assert result['stale_copies_stopped'] == []
    assert result['backing_file'] is None and result['backing_copied'] is False
    assert result['copy_seconds'] >= 0 and result['verify_seconds'] >= 0 and result['duration'] >= 0
    assert 12 * 1024 <= result['bytes'] < 1 * MIB
    # The copy is complete, without the console log, and still sparse.
    assert contents(hosts.partial_dir) == without_console_log(contents(hosts.instance_dir))
    assert os.stat(hosts.partial_dir / 'disk').st_blocks * 512 < 1 * MIB
    assert os.stat(hosts.partial_dir / 'disk').st_mtime == 1700000000
    # It is not put in place: instance_files state=in_place does that on the target.
    assert not hosts.target_path(hosts.instance_dir).exists()
    assert tree(hosts.source_root) == source_before
    calls = hosts.ssh_calls()
    assert calls and all(call['host'] == TARGET for call in calls)
    assert all('StrictHostKeyChecking=yes' in call['argv'] and 'BatchMode=yes' in call['argv'] for call in calls)
    assert any(call['command'].startswith('mkdir -p ') and '--sparse -xpf -' in call['command'] for call in calls)
    verify = [line for line in hosts.rsync_calls() if '--checksum' in line and '--server' not in line]
    assert len(verify) == 1 and '--dry-run' in verify[0] and '--itemize-changes' in verify[0]


def test_a_copy_an_earlier_run_left_is_finished_with_rsync(hosts, run):
    make_instance(hosts.instance_dir)
    hosts.partial_dir.mkdir()
    (hosts.partial_dir / 'disk').write_bytes(b'half a disk')
    (hosts.partial_dir / 'left-over').write_text('not on the source')
    source_before = tree(hosts.source_root)
    result = run(hosts)
    assert result.get('failed') is not True, result.get('msg')
    assert result['changed'] is True and result['method'] == 'rsync' and result['verified'] is True
    assert contents(hosts.partial_dir) == without_console_log(contents(hosts.instance_dir))
    assert not (hosts.partial_dir / 'left-over').exists()
    assert os.stat(hosts.partial_dir / 'disk').st_blocks * 512 < 1 * MIB
    assert tree(hosts.source_root) == source_before
    copy = [line for line in hosts.rsync_calls() if '--delete' in line and '--checksum' not in line
            and '--server' not in line]
    assert len(copy) == 1
    assert '--sparse' in copy[0] and '--exclude=console.log*' in copy[0] and '--timeout=60' in copy[0]
    assert '--rsh=%s' % (hosts.bin / 'ssh') in copy[0] and 'StrictHostKeyChecking=yes' in copy[0]
    assert copy[0].endswith('%s/ %s:%s/' % (hosts.instance_dir, TARGET,
                                            hosts.instances_path / ('.%s.novaops-partial' % UUID)))


def test_rsync_options_make_the_copy_use_rsync(hosts, run):
    make_instance(hosts.instance_dir)
    result = run(hosts, rsync_options=['--bwlimit=50M', '--compress'], io_timeout=30)
    assert result.get('failed') is not True, result.get('msg')
    assert result['method'] == 'rsync' and result['verified'] is True
    copy = [line for line in hosts.rsync_calls() if '--bwlimit=50M' in line and '--server' not in line]
    assert len(copy) == 1 and '--compress' in copy[0] and '--timeout=30' in copy[0]
    assert contents(hosts.partial_dir) == without_console_log(contents(hosts.instance_dir))


def test_the_backing_file_goes_to_the_same_path_on_the_target_when_it_lacks_it(hosts, monkeypatch, run):
    make_instance(hosts.instance_dir)
    (hosts.instances_path / '_base').mkdir()
    base = hosts.instances_path / '_base' / BASE_NAME
    with open(base, 'wb') as stream:
        stream.truncate(32 * MIB)
        stream.write(b'base image' * 1000)
    monkeypatch.setenv('FAKE_QEMU_IMG_BACKING', str(base))
    result = run(hosts)
    assert result.get('failed') is not True, result.get('msg')
    assert result['backing_file'] == str(base) and result['backing_copied'] is True
    target_base = hosts.target_path(base)
    assert target_base.read_bytes() == base.read_bytes()
    assert os.stat(target_base).st_blocks * 512 < 1 * MIB
    assert result['bytes'] >= os.stat(base).st_blocks * 512

    # The next run finds it there and leaves it alone.
    again = run(hosts)
    assert again['backing_copied'] is False and again['method'] == 'rsync' and again['verified'] is True


def test_check_mode_copies_nothing_and_says_how_it_would(hosts, run):
    make_instance(hosts.instance_dir)
    target_before = tree(hosts.target_root)
    result = run(hosts, check_mode=True)
    assert result.get('failed') is not True, result.get('msg')
    assert result['changed'] is True and result['method'] == 'tar'
    assert 'verified' not in result or result['verified'] is False
    assert tree(hosts.target_root) == target_before
    assert hosts.rsync_calls() == []
    assert [call['command'].split()[:2] for call in hosts.ssh_calls()] == [['test', '-e']]

    hosts.partial_dir.mkdir()
    assert run(hosts, check_mode=True)['method'] == 'rsync'
    assert run(hosts, check_mode=True, rsync_options=['-z'])['method'] == 'rsync'


def test_a_missing_instance_directory_fails_and_runs_nothing(hosts, run):
    for check_mode in (False, True):
        result = run(hosts, check_mode=check_mode)
        assert result['failed'] is True and result['failed_step'] == 'find'
        assert str(hosts.instance_dir) in result['msg'] and 'Nothing was copied or changed.' in result['msg']
    assert hosts.ssh_calls() == [] and hosts.rsync_calls() == []


def test_a_copy_that_differs_fails_the_verification_naming_the_paths(hosts, monkeypatch, run):
    make_instance(hosts.instance_dir)
    source_before = tree(hosts.source_root)
    monkeypatch.setenv('FAKE_SSH_CORRUPT', str(hosts.partial_dir / 'disk'))
    result = run(hosts)
    assert result['failed'] is True and result['failed_step'] == 'verify'
    assert result['method'] == 'tar' and result['verified'] is False
    assert 'disk' in result['differences']
    assert "'verify'" in result['msg'] and 'disk' in result['msg']
    assert 'intact' in result['msg'] and str(hosts.instance_dir) in result['msg']
    assert tree(hosts.source_root) == source_before


def test_an_unreachable_target_fails_naming_the_step_and_sshs_words(hosts, monkeypatch, run):
    make_instance(hosts.instance_dir)
    monkeypatch.setenv('FAKE_SSH_FAIL', '1')
    result = run(hosts)
    assert result['failed'] is True and result['failed_step'] == 'probe'
    assert 'Connection refused' in result['stderr'] and 'Connection refused' in result['msg']
    assert 'intact' in result['msg']
    assert hosts.rsync_calls() == []


def test_the_copy_runs_as_the_copy_user(hosts, run):
    make_instance(hosts.instance_dir)
    other = 'nobody' if os.geteuid() == 0 else 'root'
    wrapper = 'runuser' if os.geteuid() == 0 else 'sudo'
    result = run(hosts, copy_user=other)
    assert result.get('failed') is not True, result.get('msg')
    wrapped = hosts.wrapper_log.read_text().splitlines()
    assert wrapped and all(line.startswith('%s ' % wrapper) and (' -u %s -- ' % other) in line for line in wrapped)
    for program in ('ssh', 'tar', 'rsync'):
        assert any(('-- %s' % (hosts.bin / program)) in line or ('-- %s' % shutil.which(program)) in line
                   for line in wrapped), program


def test_an_unknown_copy_user_is_refused(hosts, run):
    make_instance(hosts.instance_dir)
    result = run(hosts, copy_user='no-such-user-here')
    assert result['failed'] is True and 'no-such-user-here' in result['msg']
    assert hosts.ssh_calls() == []


# -- what is refused before anything runs --------------------------------------------

@pytest.mark.parametrize('option', ['--remove-source-files', '--rsync-path=/tmp/evil', '-e', 'ssh -o x=y',
                                    '--delete-before', '--bwlimit=1T'])
def test_rsync_options_outside_the_allow_list_are_refused_before_anything_runs(hosts, option, run):
    make_instance(hosts.instance_dir)
    result = run(hosts, rsync_options=['--bwlimit=10M', option])
    assert result['failed'] is True and result['failed_step'] == 'validate'
    assert '--bwlimit=N' in result['msg'] and '--compress-level=0..9' in result['msg']
    assert result['msg'].endswith('Nothing was run; the source is intact.')
    assert hosts.ssh_calls() == [] and hosts.rsync_calls() == []


@pytest.mark.parametrize('address', ['-oProxyCommand=touch /tmp/pwned', 'compute 2', 'compute2;id'])
def test_a_bad_target_address_is_refused_before_anything_runs(hosts, address, run):
    make_instance(hosts.instance_dir)
    result = run(hosts, target_address=address)
    assert result['failed'] is True and 'target_address' in result['msg']
    assert hosts.ssh_calls() == []


def test_host_key_checking_cannot_be_turned_off(hosts, run):
    make_instance(hosts.instance_dir)
    result = run(hosts, ssh_options=dict(StrictHostKeyChecking='no'))
    assert result['failed'] is True and 'StrictHostKeyChecking' in result['msg']
    assert hosts.ssh_calls() == []


@pytest.mark.parametrize('server_id', ['../../../etc', UUID + '/..'])
def test_a_server_id_that_is_not_a_uuid_is_refused(hosts, server_id, run):
    result = run(hosts, server_id=server_id)
    assert result['failed'] is True and 'UUID' in result['msg']


def test_io_timeout_must_be_positive(hosts, run):
    make_instance(hosts.instance_dir)
    result = run(hosts, io_timeout=0)
    assert result['failed'] is True and 'io_timeout' in result['msg']


# -- a copy left running by an interrupted run -------------------------------------------

def start_fake_copy(hosts, argv_tail, ignore_term=False):
    """A process whose command line reads `rsync ARGV_TAIL...`, as a copy left running would."""
    ready = hosts.root / ('ready-%d' % len(os.listdir(str(hosts.root))))
    program = ('import signal, sys, time\n'
               'signal.signal(signal.SIGTERM, signal.SIG_IGN if %r else signal.SIG_DFL)\n'
               'open(%r, "w").close()\n'
               'time.sleep(120)\n' % (ignore_term, str(ready)))
    process = subprocess.Popen(['bash', '-c', 'exec -a rsync "$@"', 'bash', sys.executable, '-c', program] +
                               argv_tail)
    deadline = time.time() + 10
    while not ready.exists():
        assert time.time() < deadline, 'the fake copy did not start'
        time.sleep(0.05)
    return process


def test_a_copy_left_running_is_stopped_first(hosts, run):
    make_instance(hosts.instance_dir)
    partial = '%s/.%s.novaops-partial/' % (hosts.instances_path, UUID)
    polite = start_fake_copy(hosts, ['--archive', '--sparse', '%s/' % hosts.instance_dir, '%s:%s' % (TARGET, partial)])
    stubborn = start_fake_copy(hosts, ['--archive', '%s/disk' % hosts.instance_dir, '%s:%sdisk' % (TARGET, partial)],
                               ignore_term=True)
    unrelated = start_fake_copy(hosts, ['--archive', '%s/%s/' % (hosts.instances_path, OTHER_UUID), 'x:/y/'])
    try:
        with open('/proc/%d/cmdline' % polite.pid, 'rb') as stream:
            assert stream.read().split(b'\0')[0] == b'rsync'
        result = run(hosts)
        assert result.get('failed') is not True, result.get('msg')
        assert result['stale_copies_stopped'] == sorted([polite.pid, stubborn.pid])
        assert polite.wait(timeout=5) == -signal.SIGTERM
        assert stubborn.wait(timeout=5) == -signal.SIGKILL
        assert unrelated.poll() is None
        assert result['verified'] is True
    finally:
        for process in (polite, stubborn, unrelated):
            if process.poll() is None:
                process.kill()
                process.wait()


def test_check_mode_names_the_stale_copies_without_stopping_them(hosts, run):
    make_instance(hosts.instance_dir)
    stale = start_fake_copy(hosts, ['-a', '%s/' % hosts.instance_dir, '%s:/x/' % TARGET])
    try:
        result = run(hosts, check_mode=True)
        assert result['stale_copies_stopped'] == [stale.pid]
        assert stale.poll() is None
    finally:
        stale.kill()
        stale.wait()
