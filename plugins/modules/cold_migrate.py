#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: cold_migrate
short_description: Cold-migrate a Nova server to another compute host, verify it, confirm it
version_added: 0.2.0
description:
  - Moves a server to O(target_host) (or to a host the scheduler chooses) by stopping the guest, copying its disks
    and starting it again on the target, the equivalent of C(openstack server migrate --host TARGET SERVER) followed
    by C(openstack server migration confirm SERVER).
  - The server keeps its power state - a C(SHUTOFF) server stays C(SHUTOFF); the module verifies it.
  - Nova stops at C(VERIFY_RESIZE) with the server on the target. The module then checks the host; when it is the
    requested one it confirms (O(confirm=true)) or leaves the server in C(VERIFY_RESIZE) for the caller
    (O(confirm=false)); when it is not, it reverts the move and fails.
  - Idempotent - a server already on O(target_host) is left alone; a server already in C(VERIFY_RESIZE) on
    O(target_host) is only confirmed.
  - When Nova cannot move the server itself (typically because the source's nova-compute is broken while the host
    still answers), the C(novaops.migration.migrate) playbook with C(-e mode=cold -e cold_method=manual) moves it by
    hand; its API steps are M(novaops.migration.manual_move).
  - Needs an admin role.
options:
  server:
    description:
      - Name or id of the server, in any project.
    type: str
    required: true
  target_host:
    description:
      - Compute host (the nova-compute service's host) to move to (compute API microversion 2.56). The scheduler
        still checks that the server fits there.
      - When omitted, the scheduler chooses a host; every run then moves the server again.
    type: str
  method:
    description:
      - How to move the server; V(api) asks Nova to do it (the C(migrate) server action), the only way this module
        knows. Kept for the playbooks that set it; the manual move is M(novaops.migration.manual_move).
    type: str
    choices: [api]
    default: api
  confirm:
    description:
      - Confirm the move once verified, which frees the resources held on the source host.
      - V(false) leaves the server in C(VERIFY_RESIZE) on the target so the caller can check the guest first,
        then confirm (run again with V(true)) or revert (C(openstack server migration revert)). Nova may confirm
        on its own after C([DEFAULT] resize_confirm_window) seconds.
    type: bool
    default: true
extends_documentation_fragment:
  - novaops.migration.openstack
  - novaops.migration.openstack.MIGRATION_WAIT
  - novaops.migration.openstack.PROGRESS
  - novaops.migration.openstack.PORTS
  - novaops.migration.openstack.ACTION_GROUP
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The server, the target host and the microversion are checked; the predicted move is returned.
  diff_mode:
    support: full
    details: The diff shows the server's host and status before and after.
  platform:
    platforms: posix
notes:
  - Nova copies the disks over ssh as its own user, so C(nova) on the source must reach the target by ssh without a
    prompt (the C(novaops.migration.novaops_ssh_trust) role); M(novaops.migration.migration_preflight) checks this
    and the rest at once before a move.
  - A running guest is shut down for the copy (Nova asks it to power off, then forces it) and started again on the
    target - it reboots.
  - With O(wait=false) the module returns once Nova accepted the request, without confirming.
seealso:
  - module: novaops.migration.migration_preflight
  - module: novaops.migration.migration_info
  - module: novaops.migration.live_migrate
  - module: novaops.migration.manual_move
author:
  - novaops maintainers (@novaops)
'''

EXAMPLES = r'''
- name: Move myinstance to compute1, reboot included
  novaops.migration.cold_migrate:
    cloud: lab
    server: myinstance
    target_host: compute1
  register: moved

- name: Move it but leave the confirmation for later
  novaops.migration.cold_migrate:
    cloud: lab
    server: myinstance
    target_host: compute2
    confirm: false

- name: Confirm once the guest was checked (nothing else moves)
  novaops.migration.cold_migrate:
    cloud: lab
    server: myinstance
    target_host: compute2
'''

RETURN = r'''
server:
  description: The server after the move (see M(novaops.migration.server_info)); in check mode, the prediction.
  returned: always
  type: dict
  sample: {id: 2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e, name: myinstance, status: SHUTOFF, host: compute1,
           node: compute1, task_state: null, power_state: shutdown}
source_host:
  description: Compute host the server was on before the move.
  returned: always
  type: str
  sample: compute2
target_host:
  description: Compute host the server is on after the move; in check mode the requested one.
  returned: always
  type: str
  sample: compute1
method:
  description: How the server was moved.
  returned: always
  type: str
  sample: api
migration_id:
  description: Id of Nova's migration record of this move; null when nothing moved.
  returned: always
  type: int
  sample: 13
migration:
  description: Nova's migration record of this move as M(novaops.migration.migration_info) returns it; null when
    nothing moved.
  returned: always
  type: dict
  sample: {id: 13, uuid: 0f1e2d3c-4b5a-4968-8776-655443322110, status: confirmed, migration_type: migration,
           source_compute: compute2, dest_compute: compute1, in_progress: false}
confirmed:
  description: Whether the move is confirmed (the source's resources released). False with O(confirm=false).
  returned: always
  type: bool
  sample: true
duration:
  description: Seconds from the request to the verified end (confirmation included).
  returned: always
  type: float
  sample: 17.9
progress:
  description: Timeline of the move, one entry each time the migration's or the server's state changed.
  returned: always
  type: list
  elements: dict
  sample:
    - {elapsed: 0.3, migration_status: pre-migrating, server_status: RESIZE, task_state: resize_prep, host: compute2,
       percent: null, memory_percent: null, disk_percent: null, memory_remaining_bytes: null,
       disk_remaining_bytes: null}
    - {elapsed: 12.9, migration_status: finished, server_status: VERIFY_RESIZE, task_state: null, host: compute1,
       percent: null, memory_percent: null, disk_percent: null, memory_remaining_bytes: null,
       disk_remaining_bytes: null}
ports:
  description:
    - The server's ports after the move, as M(novaops.migration.server_info) returns them - a running server's once
      Neutron reports them C(ACTIVE) (see O(ports_timeout)).
  returned: when the move was verified
  type: list
  elements: dict
  sample: [{id: 5e0c9d1f-3f2a-4c55-8d0e-6a7b8c9d0e1f, binding_host: compute1}]
repaired_ports:
  description: Ids of the ports whose admin state was cycled because Neutron kept them DOWN (O(repair_port_status)).
  returned: when the move was verified
  type: list
  elements: str
  sample: []
actions:
  description: What the module did (or would do), in order - C(migrate), C(confirm), C(revert).
  returned: always
  type: list
  elements: str
  sample: [migrate, confirm]
'''

from ansible_collections.novaops.migration.plugins.module_utils.openstack import MIGRATION_TIMEOUT, ModuleFailure
from ansible_collections.novaops.migration.plugins.module_utils.migrations import (
    AWAITING_CONFIRMATION, COLD_MIGRATION, COLD_MIGRATION_HOST_MICROVERSION, FAILED_STATUSES, RESIZE, MigrationModule,
    MigrationWatch, move_followup_argument_spec,
)
from ansible_collections.novaops.migration.plugins.module_utils.servers import (
    TRANSITIONAL_STATUSES, fault_message, server_summary, summary_on_host,
)

# Statuses Nova cold-migrates from; the same status comes back after the confirmation.
COLD_MIGRATABLE_STATUSES = ('ACTIVE', 'SHUTOFF')


class ColdMigrateModule(MigrationModule):
    argument_spec = dict(
        server=dict(type='str', required=True),
        target_host=dict(type='str'),
        method=dict(type='str', default='api', choices=['api']),
        confirm=dict(type='bool', default=True),
        **move_followup_argument_spec()
    )
    module_kwargs = dict(supports_check_mode=True)
    wait_timeout = MIGRATION_TIMEOUT

    def run(self):
        self.take_move_slot()
        # find
        server = self.find_server(self.params['server'])
        target = self.params['target_host']
        self.before = server_summary(server)
        self.actions = []
        self.watch = None
        self.source = server.compute_host
        self.confirmed = False

        # decide: a pending move is confirmed, a server already there is left alone
        if server.status == 'VERIFY_RESIZE':
            self.exit_json(**self._finish_pending(server))
        if target and self.source == target:
            self.exit_json(False, diff=self.diff(self._where(server), self._where(server)), **self._result(server))
        self._require_cold_migratable(server)
        if target:
            self.require_compute_host(target)

        # act, wait, verify
        self.exit_json(**self._migrate_with_api(server))

    # -- method: api ---------------------------------------------------------
    def _migrate_with_api(self, server):
        target = self.params['target_host']
        if target:
            self.require_microversion(self.conn.compute, COLD_MIGRATION_HOST_MICROVERSION,
                                      'cold migration to a chosen host (target_host)')
        self.actions = ['migrate'] + (['confirm'] if self.params['confirm'] and self.params['wait'] else [])
        predicted = summary_on_host(self.before, target,
                                    status=server.status if 'confirm' in self.actions else 'VERIFY_RESIZE')
        predicted_result = self._result(server)
        predicted_result.update(server=predicted, target_host=target)
        if self.check_mode:
            return self.outcome(
                True, diff=self.diff(self._where(server), dict(host=target, status=predicted['status'])),
                **predicted_result)

        self.watch = MigrationWatch(self, server.id, [COLD_MIGRATION, RESIZE],
                                    known_ids=self.known_migration_ids(server.id),
                                    progress_file=self.params['progress_file'])
        self.conn.compute.migrate_server(server, host=target)
        if not self.params['wait']:
            return self._finished(self.watch.poll().server)

        snapshot = self.wait_for(self.watch.poll, ['VERIFY_RESIZE', 'CONFIRMED'], ['ERROR', 'GONE', 'FAILED'],
                                 what=self._what(server), state_of=self._state_of,
                                 describe_failure=lambda current: self.explain_failed_move(current.server,
                                                                                           current.migration))
        moved = snapshot.server
        if snapshot.migration_status == 'confirmed':
            # Nova confirmed on its own (resize_confirm_window) before we saw VERIFY_RESIZE.
            self.confirmed = True
            self.actions = ['migrate']
        wrong_host = self._wrong_host(moved)
        if wrong_host:
            self._revert(moved, wrong_host)
        if self.params['confirm'] and not self.confirmed:
            moved = self._confirm(moved, server.status)
        self._verify_power_state(moved, server.status)
        return self._finished(moved, settle=True)

    # -- find / decide -------------------------------------------------------
    def _require_cold_migratable(self, server):
        name = "server '%s' (%s)" % (server.name, server.id)
        if server.status == 'ERROR':
            raise ModuleFailure(
                msg="%s is in ERROR state (%s); Nova does not migrate it. Find out what broke, then reset "
                    "it with `openstack server set --state active` (or stop it) or rebuild it."
                    % (name, fault_message(server) or 'no fault recorded'))
        if server.status in TRANSITIONAL_STATUSES or server.task_state:
            raise ModuleFailure(msg="%s is %s with task '%s' in progress; wait until it is ACTIVE or SHUTOFF again."
                                    % (name, server.status, server.task_state))
        if server.status not in COLD_MIGRATABLE_STATUSES:
            raise ModuleFailure(msg="%s is %s; Nova cold-migrates only ACTIVE or SHUTOFF servers. Resume, unpause or "
                                    "unshelve it first." % (name, server.status))

    def _finish_pending(self, server):
        """The server waits in VERIFY_RESIZE: confirm it when it is where we want it."""
        target = self.params['target_host']
        pending = [record for record in self.migration_records(server.id, [COLD_MIGRATION, RESIZE])
                   if record.status == AWAITING_CONFIRMATION]
        migration = pending[0] if pending else None
        if migration is not None:
            self.source = migration.source_compute
        if migration is None or migration.migration_type == RESIZE or (target and server.compute_host != target):
            earlier = migration.migration_type if migration else 'move'
            earlier_source = ' from %s' % migration.source_compute if migration else ''
            raise ModuleFailure(
                msg="server '%s' (%s) is in VERIFY_RESIZE on %s from an earlier %s%s; confirm it "
                    "(`openstack server migration confirm %s`) or revert it (`openstack server migration "
                    "revert %s`) first."
                    % (server.name, server.id, server.compute_host, earlier, earlier_source, server.id,
                       server.id))
        self.watch = MigrationWatch(self, server.id, [COLD_MIGRATION], migration_id=migration.id,
                                    progress_file=self.params['progress_file'])
        self.watch.poll()
        if not self.params['confirm']:
            return self.outcome(False, diff=self.diff(self._where(server), self._where(server)), **self._result(server))
        self.actions = ['confirm']
        power_before = 'SHUTOFF' if server.power_state == 4 else 'ACTIVE'
        predicted_result = self._result(server)
        predicted_result.update(server=dict(self.before, status=power_before))
        if self.check_mode:
            return self.outcome(True, diff=self.diff(self._where(server), dict(self._where(server),
                                                                               status=power_before)),
                                **predicted_result)
        moved = self._confirm(server, power_before)
        self._verify_power_state(moved, power_before)
        return self._finished(moved, settle=True)

    # -- wait ----------------------------------------------------------------
    @staticmethod
    def _state_of(snapshot):
        server = snapshot.server
        if server is None:
            return 'GONE'
        if server.status in ('ERROR', 'VERIFY_RESIZE'):
            return server.status
        settled = server.status in COLD_MIGRATABLE_STATUSES and not server.task_state
        if settled and snapshot.migration_status == 'confirmed':
            return 'CONFIRMED'
        # Nova puts the server back where it was when the move fails: it never reached VERIFY_RESIZE.
        if settled and (snapshot.migration is None or snapshot.migration_status in FAILED_STATUSES
                        or snapshot.migration_status == 'reverted'):
            return 'FAILED'
        return 'MIGRATION %s (%s)' % ((snapshot.migration_status or 'not yet recorded').upper(),
                                      server.task_state or server.status)

    def _what(self, server):
        return "cold migration of server '%s' (%s) from %s to %s" % (
            server.name, server.id, self.source, self.params['target_host'] or 'a host the scheduler chooses')

    def _wrong_host(self, server):
        target = self.params['target_host']
        if target and server.compute_host != target:
            return 'the server arrived on %s, not on %s' % (server.compute_host, target)
        if server.compute_host == self.source:
            return 'the server is still on %s' % self.source
        return None

    # -- confirm / revert ----------------------------------------------------
    def _confirm(self, server, expected_status):
        self.conn.compute.confirm_server_resize(server)
        settled = self.wait_for(self.watch.poll, ['SETTLED'], ['ERROR', 'GONE'],
                                what="confirmation of the %s" % self._what(server),
                                state_of=lambda current: self._settled_state(current, 'confirmed'),
                                describe_failure=lambda current: self.explain_failed_move(current.server,
                                                                                          current.migration))
        self.confirmed = True
        return settled.server

    @staticmethod
    def _settled_state(snapshot, migration_status):
        server = snapshot.server
        if server is None:
            return 'GONE'
        if server.status == 'ERROR':
            return 'ERROR'
        if server.status in COLD_MIGRATABLE_STATUSES and not server.task_state and \
                snapshot.migration_status == migration_status:
            return 'SETTLED'
        return '%s, migration %s' % (server.status, snapshot.migration_status)

    def _revert(self, server, reason):
        self.actions = ['migrate', 'revert']
        self.conn.compute.revert_server_resize(server)
        reverted = self.wait_for(self.watch.poll, ['SETTLED'], ['ERROR', 'GONE'],
                                 what="revert of the %s" % self._what(server),
                                 state_of=lambda current: self._settled_state(current, 'reverted'),
                                 describe_failure=lambda current: self.explain_failed_move(current.server,
                                                                                           current.migration))
        raise ModuleFailure(
            msg="cold migration of server '%s' (%s) could not be verified (%s) and was reverted; the server "
                "is %s on %s." % (server.name, server.id, reason, reverted.server.status,
                                  reverted.server.compute_host),
            **self._result(reverted.server))

    def _verify_power_state(self, server, expected_status):
        if self.confirmed and server.status != expected_status:
            raise ModuleFailure(
                msg="server '%s' (%s) was moved to %s but is %s, it was %s before; start or stop it again."
                    % (server.name, server.id, server.compute_host, server.status, expected_status),
                **self._result(server))

    # -- return --------------------------------------------------------------
    @staticmethod
    def _where(server):
        return dict(host=server.compute_host, status=server.status)

    def _result(self, server):
        return dict(
            server=server_summary(server) if server is not None else self.before,
            source_host=self.source,
            # Where the server is once it left the source; until then, where it is asked to go.
            target_host=server.compute_host if server is not None and server.compute_host != self.source
            else self.params['target_host'],
            method=self.params['method'],
            migration_id=self.watch.migration_id if self.watch else None,
            migration=self.watch.migration() if self.watch else None,
            confirmed=self.confirmed,
            duration=self.watch.elapsed() if self.watch else 0.0,
            progress=self.watch.samples if self.watch else [],
            actions=self.actions,
        )

    def _finished(self, server, settle=False):
        """The outcome of a move that was made: where the server is now (and its ports, once settled)."""
        result = self._result(server)
        if settle:
            result['ports'], result['repaired_ports'] = self.ports_after_move(server)
        return self.outcome(True, diff=self.diff(dict(host=self.source, status=self.before['status']),
                                                 self._where(server)), **result)


def main():
    module = ColdMigrateModule()
    module()


if __name__ == '__main__':
    main()
