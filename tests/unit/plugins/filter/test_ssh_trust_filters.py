# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from ansible_collections.novaops.migration.plugins.filter.ssh_trust import departed_peers, shared_values

CONTENT = '''# managed in part by novaops_ssh_trust
restrict,from="10.99.0.12" ssh-ed25519 AAAAC3Nza1 nova@compute2
from="10.99.0.13" ssh-ed25519 AAAAC3Nza2 nova@compute3
ssh-rsa AAAAB3Nza3 operator@laptop
ecdsa-sha2-nistp256 AAAAE2Vj4 nova@compute9
ssh-ed25519 AAAAC3Nza5 nova@compute9

command="/bin/true" ssh-ed25519 AAAAC3Nza6 root@compute4
'''


def test_keys_of_computes_that_left_the_group():
    assert departed_peers(CONTENT, 'nova', ['compute1', 'compute2']) == ['compute3', 'compute9']


def test_nothing_departed_and_other_entries_are_never_named():
    assert departed_peers(CONTENT, 'nova', ['compute2', 'compute3', 'compute9']) == []
    assert departed_peers(CONTENT, 'root', ['compute1']) == ['compute4']
    assert departed_peers('', 'nova', []) == []
    assert departed_peers(None, 'nova', []) == []


def test_values_more_than_one_host_has():
    assert shared_values([['10.0.0.1', '192.168.122.1'], ['10.0.0.2', '192.168.122.1', '10.0.0.2'],
                          ['10.0.0.3']]) == ['192.168.122.1']
    assert shared_values([]) == [] and shared_values(None) == []
