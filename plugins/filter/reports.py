# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the playbooks tell the operator, shaped from the modules' structured results.

The playbooks only sequence hosts; every sentence they print is made here,
from the fields the modules return, so a unit test reaches each wording and
the reports cannot drift between playbooks. They serve the playbooks and are
not documented for other use; their unit tests say what each returns.
"""

from __future__ import annotations

MIB = 1048576.0


def _name(server):
    server = server or {}
    return '%s (%s)' % (server.get('name') or '?', server.get('id') or '?')


def refusal(problems, action=None):
    """Lines of a refusal that changed nothing: a header, then each problem."""
    problems = list(problems or [])
    header = '%s would fail; nothing was changed. %d problem(s):' % (action, len(problems)) if action \
        else 'nothing was changed. %d problem(s):' % len(problems)
    return [header] + problems


def missing_from_inventory(nova_name, inventory_name, group='compute', purpose=None):
    """A problem sentence when a compute Nova names has no inventory host, else nothing."""
    if not nova_name or inventory_name:
        return []
    return ['%s is not in the inventory group %s, so %s; add it (or set novaops_nova_host on the inventory host '
            'that Nova calls %s)%s' % (nova_name, group, purpose or 'its checks could not run from it', nova_name,
                                       '' if purpose else ', or set -e skip_host_checks=true')]


def nothing_to_move(server, target):
    return '%s already runs on %s: nothing to move.' % (_name(server), target)


def _method(request):
    return ' (%s)' % request.get('cold_method') if request.get('mode') == 'cold' else ''


def move_report(result, server, request, check_mode=False):
    """The lines that report one move: what moved where, the copy as sampled, the ports."""
    result = result or {}
    request = request or {}
    head = '%s: %s -> %s, %s migration%s, ' % (
        _name(server), result.get('source_host'), result.get('target_host'), request.get('mode'), _method(request))
    if check_mode:
        lines = [head + 'would move (check mode)']
    else:
        migration = result.get('migration') or {}
        landed = result.get('server') or {}
        lines = [head + 'done in %s s, migration %s %s, now %s on %s' % (
            result.get('duration'), result.get('migration_id'), migration.get('status') or '?',
            landed.get('status'), landed.get('host'))]
    copied = [sample for sample in result.get('progress') or [] if sample.get('percent') is not None]
    if copied:
        lines.append('copied: %s' % ', '.join('%s%% at %s s' % (sample['percent'], sample.get('elapsed'))
                                              for sample in copied))
    ports = result.get('ports') or []
    if ports:
        repaired = result.get('repaired_ports') or []
        hosts = sorted(set(str(port.get('binding_host')) for port in ports))
        line = 'ports: %s on %s' % (', '.join('%s %s' % (port.get('id'), port.get('status')) for port in ports),
                                    ', '.join(hosts))
        if repaired:
            line += ' (admin state cycled for %s: Neutron had kept %s DOWN)' % (
                ', '.join(repaired), 'them' if len(repaired) > 1 else 'it')
        lines.append(line)
    return lines


def unbound_ports(result, target):
    """Problems when a moved server's ports are not all bound to the target."""
    ports = (result or {}).get('ports') or []
    elsewhere = [port for port in ports if port.get('binding_host') != target]
    if not elsewhere:
        return []
    landed = (result or {}).get('server') or {}
    return ['%s is on %s with ports bound to %s; expected %s.' % (
        _name(landed), landed.get('host'), ', '.join(sorted(set(str(port.get('binding_host')) for port in ports))),
        target)]


def move_failure(result, source_host=None, reset=None):
    """Why a move failed, and, when the server was recorded ACTIVE again, what was put right."""
    message = (result or {}).get('msg') or 'the move failed'
    if not reset or not reset.get('changed'):
        return message
    ports = reset.get('ports') or []
    not_active = [port.get('id') for port in ports if port.get('status') != 'ACTIVE']
    repaired = reset.get('repaired_ports') or []
    message += (' Nova had recorded the server as ERROR although libvirt on %s says its guest still runs; the server '
                'is recorded as ACTIVE on %s again%s' % (source_host, source_host,
                                                         ', its ports ACTIVE' if not not_active else ''))
    if repaired:
        message += ' (admin state cycled for %s: Neutron had left them DOWN)' % ', '.join(repaired)
    message += '.'
    if not_active:
        message += ' Ports not ACTIVE: %s; check them with openstack port show.' % ', '.join(not_active)
    return message


def aborted_on_source(result, source_host):
    """Whether a failed live move was aborted with the server left in ERROR on its source (libvirt must say more)."""
    result = result or {}
    server = result.get('server') or {}
    return bool('abort' in (result.get('actions') or []) and server.get('status') == 'ERROR'
                and server.get('host') == source_host)


def move_record(result, server, request, check_mode=False, followed=None):
    """The machine-readable record of one move, for report_file and AWX."""
    result = result or {}
    followed = followed or {}
    landed = result.get('server') or {}
    migration = result.get('migration') or {}
    return dict(
        playbook='migrate',
        server=dict(id=(server or {}).get('id'), name=(server or {}).get('name')),
        mode=(request or {}).get('mode'),
        method=(request or {}).get('cold_method') if (request or {}).get('mode') == 'cold' else None,
        check_mode=bool(check_mode),
        changed=bool(result.get('changed')),
        failed=bool(result.get('failed')),
        source_host=result.get('source_host'),
        target_host=result.get('target_host'),
        duration=result.get('duration'),
        migration_id=result.get('migration_id'),
        migration_status=migration.get('status'),
        status=landed.get('status'),
        host=landed.get('host'),
        ports=[dict(id=port.get('id'), status=port.get('status'), binding_host=port.get('binding_host'))
               for port in result.get('ports') or []],
        repaired_ports=list(result.get('repaired_ports') or []),
        actions=list(result.get('actions') or []),
        # How the play followed the move: rounds of looking, progress lines printed.
        follow=dict(rounds=followed.get('rounds', 0), lines=followed.get('lines', 0)),
    )


def checkpoint_message(step):
    """The failure of a run stopped at a checkpoint (manual_stop_before), as an interruption would be."""
    return ("Stopped before the step '%s' as asked (manual_stop_before); run again without it to go on." % step)


def _failure_detail(failed):
    failed = failed or {}
    parts = [str(failed.get('msg') or '').strip(), str(failed.get('stderr') or '').strip()]
    return ' '.join(part for part in parts if part) or 'no message'


def manual_failure(failed, server, source, target, task_name, after_commit):
    """Why a manual move stopped and what the operator does next, before or after the commit point."""
    what = '%s failed: %s.' % (task_name, _failure_detail(failed).rstrip('.'))
    if not after_commit:
        return ("%s Nova's records still name %s and the server's files there are intact; it is stopped. Run the "
                "same command again to resume (the copy is redone and checked), or start it where it is with "
                "`openstack server start %s`." % (what, source, (server or {}).get('id')))
    return ("%s Nova's records already name %s (the commit point is passed); the move's journal keeps %s as its "
            "source. Run the same command again to finish the move on %s; it is not rolled back once the guest may "
            "have written to its disk there." % (what, target, source, target))


def manual_verdict(landed, target, target_state, source_state):
    """Problems when Nova, libvirt and Neutron do not agree that the server runs on the target only."""
    landed = landed or {}
    problems = []
    if landed.get('host') != target or landed.get('status') != 'ACTIVE':
        problems.append('Nova says %s on %s' % (landed.get('status'), landed.get('host')))
    if target_state != 'running':
        problems.append("the domain is '%s' on %s" % (target_state, target))
    if source_state != 'undefined':
        problems.append("the domain is still defined on the source ('%s')" % source_state)
    unbound = sorted(set(str(port.get('binding_host')) for port in landed.get('ports') or []
                         if port.get('binding_host') != target))
    if unbound:
        problems.append('ports bound to %s' % ', '.join(unbound))
    if not problems:
        return []
    return ['verification failed: %s; expected ACTIVE and running on %s only, its ports bound there'
            % ('; '.join(problems), target)]


def manual_report(found, server, check_mode, source=None, duration=None, copy=None, keep_source=False):
    """The line that reports a manual move: its plan in check mode, else where the server landed."""
    found = found or {}
    if check_mode:
        return ('%s: %s -> %s, cold migration (manual), would move (check mode): copy %s, move nova\'s row, '
                'allocations and %d port(s), start on %s.' % (
                    _name(server), found.get('source_host'), found.get('target_host'), found.get('instance_dir'),
                    len(found.get('ports') or []), found.get('target_host')))
    copied = 'skipped (already copied)'
    if copy and not copy.get('skipped'):
        copied = '%s in %s s, verified in %s s' % (
            copy.get('method'), copy.get('copy_seconds'), copy.get('verify_seconds'))
    return ('%s: %s -> %s, cold migration (manual), done in %s s, now %s on %s; copy %s, source directory %s.' % (
        _name(server), source, found.get('host'), duration, found.get('status'), found.get('host'), copied,
        'kept' if keep_source else 'removed'))


def server_report(result, console=None):
    """The lines that report server.yml's server and its console, the console's URL without its token."""
    server = (result or {}).get('server') or {}
    lines = ['Server %s is %s on %s' % (_name(server), server.get('status') or '?', server.get('host') or '?')]
    console = console or {}
    found = console.get('console')
    if not found:
        # The cloud serves no console of that type, or the server is not there yet (check mode).
        lines.append('No console: %s' % (console.get('msg') or 'unknown reason'))
    elif found.get('url_has_token', True):
        # Only the redacted URL: whoever holds the token has the console.
        lines.append('Console (token hidden; -e novaops_server_show_console_url=true or `openstack console url show` '
                     'give it): %s' % found.get('url_redacted'))
    else:
        lines.append('Console: %s' % found.get('url_redacted'))
    return lines


class FilterModule(object):
    def filters(self):
        return dict(refusal=refusal, missing_from_inventory=missing_from_inventory, nothing_to_move=nothing_to_move,
                    move_report=move_report, unbound_ports=unbound_ports, move_failure=move_failure,
                    aborted_on_source=aborted_on_source, move_record=move_record,
                    checkpoint_message=checkpoint_message, manual_failure=manual_failure,
                    manual_verdict=manual_verdict, manual_report=manual_report,
                    server_report=server_report)
