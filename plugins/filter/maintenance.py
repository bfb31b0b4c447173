# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Rolling maintenance's decisions, state and report (playbooks/maintenance.yml).

Each host goes through the phases drained -> maintained -> enabled -> done,
one host at a time or, in waves, one host per availability zone or host
aggregate at a time: its servers moved off (the drain, with the plan), the operator's
tasks run on it (an upgrade, a reboot), it is back in service once its
nova-compute reports again and libvirt listens, and (move_back) the servers
its drain moved off are moved back to it. The phases reached are kept in a
state file, so a run that was interrupted or stopped at a host that did not
come back resumes there: a host done is skipped, a host maintained is not
maintained again, a host enabled is not drained again (that would undo the
servers already moved back) but only gets the rest of its servers back.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

PHASES = ('drained', 'maintained', 'enabled', 'done')
WAVE_BY = dict(host='one host at a time', zone='one host per availability zone at a time',
               aggregate='one host per host aggregate at a time')
NO_AGGREGATE = '(no aggregate)'


def _phases(state):
    if not state:
        return {}
    if not isinstance(state, dict) or not isinstance(state.get('hosts', {}), dict):
        raise AnsibleFilterError('the maintenance state must be a dict with hosts (host -> phase), as the '
                                 'maintenance playbook writes it; got %r' % (state,))
    phases = {}
    for host, entry in state.get('hosts', {}).items():
        phase = entry.get('phase') if isinstance(entry, dict) else None
        if phase not in PHASES:
            raise AnsibleFilterError("the maintenance state gives host %s the phase %r; known phases: %s"
                                     % (host, phase, ', '.join(PHASES)))
        phases[host] = phase
    return phases


def _wave_by(wave_by):
    if wave_by not in WAVE_BY:
        raise AnsibleFilterError("wave_by must be one of %s, got %r" % (', '.join(WAVE_BY), wave_by))
    return wave_by


def maintenance_order(hosts, state=None, wave_by='host'):
    """The hosts still to maintain, in order, each with the phase it reached; the hosts done; a line saying so."""
    pace = WAVE_BY[_wave_by(wave_by)]
    phases = _phases(state)
    pending = [dict(host=host, phase=phases.get(host)) for host in hosts if phases.get(host) != 'done']
    done = [host for host in hosts if phases.get(host) == 'done']
    if done:
        line = 'Maintenance of %s, %s: %s done already (state file), %s to go.' % (
            ', '.join(hosts), pace, ', '.join(done), ', '.join(entry['host'] for entry in pending) or 'none')
    else:
        line = 'Maintenance of %s, %s.' % (', '.join(hosts), pace)
    resumed = [entry for entry in pending if entry['phase']]
    if resumed:
        line += ' %s resumes after the phase %s.' % (resumed[0]['host'], resumed[0]['phase'])
    return dict(pending=pending, done=done, line=line)


def _wave_keys(host, services, wave_by):
    """What a host may not share with another host of its wave: its zone, or each of its aggregates."""
    service = services.get(host)
    if service is None:
        raise AnsibleFilterError("%s runs no nova-compute (compute hosts: %s); nothing was changed"
                                 % (host, ', '.join(sorted(services)) or 'none'))
    if wave_by == 'zone':
        return set([service.get('zone') or 'nova'])
    # A host in no aggregate shares the lack with the others in none: they go one at a time, not all at once.
    return set(service.get('aggregates') or [NO_AGGREGATE])


def maintenance_waves(pending, services=None, wave_by='host'):
    """The pending hosts (maintenance_order's) in waves, maintained at the same time, at most one per zone/aggregate.

    ``services`` are the nova-compute services (novaops.migration.compute_service_info, with aggregates for
    ``wave_by=aggregate``). Each host joins the first wave holding no host of its zone (no host sharing one of its
    aggregates); hosts an interrupted run left in a phase go first, so the hosts left disabled come back first.
    ``peers`` names, per host, the other hosts of its wave drained in this run (a host back in service is not):
    their servers are planned together and none of them takes another's servers.
    """
    _wave_by(wave_by)
    pending = list(pending or [])
    pending = [entry for entry in pending if entry.get('phase')] + [entry for entry in pending
                                                                    if not entry.get('phase')]
    if wave_by == 'host':
        waves = [[entry] for entry in pending]
    else:
        by_host = dict((service.get('host'), service) for service in services or []
                       if service.get('binary', 'nova-compute') == 'nova-compute')
        waves, taken = [], []
        for entry in pending:
            keys = _wave_keys(entry['host'], by_host, wave_by)
            for index, wave in enumerate(waves):
                if not taken[index] & keys:
                    wave.append(entry)
                    taken[index] |= keys
                    break
            else:
                waves.append([entry])
                taken.append(set(keys))
    peers = dict((entry['host'], [other['host'] for other in wave
                                  if other['host'] != entry['host'] and other.get('phase') != 'enabled'])
                 for wave in waves for entry in wave)
    line = ('%d wave(s), %s: %s.' % (len(waves), WAVE_BY[wave_by], ', then '.join(
        ' and '.join(entry['host'] for entry in wave) + (' together' if len(wave) > 1 else '') for wave in waves))
        if waves else 'No host to maintain.')
    # serial: the batches of the maintenance play, a wave each; with no host left the play has none to batch.
    return dict(waves=waves, serial=[len(wave) for wave in waves] or [1], peers=peers,
                queue=[entry for wave in waves for entry in wave], line=line)


def maintenance_collected(state, inventory_hosts, hostvars):
    """The maintenance's state once its hosts ran at the same time, where each kept its own progress.

    ``state`` is the state the run started from; each of ``inventory_hosts`` (the hosts of the maintenance play)
    has its Nova name in ``maintenance_host`` and, once it reached a phase, its own copy of the state in
    ``maintenance_state`` and, when it stopped, why in ``maintenance_failure``. Returns the state with each host's
    own entry, the Nova names of the hosts that stopped (``stopped_at``, comma-separated) and why (``failures``).
    """
    _phases(state)
    hosts = dict((state or {}).get('hosts', {}))
    stopped, failures = [], []
    for name in inventory_hosts or []:
        try:
            facts = hostvars[name] or {}
        except (KeyError, TypeError):
            continue
        host = (facts.get('maintenance_host') or {}).get('host') or name
        own = ((facts.get('maintenance_state') or {}).get('hosts') or {}).get(host)
        if own:
            hosts[host] = own
        failure = facts.get('maintenance_failure')
        if failure:
            stopped.append(host)
            failures.append('%s: %s' % (host, failure))
    collected = dict(playbook='maintenance', hosts=hosts)
    _phases(collected)
    return dict(state=collected, stopped_at=', '.join(stopped), failures=failures)


def maintenance_state(state, host, phase, at, record=None, move_back=None):
    """The state with ``host`` at ``phase`` (a timestamp ``at``, the records of what its drain moved off - added
    to those of an earlier drain - and of what was moved back)."""
    if phase not in PHASES:
        raise AnsibleFilterError("unknown maintenance phase %r (known: %s)" % (phase, ', '.join(PHASES)))
    _phases(state)
    hosts = dict((state or {}).get('hosts', {}))
    entry = dict(hosts.get(host) or {}, phase=phase, at=at)
    entry.setdefault('since', at)
    # When each phase was reached: a wave's hosts show their maintenance overlapping, the next wave's following.
    entry['reached'] = dict(entry.get('reached') or {}, **{phase: at})
    if record is not None:
        # A resumed host is drained again: what that drain moved joins what the first one did (the move back
        # needs them all); a server moved by both keeps its newest move.
        again = set(move.get('id') for move in record.get('moves') or [])
        earlier = [move for move in (entry.get('drain') or {}).get('moves') or [] if move.get('id') not in again]
        entry['drain'] = dict(record, moves=earlier + list(record.get('moves') or []))
    if move_back is not None:
        entry['move_back'] = move_back
    hosts[host] = entry
    return dict(playbook='maintenance', hosts=hosts)


def maintenance_drain_settings(settings, host, target='', wave=None):
    """The drain's settings (novaops_drain) for one host of the maintenance (``target``: its move back; ``wave``:
    the other hosts drained at the same time)."""
    return dict(host=host, target=target, concurrency=settings['concurrency'], reason=settings['reason'], enable=False,
                move_timeout=settings['move_timeout'], on_timeout=settings['on_timeout'],
                progress_interval=settings['progress_interval'], fallback=settings['fallback'],
                grace=settings['grace'], wave=[peer for peer in wave or [] if peer != host])


def move_back_candidates(moves, servers, host, check_mode=False):
    """Which servers the host's drain moved off go back to it: the ids to plan, those back already, those gone.

    ``moves`` is the drain's record of the host (kept in the state file), ``servers`` the cloud's servers now
    (novaops.migration.server_info). In check mode nothing moved off: the servers the drain would move are still
    on the host and would come back.
    """
    moved_off = [move for move in moves or [] if move.get('moved')]
    now = dict((server.get('id'), server) for server in servers or [])
    ids, back, gone = [], [], []
    for move in moved_off:
        server = now.get(move.get('id'))
        if server is None:
            gone.append(move.get('name'))
        elif (server.get('compute_host') or server.get('host')) == host:
            back.append(move.get('name'))
        else:
            ids.append(move.get('id'))
    names = ', '.join(move.get('name') for move in moved_off)
    if not moved_off:
        line = '%s: its drain moved no server off, none to move back.' % host
    elif check_mode:
        line = '%s (check mode): the %d server(s) its drain would move off (%s) would be moved back.' % (
            host, len(moved_off), names)
    elif not ids:
        line = '%s: none of the %d server(s) its drain moved off to move back' % (host, len(moved_off))
    else:
        line = '%s: moving back the %d server(s) its drain moved off (%s)' % (
            host, len(ids), ', '.join(move.get('name') for move in moved_off if move.get('id') in ids))
    if moved_off and not check_mode:
        line += ''.join('; %s: %s' % (what, ', '.join(listed)) for what, listed in
                        (('back already', back), ('deleted since', gone)) if listed) + '.'
    return dict(ids=ids, back=back, gone=gone, line=line)


def _stays(server, why):
    return '%s (%s) stays on %s: %s' % (server.get('name'), server.get('id'), server.get('source_host'), why)


def move_back_plan(migration_plan, host):
    """The moves back the plan allows (as the drain's moves: drain_mode, source_host) and why the others stay."""
    movable, staying = [], []
    for entry in (migration_plan or {}).get('servers') or []:
        if entry.get('verdict') in ('live', 'cold') and entry.get('target') == host:
            movable.append(dict(id=entry.get('id'), name=entry.get('name'), status=entry.get('status'),
                                drain_mode=entry['verdict'], source_host=entry.get('source_host')))
        else:
            staying.append(_stays(entry, '; '.join(entry.get('reasons') or []) or 'the plan keeps it'))
    return dict(movable=movable, staying=staying)


def move_back_report(outcomes, candidates, plan, host, elapsed, check_mode=False):
    """What the move back did: lines, and the record kept in the state file and the maintenance's report."""
    outcomes = list(outcomes or [])
    moved = [outcome for outcome in outcomes if outcome.get('moved')]
    failed = [_stays(outcome, outcome.get('msg')) for outcome in outcomes if not outcome.get('moved')]
    staying = failed + list((plan or {}).get('staying') or [])
    lines = ['Move back to %s%s: %d server(s) %s, %d stay elsewhere, %s s.' % (
        host, ' (check mode)' if check_mode else '', len(moved), 'would move back' if check_mode else 'moved back',
        len(staying), elapsed)] + [outcome.get('line') for outcome in moved] + staying
    record = dict(host=host, elapsed=elapsed, check_mode=bool(check_mode),
                  moves=[dict(id=outcome.get('id'), name=outcome.get('name'), mode=outcome.get('mode'),
                              moved=bool(outcome.get('moved')), msg=outcome.get('msg', ''),
                              source_host=outcome.get('source_host'),
                              host=((outcome.get('result') or {}).get('server') or {}).get('host')
                              if outcome.get('moved') else None,
                              duration=(outcome.get('result') or {}).get('duration')) for outcome in outcomes],
                  staying=staying, back_already=list((candidates or {}).get('back') or []),
                  gone=list((candidates or {}).get('gone') or []))
    return dict(lines=lines, record=record)


def maintenance_report(state, hosts, elapsed, stopped_at=None):
    """The maintenance's report: a line per host with its phase and moves, and the record for AWX."""
    phases = _phases(state)
    entries = (state or {}).get('hosts', {})
    lines = ['Maintenance of %s: %d of %d host(s) done, %s s%s.' % (
        ', '.join(hosts), len([host for host in hosts if phases.get(host) == 'done']), len(hosts), elapsed,
        '; stopped at %s' % stopped_at if stopped_at else '')]
    for host in hosts:
        entry = entries.get(host) or {}
        moves = (entry.get('drain') or {}).get('moves') or []
        moved_back = [move for move in (entry.get('move_back') or {}).get('moves') or [] if move.get('moved')]
        lines.append('%s: %s%s%s' % (host, phases.get(host) or 'not started', '; %d server(s) moved off (%s)' % (
            len(moves), ', '.join('%s -> %s' % (move.get('name'), move.get('host')) for move in moves))
            if moves else '', '; %d moved back (%s)' % (len(moved_back), ', '.join(
                '%s <- %s' % (move.get('name'), move.get('source_host')) for move in moved_back))
            if moved_back else ''))
    record = dict(playbook='maintenance', hosts=list(hosts), elapsed=elapsed, stopped_at=stopped_at,
                  phases=dict((host, phases.get(host)) for host in hosts),
                  moves=dict((host, ((entries.get(host) or {}).get('drain') or {}).get('moves') or [])
                             for host in hosts),
                  moved_back=dict((host, ((entries.get(host) or {}).get('move_back') or {}).get('moves') or [])
                                  for host in hosts),
                  reached=dict((host, (entries.get(host) or {}).get('reached') or {}) for host in hosts))
    return dict(lines=lines, record=record)


class FilterModule(object):
    def filters(self):
        return dict(maintenance_order=maintenance_order, maintenance_state=maintenance_state,
                    maintenance_waves=maintenance_waves, maintenance_collected=maintenance_collected,
                    maintenance_drain_settings=maintenance_drain_settings, maintenance_report=maintenance_report,
                    move_back_candidates=move_back_candidates, move_back_plan=move_back_plan,
                    move_back_report=move_back_report)
