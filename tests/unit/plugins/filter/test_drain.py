# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The drain's decisions and report, from the modules' results."""

import pytest

from ansible_collections.novaops.migration.plugins.filter import drain

RUN = dict(id='s1', name='run1', status='ACTIVE', task_state=None)
OFF = dict(id='s2', name='off1', status='SHUTOFF', task_state=None)
BROKEN = dict(id='s3', name='broken', status='ERROR', task_state=None, fault='boom')
BUSY = dict(id='s4', name='busy', status='ACTIVE', task_state='rebooting')
SHELVED = dict(id='s5', name='shelved', status='SUSPENDED', task_state=None)


def test_plan_sorts_the_servers():
    plan = drain.drain_plan([RUN, OFF, BROKEN, BUSY, SHELVED], 'compute1', '', 2, reason='maintenance')
    assert [(server['id'], server['drain_mode']) for server in plan['movable']] == [('s1', 'live'), ('s2', 'cold')]
    assert plan['unmovable_ids'] == ['s3', 's4', 's5']
    assert plan['line'] == ('compute1 (disabled: maintenance): 5 server(s); 1 to live-migrate, 1 to cold-migrate, '
                            '3 that cannot move; to hosts the scheduler chooses, 2 at a time.')


def launches():
    return [dict(ansible_job_id='j1', item=dict(RUN, drain_mode='live')), dict(skipped=True),
            dict(ansible_job_id='j2', item=dict(OFF, drain_mode='cold'))]


def test_jobs_are_labelled_with_their_progress_files():
    files = [dict(path='/tmp/p1', item=RUN), dict(path='/tmp/p2', item=OFF)]
    jobs = drain.drain_jobs(launches(), files, 'compute1', 1)
    assert jobs == [dict(jid='j1', label='drain of compute1, batch 1, run1 (live)', progress_file='/tmp/p1'),
                    dict(jid='j2', label='drain of compute1, batch 1, off1 (cold)', progress_file='/tmp/p2')]


def test_jobs_of_a_sliding_window_carry_no_batch_number():
    jobs = drain.drain_jobs(launches(), [], 'compute1')
    assert [job['label'] for job in jobs] == ['drain of compute1, run1 (live)', 'drain of compute1, off1 (cold)']


@pytest.mark.parametrize('count, concurrency, per_move, expected', [
    (1, 2, 2100, 60),        # a slot is free at once: the floor
    (2, 2, 2100, 60),
    (3, 2, 2100, 2100),      # one round of moves ahead
    (20, 3, 2100, 6 * 2100),
    (5, 1, 100, 400),
])
def test_slot_wait_covers_the_moves_ahead(count, concurrency, per_move, expected):
    assert drain.slot_wait(count, concurrency, per_move) == expected


def test_outcomes_of_a_batch():
    results = [dict(server=dict(host='compute2', status='ACTIVE'), duration=9.5, changed=True),
               dict(failed=True, msg='cold migration failed: no room')]
    outcomes = drain.drain_outcomes(results, launches(), 'compute1', '')
    assert outcomes[0]['moved']
    assert outcomes[0]['line'] == 'run1 (s1): live migration compute1 -> compute2 in 9.5 s, now ACTIVE'
    assert not outcomes[1]['moved'] and outcomes[1]['msg'] == 'cold migration failed: no room'


def test_outcomes_in_check_mode_are_the_predictions():
    predicted = [dict(item=dict(RUN, drain_mode='live'), server=dict(RUN), changed=True)]
    outcomes = drain.drain_outcomes([], predicted, 'compute1', 'compute2', check_mode=True)
    assert outcomes[0]['moved'] and outcomes[0]['line'] == 'run1 (s1): live migration compute1 -> compute2 (check mode)'


def test_report_explains_each_server_left():
    outcomes = drain.drain_outcomes([dict(server=dict(host='compute2', status='ACTIVE'), duration=9.5),
                                     dict(failed=True, msg='no room')], launches(), 'compute1', '')
    report = drain.drain_report([OFF, BROKEN, BUSY, dict(id='s9', name='new', status='ACTIVE')], outcomes,
                                ['s3', 's4'], 'compute1', 42.0)
    assert report['lines'][0] == 'Drain of compute1: 1 server(s) moved, 4 still on compute1, 42.0 s.'
    assert report['stuck'][0] == 'off1 (s2), SHUTOFF: cold migration failed: no room'
    assert 'it is in ERROR (boom); Nova moves no server in ERROR' in report['stuck'][1]
    assert 'it is busy (task rebooting)' in report['stuck'][2]
    assert report['stuck'][3].endswith('it arrived during the drain; run the drain again')
    assert report['failure'][0].startswith('compute1 is not drained: 4 server(s) are still there')
    assert report['record']['moves'][0] == dict(id='s1', name='run1', mode='live', moved=True, msg='', host='compute2',
                                                duration=9.5)


def test_report_of_a_drained_host_has_no_failure():
    report = drain.drain_report([], [], [], 'compute1', 1.0)
    assert report['failure'] is None and report['lines'] == ['Drain of compute1: 0 server(s) moved, 0 still on '
                                                             'compute1, 1.0 s.']


def test_target_problem():
    services = [dict(host='compute1', status='enabled', state='up'), dict(host='compute2', status='disabled',
                                                                          state='up')]
    assert drain.drain_target_problem(services, 'compute1') is None
    assert drain.drain_target_problem(services, 'compute2').startswith('The target compute2 must be a compute host')


def test_enabled_line():
    assert drain.enabled_line('compute1', True) == 'nova-compute on compute1 is enabled: the scheduler places ' \
                                                   'servers there again.'
    assert '(it already was)' in drain.enabled_line('compute1', False)


def planned(*entries):
    return dict(servers=[dict(id=server_id, verdict=verdict, blocked_by=blocked_by, name=server_id,
                              reasons=['why %s' % server_id]) for server_id, verdict, blocked_by in entries],
                problems=[])


def test_the_plan_decides_each_server_s_mode():
    # s1 runs but the plan sends it cold (fallback=cold); s5 arrived after the plan: its status decides.
    plan = drain.drain_plan([RUN, OFF, BROKEN, dict(RUN, id='s5', name='late')], 'compute1', '', 2,
                            migration_plan=planned(('s1', 'cold', None), ('s2', 'cold', None),
                                                   ('s3', 'skip', 'state')))
    assert [(server['id'], server['drain_mode']) for server in plan['movable']] == [
        ('s1', 'cold'), ('s2', 'cold'), ('s5', 'live')]
    assert plan['unmovable_ids'] == ['s3']


def test_a_server_the_plan_skips_is_not_moved_even_if_its_status_would_allow():
    plan = drain.drain_plan([RUN], 'compute1', '', 2, migration_plan=planned(('s1', 'skip', 'move')))
    assert plan['movable'] == [] and plan['unmovable_ids'] == ['s1']


def test_a_plan_that_cannot_finish_refuses_the_drain():
    assert drain.drain_plan_refusal(planned(('s1', 'live', None), ('s3', 'skip', 'state')), 'compute1') is None
    refusal = drain.drain_plan_refusal(dict(planned(('s1', 'skip', 'move')), problems=['no host can take servers']),
                                       'compute1')
    assert refusal[0].startswith('Not draining compute1, nothing was changed: the plan finds 1 problem(s) and 1 '
                                 'server(s) with nowhere to go')
    assert refusal[1:] == ['no host can take servers', 's1 (s1): why s1']


def test_the_line_says_which_moves_in_flight_were_waited_for():
    settled = dict(seconds=31.5, servers=[dict(id='s9', name='web9', status='MIGRATING', task_state='migrating')],
                   busy=[])
    plan = drain.drain_plan([RUN], 'compute1', '', 2, reason='maintenance',
                            migration_plan=dict(planned(('s1', 'live', None)), settled=settled))
    assert plan['line'] == ('compute1 (disabled: maintenance): 1 server(s); 1 to live-migrate, 0 to cold-migrate, '
                            '0 that cannot move; to hosts the scheduler chooses, 2 at a time. Waited 31.5 s first '
                            'for 1 server(s) busy with a task (a move an interrupted run started): web9 (s9, '
                            'MIGRATING, task migrating); all of them have ended.')


def test_the_line_names_a_task_that_did_not_end():
    settled = dict(seconds=60.0, servers=[dict(id='s4', name='busy', status='REBOOT', task_state='rebooting')],
                   busy=['busy'])
    migration_plan = dict(planned(('s4', 'skip', 'state')), settled=settled)
    plan = drain.drain_plan([BUSY], 'compute1', '', 1, migration_plan=migration_plan)
    assert plan['line'].endswith('Waited 60.0 s first for 1 server(s) busy with a task (a move an interrupted run '
                                 'started): busy (s4, REBOOT, task rebooting); still busy: busy.')


def test_moves_back_name_each_server_s_own_source():
    """A move back starts from wherever each server went: the jobs, the lines and the outcomes say so."""
    back = [dict(ansible_job_id='j1', item=dict(RUN, drain_mode='live', source_host='compute2')),
            dict(ansible_job_id='j2', item=dict(OFF, drain_mode='cold', source_host='compute3'))]
    jobs = drain.drain_jobs(back, [], 'compute1', label='move back to compute1')
    assert [job['label'] for job in jobs] == ['move back to compute1, run1 (live)',
                                              'move back to compute1, off1 (cold)']
    results = [dict(server=dict(host='compute1', status='ACTIVE'), duration=8.0),
               dict(server=dict(host='compute1', status='SHUTOFF'), duration=20.0)]
    outcomes = drain.drain_outcomes(results, back, 'compute1', 'compute1')
    assert [outcome['source_host'] for outcome in outcomes] == ['compute2', 'compute3']
    assert outcomes[1]['line'] == 'off1 (s2): cold migration compute3 -> compute1 in 20.0 s, now SHUTOFF'
