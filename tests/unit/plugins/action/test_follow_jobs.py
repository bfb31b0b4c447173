# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The follow_jobs action plugin, with async_status, the clock and the display faked.

async_status is answered from a script per job (FakeJobs); the clock moves
only when the plugin sleeps, so a follow of an hour runs in milliseconds.
"""

import json
import sys
import types

import pytest

from ansible_collections.novaops.migration.plugins.action import follow_jobs

ASYNC_DIR = '/root/.ansible_async'
RUNNING = dict(started=True, finished=False)


def finished(**fields):
    status = dict(finished=True, changed=True, rc=0)
    status.update(fields)
    return status


def stack_depth():
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


class FakeJobs(object):
    """Stands in for _execute_module: async_status answers from a script per job id."""

    def __init__(self, clock):
        self.clock = clock
        # jid -> statuses that successive status calls return; the last one repeats.
        self.scripts = {}
        self.status_calls = []
        self.cleanups = []
        self.other_calls = []
        self.depths = set()
        self.cleanup_answer = None
        # Seconds a status call takes: async_status runs a module on the host.
        self.call_seconds = 0

    def script(self, jid, *statuses):
        self.scripts[jid] = list(statuses)

    def __call__(self, module_name=None, module_args=None, task_vars=None, **kwargs):
        args = dict(module_args)
        if module_name != 'ansible.legacy.async_status' or args.get('_async_dir') != ASYNC_DIR:
            self.other_calls.append((module_name, args))
            return dict(failed=True, msg='unexpected call')
        jid = args['jid']
        if args.get('mode') == 'cleanup':
            self.cleanups.append(jid)
            if self.cleanup_answer is not None:
                return dict(self.cleanup_answer)
            return dict(ansible_job_id=jid, erased='%s/%s' % (ASYNC_DIR, jid))
        self.status_calls.append((jid, self.clock.now))
        self.depths.add(stack_depth())
        self.clock.now += self.call_seconds
        if jid not in self.scripts:
            return dict(failed=True, msg='could not find job', ansible_job_id=jid, started=True, finished=True)
        script = self.scripts[jid]
        status = script.pop(0) if len(script) > 1 else script[0]
        return dict(status, ansible_job_id=jid)

    def calls_for(self, jid):
        return [time for called, time in self.status_calls if called == jid]


class FakeClock(object):
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []
        self.on_sleep = None

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep(len(self.sleeps))


class FakeDisplay(object):
    def __init__(self):
        self.lines = []
        self.warnings = []

    def display(self, msg, **_options):
        self.lines.append(msg)

    def warning(self, msg, **_options):
        self.warnings.append(msg)

    def __getattr__(self, name):
        # debug, vvv...: not under test
        return lambda *args, **kwargs: None


@pytest.fixture
def harness(monkeypatch):
    clock = FakeClock()
    jobs = FakeJobs(clock)
    shown = FakeDisplay()
    monkeypatch.setattr(follow_jobs, 'display', shown)

    def run(check_mode=False, **args):
        task = types.SimpleNamespace(args=args, check_mode=check_mode, async_val=0, delegate_to=None,
                                     action='novaops.migration.follow_jobs')
        connection = types.SimpleNamespace(_shell=types.SimpleNamespace(tmpdir=None))
        plugin = follow_jobs.ActionModule(task, connection, play_context=None, loader=None, templar=None,
                                          shared_loader_obj=None)
        plugin._execute_module = jobs
        plugin._get_async_dir = lambda: ASYNC_DIR
        plugin._clock = clock.clock
        plugin._sleep = clock.sleep
        return plugin.run(task_vars={})

    return types.SimpleNamespace(run=run, jobs=jobs, clock=clock, shown=shown)


def job(jid, label=None, progress_file=None):
    element = dict(jid=jid, label=label or 'move %s' % jid)
    if progress_file:
        element['progress_file'] = str(progress_file)
    return element


def test_finished_after_some_rounds(harness):
    harness.jobs.script('j1.1', RUNNING, RUNNING, RUNNING, finished(stdout='moved', server=dict(host='compute2')))
    result = harness.run(jobs=[job('j1.1', 'live migration of myinstance compute1 -> compute2')], interval=3)
    assert not result.get('failed')
    assert result['rounds'] == 4
    assert harness.clock.sleeps == [3.0, 3.0, 3.0]
    outcome = result['results'][0]
    # Every key the job's module returned is kept.
    assert outcome['stdout'] == 'moved' and outcome['server'] == dict(host='compute2') and outcome['rc'] == 0
    assert (outcome['label'], outcome['jid'], outcome['finished']) == \
        ('live migration of myinstance compute1 -> compute2', 'j1.1', True)
    assert result['changed'] is True
    assert result['failed_jobs'] == [] and result['running_jobs'] == []
    assert result['elapsed'] == 9.0
    assert harness.shown.lines == ['live migration of myinstance compute1 -> compute2: running, 0.0 s',
                                   'live migration of myinstance compute1 -> compute2: done, 9.0 s']
    assert result['lines'] == 2
    assert harness.jobs.cleanups == ['j1.1']


def test_thousands_of_rounds_without_growing_the_stack(harness):
    harness.jobs.script('j1.1', *([RUNNING] * 3000 + [finished()]))
    result = harness.run(jobs=[job('j1.1')], interval=0.01, timeout=3600)
    assert result['rounds'] == 3001
    assert len(harness.clock.sleeps) == 3000
    assert len(harness.jobs.status_calls) == 3001
    # Every status call was made from the same depth: the rounds are a loop, not a recursion.
    assert len(harness.jobs.depths) == 1
    # Nothing changed between the first and the last round: two lines, not one per round.
    assert result['lines'] == 2
    assert not result.get('failed')


def test_progress_lines_only_when_the_progress_changes(harness, tmp_path):
    progress = tmp_path / 'progress'
    records = {2: dict(migration_status='running', percent=10.0, memory_remaining_bytes=100 * 1048576, elapsed=6.0),
               3: dict(migration_status='running', percent=10.0, memory_remaining_bytes=100 * 1048576, elapsed=9.0),
               4: dict(migration_status='running', percent=55.5, memory_remaining_bytes=40 * 1048576, elapsed=12.0),
               5: dict(migration_status='completed', server_status='ACTIVE', host='compute2', elapsed=15.0)}

    def write_progress(sleeps):
        if sleeps in records:
            with open(str(progress), 'a') as stream:
                stream.write(json.dumps(records[sleeps]) + '\n')

    harness.clock.on_sleep = write_progress
    harness.jobs.script('j1.1', *([RUNNING] * 6 + [finished()]))
    result = harness.run(jobs=[job('j1.1', 'live migration of vm1', progress)], interval=3)
    assert harness.shown.lines == [
        'live migration of vm1: requested, 0.0 s',
        'live migration of vm1: running, 10.0% copied, memory 100.0 MiB left, 6.0 s',
        'live migration of vm1: running, 55.5% copied, memory 40.0 MiB left, 12.0 s',
        'live migration of vm1: completed, server ACTIVE on compute2, 15.0 s',
        # Once the progress says the move ended, the job is asked again 0.5 s later, not a round later.
        'live migration of vm1: done, 15.5 s',
    ]
    assert result['lines'] == 5 and result['rounds'] == 7


def test_status_every_asks_async_status_less_often_than_progress_is_read(harness, tmp_path):
    progress = tmp_path / 'progress'

    def write_progress(sleeps):
        with open(str(progress), 'a') as stream:
            stream.write(json.dumps(dict(migration_status='running', percent=float(sleeps))) + '\n')

    harness.clock.on_sleep = write_progress
    harness.jobs.script('j1.1', RUNNING, RUNNING, finished())
    result = harness.run(jobs=[job('j1.1', 'vm1', progress)], interval=1, status_every=5)
    assert harness.jobs.calls_for('j1.1') == [1000.0, 1005.0, 1010.0]
    assert result['rounds'] == 11
    # Each round read the file and said the new percentage.
    assert [line for line in harness.shown.lines if '% copied' in line][-1] == 'vm1: running, 10.0% copied, 10.0 s'


def test_an_ending_job_is_asked_sooner_then_less_and_less_often(harness, tmp_path):
    progress = tmp_path / 'progress'
    progress.write_text(json.dumps(dict(migration_status='done', server_status='ACTIVE', host='compute2')) + '\n')
    # The module still verifies (ports) for a while after Nova's end.
    harness.jobs.script('j1.1', *([RUNNING] * 6 + [finished()]))
    result = harness.run(jobs=[job('j1.1', 'evacuation of vm1', progress)], interval=3, status_every=6)
    calls = harness.jobs.calls_for('j1.1')
    gaps = [round(later - earlier, 2) for earlier, later in zip(calls, calls[1:])]
    assert gaps[:3] == [0.5, 1.0, 2.0]
    assert max(gaps) <= 6
    assert len(calls) == 7
    assert not result.get('failed')


def test_a_failed_job_does_not_fail_the_task_nor_stop_the_others(harness):
    harness.jobs.script('j1.1', RUNNING, dict(finished=True, failed=True, changed=False,
                                              msg='live migration of vm1 failed: migration 7 is error'))
    harness.jobs.script('j2.2', RUNNING, RUNNING, RUNNING, finished())
    result = harness.run(jobs=[job('j1.1', 'vm1'), job('j2.2', 'vm2')], interval=2)
    assert not result.get('failed')
    assert result['failed_jobs'] == ['vm1']
    assert result['results'][0]['msg'] == 'live migration of vm1 failed: migration 7 is error'
    assert result['results'][1]['rc'] == 0
    assert result['rounds'] == 4
    # The failed job is not asked again once it ended.
    assert len(harness.jobs.calls_for('j1.1')) == 2 and len(harness.jobs.calls_for('j2.2')) == 4
    assert 'vm1: failed: live migration of vm1 failed: migration 7 is error, 2.0 s' in harness.shown.lines
    assert sorted(harness.jobs.cleanups) == ['j1.1', 'j2.2']


def test_a_vanished_job_is_reported_failed_with_the_reason(harness):
    # No script for j9.9: async_status answers "could not find job", as when its job file is gone.
    harness.jobs.script('j2.2', RUNNING, RUNNING, finished())
    result = harness.run(jobs=[job('j9.9', 'vm9'), job('j2.2', 'vm2')], interval=2)
    assert not result.get('failed')
    assert result['failed_jobs'] == ['vm9']
    vanished = result['results'][0]
    assert vanished['failed'] is True and vanished['jid'] == 'j9.9'
    assert 'could not find job' in vanished['msg'] and ASYNC_DIR in vanished['msg']
    assert result['results'][1]['rc'] == 0 and result['rounds'] == 3
    # Nothing to clean up for a job whose file is gone.
    assert harness.jobs.cleanups == ['j2.2']


def test_timeout_leaves_the_jobs_running_and_names_them(harness):
    harness.jobs.script('j1.1', RUNNING)
    harness.jobs.script('j2.2', RUNNING, finished())
    result = harness.run(jobs=[job('j1.1', 'live migration of vm1'), job('j2.2', 'vm2')], interval=3, timeout=10)
    assert result['failed'] is True
    assert 'live migration of vm1' in result['msg'] and 'j1.1' in result['msg'] and '10' in result['msg']
    assert 'vm2' not in result['msg']
    assert result['running_jobs'] == ['live migration of vm1']
    assert result['results'][0]['finished'] is False
    assert result['results'][1]['finished'] is True
    # Slept up to the deadline exactly and looked one last time there.
    assert harness.clock.sleeps == [3.0, 3.0, 3.0, 1.0]
    assert harness.jobs.calls_for('j1.1')[-1] == 1010.0
    assert result['rounds'] == 5
    # The running job is neither cleaned up nor touched in any other way.
    assert harness.jobs.cleanups == ['j2.2']
    assert harness.jobs.other_calls == []


def test_a_round_past_the_deadline_is_followed_by_a_last_look(harness):
    # The first status call outlasts the whole timeout: the state reported must be read after the deadline.
    harness.jobs.call_seconds = 4
    harness.jobs.script('j1.1', RUNNING, finished())
    result = harness.run(jobs=[job('j1.1')], interval=1, timeout=3)
    assert not result.get('failed')
    assert harness.jobs.calls_for('j1.1') == [1000.0, 1004.0]
    assert harness.clock.sleeps == [] and result['rounds'] == 2


def test_timeout_with_slow_status_calls_still_ends(harness):
    harness.jobs.call_seconds = 4
    harness.jobs.script('j1.1', RUNNING)
    result = harness.run(jobs=[job('j1.1')], interval=1, timeout=3)
    assert result['failed'] is True and result['running_jobs'] == ['move j1.1']
    assert harness.jobs.calls_for('j1.1') == [1000.0, 1004.0]


def test_cleanup_once_per_finished_job(harness):
    harness.jobs.script('j1.1', finished())
    harness.jobs.script('j2.2', RUNNING, RUNNING, finished())
    harness.jobs.script('j3.3', RUNNING, finished(failed=True, msg='boom'))
    harness.run(jobs=[job('j1.1'), job('j2.2'), job('j3.3')], interval=1)
    assert sorted(harness.jobs.cleanups) == ['j1.1', 'j2.2', 'j3.3']


def test_no_cleanup_when_asked_not_to(harness):
    harness.jobs.script('j1.1', RUNNING, finished())
    result = harness.run(jobs=[job('j1.1')], interval=1, cleanup=False)
    assert harness.jobs.cleanups == []
    assert result['results'][0]['finished'] is True


def test_a_failed_cleanup_is_a_warning(harness):
    harness.jobs.script('j1.1', finished())
    harness.jobs.cleanup_answer = dict(failed=True, msg='Permission denied')
    result = harness.run(jobs=[job('j1.1', 'vm1')], interval=1)
    assert not result.get('failed') and result['failed_jobs'] == []
    assert len(harness.shown.warnings) == 1
    assert 'vm1' in harness.shown.warnings[0] and 'Permission denied' in harness.shown.warnings[0]


def test_registered_results_of_a_loop(harness):
    launches = dict(changed=True, msg='All items completed', results=[
        dict(started=1, finished=0, ansible_job_id='j1.1', results_file=ASYNC_DIR + '/j1.1', item=dict(name='vm1')),
        dict(started=1, finished=0, ansible_job_id='j2.2', results_file=ASYNC_DIR + '/j2.2', item=dict(name='vm2')),
    ])
    harness.jobs.script('j1.1', finished())
    harness.jobs.script('j2.2', RUNNING, finished(changed=False))
    result = harness.run(jobs=launches['results'], interval=1)
    assert [(item['label'], item['jid']) for item in result['results']] == [('vm1', 'j1.1'), ('vm2', 'j2.2')]
    assert result['changed'] is True


def test_a_skipped_launch_is_reported_as_it_is(harness):
    harness.jobs.script('j1.1', finished())
    skipped = dict(changed=False, skipped=True, skip_reason='Conditional result was False', false_condition='x')
    result = harness.run(jobs=[skipped, job('j1.1', 'cold move')], interval=1)
    assert result['results'][0]['skipped'] is True
    assert harness.jobs.calls_for('j1.1') and len(harness.jobs.status_calls) == 1


def test_no_jobs_is_nothing_to_follow(harness):
    result = harness.run(jobs=[])
    assert (result['results'], result['rounds'], result['changed']) == ([], 0, False)
    assert harness.jobs.status_calls == [] and harness.clock.sleeps == []


def test_check_mode_returns_the_predictions_without_polling(harness):
    predictions = [dict(changed=True, server=dict(id='s1', host='compute1'), item=dict(name='vm1')),
                   dict(changed=False, failed=True, msg='no host', item=dict(name='vm2'))]
    result = harness.run(check_mode=True, jobs=predictions, interval=1)
    assert not result.get('failed')
    assert result['rounds'] == 0 and result['lines'] == 0
    assert result['results'] == [dict(predictions[0], label='vm1', jid=None),
                                 dict(predictions[1], label='vm2', jid=None)]
    assert result['failed_jobs'] == ['vm2'] and result['changed'] is True
    assert harness.jobs.status_calls == [] and harness.jobs.cleanups == [] and harness.clock.sleeps == []


@pytest.mark.parametrize('option, value', [
    ('interval', '30m'), ('interval', 'abc'), ('interval', '-5'), ('interval', '0'), ('interval', 0),
    ('timeout', '30m'), ('timeout', 'abc'), ('timeout', -5), ('timeout', '0'), ('status_every', 'soon'),
])
def test_bad_options_fail_before_polling(harness, option, value):
    harness.jobs.script('j1.1', finished())
    result = harness.run(**{'jobs': [job('j1.1')], option: value})
    assert result['failed'] is True
    assert option in result['msg'] and str(value) in result['msg']
    assert harness.jobs.status_calls == [] and harness.clock.sleeps == []


def test_bad_options_fail_in_check_mode_too(harness):
    result = harness.run(check_mode=True, jobs=[], interval='abc')
    assert result['failed'] is True and 'interval' in result['msg']


def test_unknown_option_is_refused(harness):
    from ansible.errors import AnsibleActionFail
    with pytest.raises(AnsibleActionFail) as error:
        harness.run(jobs=[], poll=3)
    assert 'poll' in str(error.value)
