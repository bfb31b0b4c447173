# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The API side of a manual cold migration: Placement allocations and port bindings.

Nova's own migration moves these for us; when the files are copied by hand
and the database row is rewritten (nova_db_instance), the server's
allocations still count on the source's resource provider and its ports stay
bound to the source host until someone moves them. Every function here is
idempotent: it compares first and changes only what is not yet where it
should be, so an interrupted move can simply be run again.
"""

from ansible_collections.novaops.migration.plugins.module_utils.openstack import sdk_exceptions

# Placement microversion that returns and checks the consumer generation, so
# a write never silently replaces allocations someone changed since we read them.
CONSUMER_GENERATION_MICROVERSION = '1.28'
# A consumer generation conflict is retried this many times (re-reading first).
GENERATION_RETRIES = 3


class RecordMoveError(Exception):
    """A record cannot be moved safely; the message says why and what to do."""


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


def rebind_ports(module, server_id, host, check_mode):
    """Bind each of the server's ports to ``host``; the ids of the ports changed."""
    changed = []
    for port in module.conn.network.ports(device_id=server_id):
        if port.binding_host_id == host:
            continue
        changed.append(port.id)
        if not check_mode:
            module.conn.network.update_port(port, binding_host_id=host)
    return changed


def port_bindings(module, server_id):
    return [dict(id=port.id, binding_host=port.binding_host_id)
            for port in module.conn.network.ports(device_id=server_id)]
