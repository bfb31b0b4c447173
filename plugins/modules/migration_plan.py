#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: migration_plan
short_description: Say how every server of a host would move - live, cold, stopped or left - changing nothing
version_added: 0.2.0
description:
  - For a compute host (O(host)) or a list of servers (O(servers)), returns one verdict per server with the reasons
    and the target it would go to. C(live) - live migration to RV(servers[].target); C(cold) - cold migration there
    (a running guest shuts down for the copy and starts on the target); C(stop) - it cannot move and O(allow_stop)
    lets it be shut off, it stays on its host, off, for the maintenance; C(skip) - it is left as it is.
  - "The verdict follows from the server's state (live from C(ACTIVE) or C(PAUSED), cold from C(ACTIVE) or
    C(SHUTOFF); C(ERROR), a task in progress, a pending C(VERIFY_RESIZE), a lock of a manual move, C(SUSPENDED),
    C(SHELVED) or a source nova-compute that is down leave it alone), from what blocks a live move (a config drive in
    iso9660 with block migration, SR-IOV/PCI ports and PCI passthrough, a vGPU, a vTPM, a compute API older than
    2.25), from the computes' C([libvirt]) CPU settings (O(host_cpu)), from the room left in Placement and from the
    server groups' policies."
  - Targets are packed for the whole plan, not one server at a time - first fit decreasing. The biggest server
    (C(MEMORY_MB), then C(VCPU) and C(PCPU), then C(DISK_GB)) is placed first, each on the first target (in the order
    of O(targets), else by name) where it fits, and what it takes is no longer free for the next ones. A target must
    run an enabled nova-compute that is up and not forced down.
  - Server groups are applied as Nova's scheduler filters apply them - an C(anti-affinity) member never goes to a host
    holding C(max_server_per_host) members (default 1); an C(affinity) member only to a host that already holds
    another member (which Nova requires, so members that all live on the source cannot move live or cold); C(soft-)
    policies only order the targets and add a warning. Groups the remaining hosts cannot satisfy are listed in
    RV(problems) before anything moves.
  - Costs a fixed number of API requests plus two per compute host (and a server listing per host of O(wave)),
    whatever the number of servers (RV(api_calls)).
  - Changes nothing; C(changed) is always false.
options:
  host:
    description:
      - Compute host (its nova-compute service's host) whose servers are planned, as for a drain. It is never a target.
      - Exactly one of O(host) and O(servers) is required.
    type: str
  wave:
    description:
      - Other compute hosts emptied at the same time as O(host), as the hosts of a maintenance wave are. Their
        servers are planned too, packed together with those of O(host) on the room the remaining hosts have,
        and none of them takes servers. Needs O(host).
    type: list
    elements: str
    version_added: 0.3.0
  servers:
    description:
      - Names or ids of the servers to plan, in any project, on any hosts. Each server's own host is not a target
        for it; the other hosts are, with the room they have now.
    type: list
    elements: str
  targets:
    description:
      - Only these compute hosts may take servers, tried in this order. By default every other compute host, by name.
    type: list
    elements: str
  mode:
    description:
      - V(auto) tries live for a running (C(ACTIVE), C(PAUSED)) server and cold for a C(SHUTOFF) one; V(live) tries
        live for all; V(cold) tries cold for all (a running guest restarts on the target).
    type: str
    choices: [auto, live, cold]
    default: auto
  fallback:
    description:
      - What a server that cannot move as O(mode) says gets instead. V(none) - it is skipped. V(cold) - a server that
        cannot move live is tried cold. V(stop) - as V(cold), and a server that cannot move at all is stopped and
        stays on its host, which needs O(allow_stop=true).
    type: str
    choices: [none, cold, stop]
    default: none
  allow_stop:
    description:
      - Whether a server may get the verdict C(stop) (shut off, staying on its host) when O(fallback=stop).
        Without it such a server is skipped, and its reasons say so.
    type: bool
    default: false
  block_migration:
    description:
      - Whether live moves are block migrations, copying local disks (V(true), instance storage that is not shared).
        Set V(false) when C(instances_path) is shared between the computes.
    type: bool
    default: true
  config_drive_format:
    description:
      - The computes' C([DEFAULT] config_drive_format). A config drive in V(iso9660) cannot be block-migrated live.
    type: str
    choices: [iso9660, vfat]
    default: iso9660
  settle_timeout:
    description:
      - Seconds to wait, before planning, for servers Nova is busy with (a task in progress or a transitional status
        such as C(MIGRATING)) to settle - a live move an interrupted drain started goes on in Nova, and once it ends
        the server is no longer the source's. The servers are listed again every 5 seconds (one request each time).
        Servers still busy then are planned as they are, C(skip) by their state. V(0) plans at once.
    type: int
    default: 0
  host_cpu:
    description:
      - Per compute host, its C([libvirt] cpu_mode) and C(cpu_models) as M(novaops.migration.nova_conf_info) returns
        them, for the CPU compatibility of live moves. A guest of a C(custom) source runs its first model, which a
        C(custom) target must list; other differences only warn. Hosts not given are not checked.
    type: dict
    default: {}
extends_documentation_fragment:
  - novaops.migration.openstack
  - novaops.migration.openstack.ACTION_GROUP
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - "The API requests - one listing each of the compute services, the hypervisors, the resource providers, the
    servers (details, all projects, filtered by O(host)) and the server groups (all projects); per compute host that
    is the source or a target, its Placement inventories and allocations (every consumer's resources in one request,
    from which its usage is summed, as Placement does); per source host, one listing of the Neutron ports bound
    there."
  - A server's resources are its allocation on its host's resource provider, else its flavor's C(VCPU), C(MEMORY_MB)
    and C(DISK_GB). Resources of nested providers (a vGPU's) and PCI devices are not packed.
  - With O(servers), the whole cloud's servers are listed once (by name or id in all projects) and a server's move
    does not free room on its host for the others.
  - Only the flavor's extra specs are read (the embedded flavor of compute API 2.47); the image's properties
    (C(hw_tpm_version), C(hw_mem_page_size)...) are not, as they would cost a request per image.
  - Needs an admin role.
seealso:
  - module: novaops.migration.migration_preflight
  - module: novaops.migration.live_migrate
  - module: novaops.migration.cold_migrate
  - module: novaops.migration.nova_conf_info
author:
  - novaops maintainers (@novaops)
'''

EXAMPLES = r'''
- name: How would compute1 be emptied?
  novaops.migration.migration_plan:
    cloud: lab
    host: compute1
  register: plan

- name: Say it
  ansible.builtin.debug:
    msg: "{{ plan.summary }}; problems: {{ plan.problems }}"

- name: Plan two servers to compute2 or compute3, cold where live is impossible, stopping what cannot move
  novaops.migration.migration_plan:
    cloud: lab
    servers: [web1, db1]
    targets: [compute2, compute3]
    fallback: stop
    allow_stop: true

- name: Could compute1 and compute4 (in other availability zones) be emptied at the same time?
  novaops.migration.migration_plan:
    cloud: lab
    host: compute1
    wave: [compute4]

- name: Read the computes' CPU settings
  novaops.migration.nova_conf_info:
  delegate_to: "{{ item }}"
  loop: "{{ groups['compute'] }}"
  register: nova_conf

# Keyed by Nova's name of each compute; the plan reads cpu_mode and cpu_models of each result.
- name: Plan with the CPU compatibility of live moves checked
  novaops.migration.migration_plan:
    cloud: lab
    host: compute1
    host_cpu: "{{ dict(nova_conf.results | map(attribute='item') | map('novaops.migration.nova_host', hostvars)
                  | zip(nova_conf.results)) }}"
'''

RETURN = r'''
servers:
  description: One entry per server, in the order Nova listed them.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The server's id.
      type: str
    name:
      description: The server's name.
      type: str
    status:
      description: Nova's status of the server.
      type: str
    task_state:
      description: The task in progress, or null.
      type: str
    locked:
      description: Whether the server is locked.
      type: bool
    source_host:
      description: The compute host it is on.
      type: str
    verdict:
      description: C(live), C(cold), C(stop) or C(skip).
      type: str
    target:
      description: The host it would move to; null for C(stop) and C(skip).
      type: str
    blocked_by:
      description:
        - For a C(skip), what keeps the server where it is - V(state) (its own status or task, which no target would
          change) or V(move) (it could move, but no target has room, a server group, a device, the CPU or the
          fallback allowed forbids it). Null for the other verdicts.
      type: str
    reasons:
      description: Why this verdict, one sentence each - what stops the other moves and what to do about it.
      type: list
      elements: str
    warnings:
      description: What makes the move slower or riskier without stopping it.
      type: list
      elements: str
    resources:
      description: What it holds in Placement, per resource class.
      type: dict
  sample:
    - id: 2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e
      name: web1
      status: ACTIVE
      task_state: null
      locked: false
      source_host: compute1
      verdict: cold
      target: compute2
      blocked_by: null
      reasons:
        - "not live: port 5f0e... (vnic_type direct) binds a device of compute1 (SR-IOV/PCI): ... it is planned cold,
          where Nova claims the device on the target"
        - cold migration to compute2
      warnings:
        - "a cold migration shuts the guest down for the copy and starts it on the target: downtime for the whole
          copy of its disks"
      resources: {VCPU: 1, MEMORY_MB: 512, DISK_GB: 5}
summary:
  description: How many servers got each verdict.
  returned: always
  type: dict
  sample: {live: 3, cold: 1, stop: 0, skip: 1}
hosts:
  description: Every compute host but O(host) - whether it may take servers (else why not), its free amount per
    resource class before and after the plan, and the servers planned onto it.
  returned: always
  type: list
  elements: dict
  sample:
    - {host: compute2, eligible: true, excluded_because: null, free_before: {VCPU: 7.0, MEMORY_MB: 1536.0, DISK_GB: 20.0},
       free_after: {VCPU: 6.0, MEMORY_MB: 1024.0, DISK_GB: 15.0}, planned: [web1]}
    - {host: compute3, eligible: false, excluded_because: "nova-compute is disabled ('disk swap')", free_before: {},
       free_after: {}, planned: []}
problems:
  description: Plan-wide problems, found before anything moves - no host left to take servers, server groups the
    remaining hosts cannot satisfy.
  returned: always
  type: list
  elements: str
  sample:
    - "anti-affinity group 'web' has 3 members to move but the eligible targets take only 2 (max_server_per_host 1;
      compute2 takes 1, compute3 takes 1): 1 of them cannot move. Add a target, raise max_server_per_host, or let the
      others be stopped (fallback=stop, allow_stop=true)"
settled:
  description:
    - What the plan waited for first (O(settle_timeout)) - C(seconds) waited, the C(servers) found busy (id, name,
      status, task_state, as first seen) and the names of those C(busy) still when the plan was made.
  returned: always
  type: dict
  sample: {seconds: 31.5, servers: [{id: 2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e, name: web1, status: MIGRATING,
           task_state: migrating}], busy: []}
api_calls:
  description: The API requests made, a listing counted as one request.
  returned: always
  type: int
  sample: 11
'''

from ansible_collections.novaops.migration.plugins.module_utils.manual_move import flavor_resources
from ansible_collections.novaops.migration.plugins.module_utils.migrations import MigrationModule
from ansible_collections.novaops.migration.plugins.module_utils.openstack import ModuleFailure
from ansible_collections.novaops.migration.plugins.module_utils.plan import (
    PlanError, build_plan, busy_with_task, plan_options, service_exclusion,
)
from ansible_collections.novaops.migration.plugins.module_utils.servers import fault_message, server_image_id

# The flavor embedded in a server, with its extra specs.
EMBEDDED_FLAVOR_MICROVERSION = '2.47'
# Seconds between two listings while servers busy with a task are waited for.
SETTLE_INTERVAL = 5


def truthy(value):
    """Nova's config_drive is 'True' or ''."""
    return str(value).strip().lower() in ('true', '1', 'yes')


def server_record(server, allocation, ports):
    """What the plan needs of a server, as plain data."""
    flavor = server.flavor
    return dict(
        id=server.id, name=server.name, status=server.status, task_state=server.task_state,
        locked=bool(server.is_locked), locked_reason=server.locked_reason, fault=fault_message(server),
        host=server.compute_host, image_id=server_image_id(server),
        volumes=[attachment.id or attachment.volume_id for attachment in server.attached_volumes or []],
        config_drive=truthy(server.has_config_drive),
        flavor=dict(name=(flavor.original_name or flavor.name) if flavor is not None else None,
                    extra_specs=dict((flavor.extra_specs if flavor is not None else None) or {})),
        flavor_resources=flavor_resources(server), allocation=allocation,
        ports=[dict(id=port.id, vnic_type=port.binding_vnic_type) for port in ports],
    )


class MigrationPlanModule(MigrationModule):
    argument_spec = dict(
        host=dict(type='str'),
        wave=dict(type='list', elements='str'),
        servers=dict(type='list', elements='str'),
        targets=dict(type='list', elements='str'),
        mode=dict(type='str', default='auto', choices=['auto', 'live', 'cold']),
        fallback=dict(type='str', default='none', choices=['none', 'cold', 'stop']),
        allow_stop=dict(type='bool', default=False),
        block_migration=dict(type='bool', default=True),
        config_drive_format=dict(type='str', default='iso9660', choices=['iso9660', 'vfat']),
        settle_timeout=dict(type='int', default=0),
        host_cpu=dict(type='dict', default={}),
    )
    module_kwargs = dict(supports_check_mode=True, mutually_exclusive=[('host', 'servers')],
                         required_one_of=[('host', 'servers')], required_by=dict(wave='host'))

    def run(self):
        self.api_calls = 0
        compute = self.conn.compute
        self.require_microversion(compute, EMBEDDED_FLAVOR_MICROVERSION,
                                  "Reading each server's flavor and extra specs from the server listing")
        services = self._counted(self.compute_services)
        source = self.params['host']
        # The other hosts emptied with the source, each once; read by the listings and the targets' exclusion.
        self.wave = sorted(set(self.params['wave'] or []) - set([source]))
        for host in ([source] if source is not None else []) + self.wave:
            self.require_compute_host(host)
        if self.params['settle_timeout'] < 0:
            self.fail_json(msg='settle_timeout must be 0 or more seconds, got %d' % self.params['settle_timeout'])
        servers, settled = self._settled_servers(source)
        hosts = self._hosts(services, servers, source)
        groups = self._counted(lambda: [dict(id=group.id, name=group.name, policy=group.policy,
                                             policies=getattr(group, 'policies', None), rules=group.rules,
                                             members=group.member_ids)
                                        for group in compute.server_groups(all_projects=True)])
        ports = self._ports(sorted(set(server.compute_host for server in servers if server.compute_host)))
        records = [server_record(server, (hosts.get(server.compute_host, {}).get('consumers') or {}).get(server.id),
                                 ports.get(server.id, []))
                   for server in servers]
        try:
            options = plan_options(
                mode=self.params['mode'], fallback=self.params['fallback'], allow_stop=self.params['allow_stop'],
                block_migration=self.params['block_migration'],
                config_drive_format=self.params['config_drive_format'], targets=self.params['targets'],
                host_cpu=self.params['host_cpu'], microversion=self._max_microversion(compute), source=source,
                wave=self.wave)
            plan = build_plan(records, hosts, groups, options)
        except PlanError as error:
            self.fail_json(msg=str(error))
        self.exit_json(False, api_calls=self.api_calls, settled=settled, **plan)

    def _counted(self, listing):
        self.api_calls += 1
        return list(listing())

    @staticmethod
    def _max_microversion(proxy):
        endpoint = proxy.get_endpoint_data()
        maximum = getattr(endpoint, 'max_microversion', None)
        return tuple(maximum) if maximum else None

    # -- the servers -------------------------------------------------------------
    def _servers(self, source):
        compute = self.conn.compute
        if source is not None:
            # One listing per host emptied: the source and the other hosts of its wave.
            found = []
            for host in [source] + self.wave:
                found.extend(self._counted(lambda: compute.servers(details=True, all_projects=True,
                                                                   compute_host=host)))
            return found
        # One listing of every project's servers, matched here: a lookup per name would cost a request per server.
        everything = self._counted(lambda: compute.servers(details=True, all_projects=True))
        by_id, by_name = {}, {}
        for server in everything:
            by_id[server.id] = server
            by_name.setdefault(server.name, []).append(server)
        chosen, seen = [], set()
        for wanted in self.params['servers']:
            # An id names one server; a name may name several (Nova does not keep names unique).
            matches = [by_id[wanted]] if wanted in by_id else by_name.get(wanted, [])
            if not matches:
                raise ModuleFailure(msg="server '%s' not found in cloud %s (all projects); check the name with "
                                        "`openstack server list --all-projects`" % (wanted, self.cloud_label()))
            if len(matches) > 1:
                raise ModuleFailure(
                    msg="%d servers are named '%s' (ids: %s); names are not unique, use the id of the one "
                        "you mean." % (len(matches), wanted,
                                       ', '.join(sorted(server.id for server in matches))))
            if matches[0].id not in seen:
                seen.add(matches[0].id)
                chosen.append(matches[0])
        return chosen

    def _settled_servers(self, source):
        """The servers once none is busy with a task, or settle_timeout is up; and what was waited for."""
        timeout = self.params['settle_timeout']
        waited_for = {}

        def busy(servers):
            return [server for server in servers
                    if busy_with_task(dict(status=server.status, task_state=server.task_state))]

        def settled_or_busy(servers):
            still = busy(servers)
            for server in still:
                waited_for.setdefault(server.id, dict(id=server.id, name=server.name, status=server.status,
                                                      task_state=server.task_state))
            return 'BUSY' if still else 'SETTLED'

        servers = self._servers(source)
        started = self._clock()
        if timeout > 0 and busy(servers):
            first = [servers]
            servers = self.wait_for(lambda: first.pop() if first else self._servers(source), ['SETTLED'],
                                    what='the servers busy with a task', state_of=settled_or_busy, timeout=timeout,
                                    interval=SETTLE_INTERVAL, on_timeout=lambda last: last)
        return servers, dict(seconds=round(self._clock() - started, 1), servers=list(waited_for.values()),
                             busy=[server.name for server in busy(servers)])

    def _ports(self, source_hosts):
        """Ports per server id, from one listing per source host of the ports bound there."""
        by_server = {}
        for host in source_hosts:
            for port in self._counted(lambda: self.conn.network.ports(**{'binding:host_id': host})):
                by_server.setdefault(port.device_id, []).append(port)
        return by_server

    # -- the hosts ---------------------------------------------------------------
    def _hosts(self, services, servers, source):
        """Compute host -> its service state, resource provider, inventories and consumers (plain data)."""
        placement = self.conn.placement
        node_of_host = {}
        for hypervisor in self._counted(lambda: self.conn.compute.hypervisors(details=True)):
            host = (hypervisor.service_details or {}).get('host')
            if host:
                node_of_host.setdefault(host, hypervisor.name)
        # Nova names a compute node's root provider after its hypervisor node; nested ones (vGPU, PCI) have parents.
        root_providers = dict((provider.name, provider.id) for provider in self._counted(placement.resource_providers)
                              if not provider.parent_provider_id)
        targets = set(self.params['targets']) if self.params['targets'] else None
        sources = set(server.compute_host for server in servers)
        hosts = {}
        for service in services:
            row = dict(enabled=service.status == 'enabled', up=service.state == 'up',
                       forced_down=bool(service.is_forced_down), disabled_reason=service.disabled_reason,
                       provider=root_providers.get(node_of_host.get(service.host, service.host)),
                       inventories={}, consumers=None)
            hosts[service.host] = row
            # Placement is read only for the hosts that matter: the sources and the hosts that may take servers.
            wanted = service.host in sources or service_exclusion(service.host, row, targets, source,
                                                                  self.wave) is None
            if row['provider'] and wanted:
                self._read_provider(row)
        return hosts

    def _read_provider(self, row):
        placement = self.conn.placement
        row['inventories'] = dict(
            (inventory.resource_class, dict(total=inventory.total, reserved=inventory.reserved,
                                            allocation_ratio=inventory.allocation_ratio, max_unit=inventory.max_unit))
            for inventory in self._counted(lambda: placement.resource_provider_inventories(row['provider'])))
        # GET /resource_providers/{uuid}/allocations: every consumer's resources in one request; their sum is the
        # provider's usage, so no separate usages request is needed.
        row['consumers'] = dict(
            (allocation.consumer_id, dict(allocation.resources or {}))
            for allocation in self._counted(lambda: placement.resource_provider_allocations(row['provider'])))


def main():
    module = MigrationPlanModule()
    module()


if __name__ == '__main__':
    main()
