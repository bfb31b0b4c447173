# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Evacuating a server off a failed compute host: what Nova will do, and how to tell it did.

Used by the evacuate module. Evacuation is Nova's rebuild of a server on
another host while its own host is down (``POST /servers/{id}/action``
``evacuate``): the guest is created again on the target from what Nova knows -
its volumes, and its local disks only when the target sees them (shared
instance storage); otherwise a local root disk is rebuilt from the image and
its content is lost. Nova records the move as a migration of type
``evacuation``: accepted -> pre-migrating -> done, then completed once the
failed host's nova-compute starts again and removes what is left there (its
guest, its Placement allocation); failed or error when it did not work.
"""

import contextlib

from ansible_collections.novaops.migration.plugins.module_utils.migrations import FAILED_STATUSES
from ansible_collections.novaops.migration.plugins.module_utils.servers import (
    TRANSITIONAL_STATUSES, server_flavor, server_image_id,
)

# Statuses Nova evacuates from (its vm_states active, stopped, error).
EVACUABLE_STATUSES = ('ACTIVE', 'SHUTOFF', 'ERROR')
# Statuses of an evacuation's migration record once the server runs on the target: 'done' until the failed host's
# nova-compute starts again and cleans up, 'completed' after.
EVACUATED_STATUSES = ('done', 'completed')

# 2.29: a target host that the scheduler still checks (force, which skips the checks, is never sent; 2.68 removed it).
EVACUATE_HOST_MICROVERSION = '2.29'
# Up to 2.94 Nova brings an evacuated server back in the state it had: ACTIVE (and ERROR, which the rebuild
# repairs) comes back ACTIVE, SHUTOFF comes back SHUTOFF. From 2.95 on, every evacuated server is left SHUTOFF
# (so that a guest whose disk was rebuilt is not booted unseen). The module asks for the newest microversion up to
# 2.94 - Nova still serves every microversion from 2.1, so one is always there; on a cloud that offered only 2.95
# and later, the module would evacuate with it and start the server itself (action 'start').
LAST_STATE_KEEPING_MICROVERSION = (2, 94)
MIN_EVACUATE_MICROVERSION = (2, 29)


def version_text(version):
    return '.'.join(str(part) for part in version)


def evacuation_microversion(min_version, max_version):
    """(microversion, keeps_state): the microversion to evacuate with, and whether Nova keeps the server's state.

    ``min_version`` and ``max_version`` are the compute API's, as tuples. The
    newest microversion from 2.29 up to 2.94 when the cloud has one (Nova
    restores the state), else the cloud's newest (Nova leaves the server
    SHUTOFF). None when the cloud is older than 2.29.
    """
    if max_version is None or tuple(max_version) < MIN_EVACUATE_MICROVERSION:
        return None, False
    low = tuple(min_version) if min_version else (2, 1)
    if low <= LAST_STATE_KEEPING_MICROVERSION:
        return version_text(min(tuple(max_version), LAST_STATE_KEEPING_MICROVERSION)), True
    return version_text(max_version), False


@contextlib.contextmanager
def pinned_microversion(proxy, microversion):
    """Make the proxy's calls use ``microversion`` for the duration.

    openstacksdk sends a server action with the proxy's default microversion,
    else with the newest both sides know (up to 2.100 in openstacksdk 4.x), and
    its evacuate_server takes none; setting the default is how openstacksdk's
    own call is made at 2.94.
    """
    previous = proxy.default_microversion
    proxy.default_microversion = microversion
    try:
        yield
    finally:
        proxy.default_microversion = previous


def expected_status(status):
    """The status an evacuated server comes back in (microversion < 2.95): SHUTOFF stays SHUTOFF; ACTIVE stays ACTIVE;
    ERROR becomes ACTIVE - the rebuild sets the server active, then stops it only if it was stopped."""
    return 'SHUTOFF' if status == 'SHUTOFF' else 'ACTIVE'


def status_refusal(server, source_host):
    """Why Nova would not evacuate the server in its status, or None when it would."""
    return status_refusal_of(server.name, server.id, server.status, server.task_state, source_host)


def status_refusal_of(name, server_id, status, task_state, source_host):
    """status_refusal from a server's fields (a server_summary dict has them all)."""
    name = "server '%s' (%s)" % (name, server_id)
    reset = '`openstack server set --state error %s`' % server_id
    if task_state or status in TRANSITIONAL_STATUSES:
        return ("%s is %s with task '%s' in progress; Nova refuses to evacuate a server while a task runs. If the task "
                "is stuck because %s died, reset the server with %s (which clears the task), then run again."
                % (name, status, task_state, source_host, reset))
    if status in EVACUABLE_STATUSES:
        return None
    if status in ('PAUSED', 'SUSPENDED', 'RESCUE'):
        why = ('its guest\'s memory (or its rescue disk) is on the failed host and cannot be moved; to rebuild it '
               'from its disks on another host (it reboots), reset it with %s first' % reset)
    elif status == 'VERIFY_RESIZE':
        why = 'a resize or cold migration waits for its confirmation; confirm or revert it, or reset it with %s' % reset
    elif status == 'SHELVED_OFFLOADED':
        why = 'it runs on no host; unshelve it instead'
    elif status == 'SHELVED':
        why = 'it is shelved; wait for the offload or unshelve it'
    else:
        why = 'reset it with %s if it must be rebuilt elsewhere' % reset
    return '%s is %s; Nova evacuates only ACTIVE, SHUTOFF or ERROR servers: %s.' % (name, status, why)


def disk_plan(server, shared_storage):
    """What happens to the server's local disks on the target: rebuild (root disk from its image), data_kept, losses.

    A root disk on a volume is attached again and kept. A local disk is kept
    only on shared instance storage, where the target finds it; otherwise the
    root disk is rebuilt from the image and an ephemeral disk recreated empty.
    """
    return disk_plan_of(server_image_id(server), server_flavor(server).get('ephemeral') or 0, shared_storage)


def disk_plan_of(image_id, ephemeral_gb, shared_storage):
    """disk_plan from a server's image id (None: booted from a volume) and its flavor's ephemeral GB."""
    volume_backed = image_id is None
    rebuild = not volume_backed and not shared_storage
    losses = []
    if rebuild:
        losses.append('its root disk is local, so Nova rebuilds it from its image %s on the target and its content '
                      'is lost' % image_id)
    if ephemeral_gb and not shared_storage:
        losses.append('its ephemeral disk (%s GB) is local, so Nova creates it again empty on the target'
                      % ephemeral_gb)
    return dict(volume_backed=volume_backed, rebuild=rebuild, data_kept=not losses, losses=losses)


# Nova may record the evacuation 'done' a moment before the server's host reads the target (seen on the lab
# with a SHUTOFF server): that state is waited out, up to HOST_UPDATE_GRACE seconds.
HOST_NOT_YET_UPDATED = 'EVACUATION DONE (HOST NOT YET UPDATED)'
HOST_UPDATE_GRACE = 60


def evacuation_state(snapshot, source_host=None):
    """The state wait_for compares while following an evacuation (a MigrationWatch snapshot)."""
    server = snapshot.server
    if server is None:
        return 'GONE'
    status = snapshot.migration_status
    settled = not server.task_state and server.status not in TRANSITIONAL_STATUSES
    if status in EVACUATED_STATUSES and settled:
        if source_host is not None and server.compute_host == source_host:
            return HOST_NOT_YET_UPDATED
        return 'DONE'
    if status in FAILED_STATUSES and settled:
        return 'FAILED'
    return 'EVACUATION %s (%s)' % ((status or 'not yet recorded').upper(), server.task_state or server.status)


def evacuations_from(records, source_host):
    """The evacuation records (newest first, as MigrationModule.migration_records gives them) from source_host."""
    return [record for record in records if record.source_compute == source_host]


def service_is_down(service):
    """Whether Nova counts a compute service down: it missed its reports, or it was forced down."""
    return service.state == 'down' or bool(service.is_forced_down)
