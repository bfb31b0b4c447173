# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from ansible_collections.novaops.migration.plugins.modules.flavor import FlavorModule

MYFLAVOR = dict(name='myflavor', ram=512, disk=5, vcpus=1)


def test_check_mode_predicts_creation(run_module, cloud):
    result = run_module(FlavorModule, dict(MYFLAVOR, extra_specs={'hw:cpu_policy': 'shared'}), check_mode=True,
                        diff=True)
    assert result['changed'] is True
    assert result['actions'] == ['create', 'set_extra_specs']
    assert result['flavor']['ram'] == 512
    assert result['flavor']['extra_specs'] == {'hw:cpu_policy': 'shared'}
    assert result['diff']['before'] == {}
    assert cloud.mutations() == []


def test_create_then_second_run_is_unchanged(run_module, cloud):
    first = run_module(FlavorModule, MYFLAVOR)
    assert first['changed'] is True
    assert cloud.call('compute.create_flavor')[1] == dict(name='myflavor', ram=512, vcpus=1, disk=5, ephemeral=0,
                                                          swap=0, is_public=True)
    assert first['flavor']['id'] is not None

    cloud.calls.clear()
    second = run_module(FlavorModule, MYFLAVOR)
    assert second['changed'] is False
    assert second['flavor'] == first['flavor']
    assert cloud.mutations() == []


def test_private_flavors_are_looked_up_too(run_module, cloud):
    run_module(FlavorModule, MYFLAVOR)
    assert cloud.call('compute.flavors')[1] == {'is_public': 'None'}


def test_flavor_id_is_passed_on(run_module, cloud):
    run_module(FlavorModule, dict(MYFLAVOR, flavor_id='42'))
    assert cloud.call('compute.create_flavor')[1]['id'] == '42'


def test_different_sizes_fail_listing_every_difference(run_module, cloud):
    existing = cloud.compute.add_flavor(name='myflavor', ram=1024, disk=5, vcpus=2)
    result = run_module(FlavorModule, MYFLAVOR)
    assert result['failed']
    assert result['msg'] == ("flavor 'myflavor' (%s) exists with different ram (cloud 1024, requested 512), "
                             "vcpus (cloud 2, requested 1); flavors cannot be changed. Set recreate: true to delete "
                             "and create it again, or choose another name." % existing.id)
    assert cloud.mutations() == []


def test_recreate_replaces_a_different_flavor(run_module, cloud):
    existing = cloud.compute.add_flavor(name='myflavor', ram=1024, disk=5, vcpus=1, is_public=False)
    predicted = run_module(FlavorModule, dict(MYFLAVOR, recreate=True), check_mode=True)
    assert predicted['actions'] == ['delete', 'create']
    assert cloud.mutations() == []

    result = run_module(FlavorModule, dict(MYFLAVOR, recreate=True))
    assert result['changed'] is True
    assert cloud.mutations() == ['compute.delete_flavor', 'compute.create_flavor']
    assert cloud.call('compute.delete_flavor')[0] == (existing.id,)
    assert result['flavor']['ram'] == 512
    assert result['flavor']['is_public'] is True


def test_extra_specs_are_added_and_updated_but_never_removed(run_module, cloud):
    existing = cloud.compute.add_flavor(name='myflavor', ram=512, disk=5, vcpus=1,
                                        extra_specs={'hw:cpu_policy': 'shared', 'keep': 'me'})
    specs = {'hw:cpu_policy': 'dedicated', 'hw:mem_page_size': 'large', 'keep': 'me'}

    predicted = run_module(FlavorModule, dict(MYFLAVOR, extra_specs=specs), check_mode=True, diff=True)
    assert predicted['actions'] == ['set_extra_specs']
    assert predicted['diff']['after']['extra_specs'] == specs
    assert cloud.mutations() == []

    result = run_module(FlavorModule, dict(MYFLAVOR, extra_specs=specs))
    assert cloud.call('compute.create_flavor_extra_specs')[0] == (
        existing.id, {'hw:cpu_policy': 'dedicated', 'hw:mem_page_size': 'large'})
    assert result['flavor']['extra_specs'] == specs

    assert run_module(FlavorModule, dict(MYFLAVOR, extra_specs=specs))['changed'] is False


def test_extra_spec_values_compare_as_strings(run_module, cloud):
    cloud.compute.add_flavor(name='myflavor', ram=512, disk=5, vcpus=1, extra_specs={'hw:numa_nodes': '1'})
    assert run_module(FlavorModule, dict(MYFLAVOR, extra_specs={'hw:numa_nodes': 1}))['changed'] is False


def test_sizes_are_required_to_create(run_module):
    result = run_module(FlavorModule, dict(name='myflavor'))
    assert result['failed']
    assert 'ram' in result['msg']


def test_impossible_sizes_fail_before_any_request(run_module, cloud):
    result = run_module(FlavorModule, dict(MYFLAVOR, ram=0))
    assert result['msg'] == 'ram must be at least 1, got 0'
    assert cloud.connect_kwargs is None


def test_absent(run_module, cloud):
    existing = cloud.compute.add_flavor(name='myflavor', ram=512, disk=5, vcpus=1)
    assert run_module(FlavorModule, dict(name='myflavor', state='absent'), check_mode=True)['changed'] is True
    assert cloud.mutations() == []
    assert run_module(FlavorModule, dict(name='myflavor', state='absent'))['changed'] is True
    assert cloud.call('compute.delete_flavor')[0] == (existing.id,)
    assert run_module(FlavorModule, dict(name='myflavor', state='absent'))['changed'] is False
