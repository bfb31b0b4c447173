# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reading what a live or cold migration needs from nova.conf files in tmp_path."""

import json

import pytest

from ansible_collections.novaops.migration.plugins.module_utils import nova_conf
from ansible_collections.novaops.migration.plugins.module_utils.nova_conf import (
    NovaConfError, conf_files, libvirt_uri, nova_conf_info, read_migration_settings,
)

SECRET = 'SECRET'
RESULT_KEYS = {'my_ip', 'host', 'instances_path', 'live_migration_scheme', 'live_migration_inbound_addr',
               'live_migration_uri', 'live_migration_with_native_tls', 'virt_type', 'cpu_mode', 'cpu_models',
               'max_concurrent_live_migrations', 'libvirt_uri', 'ssh_address', 'files'}

# A compute's nova.conf as deployments write it, secrets included.
COMPUTE_CONF = '''[DEFAULT]
my_ip = 10.0.0.12
host = compute2
transport_url = rabbit://u:%(secret)s@h
max_concurrent_live_migrations = 2

[database]
connection = mysql+pymysql://nova:%(secret)s@db/nova

[keystone_authtoken]
password = %(secret)s

[libvirt]
virt_type = qemu
cpu_mode = custom
cpu_models = Nehalem, Westmere
live_migration_scheme = tls
live_migration_inbound_addr = 10.1.0.12
live_migration_with_native_tls = true
''' % dict(secret=SECRET)


@pytest.fixture(autouse=True)
def machine_hostname(monkeypatch):
    # The fallback of every name: the machine's hostname, made predictable.
    monkeypatch.setattr(nova_conf.socket, 'gethostname', lambda: 'machine2')


def write(tmp_path, text, name='nova.conf'):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def read(tmp_path, text, host_name=None, conf_dir=None):
    return nova_conf_info(write(tmp_path, text), conf_dir or str(tmp_path / 'nova.conf.d'), host_name)


def test_reads_the_migration_options_of_a_compute(tmp_path):
    result = read(tmp_path, COMPUTE_CONF, host_name='compute2')
    assert result == dict(
        my_ip='10.0.0.12', host='compute2', instances_path='/var/lib/nova/instances', live_migration_scheme='tls',
        live_migration_inbound_addr='10.1.0.12', live_migration_uri=None, live_migration_with_native_tls=True,
        virt_type='qemu', cpu_mode='custom', cpu_models=['Nehalem', 'Westmere'], max_concurrent_live_migrations=2,
        libvirt_uri='qemu+tls://10.1.0.12/system', ssh_address='10.0.0.12', files=[str(tmp_path / 'nova.conf')])


def test_never_returns_a_secret(tmp_path):
    result = read(tmp_path, COMPUTE_CONF)
    assert set(result) == RESULT_KEYS
    assert SECRET not in json.dumps(result)
    assert 'mysql' not in json.dumps(result) and 'rabbit' not in json.dumps(result)


def test_defaults_of_an_almost_empty_file(tmp_path):
    result = read(tmp_path, '[DEFAULT]\n')
    assert result == dict(
        my_ip=None, host=None, instances_path='/var/lib/nova/instances', live_migration_scheme='tcp',
        live_migration_inbound_addr=None, live_migration_uri=None, live_migration_with_native_tls=False,
        virt_type='kvm', cpu_mode=None, cpu_models=[], max_concurrent_live_migrations=None,
        libvirt_uri='qemu+tcp://machine2/system', ssh_address='machine2', files=[str(tmp_path / 'nova.conf')])


def test_an_empty_scheme_is_tcp(tmp_path):
    result = read(tmp_path, '[libvirt]\nlive_migration_scheme =\n')
    assert result['live_migration_scheme'] == 'tcp'
    assert result['libvirt_uri'] == 'qemu+tcp://machine2/system'


@pytest.mark.parametrize('conf, host_name, uri_host, ssh_address', [
    # live_migration_inbound_addr wins for libvirt, my_ip for ssh
    ('[DEFAULT]\nhost = compute2\nmy_ip = 10.0.0.12\n[libvirt]\nlive_migration_inbound_addr = 10.1.0.12\n',
     'nova-compute2', '10.1.0.12', '10.0.0.12'),
    # then the Nova service host given to the module
    ('[DEFAULT]\nhost = compute2\n', 'nova-compute2', 'nova-compute2', 'nova-compute2'),
    # then [DEFAULT] host
    ('[DEFAULT]\nhost = compute2\n', None, 'compute2', 'compute2'),
    # then the machine's hostname (what Nova uses when host is unset)
    ('[DEFAULT]\nmy_ip = 10.0.0.12\n', None, 'machine2', '10.0.0.12'),
    # empty values count as unset
    ('[DEFAULT]\nhost =\nmy_ip =\n[libvirt]\nlive_migration_inbound_addr =\n', None, 'machine2', 'machine2'),
])
def test_which_address_nova_uses(tmp_path, conf, host_name, uri_host, ssh_address):
    result = read(tmp_path, conf, host_name=host_name)
    assert result['libvirt_uri'] == 'qemu+tcp://%s/system' % uri_host
    assert result['ssh_address'] == ssh_address


def test_an_ipv6_address_is_bracketed_in_the_uri_only(tmp_path):
    result = read(tmp_path, '[DEFAULT]\nmy_ip = fd00::12\n[libvirt]\nlive_migration_inbound_addr = fd00:1::12\n')
    assert result['libvirt_uri'] == 'qemu+tcp://[fd00:1::12]/system'
    assert result['ssh_address'] == 'fd00::12'


def test_default_section_does_not_leak_into_libvirt(tmp_path):
    # configparser hands [DEFAULT] to every section; oslo.config does not.
    result = read(tmp_path, '[DEFAULT]\nlive_migration_scheme = ssh\nvirt_type = lxc\ncpu_mode = host-passthrough\n'
                            '[libvirt]\n')
    assert result['live_migration_scheme'] == 'tcp'
    assert result['virt_type'] == 'kvm'
    assert result['cpu_mode'] is None


def test_the_last_duplicate_wins(tmp_path):
    result = read(tmp_path, '[DEFAULT]\nmy_ip = 10.0.0.1\nmy_ip = 10.0.0.2\n[libvirt]\nvirt_type = kvm\n'
                            '[libvirt]\nvirt_type = qemu\n')
    assert result['my_ip'] == '10.0.0.2'
    assert result['virt_type'] == 'qemu'


def test_conf_dir_files_are_read_after_the_main_file_in_sorted_order(tmp_path):
    main = write(tmp_path, '[DEFAULT]\nmy_ip = 10.0.0.1\nhost = compute2\n')
    conf_dir = tmp_path / 'nova.conf.d'
    write(conf_dir, '[DEFAULT]\nmy_ip = 10.0.0.30\n', name='30-late.conf')
    write(conf_dir, '[DEFAULT]\nmy_ip = 10.0.0.10\n[libvirt]\nvirt_type = qemu\n', name='10-early.conf')
    write(conf_dir, '[DEFAULT]\nmy_ip = 10.0.0.99\n', name='99-ignored.conf.orig')
    (conf_dir / '50-a-directory.conf').mkdir()
    result = nova_conf_info(main, str(conf_dir))
    assert result['my_ip'] == '10.0.0.30'
    assert result['virt_type'] == 'qemu'
    assert result['host'] == 'compute2'
    assert result['files'] == [main, str(conf_dir / '10-early.conf'), str(conf_dir / '30-late.conf')]


def test_a_missing_conf_dir_is_skipped(tmp_path):
    main = write(tmp_path, '[DEFAULT]\n')
    assert conf_files(main, str(tmp_path / 'nowhere')) == [main]


def test_a_missing_file_names_the_path(tmp_path):
    missing = str(tmp_path / 'etc' / 'nova.conf')
    with pytest.raises(NovaConfError, match='%s does not exist' % missing):
        nova_conf_info(missing, str(tmp_path / 'nova.conf.d'))


def test_a_directory_is_not_a_file(tmp_path):
    with pytest.raises(NovaConfError, match='cannot read %s' % tmp_path):
        nova_conf_info(str(tmp_path), str(tmp_path / 'nova.conf.d'))


def test_an_unreadable_file_says_to_become_root(tmp_path, monkeypatch):
    path = write(tmp_path, '[DEFAULT]\n')

    def refuse(name, *args, **kwargs):
        # What open() does for a user outside the nova group (root is never refused).
        raise PermissionError(13, 'Permission denied', name)

    monkeypatch.setattr(nova_conf, 'open', refuse, raising=False)
    with pytest.raises(NovaConfError, match='cannot read %s.*become' % path):
        nova_conf_info(path, str(tmp_path / 'nova.conf.d'))


@pytest.mark.parametrize('text', [
    'connection = mysql+pymysql://nova:%s@db/nova\n' % SECRET,  # no section header
    '[database]\nthe password is %s\n' % SECRET,  # neither = nor :
])
def test_a_file_that_does_not_parse_is_named_without_its_content(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(NovaConfError) as error:
        nova_conf_info(path, str(tmp_path / 'nova.conf.d'))
    assert 'cannot parse %s' % path in str(error.value)
    assert 'line' in str(error.value)
    assert SECRET not in str(error.value)


@pytest.mark.parametrize('value, expected', [('true', True), ('True', True), ('yes', True), ('1', True),
                                             ('on', True), ('false', False), ('no', False), ('0', False),
                                             ('OFF', False), ('', False)])
def test_native_tls_is_a_boolean(tmp_path, value, expected):
    result = read(tmp_path, '[libvirt]\nlive_migration_with_native_tls = %s\n' % value)
    assert result['live_migration_with_native_tls'] is expected


def test_a_bad_boolean_names_the_option(tmp_path):
    with pytest.raises(NovaConfError, match=r"\[libvirt\] live_migration_with_native_tls is 'maybe'"):
        read(tmp_path, '[libvirt]\nlive_migration_with_native_tls = maybe\n')


@pytest.mark.parametrize('value, expected', [('0', 0), ('4', 4), ('', None)])
def test_max_concurrent_live_migrations_is_an_integer(tmp_path, value, expected):
    result = read(tmp_path, '[DEFAULT]\nmax_concurrent_live_migrations = %s\n' % value)
    assert result['max_concurrent_live_migrations'] == expected


def test_a_bad_integer_names_the_option(tmp_path):
    with pytest.raises(NovaConfError, match=r"\[DEFAULT\] max_concurrent_live_migrations is 'two'"):
        read(tmp_path, '[DEFAULT]\nmax_concurrent_live_migrations = two\n')


@pytest.mark.parametrize('conf, models', [
    ('[libvirt]\ncpu_models = Nehalem,Westmere ,, IvyBridge\n', ['Nehalem', 'Westmere', 'IvyBridge']),
    ('[libvirt]\ncpu_models = [Nehalem, Westmere]\n', ['Nehalem', 'Westmere']),
    ('[libvirt]\ncpu_models =\n', []),
    # the name before Stein, still accepted by Nova
    ('[libvirt]\ncpu_model = Nehalem\n', ['Nehalem']),
    ('[libvirt]\ncpu_model = Nehalem\ncpu_models = Westmere\n', ['Westmere']),
])
def test_cpu_models_is_a_list(tmp_path, conf, models):
    assert read(tmp_path, conf)['cpu_models'] == models


@pytest.mark.parametrize('conf, instances_path', [
    ('[DEFAULT]\ninstances_path = /srv/nova/instances\n', '/srv/nova/instances'),
    ('[DEFAULT]\nstate_path = /srv/nova\n', '/srv/nova/instances'),
    ('[DEFAULT]\nstate_path = /srv/nova\ninstances_path = $state_path/vms\n', '/srv/nova/vms'),
    ('[DEFAULT]\nstate_path = /srv/nova\ninstances_path = ${state_path}/vms\n', '/srv/nova/vms'),
])
def test_instances_path(tmp_path, conf, instances_path):
    assert read(tmp_path, conf)['instances_path'] == instances_path


def test_the_deprecated_live_migration_uri_is_returned_as_given_and_used(tmp_path):
    # Nova's driver uses it instead of the scheme when it is set, with %s the address.
    result = read(tmp_path, '[DEFAULT]\nhost = compute2\n[libvirt]\nlive_migration_uri = qemu+ssh://nova@%s/system\n'
                            'live_migration_scheme = tls\n')
    assert result['live_migration_uri'] == 'qemu+ssh://nova@%s/system'
    assert result['libvirt_uri'] == 'qemu+ssh://nova@compute2/system'


@pytest.mark.parametrize('scheme, address, uri', [
    ('tcp', 'compute2', 'qemu+tcp://compute2/system'),
    ('tls', '10.0.0.12', 'qemu+tls://10.0.0.12/system'),
    ('tcp', 'fd00::12', 'qemu+tcp://[fd00::12]/system'),
    ('tcp', '[fd00::12]', 'qemu+tcp://[fd00::12]/system'),
])
def test_libvirt_uri(scheme, address, uri):
    assert libvirt_uri(scheme, address) == uri


def test_settings_from_a_parser_of_several_files(tmp_path):
    first = write(tmp_path, '[DEFAULT]\nhost = compute2\n', name='a.conf')
    second = write(tmp_path, '[DEFAULT]\nmy_ip = 10.0.0.12\n', name='b.conf')
    settings = read_migration_settings([first, second], host_name=None)
    assert settings['host'] == 'compute2' and settings['ssh_address'] == '10.0.0.12'
    assert 'files' not in settings
