#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: live_migrate
short_description: Live-migrate a running Nova server to another compute host and verify it arrived
version_added: 0.2.0
description:
  - Moves a running server to O(target_host) (or to a host the scheduler chooses) while the guest keeps running,
    the equivalent of C(openstack server migrate --live-migration --host TARGET SERVER).
  - The move is only reported done once it is verified, not when the server is ACTIVE again (a failed live
    migration also ends ACTIVE, on the source) - the server is on the target host, C(ACTIVE), has no task in
    progress, and Nova's migration record is C(completed).
  - While waiting the module samples the bytes of memory and disk copied from the migration record, and returns
    them as RV(progress) (and appends them to O(progress_file) as they come).
  - Once the move is verified, the server's ports are awaited C(ACTIVE) on the target (see O(repair_port_status)
    for a port Neutron keeps C(DOWN)) and returned as RV(ports).
  - A server already on O(target_host) is left alone (C(changed=false)). A server that is C(SHUTOFF) cannot be
    live-migrated, use M(novaops.migration.cold_migrate); a server in C(ERROR) fails the task with Nova's fault.
  - A live migration of this server already in progress (for example left by an earlier run that timed out) is
    followed instead of starting another one, when it goes to O(target_host).
  - Needs an admin role.
options:
  server:
    description:
      - Name or id of the server, in any project.
    type: str
    required: true
  target_host:
    description:
      - Compute host (the nova-compute service's host, as C(openstack compute service list) shows it) to move to.
        The scheduler still checks that it fits (compute API microversion 2.30).
      - When omitted, the scheduler chooses a host; every run then moves the server again.
    type: str
  block_migration:
    description:
      - Whether to copy the local disks with the memory (block migration).
      - V(auto) lets Nova decide from the storage (shared storage - no copy; local disks - copy). Needs compute
        API microversion 2.25. V(true) and V(false) force the choice.
    type: raw
    default: auto
  on_timeout:
    description:
      - What to do when the migration has not finished after O(timeout) seconds.
      - V(abort) cancels it (compute API microversion 2.24; 2.65 for one still queued or preparing); the guest goes
        on running on the source host and the task fails saying so.
      - V(force_complete) pauses the guest so the last memory pages can be copied (microversion 2.22), then waits
        for the end as usual.
      - V(fail) fails the task and leaves the migration running.
    type: str
    choices: [abort, force_complete, fail]
    default: abort
  grace_timeout:
    description:
      - Seconds to wait for Nova to finish the abort or the forced completion chosen by O(on_timeout).
    type: int
    default: 300
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
    details: The server, the target host and the microversions are checked; the predicted move is returned.
  diff_mode:
    support: full
    details: The diff shows the server's host before and after.
  platform:
    platforms: posix
notes:
  - Live migration between two hosts needs libvirt on the target to accept connections from the source (the
    C(novaops.migration.novaops_libvirt) role) and enough room on the target;
    M(novaops.migration.migration_preflight) checks all of it at once before a move.
  - With O(wait=false) the module returns once Nova accepted the request; follow the move with
    M(novaops.migration.migration_info).
seealso:
  - module: novaops.migration.migration_preflight
  - module: novaops.migration.migration_info
  - module: novaops.migration.cold_migrate
author:
  - novaops maintainers (@novaops)
'''

EXAMPLES = r'''
- name: Move myinstance to compute2 while it runs
  novaops.migration.live_migrate:
    cloud: lab
    server: myinstance
    target_host: compute2
  register: moved

- name: Show how long it took
  ansible.builtin.debug:
    msg: "{{ moved.source_host }} -> {{ moved.target_host }} in {{ moved.duration }} s"

- name: Give a busy guest ten minutes, then pause it to finish the copy
  novaops.migration.live_migrate:
    cloud: lab
    server: busy-db
    target_host: compute1
    timeout: 600
    on_timeout: force_complete

- name: Let the scheduler choose, copying the disks
  novaops.migration.live_migrate:
    cloud: lab
    server: myinstance
    block_migration: true
'''

RETURN = r'''
server:
  description: The server after the move (see M(novaops.migration.server_info)); in check mode, the prediction.
  returned: always
  type: dict
  sample: {id: 2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e, name: myinstance, status: ACTIVE, host: compute2,
           node: compute2, task_state: null, power_state: running}
source_host:
  description: Compute host the server was on before.
  returned: always
  type: str
  sample: compute1
target_host:
  description: Compute host the server is on after the move; in check mode the requested one (null when the
    scheduler would choose).
  returned: always
  type: str
  sample: compute2
migration_id:
  description: Id of Nova's migration record of this move; null when nothing moved.
  returned: always
  type: int
  sample: 12
migration:
  description: Nova's migration record of this move as M(novaops.migration.migration_info) returns it; null when
    nothing moved.
  returned: always
  type: dict
  sample: {id: 12, uuid: 6a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d, status: completed, migration_type: live-migration,
           source_compute: compute1, dest_compute: compute2, in_progress: false}
duration:
  description: Seconds from the request to the verified end.
  returned: always
  type: float
  sample: 11.4
ports:
  description: The server's ports after the move, with their status and the host each is bound to.
  returned: when the move was verified
  type: list
  elements: dict
  sample: [{id: 5e0c9d1f-3f2a-4c55-8d0e-6a7b8c9d0e1f, status: ACTIVE, binding_host: compute2,
            network_id: 0d4f2a3e-1b2c-4d5e-8f9a-0b1c2d3e4f5a, mac_address: "fa:16:3e:12:34:56"}]
repaired_ports:
  description: Ids of the ports whose admin state was cycled because Neutron kept them DOWN (O(repair_port_status)).
  returned: when the move was verified
  type: list
  elements: str
  sample: []
progress:
  description:
    - Timeline of the move, one entry each time something changed, seconds since the request in C(elapsed).
    - C(percent) is the share of memory and disk bytes copied, C(null) while Nova does not report it.
  returned: always
  type: list
  elements: dict
  sample:
    - {elapsed: 0.4, migration_status: accepted, server_status: MIGRATING, task_state: migrating, host: compute1,
       percent: null, memory_percent: null, disk_percent: null, memory_remaining_bytes: null,
       disk_remaining_bytes: null}
    - {elapsed: 6.6, migration_status: running, server_status: MIGRATING, task_state: migrating, host: compute1,
       percent: 57.5, memory_percent: 57.5, disk_percent: null, memory_remaining_bytes: 57016320,
       disk_remaining_bytes: null}
    - {elapsed: 11.4, migration_status: completed, server_status: ACTIVE, task_state: null, host: compute2,
       percent: null, memory_percent: null, disk_percent: null, memory_remaining_bytes: null,
       disk_remaining_bytes: null}
actions:
  description: What the module did (or would do), in order - C(live_migrate), C(follow), C(abort), C(force_complete).
  returned: always
  type: list
  elements: str
  sample: [live_migrate]
'''

from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.novaops.migration.plugins.module_utils.openstack import (
    MIGRATION_TIMEOUT, ModuleFailure, sdk_exceptions)
from ansible_collections.novaops.migration.plugins.module_utils.migrations import (
    ABORT_MICROVERSION, ABORTABLE_STATUSES, FAILED_STATUSES, FINAL_STATUSES, FORCE_COMPLETE_MICROVERSION,
    LIVE_MIGRATION, LIVE_MIGRATION_HOST_MICROVERSION, LIVE_MIGRATION_MICROVERSION, MigrationModule, MigrationWatch,
    move_followup_argument_spec,
)
from ansible_collections.novaops.migration.plugins.module_utils.servers import (
    TRANSITIONAL_STATUSES, fault_message, server_summary, summary_on_host,
)

# Statuses Nova live-migrates from.
LIVE_MIGRATABLE_STATUSES = ('ACTIVE', 'PAUSED')


def parse_block_migration(value):
    if isinstance(value, str) and value.strip().lower() == 'auto':
        return 'auto'
    try:
        return boolean(value, strict=True)
    except TypeError:
        return None


class LiveMigrateModule(MigrationModule):
    argument_spec = dict(
        server=dict(type='str', required=True),
        target_host=dict(type='str'),
        block_migration=dict(type='raw', default='auto'),
        on_timeout=dict(type='str', default='abort', choices=['abort', 'force_complete', 'fail']),
        grace_timeout=dict(type='int', default=300),
        **move_followup_argument_spec()
    )
    module_kwargs = dict(supports_check_mode=True)
    wait_timeout = MIGRATION_TIMEOUT

    def run(self):
        block_migration = parse_block_migration(self.params['block_migration'])
        if block_migration is None:
            self.fail_json(msg="block_migration must be auto, true or false, got '%s'" % self.params['block_migration'])
        target = self.params['target_host']
        self.take_move_slot()

        # find
        server = self.find_server(self.params['server'])
        self.source = server.compute_host
        self.before = server_summary(server)
        running = self._migration_in_progress(server)

        # decide
        if running is None and target and self.source == target:
            self.exit_json(False, diff=self.diff(self._where(server), self._where(server)), server=self.before,
                           source_host=self.source, target_host=target, migration_id=None, migration=None,
                           duration=0.0, progress=[], actions=[])
        if running is None:
            self._require_live_migratable(server)
        if target:
            self.require_compute_host(target)
        self._require_microversions(target)
        actions = ['follow'] if running is not None else ['live_migrate']
        predicted = summary_on_host(self.before, target, status='ACTIVE', task_state=None)
        if self.check_mode:
            self.exit_json(True, diff=self.diff(self._where(server), dict(host=target)), server=predicted,
                           source_host=self.source, target_host=target, migration_id=None, migration=None,
                           duration=0.0, progress=[], actions=actions)

        # act
        self.actions = actions
        if running is None:
            watch = MigrationWatch(self, server.id, [LIVE_MIGRATION], known_ids=self.known_migration_ids(server.id),
                                   progress_file=self.params['progress_file'])
            self.conn.compute.live_migrate_server(server, host=target, block_migration=block_migration)
        else:
            watch = MigrationWatch(self, server.id, [LIVE_MIGRATION], migration_id=running.id,
                                   progress_file=self.params['progress_file'])
        self.watch = watch
        if not self.params['wait']:
            self.exit_json(**self._finished(watch.poll()))

        # wait
        snapshot = self.wait_for(watch.poll, ['DONE'], ['ERROR', 'GONE'], what=self._what(server),
                                 state_of=self._state_of, describe_failure=self._describe_error,
                                 on_timeout=self._on_timeout)

        # verify
        self._verify(snapshot)
        ports, nudged = self.ports_after_move(snapshot.server)
        self.exit_json(**self._finished(snapshot, ports=ports, repaired_ports=nudged))

    # -- find / decide -------------------------------------------------------
    def _migration_in_progress(self, server):
        """A live migration of the server Nova is still running, if it goes where we want."""
        if server.status != 'MIGRATING':
            return None
        records = [record for record in self.migration_records(server.id, [LIVE_MIGRATION])
                   if record.status not in FINAL_STATUSES]
        if not records:
            return None
        running = records[0]
        target = self.params['target_host']
        if target and running.dest_compute and running.dest_compute != target:
            raise ModuleFailure(
                msg="server '%s' (%s) is already being live-migrated to %s (migration %s, %s); wait for "
                    "it to end or abort it (`openstack server migration abort %s %s`) first."
                    % (server.name, server.id, running.dest_compute, running.id, running.status,
                       server.id, running.id))
        return running

    def _require_live_migratable(self, server):
        name = "server '%s' (%s)" % (server.name, server.id)
        if server.status == 'ERROR':
            raise ModuleFailure(
                msg="%s is in ERROR state (%s); Nova does not migrate it. Find out what broke, then reset "
                    "it with `openstack server set --state active` or rebuild it."
                    % (name, fault_message(server) or 'no fault recorded'))
        if server.status == 'SHUTOFF':
            raise ModuleFailure(msg="%s is SHUTOFF on %s; live migration needs a running guest. Use cold migration "
                                    "(novaops.migration.cold_migrate, or mode=cold in the migrate playbook) to move it "
                                    "while it is off." % (name, self.source))
        if server.status in TRANSITIONAL_STATUSES or server.task_state:
            raise ModuleFailure(msg="%s is %s with task '%s' in progress; wait until it is ACTIVE again."
                                    % (name, server.status, server.task_state))
        if server.status not in LIVE_MIGRATABLE_STATUSES:
            raise ModuleFailure(msg="%s is %s; Nova live-migrates only ACTIVE or PAUSED servers%s."
                                    % (name, server.status, ' (confirm or revert its resize first)'
                                       if server.status == 'VERIFY_RESIZE' else ''))

    def _require_microversions(self, target):
        compute = self.conn.compute
        if target:
            self.require_microversion(compute, LIVE_MIGRATION_HOST_MICROVERSION,
                                      'live migration to a chosen host checked by the scheduler (target_host)')
        else:
            self.require_microversion(compute, LIVE_MIGRATION_MICROVERSION, 'live migration with block_migration')
        if self.params['wait'] and self.params['on_timeout'] == 'abort':
            self.require_microversion(compute, ABORT_MICROVERSION, 'aborting a live migration (on_timeout=abort)')
        if self.params['wait'] and self.params['on_timeout'] == 'force_complete':
            self.require_microversion(compute, FORCE_COMPLETE_MICROVERSION,
                                      'forcing a live migration to complete (on_timeout=force_complete)')

    # -- wait --------------------------------------------------------------
    @staticmethod
    def _state_of(snapshot):
        server = snapshot.server
        if server is None:
            return 'GONE'
        if server.status == 'ERROR':
            return 'ERROR'
        status = snapshot.migration_status
        if status in FINAL_STATUSES and not server.task_state and server.status != 'MIGRATING':
            return 'DONE'
        return 'MIGRATION %s' % (status or 'not yet recorded').upper()

    def _describe_error(self, snapshot):
        return self.explain_failed_move(snapshot.server, snapshot.migration)

    def _what(self, server):
        return "live migration of server '%s' (%s) from %s to %s" % (
            server.name, server.id, self.source, self.params['target_host'] or 'a host the scheduler chooses')

    def _on_timeout(self, snapshot):
        choice = self.params['on_timeout']
        server = snapshot.server
        migration = snapshot.migration
        progress = snapshot.progress or {}
        if migration is None:
            where = 'no migration record yet'
        else:
            copied = ', %s%% copied' % progress['percent'] if progress.get('percent') is not None else ''
            where = 'migration %s is %s%s' % (migration.id, migration.status, copied)
        timeout = self.params['timeout']
        if choice == 'fail':
            self._fail("live migration of server '%s' did not finish within %s s (%s); it goes on. Follow it with "
                       "novaops.migration.migration_info, abort it with `openstack server migration abort %s %s`."
                       % (server.name, timeout, where, server.id, migration.id if migration else 'MIGRATION_ID'))
        if choice == 'abort':
            return self._abort(snapshot, where)
        return self._force_complete(snapshot, where)

    def _abort(self, snapshot, where):
        """Cancel the migration, wait until Nova rolled it back, then fail saying where the server runs."""
        server = snapshot.server
        self.actions.append('abort')
        state = dict(requested=False)

        def request_abort():
            current = self.watch.poll()
            status = current.migration_status
            if state['requested'] or current.migration is None or status in FINAL_STATUSES:
                return current
            if status in ABORTABLE_STATUSES:
                try:
                    self.conn.compute.abort_server_migration(current.migration.id, server.id, ignore_missing=False)
                    state['requested'] = True
                except sdk_exceptions.BadRequestException:
                    # Nova moved on between our read and the abort (e.g. preparing -> running); try again.
                    pass
            return current

        def abort_state(current):
            if current.server is None:
                return 'GONE'
            if current.migration_status in FINAL_STATUSES and not current.server.task_state:
                return 'ENDED'
            return 'ABORT REQUESTED' if state['requested'] else 'WAITING TO ABORT (%s)' % current.migration_status

        final = self.wait_for(request_abort, ['ENDED'], ['GONE'], what='abort of the ' + self._what(server),
                              state_of=abort_state, timeout=self.params['grace_timeout'])
        if final.migration_status == 'completed':
            # The copy finished before the abort took effect: the move happened.
            self.warn('the live migration finished before the abort requested after %s s took effect'
                      % self.params['timeout'])
            return final
        host = final.server.compute_host
        self._fail("live migration of server '%s' did not finish within %s s (%s) and was aborted: migration %s is "
                   "%s, the server is %s on %s. Raise timeout, or use on_timeout=force_complete for a guest that "
                   "writes memory faster than it can be copied."
                   % (server.name, self.params['timeout'], where, final.migration.id if final.migration else '?',
                      final.migration_status, final.server.status, host))
        return final

    def _force_complete(self, snapshot, where):
        """Pause the guest so the copy can end, then wait for the end like any migration."""
        server = snapshot.server
        self.actions.append('force_complete')
        state = dict(requested=False)

        def request_force_complete():
            current = self.watch.poll()
            if state['requested'] or current.migration is None or current.migration_status in FINAL_STATUSES:
                return current
            if current.migration_status == 'running':
                try:
                    self.conn.compute.force_complete_server_migration(current.migration.id, server.id)
                    state['requested'] = True
                except sdk_exceptions.BadRequestException:
                    pass
            return current

        return self.wait_for(request_force_complete, ['DONE'], ['ERROR', 'GONE'],
                             what='forced completion of the ' + self._what(server), state_of=self._state_of,
                             describe_failure=self._describe_error, timeout=self.params['grace_timeout'])

    # -- verify ------------------------------------------------------------
    def _verify(self, snapshot):
        server, migration = snapshot.server, snapshot.migration
        target = self.params['target_host']
        name = "server '%s' (%s)" % (server.name, server.id)
        if migration is None:
            self._fail("%s is %s on %s but Nova recorded no live migration for it; check nova-conductor's log."
                       % (name, server.status, server.compute_host))
        if migration.status in FAILED_STATUSES:
            self._fail("live migration of %s from %s to %s failed: %s. The server is %s on %s."
                       % (name, self.source, target or migration.dest_compute or 'the chosen host',
                          self.explain_failed_move(server, migration), server.status, server.compute_host))
        problems = []
        if migration.status != 'completed':
            problems.append("migration %s is '%s', not 'completed'" % (migration.id, migration.status))
        if target and server.compute_host != target:
            problems.append('the server is on %s, not on %s' % (server.compute_host, target))
        if not target and server.compute_host == self.source:
            problems.append('the server is still on %s' % self.source)
        if server.status != 'ACTIVE':
            problems.append('the server is %s, not ACTIVE' % server.status)
        if problems:
            self._fail('live migration of %s ended but could not be verified: %s.' % (name, '; '.join(problems)))

    # -- return ------------------------------------------------------------
    @staticmethod
    def _where(server):
        return dict(host=server.compute_host)

    def _result(self, snapshot):
        server = snapshot.server if snapshot is not None and snapshot.server is not None else None
        after = server_summary(server) if server is not None else self.before
        return dict(
            server=after,
            source_host=self.source,
            target_host=after.get('host') if snapshot is not None and snapshot.migration_status == 'completed'
            else self.params['target_host'],
            migration_id=self.watch.migration_id,
            migration=self.watch.migration(),
            duration=self.watch.elapsed(),
            progress=self.watch.samples,
            actions=self.actions,
        )

    def _finished(self, snapshot, **settled):
        """The outcome of a move that was made (or, without wait, started)."""
        result = dict(self._result(snapshot), **settled)
        return self.outcome(True, diff=self.diff(dict(host=self.source), dict(host=result['server'].get('host'))),
                            **result)

    def _fail(self, msg):
        raise ModuleFailure(msg=msg, **self._result(self.watch.last))


def main():
    module = LiveMigrateModule()
    module()


if __name__ == '__main__':
    main()
