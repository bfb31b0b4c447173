# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest

from ansible_collections.novaops.migration.plugins.modules.subnet import SubnetModule, address_problems

POOL = [{'start': '192.168.1.100', 'end': '192.168.1.110'}]


def subnet_args(**extra):
    values = dict(name='mynetwork_subnet', network='mynetwork', cidr='192.168.1.0/24', gateway_ip='192.168.1.1',
                  allocation_pools=POOL)
    values.update(extra)
    return values


@pytest.fixture
def network(cloud):
    return cloud.network.add_network(name='mynetwork')


# -- validation, before any request -----------------------------------------

def test_procedure_values_are_valid():
    assert address_problems('192.168.1.0/24', 4, POOL, '192.168.1.1', ['10.99.0.1']) == []


@pytest.mark.parametrize('cidr, ip_version, pools, gateway, dns, problem', [
    ('192.168.1.1/24', 4, None, None, None, 'cidr 192.168.1.1/24 has host bits set; did you mean 192.168.1.0/24?'),
    ('192.168.1.0/33', 4, None, None, None, 'cidr 192.168.1.0/33 is not a valid network address'),
    ('fd00::/64', 4, None, None, None, 'cidr fd00::/64 is IPv6 but ip_version is 4'),
    ('192.168.1.0/24', 4, [{'start': '192.168.1.110', 'end': '192.168.1.100'}], None, None,
     'allocation_pools[0] starts at 192.168.1.110, after its end 192.168.1.100'),
    ('192.168.1.0/24', 4, [{'start': '192.168.1.250', 'end': '192.168.2.10'}], None, None,
     'allocation_pools[0] 192.168.1.250-192.168.2.10 is not inside cidr 192.168.1.0/24'),
    ('192.168.1.0/24', 4, [{'start': '192.168.1.0', 'end': '192.168.1.10'}], None, None,
     'allocation_pools[0] 192.168.1.0-192.168.1.10 includes the network or broadcast address of 192.168.1.0/24'),
    ('192.168.1.0/24', 4, [{'start': 'first', 'end': '192.168.1.10'}], None, None,
     'allocation_pools[0].start first is not an IP address'),
    ('192.168.1.0/24', 4, [{'start': 'fd00::1', 'end': '192.168.1.10'}], None, None,
     'allocation_pools[0].start fd00::1 is IPv6 but cidr 192.168.1.0/24 is IPv4'),
    ('192.168.1.0/24', 4, [{'start': '192.168.1.100', 'end': '192.168.1.110'},
                           {'start': '192.168.1.105', 'end': '192.168.1.120'}], None, None,
     'allocation_pools[0] 192.168.1.100-192.168.1.110 overlaps allocation_pools[1] 192.168.1.105-192.168.1.120'),
    ('192.168.1.0/24', 4, None, '192.168.2.1', None, 'gateway_ip 192.168.2.1 is not inside cidr 192.168.1.0/24'),
    ('192.168.1.0/24', 4, POOL, '192.168.1.105', None,
     'gateway_ip 192.168.1.105 is inside allocation_pools[0] 192.168.1.100-192.168.1.110'),
    ('192.168.1.0/24', 4, None, None, ['dns.lab'], 'dns_nameservers[0] dns.lab is not an IP address'),
])
def test_address_problems(cidr, ip_version, pools, gateway, dns, problem):
    problems = address_problems(cidr, ip_version, pools, gateway, dns)
    assert len(problems) == 1
    assert problems[0].startswith(problem)


def test_pools_given_in_any_order_are_checked_for_overlap():
    pools = [{'start': '192.168.1.150', 'end': '192.168.1.160'}, {'start': '192.168.1.100', 'end': '192.168.1.155'}]
    assert address_problems('192.168.1.0/24', 4, pools, None, None) == [
        'allocation_pools[1] 192.168.1.100-192.168.1.155 overlaps allocation_pools[0] 192.168.1.150-192.168.1.160']


def test_invalid_subnet_fails_before_any_request(run_module, cloud):
    result = run_module(SubnetModule, subnet_args(gateway_ip='192.168.1.100'))
    assert result['failed']
    assert result['msg'].startswith('invalid subnet mynetwork_subnet: gateway_ip 192.168.1.100 is inside')
    assert result['msg'].endswith('Nothing was sent to the cloud.')
    assert cloud.connect_kwargs is None


def test_gateway_and_no_gateway_exclude_each_other(run_module):
    result = run_module(SubnetModule, subnet_args(no_gateway=True))
    assert result['failed']
    assert 'mutually exclusive' in result['msg']


# -- against the cloud ---------------------------------------------------------

def test_unknown_network_fails_with_a_hint(run_module, cloud):
    result = run_module(SubnetModule, subnet_args())
    assert result['msg'] == ("network 'mynetwork' not found in cloud 'lab'; "
                             "create it first with novaops.migration.network")
    assert cloud.mutations() == []


def test_check_mode_predicts_creation(run_module, cloud, network):
    result = run_module(SubnetModule, subnet_args(), check_mode=True, diff=True)
    assert result['changed'] is True
    assert result['subnet']['network_id'] == network.id
    assert result['subnet']['allocation_pools'] == POOL
    assert result['diff']['after']['gateway_ip'] == '192.168.1.1'
    assert cloud.mutations() == []


def test_create_then_second_run_is_unchanged(run_module, cloud, network):
    first = run_module(SubnetModule, subnet_args(dns_nameservers=['10.99.0.1']))
    assert first['changed'] is True
    assert cloud.call('network.create_subnet')[1] == dict(
        name='mynetwork_subnet', network_id=network.id, cidr='192.168.1.0/24', ip_version=4,
        allocation_pools=POOL, gateway_ip='192.168.1.1', dns_nameservers=['10.99.0.1'])

    cloud.calls.clear()
    assert run_module(SubnetModule, subnet_args(dns_nameservers=['10.99.0.1']))['changed'] is False
    assert cloud.mutations() == []


def test_network_can_be_given_by_id(run_module, cloud, network):
    run_module(SubnetModule, subnet_args(network=network.id))
    assert cloud.call('network.create_subnet')[1]['network_id'] == network.id


def test_no_gateway_is_sent_as_null(run_module, cloud, network):
    requested = subnet_args(no_gateway=True)
    del requested['gateway_ip']
    run_module(SubnetModule, requested)
    assert cloud.call('network.create_subnet')[1]['gateway_ip'] is None


def test_mutable_attributes_are_updated(run_module, cloud, network):
    existing = cloud.network.add_subnet(name='mynetwork_subnet', network_id=network.id, cidr='192.168.1.0/24',
                                        gateway_ip='192.168.1.1', is_dhcp_enabled=True,
                                        allocation_pools=[{'start': '192.168.1.2', 'end': '192.168.1.254'}])
    predicted = run_module(SubnetModule, subnet_args(enable_dhcp=True), check_mode=True, diff=True)
    assert predicted['actions'] == ['update']
    assert predicted['diff']['after']['allocation_pools'] == POOL
    assert cloud.mutations() == []

    run_module(SubnetModule, subnet_args(enable_dhcp=True))
    assert cloud.call('network.update_subnet') == ((existing.id,), {'allocation_pools': POOL})


def test_pool_order_and_spelling_do_not_count_as_changes(run_module, cloud, network):
    pools = [{'start': 'fd00::20', 'end': 'fd00::30'}, {'start': 'fd00::1:0', 'end': 'fd00::1:10'}]
    cloud.network.add_subnet(name='mynetwork_subnet', network_id=network.id, cidr='fd00::/64', ip_version=6,
                             gateway_ip='fd00::1', allocation_pools=list(reversed(pools)))
    requested = subnet_args(cidr='fd00::/64', ip_version=6, gateway_ip='fd00:0::1',
                            allocation_pools=[{'start': 'fd00::0020', 'end': 'fd00::0030'}, pools[1]])
    assert run_module(SubnetModule, requested)['changed'] is False


def test_immutable_attributes_fail(run_module, cloud, network):
    existing = cloud.network.add_subnet(name='mynetwork_subnet', network_id=network.id, cidr='192.168.0.0/16')
    result = run_module(SubnetModule, subnet_args())
    assert result['msg'].startswith("subnet 'mynetwork_subnet' (%s) exists with different cidr (cloud 192.168.0.0/16, "
                                    "requested 192.168.1.0/24); these cannot be changed." % existing.id)
    assert cloud.mutations() == []


def test_absent_needs_no_network(run_module, cloud, network):
    existing = cloud.network.add_subnet(name='mynetwork_subnet', network_id=network.id, cidr='192.168.1.0/24')
    assert run_module(SubnetModule, dict(name='mynetwork_subnet', state='absent'), check_mode=True)['changed'] is True
    assert cloud.mutations() == []
    assert run_module(SubnetModule, dict(name='mynetwork_subnet', state='absent'))['changed'] is True
    assert cloud.call('network.delete_subnet')[0] == (existing.id,)
    assert run_module(SubnetModule, dict(name='mynetwork_subnet', state='absent'))['changed'] is False
