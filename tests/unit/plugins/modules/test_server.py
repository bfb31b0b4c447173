# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import base64

import pytest

from ansible_collections.novaops.migration.plugins.modules.server import ServerModule, parse_nics

# As Nova embeds it in a server (microversion 2.47+): no id, the name as original_name.
FLAVOR_BODY = dict(original_name='myflavor', ram=512, vcpus=1, disk=5)


@pytest.fixture
def prepared(cloud):
    """The procedure's image, flavor and network."""
    return dict(
        image=cloud.image.add(name='cirros'),
        flavor=cloud.compute.add_flavor(name='myflavor', ram=512, vcpus=1, disk=5),
        network=cloud.network.add_network(name='mynetwork'),
    )


def server_args(**extra):
    values = dict(name='myinstance', image='cirros', flavor='myflavor', nics=[{'net-name': 'mynetwork'}])
    values.update(extra)
    return values


def add_server(cloud, status='ACTIVE', **body):
    body.setdefault('name', 'myinstance')
    body.setdefault('image', {'id': 'image-0001'})
    body.setdefault('flavor', FLAVOR_BODY)
    body.setdefault('OS-EXT-SRV-ATTR:host', 'compute1')
    return cloud.compute.add_server(status=status, **body)


# -- nics --------------------------------------------------------------------

def test_parse_nics_accepts_names_and_the_three_dict_forms():
    nics = ['mynetwork', {'net-name': 'a'}, {'net-id': 'b'}, {'port-id': 'c'}]
    assert parse_nics(nics) == ([('net-name', 'mynetwork'), ('net-name', 'a'), ('net-id', 'b'), ('port-id', 'c')], [])


def test_parse_nics_explains_malformed_items():
    dummy, problems = parse_nics([{'net-name': 'a', 'net-id': 'b'}, {'network': 'x'}, 42])
    assert problems == [
        'nics[0] needs exactly one of net-name, net-id, port-id',
        'nics[1] has unsupported keys network (use one of net-name, net-id, port-id)',
        'nics[2] must be a network name or a dict, got int',
    ]


def test_malformed_nics_fail_before_any_request(run_module, cloud):
    result = run_module(ServerModule, server_args(nics=[{'net': 'mynetwork'}]))
    assert result['msg'].startswith('invalid nics: nics[0] has unsupported keys net')
    assert cloud.connect_kwargs is None


# -- create --------------------------------------------------------------------

def test_check_mode_predicts_the_boot(run_module, cloud, prepared):
    result = run_module(ServerModule, server_args(), check_mode=True, diff=True)
    assert result['changed'] is True
    assert result['actions'] == ['create']
    assert result['server']['status'] == 'ACTIVE'
    assert result['server']['image_id'] == prepared['image'].id
    assert result['diff']['after']['flavor']['ram'] == 512
    assert cloud.mutations() == []


def test_boot_waits_for_active_and_is_idempotent(run_module, cloud, prepared):
    first = run_module(ServerModule, server_args())
    assert first['changed'] is True
    request = cloud.call('compute.create_server')[1]
    assert request == dict(name='myinstance', image_id=prepared['image'].id, flavor_id=prepared['flavor'].id,
                           networks=[{'uuid': prepared['network'].id}])
    assert first['server']['status'] == 'ACTIVE'
    assert first['server']['power_state'] == 'running'
    assert first['server']['host'] == 'compute1'
    assert first['server']['instance_dir'] == '/var/lib/nova/instances/%s' % first['server']['id']

    cloud.calls.clear()
    second = run_module(ServerModule, server_args())
    assert second['changed'] is False
    assert cloud.mutations() == []


def test_every_kind_of_nic_is_resolved(run_module, cloud, prepared):
    other = cloud.network.add_network(name='other')
    port = cloud.network.add_port(network_id=other.id)
    run_module(ServerModule, server_args(nics=['mynetwork', {'net-id': other.id}, {'port-id': port.id}]))
    assert cloud.call('compute.create_server')[1]['networks'] == [
        {'uuid': prepared['network'].id}, {'uuid': other.id}, {'port': port.id}]


def test_without_nics_nova_picks_the_network(run_module, cloud, prepared):
    run_module(ServerModule, server_args(nics=None))
    assert cloud.call('compute.create_server')[1]['networks'] == 'auto'


def test_optional_fields_are_encoded_for_nova(run_module, cloud, prepared):
    run_module(ServerModule, server_args(userdata='#!/bin/sh\necho hi\n', security_groups=['default', 'ssh'],
                                         key_name='lab', metadata={'role': 'test'}, availability_zone='nova'))
    request = cloud.call('compute.create_server')[1]
    assert base64.b64decode(request['user_data']) == b'#!/bin/sh\necho hi\n'
    assert request['security_groups'] == [{'name': 'default'}, {'name': 'ssh'}]
    assert request['key_name'] == 'lab'
    assert request['metadata'] == {'role': 'test'}
    assert request['availability_zone'] == 'nova'


def test_host_is_passed_when_the_cloud_supports_it(run_module, cloud, prepared):
    result = run_module(ServerModule, server_args(host='compute2'))
    assert cloud.call('compute.create_server')[1]['host'] == 'compute2'
    assert result['server']['host'] == 'compute2'


def test_host_needs_microversion_2_74(run_module, cloud, prepared):
    cloud.compute.max_microversion = (2, 72)
    result = run_module(ServerModule, server_args(host='compute2'))
    assert result['msg'] == ("booting on a chosen host (host) needs microversion 2.74 of the compute API; "
                             "cloud 'lab' supports up to 2.72.")
    assert cloud.mutations() == []


@pytest.mark.parametrize('missing, message', [
    ('image', "image 'cirros' not found in cloud 'lab'; upload it first with novaops.migration.image"),
    ('flavor', "flavor 'myflavor' not found in cloud 'lab'; create it first with novaops.migration.flavor"),
    ('network', "network 'mynetwork' not found in cloud 'lab'; create it first with novaops.migration.network"),
])
def test_unknown_dependencies_fail_and_nothing_is_created(run_module, cloud, prepared, missing, message):
    resource = prepared[missing]
    store = {'image': cloud.image.bodies, 'flavor': cloud.compute.flavors_by_id, 'network': cloud.network.bodies}
    del store[missing][resource.id]
    result = run_module(ServerModule, server_args())
    assert result['msg'] == message
    assert cloud.mutations() == []


def test_ambiguous_network_fails_and_nothing_is_created(run_module, cloud, prepared):
    twin = cloud.network.add_network(name='mynetwork')
    result = run_module(ServerModule, server_args())
    assert "2 networks are named 'mynetwork' (ids: %s, %s)" % (prepared['network'].id, twin.id) in result['msg']
    assert cloud.mutations() == []


def test_create_needs_image_and_flavor(run_module, cloud):
    result = run_module(ServerModule, dict(name='myinstance'))
    assert result['msg'] == "server 'myinstance' does not exist; creating it needs image and flavor"


def test_boot_into_error_reports_the_fault(run_module, cloud, prepared):
    cloud.boot_statuses = ['BUILD', 'ERROR']
    cloud.boot_fault = {'message': 'No valid host was found. ', 'code': 500}
    result = run_module(ServerModule, server_args())
    assert result['failed']
    assert result['msg'].endswith('went to ERROR: No valid host was found.  (code 500)')


def test_boot_that_never_ends_times_out(run_module, cloud, prepared):
    cloud.boot_statuses = ['BUILD'] * 1000
    result = run_module(ServerModule, server_args(timeout=60))
    assert result['msg'].startswith("timed out after 60 s waiting for server 'myinstance'")
    assert '(last state: BUILD)' in result['msg']


def test_boot_stopped(run_module, cloud, prepared):
    result = run_module(ServerModule, server_args(power_state='stopped'))
    assert result['actions'] == ['create', 'stop']
    assert cloud.mutations() == ['compute.create_server', 'compute.stop_server']
    assert result['server']['status'] == 'SHUTOFF'


# -- existing server -------------------------------------------------------------

def test_ambiguous_server_name_lists_ids(run_module, cloud, prepared):
    first, second = add_server(cloud), add_server(cloud)
    result = run_module(ServerModule, server_args())
    assert result['msg'] == ("2 servers are named 'myinstance' (ids: %s, %s); names are not unique, "
                             "use the id of the one you mean." % (first.id, second.id))


def test_server_with_a_longer_name_is_not_a_match(run_module, cloud, prepared):
    add_server(cloud, name='myinstance-2')
    assert run_module(ServerModule, server_args())['actions'] == ['create']


def test_stop_is_predicted_done_and_then_idempotent(run_module, cloud, prepared):
    server = add_server(cloud)
    predicted = run_module(ServerModule, dict(name='myinstance', power_state='stopped'), check_mode=True, diff=True)
    assert predicted['changed'] is True
    assert predicted['actions'] == ['stop']
    assert predicted['diff']['after']['status'] == 'SHUTOFF'
    assert cloud.mutations() == []

    result = run_module(ServerModule, dict(name='myinstance', power_state='stopped'))
    assert result['changed'] is True
    assert cloud.call('compute.stop_server')[0] == (server.id,)
    assert result['server']['status'] == 'SHUTOFF'
    assert result['server']['power_state'] == 'shutdown'

    cloud.calls.clear()
    assert run_module(ServerModule, dict(name='myinstance', power_state='stopped'))['changed'] is False
    assert cloud.mutations() == []


def test_start_a_stopped_server(run_module, cloud, prepared):
    server = add_server(cloud, status='SHUTOFF')
    result = run_module(ServerModule, dict(name=server.id, power_state='started'))
    assert result['actions'] == ['start']
    assert result['server']['status'] == 'ACTIVE'


def test_power_change_refused_in_other_states(run_module, cloud, prepared):
    add_server(cloud, status='PAUSED')
    result = run_module(ServerModule, dict(name='myinstance', power_state='stopped'))
    assert result['msg'].startswith("cannot stop server 'myinstance' (server-")
    assert 'while it is PAUSED; it must be ACTIVE or SHUTOFF' in result['msg']


def test_server_still_building_is_waited_for(run_module, cloud, prepared):
    server = add_server(cloud, status='BUILD')
    cloud.compute.pending_statuses[server.id] = ['BUILD', 'ACTIVE']
    result = run_module(ServerModule, dict(name='myinstance', power_state='started'))
    assert result['changed'] is False
    assert result['server']['status'] == 'ACTIVE'


def test_existing_server_in_error_fails_with_its_fault(run_module, cloud, prepared):
    add_server(cloud, status='ERROR', fault={'message': 'Build of instance aborted', 'code': 500})
    result = run_module(ServerModule, server_args())
    assert 'exists in ERROR state: Build of instance aborted (code 500)' in result['msg']


def test_other_flavor_or_image_only_warns(run_module, cloud, prepared):
    add_server(cloud, image={'id': 'some-other-image'}, flavor=dict(FLAVOR_BODY, original_name='big'))
    result = run_module(ServerModule, server_args())
    assert result['changed'] is False
    assert result['warnings'] == [
        "server 'myinstance' runs image some-other-image, not cirros; this module does not rebuild servers.",
        "server 'myinstance' has flavor big, not myflavor; this module does not resize servers.",
    ]


# -- absent --------------------------------------------------------------------

def test_absent_deletes_and_waits_until_gone(run_module, cloud, prepared):
    server = add_server(cloud)
    predicted = run_module(ServerModule, dict(name='myinstance', state='absent'), check_mode=True)
    assert predicted['actions'] == ['delete']
    assert cloud.mutations() == []

    result = run_module(ServerModule, dict(name='myinstance', state='absent'))
    assert result['changed'] is True
    assert cloud.call('compute.delete_server')[0] == (server.id,)
    assert server.id not in cloud.compute.bodies

    assert run_module(ServerModule, dict(name='myinstance', state='absent'))['changed'] is False


def test_userdata_appears_nowhere_in_the_output(run_module_output, cloud, prepared):
    """User data often carries passwords or keys for the guest (cloud-init chpasswd, write_files)."""
    userdata = '#cloud-config\nchpasswd:\n  list: root:ud-secret-8086\n'
    output = run_module_output(ServerModule, server_args(userdata=userdata))
    assert output.result['changed'] is True
    assert cloud.call('compute.create_server')[1]['user_data'] == base64.b64encode(userdata.encode()).decode()
    assert 'ud-secret-8086' not in output.stdout and 'ud-secret-8086' not in output.logged
    assert output.result['invocation']['module_args']['userdata'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
