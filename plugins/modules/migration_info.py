#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: migration_info
short_description: List a server's migrations and the progress of the one running, like openstack server migration list
version_added: 0.2.0
description:
  - Returns Nova's migration records (live and cold migrations, resizes, evacuations), newest first, like
    C(openstack server migration list) and C(openstack server migration show).
  - For a live migration in progress each record also has the bytes of memory and disk copied so far and a
    percentage (RV(migrations[].progress)), from the server's migrations API.
  - Needs an admin role.
options:
  server:
    description:
      - Name or id of the server whose migrations to list, in any project. When omitted, migrations of all servers.
    type: str
  migration:
    description:
      - Id or uuid of one migration to return. Needs O(server).
    type: str
  status:
    description:
      - Only migrations in this status, for example C(running), C(completed), C(error), C(finished).
    type: str
  migration_type:
    description:
      - Only migrations of this type.
    type: str
    choices: [live-migration, migration, resize, evacuation]
  host:
    description:
      - Only migrations from or to this compute host.
    type: str
  in_progress:
    description:
      - Only migrations Nova is still working on (not C(completed), C(confirmed), C(reverted), C(failed),
        C(error), C(cancelled) or C(done)). C(finished), waiting for a confirmation, counts as done.
    type: bool
    default: false
extends_documentation_fragment:
  - novaops.migration.openstack
  - novaops.migration.openstack.ACTION_GROUP
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: N/A
  platform:
    platforms: posix
seealso:
  - module: novaops.migration.live_migrate
  - module: novaops.migration.cold_migrate
author:
  - novaops maintainers (@novaops)
'''

EXAMPLES = r'''
- name: The migrations of myinstance
  novaops.migration.migration_info:
    cloud: lab
    server: myinstance
  register: myinstance_migrations

- name: Show how far the running one is
  ansible.builtin.debug:
    msg: "{{ item.status }}: {{ item.progress.percent | default('?') }} % copied"
  loop: "{{ myinstance_migrations.migrations | selectattr('in_progress') }}"
  loop_control:
    label: "{{ item.id }}"

- name: Every failed migration from or to compute1
  novaops.migration.migration_info:
    cloud: lab
    host: compute1
    status: error
'''

RETURN = r'''
migrations:
  description: The migrations found, newest first.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Migration id (what C(openstack server migration abort) takes).
      type: int
      sample: 12
    uuid:
      description: Migration uuid (compute API microversion 2.59), the Placement consumer during a cold migration.
      type: str
      sample: 6a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d
    status:
      description: Nova's migration status.
      type: str
      sample: running
    migration_type:
      description: C(live-migration), C(migration) (cold), C(resize) or C(evacuation).
      type: str
      sample: live-migration
    server_id:
      description: The migrated server.
      type: str
      sample: 2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e
    source_compute:
      description: Compute host moved from.
      type: str
      sample: compute1
    source_node:
      description: Hypervisor node moved from.
      type: str
      sample: compute1
    dest_compute:
      description: Compute host moved to.
      type: str
      sample: compute2
    dest_node:
      description: Hypervisor node moved to.
      type: str
      sample: compute2
    dest_host:
      description: Address of the destination compute.
      type: str
      sample: 10.99.0.12
    created_at:
      description: When the migration was requested.
      type: str
      sample: '2026-11-23T22:41:07.000000'
    updated_at:
      description: Last change of the record.
      type: str
      sample: '2026-11-23T22:41:13.000000'
    in_progress:
      description: Whether Nova is still working on it.
      type: bool
      sample: true
    progress:
      description:
        - Bytes copied by a live migration in progress (C(memory_total_bytes), C(memory_processed_bytes),
          C(memory_remaining_bytes), the same for C(disk)), with C(memory_percent), C(disk_percent) and the overall
          C(percent) computed from what remains. Null for other migrations.
      type: dict
      sample: {memory_total_bytes: 134217728, memory_processed_bytes: 77201408, memory_remaining_bytes: 57016320,
               disk_total_bytes: null, disk_processed_bytes: null, disk_remaining_bytes: null,
               memory_percent: 57.5, disk_percent: null, percent: 57.5}
server:
  description: Id and name of O(server).
  returned: when O(server) is set
  type: dict
  sample: {id: 2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e, name: myinstance, status: MIGRATING, host: compute1}
'''

from ansible_collections.novaops.migration.plugins.module_utils.migrations import (
    FINAL_STATUSES, LIVE_MIGRATION, LIVE_REPORTED_STATUSES, MigrationModule, migration_progress, migration_summary,
    newest_first,
)


class MigrationInfoModule(MigrationModule):
    argument_spec = dict(
        server=dict(type='str'),
        migration=dict(type='str'),
        status=dict(type='str'),
        migration_type=dict(type='str', choices=['live-migration', 'migration', 'resize', 'evacuation']),
        host=dict(type='str'),
        in_progress=dict(type='bool', default=False),
    )
    module_kwargs = dict(supports_check_mode=True, required_by=dict(migration='server'))

    def run(self):
        server = self.find_server(self.params['server']) if self.params['server'] else None
        query = dict((option, self.params[option]) for option in ('status', 'migration_type', 'host')
                     if self.params[option])
        if server is not None:
            query['server_id'] = server.id
        records = newest_first(self.conn.compute.migrations(**query))

        wanted = self.params['migration']
        if wanted:
            records = [record for record in records if wanted in (str(record.id), record.uuid)]
            if not records:
                known = ', '.join(str(record.id) for record in self.migration_records(server.id)) or 'none'
                self.fail_json(msg="server '%s' (%s) has no migration '%s' (its migrations: %s)"
                                   % (server.name, server.id, wanted, known))
        if self.params['in_progress']:
            records = [record for record in records if record.status not in FINAL_STATUSES
                       and record.status != 'finished']

        progress = self._live_progress(records)
        result = dict(migrations=[migration_summary(record, progress.get(record.id)) for record in records])
        if server is not None:
            result['server'] = dict(id=server.id, name=server.name, status=server.status, host=server.compute_host)
        self.exit_json(False, **result)

    def _live_progress(self, records):
        """Byte counts of the live migrations in progress, by migration id (one request per server)."""
        progress = {}
        servers = set(record.server_id for record in records
                      if record.migration_type == LIVE_MIGRATION and record.status in LIVE_REPORTED_STATUSES)
        for server_id in sorted(servers):
            for running in self.conn.compute.server_migrations(server_id):
                progress[running.id] = migration_progress(running)
        return progress


def main():
    module = MigrationInfoModule()
    module()


if __name__ == '__main__':
    main()
