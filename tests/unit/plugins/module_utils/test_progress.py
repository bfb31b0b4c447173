# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import json

import pytest

from ansible_collections.novaops.migration.plugins.module_utils.progress import (
    DEFAULT_INTERVAL, DEFAULT_TIMEOUT, FollowedJob, JobsOptionError, follow_options, follow_result, progress_line,
    progress_words, read_last_record,
)

MIB = 1024 * 1024


def live_record(**fields):
    """A record as MigrationWatch._sample writes it while a live migration copies memory."""
    record = dict(elapsed=31.2, migration_status='running', server_status='MIGRATING', task_state='migrating',
                  host='compute1', percent=45.3, memory_percent=45.3, disk_percent=None,
                  memory_remaining_bytes=int(12.1 * MIB), disk_remaining_bytes=None, migration_id=7)
    record.update(fields)
    return record


def cold_record(**fields):
    record = dict(elapsed=12.0, migration_status='post-migrating', server_status='RESIZE',
                  task_state='resize_migrated', host='compute1', percent=None, memory_percent=None,
                  disk_percent=None, memory_remaining_bytes=None, disk_remaining_bytes=None, migration_id=8)
    record.update(fields)
    return record


def job(progress_file=None, label='live migration of myinstance compute1 -> compute2', jid='j1.1'):
    return FollowedJob(jid=jid, label=label, progress_file=progress_file)


# -- the words of a progress line ---------------------------------------------------------------------------------

def test_live_record_says_status_percent_and_memory_left():
    assert progress_words(live_record()) == (
        'running, 45.3% copied, memory 12.1 MiB left, server MIGRATING (migrating) on compute1')


def test_disk_left_only_when_nova_reports_a_share_of_the_disk():
    # Without block migration Nova reports disk bytes of 0 but no share: saying "disk 0.0 MiB left" would mislead.
    assert 'disk' not in progress_words(live_record(disk_remaining_bytes=0, disk_percent=None))
    words = progress_words(live_record(disk_remaining_bytes=0, disk_percent=100.0))
    assert words == ('running, 45.3% copied, memory 12.1 MiB left, disk 0.0 MiB left, '
                     'server MIGRATING (migrating) on compute1')


def test_cold_record_has_no_copy_words():
    assert progress_words(cold_record()) == 'post-migrating, server RESIZE (resize_migrated) on compute1'


def test_server_without_task_is_said_plainly():
    assert progress_words(cold_record(migration_status='finished', server_status='VERIFY_RESIZE', task_state=None,
                                      host='compute2')) == 'finished, server VERIFY_RESIZE on compute2'


@pytest.mark.parametrize('record', [None, {}, dict(elapsed=0.4, migration_status=None)])
def test_empty_record_says_requested(record):
    assert progress_words(record) == 'requested'


def test_numbers_that_are_not_numbers_are_left_out():
    # A record is the module's, but a file can hold anything: a wrong field must not end the follow.
    assert progress_words(live_record(percent='lots', memory_remaining_bytes=True, server_status=None,
                                      task_state=None, host=None)) == 'running'


def test_line_has_label_words_and_seconds():
    assert progress_line('live migration of myinstance compute1 -> compute2', 'running, 45.3% copied', 31.25) == \
        'live migration of myinstance compute1 -> compute2: running, 45.3% copied, 31.2 s'
    assert progress_line('job j1', 'running', None) == 'job j1: running'


# -- when a line is printed -----------------------------------------------------------------------------------------

def write_records(path, *records):
    with open(str(path), 'a') as stream:
        for record in records:
            stream.write(json.dumps(record) + '\n')


def test_same_record_gives_no_new_line(tmp_path):
    progress = tmp_path / 'progress'
    followed = job(str(progress))
    write_records(progress, live_record())
    followed.read_progress()
    first = followed.news(elapsed=1.0)
    assert first == ['live migration of myinstance compute1 -> compute2: running, 45.3% copied, memory 12.1 MiB left, '
                     'server MIGRATING (migrating) on compute1, 31.2 s']
    followed.read_progress()
    assert followed.news(elapsed=2.0) == []
    # The same words later (only the time moved) are no news either.
    write_records(progress, live_record(elapsed=40.0))
    followed.read_progress()
    assert followed.news(elapsed=3.0) == []


def test_rounding_decides_what_changed(tmp_path):
    progress = tmp_path / 'progress'
    followed = job(str(progress))
    write_records(progress, live_record(memory_remaining_bytes=int(12.10 * MIB)))
    followed.read_progress()
    assert len(followed.news(elapsed=1.0)) == 1
    write_records(progress, live_record(memory_remaining_bytes=int(12.12 * MIB)))
    followed.read_progress()
    assert followed.news(elapsed=2.0) == []
    write_records(progress, live_record(memory_remaining_bytes=int(6.0 * MIB), percent=70.0))
    followed.read_progress()
    assert followed.news(elapsed=3.0) == [
        'live migration of myinstance compute1 -> compute2: running, 70.0% copied, memory 6.0 MiB left, '
        'server MIGRATING (migrating) on compute1, 31.2 s']


def test_job_without_progress_file_says_running_once_then_how_it_ended():
    followed = job(label='sleeper')
    followed.take_status(dict(started=True, finished=False, ansible_job_id='j1.1'))
    assert followed.news(elapsed=0.0) == ['sleeper: running, 0.0 s']
    followed.take_status(dict(started=True, finished=False, ansible_job_id='j1.1'))
    assert followed.news(elapsed=3.0) == []
    followed.take_status(dict(finished=True, changed=True, rc=0, ansible_job_id='j1.1'))
    assert followed.news(elapsed=6.0) == ['sleeper: done, 6.0 s']
    assert followed.news(elapsed=9.0) == []


def test_progress_file_before_any_record_says_requested(tmp_path):
    followed = job(str(tmp_path / 'not-yet'), label='cold migration of myinstance')
    followed.read_progress()
    assert followed.news(elapsed=0.5) == ['cold migration of myinstance: requested, 0.5 s']


def test_last_progress_is_said_before_the_end(tmp_path):
    progress = tmp_path / 'progress'
    followed = job(str(progress), label='move')
    followed.read_progress()
    followed.news(elapsed=0.0)
    write_records(progress, cold_record(migration_status='confirmed', server_status='ACTIVE', task_state=None,
                                        host='compute2', elapsed=50.0))
    followed.read_progress()
    followed.take_status(dict(finished=True, failed=True, msg='the server did not come up\non compute2'))
    assert followed.news(elapsed=51.0) == ['move: confirmed, server ACTIVE on compute2, 50.0 s',
                                           'move: failed: the server did not come up on compute2, 51.0 s']


def test_a_vanished_progress_file_keeps_the_last_record(tmp_path):
    progress = tmp_path / 'progress'
    followed = job(str(progress))
    write_records(progress, live_record())
    followed.read_progress()
    followed.news(elapsed=1.0)
    progress.unlink()
    followed.read_progress()
    assert followed.record == live_record()
    assert followed.news(elapsed=2.0) == []


# -- reading the progress file --------------------------------------------------------------------------------------

def test_last_record_of_a_file(tmp_path):
    progress = tmp_path / 'progress'
    write_records(progress, live_record(percent=10.0), live_record(percent=20.0))
    assert read_last_record(str(progress))['percent'] == 20.0


@pytest.mark.parametrize('content', ['', '\n\n', 'not json\n', '[1, 2]\n', '"running"\n', '\x00\xff garbage'])
def test_files_without_a_record_are_no_progress_yet(tmp_path, content):
    progress = tmp_path / 'progress'
    progress.write_text(content, encoding='latin-1')
    assert read_last_record(str(progress)) is None


def test_missing_file_is_no_progress_yet(tmp_path):
    assert read_last_record(str(tmp_path / 'missing')) is None
    assert read_last_record(str(tmp_path)) is None


def test_a_line_being_written_is_skipped(tmp_path):
    progress = tmp_path / 'progress'
    write_records(progress, live_record(percent=20.0))
    with open(str(progress), 'a') as stream:
        stream.write('{"percent": 30.0, "migration_st')
    assert read_last_record(str(progress))['percent'] == 20.0


def test_only_the_end_of_a_long_file_is_read(tmp_path):
    progress = tmp_path / 'progress'
    write_records(progress, *[live_record(percent=float(step % 100), elapsed=float(step)) for step in range(5000)])
    assert read_last_record(str(progress))['elapsed'] == 4999.0


def test_unchanged_file_is_not_read_again(tmp_path, monkeypatch):
    progress = tmp_path / 'progress'
    write_records(progress, live_record())
    followed = job(str(progress))
    followed.read_progress()
    reads = []
    monkeypatch.setattr('ansible_collections.novaops.migration.plugins.module_utils.progress.read_last_record',
                        reads.append)
    followed.read_progress()
    assert reads == []


# -- the state of a job, from async_status -------------------------------------------------------------------------

def test_running_then_finished():
    followed = job()
    followed.take_status(dict(started=True, finished=False, ansible_job_id='j1.1', results_file='/async/j1.1'))
    assert not followed.done
    followed.take_status(dict(finished=1, changed=False, rc=0, stdout='ok', ansible_job_id='j1.1'))
    assert followed.done and followed.succeeded
    assert followed.result() == dict(finished=True, changed=False, rc=0, stdout='ok', ansible_job_id='j1.1',
                                     label='live migration of myinstance compute1 -> compute2', jid='j1.1')


def test_module_failure_is_a_failed_job():
    followed = job()
    followed.take_status(dict(finished=True, failed=True, msg='migration 7 is error', server=dict(id='s1')))
    assert followed.done and not followed.succeeded
    assert followed.result()['msg'] == 'migration 7 is error'
    assert followed.result()['server'] == dict(id='s1')


def test_job_file_gone_is_a_failed_job_with_the_reason():
    followed = job()
    followed.take_status(dict(failed=True, msg='could not find job', ansible_job_id='j1.1', started=True,
                              finished=True), async_dir='/root/.ansible_async')
    assert followed.done and not followed.succeeded and not followed.cleanable
    message = followed.result()['msg']
    assert 'j1.1' in message and 'could not find job' in message and '/root/.ansible_async' in message


def test_unreadable_job_file_is_a_failed_job():
    followed = job()
    followed.take_status(dict(failed=True, msg='Could not parse job output: {"sta', started=True, finished=True,
                              results_file='/async/j1.1'))
    assert followed.done and not followed.succeeded and not followed.cleanable
    assert 'Could not parse job output' in followed.result()['msg']


def test_status_call_that_crashed_is_a_failed_job():
    followed = job()
    followed.take_status(dict(failed=True, msg='MODULE FAILURE: /usr/bin/python: not found', rc=127))
    assert followed.done and not followed.succeeded
    assert 'MODULE FAILURE' in followed.result()['msg']


# -- the options ----------------------------------------------------------------------------------------------------

def a_job(**fields):
    element = dict(jid='j1.1', label='live migration of myinstance compute1 -> compute2', progress_file='/tmp/x')
    element.update(fields)
    return element


def test_defaults():
    options = follow_options(dict(jobs=[a_job()]))
    assert (options.interval, options.status_every, options.timeout, options.cleanup) == \
        (DEFAULT_INTERVAL, DEFAULT_INTERVAL, DEFAULT_TIMEOUT, True)
    assert [(followed.jid, followed.label, followed.progress_file) for followed in options.jobs] == \
        [('j1.1', 'live migration of myinstance compute1 -> compute2', '/tmp/x')]


def test_status_every_follows_interval_unless_given():
    assert follow_options(dict(jobs=[], interval='0.5')).status_every == 0.5
    assert follow_options(dict(jobs=[], interval=0.5, status_every=10)).status_every == 10.0


def test_registered_async_results_are_jobs():
    launched = dict(started=1, finished=0, ansible_job_id='j2.2', results_file='/async/j2.2', changed=True,
                    failed=False, item=dict(name='vm1', id='s1'))
    options = follow_options(dict(jobs=[launched, dict(launched, ansible_job_id='j3.3', item='vm2'),
                                        dict(launched, ansible_job_id='j4.4', item=None)]))
    assert [(followed.jid, followed.label, followed.progress_file) for followed in options.jobs] == \
        [('j2.2', 'vm1', None), ('j3.3', 'vm2', None), ('j4.4', 'job j4.4', None)]


def test_a_skipped_launch_is_passed_through():
    options = follow_options(dict(jobs=[dict(changed=False, skipped=True, skip_reason='Conditional result was False'),
                                        a_job()]))
    skipped = options.jobs[0]
    assert skipped.done and skipped.jid is None
    assert skipped.result()['skipped'] is True


@pytest.mark.parametrize('option', ['interval', 'timeout', 'status_every'])
@pytest.mark.parametrize('value', ['30m', 'abc', '-5', '0', 0, -1, -0.5, '', 'nan', 'inf', True, [3]])
def test_bad_seconds(option, value):
    with pytest.raises(JobsOptionError) as error:
        follow_options({'jobs': [a_job()], option: value})
    message = str(error.value)
    assert option in message
    if isinstance(value, str) and value:
        assert "'%s'" % value in message


@pytest.mark.parametrize('value', ['3', '0.01', 2, 2.5])
def test_good_seconds(value):
    assert follow_options(dict(jobs=[], interval=value, timeout=value)).interval == float(value)


def test_null_is_the_default():
    # As for a module's options, a null value (a variable set to ~) means "not given".
    options = follow_options(dict(jobs=[], interval=None, timeout=None, status_every=None, cleanup=None))
    assert (options.interval, options.timeout, options.cleanup) == (DEFAULT_INTERVAL, DEFAULT_TIMEOUT, True)


@pytest.mark.parametrize('args, words', [
    ({}, 'jobs is required'),
    (dict(jobs='j1.1'), 'jobs must be a list'),
    (dict(jobs=dict(results=[], msg='All items completed')), 'results'),
    (dict(jobs=['j1.1']), 'jobs[0]'),
    (dict(jobs=[dict(label='no jid')]), 'jobs[0] has no jid'),
    (dict(jobs=[a_job(jid='')]), 'jobs[0] has no jid'),
    (dict(jobs=[a_job(jid='../../etc/passwd')]), 'jobs[0]'),
    (dict(jobs=[a_job(jid=['j1'])]), 'jobs[0]'),
    (dict(jobs=[a_job(), a_job(label='again')]), 'jobs[0] and jobs[1]'),
    (dict(jobs=[a_job(progress_file=3)]), 'progress_file'),
    (dict(jobs=[a_job(label=['x'])]), 'label'),
    (dict(jobs=[], cleanup='maybe'), 'cleanup'),
])
def test_bad_jobs_and_cleanup(args, words):
    with pytest.raises(JobsOptionError) as error:
        follow_options(args)
    assert words in str(error.value)


def test_check_mode_needs_no_jid():
    # In check mode the launches ran with async 0: their results are the modules' predictions, without a job.
    prediction = dict(changed=True, server=dict(id='s1'), item=dict(name='vm1'))
    options = follow_options(dict(jobs=[prediction]), check_mode=True)
    assert options.jobs[0].result() == dict(prediction, label='vm1', jid=None)


def test_job_errors_are_value_errors():
    assert issubclass(JobsOptionError, ValueError)


# -- the result -----------------------------------------------------------------------------------------------------

def test_result_in_the_order_of_the_jobs():
    first, second, third = job(jid='j1.1', label='a'), job(jid='j2.2', label='b'), job(jid='j3.3', label='c')
    first.take_status(dict(finished=True, changed=True, rc=0))
    second.take_status(dict(finished=True, failed=True, msg='boom'))
    third.take_status(dict(started=True, finished=False))
    result = follow_result([first, second, third], rounds=4, lines=5, elapsed=9.87)
    assert [item['label'] for item in result['results']] == ['a', 'b', 'c']
    assert [item['jid'] for item in result['results']] == ['j1.1', 'j2.2', 'j3.3']
    assert result['failed_jobs'] == ['b']
    assert result['running_jobs'] == ['c']
    assert result['changed'] is True
    assert (result['rounds'], result['lines'], result['elapsed']) == (4, 5, 9.9)


def test_nothing_changed():
    followed = job()
    followed.take_status(dict(finished=True, changed=False))
    assert follow_result([followed], rounds=1, lines=1, elapsed=0.0)['changed'] is False
