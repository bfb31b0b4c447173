#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: server
short_description: Boot, start, stop or delete a Nova server
version_added: 0.1.0
description:
  - Boots a server from an image and a flavor on the given networks, starts or stops it, or deletes it.
  - The server is looked up by O(name) (or id). Several servers with that name are an error listing their ids.
  - Image, flavor, networks and ports are resolved before anything is created; an unknown or ambiguous one fails
    the task and nothing is booted.
  - An existing server is not rebuilt or resized; when its image or flavor differ from the request the module
    warns and leaves it alone.
  - With O(wait=true) the task waits for C(ACTIVE) (or C(SHUTOFF)); a server going to C(ERROR) fails the task
    with Nova's fault message.
options:
  name:
    description:
      - Name of the server, or id of an existing one.
    type: str
    required: true
  image:
    description:
      - Name or id of the image to boot from. Required to create a server.
    type: str
  flavor:
    description:
      - Name or id of the flavor. Required to create a server.
    type: str
  nics:
    description:
      - Networks and ports to attach, in order. Each item is a network name, or a dict with exactly one
        of C(net-name), C(net-id) or C(port-id).
      - When omitted, Nova attaches the server to the only network the project can use (C(auto)).
    type: list
    elements: raw
  availability_zone:
    description:
      - Availability zone to boot in.
    type: str
  host:
    description:
      - Compute host to boot on, bypassing the scheduler's choice of host. Admin only; needs compute API
        microversion 2.74.
    type: str
  key_name:
    description:
      - Name of the key pair to inject.
    type: str
  security_groups:
    description:
      - Names of the security groups. Nova uses the C(default) group when omitted.
    type: list
    elements: str
  userdata:
    description:
      - User data (for example a cloud-init script) handed to the guest. Encoded by the module.
      - Not logged and masked in the results (it often sets passwords or keys); Nova still shows it to anyone who
        may read the server's metadata.
    type: str
  metadata:
    description:
      - Metadata key/value pairs set on a new server.
    type: dict
  power_state:
    description:
      - V(started) starts a C(SHUTOFF) server, V(stopped) stops an C(ACTIVE) one.
      - When unset, a new server is left running and an existing one is neither started nor stopped.
    type: str
    choices: [started, stopped]
  state:
    description:
      - Whether the server should exist.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - novaops.migration.openstack
  - novaops.migration.openstack.WAIT
  - novaops.migration.openstack.ACTION_GROUP
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Image, flavor and networks are resolved in check mode too, so an unknown one fails there as well.
  diff_mode:
    support: full
  platform:
    platforms: posix
seealso:
  - module: novaops.migration.server_info
  - module: novaops.migration.image
  - module: novaops.migration.flavor
  - module: novaops.migration.network
  - module: openstack.cloud.server
    description: The openstack.cloud module that creates and deletes servers; it takes the same connection options.
  - module: openstack.cloud.server_action
    description: Starts, stops and runs the other actions on an existing server in openstack.cloud.
author:
  - novaops maintainers (@novaops)
'''

EXAMPLES = r'''
- name: Boot the test server on mynetwork
  novaops.migration.server:
    cloud: lab
    name: myinstance
    image: cirros
    flavor: myflavor
    nics:
      - net-name: mynetwork

- name: Boot on a chosen compute host
  novaops.migration.server:
    cloud: lab
    name: pinned-instance
    image: cirros
    flavor: myflavor
    nics: [mynetwork]
    host: compute1

- name: Stop it
  novaops.migration.server:
    cloud: lab
    name: myinstance
    power_state: stopped

- name: Delete it
  novaops.migration.server:
    cloud: lab
    name: myinstance
    state: absent
'''

RETURN = r'''
server:
  description: The server after the task; in check mode, the predicted server. Empty after O(state=absent).
  returned: always
  type: dict
  sample:
    id: 2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e
    name: myinstance
    status: ACTIVE
    power_state: running
    task_state: null
    vm_state: active
    availability_zone: nova
    flavor: {name: myflavor, ram: 512, vcpus: 1, disk: 5, ephemeral: 0, swap: 0}
    image_id: 0c0b2a5e-6a3c-4e61-9f0f-2f3f6f8f9c11
    key_name: null
    metadata: {}
    addresses:
      mynetwork: [{addr: 192.168.1.101, version: 4}]
    project_id: 3f2e1d0c9b8a4f5e6d7c8b9a0f1e2d3c
    fault: null
    host: compute1
    node: compute1.lab
    compute_host: compute1
    hypervisor_hostname: compute1.lab
    instance_name: instance-00000001
    instance_dir: /var/lib/nova/instances/2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e
actions:
  description: What the module did (or would do in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [create]
'''

import base64

from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible_collections.novaops.migration.plugins.module_utils.openstack import (
    DEFAULT_TIMEOUT, ModuleFailure, NovaopsModule)
from ansible_collections.novaops.migration.plugins.module_utils.servers import (
    TRANSITIONAL_STATUSES, SETTLED_STATUSES, fault_message, server_flavor, server_image_id, server_summary,
)

NIC_KEYS = ('net-name', 'net-id', 'port-id')
# Booting on a named host (the `host` field of a server create request).
HOST_MICROVERSION = '2.74'


def parse_nics(nics):
    """Turn the nics option into (kind, value) pairs; also return what is malformed."""
    parsed, problems = [], []
    for index, nic in enumerate(nics or []):
        if isinstance(nic, str):
            parsed.append(('net-name', nic))
            continue
        if not isinstance(nic, dict):
            problems.append('nics[%d] must be a network name or a dict, got %s' % (index, type(nic).__name__))
            continue
        keys = [key for key in NIC_KEYS if nic.get(key)]
        unknown = sorted(set(nic) - set(NIC_KEYS))
        if unknown:
            problems.append('nics[%d] has unsupported keys %s (use one of %s)'
                            % (index, ', '.join(unknown), ', '.join(NIC_KEYS)))
        elif len(keys) != 1:
            problems.append('nics[%d] needs exactly one of %s' % (index, ', '.join(NIC_KEYS)))
        else:
            parsed.append((keys[0], to_text(nic[keys[0]])))
    return parsed, problems


class ServerModule(NovaopsModule):
    argument_spec = dict(
        name=dict(type='str', required=True),
        image=dict(type='str'),
        flavor=dict(type='str'),
        nics=dict(type='list', elements='raw'),
        availability_zone=dict(type='str'),
        host=dict(type='str'),
        key_name=dict(type='str', no_log=False),
        security_groups=dict(type='list', elements='str'),
        userdata=dict(type='str', no_log=True),
        metadata=dict(type='dict'),
        power_state=dict(type='str', choices=['started', 'stopped']),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )
    module_kwargs = dict(supports_check_mode=True)
    wait_timeout = DEFAULT_TIMEOUT

    def run(self):
        nics, problems = parse_nics(self.params['nics'])
        if problems:
            self.fail_json(msg='invalid nics: %s' % '; '.join(problems))
        existing = self._find()
        if self.params['state'] == 'absent':
            self.exit_json(**self._absent(existing))
        if existing is None:
            self.exit_json(**self._create(nics))
        self.exit_json(**self._converge(existing))

    # -- lookups -----------------------------------------------------------
    def _find(self):
        name = self.params['name']
        # Nova treats the name filter as a regular expression, so it narrows
        # the list; find_one() then keeps exact matches only.
        return self.find_one('server', name, lambda: self.conn.compute.servers(name=name),
                             get_by_id=self.conn.compute.get_server, required=False)

    def _refetch(self, server_id):
        return self.get_or_none(self.conn.compute.get_server, server_id)

    def _resolve_image(self):
        image = self.params['image']
        return self.find_one('image', image, lambda: self.conn.image.images(name=image),
                             get_by_id=self.conn.image.get_image, hint='upload it first with novaops.migration.image')

    def _resolve_flavor(self):
        flavor = self.params['flavor']
        return self.find_one(
            'flavor', flavor, lambda: self.conn.compute.flavors(is_public='None'),
            get_by_id=self.conn.compute.get_flavor, hint='create it first with novaops.migration.flavor')

    def _resolve_nics(self, nics):
        """The `networks` field of the create request."""
        if not nics:
            return 'auto'
        networks = []
        for kind, value in nics:
            if kind == 'port-id':
                port = self.find_one('port', value, lambda: [], get_by_id=self.conn.network.get_port)
                networks.append({'port': port.id})
            elif kind == 'net-id':
                network = self.find_one('network', value, lambda: [], get_by_id=self.conn.network.get_network)
                networks.append({'uuid': network.id})
            else:
                network = self.find_one('network', value, lambda name=value: self.conn.network.networks(name=name),
                                        hint='create it first with novaops.migration.network')
                networks.append({'uuid': network.id})
        return networks

    # -- absent ------------------------------------------------------------
    def _absent(self, existing):
        if existing is None:
            return self.outcome(False, diff=self.diff({}, {}), server={}, actions=[])
        before = server_summary(existing)
        if self.check_mode:
            return self.outcome(True, diff=self.diff(before, {}), server={}, actions=['delete'])
        self.conn.compute.delete_server(existing)
        if self.params['wait']:
            self.wait_for(lambda: self._refetch(existing.id), ['GONE', 'DELETED'], ['ERROR'],
                          what="deleted server '%s' (%s)" % (existing.name, existing.id), describe_failure=fault_message)
        return self.outcome(True, diff=self.diff(before, {}), server={}, actions=['delete'])

    # -- create ------------------------------------------------------------
    def _create(self, nics):
        missing = [option for option in ('image', 'flavor') if not self.params[option]]
        if missing:
            raise ModuleFailure(msg="server '%s' does not exist; creating it needs %s"
                                    % (self.params['name'], ' and '.join(missing)))
        image = self._resolve_image()
        flavor = self._resolve_flavor()
        networks = self._resolve_nics(nics)
        if self.params['host']:
            # The SDK negotiates the highest common microversion; make sure
            # it reaches the one that knows the `host` field.
            self.require_microversion(self.conn.compute, HOST_MICROVERSION, 'booting on a chosen host (host)')

        actions = ['create'] + (['stop'] if self.params['power_state'] == 'stopped' else [])
        predicted = dict(
            id=None, name=self.params['name'],
            status='SHUTOFF' if 'stop' in actions else 'ACTIVE',
            image_id=image.id,
            flavor=dict(name=flavor.name, ram=flavor.ram, vcpus=flavor.vcpus, disk=flavor.disk,
                        ephemeral=flavor.ephemeral or 0, swap=flavor.swap or 0),
            availability_zone=self.params['availability_zone'],
            host=self.params['host'],
            key_name=self.params['key_name'],
            metadata=dict(self.params['metadata'] or {}),
        )
        if self.check_mode:
            return self.outcome(True, diff=self.diff({}, predicted), server=predicted, actions=actions)

        request = dict(name=self.params['name'], image_id=image.id, flavor_id=flavor.id, networks=networks)
        for option in ('availability_zone', 'host', 'key_name', 'metadata'):
            if self.params[option]:
                request[option] = self.params[option]
        if self.params['security_groups']:
            request['security_groups'] = [{'name': group} for group in self.params['security_groups']]
        if self.params['userdata']:
            request['user_data'] = to_text(base64.b64encode(to_bytes(self.params['userdata'])))
        server = self.conn.compute.create_server(**request)

        if self.params['wait'] or 'stop' in actions:
            server = self._wait_status(server, ['ACTIVE'])
        if 'stop' in actions:
            self.conn.compute.stop_server(server)
            if self.params['wait']:
                server = self._wait_status(server, ['SHUTOFF'])
        server = self._refetch(server.id) or server
        after = server_summary(server)
        return self.outcome(True, diff=self.diff({}, after), server=after, actions=actions)

    # -- existing server ---------------------------------------------------
    def _converge(self, server):
        # Waiting is read-only, so check mode waits too and predicts from the settled state.
        if server.status in TRANSITIONAL_STATUSES and self.params['wait']:
            server = self._wait_status(server, SETTLED_STATUSES)
        if server.status == 'ERROR':
            raise ModuleFailure(
                msg="server '%s' (%s) exists in ERROR state: %s. Delete it (state: absent) and create it "
                    "again." % (server.name, server.id, fault_message(server) or 'no fault recorded'))
        self._warn_about_differences(server)

        before = server_summary(server)
        wanted = self.params['power_state']
        action = None
        if wanted == 'started' and server.status != 'ACTIVE':
            action = 'start'
        elif wanted == 'stopped' and server.status != 'SHUTOFF':
            action = 'stop'
        if action and server.status not in ('ACTIVE', 'SHUTOFF'):
            raise ModuleFailure(msg="cannot %s server '%s' (%s) while it is %s; it must be ACTIVE or SHUTOFF "
                                    "(confirm or revert a resize, unpause, resume or unshelve it first)."
                                    % (action, server.name, server.id, server.status))

        predicted = dict(before)
        if action:
            predicted.update(status='ACTIVE' if action == 'start' else 'SHUTOFF',
                             power_state='running' if action == 'start' else 'shutdown')
        actions = [action] if action else []
        if self.check_mode:
            return self.outcome(bool(action), diff=self.diff(before, predicted), server=predicted, actions=actions)
        if not action:
            return self.outcome(False, diff=self.diff(before, before), server=before, actions=[])

        if action == 'start':
            self.conn.compute.start_server(server)
        else:
            self.conn.compute.stop_server(server)
        if self.params['wait']:
            server = self._wait_status(server, ['ACTIVE' if action == 'start' else 'SHUTOFF'])
        else:
            server = self._refetch(server.id) or server
        after = server_summary(server)
        return self.outcome(True, diff=self.diff(before, after), server=after, actions=actions)

    def _warn_about_differences(self, server):
        requested_image, requested_flavor = self.params['image'], self.params['flavor']
        image_id = server_image_id(server)
        if requested_image and image_id and requested_image != image_id:
            image = self.find_one('image', requested_image, lambda: self.conn.image.images(name=requested_image),
                                  get_by_id=self.conn.image.get_image, required=False)
            if image is None or image.id != image_id:
                self.warn("server '%s' runs image %s, not %s; this module does not rebuild servers."
                          % (server.name, image_id, requested_image))
        flavor = server_flavor(server)
        if requested_flavor and flavor.get('name') and requested_flavor not in (flavor.get('name'), getattr(
                server.flavor, 'id', None)):
            self.warn("server '%s' has flavor %s, not %s; this module does not resize servers."
                      % (server.name, flavor.get('name'), requested_flavor))

    def _wait_status(self, server, statuses):
        return self.wait_for(lambda: self._refetch(server.id), statuses, ['ERROR', 'GONE'],
                             what="server '%s' (%s)" % (server.name, server.id), describe_failure=fault_message)


def main():
    module = ServerModule()
    module()


if __name__ == '__main__':
    main()
