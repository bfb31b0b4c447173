# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import types

import pytest

from openstack.compute.v2.migration import Migration
from openstack.compute.v2.server import Server
from openstack.compute.v2.service import Service

from ansible_collections.novaops.migration.plugins.module_utils.evacuation import (
    disk_plan, evacuation_microversion, evacuation_state, evacuations_from, expected_status, pinned_microversion,
    service_is_down, status_refusal,
)
from ansible_collections.novaops.migration.plugins.module_utils.migrations import Snapshot

FLAVOR = dict(original_name='m1.tiny', ram=512, vcpus=1, disk=5, ephemeral=0, swap=0)


def server(status='ACTIVE', task_state=None, image=None, ephemeral=0):
    return Server(id='server-0001', name='myinstance', status=status, image=image if image is not None else '',
                  flavor=dict(FLAVOR, ephemeral=ephemeral),
                  **{'OS-EXT-STS:task_state': task_state, 'OS-EXT-SRV-ATTR:host': 'compute1'})


@pytest.mark.parametrize('minimum, maximum, expected', [
    ((2, 1), (2, 100), ('2.94', True)),
    ((2, 1), (2, 94), ('2.94', True)),
    ((2, 1), (2, 79), ('2.79', True)),
    ((2, 1), (2, 29), ('2.29', True)),
    ((2, 1), (2, 28), (None, False)),
    ((2, 95), (2, 100), ('2.100', False)),
    (None, (2, 60), ('2.60', True)),
    ((2, 1), None, (None, False)),
])
def test_evacuation_microversion(minimum, maximum, expected):
    assert evacuation_microversion(minimum, maximum) == expected


@pytest.mark.parametrize('status, expected', [('ACTIVE', 'ACTIVE'), ('SHUTOFF', 'SHUTOFF'), ('ERROR', 'ACTIVE')])
def test_expected_status(status, expected):
    assert expected_status(status) == expected


def test_pinned_microversion_restores_the_default_even_on_error():
    proxy = types.SimpleNamespace(default_microversion='2.53')
    with pytest.raises(RuntimeError):
        with pinned_microversion(proxy, '2.94'):
            assert proxy.default_microversion == '2.94'
            raise RuntimeError('boom')
    assert proxy.default_microversion == '2.53'


@pytest.mark.parametrize('image, ephemeral, shared, rebuild, data_kept, losses', [
    ('', 0, False, False, True, 0),
    ({'id': 'image-0001'}, 0, False, True, False, 1),
    ({'id': 'image-0001'}, 0, True, False, True, 0),
    ({'id': 'image-0001'}, 2, False, True, False, 2),
    ('', 2, False, False, False, 1),
    ('', 2, True, False, True, 0),
])
def test_disk_plan(image, ephemeral, shared, rebuild, data_kept, losses):
    plan = disk_plan(server(image=image, ephemeral=ephemeral), shared)
    assert plan['rebuild'] is rebuild
    assert plan['data_kept'] is data_kept
    assert len(plan['losses']) == losses
    assert plan['volume_backed'] is (image == '')


@pytest.mark.parametrize('status', ['ACTIVE', 'SHUTOFF', 'ERROR'])
def test_evacuable_statuses(status):
    assert status_refusal(server(status), 'compute1') is None


@pytest.mark.parametrize('status, task_state, words', [
    ('ACTIVE', 'powering-off', "with task 'powering-off' in progress"),
    ('REBUILD', None, 'is REBUILD with task'),
    ('PAUSED', None, 'reset it with `openstack server set --state error server-0001` first'),
    ('RESCUE', None, 'rescue disk'),
    ('SHELVED', None, 'it is shelved'),
    ('SHELVED_OFFLOADED', None, 'unshelve it instead'),
    ('VERIFY_RESIZE', None, 'confirm or revert it'),
    ('UNKNOWN', None, 'Nova evacuates only ACTIVE, SHUTOFF or ERROR servers'),
])
def test_status_refusals(status, task_state, words):
    assert words in status_refusal(server(status, task_state), 'compute1')


def snapshot(status, task_state, migration_status):
    migration = Migration(id=1, status=migration_status) if migration_status else None
    return Snapshot(server(status, task_state), migration)


@pytest.mark.parametrize('status, task_state, migration_status, state', [
    ('ACTIVE', None, 'done', 'DONE'),
    ('SHUTOFF', None, 'completed', 'DONE'),
    ('REBUILD', 'rebuilding', 'pre-migrating', 'EVACUATION PRE-MIGRATING (rebuilding)'),
    ('ERROR', 'rebuild_spawning', 'pre-migrating', 'EVACUATION PRE-MIGRATING (rebuild_spawning)'),
    ('ACTIVE', 'powering-off', 'done', 'EVACUATION DONE (powering-off)'),
    ('ERROR', None, 'failed', 'FAILED'),
    ('ACTIVE', None, 'error', 'FAILED'),
    ('REBUILD', 'rebuilding', None, 'EVACUATION NOT YET RECORDED (rebuilding)'),
])
def test_evacuation_state(status, task_state, migration_status, state):
    assert evacuation_state(snapshot(status, task_state, migration_status)) == state


def test_evacuation_state_of_a_deleted_server():
    assert evacuation_state(Snapshot(None)) == 'GONE'


def test_evacuations_from():
    records = [Migration(id=2, source_compute='compute2'), Migration(id=1, source_compute='compute1')]
    assert [record.id for record in evacuations_from(records, 'compute1')] == [1]


@pytest.mark.parametrize('state, forced_down, down', [
    ('up', False, False), ('down', False, True), ('up', True, True)])
def test_service_is_down(state, forced_down, down):
    assert service_is_down(Service(host='compute1', state=state, forced_down=forced_down)) is down
