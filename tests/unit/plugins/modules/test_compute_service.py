# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest

from ansible_collections.novaops.migration.plugins.modules.compute_service import ComputeServiceModule

SERVICE_CHANGES = ('compute.disable_service', 'compute.enable_service')


@pytest.fixture
def services(cloud, fakes):
    """compute1 and compute2 enabled, a scheduler on the controller; the compute proxy enables and disables."""
    cloud.compute.service_list = [fakes.compute_service('compute1'), fakes.compute_service('compute2'),
                                  dict(fakes.compute_service('controller'), binary='nova-scheduler')]

    def body_of(service):
        return [body for body in cloud.compute.service_list if body['id'] == service.id][0]

    def disable_service(service, host=None, binary=None, disabled_reason=None):
        cloud.compute._record('disable_service', service.id, host=host, binary=binary,
                              disabled_reason=disabled_reason)
        body = body_of(service)
        body['status'] = 'disabled'
        # Like Nova: a disable without a reason keeps the one recorded.
        if disabled_reason:
            body['disabled_reason'] = disabled_reason

    def enable_service(service, host=None, binary=None):
        cloud.compute._record('enable_service', service.id, host=host, binary=binary)
        body_of(service).update(status='enabled', disabled_reason=None)

    cloud.compute.disable_service = disable_service
    cloud.compute.enable_service = enable_service
    return cloud.compute.service_list


def changes(cloud):
    return [name for name in cloud.call_names() if name in SERVICE_CHANGES]


def status_of(services, host):
    body = [body for body in services if body['host'] == host][0]
    return body['status'], body['disabled_reason']


def disable(run_module, reason='maintenance', **args):
    values = dict(host='compute1', state='disabled', disabled_reason=reason)
    values.update(args)
    return run_module(ComputeServiceModule, values, diff=True)


def test_disables_with_a_reason(run_module, cloud, services):
    result = disable(run_module)
    assert result['changed'] is True
    expected = dict(host='compute1', binary='nova-compute', disabled_reason='maintenance')
    assert cloud.call('compute.disable_service')[1] == expected
    assert status_of(services, 'compute1') == ('disabled', 'maintenance')
    assert status_of(services, 'compute2') == ('enabled', None)
    assert result['service']['host'] == 'compute1'
    assert result['service']['status'] == 'disabled'
    assert result['service']['disabled_reason'] == 'maintenance'
    assert result['diff'] == dict(before=dict(status='enabled', disabled_reason=None),
                                  after=dict(status='disabled', disabled_reason='maintenance'))


def test_same_state_and_reason_changes_nothing(run_module, cloud, services):
    disable(run_module)
    cloud.calls.clear()
    again = disable(run_module)
    assert again['changed'] is False
    assert changes(cloud) == []
    assert again['diff']['before'] == again['diff']['after']


def test_disabled_without_a_reason_keeps_the_recorded_one(run_module, cloud, services):
    disable(run_module)
    cloud.calls.clear()
    again = disable(run_module, reason=None)
    assert again['changed'] is False
    assert again['service']['disabled_reason'] == 'maintenance'
    assert changes(cloud) == []


def test_another_reason_is_a_change(run_module, cloud, services):
    disable(run_module)
    result = disable(run_module, reason='disk replacement')
    assert result['changed'] is True
    assert status_of(services, 'compute1') == ('disabled', 'disk replacement')
    assert result['diff']['before'] == dict(status='disabled', disabled_reason='maintenance')


def test_check_mode_predicts_without_changing(run_module, cloud, services):
    result = run_module(ComputeServiceModule, dict(host='compute1', state='disabled', reason='maintenance'),
                        check_mode=True, diff=True)
    assert result['changed'] is True
    assert result['service']['status'] == 'disabled'
    assert result['service']['disabled_reason'] == 'maintenance'
    assert result['diff']['after'] == dict(status='disabled', disabled_reason='maintenance')
    assert changes(cloud) == []
    assert status_of(services, 'compute1') == ('enabled', None)


def test_check_mode_on_a_service_already_so_predicts_no_change(run_module, cloud, services):
    services[1].update(status='disabled', disabled_reason='maintenance')
    result = run_module(ComputeServiceModule, dict(host='compute2', state='disabled', reason='maintenance'),
                        check_mode=True)
    assert result['changed'] is False


def test_enables_and_clears_the_reason(run_module, cloud, services):
    disable(run_module)
    result = run_module(ComputeServiceModule, dict(host='compute1', state='enabled'), diff=True)
    assert result['changed'] is True
    assert status_of(services, 'compute1') == ('enabled', None)
    assert result['service']['status'] == 'enabled' and result['service']['disabled_reason'] is None
    assert result['diff'] == dict(before=dict(status='disabled', disabled_reason='maintenance'),
                                  after=dict(status='enabled', disabled_reason=None))
    cloud.calls.clear()
    again = run_module(ComputeServiceModule, dict(host='compute1', state='enabled'))
    assert again['changed'] is False
    assert changes(cloud) == []


def test_a_reason_with_state_enabled_is_refused(run_module, cloud, services):
    result = run_module(ComputeServiceModule, dict(host='compute1', state='enabled', reason='why'))
    assert result['failed'] is True
    assert 'disabled_reason is only for state=disabled' in result['msg']
    assert cloud.calls == []


def test_unknown_host_lists_the_known_ones(run_module, cloud, services):
    result = disable(run_module, host='compute9')
    assert result['failed'] is True
    assert result['msg'].startswith("no nova-compute service runs on host 'compute9' in cloud 'lab' "
                                    "(hosts running nova-compute: compute1, compute2)")
    assert changes(cloud) == []


def test_another_binary(run_module, cloud, services):
    result = run_module(ComputeServiceModule, dict(host='controller', binary='nova-scheduler', state='disabled'))
    assert result['changed'] is True
    assert set(str(kwargs) for name, args, kwargs in cloud.calls if name == 'compute.services') == \
        {str(dict(binary='nova-scheduler'))}
    assert status_of(services, 'controller') == ('disabled', None)


def test_a_change_nova_did_not_make_fails(run_module, cloud, services):
    cloud.compute.disable_service = lambda service, **kwargs: None
    result = disable(run_module)
    assert result['failed'] is True
    assert 'nova-compute on compute1 is enabled (reason: None) after the update, expected disabled' in result['msg']


# -- forced_down ---------------------------------------------------------------------------------------------------
@pytest.fixture
def forceable(cloud, services):
    """The services above, plus Nova's PUT /os-services/{id} forced_down (openstacksdk's update_service_forced_down)."""

    def update_service_forced_down(service, host=None, binary=None, forced=True):
        cloud.compute._record('update_service_forced_down', service.id, host=host, binary=binary, forced=forced)
        body = [body for body in services if body['id'] == service.id][0]
        # Like Nova: a forced-down service reads down at once; unforced, its (here: working) heartbeat says up.
        body.update(forced_down=forced, state='down' if forced else 'up')

    cloud.compute.update_service_forced_down = update_service_forced_down
    return services


def forced_changes(cloud):
    return [name for name in cloud.call_names() if name in SERVICE_CHANGES + ('compute.update_service_forced_down',)]


def body_of_host(services, host):
    return [body for body in services if body['host'] == host][0]


def test_forces_a_service_down_and_leaves_its_status(run_module, cloud, forceable):
    result = run_module(ComputeServiceModule, dict(host='compute1', forced_down=True), diff=True)
    assert result['changed'] is True
    assert forced_changes(cloud) == ['compute.update_service_forced_down']
    assert cloud.call('compute.update_service_forced_down')[1] == dict(host='compute1', binary='nova-compute',
                                                                       forced=True)
    assert result['service']['forced_down'] is True
    assert result['service']['state'] == 'down'
    assert result['service']['status'] == 'enabled'
    assert result['diff'] == dict(before=dict(status='enabled', disabled_reason=None, forced_down=False),
                                  after=dict(status='enabled', disabled_reason=None, forced_down=True))
    assert body_of_host(forceable, 'compute2')['forced_down'] is False

    cloud.calls.clear()
    again = run_module(ComputeServiceModule, dict(host='compute1', forced_down=True), diff=True)
    assert again['changed'] is False
    assert forced_changes(cloud) == []
    assert again['diff']['before'] == again['diff']['after']


def test_disables_and_forces_down_in_one_task(run_module, cloud, forceable):
    result = run_module(ComputeServiceModule, dict(host='compute1', state='disabled', reason='host failed',
                                                   forced_down=True))
    assert result['changed'] is True
    assert forced_changes(cloud) == ['compute.disable_service', 'compute.update_service_forced_down']
    assert result['service']['status'] == 'disabled'
    assert result['service']['disabled_reason'] == 'host failed'
    assert result['service']['forced_down'] is True


def test_unforces_a_service(run_module, cloud, forceable):
    body_of_host(forceable, 'compute1').update(forced_down=True, state='down', status='disabled',
                                               disabled_reason='host failed')
    result = run_module(ComputeServiceModule, dict(host='compute1', forced_down=False), diff=True)
    assert result['changed'] is True
    assert cloud.call('compute.update_service_forced_down')[1]['forced'] is False
    assert forced_changes(cloud) == ['compute.update_service_forced_down']
    assert result['service']['forced_down'] is False
    # Without state, a forced_down task leaves the service disabled.
    assert result['service']['status'] == 'disabled'
    assert result['diff']['before']['forced_down'] is True and result['diff']['after']['forced_down'] is False


def test_unforced_and_seen_up_before_it_is_enabled(run_module, cloud, forceable):
    # Nova moves the host's COMPUTE_STATUS_DISABLED trait only when the service is up as it is enabled: enabled
    # while still forced down, the scheduler would skip the host until its nova-compute restarts.
    body_of_host(forceable, 'compute1').update(forced_down=True, state='down', status='disabled',
                                               disabled_reason='host failed')
    result = run_module(ComputeServiceModule, dict(host='compute1', state='enabled', forced_down=False))
    assert result['changed'] is True
    assert forced_changes(cloud) == ['compute.update_service_forced_down', 'compute.enable_service']
    assert result['service']['status'] == 'enabled' and result['service']['forced_down'] is False


def test_a_service_that_stays_down_once_unforced_is_enabled_with_a_warning(run_module, cloud, forceable,
                                                                           monkeypatch):
    body_of_host(forceable, 'compute1').update(forced_down=True, state='down', status='disabled',
                                               disabled_reason='host failed')
    unforce = cloud.compute.update_service_forced_down

    def unforce_but_no_heartbeat(service, **kwargs):
        unforce(service, **kwargs)
        body_of_host(forceable, 'compute1')['state'] = 'down'

    cloud.compute.update_service_forced_down = unforce_but_no_heartbeat
    monkeypatch.setattr(ComputeServiceModule, 'up_timeout', 0)
    result = run_module(ComputeServiceModule, dict(host='compute1', state='enabled', forced_down=False))
    assert result['changed'] is True
    assert forced_changes(cloud) == ['compute.update_service_forced_down', 'compute.enable_service']
    assert any('COMPUTE_STATUS_DISABLED' in warning for warning in result['warnings'])


def test_check_mode_predicts_forced_down_without_changing(run_module, cloud, forceable):
    result = run_module(ComputeServiceModule, dict(host='compute1', forced_down=True), check_mode=True, diff=True)
    assert result['changed'] is True
    assert result['service']['forced_down'] is True
    assert result['service']['state'] == 'down'
    assert result['diff']['after']['forced_down'] is True
    assert forced_changes(cloud) == []
    assert body_of_host(forceable, 'compute1')['forced_down'] is False


def test_without_forced_down_the_flag_is_left_alone_and_not_in_the_diff(run_module, cloud, forceable):
    body_of_host(forceable, 'compute1').update(forced_down=True, state='down')
    result = run_module(ComputeServiceModule, dict(host='compute1', state='enabled'), diff=True)
    assert result['changed'] is False
    assert result['service']['forced_down'] is True
    assert 'forced_down' not in result['diff']['before']


def test_forced_down_needs_microversion_2_53(run_module, cloud, forceable):
    cloud.compute.max_microversion = (2, 52)
    result = run_module(ComputeServiceModule, dict(host='compute1', forced_down=True))
    assert result['failed'] is True
    assert 'forcing a nova-compute service down or up (forced_down) needs microversion 2.53 of the compute API' \
        in result['msg']
    assert 'supports up to 2.52' in result['msg']
    assert forced_changes(cloud) == []


def test_forced_down_is_only_for_nova_compute(run_module, cloud, forceable):
    result = run_module(ComputeServiceModule, dict(host='controller', binary='nova-scheduler', forced_down=True))
    assert result['failed'] is True
    assert 'forced_down is only for nova-compute' in result['msg']
    assert cloud.calls == []


def test_a_forced_down_nova_did_not_make_fails(run_module, cloud, forceable):
    cloud.compute.update_service_forced_down = lambda service, **kwargs: None
    result = run_module(ComputeServiceModule, dict(host='compute1', forced_down=True))
    assert result['failed'] is True
    assert 'nova-compute on compute1 has forced_down False after the update, expected True' in result['msg']


# -- reported_after: a host back from maintenance --------------------------------------------------------------
# The fake services last reported at 2026-11-23T22:40:01 UTC.
LAST_REPORT = 1795473601.0


def back_from_maintenance(run_module, reported_after, check_mode=False, **args):
    values = dict(host='compute1', state='enabled', reported_after=reported_after)
    values.update(args)
    return run_module(ComputeServiceModule, values, check_mode=check_mode)


def test_a_service_that_reported_after_the_time_is_enabled(run_module, cloud, services):
    body_of_host(services, 'compute1').update(status='disabled', disabled_reason='maintenance')
    result = back_from_maintenance(run_module, LAST_REPORT - 30)
    assert result['changed'] is True
    assert changes(cloud) == ['compute.enable_service']
    assert status_of(services, 'compute1') == ('enabled', None)


def test_a_service_is_enabled_once_its_first_report_after_the_time_comes(run_module, cloud, services, monkeypatch):
    body_of_host(services, 'compute1').update(status='disabled', disabled_reason='maintenance')
    naps, sleep = [], cloud.sleep

    def report_while_waiting(seconds):
        naps.append(seconds)
        sleep(seconds)
        if len(naps) == 2:
            body_of_host(services, 'compute1')['updated_at'] = '2026-11-23T22:41:00.000000'

    monkeypatch.setattr(cloud, 'sleep', report_while_waiting)
    result = back_from_maintenance(run_module, LAST_REPORT + 10, report_timeout=600)
    assert result['changed'] is True
    assert len(naps) == 2
    assert changes(cloud) == ['compute.enable_service']


def test_a_service_that_has_not_reported_since_stays_disabled_and_says_so(run_module, cloud, services):
    # nova-compute did not start again after the host's maintenance: Nova still counts it up for a while (its
    # last report is younger than service_down_time), so `up` alone would put a dead host back in service.
    body_of_host(services, 'compute1').update(status='disabled', disabled_reason='maintenance')
    result = back_from_maintenance(run_module, LAST_REPORT + 10, report_timeout=0)
    assert result['failed'] is True
    assert result['msg'] == (
        'nova-compute on compute1 has not reported since 2026-11-23T22:40:11Z (its last report: '
        '2026-11-23T22:40:01Z, state up) within 0 s, so it stays disabled. Is nova-compute running on compute1? '
        '`journalctl -u nova-compute` there says why not.')
    assert changes(cloud) == []
    assert status_of(services, 'compute1') == ('disabled', 'maintenance')


def test_a_service_down_after_the_time_is_not_back(run_module, cloud, services):
    body_of_host(services, 'compute1').update(status='disabled', disabled_reason='maintenance', state='down',
                                              updated_at='2026-11-23T22:41:00.000000')
    result = back_from_maintenance(run_module, LAST_REPORT + 10, report_timeout=0)
    assert result['failed'] is True
    assert 'state down' in result['msg']
    assert changes(cloud) == []


def test_check_mode_does_not_wait_for_a_report(run_module, cloud, services, monkeypatch):
    # In check mode the host's tasks did not run: there is nothing to wait for, only the change to predict.
    body_of_host(services, 'compute1').update(status='disabled', disabled_reason='maintenance')
    monkeypatch.setattr(cloud, 'sleep', lambda seconds: pytest.fail('check mode waited'))
    result = back_from_maintenance(run_module, LAST_REPORT + 10, check_mode=True, report_timeout=0)
    assert result['changed'] is True
    assert changes(cloud) == []


def test_reported_after_is_only_for_enabling(run_module, cloud, services):
    result = back_from_maintenance(run_module, LAST_REPORT, state='disabled')
    assert result['failed'] is True
    assert 'reported_after' in result['msg'] and 'state=enabled' in result['msg']
    assert changes(cloud) == []
