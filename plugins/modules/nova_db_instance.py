#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: nova_db_instance
short_description: Move a server's record in Nova's database to another compute node (manual cold migration)
version_added: 0.1.0
description:
  - The database step of the manual cold migration (C(playbooks/tasks/manual_cold_migrate.yml)) - sets the
    instance's C(host), C(node), C(launched_on) and C(compute_id) (the C(compute_nodes) row of O(host) and O(node),
    since Nova 2023.2) in one transaction.
  - The update is guarded - the row must still hold O(expected_host) (and O(expected_node) when given) and have no
    task in progress, and exactly one row must change; otherwise nothing is written and the module says what it
    found.
  - Idempotent - a row that already holds the wanted values is left alone.
  - Runs where the database is reachable, usually on the controller with C(delegate_to) (MariaDB often listens on
    loopback only). It does not use the OpenStack APIs, so it is not in the C(novaops.migration.openstack) action
    group.
options:
  instance:
    description:
      - UUID of the server (Nova's C(instances.uuid)).
    type: str
    required: true
  host:
    description:
      - Compute host (nova-compute service host) to write.
    type: str
    required: true
  node:
    description:
      - Hypervisor node to write; defaults to O(host).
    type: str
  expected_host:
    description:
      - Host the row must hold now; anything else stops the module.
    type: str
    required: true
  expected_node:
    description:
      - Node the row must hold now; unset does not check the node.
    type: str
  database_connection:
    description:
      - SQLAlchemy URL of nova's database (C(mysql+pymysql://USER:PASSWORD@HOST/nova)).
      - When unset, C([database] connection) of O(nova_conf) is read.
    type: str
  nova_conf:
    description:
      - nova.conf read for the connection when O(database_connection) is unset.
    type: path
    default: /etc/nova/nova.conf
  connect_timeout:
    description:
      - Seconds to wait for the database to answer.
    type: int
    default: 10
requirements:
  - PyMySQL on the host the module runs on
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The row is read and the guard checked; nothing is written.
  diff_mode:
    support: full
    details: The instance's host, node, launched_on and compute_id before and after.
  platform:
    platforms: posix
notes:
  - The connection URL and its password are never logged or returned.
  - Moving the row is not a migration by itself - Placement allocations, port bindings, the files and the libvirt
    domain must follow; M(novaops.migration.manual_move) and C(playbooks/migrate.yml) with C(-e cold_method=manual)
    do that.
seealso:
  - module: novaops.migration.manual_move
author:
  - novaops maintainers (@novaops)
'''

EXAMPLES = r'''
- name: Point myinstance's record at compute2
  novaops.migration.nova_db_instance:
    instance: 2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e
    expected_host: compute1
    expected_node: compute1
    host: compute2
    node: compute2
  delegate_to: controller
'''

RETURN = r'''
instance:
  description: The moved columns after the module ran (in check mode, the prediction).
  returned: always
  type: dict
  sample: {host: compute2, node: compute2, launched_on: compute2, compute_id: 2}
before:
  description: The moved columns before the module ran.
  returned: always
  type: dict
  sample: {host: compute1, node: compute1, launched_on: compute1, compute_id: 1}
'''

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.novaops.migration.plugins.module_utils.nova_db import (
    NovaDatabase, NovaDatabaseError, connection_from_nova_conf, parse_connection,
)

PYMYSQL_IMPORT_ERROR = None
try:
    import pymysql
except ImportError:
    PYMYSQL_IMPORT_ERROR = traceback.format_exc()
    pymysql = None


def run(module, driver):
    params = module.params
    url = params['database_connection'] or connection_from_nova_conf(params['nova_conf'])
    if not url:
        module.fail_json(msg="unknown credentials for nova's database: %s has no [database] connection (or cannot "
                             "be read) and database_connection is not set; run this on the controller or pass the "
                             "URL (keep it in a vault)" % params['nova_conf'])
    try:
        database = NovaDatabase(driver, parse_connection(url), params['connect_timeout'])
    except NovaDatabaseError as error:
        module.fail_json(msg=str(error))
    try:
        node = params['node'] or params['host']
        wanted = dict(host=params['host'], node=node, launched_on=params['host'])
        expected = dict(host=params['expected_host'])
        if params['expected_node']:
            expected['node'] = params['expected_node']
        if database.has_compute_id():
            wanted['compute_id'] = database.compute_node_id(params['host'], node)
        before, after, changed = database.move_instance(params['instance'], expected, wanted,
                                                        check_only=module.check_mode)
    except NovaDatabaseError as error:
        module.fail_json(msg=str(error))
    finally:
        database.close()
    result = dict(changed=changed, instance=after, before=before)
    if module._diff:
        result['diff'] = dict(before=before, after=after)
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            instance=dict(type='str', required=True),
            host=dict(type='str', required=True),
            node=dict(type='str'),
            expected_host=dict(type='str', required=True),
            expected_node=dict(type='str'),
            database_connection=dict(type='str', no_log=True),
            nova_conf=dict(type='path', default='/etc/nova/nova.conf'),
            connect_timeout=dict(type='int', default=10),
        ),
        supports_check_mode=True,
    )
    if PYMYSQL_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib('PyMySQL (python3-pymysql)'), exception=PYMYSQL_IMPORT_ERROR)
    run(module, pymysql)


if __name__ == '__main__':
    main()
