#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: cold_migrate
short_description: Cold-migrate a Nova server to another compute host, verify it, confirm it
version_added: 0.1.0
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
      - How to move the server.
      - V(api) asks Nova to do it (the C(migrate) server action).
      - V(manual) is the by-hand procedure for when Nova cannot move the server itself, typically because the
        source's nova-compute is broken while the host still answers. It needs the source compute, the target
        compute and nova's database, so the whole move is the C(novaops.migration.migrate) playbook with
        C(-e mode=cold -e cold_method=manual) (C(playbooks/tasks/manual_cold_migrate.yml)); this module does its
        API steps, one per O(manual_step), and fails pointing at the playbook without one.
    type: str
    choices: [api, manual]
    default: api
  manual_step:
    description:
      - With O(method=manual), the API step to run; each checks first and changes only what is not done yet.
      - V(plan) changes nothing - it refuses what cannot be moved by hand (volume-backed, ACTIVE without
        O(allow_stop), ERROR or busy servers, an unknown target) and returns the facts the host-side tasks need.
      - V(stop) shuts the server down through Nova (source nova-compute up).
      - V(records) runs after nova's database row was moved (M(novaops.migration.nova_db_instance)) - it moves the
        server's Placement allocations from the source's resource provider to the target's (microversion 1.28,
        checking the consumer generation) and binds each port to the target host.
      - V(start) starts the server on the host Nova's row names - a hard reboot (or a start when C(SHUTOFF)) which
        rebuilds the libvirt domain from Nova's records - and waits until it is C(ACTIVE) and running.
      - V(rollback) is V(records) backwards, after the database row was moved back.
    type: str
    choices: [plan, stop, records, start, rollback]
  source_host:
    description:
      - With O(method=manual), the host the server leaves. Needed to resume a move whose database step is done
        (Nova then already names O(target_host)); defaults to the host Nova names.
    type: str
  allow_stop:
    description:
      - With O(method=manual), whether an C(ACTIVE) server may be shut down for the copy. V(false) makes the
        V(plan) and V(stop) steps fail on an C(ACTIVE) server without changing anything.
    type: bool
    default: false
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
  - The manual method never copies through the Ansible controller - the playbook runs rsync as C(nova) on the
    source straight to the target over nova's ssh trust - and never touches the database itself; see
    M(novaops.migration.nova_db_instance).
seealso:
  - module: novaops.migration.migration_preflight
  - module: novaops.migration.migration_info
  - module: novaops.migration.live_migrate
  - module: novaops.migration.nova_db_instance
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

- name: API step of a manual move - bind the allocations and ports to compute1 once nova's row names it
  novaops.migration.cold_migrate:
    cloud: lab
    server: myinstance
    target_host: compute1
    source_host: compute2
    method: manual
    manual_step: records
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
step:
  description: With O(method=manual), the step run (V(plan) returns the facts below instead).
  returned: method=manual, except plan
  type: str
  sample: records
nova_host:
  description: The host Nova's record names now.
  returned: manual_step=plan
  type: str
  sample: compute2
already_there:
  description: Whether the source and the target are the same host (nothing to move).
  returned: manual_step=plan
  type: bool
  sample: false
moved_in_nova:
  description: Whether Nova's record already names the target (a resumed move).
  returned: manual_step=plan
  type: bool
  sample: false
source_node:
  description: Hypervisor node of the source; null when Nova has no nova-compute there.
  returned: manual_step=plan
  type: str
  sample: compute2
target_node:
  description: Hypervisor node of the target.
  returned: manual_step=plan
  type: str
  sample: compute1
source_service_up:
  description: Whether Nova reports the source's nova-compute up.
  returned: manual_step=plan
  type: bool
  sample: true
target_service_up:
  description: Whether Nova reports the target's nova-compute up.
  returned: manual_step=plan
  type: bool
  sample: true
instance_name:
  description: The server's libvirt domain name.
  returned: manual_step=plan
  type: str
  sample: instance-00000003
instance_dir:
  description: The server's instance directory (the default instances_path).
  returned: manual_step=plan
  type: str
  sample: /var/lib/nova/instances/2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e
ports:
  description:
    - The server's ports and the host each is bound to.
    - After a verified move with O(method=api), also their status (a running server's ports once Neutron reports
      them C(ACTIVE), see O(ports_timeout)) and the other fields of M(novaops.migration.server_info)'s ports.
  returned: O(method=api) when the move was verified; manual_step=plan, records, rollback
  type: list
  elements: dict
  sample: [{id: 5e0c9d1f-3f2a-4c55-8d0e-6a7b8c9d0e1f, binding_host: compute1}]
repaired_ports:
  description: Ids of the ports whose admin state was cycled because Neutron kept them DOWN (O(repair_port_status)).
  returned: O(method=api) when the move was verified
  type: list
  elements: str
  sample: []
actions:
  description: What the module did (or would do), in order - C(migrate), C(confirm), C(revert); with
    O(method=manual) C(stop), C(allocations), C(port ID), C(start) or C(reboot HARD).
  returned: always
  type: list
  elements: str
  sample: [migrate, confirm]
'''

from ansible_collections.novaops.migration.plugins.module_utils.openstack import MIGRATION_TIMEOUT
from ansible_collections.novaops.migration.plugins.module_utils.migrations import (
    COLD_MIGRATION, COLD_MIGRATION_HOST_MICROVERSION, FAILED_STATUSES, RESIZE, MigrationModule, MigrationWatch,
    move_followup_argument_spec,
)
from ansible_collections.novaops.migration.plugins.module_utils.manual_move import (
    CONSUMER_GENERATION_MICROVERSION, RecordMoveError, move_allocations, node_of, port_bindings, rebind_ports,
)
from ansible_collections.novaops.migration.plugins.module_utils.servers import (
    TRANSITIONAL_STATUSES, fault_message, power_state_name, server_image_id, server_summary,
)

# Statuses Nova cold-migrates from; the same status comes back after the confirmation.
COLD_MIGRATABLE_STATUSES = ('ACTIVE', 'SHUTOFF')
# A migration record waiting for a confirm or revert.
AWAITING_CONFIRMATION = 'finished'


class ColdMigrateModule(MigrationModule):
    argument_spec = dict(
        server=dict(type='str', required=True),
        target_host=dict(type='str'),
        method=dict(type='str', default='api', choices=['api', 'manual']),
        confirm=dict(type='bool', default=True),
        manual_step=dict(type='str', choices=['plan', 'stop', 'records', 'start', 'rollback']),
        source_host=dict(type='str'),
        allow_stop=dict(type='bool', default=False),
        **move_followup_argument_spec()
    )
    module_kwargs = dict(supports_check_mode=True)
    wait_timeout = MIGRATION_TIMEOUT

    def run(self):
        # find
        server = self.find_server(self.params['server'])
        target = self.params['target_host']
        self.before = server_summary(server)
        self.actions = []
        self.watch = None
        self.source = server.compute_host
        self.confirmed = False
        if self.params['method'] == 'manual':
            self._migrate_manually(server)

        # decide: a pending move is confirmed, a server already there is left alone
        if server.status == 'VERIFY_RESIZE':
            self._finish_pending(server)
        if target and self.source == target:
            self.exit_json(False, diff=self.diff(self._where(server), self._where(server)), **self._result(server))
        self._require_cold_migratable(server)
        if target:
            self.require_compute_host(target)

        # act, wait, verify
        self._migrate_with_api(server)

    # -- method: api ---------------------------------------------------------
    def _migrate_with_api(self, server):
        target = self.params['target_host']
        if target:
            self.require_microversion(self.conn.compute, COLD_MIGRATION_HOST_MICROVERSION,
                                      'cold migration to a chosen host (target_host)')
        self.actions = ['migrate'] + (['confirm'] if self.params['confirm'] and self.params['wait'] else [])
        predicted = dict(self.before, host=target, node=None,
                         status=server.status if 'confirm' in self.actions else 'VERIFY_RESIZE')
        predicted_result = self._result(server)
        predicted_result.update(server=predicted, target_host=target)
        self.exit_if_check_mode(True, diff=self.diff(self._where(server), dict(host=target, status=predicted['status'])),
                                **predicted_result)

        self.watch = MigrationWatch(self, server.id, [COLD_MIGRATION, RESIZE],
                                    known_ids=self.known_migration_ids(server.id),
                                    progress_file=self.params['progress_file'])
        self.conn.compute.migrate_server(server, host=target)
        if not self.params['wait']:
            self._exit(self.watch.poll().server)

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
        self._exit(moved, settle=True)

    # -- method: manual ------------------------------------------------------
    # The manual move spans three hosts (source, target, the database) and a
    # module runs on one: the host-side work (copy, libvirt, OVS, services)
    # and the database step (nova_db_instance, on the controller) are tasks of
    # playbooks/tasks/manual_cold_migrate.yml, which calls this method once per
    # API step. Each step checks where things are first, so any step can be
    # run again after an interruption.
    def _migrate_manually(self, server):
        step = self.params['manual_step']
        if step is None:
            self.fail_json(msg="method=manual needs manual_step: the manual cold migration copies files between the "
                               "computes and rewrites nova's database on the controller, which one module cannot do "
                               "alone. Run it with `ansible-playbook novaops.migration.migrate -e instance=%s "
                               "-e target=%s -e mode=cold -e cold_method=manual`, which calls this module for each "
                               "API step (plan, stop, records, start, rollback)."
                               % (server.name, self.params['target_host'] or 'HOST'))
        if not self.params['target_host']:
            self.fail_json(msg='method=manual needs target_host: there is no scheduler to choose one.')
        self.require_compute_host(self.params['target_host'])
        self.actions = []
        self.source = self._manual_source(server)
        dict(plan=self._manual_plan, stop=self._manual_stop, records=self._manual_records,
             rollback=self._manual_records, start=self._manual_start)[step](server)

    def _manual_source(self, server):
        """The host the server leaves: the source_host given on a resumed move, else where Nova says it is."""
        return self.params['source_host'] or server.compute_host

    def _manual_plan(self, server):
        target = self.params['target_host']
        source = self._manual_source(server)
        self.source = source
        if not server_image_id(server):
            self.fail_json(msg="server '%s' (%s) boots from a volume: its disk lives in Cinder and there are no local "
                               "files to copy; use method=api or live migration." % (server.name, server.id))
        if server.compute_host not in (source, target):
            self.fail_json(msg="server '%s' (%s) is on %s according to Nova, neither on the source %s nor the target "
                               "%s; look at it before moving it." % (server.name, server.id, server.compute_host,
                                                                     source, target))
        already_there = source == target
        if server.compute_host == source and not already_there:
            self._require_cold_migratable(server)
            if server.status == 'ACTIVE' and not self.params['allow_stop']:
                self.fail_json(msg="server '%s' (%s) is ACTIVE: the manual method shuts it down for the copy (the "
                                   "guest reboots). Allow it with allow_stop=true (-e allow_stop=true), or stop it "
                                   "first; nothing was changed." % (server.name, server.id))
        source_service = self.compute_service(source)
        target_service = self.compute_service(target)
        self.exit_json(False, **self._manual_result(
            server,
            source_host=source, target_host=target, nova_host=server.compute_host,
            already_there=already_there, moved_in_nova=server.compute_host == target and not already_there,
            source_node=node_of(self, source) if source_service else None, target_node=node_of(self, target),
            source_service_up=bool(source_service and source_service.state == 'up'),
            target_service_up=bool(target_service and target_service.state == 'up'),
            instance_name=server.instance_name, instance_dir=self.before['instance_dir'],
            ports=port_bindings(self, server.id)))

    def _manual_stop(self, server):
        if server.compute_host != self._manual_source(server):
            self.fail_json(msg="server '%s' (%s) is on %s, not on %s: stop only runs before the record moves."
                               % (server.name, server.id, server.compute_host, self._manual_source(server)))
        if server.status == 'SHUTOFF':
            self._exit_manual(server, False)
        if server.status != 'ACTIVE' or server.task_state:
            self._require_cold_migratable(server)
        if not self.params['allow_stop']:
            self.fail_json(msg="server '%s' (%s) is ACTIVE and allow_stop is false; nothing was changed."
                               % (server.name, server.id))
        self.actions = ['stop']
        self.exit_if_check_mode(True, diff=self.diff(self._where(server), dict(self._where(server), status='SHUTOFF')),
                                **self._manual_result(server, server=dict(self.before, status='SHUTOFF')))
        self.conn.compute.stop_server(server)
        stopped = self.wait_for(lambda: self.refetch(server.id), ['SHUTOFF'], ['ERROR', 'GONE'],
                                what="stop of server '%s' (%s)" % (server.name, server.id),
                                state_of=self._settled_status, describe_failure=fault_message)
        self._exit_manual(stopped, True)

    def _manual_records(self, server):
        """Placement allocations and port bindings follow Nova's row (records) or go back with it (rollback)."""
        step = self.params['manual_step']
        source, target = self._manual_source(server), self.params['target_host']
        leaving, arriving = (source, target) if step == 'records' else (target, source)
        if server.compute_host != arriving:
            self.fail_json(msg="server '%s' (%s) is on %s in Nova's database, not on %s: move the database row "
                               "(novaops.migration.nova_db_instance) before the %s step."
                               % (server.name, server.id, server.compute_host, arriving, step))
        self.require_microversion(self.conn.placement, CONSUMER_GENERATION_MICROVERSION,
                                  'moving allocations safely (consumer generations)')
        try:
            leaving_node, arriving_node = node_of(self, leaving), node_of(self, arriving)
            if leaving_node is None or arriving_node is None:
                raise RecordMoveError('Nova lists no hypervisor for %s' % (leaving if leaving_node is None else arriving))
            allocations_moved = move_allocations(self, server.id, leaving_node, arriving_node, self.check_mode)
        except RecordMoveError as error:
            self.fail_json(msg="cannot move the allocations of server '%s' (%s) from %s to %s: %s"
                               % (server.name, server.id, leaving, arriving, error), **self._result(server))
        ports = rebind_ports(self, server.id, arriving, self.check_mode)
        self.actions = (['allocations'] if allocations_moved else []) + ['port %s' % port for port in ports]
        self._exit_manual(server, bool(self.actions), ports=port_bindings(self, server.id))

    def _manual_start(self, server):
        target = self.params['target_host']
        if server.compute_host != target:
            self.fail_json(msg="server '%s' (%s) is on %s in Nova's database, not on %s: not starting it there."
                               % (server.name, server.id, server.compute_host, target))
        # A hard reboot rebuilds the libvirt domain from Nova's records; start (power on) does the same for a
        # SHUTOFF server. A plain soft start would look for the domain the source still had.
        self.actions = ['start' if server.status == 'SHUTOFF' else 'reboot HARD']
        self.exit_if_check_mode(True, diff=self.diff(self._where(server), dict(host=target, status='ACTIVE')),
                                **self._manual_result(server, server=dict(self.before, status='ACTIVE')))
        if server.status == 'SHUTOFF':
            self.conn.compute.start_server(server)
        else:
            self.conn.compute.reboot_server(server, 'HARD')
        started = self.wait_for(lambda: self.refetch(server.id), ['RUNNING'], ['ERROR', 'GONE'],
                                what="start of server '%s' (%s) on %s" % (server.name, server.id, target),
                                state_of=self._running_state, describe_failure=fault_message)
        self._exit_manual(started, True)

    @staticmethod
    def _settled_status(server):
        return server.status if not server.task_state else '%s (%s)' % (server.status, server.task_state)

    @staticmethod
    def _running_state(server):
        if server.status == 'ERROR':
            return 'ERROR'
        if server.status == 'ACTIVE' and not server.task_state and server.power_state == 1:
            return 'RUNNING'
        return '%s (%s)' % (server.status, server.task_state or power_state_name(server.power_state))

    def _manual_result(self, current, **overrides):
        result = self._result(current)
        result.update(overrides)
        return result

    def _exit_manual(self, server, changed, **extra):
        before = dict(host=self.before['host'], status=self.before['status'])
        self.exit_json(changed, diff=self.diff(before, self._where(server)) if changed else None,
                       **self._manual_result(server, step=self.params['manual_step'], **extra))

    # -- find / decide -------------------------------------------------------
    def _require_cold_migratable(self, server):
        name = "server '%s' (%s)" % (server.name, server.id)
        if server.status == 'ERROR':
            self.fail_json(msg="%s is in ERROR state (%s); Nova does not migrate it. Find out what broke, then reset "
                               "it with `openstack server set --state active` (or stop it) or rebuild it."
                               % (name, fault_message(server) or 'no fault recorded'))
        if server.status in TRANSITIONAL_STATUSES or server.task_state:
            self.fail_json(msg="%s is %s with task '%s' in progress; wait until it is ACTIVE or SHUTOFF again."
                               % (name, server.status, server.task_state))
        if server.status not in COLD_MIGRATABLE_STATUSES:
            self.fail_json(msg="%s is %s; Nova cold-migrates only ACTIVE or SHUTOFF servers. Resume, unpause or "
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
            self.fail_json(msg="server '%s' (%s) is in VERIFY_RESIZE on %s from an earlier %s%s; confirm it "
                               "(`openstack server migration confirm %s`) or revert it (`openstack server migration "
                               "revert %s`) first."
                               % (server.name, server.id, server.compute_host, earlier, earlier_source, server.id,
                                  server.id))
        self.watch = MigrationWatch(self, server.id, [COLD_MIGRATION], migration_id=migration.id,
                                    progress_file=self.params['progress_file'])
        self.watch.poll()
        if not self.params['confirm']:
            self.exit_json(False, diff=self.diff(self._where(server), self._where(server)), **self._result(server))
        self.actions = ['confirm']
        power_before = 'SHUTOFF' if server.power_state == 4 else 'ACTIVE'
        predicted_result = self._result(server)
        predicted_result.update(server=dict(self.before, status=power_before))
        self.exit_if_check_mode(True, diff=self.diff(self._where(server), dict(self._where(server),
                                                                               status=power_before)),
                                **predicted_result)
        moved = self._confirm(server, power_before)
        self._verify_power_state(moved, power_before)
        self._exit(moved, settle=True)

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
        self.fail_json(msg="cold migration of server '%s' (%s) could not be verified (%s) and was reverted; the server "
                           "is %s on %s." % (server.name, server.id, reason, reverted.server.status,
                                             reverted.server.compute_host),
                       **self._result(reverted.server))

    def _verify_power_state(self, server, expected_status):
        if self.confirmed and server.status != expected_status:
            self.fail_json(msg="server '%s' (%s) was moved to %s but is %s, it was %s before; start or stop it again."
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

    def _exit(self, server, settle=False):
        result = self._result(server)
        if settle:
            result['ports'], result['repaired_ports'] = self.ports_after_move(server)
        self.exit_json(True, diff=self.diff(dict(host=self.source, status=self.before['status']),
                                            self._where(server)), **result)


def main():
    module = ColdMigrateModule()
    module()


if __name__ == '__main__':
    main()
