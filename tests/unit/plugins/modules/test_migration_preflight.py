# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest

from ansible_collections.novaops.migration.plugins.modules.migration_preflight import (
    MigrationPreflightModule, flavor_resources, free_amount,
)


def preflight(run_module, **args):
    values = dict(server='myinstance', target_host='compute2')
    values.update(args)
    return run_module(MigrationPreflightModule, values)


def failed_checks(result):
    return [check['name'] for check in result['checks'] if not check['ok']]


def test_flavor_resources_count_swap_and_ephemeral_and_skip_a_volume_root(lab):
    server = lab.compute.add_server(flavor=dict(original_name='big', vcpus=2, ram=1024, disk=10, ephemeral=5,
                                                swap=1536))
    assert flavor_resources(server) == dict(VCPU=2, MEMORY_MB=1024, DISK_GB=17)
    from_volume = lab.compute.add_server(name='bfv', image='', flavor=dict(original_name='big', vcpus=2, ram=1024,
                                                                           disk=10, ephemeral=0, swap=0))
    assert flavor_resources(from_volume)['DISK_GB'] == 0


def test_free_amount_is_placement_capacity(fakes):
    class Inventory(object):
        total, reserved, allocation_ratio = 2048, 512, 1.5
    assert free_amount(Inventory, 1000) == (2048 - 512) * 1.5 - 1000


def test_all_good(run_module, lab):
    lab.compute.add_server(status='ACTIVE')
    result = preflight(run_module)
    assert result['changed'] is False
    assert result['ready'] is True
    assert result['problems'] == []
    assert result['mode'] == 'live'
    assert result['source_host'] == 'compute1'
    assert result['target']['node'] == 'compute2'
    assert result['target']['host_ip'] == '10.99.0.12'
    assert result['target']['free'] == dict(VCPU=8.0, MEMORY_MB=1536.0, DISK_GB=20.0)
    assert [check['name'] for check in result['checks']] == [
        'server exists', 'server is healthy', 'target is a compute host', 'nova-compute on the target is up',
        'nova-compute on the target is enabled', 'nova-compute on the source is up',
        'target differs from the source', 'live migration suits the server', 'target has room']
    assert lab.moves() == []


def test_every_problem_is_reported_at_once(run_module, lab, fakes):
    lab.compute.add_server(status='SHUTOFF', flavor=dict(original_name='huge', vcpus=1, ram=4096, disk=5))
    lab.compute.service_list[1].update(state='down', status='disabled', disabled_reason='maintenance')
    result = preflight(run_module, mode='live', host_checks=[
        dict(name='libvirt on compute2 reachable from compute1', ok=False,
             detail="unable to connect to server at '10.99.0.12:16509': Connection refused"),
        dict(name='nova ssh from compute1 to compute2', ok=True),
    ])
    assert result['failed']
    assert failed_checks(result) == [
        'nova-compute on the target is up', 'nova-compute on the target is enabled',
        'live migration suits the server', 'target has room', 'libvirt on compute2 reachable from compute1']
    message = result['msg']
    assert message.startswith("live migration of server 'myinstance' to compute2 would fail, 5 problems: (1) ")
    assert 'nova-compute on the target compute2 is down (last report 2026-11-23T22:40:01.000000)' in message
    assert "is disabled ('maintenance')" in message
    assert 'openstack compute service set --enable compute2 nova-compute' in message
    assert 'server is SHUTOFF; live migration needs a running guest, use cold migration (mode=cold)' in message
    assert 'MEMORY_MB 4096 needed, 1536.0 free ((2048 total - 512 reserved) x 1.0 allocation ratio - 0 used)' in message
    assert "(5) libvirt on compute2 reachable from compute1: unable to connect" in message
    assert lab.moves() == []


def test_unknown_server_and_unknown_target_together(run_module, lab):
    result = preflight(run_module, server='nope', target_host='compute9')
    assert result['failed']
    assert failed_checks(result) == ['server exists', 'target is a compute host']
    assert "server 'nope' not found" in result['msg']
    assert "no nova-compute service runs on host 'compute9' (compute hosts: compute1, compute2)" in result['msg']
    assert result['mode'] is None


def test_same_host_and_error_state(run_module, lab):
    lab.compute.add_server(status='ERROR', fault={'message': 'boom'})
    result = preflight(run_module, target_host='compute1')
    assert failed_checks(result) == ['server is healthy', 'target differs from the source']
    assert 'server is in ERROR state (boom)' in result['msg']
    assert 'the server already runs on compute1' in result['msg']


def test_auto_mode_is_cold_for_a_stopped_server_and_usage_counts(run_module, lab):
    lab.compute.add_server(status='SHUTOFF')
    provider = [key for key, body in lab.placement.providers.items() if body['name'] == 'compute2'][0]
    lab.placement.usages[provider] = dict(VCPU=7, MEMORY_MB=1000, DISK_GB=15)
    result = preflight(run_module, fail_on_problems=False)
    assert result['mode'] == 'cold'
    assert result['ready'] is True
    assert result['target']['free'] == dict(VCPU=1.0, MEMORY_MB=536.0, DISK_GB=5.0)


def test_no_room_with_fail_on_problems_false_succeeds_and_says_why(run_module, lab):
    lab.compute.add_server(status='ACTIVE')
    provider = [key for key, body in lab.placement.providers.items() if body['name'] == 'compute2'][0]
    lab.placement.usages[provider] = dict(VCPU=8, MEMORY_MB=1500, DISK_GB=0)
    result = preflight(run_module, fail_on_problems=False)
    assert 'failed' not in result
    assert result['ready'] is False
    assert failed_checks(result) == ['target has room']
    assert 'VCPU 1 needed, 0.0 free' in result['problems'][0]
    assert 'MEMORY_MB 512 needed, 36.0 free' in result['problems'][0]


def test_source_compute_down_is_a_problem(run_module, lab):
    lab.compute.add_server(status='ACTIVE')
    lab.compute.service_list[0].update(state='down')
    result = preflight(run_module, fail_on_problems=False)
    assert failed_checks(result) == ['nova-compute on the source is up']


@pytest.mark.parametrize('status, task_state, expected', [
    ('MIGRATING', 'migrating', "server is MIGRATING with task 'migrating' in progress"),
    ('VERIFY_RESIZE', None, 'confirm or revert it first'),
])
def test_busy_servers(run_module, lab, status, task_state, expected):
    lab.compute.add_server(status=status, **{'OS-EXT-STS:task_state': task_state})
    result = preflight(run_module, fail_on_problems=False, mode='cold')
    assert failed_checks(result) == ['server is idle']
    assert expected in result['problems'][0]


def test_a_cold_move_left_awaiting_confirmation_on_the_target_is_resumed(run_module, lab):
    """A cold move whose module timed out rests in VERIFY_RESIZE on the target: running the same move again must
    confirm it, not refuse it (it used to say 'confirm or revert it first')."""
    server = lab.compute.add_server(status='VERIFY_RESIZE', **{'OS-EXT-SRV-ATTR:host': 'compute2'})
    lab.compute.add_migration(server.id, migration_type='migration', status='finished', source_compute='compute1',
                              dest_compute='compute2')
    result = preflight(run_module, fail_on_problems=False)
    assert result['problems'] == []
    assert result['mode'] == 'cold'
    assert result['awaiting_confirmation'] is True
    assert lab.moves() == []


@pytest.mark.parametrize('migration_type, host, dest', [
    ('resize', 'compute2', 'compute2'),        # a resize is the operator's to confirm
    ('migration', 'compute3', 'compute3'),     # a cold move to another host
])
def test_verify_resize_of_another_move_is_still_refused(run_module, lab, migration_type, host, dest):
    server = lab.compute.add_server(status='VERIFY_RESIZE', **{'OS-EXT-SRV-ATTR:host': host})
    lab.compute.add_migration(server.id, migration_type=migration_type, status='finished', source_compute='compute1',
                              dest_compute=dest)
    result = preflight(run_module, fail_on_problems=False, mode='cold')
    assert 'server is idle' in failed_checks(result)
    assert result['awaiting_confirmation'] is False
