# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import os

import pytest

from ansible_collections.novaops.migration.plugins.module_utils.instance_files import (
    SHARED_FILESYSTEMS, InstanceFilesError, allocated_bytes, copy_space_problem, filesystem_of, is_shared_filesystem,
    parse_mountinfo, parse_mounts, partial_dir_of, validate_marker, validate_server_id,
)

UUID = '2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e'
MIB = 1024 * 1024

MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
40 27 0:40 / /var/lib/nova rw,relatime shared:5 - xfs /dev/vdb rw
41 40 0:41 / /var/lib/nova/instances rw,relatime shared:6 master:1 - nfs4 nfs.lab:/export/instances rw,vers=4.2
42 27 0:42 / /var/lib/nova-other rw,relatime - fuse.glusterfs gluster.lab:/vol rw
43 27 0:43 / /srv/nova\\040instances rw,relatime - ceph 10.0.0.1:/ rw
44 27 0:44 / /srv/over rw,relatime - ext4 /dev/vdc rw
45 44 0:45 / /srv/over rw,relatime - ocfs2 /dev/vdd rw
"""

MOUNTS = """\
proc /proc proc rw,relatime 0 0
/dev/vda / ext4 rw,relatime 0 0
nfs.lab:/export /var/lib/nova/instances nfs rw,vers=3 0 0
"""


@pytest.mark.parametrize('value', [UUID, 'ffffffff-0000-4000-8000-000000000000'])
def test_a_canonical_uuid_is_accepted(value):
    assert validate_server_id(value) == value


@pytest.mark.parametrize('value', [
    '', 'myinstance', '../../etc', UUID + '/..', '../' + UUID, UUID + '\n', ' ' + UUID, UUID.upper(),
    UUID.replace('-', ''), '{%s}' % UUID, UUID[:-1] + 'g', None,
])
def test_anything_else_is_refused_because_it_becomes_a_path(value):
    with pytest.raises(InstanceFilesError) as error:
        validate_server_id(value)
    assert 'UUID' in str(error.value)


@pytest.mark.parametrize('value', ['abcdefgh', 'run-2026_11-23', 'A' * 64])
def test_marker_names_that_are_accepted(value):
    assert validate_marker(value) == value


@pytest.mark.parametrize('value', ['short', 'A' * 65, '../../../etc/passwd', 'with space1', 'dots.are.out', ''])
def test_marker_names_that_are_refused(value):
    with pytest.raises(InstanceFilesError) as error:
        validate_marker(value)
    assert '8 to 64' in str(error.value)


def test_the_partial_directory_keeps_the_name_runs_in_progress_use():
    assert partial_dir_of('/var/lib/nova/instances', UUID) == '/var/lib/nova/instances/.%s.novaops-partial' % UUID


def test_mountinfo_is_parsed_with_escaped_mount_points():
    mounts = parse_mountinfo(MOUNTINFO)
    assert ('/var/lib/nova/instances', 'nfs4') in mounts
    assert ('/srv/nova instances', 'ceph') in mounts
    assert mounts[0] == ('/proc', 'proc')


@pytest.mark.parametrize('path, expected', [
    ('/var/lib/nova/instances', ('/var/lib/nova/instances', 'nfs4')),
    ('/var/lib/nova/instances/_base', ('/var/lib/nova/instances', 'nfs4')),
    ('/var/lib/nova', ('/var/lib/nova', 'xfs')),
    # A prefix match must end at a path component.
    ('/var/lib/nova-other/instances', ('/var/lib/nova-other', 'fuse.glusterfs')),
    ('/var/lib/nova-x', ('/', 'ext4')),
    ('/srv/nova instances/x', ('/srv/nova instances', 'ceph')),
    # The later of two mounts on one mount point hides the earlier one.
    ('/srv/over/instances', ('/srv/over', 'ocfs2')),
    ('/home', ('/', 'ext4')),
])
def test_the_longest_mount_point_prefix_wins(path, expected):
    assert filesystem_of(path, parse_mountinfo(MOUNTINFO)) == expected


def test_proc_mounts_is_the_fallback_format():
    mounts = parse_mounts(MOUNTS)
    assert filesystem_of('/var/lib/nova/instances', mounts) == ('/var/lib/nova/instances', 'nfs')
    assert filesystem_of('/var/lib/nova', mounts) == ('/', 'ext4')


def test_no_mount_table_gives_no_filesystem():
    assert filesystem_of('/var/lib/nova/instances', []) == (None, None)


@pytest.mark.parametrize('fstype', ['nfs', 'nfs4', 'cifs', 'smb3', 'glusterfs', 'fuse.glusterfs', 'ceph',
                                    'fuse.cephfs', 'lustre', 'gpfs', 'ocfs2', 'gfs2', 'beegfs', 'fuse.sshfs'])
def test_network_and_cluster_filesystems_are_shared(fstype):
    assert fstype in SHARED_FILESYSTEMS
    assert is_shared_filesystem(fstype) is True


@pytest.mark.parametrize('fstype', ['ext4', 'xfs', 'btrfs', 'zfs', 'tmpfs', 'overlay', None, ''])
def test_local_filesystems_are_not_shared(fstype):
    assert is_shared_filesystem(fstype) is False


def test_allocated_bytes_counts_blocks_not_apparent_size(tmp_path):
    instance_dir = tmp_path / UUID
    instance_dir.mkdir()
    with open(instance_dir / 'disk', 'wb') as disk:
        disk.truncate(64 * MIB)
        disk.seek(32 * MIB)
        disk.write(b'x' * 8192)
    (instance_dir / 'console.log').write_bytes(b'y' * MIB)
    (instance_dir / 'console.log.1').write_bytes(b'y' * MIB)
    expected = sum(os.lstat(path).st_blocks * 512 for path in (instance_dir, instance_dir / 'disk'))
    assert allocated_bytes(str(instance_dir)) == expected
    assert 8192 <= expected < 1 * MIB


def test_allocated_bytes_counts_a_hard_linked_file_once(tmp_path):
    (tmp_path / 'a').write_bytes(b'z' * 65536)
    os.link(tmp_path / 'a', tmp_path / 'b')
    single = os.lstat(tmp_path / 'a').st_blocks * 512
    assert allocated_bytes(str(tmp_path)) == os.lstat(tmp_path).st_blocks * 512 + single


def test_allocated_bytes_of_a_file_and_of_nothing(tmp_path):
    (tmp_path / 'base').write_bytes(b'b' * 65536)
    assert allocated_bytes(str(tmp_path / 'base')) == os.lstat(tmp_path / 'base').st_blocks * 512
    assert allocated_bytes(str(tmp_path / 'missing')) == 0


def info(**values):
    facts = dict(instances_path='/var/lib/nova/instances', allocated_bytes=0, partial_bytes=0, backing_file=None,
                 backing_bytes=0, bases=[], available_bytes=0)
    facts.update(values)
    return facts


def test_no_problem_when_the_copy_fits():
    source = info(allocated_bytes=1000 * MIB)
    target = info(available_bytes=2000 * MIB)
    assert copy_space_problem(source, target) is None


def test_the_sentence_says_what_is_free_and_what_is_needed():
    source = info(allocated_bytes=1000 * MIB)
    target = info(available_bytes=1000 * MIB)
    problem = copy_space_problem(source, target)
    assert problem.startswith('The target has 1000.0 MiB free in /var/lib/nova/instances; the copy needs 1050.0 MiB')
    assert '5% margin' in problem
    assert problem.endswith('Free space there or choose another target.')


def test_the_backing_file_counts_only_when_the_target_lacks_it():
    source = info(allocated_bytes=100 * MIB, backing_file='/var/lib/nova/instances/_base/abc123',
                  backing_bytes=900 * MIB)
    lacking = info(available_bytes=500 * MIB, bases=['other'])
    having = info(available_bytes=500 * MIB, bases=['abc123', 'other'])
    problem = copy_space_problem(source, lacking)
    assert 'the copy needs 1050.0 MiB' in problem and 'backing file' in problem
    assert copy_space_problem(source, having) is None


def test_a_partial_copy_on_the_target_is_subtracted():
    source = info(allocated_bytes=1000 * MIB)
    target = info(available_bytes=600 * MIB, partial_bytes=500 * MIB)
    assert copy_space_problem(source, target) is None
    problem = copy_space_problem(source, info(available_bytes=400 * MIB, partial_bytes=500 * MIB))
    assert 'the copy needs 525.0 MiB' in problem


def test_the_margin_can_be_changed():
    source = info(allocated_bytes=1000 * MIB)
    target = info(available_bytes=1040 * MIB)
    assert copy_space_problem(source, target, margin=0) is None
    problem = copy_space_problem(source, target, margin=0.1)
    assert 'the copy needs 1100.0 MiB' in problem and '10% margin' in problem


def test_a_complete_partial_copy_needs_nothing():
    source = info(allocated_bytes=100 * MIB)
    target = info(available_bytes=0, partial_bytes=200 * MIB)
    assert copy_space_problem(source, target) is None
