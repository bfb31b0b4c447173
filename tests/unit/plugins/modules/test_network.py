# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from ansible_collections.novaops.migration.plugins.modules.network import NetworkModule


def test_check_mode_predicts_creation(run_module, cloud):
    result = run_module(NetworkModule, dict(name='mynetwork', external=True), check_mode=True, diff=True)
    assert result['changed'] is True
    assert result['actions'] == ['create']
    assert result['network']['external'] is True
    assert result['diff']['before'] == {}
    assert cloud.mutations() == []


def test_create_sends_only_what_is_set_then_is_idempotent(run_module, cloud):
    first = run_module(NetworkModule, dict(name='mynetwork', external=True))
    assert first['changed'] is True
    assert cloud.call('network.create_network')[1] == dict(name='mynetwork', is_router_external=True)

    cloud.calls.clear()
    second = run_module(NetworkModule, dict(name='mynetwork', external=True))
    assert second['changed'] is False
    assert cloud.mutations() == []


def test_lookup_is_limited_to_the_current_project(run_module, cloud):
    cloud.network.add_network(name='mynetwork', project_id='someone-else')
    result = run_module(NetworkModule, dict(name='mynetwork'))
    assert result['actions'] == ['create']
    assert cloud.call('network.networks')[1] == dict(name='mynetwork', project_id='project-0001')


def test_mutable_attributes_are_updated(run_module, cloud):
    existing = cloud.network.add_network(name='mynetwork', is_router_external=False, is_shared=False)
    predicted = run_module(NetworkModule, dict(name='mynetwork', external=True, shared=False), check_mode=True,
                           diff=True)
    assert predicted['actions'] == ['update']
    assert predicted['diff']['before']['external'] is False
    assert predicted['diff']['after']['external'] is True
    assert cloud.mutations() == []

    result = run_module(NetworkModule, dict(name='mynetwork', external=True, shared=False))
    assert cloud.call('network.update_network') == ((existing.id,), {'is_router_external': True})
    assert result['network']['external'] is True


def test_unset_options_are_not_compared(run_module, cloud):
    cloud.network.add_network(name='mynetwork', is_router_external=True, is_shared=True)
    assert run_module(NetworkModule, dict(name='mynetwork'))['changed'] is False


def test_provider_attributes_cannot_change(run_module, cloud):
    existing = cloud.network.add_network(name='mynetwork', provider_network_type='geneve',
                                         provider_segmentation_id=7)
    result = run_module(NetworkModule, dict(name='mynetwork', provider_network_type='vlan',
                                            provider_segmentation_id=7))
    assert result['failed']
    assert result['msg'].startswith("network 'mynetwork' (%s) exists with different provider_network_type "
                                    "(cloud geneve, requested vlan); provider attributes cannot be changed."
                                    % existing.id)


def test_ambiguous_name(run_module, cloud):
    first = cloud.network.add_network(name='mynetwork')
    second = cloud.network.add_network(name='mynetwork')
    result = run_module(NetworkModule, dict(name='mynetwork'))
    assert '(ids: %s, %s)' % (first.id, second.id) in result['msg']


def test_absent(run_module, cloud):
    existing = cloud.network.add_network(name='mynetwork')
    assert run_module(NetworkModule, dict(name='mynetwork', state='absent'), check_mode=True)['changed'] is True
    assert cloud.mutations() == []
    assert run_module(NetworkModule, dict(name='mynetwork', state='absent'))['changed'] is True
    assert cloud.call('network.delete_network')[0] == (existing.id,)
    assert run_module(NetworkModule, dict(name='mynetwork', state='absent'))['changed'] is False
