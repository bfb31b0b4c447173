#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# The work is done by the action plugin of the same name (plugins/action/follow_jobs.py) on the controller;
# this file holds its documentation only.

DOCUMENTATION = r'''
---
module: follow_jobs
short_description: Follow background (async) jobs until they end, printing a line whenever their progress changes
version_added: 0.2.0
description:
  - >-
    Waits in a single task for jobs started with C(async) and C(poll: 0), for example moves run by
    M(novaops.migration.live_migrate) or M(novaops.migration.cold_migrate), and prints one line per job each time
    what the job reports changes: the migration's status, how much is copied and left to copy, the server's
    status, task and host, and the seconds since the move started, like
    C(cold migration of myinstance compute1 -> compute2: finished, server VERIFY_RESIZE on compute2, 48.2 s).
  - Every O(interval) seconds it reads the last record of each job's O(jobs[].progress_file) (the JSON lines the
    migration modules append with their C(progress_file) option) and, every O(status_every) seconds, asks
    M(ansible.builtin.async_status) whether the job ended.
  - It loops inside the task, however long the jobs take, instead of a task file that includes itself once per
    round, which ansible-core stops with C(maximum recursion depth exceeded) after about 250 rounds.
  - A job that fails does not fail the task; its result is in RV(results) and its label in RV(failed_jobs), for
    the play to decide. The task fails only on wrong options or when O(timeout) is reached.
  - This module never stops a job. When the time is up the jobs still running go on in the background.
options:
  jobs:
    description:
      - The jobs to follow, each one a dict.
      - >-
        The result registered from a task run with C(async) and C(poll: 0) is a job (its C(ansible_job_id) is
        used); from a loop, pass the registered variable's C(results), whose loop C(item) names each job.
      - Or a dict with the keys below, built in the play; this is the form to use when the job writes a progress
        file.
      - The result of a launch that was skipped or failed, which started no job, is reported as it is.
    type: list
    elements: dict
    required: true
    suboptions:
      jid:
        description:
          - The job's id, C(ansible_job_id) of the registered result. C(ansible_job_id) is accepted as the key too.
        type: str
      label:
        description:
          - What the job is called in the progress lines and in RV(failed_jobs).
          - Default is the C(name) of the job's loop C(item) (or the item itself when it is a text), else
            C(job JID).
        type: str
      progress_file:
        description:
          - File the job appends its progress to, one JSON object a line, as the C(progress_file) option of
            M(novaops.migration.live_migrate) and M(novaops.migration.cold_migrate) writes it.
          - Read on the controller, so it must be on the host that runs the play's controller side, as it is for
            plays on C(localhost).
          - A missing, empty or unreadable file means no progress yet; the line says C(requested).
          - Without it, a job's line says C(running) until it ends.
        type: path
  interval:
    description:
      - Seconds between two rounds. Each round reads every progress file; reading one is cheap (only its end,
        and only when it changed).
      - A number greater than 0, fractions allowed; no units.
    type: float
    default: 3
  status_every:
    description:
      - Seconds between two calls of M(ansible.builtin.async_status) for the jobs still running.
      - Each call runs a module on the host (a fraction of a second), so with a small O(interval) this is best
        kept at a second or more.
      - A number greater than 0. Default is O(interval).
    type: float
  timeout:
    description:
      - Seconds to wait for every job to end. When they are up the task fails, naming the jobs still running in
        RV(running_jobs) and the message; the jobs are left running.
      - Set it to the jobs' C(async) value when that is longer than the default.
      - A number greater than 0; no units.
    type: float
    default: 3600
  cleanup:
    description:
      - Remove each finished job's file from the async directory, as M(ansible.builtin.async_status) with
        C(mode=cleanup) does, once its result is read. A failure to remove it is a warning.
      - The file of a job still running at the timeout, or whose file could not be read, is kept.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details:
      - In check mode the launches ran with C(async) 0 and returned their predictions; those are returned in
        RV(results) as they are, without polling (RV(rounds) is 0).
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - The progress files are read on the controller; async_status runs on the task's host (or C(delegate_to)),
    where the jobs were started.
  - async_status is asked through the connection as M(ansible.builtin.async_status) would be, with the shell's
    C(async_dir) (C(ANSIBLE_ASYNC_DIR), default C(~/.ansible_async)).
seealso:
  - module: ansible.builtin.async_status
  - module: novaops.migration.live_migrate
  - module: novaops.migration.cold_migrate
  - ref: playbooks_async
    description: Asynchronous actions and polling.
author:
  - novaops maintainers (@novaops)
'''

EXAMPLES = r'''
- name: Live-migrate myinstance in the background, its progress in a file
  novaops.migration.live_migrate:
    cloud: lab
    server: myinstance
    target_host: compute2
    progress_file: /tmp/myinstance-progress
  async: 3000
  poll: 0
  register: move_job

- name: Follow the move until it ends
  novaops.migration.follow_jobs:
    jobs:
      - jid: "{{ move_job.ansible_job_id }}"
        label: live migration of myinstance compute1 -> compute2
        progress_file: /tmp/myinstance-progress
    interval: 3
    timeout: 3000
  register: move_followed

- name: Stop with the reason the move failed
  ansible.builtin.fail:
    msg: "{{ move_followed.results[0].msg }}"
  when: move_followed.failed_jobs | length > 0

- name: Live-migrate several servers at once
  novaops.migration.live_migrate:
    cloud: lab
    server: "{{ item }}"
  loop: [vm1, vm2, vm3]
  async: 3000
  poll: 0
  register: drain_jobs

- name: Follow them all, the registered results as they are (each job is named after its item)
  novaops.migration.follow_jobs:
    jobs: "{{ drain_jobs.results }}"
    interval: 5
    status_every: 10
    timeout: 3000
  register: drain_followed

- name: Say where each server went
  ansible.builtin.debug:
    msg: "{{ item.label }}: {{ item.msg if item.failed | default(false) else 'on ' ~ item.server.host }}"
  loop: "{{ drain_followed.results }}"
  loop_control:
    label: "{{ item.label }}"
'''

RETURN = r'''
results:
  description:
    - Each job's result, in the order of O(jobs), as M(ansible.builtin.async_status) returned it last (every key
      of the job's module result once the job finished, for example C(server), C(msg), C(rc)), with C(label)
      and C(jid) added.
    - A job still running at the timeout has C(finished=false).
    - A job whose state could not be read (its job file gone or unreadable) has C(failed=true) and the reason in
      C(msg).
    - In check mode, and for a launch that started no job, the given result with C(label) and C(jid) (null).
  returned: always
  type: list
  elements: dict
  sample:
    - ansible_job_id: j415230712837.41563
      finished: true
      changed: true
      server:
        id: 7c3f1e0a-1b7e-4e2c-9d35-0d6b1b0b8a11
        host: compute2
        status: ACTIVE
      duration: 41.7
      label: live migration of myinstance compute1 -> compute2
      jid: j415230712837.41563
rounds:
  description: How many rounds the follow took (0 in check mode). Each round read the progress files.
  returned: always
  type: int
  sample: 14
lines:
  description: How many progress lines were printed.
  returned: always
  type: int
  sample: 9
elapsed:
  description: Seconds the follow took.
  returned: always
  type: float
  sample: 41.9
failed_jobs:
  description: Labels of the jobs whose result is failed, in the order of O(jobs).
  returned: always
  type: list
  elements: str
  sample: []
running_jobs:
  description: Labels of the jobs still running when O(timeout) was reached; empty otherwise.
  returned: always
  type: list
  elements: str
  sample: []
changed:
  description: Whether the result of any job says it changed something.
  returned: always
  type: bool
  sample: true
'''
