#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: migration_preflight
short_description: Check everything a migration needs and report every problem at once
version_added: 0.2.0
description:
  - Before moving a server, checks what Nova would otherwise find one failure at a time - the server exists and is
    neither in C(ERROR) nor busy; the target is a compute host, not the server's own, with its nova-compute up and
    enabled; the source's nova-compute is up; the target has room for the server's flavor in Placement; the mode
    suits the server's state (live migration needs a running server).
  - Results of checks run on the hosts themselves (libvirt reachable from the source, nova's ssh from the source to
    the target) are passed in O(host_checks) by the playbook that ran them, so all problems come out together.
  - Changes nothing; C(changed) is always false.
options:
  server:
    description:
      - Name or id of the server to move, in any project.
    type: str
    required: true
  target_host:
    description:
      - Compute host (the nova-compute service's host) to move to.
    type: str
    required: true
  mode:
    description:
      - V(live) or V(cold) migration. V(auto) picks V(live) for a running server and V(cold) for a C(SHUTOFF) one.
    type: str
    choices: [auto, live, cold]
    default: auto
  host_checks:
    description:
      - Results of checks done outside the cloud's APIs, for example on the source compute with C(delegate_to).
        A check that is not C(ok) is reported with the others.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: What was checked.
        type: str
        required: true
      ok:
        description: Whether the check passed.
        type: bool
        required: true
      detail:
        description: What was found, or what to do about it.
        type: str
        default: ''
  fail_on_problems:
    description:
      - Fail the task when there is a problem, listing them all in the message. With V(false) the task succeeds and
        RV(ready) tells.
    type: bool
    default: true
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
notes:
  - The room check compares the flavor's C(VCPU), C(MEMORY_MB) and C(DISK_GB) (root disk, unless the server boots
    from a volume, plus ephemeral and swap) with the target's Placement inventory, the way Placement counts -
    C((total - reserved) x allocation_ratio - used), and each amount with C(max_unit). Custom resources of a
    flavor's extra specs are not checked.
  - Needs an admin role.
seealso:
  - module: novaops.migration.live_migrate
  - module: novaops.migration.cold_migrate
  - module: novaops.migration.compute_service_info
author:
  - novaops maintainers (@novaops)
'''

EXAMPLES = r'''
- name: Can myinstance go to compute2?
  novaops.migration.migration_preflight:
    cloud: lab
    server: myinstance
    target_host: compute2

- name: Same, with the libvirt check done on the source compute
  novaops.migration.migration_preflight:
    cloud: lab
    server: myinstance
    target_host: compute2
    mode: live
    host_checks:
      - name: libvirt on compute2 reachable from compute1
        ok: "{{ virsh_result.rc == 0 }}"
        detail: "{{ virsh_result.stderr }}"
    fail_on_problems: false
  register: preflight

- name: Say what is wrong
  ansible.builtin.debug:
    var: preflight.problems
  when: not preflight.ready
'''

RETURN = r'''
awaiting_confirmation:
  description: Whether the server rests in C(VERIFY_RESIZE) on O(target_host) from a cold migration there that was
    not confirmed (its module stopped waiting); the move then only confirms it.
  returned: always
  type: bool
  sample: false
ready:
  description: Whether every check passed.
  returned: always
  type: bool
  sample: false
problems:
  description: One sentence per failed check, saying what is wrong and what to do.
  returned: always
  type: list
  elements: str
  sample:
    - nova-compute on the target compute2 is down (last report 2026-11-23T22:40:01); start it.
    - "libvirt on compute2 reachable from compute1: virsh -c qemu+tcp://10.99.0.12/system failed: unable to connect
      to server at '10.99.0.12:16509': Connection refused"
checks:
  description: Every check with its outcome.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: server exists, ok: true, detail: "server myinstance (2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e)"}
    - {name: target has room, ok: true, detail: "VCPU 1 of 7.0 free, MEMORY_MB 512 of 1536.0 free, DISK_GB 1 of 20.0 free"}
mode:
  description: The mode checked, C(live) or C(cold) (resolved from V(auto)); null when the server was not found.
  returned: always
  type: str
  sample: live
server:
  description: The server (see M(novaops.migration.server_info)); null when not found.
  returned: always
  type: dict
  sample: {id: 2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e, name: myinstance, status: ACTIVE, host: compute1}
source_host:
  description: Compute host the server is on.
  returned: always
  type: str
  sample: compute1
target_host:
  description: The requested target host.
  returned: always
  type: str
  sample: compute2
target:
  description: What Nova and Placement say about the target - its hypervisor node, address, resource provider, and
    free amount per resource class.
  returned: always
  type: dict
  sample: {node: compute2, host_ip: 10.99.0.12, resource_provider: 04bdeae2-eba8-4066-b742-b38d35cbf8d2,
           free: {VCPU: 7.0, MEMORY_MB: 1536.0, DISK_GB: 20.0}}
'''

from ansible_collections.novaops.migration.plugins.module_utils.migrations import (
    AWAITING_CONFIRMATION, COLD_MIGRATION, MigrationModule,
)
# The room check, shared with manual_move; free_amount stays importable from here, where it was first written.
from ansible_collections.novaops.migration.plugins.module_utils.manual_move import (  # pylint: disable=unused-import
    flavor_resources, free_amount, no_room_message, placement_room,
)
from ansible_collections.novaops.migration.plugins.module_utils.servers import (
    TRANSITIONAL_STATUSES, fault_message, server_summary,
)

# Statuses Nova migrates from, per mode.
MIGRATABLE_STATUSES = dict(live=('ACTIVE', 'PAUSED'), cold=('ACTIVE', 'SHUTOFF'))


class MigrationPreflightModule(MigrationModule):
    argument_spec = dict(
        server=dict(type='str', required=True),
        target_host=dict(type='str', required=True),
        mode=dict(type='str', default='auto', choices=['auto', 'live', 'cold']),
        host_checks=dict(type='list', elements='dict', default=[], options=dict(
            name=dict(type='str', required=True),
            ok=dict(type='bool', required=True),
            detail=dict(type='str', default=''),
        )),
        fail_on_problems=dict(type='bool', default=True),
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        self.checks = []
        self.awaiting_confirmation = False
        self.target = dict(node=None, host_ip=None, resource_provider=None, free={})
        target = self.params['target_host']

        server = self._check_server()
        self.mode = self._resolve_mode(server)
        target_service = self._check_target_service(target)
        if server is not None and not self.awaiting_confirmation:
            self._check_source_service(server)
            self._check_different_host(server, target)
            self._check_mode(server)
            if target_service is not None:
                self._check_room(server, target)
        for check in self.params['host_checks']:
            self._record(check['name'], check['ok'], check['detail'])

        problems = ['%s: %s' % (check['name'], check['detail']) if check['detail'] else check['name']
                    for check in self.checks if not check['ok']]
        result = dict(
            ready=not problems, problems=problems, checks=self.checks, mode=self.mode,
            server=server_summary(server) if server is not None else None,
            source_host=server.compute_host if server is not None else None,
            target_host=target, target=self.target, awaiting_confirmation=self.awaiting_confirmation,
        )
        if problems and self.params['fail_on_problems']:
            numbered = ' '.join('(%d) %s.' % (index + 1, problem.rstrip('.')) for index, problem in enumerate(problems))
            self.fail_json(msg="%s of server '%s' to %s would fail, %d problem%s: %s"
                               % ('%s migration' % self.mode if self.mode else 'migration', self.params['server'],
                                  target, len(problems), '' if len(problems) == 1 else 's', numbered),
                           changed=False, **result)
        self.exit_json(False, **result)

    def _record(self, name, ok, detail):
        self.checks.append(dict(name=name, ok=bool(ok), detail=detail or ''))
        return ok

    # -- the server ----------------------------------------------------------
    def _check_server(self):
        server = self.find_server(self.params['server'], required=False)
        if server is None:
            self._record('server exists', False, "server '%s' not found in cloud %s (all projects); check the name "
                                                 "with `openstack server list --all-projects`"
                         % (self.params['server'], self.cloud_label()))
            return None
        self._record('server exists', True, 'server %s (%s) on %s' % (server.name, server.id, server.compute_host))
        if server.status == 'ERROR':
            self._record('server is healthy', False, "server is in ERROR state (%s); find out what broke, then reset "
                                                     "it with `openstack server set --state active`"
                         % (fault_message(server) or 'no fault recorded'))
        elif server.status in TRANSITIONAL_STATUSES or server.task_state:
            self._record('server is idle', False, "server is %s with task '%s' in progress; wait until it ends"
                         % (server.status, server.task_state))
        elif server.status == 'VERIFY_RESIZE' and self._awaits_confirmation_on_target(server):
            # A cold move to this target whose module stopped waiting (its timeout, an interruption): the same
            # move run again confirms it (cold_migrate), so it is no reason to refuse.
            self.awaiting_confirmation = True
            self._record('server is idle', True, 'server awaits the confirmation of its cold migration to %s; the '
                                                 'move confirms it' % server.compute_host)
        elif server.status == 'VERIFY_RESIZE':
            self._record('server is idle', False, 'server is in VERIFY_RESIZE from an earlier move; confirm or '
                                                  'revert it first')
        else:
            self._record('server is healthy', True, 'server is %s' % server.status)
        return server

    def _awaits_confirmation_on_target(self, server):
        target = self.params['target_host']
        if self.params['mode'] == 'live' or server.compute_host != target:
            return False
        pending = [record for record in self.migration_records(server.id, [COLD_MIGRATION])
                   if record.status == AWAITING_CONFIRMATION and record.dest_compute == target]
        return bool(pending)

    def _resolve_mode(self, server):
        if self.awaiting_confirmation:
            return 'cold'
        mode = self.params['mode']
        if mode != 'auto':
            return mode
        if server is None:
            return None
        return 'cold' if server.status == 'SHUTOFF' else 'live'

    def _check_mode(self, server):
        allowed = MIGRATABLE_STATUSES[self.mode]
        if server.status == 'ERROR' or server.status in TRANSITIONAL_STATUSES or server.status == 'VERIFY_RESIZE':
            return  # already reported
        if server.status in allowed:
            self._record('%s migration suits the server' % self.mode, True, 'server is %s' % server.status)
        elif self.mode == 'live' and server.status == 'SHUTOFF':
            self._record('live migration suits the server', False, 'server is SHUTOFF; live migration needs a '
                                                                   'running guest, use cold migration (mode=cold)')
        else:
            self._record('%s migration suits the server' % self.mode, False,
                         'server is %s; Nova %s-migrates only %s servers'
                         % (server.status, self.mode, ' or '.join(allowed)))

    # -- the hosts -----------------------------------------------------------
    def _check_target_service(self, target):
        service = self.compute_service(target)
        if service is None:
            self._record('target is a compute host', False, self.unknown_host_message(target))
            return None
        self._record('target is a compute host', True, 'nova-compute runs on %s' % target)
        if service.state != 'up':
            self._record('nova-compute on the target is up', False,
                         'nova-compute on the target %s is down (last report %s); start it and wait until '
                         '`openstack compute service list` shows it up' % (target, service.updated_at or 'never'))
        else:
            self._record('nova-compute on the target is up', True, 'up, last report %s' % service.updated_at)
        if service.status != 'enabled':
            self._record('nova-compute on the target is enabled', False,
                         "nova-compute on the target %s is disabled%s; the scheduler will not place servers there. "
                         "Enable it with `openstack compute service set --enable %s nova-compute`"
                         % (target, " ('%s')" % service.disabled_reason if service.disabled_reason else '', target))
        else:
            self._record('nova-compute on the target is enabled', True, 'enabled')
        return service

    def _check_source_service(self, server):
        source = server.compute_host
        service = self.compute_service(source)
        if service is None or service.state != 'up':
            self._record('nova-compute on the source is up', False,
                         'nova-compute on the source %s is down; Nova cannot move a server off a host whose compute '
                         'service does not answer (start it, or evacuate the host)' % source)
        else:
            self._record('nova-compute on the source is up', True, 'up')

    def _check_different_host(self, server, target):
        if server.compute_host == target:
            self._record('target differs from the source', False,
                         'the server already runs on %s; there is nothing to move' % target)
        else:
            self._record('target differs from the source', True, '%s -> %s' % (server.compute_host, target))

    # -- room ------------------------------------------------------------------
    def _target_node(self, target):
        for hypervisor in self.conn.compute.hypervisors(details=True):
            if (hypervisor.service_details or {}).get('host') == target:
                return hypervisor
        return None

    def _check_room(self, server, target):
        name = 'target has room'
        hypervisor = self._target_node(target)
        if hypervisor is None:
            self._record(name, False, 'Nova lists no hypervisor for %s; is its nova-compute registered '
                                      '(`nova-manage cell_v2 discover_hosts`)?' % target)
            return
        self.target.update(node=hypervisor.name, host_ip=hypervisor.host_ip)
        providers = list(self.conn.placement.resource_providers(name=hypervisor.name))
        if not providers:
            self._record(name, False, 'Placement has no resource provider named %s; nova-compute on %s has not '
                                      'reported its inventory' % (hypervisor.name, target))
            return
        provider = providers[0]
        self.target['resource_provider'] = provider.id
        room = placement_room(self.conn, provider, flavor_resources(server))
        self.target['free'].update(room['free'])
        if room['shortages']:
            self._record(name, False, no_room_message(server, target, room['shortages']))
        else:
            self._record(name, True, ', '.join(room['fits']))


def main():
    module = MigrationPreflightModule()
    module()


if __name__ == '__main__':
    main()
