# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""migration_plan against the fake cloud: what it reads, how often, and that it changes nothing."""

import pytest

from openstack import exceptions as sdk_exceptions
from openstack.compute.v2.server_group import ServerGroup
from openstack.placement.v1.resource_provider_allocation import ResourceProviderAllocation

from ansible_collections.novaops.migration.plugins.modules.migration_plan import MigrationPlanModule, truthy

TINY = dict(VCPU=1, MEMORY_MB=512, DISK_GB=5)


@pytest.fixture
def cloud3(lab, fakes):
    """The lab with a third compute, server groups, and Placement's allocations per provider."""
    lab.compute.service_list.append(fakes.compute_service('compute3'))
    lab.compute.add_hypervisor('compute3', '10.99.0.13')
    lab.placement.add_provider('compute3', dict(VCPU=fakes.inventory(2, ratio=4.0),
                                                MEMORY_MB=fakes.inventory(2048, reserved=512),
                                                DISK_GB=fakes.inventory(20)))
    # A nested provider (a vGPU's) is not a compute host.
    child = lab.placement.add_provider('compute1_pci_0000_81_00_0', dict(VGPU=fakes.inventory(4)))
    lab.placement.providers[child]['parent_provider_uuid'] = provider_id(lab, 'compute1')
    lab.allocations = dict((provider, {}) for provider in lab.placement.providers)
    lab.group_bodies = []

    def resource_provider_allocations(resource_provider, **query):
        lab.calls.append(('placement.resource_provider_allocations', (resource_provider,), query))
        return [ResourceProviderAllocation(consumer_id=consumer, resources=resources, resource_provider_id=resource_provider)
                for consumer, resources in lab.allocations[resource_provider].items()]

    def server_groups(**query):
        lab.calls.append(('compute.server_groups', (), query))
        return [ServerGroup(**body) for body in lab.group_bodies]

    lab.placement.resource_provider_allocations = resource_provider_allocations
    lab.compute.server_groups = server_groups
    return lab


def provider_id(cloud, name):
    return [key for key, body in cloud.placement.providers.items() if body['name'] == name][0]


def add_server(cloud, name, host='compute1', resources=None, **body):
    server = cloud.compute.add_server(name=name, **dict({'OS-EXT-SRV-ATTR:host': host,
                                                         'OS-EXT-SRV-ATTR:hypervisor_hostname': host}, **body))
    cloud.allocations[provider_id(cloud, host)][server.id] = dict(resources or TINY)
    return server


def plan(run_module, check_mode=False, **args):
    return run_module(MigrationPlanModule, args, check_mode=check_mode)


def by_name(result):
    return dict((entry['name'], entry) for entry in result['servers'])


def test_a_host_is_planned_with_a_fixed_number_of_requests_and_nothing_changes(run_module, cloud3):
    for name in ('web1', 'web2', 'web3'):
        add_server(cloud3, name)
    add_server(cloud3, 'db1', status='SHUTOFF')
    add_server(cloud3, 'elsewhere', host='compute2')
    result = plan(run_module, host='compute1')
    assert result['changed'] is False
    assert 'failed' not in result
    servers = by_name(result)
    assert sorted(servers) == ['db1', 'web1', 'web2', 'web3']
    assert [servers[name]['verdict'] for name in ('web1', 'web2', 'web3', 'db1')] == ['live', 'live', 'live', 'cold']
    assert result['summary'] == dict(live=3, cold=1, stop=0, skip=0)
    # compute2 has 1024 MB left next to 'elsewhere': two tiny servers fit there, the others go to compute3.
    assert sorted(entry['target'] for entry in result['servers']) == ['compute2', 'compute2', 'compute3', 'compute3']
    assert result['hosts'][0]['host'] == 'compute2'
    assert result['hosts'][0]['free_before'] == dict(VCPU=7.0, MEMORY_MB=1024.0, DISK_GB=15.0)
    assert result['hosts'][0]['free_after'] == dict(VCPU=5.0, MEMORY_MB=0.0, DISK_GB=5.0)
    names = cloud3.call_names()
    assert names.count('compute.servers') == 1
    assert cloud3.call('compute.servers')[1] == dict(name=None, details=True, all_projects=True, compute_host='compute1')
    assert cloud3.call('compute.server_groups')[1] == dict(all_projects=True)
    assert cloud3.call('network.ports')[1] == {'binding:host_id': 'compute1'}
    # One listing each of services, servers, hypervisors, providers, groups and ports; two requests per host.
    assert names.count('placement.resource_provider_inventories') == 3
    assert names.count('placement.resource_provider_allocations') == 3
    assert 'placement.fetch_resource_provider_usages' not in names
    assert result['api_calls'] == 6 + 2 * 3
    assert cloud3.mutations() == []
    assert cloud3.moves() == []


def test_free_room_counts_every_consumer_on_the_target(run_module, cloud3):
    add_server(cloud3, 'web1', resources=dict(VCPU=1, MEMORY_MB=1024, DISK_GB=1))
    cloud3.allocations[provider_id(cloud3, 'compute2')]['someone'] = dict(MEMORY_MB=1000)
    entry = plan(run_module, host='compute1')['servers'][0]
    assert (entry['verdict'], entry['target']) == ('live', 'compute3')
    assert entry['resources'] == dict(VCPU=1, MEMORY_MB=1024, DISK_GB=1)
    assert 'compute2 no room' not in ' '.join(entry['reasons'])


def test_check_mode_gives_the_same_plan(run_module, cloud3):
    add_server(cloud3, 'web1')
    real = plan(run_module, host='compute1')
    checked = plan(run_module, check_mode=True, host='compute1')
    assert checked == real


def test_a_disabled_target_is_not_read_in_placement(run_module, cloud3):
    add_server(cloud3, 'web1')
    cloud3.compute.service_list[1].update(status='disabled', disabled_reason='disk swap')
    result = plan(run_module, host='compute1')
    assert result['servers'][0]['target'] == 'compute3'
    assert result['hosts'][0] == dict(host='compute2', eligible=False,
                                      excluded_because="nova-compute is disabled ('disk swap')", free_before={},
                                      free_after={}, planned=[])
    read = [args[0] for name, args, dummy in cloud3.calls if name == 'placement.resource_provider_inventories']
    assert provider_id(cloud3, 'compute2') not in read
    assert result['api_calls'] == 6 + 2 * 2


def test_ports_groups_and_flavors_come_from_the_listings(run_module, cloud3):
    sriov = add_server(cloud3, 'nfv1')
    cloud3.network.add_port(**{'device_id': sriov.id, 'binding:host_id': 'compute1', 'binding:vnic_type': 'direct'})
    pinned = add_server(cloud3, 'pinned', flavor=dict(original_name='m1.pinned', ram=512, vcpus=1, disk=5,
                                                      extra_specs={'hw:cpu_policy': 'dedicated'}))
    members = [add_server(cloud3, 'w%d' % number) for number in (1, 2, 3)]
    cloud3.group_bodies.append(dict(id='group-1', name='web', policy='anti-affinity', rules={},
                                    members=[member.id for member in members]))
    result = plan(run_module, host='compute1', fallback='cold')
    servers = by_name(result)
    assert servers['nfv1']['verdict'] == 'cold'
    assert 'port-' in servers['nfv1']['reasons'][0] and '(vnic_type direct) binds a device of compute1' in \
        servers['nfv1']['reasons'][0]
    assert servers['pinned']['verdict'] == 'live'
    assert servers['pinned']['warnings'][0].startswith('NUMA-pinned flavor (hw:cpu_policy=dedicated)')
    assert result['problems'][0].startswith("anti-affinity group 'web' has 3 members to move but the eligible "
                                            "targets take only 2")
    assert sorted(servers[name]['verdict'] for name in ('w1', 'w2', 'w3')) == ['live', 'live', 'skip']


def test_servers_by_name_or_id_on_several_hosts(run_module, cloud3):
    web1 = add_server(cloud3, 'web1')
    add_server(cloud3, 'db1', host='compute2')
    add_server(cloud3, 'other')
    result = plan(run_module, servers=['db1', web1.id, 'web1'])
    assert [(entry['name'], entry['source_host'], entry['target']) for entry in result['servers']] == [
        ('db1', 'compute2', 'compute1'), ('web1', 'compute1', 'compute2')]
    assert cloud3.call('compute.servers')[1] == dict(name=None, details=True, all_projects=True)
    assert [kwargs for name, dummy, kwargs in cloud3.calls if name == 'network.ports'] == [
        {'binding:host_id': 'compute1'}, {'binding:host_id': 'compute2'}]


def test_unknown_and_ambiguous_servers_fail(run_module, cloud3):
    add_server(cloud3, 'web1')
    add_server(cloud3, 'web1', host='compute2')
    result = plan(run_module, servers=['nope'])
    assert result['failed']
    assert "server 'nope' not found in cloud 'lab' (all projects)" in result['msg']
    result = plan(run_module, servers=['web1'])
    assert result['failed']
    assert result['msg'].startswith("2 servers are named 'web1' (ids: ")


def test_an_unknown_host_or_target_fails_naming_the_compute_hosts(run_module, cloud3):
    result = plan(run_module, host='compute9')
    assert result['failed']
    assert "no nova-compute service runs on host 'compute9' (compute hosts: compute1, compute2, compute3)" in \
        result['msg']
    add_server(cloud3, 'web1')
    result = plan(run_module, host='compute1', targets=['compute2', 'compute7'])
    assert result['failed']
    assert result['msg'] == ('targets name compute7, which runs no nova-compute (compute hosts: compute1, compute2, '
                             'compute3)')


def test_host_and_servers_exclude_each_other(run_module, cloud3):
    assert 'mutually exclusive' in plan(run_module, host='compute1', servers=['web1'])['msg']
    assert 'one of the following is required' in plan(run_module)['msg']


def test_a_compute_api_without_the_embedded_flavor_is_refused(run_module, cloud3):
    cloud3.compute.base.max_microversion = (2, 46)
    result = plan(run_module, host='compute1')
    assert result['failed']
    assert result['msg'] == ("Reading each server's flavor and extra specs from the server listing needs microversion "
                             "2.47 of the compute API; cloud 'lab' supports up to 2.46.")


def test_server_state_lock_and_config_drive_are_read(run_module, cloud3):
    add_server(cloud3, 'broken', status='ERROR', fault={'message': 'boom', 'code': 500})
    add_server(cloud3, 'drive', config_drive='True', locked=True, locked_reason='ask alice')
    add_server(cloud3, 'nodrive', config_drive='')
    result = plan(run_module, host='compute1')
    servers = by_name(result)
    assert servers['broken']['verdict'] == 'skip'
    assert 'it is in ERROR (boom (code 500))' in servers['broken']['reasons'][0]
    assert servers['drive']['verdict'] == 'skip'
    assert servers['drive']['locked'] is True
    assert 'NoLiveMigrationForConfigDriveInLibVirt' in servers['drive']['reasons'][0]
    assert servers['nodrive']['verdict'] == 'live'


def test_host_cpu_from_nova_conf_info_is_honoured(run_module, cloud3):
    add_server(cloud3, 'web1')
    result = plan(run_module, host='compute1', host_cpu=dict(
        compute1=dict(cpu_mode='custom', cpu_models=['Nehalem']),
        compute2=dict(cpu_mode='custom', cpu_models=['Skylake-Server']),
        compute3=dict(cpu_mode='custom', cpu_models=['Nehalem'], files=['/etc/nova/nova.conf'])))
    assert result['servers'][0]['target'] == 'compute3'


def test_cloud_errors_are_translated(run_module, cloud3):
    def refuse(**query):
        raise sdk_exceptions.ForbiddenException(message='Policy does not allow os_compute_api:os-server-groups:index')
    cloud3.compute.server_groups = refuse
    add_server(cloud3, 'web1')
    result = plan(run_module, host='compute1')
    assert result['failed']
    assert 'refused the request (HTTP 403, policy)' in result['msg']


def test_nova_config_drive_values():
    assert truthy('True') and truthy(True) and not truthy('') and not truthy(None)


# -- moves and tasks already in progress -------------------------------------------

def finish_after(cloud, server, listings, **body):
    """The server's task ends (its body updated) once the servers were listed ``listings`` times."""
    listed = []
    servers = cloud.compute.servers

    def counting(**query):
        listed.append(query)
        if len(listed) > listings:
            cloud.compute.bodies[server.id].update(body)
        return servers(**query)

    cloud.compute.servers = counting
    return listed


def test_a_move_in_flight_is_waited_for_then_planned_as_it_ended(run_module, cloud3):
    # A live migration a killed drain started: Nova carries it on, and it lands on compute2.
    moving = add_server(cloud3, 'web1', status='MIGRATING', **{'OS-EXT-STS:task_state': 'migrating'})
    add_server(cloud3, 'web2')
    landed = {'OS-EXT-STS:task_state': None, 'OS-EXT-SRV-ATTR:host': 'compute2'}
    listed = finish_after(cloud3, moving, 2, status='ACTIVE', **landed)
    result = plan(run_module, host='compute1', settle_timeout=600)
    assert 'failed' not in result, result
    assert sorted(by_name(result)) == ['web2']
    assert result['settled']['servers'] == [dict(id=moving.id, name='web1', status='MIGRATING',
                                                 task_state='migrating')]
    assert result['settled']['busy'] == []
    assert result['settled']['seconds'] == 10.0
    assert len(listed) == 3
    assert cloud3.mutations() == []


def test_a_task_that_does_not_end_in_time_is_planned_busy(run_module, cloud3):
    add_server(cloud3, 'web1', status='MIGRATING', **{'OS-EXT-STS:task_state': 'migrating'})
    result = plan(run_module, host='compute1', settle_timeout=12)
    entry = by_name(result)['web1']
    assert (entry['verdict'], entry['blocked_by']) == ('skip', 'state')
    assert result['settled']['busy'] == ['web1']
    assert result['settled']['seconds'] == 12.0


def test_without_settle_timeout_nothing_is_waited_for(run_module, cloud3):
    add_server(cloud3, 'web1', status='MIGRATING', **{'OS-EXT-STS:task_state': 'migrating'})
    result = plan(run_module, host='compute1')
    assert by_name(result)['web1']['verdict'] == 'skip'
    assert result['settled'] == dict(seconds=0.0, servers=[], busy=['web1'])
    assert cloud3.call_names().count('compute.servers') == 1


def test_a_wave_plans_its_hosts_servers_together_and_none_of_them_is_a_target(run_module, cloud3):
    add_server(cloud3, 'web1', resources=dict(VCPU=1, MEMORY_MB=768, DISK_GB=1))
    add_server(cloud3, 'db1', host='compute2', resources=dict(VCPU=1, MEMORY_MB=768, DISK_GB=1))
    result = plan(run_module, host='compute1', wave=['compute2'])
    assert [(entry['name'], entry['source_host'], entry['verdict'], entry['target'])
            for entry in result['servers']] == [('web1', 'compute1', 'live', 'compute3'),
                                                ('db1', 'compute2', 'live', 'compute3')]
    assert [kwargs['compute_host'] for name, dummy, kwargs in cloud3.calls if name == 'compute.servers'] == [
        'compute1', 'compute2']
    assert [(row['host'], row['excluded_because']) for row in result['hosts']] == [
        ('compute2', 'it is emptied at the same time (the same maintenance wave)'), ('compute3', None)]
    assert cloud3.mutations() == []


def test_a_wave_packs_the_whole_wave_into_the_room_left(run_module, cloud3):
    # compute3 offers 1536 MB: each host's server fits there alone, the two together do not.
    add_server(cloud3, 'web1', resources=dict(VCPU=1, MEMORY_MB=1024, DISK_GB=1))
    add_server(cloud3, 'db1', host='compute2', resources=dict(VCPU=1, MEMORY_MB=1024, DISK_GB=1))
    alone = by_name(plan(run_module, host='compute1'))
    assert alone['web1']['verdict'] == 'live'
    together = by_name(plan(run_module, host='compute1', wave=['compute2']))
    assert sorted(entry['verdict'] for entry in together.values()) == ['live', 'skip']


def test_a_wave_needs_a_host_and_names_only_compute_hosts(run_module, cloud3):
    assert 'missing parameter(s) required by \'wave\': host' in plan(run_module, servers=['web1'],
                                                                     wave=['compute2'])['msg']
    result = plan(run_module, host='compute1', wave=['compute9'])
    assert result['failed']
    assert "no nova-compute service runs on host 'compute9'" in result['msg']
