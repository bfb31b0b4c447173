#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: libvirt_domain
short_description: Read, shut down or undefine a libvirt domain on a compute, and drop its Open vSwitch taps
version_added: 0.2.0
description:
  - The libvirt steps of the manual cold migration (C(playbooks/tasks/manual_cold_migrate.yml)), run on a compute
    with C(delegate_to) and C(become) - read the state of nova's domain, shut it down where nova-compute cannot,
    undefine the stale copy on the source and remove its taps, or destroy and undefine it on a target when a move
    is rolled back.
  - Always talks to O(uri) explicitly (C(virsh -c qemu:///system)) - without it a non-root virsh silently uses
    C(qemu:///session), which sees none of nova's guests, and every domain would look undefined.
  - A domain libvirt answers it does not know (C(failed to get domain), C(Domain not found)) is C(undefined); any
    other failure of virsh, such as libvirtd not running, is an error and never taken for C(undefined).
  - Idempotent - a domain already in the wanted state, and taps already gone, change nothing.
  - Does not use the OpenStack APIs, so it is not in the C(novaops.migration.openstack) action group.
options:
  name:
    description:
      - The libvirt domain - nova's C(instance_name) (C(OS-EXT-SRV-ATTR:instance_name)), e.g. C(instance-0000000a).
      - 1 to 128 letters, digits, V(_), V(.), V(+) or V(-), not starting with V(-).
    type: str
    required: true
  state:
    description:
      - V(query) reads the domain and changes nothing.
      - V(shutdown) asks a V(running), V(blocked), V(paused), V(in shutdown) or V(pmsuspended) guest to power off
        (ACPI, C(virsh shutdown)), waits up to O(shutdown_timeout) seconds for it to be V(shut off), then pulls the
        plug (C(virsh destroy)) as Nova's own stop does after its timeout. A guest libvirt cannot send the request
        to (paused or suspended) is destroyed without waiting. A domain that is V(shut off), V(crashed) or
        V(undefined) is left alone.
      - V(undefined) undefines a V(shut off) or V(crashed) domain (with C(--nvram) only when libvirt says the
        domain has NVRAM), then removes the taps of O(ports). It refuses a domain that still runs and changes
        nothing then.
      - V(destroyed_and_undefined) destroys the domain if it runs, undefines it, then removes the taps of O(ports)
        (the rollback on a target).
    type: str
    choices: [query, shutdown, undefined, destroyed_and_undefined]
    default: query
  uri:
    description:
      - The libvirt connection URI, given to every virsh call with C(-c).
    type: str
    default: qemu:///system
  shutdown_timeout:
    description:
      - With O(state=shutdown), seconds the guest has to power off by ACPI before it is destroyed; greater than 0.
    type: int
    default: 20
  ports:
    description:
      - Neutron port ids (UUIDs) of the server. With O(state=undefined) or O(state=destroyed_and_undefined),
        once the domain is gone, each port's tap (C(tap) and the first 11 characters of the port id, as os-vif
        names it) is removed from Open vSwitch (C(ovs-vsctl --if-exists del-port)) and from the kernel
        (C(ip link delete)) where it is still there.
      - Without C(ovs-vsctl) on the host (a deployment without Open vSwitch), Open vSwitch is not looked at and
        RV(skipped) says so.
      - Not accepted with the other states.
    type: list
    elements: str
    default: []
requirements:
  - virsh (libvirt's client tools) and ip (iproute2) on the compute; ovs-vsctl where Open vSwitch is used
  - root on the compute (C(become)) to remove taps, and to reach C(qemu:///system) unless libvirt's policy lets
    the user in
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - The domain and the taps are read (C(virsh domstate) and C(dominfo), C(ovs-vsctl port-to-br), C(ip link
        show)); nothing is shut down, destroyed, undefined or deleted, and RV(actions) and RV(state) are the
        prediction.
      - With O(state=shutdown) the prediction is an ACPI shutdown; whether the guest would need to be destroyed
        cannot be known without asking it.
  diff_mode:
    support: full
    details: The domain's state before and after.
  platform:
    platforms: posix
notes:
  - Run it on the compute that holds the domain, with C(delegate_to) and C(become), never on the controller.
  - Undefining only removes libvirt's definition - the instance directory and its disks stay.
seealso:
  - module: novaops.migration.cold_migrate
  - module: novaops.migration.nova_db_instance
  - name: virsh manual
    description: The virsh commands this module runs.
    link: https://www.libvirt.org/manpages/virsh.html
author:
  - novaops maintainers (@novaops)
'''

EXAMPLES = r'''
- name: Read the domain's state on the target
  novaops.migration.libvirt_domain:
    name: instance-0000000a
  delegate_to: compute2
  become: true
  register: target_domain

- name: Shut the domain down on the source (its nova-compute is down)
  novaops.migration.libvirt_domain:
    name: instance-0000000a
    state: shutdown
    shutdown_timeout: 20
  delegate_to: compute1
  become: true

- name: Undefine the stale domain on the source and drop its taps
  novaops.migration.libvirt_domain:
    name: instance-0000000a
    state: undefined
    ports:
      - 3f1c9a52-7b0e-4d2a-9c4e-5a6b7c8d9e0f
  delegate_to: compute1
  become: true

- name: Roll back - stop and undefine the domain on the target
  novaops.migration.libvirt_domain:
    name: instance-0000000a
    state: destroyed_and_undefined
  delegate_to: compute2
  become: true
'''

RETURN = r'''
name:
  description: The domain.
  returned: always
  type: str
  sample: instance-0000000a
state_before:
  description:
    - The domain's state before the module ran - one of V(running), V(blocked), V(paused), V(in shutdown),
      V(pmsuspended), V(shut off), V(crashed) or V(undefined) (libvirt does not know the domain).
  returned: always
  type: str
  sample: running
state:
  description: The domain's state after the module ran (in check mode, the prediction); same values as RV(state_before).
  returned: always
  type: str
  sample: shut off
persistent:
  description: Whether libvirt keeps the domain's definition when it stops; V(null) when the domain is undefined.
  returned: always
  type: bool
  sample: true
actions:
  description:
    - What was done (in check mode, what would be), in order - V(shutdown), V(destroy), V(undefine), then for each
      tap V(del-port TAP) and V(ip link delete TAP).
  returned: always
  type: list
  elements: str
  sample: [undefine, del-port tap3f1c9a52-7b, ip link delete tap3f1c9a52-7b]
removed_taps:
  description: The taps removed from Open vSwitch or the kernel (in check mode, that would be).
  returned: always
  type: list
  elements: str
  sample: [tap3f1c9a52-7b]
skipped:
  description: What was not checked and why, e.g. Open vSwitch on a host without ovs-vsctl.
  returned: always
  type: list
  elements: str
  sample: []
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.novaops.migration.plugins.module_utils.libvirt_domain import (
    STATES, DomainManager, LibvirtDomainError, Taps, Virsh, validate_domain_name, validate_port_ids,
)

# Seconds between two reads of the state while a guest shuts down.
POLL_INTERVAL = 1.0
# virsh, ovs-vsctl and ip are read by their English messages.
C_LOCALE = dict(LANG='C', LC_ALL='C', LC_MESSAGES='C')
STATES_WITH_PORTS = ('undefined', 'destroyed_and_undefined')


def find_binary(module, binary, package):
    path = module.get_bin_path(binary)
    if not path:
        raise LibvirtDomainError('%s is not installed on this host (looked in PATH, /sbin and /usr/sbin); install '
                                 '%s, or check that the task runs on the compute (delegate_to)' % (binary, package))
    return path


def check_params(params):
    validate_domain_name(params['name'])
    ports = validate_port_ids(params['ports'])
    if ports and params['state'] not in STATES_WITH_PORTS:
        raise LibvirtDomainError('ports applies only to state=undefined or state=destroyed_and_undefined (a tap is '
                                 'removed once its domain is gone), got state=%s; drop ports or choose one of those '
                                 'states' % params['state'])
    if params['shutdown_timeout'] <= 0:
        raise LibvirtDomainError('shutdown_timeout must be greater than 0 (seconds the guest has to power off '
                                 'before it is destroyed), got %s' % params['shutdown_timeout'])
    uri = params['uri']
    if not uri or uri.startswith('-') or uri != uri.strip() or len(uri.split()) != 1 or ':' not in uri:
        raise LibvirtDomainError('uri %r is not a libvirt connection URI; expected e.g. qemu:///system' % (uri,))
    return ports


def build_manager(module):
    """The domain manager for the task's options, and the checked port ids; nothing has run yet."""
    params = module.params
    ports = check_params(params)

    def run_command(argv):
        return module.run_command(argv, environ_update=C_LOCALE)

    virsh = Virsh(run_command, find_binary(module, 'virsh', "libvirt's client tools (libvirt-clients or "
                                           'libvirt-client)'), params['uri'])
    ip_path = ovs_vsctl_path = None
    if ports:
        ip_path = find_binary(module, 'ip', 'iproute2')
        # Not every deployment uses Open vSwitch: without ovs-vsctl only the kernel is cleaned.
        ovs_vsctl_path = module.get_bin_path('ovs-vsctl')
    manager = DomainManager(virsh, Taps(run_command, ip_path, ovs_vsctl_path), params['name'],
                            check_mode=module.check_mode, shutdown_timeout=params['shutdown_timeout'],
                            poll_interval=POLL_INTERVAL)
    return manager, ports


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', default='query', choices=list(STATES)),
            uri=dict(type='str', default='qemu:///system'),
            shutdown_timeout=dict(type='int', default=20),
            ports=dict(type='list', elements='str', default=[]),
        ),
        supports_check_mode=True,
    )
    manager = None
    try:
        manager, ports = build_manager(module)
        result = manager.ensure(module.params['state'], ports)
    except LibvirtDomainError as error:
        # What was done before the failure (a destroy before a failed undefine) is reported with it.
        done = list(manager.actions) if manager else []
        module.fail_json(msg=str(error), name=module.params['name'], actions=done,
                         changed=bool(done) and not module.check_mode)
    if module._diff:
        result['diff'] = dict(before=dict(state=result['state_before']), after=dict(state=result['state']))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
