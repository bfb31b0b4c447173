# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import types

import pytest
from openstack import exceptions as sdk_exceptions

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


# -- method: manual ---------------------------------------------------------------------

@pytest.mark.parametrize('status, settled', [('ACTIVE', 'ACTIVE'), ('SHUTOFF', 'DOWN')])
def test_a_running_servers_ports_are_settled_a_stopped_ones_only_listed(run_module, lab, status, settled):
    server = lab.compute.add_server(status=status)
    port = lab.network.add_port(device_id=server.id, binding_host_id='compute2', status='DOWN', is_admin_state_up=True)
    result = move(run_module)
    # A stopped guest's port is DOWN with nothing wrong: it is left as it is.
    assert [(p['id'], p['status']) for p in result['ports']] == [(port.id, settled)]
    assert result['repaired_ports'] == ([port.id] if status == 'ACTIVE' else [])


@pytest.fixture
def manual_lab(lab, fakes):
    """The lab fake plus what the manual steps call: allocations, port updates, a hard reboot."""
    providers = dict((body['name'], provider_id) for provider_id, body in lab.placement.providers.items())
    lab.allocations = {}
    lab.conflicts = [0]

    def get_allocation(consumer):
        lab.calls.append(('placement.get_allocation', (consumer,), {}))
        body = lab.allocations[consumer]
        return types.SimpleNamespace(allocations=dict(body['allocations']), project_id='project-0001',
                                     user_id='user-0001', consumer_generation=body['generation'],
                                     consumer_type='INSTANCE')

    def update_allocation(consumer, **attrs):
        lab.calls.append(('placement.update_allocation', (consumer,), attrs))
        body = lab.allocations[consumer]
        if lab.conflicts[0]:
            lab.conflicts[0] -= 1
            body['generation'] += 1
            raise sdk_exceptions.ConflictException(message='consumer generation conflict')
        assert attrs['consumer_generation'] == body['generation']
        body.update(allocations=attrs['allocations'], generation=body['generation'] + 1)

    def update_port(port, **attrs):
        lab.calls.append(('network.update_port', (port.id,), attrs))
        lab.network.port_bodies[port.id]['binding_host_id'] = attrs['binding_host_id']

    def reboot_server(server, reboot_type):
        lab.calls.append(('compute.reboot_server', (server.id, reboot_type), {}))
        lab.compute.pending_statuses[server.id] = ['HARD_REBOOT', 'ACTIVE']

    lab.placement.get_allocation = get_allocation
    lab.placement.update_allocation = update_allocation
    lab.placement.get_endpoint_data = lambda: types.SimpleNamespace(min_microversion=(1, 0),
                                                                    max_microversion=(1, 39))
    lab.placement.default_microversion = None
    lab.placement.service_type = 'placement'
    lab.network.update_port = update_port
    lab.compute.reboot_server = reboot_server

    def server_on(host, status='SHUTOFF', **body):
        server = lab.compute.add_server(status=status, **dict({'OS-EXT-SRV-ATTR:host': host}, **body))
        lab.allocations[server.id] = dict(allocations={providers[host]: dict(resources=dict(VCPU=1, MEMORY_MB=128))},
                                          generation=3)
        lab.network.add_port(device_id=server.id, binding_host_id=host, network_id='net-0001')
        return server

    lab.server_on = server_on
    lab.providers = providers
    return lab


def manual(run_module, step=None, check_mode=False, diff=False, **args):
    values = dict(method='manual', **({'manual_step': step} if step else {}))
    values.update(args)
    return move(run_module, check_mode=check_mode, diff=diff, **values)


def test_manual_without_a_step_points_at_the_playbook(run_module, manual_lab):
    manual_lab.server_on('compute1')
    result = manual(run_module)
    assert result['failed']
    assert 'ansible-playbook novaops.migration.migrate -e instance=myinstance -e target=compute2 -e mode=cold ' \
           '-e cold_method=manual' in result['msg']
    assert manual_lab.moves() == []


def test_manual_plan_returns_the_facts_and_changes_nothing(run_module, manual_lab):
    server = manual_lab.server_on('compute1')
    result = manual(run_module, 'plan')
    assert result['changed'] is False
    assert (result['source_host'], result['target_host'], result['nova_host']) == ('compute1', 'compute2', 'compute1')
    assert (result['source_node'], result['target_node']) == ('compute1', 'compute2')
    assert result['already_there'] is False and result['moved_in_nova'] is False
    assert result['source_service_up'] is True
    assert result['instance_dir'] == '/var/lib/nova/instances/%s' % server.id
    assert result['ports'][0]['binding_host'] == 'compute1'
    assert manual_lab.moves() == []


@pytest.mark.parametrize('body, message', [
    (dict(status='ACTIVE'), "is ACTIVE: the manual method shuts it down for the copy (the guest reboots). Allow "
                            "it with allow_stop=true"),
    (dict(image=''), 'boots from a volume: its disk lives in Cinder and there are no local files to copy'),
    (dict(status='ERROR'), 'is in ERROR state'),
    (dict(status='SHUTOFF', **{'OS-EXT-STS:task_state': 'powering-on'}), "with task 'powering-on' in progress"),
])
def test_manual_plan_refuses_what_cannot_be_moved_by_hand(run_module, manual_lab, body, message):
    manual_lab.server_on('compute1', **body)
    result = manual(run_module, 'plan')
    assert result['failed']
    assert message in result['msg']
    assert manual_lab.moves() == []


def test_manual_plan_unknown_target(run_module, manual_lab):
    manual_lab.server_on('compute1')
    result = manual(run_module, 'plan', target_host='compute9')
    assert result['failed']
    assert "no nova-compute service runs on host 'compute9'" in result['msg']


def test_manual_plan_target_is_the_source(run_module, manual_lab):
    manual_lab.server_on('compute2')
    result = manual(run_module, 'plan')
    assert result['changed'] is False
    assert result['already_there'] is True
    assert manual_lab.moves() == []


def test_manual_plan_of_a_resumed_move(run_module, manual_lab):
    manual_lab.server_on('compute2', status='ACTIVE')
    result = manual(run_module, 'plan', source_host='compute1')
    assert result['changed'] is False
    assert result['moved_in_nova'] is True and result['source_host'] == 'compute1'


def test_manual_stop(run_module, manual_lab):
    server = manual_lab.server_on('compute1', status='ACTIVE')
    refused = manual(run_module, 'stop')
    assert refused['failed'] and 'allow_stop is false; nothing was changed' in refused['msg']
    predicted = manual(run_module, 'stop', check_mode=True, allow_stop=True)
    assert predicted['changed'] is True and predicted['actions'] == ['stop']
    assert manual_lab.mutations() == []
    stopped = manual(run_module, 'stop', allow_stop=True)
    assert stopped['changed'] is True
    assert manual_lab.mutations() == ['compute.stop_server']
    assert body_of(manual_lab, server)['status'] == 'SHUTOFF'
    manual_lab.calls.clear()
    assert manual(run_module, 'stop', allow_stop=True)['changed'] is False
    assert manual_lab.mutations() == []


def test_manual_records_wait_for_the_database_row(run_module, manual_lab):
    manual_lab.server_on('compute1')
    result = manual(run_module, 'records')
    assert result['failed']
    assert 'move the database row (novaops.migration.nova_db_instance) before the records step' in result['msg']
    assert manual_lab.moves() == []


def test_manual_records_move_allocations_and_ports_then_roll_back(run_module, manual_lab):
    server = manual_lab.server_on('compute1')
    body_of(manual_lab, server).update({'OS-EXT-SRV-ATTR:host': 'compute2',
                                        'OS-EXT-SRV-ATTR:hypervisor_hostname': 'compute2'})
    predicted = manual(run_module, 'records', check_mode=True, source_host='compute1')
    assert predicted['changed'] is True
    assert manual_lab.moves() == []

    result = manual(run_module, 'records', source_host='compute1')
    assert result['changed'] is True
    assert result['actions'][0] == 'allocations' and result['actions'][1].startswith('port ')
    update = manual_lab.call('placement.update_allocation')[1]
    assert update['consumer_generation'] == 3 and update['consumer_type'] == 'INSTANCE'
    assert list(update['allocations']) == [manual_lab.providers['compute2']]
    assert [port['binding_host'] for port in result['ports']] == ['compute2']

    manual_lab.calls.clear()
    again = manual(run_module, 'records', source_host='compute1')
    assert again['changed'] is False
    assert manual_lab.moves() == []

    body_of(manual_lab, server).update({'OS-EXT-SRV-ATTR:host': 'compute1'})
    back = manual(run_module, 'rollback', source_host='compute1')
    assert back['changed'] is True
    assert list(manual_lab.allocations[server.id]['allocations']) == [manual_lab.providers['compute1']]
    assert [port['binding_host'] for port in back['ports']] == ['compute1']


def test_manual_records_retry_a_consumer_generation_conflict(run_module, manual_lab):
    server = manual_lab.server_on('compute1')
    body_of(manual_lab, server)['OS-EXT-SRV-ATTR:host'] = 'compute2'
    manual_lab.conflicts[0] = 1
    result = manual(run_module, 'records', source_host='compute1')
    assert result['changed'] is True
    assert manual_lab.call_names().count('placement.update_allocation') == 2
    assert list(manual_lab.allocations[server.id]['allocations']) == [manual_lab.providers['compute2']]


def test_manual_records_refuse_allocations_on_both_hosts(run_module, manual_lab):
    server = manual_lab.server_on('compute1')
    body_of(manual_lab, server)['OS-EXT-SRV-ATTR:host'] = 'compute2'
    manual_lab.allocations[server.id]['allocations'][manual_lab.providers['compute2']] = dict(resources=dict(VCPU=1))
    result = manual(run_module, 'records', source_host='compute1')
    assert result['failed'] and 'holds allocations on both compute1 and compute2' in result['msg']
    assert manual_lab.moves() == []


@pytest.mark.parametrize('status, action, call', [('SHUTOFF', 'start', 'compute.start_server'),
                                                  ('ACTIVE', 'reboot HARD', 'compute.reboot_server')])
def test_manual_start_rebuilds_the_domain_on_the_target(run_module, manual_lab, status, action, call):
    manual_lab.server_on('compute2', status=status)
    result = manual(run_module, 'start', source_host='compute1')
    assert result['changed'] is True
    assert result['actions'] == [action]
    assert result['server']['status'] == 'ACTIVE'
    assert [name for name in manual_lab.call_names() if name in ('compute.start_server', 'compute.reboot_server')] \
        == [call]


def test_manual_start_refuses_another_host(run_module, manual_lab):
    manual_lab.server_on('compute1')
    result = manual(run_module, 'start')
    assert result['failed'] and "is on compute1 in Nova's database, not on compute2" in result['msg']
    assert manual_lab.moves() == []
