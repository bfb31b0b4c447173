# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""An evacuation's decisions and report, from the modules' structured results (playbooks/evacuate.yml).

Whether the host is proven gone (the gate), which servers are evacuated and
which would lose data (the plan), how each evacuation ended and what the run
did (the report), and whether a host that came back was cleaned (recovery):
the playbook asks these filters and only sequences hosts and modules. The
rules themselves live in module_utils (fencing.py, evacuation.py), shared
with the modules.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.novaops.migration.plugins.module_utils.evacuation import (
    disk_plan_of, expected_status, status_refusal_of,
)
from ansible_collections.novaops.migration.plugins.module_utils.fencing import (
    AWAITING_DOWN, FencingInputError, PartitionError, fence_verdict, partition_check,
)

# An evacuation record of these statuses waits for the failed host's nova-compute to start and clean up.
AWAITING_CLEANUP_STATUSES = ('accepted', 'pre-migrating', 'migrating', 'done')
CLEANED_STATUSES = ('completed',)


def evacuation_gate(services, host, reachability, fence_result=None, threshold=0.34):
    """Whether ``host``'s servers may be evacuated now: verdict, evacuate, wait, refusal, reasons, partition.

    ``services`` are compute_service_info's nova-compute services, ``reachability``
    host_reachability's result, ``fence_result`` the operator's fencing step
    (None when there was none). ``wait`` is true when the host is silent but
    Nova still counts it up: the play waits for Nova to count it down, then asks
    again. ``refusal`` (None when the host may be evacuated) says why not and
    what to do; nothing was changed when it is given.
    """
    try:
        partition = partition_check(services, host, threshold)
        service = [item for item in services if item.get('host') == host and
                   item.get('binary') in (None, 'nova-compute')][0]
        verdict = fence_verdict(service, reachability or {}, fence_result)
    except PartitionError as error:
        return dict(host=host, verdict='partition', evacuate=False, wait=False, reasons=[str(error)],
                    refusal='Not evacuating %s: %s' % (host, error), partition=error.summary)
    except FencingInputError as error:
        raise AnsibleFilterError('evacuation_gate: %s' % error)
    refusal = None
    if not verdict['evacuate']:
        refusal = 'Not evacuating %s, nothing was changed: %s. %s' % (host, '; '.join(verdict['reasons']),
                                                                      verdict['suggestion'])
    return dict(verdict, wait=verdict['verdict'] == AWAITING_DOWN, refusal=refusal, partition=partition)


def _ephemeral_gb(server):
    return (server.get('flavor') or {}).get('ephemeral') or 0


def evacuation_plan(servers, host, target, concurrency, allow_rebuild=False, shared_storage=False,
                    check_mode=False):
    """Which servers of the failed host are evacuated, which are not (and why), and which would lose data.

    ``servers`` are server_info's summaries of the host's servers. ``refusal``
    is set when a server would lose its disks' content and allow_rebuild is
    not given: the play stops before it forces anything down.
    """
    evacuable, unevacuable, at_risk = [], [], []
    for server in servers or []:
        why_not = status_refusal_of(server.get('name'), server.get('id'), server.get('status'),
                                    server.get('task_state'), host)
        if why_not:
            unevacuable.append(dict(id=server.get('id'), name=server.get('name'), status=server.get('status'),
                                    why=why_not))
            continue
        disks = disk_plan_of(server.get('image_id'), _ephemeral_gb(server), shared_storage)
        entry = dict(server, rebuild=disks['rebuild'], data_kept=disks['data_kept'], losses=disks['losses'],
                     expected_status=expected_status(server.get('status')))
        evacuable.append(entry)
        if disks['losses']:
            at_risk.append(entry)
    refusal = None
    if at_risk and not allow_rebuild:
        refusal = ['Not evacuating %s, nothing was changed: %d server(s) would lose data, because evacuation '
                   'rebuilds them on another host from what Nova knows. Set -e allow_rebuild=true to accept that, '
                   '-e shared_storage=true if the instances directory is on storage the hosts share, or, if %s '
                   'still runs and its disks are readable, move them with the manual cold migration (-e mode=cold '
                   '-e cold_method=manual):' % (host, len(at_risk), host)] + [
            '%s (%s): %s' % (server.get('name'), server.get('id'), '; '.join(server['losses'])) for server in at_risk]
    line = ('%s: %d server(s); %d to evacuate (%d rebuilt from their image), %d that cannot be evacuated; to %s, '
            '%s at a time%s.' % (host, len(evacuable) + len(unevacuable), len(evacuable),
                                 len([server for server in evacuable if server['rebuild']]), len(unevacuable),
                                 target or 'hosts the scheduler chooses', concurrency,
                                 ' (check mode)' if check_mode else ''))
    return dict(evacuable=evacuable, unevacuable=unevacuable, at_risk_ids=[server['id'] for server in at_risk],
                refusal=refusal, line=line)


def evacuation_jobs(launches, progress_files, host, batch_number=None):
    """The background evacuations for novaops.migration.follow_jobs, labelled by server."""
    files = dict((entry['item'].get('id'), entry['path']) for entry in progress_files or []
                 if entry.get('path') and entry.get('item'))
    jobs = []
    for launch in launches or []:
        if launch.get('skipped') or not launch.get('ansible_job_id'):
            continue
        server = launch.get('item') or {}
        batch = ', batch %s' % batch_number if batch_number is not None else ''
        job = dict(jid=launch['ansible_job_id'], label='evacuation of %s%s, %s' % (host, batch, server.get('name')))
        if files.get(server.get('id')):
            job['progress_file'] = files[server.get('id')]
        jobs.append(job)
    return jobs


def evacuation_outcomes(results, launches, host, target, check_mode=False):
    """How each evacuation of a batch ended: id, name, evacuated, msg, line, and the module's result."""
    launched = [launch for launch in launches or []
                if not launch.get('skipped') and (check_mode or launch.get('ansible_job_id'))]
    ended = launched if check_mode else [result for result in results or [] if not result.get('skipped')]
    outcomes = []
    for launch, result in zip(launched, ended):
        server = launch.get('item') or {}
        evacuated = not result.get('failed') and 'msg' not in result and result.get('server') is not None
        head = '%s (%s): evacuation %s -> ' % (server.get('name'), server.get('id'), host)
        if check_mode:
            line = head + '%s, would come back %s (check mode)' % (
                target or 'a host the scheduler chooses', server.get('expected_status'))
        else:
            landed = result.get('server') or {}
            line = head + '%s in %s s, now %s%s' % (landed.get('host', '?'), result.get('duration', '?'),
                                                    landed.get('status', '?'),
                                                    ', rebuilt from its image' if result.get('rebuild') else '')
        outcomes.append(dict(id=server.get('id'), name=server.get('name'), evacuated=evacuated,
                             msg='' if evacuated else result.get('msg', ''), line=line, result=result))
    return outcomes


def evacuation_report(left, outcomes, plan, host, elapsed, check_mode=False, gate=None, rounds=0):
    """The evacuation's report: lines to print, a failure message when a server is still on the host, the record."""
    outcomes = list(outcomes or [])
    plan = plan or {}
    by_id = dict((outcome['id'], outcome) for outcome in outcomes)
    evacuated = [outcome for outcome in outcomes if outcome['evacuated']]
    unevacuable = dict((server['id'], server['why']) for server in plan.get('unevacuable') or [])
    predicted = set(outcome['id'] for outcome in evacuated) if check_mode else set()
    stuck = []
    for server in left or []:
        if server.get('id') in predicted:
            continue
        outcome = by_id.get(server.get('id'))
        if outcome and not outcome['evacuated']:
            why = 'its evacuation failed: %s' % outcome['msg']
        else:
            why = unevacuable.get(server.get('id'), 'it arrived after the plan was made; run the evacuation again')
        stuck.append('%s (%s), %s: %s' % (server.get('name'), server.get('id'), server.get('status'), why))
    header = 'Evacuation of %s%s: %d server(s) %s, %d %s on %s, %s s.' % (
        host, ' (check mode)' if check_mode else '', len(evacuated), 'would be evacuated' if check_mode else
        'evacuated', len(stuck), 'would stay' if check_mode else 'still', host, elapsed)
    failure = None
    if stuck:
        failure = ['%s %s emptied: %d server(s) %s there (the others were evacuated; %s stays forced down and '
                   'disabled). Fix what is said below, then run the evacuation again:'
                   % (host, 'would not be' if check_mode else 'is not', len(stuck),
                      'would stay' if check_mode else 'are still', host)] + stuck
    lines = [header] + [outcome['line'] for outcome in evacuated] + stuck
    if not check_mode and not stuck:
        lines.append('When %s is repaired and boots again, its nova-compute removes the evacuated guests; then run '
                     'the evacuation with -e recover=true to check that and put it back in service.' % host)
    record = dict(playbook='evacuate', host=host, check_mode=bool(check_mode), elapsed=elapsed, rounds=rounds,
                  verdict=(gate or {}).get('verdict'), reasons=(gate or {}).get('reasons', []),
                  evacuations=[dict(id=outcome['id'], name=outcome['name'], evacuated=outcome['evacuated'],
                                    msg=outcome['msg'], host=(outcome['result'].get('server') or {}).get('host'),
                                    status=(outcome['result'].get('server') or {}).get('status'),
                                    rebuild=outcome['result'].get('rebuild'),
                                    duration=outcome['result'].get('duration')) for outcome in outcomes],
                  still_there=stuck)
    return dict(lines=lines, stuck=stuck, failure=failure, record=record)


def evacuations_awaiting_cleanup(migrations, host):
    """The evacuation records from ``host`` that its nova-compute has not cleaned up yet (it is not back)."""
    return [record for record in migrations or [] if record.get('migration_type') == 'evacuation'
            and record.get('source_compute') == host and record.get('status') in AWAITING_CLEANUP_STATUSES]


def evacuation_recovery(migrations, guests, rechecks, host):
    """Whether the host that came back holds nothing of its evacuated servers: problems, lines, record.

    ``migrations`` are migration_info's evacuation records from the host,
    ``rechecks`` the registered loop of novaops.migration.evacuate run again for
    each evacuated server (nothing to do; its result says where the server is
    and whether the host's Placement provider still holds an allocation),
    ``guests`` the registered loop of libvirt_domain queries on the host, one
    per recheck (its item). A problem is an evacuation not cleaned up, a guest
    of an evacuated server still defined on the host, an allocation left on
    the host's provider, a server back on the host, or a check that failed.
    """
    problems = []
    for record in evacuations_awaiting_cleanup(migrations, host):
        problems.append("evacuation %s of server %s is still '%s': nova-compute on %s has not removed what is left "
                        "of it (is the host up, its nova-compute running, and does it reach RabbitMQ?)"
                        % (record.get('id'), record.get('server_id'), record.get('status'), host))
    for recheck in rechecks or []:
        server = recheck.get('server') or {}
        label = '%s (%s)' % (server.get('name'), server.get('id')) if server else 'server %s' % recheck.get('item')
        if recheck.get('failed') and "' not found in cloud" in (recheck.get('msg') or ''):
            # Deleted since it was evacuated (the records of an older incident, too): nothing of it to run twice.
            continue
        if recheck.get('failed') or not server:
            problems.append('%s could not be checked: %s' % (label, recheck.get('msg', 'no result')))
            continue
        if server.get('host') == host:
            problems.append('%s is on %s again' % (label, host))
        if (recheck.get('placement') or {}).get('source_allocated'):
            problems.append("%s still has an allocation on %s's Placement provider; nova-compute there removes it "
                            "when it starts (or `nova-manage placement audit --delete`)" % (label, host))
    for guest in guests or []:
        if guest.get('skipped'):
            continue
        server = (guest.get('item') or {}).get('server') or {}
        label = '%s (%s)' % (server.get('name'), server.get('instance_name'))
        if guest.get('failed'):
            problems.append('the guest of %s on %s could not be checked: %s' % (label, host, guest.get('msg')))
        elif guest.get('state') != 'undefined':
            problems.append('%s still has the guest of %s, %s, although the server is on %s: remove it (virsh '
                            'destroy, undefine) before the host takes servers again'
                            % (host, label, guest.get('state'), server.get('host')))
    checked_guests = len([guest for guest in guests or [] if not guest.get('skipped')])
    cleaned = [record for record in migrations or [] if record.get('source_compute') == host
               and record.get('status') in CLEANED_STATUSES]
    lines = ['Recovery of %s: %d evacuation(s) cleaned up by its nova-compute, %d server(s) and %d guest(s) checked, '
             '%s.' % (host, len(cleaned), len(rechecks or []), checked_guests,
                      '%d problem(s)' % len(problems) if problems else 'no guest runs twice')] + problems
    return dict(problems=problems, lines=lines,
                record=dict(playbook='evacuate', host=host, recover=True, cleaned=len(cleaned),
                            servers_checked=len(rechecks or []), guests_checked=checked_guests, problems=problems))


class FilterModule(object):
    def filters(self):
        return dict(evacuation_gate=evacuation_gate, evacuation_plan=evacuation_plan,
                    evacuation_jobs=evacuation_jobs, evacuation_outcomes=evacuation_outcomes,
                    evacuation_report=evacuation_report, evacuations_awaiting_cleanup=evacuations_awaiting_cleanup,
                    evacuation_recovery=evacuation_recovery)
