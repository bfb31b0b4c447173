#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: evacuate
short_description: Evacuate one Nova server off a failed compute host and verify it runs on another
version_added: 0.2.0
description:
  - Rebuilds a server of the failed host O(source_host) on O(target_host) (or on a host the scheduler chooses),
    the equivalent of C(openstack server evacuate --host TARGET SERVER), and follows it to its end.
  - Nova evacuates only from a host whose C(nova-compute) is down (its state C(down), or forced down with
    O(novaops.migration.compute_service#module:forced_down=true)); the module refuses a live one. Fence the host
    first - a host that still runs its guests while Nova rebuilds them elsewhere corrupts their volumes.
  - What the server keeps - a root disk on a volume is attached again on the target. A local root disk is kept only
    when the instances directory is on storage both hosts share (O(shared_storage=true)); otherwise Nova rebuilds it
    from the server's image and its content is lost, which the module refuses unless O(allow_rebuild=true). A local
    ephemeral disk is likewise recreated empty.
  - The move is done once Nova's migration record of type C(evacuation) is C(done) (or C(completed)), the server
    is on another host with no task in progress and back in its status - C(ACTIVE) stays C(ACTIVE), C(SHUTOFF)
    stays C(SHUTOFF), and C(ERROR) becomes C(ACTIVE) (the rebuild repairs it). The module then checks that
    Placement holds the server's allocation on the new host, and reports whether the failed host's provider still
    holds one (Nova removes it when that host's C(nova-compute) starts again).
  - Idempotent - a server already evacuated from O(source_host) to another host is left alone; an evacuation of it
    still running (an earlier run timed out) is followed instead of starting another.
  - Needs an admin role.
options:
  server:
    description:
      - Name or id of the server, in any project.
    type: str
    required: true
  source_host:
    description:
      - The failed compute host (its nova-compute service's host) the server is on. The module refuses a server
        that is elsewhere, unless it was evacuated from there already.
    type: str
    required: true
  target_host:
    description:
      - Compute host to rebuild the server on (compute API microversion 2.29). The scheduler still checks it;
        the module never forces a host.
      - When omitted, the scheduler chooses.
    type: str
  allow_rebuild:
    description:
      - Accept that a server whose disks are local (not on a volume, and the instances directory not shared) is
        rebuilt from its image on the target, losing what its disks held.
    type: bool
    default: false
  predict_forced_down:
    description:
      - Check mode only - predict as if the source's nova-compute were already forced down, as the evacuate playbook
        forces it right before it evacuates (a fenced host Nova still counts up). Ignored in a real run, where a
        live source is always refused.
    type: bool
    default: false
  shared_storage:
    description:
      - Whether the instances directory (C([DEFAULT] instances_path)) of the source and the target is on shared
        storage, so the target finds the server's local disks and their content is kept.
      - Only tells the module what to expect - Nova finds out by itself whether the disks are there.
    type: bool
    default: false
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
    details: The server, both hosts, the storage and the microversion are checked; the predicted evacuation is
      returned.
  diff_mode:
    support: full
    details: The diff shows the server's host and status before and after.
  platform:
    platforms: posix
notes:
  - Uses the newest compute API microversion from 2.29 up to 2.94 - from 2.95 on Nova leaves every evacuated
    server C(SHUTOFF). Nova serves all microversions from 2.1, so one is always there; were the cloud to offer
    only 2.95 and later, the module would evacuate with it and start the server it expects C(ACTIVE) (action
    C(start)).
  - O(shared_storage) is not sent to Nova (the API stopped taking it at microversion 2.14); Nova looks for the
    disks on the target. If the storage is in fact not shared, Nova rebuilds from the image even so, and RV(data_kept)
    says what the module expected, not what happened.
  - With O(wait=false) the module returns once Nova accepted the request.
  - Decide before that the host is gone - M(novaops.migration.host_reachability) from the controller and an
    operator's fencing step; refuse a failure that looks like a network partition (many hosts down at once).
seealso:
  - module: novaops.migration.compute_service
  - module: novaops.migration.host_reachability
  - module: novaops.migration.migration_info
  - module: novaops.migration.cold_migrate
author:
  - novaops maintainers (@novaops)
'''

EXAMPLES = r'''
- name: compute1 is fenced; force its nova-compute down
  novaops.migration.compute_service:
    cloud: lab
    host: compute1
    state: disabled
    disabled_reason: host failed, fenced
    forced_down: true

- name: Evacuate myinstance (on a volume) to compute2
  novaops.migration.evacuate:
    cloud: lab
    server: myinstance
    source_host: compute1
    target_host: compute2
  register: evacuated

- name: Evacuate a server on local disks, accepting it comes back from its image
  novaops.migration.evacuate:
    cloud: lab
    server: scratch-worker
    source_host: compute1
    allow_rebuild: true
'''

RETURN = r'''
server:
  description: The server after the evacuation (see M(novaops.migration.server_info)); in check mode, the
    prediction.
  returned: always
  type: dict
  sample: {id: 2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e, name: myinstance, status: ACTIVE, host: compute2,
           node: compute2, task_state: null, power_state: running}
source_host:
  description: The failed host the server was evacuated from.
  returned: always
  type: str
  sample: compute1
host:
  description: Compute host the server is on after the evacuation; in check mode the requested one (null when the
    scheduler would choose).
  returned: always
  type: str
  sample: compute2
status:
  description: The server's status after the evacuation; in check mode the expected one.
  returned: always
  type: str
  sample: ACTIVE
migration:
  description: Nova's migration record of the evacuation as M(novaops.migration.migration_info) returns it (C(id),
    C(status), ...); null in check mode.
  returned: always
  type: dict
  sample: {id: 14, uuid: 7b2e3d4c-5f6a-4b7c-8d9e-0f1a2b3c4d5e, status: done, migration_type: evacuation,
           source_compute: compute1, dest_compute: compute2, in_progress: false}
rebuild:
  description: Whether the root disk is (or was) rebuilt from the server's image - its content lost.
  returned: always
  type: bool
  sample: false
data_kept:
  description: Whether the server's disks keep their content (volumes, or local disks on shared storage), as the
    module expects it from O(shared_storage) and the server's disks.
  returned: always
  type: bool
  sample: true
placement:
  description:
    - The server's allocations in Placement after the evacuation - C(target_allocated) whether the new host's
      provider holds one (the module fails when not), C(source_allocated) whether the failed host's provider
      still does (expected until its nova-compute starts again and Nova removes it).
    - Also returned for a server evacuated earlier, when there is nothing to do; once the failed host's
      nova-compute started again, C(source_allocated) must be false.
  returned: when the evacuation was verified, or had been done already
  type: dict
  sample: {target_provider: compute2, target_allocated: true, source_provider: compute1, source_allocated: true}
duration:
  description: Seconds from the request to the verified end.
  returned: always
  type: float
  sample: 24.6
progress:
  description: Timeline of the evacuation, one entry each time the migration's or the server's state changed.
  returned: always
  type: list
  elements: dict
  sample:
    - {elapsed: 0.3, migration_status: pre-migrating, server_status: REBUILD, task_state: rebuilding, host: compute1,
       percent: null, memory_percent: null, disk_percent: null, memory_remaining_bytes: null,
       disk_remaining_bytes: null}
    - {elapsed: 24.6, migration_status: done, server_status: ACTIVE, task_state: null, host: compute2,
       percent: null, memory_percent: null, disk_percent: null, memory_remaining_bytes: null,
       disk_remaining_bytes: null}
ports:
  description: The server's ports after the evacuation (a running server's once Neutron reports them C(ACTIVE)).
  returned: when the evacuation was verified
  type: list
  elements: dict
  sample: [{id: 5e0c9d1f-3f2a-4c55-8d0e-6a7b8c9d0e1f, status: ACTIVE, binding_host: compute2}]
repaired_ports:
  description: Ids of the ports whose admin state was cycled because Neutron kept them DOWN (O(repair_port_status)).
  returned: when the evacuation was verified
  type: list
  elements: str
  sample: []
actions:
  description: What the module did (or would do), in order - C(evacuate), C(follow), C(start).
  returned: always
  type: list
  elements: str
  sample: [evacuate]
'''

from ansible_collections.novaops.migration.plugins.module_utils.openstack import (
    MIGRATION_TIMEOUT, ModuleFailure, sdk_exceptions)
from ansible_collections.novaops.migration.plugins.module_utils.evacuation import (
    EVACUATE_HOST_MICROVERSION, EVACUATED_STATUSES, HOST_NOT_YET_UPDATED, HOST_UPDATE_GRACE, disk_plan,
    evacuation_microversion, evacuation_state, evacuations_from, expected_status, pinned_microversion,
    service_is_down, status_refusal,
)
from ansible_collections.novaops.migration.plugins.module_utils.migrations import (
    EVACUATION, FINAL_STATUSES, MigrationModule, MigrationWatch, migration_summary, move_followup_argument_spec,
)
from ansible_collections.novaops.migration.plugins.module_utils.servers import server_summary, summary_on_host

# Nova's vm_state of a server during its evacuation, as the status it had.
VM_STATE_STATUSES = dict(active='ACTIVE', stopped='SHUTOFF', error='ERROR')


class EvacuateModule(MigrationModule):
    argument_spec = dict(
        server=dict(type='str', required=True),
        source_host=dict(type='str', required=True),
        target_host=dict(type='str'),
        allow_rebuild=dict(type='bool', default=False),
        shared_storage=dict(type='bool', default=False),
        predict_forced_down=dict(type='bool', default=False),
        **move_followup_argument_spec()
    )
    module_kwargs = dict(supports_check_mode=True)
    wait_timeout = MIGRATION_TIMEOUT

    def run(self):
        self.source = self.params['source_host']
        target = self.params['target_host']
        if target and target == self.source:
            self.fail_json(msg='target_host and source_host are both %s; evacuate to another host, or omit '
                               'target_host to let the scheduler choose.' % target)
        self.actions = []
        self.watch = None
        self.migration = None
        self.placement = None
        self.take_move_slot()

        # find
        server = self.find_server(self.params['server'])
        self.before = server_summary(server)
        self.name = "server '%s' (%s)" % (server.name, server.id)
        source_service = self.require_compute_host(self.source)
        evacuations = evacuations_from(self.migration_records(server.id, [EVACUATION]), self.source)
        latest = evacuations[0] if evacuations else None
        self.plan = disk_plan(server, self.params['shared_storage'])

        # decide
        if server.compute_host != self.source:
            self.exit_json(**self._already_evacuated(server, latest))
        running = latest if latest is not None and latest.status not in FINAL_STATUSES else None
        if running is None:
            refusal = status_refusal(server, self.source)
            if refusal:
                self.fail_json(msg=refusal)
            predicted_down = self.check_mode and self.params['predict_forced_down']
            if not service_is_down(source_service) and not predicted_down:
                self.fail_json(msg='nova-compute on %s is up: Nova refuses to evacuate from a live host; fence it '
                                   'and force it down first (novaops.migration.compute_service forced_down=true).'
                                   % self.source)
            self._require_storage_decision(server)
        self._require_target(target)
        endpoint = self.conn.compute.get_endpoint_data()
        microversion, keeps_state = evacuation_microversion(getattr(endpoint, 'min_microversion', None),
                                                            getattr(endpoint, 'max_microversion', None))
        # None when the cloud is older than 2.29: require_microversion says so.
        self.require_microversion(self.conn.compute, microversion or EVACUATE_HOST_MICROVERSION,
                                  'evacuating a server to a host the scheduler checks')
        # A server being evacuated reads REBUILD (or ERROR); its vm_state still says what it was until the rebuild ends.
        self.expected = expected_status(server.status if running is None else VM_STATE_STATUSES.get(server.vm_state))
        self.actions = ['follow'] if running is not None else ['evacuate']
        if not keeps_state and self.expected == 'ACTIVE':
            self.actions.append('start')
        predicted = summary_on_host(self.before, target, status=self.expected, task_state=None)
        if self.check_mode:
            self.exit_json(True, diff=self.diff(self._where(server), dict(host=target, status=self.expected)),
                           **self._result(predicted, host=target, status=self.expected))

        # act
        if running is None:
            self.watch = MigrationWatch(self, server.id, [EVACUATION], known_ids=self.known_migration_ids(server.id),
                                        progress_file=self.params['progress_file'])
            if keeps_state:
                with pinned_microversion(self.conn.compute, microversion):
                    self.conn.compute.evacuate_server(server, host=target)
            else:
                self.conn.compute.evacuate_server(server, host=target)
        else:
            self.watch = MigrationWatch(self, server.id, [EVACUATION], migration_id=running.id,
                                        progress_file=self.params['progress_file'])
        if not self.params['wait']:
            self.exit_json(**self._finished(self.watch.poll().server))

        # wait
        snapshot = self.wait_for(self.watch.poll, ['DONE'], ['FAILED', 'GONE'], what=self._what(server),
                                 state_of=self._evacuation_state,
                                 describe_failure=lambda current: self.explain_failed_move(current.server,
                                                                                           current.migration))
        moved = snapshot.server
        if 'start' in self.actions and moved.status == 'SHUTOFF':
            moved = self._start(moved)

        # verify
        self._verify(moved, snapshot.migration)
        self.placement = self._placement(moved)
        if not self.placement['target_allocated']:
            self._fail("%s was evacuated to %s but Placement holds no allocation for it on %s's provider (%s); the "
                       "scheduler would overcommit the host. Repair it with `nova-manage placement "
                       "heal_allocations --instance %s`." % (self.name, moved.compute_host, moved.compute_host,
                                                             self.placement['target_provider'], moved.id), moved)
        self.exit_json(**self._finished(moved, settle=True))

    # -- decide ----------------------------------------------------------------
    def _already_evacuated(self, server, latest):
        """The server is not on source_host: the outcome without change when an evacuation from there moved it."""
        target = self.params['target_host']
        if latest is None or latest.status not in EVACUATED_STATUSES:
            raise ModuleFailure(
                msg="%s is on %s, not on %s%s; evacuate only the servers of the failed host (`openstack "
                    "server list --all-projects --host %s`)."
                    % (self.name, server.compute_host or 'no host', self.source,
                       ' (its last evacuation from there is %s)' % latest.status if latest else '',
                       self.source))
        if target and server.compute_host != target:
            raise ModuleFailure(
                msg="%s was evacuated from %s to %s already (migration %s), not to %s; move it there with "
                    "novaops.migration.live_migrate." % (self.name, self.source, server.compute_host,
                                                         latest.id, target))
        self.migration = migration_summary(latest)
        # Asked again once the failed host is back: its nova-compute should have removed the old allocation.
        self.placement = self._placement(server, source_node=latest.source_node or self.source)
        result = self._result(self.before, host=server.compute_host, status=server.status)
        result['placement'] = self.placement
        return self.outcome(False, diff=self.diff(self._where(server), self._where(server)), **result)

    def _require_storage_decision(self, server):
        plan = self.plan
        if plan['losses'] and not self.params['allow_rebuild']:
            raise ModuleFailure(
                msg="%s would lose data if evacuated from %s: %s. Set allow_rebuild=true to accept that, "
                    "or shared_storage=true if the instances directory of the hosts is on shared storage "
                    "(then the disks are kept); nothing was evacuated."
                    % (self.name, self.source, '; '.join(plan['losses'])))
        if plan['rebuild']:
            image_id = self.before['image_id']
            if self.get_or_none(self.conn.image.get_image, image_id) is None:
                raise ModuleFailure(
                    msg="%s must be rebuilt from its image %s, which no longer exists; Nova would fail "
                        "on the target and leave it in ERROR. Restore the image (same id) or recreate the "
                        "server." % (self.name, image_id))

    def _require_target(self, target):
        """The target (or, without one, some host) can take the server: up, not forced down, enabled."""
        def usable(service):
            return not service_is_down(service) and service.status == 'enabled'

        if target:
            service = self.require_compute_host(target)
            if not usable(service):
                raise ModuleFailure(msg="target_host %s cannot take the server: its nova-compute is %s%s and %s; the "
                                        "scheduler refuses it. Choose another host, or omit target_host."
                                        % (target, service.state, ' (forced down)' if service.is_forced_down else '',
                                           service.status))
            return
        if not [service for service in self.compute_services() if service.host != self.source and usable(service)]:
            raise ModuleFailure(
                msg='no other compute host is up and enabled (compute hosts: %s); there is nowhere to '
                    'evacuate to.' % ', '.join('%s %s/%s' % (service.host, service.state, service.status)
                                               for service in self.compute_services()))

    # -- wait / start ------------------------------------------------------------
    def _evacuation_state(self, snapshot):
        """evacuation_state, with the server's host waited for a while after Nova recorded the evacuation done."""
        state = evacuation_state(snapshot, self.source)
        if state != HOST_NOT_YET_UPDATED:
            return state
        now = self._clock()
        self._host_pending_since = getattr(self, '_host_pending_since', None) or now
        # Past the grace the verification says where the server is.
        return 'DONE' if now - self._host_pending_since >= HOST_UPDATE_GRACE else state

    def _what(self, server):
        target = self.params['target_host'] or 'a host the scheduler chooses'
        return "evacuation of %s from %s to %s" % (self.name, self.source, target)

    def _start(self, server):
        """Microversion 2.95 and later leave the server SHUTOFF: start the one that was running."""
        self.conn.compute.start_server(server)
        started = self.wait_for(self.watch.poll, ['ACTIVE'], ['ERROR', 'GONE'],
                                what='start of the evacuated %s on %s' % (self.name, server.compute_host),
                                state_of=lambda current: 'GONE' if current.server is None else (
                                    current.server.status if not current.server.task_state else 'STARTING'),
                                describe_failure=lambda current: self.explain_failed_move(current.server, None),
                                timeout=min(self.params['timeout'], 600))
        return started.server

    # -- verify --------------------------------------------------------------------
    def _verify(self, server, migration):
        target = self.params['target_host']
        problems = []
        if server.compute_host == self.source:
            problems.append('the server is still on %s' % self.source)
        elif target and server.compute_host != target:
            problems.append('the server is on %s, not on %s' % (server.compute_host, target))
        if server.status != self.expected:
            problems.append('the server is %s, it should be %s' % (server.status, self.expected))
        if problems:
            self._fail("evacuation of %s ended (migration %s is '%s') but could not be verified: %s."
                       % (self.name, migration.id if migration else '?', migration.status if migration else '?',
                          '; '.join(problems)), server)

    def _placement(self, server, source_node=None):
        """Whether the new host's provider holds the server's allocation, and whether the failed host's still does."""
        target_node = server.hypervisor_hostname or server.compute_host
        source_node = source_node or self.before['node'] or self.source
        try:
            allocations = dict(self.conn.placement.get_allocation(server.id).allocations or {})
        except sdk_exceptions.NotFoundException:
            allocations = {}

        def provider(node):
            providers = list(self.conn.placement.resource_providers(name=node))
            return providers[0] if len(providers) == 1 else None

        target_provider, source_provider = provider(target_node), provider(source_node)
        return dict(
            target_provider=target_node,
            target_allocated=target_provider is not None and target_provider.id in allocations,
            source_provider=source_node,
            source_allocated=source_provider is not None and source_provider.id in allocations,
        )

    # -- return --------------------------------------------------------------------
    @staticmethod
    def _where(server):
        return dict(host=server.compute_host, status=server.status)

    def _result(self, summary, host, status):
        return dict(
            server=summary,
            source_host=self.source,
            host=host,
            status=status,
            migration=self.watch.migration() if self.watch else self.migration,
            rebuild=self.plan['rebuild'],
            data_kept=self.plan['data_kept'],
            duration=self.watch.elapsed() if self.watch else 0.0,
            progress=self.watch.samples if self.watch else [],
            actions=self.actions,
        )

    def _server_result(self, server):
        result = self._result(server_summary(server), server.compute_host, server.status)
        if self.placement is not None:
            result['placement'] = self.placement
        return result

    def _finished(self, server, settle=False):
        """The outcome of an evacuation that was made (or, without wait, started)."""
        result = self._server_result(server)
        if settle:
            result['ports'], result['repaired_ports'] = self.ports_after_move(server)
        return self.outcome(True, diff=self.diff(dict(host=self.source, status=self.before['status']),
                                                 self._where(server)), **result)

    def _fail(self, msg, server):
        raise ModuleFailure(msg=msg, **self._server_result(server))


def main():
    module = EvacuateModule()
    module()


if __name__ == '__main__':
    main()
