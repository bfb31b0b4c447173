#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: playbook_settings
short_description: Read and check the variables of a novaops.migration playbook, once
version_added: 0.2.0
description:
  - Reads every variable the playbook O(playbook) accepts, checks its type and value, applies the defaults and
    returns them as RV(settings); any wrong value fails the task listing every problem at once, before the play
    changes anything (for example C(-e migration_timeout=30m), C(-e concurrency=0), C(-e keep_source=y)).
  - Each variable is read from its prefixed name (C(novaops_migrate_migration_timeout),
    C(novaops_drain_concurrency)), which cannot collide with an inventory variable, else from the short name
    documented for the command line (C(-e migration_timeout=...)).
  - An action plugin; it runs on the controller and connects to no host.
options:
  playbook:
    description: Whose variables to read.
    type: str
    required: true
    choices: [migrate, drain, evacuate, maintenance]
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
    details: Reads only.
  diff_mode:
    support: none
  platform:
    platforms: all
notes:
  - The variables of V(migrate) - C(instance) and C(target) (required), C(mode) (live, cold or auto), C(cold_method)
    (api or manual), C(migration_timeout) (whole seconds > 0, default 1800), C(on_timeout) (abort, force_complete,
    fail), C(confirm), C(progress_interval) (seconds > 0, default 3), C(skip_host_checks), C(nova_conf),
    C(allow_stop), C(keep_source), C(takeover) (strict booleans), C(instances_path), C(rsync_extra_options)
    (only C(--bwlimit=RATE), C(--compress), C(-z), C(--compress-level=N)), C(manual_stop_before) (a checkpoint of
    the manual move - stop, copy, db, records, source_cleanup, start, verify, remove_source).
  - The variables of V(drain) - C(host) (required), C(target), C(concurrency) (whole number > 0, default 2),
    C(reason), C(enable), C(move_timeout), C(on_timeout), C(progress_interval), C(fallback) (none or cold).
  - The variables of V(evacuate) - C(host) (required), C(target), C(concurrency) (whole number > 0, default 2),
    C(allow_rebuild), C(shared_storage), C(recover) (strict booleans), C(fence) (a task file), C(probe_from),
    C(down_timeout) (default 180), C(partition_threshold) (a fraction, default 0.34), C(reason),
    C(cleanup_timeout) (default 600), C(move_timeout), C(progress_interval).
  - The variables of V(maintenance) - C(hosts) (required; a list, or comma-separated), C(maintenance_tasks) (a task
    file), C(state_file) (an absolute path), C(fallback) (none or cold), C(concurrency), C(reason),
    C(health_timeout) (default 600), C(libvirt_port) (default 16509), C(move_timeout), C(on_timeout),
    C(progress_interval), C(move_back) (a boolean, default false), C(wave_by) (host, zone or aggregate; default
    host).
seealso:
  - module: novaops.migration.follow_jobs
author:
  - novaops maintainers (@novaops)
'''

EXAMPLES = r'''
- name: Read the variables
  novaops.migration.playbook_settings:
    playbook: migrate
  register: migrate_request
'''

RETURN = r'''
settings:
  description: Every variable of the playbook, checked, with its default where it was not given; also C(grace), the
    seconds a move may take past its timeout to abort, and C(run_id), which names this run of ansible-playbook
    (controller host, process id and start time).
  returned: success
  type: dict
  sample: {instance: myinstance, target: compute2, mode: auto, cold_method: api, migration_timeout: 1800,
           on_timeout: abort, confirm: true, progress_interval: 3, skip_host_checks: false,
           nova_conf: /etc/nova/nova.conf, allow_stop: false, keep_source: false,
           instances_path: /var/lib/nova/instances, rsync_options: [], manual_stop_before: '', takeover: false,
           grace: 300, run_id: 'ctl1:4242:987654'}
'''
