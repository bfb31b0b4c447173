# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import json
import types

import pytest
from openstack.compute.v2.server import Server
from openstack.compute.v2.service import Service

from ansible_collections.novaops.migration.plugins.module_utils import manual_move
from ansible_collections.novaops.migration.plugins.module_utils.manual_move import (
    BEGUN, FRESH, JOURNAL_KEY, NOTHING_TO_DO, RESUME_AFTER_COMMIT, RESUME_BEFORE_COMMIT, STARTED_ON_TARGET,
    ManualMoveError, RecordMoveError, describe_run, device_problems, is_move_lock, journal_conflict, journal_text,
    lock_reason, lock_run_id, metadata_writable, move_phase, new_journal, parse_run_id, placement_room,
    plan_allocations, process_start_ticks, read_journal, run_is_alive, state_problems, storage_problems,
    target_service_problems, writable_consumer_type,
)

STARTED_AT = '2026-11-23T22:40:01Z'


def stat_line(pid, start_ticks, command='ansible-playbook'):
    """A /proc/PID/stat line: field 22 is the start time."""
    fields = ['S', '1'] + ['0'] * 17 + [str(start_ticks)] + ['0'] * 30
    return '%d (%s) %s\n' % (pid, command, ' '.join(fields))


@pytest.fixture
def proc(tmp_path):
    """A fake /proc; proc.run(pid, start) makes a process exist."""
    root = tmp_path / 'proc'
    root.mkdir()

    def run(pid, start_ticks, command='ansible-playbook'):
        (root / str(pid)).mkdir()
        (root / str(pid) / 'stat').write_text(stat_line(pid, start_ticks, command))

    return types.SimpleNamespace(root=str(root), run=run)


def journal(**fields):
    values = dict(run_id='ctl1:4242:1000', source_host='compute1', source_node='compute1', target_host='compute2',
                  target_node='compute2', phase=BEGUN, started_at=STARTED_AT)
    values.update(fields)
    return values


def server(**body):
    body.setdefault('id', 'server-0001')
    body.setdefault('name', 'myinstance')
    body.setdefault('status', 'SHUTOFF')
    body.setdefault('image', {'id': 'image-0001'})
    body.setdefault('flavor', dict(original_name='m1.tiny', ram=512, vcpus=1, disk=5, ephemeral=0, swap=0))
    return Server(**body)


# -- runs -----------------------------------------------------------------------------------

def test_parse_run_id():
    assert parse_run_id('ctl1:12345:987654') == ('ctl1', 12345, 987654)
    assert parse_run_id('ctl1.lab.example:1:2') == ('ctl1.lab.example', 1, 2)


@pytest.mark.parametrize('run_id', ['', None, 'ctl1', 'ctl1:12345', ':12345:987654', 'ctl1:pid:987654',
                                    'ctl1:12345:', 'ctl1:12345:-1'])
def test_parse_run_id_refuses_what_is_not_host_pid_start(run_id):
    with pytest.raises(ManualMoveError, match='is not HOST:PID:START'):
        parse_run_id(run_id)


def test_process_start_ticks_reads_field_22(proc):
    proc.run(4242, 1000)
    assert process_start_ticks(4242, proc.root) == 1000
    assert process_start_ticks(4343, proc.root) is None


def test_process_start_ticks_survives_a_command_name_with_spaces_and_parentheses(proc):
    proc.run(4242, 1000, command='ansible (play) book')
    assert process_start_ticks(4242, proc.root) == 1000


def test_process_start_ticks_of_a_truncated_stat_is_unknown(proc, tmp_path):
    proc.run(4242, 1000)
    (tmp_path / 'proc' / '4242' / 'stat').write_text('4242 (ansible-playbook) S 1 2')
    assert process_start_ticks(4242, proc.root) is None


def test_run_is_alive_on_this_controller(proc):
    proc.run(4242, 1000)
    assert run_is_alive('ctl1:4242:1000', hostname='ctl1', proc_root=proc.root) is True


def test_a_run_whose_process_is_gone_is_dead(proc):
    assert run_is_alive('ctl1:4242:1000', hostname='ctl1', proc_root=proc.root) is False


def test_a_run_whose_pid_was_reused_is_dead(proc):
    proc.run(4242, 5555)
    assert run_is_alive('ctl1:4242:1000', hostname='ctl1', proc_root=proc.root) is False


def test_a_run_of_another_controller_cannot_be_told(proc):
    proc.run(4242, 1000)
    assert run_is_alive('ctl2:4242:1000', hostname='ctl1', proc_root=proc.root) is None


def test_run_is_alive_defaults_to_this_hosts_name(proc, monkeypatch):
    proc.run(4242, 1000)
    monkeypatch.setattr(manual_move.socket, 'gethostname', lambda: 'ctl7')
    assert run_is_alive('ctl7:4242:1000', proc_root=proc.root) is True
    assert run_is_alive('ctl1:4242:1000', proc_root=proc.root) is None


def test_describe_run():
    assert describe_run('ctl1:4242:1000') == 'pid 4242 on ctl1'
    assert describe_run('garbage') == "run 'garbage'"


# -- the journal ------------------------------------------------------------------------------

def test_the_journal_is_compact_json_and_reads_back():
    written = new_journal('ctl1:4242:1000', 'compute1', 'compute1', 'compute2', 'compute2', started_at=STARTED_AT)
    assert written == journal()
    text = journal_text(written)
    assert ' ' not in text and json.loads(text) == written
    assert read_journal(server(metadata={JOURNAL_KEY: text, 'owner': 'x'})) == written


def test_a_new_journal_starts_now_in_utc():
    started_at = new_journal('ctl1:1:2', 'a', None, 'b', None)['started_at']
    assert len(started_at) == len(STARTED_AT) and started_at.endswith('Z') and started_at[10] == 'T'


def test_no_journal():
    assert read_journal(server()) is None
    assert read_journal(server(metadata={'owner': 'x'})) is None


@pytest.mark.parametrize('text', ['not json', '[1, 2]', json.dumps(journal(phase='copied')),
                                  json.dumps(dict(journal(), run_id=None)), json.dumps({'run_id': 'x'})])
def test_a_journal_that_cannot_be_read_is_refused(text):
    with pytest.raises(ManualMoveError, match='is no journal this module can read'):
        read_journal(server(metadata={JOURNAL_KEY: text}))


def test_a_journal_without_nodes_is_read():
    assert read_journal(server(metadata={JOURNAL_KEY: json.dumps(dict(journal(), source_node=None))}))[
        'source_node'] is None


def test_a_journal_too_long_for_nova_is_refused():
    with pytest.raises(ManualMoveError, match='Nova keeps at most 255'):
        journal_text(journal(source_host='compute-' + 'x' * 200))


@pytest.mark.parametrize('status, task_state, writable', [
    ('ACTIVE', None, True), ('SHUTOFF', None, True), ('PAUSED', None, True), ('ERROR', None, False),
    ('SHUTOFF', 'powering-on', False), ('SHELVED_OFFLOADED', None, False)])
def test_metadata_writable(status, task_state, writable):
    assert metadata_writable(server(status=status, **{'OS-EXT-STS:task_state': task_state})) is writable


@pytest.mark.parametrize('recorded, nova_host, unfinished, phase', [
    (None, 'compute2', False, NOTHING_TO_DO),
    (None, 'compute2', True, FRESH),
    (None, 'compute1', False, FRESH),
    (None, None, False, FRESH),
    (journal(), 'compute1', False, RESUME_BEFORE_COMMIT),
    (journal(), 'compute2', False, RESUME_AFTER_COMMIT),
    (journal(phase=STARTED_ON_TARGET), 'compute2', False, RESUME_AFTER_COMMIT),
])
def test_move_phase(recorded, nova_host, unfinished, phase):
    assert move_phase(recorded, nova_host, 'compute2', unfinished) == phase


def test_journal_conflict_of_this_run_or_none():
    assert journal_conflict(None, 'ctl1:4242:1000', 'compute2') is None
    assert journal_conflict(journal(), 'ctl1:4242:1000', 'compute2') is None


def test_journal_conflict_with_another_target():
    problem = journal_conflict(journal(target_host='compute3'), 'ctl1:4242:1000', 'compute2', takeover=True)
    assert problem == ('an unfinished manual move to compute3 started at %s; finish it with -e target=compute3 '
                       'first' % STARTED_AT)


def test_journal_conflict_with_a_live_run(proc):
    proc.run(5151, 2000)
    recorded = journal(run_id='ctl1:5151:2000')
    for takeover in (False, True):
        problem = journal_conflict(recorded, 'ctl1:4242:1000', 'compute2', takeover, 'ctl1', proc.root)
        assert problem.startswith('another run (pid 5151 on ctl1, since %s) is moving this server; wait for it or '
                                  'stop it' % STARTED_AT)


def test_journal_conflict_with_a_dead_run_is_none(proc):
    assert journal_conflict(journal(run_id='ctl1:5151:2000'), 'ctl1:4242:1000', 'compute2', False, 'ctl1',
                            proc.root) is None
    # plan without a run id of its own
    assert journal_conflict(journal(run_id='ctl1:5151:2000'), None, 'compute2', False, 'ctl1', proc.root) is None


@pytest.mark.parametrize('run_id', ['ctl2:5151:2000', 'unreadable'])
def test_journal_conflict_with_a_run_that_cannot_be_checked_needs_takeover(proc, run_id):
    problem = journal_conflict(journal(run_id=run_id), 'ctl1:4242:1000', 'compute2', False, 'ctl1', proc.root)
    assert 'began this move on another controller' in problem and 'takeover=true' in problem
    assert journal_conflict(journal(run_id=run_id), 'ctl1:4242:1000', 'compute2', True, 'ctl1', proc.root) is None


# -- the lock -----------------------------------------------------------------------------------

def test_lock_reason():
    reason = lock_reason('compute2', 'ctl1:4242:1000')
    assert reason == 'novaops.migration manual move to compute2 (ctl1:4242:1000)'
    assert is_move_lock(reason)
    assert not is_move_lock('tenant: do not touch') and not is_move_lock(None)
    assert lock_run_id(reason) == 'ctl1:4242:1000'
    assert lock_run_id('novaops.migration manual move') is None
    assert lock_run_id('tenant: do not touch (me)') is None


# -- what can be moved by hand --------------------------------------------------------------------

@pytest.mark.parametrize('body, allow_stop, before_commit, expected', [
    (dict(status='SHUTOFF'), False, True, None),
    (dict(status='ACTIVE'), True, True, None),
    (dict(status='ACTIVE'), False, True, 'allow_stop=true (-e allow_stop=true)'),
    (dict(status='ERROR'), True, True, 'is in ERROR state (no fault recorded)'),
    (dict(status='PAUSED'), True, True, 'Resume or unpause it first'),
    (dict(status='VERIFY_RESIZE'), True, True, 'Confirm or revert its earlier move first'),
    (dict(status='SHELVED_OFFLOADED'), True, True, 'unshelve it first (`openstack server unshelve server-0001`)'),
    (dict(status='SHELVED_OFFLOADED'), True, False, 'unshelve it first'),
    (dict(status='ACTIVE', **{'OS-EXT-STS:task_state': 'rebooting'}), True, False, "with task 'rebooting'"),
    (dict(status='REBOOT'), True, True, 'is REBOOT with task'),
    # Past the commit point: the move goes forward, a failed start (ERROR) is started again.
    (dict(status='ACTIVE'), False, False, None),
    (dict(status='ERROR'), False, False, None),
    (dict(status='PAUSED'), False, False, 'is PAUSED on the target'),
])
def test_state_problems(body, allow_stop, before_commit, expected):
    problems = state_problems(server(**body), allow_stop, before_commit)
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1 and expected in problems[0]


def test_device_problems():
    plain = server()
    assert device_problems(plain, [dict(id='p1', vnic_type='normal'), dict(id='p2', vnic_type=None)]) == []
    busy = server(image='', flavor=dict(original_name='m1', ram=1, vcpus=1, disk=0,
                                        extra_specs={'pci_passthrough:alias': 'gpu:2'}),
                  **{'os-extended-volumes:volumes_attached': [{'id': 'vol-1'}]})
    problems = device_problems(busy, [dict(id='p1', vnic_type='direct'), dict(id='p2', vnic_type='normal')])
    assert len(problems) == 4
    assert 'boots from a volume' in problems[0]
    assert 'has Cinder volume attached (vol-1)' in problems[1]
    assert 'p1 (vnic_type direct)' in problems[2] and 'p2' not in problems[2]
    assert "pci_passthrough:alias='gpu:2'" in problems[3]


def test_target_service_problems():
    def service(**body):
        return Service(**dict(dict(host='compute2', status='enabled', state='down', forced_down=False), **body))
    assert target_service_problems(service()) == []
    assert 'is disabled' in target_service_problems(service(status='disabled'))[0]
    assert "is disabled ('maintenance')" in target_service_problems(service(status='disabled',
                                                                            disabled_reason='maintenance'))[0]
    assert 'is forced down' in target_service_problems(service(forced_down=True))[0]


def test_storage_problems():
    assert storage_problems(None, None, False, 'compute1', 'compute2') == []
    assert 'see the same instance storage' in storage_problems(None, None, True, 'compute1', 'compute2')[0]
    assert 'see the same instance storage' in storage_problems({}, {'shared_filesystem': True}, False, 'compute1',
                                                               'compute2')[0]
    missing = storage_problems({'missing_tools': ['rsync', 'tar']}, {'missing_tools': []}, False, 'compute1',
                               'compute2')
    assert missing == ['compute1 lacks rsync, tar, which the manual move runs there; install them']


def test_storage_problems_compare_the_sizes_only_when_both_sides_are_known():
    source = dict(allocated_bytes=10 * 1024 ** 3, backing_file='', backing_bytes=0, missing_tools=[])
    target = dict(available_bytes=1024 ** 3, partial_bytes=0, bases=[], missing_tools=[],
                  instances_path='/var/lib/nova/instances')
    assert storage_problems(source, None, False, 'compute1', 'compute2') == []
    problems = storage_problems(source, target, False, 'compute1', 'compute2')
    assert len(problems) == 1 and 'The target has 1024.0 MiB free in /var/lib/nova/instances' in problems[0]


# -- Placement ---------------------------------------------------------------------------------------

def provider(provider_id, name):
    return types.SimpleNamespace(id=provider_id, name=name)


def test_plan_allocations_moves_the_sources_share():
    allocation = types.SimpleNamespace(allocations={'rp-1': dict(resources=dict(VCPU=1), generation=7),
                                                    'rp-shared': dict(resources=dict(DISK_GB=5), generation=2)})
    moved = plan_allocations(allocation, provider('rp-1', 'compute1'), provider('rp-2', 'compute2'))
    assert moved == {'rp-2': dict(resources=dict(VCPU=1)), 'rp-shared': dict(resources=dict(DISK_GB=5))}
    done = types.SimpleNamespace(allocations=moved)
    assert plan_allocations(done, provider('rp-1', 'compute1'), provider('rp-2', 'compute2')) is None


def test_plan_allocations_refuses_what_it_cannot_tell():
    with pytest.raises(RecordMoveError, match='heal_allocations'):
        plan_allocations(types.SimpleNamespace(allocations={}), provider('rp-1', 'a'), provider('rp-2', 'b'))
    both = types.SimpleNamespace(allocations={'rp-1': {}, 'rp-2': {}})
    with pytest.raises(RecordMoveError, match='holds allocations on both a and b'):
        plan_allocations(both, provider('rp-1', 'a'), provider('rp-2', 'b'))


@pytest.mark.parametrize('consumer_type, written', [('unknown', 'INSTANCE'), (None, 'INSTANCE'),
                                                    ('MIGRATION', 'MIGRATION'), ('bad type', 'INSTANCE')])
def test_writable_consumer_type(consumer_type, written):
    assert writable_consumer_type(types.SimpleNamespace(consumer_type=consumer_type)) == written


def test_placement_room():
    def inventory(total, reserved=0, ratio=1.0, max_unit=None):
        return types.SimpleNamespace(total=total, reserved=reserved, allocation_ratio=ratio, max_unit=max_unit)
    inventories = dict(VCPU=inventory(2, ratio=4.0, max_unit=2), MEMORY_MB=inventory(2048, reserved=512))
    placement = types.SimpleNamespace(
        resource_provider_inventories=lambda rp: [types.SimpleNamespace(resource_class=name, **vars(value))
                                                  for name, value in inventories.items()],
        fetch_resource_provider_usages=lambda rp: types.SimpleNamespace(usages=dict(VCPU=1, MEMORY_MB=1024)))
    conn = types.SimpleNamespace(placement=placement)
    room = placement_room(conn, 'rp-1', dict(VCPU=4, MEMORY_MB=256, DISK_GB=1, CUSTOM_X=0))
    assert room['free'] == dict(VCPU=7.0, MEMORY_MB=512.0)
    assert room['shortages'] == ['DISK_GB 1 needed, the target has none', 'VCPU 4 needed, at most 2 per server '
                                                                          '(max_unit)']
    assert room['fits'] == ['MEMORY_MB 256 of 512.0 free']
