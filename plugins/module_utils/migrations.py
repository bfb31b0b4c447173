# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Following a Nova migration: its record, its progress, and why it failed.

Shared by live_migrate, cold_migrate, migration_info and migration_preflight.
Nova keeps one migration record per move (``/os-migrations``); while a live
migration runs, ``/servers/{id}/migrations`` adds the bytes copied so far. A
move is only done when the server, the record and the host all agree, so the
modules watch the three together (MigrationWatch) rather than the server's
status alone: a failed live migration also ends with the server ACTIVE.
"""

import json

from ansible_collections.novaops.migration.plugins.module_utils.move_slots import MoveSlot, SlotError
from ansible_collections.novaops.migration.plugins.module_utils.openstack import (
    ModuleFailure, NovaopsModule, sdk_exceptions,
)
from ansible_collections.novaops.migration.plugins.module_utils.servers import fault_message, port_summary

# Nova power states in which the guest's ports are plugged and Neutron reports them ACTIVE: running, paused.
GUEST_UP_POWER_STATES = (1, 3)

# migration_type of Nova's migration records.
LIVE_MIGRATION = 'live-migration'
COLD_MIGRATION = 'migration'
RESIZE = 'resize'
EVACUATION = 'evacuation'
MIGRATION_TYPES = (LIVE_MIGRATION, COLD_MIGRATION, RESIZE, EVACUATION)

# Statuses after which Nova does nothing more with a migration. A cold
# migration rests in 'finished' (server VERIFY_RESIZE) until confirmed or reverted.
FINAL_STATUSES = ('completed', 'confirmed', 'reverted', 'failed', 'error', 'cancelled', 'done')
FAILED_STATUSES = ('failed', 'error', 'cancelled')
# The status of a cold migration's record while the server waits in VERIFY_RESIZE for a confirm or revert.
AWAITING_CONFIRMATION = 'finished'
# Statuses of a live migration Nova can still abort (queued and preparing since microversion 2.65).
ABORTABLE_STATUSES = ('queued', 'preparing', 'running')
# Statuses in which /servers/{id}/migrations reports a live migration, with its byte counts.
LIVE_REPORTED_STATUSES = ('queued', 'preparing', 'running', 'post-migrating')

# Microversions of the compute API for what the migration modules do.
LIVE_MIGRATION_MICROVERSION = '2.25'      # block_migration: auto
LIVE_MIGRATION_HOST_MICROVERSION = '2.30'  # a target host the scheduler still checks
FORCE_COMPLETE_MICROVERSION = '2.22'
ABORT_MICROVERSION = '2.24'
COLD_MIGRATION_HOST_MICROVERSION = '2.56'

PROGRESS_FIELDS = ('memory_total_bytes', 'memory_processed_bytes', 'memory_remaining_bytes',
                   'disk_total_bytes', 'disk_processed_bytes', 'disk_remaining_bytes')


def ports_argument_spec():
    """Options of the modules that settle a server's ports after a move (settle_ports)."""
    return dict(
        ports_timeout=dict(type='int', default=15),
        repair_port_status=dict(type='bool', default=True),
    )


def move_followup_argument_spec():
    """Options of the modules that move a server: where to report progress, the move slots, its ports."""
    return dict(progress_file=dict(type='path'), slot_dir=dict(type='path'), slots=dict(type='int', default=1),
                slot_timeout=dict(type='int', default=86400), **ports_argument_spec())


def percent_copied(total, remaining):
    """How much of ``total`` bytes is copied, 0-100, or None when Nova does not say."""
    if not total or remaining is None:
        return None
    done = 100.0 * (total - remaining) / total
    return round(min(max(done, 0.0), 100.0), 1)


def migration_progress(server_migration):
    """Bytes moved so far by a running live migration, with percentages.

    ``processed`` grows past ``total`` when the guest dirties pages that are
    sent again, so the percentage is computed from what remains.
    """
    progress = dict((field, getattr(server_migration, field, None)) for field in PROGRESS_FIELDS)
    progress['memory_percent'] = percent_copied(progress['memory_total_bytes'], progress['memory_remaining_bytes'])
    progress['disk_percent'] = percent_copied(progress['disk_total_bytes'], progress['disk_remaining_bytes'])
    totals = [progress[kind + '_total_bytes'] for kind in ('memory', 'disk') if progress[kind + '_total_bytes']]
    remaining = [progress[kind + '_remaining_bytes'] or 0 for kind in ('memory', 'disk')
                 if progress[kind + '_total_bytes']]
    progress['percent'] = percent_copied(sum(totals), sum(remaining)) if totals else None
    return progress


def migration_summary(migration, progress=None):
    """The fields the modules report about a migration record (``/os-migrations``)."""
    status = migration.status
    return dict(
        id=migration.id,
        uuid=migration.uuid,
        status=status,
        migration_type=migration.migration_type,
        server_id=migration.server_id,
        source_compute=migration.source_compute,
        source_node=migration.source_node,
        dest_compute=migration.dest_compute,
        dest_node=migration.dest_node,
        dest_host=migration.dest_host,
        created_at=migration.created_at,
        updated_at=migration.updated_at,
        in_progress=status not in FINAL_STATUSES and status != 'finished',
        progress=progress,
    )


def newest_first(migrations):
    return sorted(migrations, key=lambda item: (item.created_at or '', item.id or 0), reverse=True)


class Snapshot(object):
    """One look at a moving server: the server, its migration record, the bytes copied."""

    def __init__(self, server, migration=None, progress=None):
        self.server = server
        self.migration = migration
        self.progress = progress

    @property
    def migration_status(self):
        return self.migration.status if self.migration is not None else None


class MigrationWatch(object):
    """Polls a server and the migration Nova runs for it; keeps a timeline of progress.

    ``poll`` is the getter handed to NovaopsModule.wait_for(). The migration
    record is the newest one of ``migration_types`` whose id is not in
    ``known_ids`` (the server's records before we asked for the move), or the
    one given as ``migration_id``.
    """

    # Most samples kept in the timeline; further ones replace the latest.
    MAX_SAMPLES = 200

    def __init__(self, module, server_id, migration_types, known_ids=(), migration_id=None, started=None,
                 progress_file=None):
        self.module = module
        self.progress_file = progress_file
        self.server_id = server_id
        self.migration_types = tuple(migration_types)
        self.known_ids = set(known_ids)
        self.migration_id = migration_id
        self.started = module._clock() if started is None else started
        self.samples = []
        self.last = None

    @property
    def compute(self):
        return self.module.conn.compute

    def elapsed(self):
        return round(self.module._clock() - self.started, 1)

    def find_migration(self):
        records = self.module.migration_records(self.server_id, self.migration_types)
        if self.migration_id is not None:
            matching = [record for record in records if record.id == self.migration_id]
            return matching[0] if matching else None
        fresh = [record for record in records if record.id not in self.known_ids]
        if fresh:
            self.migration_id = fresh[0].id
            return fresh[0]
        return None

    def live_progress(self, migration):
        if migration is None or migration.migration_type != LIVE_MIGRATION or \
                migration.status not in LIVE_REPORTED_STATUSES:
            return None
        for record in self.compute.server_migrations(self.server_id):
            if record.id == migration.id:
                return migration_progress(record)
        return None

    def poll(self):
        server = self.module.get_or_none(self.compute.get_server, self.server_id)
        migration = self.find_migration() if server is not None else None
        snapshot = Snapshot(server, migration, self.live_progress(migration))
        self._sample(snapshot)
        self.last = snapshot
        return snapshot

    def _sample(self, snapshot):
        server = snapshot.server
        progress = snapshot.progress or {}
        sample = dict(
            elapsed=self.elapsed(),
            migration_status=snapshot.migration_status,
            server_status=server.status if server is not None else None,
            task_state=server.task_state if server is not None else None,
            host=server.compute_host if server is not None else None,
            percent=progress.get('percent'),
            memory_percent=progress.get('memory_percent'),
            disk_percent=progress.get('disk_percent'),
            memory_remaining_bytes=progress.get('memory_remaining_bytes'),
            disk_remaining_bytes=progress.get('disk_remaining_bytes'),
        )
        if self.samples:
            previous = dict(self.samples[-1], elapsed=None)
            if previous == dict(sample, elapsed=None):
                return
        if len(self.samples) >= self.MAX_SAMPLES:
            self.samples[-1] = sample
        else:
            self.samples.append(sample)
        self._report(sample)

    def _report(self, sample):
        """Append the sample to the progress file, which a playbook reads without another API call."""
        if not self.progress_file:
            return
        try:
            with open(self.progress_file, 'a') as stream:
                stream.write(json.dumps(dict(sample, migration_id=self.migration_id), sort_keys=True) + '\n')
        except (IOError, OSError) as error:
            self.module.warn('cannot write the progress to %s (%s); the move goes on' % (self.progress_file, error))
            self.progress_file = None

    def migration(self):
        """Summary of the migration record seen last, or None."""
        if self.last is None or self.last.migration is None:
            return None
        return migration_summary(self.last.migration, self.last.progress)


class MigrationModule(NovaopsModule):
    """Base of the migration modules: finding servers and compute hosts, reading records, explaining failures."""

    move_slot = None

    def take_move_slot(self):
        """With slot_dir, wait for one of its ``slots`` move slots before anything else (the drain's window).

        Taken before the server is looked at, so what the move decides comes from the server as it is when its
        turn comes. Held until the module's process ends. Check mode moves nothing and takes none.
        """
        directory = self.params.get('slot_dir')
        if not directory or self.check_mode:
            return None
        try:
            slot = MoveSlot(directory, self.params['slots'])
            slot.acquire(self.params['slot_timeout'], on_wait=self._record_waiting_for_slot)
        except SlotError as error:
            raise ModuleFailure(msg='%s; nothing was asked of Nova for %s.' % (error, self.params.get('server')))
        self.move_slot = slot
        return slot

    def _record_waiting_for_slot(self, waited):
        path = self.params.get('progress_file')
        if not path:
            return
        record = dict(migration_status='waiting for a free move slot (%d at once)' % self.params['slots'],
                      waited=waited)
        try:
            with open(path, 'a') as stream:
                stream.write(json.dumps(record, sort_keys=True) + '\n')
        except (IOError, OSError) as error:
            self.warn('cannot write the progress to %s (%s); the move goes on' % (path, error))

    def find_server(self, name_or_id, required=True):
        # Operators move every project's servers: look in all of them.
        return self.find_one('server', name_or_id,
                             lambda: self.conn.compute.servers(name=name_or_id, all_projects=True),
                             get_by_id=self.conn.compute.get_server, required=required,
                             hint='check the name with `openstack server list --all-projects`')

    def refetch(self, server_id):
        return self.get_or_none(self.conn.compute.get_server, server_id)

    def compute_services(self):
        """The nova-compute services, fetched once per run."""
        if getattr(self, '_compute_services', None) is None:
            self._compute_services = list(self.conn.compute.services(binary='nova-compute'))
        return self._compute_services

    def compute_service(self, host):
        for service in self.compute_services():
            if service.host == host:
                return service
        return None

    def unknown_host_message(self, host):
        known = sorted(service.host for service in self.compute_services())
        return ("no nova-compute service runs on host '%s' (compute hosts: %s). Name the host as "
                "`openstack compute service list --service nova-compute` shows it."
                % (host, ', '.join(known) or 'none'))

    def require_compute_host(self, host):
        service = self.compute_service(host)
        if service is None:
            raise ModuleFailure(msg=self.unknown_host_message(host))
        return service

    def migration_records(self, server_id, migration_types=None):
        """The server's migration records, newest first, optionally of some types only."""
        records = self.conn.compute.migrations(server_id=server_id)
        if migration_types:
            records = [record for record in records if record.migration_type in migration_types]
        return newest_first(records)

    def known_migration_ids(self, server_id):
        return set(record.id for record in self.migration_records(server_id))

    def action_error(self, server_id):
        """Why the server's most recent instance action failed, from its events; None if it did not."""
        try:
            actions = list(self.conn.compute.server_actions(server_id))
        except sdk_exceptions.SDKException:
            return None
        if not actions:
            return None
        latest = sorted(actions, key=lambda action: action.start_time or '')[-1]
        try:
            detail = self.conn.compute.get_server_action(latest.request_id, server_id)
        except sdk_exceptions.SDKException:
            return latest.message
        for event in detail.events or []:
            if (event.result or '').lower() == 'error':
                reason = event.details or last_line(event.traceback) or latest.message or 'no details'
                return "%s failed in %s on %s: %s" % (latest.action, event.event, event.host or 'unknown host', reason)
        return latest.message

    def ports_after_move(self, server):
        """(port summaries, ids of ports nudged) of a moved server; only a running guest's ports must be ACTIVE."""
        if server.power_state not in GUEST_UP_POWER_STATES:
            return [port_summary(port) for port in self.conn.network.ports(device_id=server.id)], []
        return self.settle_ports(server.id, self.params['ports_timeout'], self.params['repair_port_status'])

    def settle_ports(self, server_id, timeout, repair):
        """The server's ports once Neutron reports them ACTIVE; returns (port summaries, ids of ports nudged).

        After a move Neutron marks a port DOWN until its backend reports it up
        on the new host. ML2/OVN sets the status only when the port's up flag
        changes in OVN; when the flag never dropped during the move (the target
        had claimed the port before Neutron activated its binding) Neutron
        keeps the port DOWN for good although traffic flows. Turning its admin
        state off and on makes Neutron read the status again.
        """
        ports, stuck = self._wait_ports_active(server_id, timeout)
        nudged = []
        if stuck and repair:
            for port in stuck:
                self.conn.network.update_port(port, is_admin_state_up=False)
                self.conn.network.update_port(port, is_admin_state_up=True)
                nudged.append(port.id)
            ports, stuck = self._wait_ports_active(server_id, timeout)
            self.warn('Neutron still reported port%s %s DOWN %s s after the move; %s admin state was turned off '
                      'and on so Neutron reads the status again: %s.'
                      % ('s' if len(nudged) > 1 else '', ', '.join(nudged), timeout,
                         'their' if len(nudged) > 1 else 'its',
                         'still not ACTIVE' if stuck else 'ACTIVE now'))
        if stuck:
            self.warn("port%s %s of the server %s not ACTIVE (%s) after the move; check with `openstack port show`."
                      % ('s' if len(stuck) > 1 else '', ', '.join(port.id for port in stuck),
                         'are' if len(stuck) > 1 else 'is', ', '.join(port.status or '?' for port in stuck)))
        return [port_summary(port) for port in ports], nudged

    def _ports_not_active(self, server_id):
        ports = list(self.conn.network.ports(device_id=server_id))
        # A port an operator turned off is DOWN on purpose.
        return ports, [port for port in ports if port.status != 'ACTIVE' and port.is_admin_state_up is not False]

    def _wait_ports_active(self, server_id, timeout):
        """(ports, those not ACTIVE) once all are ACTIVE, or as they are when the time is up."""
        return self.wait_for(lambda: self._ports_not_active(server_id), ['ACTIVE'], what="the server's ports",
                             state_of=lambda found: 'NOT ACTIVE' if found[1] else 'ACTIVE', timeout=timeout,
                             on_timeout=lambda found: found)

    def explain_failed_move(self, server, migration):
        """Nova's reasons for a failed move: the server's fault, else the failed instance action."""
        reasons = []
        if migration is not None:
            reasons.append("migration %s is '%s'" % (migration.id, migration.status))
        detail = fault_message(server) if server is not None else None
        detail = detail or (self.action_error(server.id) if server is not None else None)
        if detail:
            reasons.append(detail)
        return '; '.join(reasons) or 'Nova gave no reason'


def last_line(text):
    lines = [line.strip() for line in (text or '').splitlines() if line.strip()]
    return lines[-1] if lines else None
