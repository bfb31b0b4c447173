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
    assert order['line'] == ('Maintenance of compute1, compute2, compute3: compute1 done already (state file), '
                             'compute2, compute3 to go. compute2 resumes after the phase maintained.')


def test_the_state_keeps_when_a_host_started_and_its_moves():
    record = dict(moves=[dict(name='web1', host='compute2')])
    state = maintenance.maintenance_state(None, 'compute1', 'drained', 10.0, record)
    state = maintenance.maintenance_state(state, 'compute1', 'done', 30.0)
    assert state == dict(playbook='maintenance', hosts=dict(compute1=dict(phase='done', at=30.0, since=10.0,
                                                                          drain=record)))


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
        on_timeout='abort', progress_interval=2, fallback='cold', grace=300)


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
