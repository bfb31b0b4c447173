# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import json
import os
import types

import pytest
import requests
from openstack import exceptions as sdk_exceptions

from ansible_collections.novaops.migration.plugins.modules.manual_move import ManualMoveModule

RUN_ID = 'ctl1:4242:1000'
# Another run on this controller (ctl1), and one on another controller.
OTHER_RUN = 'ctl1:5151:2000'
REMOTE_RUN = 'ctl2:6161:3000'
OUR_LOCK = 'novaops.migration manual move to compute2 (%s)' % RUN_ID
JOURNAL_KEY = 'novaops_manual_move'
STARTED_AT = '2026-11-23T22:40:01Z'
GIB = 1024 ** 3
# Calls that change something in the cloud; check mode must make none of them.
MUTATING_PREFIXES = ('create_', 'update_', 'delete_', 'start_', 'stop_', 'reboot_', 'lock_', 'unlock_', 'set_',
                     'migrate_', 'live_migrate_', 'confirm_', 'revert_')
# Nova changes metadata only of a server with one of these statuses and no task.
METADATA_STATUSES = ('ACTIVE', 'PAUSED', 'SUSPENDED', 'SHUTOFF')


def http_error(kind, status_code, message):
    response = requests.Response()
    response.status_code = status_code
    return kind(message=message, response=response)


def stat_line(pid, start_ticks, command='ansible-playbook'):
    """A /proc/PID/stat line: field 22 is the start time."""
    fields = ['S', '1'] + ['0'] * 17 + [str(start_ticks)] + ['0'] * 30
    return '%d (%s) %s\n' % (pid, command, ' '.join(fields))


@pytest.fixture
def proc(tmp_path, monkeypatch):
    """A fake process tree for the module; proc.run(pid, start) makes a process exist."""
    root = tmp_path / 'proc'
    root.mkdir()
    monkeypatch.setattr(ManualMoveModule, 'proc_root', str(root))
    monkeypatch.setattr(ManualMoveModule, 'controller_hostname', 'ctl1')

    def run(pid, start_ticks):
        (root / str(pid)).mkdir()
        (root / str(pid) / 'stat').write_text(stat_line(pid, start_ticks))

    return types.SimpleNamespace(root=root, run=run)


@pytest.fixture
def manual_lab(lab, fakes, proc):
    """The lab fake plus what the manual steps call: allocations, port updates, a hard reboot, lock and metadata."""
    lab.compute.service_list.append(fakes.compute_service('compute3'))
    lab.compute.add_hypervisor('compute3', '10.99.0.13')
    lab.placement.add_provider('compute3', dict(VCPU=fakes.inventory(2, ratio=4.0),
                                                MEMORY_MB=fakes.inventory(2048, reserved=512),
                                                DISK_GB=fakes.inventory(20)))
    providers = dict((body['name'], provider_id) for provider_id, body in lab.placement.providers.items())
    lab.allocations = {}
    lab.conflicts = [0]
    lab.proc = proc

    def get_allocation(consumer):
        lab.calls.append(('placement.get_allocation', (consumer,), {}))
        body = lab.allocations[consumer]
        return types.SimpleNamespace(allocations=dict(body['allocations']), project_id='project-0001',
                                     user_id='user-0001', consumer_generation=body['generation'],
                                     consumer_type='INSTANCE')

    def update_allocation(consumer, **attrs):
        lab.calls.append(('placement.update_allocation', (consumer,), attrs))
        body = lab.allocations[consumer]
        if lab.conflicts[0]:
            lab.conflicts[0] -= 1
            body['generation'] += 1
            raise sdk_exceptions.ConflictException(message='consumer generation conflict')
        assert attrs['consumer_generation'] == body['generation']
        body.update(allocations=attrs['allocations'], generation=body['generation'] + 1)

    def update_port(port, **attrs):
        lab.calls.append(('network.update_port', (port.id,), attrs))
        lab.network.port_bodies[port.id]['binding_host_id'] = attrs['binding_host_id']

    def reboot_server(server, reboot_type):
        lab.calls.append(('compute.reboot_server', (server.id, reboot_type), {}))
        lab.compute.pending_statuses[server.id] = ['HARD_REBOOT', 'ACTIVE']

    # The compute proxy's calls as openstacksdk 4.22 names them, with Nova's rules.
    def lock_server(server, locked_reason=None):
        lab.calls.append(('compute.lock_server', (server.id,),
                          {} if locked_reason is None else dict(locked_reason=locked_reason)))
        if locked_reason is not None and lab.compute.base.max_microversion < (2, 73):
            raise http_error(sdk_exceptions.BadRequestException, 400, 'locked_reason needs microversion 2.73')
        body = lab.compute.bodies[server.id]
        body['locked'] = True
        if locked_reason:
            body['locked_reason'] = locked_reason

    def unlock_server(server):
        lab.calls.append(('compute.unlock_server', (server.id,), {}))
        body = lab.compute.bodies[server.id]
        body['locked'] = False
        body.pop('locked_reason', None)

    def require_metadata_writable(body):
        if body['status'] not in METADATA_STATUSES or body.get('OS-EXT-STS:task_state'):
            raise http_error(sdk_exceptions.ConflictException, 409, "Cannot 'update_metadata' instance while it is "
                                                                    "in vm_state %s" % body['status'].lower())

    def set_server_metadata(server, **metadata):
        lab.calls.append(('compute.set_server_metadata', (server.id,), dict(metadata)))
        body = lab.compute.bodies[server.id]
        require_metadata_writable(body)
        for key, value in metadata.items():
            if len(value) > 255:
                raise http_error(sdk_exceptions.BadRequestException, 400, 'metadata value too long')
        body.setdefault('metadata', {}).update(metadata)
        return lab.compute.base._server(body)

    def delete_server_metadata(server, keys):
        lab.calls.append(('compute.delete_server_metadata', (server.id,), dict(keys=list(keys))))
        body = lab.compute.bodies[server.id]
        require_metadata_writable(body)
        for key in keys:
            if key not in body.get('metadata', {}):
                raise http_error(sdk_exceptions.NotFoundException, 404, 'Metadata item %s was not found' % key)
            del body['metadata'][key]

    lab.placement.get_allocation = get_allocation
    lab.placement.update_allocation = update_allocation
    lab.placement.get_endpoint_data = lambda: types.SimpleNamespace(min_microversion=(1, 0),
                                                                    max_microversion=(1, 39))
    lab.placement.default_microversion = None
    lab.placement.service_type = 'placement'
    lab.network.update_port = update_port
    lab.compute.reboot_server = reboot_server
    lab.compute.lock_server = lock_server
    lab.compute.unlock_server = unlock_server
    lab.compute.set_server_metadata = set_server_metadata
    lab.compute.delete_server_metadata = delete_server_metadata

    def server_on(host, status='SHUTOFF', allocated_on=None, **body):
        server = lab.compute.add_server(status=status, **dict({'OS-EXT-SRV-ATTR:host': host}, **body))
        if host:
            lab.allocations[server.id] = dict(
                allocations={providers[allocated_on or host]: dict(resources=dict(VCPU=1, MEMORY_MB=128))},
                generation=3)
        lab.network.add_port(device_id=server.id, binding_host_id=allocated_on or host, network_id='net-0001',
                             binding_vnic_type='normal')
        return server

    def put_journal(server, **fields):
        journal = dict(run_id=RUN_ID, source_host='compute1', source_node='compute1', target_host='compute2',
                       target_node='compute2', phase='begun', started_at=STARTED_AT)
        journal.update(fields)
        lab.compute.bodies[server.id].setdefault('metadata', {})[JOURNAL_KEY] = json.dumps(journal)
        return journal

    lab.server_on = server_on
    lab.put_journal = put_journal
    lab.providers = providers
    lab.mutations = lambda: [name for name in lab.call_names() if name.split('.', 1)[1].startswith(MUTATING_PREFIXES)]
    return lab


def manual(run_module, step, check_mode=False, diff=False, **args):
    values = dict(server='myinstance', target_host='compute2', step=step, run_id=RUN_ID)
    values.update(args)
    values = dict((key, value) for key, value in values.items() if value is not None)
    return run_module(ManualMoveModule, values, check_mode=check_mode, diff=diff)


def without_time(journal):
    return dict(journal, started_at=None) if journal else journal


def body_of(lab, server):
    return lab.compute.bodies[server.id]


def journal_of(lab, server):
    text = body_of(lab, server).get('metadata', {}).get(JOURNAL_KEY)
    return json.loads(text) if text is not None else None


def free_files(allocated=1 * GIB, available=10 * GIB, **extra):
    source = dict(allocated_bytes=allocated, backing_file='', backing_bytes=0, bases=[], available_bytes=50 * GIB,
                  partial_bytes=0, shared_filesystem=False, marker_found=False, missing_tools=[])
    target = dict(allocated_bytes=0, backing_file='', backing_bytes=0, bases=[], available_bytes=available,
                  partial_bytes=0, shared_filesystem=False, marker_found=False, missing_tools=[],
                  instances_path='/var/lib/nova/instances')
    for key, value in extra.items():
        side, field = key.split('_', 1)
        (source if side == 'source' else target)[field] = value
    return dict(source_files=source, target_files=target)


# -- plan -----------------------------------------------------------------------------------

def test_plan_returns_the_facts_and_changes_nothing(run_module, manual_lab):
    server = manual_lab.server_on('compute1')
    result = manual(run_module, 'plan', run_id=None, **free_files())
    assert result['changed'] is False
    assert result['phase'] == 'fresh'
    assert result['step'] == 'plan'
    assert (result['source_host'], result['target_host'], result['nova_host']) == ('compute1', 'compute2', 'compute1')
    assert (result['source_node'], result['target_node']) == ('compute1', 'compute2')
    assert result['moved_in_nova'] is False and result['started_on_target'] is False
    assert result['source_service_up'] is True and result['target_service_up'] is True
    assert result['instance_dir'] == '/var/lib/nova/instances/%s' % server.id
    assert result['ports'] == [dict(id=result['ports'][0]['id'], binding_host='compute1', vnic_type='normal')]
    assert result['journal'] is None and result['problems'] == [] and result['actions'] == []
    assert manual_lab.mutations() == []


@pytest.mark.parametrize('body, message', [
    (dict(status='ACTIVE'), "is ACTIVE: the manual method shuts it down for the copy (the guest reboots). Allow "
                            "it with allow_stop=true (-e allow_stop=true), or stop it first; nothing was changed."),
    (dict(image=''), 'boots from a volume: its disk lives in Cinder and there are no local files to copy'),
    (dict(status='ERROR'), 'is in ERROR state'),
    (dict(status='SHUTOFF', **{'OS-EXT-STS:task_state': 'powering-on'}), "with task 'powering-on' in progress"),
    (dict(status='PAUSED'), 'the manual method moves only ACTIVE or SHUTOFF servers'),
    (dict(status='SHELVED'), 'is SHELVED: its disk is an image in Glance, on no compute host; unshelve it first'),
    ({'os-extended-volumes:volumes_attached': [{'id': 'vol-0001'}]},
     'has Cinder volume attached (vol-0001): the manual method copies local disks only'),
    (dict(flavor=dict(original_name='m1.pci', ram=512, vcpus=1, disk=5, ephemeral=0, swap=0,
                      extra_specs={'pci_passthrough:alias': 'gpu:1'})),
     "has PCI devices of its host (flavor extra spec pci_passthrough:alias='gpu:1')"),
    (dict(flavor=dict(original_name='m1.huge', ram=8192, vcpus=1, disk=5, ephemeral=0, swap=0)),
     'not enough room on compute2 for the flavor m1.huge: MEMORY_MB 8192 needed, 1536.0 free'),
])
def test_plan_refuses_what_cannot_be_moved_by_hand(run_module, manual_lab, body, message):
    manual_lab.server_on('compute1', **body)
    result = manual(run_module, 'plan')
    assert result['failed']
    assert message in result['msg']
    assert result['msg'].endswith('Nothing was changed.')
    assert [problem for problem in result['problems'] if message.rstrip('.') in problem]
    assert manual_lab.mutations() == []


def test_plan_refuses_ports_bound_to_a_device_of_the_source(run_module, manual_lab):
    server = manual_lab.server_on('compute1')
    port = manual_lab.network.add_port(device_id=server.id, binding_host_id='compute1', binding_vnic_type='direct')
    result = manual(run_module, 'plan')
    assert result['failed']
    assert 'has port bound to a device of the source host: %s (vnic_type direct)' % port.id in result['msg']
    assert sorted(entry['vnic_type'] for entry in result['ports']) == ['direct', 'normal']


def test_plan_lists_every_problem_at_once(run_module, manual_lab):
    server = manual_lab.server_on('compute1', status='ACTIVE',
                                  flavor=dict(original_name='m1.huge', ram=8192, vcpus=1, disk=5),
                                  **{'os-extended-volumes:volumes_attached': [{'id': 'vol-0001'}, {'id': 'vol-0002'}]})
    manual_lab.network.add_port(device_id=server.id, binding_host_id='compute1', binding_vnic_type='macvtap')
    manual_lab.compute.service_list[1].update(status='disabled', disabled_reason='maintenance')
    files = free_files(allocated=20 * GIB, available=10 * GIB, target_missing_tools=['rsync'])
    result = manual(run_module, 'plan', **files)
    assert result['failed']
    assert len(result['problems']) == 7
    assert "manual move of server 'myinstance' (%s) to compute2 cannot go ahead, 7 problems: (1) " % server.id \
        in result['msg']
    for part in ('allow_stop=true', 'Cinder volumes attached (vol-0001, vol-0002)', 'vnic_type macvtap',
                 "is disabled ('maintenance')", 'not enough room on compute2', 'compute2 lacks rsync',
                 'The target has 10240.0 MiB free in /var/lib/nova/instances; the copy needs 21504.0 MiB'):
        assert part in result['msg']
    assert result['msg'].endswith('Nothing was changed.')
    assert manual_lab.mutations() == []


def test_plan_reports_the_problems_found_on_the_hosts_with_its_own(run_module, manual_lab):
    manual_lab.server_on('compute1', status='ACTIVE')
    result = manual(run_module, 'plan', extra_problems=['nova on compute1 cannot ssh to 10.99.0.12: Permission denied'])
    assert result['failed']
    assert '2 problems: (1) nova on compute1 cannot ssh to 10.99.0.12: Permission denied. (2) ' in result['msg']


def test_plan_reports_the_problems_of_the_hosts_only_when_there_is_something_to_move(run_module, manual_lab):
    manual_lab.server_on('compute2')
    assert manual(run_module, 'plan', extra_problems=['ssh refused'])['phase'] == 'nothing_to_do'


def test_plan_unknown_target(run_module, manual_lab):
    manual_lab.server_on('compute1')
    result = manual(run_module, 'plan', target_host='compute9')
    assert result['failed']
    assert "no nova-compute service runs on host 'compute9'" in result['msg']
    assert result['target_node'] is None


@pytest.mark.parametrize('service, message', [
    (dict(status='disabled', disabled_reason=None), 'nova-compute on the target compute2 is disabled;'),
    (dict(forced_down=True), 'nova-compute on the target compute2 is forced down'),
])
def test_plan_refuses_a_disabled_or_forced_down_target(run_module, manual_lab, service, message):
    manual_lab.server_on('compute1')
    manual_lab.compute.service_list[1].update(service)
    result = manual(run_module, 'plan')
    assert result['failed'] and message in result['msg']


def test_plan_accepts_a_target_that_is_only_down(run_module, manual_lab):
    manual_lab.server_on('compute1')
    manual_lab.compute.service_list[1].update(state='down')
    result = manual(run_module, 'plan')
    assert result['changed'] is False
    assert result['target_service_up'] is False and result['problems'] == []


@pytest.mark.parametrize('options, message', [
    (dict(shared_storage=True), 'compute1 and compute2 see the same instance storage'),
    (free_files(target_shared_filesystem=True), 'the manual method copies between local disks'),
    (free_files(source_missing_tools=['qemu-img']), 'compute1 lacks qemu-img, which the manual move runs there'),
    (free_files(allocated=4 * GIB, available=5 * GIB, source_backing_file='/var/lib/nova/instances/_base/abc',
                source_backing_bytes=2 * GIB),
     'the copy needs 6451.2 MiB (the instance directory and its backing file, sparse'),
])
def test_plan_refuses_what_the_copy_cannot_do(run_module, manual_lab, options, message):
    manual_lab.server_on('compute1')
    result = manual(run_module, 'plan', **options)
    assert result['failed'] and message in result['msg']
    assert manual_lab.mutations() == []


def test_plan_counts_what_the_target_has_already(run_module, manual_lab):
    manual_lab.server_on('compute1')
    files = free_files(allocated=4 * GIB, available=3 * GIB, source_backing_file='/var/lib/nova/instances/_base/abc',
                       source_backing_bytes=2 * GIB, target_bases=['abc'], target_partial_bytes=2 * GIB)
    assert manual(run_module, 'plan', **files)['problems'] == []


def test_plan_target_is_already_there_is_nothing_to_do(run_module, manual_lab):
    manual_lab.server_on('compute2', status='ACTIVE')
    result = manual(run_module, 'plan')
    assert result['changed'] is False
    assert result['phase'] == 'nothing_to_do'
    assert result['moved_in_nova'] is True
    assert 'msg' not in result and 'failed' not in result
    assert manual_lab.mutations() == []


@pytest.mark.parametrize('host, status', [(None, 'SHELVED_OFFLOADED'), ('compute2', 'SHELVED')])
def test_plan_a_shelved_server_fails_instead_of_nothing_to_move(run_module, manual_lab, host, status):
    manual_lab.server_on(host, status=status)
    result = manual(run_module, 'plan')
    assert result['failed']
    assert 'is %s: its disk is an image in Glance, on no compute host; unshelve it first' % status in result['msg']
    assert 'nothing to move' not in result['msg'] and 'already' not in result['msg']
    assert manual_lab.mutations() == []


def test_plan_an_unfinished_nova_migration_is_not_nothing_to_do(run_module, manual_lab):
    server = manual_lab.server_on('compute2', status='VERIFY_RESIZE')
    manual_lab.compute.add_migration(server.id, migration_type='migration', status='finished',
                                     source_compute='compute1', dest_compute='compute2')
    result = manual(run_module, 'plan')
    assert result['failed']
    assert 'its own migration 1 of this server (finished, compute1 -> compute2) is unfinished' in result['msg']


def test_plan_resumes_after_the_commit_point_with_the_source_of_the_journal(run_module, manual_lab, monkeypatch):
    # A stale instance directory on compute1 would name it as the source; the module never lists directories.
    server = manual_lab.server_on('compute2', status='ACTIVE')
    manual_lab.put_journal(server, source_host='compute3', source_node='compute3')

    def no_listing(*args, **kwargs):
        raise AssertionError('the module lists no directory')

    result = None
    with monkeypatch.context() as patched:
        patched.setattr(os, 'listdir', no_listing)
        patched.setattr(os, 'scandir', no_listing)
        result = manual(run_module, 'plan')
    assert result['changed'] is False
    assert result['phase'] == 'resume_after_commit'
    assert (result['source_host'], result['source_node']) == ('compute3', 'compute3')
    assert result['moved_in_nova'] is True
    assert result['journal']['source_host'] == 'compute3'
    # Past the commit point an ACTIVE server (allow_stop false) or a disabled target no longer stop the move.
    assert result['problems'] == []


def test_plan_resumes_before_the_commit_point(run_module, manual_lab):
    server = manual_lab.server_on('compute1')
    manual_lab.put_journal(server)
    result = manual(run_module, 'plan')
    assert result['phase'] == 'resume_before_commit'
    assert result['source_host'] == 'compute1' and result['started_on_target'] is False


def test_plan_reports_a_guest_that_started_on_the_target(run_module, manual_lab):
    server = manual_lab.server_on('compute2', status='ACTIVE')
    manual_lab.put_journal(server, phase='started_on_target')
    result = manual(run_module, 'plan')
    assert result['phase'] == 'resume_after_commit' and result['started_on_target'] is True


def test_plan_refuses_the_journal_of_a_move_to_another_target(run_module, manual_lab):
    server = manual_lab.server_on('compute1')
    manual_lab.put_journal(server, target_host='compute3', target_node='compute3')
    result = manual(run_module, 'plan')
    assert result['failed']
    assert ('an unfinished manual move to compute3 started at %s; finish it with -e target=compute3 first'
            % STARTED_AT) in result['msg']


def test_plan_refuses_a_journal_it_cannot_read(run_module, manual_lab):
    server = manual_lab.server_on('compute1')
    body_of(manual_lab, server)['metadata'] = {JOURNAL_KEY: '{"run_id": "x"'}
    result = manual(run_module, 'plan')
    assert result['failed']
    assert 'is no journal this module can read' in result['msg']
    assert 'openstack server unset --property novaops_manual_move %s' % server.id in result['msg']


# -- runs -------------------------------------------------------------------------------------

def test_a_concurrent_live_run_is_refused(run_module, manual_lab):
    server = manual_lab.server_on('compute1')
    manual_lab.put_journal(server, run_id=OTHER_RUN)
    manual_lab.proc.run(5151, 2000)
    message = 'another run (pid 5151 on ctl1, since %s) is moving this server; wait for it or stop it' % STARTED_AT
    planned = manual(run_module, 'plan')
    assert planned['failed'] and message in planned['msg']
    begun = manual(run_module, 'begin', takeover=True)
    assert begun['failed'] and message in begun['msg']
    assert 'takeover does not apply to a run that is alive on this controller' in begun['msg']
    assert manual_lab.mutations() == []
    assert journal_of(manual_lab, server)['run_id'] == OTHER_RUN


@pytest.mark.parametrize('process', [None, (5151, 7777)], ids=['gone', 'pid-reused'])
def test_the_move_of_a_dead_run_is_resumed(run_module, manual_lab, process):
    server = manual_lab.server_on('compute2')
    recorded = manual_lab.put_journal(server, run_id=OTHER_RUN, source_host='compute3', source_node='compute3',
                                      phase='started_on_target')
    if process:
        manual_lab.proc.run(*process)
    planned = manual(run_module, 'plan')
    assert planned['problems'] == [] and planned['phase'] == 'resume_after_commit'
    begun = manual(run_module, 'begin')
    assert begun['changed'] is True
    assert begun['actions'] == ['lock', 'write journal']
    # This run takes the move over as it was: its source, its start, and that the guest ran on the target.
    assert journal_of(manual_lab, server) == dict(recorded, run_id=RUN_ID)
    assert begun['journal'] == dict(recorded, run_id=RUN_ID)


def test_a_run_of_another_controller_is_taken_over_only_when_asked(run_module, manual_lab):
    server = manual_lab.server_on('compute1')
    recorded = manual_lab.put_journal(server, run_id=REMOTE_RUN)
    planned = manual(run_module, 'plan')
    assert planned['failed']
    assert 'another run (pid 6161 on ctl2, since %s) began this move on another controller' % STARTED_AT \
        in planned['msg']
    assert 'takeover=true (-e takeover=true)' in planned['msg']
    refused = manual(run_module, 'begin')
    assert refused['failed'] and 'takeover=true' in refused['msg']
    assert manual_lab.mutations() == []

    assert manual(run_module, 'plan', takeover=True)['problems'] == []
    taken = manual(run_module, 'begin', takeover=True)
    assert taken['changed'] is True
    assert journal_of(manual_lab, server) == dict(recorded, run_id=RUN_ID)


def test_every_step_but_plan_needs_a_run_id(run_module, manual_lab):
    manual_lab.server_on('compute1')
    result = manual(run_module, 'begin', run_id=None)
    assert result['failed'] and 'run_id' in result['msg']


def test_a_run_id_must_be_host_pid_start(run_module, manual_lab):
    manual_lab.server_on('compute1')
    result = manual(run_module, 'begin', run_id='ctl1-4242')
    assert result['failed'] and "run id 'ctl1-4242' is not HOST:PID:START" in result['msg']
    assert manual_lab.mutations() == []


# -- begin ---------------------------------------------------------------------------------------

def test_begin_locks_and_writes_the_journal_then_is_unchanged(run_module, manual_lab):
    server = manual_lab.server_on('compute1')
    result = manual(run_module, 'begin')
    assert result['changed'] is True
    assert result['actions'] == ['lock', 'write journal']
    assert manual_lab.mutations() == ['compute.lock_server', 'compute.set_server_metadata']
    assert manual_lab.call('compute.lock_server') == ((server.id,), dict(locked_reason=OUR_LOCK))
    assert body_of(manual_lab, server)['locked'] is True
    journal = journal_of(manual_lab, server)
    assert set(journal) == {'run_id', 'source_host', 'source_node', 'target_host', 'target_node', 'phase',
                            'started_at'}
    assert (journal['run_id'], journal['phase']) == (RUN_ID, 'begun')
    assert (journal['source_host'], journal['source_node'], journal['target_host'], journal['target_node']) == \
        ('compute1', 'compute1', 'compute2', 'compute2')
    assert journal['started_at'].endswith('Z')
    # Compact JSON, as it is kept in the metadata.
    assert ' ' not in body_of(manual_lab, server)['metadata'][JOURNAL_KEY]
    assert result['journal'] == journal
    assert result['phase'] == 'resume_before_commit'

    manual_lab.calls.clear()
    again = manual(run_module, 'begin')
    assert again['changed'] is False and again['actions'] == []
    assert manual_lab.mutations() == []


def test_begin_takes_a_plain_lock_without_microversion_2_73(run_module, manual_lab):
    server = manual_lab.server_on('compute1')
    manual_lab.compute.base.max_microversion = (2, 72)
    result = manual(run_module, 'begin')
    assert result['changed'] is True
    assert manual_lab.call('compute.lock_server') == ((server.id,), {})
    manual_lab.calls.clear()
    assert manual(run_module, 'begin')['changed'] is False


def test_begin_keeps_a_lock_someone_else_took_and_finish_leaves_it(run_module, manual_lab):
    server = manual_lab.server_on('compute1', locked=True, locked_reason='tenant: do not touch')
    begun = manual(run_module, 'begin')
    assert begun['actions'] == ['write journal']
    finished = manual(run_module, 'finish')
    assert finished['actions'] == ['remove journal']
    assert body_of(manual_lab, server)['locked'] is True
    assert body_of(manual_lab, server)['locked_reason'] == 'tenant: do not touch'


def test_begin_makes_the_lock_of_an_earlier_run_its_own(run_module, manual_lab):
    server = manual_lab.server_on('compute1', locked=True,
                                  locked_reason='novaops.migration manual move to compute2 (%s)' % OTHER_RUN)
    manual_lab.put_journal(server, run_id=OTHER_RUN)
    result = manual(run_module, 'begin')
    assert result['actions'] == ['lock', 'write journal']
    assert body_of(manual_lab, server)['locked_reason'] == OUR_LOCK


def test_begin_refuses_a_server_that_is_there_already(run_module, manual_lab):
    manual_lab.server_on('compute2')
    result = manual(run_module, 'begin')
    assert result['failed'] and 'there is nothing to begin' in result['msg']
    assert manual_lab.mutations() == []


def test_begin_refuses_an_unknown_target(run_module, manual_lab):
    manual_lab.server_on('compute1')
    result = manual(run_module, 'begin', target_host='compute9')
    assert result['failed'] and "no nova-compute service runs on host 'compute9'" in result['msg']
    assert manual_lab.mutations() == []


def test_begin_refuses_a_journal_nova_cannot_keep(run_module, manual_lab):
    manual_lab.server_on('compute1')
    result = manual(run_module, 'begin', run_id='ctl1.' + 'x' * 200 + ':4242:1000')
    assert result['failed'] and 'Nova keeps at most 255 in a metadata value' in result['msg']
    assert manual_lab.mutations() == []


def test_begin_diff_shows_host_status_lock_and_journal_only(run_module, manual_lab):
    server = manual_lab.server_on('compute1', metadata={'owner': 'secret-value'})
    result = manual(run_module, 'begin', diff=True)
    assert result['diff'] == dict(
        before=dict(host='compute1', status='SHUTOFF', locked=False, journal_phase=None, journal_run_id=None),
        after=dict(host='compute1', status='SHUTOFF', locked=True, journal_phase='begun', journal_run_id=RUN_ID))
    assert 'secret-value' not in json.dumps(result['diff'])
    assert body_of(manual_lab, server)['metadata']['owner'] == 'secret-value'


# -- the steps that need this run's journal -------------------------------------------------------

@pytest.mark.parametrize('step', ['stop', 'records', 'start', 'rollback', 'finish'])
def test_another_run_took_over_this_move(run_module, manual_lab, step):
    server = manual_lab.server_on('compute1')
    manual_lab.put_journal(server, run_id=OTHER_RUN)
    result = manual(run_module, step, allow_stop=True)
    assert result['failed'] and 'another run took over this move' in result['msg']
    assert manual_lab.mutations() == []


@pytest.mark.parametrize('step', ['stop', 'records', 'start', 'rollback'])
def test_the_steps_need_a_journal(run_module, manual_lab, step):
    manual_lab.server_on('compute1')
    result = manual(run_module, step, allow_stop=True)
    assert result['failed'] and 'has no journal of a manual move: run the begin step first' in result['msg']
    assert manual_lab.mutations() == []


def test_stop(run_module, manual_lab):
    server = manual_lab.server_on('compute1', status='ACTIVE')
    manual_lab.put_journal(server)
    refused = manual(run_module, 'stop')
    assert refused['failed'] and 'allow_stop is false; nothing was changed' in refused['msg']
    predicted = manual(run_module, 'stop', check_mode=True, allow_stop=True)
    assert predicted['changed'] is True and predicted['actions'] == ['stop']
    assert predicted['server']['status'] == 'SHUTOFF'
    assert manual_lab.mutations() == []
    stopped = manual(run_module, 'stop', allow_stop=True)
    assert stopped['changed'] is True
    assert manual_lab.mutations() == ['compute.stop_server']
    assert body_of(manual_lab, server)['status'] == 'SHUTOFF'
    manual_lab.calls.clear()
    assert manual(run_module, 'stop', allow_stop=True)['changed'] is False
    assert manual_lab.mutations() == []


def test_stop_only_before_the_record_moves(run_module, manual_lab):
    server = manual_lab.server_on('compute2', status='ACTIVE')
    manual_lab.put_journal(server)
    result = manual(run_module, 'stop', allow_stop=True)
    assert result['failed'] and 'stop only runs before the record moves' in result['msg']


def test_records_wait_for_the_database_row(run_module, manual_lab):
    server = manual_lab.server_on('compute1')
    manual_lab.put_journal(server)
    result = manual(run_module, 'records')
    assert result['failed']
    assert 'move the database row (novaops.migration.nova_db_instance) before the records step' in result['msg']
    assert manual_lab.mutations() == []


def test_records_move_allocations_and_ports_then_roll_back(run_module, manual_lab):
    server = manual_lab.server_on('compute2', allocated_on='compute1')
    manual_lab.put_journal(server)
    predicted = manual(run_module, 'records', check_mode=True)
    assert predicted['changed'] is True
    assert [port['binding_host'] for port in predicted['ports']] == ['compute2']
    assert manual_lab.mutations() == []

    result = manual(run_module, 'records')
    assert result['changed'] is True
    assert result['actions'][0] == 'allocations' and result['actions'][1].startswith('port ')
    update = manual_lab.call('placement.update_allocation')[1]
    assert update['consumer_generation'] == 3 and update['consumer_type'] == 'INSTANCE'
    assert list(update['allocations']) == [manual_lab.providers['compute2']]
    assert [port['binding_host'] for port in result['ports']] == ['compute2']
    assert result['source_host'] == 'compute1'

    manual_lab.calls.clear()
    again = manual(run_module, 'records')
    assert again['changed'] is False
    assert manual_lab.mutations() == []

    body_of(manual_lab, server).update({'OS-EXT-SRV-ATTR:host': 'compute1'})
    back = manual(run_module, 'rollback')
    assert back['changed'] is True
    assert list(manual_lab.allocations[server.id]['allocations']) == [manual_lab.providers['compute1']]
    assert [port['binding_host'] for port in back['ports']] == ['compute1']


def test_records_take_the_nodes_of_the_journal(run_module, manual_lab):
    server = manual_lab.server_on('compute2', allocated_on='compute3')
    manual_lab.put_journal(server, source_host='compute3', source_node='compute3')
    result = manual(run_module, 'records')
    assert result['changed'] is True
    assert list(manual_lab.allocations[server.id]['allocations']) == [manual_lab.providers['compute2']]


def test_records_retry_a_consumer_generation_conflict(run_module, manual_lab):
    server = manual_lab.server_on('compute2', allocated_on='compute1')
    manual_lab.put_journal(server)
    manual_lab.conflicts[0] = 1
    result = manual(run_module, 'records')
    assert result['changed'] is True
    assert manual_lab.call_names().count('placement.update_allocation') == 2
    assert list(manual_lab.allocations[server.id]['allocations']) == [manual_lab.providers['compute2']]


def test_records_refuse_allocations_on_both_hosts(run_module, manual_lab):
    server = manual_lab.server_on('compute2', allocated_on='compute1')
    manual_lab.put_journal(server)
    manual_lab.allocations[server.id]['allocations'][manual_lab.providers['compute2']] = dict(resources=dict(VCPU=1))
    result = manual(run_module, 'records')
    assert result['failed'] and 'holds allocations on both compute1 and compute2' in result['msg']
    assert manual_lab.mutations() == []


def test_rollback_is_refused_once_the_guest_started_on_the_target(run_module, manual_lab):
    server = manual_lab.server_on('compute1', allocated_on='compute2')
    manual_lab.put_journal(server, phase='started_on_target')
    result = manual(run_module, 'rollback')
    assert result['failed']
    assert 'has run on compute2, its disk there is the newest; not rolling back - run the move again to finish it ' \
           'on compute2' in result['msg']
    assert manual_lab.mutations() == []
    assert list(manual_lab.allocations[server.id]['allocations']) == [manual_lab.providers['compute2']]


@pytest.mark.parametrize('status, action, call', [('SHUTOFF', 'start', 'compute.start_server'),
                                                  ('ACTIVE', 'reboot HARD', 'compute.reboot_server')])
def test_start_records_the_start_on_the_target_before_asking_for_it(run_module, manual_lab, status, action, call):
    server = manual_lab.server_on('compute2', status=status)
    manual_lab.put_journal(server)
    result = manual(run_module, 'start')
    assert result['changed'] is True
    assert result['actions'] == ['mark journal started_on_target', action]
    assert result['server']['status'] == 'ACTIVE'
    assert manual_lab.mutations() == ['compute.set_server_metadata', call]
    assert journal_of(manual_lab, server)['phase'] == 'started_on_target'
    assert result['journal']['phase'] == 'started_on_target'

    manual_lab.calls.clear()
    again = manual(run_module, 'start')
    # The journal says so already; the start is asked again (the playbook runs start only when the guest is down).
    assert again['actions'] == ['reboot HARD']
    assert manual_lab.mutations() == ['compute.reboot_server']


def test_start_refuses_another_host(run_module, manual_lab):
    server = manual_lab.server_on('compute1')
    manual_lab.put_journal(server)
    result = manual(run_module, 'start')
    assert result['failed'] and "is on compute1 in Nova's database, not on compute2" in result['msg']
    assert manual_lab.mutations() == []


def test_start_on_the_source_after_a_rollback_leaves_the_journal(run_module, manual_lab):
    server = manual_lab.server_on('compute1')
    recorded = manual_lab.put_journal(server)
    result = manual(run_module, 'start', target_host='compute1')
    assert result['changed'] is True and result['actions'] == ['start']
    assert journal_of(manual_lab, server) == recorded


def test_start_on_the_source_is_refused_once_the_guest_ran_on_the_target(run_module, manual_lab):
    server = manual_lab.server_on('compute1')
    manual_lab.put_journal(server, phase='started_on_target')
    result = manual(run_module, 'start', target_host='compute1')
    assert result['failed'] and 'has run on compute2, its disk there is the newest' in result['msg']
    assert manual_lab.mutations() == []


def test_start_does_not_start_what_it_cannot_record(run_module, manual_lab):
    server = manual_lab.server_on('compute2', status='ERROR')
    manual_lab.put_journal(server)
    result = manual(run_module, 'start')
    assert result['failed'] and 'Nova changes no metadata now' in result['msg']
    assert manual_lab.mutations() == []


def test_start_recovers_a_failed_start_on_the_target(run_module, manual_lab):
    server = manual_lab.server_on('compute2', status='ERROR')
    manual_lab.put_journal(server, phase='started_on_target')
    result = manual(run_module, 'start')
    assert result['changed'] is True and result['actions'] == ['reboot HARD']
    assert body_of(manual_lab, server)['status'] == 'ACTIVE'


# -- finish ----------------------------------------------------------------------------------------

def test_finish_unlocks_and_removes_the_journal_then_is_unchanged(run_module, manual_lab):
    server = manual_lab.server_on('compute2', status='ACTIVE', metadata={'owner': 'tenant'}, locked=True,
                                  locked_reason=OUR_LOCK)
    manual_lab.put_journal(server, phase='started_on_target')
    result = manual(run_module, 'finish', diff=True)
    assert result['changed'] is True
    assert result['actions'] == ['unlock', 'remove journal']
    assert manual_lab.mutations() == ['compute.unlock_server', 'compute.delete_server_metadata']
    assert manual_lab.call('compute.delete_server_metadata') == ((server.id,), dict(keys=[JOURNAL_KEY]))
    assert body_of(manual_lab, server)['locked'] is False
    assert body_of(manual_lab, server)['metadata'] == {'owner': 'tenant'}
    assert result['journal'] is None and result['phase'] == 'nothing_to_do'
    assert result['source_host'] == 'compute1'
    assert result['diff']['after'] == dict(host='compute2', status='ACTIVE', locked=False, journal_phase=None,
                                           journal_run_id=None)

    manual_lab.calls.clear()
    again = manual(run_module, 'finish')
    assert again['changed'] is False and again['actions'] == []
    assert manual_lab.mutations() == []


def test_finish_keeps_the_journal_when_asked(run_module, manual_lab):
    server = manual_lab.server_on('compute2', status='ACTIVE', locked=True, locked_reason=OUR_LOCK)
    recorded = manual_lab.put_journal(server, phase='started_on_target')
    result = manual(run_module, 'finish', keep_journal=True)
    assert result['actions'] == ['unlock']
    assert journal_of(manual_lab, server) == recorded
    assert result['journal'] == recorded


def test_finish_without_a_journal_unlocks_only_a_manual_moves_lock(run_module, manual_lab):
    server = manual_lab.server_on('compute2', locked=True, locked_reason=OUR_LOCK)
    assert manual(run_module, 'finish')['actions'] == ['unlock']
    body_of(manual_lab, server).update(locked=True, locked_reason='operator: broken disk')
    manual_lab.calls.clear()
    result = manual(run_module, 'finish')
    assert result['changed'] is False
    assert manual_lab.mutations() == []


def test_finish_without_a_journal_leaves_the_lock_of_another_live_run(run_module, manual_lab):
    # That run has locked the server and is about to write its journal.
    server = manual_lab.server_on('compute1', locked=True,
                                  locked_reason='novaops.migration manual move to compute2 (%s)' % OTHER_RUN)
    manual_lab.proc.run(5151, 2000)
    assert manual(run_module, 'finish')['changed'] is False
    assert body_of(manual_lab, server)['locked'] is True
    manual_lab.proc.root.joinpath('5151', 'stat').unlink()
    assert manual(run_module, 'finish')['actions'] == ['unlock']


def test_finish_without_microversion_2_73_unlocks_only_with_its_journal(run_module, manual_lab):
    manual_lab.compute.base.max_microversion = (2, 72)
    server = manual_lab.server_on('compute2', locked=True)
    assert manual(run_module, 'finish')['changed'] is False
    manual_lab.put_journal(server)
    assert manual(run_module, 'finish')['actions'] == ['unlock', 'remove journal']


def test_finish_of_a_server_nova_cannot_change_now_unlocks_and_keeps_the_journal(run_module, manual_lab):
    server = manual_lab.server_on('compute2', status='ERROR', locked=True, locked_reason=OUR_LOCK)
    manual_lab.put_journal(server, phase='started_on_target')
    result = manual(run_module, 'finish')
    assert result['changed'] is True and result['actions'] == ['unlock']
    assert journal_of(manual_lab, server)['phase'] == 'started_on_target'
    assert any('the journal of the move stays' in warning for warning in result['warnings'])


# -- check mode -------------------------------------------------------------------------------------

def prepare_stop(lab):
    server = lab.server_on('compute1', status='ACTIVE')
    lab.put_journal(server)


def prepare_records(lab):
    server = lab.server_on('compute2', allocated_on='compute1')
    lab.put_journal(server)


def prepare_start(lab):
    server = lab.server_on('compute2')
    lab.put_journal(server)


def prepare_finish(lab):
    server = lab.server_on('compute2', locked=True, locked_reason=OUR_LOCK)
    lab.put_journal(server)


def prepare_rollback(lab):
    server = lab.server_on('compute1', allocated_on='compute2')
    lab.put_journal(server)


@pytest.mark.parametrize('step, prepare, changed', [
    ('plan', lambda lab: lab.server_on('compute1'), False),
    ('begin', lambda lab: lab.server_on('compute1'), True),
    ('stop', prepare_stop, True),
    ('records', prepare_records, True),
    ('start', prepare_start, True),
    ('finish', prepare_finish, True),
    ('rollback', prepare_rollback, True),
])
def test_check_mode_predicts_and_changes_nothing(run_module, manual_lab, step, prepare, changed):
    prepare(manual_lab)
    predicted = manual(run_module, step, check_mode=True, allow_stop=True, diff=True)
    assert not predicted.get('failed'), predicted.get('msg')
    assert predicted['changed'] is changed
    assert manual_lab.mutations() == []
    done = manual(run_module, step, allow_stop=True)
    assert done['changed'] is changed
    assert done['actions'] == predicted['actions']
    # The prediction of begin may be a second older than what it writes.
    assert without_time(done['journal']) == without_time(predicted['journal'])
    assert done['server']['status'] == predicted['server']['status']
    assert predicted['diff']['after']['journal_phase'] == (done['journal'] or {}).get('phase')
