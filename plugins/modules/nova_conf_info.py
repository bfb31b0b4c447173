#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: nova_conf_info
short_description: Read how a compute host is reached for migrations from its nova.conf, without its secrets
version_added: 0.2.0
description:
  - Reads a compute host's nova.conf the way nova-compute does (O(path), then the C(*.conf) files of O(conf_dir) in
    sorted order, like oslo.config's C(--config-dir); a later value wins, also a later duplicate key in one file) and
    returns the options a live or cold migration to or from this host depends on.
  - Works out the addresses Nova will use to reach this host - RV(libvirt_uri), the URI the source's libvirt driver
    connects to for a live migration, and RV(ssh_address), where a cold migration copies the disks to. Pass the
    result to M(novaops.migration.migration_host_check) run on the source.
  - Returns only the options listed under RETURN; no other key or value of the files (which hold the database, message
    queue and service passwords) is ever returned or quoted in a message.
  - Runs on the compute host, usually with C(delegate_to) and C(become) (nova.conf is readable by root and the nova
    group only). It does not use the OpenStack APIs, so it is not in the C(novaops.migration.openstack) action group.
  - Changes nothing; C(changed) is always false.
options:
  path:
    description:
      - nova.conf of nova-compute on this host.
      - A missing file fails the task.
    type: path
    default: /etc/nova/nova.conf
  conf_dir:
    description:
      - Directory whose C(*.conf) files nova-compute reads after O(path), in sorted order (its C(--config-dir)).
      - Skipped when it does not exist.
    type: path
    default: /etc/nova/nova.conf.d
  host_name:
    description:
      - The name Nova gives this host's nova-compute service (C(openstack compute service list)), the name the
        migration is requested with.
      - Used for RV(libvirt_uri) when C([libvirt] live_migration_inbound_addr) is unset, and for RV(ssh_address) when
        C([DEFAULT] my_ip) is unset. When not given, C([DEFAULT] host) is used, else this machine's hostname (what
        Nova uses when C(host) is unset).
    type: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; check mode returns the same.
  diff_mode:
    support: N/A
    details: Nothing is changed.
  platform:
    platforms: posix
notes:
  - RV(libvirt_uri) is built as Nova's libvirt driver builds it for C(virt_type) C(kvm) and C(qemu) -
    C(qemu+SCHEME://ADDRESS/system), or C([libvirt] live_migration_uri) with C(%s) replaced by the address when that
    deprecated option is set. Nova takes the scheme (and C(live_migration_uri)) from the B(source)'s nova.conf and
    the address from the target's; computes usually share these settings.
  - When C([DEFAULT] my_ip) is unset, Nova uses the host's first IPv4 address, which this module cannot know;
    RV(ssh_address) is then the host's name.
seealso:
  - module: novaops.migration.migration_host_check
  - module: novaops.migration.migration_preflight
  - name: Nova configuration reference
    description: The options of nova.conf, with their defaults.
    link: https://docs.openstack.org/nova/latest/configuration/config.html
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

- name: Check from compute1 that the live migration will reach it
  novaops.migration.migration_host_check:
    mode: live
    target_host: compute2
    target_conf: "{{ target_conf }}"
  delegate_to: compute1
  become: true
  register: host_check

- name: A kolla-ansible compute keeps its nova.conf elsewhere
  novaops.migration.nova_conf_info:
    path: /etc/kolla/nova-compute/nova.conf
    conf_dir: /etc/kolla/nova-compute/nova.conf.d
  delegate_to: compute2
  become: true
  register: target_conf
'''

RETURN = r'''
my_ip:
  description: C([DEFAULT] my_ip), the host's address for Nova; null when unset.
  returned: always
  type: str
  sample: 10.0.0.12
host:
  description: C([DEFAULT] host), the name of the nova-compute service; null when unset (Nova then uses the hostname).
  returned: always
  type: str
  sample: compute2
instances_path:
  description: C([DEFAULT] instances_path), where the servers' disks live; C($state_path/instances) when unset.
  returned: always
  type: str
  sample: /var/lib/nova/instances
live_migration_scheme:
  description: C([libvirt] live_migration_scheme); C(tcp) when unset or empty, as Nova does.
  returned: always
  type: str
  sample: tcp
live_migration_inbound_addr:
  description: C([libvirt] live_migration_inbound_addr), the address live migrations come in at; null when unset.
  returned: always
  type: str
  sample: 10.1.0.12
live_migration_uri:
  description: The deprecated C([libvirt] live_migration_uri) as written; null when unset.
  returned: always
  type: str
  sample: null
live_migration_with_native_tls:
  description: C([libvirt] live_migration_with_native_tls); false when unset.
  returned: always
  type: bool
  sample: false
virt_type:
  description: C([libvirt] virt_type); C(kvm) when unset, as Nova does.
  returned: always
  type: str
  sample: qemu
cpu_mode:
  description: C([libvirt] cpu_mode); null when unset (Nova then picks C(host-model) for kvm and qemu).
  returned: always
  type: str
  sample: custom
cpu_models:
  description: C([libvirt] cpu_models) (or the older C(cpu_model)); empty when unset.
  returned: always
  type: list
  elements: str
  sample: [Nehalem, Westmere]
max_concurrent_live_migrations:
  description: C([DEFAULT] max_concurrent_live_migrations); null when unset (Nova's default is 1; 0 is unlimited).
  returned: always
  type: int
  sample: 2
libvirt_uri:
  description:
    - The URI Nova's libvirt driver on a source connects to for a live migration to this host -
      C(qemu+SCHEME://ADDRESS/system) with ADDRESS C(live_migration_inbound_addr), else O(host_name), else
      C([DEFAULT] host), else the hostname. An IPv6 address is in brackets.
  returned: always
  type: str
  sample: qemu+tcp://10.1.0.12/system
ssh_address:
  description:
    - The address a cold migration (resize) copies the disks to over ssh - C(my_ip), else O(host_name), else
      C([DEFAULT] host), else the hostname.
  returned: always
  type: str
  sample: 10.0.0.12
files:
  description: The files read, in the order they were read.
  returned: always
  type: list
  elements: str
  sample: [/etc/nova/nova.conf, /etc/nova/nova.conf.d/50-migration.conf]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.novaops.migration.plugins.module_utils.nova_conf import (
    DEFAULT_CONF_DIR, DEFAULT_PATH, NovaConfError, nova_conf_info,
)


def argument_spec():
    return dict(
        path=dict(type='path', default=DEFAULT_PATH),
        conf_dir=dict(type='path', default=DEFAULT_CONF_DIR),
        host_name=dict(type='str'),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    try:
        settings = nova_conf_info(params['path'], params['conf_dir'], params['host_name'])
    except NovaConfError as error:
        module.fail_json(msg=str(error))
    module.exit_json(changed=False, **settings)


if __name__ == '__main__':
    main()
