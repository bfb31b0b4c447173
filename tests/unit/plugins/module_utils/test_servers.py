# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest
from openstack.compute.v2.server import Server

from ansible_collections.novaops.migration.plugins.module_utils.servers import (
    fault_message, power_state_name, server_flavor, server_image_id, server_placement,
)


@pytest.mark.parametrize('code, name', [(0, 'nostate'), (1, 'running'), (3, 'paused'), (4, 'shutdown'),
                                        (6, 'crashed'), (7, 'suspended'), (9, 'unknown (9)'), (None, None)])
def test_power_state_names(code, name):
    assert power_state_name(code) == name


def test_placement_reads_the_admin_attributes():
    server = Server(**{'id': 'abc', 'OS-EXT-SRV-ATTR:host': 'compute1',
                       'OS-EXT-SRV-ATTR:hypervisor_hostname': 'compute1.lab',
                       'OS-EXT-SRV-ATTR:instance_name': 'instance-00000001'})
    assert server_placement(server, '/var/lib/nova/instances/') == dict(
        host='compute1', node='compute1.lab', instance_name='instance-00000001',
        instance_dir='/var/lib/nova/instances/abc')


def test_placement_without_admin_attributes_is_null():
    assert server_placement(Server(id='abc')) == dict(host=None, node=None, instance_name=None,
                                                      instance_dir='/var/lib/nova/instances/abc')


def test_fault_message():
    assert fault_message(Server(id='a', fault={'message': 'No valid host', 'code': 500})) == 'No valid host (code 500)'
    assert fault_message(Server(id='a', fault={'message': 'odd'})) == 'odd'
    assert fault_message(Server(id='a')) is None


def test_flavor_and_image_of_a_volume_backed_server():
    server = Server(id='a', image='', flavor={'original_name': 'm1', 'ram': 1, 'vcpus': 1, 'disk': 0})
    assert server_image_id(server) is None
    assert server_flavor(server)['name'] == 'm1'
    assert server_flavor(Server(id='b')) == {}
