# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import json

import pytest

from ansible_collections.novaops.migration.plugins.module_utils.move_slots import MoveSlot
from ansible_collections.novaops.migration.plugins.modules.live_migrate import (
    LiveMigrateModule, parse_block_migration,
)


@pytest.fixture
def server(lab):
    return lab.compute.add_server(name='myinstance', status='ACTIVE')


def move(run_module, **args):
    values = dict(server='myinstance', target_host='compute2')
    values.update(args)
    return run_module(LiveMigrateModule, values)


def host_of(lab, server):
    return lab.compute.bodies[server.id]['OS-EXT-SRV-ATTR:host']


@pytest.mark.parametrize('value, expected', [('auto', 'auto'), ('AUTO', 'auto'), (True, True), ('yes', True),
                                             (False, False), ('false', False), ('sometimes', None)])
def test_block_migration_values(value, expected):
    assert parse_block_migration(value) == expected


def test_moves_the_server_and_verifies_it(run_module, lab, server):
    result = move(run_module)
    assert result['changed'] is True
    assert lab.moves() == ['compute.live_migrate_server']
    assert lab.call('compute.live_migrate_server') == ((server.id,), dict(host='compute2', block_migration='auto'))
    assert result['source_host'] == 'compute1'
    assert result['target_host'] == 'compute2'
    assert result['server']['host'] == 'compute2'
    assert result['server']['status'] == 'ACTIVE'
    assert result['migration_id'] == 1
    assert result['migration']['status'] == 'completed'
    assert result['actions'] == ['live_migrate']
    assert result['duration'] > 0
    percents = [sample['percent'] for sample in result['progress'] if sample['percent'] is not None]
    assert percents == [0.0, 50.0, 87.5]
    assert result['progress'][-1]['migration_status'] == 'completed'


def test_second_run_changes_nothing(run_module, lab, server):
    move(run_module)
    lab.calls.clear()
    again = move(run_module)
    assert again['changed'] is False
    assert again['actions'] == []
    assert lab.moves() == []


def test_check_mode_predicts_without_moving(run_module, lab, server):
    result = run_module(LiveMigrateModule, dict(server='myinstance', target_host='compute2'), check_mode=True,
                        diff=True)
    assert result['changed'] is True
    assert result['actions'] == ['live_migrate']
    assert result['server']['host'] == 'compute2'
    assert result['server']['compute_host'] == 'compute2', "openstack.cloud's name for it predicts the same"
    assert result['diff'] == dict(before=dict(host='compute1'), after=dict(host='compute2'))
    assert lab.moves() == []
    assert host_of(lab, server) == 'compute1'


def test_scheduler_chooses_when_no_target(run_module, lab, server):
    result = move(run_module, target_host=None, block_migration=True)
    assert lab.call('compute.live_migrate_server')[1] == dict(host=None, block_migration=True)
    assert result['target_host'] == 'compute2'


def test_shutoff_server_is_told_to_use_cold_migration(run_module, lab):
    lab.compute.add_server(name='myinstance', status='SHUTOFF')
    result = move(run_module)
    assert result['failed']
    assert 'is SHUTOFF on compute1; live migration needs a running guest. Use cold migration' in result['msg']
    assert lab.moves() == []


def test_server_in_error_fails_with_its_fault(run_module, lab):
    lab.compute.add_server(name='myinstance', status='ERROR', fault={'message': 'disk gone', 'code': 500})
    result = move(run_module)
    assert result['failed']
    assert 'is in ERROR state (disk gone (code 500)); Nova does not migrate it' in result['msg']
    assert lab.moves() == []


def test_unknown_server_and_unknown_target(run_module, lab, server):
    result = move(run_module, server='nope')
    assert result['failed']
    assert "server 'nope' not found in cloud 'lab'" in result['msg']
    result = move(run_module, target_host='compute9')
    assert result['failed']
    assert "no nova-compute service runs on host 'compute9' (compute hosts: compute1, compute2)" in result['msg']
    assert lab.moves() == []


def test_old_cloud_without_microversion_2_30(run_module, lab, server):
    lab.compute.base.max_microversion = (2, 25)
    result = move(run_module)
    assert result['failed']
    assert 'needs microversion 2.30 of the compute API' in result['msg']
    assert lab.moves() == []


def test_failed_migration_reports_nova_reason_and_where_the_server_is(run_module, lab, server, fakes):
    lab.compute.next_live_script = lambda target, body: [
        fakes.step('running', status='MIGRATING', task_state='migrating'),
        fakes.step('error', status='ACTIVE', task_state=None),
    ]
    lab.compute.add_failed_action(server.id, 'live-migration', 'compute_check_can_live_migrate_destination',
                                  "Unable to connect to qemu+tcp://10.99.0.12/system: Connection refused")
    result = move(run_module)
    assert result['failed']
    assert "live migration of server 'myinstance'" in result['msg']
    assert "migration 1 is 'error'" in result['msg']
    assert 'compute_check_can_live_migrate_destination on compute1: Unable to connect' in result['msg']
    assert 'The server is ACTIVE on compute1' in result['msg']
    assert result['migration']['status'] == 'error'


def test_timeout_aborts_and_the_server_stays_on_the_source(run_module, lab, server, fakes):
    lab.compute.next_live_script = lambda target, body: [fakes.step('running', fakes.memory_progress(128, 100),
                                                                    status='MIGRATING', task_state='migrating')]
    lab.compute.abort_refusals = 1
    result = move(run_module, timeout=3)
    assert result['failed']
    assert 'did not finish within 3 s' in result['msg']
    assert 'was aborted: migration 1 is cancelled, the server is ACTIVE on compute1' in result['msg']
    assert result['actions'] == ['live_migrate', 'abort']
    aborts = [args for name, args, dummy in lab.calls if name == 'compute.abort_server_migration']
    assert aborts == [(1, server.id), (1, server.id)]
    assert host_of(lab, server) == 'compute1'


def test_abort_that_comes_too_late_reports_the_move(run_module, lab, server, fakes):
    lab.compute.next_live_script = lambda target, body: [fakes.step('running', status='MIGRATING',
                                                                    task_state='migrating')]
    lab.compute.after_abort = [fakes.step('completed', status='ACTIVE', task_state=None, host='compute2')]
    result = move(run_module, timeout=1)
    assert result['changed'] is True
    assert result['server']['host'] == 'compute2'
    assert result['actions'] == ['live_migrate', 'abort']


def test_timeout_forces_completion(run_module, lab, server, fakes):
    lab.compute.next_live_script = lambda target, body: [fakes.step('running', fakes.memory_progress(128, 100),
                                                                    status='MIGRATING', task_state='migrating')]
    result = move(run_module, timeout=2, on_timeout='force_complete')
    assert result['changed'] is True
    assert result['actions'] == ['live_migrate', 'force_complete']
    assert lab.call('compute.force_complete_server_migration')[0] == (1, server.id)
    assert result['server']['host'] == 'compute2'


def test_timeout_fail_leaves_the_migration_running(run_module, lab, server, fakes):
    lab.compute.next_live_script = lambda target, body: [fakes.step('running', status='MIGRATING',
                                                                    task_state='migrating')]
    result = move(run_module, timeout=2, on_timeout='fail')
    assert result['failed']
    assert 'did not finish within 2 s (migration 1 is running); it goes on' in result['msg']
    assert lab.moves() == ['compute.live_migrate_server']


def test_a_running_migration_to_the_target_is_followed(run_module, lab, server, fakes):
    body = lab.compute.bodies[server.id]
    body.update({'status': 'MIGRATING', 'OS-EXT-STS:task_state': 'migrating'})
    lab.compute.add_migration(server.id, migration_type='live-migration', status='running', dest_compute='compute2')
    lab.compute.run_script(server.id, [fakes.step('running'),
                                       fakes.step('completed', status='ACTIVE', task_state=None, host='compute2')])
    result = move(run_module)
    assert result['changed'] is True
    assert result['actions'] == ['follow']
    assert lab.moves() == []
    assert result['server']['host'] == 'compute2'


def test_a_running_migration_elsewhere_is_an_error(run_module, lab, server):
    body = lab.compute.bodies[server.id]
    body.update({'status': 'MIGRATING', 'OS-EXT-STS:task_state': 'migrating'})
    lab.compute.add_migration(server.id, migration_type='live-migration', status='running', dest_compute='compute3')
    result = move(run_module)
    assert result['failed']
    assert 'is already being live-migrated to compute3 (migration 1, running)' in result['msg']


def test_no_wait_returns_after_the_request(run_module, lab, server):
    result = move(run_module, wait=False)
    assert result['changed'] is True
    assert result['migration_id'] == 1
    assert lab.moves() == ['compute.live_migrate_server']


def test_completed_but_on_another_host_is_not_success(run_module, lab, server, fakes):
    lab.compute.next_live_script = lambda target, body: [
        fakes.step('completed', status='ACTIVE', task_state=None, host='compute3')]
    result = move(run_module)
    assert result['failed']
    assert 'could not be verified: the server is on compute3, not on compute2' in result['msg']


# -- the ports after the move ------------------------------------------------------

def port_of(lab, server, status='DOWN', **body):
    return lab.network.add_port(device_id=server.id, binding_host_id='compute2', network_id='net-0001',
                                status=status, is_admin_state_up=body.pop('is_admin_state_up', True), **body)


def port_updates(lab):
    return [call for call in lab.calls if call[0] == 'network.update_port']


def test_ports_that_turn_active_on_their_own_are_left_alone(run_module, lab, server):
    port = port_of(lab, server)
    lab.network.pending_port_statuses[port.id] = ['DOWN', 'DOWN', 'ACTIVE']
    result = move(run_module)
    assert [(p['id'], p['status'], p['binding_host']) for p in result['ports']] == [(port.id, 'ACTIVE', 'compute2')]
    assert result['repaired_ports'] == []
    assert port_updates(lab) == []
    assert 'warnings' not in result


def test_a_port_neutron_keeps_down_gets_its_admin_state_cycled(run_module, lab, server):
    port = port_of(lab, server)
    result = move(run_module, ports_timeout=10)
    assert [call[2] for call in port_updates(lab)] == [dict(is_admin_state_up=False), dict(is_admin_state_up=True)]
    assert result['repaired_ports'] == [port.id]
    assert result['ports'][0]['status'] == 'ACTIVE'
    assert any('still reported port %s DOWN 10 s after the move' % port.id in warning and 'ACTIVE now' in warning
               for warning in result['warnings'])


def test_without_repair_a_down_port_is_only_reported(run_module, lab, server):
    port = port_of(lab, server)
    result = move(run_module, repair_port_status=False)
    assert result['changed'] is True
    assert port_updates(lab) == []
    assert result['ports'][0]['status'] == 'DOWN'
    assert any(port.id in warning and 'not ACTIVE (DOWN)' in warning for warning in result['warnings'])


def test_a_port_turned_off_by_its_owner_is_not_touched(run_module, lab, server):
    port_of(lab, server, is_admin_state_up=False)
    result = move(run_module)
    assert port_updates(lab) == []
    assert result['repaired_ports'] == []
    assert 'warnings' not in result


def test_progress_is_appended_to_the_progress_file(run_module, lab, server, tmp_path):
    progress_file = tmp_path / 'progress'
    result = move(run_module, progress_file=str(progress_file))
    lines = [json.loads(line) for line in progress_file.read_text().splitlines()]
    assert [line['percent'] for line in lines] == [sample['percent'] for sample in result['progress']]
    assert lines[-1]['migration_status'] == 'completed' and lines[-1]['migration_id'] == result['migration_id']


def test_an_unwritable_progress_file_does_not_stop_the_move(run_module, lab, server, tmp_path):
    result = move(run_module, progress_file=str(tmp_path / 'missing' / 'progress'))
    assert result['changed'] is True and result['server']['host'] == 'compute2'
    assert any('cannot write the progress' in warning for warning in result['warnings'])


# -- move slots (the drain's sliding window) ----------------------------------------------

def test_a_free_slot_is_taken_and_the_move_runs(run_module, lab, server, tmp_path):
    result = move(run_module, slot_dir=str(tmp_path), slots=2)
    assert result['changed'] is True
    assert host_of(lab, server) == 'compute2'


def test_no_free_slot_asks_nothing_of_nova(run_module, lab, server, tmp_path):
    holder = MoveSlot(str(tmp_path), 1)
    assert holder.try_acquire()
    progress = tmp_path / 'progress'
    lab.calls.clear()
    result = move(run_module, slot_dir=str(tmp_path), slots=1, slot_timeout=1, progress_file=str(progress))
    assert result['failed'] is True
    assert 'no move slot of 1 became free within 1 s' in result['msg']
    assert 'nothing was asked of Nova for myinstance' in result['msg']
    assert lab.calls == []
    assert json.loads(progress.read_text().splitlines()[0])['migration_status'] == \
        'waiting for a free move slot (1 at once)'
    assert host_of(lab, server) == 'compute1'


def test_check_mode_takes_no_slot(run_module, lab, server, tmp_path):
    holder = MoveSlot(str(tmp_path), 1)
    assert holder.try_acquire()
    result = run_module(LiveMigrateModule, dict(server='myinstance', target_host='compute2', slot_dir=str(tmp_path),
                                                slot_timeout=0), check_mode=True)
    assert result['changed'] is True and 'failed' not in result
