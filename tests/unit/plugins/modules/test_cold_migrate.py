# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest

from ansible_collections.novaops.migration.plugins.modules.cold_migrate import ColdMigrateModule


def move(run_module, check_mode=False, diff=False, **args):
    values = dict(server='myinstance', target_host='compute2')
    values.update(args)
    return run_module(ColdMigrateModule, values, check_mode=check_mode, diff=diff)


def body_of(lab, server):
    return lab.compute.bodies[server.id]


@pytest.mark.parametrize('status, power_state', [('ACTIVE', 'running'), ('SHUTOFF', 'shutdown')])
def test_moves_confirms_and_keeps_the_power_state(run_module, lab, status, power_state):
    server = lab.compute.add_server(status=status)
    result = move(run_module)
    assert result['changed'] is True
    assert lab.moves() == ['compute.migrate_server', 'compute.confirm_server_resize']
    assert lab.call('compute.migrate_server') == ((server.id,), dict(host='compute2'))
    assert result['actions'] == ['migrate', 'confirm']
    assert result['confirmed'] is True
    assert result['source_host'] == 'compute1'
    assert result['target_host'] == 'compute2'
    assert result['server']['status'] == status
    assert result['server']['power_state'] == power_state
    assert result['migration']['status'] == 'confirmed'
    assert [sample['migration_status'] for sample in result['progress']] == [
        'pre-migrating', 'migrating', 'post-migrating', 'finished', 'confirming', 'confirmed']

    lab.calls.clear()
    again = move(run_module)
    assert again['changed'] is False
    assert lab.moves() == []


def test_check_mode_predicts_without_moving(run_module, lab):
    server = lab.compute.add_server(status='SHUTOFF')
    result = move(run_module, check_mode=True, diff=True)
    assert result['changed'] is True
    assert result['actions'] == ['migrate', 'confirm']
    assert result['server']['host'] == 'compute2'
    assert result['server']['status'] == 'SHUTOFF'
    assert result['diff'] == dict(before=dict(host='compute1', status='SHUTOFF'),
                                  after=dict(host='compute2', status='SHUTOFF'))
    assert lab.moves() == []
    assert body_of(lab, server)['OS-EXT-SRV-ATTR:host'] == 'compute1'


def test_without_confirm_the_server_waits_in_verify_resize_then_is_confirmed(run_module, lab):
    lab.compute.add_server(status='ACTIVE')
    first = move(run_module, confirm=False)
    assert first['changed'] is True
    assert first['actions'] == ['migrate']
    assert first['confirmed'] is False
    assert first['server']['status'] == 'VERIFY_RESIZE'
    assert first['server']['host'] == 'compute2'

    lab.calls.clear()
    unchanged = move(run_module, confirm=False)
    assert unchanged['changed'] is False
    assert lab.moves() == []

    confirmed = move(run_module)
    assert confirmed['changed'] is True
    assert confirmed['actions'] == ['confirm']
    assert confirmed['source_host'] == 'compute1'
    assert confirmed['server']['status'] == 'ACTIVE'
    assert lab.moves() == ['compute.confirm_server_resize']


def test_verify_resize_from_another_move_is_left_to_the_operator(run_module, lab):
    server = lab.compute.add_server(status='VERIFY_RESIZE', **{'OS-EXT-SRV-ATTR:host': 'compute3'})
    lab.compute.add_migration(server.id, migration_type='migration', status='finished', source_compute='compute1',
                              dest_compute='compute3')
    result = move(run_module)
    assert result['failed']
    assert 'is in VERIFY_RESIZE on compute3 from an earlier migration from compute1' in result['msg']
    assert lab.moves() == []


def test_wrong_host_is_reverted(run_module, lab, fakes):
    server = lab.compute.add_server(status='ACTIVE')
    lab.compute.next_cold_script = lambda target, body: [
        fakes.step('finished', status='VERIFY_RESIZE', task_state=None, host='compute3', power_state=1)]
    result = move(run_module)
    assert result['failed']
    assert 'could not be verified (the server arrived on compute3, not on compute2) and was reverted' in result['msg']
    assert 'the server is ACTIVE on compute1' in result['msg']
    assert lab.moves() == ['compute.migrate_server', 'compute.revert_server_resize']
    assert body_of(lab, server)['OS-EXT-SRV-ATTR:host'] == 'compute1'


def test_failed_move_explains_with_the_instance_action(run_module, lab, fakes):
    server = lab.compute.add_server(status='ACTIVE')
    lab.compute.next_cold_script = lambda target, body: [
        fakes.step('migrating', task_state='resize_migrating'),
        fakes.step('error', status='ACTIVE', task_state=None)]
    lab.compute.add_failed_action(server.id, 'migrate', 'compute_resize_instance',
                                  'Command: ssh -o BatchMode=yes 10.99.0.12 mkdir -p ... Permission denied')
    result = move(run_module)
    assert result['failed']
    assert "cold migration of server 'myinstance'" in result['msg']
    assert 'went to FAILED' in result['msg']
    assert "migration 1 is 'error'" in result['msg']
    assert 'compute_resize_instance on compute1: Command: ssh' in result['msg']


def test_power_state_change_is_reported(run_module, lab, fakes):
    lab.compute.add_server(status='SHUTOFF')
    lab.compute.after_confirm = [fakes.step('confirmed', status='ACTIVE', power_state=1)]
    result = move(run_module)
    assert result['failed']
    assert 'is ACTIVE, it was SHUTOFF before' in result['msg']


@pytest.mark.parametrize('status, expected', [
    ('ERROR', 'is in ERROR state'),
    ('PAUSED', 'Nova cold-migrates only ACTIVE or SHUTOFF servers'),
    ('REBOOT', "is REBOOT with task"),
])
def test_servers_nova_cannot_move(run_module, lab, status, expected):
    lab.compute.add_server(status=status)
    result = move(run_module)
    assert result['failed']
    assert expected in result['msg']
    assert lab.moves() == []


def test_microversion_2_56_is_needed_for_a_target(run_module, lab):
    lab.compute.add_server(status='ACTIVE')
    lab.compute.base.max_microversion = (2, 55)
    result = move(run_module)
    assert result['failed']
    assert 'needs microversion 2.56' in result['msg']


def test_auto_confirmed_by_nova_is_accepted(run_module, lab, fakes):
    lab.compute.add_server(status='ACTIVE')
    lab.compute.next_cold_script = lambda target, body: [
        fakes.step('migrating', task_state='resize_migrating'),
        fakes.step('confirmed', status='ACTIVE', task_state=None, host='compute2')]
    result = move(run_module)
    assert result['changed'] is True
    assert result['confirmed'] is True
    assert lab.moves() == ['compute.migrate_server']


def test_no_wait_returns_after_the_request(run_module, lab):
    lab.compute.add_server(status='ACTIVE')
    result = move(run_module, wait=False)
    assert result['changed'] is True
    assert result['actions'] == ['migrate']
    assert result['confirmed'] is False
    assert lab.moves() == ['compute.migrate_server']


@pytest.mark.parametrize('status, settled', [('ACTIVE', 'ACTIVE'), ('SHUTOFF', 'DOWN')])
def test_a_running_servers_ports_are_settled_a_stopped_ones_only_listed(run_module, lab, status, settled):
    server = lab.compute.add_server(status=status)
    port = lab.network.add_port(device_id=server.id, binding_host_id='compute2', status='DOWN', is_admin_state_up=True)
    result = move(run_module)
    # A stopped guest's port is DOWN with nothing wrong: it is left as it is.
    assert [(p['id'], p['status']) for p in result['ports']] == [(port.id, settled)]
    assert result['repaired_ports'] == ([port.id] if status == 'ACTIVE' else [])


def test_method_takes_only_api(run_module, lab):
    lab.compute.add_server(status='ACTIVE')
    result = move(run_module, method='manual')
    assert result['failed']
    assert 'method' in result['msg'] and 'api' in result['msg']
    assert lab.moves() == []


@pytest.mark.parametrize('option, value', [('manual_step', 'plan'), ('source_host', 'compute1'),
                                           ('allow_stop', True)])
def test_the_manual_options_are_gone(run_module, lab, option, value):
    lab.compute.add_server(status='ACTIVE')
    result = move(run_module, **{option: value})
    assert result['failed']
    assert 'Unsupported parameters' in result['msg'] and option in result['msg']
    assert lab.moves() == []
