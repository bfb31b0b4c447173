# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The evacuation's gate, plan, outcomes, report and recovery, from the modules' results."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.novaops.migration.plugins.filter import evacuation


def service(host, state='up', forced_down=False, status='enabled'):
    return dict(binary='nova-compute', host=host, state=state, forced_down=forced_down, status=status)


SILENT = dict(reachable=False, tcp={'22': False}, icmp=False)
ALIVE = dict(reachable=True, tcp={'22': True}, icmp=True)


# -- the gate ----------------------------------------------------------------------------------------------------------
def test_a_down_and_silent_host_may_be_evacuated():
    gate = evacuation.evacuation_gate([service('compute1', 'down'), service('compute2')], 'compute1', SILENT)
    assert gate['evacuate'] is True and gate['wait'] is False and gate['refusal'] is None
    assert gate['verdict'] == 'gone'
    assert gate['partition']['down'] == ['compute1']


def test_a_silent_host_still_counted_up_is_waited_for():
    gate = evacuation.evacuation_gate([service('compute1'), service('compute2')], 'compute1', SILENT)
    assert gate['wait'] is True
    assert gate['evacuate'] is False
    assert gate['refusal'].startswith('Not evacuating compute1, nothing was changed: nova-compute on compute1 is up')


def test_a_fenced_host_may_be_evacuated_at_once():
    gate = evacuation.evacuation_gate([service('compute1'), service('compute2')], 'compute1', SILENT,
                                      dict(fenced=True))
    assert gate['evacuate'] is True and gate['wait'] is False
    assert 'the fencing step succeeded' in gate['reasons']


def test_a_host_that_answers_is_refused_with_the_manual_move_suggested():
    gate = evacuation.evacuation_gate([service('compute1', 'down'), service('compute2')], 'compute1', ALIVE)
    assert gate['evacuate'] is False and gate['wait'] is False
    assert gate['verdict'] == 'host_alive'
    assert 'cold_method=manual' in gate['refusal']


def test_a_failed_fence_is_not_a_proof():
    gate = evacuation.evacuation_gate([service('compute1'), service('compute2')], 'compute1', ALIVE,
                                      dict(fenced=False))
    assert gate['evacuate'] is False
    assert 'the fencing step failed' in gate['refusal']


def test_many_hosts_down_at_once_is_a_partition():
    services = [service('compute%d' % number, 'down') for number in (1, 2)] + [service('compute3')]
    gate = evacuation.evacuation_gate(services, 'compute1', SILENT, dict(fenced=True))
    assert gate['verdict'] == 'partition'
    assert gate['evacuate'] is False and gate['wait'] is False
    assert 'looks like a network partition' in gate['refusal']
    assert gate['partition']['down'] == ['compute1', 'compute2']


def test_an_unknown_host_is_an_error():
    with pytest.raises(AnsibleFilterError, match="no nova-compute service runs on host 'compute9'"):
        evacuation.evacuation_gate([service('compute1')], 'compute9', SILENT)


# -- the plan ----------------------------------------------------------------------------------------------------------
ON_VOLUME = dict(id='s1', name='vol', status='ACTIVE', task_state=None, image_id=None, flavor=dict(ephemeral=0))
LOCAL = dict(id='s2', name='local', status='SHUTOFF', task_state=None, image_id='img1', flavor=dict(ephemeral=0))
BROKEN = dict(id='s3', name='broken', status='ERROR', task_state=None, image_id=None, flavor={})
PAUSED = dict(id='s4', name='paused', status='PAUSED', task_state=None, image_id=None, flavor={})


def test_the_plan_refuses_losses_without_allow_rebuild():
    plan = evacuation.evacuation_plan([ON_VOLUME, LOCAL, PAUSED], 'compute1', '', 2)
    assert [server['id'] for server in plan['evacuable']] == ['s1', 's2']
    assert [server['id'] for server in plan['unevacuable']] == ['s4']
    assert 'PAUSED' in plan['unevacuable'][0]['why']
    assert plan['at_risk_ids'] == ['s2']
    assert plan['refusal'][0].startswith('Not evacuating compute1, nothing was changed: 1 server(s) would lose data')
    assert plan['refusal'][1].startswith('local (s2): its root disk is local, so Nova rebuilds it from its image img1')
    assert plan['line'] == ('compute1: 3 server(s); 2 to evacuate (1 rebuilt from their image), 1 that cannot be '
                            'evacuated; to hosts the scheduler chooses, 2 at a time.')


def test_the_plan_accepts_losses_with_allow_rebuild_and_keeps_them_on_shared_storage():
    assert evacuation.evacuation_plan([LOCAL], 'compute1', 'compute2', 1, allow_rebuild=True)['refusal'] is None
    shared = evacuation.evacuation_plan([LOCAL], 'compute1', 'compute2', 1, shared_storage=True)
    assert shared['refusal'] is None
    assert shared['evacuable'][0]['rebuild'] is False and shared['evacuable'][0]['data_kept'] is True


def test_an_error_server_is_expected_back_active():
    plan = evacuation.evacuation_plan([BROKEN, LOCAL], 'compute1', '', 2, allow_rebuild=True)
    assert [server['expected_status'] for server in plan['evacuable']] == ['ACTIVE', 'SHUTOFF']


def test_a_busy_server_is_not_evacuated():
    busy = dict(ON_VOLUME, task_state='rebooting')
    plan = evacuation.evacuation_plan([busy], 'compute1', '', 2)
    assert plan['evacuable'] == []
    assert "with task 'rebooting' in progress" in plan['unevacuable'][0]['why']


# -- jobs, outcomes, report --------------------------------------------------------------------------------------------
def launches():
    return [dict(ansible_job_id='j1', item=dict(ON_VOLUME, expected_status='ACTIVE')), dict(skipped=True),
            dict(ansible_job_id='j2', item=dict(LOCAL, expected_status='SHUTOFF'))]


def test_jobs_are_labelled_with_their_progress_files():
    jobs = evacuation.evacuation_jobs(launches(), [dict(path='/tmp/p1', item=ON_VOLUME)], 'compute1', 1)
    assert jobs == [dict(jid='j1', label='evacuation of compute1, batch 1, vol', progress_file='/tmp/p1'),
                    dict(jid='j2', label='evacuation of compute1, batch 1, local')]


def ended():
    return [dict(server=dict(id='s1', host='compute2', status='ACTIVE'), duration=20.5, rebuild=False,
                 changed=True),
            dict(failed=True, msg='evacuation of s2 failed: no valid host')]


def test_jobs_of_a_sliding_window_carry_no_batch_number():
    launches = [dict(ansible_job_id='j1', item=dict(id='s1', name='vol'))]
    assert evacuation.evacuation_jobs(launches, [], 'compute1') == [dict(jid='j1', label='evacuation of compute1, vol')]


def test_outcomes_of_a_batch():
    outcomes = evacuation.evacuation_outcomes(ended(), launches(), 'compute1', '')
    assert [(outcome['id'], outcome['evacuated']) for outcome in outcomes] == [('s1', True), ('s2', False)]
    assert outcomes[0]['line'] == 'vol (s1): evacuation compute1 -> compute2 in 20.5 s, now ACTIVE'
    assert outcomes[1]['msg'] == 'evacuation of s2 failed: no valid host'


def test_outcomes_in_check_mode_are_predictions():
    outcomes = evacuation.evacuation_outcomes([], launches(), 'compute1', 'compute2', check_mode=True)
    assert outcomes[1]['line'] == 'local (s2): evacuation compute1 -> compute2, would come back SHUTOFF (check mode)'


def test_the_report_lists_what_is_still_there_and_why():
    plan = evacuation.evacuation_plan([ON_VOLUME, LOCAL, PAUSED], 'compute1', '', 2, allow_rebuild=True)
    outcomes = evacuation.evacuation_outcomes(ended(), launches(), 'compute1', '')
    report = evacuation.evacuation_report([LOCAL, PAUSED], outcomes, plan, 'compute1', 42.0,
                                          gate=dict(verdict='gone', reasons=['r']), rounds=7)
    assert report['lines'][0] == 'Evacuation of compute1: 1 server(s) evacuated, 2 still on compute1, 42.0 s.'
    assert report['stuck'][0] == ('local (s2), SHUTOFF: its evacuation failed: evacuation of s2 failed: no valid '
                                  'host')
    assert report['stuck'][1].startswith("paused (s4), PAUSED: server 'paused' (s4) is PAUSED")
    assert report['failure'][0].startswith('compute1 is not emptied: 2 server(s) are still there')
    assert report['record']['verdict'] == 'gone' and report['record']['rounds'] == 7
    assert report['record']['evacuations'][0] == dict(id='s1', name='vol', evacuated=True, msg='', host='compute2',
                                                      status='ACTIVE', rebuild=False, duration=20.5)


def test_a_complete_evacuation_says_how_to_recover():
    outcomes = evacuation.evacuation_outcomes(ended()[:1], launches()[:1], 'compute1', '')
    report = evacuation.evacuation_report([], outcomes, {}, 'compute1', 30.0)
    assert report['failure'] is None
    assert '-e recover=true' in report['lines'][-1]


# -- recovery ----------------------------------------------------------------------------------------------------------
def record(status, server_id='s1', source='compute1'):
    return dict(id=7, server_id=server_id, status=status, migration_type='evacuation', source_compute=source)


def test_records_awaiting_cleanup():
    records = [record('done'), record('completed', 's2'), record('done', 's3', source='compute2'),
               dict(record('accepted', 's4'), migration_type='live-migration')]
    assert evacuation.evacuations_awaiting_cleanup(records, 'compute1') == [record('done')]


def recheck(host='compute2', source_allocated=False, **extra):
    result = dict(changed=False, server=dict(id='s1', name='vol', host=host, instance_name='instance-00000001'),
                  placement=dict(source_allocated=source_allocated), item='s1')
    result.update(extra)
    return result


def guest(state='undefined'):
    return dict(state=state, item=recheck())


def test_a_clean_host_has_no_problem():
    recovery = evacuation.evacuation_recovery([record('completed')], [guest()], [recheck()], 'compute1')
    assert recovery['problems'] == []
    assert recovery['lines'] == ['Recovery of compute1: 1 evacuation(s) cleaned up by its nova-compute, 1 server(s) '
                                 'and 1 guest(s) checked, no guest runs twice.']
    assert recovery['record']['cleaned'] == 1


@pytest.mark.parametrize('records, guests, rechecks, words', [
    ([record('done')], [guest()], [recheck()], "is still 'done': nova-compute on compute1 has not removed"),
    ([record('completed')], [guest('running')], [recheck()], 'compute1 still has the guest of vol'),
    ([record('completed')], [guest()], [recheck(source_allocated=True)], "allocation on compute1's Placement"),
    ([record('completed')], [guest()], [recheck(host='compute1')], 'vol (s1) is on compute1 again'),
    ([record('completed')], [], [dict(failed=True, msg='no server s1', item='s1')], 'server s1 could not be checked'),
    ([record('completed')], [dict(failed=True, msg='virsh failed', item=recheck())], [recheck()],
     'the guest of vol (instance-00000001) on compute1 could not be checked: virsh failed'),
])
def test_what_a_host_that_came_back_must_not_hold(records, guests, rechecks, words):
    recovery = evacuation.evacuation_recovery(records, guests, rechecks, 'compute1')
    assert len(recovery['problems']) == 1
    assert words in recovery['problems'][0]
    assert '1 problem(s)' in recovery['lines'][0]


def test_a_server_deleted_since_its_evacuation_is_no_problem():
    deleted = dict(failed=True, msg="server 's9' not found in cloud 'lab' (all projects)", item='s9')
    recovery = evacuation.evacuation_recovery([record('completed'), record('completed', 's9')], [guest()],
                                              [recheck(), deleted], 'compute1')
    assert recovery['problems'] == []
