# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest
from openstack.compute.v2.server import Server
from openstack.compute.v2.service import Service

from ansible_collections.novaops.migration.plugins.module_utils.servers import (
    fault_message, power_state_name, report_seconds, reported_since, server_flavor, server_image_id,
    server_placement, server_summary, summary_on_host, utc_text,
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


def test_summary_also_names_the_placement_as_openstack_cloud_does():
    server = Server(**{'id': 'abc', 'name': 'web', 'OS-EXT-SRV-ATTR:host': 'compute1',
                       'OS-EXT-SRV-ATTR:hypervisor_hostname': 'compute1.lab'})
    summary = server_summary(server)
    assert (summary['host'], summary['node']) == ('compute1', 'compute1.lab')
    assert (summary['compute_host'], summary['hypervisor_hostname']) == ('compute1', 'compute1.lab')


def test_summary_without_admin_attributes_has_null_openstack_cloud_names():
    summary = server_summary(Server(id='abc', name='web'))
    assert summary['compute_host'] is None and summary['hypervisor_hostname'] is None


def test_a_predicted_summary_moves_both_names_of_the_placement():
    before = server_summary(Server(**{'id': 'abc', 'name': 'web', 'status': 'ACTIVE',
                                      'OS-EXT-SRV-ATTR:host': 'compute1',
                                      'OS-EXT-SRV-ATTR:hypervisor_hostname': 'compute1'}))
    predicted = summary_on_host(before, 'compute2', status='VERIFY_RESIZE')
    assert (predicted['host'], predicted['compute_host']) == ('compute2', 'compute2')
    assert predicted['node'] is None and predicted['hypervisor_hostname'] is None, 'the target node is not known yet'
    assert predicted['status'] == 'VERIFY_RESIZE' and predicted['name'] == 'web'
    assert before['compute_host'] == 'compute1', 'the summary it starts from is left alone'


def test_fault_message():
    assert fault_message(Server(id='a', fault={'message': 'No valid host', 'code': 500})) == 'No valid host (code 500)'
    assert fault_message(Server(id='a', fault={'message': 'odd'})) == 'odd'
    assert fault_message(Server(id='a')) is None


def test_flavor_and_image_of_a_volume_backed_server():
    server = Server(id='a', image='', flavor={'original_name': 'm1', 'ram': 1, 'vcpus': 1, 'disk': 0})
    assert server_image_id(server) is None
    assert server_flavor(server)['name'] == 'm1'
    assert server_flavor(Server(id='b')) == {}


# 2026-12-02T20:00:00 UTC
SINCE = 1796241600.0


@pytest.mark.parametrize('state, updated_at, back', [
    ('up', '2026-12-02T20:00:05.000000', True),
    ('up', '2026-12-02T20:00:05+00:00', True),
    ('up', '2026-12-02T20:00:05Z', True),
    ('up', '2026-12-02T19:59:55.000000', False),
    ('down', '2026-12-02T20:00:05.000000', False),
    ('up', None, False),
])
def test_a_service_runs_again_when_it_is_up_and_reported_after_the_time(state, updated_at, back):
    assert reported_since(Service(state=state, updated_at=updated_at), SINCE) is back


def test_report_times_read_and_written_in_utc():
    assert report_seconds('2026-12-02T20:00:00.000000') == SINCE
    assert report_seconds(None) is None
    assert utc_text(SINCE + 0.7) == '2026-12-02T20:00:00Z'
    assert utc_text(None) == 'never'
