#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: flavor
short_description: Create or delete a Nova flavor and manage its extra specs
version_added: 0.1.0
description:
  - Creates a flavor with the given sizes, or deletes it. Needs an admin role.
  - Nova flavors cannot be changed once created. When a flavor of that name exists with other sizes or
    visibility, the task fails listing the differences, unless O(recreate=true), which deletes the flavor and
    creates it again (servers already using it keep their own copy of the old sizes).
  - O(extra_specs) are added or updated in place; extra specs not listed are kept.
options:
  name:
    description:
      - Name of the flavor.
    type: str
    required: true
  flavor_id:
    description:
      - ID for a new flavor. Nova generates a UUID when unset. Ignored for an existing flavor.
    type: str
  ram:
    description:
      - Memory in MB. Required with O(state=present).
    type: int
  vcpus:
    description:
      - Number of virtual CPUs. Required with O(state=present).
    type: int
  disk:
    description:
      - Root disk size in GB. Required with O(state=present); C(0) means the size of the image.
    type: int
  ephemeral:
    description:
      - Ephemeral disk size in GB.
    type: int
    default: 0
  swap:
    description:
      - Swap disk size in MB.
    type: int
    default: 0
  is_public:
    description:
      - Whether every project can use the flavor.
    type: bool
    default: true
  extra_specs:
    description:
      - Extra specs to add or update, for example C(hw:cpu_policy). Values are compared as strings.
    type: dict
    default: {}
  recreate:
    description:
      - When a flavor of that name exists with different sizes or visibility, delete and create it instead of failing.
    type: bool
    default: false
  state:
    description:
      - Whether the flavor should exist.
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
  - module: novaops.migration.server
  - module: openstack.cloud.compute_flavor
    description: The openstack.cloud module for flavors; it takes the same connection options.
author:
  - novaops maintainers (@novaops)
'''

EXAMPLES = r'''
- name: Create the flavor used by the test server
  novaops.migration.flavor:
    cloud: lab
    name: myflavor
    ram: 512
    disk: 5
    vcpus: 1
    is_public: true

- name: Pin CPUs of a flavor
  novaops.migration.flavor:
    cloud: lab
    name: pinned
    ram: 1024
    disk: 5
    vcpus: 2
    extra_specs:
      hw:cpu_policy: dedicated

- name: Remove the flavor
  novaops.migration.flavor:
    cloud: lab
    name: myflavor
    state: absent
'''

RETURN = r'''
flavor:
  description: The flavor after the task; in check mode, the predicted flavor. Empty after O(state=absent).
  returned: always
  type: dict
  sample:
    id: 7b0b5a1c-3a8e-4a55-9c66-0f1b0e7f7f10
    name: myflavor
    ram: 512
    vcpus: 1
    disk: 5
    ephemeral: 0
    swap: 0
    is_public: true
    extra_specs: {}
actions:
  description: What the module did (or would do in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [create, set_extra_specs]
'''

from ansible_collections.novaops.migration.plugins.module_utils.openstack import ModuleFailure, NovaopsModule

# Flavor fields Nova cannot change after creation.
IMMUTABLE_FIELDS = ('ram', 'vcpus', 'disk', 'ephemeral', 'swap', 'is_public')


def flavor_summary(flavor):
    return dict(
        id=flavor.id,
        name=flavor.name,
        ram=flavor.ram,
        vcpus=flavor.vcpus,
        disk=flavor.disk,
        ephemeral=flavor.ephemeral or 0,
        swap=flavor.swap or 0,
        is_public=flavor.is_public,
        extra_specs=dict(flavor.extra_specs or {}),
    )


class FlavorModule(NovaopsModule):
    argument_spec = dict(
        name=dict(type='str', required=True),
        flavor_id=dict(type='str'),
        ram=dict(type='int'),
        vcpus=dict(type='int'),
        disk=dict(type='int'),
        ephemeral=dict(type='int', default=0),
        swap=dict(type='int', default=0),
        is_public=dict(type='bool', default=True),
        extra_specs=dict(type='dict', default={}),
        recreate=dict(type='bool', default=False),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )
    module_kwargs = dict(
        supports_check_mode=True,
        required_if=[('state', 'present', ['ram', 'vcpus', 'disk'])],
    )

    def run(self):
        if self.params['state'] == 'present':
            self._validate()
        existing = self._find()
        if self.params['state'] == 'absent':
            self.exit_json(**self._absent(existing))
        self.exit_json(**self._present(existing))

    def _validate(self):
        for option in ('ram', 'vcpus', 'disk', 'ephemeral', 'swap'):
            minimum = 1 if option in ('ram', 'vcpus') else 0
            if self.params[option] < minimum:
                raise ModuleFailure(msg='%s must be at least %d, got %d' % (option, minimum, self.params[option]))

    def _find(self):
        name = self.params['name']
        # is_public='None' makes Nova list private flavors too (for admins);
        # without it a private flavor would look missing and be created twice.
        flavor = self.find_one('flavor', name, lambda: self.conn.compute.flavors(is_public='None'), required=False)
        if flavor is not None and not flavor.extra_specs:
            # Only microversion 2.61+ lists extra specs with the flavor.
            flavor = self.conn.compute.fetch_flavor_extra_specs(flavor)
        return flavor

    def _absent(self, existing):
        if existing is None:
            return self.outcome(False, diff=self.diff({}, {}), flavor={}, actions=[])
        before = flavor_summary(existing)
        if self.check_mode:
            return self.outcome(True, diff=self.diff(before, {}), flavor={}, actions=['delete'])
        self.conn.compute.delete_flavor(existing, ignore_missing=False)
        return self.outcome(True, diff=self.diff(before, {}), flavor={}, actions=['delete'])

    def _present(self, existing):
        before = flavor_summary(existing) if existing is not None else {}
        actions = []
        if existing is None:
            actions.append('create')
        else:
            differences = self._differences(existing)
            if differences and not self.params['recreate']:
                raise ModuleFailure(msg="flavor '%s' (%s) exists with different %s; flavors cannot be changed. "
                                        "Set recreate: true to delete and create it again, or choose another name."
                                        % (existing.name, existing.id, ', '.join(differences)))
            if differences:
                actions.extend(['delete', 'create'])

        current_specs = {} if 'create' in actions else dict(existing.extra_specs or {})
        specs_to_set = dict(
            (key, str(value)) for key, value in self.params['extra_specs'].items()
            if key not in current_specs or str(current_specs[key]) != str(value)
        )
        if specs_to_set:
            actions.append('set_extra_specs')

        predicted = self._predicted(existing, actions, specs_to_set)
        if self.check_mode:
            return self.outcome(bool(actions), diff=self.diff(before, predicted), flavor=predicted, actions=actions)
        if not actions:
            return self.outcome(False, diff=self.diff(before, before), flavor=before, actions=[])

        flavor = existing
        if 'delete' in actions:
            self.conn.compute.delete_flavor(existing, ignore_missing=False)
        if 'create' in actions:
            flavor = self._create()
        if specs_to_set:
            flavor = self.conn.compute.create_flavor_extra_specs(flavor, specs_to_set)
        # Read back so the result shows what Nova stored, not what we sent.
        flavor = self.conn.compute.fetch_flavor_extra_specs(self.conn.compute.get_flavor(flavor.id))
        after = flavor_summary(flavor)
        return self.outcome(True, diff=self.diff(before, after), flavor=after, actions=actions)

    def _differences(self, flavor):
        current = flavor_summary(flavor)
        return ['%s (cloud %s, requested %s)' % (field, current[field], self.params[field])
                for field in IMMUTABLE_FIELDS if current[field] != self.params[field]]

    def _predicted(self, existing, actions, specs_to_set):
        if 'create' in actions:
            predicted = dict((field, self.params[field]) for field in IMMUTABLE_FIELDS)
            predicted.update(id=self.params['flavor_id'], name=self.params['name'], extra_specs={})
        else:
            predicted = flavor_summary(existing)
        predicted['extra_specs'].update(specs_to_set)
        return predicted

    def _create(self):
        attributes = dict((field, self.params[field]) for field in IMMUTABLE_FIELDS)
        attributes['name'] = self.params['name']
        if self.params['flavor_id']:
            attributes['id'] = self.params['flavor_id']
        return self.conn.compute.create_flavor(**attributes)


def main():
    module = FlavorModule()
    module()


if __name__ == '__main__':
    main()
