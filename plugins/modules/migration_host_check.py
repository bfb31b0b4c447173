#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: migration_host_check
short_description: Check from the source compute that a migration can reach the target the way Nova will
version_added: 0.2.0
description:
  - Runs on the B(source) compute of a migration (with C(delegate_to) and C(become)) and follows the path Nova will
    take to the target, reporting every problem at once.
  - O(mode=live) - connects to the target's libvirt with C(virsh -c LIBVIRT_URI hostname), the connection Nova's
    libvirt driver opens for a live migration. Passes when virsh exits with 0.
  - O(mode=cold) - runs C(ssh -o BatchMode=yes -o ConnectTimeout=10 -o StrictHostKeyChecking=yes ADDRESS true) as
    O(ssh_user) (with C(runuser) when the module runs as root, else C(sudo -n)), the way a cold migration (resize)
    copies the disks. Host keys are always checked - the option on the command line wins over a
    C(StrictHostKeyChecking no) in the user's ssh configuration.
  - Each program of O(required_tools) must be found on this host's C(PATH).
  - Each check runs under C(timeout) and is stopped after O(timeout) seconds.
  - A failed check does not fail the task - it is in RV(checks) and RV(problems), so that the play can put it
    together with the problems found elsewhere (for example by M(novaops.migration.migration_preflight), whose
    O(novaops.migration.migration_preflight#module:host_checks) take RV(checks) as they are). The task fails only
    on bad options.
  - Changes nothing on either host; C(changed) is always false.
options:
  mode:
    description:
      - The kind of migration to check for.
    type: str
    choices: [live, cold]
    required: true
  target_host:
    description:
      - The target compute as Nova names it (its nova-compute service's host).
      - Used in the names of the checks and messages, and as the address when O(target_conf) is not given.
    type: str
    required: true
  target_conf:
    description:
      - The registered result of M(novaops.migration.nova_conf_info) run on the target; its
        RV(novaops.migration.nova_conf_info#module:libvirt_uri) and
        RV(novaops.migration.nova_conf_info#module:ssh_address) are where the checks connect.
      - Unset (or empty), C(qemu+tcp://TARGET_HOST/system) and O(target_host) are used.
    type: dict
  source_host:
    description:
      - The name of this (source) host in the names of the checks and messages.
      - Defaults to this host's hostname.
    type: str
  ssh_user:
    description:
      - The user the cold migration copies as - the user nova-compute runs as.
    type: str
    default: nova
  timeout:
    description:
      - Seconds each check may take; more than 0.
    type: int
    default: 20
  required_tools:
    description:
      - Programs that must be installed on this host, looked up on its C(PATH); each one missing is a problem.
    type: list
    elements: str
    default: []
requirements:
  - C(timeout) (coreutils), C(virsh) for O(mode=live), C(ssh) and C(runuser) (or C(sudo)) for O(mode=cold) on the host
    the module runs on
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The checks run in check mode too - they only connect and change nothing.
  diff_mode:
    support: N/A
    details: Nothing is changed.
  platform:
    platforms: posix
notes:
  - Run it with C(become) - as root, the ssh check switches to O(ssh_user) with C(runuser); as another user it needs
    C(sudo -n) rights to O(ssh_user).
seealso:
  - module: novaops.migration.nova_conf_info
  - module: novaops.migration.migration_preflight
  - name: Nova - configure live migrations
    description: The libvirt and ssh set-up migrations need between the computes.
    link: https://docs.openstack.org/nova/latest/admin/configuring-migrations.html
author:
  - novaops maintainers (@novaops)
'''

EXAMPLES = r'''
- name: Read how compute2 is reached by a migration
  novaops.migration.nova_conf_info:
    host_name: compute2
  delegate_to: compute2
  become: true
  register: target_conf

- name: Check from compute1 that a live migration will reach compute2
  novaops.migration.migration_host_check:
    mode: live
    target_host: compute2
    target_conf: "{{ target_conf }}"
    source_host: compute1
  delegate_to: compute1
  become: true
  register: host_check

- name: Check from compute1 that a cold migration can copy to compute2, with rsync
  novaops.migration.migration_host_check:
    mode: cold
    target_host: compute2
    target_conf: "{{ target_conf }}"
    required_tools: [rsync, qemu-img]
    timeout: 30
  delegate_to: compute1
  become: true
  register: host_check

- name: Stop with every problem found
  ansible.builtin.fail:
    msg: "{{ host_check.problems }}"
  when: host_check.problems | length > 0
'''

RETURN = r'''
checks:
  description: Every check with its outcome; a failed one's C(detail) says what failed and what to do.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: What was checked.
      type: str
      sample: libvirt on compute2 reachable from compute1
    ok:
      description: Whether it passed.
      type: bool
      sample: true
    detail:
      description: What was found.
      type: str
      sample: virsh -c qemu+tcp://10.0.0.12/system on compute1 answered compute2
  sample:
    - name: libvirt on compute2 reachable from compute1
      ok: true
      detail: virsh -c qemu+tcp://10.0.0.12/system on compute1 answered compute2
    - name: rsync installed on compute1
      ok: true
      detail: /usr/bin/rsync
problems:
  description: One sentence per failed check, saying what failed and what to do; empty when all passed.
  returned: always
  type: list
  elements: str
  sample:
    - "libvirt on compute2 is not reachable from compute1: virsh -c qemu+tcp://compute2/system failed: error: failed to
      connect to the hypervisor error: unable to connect to server at 'compute2:16509': Connection refused. Is libvirt
      listening on compute2 (libvirtd-tcp.socket, the novaops_libvirt role)?"
    - "nova on compute1 cannot ssh to 10.0.0.12 (rc 255): Host key verification failed. Set up the trust with the
      novaops_ssh_trust role."
libvirt_uri:
  description: The libvirt URI of the target (checked when O(mode=live)).
  returned: always
  type: str
  sample: qemu+tcp://10.0.0.12/system
ssh_address:
  description: The address ssh connects to on the target (checked when O(mode=cold)).
  returned: always
  type: str
  sample: 10.0.0.12
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.novaops.migration.plugins.module_utils.host_checks import (
    DEFAULT_TIMEOUT, MODES, HostCheckError, run_checks,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            mode=dict(type='str', required=True, choices=list(MODES)),
            target_host=dict(type='str', required=True),
            target_conf=dict(type='dict'),
            source_host=dict(type='str'),
            ssh_user=dict(type='str', default='nova'),
            timeout=dict(type='int', default=DEFAULT_TIMEOUT),
            required_tools=dict(type='list', elements='str', default=[]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        result = run_checks(params['mode'], params['target_host'], target_conf=params['target_conf'],
                            ssh_user=params['ssh_user'], timeout=params['timeout'],
                            required_tools=params['required_tools'], source_host=params['source_host'])
    except HostCheckError as error:
        module.fail_json(msg=str(error))
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
