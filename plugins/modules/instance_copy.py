#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: instance_copy
short_description: Copy a server's instance directory from the source compute to the target as nova, over ssh
version_added: 0.2.0
description:
  - The copy step of the manual cold migration (C(playbooks/tasks/manual_cold_migrate.yml)). Runs on the B(source)
    compute as root and runs every copy command as O(copy_user) (nova), whose ssh trust reaches the target, so the
    data goes straight from source to target and never through the Ansible controller.
  - "In one run, each step returning its facts:"
  - 1. Stops a copy of this server that an interrupted earlier run left running - processes of O(copy_user) whose
    command line is an C(rsync) or C(tar) of the instance directory or the partial directory, found in C(/proc) and
    sent SIGTERM, then SIGKILL a few seconds later (RV(stale_copies_stopped)).
  - 2. Puts the disk's backing file (C(qemu-img info -U --output=json INSTANCE_DIR/disk)) at the same path on the
    target when the target lacks it, with C(rsync --archive --sparse --ignore-existing --mkpath) - the image may be
    gone from Glance (RV(backing_file), RV(backing_copied)).
  - 3. Copies the instance directory, without C(console.log*), into the target's partial directory
    C(INSTANCES_PATH/.SERVER_ID.novaops-partial) - streamed with C(tar --sparse) through ssh when the target has no
    partial directory yet and no O(rsync_options) are given (holes are skipped rather than read as zeros), else
    with C(rsync --archive --sparse --delete), which sends only what differs (RV(method), RV(copy_seconds)).
  - 4. Verifies the copy by checksum - C(rsync --checksum --dry-run --itemize-changes) must find nothing to send;
    any difference fails the module, listing up to ten paths (RV(verified), RV(verify_seconds)).
  - Nothing on the source is changed or removed, and the partial directory is not renamed into place -
    M(novaops.migration.instance_files) with O(novaops.migration.instance_files#module:state=in_place) on the target
    does that.
  - It does not use the OpenStack APIs, so it is not in the C(novaops.migration.openstack) action group.
options:
  server_id:
    description:
      - UUID of the server, in the lowercase form Nova names the instance directory with. Anything else is refused,
        since it becomes a path here and on the target.
    type: str
    required: true
  instances_path:
    description:
      - Nova's C([DEFAULT] instances_path), the same on both computes. It goes into remote commands, so it must be
        an absolute path of letters, digits and C(. _ / + @ = -).
    type: path
    default: /var/lib/nova/instances
  target_address:
    description:
      - Host name or IP address of the target compute, as O(copy_user)'s ssh trust knows it (its C(known_hosts)).
        No user, no port, no spaces, not starting with C(-).
    type: str
    required: true
  copy_user:
    description:
      - User the copy runs as on the source (and, through ssh, on the target). Commands run with
        C(runuser -u USER --) when the module runs as root, else with C(sudo -n -u USER --); not wrapped when the
        module already runs as that user.
    type: str
    default: nova
  ssh_options:
    description:
      - ssh C(-o) options, merged over the built-in ones - C(BatchMode=yes), C(ServerAliveInterval=5),
        C(ServerAliveCountMax=3), C(StrictHostKeyChecking=yes), C(ConnectTimeout=10). A key given here replaces
        the built-in value (keys compare case-insensitively); YAML booleans become C(yes)/C(no).
      - C(StrictHostKeyChecking=yes) is always passed; any other value is refused.
      - Values are single words (rsync splits its C(--rsh) on spaces), so options such as C(ProxyCommand) with
        arguments cannot be given.
    type: dict
  io_timeout:
    description:
      - rsync's C(--timeout) in seconds, how long a copy or the verification may see no I/O before failing.
    type: int
    default: 60
  rsync_options:
    description:
      - Further rsync options for the copy and the backing file, one per item. Only C(--bwlimit=N) (N optionally
        followed by C(K), C(M) or C(G)), C(--compress), C(-z) and C(--compress-level=0..9) are accepted; anything
        else is refused before anything runs.
      - When set, the copy is always made with rsync (a fresh copy is otherwise streamed with tar).
    type: list
    elements: str
    default: []
requirements:
  - rsync (3.2.3 or later, for C(--mkpath)), tar, ssh and qemu-img on the source; rsync and tar on the target
  - O(copy_user)'s ssh trust from the source to the target (the C(novaops_ssh_trust) role of C(playbooks/site.yml))
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Nothing is stopped or copied. The target is asked (read only, over ssh) whether it has the backing file and
        a partial directory, so the result predicts RV(method) and RV(backing_copied), and lists in
        RV(stale_copies_stopped) the copies that would be stopped.
      - C(changed) is predicted true when the instance directory exists; a missing one fails, as the real run would.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Run it only while the server is stopped; a copy of a running guest's disk is not consistent (the
    verification would usually catch it).
  - C(changed) is true after every real copy, even when rsync found everything already there.
  - On failure the result names RV(failed_step) and carries the command's RV(stderr); the source's instance
    directory is intact, so the module can be run again - a partial directory left on the target is then finished
    with rsync.
seealso:
  - module: novaops.migration.instance_files
  - module: novaops.migration.nova_db_instance
  - module: novaops.migration.cold_migrate
author:
  - novaops maintainers (@novaops)
'''

EXAMPLES = r'''
- name: Copy the server's files from compute1 to compute2 as nova (the server is stopped)
  novaops.migration.instance_copy:
    server_id: 2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e
    target_address: 10.99.0.12
  delegate_to: compute1
  become: true
  register: copy

- name: Put the verified copy in place on the target
  novaops.migration.instance_files:
    server_id: 2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e
    state: in_place
  delegate_to: compute2
  become: true
  when: copy.verified

- name: Copy over a slow link, at most 50 MB/s, compressed
  novaops.migration.instance_copy:
    server_id: 2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e
    target_address: compute2.lab.example
    rsync_options: [--bwlimit=50M, --compress]
    io_timeout: 120
    ssh_options:
      ConnectTimeout: 30
  delegate_to: compute1
  become: true
'''

RETURN = r'''
instance_dir:
  description: The instance directory on the source.
  returned: always
  type: str
  sample: /var/lib/nova/instances/2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e
partial_dir:
  description: The directory on the target the copy went into.
  returned: always
  type: str
  sample: /var/lib/nova/instances/.2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e.novaops-partial
stale_copies_stopped:
  description: Process ids of the copies an earlier run left running that were stopped (in check mode, would be).
  returned: always
  type: list
  elements: int
  sample: [48213]
backing_file:
  description: The disk's backing file (qemu-img's C(backing-filename)), or null.
  returned: always
  type: str
  sample: /var/lib/nova/instances/_base/5f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6
backing_copied:
  description: Whether the backing file was copied to the target (it lacked it; in check mode, would be).
  returned: always
  type: bool
  sample: true
method:
  description: How the copy was (in check mode, would be) made - V(tar) for a fresh copy, else V(rsync).
  returned: when the steps got that far
  type: str
  sample: tar
copy_seconds:
  description: How long the copy took.
  returned: after a copy
  type: float
  sample: 42.7
verified:
  description: Whether the checksum comparison found the copy identical to the source.
  returned: always
  type: bool
  sample: true
verify_seconds:
  description: How long the checksum comparison took.
  returned: after the comparison
  type: float
  sample: 12.1
differences:
  description: Up to ten paths the comparison found different or missing (relative to the directory).
  returned: when the verification failed
  type: list
  elements: str
  sample: [disk]
bytes:
  description: Bytes allocated to what was copied - the instance directory without C(console.log*), plus the backing
    file when it was copied.
  returned: always
  type: int
  sample: 1254096896
duration:
  description: Seconds the whole module took.
  returned: always
  type: float
  sample: 57.3
failed_step:
  description: The step that failed - V(validate), V(find), V(stale_copies), V(backing_file), V(probe), V(copy) or
    V(verify).
  returned: on failure
  type: str
  sample: copy
stderr:
  description: What the failed command wrote to stderr, trimmed.
  returned: on failure
  type: str
  sample: "ssh: connect to host 10.99.0.12 port 22: Connection timed out"
'''

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.novaops.migration.plugins.module_utils.instance_copy import (
    Copier, CopyError, differing_paths, find_stale_copies, ssh_option_args, stop_processes, validate_copy_user,
    validate_rsync_options, validate_safe_path, validate_target_address,
)
from ansible_collections.novaops.migration.plugins.module_utils import instance_copy as instance_copy_utils
from ansible_collections.novaops.migration.plugins.module_utils.instance_files import (
    InstanceFilesError, allocated_bytes, backing_path, disk_backing_file, find_tools, instance_dir_of,
    partial_dir_of, validate_server_id,
)


def validate(params):
    """Every option checked before anything runs; the pieces the steps need."""
    try:
        server_id = validate_server_id(params['server_id'])
    except InstanceFilesError as error:
        raise CopyError(str(error), 'validate')
    if params['io_timeout'] <= 0:
        raise CopyError('io_timeout must be a number of seconds above 0; got %d.' % params['io_timeout'], 'validate')
    instances_path = validate_safe_path(os.path.normpath(params['instances_path']), 'instances_path')
    return dict(
        instance_dir=instance_dir_of(instances_path, server_id),
        partial_dir=partial_dir_of(instances_path, server_id),
        target_address=validate_target_address(params['target_address']),
        account=validate_copy_user(params['copy_user']),
        ssh_args=ssh_option_args(params['ssh_options']),
        rsync_options=validate_rsync_options(params['rsync_options']),
    )


def find_tools_for_copy(needs_qemu_img):
    tools = find_tools()
    needed = ['rsync', 'tar', 'ssh'] + (['qemu-img'] if needs_qemu_img else [])
    missing = [name for name in needed if not tools[name]]
    if missing:
        raise CopyError('%s not installed on the source; install %s (and rsync and tar on the target).'
                        % (', '.join(missing) + (' is' if len(missing) == 1 else ' are'), ' and '.join(missing)),
                        'find')
    return tools


def find_backing_file(instance_dir, tools):
    """(backing file as qemu-img names it, its path to copy or None when it needs no separate copy)."""
    disk = os.path.join(instance_dir, 'disk')
    try:
        named = disk_backing_file(disk, tools['qemu-img']) if os.path.exists(disk) else None
    except InstanceFilesError as error:
        raise CopyError(str(error), 'backing_file')
    path = backing_path(named, disk)
    if path is None or os.path.normpath(path).startswith(instance_dir + '/'):
        # Inside the instance directory, it travels with it.
        return named, None
    return named, validate_safe_path(os.path.normpath(path), 'the backing file')


def aftermath(step, instance_dir):
    """What a failure at step leaves behind, for the message."""
    if step == 'validate':
        return 'Nothing was run; the source is intact.'
    if instance_dir is None or not os.path.isdir(instance_dir):
        return 'Nothing was copied or changed.'
    return ("The source's %s is intact (the copy never changes the source); fix the cause and run again - a "
            'partial copy left on the target is then finished with rsync.' % instance_dir)


def run(module, facts, progress):
    params = module.params
    started = time.monotonic()
    # validate
    pieces = validate(params)
    progress['step'] = 'find'
    instance_dir, partial_dir = pieces['instance_dir'], pieces['partial_dir']
    facts.update(instance_dir=instance_dir, partial_dir=partial_dir)
    # find
    if not os.path.isdir(instance_dir):
        raise CopyError('the instance directory %s does not exist on this host, so there is nothing to copy; is '
                        'this the source compute, and is the server stopped on it?' % instance_dir, 'find')
    tools = find_tools_for_copy(os.path.exists(os.path.join(instance_dir, 'disk')))
    copier = Copier(instance_dir, partial_dir, pieces['target_address'], params['copy_user'], pieces['ssh_args'],
                    params['io_timeout'], pieces['rsync_options'], tools)
    stale = find_stale_copies(pieces['account'].pw_uid, [instance_dir, partial_dir])
    backing_file, backing_copy = find_backing_file(instance_dir, tools)
    source_bytes = allocated_bytes(instance_dir)
    facts.update(backing_file=backing_file, bytes=source_bytes)
    # decide; check mode asks the target (read only) and stops here
    if module.check_mode:
        facts['stale_copies_stopped'] = sorted(stale)
        facts['backing_copied'] = backing_copy is not None and not copier.target_has(backing_copy)
        facts['method'] = 'rsync' if pieces['rsync_options'] or copier.target_has(partial_dir) else 'tar'
        if facts['backing_copied']:
            facts['bytes'] = source_bytes + allocated_bytes(backing_copy)
        return True
    # act: a. the copies left running, b. the backing file, c. the copy, d. the verification
    progress['step'] = 'stale_copies'
    facts['stale_copies_stopped'] = stop_processes(stale, instance_copy_utils.STALE_COPY_GRACE_SECONDS)
    progress['step'] = 'backing_file'
    if backing_copy is not None and not copier.target_has(backing_copy, 'backing_file'):
        copier.copy_backing_file(backing_copy)
        facts['backing_copied'] = True
        facts['bytes'] = source_bytes + allocated_bytes(backing_copy)
    facts['method'] = 'rsync' if pieces['rsync_options'] or copier.target_has(partial_dir) else 'tar'
    progress['step'] = 'copy'
    copy_started = time.monotonic()
    if facts['method'] == 'tar':
        copier.copy_with_tar()
    else:
        copier.copy_with_rsync()
    facts['copy_seconds'] = round(time.monotonic() - copy_started, 1)
    progress['step'] = 'verify'
    verify_started = time.monotonic()
    itemized = copier.differences()
    facts['verify_seconds'] = round(time.monotonic() - verify_started, 1)
    if itemized.strip():
        facts['differences'] = differing_paths(itemized)
        raise CopyError('the copy in %s:%s differs from %s by checksum: %s'
                        % (pieces['target_address'], partial_dir, instance_dir, ', '.join(facts['differences'])),
                        'verify')
    facts['verified'] = True
    facts['duration'] = round(time.monotonic() - started, 1)
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            server_id=dict(type='str', required=True),
            instances_path=dict(type='path', default='/var/lib/nova/instances'),
            target_address=dict(type='str', required=True),
            copy_user=dict(type='str', default='nova'),
            ssh_options=dict(type='dict'),
            io_timeout=dict(type='int', default=60),
            rsync_options=dict(type='list', elements='str', default=[]),
        ),
        supports_check_mode=True,
    )
    started = time.monotonic()
    facts = dict(instance_dir=None, partial_dir=None, stale_copies_stopped=[], backing_file=None,
                 backing_copied=False, verified=False, bytes=0)
    progress = dict(step='validate')
    try:
        try:
            changed = run(module, facts, progress)
        except (IOError, OSError) as error:
            # Not a command's failure but this host's (a file that cannot be read): the same report.
            raise CopyError('%s: %s' % (getattr(error, 'filename', None) or 'error', error.strerror or error),
                            progress['step'])
    except CopyError as error:
        facts.setdefault('duration', round(time.monotonic() - started, 1))
        module.fail_json(msg="instance_copy failed at step '%s': %s%s. %s" % (
            error.step, str(error).rstrip('.'), ': %s' % error.stderr if error.stderr else '',
            aftermath(error.step, facts['instance_dir'])), failed_step=error.step, stderr=error.stderr, **facts)
    facts.setdefault('duration', round(time.monotonic() - started, 1))
    module.exit_json(changed=changed, **facts)


if __name__ == '__main__':
    main()
