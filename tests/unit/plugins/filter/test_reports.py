# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The migrate playbook's sentences, made from the modules' results."""

from ansible_collections.novaops.migration.plugins.filter import reports

SERVER = dict(id='srv-1', name='myinstance')
LIVE = dict(mode='live', cold_method='api')
COLD = dict(mode='cold', cold_method='api')


def moved(**overrides):
    result = dict(changed=True, source_host='compute1', target_host='compute2', duration=12.5, migration_id=7,
                  migration=dict(status='completed'),
                  server=dict(id='srv-1', name='myinstance', status='ACTIVE', host='compute2', instance_name='i-1'),
                  progress=[dict(percent=None, elapsed=0.5), dict(percent=40.0, elapsed=3.1),
                            dict(percent=100.0, elapsed=6.0)],
                  ports=[dict(id='port-1', status='ACTIVE', binding_host='compute2')], repaired_ports=[],
                  actions=['live_migrate'])
    result.update(overrides)
    return result


def test_refusal_counts_the_problems():
    assert reports.refusal(['a', 'b']) == ['nothing was changed. 2 problem(s):', 'a', 'b']
    assert reports.refusal(['a'], 'live migration of x to y')[0] == \
        'live migration of x to y would fail; nothing was changed. 1 problem(s):'


def test_move_report_of_a_live_move():
    lines = reports.move_report(moved(), SERVER, LIVE)
    assert lines[0] == ('myinstance (srv-1): compute1 -> compute2, live migration, done in 12.5 s, migration 7 '
                        'completed, now ACTIVE on compute2')
    assert lines[1] == 'copied: 40.0% at 3.1 s, 100.0% at 6.0 s'
    assert lines[2] == 'ports: port-1 ACTIVE on compute2'


def test_move_report_of_a_predicted_cold_move_names_the_method():
    lines = reports.move_report(dict(source_host='compute2', target_host='compute1'), SERVER, COLD, True)
    assert lines == ['myinstance (srv-1): compute2 -> compute1, cold migration (api), would move (check mode)']


def test_repaired_ports_are_said():
    lines = reports.move_report(moved(repaired_ports=['port-1']), SERVER, LIVE)
    assert lines[-1].endswith('(admin state cycled for port-1: Neutron had kept it DOWN)')


def test_unbound_ports():
    assert reports.unbound_ports(moved(), 'compute2') == []
    problems = reports.unbound_ports(moved(ports=[dict(id='p', binding_host='compute1')]), 'compute2')
    assert problems == ['myinstance (srv-1) is on compute2 with ports bound to compute1; expected compute2.']


def test_nothing_to_move():
    assert reports.nothing_to_move(SERVER, 'compute2') == 'myinstance (srv-1) already runs on compute2: nothing to move.'


def test_missing_from_inventory():
    assert reports.missing_from_inventory('compute1', 'compute1') == []
    assert reports.missing_from_inventory('', '') == []
    problem = reports.missing_from_inventory('compute1.lab', '')[0]
    assert problem.startswith('compute1.lab is not in the inventory group compute') and 'skip_host_checks' in problem


def test_move_failure_with_and_without_the_reset():
    failed = dict(failed=True, msg='did not finish within 20 s and was aborted')
    assert reports.move_failure(failed) == 'did not finish within 20 s and was aborted'
    reset = dict(changed=True, ports=[dict(id='port-1', status='ACTIVE')], repaired_ports=['port-1'])
    message = reports.move_failure(failed, 'compute1', reset)
    assert 'the server is recorded as ACTIVE on compute1 again, its ports ACTIVE' in message
    assert 'admin state cycled for port-1' in message
    stuck = dict(changed=True, ports=[dict(id='port-1', status='DOWN')])
    assert 'Ports not ACTIVE: port-1' in reports.move_failure(failed, 'compute1', stuck)
    assert reports.move_failure(failed, 'compute1', dict(changed=False, skipped=True)) == failed['msg']


def test_aborted_on_source():
    aborted = dict(actions=['live_migrate', 'abort'], server=dict(status='ERROR', host='compute1'))
    assert reports.aborted_on_source(aborted, 'compute1')
    assert not reports.aborted_on_source(dict(aborted, server=dict(status='ACTIVE', host='compute1')), 'compute1')
    assert not reports.aborted_on_source(dict(aborted, actions=['live_migrate']), 'compute1')
    assert not reports.aborted_on_source(None, 'compute1')


def test_move_record_is_structured():
    record = reports.move_record(moved(), SERVER, LIVE)
    assert record['server'] == SERVER and record['host'] == 'compute2' and record['migration_status'] == 'completed'
    assert record['method'] is None and record['ports'][0]['binding_host'] == 'compute2'
    assert reports.move_record(moved(), SERVER, COLD)['method'] == 'api'


def test_checkpoint_message():
    assert reports.checkpoint_message('start') == ("Stopped before the step 'start' as asked (manual_stop_before); "
                                                   "run again without it to go on.")


def test_manual_failure_before_and_after_the_commit_point():
    failed = dict(msg='copy failed', stderr='rsync: connection unexpectedly closed')
    before = reports.manual_failure(failed, SERVER, 'compute1', 'compute2', 'Manual | Copy', False)
    assert before.startswith('Manual | Copy failed: copy failed rsync: connection unexpectedly closed.')
    assert "Nova's records still name compute1" in before and 'openstack server start srv-1' in before
    after = reports.manual_failure(dict(msg='boom'), SERVER, 'compute1', 'compute2', 'Manual | Start', True)
    assert "Nova's records already name compute2" in after and 'finish the move on compute2' in after


def test_manual_verdict():
    landed = dict(host='compute2', status='ACTIVE', ports=[dict(binding_host='compute2')])
    assert reports.manual_verdict(landed, 'compute2', 'running', 'undefined') == []
    problems = reports.manual_verdict(landed, 'compute2', 'running', 'shut off')
    assert len(problems) == 1 and "still defined on the source ('shut off')" in problems[0]
    problems = reports.manual_verdict(dict(landed, ports=[dict(binding_host='compute1')]), 'compute2', 'shut off',
                                      'undefined')
    assert "the domain is 'shut off' on compute2" in problems[0] and 'ports bound to compute1' in problems[0]


def test_manual_report():
    plan = dict(source_host='compute1', target_host='compute2', instance_dir='/var/lib/nova/instances/srv-1',
                ports=[dict(id='p1')])
    assert reports.manual_report(plan, SERVER, True).startswith(
        'myinstance (srv-1): compute1 -> compute2, cold migration (manual), would move (check mode): copy '
        '/var/lib/nova/instances/srv-1')
    landed = dict(host='compute2', status='ACTIVE')
    copy = dict(method='tar', copy_seconds=1.2, verify_seconds=0.4)
    line = reports.manual_report(landed, SERVER, False, 'compute1', 44.5, copy)
    assert line == ('myinstance (srv-1): compute1 -> compute2, cold migration (manual), done in 44.5 s, now ACTIVE on '
                    'compute2; copy tar in 1.2 s, verified in 0.4 s, source directory removed.')
    assert 'copy skipped (already copied)' in reports.manual_report(landed, SERVER, False, 'compute1', 3.0, None, True)


# -- server.yml ---------------------------------------------------------------------------------------------------

BOOTED = dict(changed=True, server=dict(id='srv-1', name='myinstance', status='ACTIVE', host='compute1'))
TOKEN = 'b1f7c0de-secret'


def console_result(url_has_token=True):
    url = 'http://controller:6080/vnc_auto.html?path=%3Ftoken%3D' + TOKEN if url_has_token \
        else 'http://controller:6080/vnc_auto.html'
    redacted = 'http://controller:6080/vnc_auto.html?path=%3Ftoken%3D<hidden>' if url_has_token else url
    return dict(changed=False, console=dict(type='novnc', protocol='vnc', url=url, url_redacted=redacted,
                                            url_has_token=url_has_token),
                server=dict(id='srv-1', name='myinstance'))


def test_server_report_gives_the_console_url_without_its_token():
    lines = reports.server_report(BOOTED, console_result())
    assert lines == [
        'Server myinstance (srv-1) is ACTIVE on compute1',
        'Console (token hidden; -e novaops_server_show_console_url=true or `openstack console url show` give it): '
        'http://controller:6080/vnc_auto.html?path=%3Ftoken%3D<hidden>']
    assert not any(TOKEN in line for line in lines)


def test_server_report_of_a_console_url_without_a_token_hides_nothing():
    lines = reports.server_report(BOOTED, console_result(url_has_token=False))
    assert lines[1] == 'Console: http://controller:6080/vnc_auto.html'


def test_server_report_without_a_console_says_why():
    failed = dict(failed=True, msg='the cloud serves no novnc console for myinstance: VNC is disabled')
    assert reports.server_report(BOOTED, failed)[1] == \
        'No console: the cloud serves no novnc console for myinstance: VNC is disabled'
    assert reports.server_report(BOOTED, dict(failed=True))[1] == 'No console: unknown reason'
    assert reports.server_report(BOOTED)[1] == 'No console: unknown reason'


def test_server_report_in_check_mode_marks_what_is_not_known_yet():
    predicted = dict(changed=True, server=dict(name='myinstance', id=None, status='ACTIVE', host=None))
    assert reports.server_report(predicted, dict(failed=True, msg="server 'myinstance' not found"))[0] == \
        'Server myinstance (?) is ACTIVE on ?'


def test_server_report_is_a_filter():
    assert reports.FilterModule().filters()['server_report'] is reports.server_report
