# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""nova_conf_info on nova.conf files in tmp_path."""

import json

import pytest

from ansible_collections.novaops.migration.plugins.module_utils import nova_conf
from ansible_collections.novaops.migration.plugins.modules import nova_conf_info

SECRET = 'SECRET'
NOVA_CONF = '''[DEFAULT]
my_ip = 10.0.0.12
transport_url = rabbit://u:%(secret)s@h
instances_path = /var/lib/nova/instances

[database]
connection = mysql+pymysql://nova:%(secret)s@db/nova

[api_database]
connection = mysql+pymysql://nova:%(secret)s@db/nova_api

[placement]
password = %(secret)s

[libvirt]
virt_type = qemu
live_migration_inbound_addr = 10.1.0.12
''' % dict(secret=SECRET)
RESULT_KEYS = {'my_ip', 'host', 'instances_path', 'live_migration_scheme', 'live_migration_inbound_addr',
               'live_migration_uri', 'live_migration_with_native_tls', 'virt_type', 'cpu_mode', 'cpu_models',
               'max_concurrent_live_migrations', 'libvirt_uri', 'ssh_address', 'files'}


@pytest.fixture(autouse=True)
def hostname(monkeypatch):
    monkeypatch.setattr(nova_conf.socket, 'gethostname', lambda: 'machine2')


@pytest.fixture
def conf(tmp_path):
    path = tmp_path / 'nova.conf'
    path.write_text(NOVA_CONF)
    return path


@pytest.fixture
def run(run_host_module):
    def run_nova_conf_info(check_mode=False, **args):
        return run_host_module(nova_conf_info.main, args, check_mode=check_mode)

    return run_nova_conf_info


def test_returns_the_migration_options_only(conf, tmp_path, run):
    result = run(path=str(conf), conf_dir=str(tmp_path / 'nova.conf.d'), host_name='compute2')
    assert result.pop('changed') is False
    assert set(result) == RESULT_KEYS
    assert result['libvirt_uri'] == 'qemu+tcp://10.1.0.12/system'
    assert result['ssh_address'] == '10.0.0.12'
    assert result['virt_type'] == 'qemu'
    assert result['files'] == [str(conf)]


def test_never_returns_a_secret(conf, tmp_path, run):
    conf_dir = tmp_path / 'nova.conf.d'
    conf_dir.mkdir()
    (conf_dir / '50-secrets.conf').write_text('[DEFAULT]\ntransport_url = rabbit://u:%s@h2\n[database]\n'
                                              'connection = mysql+pymysql://nova:%s@db2/nova\n' % (SECRET, SECRET))
    result = run(path=str(conf), conf_dir=str(conf_dir))
    assert SECRET not in json.dumps(result)
    assert SECRET not in str(result)
    assert len(result['files']) == 2


def test_conf_dir_overrides_the_main_file(conf, tmp_path, run):
    conf_dir = tmp_path / 'nova.conf.d'
    conf_dir.mkdir()
    (conf_dir / '10-migration.conf').write_text('[libvirt]\nlive_migration_scheme = tls\n'
                                                'live_migration_inbound_addr = 10.2.0.12\n')
    result = run(path=str(conf), conf_dir=str(conf_dir))
    assert result['libvirt_uri'] == 'qemu+tls://10.2.0.12/system'


def test_host_name_is_the_address_without_inbound_addr(tmp_path, run):
    path = tmp_path / 'nova.conf'
    path.write_text('[DEFAULT]\nhost = compute2.lab\n')
    result = run(path=str(path), conf_dir=str(tmp_path / 'none'), host_name='compute2')
    assert result['libvirt_uri'] == 'qemu+tcp://compute2/system'
    assert result['ssh_address'] == 'compute2'
    assert result['host'] == 'compute2.lab'


def test_check_mode_reads_the_same(conf, tmp_path, run):
    args = dict(path=str(conf), conf_dir=str(tmp_path / 'nova.conf.d'))
    assert run(check_mode=True, **args) == run(**args)


def test_a_missing_file_fails_naming_the_path(tmp_path, run):
    missing = tmp_path / 'etc' / 'nova' / 'nova.conf'
    result = run(path=str(missing), conf_dir=str(tmp_path / 'nova.conf.d'))
    assert result['failed'] is True
    assert str(missing) in result['msg']
    assert 'does not exist' in result['msg']


def test_a_broken_file_fails_without_showing_its_lines(tmp_path, run):
    path = tmp_path / 'nova.conf'
    path.write_text('[database]\nconnection = mysql+pymysql://nova:%s@db/nova\nthe password is %s\n'
                    % (SECRET, SECRET))
    result = run(path=str(path), conf_dir=str(tmp_path / 'nova.conf.d'))
    assert result['failed'] is True and str(path) in result['msg']
    assert SECRET not in str(result)


def test_the_defaults_are_novas_paths():
    spec = nova_conf_info.argument_spec()
    assert spec['path']['default'] == '/etc/nova/nova.conf'
    assert spec['conf_dir']['default'] == '/etc/nova/nova.conf.d'
