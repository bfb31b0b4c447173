# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest

from ansible_collections.novaops.migration.plugins.modules.compute_service_info import ComputeServiceInfoModule


@pytest.fixture
def services(cloud):
    def service(service_id, binary, host, status='enabled', state='up', disabled_reason=None):
        return dict(id=service_id, binary=binary, host=host, zone='nova' if binary == 'nova-compute' else 'internal',
                    status=status, state=state, disabled_reason=disabled_reason, forced_down=False,
                    updated_at='2026-11-23T21:40:02.000000')
    cloud.compute.service_list = [
        service('s3', 'nova-compute', 'compute2', status='disabled', state='down', disabled_reason='maintenance'),
        service('s1', 'nova-scheduler', 'controller'),
        service('s2', 'nova-compute', 'compute1'),
    ]


def test_lists_every_service_sorted_by_host(run_module, services):
    result = run_module(ComputeServiceInfoModule, {}, check_mode=True)
    assert result['changed'] is False
    assert [(service['host'], service['binary']) for service in result['services']] == [
        ('compute1', 'nova-compute'), ('compute2', 'nova-compute'), ('controller', 'nova-scheduler')]
    assert result['services'][1] == dict(id='s3', binary='nova-compute', host='compute2', zone='nova',
                                         status='disabled', state='down', disabled_reason='maintenance',
                                         forced_down=False, updated_at='2026-11-23T21:40:02.000000')


def test_filters_are_passed_to_nova(run_module, cloud, services):
    result = run_module(ComputeServiceInfoModule, dict(binary='nova-compute', host='compute1'))
    assert [service['id'] for service in result['services']] == ['s2']
    assert cloud.call('compute.services')[1] == dict(binary='nova-compute', host='compute1')


def test_aggregates_name_each_hosts_aggregates_from_one_listing(run_module, cloud, services):
    from openstack.compute.v2.aggregate import Aggregate
    listed = []

    def aggregates(**query):
        listed.append(query)
        return [Aggregate(id=1, name='rack-b', hosts=['compute2']),
                Aggregate(id=2, name='rack-a', hosts=['compute1', 'compute2']), Aggregate(id=3, name='empty')]

    cloud.compute.aggregates = aggregates
    result = run_module(ComputeServiceInfoModule, dict(aggregates=True))
    assert [(service['host'], service['aggregates']) for service in result['services']] == [
        ('compute1', ['rack-a']), ('compute2', ['rack-a', 'rack-b']), ('controller', [])]
    assert listed == [{}]


def test_without_aggregates_none_are_read(run_module, cloud, services):
    cloud.compute.aggregates = lambda **query: pytest.fail('aggregates listed without aggregates=true')
    result = run_module(ComputeServiceInfoModule, {})
    assert 'aggregates' not in result['services'][0]
