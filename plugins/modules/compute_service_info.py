#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: compute_service_info
short_description: List Nova services, like openstack compute service list
version_added: 0.1.0
description:
  - Returns the Nova services (C(nova-compute), C(nova-scheduler), C(nova-conductor), ...) with their host,
    zone, whether they are enabled and whether they report as up. Needs an admin role.
  - Use it to check that the source and target compute hosts of a migration are enabled and up.
options:
  host:
    description:
      - Only services on this host.
    type: str
  binary:
    description:
      - Only services of this binary, for example C(nova-compute).
    type: str
  aggregates:
    description:
      - Also name each service's host aggregates (RV(services[].aggregates)), from one more request, as a rolling
        maintenance one host per aggregate at a time needs them.
    type: bool
    default: false
    version_added: 0.3.0
extends_documentation_fragment:
  - novaops.migration.openstack
  - novaops.migration.openstack.ACTION_GROUP
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: N/A
  platform:
    platforms: posix
seealso:
  - module: novaops.migration.server_info
  - module: openstack.cloud.compute_service_info
    description: The openstack.cloud module that lists compute services; it takes the same connection options.
author:
  - novaops maintainers (@novaops)
'''

EXAMPLES = r'''
- name: List the compute services
  novaops.migration.compute_service_info:
    cloud: lab
    binary: nova-compute
  register: compute_services

- name: Every compute service must be enabled and up
  ansible.builtin.assert:
    that:
      - compute_services.services | rejectattr('status', 'eq', 'enabled') | list | length == 0
      - compute_services.services | rejectattr('state', 'eq', 'up') | list | length == 0
    fail_msg: "Not all compute services are usable: {{ compute_services.services }}"

- name: List the compute services with their host aggregates
  novaops.migration.compute_service_info:
    cloud: lab
    binary: nova-compute
    aggregates: true
  register: compute_services_and_aggregates
'''

RETURN = r'''
services:
  description: The services found, sorted by host then binary.
  returned: always
  type: list
  elements: dict
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
      sample: enabled
    state:
      description: Whether the service reports in time, C(up) or C(down).
      type: str
      sample: up
    disabled_reason:
      description: Why an administrator disabled the service.
      type: str
      sample: null
    forced_down:
      description: Whether an administrator forced the service down.
      type: bool
      sample: false
    updated_at:
      description: Last time the service reported.
      type: str
      sample: '2026-11-23T21:40:02.000000'
    aggregates:
      description: Names of the host aggregates the service's host is in, sorted; only with O(aggregates=true).
      type: list
      elements: str
      returned: when O(aggregates=true)
      sample: [rack-a]
      version_added: 0.3.0
'''

from ansible_collections.novaops.migration.plugins.module_utils.openstack import NovaopsModule
from ansible_collections.novaops.migration.plugins.module_utils.servers import service_summary


class ComputeServiceInfoModule(NovaopsModule):
    argument_spec = dict(
        host=dict(type='str'),
        binary=dict(type='str'),
        aggregates=dict(type='bool', default=False),
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        query = dict((option, self.params[option]) for option in ('host', 'binary') if self.params[option])
        services = [service_summary(service) for service in self.conn.compute.services(**query)]
        services.sort(key=lambda service: (service['host'] or '', service['binary'] or ''))
        if self.params['aggregates']:
            member_of = {}
            for aggregate in self.conn.compute.aggregates():
                for host in aggregate.hosts or []:
                    member_of.setdefault(host, set()).add(aggregate.name)
            for service in services:
                service['aggregates'] = sorted(member_of.get(service['host'], ()))
        self.exit_json(False, services=services)


def main():
    module = ComputeServiceInfoModule()
    module()


if __name__ == '__main__':
    main()
