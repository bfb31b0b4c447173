# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Deciding whether a compute host is really gone before its servers are evacuated.

Evacuating rebuilds a host's servers elsewhere. If the host was in fact alive
(a network partition, a stuck nova-compute) its guests go on writing to the
same volumes as their rebuilt copies and corrupt them. So two questions come
first, answered here from data the playbook gathered (compute_service_info,
host_reachability, the operator's fencing task):

- partition_check: is this one host failing, or does the controller lose many
  at once (then the fault is the network or the control plane, and nothing is
  evacuated)?
- fence_verdict: is this host proven gone - its nova-compute down in the API
  and the host unreachable from the controller by ssh and ICMP, or fenced by an
  operator's step (power off through its BMC)?

Pure functions: nothing here talks to a host or to the cloud. Bad input
raises FencingInputError, a refused partition check PartitionError.
"""

from collections.abc import Mapping

# Share of the computes that may look down at once before a failure looks like a partition: one of three is not.
DEFAULT_PARTITION_THRESHOLD = 0.34
SSH_PORT = 22

# fence_verdict's verdicts.
GONE = 'gone'
SERVICE_UP = 'service_up'
HOST_ALIVE = 'host_alive'
UNPROVEN = 'unproven'
# The host is silent but Nova still counts its nova-compute up: it has not yet missed service_down_time of reports.
AWAITING_DOWN = 'awaiting_down'


class FencingInputError(ValueError):
    """The data given is not what the function expects; the message says what was wrong."""


class PartitionError(Exception):
    """Too many computes look down at once: evacuating would act on a partition, not on a failed host.

    ``summary`` is partition_check's summary of the services, for the task's result.
    """

    def __init__(self, message, summary):
        super().__init__(message)
        self.summary = summary


def _service_fields(index, service):
    if not isinstance(service, Mapping):
        raise FencingInputError('services[%d] must be a dict with host, state, forced_down and status (as '
                                'compute_service_info returns them), got %r' % (index, service))
    host = service.get('host')
    if not host or not isinstance(host, str):
        raise FencingInputError('services[%d] has no host: %r' % (index, service))
    state = service.get('state')
    if state not in ('up', 'down'):
        raise FencingInputError("services[%d] (%s): state must be 'up' or 'down', got %r" % (index, host, state))
    return host, state, bool(service.get('forced_down')), service.get('status')


def is_down(service):
    """Whether Nova's API counts a service down: it missed its reports, or an administrator forced it down."""
    return service.get('state') == 'down' or bool(service.get('forced_down'))


def partition_check(services, host, threshold=DEFAULT_PARTITION_THRESHOLD):
    """Refuse (PartitionError) when more than ``threshold`` of the computes look down at once.

    ``services`` are every nova-compute service (dicts with host, state,
    forced_down, status; other binaries are ignored). A service that looks
    down missed its reports and nobody forced it down; one already forced
    down was fenced on purpose (an earlier evacuation, a host being repaired)
    and is no sign of a partition, so it does not count - except ``host``
    itself, the one about to be evacuated. When ``host`` is the only one down
    the check passes whatever the share (two computes, one failed).
    Returns a summary: computes, down, forced_down, share, threshold.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
        raise FencingInputError('threshold must be a fraction between 0 and 1 (for example 0.34), got %r'
                                % (threshold,))
    if isinstance(services, Mapping) or not isinstance(services, (list, tuple)):
        raise FencingInputError('services must be a list of the nova-compute services, got %r' % (services,))
    computes = {}
    for index, service in enumerate(services):
        if isinstance(service, Mapping) and service.get('binary') not in (None, 'nova-compute'):
            continue
        name, state, forced_down, status = _service_fields(index, service)
        if name in computes:
            raise FencingInputError("host %s has two nova-compute services; remove the stale one with "
                                    "`openstack compute service delete ID` first" % name)
        computes[name] = dict(state=state, forced_down=forced_down, status=status)
    if host not in computes:
        raise FencingInputError("no nova-compute service runs on host '%s' (compute hosts: %s)"
                                % (host, ', '.join(sorted(computes)) or 'none'))

    down = sorted(name for name, service in computes.items()
                  if (service['state'] == 'down' and not service['forced_down']) or (name == host and is_down(service)))
    fenced = sorted(name for name, service in computes.items() if service['forced_down'] and name != host)
    share = float(len(down)) / len(computes)
    summary = dict(host=host, computes=len(computes), down=down, forced_down=fenced, share=round(share, 3),
                   threshold=threshold, host_down=host in down)
    if down == [host] or share <= threshold:
        return summary
    raise PartitionError('%d of %d computes look down (%s): this looks like a network partition or a control plane '
                         'fault, not a host failure; nothing was evacuated. Check the network between the '
                         'controller and the computes, RabbitMQ and the database first; once only %s is down, run '
                         'again (or raise the threshold, %s, if that many hosts really failed).'
                         % (len(down), len(computes), ', '.join(down), host, threshold), summary)


def _port_answers(tcp, port):
    """A TCP result for ``port``: its keys are ints from the module, strings once they went through JSON."""
    for key in (port, str(port)):
        if key in tcp:
            value = tcp[key]
            return None if value is None else bool(value)
    return None


def fence_succeeded(fence_result):
    """Whether an operator's fencing step succeeded: None when there was none (not given, skipped).

    ``fence_result`` is the registered result of that task (it succeeded when
    it did not fail and its rc, if any, is 0), a dict with ``fenced``, or a bool.
    """
    if fence_result is None:
        return None
    if isinstance(fence_result, bool):
        return fence_result
    if not isinstance(fence_result, Mapping):
        raise FencingInputError('fence_result must be the registered result of the fencing task, a dict with '
                                'fenced, or true/false; got %r' % (fence_result,))
    if 'fenced' in fence_result:
        return bool(fence_result['fenced'])
    if fence_result.get('skipped'):
        return None
    if fence_result.get('failed') or fence_result.get('unreachable'):
        return False
    return fence_result.get('rc') in (None, 0)


def fence_verdict(service_state, reachability, fence_result=None):
    """Whether the host is proven gone, so its servers may be evacuated; a dict saying why.

    ``service_state`` is the host's nova-compute service (state, forced_down),
    ``reachability`` host_reachability's result (tcp, icmp), ``fence_result``
    the operator's fencing step (see fence_succeeded). The host is gone when
    the fencing step succeeded (its nova-compute may still look up: the
    playbook forces it down; the fence is trusted over a ping), or when
    nova-compute is down in the API and the host answers neither ssh nor ICMP
    from the controller. Silent but still up in the API is awaiting_down: Nova
    has not yet missed enough reports. An ICMP that could not be tried (no
    ping) is unknown, not down.

    Returns verdict (gone, awaiting_down, service_up, host_alive, unproven), evacuate (bool),
    reasons (list), suggestion (what to do instead, or None), and the facts:
    service_down, ssh, icmp, other_ports, unreachable, fenced.
    """
    if not isinstance(service_state, Mapping):
        raise FencingInputError("service_state must be the host's nova-compute service (a dict with state and "
                                "forced_down), got %r" % (service_state,))
    if not isinstance(reachability, Mapping):
        raise FencingInputError("reachability must be host_reachability's result (tcp, icmp), got %r"
                                % (reachability,))
    host = service_state.get('host') or 'the host'
    tcp = reachability.get('tcp') or {}
    if not isinstance(tcp, Mapping):
        raise FencingInputError('reachability.tcp must map ports to true/false, got %r' % (tcp,))
    icmp = reachability.get('icmp')
    icmp = None if icmp is None else bool(icmp)
    ssh = _port_answers(tcp, SSH_PORT)
    other_ports = sorted(str(port) for port, answered in tcp.items() if answered and str(port) != str(SSH_PORT))
    fenced = fence_succeeded(fence_result)
    service_down = is_down(service_state)
    unreachable = ssh is False and icmp is False and not other_ports
    answers = [what for what, answered in (('ssh', ssh), ('ICMP', icmp)) if answered] + \
        ['TCP port %s' % port for port in other_ports]

    reasons = []
    if service_down:
        reasons.append('nova-compute on %s is down in the API%s' % (host, ' (forced down)'
                                                                    if service_state.get('forced_down') else ''))
    else:
        reasons.append('nova-compute on %s is up in the API' % host)
    if unreachable:
        reasons.append('%s answers neither ssh nor ICMP from the controller' % host)
    elif answers:
        reasons.append('%s answers %s from the controller' % (host, ' and '.join(answers)))
    else:
        unknown = [what for what, answered in (('ssh', ssh), ('ICMP', icmp)) if answered is None]
        reasons.append('%s does not answer, but %s could not be tried%s' % (
            host, ' nor '.join(unknown), ' (%s)' % reachability['icmp_detail']
            if icmp is None and reachability.get('icmp_detail') else ''))
    if fenced is True:
        reasons.append('the fencing step succeeded')
    elif fenced is False:
        reasons.append('the fencing step failed')

    if fenced:
        # An operator's fence (a BMC power-off) is the proof Nova's force-down is made for: the play need not wait out
        # service_down_time, nor see the host silent (it may answer a few seconds more while it powers off).
        verdict, suggestion = GONE, None
    elif not service_down and unreachable:
        verdict, suggestion = AWAITING_DOWN, (
            '%s answers nothing but Nova has not yet counted its nova-compute down (it waits service_down_time, 60 s '
            'by default, after the last report): wait and look again, or fence the host.' % host)
    elif not service_down:
        verdict, suggestion = SERVICE_UP, (
            'nova-compute on %s is up: Nova refuses to evacuate from a live host. If the host is really broken, '
            'fence it (power it off) and force its service down (compute_service forced_down=true) first; if only '
            'its guests are, move them with live or cold migration.' % host)
    elif unreachable:
        verdict, suggestion = GONE, None
    elif answers:
        verdict = HOST_ALIVE
        if ssh:
            suggestion = ('%s is alive but its nova-compute is dead: evacuation is refused (the guests may still run '
                          'and write to their disks). Its disks are still readable: move the servers with the manual '
                          'cold migration (the migrate playbook with -e mode=cold -e cold_method=manual), or fence '
                          'the host and run again.' % host)
        else:
            suggestion = ('%s answers but not on ssh, so its disks cannot be copied by hand: fence it (power it off '
                          'through its BMC) and pass the fencing step\'s result, or repair ssh and use the manual '
                          'cold migration (-e mode=cold -e cold_method=manual).' % host)
    else:
        verdict, suggestion = UNPROVEN, (
            'the controller cannot prove %s is gone: fence it through its BMC and pass the fencing step\'s result, '
            'or make ping available on the controller and check again.' % host)
    return dict(host=service_state.get('host'), verdict=verdict, evacuate=verdict == GONE, reasons=reasons,
                suggestion=suggestion, service_down=service_down, ssh=ssh, icmp=icmp, other_ports=other_ports,
                unreachable=unreachable, fenced=fenced)
