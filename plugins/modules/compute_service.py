#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: compute_service
short_description: Enable or disable a Nova service on a host, with the reason it is disabled
version_added: 0.1.0
description:
  - Enables or disables the Nova service O(binary) (C(nova-compute) by default) on O(host), the equivalent of
    C(openstack compute service set --disable --disable-reason REASON HOST nova-compute) and
    C(openstack compute service set --enable HOST nova-compute).
  - A disabled C(nova-compute) keeps running the servers it has, but the scheduler places no new server and no
    migration there - the first step of draining a host for maintenance.
  - Idempotent - a service already in O(state) with the same O(disabled_reason) is left alone. Without
    O(disabled_reason), a disabled service keeps the reason it has.
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
    type: str
    choices: [enabled, disabled]
    default: enabled
  disabled_reason:
    description:
      - Why the service is disabled, shown by C(openstack compute service list --long). Only with
        O(state=disabled); Nova refuses a reason for an enabled service.
    type: str
    aliases: [reason]
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
    details: The diff shows the service's status and disabled reason before and after.
  platform:
    platforms: posix
notes:
  - Uses compute API microversion 2.53 (the service's id) when the cloud offers it, else the older
    C(os-services/disable-log-reason) calls; openstacksdk chooses.
seealso:
  - module: novaops.migration.compute_service_info
  - module: novaops.migration.live_migrate
  - module: novaops.migration.cold_migrate
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
      description: Whether the service reports in time, C(up) or C(down).
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
  description: The service's status and disabled reason before and after, when the play asks for a diff.
  returned: with --diff
  type: dict
  sample: {before: {status: enabled, disabled_reason: null},
           after: {status: disabled, disabled_reason: kernel upgrade, ticket OPS-1234}}
'''

from ansible_collections.novaops.migration.plugins.module_utils.openstack import NovaopsModule
from ansible_collections.novaops.migration.plugins.module_utils.servers import service_summary


def settings(summary):
    """What this module manages, for the diff and the comparison."""
    return dict(status=summary['status'], disabled_reason=summary['disabled_reason'])


class ComputeServiceModule(NovaopsModule):
    argument_spec = dict(
        host=dict(type='str', required=True),
        binary=dict(type='str', default='nova-compute'),
        state=dict(type='str', default='enabled', choices=['enabled', 'disabled']),
        disabled_reason=dict(type='str', aliases=['reason']),
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        host, binary, state = self.params['host'], self.params['binary'], self.params['state']
        reason = self.params['disabled_reason']
        if state == 'enabled' and reason:
            self.fail_json(msg='disabled_reason is only for state=disabled: Nova clears the reason when it enables '
                               'a service. Drop disabled_reason, or set state=disabled.')

        # find
        service = self._find(host, binary)
        before = service_summary(service)

        # decide
        wanted = dict(status=state, disabled_reason=None)
        if state == 'disabled':
            wanted['disabled_reason'] = reason if reason else before['disabled_reason']
        after = dict(before, **wanted)
        changed = settings(before) != settings(after)
        diff = self.diff(settings(before), settings(after))
        if not changed:
            self.exit_json(False, diff=diff, service=before)
        self.exit_if_check_mode(True, diff=diff, service=after)

        # act
        if state == 'disabled':
            self.conn.compute.disable_service(service, host=host, binary=binary, disabled_reason=reason)
        else:
            self.conn.compute.enable_service(service, host=host, binary=binary)

        # verify: read it back rather than trust the answer (older microversions return no service)
        now = service_summary(self._find(host, binary))
        if settings(now) != settings(after):
            self.fail_json(msg="%s on %s is %s (reason: %s) after the update, expected %s (reason: %s); check "
                               "nova-api's log." % (binary, host, now['status'], now['disabled_reason'],
                                                    after['status'], after['disabled_reason']), service=now)
        self.exit_json(True, diff=self.diff(settings(before), settings(now)), service=now)

    def _find(self, host, binary):
        services = list(self.conn.compute.services(binary=binary))
        matches = [service for service in services if service.host == host]
        if not matches:
            known = sorted(set(service.host for service in services))
            self.fail_json(msg="no %s service runs on host '%s' in cloud %s (hosts running %s: %s). Name the host "
                               "as `openstack compute service list --service %s` shows it."
                               % (binary, host, self.cloud_label(), binary, ', '.join(known) or 'none', binary))
        if len(matches) > 1:
            self.fail_json(msg="%d %s services are registered on host '%s' (ids: %s); remove the stale one with "
                               "`openstack compute service delete ID`." % (len(matches), binary, host,
                                                                           ', '.join(str(s.id) for s in matches)))
        return matches[0]


def main():
    module = ComputeServiceModule()
    module()


if __name__ == '__main__':
    main()
