# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""instance_files against a temporary instances_path and a fake qemu-img."""

import hashlib
import os
import stat
import sys

import pytest

from ansible_collections.novaops.migration.plugins.module_utils import instance_files as instance_files_utils
from ansible_collections.novaops.migration.plugins.modules import instance_files

UUID = '2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e'
MIB = 1024 * 1024

# A qemu-img that answers `info -U --output=json DISK` the way the real one does,
# with the backing file named in $FAKE_QEMU_IMG_BACKING.
FAKE_QEMU_IMG = r'''#!%(python)s
import json, os, sys
args = sys.argv[1:]
if args[:3] != ['info', '-U', '--output=json'] or len(args) != 4:
    sys.stderr.write('fake qemu-img: unexpected arguments %%r\n' %% (args,))
    sys.exit(2)
path = args[3]
if os.environ.get('FAKE_QEMU_IMG_FAIL'):
    sys.stderr.write("qemu-img: Could not open '%%s': Image is not in qcow2 format\n" %% path)
    sys.exit(1)
if not os.path.exists(path):
    sys.stderr.write("qemu-img: Could not open '%%s': No such file or directory\n" %% path)
    sys.exit(1)
info = {'virtual-size': 1073741824, 'filename': path, 'format': 'qcow2', 'actual-size': os.stat(path).st_blocks * 512}
if os.environ.get('FAKE_QEMU_IMG_BACKING'):
    info['backing-filename'] = os.environ['FAKE_QEMU_IMG_BACKING']
    info['backing-filename-format'] = 'raw'
json.dump(info, sys.stdout, indent=4)
'''


@pytest.fixture
def fake_bin(tmp_path, monkeypatch):
    directory = tmp_path / 'bin'
    directory.mkdir()
    qemu_img = directory / 'qemu-img'
    qemu_img.write_text(FAKE_QEMU_IMG % dict(python=sys.executable))
    qemu_img.chmod(0o755)
    monkeypatch.setenv('PATH', '%s:%s' % (directory, os.environ.get('PATH', '/usr/bin:/bin')))
    monkeypatch.delenv('FAKE_QEMU_IMG_BACKING', raising=False)
    monkeypatch.delenv('FAKE_QEMU_IMG_FAIL', raising=False)
    return directory


@pytest.fixture
def instances(tmp_path, fake_bin):
    path = tmp_path / 'instances'
    path.mkdir()
    return path


@pytest.fixture
def run(run_host_module):
    def run_instance_files(instances_path, check_mode=False, diff=False, **args):
        values = dict(server_id=UUID, instances_path=str(instances_path))
        values.update(args)
        return run_host_module(instance_files.main, values, check_mode=check_mode, diff=diff)

    return run_instance_files


def make_instance(directory, data=b'x' * 8192):
    directory.mkdir()
    with open(directory / 'disk', 'wb') as disk:
        disk.truncate(64 * MIB)
        disk.seek(16 * MIB)
        disk.write(data)
    (directory / 'disk.info').write_text('{"%s/disk": "qcow2"}' % directory)
    (directory / 'console.log').write_bytes(b'boot log line\n' * 65536)
    return directory


def tree(path):
    """Everything about a tree that a change would show: names, types, sizes, modes, times and contents."""
    found = {}
    for root, directories, files in os.walk(str(path)):
        for name in directories + files:
            full = os.path.join(root, name)
            status = os.lstat(full)
            digest = None
            if stat.S_ISREG(status.st_mode):
                with open(full, 'rb') as stream:
                    digest = hashlib.sha256(stream.read()).hexdigest()
            found[os.path.relpath(full, str(path))] = (status.st_mode, status.st_size, status.st_mtime_ns, digest)
    return found


def test_info_of_a_missing_instance_directory(instances, run):
    result = run(instances)
    assert result['changed'] is False
    assert result['instance_dir'] == '%s/%s' % (instances, UUID)
    assert result['partial_dir'] == '%s/.%s.novaops-partial' % (instances, UUID)
    assert result['exists'] is False and result['partial_exists'] is False
    assert result['allocated_bytes'] == 0 and result['partial_bytes'] == 0
    assert result['backing_file'] is None and result['backing_bytes'] == 0
    assert result['bases'] == []
    statvfs = os.statvfs(str(instances))
    assert abs(result['available_bytes'] - statvfs.f_bavail * statvfs.f_frsize) < 64 * MIB
    assert isinstance(result['filesystem_type'], str) and result['filesystem_type']
    assert isinstance(result['shared_filesystem'], bool)
    assert 'marker_found' not in result


def test_info_measures_allocated_bytes_without_the_console_log(instances, run):
    instance_dir = make_instance(instances / UUID)
    result = run(instances)
    paths = (instance_dir, instance_dir / 'disk', instance_dir / 'disk.info')
    expected = sum(os.lstat(path).st_blocks * 512 for path in paths)
    assert result['exists'] is True
    assert result['allocated_bytes'] == expected
    assert result['allocated_bytes'] < 1 * MIB, 'the sparse disk counts its allocated blocks, not its 64 MiB'


def test_info_reads_the_backing_file_and_the_bases(instances, monkeypatch, run):
    make_instance(instances / UUID)
    (instances / '_base').mkdir()
    base = instances / '_base' / '5f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6'
    base.write_bytes(b'b' * 3 * 65536)
    (instances / '_base' / 'ephemeral_1_0706d66').write_bytes(b'')
    monkeypatch.setenv('FAKE_QEMU_IMG_BACKING', str(base))
    (instances / ('.%s.novaops-partial' % UUID)).mkdir()
    (instances / ('.%s.novaops-partial' % UUID) / 'disk').write_bytes(b'p' * 65536)
    result = run(instances)
    assert result['backing_file'] == str(base)
    assert result['backing_bytes'] == os.lstat(base).st_blocks * 512
    assert result['bases'] == ['5f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6', 'ephemeral_1_0706d66']
    assert result['partial_exists'] is True and result['partial_bytes'] >= 65536
    assert result['tools']['qemu-img'] == str(instances.parent / 'bin' / 'qemu-img')
    assert 'qemu-img' not in result['missing_tools']


def test_info_without_qemu_img_reports_it_missing(instances, monkeypatch, tmp_path, run):
    make_instance(instances / UUID)
    empty = tmp_path / 'empty-bin'
    empty.mkdir()
    monkeypatch.setenv('PATH', str(empty))
    monkeypatch.setattr(instance_files_utils, 'EXTRA_TOOL_DIRS', ())
    result = run(instances)
    assert result['backing_file'] is None
    assert result['tools']['qemu-img'] is None and result['tools']['rsync'] is None
    assert result['missing_tools'] == ['rsync', 'tar', 'ssh', 'qemu-img', 'virsh']
    assert set(result['tools']) == {'rsync', 'tar', 'ssh', 'qemu-img', 'virsh', 'runuser', 'sudo'}


def test_info_without_a_disk_has_no_backing_file(instances, monkeypatch, run):
    (instances / UUID).mkdir()
    (instances / UUID / 'console.log').write_text('boot\n')
    monkeypatch.setenv('FAKE_QEMU_IMG_BACKING', '/nonexistent')
    result = run(instances)
    assert result['exists'] is True and result['backing_file'] is None


def test_info_fails_when_qemu_img_cannot_read_the_disk(instances, monkeypatch, run):
    make_instance(instances / UUID)
    monkeypatch.setenv('FAKE_QEMU_IMG_FAIL', '1')
    result = run(instances)
    assert result['failed'] is True
    assert 'Image is not in qcow2 format' in result['msg'] and 'disk' in result['msg']


def test_info_never_changes_anything(instances, monkeypatch, run):
    make_instance(instances / UUID)
    (instances / ('.%s.novaops-partial' % UUID)).mkdir()
    before = tree(instances)
    for check_mode in (False, True):
        result = run(instances, check_mode=check_mode, marker='run-20261123')
        assert result['changed'] is False and result['marker_found'] is False
    assert tree(instances) == before


def test_a_missing_instances_path_fails_clearly(tmp_path, fake_bin, run):
    result = run(tmp_path / 'nowhere')
    assert result['failed'] is True
    assert str(tmp_path / 'nowhere') in result['msg'] and 'instances_path' in result['msg']


@pytest.mark.parametrize('server_id', ['../../etc', UUID + '/..', 'myinstance', UUID.upper()])
@pytest.mark.parametrize('state', ['query', 'absent', 'in_place', 'set_aside'])
def test_a_server_id_that_is_not_a_uuid_is_refused(instances, server_id, state, run):
    (instances / 'keep').mkdir()
    before = tree(instances)
    result = run(instances, server_id=server_id, state=state)
    assert result['failed'] is True and 'UUID' in result['msg']
    assert tree(instances) == before


# -- marker ------------------------------------------------------------------------

def test_a_marker_is_created_then_seen_then_removed(instances, run):
    marker = instances / '.novaops-marker-run-20261123'
    predicted = run(instances, state='marker', marker='run-20261123', check_mode=True, diff=True)
    assert predicted['changed'] is True and not marker.exists()
    assert predicted['diff'] == dict(before={str(marker): 'absent'}, after={str(marker): 'present'})

    created = run(instances, state='marker', marker='run-20261123')
    assert created['changed'] is True and marker.exists()
    assert run(instances, state='marker', marker='run-20261123')['changed'] is False

    assert run(instances, marker='run-20261123')['marker_found'] is True
    assert run(instances, marker='another-marker')['marker_found'] is False

    assert run(instances, state='marker_absent', marker='run-20261123', check_mode=True)['changed'] is True
    assert marker.exists()
    assert run(instances, state='marker_absent', marker='run-20261123')['changed'] is True
    assert not marker.exists()
    assert run(instances, state='marker_absent', marker='run-20261123')['changed'] is False


@pytest.mark.parametrize('marker', ['short', '../../../../tmp/evil', 'a b c d e f g h'])
def test_a_bad_marker_is_refused(instances, marker, run):
    result = run(instances, state='marker', marker=marker)
    assert result['failed'] is True and 'marker' in result['msg']
    assert os.listdir(str(instances)) == []


def test_the_marker_states_need_a_marker(instances, run):
    result = run(instances, state='marker')
    assert result['failed'] is True and 'marker' in result['msg']


# -- in_place / set_aside / absent -------------------------------------------------

def partial(instances):
    return instances / ('.%s.novaops-partial' % UUID)


def test_in_place_renames_the_verified_copy_into_place(instances, run):
    make_instance(partial(instances))
    contents = tree(partial(instances))
    predicted = run(instances, state='in_place', check_mode=True, diff=True)
    assert predicted['changed'] is True
    assert partial(instances).exists() and not (instances / UUID).exists()
    assert predicted['diff'] == dict(
        before={str(instances / UUID): 'absent', str(partial(instances)): 'present'},
        after={str(instances / UUID): 'present', str(partial(instances)): 'absent'})

    result = run(instances, state='in_place', diff=True)
    assert result['changed'] is True and result['diff'] == predicted['diff']
    assert result['exists'] is True and result['partial_exists'] is False
    assert tree(instances / UUID) == contents

    again = run(instances, state='in_place', check_mode=True)
    assert again['changed'] is False
    assert run(instances, state='in_place')['changed'] is False


def test_in_place_refuses_when_both_directories_exist(instances, run):
    make_instance(instances / UUID)
    make_instance(partial(instances))
    before = tree(instances)
    for check_mode in (True, False):
        result = run(instances, state='in_place', check_mode=check_mode)
        assert result['failed'] is True
        assert str(instances / UUID) in result['msg'] and str(partial(instances)) in result['msg']
    assert tree(instances) == before


def test_in_place_fails_when_there_is_no_copy(instances, run):
    result = run(instances, state='in_place')
    assert result['failed'] is True and str(partial(instances)) in result['msg']


def test_set_aside_moves_an_earlier_copy_out_of_the_way(instances, run):
    make_instance(instances / UUID)
    assert run(instances, state='set_aside', check_mode=True)['changed'] is True
    assert (instances / UUID).exists()
    result = run(instances, state='set_aside', diff=True)
    assert result['changed'] is True and 'warnings' not in result
    assert result['diff']['after'] == {str(instances / UUID): 'absent', str(partial(instances)): 'present'}
    assert partial(instances).exists() and not (instances / UUID).exists()
    assert run(instances, state='set_aside')['changed'] is False


def test_set_aside_leaves_both_when_a_partial_copy_is_there(instances, run):
    make_instance(instances / UUID)
    make_instance(partial(instances))
    before = tree(instances)
    result = run(instances, state='set_aside')
    assert result['changed'] is False and result['exists'] is True and result['partial_exists'] is True
    assert tree(instances) == before
    assert len(result['warnings']) == 1 and 'state=in_place refuses' in result['warnings'][0]


def test_set_aside_with_nothing_there_changes_nothing(instances, run):
    assert run(instances, state='set_aside')['changed'] is False


def test_absent_removes_the_instance_directory_and_keeps_the_partial_one(instances, run):
    make_instance(instances / UUID)
    make_instance(partial(instances))
    assert run(instances, state='absent', check_mode=True)['changed'] is True
    assert (instances / UUID).exists()
    result = run(instances, state='absent', diff=True)
    assert result['changed'] is True
    assert result['diff'] == dict(before={str(instances / UUID): 'present'}, after={str(instances / UUID): 'absent'})
    assert not (instances / UUID).exists() and partial(instances).exists()
    assert run(instances, state='absent')['changed'] is False


def test_absent_with_partial_removes_both(instances, run):
    make_instance(instances / UUID)
    make_instance(partial(instances))
    (instances / 'other-server').mkdir()
    result = run(instances, state='absent', partial=True)
    assert result['changed'] is True
    assert sorted(os.listdir(str(instances))) == ['other-server']
    make_instance(partial(instances))
    assert run(instances, state='absent', partial=True)['changed'] is True
    assert run(instances, state='absent', partial=True)['changed'] is False
