# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A server's files on a compute host: what is there, and the few changes a manual cold migration makes.

The manual cold migration copies nova's instance directory
(``INSTANCES_PATH/SERVER_ID``) from the source compute into a partial
directory on the target (``INSTANCES_PATH/.SERVER_ID.novaops-partial``) and
renames it into place only once the copy is verified; a copy found in place on
the target from an earlier run is set aside and resynchronised rather than
trusted. Everything here runs on a compute host as root, with the standard
library only.
"""

import errno
import fnmatch
import json
import os
import re
import shutil
import subprocess

# Nova names the instance directory after the server's UUID in this form.
SERVER_ID_PATTERN = re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}')
MARKER_PATTERN = re.compile(r'[A-Za-z0-9_-]{8,64}')
PARTIAL_SUFFIX = '.novaops-partial'
MARKER_PREFIX = '.novaops-marker-'
# The console log belongs to the host (root-owned, rewritten by libvirt) and is not copied.
COPY_EXCLUDES = ('console.log*',)

# Where the shared instance storage of Nova's supported setups shows up in the
# mount table. A local-looking fstype proves nothing (a bind mount of a shared
# export looks like the host's filesystem): the marker check is the real test.
SHARED_FILESYSTEMS = frozenset([
    'nfs', 'nfs4', 'cifs', 'smb3', 'smbfs', 'glusterfs', 'fuse.glusterfs', 'ceph', 'fuse.ceph', 'fuse.cephfs',
    'lustre', 'gpfs', 'ocfs2', 'gfs2', 'beegfs', 'fuse.sshfs', 'fuse.quobyte', 'fuse.vstorage', 'afs', 'virtiofs',
    '9p',
])

# Tools the copy needs (reported missing when absent), then the ways to run it as nova.
COPY_TOOLS = ('rsync', 'tar', 'ssh', 'qemu-img', 'virsh')
TOOLS = COPY_TOOLS + ('runuser', 'sudo')
# Searched after PATH: a module's PATH may lack the sbin directories (runuser is in /usr/sbin).
EXTRA_TOOL_DIRS = ('/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin')
QEMU_IMG_TIMEOUT = 60

STATES = ('query', 'marker', 'marker_absent', 'in_place', 'set_aside', 'absent')
PRESENT, ABSENT = 'present', 'absent'


class InstanceFilesError(Exception):
    """Something about the server's files is not as expected; the message says what and what to do."""


def validate_server_id(server_id):
    if not isinstance(server_id, str) or not SERVER_ID_PATTERN.fullmatch(server_id):
        raise InstanceFilesError(
            "server_id must be the server's UUID as Nova names its instance directory (8-4-4-4-12 lowercase hex "
            "digits, e.g. 2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e); got %r. It becomes a path, so nothing else is "
            "accepted." % (server_id,))
    return server_id


def validate_marker(marker):
    if not isinstance(marker, str) or not MARKER_PATTERN.fullmatch(marker):
        raise InstanceFilesError('marker must be 8 to 64 letters, digits, "_" or "-" (it becomes a file name); '
                                 'got %r.' % (marker,))
    return marker


def validate_instances_path(instances_path):
    if not instances_path or not os.path.isabs(instances_path):
        raise InstanceFilesError("instances_path must be an absolute path (nova.conf's [DEFAULT] instances_path); "
                                 "got %r." % (instances_path,))
    instances_path = os.path.normpath(instances_path)
    if not os.path.isdir(instances_path):
        raise InstanceFilesError("instances_path %s is not a directory on this host; is this a compute host, and "
                                 "is nova's [DEFAULT] instances_path set to something else?" % instances_path)
    return instances_path


def instance_dir_of(instances_path, server_id):
    return os.path.join(instances_path, server_id)


def partial_dir_of(instances_path, server_id):
    return os.path.join(instances_path, '.%s%s' % (server_id, PARTIAL_SUFFIX))


def marker_path_of(instances_path, marker):
    return os.path.join(instances_path, MARKER_PREFIX + marker)


def excluded(name, excludes):
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in excludes)


def allocated_bytes(path, excludes=COPY_EXCLUDES):
    """Bytes allocated on disk (st_blocks, as `du -B1`) to a file or a tree, each inode once; 0 when missing.

    Allocated rather than apparent: a sparse disk is copied sparse, so its holes need no room on the target.
    """
    try:
        top = os.lstat(path)
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            return 0
        raise
    seen = set([(top.st_dev, top.st_ino)])
    total = top.st_blocks * 512
    if not os.path.isdir(path) or os.path.islink(path):
        return total
    for root, directories, files in os.walk(path):
        directories[:] = [name for name in directories if not excluded(name, excludes)]
        for name in directories + files:
            if excluded(name, excludes):
                continue
            try:
                status = os.lstat(os.path.join(root, name))
            except OSError:
                # Gone while we looked (a log rotated): it is not part of the copy either.
                continue
            if (status.st_dev, status.st_ino) in seen:
                continue
            seen.add((status.st_dev, status.st_ino))
            total += status.st_blocks * 512
    return total


def find_tools(names=TOOLS):
    """Absolute path of each tool (PATH first, then the usual system directories), or None."""
    search = os.pathsep.join([os.environ.get('PATH', '')] + list(EXTRA_TOOL_DIRS))
    return dict((name, shutil.which(name, path=search)) for name in names)


def unescape_mount_point(text):
    # The kernel writes space, tab, newline and backslash in mount points as octal escapes.
    return re.sub(r'\\([0-7]{3})', lambda match: chr(int(match.group(1), 8)), text)


def parse_mountinfo(text):
    """[(mount point, fstype)] from /proc/self/mountinfo, in the kernel's order."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if '-' not in fields or len(fields) < 5:
            continue
        separator = fields.index('-')
        if separator + 1 >= len(fields):
            continue
        mounts.append((unescape_mount_point(fields[4]), fields[separator + 1]))
    return mounts


def parse_mounts(text):
    """[(mount point, fstype)] from /proc/mounts, in the kernel's order."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            mounts.append((unescape_mount_point(fields[1]), fields[2]))
    return mounts


def read_mount_table():
    for path, parse in (('/proc/self/mountinfo', parse_mountinfo), ('/proc/mounts', parse_mounts)):
        try:
            with open(path) as stream:
                return parse(stream.read())
        except (IOError, OSError):
            continue
    return []


def filesystem_of(path, mounts):
    """(mount point, fstype) of the mount holding path: the longest mount point that is a prefix of it.

    Of two mounts on one mount point the later one wins: it hides the earlier.
    """
    best = (None, None)
    for mount_point, fstype in mounts:
        prefix = mount_point.rstrip('/') + '/'
        if path == mount_point or path.startswith(prefix):
            if best[0] is None or len(mount_point) >= len(best[0]):
                best = (mount_point, fstype)
    return best


def is_shared_filesystem(fstype):
    return fstype in SHARED_FILESYSTEMS


def run_command(argv, timeout):
    """(rc, stdout, stderr) of a command, without a shell."""
    process = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             timeout=timeout, universal_newlines=True, errors='replace', check=False)
    return process.returncode, process.stdout, process.stderr


def disk_backing_file(disk, qemu_img):
    """The backing file the disk names (qemu-img's backing-filename), or None (no disk, no backing file).

    Raises when the disk is there but qemu-img cannot tell: guessing 'none' could leave the target without the
    base image the disk needs.
    """
    if not os.path.exists(disk):
        return None
    argv = [qemu_img, 'info', '-U', '--output=json', disk]
    try:
        rc, out, err = run_command(argv, QEMU_IMG_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise InstanceFilesError('qemu-img info of %s did not answer within %d s.' % (disk, QEMU_IMG_TIMEOUT))
    if rc != 0:
        raise InstanceFilesError('qemu-img cannot read %s (rc %d): %s' % (disk, rc, err.strip() or 'no output'))
    try:
        return json.loads(out).get('backing-filename') or None
    except ValueError:
        raise InstanceFilesError('qemu-img info of %s printed no JSON: %s' % (disk, out.strip()[:200]))


def backing_path(backing_file, disk):
    """The backing file's path on this host: as named, or relative to the disk's directory."""
    if backing_file is None:
        return None
    return backing_file if os.path.isabs(backing_file) else os.path.join(os.path.dirname(disk), backing_file)


def list_bases(instances_path):
    base_dir = os.path.join(instances_path, '_base')
    try:
        names = os.listdir(base_dir)
    except OSError:
        return []
    return sorted(name for name in names if os.path.isfile(os.path.join(base_dir, name)))


def available_bytes(path):
    status = os.statvfs(path)
    return status.f_bavail * status.f_frsize


def path_facts(instances_path, server_id, marker=None):
    """The cheap facts every state returns: the two directories and whether they (and the marker) exist."""
    instance_dir = instance_dir_of(instances_path, server_id)
    partial_dir = partial_dir_of(instances_path, server_id)
    facts = dict(instances_path=instances_path, instance_dir=instance_dir, partial_dir=partial_dir,
                 exists=os.path.lexists(instance_dir), partial_exists=os.path.lexists(partial_dir))
    if marker is not None:
        facts['marker_path'] = marker_path_of(instances_path, marker)
        facts['marker_found'] = os.path.lexists(facts['marker_path'])
    return facts


def gather_info(instances_path, server_id, marker=None, mounts=None):
    """Everything the manual cold migration asks of a compute host about one server's files (changes nothing)."""
    facts = path_facts(instances_path, server_id, marker)
    tools = find_tools()
    disk = os.path.join(facts['instance_dir'], 'disk')
    backing_file = disk_backing_file(disk, tools['qemu-img']) if tools['qemu-img'] else None
    mount_point, fstype = filesystem_of(os.path.realpath(instances_path),
                                        read_mount_table() if mounts is None else mounts)
    facts.update(
        allocated_bytes=allocated_bytes(facts['instance_dir']),
        partial_bytes=allocated_bytes(facts['partial_dir']),
        backing_file=backing_file,
        backing_bytes=allocated_bytes(backing_path(backing_file, disk)) if backing_file else 0,
        bases=list_bases(instances_path),
        available_bytes=available_bytes(instances_path),
        mount_point=mount_point,
        filesystem_type=fstype,
        shared_filesystem=is_shared_filesystem(fstype),
        tools=tools,
        missing_tools=[name for name in COPY_TOOLS if tools[name] is None],
    )
    return facts


class Plan(object):
    """What a state would do: the actions in order, and the presence of the paths it touches before and after."""

    def __init__(self, before, actions=()):
        self.before = dict(before)
        self.after = dict(before)
        self.actions = list(actions)
        for action in self.actions:
            kind, path = action[0], action[1]
            if kind == 'rename':
                self.after[path] = ABSENT
                self.after[action[2]] = PRESENT
            elif kind == 'create':
                self.after[path] = PRESENT
            else:
                self.after[path] = ABSENT

    @property
    def changed(self):
        return bool(self.actions)


def state_of(exists):
    return PRESENT if exists else ABSENT


def plan(state, facts, partial=False):
    """The Plan for state, from path_facts(); raises when the state cannot be reached safely."""
    instance_dir, partial_dir = facts['instance_dir'], facts['partial_dir']
    both = {instance_dir: state_of(facts['exists']), partial_dir: state_of(facts['partial_exists'])}
    if state in ('marker', 'marker_absent'):
        before = {facts['marker_path']: state_of(facts['marker_found'])}
        if state == 'marker':
            return Plan(before, [] if facts['marker_found'] else [('create', facts['marker_path'])])
        return Plan(before, [('remove', facts['marker_path'])] if facts['marker_found'] else [])
    if state == 'in_place':
        if facts['exists'] and facts['partial_exists']:
            raise InstanceFilesError(
                'both %s and %s exist, so it is unclear which is the verified copy; nothing was changed. Remove the '
                'one that is not wanted (state=absent, with partial=true for both) and copy again.'
                % (instance_dir, partial_dir))
        if facts['exists']:
            return Plan(both)
        if not facts['partial_exists']:
            raise InstanceFilesError('neither %s nor %s exists: there is no copy to put in place; copy the '
                                     'instance directory first (novaops.migration.instance_copy on the source).'
                                     % (partial_dir, instance_dir))
        return Plan(both, [('rename', partial_dir, instance_dir)])
    if state == 'set_aside':
        # A partial copy already there is the one to resynchronise: leave both as they are.
        if facts['exists'] and not facts['partial_exists']:
            return Plan(both, [('rename', instance_dir, partial_dir)])
        return Plan(both)
    if state == 'absent':
        before = {instance_dir: both[instance_dir]}
        actions = [('remove', instance_dir)] if facts['exists'] else []
        if partial:
            before[partial_dir] = both[partial_dir]
            if facts['partial_exists']:
                actions.append(('remove', partial_dir))
        return Plan(before, actions)
    raise InstanceFilesError('unknown state %r; expected one of %s' % (state, ', '.join(STATES)))


def remove_path(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def apply_plan(planned):
    """Carry the plan's actions out, in order."""
    for action in planned.actions:
        kind, path = action[0], action[1]
        try:
            if kind == 'rename':
                # Checked just before; a directory that appeared meanwhile must not be replaced.
                if os.path.lexists(action[2]):
                    raise InstanceFilesError('%s appeared while renaming %s onto it; nothing was renamed.'
                                             % (action[2], path))
                os.rename(path, action[2])
            elif kind == 'create':
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                os.close(descriptor)
            else:
                remove_path(path)
        except OSError as error:
            raise InstanceFilesError('cannot %s %s: %s' % (kind, path, error.strerror or error))


def unexpected_paths(planned):
    """The paths a carried-out plan did not leave as it said it would ("PATH present"), or []."""
    return ['%s %s' % (path, PRESENT if os.path.lexists(path) else ABSENT)
            for path, wanted in sorted(planned.after.items()) if os.path.lexists(path) != (wanted == PRESENT)]


def mib(value):
    return value / 1048576.0


def copy_space_problem(source_info, target_info, margin=0.05):
    """None when the target has room for the copy, else a sentence saying what is free and what is needed.

    The copy needs the source's instance directory (allocated bytes: it is copied sparse), plus the disk's
    backing file when the target's _base lacks it, less what a partial copy on the target already holds, plus
    the margin (a fraction).
    """
    copies_backing = bool(source_info.get('backing_file')) and \
        os.path.basename(source_info['backing_file']) not in (target_info.get('bases') or [])
    needed = source_info.get('allocated_bytes') or 0
    if copies_backing:
        needed += source_info.get('backing_bytes') or 0
    needed = max(0, needed - (target_info.get('partial_bytes') or 0))
    required = needed * (1 + margin)
    available = target_info.get('available_bytes') or 0
    if required <= available:
        return None
    parts = ['the instance directory']
    if copies_backing:
        parts.append('its backing file')
    what = ' and '.join(parts) + ', sparse'
    if target_info.get('partial_bytes'):
        what += ', less the partial copy already there'
    return ('The target has %.1f MiB free in %s; the copy needs %.1f MiB (%s, and a %s%% margin). Free space there '
            'or choose another target.' % (mib(available), target_info.get('instances_path', 'instances_path'),
                                           mib(required), what, ('%.1f' % (margin * 100)).rstrip('0').rstrip('.')))
