# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A drain's decisions and report, from the modules' structured results (playbooks/drain.yml).

Which servers move and how, which jobs to follow, how each move ended, why
a server is still on the host: the playbook asks these filters and only
sequences the moves. Like the report filters, these serve the playbooks only.
"""

from __future__ import annotations

# Statuses each kind of move starts from; anything else stays on the host.
LIVE_STATUSES = ('ACTIVE', 'PAUSED')
COLD_STATUSES = ('SHUTOFF',)


def drain_mode(server):
    """live, cold, or None when the drain leaves the server where it is."""
    server = server or {}
    if server.get('task_state'):
        return None  # busy with a task (another move, a reboot): left to finish it
    if server.get('status') in LIVE_STATUSES:
        return 'live'
    if server.get('status') in COLD_STATUSES:
        return 'cold'
    return None


def planned_mode(server, verdicts):
    """The mode migration_plan gave the server (live, cold; None for stop and skip), else drain_mode's."""
    verdict = verdicts.get(server.get('id'))
    if verdict is None:
        # Not in the plan: it arrived on the host since, and is moved as its status says.
        return drain_mode(server)
    return verdict if verdict in ('live', 'cold') and drain_mode(server) else None


def drain_plan(servers, host, target, concurrency, check_mode=False, disabled_changed=False, reason='',
               migration_plan=None):
    """What the drain will do: the movable servers (with their mode), the others, and a line saying so.

    ``migration_plan`` is novaops.migration.migration_plan's result for the host: each server then moves as
    its verdict says (a running server the plan sends cold, with fallback=cold, is cold-migrated).
    """
    servers = list(servers or [])
    verdicts = dict((entry.get('id'), entry.get('verdict')) for entry in (migration_plan or {}).get('servers') or [])
    movable = [dict(server, drain_mode=planned_mode(server, verdicts)) for server in servers
               if planned_mode(server, verdicts)]
    unmovable = [server for server in servers if not planned_mode(server, verdicts)]
    live = len([server for server in movable if server['drain_mode'] == 'live'])
    line = ('%s (%sdisabled: %s): %d server(s); %d to live-migrate, %d to cold-migrate, %d that cannot move; to %s, '
            '%s at a time.' % (host, 'would be ' if check_mode and disabled_changed else '', reason, len(servers),
                               live, len(movable) - live, len(unmovable), target or 'hosts the scheduler chooses',
                               concurrency))
    line += settled_sentence((migration_plan or {}).get('settled'))
    return dict(movable=movable, unmovable_ids=[server.get('id') for server in unmovable], line=line)


def settled_sentence(settled):
    """What the plan waited for before it was made (migration_plan's ``settled``), or ''."""
    waited_for = (settled or {}).get('servers') or []
    if not waited_for:
        return ''
    still = (settled or {}).get('busy') or []
    return (' Waited %s s first for %d server(s) busy with a task (a move an interrupted run started): %s; %s.'
            % (settled.get('seconds'), len(waited_for),
               ', '.join('%s (%s, %s, task %s)' % (server.get('name'), server.get('id'), server.get('status'),
                                                   server.get('task_state')) for server in waited_for),
               'still busy: %s' % ', '.join(still) if still else 'all of them have ended'))


def drain_jobs(launches, progress_files, host, batch_number=None, label=None):
    """The background jobs of a drain for novaops.migration.follow_jobs, labelled by server.

    ``label`` replaces "drain of HOST" at the head of each job's label (a maintenance's move back).
    """
    files = {}
    for entry in progress_files or []:
        if entry.get('path') and entry.get('item'):
            files[entry['item'].get('id')] = entry['path']
    jobs = []
    for launch in launches or []:
        if launch.get('skipped') or not launch.get('ansible_job_id'):
            continue
        server = launch.get('item') or {}
        batch = ', batch %s' % batch_number if batch_number is not None else ''
        job = dict(jid=launch['ansible_job_id'], label='%s%s, %s (%s)' % (
            label or 'drain of %s' % host, batch, server.get('name'), server.get('drain_mode')))
        if files.get(server.get('id')):
            job['progress_file'] = files[server.get('id')]
        jobs.append(job)
    return jobs


def slot_wait(count, concurrency, per_move):
    """Seconds the last of ``count`` moves may wait for a slot when ``concurrency`` run at once.

    Every earlier round of moves can take ``per_move`` seconds at most (each move's own timeout and grace),
    so a move never waits longer than the moves ahead of it may take; at least a minute.
    """
    count, concurrency, per_move = int(count), max(int(concurrency), 1), int(per_move)
    rounds_ahead = max(-(-count // concurrency) - 1, 0)
    return max(rounds_ahead * per_move, 60)


def drain_outcomes(results, launches, host, target, check_mode=False):
    """How each move of a batch ended: id, name, mode, moved, msg, line, source_host and the module's result.

    A move's source is ``host`` unless its server names its own ``source_host`` (a move back, from wherever the
    drain had sent it).
    """
    servers = [launch.get('item') or {} for launch in launches or []
               if not launch.get('skipped') and (check_mode or launch.get('ansible_job_id'))]
    ended = list(launches or []) if check_mode else list(results or [])
    ended = [result for result in ended if not result.get('skipped')]
    outcomes = []
    for server, result in zip(servers, ended):
        mode = server.get('drain_mode')
        source = server.get('source_host') or host
        moved = not result.get('failed') and 'msg' not in result and result.get('server') is not None
        head = '%s (%s): %s migration %s -> ' % (server.get('name'), server.get('id'), mode, source)
        if check_mode:
            line = head + '%s (check mode)' % (target or 'a host the scheduler chooses')
        else:
            landed = result.get('server') or {}
            line = head + '%s in %s s, now %s' % (landed.get('host', '?'), result.get('duration', '?'),
                                                  landed.get('status', '?'))
        outcomes.append(dict(id=server.get('id'), name=server.get('name'), mode=mode, moved=moved,
                             msg=result.get('msg', '') if not moved else '', line=line,
                             source_host=source, result=result))
    return outcomes


def _why(server, outcome, unmovable_ids):
    if outcome:
        return '%s migration failed: %s' % (outcome['mode'], outcome['msg'])
    if server.get('status') == 'ERROR':
        return ('it is in ERROR (%s); Nova moves no server in ERROR: repair it, or reset it with `openstack server '
                'set --state active` if it runs fine' % (server.get('fault') or 'no fault recorded'))
    if server.get('task_state'):
        return 'it is busy (task %s); run the drain again once it is done' % server['task_state']
    if server.get('id') in (unmovable_ids or []):
        return 'it is %s; the drain moves only %s servers' % (server.get('status'),
                                                              ', '.join(LIVE_STATUSES + COLD_STATUSES))
    return 'it arrived during the drain; run the drain again'


def drain_report(left, outcomes, unmovable_ids, host, elapsed, check_mode=False, rounds=0):
    """The drain's report: lines to print, the servers still there with why, and a failure message if any."""
    outcomes = list(outcomes or [])
    by_id = dict((outcome['id'], outcome) for outcome in outcomes)
    moved = [outcome for outcome in outcomes if outcome['moved']]
    # In check mode nothing moved: only what would not move counts.
    predicted_moved = set(outcome['id'] for outcome in moved) if check_mode else set()
    stuck = []
    for server in left or []:
        if server.get('id') in predicted_moved:
            continue
        outcome = by_id.get(server.get('id'))
        stuck.append('%s (%s), %s: %s' % (server.get('name'), server.get('id'), server.get('status'),
                                          _why(server, outcome if outcome and not outcome['moved'] else None,
                                               unmovable_ids)))
    header = 'Drain of %s%s: %d server(s) %s, %d %s on %s, %s s.' % (
        host, ' (check mode)' if check_mode else '', len(moved), 'would move' if check_mode else 'moved',
        len(stuck), 'would stay' if check_mode else 'still', host, elapsed)
    failure = None
    if stuck:
        failure = ['%s %s drained: %d server(s) %s there (the others moved; the host stays disabled). Fix what is '
                   'said below, then run the drain again:' % (host, 'would not be' if check_mode else 'is not',
                                                              len(stuck), 'would stay' if check_mode else 'are still')
                   ] + stuck
    lines = [header] + [outcome['line'] for outcome in moved] + stuck
    record = dict(playbook='drain', host=host, check_mode=bool(check_mode), elapsed=elapsed, rounds=rounds,
                  moves=[dict(id=outcome['id'], name=outcome['name'], mode=outcome['mode'], moved=outcome['moved'],
                              msg=outcome['msg'], host=(outcome['result'].get('server') or {}).get('host'),
                              duration=outcome['result'].get('duration')) for outcome in outcomes],
                  still_there=stuck)
    return dict(lines=lines, stuck=stuck, failure=failure, record=record)


def drain_plan_refusal(migration_plan, host):
    """Why the plan says the drain cannot finish, as lines (None when it can): nothing is disabled then.

    A plan-wide problem (no target left, a server group the targets cannot satisfy) or a server that could
    move but finds no way (no room, its group, a device, the CPU, the fallback allowed) refuses the drain.
    A server kept by its own state (ERROR, a task, a resize to confirm) does not: the others move and the
    report lists it.
    """
    migration_plan = migration_plan or {}
    blocked = [entry for entry in migration_plan.get('servers') or []
               if entry.get('verdict') == 'skip' and entry.get('blocked_by') == 'move']
    problems = list(migration_plan.get('problems') or [])
    if not problems and not blocked:
        return None
    return (['Not draining %s, nothing was changed: the plan finds %d problem(s) and %d server(s) with nowhere to '
             'go, so the host could not be emptied. Add room or a target, or allow a fallback (-e fallback=cold '
             'moves a server that cannot go live cold; its guest restarts):' % (host, len(problems), len(blocked))]
            + problems + ['%s (%s): %s' % (entry.get('name'), entry.get('id'), '; '.join(entry.get('reasons') or []))
                          for entry in blocked])


def drain_target_problem(services, target):
    """Why ``target`` cannot take the drained servers (not an enabled, up nova-compute), or None."""
    services = list(services or [])
    found = [service for service in services if service.get('host') == target]
    if len(found) == 1 and found[0].get('status') == 'enabled' and found[0].get('state') == 'up':
        return None
    known = ', '.join('%s %s %s' % (service.get('host'), service.get('status'), service.get('state'))
                      for service in services)
    return ('The target %s must be a compute host whose nova-compute is enabled and up; nothing was changed. '
            'Compute hosts: %s.' % (target, known or 'none'))


def enabled_line(host, changed, check_mode=False):
    return 'nova-compute on %s is %senabled%s: the scheduler places servers there again.' % (
        host, 'would be ' if check_mode and changed else '', '' if changed else ' (it already was)')


class FilterModule(object):
    def filters(self):
        return dict(drain_plan=drain_plan, drain_jobs=drain_jobs, drain_outcomes=drain_outcomes,
                    drain_report=drain_report, drain_enabled_line=enabled_line,
                    drain_target_problem=drain_target_problem, drain_plan_refusal=drain_plan_refusal,
                    slot_wait=slot_wait)
