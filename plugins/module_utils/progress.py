# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Following background jobs and the progress they write: the logic of the follow_jobs action.

A job is a task started with ``async`` and ``poll: 0``; a migration module
run that way appends each change of its move to a progress file, one JSON
object a line (MigrationWatch._report). Here: checking follow_jobs' options,
reading the last record of a progress file, putting a record into words,
telling when those words changed, reading async_status' answers and shaping
the task's result. Nothing here talks to a host or fails a task: bad input
raises JobsOptionError and the action plugin decides.
"""

import json
import math
import os
from collections.abc import Mapping

from ansible.module_utils.parsing.convert_bool import boolean

MIB = 1024 * 1024

# Seconds between two rounds; every round reads the progress files.
DEFAULT_INTERVAL = 3.0
# Migration statuses after which a module only verifies and returns: its job is asked every ENDING_INTERVAL
# seconds from then on, so the play sees the end within a fraction of a second instead of a whole round late.
ENDING_STATUSES = ('completed', 'done', 'confirmed', 'reverted', 'failed', 'error', 'cancelled')
ENDING_INTERVAL = 0.5
# Seconds follow_jobs waits for the jobs. A migration run by playbooks/migrate.yml may take its timeout (1800 s)
# plus two grace periods to abort or force it (2 x 300 s); set timeout to the jobs' async value when it is longer.
DEFAULT_TIMEOUT = 3600.0

# Bytes read from the end of a progress file: many records of MigrationWatch (about 350 bytes each).
TAIL_BYTES = 64 * 1024
# Longest reason of a failed job shown on its progress line (the result keeps all of it).
REASON_CHARS = 300


class JobsOptionError(ValueError):
    """An option of follow_jobs is wrong; the message names it, says what it got and what it expects."""


class FollowOptions(object):
    """follow_jobs' options, checked: the jobs as FollowedJob objects, the times as float seconds."""

    def __init__(self, jobs, interval, status_every, timeout, cleanup):
        self.jobs = jobs
        self.interval = interval
        self.status_every = status_every
        self.timeout = timeout
        self.cleanup = cleanup


def _shown(value):
    """A value as the user wrote it, for an error message: strings quoted, the rest as Python prints it."""
    if isinstance(value, str):
        return "'%s'" % value
    return repr(value)


def seconds_option(name, value, default):
    """Seconds greater than 0, from a number or a numeric string; None means the default."""
    if value is None:
        return default
    expected = 'a number of seconds greater than 0 (for example 3 or 0.5)'
    # bool is an int to Python, but "interval: true" is a mistake, not 1 s.
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise JobsOptionError('%s must be %s, got %s' % (name, expected, _shown(value)))
    try:
        seconds = float(value)
    except ValueError:
        # "30m", "5s": a duration with a unit, where only a number of seconds is understood.
        unit_hint = ' (no units: 1800 is half an hour)' if value.strip()[:1].isdigit() else ''
        raise JobsOptionError('%s must be %s, got %s%s' % (name, expected, _shown(value), unit_hint)) from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise JobsOptionError('%s must be %s, got %s' % (name, expected, _shown(value)))
    return seconds


def bool_option(name, value, default):
    if value is None:
        return default
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise JobsOptionError('%s must be true or false, got %s' % (name, _shown(value))) from None


def follow_options(args, check_mode=False):
    """The checked options of a follow_jobs task from its arguments; raises JobsOptionError.

    In check mode the launches ran with ``async: 0`` (nothing runs long in
    check mode), so a job needs no job id: its result is the prediction.
    """
    interval = seconds_option('interval', args.get('interval'), DEFAULT_INTERVAL)
    status_every = seconds_option('status_every', args.get('status_every'), interval)
    timeout = seconds_option('timeout', args.get('timeout'), DEFAULT_TIMEOUT)
    cleanup = bool_option('cleanup', args.get('cleanup'), True)
    return FollowOptions(jobs_option(args.get('jobs'), check_mode), interval, status_every, timeout, cleanup)


def jobs_option(elements, check_mode=False):
    """FollowedJob objects from the ``jobs`` option, in its order."""
    if elements is None:
        raise JobsOptionError('jobs is required: the registered results of the tasks started with async and '
                              'poll: 0, or dicts with jid, label and progress_file')
    if isinstance(elements, Mapping):
        hint = (": a registered loop's jobs are in its results, pass jobs: \"{{ name.results }}\""
                if 'results' in elements else ': put the job in a list, jobs: ["{{ name }}"]')
        raise JobsOptionError('jobs must be a list, got a dict%s' % hint)
    if not isinstance(elements, (list, tuple)):
        raise JobsOptionError('jobs must be a list of jobs, got %s' % _shown(elements))
    jobs = []
    first_of_jid = {}
    for index, element in enumerate(elements):
        followed = job_from_element(index, element, check_mode)
        if followed.jid is not None:
            if followed.jid in first_of_jid:
                raise JobsOptionError('jobs[%d] and jobs[%d] are the same job (jid %s): list each job once'
                                      % (first_of_jid[followed.jid], index, followed.jid))
            first_of_jid[followed.jid] = index
        jobs.append(followed)
    return jobs


def job_from_element(index, element, check_mode=False):
    """A FollowedJob from one element of ``jobs``: a registered async result, or a dict with jid."""
    where = 'jobs[%d]' % index
    if not isinstance(element, Mapping):
        raise JobsOptionError('%s must be a dict (a registered async result, or jid, label and progress_file), '
                              'got %s' % (where, _shown(element)))
    jid = element.get('jid', element.get('ansible_job_id'))
    label = element.get('label')
    if label is not None and not isinstance(label, (str, int, float)):
        raise JobsOptionError('%s: label must be a text, got %s' % (where, _shown(label)))
    progress_file = element.get('progress_file') or None
    if progress_file is not None and not isinstance(progress_file, str):
        raise JobsOptionError('%s: progress_file must be a path, got %s' % (where, _shown(progress_file)))
    if jid is None or jid == '':
        # A launch that was skipped or failed started no job: it is reported as it is, so a play can pass every
        # launch whatever the conditions chose. In check mode no launch started a job.
        if check_mode or element.get('skipped') or element.get('failed'):
            return FollowedJob(None, label_of(element, None, where), progress_file, given=element)
        raise JobsOptionError('%s has no jid (nor ansible_job_id): pass the result registered from a task run '
                              'with async and poll: 0, or a dict with jid: "{{ name.ansible_job_id }}"' % where)
    if isinstance(jid, bool) or not isinstance(jid, (str, int)):
        raise JobsOptionError('%s: jid must be a job id like j123456789.4242, got %s' % (where, _shown(jid)))
    jid = str(jid)
    # The id names a file in the async directory: a path would read (and clean up) another file.
    if '/' in jid or '\\' in jid or jid in ('.', '..'):
        raise JobsOptionError('%s: jid must be a job id like j123456789.4242, got %s' % (where, _shown(jid)))
    return FollowedJob(jid, label_of(element, jid, where), os.path.expanduser(progress_file) if progress_file else None,
                       given=element if check_mode else None)


def label_of(element, jid, where):
    """What a job is called in the lines: its label, else its loop item (its name), else its id."""
    if element.get('label') is not None:
        return str(element['label'])
    item = element.get('item')
    if isinstance(item, Mapping) and item.get('name') is not None:
        return str(item['name'])
    if isinstance(item, (str, int, float)) and not isinstance(item, bool):
        return str(item)
    return 'job %s' % jid if jid else where


def read_last_record(path):
    """The last complete JSON object of a progress file, or None when there is none (yet).

    A missing, empty or garbled file is no progress yet, not an error: the
    module creates the file on its first change, and a line may be half
    written. Only the end of the file is read, however long the move.
    """
    try:
        with open(path, 'rb') as stream:
            stream.seek(0, os.SEEK_END)
            size = stream.tell()
            stream.seek(max(0, size - TAIL_BYTES))
            tail = stream.read(TAIL_BYTES)
    except (IOError, OSError):
        return None
    for line in reversed(tail.decode('utf-8', 'replace').splitlines()):
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            return record
    return None


def _number(value):
    """A record's number, or None when it is absent or not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if math.isfinite(value) else None


def _text(value):
    return str(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) and value != '' \
        else None


def progress_words(record):
    """What a progress record says: the migration's status, what is left to copy, the server.

    ``running, 45.3% copied, memory 12.1 MiB left, server MIGRATING (migrating) on compute1``.
    Numbers are rounded as shown, so two records that read the same make the same words.
    """
    record = record if isinstance(record, Mapping) else {}
    words = [_text(record.get('migration_status')) or 'requested']
    percent = _number(record.get('percent'))
    if percent is not None:
        words.append('%.1f%% copied' % percent)
    memory_left = _number(record.get('memory_remaining_bytes'))
    if memory_left is not None:
        words.append('memory %.1f MiB left' % (memory_left / MIB))
    # Nova reports disk bytes (0) even when it copies no disk; only a share of the disk means it does.
    disk_left = _number(record.get('disk_remaining_bytes'))
    if disk_left is not None and _number(record.get('disk_percent')) is not None:
        words.append('disk %.1f MiB left' % (disk_left / MIB))
    server = server_words(record)
    if server:
        words.append(server)
    return ', '.join(words)


def server_words(record):
    """``server RESIZE (resize_migrated) on compute1``, from what the record has of the three."""
    status, task_state, host = (_text(record.get(field)) for field in ('server_status', 'task_state', 'host'))
    words = []
    if status:
        words.append('server %s' % status)
    if task_state:
        words.append('(%s)' % task_state)
    if host:
        words.append('on %s' % host)
    return ' '.join(words)


def progress_line(label, words, elapsed):
    """One line of progress: ``LABEL: WORDS, 31.2 s``."""
    if elapsed is None:
        return '%s: %s' % (label, words)
    return '%s: %s, %.1f s' % (label, words, elapsed)


def one_line(text, limit=REASON_CHARS):
    text = ' '.join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + '...'


def status_call_failed(status):
    """Whether async_status itself failed (job file gone or unreadable, module crashed), not the job.

    A finished job's file has no ``started`` (async_status says finished
    because of that), while async_status' own failures say started and
    finished; a crash of the call says neither.
    """
    if not isinstance(status, Mapping):
        return True
    if not status.get('failed'):
        return False
    return 'finished' not in status or 'started' in status


class FollowedJob(object):
    """One job being followed: what it is, the last progress record read and async_status' last answer.

    Only the latest of each is kept, so following a job for hours uses no
    more memory than following it for a minute.
    """

    def __init__(self, jid, label, progress_file=None, given=None):
        self.jid = jid
        self.label = label
        self.progress_file = progress_file
        # The element of ``jobs`` as given, when it is its own result (a launch that started nothing, check mode).
        self.given = given
        self.record = None
        self.status = None
        self.done = given is not None
        self.succeeded = bool(given is not None and not given.get('failed'))
        # Whether the job's file may be removed: only once async_status read it as finished.
        self.cleanable = False
        self._file_signature = None
        self._said = None

    # -- progress ---------------------------------------------------------------------------------------------------
    def read_progress(self):
        """Read the last record of the progress file, when the file changed since the last read."""
        if not self.progress_file:
            return
        try:
            stat = os.stat(self.progress_file)
        except (IOError, OSError):
            # Gone (removed by the play at the end of the move) or not there yet: keep what was read.
            return
        signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if signature == self._file_signature:
            return
        self._file_signature = signature
        record = read_last_record(self.progress_file)
        if record is not None:
            self.record = record

    def ending(self):
        """Whether the progress says the move is over on Nova's side (the module is about to return)."""
        return not self.done and self.record is not None and self.record.get('migration_status') in ENDING_STATUSES

    def progress_words(self):
        if self.progress_file:
            return progress_words(self.record)
        return 'running'

    def end_words(self):
        if self.succeeded:
            return 'done'
        return 'failed: %s' % one_line(self.result().get('msg') or 'no reason given')

    def news(self, elapsed):
        """The lines to print now: the progress when its words changed, then the end once the job ended."""
        lines = []
        if self.jid is None:
            return lines
        words = self.progress_words()
        # A job that ended before writing any progress goes straight to its end: "requested" would say nothing.
        if words != self._said and (not self.done or self.record is not None):
            seconds = _number(self.record.get('elapsed')) if self.record is not None else None
            lines.append(progress_line(self.label, words, elapsed if seconds is None else seconds))
            self._said = words
        if self.done:
            words = self.end_words()
            if words != self._said:
                lines.append(progress_line(self.label, words, elapsed))
                self._said = words
        return lines

    # -- async_status -----------------------------------------------------------------------------------------------
    def take_status(self, status, async_dir=None):
        """Take async_status' answer about the job: running, finished, or the status call failed."""
        if status_call_failed(status):
            reason = status.get('msg') if isinstance(status, Mapping) else None
            hint = ''
            if reason == 'could not find job':
                job_file = '%s/%s' % (async_dir, self.jid) if async_dir else 'in the async directory'
                hint = ('; its job file %s is gone: the job was cleaned up already, or it was started on another '
                        'host or with another async_dir' % job_file)
            self.status = dict(status if isinstance(status, Mapping) else {}, failed=True, finished=True,
                               msg='cannot tell how job %s (%s) is: async_status said: %s%s'
                               % (self.jid, self.label, reason or 'nothing', hint))
            self.done, self.succeeded, self.cleanable = True, False, False
            return
        status = dict(status)
        # Older async_status (and Windows' one) say 0 and 1.
        for flag in ('started', 'finished'):
            if flag in status:
                status[flag] = bool(status[flag])
        self.status = status
        if status.get('finished'):
            self.done, self.succeeded, self.cleanable = True, not status.get('failed'), True

    def result(self):
        """The job's result as async_status returned it (or as given), with its label and jid."""
        outcome = self.given if self.given is not None else (self.status or dict(started=True, finished=False))
        return dict(outcome, label=self.label, jid=self.jid)


def follow_result(jobs, rounds, lines, elapsed):
    """The result of follow_jobs: the jobs' results in their order, what failed, what still runs."""
    results = [followed.result() for followed in jobs]
    return dict(
        results=results,
        rounds=rounds,
        lines=lines,
        elapsed=round(elapsed, 1),
        failed_jobs=[followed.label for followed, result in zip(jobs, results) if result.get('failed')],
        running_jobs=[followed.label for followed in jobs if not followed.done],
        changed=any(bool(result.get('changed')) for result in results),
    )
