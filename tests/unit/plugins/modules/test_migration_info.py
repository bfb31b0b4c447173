# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest

from ansible_collections.novaops.migration.plugins.modules.migration_info import MigrationInfoModule


@pytest.fixture
def history(lab, fakes):
    """myinstance: a cold migration confirmed, then a live migration copying memory; other: one that failed."""
    server = lab.compute.add_server(name='myinstance', status='MIGRATING', **{'OS-EXT-STS:task_state': 'migrating'})
    other = lab.compute.add_server(name='other', **{'OS-EXT-SRV-ATTR:host': 'compute2'})
    lab.compute.add_migration(server.id, migration_type='migration', status='confirmed', source_compute='compute2',
                              dest_compute='compute1')
    lab.compute.add_migration(other.id, migration_type='live-migration', status='error', source_compute='compute2',
                              dest_compute='compute1')
    running = lab.compute.add_migration(server.id, migration_type='live-migration', status='running',
                                        dest_compute='compute2')
    running.update(fakes.memory_progress(128, 32))
    return dict(server=server, other=other)


def info(run_module, **args):
    return run_module(MigrationInfoModule, args)


def test_a_servers_migrations_newest_first_with_progress(run_module, lab, history):
    result = info(run_module, server='myinstance')
    assert result['changed'] is False
    assert result['server'] == dict(id=history['server'].id, name='myinstance', status='MIGRATING', host='compute1')
    assert [(item['id'], item['migration_type'], item['status'], item['in_progress'])
            for item in result['migrations']] == [(3, 'live-migration', 'running', True),
                                                  (1, 'migration', 'confirmed', False)]
    running = result['migrations'][0]
    assert running['source_compute'] == 'compute1' and running['dest_compute'] == 'compute2'
    assert running['progress']['percent'] == 75.0
    assert running['progress']['memory_remaining_bytes'] == 32 * 1024 * 1024
    assert result['migrations'][1]['progress'] is None


def test_one_migration_by_id_or_uuid(run_module, lab, history):
    by_id = info(run_module, server='myinstance', migration='1')
    assert [item['id'] for item in by_id['migrations']] == [1]
    by_uuid = info(run_module, server='myinstance', migration=by_id['migrations'][0]['uuid'])
    assert by_uuid['migrations'] == by_id['migrations']


def test_unknown_migration_lists_the_servers(run_module, lab, history):
    result = info(run_module, server='myinstance', migration='42')
    assert result['failed']
    assert "server 'myinstance' (%s) has no migration '42' (its migrations: 3, 1)" % history['server'].id \
        in result['msg']


def test_filters_over_all_servers(run_module, lab, history):
    failed = info(run_module, status='error')
    assert [item['server_id'] for item in failed['migrations']] == [history['other'].id]
    assert 'server' not in failed
    running = info(run_module, in_progress=True)
    assert [item['id'] for item in running['migrations']] == [3]
    live = info(run_module, migration_type='live-migration', host='compute2')
    assert [item['id'] for item in live['migrations']] == [3, 2]


def test_unknown_server_fails(run_module, lab):
    result = info(run_module, server='nope')
    assert result['failed']
    assert "server 'nope' not found" in result['msg']


def test_migration_needs_server(run_module, lab):
    result = info(run_module, migration='1')
    assert result['failed']
    assert 'migration' in result['msg'] and 'server' in result['msg']
