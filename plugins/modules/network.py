#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: network
short_description: Create, update or delete a Neutron network
version_added: 0.1.0
description:
  - Creates a network in the project the credentials are scoped to, updates its mutable attributes, or deletes it.
  - The network is looked up by O(name) among the networks of that project; several with the same name are an
    error listing their ids.
  - Options left unset are not compared; a new network gets Neutron's defaults for them.
  - Provider attributes cannot be changed on an existing network; a mismatch fails listing the differences.
options:
  name:
    description:
      - Name of the network.
    type: str
    required: true
  external:
    description:
      - Whether the network is external (C(router:external)). Setting it needs an admin role.
    type: bool
  shared:
    description:
      - Whether every project can attach to the network.
    type: bool
  admin_state_up:
    description:
      - Administrative state of the network.
    type: bool
  provider_network_type:
    description:
      - Provider network type, for example C(geneve), C(vlan) or C(flat). Admin only.
    type: str
  provider_physical_network:
    description:
      - Physical network a C(flat) or C(vlan) network is on. Admin only.
    type: str
  provider_segmentation_id:
    description:
      - VLAN id or tunnel id of the network. Admin only.
    type: int
  state:
    description:
      - Whether the network should exist. Deleting fails while ports still use it.
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
  - module: novaops.migration.subnet
  - module: openstack.cloud.network
    description: The openstack.cloud module for networks; it takes the same connection options.
author:
  - novaops maintainers (@novaops)
'''

EXAMPLES = r'''
- name: Create the external network the test server attaches to
  novaops.migration.network:
    cloud: lab
    name: mynetwork
    external: true

- name: Remove it
  novaops.migration.network:
    cloud: lab
    name: mynetwork
    state: absent
'''

RETURN = r'''
network:
  description: The network after the task; in check mode, the predicted network. Empty after O(state=absent).
  returned: always
  type: dict
  sample:
    id: 5d8f1a3e-2a9b-4c1d-8e7f-6a5b4c3d2e1f
    name: mynetwork
    status: ACTIVE
    external: true
    shared: false
    admin_state_up: true
    provider_network_type: geneve
    provider_physical_network: null
    provider_segmentation_id: 1
    mtu: 1442
    project_id: 3f2e1d0c9b8a4f5e6d7c8b9a0f1e2d3c
    subnet_ids: []
actions:
  description: What the module did (or would do in check mode).
  returned: always
  type: list
  elements: str
  sample: [create]
'''

from ansible_collections.novaops.migration.plugins.module_utils.openstack import ModuleFailure, NovaopsModule

# Module option -> openstacksdk Network attribute, for attributes Neutron lets us update.
MUTABLE_ATTRIBUTES = (
    ('external', 'is_router_external'),
    ('shared', 'is_shared'),
    ('admin_state_up', 'is_admin_state_up'),
)
# Provider attributes are fixed once the network exists.
IMMUTABLE_ATTRIBUTES = (
    ('provider_network_type', 'provider_network_type'),
    ('provider_physical_network', 'provider_physical_network'),
    ('provider_segmentation_id', 'provider_segmentation_id'),
)


def network_summary(network):
    return dict(
        id=network.id,
        name=network.name,
        status=network.status,
        external=network.is_router_external,
        shared=network.is_shared,
        admin_state_up=network.is_admin_state_up,
        provider_network_type=network.provider_network_type,
        provider_physical_network=network.provider_physical_network,
        provider_segmentation_id=network.provider_segmentation_id,
        mtu=network.mtu,
        project_id=network.project_id,
        subnet_ids=list(network.subnet_ids or []),
    )


class NetworkModule(NovaopsModule):
    argument_spec = dict(
        name=dict(type='str', required=True),
        external=dict(type='bool'),
        shared=dict(type='bool'),
        admin_state_up=dict(type='bool'),
        provider_network_type=dict(type='str'),
        provider_physical_network=dict(type='str'),
        provider_segmentation_id=dict(type='int'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        existing = self._find()
        if self.params['state'] == 'absent':
            self.exit_json(**self._absent(existing))
        self.exit_json(**self._present(existing))

    def _find(self):
        name = self.params['name']
        project_id = self.conn.current_project_id
        return self.find_one('network', name, lambda: self.conn.network.networks(name=name, project_id=project_id),
                             required=False)

    def _absent(self, existing):
        if existing is None:
            return self.outcome(False, diff=self.diff({}, {}), network={}, actions=[])
        before = network_summary(existing)
        if self.check_mode:
            return self.outcome(True, diff=self.diff(before, {}), network={}, actions=['delete'])
        self.conn.network.delete_network(existing, ignore_missing=False)
        return self.outcome(True, diff=self.diff(before, {}), network={}, actions=['delete'])

    def _requested(self, attributes):
        return dict((sdk_name, self.params[option]) for option, sdk_name in attributes
                    if self.params[option] is not None)

    def _present(self, existing):
        if existing is None:
            attributes = self._requested(MUTABLE_ATTRIBUTES + IMMUTABLE_ATTRIBUTES)
            attributes['name'] = self.params['name']
            predicted = dict((option, self.params[option]) for option, dummy in MUTABLE_ATTRIBUTES + IMMUTABLE_ATTRIBUTES)
            predicted.update(id=None, name=self.params['name'], status='ACTIVE')
            if self.check_mode:
                return self.outcome(True, diff=self.diff({}, predicted), network=predicted, actions=['create'])
            network = self.conn.network.create_network(**attributes)
            after = network_summary(network)
            return self.outcome(True, diff=self.diff({}, after), network=after, actions=['create'])

        before = network_summary(existing)
        differences = ['%s (cloud %s, requested %s)' % (option, getattr(existing, sdk_name), self.params[option])
                       for option, sdk_name in IMMUTABLE_ATTRIBUTES
                       if self.params[option] is not None and getattr(existing, sdk_name) != self.params[option]]
        if differences:
            raise ModuleFailure(
                msg="network '%s' (%s) exists with different %s; provider attributes cannot be changed. "
                    "Delete the network (state: absent) and create it again, or choose another name."
                    % (existing.name, existing.id, ', '.join(differences)))

        updates = dict((sdk_name, value) for sdk_name, value in self._requested(MUTABLE_ATTRIBUTES).items()
                       if getattr(existing, sdk_name) != value)
        predicted = dict(before)
        for option, sdk_name in MUTABLE_ATTRIBUTES:
            if sdk_name in updates:
                predicted[option] = updates[sdk_name]
        actions = ['update'] if updates else []
        if self.check_mode:
            return self.outcome(bool(updates), diff=self.diff(before, predicted), network=predicted, actions=actions)
        if not updates:
            return self.outcome(False, diff=self.diff(before, before), network=before, actions=[])
        network = self.conn.network.update_network(existing, **updates)
        after = network_summary(network)
        return self.outcome(True, diff=self.diff(before, after), network=after, actions=actions)


def main():
    module = NetworkModule()
    module()


if __name__ == '__main__':
    main()
