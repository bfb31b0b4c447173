#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: server_info
short_description: Show where servers run and in what state, with their ports
version_added: 0.1.0
description:
  - Returns one server (by name or id) or all servers visible to the credentials, with their state, their
    placement (compute host, hypervisor node, libvirt domain name, instance directory on the compute), their
    flavor and their ports with the host each port is bound to.
  - Host, node and instance name are only returned to admins (Nova's policy); they are null otherwise.
  - Several servers with the requested name are an error listing their ids. An unknown name returns an empty list.
options:
  server:
    description:
      - Name or id of the server. When omitted, all servers are returned.
    type: str
  host:
    description:
      - Only servers on this compute host (C(OS-EXT-SRV-ATTR:host)). Admin only.
    type: str
  all_projects:
    description:
      - Include servers of all projects. Admin only.
    type: bool
    default: false
  instances_path:
    description:
      - Nova's C(instances_path) on the computes, used to build RV(servers[].instance_dir).
    type: str
    default: /var/lib/nova/instances
  with_ports:
    description:
      - Also return each server's ports (one network API request per server).
    type: bool
    default: true
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
  - module: novaops.migration.server
  - module: novaops.migration.compute_service_info
  - module: openstack.cloud.server_info
    description: The openstack.cloud module that lists servers; RV(servers[].compute_host) and
      RV(servers[].hypervisor_hostname) are returned under its names too.
author:
  - novaops maintainers (@novaops)
'''

EXAMPLES = r'''
- name: Where does myinstance run?
  novaops.migration.server_info:
    cloud: lab
    server: myinstance
  register: myinstance_info

- name: Show its compute host and instance directory
  ansible.builtin.debug:
    msg: "{{ myinstance_info.servers[0].host }}:{{ myinstance_info.servers[0].instance_dir }}"

- name: All servers on compute1, in every project
  novaops.migration.server_info:
    cloud: lab
    host: compute1
    all_projects: true
'''

RETURN = r'''
servers:
  description: The servers found, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Server id.
      type: str
      sample: 2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e
    name:
      description: Server name.
      type: str
      sample: myinstance
    status:
      description: Nova status.
      type: str
      sample: ACTIVE
    power_state:
      description: Power state as a word (nostate, running, paused, shutdown, crashed, suspended).
      type: str
      sample: running
    task_state:
      description: Task in progress, null when none.
      type: str
      sample: null
    vm_state:
      description: Nova's vm_state.
      type: str
      sample: active
    host:
      description: Compute service host the server is on (admin only).
      type: str
      sample: compute1
    node:
      description: Hypervisor node the server is on (admin only).
      type: str
      sample: compute1.lab
    compute_host:
      description: The same as RV(servers[].host), under the name M(openstack.cloud.server_info) uses.
      type: str
      sample: compute1
    hypervisor_hostname:
      description: The same as RV(servers[].node), under the name M(openstack.cloud.server_info) uses.
      type: str
      sample: compute1.lab
    instance_name:
      description: Libvirt domain name (admin only).
      type: str
      sample: instance-00000001
    instance_dir:
      description: Directory holding the server's files on its compute host.
      type: str
      sample: /var/lib/nova/instances/2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e
    availability_zone:
      description: Availability zone.
      type: str
      sample: nova
    flavor:
      description: Flavor sizes embedded in the server.
      type: dict
      sample: {name: myflavor, ram: 512, vcpus: 1, disk: 5, ephemeral: 0, swap: 0}
    image_id:
      description: Image the server booted from; null when it booted from a volume.
      type: str
      sample: 0c0b2a5e-6a3c-4e61-9f0f-2f3f6f8f9c11
    key_name:
      description: Key pair name.
      type: str
      sample: null
    metadata:
      description: Server metadata.
      type: dict
      sample: {}
    addresses:
      description: Addresses per network, as Nova reports them.
      type: dict
      sample: {mynetwork: [{addr: 192.168.1.101, version: 4}]}
    project_id:
      description: Owning project.
      type: str
      sample: 3f2e1d0c9b8a4f5e6d7c8b9a0f1e2d3c
    fault:
      description: Nova's fault message when the server is in ERROR, else null.
      type: str
      sample: null
    ports:
      description: The server's ports; only with O(with_ports=true).
      type: list
      elements: dict
      sample:
        - id: 6f5e4d3c-2b1a-4f0e-9d8c-7b6a5f4e3d2c
          network_id: 5d8f1a3e-2a9b-4c1d-8e7f-6a5b4c3d2e1f
          mac_address: fa:16:3e:11:22:33
          status: ACTIVE
          binding_host: compute1
          binding_vif_type: ovs
          fixed_ips: [{ip_address: 192.168.1.101, subnet_id: 9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d}]
'''

from ansible_collections.novaops.migration.plugins.module_utils.openstack import NovaopsModule
from ansible_collections.novaops.migration.plugins.module_utils.servers import (
    DEFAULT_INSTANCES_PATH, port_summary, server_summary,
)


class ServerInfoModule(NovaopsModule):
    argument_spec = dict(
        server=dict(type='str'),
        host=dict(type='str'),
        all_projects=dict(type='bool', default=False),
        instances_path=dict(type='str', default=DEFAULT_INSTANCES_PATH),
        with_ports=dict(type='bool', default=True),
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        query = {}
        if self.params['host']:
            query['compute_host'] = self.params['host']
        if self.params['all_projects']:
            query['all_projects'] = True

        name_or_id = self.params['server']
        if name_or_id:
            server = self.find_one('server', name_or_id,
                                   lambda: self.conn.compute.servers(name=name_or_id, **query),
                                   get_by_id=self.conn.compute.get_server, required=False)
            servers = [server] if server is not None else []
            if servers and self.params['host'] and server.compute_host != self.params['host']:
                servers = []
        else:
            servers = list(self.conn.compute.servers(**query))

        results = []
        for server in sorted(servers, key=lambda item: (item.name or '', item.id)):
            summary = server_summary(server, self.params['instances_path'])
            if self.params['with_ports']:
                summary['ports'] = [port_summary(port) for port in self.conn.network.ports(device_id=server.id)]
            results.append(summary)
        self.exit_json(False, servers=results)


def main():
    module = ServerInfoModule()
    module()


if __name__ == '__main__':
    main()
