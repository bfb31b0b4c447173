# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A migration plan: how each server of a host would move, decided over plain data.

migration_plan reads the cloud once (servers, compute services, Placement,
server groups, ports) and hands the facts here as dicts and lists; nothing
here talks to a cloud or to Ansible, so every decision is unit-tested on
plain data. build_plan() gives each server one verdict:

``live``
    live migration to ``target``;
``cold``
    cold migration to ``target`` (a running guest shuts down for the copy and
    starts again on the target);
``stop``
    it cannot move, and the operator allows stopping it: it is shut off and
    stays on its host, off, for the maintenance (started again afterwards);
``skip``
    it is left alone, as it is; ``reasons`` say why and what to do.

Targets are packed for the whole plan, first fit decreasing: the biggest
server (MEMORY_MB, then VCPU, then DISK_GB) is placed first, each on the
first target (in the order of ``targets``, else by name) where it fits, and
what it takes is no longer free for the next ones. Server group policies are
applied as Nova's scheduler filters apply them. Helpers raise PlanError; only
the module turns it into a failure.
"""

import copy
import types

from ansible_collections.novaops.migration.plugins.module_utils.manual_move import (
    PCI_ALIAS_EXTRA_SPEC, free_amount, is_move_lock,
)
from ansible_collections.novaops.migration.plugins.module_utils.servers import TRANSITIONAL_STATUSES

LIVE = 'live'
COLD = 'cold'
STOP = 'stop'
SKIP = 'skip'
VERDICTS = (LIVE, COLD, STOP, SKIP)

MODES = ('auto', LIVE, COLD)
FALLBACKS = ('none', COLD, STOP)

# Statuses Nova moves from, per kind of move, and those it stops (vm_state active; a SHUTOFF one is off already).
LIVE_STATUSES = ('ACTIVE', 'PAUSED')
COLD_STATUSES = ('ACTIVE', 'SHUTOFF')
STOP_STATUSES = ('ACTIVE', 'SHUTOFF')

# Port bindings that hold a device of the host (SR-IOV VF or PF, macvtap on a VF, vDPA, a SmartNIC).
HOST_DEVICE_VNIC_TYPES = ('direct', 'direct-physical', 'macvtap', 'virtio-forwarder', 'remote-managed', 'vdpa')

# What first fit decreasing sorts by, most constraining first.
PACKING_ORDER = ('MEMORY_MB', 'VCPU', 'DISK_GB')

# Compute API microversions the moves use (see migrations.py).
LIVE_AUTO_BLOCK_MIGRATION_MICROVERSION = (2, 25)
LIVE_HOST_MICROVERSION = (2, 30)
COLD_HOST_MICROVERSION = (2, 56)

# Nova's default guest CPU mode for kvm and qemu when [libvirt] cpu_mode is unset.
DEFAULT_CPU_MODE = 'host-model'

ANTI_AFFINITY = 'anti-affinity'
AFFINITY = 'affinity'
SOFT_ANTI_AFFINITY = 'soft-anti-affinity'
SOFT_AFFINITY = 'soft-affinity'


class PlanError(Exception):
    """The plan cannot be made from what was asked; the message says why and what to do."""


# -- options -------------------------------------------------------------------------------
def plan_options(mode='auto', fallback='none', allow_stop=False, block_migration=True,
                 config_drive_format='iso9660', targets=None, host_cpu=None, microversion=None, source=None,
                 wave=None):
    """The plan's options as build_plan() reads them; ``microversion`` is the compute API's maximum (major, minor).

    ``wave``: other hosts emptied together with ``source`` (a maintenance wave); none of them takes servers.
    """
    if mode not in MODES:
        raise PlanError("mode must be one of %s, got '%s'" % (', '.join(MODES), mode))
    if fallback not in FALLBACKS:
        raise PlanError("fallback must be one of %s, got '%s'" % (', '.join(FALLBACKS), fallback))
    return dict(mode=mode, fallback=fallback, allow_stop=bool(allow_stop), block_migration=bool(block_migration),
                config_drive_format=config_drive_format, targets=list(targets) if targets else None,
                host_cpu=dict(host_cpu or {}), microversion=tuple(microversion) if microversion else None,
                source=source, wave=list(wave or []))


def supports(microversion, needed):
    """Whether the compute API's maximum microversion reaches ``needed``; unknown counts as yes."""
    return microversion is None or tuple(microversion) >= tuple(needed)


def version_text(microversion):
    return '.'.join(str(part) for part in microversion)


# -- the hosts -----------------------------------------------------------------------------
def service_exclusion(host, row, allowed_targets=None, source=None, wave=()):
    """Why ``host`` cannot take servers, from the options and its nova-compute (``row``) alone, or None."""
    if source is not None and host == source:
        return 'it is the host being emptied'
    if host in (wave or ()):
        return 'it is emptied at the same time (the same maintenance wave)'
    if allowed_targets is not None and host not in allowed_targets:
        return 'not in targets'
    if row.get('forced_down'):
        return 'nova-compute is forced down'
    if not row.get('up'):
        return 'nova-compute is down'
    if not row.get('enabled'):
        reason = row.get('disabled_reason')
        return "nova-compute is disabled%s" % (" ('%s')" % reason if reason else '')
    return None


def target_exclusion(host, row, allowed_targets=None, source=None, wave=()):
    """Why ``host`` (its compute service and Placement ``row``) cannot take servers, or None when it can."""
    why = service_exclusion(host, row, allowed_targets, source, wave)
    if why is not None:
        return why
    if not row.get('provider'):
        return 'Placement has no resource provider for it (has nova-compute reported its inventory?)'
    if not row.get('inventories'):
        return 'its resource provider has no inventory'
    return None


def used_amounts(consumers):
    """What the consumers allocated on a provider, summed per resource class (Placement's usages)."""
    used = {}
    for resources in (consumers or {}).values():
        for resource_class, amount in (resources or {}).items():
            used[resource_class] = used.get(resource_class, 0) + (amount or 0)
    return used


def free_capacity(row):
    """Free amount per resource class of a host: (total - reserved) x allocation_ratio - used."""
    used = used_amounts(row.get('consumers'))
    return dict((resource_class, free_amount(types.SimpleNamespace(
        total=inventory.get('total') or 0, reserved=inventory.get('reserved') or 0,
        allocation_ratio=inventory.get('allocation_ratio')), used.get(resource_class)))
        for resource_class, inventory in (row.get('inventories') or {}).items())


def shortages(needed, free, inventories):
    """Why ``needed`` does not fit ``free`` (per resource class), one phrase each; empty when it fits."""
    found = []
    for resource_class in sorted(needed):
        amount = needed[resource_class]
        if not amount:
            continue
        if resource_class not in free:
            found.append('%s %s needed, none offered' % (resource_class, amount))
            continue
        max_unit = (inventories.get(resource_class) or {}).get('max_unit')
        if amount > free[resource_class]:
            found.append('%s %s needed, %s free' % (resource_class, amount, round(free[resource_class], 2)))
        elif max_unit is not None and amount > max_unit:
            found.append('%s %s needed, at most %s per server (max_unit)' % (resource_class, amount, max_unit))
    return found


def consume(free, needed):
    for resource_class, amount in needed.items():
        if amount and resource_class in free:
            free[resource_class] -= amount


# -- the servers ----------------------------------------------------------------------------
def server_resources(server):
    """What the server holds: its allocation on its host's provider, else what its flavor asks for."""
    allocated = server.get('allocation')
    if allocated:
        return dict(allocated)
    return dict(server.get('flavor_resources') or {})


def packing_key(resources):
    pinned_and_shared = (resources.get('VCPU') or 0) + (resources.get('PCPU') or 0)
    return (resources.get('MEMORY_MB') or 0, pinned_and_shared, resources.get('DISK_GB') or 0)


def busy_with_task(server):
    """Whether Nova is busy with the server (a task, or a status it passes through): no move starts then."""
    return bool(server.get('task_state')) or server.get('status') in TRANSITIONAL_STATUSES


def state_refusal(server, source_row):
    """Why the server's state stops any live or cold move or stop, or None."""
    status = server.get('status')
    host = server.get('host')
    if status == 'ERROR':
        return ('it is in ERROR (%s): Nova moves it neither live nor cold. Find out what broke, then reset it '
                '(`openstack server set --state active`, novaops.migration.server_state) or delete it'
                % (server.get('fault') or 'no fault recorded'))
    if is_move_lock(server.get('locked_reason')):
        return ("it is locked by a manual move in progress ('%s'); let that move finish (run it again if it was "
                "interrupted) before planning another" % server.get('locked_reason'))
    if busy_with_task(server):
        return ("it is %s with task '%s' in progress; wait until it ends, then plan again"
                % (status, server.get('task_state')))
    if status == 'VERIFY_RESIZE':
        return ('it waits in VERIFY_RESIZE for an earlier resize or cold migration to be confirmed or reverted; '
                'Nova starts no move until then. Confirm it (`openstack server resize confirm %s`) or revert it'
                % server.get('id'))
    if status in ('SHELVED', 'SHELVED_OFFLOADED'):
        return ('it is %s: offload it instead of moving it (`openstack server shelve --offload %s`); '
                'an offloaded server holds nothing on %s' % (status, server.get('id'), host))
    if status not in LIVE_STATUSES + COLD_STATUSES:
        advice = dict(SUSPENDED='resume it first', RESCUE='unrescue it first').get(status, 'bring it back to ACTIVE or '
                                                                                           'SHUTOFF first')
        return 'it is %s: Nova moves only ACTIVE, PAUSED (live) or SHUTOFF (cold) servers; %s' % (status, advice)
    if source_row is not None and (source_row.get('forced_down') or not source_row.get('up')):
        return ('nova-compute on %s is %s: Nova can neither move nor stop a server through a compute service '
                'that does not answer. Start it, or evacuate the host if it is dead (`openstack server evacuate`)'
                % (host, 'forced down' if source_row.get('forced_down') else 'down'))
    return None


def mode_ladder(status, mode, fallback):
    """The verdicts tried for a server, in order: the move asked for, then what the fallback allows."""
    first = LIVE if mode == LIVE or (mode == 'auto' and status in LIVE_STATUSES) else COLD
    ladder = [first]
    if first == LIVE and fallback in (COLD, STOP):
        ladder.append(COLD)
    if fallback == STOP:
        ladder.append(STOP)
    return ladder


def status_refusal(status, verdict):
    """Why a server of this status cannot get ``verdict``, or None."""
    if verdict == LIVE and status not in LIVE_STATUSES:
        return 'live migration needs a running guest and it is %s' % status
    if verdict == COLD and status not in COLD_STATUSES:
        return ('Nova cold-migrates only ACTIVE or SHUTOFF servers and it is %s (unpause it to allow a cold move)'
                % status)
    if verdict == STOP and status not in STOP_STATUSES:
        return 'Nova stops only ACTIVE servers and it is %s' % status
    return None


def extra_specs_of(server):
    return (server.get('flavor') or {}).get('extra_specs') or {}


def live_blockers(server, options):
    """What stops a live move of the server whatever the target, one sentence each (then it can only move cold)."""
    blockers = []
    specs = extra_specs_of(server)
    if not supports(options['microversion'], LIVE_AUTO_BLOCK_MIGRATION_MICROVERSION):
        blockers.append('the compute API (up to %s) is older than 2.25, which live_migrate needs for '
                        'block_migration=auto' % version_text(options['microversion']))
    if server.get('config_drive') and options['block_migration'] and options['config_drive_format'] == 'iso9660':
        blockers.append('it has a config drive in iso9660 and the move is a block migration: Nova refuses it '
                        '(NoLiveMigrationForConfigDriveInLibVirt) unless the instance path is shared. Move it cold, '
                        'or set [DEFAULT] config_drive_format = vfat on the computes for the servers booted later')
    devices = ['%s (vnic_type %s)' % (port.get('id'), port.get('vnic_type')) for port in server.get('ports') or []
               if port.get('vnic_type') in HOST_DEVICE_VNIC_TYPES]
    if devices:
        blockers.append('port%s %s bind%s a device of %s (SR-IOV/PCI): live migration of such ports needs recent '
                        'Nova and libvirt on both computes and a free matching device on the target, which this plan '
                        'cannot check; it is planned cold, where Nova claims the device on the target'
                        % ('s' if len(devices) > 1 else '', ', '.join(devices), '' if len(devices) > 1 else 's',
                           server.get('host')))
    if specs.get(PCI_ALIAS_EXTRA_SPEC):
        blockers.append("its flavor asks for PCI devices of the host (%s='%s'): Nova does not live-migrate a PCI "
                        "passthrough device; it is planned cold" % (PCI_ALIAS_EXTRA_SPEC, specs[PCI_ALIAS_EXTRA_SPEC]))
    if any(key.startswith('resources') and key.endswith(':VGPU') and str(value) not in ('0', '')
           for key, value in specs.items()):
        blockers.append('its flavor asks for a vGPU (resources:VGPU): Nova live-migrates mediated devices only with '
                        'libvirt >= 8.6, QEMU >= 8.1 and a migratable mdev type on both computes, which this plan '
                        'cannot check; it is planned cold')
    if specs.get('hw:tpm_version') or specs.get('hw:tpm_model'):
        blockers.append('its flavor gives it a vTPM (hw:tpm_version): Nova refuses to live-migrate a server with '
                        'a vTPM; a cold migration carries the TPM state along')
    return blockers


def live_degradations(server, options):
    """What makes a live move of the server slower or riskier without stopping it, one sentence each."""
    warnings = []
    specs = extra_specs_of(server)
    if specs.get('hw:cpu_policy') in ('dedicated', 'mixed'):
        warnings.append('NUMA-pinned flavor (hw:cpu_policy=%s): live migration needs both computes on Train or '
                        'later and free pinned CPUs ([compute] cpu_dedicated_set) on the target, whose NUMA cell '
                        'Nova picks anew' % specs['hw:cpu_policy'])
    if specs.get('hw:mem_page_size'):
        warnings.append('hugepages (hw:mem_page_size=%s): the target needs as many free huge pages on one NUMA node, '
                        'which Placement does not show' % specs['hw:mem_page_size'])
    if specs.get('hw:numa_nodes') and specs.get('hw:cpu_policy') not in ('dedicated', 'mixed'):
        warnings.append('NUMA topology (hw:numa_nodes=%s): Nova recalculates it on the target; both computes need '
                        'Train or later' % specs['hw:numa_nodes'])
    if not server.get('image_id'):
        warnings.append('it boots from a volume: the root disk is not copied, but the move needs Cinder and the '
                        'storage backend reachable from the target')
    volumes = server.get('volumes') or []
    if volumes:
        warnings.append('Cinder volume%s attached (%s): the target connects them during the move (os-brick), so '
                        'Cinder and the storage network must answer from the target'
                        % ('s' if len(volumes) > 1 else '', ', '.join(volumes)))
    if server.get('config_drive') and options['block_migration'] and options['config_drive_format'] == 'vfat':
        warnings.append('config drive in vfat: copied with the disks by the block migration')
    return warnings


def cold_degradations(server):
    warnings = []
    if server.get('status') == 'ACTIVE':
        warnings.append('a cold migration shuts the guest down for the copy and starts it on the target: '
                        'downtime for the whole copy of its disks')
    specs = extra_specs_of(server)
    devices = [port.get('id') for port in server.get('ports') or [] if port.get('vnic_type') in HOST_DEVICE_VNIC_TYPES]
    if devices or specs.get(PCI_ALIAS_EXTRA_SPEC):
        warnings.append('it uses PCI/SR-IOV devices: the target needs a free matching device, which Placement does '
                        'not show unless [pci] report_in_placement is on; the move fails on a target without one')
    return warnings


def cpu_compatibility(source, target, host_cpu):
    """('block' | 'warn', sentence) about a live move between the two computes' CPU settings, or None.

    ``host_cpu`` maps a host to its [libvirt] cpu_mode and cpu_models (nova_conf_info). A guest keeps the CPU
    it booted with: with ``custom`` its model is the source's first cpu_models entry, which a target
    configured with other models is not known to offer; ``host-passthrough`` moves only between identical CPUs.
    Unknown settings on either side give no verdict.
    """
    source_cpu, target_cpu = host_cpu.get(source), host_cpu.get(target)
    if not source_cpu or not target_cpu:
        return None
    source_mode = (source_cpu.get('cpu_mode') or DEFAULT_CPU_MODE).lower()
    target_mode = (target_cpu.get('cpu_mode') or DEFAULT_CPU_MODE).lower()
    source_models = [model.lower() for model in source_cpu.get('cpu_models') or []]
    target_models = [model.lower() for model in target_cpu.get('cpu_models') or []]
    if source_mode == 'custom' and source_models:
        if target_mode == 'custom' and source_models[0] not in target_models:
            return ('block', "guests of %s run the CPU model %s ([libvirt] cpu_models there) and %s offers only %s: "
                             "libvirt on %s may lack that model's features and refuse the live move; add %s to its "
                             "cpu_models, or move the server cold"
                    % (source, source_cpu['cpu_models'][0], target, ', '.join(target_cpu.get('cpu_models') or [])
                       or 'none', target, source_cpu['cpu_models'][0]))
        if target_mode != 'custom':
            return ('warn', "guests of %s run the CPU model %s; %s uses cpu_mode=%s, so its CPU must offer that "
                            "model's features (libvirt checks when the move starts)"
                    % (source, source_cpu['cpu_models'][0], target, target_mode))
        return None
    if source_mode == 'host-passthrough':
        return ('warn', '%s passes its CPU through (cpu_mode=host-passthrough): the live move works only if %s has '
                        'the identical CPU model and microcode' % (source, target))
    if target_mode != source_mode:
        return ('warn', "%s uses cpu_mode=%s and %s cpu_mode=%s: a guest started with the source's host model moves "
                        "live only to a CPU with at least its features" % (source, source_mode, target, target_mode))
    return None


# -- server groups ----------------------------------------------------------------------------
def normalise_groups(groups):
    """Server groups as dicts with one policy, max_server_per_host (anti-affinity only) and the member ids."""
    found = []
    for group in groups or []:
        policy = group.get('policy') or (list(group.get('policies') or []) or [None])[0]
        rules = group.get('rules') or {}
        max_per_host = None
        if policy == ANTI_AFFINITY:
            try:
                max_per_host = int(rules.get('max_server_per_host') or 1)
            except (TypeError, ValueError):
                raise PlanError("server group '%s' has max_server_per_host '%s', not a number"
                                % (group.get('name'), rules.get('max_server_per_host')))
        found.append(dict(id=group.get('id'), name=group.get('name'), policy=policy, max_per_host=max_per_host,
                          members=list(group.get('members') or [])))
    return found


def group_label(group):
    return "%s group '%s'" % (group['policy'], group['name'] or group['id'])


def members_by_host(group, hosts):
    """How many members of the group each host holds, from the consumers of its resource provider."""
    members = set(group['members'])
    counts = {}
    for host, row in hosts.items():
        count = len(members.intersection((row.get('consumers') or {}).keys()))
        if count:
            counts[host] = count
    return counts


class _GroupBook(object):
    """Where the members of each group are, and would be once the plan's placements are made."""

    def __init__(self, groups, hosts):
        self.groups = normalise_groups(groups)
        self.of_server = {}
        self.counts = {}
        for group in self.groups:
            self.counts[group['id']] = members_by_host(group, hosts)
            for member in group['members']:
                self.of_server[member] = group

    def group(self, server_id):
        return self.of_server.get(server_id)

    def count(self, group, host):
        return self.counts[group['id']].get(host, 0)

    def place(self, server_id, source, target):
        group = self.group(server_id)
        if group is None:
            return
        counts = self.counts[group['id']]
        if source in counts:
            counts[source] -= 1
        counts[target] = counts.get(target, 0) + 1

    def refusal(self, server_id, target):
        """Why Nova's group filters refuse ``target`` for the server, or None."""
        group = self.group(server_id)
        if group is None:
            return None
        count = self.count(group, target)
        if group['policy'] == ANTI_AFFINITY and count >= group['max_per_host']:
            return ('holds %d member%s of %s (max_server_per_host %d)'
                    % (count, 's' if count > 1 else '', group_label(group), group['max_per_host']))
        if group['policy'] == AFFINITY and count == 0:
            return 'holds no member of %s' % group_label(group)
        return None

    def preference(self, server_id, target):
        """Sort key that puts first the targets a soft policy prefers (Nova's weighers)."""
        group = self.group(server_id)
        if group is None:
            return 0
        if group['policy'] == SOFT_ANTI_AFFINITY:
            return self.count(group, target)
        if group['policy'] == SOFT_AFFINITY:
            return -self.count(group, target)
        return 0

    def soft_warning(self, server_id, source, target):
        group = self.group(server_id)
        if group is None:
            return None
        count = self.count(group, target)
        if group['policy'] == SOFT_ANTI_AFFINITY and count:
            return ('%s: %s already holds %d member%s, no eligible target with room holds none; Nova allows it '
                    '(a soft policy only weighs)' % (group_label(group), target, count, 's' if count > 1 else ''))
        # The server itself still counts on its source.
        others = [host for host, number in self.counts[group['id']].items()
                  if number - (1 if host == source else 0) > 0 and host != target]
        if group['policy'] == SOFT_AFFINITY and not count and others:
            return ('%s: it lands on %s, apart from the members on %s; Nova allows it (a soft policy only weighs)'
                    % (group_label(group), target, ', '.join(sorted(others))))
        return None


def group_problems(book, movers, eligible_targets):
    """Plan-wide problems of strict groups that the remaining hosts cannot satisfy, reported before anything moves.

    ``movers`` are the servers whose state lets them move at all.
    """
    problems = []
    for group in book.groups:
        moving = [server for server in movers if server['id'] in group['members']]
        if not moving:
            continue
        if group['policy'] == ANTI_AFFINITY:
            slots = dict((host, max(0, group['max_per_host'] - book.count(group, host))) for host in eligible_targets)
            room = sum(slots.values())
            if len(moving) > room:
                problems.append('%s has %d member%s to move but the eligible targets take only %d (max_server_per_host '
                                '%d; %s): %d of them cannot move. Add a target, raise max_server_per_host, or let the '
                                'others be stopped (fallback=stop, allow_stop=true)'
                                % (group_label(group), len(moving), 's' if len(moving) > 1 else '', room,
                                   group['max_per_host'],
                                   ', '.join('%s takes %d' % (host, slots[host]) for host in eligible_targets)
                                   or 'no eligible target', len(moving) - room))
        elif group['policy'] == AFFINITY:
            holding = [host for host in eligible_targets if book.count(group, host)]
            if not holding:
                problems.append("%s pins its member%s %s to %s: Nova's ServerGroupAffinityFilter moves a member only "
                                "to a host that already holds another member, and no eligible target does, so none "
                                "can move live or cold. Stop them for the maintenance (fallback=stop, "
                                "allow_stop=true), or rebuild them in another group"
                                % (group_label(group), 's' if len(moving) > 1 else '',
                                   ', '.join(server['name'] or server['id'] for server in moving),
                                   ', '.join(sorted(set(server['host'] for server in moving)))))
    return problems


# -- the plan ---------------------------------------------------------------------------------
def _entry(server, resources):
    return dict(id=server.get('id'), name=server.get('name'), status=server.get('status'),
                task_state=server.get('task_state'), locked=bool(server.get('locked')), source_host=server.get('host'),
                verdict=None, target=None, blocked_by=None, reasons=[], warnings=[], resources=resources)


class _Packer(object):
    """The targets' free capacity as the plan's placements consume it."""

    def __init__(self, hosts, order, exclusions, options, book):
        self.hosts = hosts
        self.options = options
        self.book = book
        self.eligible = [host for host in order if host not in exclusions]
        self.free = dict((host, free_capacity(hosts[host])) for host in self.eligible)
        self.before = copy.deepcopy(self.free)
        self.planned = dict((host, []) for host in self.eligible)

    def candidates(self, server, verdict):
        """(target or None, warnings, why each other target was refused)."""
        source = server.get('host')
        resources = server['_resources']
        refused, fitting = [], []
        for host in self.eligible:
            if host == source:
                continue
            why = self.book.refusal(server['id'], host)
            cpu = cpu_compatibility(source, host, self.options['host_cpu']) if verdict == LIVE else None
            if why is None and cpu is not None and cpu[0] == 'block':
                why = cpu[1]
            if why is None:
                missing = shortages(resources, self.free[host], self.hosts[host].get('inventories') or {})
                if missing:
                    why = 'no room: %s' % ', '.join(missing)
            if why is None:
                fitting.append((self.book.preference(server['id'], host), len(fitting), host, cpu))
            else:
                refused.append('%s %s' % (host, why))
        if not fitting:
            return None, [], refused
        dummy_preference, dummy_position, target, cpu = sorted(fitting)[0]
        warnings = [cpu[1]] if cpu is not None else []
        soft = self.book.soft_warning(server['id'], source, target)
        if soft:
            warnings.append(soft)
        return target, warnings, refused

    def place(self, server, target):
        consume(self.free[target], server['_resources'])
        self.planned[target].append(server.get('name') or server.get('id'))
        self.book.place(server['id'], server.get('host'), target)


def _try_move(packer, server, entry, verdict, options):
    """Place the server for ``verdict`` (live or cold); True when a target takes it, else reasons are added."""
    status = server.get('status')
    refusal = status_refusal(status, verdict)
    if refusal:
        entry['reasons'].append('not %s: %s' % (verdict, refusal))
        return False
    if verdict == LIVE:
        blockers = live_blockers(server, options)
        if blockers:
            entry['reasons'].extend('not live: %s' % blocker for blocker in blockers)
            return False
    target, warnings, refused = packer.candidates(server, verdict)
    if target is None:
        entry['reasons'].append('not %s: no eligible target takes it (%s)'
                                % (verdict, '; '.join(refused) if refused else 'there is no eligible target'))
        return False
    packer.place(server, target)
    entry.update(verdict=verdict, target=target)
    entry['warnings'].extend(warnings)
    entry['warnings'].extend(live_degradations(server, options) if verdict == LIVE else cold_degradations(server))
    gate = LIVE_HOST_MICROVERSION if verdict == LIVE else COLD_HOST_MICROVERSION
    if not supports(options['microversion'], gate):
        entry['warnings'].append('the compute API (up to %s) cannot name the target of a %s migration (needs %s): '
                                 'the scheduler chooses, %s is only where the plan found room'
                                 % (version_text(options['microversion']), verdict, version_text(gate), target))
    entry['reasons'].append('%s migration to %s' % (verdict, target))
    return True


def _stop(server, entry, options):
    status = server.get('status')
    refusal = status_refusal(status, STOP)
    if refusal:
        entry['reasons'].append('not stopped: %s' % refusal)
        return False
    if not options['allow_stop']:
        entry['reasons'].append('not stopped: fallback=stop stops a server only with allow_stop=true')
        return False
    entry['verdict'] = STOP
    if status == 'SHUTOFF':
        entry['reasons'].append('it stays on %s, already SHUTOFF, for the maintenance' % server.get('host'))
    else:
        entry['reasons'].append('it is shut off (`openstack server stop`) and stays on %s, off, for the maintenance; '
                                'start it afterwards' % server.get('host'))
    return True


def _hints(server, entry, ladder):
    """What the operator could allow for a server left alone."""
    status = server.get('status')
    if COLD not in ladder and status in COLD_STATUSES and not any(reason.startswith('not cold') for reason in
                                                                  entry['reasons']):
        entry['reasons'].append('with fallback=cold it would be tried cold (a running guest restarts)')
    if STOP not in ladder and status in STOP_STATUSES:
        entry['reasons'].append('with fallback=stop and allow_stop=true it would be shut off and stay on %s'
                                % server.get('host'))


def build_plan(servers, hosts, groups, options):
    """The plan: a verdict per server, the targets' capacity before and after, plan-wide problems.

    ``servers``: dicts with id, name, status, task_state, locked, locked_reason, fault, host, image_id,
    volumes, config_drive, flavor (with extra_specs), flavor_resources, allocation (the server's resources on
    its host's provider, or None) and ports (id, vnic_type).
    ``hosts``: compute host -> dict(enabled, up, forced_down, disabled_reason, provider, inventories
    (resource class -> total, reserved, allocation_ratio, max_unit), consumers (consumer id -> resources; None
    when not read)).
    ``groups``: server groups (id, name, policy or policies, rules, members).
    ``options``: from plan_options().
    """
    targets = options['targets']
    if targets:
        unknown = [host for host in targets if host not in hosts]
        if unknown:
            raise PlanError("targets name%s %s, which run%s no nova-compute (compute hosts: %s)"
                            % ('' if len(unknown) == 1 else '', ', '.join(unknown), 's' if len(unknown) == 1 else '',
                               ', '.join(sorted(hosts)) or 'none'))
    order = list(targets) if targets else sorted(hosts)
    allowed = set(targets) if targets else None
    exclusions = {}
    for host in order:
        why = target_exclusion(host, hosts[host], allowed, options['source'], options['wave'])
        if why is not None:
            exclusions[host] = why
    book = _GroupBook(groups, hosts)
    packer = _Packer(hosts, order, exclusions, options, book)

    entries, movers = {}, []
    for server in servers:
        resources = server_resources(server)
        entry = _entry(server, resources)
        entries[server['id']] = entry
        refusal = state_refusal(server, hosts.get(server.get('host')))
        if refusal:
            # Its own state keeps it where it is (ERROR, a task, a resize to confirm): no target would change that.
            entry.update(verdict=SKIP, blocked_by='state')
            entry['reasons'].append(refusal)
            continue
        if server.get('locked'):
            entry['warnings'].append("it is locked%s: Nova lets an admin move it, but its owner may not expect it"
                                     % (" ('%s')" % server['locked_reason'] if server.get('locked_reason') else ''))
        movers.append(dict(server, _resources=resources))

    problems = []
    if not packer.eligible:
        excluded = ['%s: %s' % (host, exclusions[host]) for host in order]
        problems.append('no host can take servers: %s' % ('; '.join(excluded) or 'no other compute host'))
    problems.extend(group_problems(book, movers, packer.eligible))

    # Biggest first; equal ones in name order, so the plan is the same on every run.
    for server in sorted(movers, key=lambda item: (tuple(-amount for amount in packing_key(item['_resources'])),
                                                   item.get('name') or '', item['id'])):
        entry = entries[server['id']]
        ladder = mode_ladder(server.get('status'), options['mode'], options['fallback'])
        for verdict in ladder:
            if verdict == STOP:
                done = _stop(server, entry, options)
            else:
                done = _try_move(packer, server, entry, verdict, options)
            if done:
                break
        if entry['verdict'] is None:
            # It could move but nothing lets it: room, server groups, devices, the CPU, the fallback allowed.
            entry.update(verdict=SKIP, blocked_by='move')
            _hints(server, entry, ladder)

    ordered = [entries[server['id']] for server in servers]
    summary = dict((verdict, len([entry for entry in ordered if entry['verdict'] == verdict])) for verdict in VERDICTS)
    host_report = []
    for host in order:
        if host == options['source']:
            continue
        host_report.append(dict(host=host, eligible=host not in exclusions, excluded_because=exclusions.get(host),
                                free_before=packer.before.get(host, {}), free_after=packer.free.get(host, {}),
                                planned=packer.planned.get(host, [])))
    return dict(servers=ordered, summary=summary, hosts=host_report, problems=problems)
