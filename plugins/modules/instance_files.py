#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: instance_files
short_description: Inspect, set aside, put in place or remove a server's instance directory on a compute host
version_added: 0.2.0
description:
  - The file steps of the manual cold migration (C(playbooks/tasks/manual_cold_migrate.yml)) on one compute host -
    nova's instance directory C(INSTANCES_PATH/SERVER_ID) and the partial directory
    C(INSTANCES_PATH/.SERVER_ID.novaops-partial) that M(novaops.migration.instance_copy) copies into.
  - O(state=query) (the default) reports what is there and changes nothing - sizes (allocated, as the copy is
    sparse), the disk's backing file, the bases in C(_base), the free space and filesystem of O(instances_path),
    and the tools the copy needs.
  - O(state=marker) creates C(INSTANCES_PATH/.novaops-marker-MARKER) and O(state=marker_absent) removes it - create
    one on the target and ask O(state=query) with the same O(marker) on the source whether it sees it, to detect
    shared instance storage even where the filesystem type looks local.
  - O(state=in_place) renames the partial directory to the instance directory (on the target, after a verified
    copy); O(state=set_aside) renames an instance directory to the partial directory (a copy an earlier run left in
    place is resynchronised rather than trusted); O(state=absent) removes the instance directory (and the partial
    one with O(partial=true)).
  - Runs on a compute host as root, usually with C(delegate_to) and C(become). It does not use the OpenStack APIs,
    so it is not in the C(novaops.migration.openstack) action group.
options:
  server_id:
    description:
      - UUID of the server, in the lowercase form Nova names the instance directory with. Anything else is refused,
        since it becomes a path.
    type: str
    required: true
  instances_path:
    description:
      - Nova's C([DEFAULT] instances_path) on this host. Must exist.
    type: path
    default: /var/lib/nova/instances
  state:
    description:
      - V(query) reports and changes nothing.
      - V(marker) creates the marker file O(marker), V(marker_absent) removes it.
      - V(in_place) renames the partial directory to the instance directory. Unchanged when only the instance
        directory exists; fails, changing nothing, when both exist (which one is the verified copy is unclear) or
        neither does.
      - V(set_aside) renames the instance directory to the partial directory. Unchanged when the partial directory
        already exists (both are left as they are) or neither exists.
      - V(absent) removes the instance directory, and the partial directory too with O(partial=true). Unchanged when
        they are missing.
    type: str
    choices: [query, marker, marker_absent, in_place, set_aside, absent]
    default: query
  marker:
    description:
      - Name of the marker file, C(INSTANCES_PATH/.novaops-marker-MARKER) - 8 to 64 letters, digits, C(_) or C(-).
      - Required with O(state=marker) and O(state=marker_absent); with O(state=query) the result says whether the
        marker is seen (RV(marker_found)).
    type: str
  partial:
    description:
      - With O(state=absent), remove the partial directory too.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Every state predicts C(changed) truthfully and changes nothing.
  diff_mode:
    support: full
    details: Which of the paths the state touches exist before and after (never file contents).
  platform:
    platforms: posix
notes:
  - Sizes are allocated bytes (as C(du -B1)), not apparent sizes, because the copy keeps sparse files sparse;
    C(console.log*) is not counted, as it is not copied.
  - RV(shared_filesystem) is true for the network and cluster filesystems Nova runs shared instance storage on -
    C(nfs), C(nfs4), C(cifs), C(smb3), C(smbfs), C(glusterfs), C(fuse.glusterfs), C(ceph), C(fuse.ceph),
    C(fuse.cephfs), C(lustre), C(gpfs), C(ocfs2), C(gfs2), C(beegfs), C(fuse.sshfs), C(fuse.quobyte),
    C(fuse.vstorage), C(afs), C(virtiofs), C(9p). A bind mount of a shared export shows the host's local type, so
    only the marker check proves the storage is not shared.
  - Only the standard library is used; C(qemu-img) is needed for RV(backing_file).
seealso:
  - module: novaops.migration.instance_copy
  - module: novaops.migration.nova_db_instance
  - module: novaops.migration.cold_migrate
author:
  - novaops maintainers (@novaops)
'''

EXAMPLES = r'''
- name: What the copy needs, on the source
  novaops.migration.instance_files:
    server_id: 2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e
  delegate_to: compute1
  become: true
  register: source_files

- name: Name a marker for this run
  ansible.builtin.set_fact:
    storage_marker: "run-{{ now(utc=true).strftime('%Y%m%d%H%M%S') }}"

- name: Leave the marker on the target
  novaops.migration.instance_files:
    server_id: 2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e
    state: marker
    marker: "{{ storage_marker }}"
  delegate_to: compute2
  become: true

- name: Does the source see the target's marker (shared instance storage)?
  novaops.migration.instance_files:
    server_id: 2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e
    marker: "{{ storage_marker }}"
  delegate_to: compute1
  become: true
  register: source_sees_marker

- name: Remove the marker
  novaops.migration.instance_files:
    server_id: 2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e
    state: marker_absent
    marker: "{{ storage_marker }}"
  delegate_to: compute2
  become: true

- name: Refuse a target on the same storage as the source
  ansible.builtin.assert:
    that: not source_sees_marker.marker_found and not source_files.shared_filesystem
    fail_msg: The instance storage is shared between compute1 and compute2; a manual cold migration copies nothing.

- name: Resynchronise a copy an earlier run left in place instead of trusting it
  novaops.migration.instance_files:
    server_id: 2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e
    state: set_aside
  delegate_to: compute2
  become: true

- name: Put the verified copy in place
  novaops.migration.instance_files:
    server_id: 2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e
    state: in_place
  delegate_to: compute2
  become: true

- name: Drop the target's copy, partial or not (rollback)
  novaops.migration.instance_files:
    server_id: 2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e
    state: absent
    partial: true
  delegate_to: compute2
  become: true
'''

RETURN = r'''
instances_path:
  description: The instances path, normalised.
  returned: always
  type: str
  sample: /var/lib/nova/instances
instance_dir:
  description: The instance directory, C(INSTANCES_PATH/SERVER_ID).
  returned: always
  type: str
  sample: /var/lib/nova/instances/2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e
partial_dir:
  description: The partial directory a copy goes into, C(INSTANCES_PATH/.SERVER_ID.novaops-partial).
  returned: always
  type: str
  sample: /var/lib/nova/instances/.2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e.novaops-partial
exists:
  description: Whether the instance directory exists (after the module ran; in check mode, the prediction).
  returned: always
  type: bool
  sample: true
partial_exists:
  description: Whether the partial directory exists (after the module ran; in check mode, the prediction).
  returned: always
  type: bool
  sample: false
marker_found:
  description: Whether the marker file exists (after the module ran; in check mode, the prediction).
  returned: when O(marker) is given
  type: bool
  sample: false
allocated_bytes:
  description: Bytes allocated to the instance directory, without C(console.log*); 0 when it is missing.
  returned: when O(state=query)
  type: int
  sample: 1207959552
partial_bytes:
  description: Bytes allocated to the partial directory; 0 when it is missing.
  returned: when O(state=query)
  type: int
  sample: 0
backing_file:
  description:
    - The disk's backing file as C(qemu-img info -U --output=json INSTANCE_DIR/disk) reports its C(backing-filename).
    - null when there is no disk, no backing file, or no C(qemu-img) (then in RV(missing_tools)).
  returned: when O(state=query)
  type: str
  sample: /var/lib/nova/instances/_base/5f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6
backing_bytes:
  description: Bytes allocated to the backing file; 0 without one.
  returned: when O(state=query)
  type: int
  sample: 46137344
bases:
  description: Names of the files in C(INSTANCES_PATH/_base), sorted.
  returned: when O(state=query)
  type: list
  elements: str
  sample: [5f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6]
available_bytes:
  description: Bytes free for unprivileged users in O(instances_path) (C(f_bavail * f_frsize)).
  returned: when O(state=query)
  type: int
  sample: 17179869184
mount_point:
  description: The mount point holding O(instances_path) (the longest mount point that is a prefix of it).
  returned: when O(state=query)
  type: str
  sample: /
filesystem_type:
  description: That mount's filesystem type, from C(/proc/self/mountinfo) (or C(/proc/mounts)).
  returned: when O(state=query)
  type: str
  sample: ext4
shared_filesystem:
  description: Whether RV(filesystem_type) is a network or cluster filesystem (see the notes).
  returned: when O(state=query)
  type: bool
  sample: false
tools:
  description: Absolute path of C(rsync), C(tar), C(ssh), C(qemu-img), C(virsh), C(runuser) and C(sudo), or null.
  returned: when O(state=query)
  type: dict
  sample: {rsync: /usr/bin/rsync, tar: /usr/bin/tar, ssh: /usr/bin/ssh, qemu-img: /usr/bin/qemu-img,
           virsh: /usr/bin/virsh, runuser: /usr/sbin/runuser, sudo: null}
missing_tools:
  description: Which of C(rsync), C(tar), C(ssh), C(qemu-img) and C(virsh) are not installed.
  returned: when O(state=query)
  type: list
  elements: str
  sample: []
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.novaops.migration.plugins.module_utils.instance_files import (
    PRESENT, STATES, InstanceFilesError, apply_plan, gather_info, path_facts, plan, unexpected_paths,
    validate_instances_path, validate_marker, validate_server_id,
)


def predicted(facts, planned):
    """The path facts as the plan leaves them."""
    after = dict(facts)
    for key, path_key in (('exists', 'instance_dir'), ('partial_exists', 'partial_dir'),
                          ('marker_found', 'marker_path')):
        if path_key in facts and facts[path_key] in planned.after:
            after[key] = planned.after[facts[path_key]] == PRESENT
    return after


def run(module):
    params = module.params
    # validate
    server_id = validate_server_id(params['server_id'])
    marker = validate_marker(params['marker']) if params['marker'] is not None else None
    instances_path = validate_instances_path(params['instances_path'])
    state = params['state']
    # find
    if state == 'query':
        return dict(changed=False, **gather_info(instances_path, server_id, marker))
    facts = path_facts(instances_path, server_id, marker)
    # decide
    planned = plan(state, facts, partial=params['partial'])
    if state == 'set_aside' and facts['exists'] and facts['partial_exists']:
        module.warn('both %s and %s exist: both are left as they are, the partial copy is the one a copy '
                    'resynchronises, and state=in_place refuses until one of them is removed.'
                    % (facts['instance_dir'], facts['partial_dir']))
    result = dict(changed=planned.changed)
    if module._diff:
        result['diff'] = dict(before=planned.before, after=planned.after)
    if module.check_mode or not planned.changed:
        result.update(predicted(facts, planned))
        return result
    # act, then verify by looking again
    apply_plan(planned)
    wrong = unexpected_paths(planned)
    if wrong:
        raise InstanceFilesError('after state=%s these paths are not as planned: %s' % (state, ', '.join(wrong)))
    result.update(path_facts(instances_path, server_id, marker))
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            server_id=dict(type='str', required=True),
            instances_path=dict(type='path', default='/var/lib/nova/instances'),
            state=dict(type='str', default='query', choices=list(STATES)),
            marker=dict(type='str'),
            partial=dict(type='bool', default=False),
        ),
        required_if=[('state', 'marker', ['marker']), ('state', 'marker_absent', ['marker'])],
        supports_check_mode=True,
    )
    try:
        result = run(module)
    except InstanceFilesError as error:
        module.fail_json(msg=str(error))
    except (IOError, OSError) as error:
        module.fail_json(msg='%s: %s' % (getattr(error, 'filename', None) or 'instance files', error))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
