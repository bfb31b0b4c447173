# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""follow_jobs in a real ansible-playbook run on localhost, no cloud.

A background job (async, poll 0) writes progress records the way
MigrationWatch does, for about 22 s; follow_jobs follows it every 0.01 s, so
well over 1000 rounds: the number at which the task files that included
themselves once per round made ansible-core give up with "maximum recursion
depth exceeded" (about 250 rounds).
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ANSIBLE_PLAYBOOK = Path(sys.executable).with_name('ansible-playbook')
LABEL = 'live migration of myinstance compute1 -> compute2'

# Appends a record every 0.05 s for 22 s; the percentage moves every fifth record only, so a follower that prints
# every record instead of every change says far too much.
WRITE_PROGRESS = r'''
import json, sys, time
path = sys.argv[1]
for step in range(440):
    copied = step // 5
    record = dict(elapsed=round(step * 0.05, 1), migration_status='running', server_status='MIGRATING',
                  task_state='migrating', host='compute1', percent=float(copied), memory_percent=float(copied),
                  disk_percent=None, memory_remaining_bytes=(100 - copied) * 1048576, disk_remaining_bytes=None)
    with open(path, 'a') as stream:
        stream.write(json.dumps(record) + '\n')
    time.sleep(0.05)
'''


def collections_root(tmp_path):
    """The directory holding the ansible_collections tree this file is part of.

    ``make unit`` runs the tests from a copy at BUILD_ROOT/ansible_collections/novaops/migration; run from the
    checkout instead, the checkout is linked into a tree of its own.
    """
    here = Path(__file__).resolve()
    for parent in here.parents:
        if parent.name == 'ansible_collections':
            return parent.parent
    root = tmp_path / 'collections'
    namespace = root / 'ansible_collections' / 'novaops'
    namespace.mkdir(parents=True)
    (namespace / 'migration').symlink_to(here.parents[3], target_is_directory=True)
    return root


def playbook(progress_file, async_dir):
    return [dict(
        name='Follow a long background job',
        hosts='localhost',
        gather_facts=False,
        tasks=[
            dict(name='Start the job', register='copy_job', **{
                'ansible.builtin.command': dict(argv=['{{ ansible_playbook_python }}', '-c', WRITE_PROGRESS,
                                                      str(progress_file)]),
                'async': 60, 'poll': 0}),
            dict(name='Follow it', register='follow', **{
                'novaops.migration.follow_jobs': dict(
                    jobs=[dict(jid='{{ copy_job.ansible_job_id }}', label=LABEL, progress_file=str(progress_file))],
                    interval=0.01,
                    # async_status runs a module each time (up to seconds on a busy machine), which holds up the
                    # rounds: asked every 8 s, the job's end is seen within 8 s and the rounds are left alone.
                    status_every=8,
                    timeout=55)}),
            dict(name='Look for the job file', register='job_file', **{
                'ansible.builtin.stat': dict(path='%s/{{ copy_job.ansible_job_id }}' % async_dir)}),
            dict(name='Check what the follow returned', **{'ansible.builtin.assert': dict(that=[
                'follow.rounds >= 1000',
                'follow.results | length == 1',
                'follow.results[0].finished',
                'follow.results[0].rc == 0',
                'follow.results[0].jid == copy_job.ansible_job_id',
                "follow.results[0].label == '%s'" % LABEL,
                'follow.failed_jobs == []',
                'follow.running_jobs == []',
                'follow is changed',
                # 440 records, but only 88 changes of what they say.
                'follow.lines >= 3',
                'follow.lines <= 110',
                'follow.elapsed > 5',
                # Cleaned up once finished.
                'not job_file.stat.exists',
            ])}),
        ],
    )]


def test_follow_jobs_runs_over_a_thousand_rounds(tmp_path):
    progress_file = tmp_path / 'progress.jsonl'
    async_dir = tmp_path / 'async'
    playbook_file = tmp_path / 'follow.yml'
    playbook_file.write_text(json.dumps(playbook(progress_file, async_dir)))
    env = dict(os.environ)
    env.update({
        'ANSIBLE_COLLECTIONS_PATH': str(collections_root(tmp_path)),
        'ANSIBLE_ASYNC_DIR': str(async_dir),
        'ANSIBLE_LOCAL_TEMP': str(tmp_path / 'local-tmp'),
        'ANSIBLE_REMOTE_TEMP': str(tmp_path / 'remote-tmp'),
        'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
        'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.default',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_RETRY_FILES_ENABLED': '0',
        'ANSIBLE_HOST_KEY_CHECKING': '0',
    })
    env.pop('ANSIBLE_CONFIG', None)
    command = [str(ANSIBLE_PLAYBOOK), '-i', 'localhost,', '-c', 'local', str(playbook_file)]
    completed = subprocess.run(command, capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=120,
                               check=False)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    recap = re.search(r'^localhost\s+:\s+(.*)$', output, re.MULTILINE)
    assert recap, output
    assert re.search(r'\bfailed=0\b', recap.group(1)), output
    assert 'recursion' not in output
    # The progress was shown while the job ran, in the words of a migration's progress.
    assert re.search(r'^%s: running, \d+\.0%% copied, memory \d+\.0 MiB left, server MIGRATING \(migrating\) on '
                     r'compute1, [\d.]+ s$' % re.escape(LABEL), output, re.MULTILINE), output
    assert re.search(r'^%s: done, [\d.]+ s$' % re.escape(LABEL), output, re.MULTILINE), output
