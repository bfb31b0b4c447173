#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: server_state
short_description: Reset the state Nova records for a server
version_added: 0.2.0
description:
  - Sets the state Nova records for a server to C(active) or C(error), like
    C(openstack server set --state active), and clears its task state.
  - This changes only Nova's record, never the guest. Use it after checking where the guest really runs,
    for example when a failed or aborted migration left a server in C(ERROR) although its guest still runs
    on its host (the migrate playbook does that check with libvirt before it calls this module).
  - When the server is recorded C(ACTIVE) again and its guest is up, its ports are awaited C(ACTIVE) in Neutron
    (see O(repair_port_status)) - the failure that left the server in C(ERROR) may have left them C(DOWN) as well.
  - Needs an administrator (the C(os_compute_api:os-admin-actions:reset_state) policy).
options:
  server:
    description:
      - Name or id of the server.
    type: str
    required: true
  state:
    description:
      - The state to record. V(active) is shown by Nova as C(ACTIVE), V(error) as C(ERROR).
    type: str
    choices: [active, error]
    default: active
extends_documentation_fragment:
  - novaops.migration.openstack
  - novaops.migration.openstack.PORTS
  - novaops.migration.openstack.ACTION_GROUP
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
seealso:
  - module: novaops.migration.server_info
  - module: novaops.migration.live_migrate
author:
  - novaops maintainers (@novaops)
'''

EXAMPLES = r'''
- name: Ask libvirt on the compute whether the guest of myinstance runs
  ansible.builtin.command:
    argv: [virsh, domstate, instance-0000000a]
  delegate_to: compute1
  register: domstate
  changed_when: false

- name: Record myinstance as ACTIVE again, its guest runs
  novaops.migration.server_state:
    cloud: lab
    server: myinstance
    state: active
  when: domstate.stdout | trim == 'running'
'''

RETURN = r'''
server:
  description: The server after the reset (in check mode, as it is).
  returned: success
  type: dict
  sample: {id: 2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e, name: myinstance, status: ACTIVE, task_state: null,
           host: compute1}
previous_status:
  description: The status Nova showed before.
  returned: success
  type: str
  sample: ERROR
ports:
  description: The server's ports with their status and binding host, once settled.
  returned: when the server was recorded C(ACTIVE) again
  type: list
  elements: dict
  sample: [{id: 5e0c9d1f-3f2a-4c55-8d0e-6a7b8c9d0e1f, status: ACTIVE, binding_host: compute1}]
repaired_ports:
  description: Ids of the ports whose admin state was cycled because Neutron kept them DOWN.
  returned: when the server was recorded C(ACTIVE) again
  type: list
  elements: str
  sample: [5e0c9d1f-3f2a-4c55-8d0e-6a7b8c9d0e1f]
'''

from ansible_collections.novaops.migration.plugins.module_utils.migrations import MigrationModule, ports_argument_spec

# What Nova shows for each state this module records (with no task in progress).
SHOWN_AS = dict(active='ACTIVE', error='ERROR')


class ServerStateModule(MigrationModule):
    argument_spec = dict(
        server=dict(type='str', required=True),
        state=dict(type='str', default='active', choices=['active', 'error']),
        **ports_argument_spec()
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        name_or_id = self.params['server']
        server = self.find_one('server', name_or_id,
                               lambda: self.conn.compute.servers(name=name_or_id, all_projects=True),
                               get_by_id=self.conn.compute.get_server)
        wanted = SHOWN_AS[self.params['state']]
        before = self._summary(server)
        if server.status == wanted and not server.task_state:
            self.exit_json(False, diff=self.diff(before, before), server=before, previous_status=server.status)
        predicted = dict(before, status=wanted, task_state=None)
        if self.check_mode:
            self.exit_json(True, diff=self.diff(before, predicted), server=before, previous_status=server.status)

        self.conn.compute.reset_server_state(server, self.params['state'])
        current = self.conn.compute.get_server(server.id)
        after = self._summary(current)
        if after['status'] != wanted:
            self.fail_json(msg="server '%s' (%s) is %s after resetting its state to %s"
                               % (server.name, server.id, after['status'], self.params['state']),
                           server=after, previous_status=server.status)
        settled = {}
        if wanted == 'ACTIVE':
            settled['ports'], settled['repaired_ports'] = self.ports_after_move(current)
        self.exit_json(True, diff=self.diff(before, after), server=after, previous_status=server.status, **settled)

    @staticmethod
    def _summary(server):
        return dict(id=server.id, name=server.name, status=server.status, task_state=server.task_state,
                    host=server.compute_host)


def main():
    module = ServerStateModule()
    module()


if __name__ == '__main__':
    main()
