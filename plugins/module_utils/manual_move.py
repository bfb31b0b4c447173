# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The API side of a manual cold migration: its journal, the checks before it, Placement and ports.

Nova's own migration moves the allocations and port bindings for us; when
the files are copied by hand and the database row is rewritten
(nova_db_instance), the server's allocations still count on the source's
resource provider and its ports stay bound to the source host until someone
moves them. Every function here is idempotent: it compares first and
changes only what is not yet where it should be, so an interrupted move can
simply be run again.

A move keeps its own record, the journal, in the server's metadata (key
``novaops_manual_move``): the run that began it, where it comes from and
goes to, and whether the guest was asked to start on the target. A re-run
reads the source from there (after the database step Nova's row names the
target, and a directory found on some compute proves nothing), and once the
guest may have run on the target, its disk there is the newest and the move
only goes forward.

Also here, shared with migration_preflight: what a flavor claims in
Placement and whether a resource provider has room for it.

Helpers raise ManualMoveError; only the module's run() turns it into a failure.
"""

import json
import math
import os
import socket
from datetime import datetime, timezone

try:
    from openstack import utils as sdk_utils
except ImportError:
    # NovaopsModule fails with a clear message before anything here runs.
    sdk_utils = None

from ansible_collections.novaops.migration.plugins.module_utils.instance_files import copy_space_problem
from ansible_collections.novaops.migration.plugins.module_utils.openstack import sdk_exceptions
from ansible_collections.novaops.migration.plugins.module_utils.servers import (
    TRANSITIONAL_STATUSES, fault_message, server_image_id,
)

# -- the journal ------------------------------------------------------------------
# Metadata key holding the journal, compact JSON.
JOURNAL_KEY = 'novaops_manual_move'
JOURNAL_FIELDS = ('run_id', 'source_host', 'source_node', 'target_host', 'target_node', 'phase', 'started_at')
JOURNAL_REQUIRED_FIELDS = ('run_id', 'source_host', 'target_host', 'phase')
# Journal phases: the move is begun (the server locked, nothing on the target runs yet); the guest was asked to
# start on the target, whose disk may have been written since: it is the newest, there is no way back.
BEGUN = 'begun'
STARTED_ON_TARGET = 'started_on_target'
JOURNAL_PHASES = (BEGUN, STARTED_ON_TARGET)
# Nova refuses a metadata value longer than this.
METADATA_VALUE_MAX_LENGTH = 255
# Statuses in which Nova changes a server's metadata (vm_state active, paused, suspended, stopped), with no task.
METADATA_WRITABLE_STATUSES = ('ACTIVE', 'PAUSED', 'SUSPENDED', 'SHUTOFF')

# -- where the move stands (the plan's phase) ----------------------------------------
NOTHING_TO_DO = 'nothing_to_do'
FRESH = 'fresh'
RESUME_BEFORE_COMMIT = 'resume_before_commit'
RESUME_AFTER_COMMIT = 'resume_after_commit'
MOVE_PHASES = (NOTHING_TO_DO, FRESH, RESUME_BEFORE_COMMIT, RESUME_AFTER_COMMIT)

# -- the lock ------------------------------------------------------------------------
# Every lock a manual move takes has a reason starting so; finish unlocks no other lock.
LOCK_REASON_PREFIX = 'novaops.migration manual move'
# Compute API microversion that takes (and shows) a lock's reason.
LOCKED_REASON_MICROVERSION = '2.73'

# -- what can be moved by hand -------------------------------------------------------------
# Statuses the manual move starts from.
MOVABLE_STATUSES = ('ACTIVE', 'SHUTOFF')
# Statuses in which the server has no disk on a compute host to copy (SHELVED keeps it only until offloaded).
SHELVED_STATUSES = ('SHELVED', 'SHELVED_OFFLOADED')
# Statuses a server may have on the target after the commit point: a start that failed leaves it in ERROR, and a
# hard reboot (the start step) recovers it from there.
RESUMABLE_STATUSES = ('ACTIVE', 'SHUTOFF', 'ERROR')
# The only port binding a copy of the disks can take along: a plain virtual NIC (SR-IOV, direct, macvtap... bind
# a device of the source host).
NORMAL_VNIC_TYPE = 'normal'
# Flavor extra spec asking for PCI devices of the host (passthrough).
PCI_ALIAS_EXTRA_SPEC = 'pci_passthrough:alias'

# Placement microversion that returns and checks the consumer generation, so
# a write never silently replaces allocations someone changed since we read them.
CONSUMER_GENERATION_MICROVERSION = '1.28'
# A consumer generation conflict is retried this many times (re-reading first).
GENERATION_RETRIES = 3


class ManualMoveError(Exception):
    """The manual move cannot go on; the message says why and what to do."""


class RecordMoveError(ManualMoveError):
    """A record (allocations, port bindings) cannot be moved safely; the message says why and what to do."""


def node_of(module, host):
    """Nova's hypervisor node name of a compute host, or None."""
    for hypervisor in module.conn.compute.hypervisors(details=True):
        if (hypervisor.service_details or {}).get('host') == host:
            return hypervisor.name
    return None


def provider_of(module, node):
    providers = list(module.conn.placement.resource_providers(name=node))
    if len(providers) != 1:
        raise RecordMoveError("Placement has %d resource providers named '%s', expected one; has nova-compute on "
                              "that host reported its inventory?" % (len(providers), node))
    return providers[0]


def plan_allocations(allocation, source_provider, target_provider):
    """The allocations with the source's share on the target, or None when they are there already."""
    current = dict(allocation.allocations or {})
    if source_provider.id not in current:
        if target_provider.id in current:
            return None
        raise RecordMoveError('the server has no allocation on %s or %s (providers: %s); repair it with '
                              '`nova-manage placement heal_allocations` first'
                              % (source_provider.name, target_provider.name, ', '.join(sorted(current)) or 'none'))
    if target_provider.id in current:
        raise RecordMoveError('the server holds allocations on both %s and %s; a migration of Nova may be '
                              'unfinished - look at `openstack server migration list --server SERVER`'
                              % (source_provider.name, target_provider.name))
    # GET returns each provider's generation next to its resources; PUT accepts only the resources.
    moved = dict((provider, dict(resources=dict(entry.get('resources') or {}))) for provider, entry in current.items())
    moved[target_provider.id] = moved.pop(source_provider.id)
    return moved


def writable_consumer_type(allocation):
    """The consumer type to write back: Placement reads 'unknown' for a consumer written before
    microversion 1.38 (as Nova writes them) but refuses to take that value in a PUT."""
    consumer_type = getattr(allocation, 'consumer_type', None)
    if not consumer_type or consumer_type == 'unknown' or not consumer_type.replace('_', '').isalnum() \
            or consumer_type.upper() != consumer_type:
        return 'INSTANCE'
    return consumer_type


def move_allocations(module, consumer, source_node, target_node, check_mode):
    """Move the consumer's allocations from the source node's provider to the target's; True when changed."""
    source_provider = provider_of(module, source_node)
    target_provider = provider_of(module, target_node)
    for attempt in range(GENERATION_RETRIES):
        allocation = module.conn.placement.get_allocation(consumer)
        moved = plan_allocations(allocation, source_provider, target_provider)
        if moved is None:
            return False
        if check_mode:
            return True
        try:
            module.conn.placement.update_allocation(
                consumer, allocations=moved, project_id=allocation.project_id, user_id=allocation.user_id,
                consumer_generation=allocation.consumer_generation,
                consumer_type=writable_consumer_type(allocation))
            return True
        except sdk_exceptions.ConflictException:
            # Someone (a resource tracker's heal) wrote in between: read again, decide again.
            if attempt == GENERATION_RETRIES - 1:
                raise
    return True


def ports_bound_elsewhere(module, server_id, host):
    """The server's ports not bound to ``host``."""
    return [port for port in module.conn.network.ports(device_id=server_id) if port.binding_host_id != host]


def rebind_port(module, port, host):
    module.conn.network.update_port(port, binding_host_id=host)


def port_bindings(module, server_id):
    """The server's ports: id, the host each is bound to, and its binding's vnic_type."""
    return [dict(id=port.id, binding_host=port.binding_host_id, vnic_type=port.binding_vnic_type)
            for port in module.conn.network.ports(device_id=server_id)]


# -- runs -------------------------------------------------------------------------------
def parse_run_id(run_id):
    """(controller hostname, pid, start time in clock ticks) of a run id 'HOST:PID:START'."""
    parts = (run_id or '').rsplit(':', 2)
    if len(parts) != 3 or not parts[0] or not parts[1].isdigit() or not parts[2].isdigit():
        raise ManualMoveError("run id '%s' is not HOST:PID:START (the controller's hostname, the pid of "
                              "ansible-playbook and that process's start time in clock ticks, field 22 of "
                              "/proc/PID/stat), e.g. 'ctl1:12345:987654'" % run_id)
    return parts[0], int(parts[1]), int(parts[2])


def process_start_ticks(pid, proc_root='/proc'):
    """When process ``pid`` started, in clock ticks after boot (field 22 of /proc/PID/stat); None when none runs."""
    try:
        with open(os.path.join(proc_root, str(pid), 'stat')) as stream:
            stat = stream.read()
    except (IOError, OSError):
        return None
    # Field 2, the command name, is in parentheses and may itself hold spaces and parentheses.
    fields = stat[stat.rfind(')') + 1:].split()
    try:
        # fields[0] is field 3 (state), so field 22 is fields[19].
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def run_is_alive(run_id, hostname=None, proc_root='/proc'):
    """Whether the run ``run_id`` still runs: True or False when it ran on this controller, None on another one.

    ``hostname`` is this controller's (default socket.gethostname()). The start time tells a pid that was
    reused by another process from the run itself. Another controller's processes cannot be seen from here.
    """
    host, pid, start = parse_run_id(run_id)
    here = socket.gethostname() if hostname is None else hostname
    if host != here:
        return None
    return process_start_ticks(pid, proc_root) == start


def describe_run(run_id):
    """How messages name a run: 'pid N on HOST', or the run id as it is when it cannot be read."""
    try:
        host, pid, dummy_start = parse_run_id(run_id)
    except ManualMoveError:
        return "run '%s'" % run_id
    return 'pid %d on %s' % (pid, host)


# -- the journal ------------------------------------------------------------------------
def utc_now():
    return datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def new_journal(run_id, source_host, source_node, target_host, target_node, started_at=None):
    """The journal of a move that begins now."""
    return dict(run_id=run_id, source_host=source_host, source_node=source_node, target_host=target_host,
                target_node=target_node, phase=BEGUN, started_at=started_at or utc_now())


def read_journal(server):
    """The move's journal kept in the server's metadata, or None when there is none."""
    text = (server.metadata or {}).get(JOURNAL_KEY)
    if text is None:
        return None
    try:
        journal = json.loads(text)
    except ValueError:
        journal = None
    if not isinstance(journal, dict) or any(not journal.get(field) for field in JOURNAL_REQUIRED_FIELDS) \
            or journal['phase'] not in JOURNAL_PHASES:
        raise ManualMoveError("the metadata %s of server '%s' (%s) is no journal this module can read: %s. Find out "
                              "which compute holds the server's newest disk before anything else, then remove the "
                              "key (`openstack server unset --property %s %s`) and run again."
                              % (JOURNAL_KEY, server.name, server.id, text[:120], JOURNAL_KEY, server.id))
    return dict((field, journal.get(field)) for field in JOURNAL_FIELDS)


def journal_text(journal):
    """The journal as the compact JSON kept in the metadata."""
    text = json.dumps(journal, sort_keys=True, separators=(',', ':'))
    if len(text) > METADATA_VALUE_MAX_LENGTH:
        raise ManualMoveError('the journal of the move would be %d characters long, Nova keeps at most %d in a '
                              'metadata value (host names and run id: %s); nothing was written'
                              % (len(text), METADATA_VALUE_MAX_LENGTH, text))
    return text


def write_journal(module, server, journal):
    module.conn.compute.set_server_metadata(server, **{JOURNAL_KEY: journal_text(journal)})


def delete_journal(module, server):
    module.conn.compute.delete_server_metadata(server, [JOURNAL_KEY])


def metadata_writable(server):
    """Whether Nova takes a metadata change of the server now (no task, a status it allows)."""
    return server.status in METADATA_WRITABLE_STATUSES and not server.task_state


def move_phase(journal, nova_host, target_host, nova_move_unfinished=False):
    """Where the move stands: nothing to do, fresh, or to resume before or after the commit point (Nova's row).

    Without a journal a server Nova places on the target is there (unless a move of Nova's own is unfinished);
    with one, the move was begun and Nova's row tells on which side of the commit point it stopped.
    """
    if journal is None:
        return NOTHING_TO_DO if nova_host == target_host and not nova_move_unfinished else FRESH
    return RESUME_AFTER_COMMIT if nova_host == journal['target_host'] else RESUME_BEFORE_COMMIT


def journal_conflict(journal, run_id, target_host, takeover=False, hostname=None, proc_root='/proc'):
    """Why the run ``run_id`` may not carry on the move the journal records; None when it may.

    A journal of another target is a move to finish first. A journal of another run is resumed when that run
    has ended on this controller, never while it runs; whether a run on another controller still runs cannot
    be seen from here, so only ``takeover`` lets this run take its move over.
    """
    if journal is None:
        return None
    if journal['target_host'] != target_host:
        return ('an unfinished manual move to %s started at %s; finish it with -e target=%s first'
                % (journal['target_host'], journal['started_at'] or 'an unknown time', journal['target_host']))
    if run_id is not None and journal['run_id'] == run_id:
        return None
    other = '%s, since %s' % (describe_run(journal['run_id']), journal['started_at'] or 'an unknown time')
    try:
        alive = run_is_alive(journal['run_id'], hostname, proc_root)
    except ManualMoveError:
        alive = None
    if alive:
        return ('another run (%s) is moving this server; wait for it or stop it%s'
                % (other, ' (takeover does not apply to a run that is alive on this controller)' if takeover else ''))
    if alive is None and not takeover:
        return ('another run (%s) began this move on another controller, where this one cannot see whether it '
                'still runs; make sure it has ended, then run again with takeover=true (-e takeover=true)' % other)
    return None


# -- the lock ---------------------------------------------------------------------------
def lock_reason(target_host, run_id):
    return '%s to %s (%s)' % (LOCK_REASON_PREFIX, target_host, run_id)


def lock_reasons_supported(conn):
    """Whether the compute API takes and shows a lock's reason (otherwise a lock is anonymous)."""
    return sdk_utils.supports_microversion(conn.compute, LOCKED_REASON_MICROVERSION)


def is_move_lock(locked_reason):
    return (locked_reason or '').startswith(LOCK_REASON_PREFIX)


def lock_run_id(locked_reason):
    """The run id a manual move's lock reason names, or None."""
    if not is_move_lock(locked_reason) or not locked_reason.endswith(')') or '(' not in locked_reason:
        return None
    return locked_reason[locked_reason.rindex('(') + 1:-1] or None


# -- what can be moved by hand -------------------------------------------------------------
def state_problems(server, allow_stop, before_commit):
    """What in the server's state stops the move, one sentence each.

    Before the commit point the server must be ACTIVE (with ``allow_stop``) or SHUTOFF on the source. After it,
    the move only goes forward, and a server a failed start left in ERROR on the target is started again.
    """
    name = "server '%s' (%s)" % (server.name, server.id)
    if server.status in SHELVED_STATUSES:
        return ['%s is %s: its disk is an image in Glance, on no compute host; unshelve it first '
                '(`openstack server unshelve %s`), then move it' % (name, server.status, server.id)]
    if server.status in TRANSITIONAL_STATUSES or server.task_state:
        return ["%s is %s with task '%s' in progress; wait until it is ACTIVE or SHUTOFF again"
                % (name, server.status, server.task_state)]
    if not before_commit:
        if server.status not in RESUMABLE_STATUSES:
            return ['%s is %s on the target; the manual move finishes only an ACTIVE, SHUTOFF or ERROR server there. '
                    'Look at it (`openstack server show %s`)' % (name, server.status, server.id)]
        return []
    if server.status == 'ERROR':
        return ["%s is in ERROR state (%s); the manual method does not move it. Find out what broke, then reset it "
                "with `openstack server set --state active` (novaops.migration.server_state) or stop it"
                % (name, fault_message(server) or 'no fault recorded')]
    if server.status not in MOVABLE_STATUSES:
        return ['%s is %s; the manual method moves only ACTIVE or SHUTOFF servers. %s first'
                % (name, server.status, 'Confirm or revert its earlier move' if server.status == 'VERIFY_RESIZE'
                   else 'Resume or unpause it')]
    if server.status == 'ACTIVE' and not allow_stop:
        return ['%s is ACTIVE: the manual method shuts it down for the copy (the guest reboots). Allow it with '
                'allow_stop=true (-e allow_stop=true), or stop it first; nothing was changed.' % name]
    return []


def device_problems(server, ports):
    """What the server uses that a copy of its local disks cannot take along, one sentence each."""
    name = "server '%s' (%s)" % (server.name, server.id)
    problems = []
    if not server_image_id(server):
        problems.append('%s boots from a volume: its disk lives in Cinder and there are no local files to copy; use '
                        'cold migration through Nova (novaops.migration.cold_migrate) or live migration' % name)
    volumes = [attachment.id or attachment.volume_id for attachment in server.attached_volumes or []]
    if volumes:
        problems.append('%s has Cinder volume%s attached (%s): the manual method copies local disks only and would '
                        'leave the attachments connected to the source; detach %s, or move the server through Nova '
                        '(novaops.migration.cold_migrate or live_migrate)'
                        % (name, 's' if len(volumes) > 1 else '', ', '.join(volumes),
                           'them' if len(volumes) > 1 else 'it'))
    special = ['%s (vnic_type %s)' % (port['id'], port['vnic_type']) for port in ports
               if port.get('vnic_type') not in (None, NORMAL_VNIC_TYPE)]
    if special:
        problems.append("%s has port%s bound to a device of the source host: %s; the manual method moves only "
                        "'normal' ports, move the server through Nova (novaops.migration.cold_migrate)"
                        % (name, 's' if len(special) > 1 else '', ', '.join(special)))
    extra_specs = (getattr(server.flavor, 'extra_specs', None) if server.flavor is not None else None) or {}
    if extra_specs.get(PCI_ALIAS_EXTRA_SPEC):
        problems.append("%s has PCI devices of its host (flavor extra spec %s='%s'); the manual method cannot take "
                        "them along, move the server through Nova (novaops.migration.cold_migrate)"
                        % (name, PCI_ALIAS_EXTRA_SPEC, extra_specs[PCI_ALIAS_EXTRA_SPEC]))
    return problems


def target_service_problems(service):
    """What about the target's nova-compute stops the move; its being merely down does not (the play starts it)."""
    host = service.host
    problems = []
    if service.status != 'enabled':
        problems.append("nova-compute on the target %s is disabled%s; the manual method would put the server where "
                        "the operators keep servers off. Enable it with `openstack compute service set --enable %s "
                        "nova-compute`, or choose another target"
                        % (host, " ('%s')" % service.disabled_reason if service.disabled_reason else '', host))
    if service.is_forced_down:
        problems.append('nova-compute on the target %s is forced down: Nova treats the host as dead and would not '
                        'start the server there. Clear it with `openstack compute service set --up %s nova-compute` '
                        'once the host is healthy, or choose another target' % (host, host))
    return problems


def storage_problems(source_files, target_files, shared_storage, source_host, target_host):
    """What about the instance storage stops the copy: shared storage, missing tools, no room on the target."""
    source_files, target_files = source_files or {}, target_files or {}
    if shared_storage or target_files.get('shared_filesystem'):
        return ['%s and %s see the same instance storage: the manual method copies between local disks and would '
                'copy the server onto itself. On shared instance storage use cold migration through Nova '
                '(novaops.migration.cold_migrate) or live migration' % (source_host, target_host)]
    problems = []
    for host, files in ((source_host, source_files), (target_host, target_files)):
        missing = files.get('missing_tools') or []
        if missing:
            problems.append('%s lacks %s, which the manual move runs there; install %s'
                            % (host, ', '.join(missing), 'them' if len(missing) > 1 else 'it'))
    # Without the sizes of both sides there is nothing to compare.
    if source_files and target_files:
        space = copy_space_problem(source_files, target_files)
        if space:
            problems.append(space)
    return problems


# -- room in Placement (also migration_preflight's) -----------------------------------------------
def flavor_resources(server):
    """What Placement claims for the server's flavor on a host, as Nova computes it."""
    flavor = server.flavor
    if flavor is None:
        return {}
    boots_from_volume = server_image_id(server) is None
    swap_gb = int(math.ceil((flavor.swap or 0) / 1024.0))
    disk_gb = (0 if boots_from_volume else (flavor.disk or 0)) + (flavor.ephemeral or 0) + swap_gb
    return dict(VCPU=flavor.vcpus or 0, MEMORY_MB=flavor.ram or 0, DISK_GB=disk_gb)


def free_amount(inventory, used):
    """Placement's capacity left: (total - reserved) * allocation_ratio - used."""
    ratio = inventory.allocation_ratio if inventory.allocation_ratio is not None else 1.0
    return (inventory.total - (inventory.reserved or 0)) * ratio - (used or 0)


def placement_room(conn, provider, needed):
    """How the provider's capacity compares with ``needed`` (resource class -> amount).

    Returns dict(free=..., shortages=[...], fits=[...]): the free amount of each resource class needed that the
    provider has, a sentence per shortage, one per resource that fits.
    """
    inventories = dict((inventory.resource_class, inventory)
                       for inventory in conn.placement.resource_provider_inventories(provider))
    usages = conn.placement.fetch_resource_provider_usages(provider).usages or {}
    free_of, shortages, fits = {}, [], []
    for resource_class, amount in sorted(needed.items()):
        if not amount:
            continue
        inventory = inventories.get(resource_class)
        if inventory is None:
            shortages.append('%s %s needed, the target has none' % (resource_class, amount))
            continue
        free = free_amount(inventory, usages.get(resource_class))
        free_of[resource_class] = free
        if amount > free:
            shortages.append('%s %s needed, %s free ((%s total - %s reserved) x %s allocation ratio - %s used)'
                             % (resource_class, amount, free, inventory.total, inventory.reserved or 0,
                                inventory.allocation_ratio, usages.get(resource_class, 0)))
        elif inventory.max_unit is not None and amount > inventory.max_unit:
            shortages.append('%s %s needed, at most %s per server (max_unit)'
                             % (resource_class, amount, inventory.max_unit))
        else:
            fits.append('%s %s of %s free' % (resource_class, amount, free))
    return dict(free=free_of, shortages=shortages, fits=fits)


def no_room_message(server, host, shortages):
    flavor = server.flavor
    return 'not enough room on %s for the flavor %s: %s' % (
        host, (flavor.original_name or flavor.name) if flavor is not None else '?', '; '.join(shortages))
