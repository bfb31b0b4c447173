# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Nova's host names and the inventory's names are mapped in one place, both spellings."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.novaops.migration.plugins.filter.names import inventory_host, nova_host


COMPUTES = ['compute1', 'compute2']


@pytest.mark.parametrize('nova_name, expected', [
    ('compute1', 'compute1'),            # same name
    ('compute1.lab', 'compute1'),        # Nova's FQDN, short inventory name
    ('compute3', ''),                    # not in the inventory
    ('', ''),
    (None, ''),
])
def test_inventory_host_of_a_nova_name(nova_name, expected):
    assert inventory_host(nova_name, COMPUTES, {}) == expected


def test_inventory_fqdn_for_a_short_nova_name():
    assert inventory_host('compute2', ['compute1.example.org', 'compute2.example.org'], {}) == 'compute2.example.org'


def test_explicit_nova_host_variable_wins():
    hostvars = {'c1': {'novaops_nova_host': 'hv-17.dc.example'}, 'c2': {}}
    assert inventory_host('hv-17.dc.example', ['c1', 'c2'], hostvars) == 'c1'
    assert nova_host('c1', hostvars) == 'hv-17.dc.example'
    assert nova_host('c2', hostvars) == 'c2'


def test_ambiguous_short_names_are_an_error():
    with pytest.raises(AnsibleFilterError) as error:
        inventory_host('compute1', ['compute1.a.example', 'compute1.b.example'], {})
    assert 'compute1.a.example' in str(error.value) and 'novaops_nova_host' in str(error.value)
