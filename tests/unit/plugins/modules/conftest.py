# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A fake cloud that migrates servers, for the migration modules' tests.

Extends the fake of tests/unit/plugins/conftest.py with Nova's migration
records (``/os-migrations`` and ``/servers/{id}/migrations``), the migration
actions, instance actions, hypervisors and a Placement proxy. A move is a
script: every ``get_server`` applies the next step (server status, task,
host, and the migration record's status and byte counts), so the modules'
waits see what Nova shows, one poll at a time.
"""

import itertools
import types
import uuid

import pytest
import requests

from openstack import exceptions as sdk_exceptions
from openstack.compute.v2.hypervisor import Hypervisor
from openstack.compute.v2.migration import Migration
from openstack.compute.v2.server_action import ServerAction
from openstack.compute.v2.server_migration import ServerMigration
from openstack.placement.v1.resource_provider import ResourceProvider
from openstack.placement.v1.resource_provider_inventory import ResourceProviderInventory


# As Nova embeds it in a server (microversion 2.47+).
FLAVOR_BODY = dict(original_name='m1.tiny', ram=512, vcpus=1, disk=5, ephemeral=0, swap=0)
SERVER_FIELDS = dict(status='status', task_state='OS-EXT-STS:task_state', host='OS-EXT-SRV-ATTR:host',
                     node='OS-EXT-SRV-ATTR:hypervisor_hostname', power_state='OS-EXT-STS:power_state')
PROGRESS_FIELDS = ('memory_total_bytes', 'memory_processed_bytes', 'memory_remaining_bytes',
                   'disk_total_bytes', 'disk_processed_bytes', 'disk_remaining_bytes')
MIB = 1024 * 1024


# Calls that change something in the cloud; check mode must make none of them.
MIGRATION_MUTATIONS = ('live_migrate_server', 'migrate_server', 'confirm_server_resize', 'revert_server_resize',
                       'abort_server_migration', 'force_complete_server_migration')


def not_found(kind, resource_id):
    return sdk_exceptions.NotFoundException(message='No %s found for %s' % (kind, resource_id))


def bad_request(message):
    response = requests.Response()
    response.status_code = 400
    return sdk_exceptions.BadRequestException(message=message, response=response)


def step(migration=None, progress=None, **server):
    """One poll of a move: server fields (status, task_state, host, power_state) and the migration's status."""
    return dict(server=server, migration=migration, progress=progress)


def memory_progress(total_mib, remaining_mib):
    return dict(memory_total_bytes=total_mib * MIB, memory_processed_bytes=(total_mib - remaining_mib) * MIB,
                memory_remaining_bytes=remaining_mib * MIB, disk_total_bytes=0, disk_processed_bytes=0,
                disk_remaining_bytes=0)


def live_script(target):
    """What Nova shows during a live migration that works."""
    return [
        step('queued', status='MIGRATING', task_state='migrating'),
        step('running', memory_progress(128, 128)),
        step('running', memory_progress(128, 64)),
        step('running', memory_progress(128, 16)),
        step('completed', status='ACTIVE', task_state=None, host=target, node=target),
    ]


def cold_script(target, status):
    """What Nova shows during a cold migration that works, up to VERIFY_RESIZE."""
    return [
        step('pre-migrating', status='RESIZE', task_state='resize_prep'),
        step('migrating', task_state='resize_migrating'),
        step('post-migrating', task_state='resize_finish', host=target, node=target),
        step('finished', status='VERIFY_RESIZE', task_state=None,
             power_state=1 if status == 'ACTIVE' else 4),
    ]


class FakeMigratingComputeProxy(object):
    """The shared fake compute proxy (``base``), plus migrations. Whatever is not here is the base's."""

    def __init__(self, base):
        self.base = base
        self.migration_bodies = {}
        self.migration_ids = itertools.count(1)
        self.clock = itertools.count(1)
        # Steps each server goes through, one per get_server().
        self.scripts = {}
        # Set by a test to change what the next live/cold migration does: f(target, server_body) -> steps.
        self.next_live_script = None
        self.next_cold_script = None
        self.after_confirm = None
        self.after_revert = None
        self.after_abort = None
        self.after_force_complete = None
        # How many abort requests Nova refuses (migration not abortable yet).
        self.abort_refusals = 0
        self.hypervisor_list = []
        self.actions = {}
        self.live_migrate_error = None

    def __getattr__(self, name):
        return getattr(self.base, name)

    # -- servers -------------------------------------------------------------
    def add_server(self, **body):
        body.setdefault('name', 'myinstance')
        body.setdefault('image', {'id': 'image-0001'})
        body.setdefault('flavor', dict(FLAVOR_BODY))
        body.setdefault('OS-EXT-SRV-ATTR:host', 'compute1')
        body.setdefault('OS-EXT-SRV-ATTR:hypervisor_hostname', body['OS-EXT-SRV-ATTR:host'])
        body.setdefault('OS-EXT-STS:task_state', None)
        return self.base.add_server(**body)

    def get_server(self, server):
        server_id = getattr(server, 'id', server)
        script = self.scripts.get(server_id)
        if script:
            self.apply(server_id, script.pop(0))
        return self.base.get_server(server)

    def apply(self, server_id, current):
        body = self.bodies[server_id]
        for field, value in current['server'].items():
            body[SERVER_FIELDS[field]] = value
            if field == 'status' and 'power_state' not in current['server']:
                body.pop('OS-EXT-STS:power_state', None)
        migration = self.current_migration(server_id)
        if migration is not None and current['migration']:
            migration['status'] = current['migration']
            migration['updated_at'] = self.timestamp()
        if migration is not None:
            for field in PROGRESS_FIELDS:
                migration.pop(field, None)
            migration.update(current['progress'] or {})

    def run_script(self, server_id, steps):
        self.scripts[server_id] = list(steps)

    # -- migration records ----------------------------------------------------
    def timestamp(self):
        return '2026-11-23T22:%02d:%02d.000000' % divmod(next(self.clock), 60)

    def add_migration(self, server_id, **body):
        server = self.bodies[server_id]
        body.setdefault('id', next(self.migration_ids))
        body.setdefault('uuid', str(uuid.uuid4()))
        body.setdefault('instance_uuid', server_id)
        body.setdefault('source_compute', server['OS-EXT-SRV-ATTR:host'])
        body.setdefault('source_node', server['OS-EXT-SRV-ATTR:host'])
        body.setdefault('created_at', self.timestamp())
        body.setdefault('updated_at', body['created_at'])
        body.setdefault('dest_host', None)
        self.migration_bodies[body['id']] = body
        return body

    def current_migration(self, server_id):
        mine = [body for body in self.migration_bodies.values() if body['instance_uuid'] == server_id]
        return max(mine, key=lambda body: body['id']) if mine else None

    def migrations(self, **query):
        self._record('migrations', **query)
        found = []
        for body in self.migration_bodies.values():
            if query.get('server_id') and body['instance_uuid'] != query['server_id']:
                continue
            if query.get('host') and query['host'] not in (body['source_compute'], body.get('dest_compute')):
                continue
            if query.get('status') and body['status'] != query['status']:
                continue
            if query.get('migration_type') and body['migration_type'] != query['migration_type']:
                continue
            found.append(Migration(**body))
        return found

    def server_migrations(self, server):
        self._record('server_migrations', server)
        return [ServerMigration(server_uuid=body['instance_uuid'], server_id=body['instance_uuid'], **dict(
            (key, value) for key, value in body.items() if key not in ('instance_uuid', 'migration_type')))
            for body in self.migration_bodies.values()
            if body['instance_uuid'] == server and body['migration_type'] == 'live-migration'
            and body['status'] in ('queued', 'preparing', 'running', 'post-migrating')]

    # -- actions ----------------------------------------------------------------
    def live_migrate_server(self, server, host=None, force=False, block_migration=None, disk_over_commit=None):
        self._record('live_migrate_server', server.id, host=host, block_migration=block_migration)
        if self.live_migrate_error is not None:
            raise self.live_migrate_error
        body = self.bodies[server.id]
        self.add_migration(server.id, migration_type='live-migration', status='accepted', dest_compute=host,
                           dest_node=host)
        body['status'], body['OS-EXT-STS:task_state'] = 'MIGRATING', 'migrating'
        script = self.next_live_script or (lambda target, server_body: live_script(target))
        self.run_script(server.id, script(host or 'compute2', body))

    def migrate_server(self, server, host=None):
        self._record('migrate_server', server.id, host=host)
        body = self.bodies[server.id]
        status = body['status']
        body['status'], body['OS-EXT-STS:task_state'] = 'RESIZE', 'resize_prep'
        self.add_migration(server.id, migration_type='migration', status='pre-migrating', dest_compute=host,
                           dest_node=host)
        script = self.next_cold_script or (lambda target, server_body: cold_script(target, status))
        self.run_script(server.id, script(host or 'compute2', body))
        body['_status_before_move'] = status

    def confirm_server_resize(self, server):
        self._record('confirm_server_resize', server.id)
        body = self.bodies[server.id]
        status = 'SHUTOFF' if body.get('OS-EXT-STS:power_state') == 4 else 'ACTIVE'
        steps = self.after_confirm or [step('confirming', task_state=None),
                                       step('confirmed', status=status, power_state=1 if status == 'ACTIVE' else 4)]
        self.run_script(server.id, steps)

    def revert_server_resize(self, server):
        self._record('revert_server_resize', server.id)
        body = self.bodies[server.id]
        migration = self.current_migration(server.id)
        steps = self.after_revert or [
            step('reverting', status='REVERT_RESIZE', task_state='resize_reverting'),
            step('reverted', status=body.get('_status_before_move', 'ACTIVE'), task_state=None,
                 host=migration['source_compute'], node=migration['source_compute'])]
        self.run_script(server.id, steps)

    def abort_server_migration(self, server_migration, server, ignore_missing=True):
        self._record('abort_server_migration', server_migration, server)
        if self.abort_refusals:
            self.abort_refusals -= 1
            raise bad_request('Migration %s state of instance %s is not abortable' % (server_migration, server))
        migration = self.migration_bodies[server_migration]
        steps = self.after_abort or [step('cancelled', status='ACTIVE', task_state=None,
                                          host=migration['source_compute'])]
        self.run_script(server, steps)

    def force_complete_server_migration(self, server_migration, server=None):
        self._record('force_complete_server_migration', server_migration, server)
        migration = self.migration_bodies[server_migration]
        if migration['status'] != 'running':
            raise bad_request('Migration %s is not running' % server_migration)
        steps = self.after_force_complete or [
            step('running', memory_progress(128, 1)),
            step('completed', status='ACTIVE', task_state=None, host=migration['dest_compute'],
                 node=migration['dest_compute'])]
        self.run_script(server, steps)

    # -- instance actions -----------------------------------------------------
    def add_failed_action(self, server_id, action, event, details):
        self.actions.setdefault(server_id, []).append(dict(
            request_id='req-%04d' % next(self.cloud.ids), action=action, start_time=self.timestamp(),
            message='Error', events=[dict(event=event, result='Error', details=details, host='compute1',
                                          traceback='Traceback...\nnova.exception: %s' % details)]))

    def server_actions(self, server):
        self._record('server_actions', server)
        return [ServerAction(**dict(body, events=None)) for body in self.actions.get(server, [])]

    def get_server_action(self, server_action, server, ignore_missing=True):
        self._record('get_server_action', server_action, server)
        for body in self.actions.get(server, []):
            if body['request_id'] == server_action:
                return ServerAction(**body)
        raise not_found('server action', server_action)

    # -- hypervisors ------------------------------------------------------------
    def add_hypervisor(self, host, host_ip):
        self.hypervisor_list.append(dict(id=str(uuid.uuid4()), hypervisor_hostname=host, host_ip=host_ip,
                                         service=dict(host=host, id=str(uuid.uuid4())), state='up',
                                         status='enabled'))

    def hypervisors(self, details=False, **query):
        self._record('hypervisors', details=details, **query)
        return [Hypervisor(**body) for body in self.hypervisor_list]


class FakePlacementProxy(object):
    def __init__(self, cloud):
        self.cloud = cloud
        self.providers = {}
        self.inventories = {}
        self.usages = {}

    def _record(self, method, *args, **kwargs):
        self.cloud.calls.append(('placement.%s' % method, args, kwargs))

    def add_provider(self, name, inventories, usages=None):
        provider_id = str(uuid.uuid4())
        self.providers[provider_id] = dict(uuid=provider_id, name=name, generation=1)
        self.inventories[provider_id] = [dict(resource_class=resource_class, resource_provider_id=provider_id,
                                              **values) for resource_class, values in inventories.items()]
        self.usages[provider_id] = dict(usages or {})
        return provider_id

    def resource_providers(self, **query):
        self._record('resource_providers', **query)
        return [ResourceProvider(**body) for body in self.providers.values()
                if all(body.get(key) == value for key, value in query.items())]

    def resource_provider_inventories(self, resource_provider, **query):
        provider_id = getattr(resource_provider, 'id', resource_provider)
        self._record('resource_provider_inventories', provider_id)
        return [ResourceProviderInventory(**body) for body in self.inventories[provider_id]]

    def fetch_resource_provider_usages(self, resource_provider):
        provider_id = getattr(resource_provider, 'id', resource_provider)
        self._record('fetch_resource_provider_usages', provider_id)
        return ResourceProvider(usages=self.usages[provider_id], **self.providers[provider_id])


def compute_service(host, state='up', status='enabled', disabled_reason=None):
    return dict(id=str(uuid.uuid4()), binary='nova-compute', host=host, zone='nova', status=status, state=state,
                disabled_reason=disabled_reason, forced_down=False, updated_at='2026-11-23T22:40:01.000000')


def inventory(total, reserved=0, ratio=1.0, max_unit=None):
    return dict(total=total, reserved=reserved, allocation_ratio=ratio, max_unit=max_unit or total, min_unit=1,
                step_size=1)


@pytest.fixture
def lab(cloud):
    """The fake cloud shaped like the lab: two enabled computes, a hypervisor and a provider for each."""
    cloud.compute = FakeMigratingComputeProxy(cloud.compute)
    cloud.placement = FakePlacementProxy(cloud)
    for host, address in (('compute1', '10.99.0.11'), ('compute2', '10.99.0.12')):
        cloud.compute.service_list.append(compute_service(host))
        cloud.compute.add_hypervisor(host, address)
        cloud.placement.add_provider(host, dict(VCPU=inventory(2, ratio=4.0), MEMORY_MB=inventory(2048, reserved=512),
                                                DISK_GB=inventory(20)))
    cloud.moves = lambda: mutations(cloud)
    return cloud


@pytest.fixture
def fakes():
    """The helpers to script a move, for tests (they cannot import a conftest)."""
    return types.SimpleNamespace(step=step, memory_progress=memory_progress, live_script=live_script,
                                 cold_script=cold_script, bad_request=bad_request, compute_service=compute_service,
                                 inventory=inventory, MIB=MIB)


def mutations(cloud):
    """The calls that changed something, in order."""
    return [name for name in cloud.call_names()
            if name.split('.', 1)[1] in MIGRATION_MUTATIONS or name.split('.', 1)[1].startswith(('create_', 'update_',
                                                                                                 'delete_'))]
