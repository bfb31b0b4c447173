#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: subnet
short_description: Create, update or delete a Neutron subnet
version_added: 0.1.0
description:
  - Creates a subnet on a network, updates its mutable attributes, or deletes it.
  - The addresses are checked before anything is sent to the cloud - O(cidr) must be a network address,
    every allocation pool must lie inside it with C(start) not after C(end), pools must not overlap,
    and the gateway must be inside O(cidr) and outside every pool.
  - The subnet is looked up by O(name) among the subnets of the project the credentials are scoped to (and of
    O(network) when given). O(cidr), O(ip_version) and O(network) cannot change on an existing subnet.
  - Options left unset are not compared; a new subnet gets Neutron's defaults for them (the first address of
    O(cidr) as gateway, the whole range as pool, DHCP on).
options:
  name:
    description:
      - Name of the subnet.
    type: str
    required: true
  network:
    description:
      - Name or id of the network. Required with O(state=present).
    type: str
  cidr:
    description:
      - Address range of the subnet, for example C(192.168.1.0/24). Required with O(state=present).
    type: str
  ip_version:
    description:
      - IP version of O(cidr).
    type: int
    choices: [4, 6]
    default: 4
  allocation_pools:
    description:
      - Ranges from which Neutron hands out addresses.
    type: list
    elements: dict
    suboptions:
      start:
        description: First address of the range.
        type: str
        required: true
      end:
        description: Last address of the range.
        type: str
        required: true
  gateway_ip:
    description:
      - Gateway address. Mutually exclusive with O(no_gateway).
    type: str
  no_gateway:
    description:
      - Create the subnet without a gateway, or remove the gateway of an existing one.
    type: bool
    default: false
  dns_nameservers:
    description:
      - DNS servers handed to the guests, in order.
    type: list
    elements: str
  enable_dhcp:
    description:
      - Whether Neutron serves DHCP on the subnet.
    type: bool
  state:
    description:
      - Whether the subnet should exist. Deleting fails while ports still use it.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - novaops.migration.openstack
  - novaops.migration.openstack.ACTION_GROUP
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
seealso:
  - module: novaops.migration.network
  - module: openstack.cloud.subnet
    description: The openstack.cloud module for subnets; it takes the same connection options.
author:
  - novaops maintainers (@novaops)
'''

EXAMPLES = r'''
- name: Create the subnet of the test network
  novaops.migration.subnet:
    cloud: lab
    name: mynetwork_subnet
    network: mynetwork
    cidr: 192.168.1.0/24
    gateway_ip: 192.168.1.1
    allocation_pools:
      - start: 192.168.1.100
        end: 192.168.1.110

- name: Remove it
  novaops.migration.subnet:
    cloud: lab
    name: mynetwork_subnet
    state: absent
'''

RETURN = r'''
subnet:
  description: The subnet after the task; in check mode, the predicted subnet. Empty after O(state=absent).
  returned: always
  type: dict
  sample:
    id: 9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d
    name: mynetwork_subnet
    network_id: 5d8f1a3e-2a9b-4c1d-8e7f-6a5b4c3d2e1f
    cidr: 192.168.1.0/24
    ip_version: 4
    gateway_ip: 192.168.1.1
    allocation_pools:
      - start: 192.168.1.100
        end: 192.168.1.110
    dns_nameservers: []
    enable_dhcp: true
actions:
  description: What the module did (or would do in check mode).
  returned: always
  type: list
  elements: str
  sample: [create]
'''

import ipaddress

from ansible.module_utils.common.text.converters import to_text
from ansible_collections.novaops.migration.plugins.module_utils.openstack import ModuleFailure, NovaopsModule


def subnet_summary(subnet):
    return dict(
        id=subnet.id,
        name=subnet.name,
        network_id=subnet.network_id,
        cidr=subnet.cidr,
        ip_version=subnet.ip_version,
        gateway_ip=subnet.gateway_ip,
        allocation_pools=normalized_pools(subnet.allocation_pools or []),
        dns_nameservers=list(subnet.dns_nameservers or []),
        enable_dhcp=subnet.is_dhcp_enabled,
    )


def normalized_pools(pools):
    """Pools as {start, end} dicts of canonical addresses in address order.

    Neutron may return pools in another order or spelling (IPv6) than the
    task gives them; neither counts as a change.
    """
    parsed = sorted((ipaddress.ip_address(to_text(pool['start'])), ipaddress.ip_address(to_text(pool['end'])))
                    for pool in pools)
    return [{'start': str(start), 'end': str(end)} for start, end in parsed]


def address_problems(cidr, ip_version, pools, gateway_ip, dns_nameservers):
    """Everything wrong with the requested addresses, as messages; empty when all is consistent."""
    try:
        network = ipaddress.ip_network(to_text(cidr), strict=False)
    except ValueError as error:
        return ['cidr %s is not a valid network address: %s' % (cidr, error)]
    problems = []
    if str(network) != to_text(cidr).strip():
        try:
            ipaddress.ip_network(to_text(cidr))
        except ValueError:
            problems.append('cidr %s has host bits set; did you mean %s?' % (cidr, network))
    if network.version != ip_version:
        problems.append('cidr %s is IPv%d but ip_version is %d' % (cidr, network.version, ip_version))

    def address(text, what):
        try:
            value = ipaddress.ip_address(to_text(text))
        except ValueError:
            problems.append('%s %s is not an IP address' % (what, text))
            return None
        if value.version != network.version:
            problems.append('%s %s is IPv%d but cidr %s is IPv%d' % (what, text, value.version, cidr, network.version))
            return None
        return value

    ranges = []
    for index, pool in enumerate(pools or []):
        what = 'allocation_pools[%d]' % index
        start = address(pool['start'], what + '.start')
        end = address(pool['end'], what + '.end')
        if start is None or end is None:
            continue
        if start > end:
            problems.append('%s starts at %s, after its end %s' % (what, start, end))
            continue
        if start not in network or end not in network:
            problems.append('%s %s-%s is not inside cidr %s' % (what, start, end, cidr))
            continue
        if network.version == 4 and network.prefixlen < 31 and (
                start == network.network_address or end == network.broadcast_address):
            problems.append('%s %s-%s includes the network or broadcast address of %s' % (what, start, end, cidr))
        ranges.append((start, end, what))

    ordered = sorted(ranges)
    for position, (start, end, what) in enumerate(ordered):
        for other_start, other_end, other_what in ordered[position + 1:]:
            if other_start <= end:
                problems.append('%s %s-%s overlaps %s %s-%s' % (what, start, end, other_what, other_start, other_end))

    if gateway_ip:
        gateway = address(gateway_ip, 'gateway_ip')
        if gateway is not None:
            if gateway not in network:
                problems.append('gateway_ip %s is not inside cidr %s' % (gateway, cidr))
            for start, end, what in ranges:
                if start <= gateway <= end:
                    problems.append('gateway_ip %s is inside %s %s-%s; Neutron would hand it to a guest'
                                    % (gateway, what, start, end))

    for index, server in enumerate(dns_nameservers or []):
        try:
            ipaddress.ip_address(to_text(server))
        except ValueError:
            problems.append('dns_nameservers[%d] %s is not an IP address' % (index, server))
    return problems


class SubnetModule(NovaopsModule):
    argument_spec = dict(
        name=dict(type='str', required=True),
        network=dict(type='str'),
        cidr=dict(type='str'),
        ip_version=dict(type='int', default=4, choices=[4, 6]),
        allocation_pools=dict(type='list', elements='dict', options=dict(
            start=dict(type='str', required=True),
            end=dict(type='str', required=True),
        )),
        gateway_ip=dict(type='str'),
        no_gateway=dict(type='bool', default=False),
        dns_nameservers=dict(type='list', elements='str'),
        enable_dhcp=dict(type='bool'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )
    module_kwargs = dict(
        supports_check_mode=True,
        required_if=[('state', 'present', ['network', 'cidr'])],
        mutually_exclusive=[('gateway_ip', 'no_gateway')],
    )

    def run(self):
        if self.params['state'] == 'present':
            self._validate()
        network = self._find_network()
        existing = self._find(network)
        if self.params['state'] == 'absent':
            self.exit_json(**self._absent(existing))
        self.exit_json(**self._present(network, existing))

    def _validate(self):
        problems = address_problems(self.params['cidr'], self.params['ip_version'], self.params['allocation_pools'],
                                    self.params['gateway_ip'], self.params['dns_nameservers'])
        if problems:
            raise ModuleFailure(msg='invalid subnet %s: %s. Nothing was sent to the cloud.'
                                    % (self.params['name'], '; '.join(problems)), problems=problems)

    def _find_network(self):
        name_or_id = self.params['network']
        if not name_or_id:
            return None
        required = self.params['state'] == 'present'
        return self.find_one('network', name_or_id, lambda: self.conn.network.networks(name=name_or_id),
                             get_by_id=self.conn.network.get_network, required=required,
                             hint='create it first with novaops.migration.network')

    def _find(self, network):
        name = self.params['name']
        query = dict(name=name, project_id=self.conn.current_project_id)
        if network is not None:
            query['network_id'] = network.id
        return self.find_one('subnet', name, lambda: self.conn.network.subnets(**query), required=False)

    def _absent(self, existing):
        if existing is None:
            return self.outcome(False, diff=self.diff({}, {}), subnet={}, actions=[])
        before = subnet_summary(existing)
        if self.check_mode:
            return self.outcome(True, diff=self.diff(before, {}), subnet={}, actions=['delete'])
        self.conn.network.delete_subnet(existing, ignore_missing=False)
        return self.outcome(True, diff=self.diff(before, {}), subnet={}, actions=['delete'])

    def _requested_mutables(self):
        """Mutable attributes the task sets, as openstacksdk Subnet attributes."""
        requested = {}
        if self.params['allocation_pools'] is not None:
            requested['allocation_pools'] = normalized_pools(self.params['allocation_pools'])
        if self.params['no_gateway']:
            requested['gateway_ip'] = None
        elif self.params['gateway_ip']:
            requested['gateway_ip'] = str(ipaddress.ip_address(to_text(self.params['gateway_ip'])))
        if self.params['dns_nameservers'] is not None:
            requested['dns_nameservers'] = list(self.params['dns_nameservers'])
        if self.params['enable_dhcp'] is not None:
            requested['is_dhcp_enabled'] = self.params['enable_dhcp']
        return requested

    def _present(self, network, existing):
        cidr = str(ipaddress.ip_network(to_text(self.params['cidr']), strict=False))
        requested = self._requested_mutables()
        if existing is None:
            predicted = dict(id=None, name=self.params['name'], network_id=network.id, cidr=cidr,
                             ip_version=self.params['ip_version'], gateway_ip=requested.get('gateway_ip'),
                             allocation_pools=requested.get('allocation_pools', []),
                             dns_nameservers=requested.get('dns_nameservers', []),
                             enable_dhcp=requested.get('is_dhcp_enabled', True))
            if self.check_mode:
                return self.outcome(True, diff=self.diff({}, predicted), subnet=predicted, actions=['create'])
            subnet = self.conn.network.create_subnet(name=self.params['name'], network_id=network.id, cidr=cidr,
                                                     ip_version=self.params['ip_version'], **requested)
            after = subnet_summary(subnet)
            return self.outcome(True, diff=self.diff({}, after), subnet=after, actions=['create'])

        before = subnet_summary(existing)
        differences = []
        if existing.network_id != network.id:
            differences.append('network (cloud %s, requested %s)' % (existing.network_id, network.id))
        if existing.cidr != cidr:
            differences.append('cidr (cloud %s, requested %s)' % (existing.cidr, cidr))
        if existing.ip_version != self.params['ip_version']:
            differences.append('ip_version (cloud %s, requested %s)' % (existing.ip_version, self.params['ip_version']))
        if differences:
            raise ModuleFailure(
                msg="subnet '%s' (%s) exists with different %s; these cannot be changed. Delete the subnet "
                    "(state: absent) and create it again, or choose another name."
                    % (existing.name, existing.id, ', '.join(differences)))

        current = dict(allocation_pools=before['allocation_pools'], gateway_ip=before['gateway_ip'],
                       dns_nameservers=before['dns_nameservers'], is_dhcp_enabled=before['enable_dhcp'])
        updates = dict((key, value) for key, value in requested.items() if current[key] != value)
        predicted = dict(before)
        for key, value in updates.items():
            predicted['enable_dhcp' if key == 'is_dhcp_enabled' else key] = value
        actions = ['update'] if updates else []
        if self.check_mode:
            return self.outcome(bool(updates), diff=self.diff(before, predicted), subnet=predicted, actions=actions)
        if not updates:
            return self.outcome(False, diff=self.diff(before, before), subnet=before, actions=[])
        subnet = self.conn.network.update_subnet(existing, **updates)
        after = subnet_summary(subnet)
        return self.outcome(True, diff=self.diff(before, after), subnet=after, actions=actions)


def main():
    module = SubnetModule()
    module()


if __name__ == '__main__':
    main()
