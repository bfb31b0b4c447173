#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: compute_service
short_description: Enable, disable or force down a Nova service on a host, with the reason it is disabled
version_added: 0.2.0
description:
  - Enables or disables the Nova service O(binary) (C(nova-compute) by default) on O(host), the equivalent of
    C(openstack compute service set --disable --disable-reason REASON HOST nova-compute) and
    C(openstack compute service set --enable HOST nova-compute).
  - A disabled C(nova-compute) keeps running the servers it has, but the scheduler places no new server and no
    migration there - the first step of draining a host for maintenance.
  - O(forced_down) marks a C(nova-compute) down at once, whatever its heartbeat says, the equivalent of
    C(openstack compute service set --down HOST nova-compute) - the step that lets Nova evacuate the servers of a
    fenced host (M(novaops.migration.evacuate)) without waiting for the service to miss its reports.
  - Idempotent - a service already in O(state) with the same O(disabled_reason) (and O(forced_down)) is left
    alone. Without O(disabled_reason), a disabled service keeps the reason it has.
  - Needs an admin role.
options:
  host:
    description:
      - Host the service runs on, as C(openstack compute service list) shows it.
    type: str
    required: true
  binary:
    description:
      - The service's binary.
    type: str
    default: nova-compute
  state:
    description:
      - V(disabled) stops the scheduler from using the service; V(enabled) puts it back in service and clears the
        reason it was disabled.
      - When omitted, V(enabled) - unless O(forced_down) is set, then the status is left as it is (forcing a dead
        host down must not put it back in the scheduler).
    type: str
    choices: [enabled, disabled]
  disabled_reason:
    description:
      - Why the service is disabled, shown by C(openstack compute service list --long). Only with
        O(state=disabled); Nova refuses a reason for an enabled service.
    type: str
    aliases: [reason]
  forced_down:
    description:
      - V(true) marks the service down in Nova's API at once (its state reads C(down) whatever its heartbeat
        says), which Nova requires before it evacuates servers from the host. Only do it once the host is fenced
        (powered off, or cut from the storage and the networks) - a host still running its guests while Nova
        rebuilds them elsewhere corrupts their disks.
      - V(false) lets the service's own reports count again, once the host was repaired. Nova cleans up the
        evacuated guests on the host when its nova-compute starts.
      - When omitted, the flag is left as it is.
      - Needs compute API microversion 2.53; only for C(nova-compute).
    type: bool
  reported_after:
    description:
      - Only with O(state=enabled). A moment (seconds since the epoch, UTC), such as when a host's maintenance
        ended. The service is enabled only once it has reported after it and Nova counts it up - proof that the
        service runs again, which its C(up) state alone is not (Nova still counts a stopped service up until its
        last report is older than C(service_down_time)).
      - When it has not within O(report_timeout), the task fails and the service stays disabled.
      - In check mode nothing is waited for; the change is predicted.
    type: float
  report_timeout:
    description:
      - Seconds to wait for the report O(reported_after) asks for.
    type: int
    default: 600
extends_documentation_fragment:
  - novaops.migration.openstack
  - novaops.migration.openstack.ACTION_GROUP
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The service is looked up and the predicted status and reason are returned; nothing is changed.
  diff_mode:
    support: full
    details: The diff shows the service's status and disabled reason (and forced_down, when O(forced_down) is set)
      before and after.
  platform:
    platforms: posix
notes:
  - Uses compute API microversion 2.53 (the service's id) when the cloud offers it, else the older
    C(os-services/disable-log-reason) calls; openstacksdk chooses. O(forced_down) needs 2.53.
  - With O(forced_down=false) and O(state=enabled) the service is unforced first and enabled once Nova counts it
    up again (up to 60 seconds; a warning when it does not come up). Nova moves the C(COMPUTE_STATUS_DISABLED) trait
    of the host's resource provider, which the scheduler filters on, only for a service that is up when it is
    enabled.
seealso:
  - module: novaops.migration.compute_service_info
  - module: novaops.migration.live_migrate
  - module: novaops.migration.cold_migrate
  - module: novaops.migration.evacuate
author:
  - novaops maintainers (@novaops)
'''

EXAMPLES = r'''
- name: Take compute1 out of the scheduler before its maintenance
  novaops.migration.compute_service:
    cloud: lab
    host: compute1
    state: disabled
    disabled_reason: kernel upgrade, ticket OPS-1234

- name: Put it back in service
  novaops.migration.compute_service:
    cloud: lab
    host: compute1
    state: enabled

- name: compute2 is fenced (powered off by its BMC) - force its nova-compute down so Nova evacuates it
  novaops.migration.compute_service:
    cloud: lab
    host: compute2
    state: disabled
    disabled_reason: host failed, fenced, evacuated (ticket OPS-1240)
    forced_down: true

- name: Once compute2 is repaired, let its reports count again (it stays disabled)
  novaops.migration.compute_service:
    cloud: lab
    host: compute2
    forced_down: false
'''

RETURN = r'''
service:
  description: The service after the change (in check mode, the prediction).
  returned: always
  type: dict
  contains:
    id:
      description: Service id (a UUID since compute microversion 2.53).
      type: str
      sample: 4e1f0c9a-8b7d-4c6e-a5f4-3b2a1c0d9e8f
    binary:
      description: Service binary.
      type: str
      sample: nova-compute
    host:
      description: Host the service runs on.
      type: str
      sample: compute1
    zone:
      description: Availability zone of the host.
      type: str
      sample: nova
    status:
      description: Whether the scheduler may use the service, C(enabled) or C(disabled).
      type: str
      sample: disabled
    state:
      description: Whether the service reports in time, C(up) or C(down) (always C(down) while forced down).
      type: str
      sample: up
    disabled_reason:
      description: Why the service is disabled; null when enabled.
      type: str
      sample: kernel upgrade, ticket OPS-1234
    forced_down:
      description: Whether an administrator forced the service down.
      type: bool
      sample: false
    updated_at:
      description: Last time the service reported.
      type: str
      sample: '2026-11-23T21:40:02.000000'
diff:
  description: The service's status and disabled reason before and after, when the play asks for a diff, and its
    C(forced_down) when O(forced_down) is set.
  returned: with --diff
  type: dict
  sample: {before: {status: enabled, disabled_reason: null, forced_down: false},
           after: {status: disabled, disabled_reason: host failed, forced_down: true}}
'''

from ansible_collections.novaops.migration.plugins.module_utils.openstack import ModuleFailure, NovaopsModule
from ansible_collections.novaops.migration.plugins.module_utils.servers import (
    report_seconds, reported_since, service_summary, utc_text)

# PUT /os-services/{id} with forced_down; before it, only the os-services/force-down call of 2.11.
FORCED_DOWN_MICROVERSION = '2.53'


def settings(summary, with_forced_down=False):
    """What this module manages, for the diff and the comparison."""
    managed = dict(status=summary['status'], disabled_reason=summary['disabled_reason'])
    if with_forced_down:
        managed['forced_down'] = bool(summary['forced_down'])
    return managed


class ComputeServiceModule(NovaopsModule):
    argument_spec = dict(
        host=dict(type='str', required=True),
        binary=dict(type='str', default='nova-compute'),
        # No default: enabled, unless only forced_down is asked (see run()).
        state=dict(type='str', choices=['enabled', 'disabled']),
        disabled_reason=dict(type='str', aliases=['reason']),
        forced_down=dict(type='bool'),
        reported_after=dict(type='float'),
        report_timeout=dict(type='int', default=600),
    )
    module_kwargs = dict(supports_check_mode=True)
    # Seconds an unforced service may take to be counted up again (its next report) before it is enabled.
    up_timeout = 60

    def run(self):
        host, binary, state = self.params['host'], self.params['binary'], self.params['state']
        reason, forced_down = self.params['disabled_reason'], self.params['forced_down']
        if state is None and forced_down is None:
            state = 'enabled'
        if state != 'disabled' and reason:
            self.fail_json(msg='disabled_reason is only for state=disabled: Nova clears the reason when it enables '
                               'a service. Drop disabled_reason, or set state=disabled.')
        if forced_down is not None:
            if binary != 'nova-compute':
                self.fail_json(msg='forced_down is only for nova-compute: Nova refuses to force down %s. Drop '
                                   'forced_down, or set binary=nova-compute.' % binary)
            self.require_microversion(self.conn.compute, FORCED_DOWN_MICROVERSION,
                                      'forcing a nova-compute service down or up (forced_down)')
        reported_after = self.params['reported_after']
        if reported_after is not None and state != 'enabled':
            self.fail_json(msg='reported_after is only for state=enabled: it holds a service back until it runs '
                               'again. Drop reported_after, or set state=enabled.')
        with_forced_down = forced_down is not None

        # find
        service = self._find(host, binary)
        # wait: a host back from its maintenance is enabled only once its service reports again
        if reported_after is not None and not self.check_mode:
            service = self._wait_reported(host, binary, reported_after)
        before = service_summary(service)

        # decide
        wanted = {}
        if state == 'disabled':
            wanted.update(status='disabled', disabled_reason=reason if reason else before['disabled_reason'])
        elif state == 'enabled':
            wanted.update(status='enabled', disabled_reason=None)
        if with_forced_down:
            wanted['forced_down'] = forced_down
            if forced_down:
                # Nova reports a forced-down service down at once; unforced, its heartbeat decides.
                wanted['state'] = 'down'
        after = dict(before, **wanted)
        status_changed = settings(before) != settings(after)
        forced_changed = with_forced_down and bool(before['forced_down']) != forced_down
        diff = self.diff(settings(before, with_forced_down), settings(after, with_forced_down))
        if not (status_changed or forced_changed):
            self.exit_json(False, diff=diff, service=before)
        if self.check_mode:
            self.exit_json(True, diff=diff, service=after)

        # act
        # Nova moves the COMPUTE_STATUS_DISABLED trait of the host's resource provider (which the scheduler
        # filters on) only when the service is up at the moment it is enabled or disabled; enabled while still
        # forced down, the host would get no server until its nova-compute restarts. So a service is unforced
        # first, and enabled once Nova counts it up again.
        if forced_changed and not forced_down:
            self.conn.compute.update_service_forced_down(service, host=host, binary=binary, forced=False)
            if status_changed and state == 'enabled':
                self._wait_up(host, binary)
        if status_changed and state == 'disabled':
            self.conn.compute.disable_service(service, host=host, binary=binary, disabled_reason=reason)
        elif status_changed:
            self.conn.compute.enable_service(service, host=host, binary=binary)
        if forced_changed and forced_down:
            self.conn.compute.update_service_forced_down(service, host=host, binary=binary, forced=True)

        # verify: read it back rather than trust the answer (older microversions return no service)
        now = service_summary(self._find(host, binary))
        if settings(now) != settings(after):
            self.fail_json(msg="%s on %s is %s (reason: %s) after the update, expected %s (reason: %s); check "
                               "nova-api's log." % (binary, host, now['status'], now['disabled_reason'],
                                                    after['status'], after['disabled_reason']), service=now)
        if with_forced_down and bool(now['forced_down']) != forced_down:
            self.fail_json(msg="%s on %s has forced_down %s after the update, expected %s; check nova-api's log."
                               % (binary, host, now['forced_down'], forced_down), service=now)
        self.exit_json(True, diff=self.diff(settings(before, with_forced_down), settings(now, with_forced_down)),
                       service=now)

    def _wait_up(self, host, binary):
        """Wait up to up_timeout for Nova to count the unforced service up; warn (and go on) when it does not."""
        def warn_still_down(service):
            self.warn('%s on %s is not reported up %s s after its forced-down state was unset (is it running?); it '
                      'is enabled anyway, but Nova could not clear the COMPUTE_STATUS_DISABLED trait of its '
                      'resource provider, so the scheduler skips the host until its %s restarts.'
                      % (binary, host, self.up_timeout, binary))
            return service

        self.wait_for(lambda: self._find(host, binary), ['UP'], what='%s on %s' % (binary, host),
                      state_of=lambda service: (service.state or '').upper(), timeout=self.up_timeout,
                      interval=2, on_timeout=warn_still_down)

    def _wait_reported(self, host, binary, since):
        """The service once it reported after ``since`` and is up; fails, changing nothing, when it does not."""
        timeout = self.params['report_timeout']

        def still_silent(service):
            summary = service_summary(service)
            raise ModuleFailure(
                msg='%s on %s has not reported since %s (its last report: %s, state %s) within %s s, so it '
                    'stays disabled. Is %s running on %s? `journalctl -u %s` there says why not.'
                    % (binary, host, utc_text(since), utc_text(report_seconds(summary['updated_at'])),
                       summary['state'], timeout, binary, host, binary), service=summary)

        return self.wait_for(lambda: self._find(host, binary), ['REPORTED'], what='%s on %s' % (binary, host),
                             state_of=lambda service: 'REPORTED' if reported_since(service, since) else 'SILENT',
                             timeout=timeout, interval=5, on_timeout=still_silent)

    def _find(self, host, binary):
        services = list(self.conn.compute.services(binary=binary))
        matches = [service for service in services if service.host == host]
        if not matches:
            known = sorted(set(service.host for service in services))
            raise ModuleFailure(msg="no %s service runs on host '%s' in cloud %s (hosts running %s: %s). Name the host "
                                    "as `openstack compute service list --service %s` shows it."
                                    % (binary, host, self.cloud_label(), binary, ', '.join(known) or 'none', binary))
        if len(matches) > 1:
            raise ModuleFailure(msg="%d %s services are registered on host '%s' (ids: %s); remove the stale one with "
                                    "`openstack compute service delete ID`." % (len(matches), binary, host,
                                                                                ', '.join(str(s.id) for s in matches)))
        return matches[0]


def main():
    module = ComputeServiceModule()
    module()


if __name__ == '__main__':
    main()
