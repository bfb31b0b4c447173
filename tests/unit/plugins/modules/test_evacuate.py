# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import json
import types

import pytest

from openstack import exceptions as sdk_exceptions

from ansible_collections.novaops.migration.plugins.modules.evacuate import EvacuateModule

EVACUATION_CALLS = ('compute.evacuate_server', 'compute.start_server')


def service_body(lab, host):
    return [body for body in lab.compute.service_list if body['host'] == host][0]


@pytest.fixture
def evac_lab(lab, fakes):
    """The lab with compute1 failed (its nova-compute down), its image in Glance, Placement allocations, and
    Nova's evacuate: a migration record 'accepted', the target's allocation claimed, then the rebuild's steps."""
    service_body(lab, 'compute1')['state'] = 'down'
    lab.image.add(id='image-0001', name='cirros')
    lab.providers = dict((body['name'], provider_id) for provider_id, body in lab.placement.providers.items())
    lab.allocations = {}
    # Set by a test: f(target, server_body, final_status) -> steps.
    lab.next_evacuation_script = None
    lab.claim_on_target = True

    def get_allocation(consumer):
        lab.calls.append(('placement.get_allocation', (consumer,), {}))
        if consumer not in lab.allocations:
            raise sdk_exceptions.NotFoundException(message='no allocations for %s' % consumer)
        return types.SimpleNamespace(allocations=dict((provider, dict(resources=dict(VCPU=1), generation=2))
                                                      for provider in lab.allocations[consumer]))

    def evacuate_server(server, host=None, admin_pass=None, force=None, on_shared_storage=None):
        microversion = lab.compute.default_microversion
        lab.compute._record('evacuate_server', server.id, host=host, force=force, microversion=microversion)
        body = lab.compute.bodies[server.id]
        status = body['status']
        target = host or 'compute2'
        lab.compute.add_migration(server.id, migration_type='evacuation', status='accepted', dest_compute=host,
                                  dest_node=host)
        if lab.claim_on_target:
            lab.allocations.setdefault(server.id, []).append(lab.providers[target])
        # Like Nova: an ERROR server reads ERROR during the rebuild, the others REBUILD.
        body['status'] = 'ERROR' if status == 'ERROR' else 'REBUILD'
        body['OS-EXT-STS:task_state'] = 'rebuilding'
        body.pop('OS-EXT-STS:power_state', None)
        keeps_state = microversion is not None and tuple(int(part) for part in microversion.split('.')) <= (2, 94)
        final = ('SHUTOFF' if status == 'SHUTOFF' else 'ACTIVE') if keeps_state else 'SHUTOFF'
        script = lab.next_evacuation_script or evacuation_script
        lab.compute.run_script(server.id, script(target, body, final))

    def evacuation_script(target, body, final):
        return [fakes.step('pre-migrating', task_state='rebuilding'),
                fakes.step(None, task_state='rebuild_spawning'),
                fakes.step('done', status=final, task_state=None, host=target, node=target,
                           power_state=1 if final == 'ACTIVE' else 4)]

    lab.placement.get_allocation = get_allocation
    lab.compute.evacuate_server = evacuate_server
    lab.compute.default_microversion = None
    lab.compute.service_list.append(fakes.compute_service('compute3'))
    lab.placement.add_provider('compute3', {})
    lab.providers = dict((body['name'], provider_id) for provider_id, body in lab.placement.providers.items())

    def server_on(host='compute1', status='ACTIVE', volume_backed=True, **body):
        if volume_backed:
            body.setdefault('image', '')
        server = lab.compute.add_server(status=status, **dict({'OS-EXT-SRV-ATTR:host': host}, **body))
        lab.allocations[server.id] = [lab.providers[host]]
        return server

    lab.server_on = server_on
    return lab


def evacuate(run_module, check_mode=False, diff=False, **args):
    values = dict(server='myinstance', source_host='compute1', target_host='compute2')
    values.update(args)
    return run_module(EvacuateModule, values, check_mode=check_mode, diff=diff)


def moves(lab):
    return [name for name in lab.call_names() if name in EVACUATION_CALLS]


# -- evacuating ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('status, power_state', [('ACTIVE', 'running'), ('SHUTOFF', 'shutdown')])
def test_evacuates_and_keeps_the_status(run_module, evac_lab, status, power_state):
    server = evac_lab.server_on(status=status)
    result = evacuate(run_module, diff=True)
    assert result['changed'] is True
    assert moves(evac_lab) == ['compute.evacuate_server']
    # Pinned below 2.95 so Nova restores the state, never forced; the proxy's default is back afterwards.
    expected = ((server.id,), dict(host='compute2', force=None, microversion='2.94'))
    assert evac_lab.call('compute.evacuate_server') == expected
    assert evac_lab.compute.default_microversion is None
    assert result['actions'] == ['evacuate']
    assert result['source_host'] == 'compute1'
    assert result['host'] == 'compute2'
    assert result['status'] == status
    assert result['server']['host'] == 'compute2'
    assert result['server']['power_state'] == power_state
    assert result['migration']['status'] == 'done'
    assert result['migration']['migration_type'] == 'evacuation'
    assert result['rebuild'] is False and result['data_kept'] is True
    assert result['placement'] == dict(target_provider='compute2', target_allocated=True,
                                       source_provider='compute1', source_allocated=True)
    assert [sample['migration_status'] for sample in result['progress']] == ['pre-migrating', 'pre-migrating',
                                                                             'done']
    assert result['diff'] == dict(before=dict(host='compute1', status=status),
                                  after=dict(host='compute2', status=status))

    evac_lab.calls.clear()
    again = evacuate(run_module)
    assert again['changed'] is False
    assert moves(evac_lab) == []
    assert again['host'] == 'compute2'
    assert again['migration']['status'] == 'done'
    assert again['actions'] == []


def test_an_error_server_comes_back_active(run_module, evac_lab):
    evac_lab.server_on(status='ERROR', fault=dict(message='host compute1 lost', code=500))
    result = evacuate(run_module)
    assert result['changed'] is True
    assert result['status'] == 'ACTIVE'
    assert result['server']['status'] == 'ACTIVE'


def test_the_scheduler_chooses_without_target_host(run_module, evac_lab):
    server = evac_lab.server_on()
    result = evacuate(run_module, target_host=None)
    assert evac_lab.call('compute.evacuate_server')[1]['host'] is None
    assert result['host'] == 'compute2'
    assert evac_lab.compute.bodies[server.id]['OS-EXT-SRV-ATTR:host'] == 'compute2'


def test_a_source_the_service_of_which_is_forced_down_is_accepted(run_module, evac_lab):
    service_body(evac_lab, 'compute1').update(state='up', forced_down=True)
    evac_lab.server_on()
    assert evacuate(run_module)['changed'] is True


def test_check_mode_predicts_without_evacuating(run_module, evac_lab):
    server = evac_lab.server_on(status='ERROR')
    result = evacuate(run_module, check_mode=True, diff=True)
    assert result['changed'] is True
    assert result['actions'] == ['evacuate']
    assert result['host'] == 'compute2' and result['status'] == 'ACTIVE'
    assert result['server']['host'] == 'compute2'
    assert result['migration'] is None
    assert result['diff'] == dict(before=dict(host='compute1', status='ERROR'),
                                  after=dict(host='compute2', status='ACTIVE'))
    assert evac_lab.moves() == [] and moves(evac_lab) == []
    assert evac_lab.compute.bodies[server.id]['OS-EXT-SRV-ATTR:host'] == 'compute1'


def test_check_mode_on_an_evacuated_server_predicts_no_change(run_module, evac_lab):
    evac_lab.server_on()
    evacuate(run_module)
    result = evacuate(run_module, check_mode=True)
    assert result['changed'] is False


def test_progress_is_appended_to_the_progress_file(run_module, evac_lab, tmp_path):
    evac_lab.server_on()
    progress_file = tmp_path / 'progress'
    result = evacuate(run_module, progress_file=str(progress_file))
    lines = [json.loads(line) for line in progress_file.read_text().splitlines()]
    assert [line['migration_status'] for line in lines] == ['pre-migrating', 'pre-migrating', 'done']
    assert lines[-1]['host'] == 'compute2'
    assert all(line['migration_id'] == result['migration']['id'] for line in lines)


def test_without_wait_returns_once_nova_accepted(run_module, evac_lab):
    evac_lab.server_on()
    result = evacuate(run_module, wait=False)
    assert result['changed'] is True
    assert result['host'] == 'compute1'
    assert result['migration']['status'] == 'pre-migrating'
    assert 'placement' not in result and 'ports' not in result


def test_a_running_evacuation_is_followed(run_module, evac_lab, fakes):
    server = evac_lab.server_on(status='REBUILD', **{'OS-EXT-STS:task_state': 'rebuild_spawning'})
    evac_lab.compute.add_migration(server.id, migration_type='evacuation', status='pre-migrating',
                                   dest_compute='compute2')
    evac_lab.allocations[server.id].append(evac_lab.providers['compute2'])
    evac_lab.compute.run_script(server.id, [fakes.step(None), fakes.step('done', status='ACTIVE', task_state=None,
                                                                         host='compute2', node='compute2',
                                                                         power_state=1)])
    result = evacuate(run_module)
    assert result['changed'] is True
    assert result['actions'] == ['follow']
    assert moves(evac_lab) == []
    assert result['status'] == 'ACTIVE' and result['host'] == 'compute2'


def test_a_running_evacuation_of_a_stopped_server_ends_shutoff(run_module, evac_lab, fakes):
    server = evac_lab.server_on(status='REBUILD', **{'OS-EXT-STS:task_state': 'rebuilding',
                                                     'OS-EXT-STS:vm_state': 'stopped'})
    evac_lab.compute.add_migration(server.id, migration_type='evacuation', status='accepted', dest_compute='compute2')
    evac_lab.allocations[server.id].append(evac_lab.providers['compute2'])
    evac_lab.compute.run_script(server.id, [fakes.step('done', status='SHUTOFF', task_state=None, host='compute2',
                                                       node='compute2', power_state=4)])
    result = evacuate(run_module)
    assert result['changed'] is True
    assert result['actions'] == ['follow']
    assert result['status'] == 'SHUTOFF'


# -- disks -------------------------------------------------------------------------------------------------------------
def test_local_disks_are_refused_without_allow_rebuild(run_module, evac_lab):
    evac_lab.server_on(volume_backed=False)
    result = evacuate(run_module)
    assert result['failed'] is True
    assert ("server 'myinstance' (server-0002) would lose data if evacuated from compute1: its root disk is local, "
            "so Nova rebuilds it from its image image-0001 on the target and its content is lost. Set "
            "allow_rebuild=true to accept that, or shared_storage=true") in result['msg']
    assert 'nothing was evacuated' in result['msg']
    assert moves(evac_lab) == []


def test_allow_rebuild_rebuilds_from_the_image(run_module, evac_lab):
    evac_lab.server_on(volume_backed=False)
    result = evacuate(run_module, allow_rebuild=True)
    assert result['changed'] is True
    assert result['rebuild'] is True
    assert result['data_kept'] is False
    assert 'image.get_image' in evac_lab.call_names()


def test_shared_storage_keeps_local_disks(run_module, evac_lab):
    evac_lab.server_on(volume_backed=False)
    result = evacuate(run_module, shared_storage=True)
    assert result['changed'] is True
    assert result['rebuild'] is False and result['data_kept'] is True
    assert 'image.get_image' not in evac_lab.call_names()


def test_a_rebuild_without_its_image_is_refused(run_module, evac_lab):
    evac_lab.image.bodies.clear()
    evac_lab.server_on(volume_backed=False)
    result = evacuate(run_module, allow_rebuild=True)
    assert result['failed'] is True
    assert 'must be rebuilt from its image image-0001, which no longer exists' in result['msg']
    assert moves(evac_lab) == []


def test_a_local_ephemeral_disk_is_a_loss_too(run_module, evac_lab):
    evac_lab.server_on(flavor=dict(original_name='m1.eph', ram=512, vcpus=1, disk=5, ephemeral=2, swap=0))
    result = evacuate(run_module)
    assert result['failed'] is True
    assert 'its ephemeral disk (2 GB) is local, so Nova creates it again empty on the target' in result['msg']
    result = evacuate(run_module, allow_rebuild=True)
    assert result['changed'] is True
    assert result['rebuild'] is False and result['data_kept'] is False


# -- refusals ----------------------------------------------------------------------------------------------------------
def test_a_live_source_is_refused(run_module, evac_lab):
    service_body(evac_lab, 'compute1')['state'] = 'up'
    evac_lab.server_on()
    result = evacuate(run_module)
    assert result['failed'] is True
    assert result['msg'].startswith('nova-compute on compute1 is up: Nova refuses to evacuate from a live host; '
                                    'fence it and force it down first')
    assert moves(evac_lab) == []


def test_a_server_on_another_host_is_refused(run_module, evac_lab):
    evac_lab.server_on(host='compute2')
    result = evacuate(run_module, target_host='compute3')
    assert result['failed'] is True
    assert "server 'myinstance' (server-0002) is on compute2, not on compute1" in result['msg']
    assert moves(evac_lab) == []


def test_an_evacuated_server_elsewhere_than_asked_is_refused(run_module, evac_lab):
    evac_lab.server_on()
    evacuate(run_module)
    result = evacuate(run_module, target_host='compute3')
    assert result['failed'] is True
    assert 'was evacuated from compute1 to compute2 already (migration 1), not to compute3' in result['msg']


@pytest.mark.parametrize('status, why', [
    ('PAUSED', 'memory (or its rescue disk) is on the failed host'),
    ('SUSPENDED', 'openstack server set --state error server-0002'),
    ('VERIFY_RESIZE', 'waits for its confirmation'),
    ('SHELVED_OFFLOADED', 'it runs on no host; unshelve it instead'),
])
def test_statuses_nova_does_not_evacuate_are_refused(run_module, evac_lab, status, why):
    evac_lab.server_on(status=status)
    result = evacuate(run_module)
    assert result['failed'] is True
    assert "is %s; Nova evacuates only ACTIVE, SHUTOFF or ERROR servers" % status in result['msg']
    assert why in result['msg']
    assert moves(evac_lab) == []


def test_a_task_in_progress_is_refused(run_module, evac_lab):
    evac_lab.server_on(**{'OS-EXT-STS:task_state': 'powering-off'})
    result = evacuate(run_module)
    assert result['failed'] is True
    assert "with task 'powering-off' in progress; Nova refuses to evacuate a server while a task runs" in result['msg']


@pytest.mark.parametrize('change, words', [
    (dict(state='down'), 'its nova-compute is down and enabled'),
    (dict(forced_down=True, state='down'), 'its nova-compute is down (forced down) and enabled'),
    (dict(status='disabled'), 'its nova-compute is up and disabled'),
])
def test_an_unusable_target_is_refused(run_module, evac_lab, change, words):
    service_body(evac_lab, 'compute2').update(change)
    evac_lab.server_on()
    result = evacuate(run_module)
    assert result['failed'] is True
    assert 'target_host compute2 cannot take the server: %s' % words in result['msg']


def test_no_usable_host_at_all_is_refused(run_module, evac_lab):
    service_body(evac_lab, 'compute2')['status'] = 'disabled'
    service_body(evac_lab, 'compute3')['state'] = 'down'
    evac_lab.server_on()
    result = evacuate(run_module, target_host=None)
    assert result['failed'] is True
    assert result['msg'].startswith('no other compute host is up and enabled')


def test_the_same_source_and_target_are_refused(run_module, evac_lab):
    result = evacuate(run_module, target_host='compute1')
    assert result['failed'] is True
    assert 'target_host and source_host are both compute1' in result['msg']
    assert evac_lab.calls == []


def test_an_unknown_source_is_refused(run_module, evac_lab):
    evac_lab.server_on()
    result = evacuate(run_module, source_host='compute9')
    assert result['failed'] is True
    assert "no nova-compute service runs on host 'compute9'" in result['msg']


# -- microversions -----------------------------------------------------------------------------------------------------
def test_a_cloud_older_than_2_29_is_refused(run_module, evac_lab):
    evac_lab.compute.base.max_microversion = (2, 28)
    evac_lab.server_on()
    result = evacuate(run_module)
    assert result['failed'] is True
    assert 'evacuating a server to a host the scheduler checks needs microversion 2.29' in result['msg']
    assert moves(evac_lab) == []


def test_an_older_cloud_gets_its_newest_microversion(run_module, evac_lab):
    evac_lab.compute.base.max_microversion = (2, 60)
    evac_lab.server_on()
    evacuate(run_module)
    assert evac_lab.call('compute.evacuate_server')[1]['microversion'] == '2.60'


def test_a_cloud_with_only_2_95_and_later_gets_the_server_started(run_module, evac_lab, monkeypatch):
    monkeypatch.setattr(evac_lab.compute.base, 'get_endpoint_data', lambda: types.SimpleNamespace(
        min_microversion=(2, 95), max_microversion=(2, 100)))
    evac_lab.server_on()
    result = evacuate(run_module)
    assert result['changed'] is True
    assert result['actions'] == ['evacuate', 'start']
    assert moves(evac_lab) == ['compute.evacuate_server', 'compute.start_server']
    assert evac_lab.call('compute.evacuate_server')[1]['microversion'] is None
    assert result['status'] == 'ACTIVE'


def test_a_shutoff_server_is_not_started_on_a_2_95_cloud(run_module, evac_lab, monkeypatch):
    monkeypatch.setattr(evac_lab.compute.base, 'get_endpoint_data', lambda: types.SimpleNamespace(
        min_microversion=(2, 95), max_microversion=(2, 100)))
    evac_lab.server_on(status='SHUTOFF')
    result = evacuate(run_module)
    assert result['actions'] == ['evacuate']
    assert result['status'] == 'SHUTOFF'


# -- failures and verification -----------------------------------------------------------------------------------------
def test_a_failed_evacuation_explains_why(run_module, evac_lab, fakes):
    server = evac_lab.server_on()
    evac_lab.next_evacuation_script = lambda target, body, final: [
        fakes.step('pre-migrating', task_state='rebuilding'),
        fakes.step('failed', status='ERROR', task_state=None)]
    evac_lab.compute.bodies[server.id]['fault'] = dict(message='No valid host was found.', code=500)
    result = evacuate(run_module)
    assert result['failed'] is True
    assert "evacuation of server 'myinstance' (server-0002) from compute1 to compute2 went to FAILED" in result['msg']
    assert "migration 1 is 'failed'; No valid host was found. (code 500)" in result['msg']


def test_a_wrong_status_at_the_end_fails_verification(run_module, evac_lab, fakes):
    evac_lab.server_on()
    evac_lab.next_evacuation_script = lambda target, body, final: [
        fakes.step('done', status='SHUTOFF', task_state=None, host=target, node=target, power_state=4)]
    result = evacuate(run_module)
    assert result['failed'] is True
    assert "ended (migration 1 is 'done') but could not be verified: the server is SHUTOFF, it should be ACTIVE" \
        in result['msg']
    assert result['host'] == 'compute2'


def test_the_wrong_host_at_the_end_fails_verification(run_module, evac_lab, fakes):
    evac_lab.server_on()
    evac_lab.next_evacuation_script = lambda target, body, final: [
        fakes.step('done', status='ACTIVE', task_state=None, host='compute3', node='compute3', power_state=1)]
    result = evacuate(run_module)
    assert result['failed'] is True
    assert 'the server is on compute3, not on compute2' in result['msg']


def test_no_allocation_on_the_target_fails(run_module, evac_lab):
    evac_lab.claim_on_target = False
    server = evac_lab.server_on()
    result = evacuate(run_module)
    assert result['failed'] is True
    assert "Placement holds no allocation for it on compute2's provider (compute2)" in result['msg']
    assert 'nova-manage placement heal_allocations --instance %s' % server.id in result['msg']
    assert result['placement']['target_allocated'] is False
    assert result['placement']['source_allocated'] is True


def test_the_source_allocation_gone_is_reported(run_module, evac_lab):
    server = evac_lab.server_on()
    evac_lab.allocations[server.id] = []
    result = evacuate(run_module)
    assert result['placement']['source_allocated'] is False
    assert result['placement']['target_allocated'] is True


def test_a_second_run_after_the_host_came_back_reports_the_old_allocation_gone(run_module, evac_lab):
    server = evac_lab.server_on()
    first = evacuate(run_module)
    assert first['placement']['source_allocated'] is True
    # compute1's nova-compute started again and removed its allocation (the record becomes 'completed').
    evac_lab.allocations[server.id] = [evac_lab.providers['compute2']]
    again = evacuate(run_module)
    assert again['changed'] is False
    assert again['placement'] == dict(target_provider='compute2', target_allocated=True,
                                      source_provider='compute1', source_allocated=False)


def test_a_second_run_before_the_host_came_back_still_sees_the_old_allocation(run_module, evac_lab):
    evac_lab.server_on()
    evacuate(run_module)
    again = evacuate(run_module)
    assert again['changed'] is False
    assert again['placement']['source_provider'] == 'compute1'
    assert again['placement']['source_allocated'] is True


def test_done_before_the_host_is_updated_is_waited_out(run_module, evac_lab, fakes):
    # Seen on the lab with a SHUTOFF server: the record says done while the server still reads the failed host.
    evac_lab.server_on(status='SHUTOFF')
    evac_lab.next_evacuation_script = lambda target, body, final: [
        fakes.step('pre-migrating', task_state='rebuilding'),
        fakes.step('done', status='SHUTOFF', task_state=None, power_state=4),
        fakes.step(None, host=target, node=target)]
    result = evacuate(run_module)
    assert result['changed'] is True, result.get('msg')
    assert result['host'] == 'compute2' and result['status'] == 'SHUTOFF'


def test_a_server_left_on_the_failed_host_fails_verification_after_the_grace(run_module, evac_lab, fakes,
                                                                             monkeypatch):
    from ansible_collections.novaops.migration.plugins.modules import evacuate as evacuate_module
    monkeypatch.setattr(evacuate_module, 'HOST_UPDATE_GRACE', 0)
    evac_lab.server_on()
    evac_lab.next_evacuation_script = lambda target, body, final: [
        fakes.step('done', status='ACTIVE', task_state=None, power_state=1)]
    result = evacuate(run_module)
    assert result['failed'] is True
    assert 'could not be verified: the server is still on compute1' in result['msg']


def test_check_mode_can_predict_for_a_fenced_source_nova_still_counts_up(run_module, evac_lab):
    service_body(evac_lab, 'compute1')['state'] = 'up'
    evac_lab.server_on()
    refused = evacuate(run_module, check_mode=True)
    assert refused['failed'] is True and 'Nova refuses to evacuate from a live host' in refused['msg']
    predicted = evacuate(run_module, check_mode=True, predict_forced_down=True)
    assert predicted['changed'] is True and predicted['actions'] == ['evacuate']
    # A real run never evacuates from a live source, whatever the option says.
    real = evacuate(run_module, predict_forced_down=True)
    assert real['failed'] is True and moves(evac_lab) == []
