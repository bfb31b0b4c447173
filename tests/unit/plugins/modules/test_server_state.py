# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest

from ansible_collections.novaops.migration.plugins.modules.server_state import ServerStateModule


@pytest.fixture
def in_error(cloud):
    """myinstance recorded as ERROR on compute1; reset_server_state changes the record like Nova."""
    server = cloud.compute.add_server(name='myinstance', status='ERROR', **{'OS-EXT-SRV-ATTR:host': 'compute1'})

    def reset_server_state(server, state):
        cloud.compute._record('reset_server_state', getattr(server, 'id', server), state)
        body = cloud.compute.bodies[getattr(server, 'id', server)]
        body.update({'status': state.upper(), 'OS-EXT-STS:task_state': None})

    cloud.compute.reset_server_state = reset_server_state
    return server


def resets(cloud):
    return [name for name in cloud.call_names() if name == 'compute.reset_server_state']


def test_resets_an_errored_server_to_active(run_module, cloud, in_error):
    result = run_module(ServerStateModule, dict(server='myinstance'), diff=True)
    assert result['changed'] is True
    assert result['previous_status'] == 'ERROR'
    assert result['server']['status'] == 'ACTIVE'
    assert cloud.call('compute.reset_server_state')[0] == (in_error.id, 'active')
    assert result['diff'] == dict(before=dict(result['server'], status='ERROR'), after=result['server'])


def test_check_mode_predicts_and_changes_nothing(run_module, cloud, in_error):
    result = run_module(ServerStateModule, dict(server='myinstance'), check_mode=True, diff=True)
    assert result['changed'] is True
    assert resets(cloud) == []
    assert cloud.compute.bodies[in_error.id]['status'] == 'ERROR'
    assert result['diff']['after']['status'] == 'ACTIVE'


def test_second_run_changes_nothing(run_module, cloud, in_error):
    run_module(ServerStateModule, dict(server='myinstance'))
    cloud.calls.clear()
    again = run_module(ServerStateModule, dict(server='myinstance'))
    assert again['changed'] is False
    assert resets(cloud) == []


def test_unknown_server_is_a_clear_error(run_module, cloud, in_error):
    result = run_module(ServerStateModule, dict(server='nosuchserver'))
    assert result['failed'] is True
    assert 'nosuchserver' in result['msg']
    assert resets(cloud) == []


def test_the_ports_of_a_running_guest_are_made_active_again(run_module, cloud, in_error):
    # The aborted live migration's case: the guest runs on, Neutron left its port DOWN.
    cloud.compute.bodies[in_error.id]['OS-EXT-STS:power_state'] = 1
    port = cloud.network.add_port(device_id=in_error.id, binding_host_id='compute1', status='DOWN',
                                  is_admin_state_up=True)
    result = run_module(ServerStateModule, dict(server='myinstance', ports_timeout=4))
    assert result['repaired_ports'] == [port.id]
    assert [(p['id'], p['status']) for p in result['ports']] == [(port.id, 'ACTIVE')]
    assert any('ACTIVE now' in warning for warning in result['warnings'])


def test_recording_error_leaves_the_ports_alone(run_module, cloud, in_error):
    cloud.compute.bodies[in_error.id].update(status='ACTIVE')
    cloud.network.add_port(device_id=in_error.id, binding_host_id='compute1', status='DOWN', is_admin_state_up=True)
    result = run_module(ServerStateModule, dict(server='myinstance', state='error'))
    assert result['changed'] is True
    assert 'ports' not in result
    assert [name for name in cloud.call_names() if name.startswith('network.')] == []
