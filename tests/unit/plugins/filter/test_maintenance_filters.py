# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Rolling maintenance's order, state, health and report."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.novaops.migration.plugins.filter import maintenance

HOSTS = ['compute1', 'compute2', 'compute3']


def test_a_fresh_run_does_every_host_in_order():
    order = maintenance.maintenance_order(HOSTS, {})
    assert order['pending'] == [dict(host=host, phase=None) for host in HOSTS]
    assert order['done'] == []
    assert order['line'] == 'Maintenance of compute1, compute2, compute3, one host at a time.'


def test_a_resumed_run_skips_the_hosts_done_and_says_where_it_resumes():
    state = maintenance.maintenance_state({}, 'compute1', 'done', 10.0)
    state = maintenance.maintenance_state(state, 'compute2', 'maintained', 20.0)
    order = maintenance.maintenance_order(HOSTS, state)
    assert order['pending'] == [dict(host='compute2', phase='maintained'), dict(host='compute3', phase=None)]
    assert order['done'] == ['compute1']
    assert order['line'] == ('Maintenance of compute1, compute2, compute3, one host at a time: compute1 done already '
                             '(state file), compute2, compute3 to go. compute2 resumes after the phase maintained.')


def test_the_state_keeps_when_a_host_started_and_its_moves():
    record = dict(moves=[dict(name='web1', host='compute2')])
    state = maintenance.maintenance_state(None, 'compute1', 'drained', 10.0, record)
    state = maintenance.maintenance_state(state, 'compute1', 'done', 30.0)
    assert state == dict(playbook='maintenance', hosts=dict(compute1=dict(
        phase='done', at=30.0, since=10.0, drain=record, reached=dict(drained=10.0, done=30.0))))


@pytest.mark.parametrize('state', [dict(hosts=dict(compute1=dict(phase='rebooting'))), dict(hosts=['compute1']),
                                   'compute1'])
def test_a_state_file_that_is_not_ours_is_refused(state):
    with pytest.raises(AnsibleFilterError, match='maintenance state'):
        maintenance.maintenance_order(HOSTS, state)


def test_an_unknown_phase_is_refused():
    with pytest.raises(AnsibleFilterError, match="unknown maintenance phase 'rebooted'"):
        maintenance.maintenance_state({}, 'compute1', 'rebooted', 1.0)


def test_the_drain_settings_of_a_host():
    settings = dict(concurrency=3, reason='upgrade', move_timeout=600, on_timeout='abort', progress_interval=2,
                    fallback='cold', grace=300)
    assert maintenance.maintenance_drain_settings(settings, 'compute2') == dict(
        host='compute2', target='', concurrency=3, reason='upgrade', enable=False, move_timeout=600,
        on_timeout='abort', progress_interval=2, fallback='cold', grace=300, wave=[])
    assert maintenance.maintenance_drain_settings(settings, 'compute2', 'compute2')['target'] == 'compute2'
    assert maintenance.maintenance_drain_settings(settings, 'compute2', wave=['compute2', 'compute5'])['wave'] == [
        'compute5']


def test_the_report_says_each_host_s_phase_and_moves():
    state = maintenance.maintenance_state({}, 'compute1', 'drained', 10.0,
                                          dict(moves=[dict(name='web1', host='compute2')]))
    state = maintenance.maintenance_state(state, 'compute1', 'done', 30.0)
    state = maintenance.maintenance_state(state, 'compute2', 'drained', 40.0, dict(moves=[]))
    report = maintenance.maintenance_report(state, HOSTS, 55.5, 'compute2')
    assert report['lines'] == ['Maintenance of compute1, compute2, compute3: 1 of 3 host(s) done, 55.5 s; stopped '
                               'at compute2.',
                               'compute1: done; 1 server(s) moved off (web1 -> compute2)',
                               'compute2: drained',
                               'compute3: not started']
    assert report['record']['phases'] == dict(compute1='done', compute2='drained', compute3=None)
    assert report['record']['moves']['compute1'] == [dict(name='web1', host='compute2')]
    assert report['record']['stopped_at'] == 'compute2'
    assert report['record']['reached'] == dict(compute1=dict(drained=10.0, done=30.0), compute2=dict(drained=40.0),
                                               compute3={})


def test_a_host_put_back_in_service_resumes_at_moving_its_servers_back():
    state = maintenance.maintenance_state({}, 'compute1', 'enabled', 10.0)
    order = maintenance.maintenance_order(HOSTS, state)
    assert order['pending'][0] == dict(host='compute1', phase='enabled')
    assert order['line'].endswith('compute1 resumes after the phase enabled.')


def test_the_state_keeps_what_moved_back():
    moved_back = dict(moves=[dict(name='web1', host='compute1', moved=True)])
    state = maintenance.maintenance_state({}, 'compute1', 'done', 30.0, move_back=moved_back)
    assert state['hosts']['compute1']['move_back'] == moved_back


MOVED_OFF = [dict(id='s1', name='web1', mode='live', moved=True, host='compute2'),
             dict(id='s2', name='db1', mode='cold', moved=True, host='compute3'),
             dict(id='s3', name='old', mode='live', moved=True, host='compute2'),
             dict(id='s4', name='back', mode='live', moved=True, host='compute3'),
             dict(id='s5', name='failed', mode='live', moved=False, host='compute1')]
NOW = [dict(id='s1', name='web1', status='ACTIVE', compute_host='compute2'),
       dict(id='s2', name='db1', status='SHUTOFF', compute_host='compute3'),
       dict(id='s4', name='back', status='ACTIVE', compute_host='compute1'),
       dict(id='s9', name='other', status='ACTIVE', compute_host='compute2')]


def test_move_back_candidates_are_the_servers_the_drain_moved_off_and_still_elsewhere():
    candidates = maintenance.move_back_candidates(MOVED_OFF, NOW, 'compute1')
    assert candidates['ids'] == ['s1', 's2']
    assert candidates['back'] == ['back'] and candidates['gone'] == ['old']
    assert candidates['line'] == ('compute1: moving back the 2 server(s) its drain moved off (web1, db1); '
                                  'back already: back; deleted since: old.')


def test_a_resumed_move_back_finds_the_servers_back_already():
    now = [dict(server, compute_host='compute1') for server in NOW]
    candidates = maintenance.move_back_candidates(MOVED_OFF[:2], now, 'compute1')
    assert candidates['ids'] == [] and candidates['back'] == ['web1', 'db1']
    assert candidates['line'] == ('compute1: none of the 2 server(s) its drain moved off to move back; '
                                  'back already: web1, db1.')


def test_move_back_candidates_when_nothing_moved_off():
    candidates = maintenance.move_back_candidates([], NOW, 'compute1')
    assert candidates['ids'] == []
    assert candidates['line'] == 'compute1: its drain moved no server off, none to move back.'


def test_in_check_mode_the_servers_still_on_the_host_would_be_moved_back():
    """Check mode moved nothing off: what the drain would move is what would come back."""
    still_there = [dict(server, compute_host='compute1') for server in NOW[:2]]
    candidates = maintenance.move_back_candidates(MOVED_OFF[:2], still_there, 'compute1', check_mode=True)
    assert candidates['ids'] == [] and candidates['back'] == ['web1', 'db1']
    assert candidates['line'] == ('compute1 (check mode): the 2 server(s) its drain would move off (web1, db1) '
                                  'would be moved back.')


def test_the_move_back_plan_moves_what_the_plan_allows_and_says_why_the_others_stay():
    plan = dict(servers=[
        dict(id='s1', name='web1', status='ACTIVE', source_host='compute2', verdict='live', target='compute1'),
        dict(id='s2', name='db1', status='SHUTOFF', source_host='compute3', verdict='skip',
             reasons=['no room on compute1: VCPU 1 needed, 0 free'])])
    back = maintenance.move_back_plan(plan, 'compute1')
    assert back['movable'] == [dict(id='s1', name='web1', status='ACTIVE', drain_mode='live',
                                    source_host='compute2')]
    assert back['staying'] == ['db1 (s2) stays on compute3: no room on compute1: VCPU 1 needed, 0 free']


def test_the_move_back_report():
    outcomes = [dict(id='s1', name='web1', mode='live', moved=True, msg='', source_host='compute2',
                     line='web1 (s1): live migration compute2 -> compute1 in 8.0 s, now ACTIVE',
                     result=dict(server=dict(host='compute1'), duration=8.0)),
                dict(id='s2', name='db1', mode='cold', moved=False, msg='cold migration failed: boom',
                     source_host='compute3', line='x', result=dict(failed=True, msg='cold migration failed: boom'))]
    candidates = maintenance.move_back_candidates(MOVED_OFF, NOW, 'compute1')
    report = maintenance.move_back_report(outcomes, candidates, dict(staying=['x (s7) stays on compute2: locked']),
                                          'compute1', 31.5)
    assert report['lines'] == [
        'Move back to compute1: 1 server(s) moved back, 2 stay elsewhere, 31.5 s.',
        'web1 (s1): live migration compute2 -> compute1 in 8.0 s, now ACTIVE',
        'db1 (s2) stays on compute3: cold migration failed: boom',
        'x (s7) stays on compute2: locked']
    assert report['record']['moves'] == [
        dict(id='s1', name='web1', mode='live', moved=True, msg='', source_host='compute2', host='compute1',
             duration=8.0),
        dict(id='s2', name='db1', mode='cold', moved=False, msg='cold migration failed: boom', source_host='compute3',
             host=None, duration=None)]
    assert report['record']['back_already'] == ['back'] and report['record']['gone'] == ['old']


def test_the_report_counts_the_servers_moved_back():
    state = maintenance.maintenance_state({}, 'compute1', 'drained', 1.0,
                                          dict(moves=[dict(name='web1', host='compute2', moved=True)]))
    state = maintenance.maintenance_state(state, 'compute1', 'done', 9.0, move_back=dict(
        moves=[dict(name='web1', source_host='compute2', host='compute1', moved=True)]))
    report = maintenance.maintenance_report(state, ['compute1'], 9.0)
    assert report['lines'][1] == ('compute1: done; 1 server(s) moved off (web1 -> compute2); '
                                  '1 moved back (web1 <- compute2)')
    assert report['record']['moved_back'] == dict(compute1=[dict(name='web1', source_host='compute2',
                                                                 host='compute1', moved=True)])


# -- waves: one host per availability zone or aggregate at a time ---------------------------------------------------
def service(host, zone='nova', aggregates=None, binary='nova-compute'):
    return dict(host=host, zone=zone, aggregates=aggregates or [], binary=binary)


ZONED = [service('compute1', 'az1', ['rack-a']), service('compute2', 'az1', ['rack-a']),
         service('compute3', 'az2', ['rack-b']), service('compute4', 'az2', ['rack-b', 'gpu']),
         service('compute5', 'az3'), service('compute6', 'az3'), service('controller', 'internal', [], 'nova-scheduler')]


def pending(*hosts, **phases):
    return [dict(host=host, phase=phases.get(host)) for host in hosts]


def wave_hosts(waves):
    return [[entry['host'] for entry in wave] for wave in waves['waves']]


def test_the_default_is_one_host_at_a_time_in_the_given_order():
    waves = maintenance.maintenance_waves(pending('compute3', 'compute1', 'compute2'), ZONED)
    assert wave_hosts(waves) == [['compute3'], ['compute1'], ['compute2']]
    assert waves['serial'] == [1, 1, 1]
    assert waves['peers'] == dict(compute1=[], compute2=[], compute3=[])
    assert maintenance.maintenance_order(['compute1'], {}, 'zone')['line'] == (
        'Maintenance of compute1, one host per availability zone at a time.')


def test_waves_by_zone_take_at_most_one_host_of_each_zone():
    waves = maintenance.maintenance_waves(pending('compute1', 'compute2', 'compute3', 'compute4', 'compute5'),
                                          ZONED, 'zone')
    assert wave_hosts(waves) == [['compute1', 'compute3', 'compute5'], ['compute2', 'compute4']]
    assert waves['serial'] == [3, 2]
    assert [entry['host'] for entry in waves['queue']] == ['compute1', 'compute3', 'compute5', 'compute2',
                                                           'compute4']
    assert waves['peers']['compute3'] == ['compute1', 'compute5']
    assert waves['line'] == ('2 wave(s), one host per availability zone at a time: compute1 and compute3 and '
                             'compute5 together, then compute2 and compute4 together.')


def test_waves_by_aggregate_keep_apart_hosts_sharing_any_aggregate():
    services = ZONED + [service('compute7', 'az1', ['gpu'])]
    waves = maintenance.maintenance_waves(pending('compute4', 'compute7', 'compute1', 'compute5', 'compute6'),
                                          services, 'aggregate')
    # compute7 shares gpu with compute4; compute5 and compute6 are in no aggregate, so never together either.
    assert wave_hosts(waves) == [['compute4', 'compute1', 'compute5'], ['compute7', 'compute6']]


def test_hosts_an_interrupted_run_left_in_a_phase_go_first_and_a_host_back_in_service_is_no_peer():
    waves = maintenance.maintenance_waves(pending('compute1', 'compute3', 'compute5', compute3='drained',
                                                  compute5='enabled'), ZONED, 'zone')
    assert wave_hosts(waves) == [['compute3', 'compute5', 'compute1']]
    assert waves['peers'] == dict(compute3=['compute1'], compute5=['compute3', 'compute1'],
                                  compute1=['compute3'])


def test_a_wave_of_a_host_nova_does_not_know_is_refused_before_anything_changes():
    with pytest.raises(AnsibleFilterError, match='compute9 runs no nova-compute'):
        maintenance.maintenance_waves(pending('compute1', 'compute9'), ZONED, 'zone')
    with pytest.raises(AnsibleFilterError, match='wave_by must be one of host, zone, aggregate'):
        maintenance.maintenance_waves(pending('compute1'), ZONED, 'rack')
    assert maintenance.maintenance_waves([], ZONED, 'zone')['line'] == 'No host to maintain.'
    assert maintenance.maintenance_waves([], ZONED, 'zone')['serial'] == [1]


def test_the_state_collected_from_hosts_maintained_at_the_same_time():
    base = maintenance.maintenance_state({}, 'compute9', 'done', 1.0)
    first = maintenance.maintenance_state(base, 'compute1', 'enabled', 5.0)
    second = maintenance.maintenance_state(base, 'compute3', 'drained', 6.0, dict(moves=[]))
    hostvars = {
        'c1.lab': dict(maintenance_host=dict(host='compute1', phase=None), maintenance_state=first),
        'compute3': dict(maintenance_host=dict(host='compute3', phase=None), maintenance_state=second,
                         maintenance_failure='nova-compute did not report'),
        'compute5': dict(maintenance_host=dict(host='compute5', phase=None)),
    }
    collected = maintenance.maintenance_collected(base, ['c1.lab', 'compute3', 'compute5', 'gone'], hostvars)
    assert sorted(collected['state']['hosts']) == ['compute1', 'compute3', 'compute9']
    assert collected['state']['hosts']['compute1']['phase'] == 'enabled'
    assert collected['state']['hosts']['compute3'] == dict(phase='drained', at=6.0, since=6.0, drain=dict(moves=[]),
                                                           reached=dict(drained=6.0))
    assert collected['state']['hosts']['compute9']['phase'] == 'done'
    assert collected['stopped_at'] == 'compute3'
    assert collected['failures'] == ['compute3: nova-compute did not report']
    assert maintenance.maintenance_collected({}, [], {}) == dict(
        state=dict(playbook='maintenance', hosts={}), stopped_at='', failures=[])


def test_a_second_drain_of_a_resumed_host_adds_its_moves_to_the_first_ones():
    # A run stopped after compute1 was drained; servers that arrived since leave with the re-run's drain, and
    # its move back must know them too. A server moved again keeps its newest move.
    first = dict(playbook='drain', elapsed=30.0, moves=[
        dict(id='a', name='web1', moved=True, host='compute2'), dict(id='b', name='web2', moved=True, host='compute3')])
    state = maintenance.maintenance_state({}, 'compute1', 'drained', 10.0, first)
    second = dict(playbook='drain', elapsed=12.0, moves=[
        dict(id='c', name='late', moved=True, host='compute2'), dict(id='b', name='web2', moved=True, host='compute2')])
    state = maintenance.maintenance_state(state, 'compute1', 'maintained', 50.0, second)
    entry = state['hosts']['compute1']
    assert entry['phase'] == 'maintained'
    assert [(move['name'], move['host']) for move in entry['drain']['moves']] == [
        ('web1', 'compute2'), ('late', 'compute2'), ('web2', 'compute2')]
    assert entry['drain']['elapsed'] == 12.0
