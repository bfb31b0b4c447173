#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: manual_move
short_description: The API steps of a manual cold migration, with the move's journal and the server's lock
version_added: 0.2.0
description:
  - A manual cold migration moves a server when Nova cannot, typically because the source's nova-compute is broken
    while the host still answers - its files are copied from compute to compute, nova's database row is rewritten
    (M(novaops.migration.nova_db_instance)), and the server's records in the APIs follow. It spans the source, the
    target and the database, so the whole move is the C(novaops.migration.migrate) playbook with
    C(-e mode=cold -e cold_method=manual) (C(playbooks/tasks/manual_cold_migrate.yml)); this module runs on the
    controller against the cloud and does the API side, one O(step) at a time.
  - The move keeps a journal in the server's metadata under the key C(novaops_manual_move) - compact JSON with the
    run that began it (O(run_id)), the source and target hosts and nodes, the phase (C(begun), then
    C(started_on_target) once the guest was asked to start on the target) and when it started. A re-run reads the
    source from there (after the database step Nova's row names the target) and knows whether the guest may have
    run on the target, whose disk is then the newest - from then on the move only goes forward.
  - The server is locked during the move (with a reason naming the move and the run where the compute API has
    microversion 2.73), so its project cannot start, stop or delete it meanwhile. Admins, the module included, are
    not held back by a lock.
  - Every step checks first and changes only what is not done yet, so any step can be run again after an
    interruption.
  - Needs an admin role.
options:
  server:
    description:
      - Name or id of the server, in any project.
    type: str
    required: true
  target_host:
    description:
      - Compute host the server moves to, as Nova's nova-compute service names it
        (C(openstack compute service list --service nova-compute)).
      - With O(step=start), the journal's source host starts the server there again after a rollback.
    type: str
    required: true
  step:
    description:
      - V(plan) changes nothing (in check mode or not). It refuses, listing every problem at once, what cannot be
        moved by hand - before anything is stopped - and returns the facts the host-side tasks need, with RV(phase)
        saying where the move stands.
      - V(begin) locks the server and writes the journal (phase C(begun), this O(run_id)); with the journal of a run
        that has ended, or with O(takeover), this run takes its move over, keeping what it recorded.
      - V(stop) shuts the server down through Nova (the source's nova-compute up); it needs O(allow_stop) for an
        C(ACTIVE) server.
      - V(records) runs after nova's database row was moved - it moves the server's Placement allocations from the
        source's resource provider to the target's (microversion 1.28, checking the consumer generation) and binds
        each port to the target host.
      - V(start) writes the phase C(started_on_target) into the journal, then starts the server on the host Nova's
        row names - a hard reboot (or a start when C(SHUTOFF)) which rebuilds the libvirt domain from Nova's
        records - and waits until it is C(ACTIVE) and running. With O(target_host) the journal's source (after a
        rollback) the journal is left as it is.
      - V(rollback) is V(records) backwards, after the database row was moved back; it refuses once the journal says
        C(started_on_target).
      - V(finish) unlocks the server and removes the journal (see O(keep_journal)); the playbook runs it at the end
        and after a failure, so that the server's project can use it again.
      - Every step but V(plan) and V(begin) needs the journal to name this O(run_id), V(finish) also runs without a
        journal.
    type: str
    required: true
    choices: [plan, begin, stop, records, start, finish, rollback]
  run_id:
    description:
      - Identifies this run of the playbook - C(HOST:PID:START), the controller's hostname (as C(hostname) prints
        it), the pid of C(ansible-playbook) and that process's start time in clock ticks (field 22 of
        C(/proc/PID/stat)), for example C(ctl1:12345:987654).
      - A journal of another run id is another run's move - while that process runs on this controller the move is
        refused, once it has ended (or its pid belongs to a newer process) this run resumes the move. Whether a run on
        another controller still runs cannot be seen from here, see O(takeover).
      - Required by every step but V(plan); give it to V(plan) too, which otherwise takes this run's own journal
        for another run's.
    type: str
  takeover:
    description:
      - Take over a move begun by a run on another controller, which this one cannot check. Make sure that run has
        ended first. A run that is alive on this controller is never taken over.
    type: bool
    default: false
  allow_stop:
    description:
      - Whether an C(ACTIVE) server may be shut down for the copy. V(false) makes the V(plan) and V(stop) steps
        fail on an C(ACTIVE) server without changing anything.
    type: bool
    default: false
  source_files:
    description:
      - The source's instance files as the host module C(instance_files) (C(state=query)) returns them - with
        C(allocated_bytes), C(backing_file), C(backing_bytes), C(missing_tools), C(shared_filesystem) and more.
      - Used by V(plan) to check that the target has disk room for the copy and that no tool is missing; unset skips
        those checks.
    type: dict
  target_files:
    description:
      - The target's instance files as C(instance_files) (C(state=query)) returns them - with C(available_bytes),
        C(partial_bytes), C(bases), C(missing_tools), C(shared_filesystem) and more.
      - Used by V(plan) like O(source_files).
    type: dict
  shared_storage:
    description:
      - Whether the play found that the source and the target see the same instances_path. V(plan) refuses such a
        move - the manual method copies between local disks; on shared instance storage use cold migration through
        Nova or live migration.
    type: bool
    default: false
  extra_problems:
    description:
      - Problems found outside the cloud's APIs (for example by the checks the playbook runs on the computes), one
        sentence each. V(plan) reports them with its own, so that every problem comes out at once.
    type: list
    elements: str
    default: []
  keep_journal:
    description:
      - With O(step=finish), unlock the server but keep the journal, so that a re-run still knows the source and
        whether the guest ran on the target. The playbook sets it after a failure past the commit point (nova's
        row).
    type: bool
    default: false
extends_documentation_fragment:
  - novaops.migration.openstack
  - novaops.migration.openstack.WAIT
  - novaops.migration.openstack.ACTION_GROUP
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Each step reads what it would change and returns the prediction (RV(actions), the journal, the server's
      status) without changing anything.
  diff_mode:
    support: full
    details: The server's host, status and lock, and the journal's phase and run, before and after; no other
      metadata.
  platform:
    platforms: posix
notes:
  - The steps in order - V(plan), V(begin), V(stop) (or libvirt on the source when its nova-compute is down), the
    copy, the database row (the commit point), V(records), the stale domain dropped on the source, V(start),
    verification, V(finish). The playbook never rolls back on its own; V(rollback) is for an operator who moved the
    row back by hand before the guest was started on the target.
  - The module never looks at the computes' directories - the source is the journal's, else the host Nova names.
  - Nova changes a server's metadata only while no task runs and the server is not in C(ERROR); V(finish) on such a
    server unlocks it and keeps the journal, with a warning.
  - It never copies, touches libvirt or the database itself; those are host-side tasks of the playbook and
    M(novaops.migration.nova_db_instance).
seealso:
  - module: novaops.migration.nova_db_instance
  - module: novaops.migration.cold_migrate
  - module: novaops.migration.migration_preflight
author:
  - novaops maintainers (@novaops)
'''

EXAMPLES = r'''
- name: Plan the manual move of myinstance to compute2 (changes nothing, refuses what cannot be moved by hand)
  novaops.migration.manual_move:
    cloud: lab
    server: myinstance
    target_host: compute2
    step: plan
    run_id: "{{ manual_run_id }}"
    allow_stop: true
  register: plan
  check_mode: false

- name: Lock the server and write the journal
  novaops.migration.manual_move:
    cloud: lab
    server: myinstance
    target_host: compute2
    step: begin
    run_id: "{{ manual_run_id }}"
  when: plan.phase != 'nothing_to_do'

- name: Once nova's row names compute2, move the allocations and bind the ports there
  novaops.migration.manual_move:
    cloud: lab
    server: myinstance
    target_host: compute2
    step: records
    run_id: "{{ manual_run_id }}"

- name: Unlock the server and drop the journal
  novaops.migration.manual_move:
    cloud: lab
    server: myinstance
    target_host: compute2
    step: finish
    run_id: "{{ manual_run_id }}"
'''

RETURN = r'''
server:
  description: The server (see M(novaops.migration.server_info)) after the step; in check mode, the prediction.
  returned: always
  type: dict
  sample: {id: 2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e, name: myinstance, status: SHUTOFF, host: compute1,
           node: compute1, task_state: null, power_state: shutdown}
source_host:
  description: The host the server leaves - the journal's source when there is a journal, else the host Nova names.
  returned: always
  type: str
  sample: compute1
target_host:
  description: The requested target host.
  returned: always
  type: str
  sample: compute2
step:
  description: The step run.
  returned: always
  type: str
  sample: plan
phase:
  description:
    - Where the move stands, after the step (in check mode, as predicted).
    - V(nothing_to_do) - Nova names the target, there is no journal and no unfinished migration of Nova's own.
    - V(fresh) - no journal; the move starts from the host Nova names.
    - V(resume_before_commit) - a journal, and Nova's row still names the source.
    - V(resume_after_commit) - a journal, and Nova's row names the target; the move goes on from the records.
  returned: always
  type: str
  sample: fresh
journal:
  description: The move's journal after the step (in check mode, as predicted); null when there is none.
  returned: always
  type: dict
  sample: {run_id: "ctl1:12345:987654", source_host: compute1, source_node: compute1, target_host: compute2,
           target_node: compute2, phase: begun, started_at: "2026-11-23T22:40:01Z"}
actions:
  description: What the step did (or would do), in order - C(lock), C(write journal), C(stop), C(allocations),
    C(port ID), C(mark journal started_on_target), C(start) or C(reboot HARD), C(unlock), C(remove journal).
  returned: always
  type: list
  elements: str
  sample: [lock, write journal]
problems:
  description: One sentence per reason the move cannot go ahead, each saying what to do; the task fails when there
    is any.
  returned: step=plan
  type: list
  elements: str
  sample: []
nova_host:
  description: The host Nova's record names now.
  returned: step=plan
  type: str
  sample: compute1
moved_in_nova:
  description: Whether Nova's record names the target.
  returned: step=plan
  type: bool
  sample: false
started_on_target:
  description: Whether the journal says the guest was asked to start on the target (its disk there is the newest).
  returned: step=plan
  type: bool
  sample: false
source_node:
  description: Hypervisor node of the source (the journal's, else Nova's); null when Nova has no nova-compute there.
  returned: step=plan
  type: str
  sample: compute1
target_node:
  description: Hypervisor node of the target; null when the target is unknown.
  returned: step=plan
  type: str
  sample: compute2
source_service_up:
  description: Whether Nova reports the source's nova-compute up.
  returned: step=plan
  type: bool
  sample: true
target_service_up:
  description: Whether Nova reports the target's nova-compute up (a target that is down is started by the playbook).
  returned: step=plan
  type: bool
  sample: true
instance_name:
  description: The server's libvirt domain name.
  returned: step=plan
  type: str
  sample: instance-00000003
instance_dir:
  description: The server's instance directory (the default instances_path).
  returned: step=plan
  type: str
  sample: /var/lib/nova/instances/2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e
ports:
  description: The server's ports, the host each is bound to and its binding's vnic_type.
  returned: step=plan, records, rollback
  type: list
  elements: dict
  sample: [{id: 5e0c9d1f-3f2a-4c55-8d0e-6a7b8c9d0e1f, binding_host: compute1, vnic_type: normal}]
'''

from ansible_collections.novaops.migration.plugins.module_utils.openstack import DEFAULT_TIMEOUT
from ansible_collections.novaops.migration.plugins.module_utils.migrations import FINAL_STATUSES, MigrationModule
from ansible_collections.novaops.migration.plugins.module_utils.manual_move import (
    CONSUMER_GENERATION_MICROVERSION, FRESH, NOTHING_TO_DO, RESUME_BEFORE_COMMIT, SHELVED_STATUSES,
    STARTED_ON_TARGET, ManualMoveError, RecordMoveError, delete_journal, device_problems, flavor_resources,
    is_move_lock, journal_conflict, journal_text, lock_reason, lock_reasons_supported, lock_run_id,
    metadata_writable, move_allocations, move_phase, new_journal, no_room_message, node_of, parse_run_id,
    placement_room, port_bindings, ports_bound_elsewhere, provider_of, read_journal, rebind_port, run_is_alive,
    state_problems, storage_problems, target_service_problems, write_journal,
)
from ansible_collections.novaops.migration.plugins.module_utils.servers import (
    fault_message, power_state_name, server_placement, server_summary,
)

STEPS = ('plan', 'begin', 'stop', 'records', 'start', 'finish', 'rollback')


class Decision(object):
    """What a step is going to do, decided before anything changes."""

    def __init__(self, journal, actions=None, predicted=None, wait=None, verify=None, facts=None, problems=None):
        #: The journal once the step is done.
        self.journal = journal
        #: (label, callable) in order; none when everything is where it should be.
        self.actions = actions or []
        #: Server fields the step changes (status, locked), for the check-mode prediction.
        self.predicted = predicted or {}
        #: callable(server) -> the server once the step has settled; None: nothing to wait for.
        self.wait = wait
        #: callable(server) -> further result keys; raises ManualMoveError when the step did not land.
        self.verify = verify
        #: Further result keys (the plan's facts; the predicted ports).
        self.facts = facts or {}
        #: Why the move cannot go ahead (plan).
        self.problems = problems or []

    @property
    def changed(self):
        return bool(self.actions)

    @property
    def labels(self):
        return [label for label, dummy_act in self.actions]


class ManualMoveModule(MigrationModule):
    argument_spec = dict(
        server=dict(type='str', required=True),
        target_host=dict(type='str', required=True),
        step=dict(type='str', required=True, choices=list(STEPS)),
        run_id=dict(type='str'),
        takeover=dict(type='bool', default=False),
        allow_stop=dict(type='bool', default=False),
        source_files=dict(type='dict'),
        target_files=dict(type='dict'),
        shared_storage=dict(type='bool', default=False),
        extra_problems=dict(type='list', elements='str', default=[]),
        keep_journal=dict(type='bool', default=False),
    )
    module_kwargs = dict(supports_check_mode=True,
                         required_if=[('step', step, ['run_id']) for step in STEPS if step != 'plan'])
    wait_timeout = DEFAULT_TIMEOUT
    # Where the processes of other runs are looked up, and this controller's name in run ids (None:
    # socket.gethostname()); an indirection so that unit tests can use a fake process tree.
    proc_root = '/proc'
    controller_hostname = None

    def run(self):
        step = self.params['step']
        # find
        server = self.find_server(self.params['server'])
        if step in ('records', 'rollback'):
            self.require_microversion(self.conn.placement, CONSUMER_GENERATION_MICROVERSION,
                                      'moving allocations safely (consumer generations)')
        self.before, self.journal, self._reasons = server, None, None

        # decide
        try:
            if self.params['run_id'] is not None:
                parse_run_id(self.params['run_id'])
            self.journal = read_journal(server)
            decision = getattr(self, '_decide_' + step)(server)
        except ManualMoveError as error:
            self.fail_json(msg=str(error), **self._result(server, self.journal))
        if decision.problems:
            self.fail_json(msg=self._problems_message(server, decision.problems),
                           **self._result(server, decision.journal, decision))

        # in check mode, the prediction
        if self.check_mode:
            self.exit_json(decision.changed, diff=self._diff(server, decision.journal, decision.predicted),
                           **self._result(server, decision.journal, decision, predicted=True))

        # act, wait, verify
        current, journal, verified = server, self.journal, {}
        try:
            for dummy_label, act in decision.actions:
                act()
            if decision.changed:
                current = decision.wait(server) if decision.wait else self.refetch(server.id)
                if current is None:
                    raise ManualMoveError("server '%s' (%s) is gone" % (server.name, server.id))
                journal = read_journal(current)
                verified = decision.verify(current) if decision.verify else {}
        except ManualMoveError as error:
            self.fail_json(msg=str(error), **self._result(current, journal, decision))

        # return
        result = self._result(current, journal, decision)
        result.update(verified or {})
        self.exit_json(decision.changed, diff=self._diff(current, journal), **result)

    # -- plan ----------------------------------------------------------------
    def _decide_plan(self, server):
        target = self.params['target_host']
        journal = self.journal
        source = journal['source_host'] if journal else server.compute_host
        unfinished = self._unfinished_nova_moves(server) if journal is None and server.compute_host == target else []
        phase = move_phase(journal, server.compute_host, target, bool(unfinished))
        source_service = self.compute_service(source) if source else None
        target_service = self.compute_service(target)
        ports = port_bindings(self, server.id)
        facts = dict(
            phase=phase, source_host=source, target_host=target,
            source_node=(journal or {}).get('source_node') or (self._source_node(server, source) if source else None),
            target_node=(journal or {}).get('target_node') or (node_of(self, target) if target_service else None),
            nova_host=server.compute_host, moved_in_nova=server.compute_host == target,
            started_on_target=bool(journal and journal['phase'] == STARTED_ON_TARGET),
            instance_name=server.instance_name, instance_dir=server_placement(server)['instance_dir'],
            ports=ports,
            source_service_up=bool(source_service and source_service.state == 'up'),
            target_service_up=bool(target_service and target_service.state == 'up'),
        )
        facts['problems'] = self._plan_problems(server, facts, journal, target_service, unfinished)
        return Decision(journal, facts=facts, problems=facts['problems'])

    def _plan_problems(self, server, facts, journal, target_service, unfinished):
        """Every reason the move cannot go ahead, all found before anything is stopped."""
        target, phase = facts['target_host'], facts['phase']
        shelved = server.status in SHELVED_STATUSES
        if phase == NOTHING_TO_DO and not shelved:
            return []
        problems = list(self.params['extra_problems'])
        if shelved:
            # No host to move from, even when Nova's record still names the target: never "already there".
            return problems + state_problems(server, self.params['allow_stop'], before_commit=True)
        if unfinished:
            record = unfinished[0]
            return problems + [
                "Nova names %s already, but its own migration %s of this server (%s, %s -> %s) is unfinished; let "
                "it end, or confirm or revert it (`openstack server migration confirm|revert %s`)"
                % (target, record.id, record.status, record.source_compute, record.dest_compute, server.id)]
        conflict = journal_conflict(journal, self.params['run_id'], target, self.params['takeover'],
                                    self.controller_hostname, self.proc_root)
        if conflict:
            problems.append(conflict)
        if journal and server.compute_host not in (journal['source_host'], journal['target_host']):
            problems.append("Nova names %s, neither the journal's source %s nor its target %s; find out where the "
                            "server's newest disk is before anything else"
                            % (server.compute_host, journal['source_host'], journal['target_host']))
        before_commit = phase in (FRESH, RESUME_BEFORE_COMMIT)
        problems.extend(state_problems(server, self.params['allow_stop'], before_commit))
        if target_service is None:
            problems.append(self.unknown_host_message(target))
        if not before_commit:
            # Past the commit point the move only goes forward: what decided the copy no longer matters.
            return problems
        problems.extend(device_problems(server, facts['ports']))
        if target_service is not None:
            problems.extend(target_service_problems(target_service))
            room = self._room_problem(server, target, facts['target_node'])
            if room:
                problems.append(room)
        problems.extend(storage_problems(self.params['source_files'], self.params['target_files'],
                                         self.params['shared_storage'], facts['source_host'], target))
        return problems

    def _source_node(self, server, source):
        """The source's hypervisor node: Nova's, else the node of Nova's row (which nova_db_instance checks)."""
        return node_of(self, source) or (server.hypervisor_hostname if server.compute_host == source else None)

    def _unfinished_nova_moves(self, server):
        return [record for record in self.migration_records(server.id) if record.status not in FINAL_STATUSES]

    def _room_problem(self, server, target, node):
        """Why the target's resource provider has no room for the server's flavor, or None."""
        if node is None:
            return ('Nova lists no hypervisor for %s; is its nova-compute registered (`nova-manage cell_v2 '
                    'discover_hosts`)?' % target)
        try:
            provider = provider_of(self, node)
        except RecordMoveError as error:
            return str(error)
        room = placement_room(self.conn, provider, flavor_resources(server))
        return no_room_message(server, target, room['shortages']) if room['shortages'] else None

    # -- begin ---------------------------------------------------------------
    def _decide_begin(self, server):
        target, run_id, journal = self.params['target_host'], self.params['run_id'], self.journal
        if self.compute_service(target) is None:
            raise ManualMoveError(self.unknown_host_message(target))
        conflict = journal_conflict(journal, run_id, target, self.params['takeover'], self.controller_hostname,
                                    self.proc_root)
        if conflict:
            raise ManualMoveError(conflict)
        if journal is None:
            if server.status in SHELVED_STATUSES:
                raise ManualMoveError(state_problems(server, True, before_commit=True)[0])
            if not server.compute_host:
                raise ManualMoveError("Nova names no compute host for server '%s' (%s); there is nothing to move from"
                                      % (server.name, server.id))
            if server.compute_host == target:
                raise ManualMoveError("server '%s' (%s) is on %s already and no manual move of it is unfinished: "
                                      "there is nothing to begin" % (server.name, server.id, target))
            source = server.compute_host
            after = new_journal(run_id, source, self._source_node(server, source), target, node_of(self, target))
        else:
            # Resuming (or taking over) keeps what the move recorded: its source, and whether the guest ran there.
            after = dict(journal, run_id=run_id)

        actions = []
        reason = lock_reason(target, run_id)
        if self._lock_needed(server, reason):
            actions.append(('lock', lambda: self._lock(server, reason)))
        if after != journal:
            journal_text(after)  # too long for Nova: fail before locking anything
            self._require_metadata_writable(server, 'write the journal')
            actions.append(('write journal', lambda: write_journal(self, server, after)))

        def verify(current):
            if read_journal(current) != after:
                raise ManualMoveError("the journal of server '%s' (%s) reads %s after it was written as %s; another "
                                      "run may be moving it" % (server.name, server.id, read_journal(current), after))
            if not current.is_locked:
                raise ManualMoveError("server '%s' (%s) is not locked after the lock request"
                                      % (server.name, server.id))
        return Decision(after, actions, predicted=dict(locked=True), verify=verify)

    def _lock_needed(self, server, reason):
        if not server.is_locked:
            return True
        if not self._lock_reasons():
            # An anonymous lock: whose it is cannot be told, and the server is locked.
            return False
        # An earlier run's lock becomes this run's; a lock someone else took for their reasons stays theirs.
        return server.locked_reason != reason and is_move_lock(server.locked_reason)

    def _lock(self, server, reason):
        if self._lock_reasons():
            self.conn.compute.lock_server(server, locked_reason=reason)
        else:
            self.conn.compute.lock_server(server)

    def _lock_reasons(self):
        if self._reasons is None:
            self._reasons = lock_reasons_supported(self.conn)
        return self._reasons

    # -- stop ----------------------------------------------------------------
    def _decide_stop(self, server):
        journal = self._own_journal()
        self._require_journal_target(journal)
        source = journal['source_host']
        if server.compute_host != source:
            raise ManualMoveError("server '%s' (%s) is on %s, not on %s: stop only runs before the record moves."
                                  % (server.name, server.id, server.compute_host, source))
        if server.status == 'SHUTOFF' and not server.task_state:
            return Decision(journal)
        if server.status != 'ACTIVE' or server.task_state:
            raise ManualMoveError(state_problems(server, True, before_commit=True)[0])
        if not self.params['allow_stop']:
            raise ManualMoveError("server '%s' (%s) is ACTIVE and allow_stop is false; nothing was changed."
                                  % (server.name, server.id))
        return Decision(journal, [('stop', lambda: self.conn.compute.stop_server(server))],
                        predicted=dict(status='SHUTOFF'), wait=self._wait_stopped)

    # -- records, rollback ---------------------------------------------------
    def _decide_records(self, server, backwards=False):
        """Placement allocations and port bindings follow Nova's row (records) or go back with it (rollback)."""
        journal = self._own_journal()
        self._require_journal_target(journal)
        step = self.params['step']
        source, target = journal['source_host'], journal['target_host']
        leaving, arriving = (target, source) if backwards else (source, target)
        if server.compute_host != arriving:
            raise ManualMoveError("server '%s' (%s) is on %s in Nova's database, not on %s: move the database row "
                                  "(novaops.migration.nova_db_instance) before the %s step."
                                  % (server.name, server.id, server.compute_host, arriving, step))
        nodes = {source: journal['source_node'] or node_of(self, source),
                 target: journal['target_node'] or node_of(self, target)}
        try:
            if nodes[leaving] is None or nodes[arriving] is None:
                raise RecordMoveError('Nova lists no hypervisor for %s' % (leaving if nodes[leaving] is None
                                                                           else arriving))
            moving = move_allocations(self, server.id, nodes[leaving], nodes[arriving], check_mode=True)
        except RecordMoveError as error:
            raise RecordMoveError("cannot move the allocations of server '%s' (%s) from %s to %s: %s"
                                  % (server.name, server.id, leaving, arriving, error))

        actions = []
        if moving:
            actions.append(('allocations',
                            lambda: move_allocations(self, server.id, nodes[leaving], nodes[arriving], False)))
        predicted_ports = port_bindings(self, server.id)
        for port in ports_bound_elsewhere(self, server.id, arriving):
            actions.append(('port %s' % port.id, lambda port=port: rebind_port(self, port, arriving)))
        for binding in predicted_ports:
            binding['binding_host'] = arriving

        def verify(dummy_current):
            ports = port_bindings(self, server.id)
            astray = [port['id'] for port in ports if port['binding_host'] != arriving]
            if astray or move_allocations(self, server.id, nodes[leaving], nodes[arriving], check_mode=True):
                raise ManualMoveError("after the %s step of server '%s' (%s) its %s still not on %s; run the step "
                                      "again" % (step, server.name, server.id,
                                                 'ports %s are' % ', '.join(astray) if astray else 'allocations are',
                                                 arriving))
            return dict(ports=ports)
        return Decision(journal, actions, verify=verify, facts=dict(ports=predicted_ports))

    def _decide_rollback(self, server):
        journal = self._own_journal()
        if journal['phase'] == STARTED_ON_TARGET:
            raise ManualMoveError("the guest of server '%s' (%s) has run on %s, its disk there is the newest; not "
                                  "rolling back - run the move again to finish it on %s"
                                  % (server.name, server.id, journal['target_host'], journal['target_host']))
        return self._decide_records(server, backwards=True)

    # -- start ---------------------------------------------------------------
    def _decide_start(self, server):
        journal = self._own_journal()
        target = self.params['target_host']
        on_target = target == journal['target_host']
        if not on_target and target != journal['source_host']:
            self._require_journal_target(journal)
        if not on_target and journal['phase'] == STARTED_ON_TARGET:
            raise ManualMoveError("the guest of server '%s' (%s) has run on %s, its disk there is the newest; not "
                                  "starting it on %s" % (server.name, server.id, journal['target_host'], target))
        if server.compute_host != target:
            raise ManualMoveError("server '%s' (%s) is on %s in Nova's database, not on %s: not starting it there."
                                  % (server.name, server.id, server.compute_host, target))
        actions, after = [], journal
        if on_target and journal['phase'] != STARTED_ON_TARGET:
            # Recorded before the request: once asked to start there, the target's disk may be written, and then
            # it is the only truth.
            after = dict(journal, phase=STARTED_ON_TARGET)
            self._require_metadata_writable(server, 'record in the journal that the guest starts on %s' % target)
            actions.append(('mark journal started_on_target', lambda: write_journal(self, server, after)))
        # A hard reboot rebuilds the libvirt domain from Nova's records; start (power on) does the same for a
        # SHUTOFF server. A plain soft start would look for the domain the source still had.
        if server.status == 'SHUTOFF':
            actions.append(('start', lambda: self.conn.compute.start_server(server)))
        else:
            actions.append(('reboot HARD', lambda: self.conn.compute.reboot_server(server, 'HARD')))
        return Decision(after, actions, predicted=dict(status='ACTIVE'), wait=self._wait_running)

    # -- finish --------------------------------------------------------------
    def _decide_finish(self, server):
        journal = self._own_journal(required=False)
        actions, after, unlocking = [], journal, self._unlock_wanted(server, journal)
        if unlocking:
            # Unlocked first: without the journal, only a lock whose reason names a manual move is known as ours.
            actions.append(('unlock', lambda: self.conn.compute.unlock_server(server)))
        if journal is not None and not self.params['keep_journal']:
            if metadata_writable(server):
                after = None
                actions.append(('remove journal', lambda: delete_journal(self, server)))
            else:
                self.warn("server '%s' (%s) is %s%s: Nova changes no metadata now, so the journal of the move stays "
                          "(a re-run resumes from it). Run finish again once the server is ACTIVE or SHUTOFF."
                          % (server.name, server.id, server.status,
                             " with task '%s'" % server.task_state if server.task_state else ''))

        def verify(current):
            if unlocking and current.is_locked:
                raise ManualMoveError("server '%s' (%s) is still locked after the unlock request"
                                      % (server.name, server.id))
            if read_journal(current) != after:
                raise ManualMoveError("the journal of server '%s' (%s) is still there after it was removed"
                                      % (server.name, server.id))
        return Decision(after, actions, predicted=dict(locked=False) if unlocking else {}, verify=verify)

    def _unlock_wanted(self, server, journal):
        if not server.is_locked:
            return False
        if not self._lock_reasons():
            # Anonymous locks (no microversion 2.73): ours when the journal is.
            return journal is not None
        # Only a manual move's lock: one the project or an operator took for their own reasons stays.
        if not is_move_lock(server.locked_reason):
            return False
        if journal is not None:
            return True
        # Without a journal, not the lock of another run seen alive here (between its lock and its journal).
        locker = lock_run_id(server.locked_reason)
        if locker in (None, self.params['run_id']):
            return True
        try:
            return run_is_alive(locker, self.controller_hostname, self.proc_root) is not True
        except ManualMoveError:
            return True

    # -- rules every step but plan and begin follow ------------------------------
    def _own_journal(self, required=True):
        """The journal, which must be this run's; None (finish) when there is none."""
        journal = self.journal
        if journal is None:
            if not required:
                return None
            raise ManualMoveError("server '%s' (%s) has no journal of a manual move: run the begin step first (the "
                                  "playbook does)" % (self.before.name, self.before.id))
        if journal['run_id'] != self.params['run_id']:
            raise ManualMoveError("another run took over this move (its journal names run %s, this is %s); this run "
                                  "stops here without changing anything" % (journal['run_id'], self.params['run_id']))
        return journal

    def _require_journal_target(self, journal):
        target = self.params['target_host']
        if journal['target_host'] != target:
            raise ManualMoveError('the journal of this move names the target %s, not %s: an unfinished manual move '
                                  'to %s started at %s; finish it with -e target=%s first'
                                  % (journal['target_host'], target, journal['target_host'], journal['started_at'],
                                     journal['target_host']))

    def _require_metadata_writable(self, server, purpose):
        if not metadata_writable(server):
            raise ManualMoveError("server '%s' (%s) is %s%s: Nova changes no metadata now, and the module must %s "
                                  "before it goes on. %s, then run again."
                                  % (server.name, server.id, server.status,
                                     " with task '%s'" % server.task_state if server.task_state else '', purpose,
                                     'Reset its state (novaops.migration.server_state) after checking where the guest '
                                     'runs' if server.status == 'ERROR' else 'Wait until the task ends'))

    # -- wait ----------------------------------------------------------------
    def _wait_stopped(self, server):
        if not self.params['wait']:
            return self.refetch(server.id)
        return self.wait_for(lambda: self.refetch(server.id), ['SHUTOFF'], ['ERROR', 'GONE'],
                             what="stop of server '%s' (%s)" % (server.name, server.id),
                             state_of=self._settled_status, describe_failure=fault_message)

    def _wait_running(self, server):
        if not self.params['wait']:
            return self.refetch(server.id)
        return self.wait_for(lambda: self.refetch(server.id), ['RUNNING'], ['ERROR', 'GONE'],
                             what="start of server '%s' (%s) on %s" % (
                                 server.name, server.id, self.params['target_host']),
                             state_of=self._running_state, describe_failure=fault_message)

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

    # -- return --------------------------------------------------------------
    def _problems_message(self, server, problems):
        numbered = ' '.join('(%d) %s.' % (index + 1, problem.rstrip('.')) for index, problem in enumerate(problems))
        return ("manual move of server '%s' (%s) to %s cannot go ahead, %d problem%s: %s Nothing was changed."
                % (server.name, server.id, self.params['target_host'], len(problems),
                   '' if len(problems) == 1 else 's', numbered))

    def _source(self, server, journal):
        recorded = journal or self.journal
        return recorded['source_host'] if recorded else server.compute_host

    def _result(self, server, journal, decision=None, predicted=False):
        summary = server_summary(server)
        if predicted and decision is not None and 'status' in decision.predicted:
            summary['status'] = decision.predicted['status']
        result = dict(
            server=summary,
            source_host=self._source(server, journal),
            target_host=self.params['target_host'],
            step=self.params['step'],
            phase=move_phase(journal, server.compute_host, self.params['target_host']),
            journal=journal,
            actions=decision.labels if decision is not None else [],
        )
        if decision is not None:
            result.update(decision.facts)
        return result

    def _diff(self, server, journal, predicted=None):
        """Host, status, lock and journal before and after; no other metadata."""
        def where(current, current_journal, **overrides):
            state = dict(host=current.compute_host, status=current.status, locked=bool(current.is_locked),
                         journal_phase=current_journal['phase'] if current_journal else None,
                         journal_run_id=current_journal['run_id'] if current_journal else None)
            state.update(overrides)
            return state
        return self.diff(where(self.before, self.journal), where(server, journal, **(predicted or {})))


def main():
    module = ManualMoveModule()
    module()


if __name__ == '__main__':
    main()
