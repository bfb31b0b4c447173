# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest

from ansible_collections.novaops.migration.plugins.modules.server_info import ServerInfoModule


@pytest.fixture
def servers(cloud):
    def add(name, host, status='ACTIVE'):
        body = {
            'name': name,
            'OS-EXT-SRV-ATTR:host': host,
            'OS-EXT-SRV-ATTR:hypervisor_hostname': '%s.lab' % host,
            'OS-EXT-SRV-ATTR:instance_name': 'instance-%s' % name,
            'OS-EXT-STS:vm_state': status.lower(),
            'OS-EXT-STS:task_state': None,
            'image': {'id': 'image-0001'},
            'flavor': {'original_name': 'myflavor', 'ram': 512, 'vcpus': 1, 'disk': 5},
        }
        return cloud.compute.add_server(status=status, **body)
    web = add('web', 'compute1')
    db = add('db', 'compute2', status='SHUTOFF')
    cloud.network.add_port(device_id=web.id, network_id='network-9', mac_address='fa:16:3e:00:00:01',
                           status='ACTIVE', binding_host_id='compute1', binding_vif_type='ovs',
                           fixed_ips=[{'ip_address': '192.168.1.101', 'subnet_id': 'subnet-9'}])
    return dict(web=web, db=db)


def test_one_server_by_name_with_placement_and_ports(run_module, cloud, servers):
    result = run_module(ServerInfoModule, dict(server='web'), check_mode=True)
    assert result['changed'] is False
    [web] = result['servers']
    assert web['id'] == servers['web'].id
    assert web['status'] == 'ACTIVE'
    assert web['power_state'] == 'running'
    assert web['vm_state'] == 'active'
    assert web['task_state'] is None
    assert web['host'] == 'compute1'
    assert web['node'] == 'compute1.lab'
    # openstack.cloud.server_info's names for the same two fields.
    assert (web['compute_host'], web['hypervisor_hostname']) == ('compute1', 'compute1.lab')
    assert web['instance_name'] == 'instance-web'
    assert web['instance_dir'] == '/var/lib/nova/instances/%s' % servers['web'].id
    assert web['flavor'] == dict(name='myflavor', ram=512, vcpus=1, disk=5, ephemeral=0, swap=0)
    assert web['image_id'] == 'image-0001'
    assert web['ports'] == [dict(id='port-0003', network_id='network-9', mac_address='fa:16:3e:00:00:01',
                                 status='ACTIVE', binding_host='compute1', binding_vif_type='ovs',
                                 fixed_ips=[dict(ip_address='192.168.1.101', subnet_id='subnet-9')])]
    assert cloud.call('network.ports')[1] == dict(device_id=servers['web'].id)


def test_one_server_by_id(run_module, servers):
    result = run_module(ServerInfoModule, dict(server=servers['db'].id))
    assert [server['name'] for server in result['servers']] == ['db']
    assert result['servers'][0]['power_state'] == 'shutdown'
    assert result['servers'][0]['ports'] == []


def test_all_servers_sorted_by_name(run_module, servers):
    result = run_module(ServerInfoModule, {})
    assert [server['name'] for server in result['servers']] == ['db', 'web']


def test_filter_by_host_and_all_projects(run_module, cloud, servers):
    result = run_module(ServerInfoModule, dict(host='compute2', all_projects=True, with_ports=False))
    assert [server['name'] for server in result['servers']] == ['db']
    assert 'ports' not in result['servers'][0]
    assert cloud.call('compute.servers')[1] == dict(name=None, compute_host='compute2', all_projects=True)


def test_named_server_on_another_host_is_not_returned(run_module, servers):
    assert run_module(ServerInfoModule, dict(server=servers['web'].id, host='compute2'))['servers'] == []


def test_custom_instances_path(run_module, servers):
    result = run_module(ServerInfoModule, dict(server='web', instances_path='/srv/nova/instances'))
    assert result['servers'][0]['instance_dir'] == '/srv/nova/instances/%s' % servers['web'].id


def test_unknown_server_is_an_empty_list(run_module, servers):
    assert run_module(ServerInfoModule, dict(server='nope'))['servers'] == []


def test_ambiguous_server_name_fails(run_module, cloud, servers):
    cloud.compute.add_server(name='web')
    result = run_module(ServerInfoModule, dict(server='web'))
    assert result['failed']
    assert "2 servers are named 'web'" in result['msg']
