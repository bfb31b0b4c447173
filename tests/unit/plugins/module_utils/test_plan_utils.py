# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The migration plan's decisions, over plain data."""

import pytest

from ansible_collections.novaops.migration.plugins.module_utils.plan import (
    PlanError, build_plan, cpu_compatibility, free_capacity, mode_ladder, normalise_groups, packing_key,
    plan_options, server_resources, shortages, used_amounts,
)

TINY = dict(VCPU=1, MEMORY_MB=512, DISK_GB=5)


def inventories(vcpu=8, memory=4096, disk=100, **extra):
    found = dict(VCPU=dict(total=vcpu, reserved=0, allocation_ratio=1.0, max_unit=vcpu),
                 MEMORY_MB=dict(total=memory, reserved=0, allocation_ratio=1.0, max_unit=memory),
                 DISK_GB=dict(total=disk, reserved=0, allocation_ratio=1.0, max_unit=disk))
    found.update(extra)
    return found


def host(enabled=True, up=True, forced_down=False, disabled_reason=None, provider='rp', consumers=None, **sizes):
    return dict(enabled=enabled, up=up, forced_down=forced_down, disabled_reason=disabled_reason, provider=provider,
                inventories=inventories(**sizes) if provider else {}, consumers=dict(consumers or {}))


def lab_hosts(**overrides):
    hosts = dict(compute1=host(), compute2=host(), compute3=host())
    hosts.update(overrides)
    return hosts


def server(server_id, status='ACTIVE', resources=None, host_name='compute1', **fields):
    record = dict(id=server_id, name=fields.pop('name', server_id), status=status, task_state=None, locked=False,
                  locked_reason=None, fault=None, host=host_name, image_id='image-1', volumes=[], config_drive=False,
                  flavor=dict(name='m1.tiny', extra_specs={}), flavor_resources=dict(resources or TINY),
                  allocation=None, ports=[])
    record.update(fields)
    return record


def specs(**extra_specs):
    return dict(name='special', extra_specs=dict((key.replace('__', ':'), value)
                                                 for key, value in extra_specs.items()))


def plan(servers, hosts=None, groups=(), **options):
    options.setdefault('source', 'compute1')
    return build_plan(servers, hosts if hosts is not None else lab_hosts(), list(groups), plan_options(**options))


def only(result):
    assert len(result['servers']) == 1
    return result['servers'][0]


# -- capacity ----------------------------------------------------------------------------------
def test_free_capacity_counts_reserved_ratio_and_the_consumers():
    row = dict(inventories=dict(MEMORY_MB=dict(total=2048, reserved=512, allocation_ratio=1.5),
                                VCPU=dict(total=2, reserved=0, allocation_ratio=None)),
               consumers=dict(a=dict(MEMORY_MB=1000, VCPU=1), b=dict(MEMORY_MB=24)))
    assert used_amounts(row['consumers']) == dict(MEMORY_MB=1024, VCPU=1)
    assert free_capacity(row) == dict(MEMORY_MB=(2048 - 512) * 1.5 - 1024, VCPU=1.0)


def test_shortages_say_what_is_missing():
    room = inventories(vcpu=4)
    room['VCPU']['max_unit'] = 2
    assert shortages(dict(VCPU=2, MEMORY_MB=512, PCPU=0), dict(VCPU=4, MEMORY_MB=512), room) == []
    assert shortages(dict(VCPU=3), dict(VCPU=4), room) == ['VCPU 3 needed, at most 2 per server (max_unit)']
    assert shortages(dict(MEMORY_MB=600, PCPU=2), dict(MEMORY_MB=512.5), room) == [
        'MEMORY_MB 600 needed, 512.5 free', 'PCPU 2 needed, none offered']


def test_resources_come_from_the_allocation_else_the_flavor_and_pack_by_memory_first():
    assert server_resources(server('a')) == TINY
    assert server_resources(server('a', allocation=dict(PCPU=2, MEMORY_MB=1024))) == dict(PCPU=2, MEMORY_MB=1024)
    assert packing_key(dict(PCPU=2, VCPU=1, MEMORY_MB=1024, DISK_GB=3)) == (1024, 3, 3)


# -- options -----------------------------------------------------------------------------------
def test_options_are_checked():
    with pytest.raises(PlanError, match="mode must be one of auto, live, cold, got 'fast'"):
        plan_options(mode='fast')
    with pytest.raises(PlanError, match='fallback must be one of'):
        plan_options(fallback='pray')


@pytest.mark.parametrize('status, mode, fallback, ladder', [
    ('ACTIVE', 'auto', 'none', ['live']),
    ('ACTIVE', 'auto', 'cold', ['live', 'cold']),
    ('ACTIVE', 'auto', 'stop', ['live', 'cold', 'stop']),
    ('SHUTOFF', 'auto', 'cold', ['cold']),
    ('SHUTOFF', 'auto', 'stop', ['cold', 'stop']),
    ('SHUTOFF', 'live', 'none', ['live']),
    ('ACTIVE', 'cold', 'cold', ['cold']),
    ('ACTIVE', 'cold', 'stop', ['cold', 'stop']),
])
def test_mode_ladder(status, mode, fallback, ladder):
    assert mode_ladder(status, mode, fallback) == ladder


# -- the happy path and packing ------------------------------------------------------------------
def test_only_a_skip_says_what_blocks_it():
    assert only(plan([server('web1')]))['blocked_by'] is None


def test_running_servers_go_live_to_the_first_target_that_fits_and_consume_it():
    result = plan([server('web1'), server('web2', status='PAUSED')])
    assert [(entry['verdict'], entry['target']) for entry in result['servers']] == [
        ('live', 'compute2'), ('live', 'compute2')]
    assert result['summary'] == dict(live=2, cold=0, stop=0, skip=0)
    assert result['problems'] == []
    compute2 = [row for row in result['hosts'] if row['host'] == 'compute2'][0]
    assert compute2['free_before'] == dict(VCPU=8.0, MEMORY_MB=4096.0, DISK_GB=100.0)
    assert compute2['free_after'] == dict(VCPU=6.0, MEMORY_MB=3072.0, DISK_GB=90.0)
    assert sorted(compute2['planned']) == ['web1', 'web2']
    assert [row['host'] for row in result['hosts']] == ['compute2', 'compute3']
    assert result['servers'][0]['reasons'] == ['live migration to compute2']
    assert result['servers'][0]['resources'] == TINY


def test_the_whole_plan_is_packed_biggest_first():
    """compute2 has room for one big server; first fit decreasing puts the big ones on both hosts and the small one
    into what is left, where one server at a time in listing order would strand a big one."""
    big = dict(VCPU=1, MEMORY_MB=2000, DISK_GB=1)
    hosts = lab_hosts(compute2=host(memory=3000), compute3=host(memory=2500))
    result = plan([server('small', resources=dict(VCPU=1, MEMORY_MB=1000, DISK_GB=1)),
                   server('big1', resources=big), server('big2', resources=big)], hosts)
    targets = dict((entry['id'], entry['target']) for entry in result['servers'])
    assert targets == dict(big1='compute2', big2='compute3', small='compute2')
    assert result['summary']['live'] == 3


def test_no_room_anywhere_skips_saying_what_each_target_lacks():
    hosts = lab_hosts(compute2=host(memory=256), compute3=host(consumers=dict(other=dict(MEMORY_MB=4000))))
    entry = only(plan([server('web1')], hosts))
    assert entry['verdict'] == 'skip'
    assert entry['target'] is None
    assert entry['blocked_by'] == 'move'
    assert entry['reasons'][0] == ('not live: no eligible target takes it (compute2 no room: MEMORY_MB 512 needed, '
                                   '256.0 free; compute3 no room: MEMORY_MB 512 needed, 96.0 free)')
    assert 'with fallback=cold it would be tried cold' in entry['reasons'][1]
    assert 'with fallback=stop and allow_stop=true it would be shut off and stay on compute1' in entry['reasons'][2]


def test_max_unit_refuses_a_server_bigger_than_one_allocation():
    hosts = lab_hosts(compute2=host(), compute3=host())
    for name in ('compute2', 'compute3'):
        hosts[name]['inventories']['VCPU']['max_unit'] = 2
    entry = only(plan([server('wide', resources=dict(VCPU=4, MEMORY_MB=512))], hosts))
    assert entry['verdict'] == 'skip'
    assert 'VCPU 4 needed, at most 2 per server (max_unit)' in entry['reasons'][0]


def test_targets_restrict_and_order_the_hosts():
    result = plan([server('web1')], targets=['compute3', 'compute2'])
    assert only(result)['target'] == 'compute3'
    result = plan([server('web1')], targets=['compute3'])
    assert [(row['host'], row['eligible']) for row in result['hosts']] == [('compute3', True)]
    with pytest.raises(PlanError, match=r'targets name compute9, which runs no nova-compute \(compute hosts: compute1, '
                                        r'compute2, compute3\)'):
        plan([server('web1')], targets=['compute9'])


@pytest.mark.parametrize('row, why', [
    (host(enabled=False, disabled_reason='disk swap'), "nova-compute is disabled ('disk swap')"),
    (host(enabled=False), 'nova-compute is disabled'),
    (host(up=False), 'nova-compute is down'),
    (host(forced_down=True), 'nova-compute is forced down'),
    (host(provider=None), 'Placement has no resource provider for it'),
    (dict(host(), inventories={}), 'its resource provider has no inventory'),
])
def test_disabled_down_and_unknown_targets_are_excluded(row, why):
    result = plan([server('web1')], lab_hosts(compute2=row, compute3=dict(row)))
    assert only(result)['verdict'] == 'skip'
    assert 'there is no eligible target' in only(result)['reasons'][0]
    assert result['hosts'][0]['eligible'] is False
    assert result['hosts'][0]['excluded_because'].startswith(why)
    assert result['problems'] == ['no host can take servers: compute1: it is the host being emptied; compute2: %s; '
                                  'compute3: %s' % (result['hosts'][0]['excluded_because'],
                                                    result['hosts'][1]['excluded_because'])]


def test_with_a_list_of_servers_each_server_avoids_only_its_own_host():
    result = plan([server('a', host_name='compute1'), server('b', host_name='compute2')], source=None)
    assert [entry['target'] for entry in result['servers']] == ['compute2', 'compute1']
    assert [row['host'] for row in result['hosts']] == ['compute1', 'compute2', 'compute3']


# -- the server's state ----------------------------------------------------------------------------
@pytest.mark.parametrize('fields, expected', [
    (dict(status='ERROR', fault='disk gone (code 500)'), 'it is in ERROR (disk gone (code 500))'),
    (dict(status='ACTIVE', task_state='rebooting'), "it is ACTIVE with task 'rebooting' in progress"),
    (dict(status='MIGRATING'), "it is MIGRATING with task 'None' in progress"),
    (dict(status='VERIFY_RESIZE'), 'it waits in VERIFY_RESIZE'),
    (dict(status='SHELVED'), 'it is SHELVED: offload it'),
    (dict(status='SUSPENDED'), 'it is SUSPENDED: Nova moves only ACTIVE, PAUSED (live) or SHUTOFF (cold) servers; '
                               'resume it first'),
    (dict(status='RESCUE'), 'unrescue it first'),
    (dict(status='SOFT_DELETED'), 'bring it back to ACTIVE or SHUTOFF first'),
    (dict(locked=True, locked_reason='novaops.migration manual move to compute2 (ctl:1:2)'),
     'it is locked by a manual move in progress'),
])
def test_states_nova_cannot_move_are_skipped_whatever_the_fallback(fields, expected):
    entry = only(plan([server('web1', **fields)], fallback='stop', allow_stop=True))
    assert entry['verdict'] == 'skip'
    assert entry['blocked_by'] == 'state'
    assert expected in entry['reasons'][0]
    assert len(entry['reasons']) == 1


@pytest.mark.parametrize('row, expected', [
    (host(up=False), 'nova-compute on compute1 is down'),
    (host(forced_down=True), 'nova-compute on compute1 is forced down'),
])
def test_a_source_whose_compute_does_not_answer_moves_and_stops_nothing(row, expected):
    entry = only(plan([server('web1')], lab_hosts(compute1=row), fallback='stop', allow_stop=True))
    assert entry['verdict'] == 'skip'
    assert entry['reasons'][0].startswith(expected)
    assert 'evacuate' in entry['reasons'][0]


def test_a_locked_server_moves_with_a_warning():
    entry = only(plan([server('web1', locked=True, locked_reason='owner says no')]))
    assert entry['verdict'] == 'live'
    assert entry['locked'] is True
    assert "it is locked ('owner says no'): Nova lets an admin move it" in entry['warnings'][0]


def test_a_stopped_server_goes_cold_and_live_mode_refuses_it_unless_the_fallback_allows():
    assert only(plan([server('db1', status='SHUTOFF')]))['verdict'] == 'cold'
    assert only(plan([server('db1', status='SHUTOFF')]))['warnings'] == []
    entry = only(plan([server('db1', status='SHUTOFF')], mode='live'))
    assert entry['verdict'] == 'skip'
    assert entry['reasons'][0] == 'not live: live migration needs a running guest and it is SHUTOFF'
    assert entry['reasons'][1].startswith('with fallback=cold')
    entry = only(plan([server('db1', status='SHUTOFF')], mode='live', fallback='cold'))
    assert (entry['verdict'], entry['target']) == ('cold', 'compute2')


def test_cold_mode_moves_a_running_server_cold_with_its_downtime_said():
    entry = only(plan([server('web1')], mode='cold'))
    assert (entry['verdict'], entry['target']) == ('cold', 'compute2')
    assert 'shuts the guest down for the copy' in entry['warnings'][0]


def test_a_paused_server_cannot_fall_back_to_cold_nor_be_stopped():
    paused = server('p1', status='PAUSED', config_drive=True)
    entry = only(plan([paused], fallback='stop', allow_stop=True))
    assert entry['verdict'] == 'skip'
    assert entry['reasons'][0].startswith('not live: it has a config drive in iso9660')
    assert entry['reasons'][1].startswith('not cold: Nova cold-migrates only ACTIVE or SHUTOFF servers and it is '
                                          'PAUSED (unpause it')
    assert entry['reasons'][2] == 'not stopped: Nova stops only ACTIVE servers and it is PAUSED'


# -- what blocks a live move --------------------------------------------------------------------------
@pytest.mark.parametrize('fields, options, expected', [
    (dict(config_drive=True), {}, 'NoLiveMigrationForConfigDriveInLibVirt'),
    (dict(ports=[dict(id='port-1', vnic_type='direct')]), {}, 'port port-1 (vnic_type direct) binds a device of '
                                                              'compute1 (SR-IOV/PCI)'),
    (dict(ports=[dict(id='p1', vnic_type='macvtap'), dict(id='p2', vnic_type='direct-physical'),
                 dict(id='p3', vnic_type='normal')]), {}, 'ports p1 (vnic_type macvtap), p2 (vnic_type '
                                                          'direct-physical) bind a device'),
    (dict(flavor=specs(pci_passthrough__alias='a1:1')), {}, "PCI devices of the host (pci_passthrough:alias='a1:1')"),
    (dict(flavor=specs(resources__VGPU='1')), {}, 'its flavor asks for a vGPU'),
    (dict(flavor=specs(resources1__VGPU='1')), {}, 'its flavor asks for a vGPU'),
    (dict(flavor=specs(hw__tpm_version='2.0')), {}, 'vTPM'),
    (dict(flavor=specs(hw__tpm_model='tpm-crb')), {}, 'vTPM'),
    ({}, dict(microversion=(2, 24)), 'the compute API (up to 2.24) is older than 2.25'),
])
def test_what_blocks_a_live_move_leaves_it_cold_or_skipped(fields, options, expected):
    entry = only(plan([server('web1', **fields)], **options))
    assert entry['verdict'] == 'skip'
    assert entry['reasons'][0].startswith('not live: ')
    assert expected in entry['reasons'][0]
    entry = only(plan([server('web1', **fields)], fallback='cold', **options))
    assert (entry['verdict'], entry['target']) == ('cold', 'compute2')
    assert expected in entry['reasons'][0]
    assert entry['reasons'][-1] == 'cold migration to compute2'


def test_a_zero_vgpu_or_a_normal_port_blocks_nothing():
    entry = only(plan([server('web1', flavor=specs(resources__VGPU='0'), ports=[dict(id='p', vnic_type='normal')])]))
    assert entry['verdict'] == 'live'


def test_a_pci_device_moved_cold_warns_that_the_target_needs_one():
    entry = only(plan([server('web1', ports=[dict(id='p', vnic_type='direct')])], fallback='cold'))
    assert any('the target needs a free matching device' in warning for warning in entry['warnings'])


@pytest.mark.parametrize('fields, options, warning', [
    (dict(config_drive=True), dict(block_migration=False), None),
    (dict(config_drive=True), dict(config_drive_format='vfat'), 'config drive in vfat'),
    (dict(flavor=specs(hw__cpu_policy='dedicated')), {}, 'NUMA-pinned flavor (hw:cpu_policy=dedicated)'),
    (dict(flavor=specs(hw__mem_page_size='large')), {}, 'hugepages (hw:mem_page_size=large)'),
    (dict(flavor=specs(hw__numa_nodes='2')), {}, 'NUMA topology (hw:numa_nodes=2)'),
    (dict(image_id=None), {}, 'it boots from a volume'),
    (dict(volumes=['vol-1', 'vol-2']), {}, 'Cinder volumes attached (vol-1, vol-2)'),
])
def test_what_degrades_a_live_move_is_a_warning(fields, options, warning):
    entry = only(plan([server('web1', **fields)], **options))
    assert entry['verdict'] == 'live'
    if warning is None:
        assert entry['warnings'] == []
    else:
        assert any(item.startswith(warning) for item in entry['warnings']), entry['warnings']


@pytest.mark.parametrize('microversion, verdict, gate', [((2, 29), 'live', '2.30'), ((2, 55), 'cold', '2.56')])
def test_an_old_compute_api_cannot_name_the_target(microversion, verdict, gate):
    entry = only(plan([server('web1', status='ACTIVE' if verdict == 'live' else 'SHUTOFF')],
                      microversion=microversion))
    assert entry['verdict'] == verdict
    assert ('cannot name the target of a %s migration (needs %s): the scheduler chooses' % (verdict, gate)
            in entry['warnings'][-1])


# -- CPUs -------------------------------------------------------------------------------------------
CUSTOM_OLD = dict(cpu_mode='custom', cpu_models=['Nehalem'])
CUSTOM_NEW = dict(cpu_mode='custom', cpu_models=['Skylake-Server', 'Cascadelake-Server'])


@pytest.mark.parametrize('source, target, expected', [
    (None, CUSTOM_NEW, None),
    (CUSTOM_OLD, CUSTOM_NEW, ('block', 'guests of compute1 run the CPU model Nehalem')),
    (CUSTOM_OLD, dict(cpu_mode='custom', cpu_models=['Westmere', 'nehalem']), None),
    (CUSTOM_OLD, dict(cpu_mode=None), ('warn', 'compute2 uses cpu_mode=host-model, so its CPU must offer')),
    (dict(cpu_mode='host-passthrough'), dict(cpu_mode='host-passthrough'),
     ('warn', 'compute1 passes its CPU through')),
    (dict(cpu_mode=None), dict(cpu_mode='host-passthrough'), ('warn', 'compute1 uses cpu_mode=host-model and compute2 '
                                                                      'cpu_mode=host-passthrough')),
    (dict(cpu_mode='host-model'), dict(cpu_mode=None), None),
])
def test_cpu_compatibility(source, target, expected):
    host_cpu = dict(compute2=target)
    if source is not None:
        host_cpu['compute1'] = source
    found = cpu_compatibility('compute1', 'compute2', host_cpu)
    if expected is None:
        assert found is None
    else:
        assert found[0] == expected[0]
        assert expected[1] in found[1]


def test_a_cpu_mismatch_skips_that_target_for_live_moves_only():
    host_cpu = dict(compute1=CUSTOM_OLD, compute2=CUSTOM_NEW, compute3=dict(cpu_mode='custom', cpu_models=['Nehalem']))
    entry = only(plan([server('web1')], host_cpu=host_cpu))
    assert (entry['verdict'], entry['target']) == ('live', 'compute3')
    entry = only(plan([server('web1')], host_cpu=host_cpu, targets=['compute2'], fallback='cold'))
    assert (entry['verdict'], entry['target']) == ('cold', 'compute2')
    assert 'not live: no eligible target takes it (compute2 guests of compute1 run the CPU model Nehalem' in \
        entry['reasons'][0]


def test_a_cpu_warning_follows_the_live_move():
    host_cpu = dict(compute1=dict(cpu_mode='host-passthrough'), compute2=dict(cpu_mode='host-passthrough'))
    entry = only(plan([server('web1')], host_cpu=host_cpu))
    assert entry['warnings'][0].startswith('compute1 passes its CPU through')


# -- server groups ------------------------------------------------------------------------------------
def group(policy, members, name='web', **rules):
    return dict(id='group-%s' % name, name=name, policy=policy, rules=rules, members=list(members))


def on(*consumer_ids):
    return dict((consumer_id, dict(TINY)) for consumer_id in consumer_ids)


def test_anti_affinity_members_spread_and_a_group_too_big_for_the_hosts_is_reported_first():
    hosts = lab_hosts(compute1=host(consumers=on('w1', 'w2', 'w3')))
    result = plan([server('w1'), server('w2'), server('w3')], hosts, [group('anti-affinity', ['w1', 'w2', 'w3'])])
    assert result['problems'] == [
        "anti-affinity group 'web' has 3 members to move but the eligible targets take only 2 (max_server_per_host 1; "
        "compute2 takes 1, compute3 takes 1): 1 of them cannot move. Add a target, raise max_server_per_host, or let "
        "the others be stopped (fallback=stop, allow_stop=true)"]
    placed = sorted(entry['target'] for entry in result['servers'] if entry['verdict'] == 'live')
    assert placed == ['compute2', 'compute3']
    stranded = [entry for entry in result['servers'] if entry['verdict'] == 'skip'][0]
    assert ("compute2 holds 1 member of anti-affinity group 'web' (max_server_per_host 1)"
            in stranded['reasons'][0])


def test_anti_affinity_avoids_a_host_that_already_holds_a_member_and_honours_max_server_per_host():
    hosts = lab_hosts(compute1=host(consumers=on('w1', 'w2')), compute2=host(consumers=on('w0')))
    result = plan([server('w1'), server('w2')], hosts, [group('anti-affinity', ['w0', 'w1', 'w2'])])
    assert [entry['verdict'] for entry in result['servers']].count('live') == 1
    assert [entry['target'] for entry in result['servers'] if entry['target']] == ['compute3']
    result = plan([server('w1'), server('w2')], hosts,
                  [group('anti-affinity', ['w0', 'w1', 'w2'], max_server_per_host=2)])
    assert sorted(entry['target'] for entry in result['servers']) == ['compute2', 'compute3']
    assert result['problems'] == []


def test_a_bad_max_server_per_host_is_refused():
    with pytest.raises(PlanError, match="server group 'web' has max_server_per_host 'many', not a number"):
        normalise_groups([group('anti-affinity', [], max_server_per_host='many')])


def test_old_microversions_give_policies_as_a_list():
    assert normalise_groups([dict(id='g', name='old', policies=['affinity'], members=['a'])])[0]['policy'] == \
        'affinity'


def test_affinity_members_all_on_the_source_are_pinned_there():
    hosts = lab_hosts(compute1=host(consumers=on('d1', 'd2')))
    result = plan([server('d1'), server('d2')], hosts, [group('affinity', ['d1', 'd2'], name='db')],
                  fallback='stop', allow_stop=True)
    assert len(result['problems']) == 1
    assert result['problems'][0].startswith("affinity group 'db' pins its members d1, d2 to compute1: Nova's "
                                            "ServerGroupAffinityFilter moves a member only to a host that already "
                                            "holds another member")
    assert [entry['verdict'] for entry in result['servers']] == ['stop', 'stop']
    assert "compute2 holds no member of affinity group 'db'" in result['servers'][0]['reasons'][0]
    assert result['servers'][0]['reasons'][-1].startswith('it is shut off (`openstack server stop`) and stays on '
                                                          'compute1, off, for the maintenance')


def test_affinity_members_follow_the_member_on_another_host():
    hosts = lab_hosts(compute1=host(consumers=on('d1', 'd2')), compute3=host(consumers=on('d0')))
    result = plan([server('d1'), server('d2')], hosts, [group('affinity', ['d0', 'd1', 'd2'], name='db')])
    assert [(entry['verdict'], entry['target']) for entry in result['servers']] == [('live', 'compute3')] * 2
    assert result['problems'] == []


def test_soft_anti_affinity_prefers_an_empty_host_and_only_warns_when_there_is_none():
    hosts = lab_hosts(compute1=host(consumers=on('w1')), compute2=host(consumers=on('w0')))
    entry = only(plan([server('w1')], hosts, [group('soft-anti-affinity', ['w0', 'w1'])]))
    assert (entry['target'], entry['warnings']) == ('compute3', [])
    entry = only(plan([server('w1')], hosts, [group('soft-anti-affinity', ['w0', 'w1'])], targets=['compute2']))
    assert entry['target'] == 'compute2'
    assert entry['warnings'][0].startswith("soft-anti-affinity group 'web': compute2 already holds 1 member")


def test_soft_affinity_prefers_the_host_of_the_members_and_only_warns_apart():
    hosts = lab_hosts(compute1=host(consumers=on('d1')), compute3=host(consumers=on('d0')))
    entry = only(plan([server('d1')], hosts, [group('soft-affinity', ['d0', 'd1'], name='db')]))
    assert (entry['target'], entry['warnings']) == ('compute3', [])
    entry = only(plan([server('d1')], hosts, [group('soft-affinity', ['d0', 'd1'], name='db')], targets=['compute2']))
    assert entry['target'] == 'compute2'
    assert entry['warnings'][0] == ("soft-affinity group 'db': it lands on compute2, apart from the members on "
                                    "compute3; Nova allows it (a soft policy only weighs)")


# -- stop -----------------------------------------------------------------------------------------------
def test_stop_needs_allow_stop_and_a_stopped_server_just_stays():
    full = lab_hosts(compute2=host(memory=100), compute3=host(memory=100))
    entry = only(plan([server('web1')], full, fallback='stop'))
    assert entry['verdict'] == 'skip'
    assert entry['reasons'][-1] == 'not stopped: fallback=stop stops a server only with allow_stop=true'
    entry = only(plan([server('web1')], full, fallback='stop', allow_stop=True))
    assert (entry['verdict'], entry['target']) == ('stop', None)
    assert [reason.split(':')[0] for reason in entry['reasons']] == ['not live', 'not cold',
                                                                     'it is shut off (`openstack server stop`) and '
                                                                     'stays on compute1, off, for the maintenance; '
                                                                     'start it afterwards']
    entry = only(plan([server('db1', status='SHUTOFF')], full, fallback='stop', allow_stop=True))
    assert entry['verdict'] == 'stop'
    assert entry['reasons'][-1] == 'it stays on compute1, already SHUTOFF, for the maintenance'
    result = plan([server('web1'), server('db1', status='SHUTOFF')], full, fallback='stop', allow_stop=True)
    assert result['summary'] == dict(live=0, cold=0, stop=2, skip=0)
