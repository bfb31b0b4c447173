# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reading a Nova server: its state, its placement on a compute host, its ports.

Shared by the server modules and the migration modules, which all need to
say where a server runs and what it looks like in the same words.
"""

import datetime
import posixpath

# Nova's power_state codes (nova.compute.power_state), as words.
POWER_STATES = {
    0: 'nostate',
    1: 'running',
    3: 'paused',
    4: 'shutdown',
    6: 'crashed',
    7: 'suspended',
}

# Nova's times carry no zone: they are UTC.
EPOCH = datetime.datetime(1970, 1, 1)

# Where nova-compute keeps a server's files, unless [DEFAULT]instances_path says otherwise.
DEFAULT_INSTANCES_PATH = '/var/lib/nova/instances'

# Server statuses from which Nova finishes on its own; worth waiting on.
TRANSITIONAL_STATUSES = ('BUILD', 'REBOOT', 'HARD_REBOOT', 'REBUILD', 'MIGRATING', 'RESIZE', 'REVERT_RESIZE',
                         'PASSWORD')
# Statuses a server rests in once Nova is done with it.
SETTLED_STATUSES = ('ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED', 'VERIFY_RESIZE', 'SHELVED', 'SHELVED_OFFLOADED',
                    'RESCUE', 'ERROR')


def power_state_name(code):
    if code is None:
        return None
    return POWER_STATES.get(code, 'unknown (%s)' % code)


def fault_message(server):
    """Nova's explanation of an ERROR server, or None."""
    fault = getattr(server, 'fault', None) or {}
    if not fault:
        return None
    message = fault.get('message') or 'no message'
    code = fault.get('code')
    return '%s (code %s)' % (message, code) if code else message


def server_flavor(server):
    """The server's flavor sizes as embedded by Nova (microversion 2.47+)."""
    flavor = server.flavor
    if flavor is None:
        return {}
    return dict(
        name=flavor.original_name or flavor.name,
        ram=flavor.ram,
        vcpus=flavor.vcpus,
        disk=flavor.disk,
        ephemeral=flavor.ephemeral or 0,
        swap=flavor.swap or 0,
    )


def server_image_id(server):
    """The image the server booted from; None for a server booted from a volume."""
    image = server.image
    return getattr(image, 'id', None) or None


def server_placement(server, instances_path=DEFAULT_INSTANCES_PATH):
    """Where the server lives: compute service host, hypervisor node, libvirt domain, files."""
    return dict(
        host=server.compute_host,
        node=server.hypervisor_hostname,
        instance_name=server.instance_name,
        instance_dir=posixpath.join(instances_path, server.id) if server.id else None,
    )


def port_summary(port):
    return dict(
        id=port.id,
        network_id=port.network_id,
        mac_address=port.mac_address,
        status=port.status,
        binding_host=port.binding_host_id,
        binding_vif_type=port.binding_vif_type,
        fixed_ips=[dict(ip_address=fixed_ip.get('ip_address'), subnet_id=fixed_ip.get('subnet_id'))
                   for fixed_ip in port.fixed_ips or []],
    )


def server_summary(server, instances_path=DEFAULT_INSTANCES_PATH):
    """The fields every module reports about a server."""
    summary = dict(
        id=server.id,
        name=server.name,
        status=server.status,
        power_state=power_state_name(server.power_state),
        task_state=server.task_state,
        vm_state=server.vm_state,
        availability_zone=server.availability_zone,
        flavor=server_flavor(server),
        image_id=server_image_id(server),
        key_name=server.key_name,
        metadata=dict(server.metadata or {}),
        addresses=dict(server.addresses or {}),
        project_id=server.project_id,
        fault=fault_message(server),
    )
    summary.update(server_placement(server, instances_path))
    # The same placement under the names openstack.cloud's server modules return (openstacksdk's attribute names),
    # so a play that reads either collection's result finds them.
    summary.update(compute_host=summary['host'], hypervisor_hostname=summary['node'])
    return summary


def summary_on_host(summary, host, node=None, **fields):
    """A copy of a server summary placed on ``host`` (under both names) with ``fields`` changed: a prediction.

    Check mode predicts where a move leaves the server; changing ``host`` alone would leave ``compute_host``
    naming the source.
    """
    predicted = dict(summary, **fields)
    predicted.update(host=host, node=node, compute_host=host, hypervisor_hostname=node)
    return predicted


def report_seconds(updated_at):
    """Epoch seconds of a service's updated_at (ISO 8601, UTC when it carries no zone); None without one."""
    if not updated_at:
        return None
    moment = datetime.datetime.strptime(str(updated_at).replace('Z', '')[:19], '%Y-%m-%dT%H:%M:%S')
    return (moment - EPOCH).total_seconds()


def utc_text(seconds):
    """Epoch seconds as ISO 8601 UTC, to the second ('never' for None)."""
    if seconds is None:
        return 'never'
    return (EPOCH + datetime.timedelta(seconds=int(seconds))).strftime('%Y-%m-%dT%H:%M:%SZ')


def reported_since(service, since):
    """Whether the service is up and reported after ``since`` (epoch seconds): it runs again."""
    reported = report_seconds(service.updated_at)
    return bool((service.state or '') == 'up' and reported is not None and reported > float(since))


def service_summary(service):
    """A compute service as compute_service_info and compute_service report it."""
    return dict(
        id=service.id,
        binary=service.binary,
        host=service.host,
        zone=service.availability_zone,
        status=service.status,
        state=service.state,
        disabled_reason=service.disabled_reason,
        forced_down=service.is_forced_down,
        updated_at=service.updated_at,
    )
