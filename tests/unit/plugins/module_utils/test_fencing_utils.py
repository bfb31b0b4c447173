# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest

from ansible_collections.novaops.migration.plugins.module_utils.fencing import (
    AWAITING_DOWN, GONE, HOST_ALIVE, SERVICE_UP, UNPROVEN, FencingInputError, PartitionError, fence_succeeded,
    fence_verdict, partition_check,
)


def service(host, state='up', forced_down=False, status='enabled', binary='nova-compute'):
    return dict(host=host, state=state, forced_down=forced_down, status=status, binary=binary)


def computes(count, down=(), forced=()):
    return [service('compute%d' % number, state='down' if 'compute%d' % number in down else 'up',
                    forced_down='compute%d' % number in forced) for number in range(1, count + 1)]


# -- partition_check ---------------------------------------------------------------------------------------------------
def test_one_of_three_down_is_a_host_failure():
    summary = partition_check(computes(3, down=['compute2']), 'compute2')
    assert summary['down'] == ['compute2']
    assert summary['computes'] == 3
    assert summary['host_down'] is True
    assert summary['share'] == 0.333


def test_the_only_host_down_passes_whatever_the_share():
    summary = partition_check(computes(2, down=['compute1']), 'compute1')
    assert summary['down'] == ['compute1'] and summary['share'] == 0.5


def test_two_of_three_down_look_like_a_partition():
    with pytest.raises(PartitionError) as error:
        partition_check(computes(3, down=['compute1', 'compute2']), 'compute1')
    assert str(error.value).startswith('2 of 3 computes look down (compute1, compute2): this looks like a network '
                                       'partition or a control plane fault, not a host failure; nothing was '
                                       'evacuated')
    assert error.value.summary['down'] == ['compute1', 'compute2']


def test_a_share_under_the_threshold_passes():
    summary = partition_check(computes(10, down=['compute1', 'compute2', 'compute3']), 'compute1')
    assert summary['share'] == 0.3


def test_the_threshold_is_configurable():
    with pytest.raises(PartitionError):
        partition_check(computes(10, down=['compute1', 'compute2', 'compute3']), 'compute1', threshold=0.2)
    assert partition_check(computes(3, down=['compute1', 'compute2']), 'compute1', threshold=0.7)['share'] == 0.667


def test_hosts_already_forced_down_are_no_sign_of_a_partition():
    services = computes(3, down=['compute1', 'compute3'], forced=['compute3'])
    summary = partition_check(services, 'compute1')
    assert summary['down'] == ['compute1']
    assert summary['forced_down'] == ['compute3']


def test_the_host_itself_counts_down_when_it_is_forced_down():
    services = computes(3, forced=['compute2'])
    services[1]['state'] = 'down'
    assert partition_check(services, 'compute2')['down'] == ['compute2']


def test_other_binaries_are_ignored():
    services = computes(2, down=['compute1']) + [service('controller', state='down', binary='nova-scheduler')]
    assert partition_check(services, 'compute1')['computes'] == 2


@pytest.mark.parametrize('threshold', [0, 1, 1.5, -0.1, True, '0.3'])
def test_a_bad_threshold_is_refused(threshold):
    with pytest.raises(FencingInputError, match='threshold must be a fraction between 0 and 1'):
        partition_check(computes(3), 'compute1', threshold=threshold)


def test_an_unknown_host_is_refused():
    with pytest.raises(FencingInputError, match=r"no nova-compute service runs on host 'compute9' "
                                                r"\(compute hosts: compute1, compute2\)"):
        partition_check(computes(2), 'compute9')


@pytest.mark.parametrize('services, message', [
    ({'host': 'compute1'}, 'services must be a list'),
    (['compute1'], r'services\[0\] must be a dict'),
    ([dict(state='up')], r'services\[0\] has no host'),
    ([dict(host='compute1', state='enabled')], r"state must be 'up' or 'down', got 'enabled'"),
    ([service('compute1'), service('compute1')], 'host compute1 has two nova-compute services'),
])
def test_bad_services_are_refused(services, message):
    with pytest.raises(FencingInputError, match=message):
        partition_check(services, 'compute1')


# -- fence_verdict -----------------------------------------------------------------------------------------------------
def reach(ssh=False, icmp=False, **ports):
    tcp = {22: ssh} if ssh is not None else {}
    tcp.update((int(port[1:]), answered) for port, answered in ports.items())
    return dict(reachable=bool(ssh or icmp or any(ports.values())), tcp=tcp, icmp=icmp)


DOWN = dict(host='compute1', state='down', forced_down=False)


def test_down_and_unreachable_is_gone():
    verdict = fence_verdict(DOWN, reach())
    assert verdict['verdict'] == GONE
    assert verdict['evacuate'] is True
    assert verdict['unreachable'] is True
    assert verdict['suggestion'] is None
    assert verdict['reasons'] == ['nova-compute on compute1 is down in the API',
                                  'compute1 answers neither ssh nor ICMP from the controller']


def test_forced_down_counts_as_down():
    verdict = fence_verdict(dict(host='compute1', state='up', forced_down=True), reach())
    assert verdict['evacuate'] is True
    assert verdict['reasons'][0] == 'nova-compute on compute1 is down in the API (forced down)'


def test_a_live_service_of_a_host_that_answers_is_never_evacuated():
    verdict = fence_verdict(dict(host='compute1', state='up', forced_down=False), reach(ssh=True, icmp=True))
    assert verdict['verdict'] == SERVICE_UP
    assert verdict['evacuate'] is False
    assert 'Nova refuses to evacuate from a live host' in verdict['suggestion']


def test_a_silent_host_that_nova_still_counts_up_is_awaited():
    verdict = fence_verdict(dict(host='compute1', state='up', forced_down=False), reach())
    assert verdict['verdict'] == AWAITING_DOWN
    assert verdict['evacuate'] is False
    assert 'service_down_time' in verdict['suggestion']


def test_a_fenced_host_is_gone_before_nova_counts_it_down():
    # The fence is the proof: the play forces the service down instead of waiting service_down_time.
    verdict = fence_verdict(dict(host='compute1', state='up', forced_down=False), reach(), dict(changed=True))
    assert verdict['verdict'] == GONE
    assert verdict['evacuate'] is True
    assert verdict['reasons'][0] == 'nova-compute on compute1 is up in the API'
    assert 'the fencing step succeeded' in verdict['reasons']


def test_host_alive_with_dead_nova_compute_suggests_the_manual_cold_migration():
    verdict = fence_verdict(DOWN, reach(ssh=True, icmp=True))
    assert verdict['verdict'] == HOST_ALIVE
    assert verdict['evacuate'] is False
    assert 'compute1 answers ssh and ICMP from the controller' in verdict['reasons']
    assert 'evacuation is refused' in verdict['suggestion']
    assert 'cold_method=manual' in verdict['suggestion']
    assert 'still readable' in verdict['suggestion']


def test_host_answering_ping_only_cannot_be_copied_by_hand():
    verdict = fence_verdict(DOWN, reach(ssh=False, icmp=True))
    assert verdict['verdict'] == HOST_ALIVE
    assert 'not on ssh' in verdict['suggestion']


def test_another_open_port_means_alive():
    verdict = fence_verdict(DOWN, reach(ssh=False, icmp=False, p16509=True))
    assert verdict['verdict'] == HOST_ALIVE
    assert verdict['other_ports'] == ['16509']
    assert verdict['unreachable'] is False


def test_a_successful_fencing_step_proves_a_reachable_host_gone():
    verdict = fence_verdict(DOWN, reach(ssh=True, icmp=True), dict(changed=True, rc=0))
    assert verdict['verdict'] == GONE
    assert verdict['fenced'] is True
    assert 'the fencing step succeeded' in verdict['reasons']


def test_a_failed_fencing_step_does_not_prove_a_reachable_host_gone():
    verdict = fence_verdict(DOWN, reach(ssh=True, icmp=True), dict(failed=True, msg='BMC timeout'))
    assert verdict['verdict'] == HOST_ALIVE
    assert verdict['fenced'] is False
    assert 'the fencing step failed' in verdict['reasons']


def test_unknown_icmp_is_not_down():
    reachability = dict(reachable=False, tcp={22: False}, icmp=None, icmp_detail='ping is not installed')
    verdict = fence_verdict(DOWN, reachability)
    assert verdict['verdict'] == UNPROVEN
    assert verdict['evacuate'] is False
    assert verdict['unreachable'] is False
    assert 'compute1 does not answer, but ICMP could not be tried (ping is not installed)' in verdict['reasons']
    assert 'fence it through its BMC' in verdict['suggestion']
    # ... but a fencing step settles it.
    assert fence_verdict(DOWN, reachability, True)['verdict'] == GONE


def test_ports_as_strings_after_json():
    verdict = fence_verdict(DOWN, dict(tcp={'22': True}, icmp=False))
    assert verdict['ssh'] is True and verdict['verdict'] == HOST_ALIVE


def test_ssh_not_tried_is_unknown():
    verdict = fence_verdict(DOWN, dict(tcp={}, icmp=False))
    assert verdict['ssh'] is None
    assert verdict['verdict'] == UNPROVEN


@pytest.mark.parametrize('fence_result, expected', [
    (None, None), (True, True), (False, False), (dict(skipped=True), None), (dict(changed=True), True),
    (dict(rc=0), True), (dict(rc=1), False), (dict(failed=True), False), (dict(unreachable=True), False),
    (dict(fenced=True), True), (dict(fenced=False, rc=0), False),
])
def test_fence_succeeded(fence_result, expected):
    assert fence_succeeded(fence_result) is expected


@pytest.mark.parametrize('args, message', [
    (('down', {}), 'service_state must be'),
    ((DOWN, None), 'reachability must be'),
    ((DOWN, dict(tcp=[22])), 'reachability.tcp must map ports'),
    ((DOWN, {}, 'yes'), 'fence_result must be'),
])
def test_bad_verdict_input_is_refused(args, message):
    with pytest.raises(FencingInputError, match=message):
        fence_verdict(*args)
