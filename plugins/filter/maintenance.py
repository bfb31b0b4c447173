# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Rolling maintenance's decisions, state and report (playbooks/maintenance.yml).

One host at a time goes through the phases drained -> maintained -> done: its
servers moved off (the drain, with the plan), the operator's tasks run on it
(an upgrade, a reboot), then it is back in service once its nova-compute
reports again and libvirt listens. The phases reached are kept in a state
file, so a run that was interrupted or stopped at a host that did not come
back resumes there: a host done is skipped, a host maintained is not
maintained again.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

PHASES = ('drained', 'maintained', 'done')


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


def maintenance_order(hosts, state=None):
    """The hosts still to maintain, in order, each with the phase it reached; the hosts done; a line saying so."""
    phases = _phases(state)
    pending = [dict(host=host, phase=phases.get(host)) for host in hosts if phases.get(host) != 'done']
    done = [host for host in hosts if phases.get(host) == 'done']
    if done:
        line = 'Maintenance of %s: %s done already (state file), %s to go.' % (
            ', '.join(hosts), ', '.join(done), ', '.join(entry['host'] for entry in pending) or 'none')
    else:
        line = 'Maintenance of %s, one host at a time.' % ', '.join(hosts)
    resumed = [entry for entry in pending if entry['phase']]
    if resumed:
        line += ' %s resumes after the phase %s.' % (resumed[0]['host'], resumed[0]['phase'])
    return dict(pending=pending, done=done, line=line)


def maintenance_state(state, host, phase, at, record=None):
    """The state with ``host`` at ``phase`` (a timestamp ``at``, the host's record of what moved)."""
    if phase not in PHASES:
        raise AnsibleFilterError("unknown maintenance phase %r (known: %s)" % (phase, ', '.join(PHASES)))
    _phases(state)
    hosts = dict((state or {}).get('hosts', {}))
    entry = dict(hosts.get(host) or {}, phase=phase, at=at)
    entry.setdefault('since', at)
    if record is not None:
        entry['drain'] = record
    hosts[host] = entry
    return dict(playbook='maintenance', hosts=hosts)


def maintenance_drain_settings(settings, host):
    """The drain's settings (novaops_drain) for one host of the maintenance."""
    return dict(host=host, target='', concurrency=settings['concurrency'], reason=settings['reason'], enable=False,
                move_timeout=settings['move_timeout'], on_timeout=settings['on_timeout'],
                progress_interval=settings['progress_interval'], fallback=settings['fallback'],
                grace=settings['grace'])


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
        lines.append('%s: %s%s' % (host, phases.get(host) or 'not started', '; %d server(s) moved off (%s)' % (
            len(moves), ', '.join('%s -> %s' % (move.get('name'), move.get('host')) for move in moves))
            if moves else ''))
    record = dict(playbook='maintenance', hosts=list(hosts), elapsed=elapsed, stopped_at=stopped_at,
                  phases=dict((host, phases.get(host)) for host in hosts),
                  moves=dict((host, ((entries.get(host) or {}).get('drain') or {}).get('moves') or [])
                             for host in hosts))
    return dict(lines=lines, record=record)


class FilterModule(object):
    def filters(self):
        return dict(maintenance_order=maintenance_order, maintenance_state=maintenance_state,
                    maintenance_drain_settings=maintenance_drain_settings, maintenance_report=maintenance_report)
