#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: nova_db_instance
short_description: Move a server's record in Nova's database to another compute node (manual cold migration)
version_added: 0.2.0
description:
  - The database step of the manual cold migration (C(playbooks/tasks/manual_cold_migrate.yml)) - sets the
    instance's C(host), C(node), C(launched_on) and C(compute_id) (the C(compute_nodes) row of O(host) and O(node),
    since Nova 2023.2) in one transaction.
  - The update is guarded - the row must still hold O(expected_host) (and O(expected_node) when given) and have no
    task in progress, and exactly one row must change; otherwise nothing is written and the module says what it
    found.
  - Idempotent - a row that already holds the wanted values is left alone.
  - When the answer to the COMMIT is lost (the connection breaks), the row is read again on a new connection - the
    move is reported done (with a warning) when it holds the new values, rolled back when it holds the old ones,
    and unknown (re-run to check) when it cannot be read.
  - In a cloud with several cells the connection may name cell0 or another cell than the instance's. When the
    instance's row is not there, its cell is looked up in C(nova_api) (O(api_database_connection), else
    C([api_database] connection) of O(nova_conf)) and the row moved in that cell's database; without a C(nova_api)
    connection the module fails saying what to pass.
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
      - SQLAlchemy URL of nova's cell database (C(mysql+pymysql://USER:PASSWORD@HOST[:PORT]/nova[?OPTIONS])), read
        as nova (oslo.db, SQLAlchemy) reads it - user and password are URL-encoded; C(/), C(#), C(?) and C(:) may
        stand in the password as they are, C(@) must be written C(%40) and C(%) as C(%25).
      - 'Query options: C(charset), C(unix_socket), C(connect_timeout), C(read_timeout), C(write_timeout) (these
        win over O(connect_timeout) and O(timeout)), the TLS options C(ssl_ca), C(ssl_cert), C(ssl_key),
        C(ssl_capath), C(ssl_cipher), C(ssl_check_hostname), C(ssl_verify_identity), C(ssl_verify_cert) (passed to
        PyMySQL''s C(ssl) argument), and C(plugin) (an SQLAlchemy engine plugin, ignored). Any other option is
        refused - connecting without it could mean connecting without TLS.'
      - When unset, C([database] connection) of O(nova_conf) is read.
    type: str
  api_database_connection:
    description:
      - SQLAlchemy URL of nova's API database (C(nova_api)), in the same form as O(database_connection); only read
        when the instance is not in the cell database, to find its cell.
      - When unset, C([api_database] connection) of O(nova_conf) is read, if there is one.
    type: str
  nova_conf:
    description:
      - nova.conf read for the connection when O(database_connection) is unset.
    type: path
    default: /etc/nova/nova.conf
  connect_timeout:
    description:
      - Seconds to wait for the database to accept the connection.
    type: int
    default: 10
  timeout:
    description:
      - Seconds to wait for the database to answer a query or take a write, so that a connection gone half-open
        fails the task instead of hanging it.
      - Above InnoDB's default C(innodb_lock_wait_timeout) (50 s), so a row locked by nova a while is waited for.
    type: int
    default: 60
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
  - The connection URLs and their passwords are never logged, returned or put in a message.
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
database:
  description: Name of the cell database the row is in (no credentials).
  returned: success
  type: str
  sample: nova
cell:
  description: Name of the cell found through C(nova_api) when the row was not in the first database; null otherwise.
  returned: success
  type: str
  sample: cell1
'''

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.novaops.migration.plugins.module_utils.nova_db import (
    CELL0_UUID, NovaDatabase, NovaDatabaseError, connection_from_nova_conf, parse_connection,
)

PYMYSQL_IMPORT_ERROR = None
try:
    import pymysql
except ImportError:
    PYMYSQL_IMPORT_ERROR = traceback.format_exc()
    pymysql = None


def open_database(module, driver, url):
    """A NovaDatabase on ``url``; its password is masked in whatever the module returns."""
    kwargs = parse_connection(url)
    module.no_log_values.update(secret for secret in (url, kwargs['password']) if secret)
    return NovaDatabase(driver, kwargs, module.params['connect_timeout'], module.params['timeout'])


def locate_cell(module, driver, instance_uuid, database):
    """The URL and name of the instance's cell from nova_api; NovaDatabaseError says what to pass otherwise."""
    params = module.params
    api_url = params['api_database_connection'] or connection_from_nova_conf(params['nova_conf'], 'api_database')
    where = "the cell database '%s' at %s" % (database.name, database.endpoint)
    if not api_url:
        raise NovaDatabaseError(
            "instance %s is not in %s (or is deleted). In a cloud with several cells the [database] "
            "connection of the controller's nova.conf may name cell0 or another cell than the "
            "instance's: pass database_connection with the URL of the instance's cell database "
            "(`nova-manage cell_v2 list_cells --verbose` lists them), or api_database_connection (or "
            "an [api_database] connection in %s) so that the module looks the cell up in nova_api"
            % (instance_uuid, where, params['nova_conf']))
    api = open_database(module, driver, api_url)
    try:
        cell = api.cell_of(instance_uuid)
    finally:
        api.close()
    if cell is None:
        raise NovaDatabaseError(
            "instance %s is not in %s, and nova_api has no instance mapping with a cell for it: the "
            "server does not exist, was deleted, or is not scheduled yet" % (instance_uuid, where))
    name, cell_uuid, cell_url = cell[0], cell[1], cell[2]
    if cell_uuid == CELL0_UUID:
        raise NovaDatabaseError("instance %s is in cell0: it was never scheduled to a host (Nova keeps servers whose "
                                "boot failed there); there is nothing to move" % instance_uuid)
    if not cell_url or '{' in cell_url:
        raise NovaDatabaseError("instance %s is in cell '%s' (%s), whose database_connection in nova_api is %s; pass "
                                "database_connection with the URL of that cell's database (`nova-manage cell_v2 "
                                "list_cells --verbose` shows it)"
                                % (instance_uuid, name, cell_uuid, 'a template' if cell_url else 'empty'))
    return cell_url, name


def run(module, driver):
    params = module.params
    url = params['database_connection'] or connection_from_nova_conf(params['nova_conf'])
    if not url:
        module.fail_json(msg="unknown credentials for nova's database: %s has no [database] connection (or cannot "
                             "be read) and database_connection is not set; run this on the controller or pass the "
                             "URL (keep it in a vault)" % params['nova_conf'])
    database = None
    cell = None
    try:
        database = open_database(module, driver, url)
        if not database.has_instance(params['instance']):
            cell_url, cell = locate_cell(module, driver, params['instance'], database)
            database.close()
            database = open_database(module, driver, cell_url)
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
        if database is not None:
            database.close()
    for note in database.notes:
        module.warn(note)
    result = dict(changed=changed, instance=after, before=before, database=database.name, cell=cell)
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
            api_database_connection=dict(type='str', no_log=True),
            nova_conf=dict(type='path', default='/etc/nova/nova.conf'),
            connect_timeout=dict(type='int', default=10),
            timeout=dict(type='int', default=60),
        ),
        supports_check_mode=True,
    )
    if PYMYSQL_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib('PyMySQL (python3-pymysql)'), exception=PYMYSQL_IMPORT_ERROR)
    run(module, pymysql)


if __name__ == '__main__':
    main()
