# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Follow background jobs until they end, printing their progress: the action of novaops.migration.follow_jobs.

A loop against a deadline inside one task, as ansible-core's reboot and
wait_for_connection actions wait: however many rounds it takes, the stack
and the memory stay the same, unlike a task file that includes itself once
per round (ansible-core gives up on those after about 250 rounds).
"""

from __future__ import annotations

import time

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.novaops.migration.plugins.module_utils.progress import (
    ENDING_INTERVAL, JobsOptionError, follow_options, follow_result, one_line,
)

display = Display()

ASYNC_STATUS = 'ansible.legacy.async_status'


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('jobs', 'interval', 'timeout', 'cleanup', 'status_every'))
    _supports_check_mode = True
    _supports_async = False

    # Indirection so unit tests follow hours of jobs without waiting for them.
    _clock = staticmethod(time.monotonic)
    _sleep = staticmethod(time.sleep)

    def _get_async_dir(self):
        """Where the jobs' files are, worked out as ansible-core's async_status action does."""
        async_dir = self.get_shell_option('async_dir', default='~/.ansible_async')
        return self._remote_expand_user(async_dir)

    def _async_status(self, jid, async_dir, task_vars, mode='status'):
        return self._execute_module(module_name=ASYNC_STATUS,
                                    module_args=dict(jid=jid, mode=mode, _async_dir=async_dir), task_vars=task_vars)

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars if task_vars is not None else {}
        result = super().run(tmp, task_vars)
        del tmp  # ActionBase has no use for it any more; the signature keeps it

        try:
            options = follow_options(self._task.args, check_mode=self._task.check_mode)
        except JobsOptionError as error:
            result.update(failed=True, msg='follow_jobs: %s; nothing was followed.' % error)
            return result

        if self._task.check_mode:
            # The launches ran in check mode too: what they returned is all there is to report.
            result.update(follow_result(options.jobs, rounds=0, lines=0, elapsed=0.0))
            return result

        try:
            result.update(self._follow(options, task_vars))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _follow(self, options, task_vars):
        """Rounds until every job ended or the time is up; returns the task's result."""
        jobs = options.jobs
        following = [followed for followed in jobs if not followed.done]
        if not following:
            return follow_result(jobs, rounds=0, lines=0, elapsed=0.0)

        async_dir = self._get_async_dir()
        started = self._clock()
        deadline = started + options.timeout
        next_status = started
        rounds = lines = 0
        # jid -> (when to ask next, the step after that) for the jobs whose progress says they are ending.
        self._ending_asks = {}

        while True:
            rounds += 1
            now = self._clock()
            # async_status runs a module on the host each time, the progress files are local: the files are read
            # every round, the jobs asked every status_every seconds, and once more when the time is up.
            ask_status = now >= next_status or now >= deadline
            # The jobs' state at the timeout is the one reported: it must be read once the time is up.
            looked_after_deadline = ask_status and now >= deadline
            if ask_status:
                next_status = now + options.status_every
            for followed in following:
                followed.read_progress()
                if self._ending_ask_due(followed, now, options.status_every, asked=ask_status) or ask_status:
                    followed.take_status(self._async_status(followed.jid, async_dir, task_vars), async_dir)
                    if followed.done and options.cleanup and followed.cleanable:
                        self._clean_up(followed, async_dir, task_vars)
                # Timed when said: the status calls before may have taken a while.
                for line in followed.news(elapsed=self._clock() - started):
                    display.display(line)
                    lines += 1
            following = [followed for followed in following if not followed.done]
            if not following:
                break
            remaining = deadline - self._clock()
            if remaining <= 0:
                if looked_after_deadline:
                    break
                # The round itself ran past the deadline (a slow status call): one more look, without sleeping.
                continue
            interval = options.interval
            ending_dues = [self._ending_asks[followed.jid][0] for followed in following
                           if followed.ending() and followed.jid in self._ending_asks]
            if ending_dues:
                interval = min(interval, max(min(ending_dues) - self._clock(), 0.05))
            self._sleep(min(interval, remaining))

        result = follow_result(jobs, rounds=rounds, lines=lines, elapsed=self._clock() - started)
        self._propagate_discovered_interpreter(result)
        if following:
            result.update(failed=True, msg=self._timeout_message(following, options.timeout))
        return result

    def _ending_ask_due(self, followed, now, status_every, asked=False):
        """Whether to ask a job whose progress says it is ending now: 0.5 s after, then 1, 2, ... up to status_every.

        The module returns within a second or so of Nova's end (verification), or after its port wait; asking
        sooner than status_every sees the end at once without a status call every round for long. ``asked``:
        the job is asked this round anyway, which counts as the ending ask.
        """
        if not followed.ending():
            return False
        due, step = self._ending_asks.get(followed.jid, (now, ENDING_INTERVAL))
        if not asked and now < due:
            return False
        self._ending_asks[followed.jid] = (now + step, min(step * 2, max(status_every, ENDING_INTERVAL)))
        return not asked

    def _clean_up(self, followed, async_dir, task_vars):
        """Remove a finished job's file, as async_status mode=cleanup does; a failure there loses nothing."""
        cleaned = self._async_status(followed.jid, async_dir, task_vars, mode='cleanup')
        if cleaned.get('failed'):
            display.warning('follow_jobs: could not remove the file of job %s (%s) from %s: %s. The job ended '
                            'anyway; remove the file by hand if it matters.'
                            % (followed.jid, followed.label, async_dir, one_line(cleaned.get('msg') or 'no reason')))

    def _propagate_discovered_interpreter(self, result):
        """Hand the interpreter found for async_status back to the host's facts, as a module's action would.

        _execute_module adds it to every answer; in the jobs' results it is not the jobs' own.
        """
        if not self._discovered_interpreter_key:
            return
        for job_result in result['results']:
            facts = job_result.get('ansible_facts')
            if isinstance(facts, dict) and self._discovered_interpreter_key in facts:
                facts = dict(facts)
                facts.pop(self._discovered_interpreter_key)
                if facts:
                    job_result['ansible_facts'] = facts
                else:
                    del job_result['ansible_facts']
        result['ansible_facts'] = {self._discovered_interpreter_key: self._discovered_interpreter}

    @staticmethod
    def _timeout_message(running, timeout):
        names = ', '.join(followed.label if followed.label == 'job %s' % followed.jid
                          else '%s (jid %s)' % (followed.label, followed.jid) for followed in running)
        return ('timed out after %g s with %d job%s still running: %s. They go on in the background (follow_jobs '
                'never stops a job): follow them again with novaops.migration.follow_jobs or ansible.builtin.'
                'async_status, or raise timeout to the jobs\' async value.'
                % (timeout, len(running), '' if len(running) == 1 else 's', names))
