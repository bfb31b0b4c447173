# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The playbooks' variables are read once, strictly: a wrong value is an error, never a silent default."""

import pytest

from ansible_collections.novaops.migration.plugins.module_utils.settings import (
    SettingsError, read_settings, positive_number, strict_bool, run_id_of,
)


@pytest.mark.parametrize('value', ['30m', 'abc', '', '-5', '0', 0, -1, '1e999', 'nan', True, None, [3]])
def test_positive_number_refuses(value):
    with pytest.raises(SettingsError) as error:
        positive_number('migration_timeout', value)
    assert 'migration_timeout' in str(error.value)


@pytest.mark.parametrize('value, expected', [('1800', 1800), (1800, 1800), ('2.5', 2.5), (0.2, 0.2), (' 60 ', 60)])
def test_positive_number_accepts(value, expected):
    assert positive_number('migration_timeout', value) == expected


def test_positive_integer_refuses_fractions():
    with pytest.raises(SettingsError) as error:
        positive_number('concurrency', '2.5', integer=True)
    assert 'whole number' in str(error.value)


@pytest.mark.parametrize('value, expected', [('true', True), ('yes', True), (True, True), ('1', True),
                                             ('false', False), ('no', False), (False, False), ('0', False)])
def test_strict_bool_accepts(value, expected):
    assert strict_bool('keep_source', value) is expected


@pytest.mark.parametrize('value', ['y', 'n', 'maybe', '', 2, None, 'on '])
def test_strict_bool_refuses(value):
    with pytest.raises(SettingsError) as error:
        strict_bool('keep_source', value)
    assert 'keep_source' in str(error.value) and 'true or false' in str(error.value)


def test_migrate_defaults():
    settings = read_settings('migrate', dict(instance='myinstance', target='compute2'))
    assert settings == dict(instance='myinstance', target='compute2', mode='auto', cold_method='api',
                            migration_timeout=1800, on_timeout='abort', confirm=True, progress_interval=3,
                            skip_host_checks=False, nova_conf='/etc/nova/nova.conf', allow_stop=False,
                            keep_source=False, instances_path='/var/lib/nova/instances', rsync_options=[],
                            manual_stop_before='', takeover=False, grace=300)


def test_manual_cold_method_asks_for_a_cold_move():
    settings = read_settings('migrate', dict(instance='a', target='b', cold_method='manual'))
    assert settings['mode'] == 'cold'


def test_every_problem_at_once():
    with pytest.raises(SettingsError) as error:
        read_settings('migrate', dict(target='compute2', migration_timeout='30m', mode='fast',
                                      progress_interval='0', keep_source='y'))
    text = str(error.value)
    for word in ('instance', 'migration_timeout', "'30m'", 'mode', 'progress_interval', 'keep_source'):
        assert word in text
    assert 'nothing was changed' in text.lower()


def test_live_mode_with_manual_method_is_refused():
    with pytest.raises(SettingsError) as error:
        read_settings('migrate', dict(instance='a', target='b', mode='live', cold_method='manual'))
    assert 'cold_method=manual' in str(error.value)


def test_a_mistyped_checkpoint_is_refused():
    with pytest.raises(SettingsError) as error:
        read_settings('migrate', dict(instance='a', target='b', cold_method='manual', manual_stop_before='strat'))
    assert "'strat'" in str(error.value) and 'start' in str(error.value)


@pytest.mark.parametrize('options, expected', [
    ('--bwlimit=64', ['--bwlimit=64']),
    ('--bwlimit=50M --compress', ['--bwlimit=50M', '--compress']),
    (['-z'], ['-z']),
])
def test_rsync_options_allow_list(options, expected):
    settings = read_settings('migrate', dict(instance='a', target='b', rsync_extra_options=options))
    assert settings['rsync_options'] == expected


@pytest.mark.parametrize('options', ['--remove-source-files', '--rsync-path=/tmp/x', '-e ssh', '--bwlimit=fast',
                                     '--delete-before'])
def test_rsync_options_outside_the_allow_list_are_refused(options):
    with pytest.raises(SettingsError) as error:
        read_settings('migrate', dict(instance='a', target='b', rsync_extra_options=options))
    assert 'rsync_extra_options' in str(error.value) and '--bwlimit' in str(error.value)


def test_drain_settings():
    settings = read_settings('drain', dict(host='compute1', concurrency='3'))
    assert settings['concurrency'] == 3 and settings['host'] == 'compute1' and settings['target'] == ''
    assert settings['fallback'] == 'none'
    assert read_settings('drain', dict(host='compute1', fallback='cold'))['fallback'] == 'cold'
    with pytest.raises(SettingsError) as error:
        read_settings('drain', dict(host='compute1', target='compute1', concurrency='0'))
    assert 'concurrency' in str(error.value) and 'target' in str(error.value)


def test_evacuate_settings():
    settings = read_settings('evacuate', dict(host='compute1'))
    assert settings['allow_rebuild'] is False and settings['recover'] is False and settings['fence'] == ''
    assert settings['partition_threshold'] == 0.34 and settings['down_timeout'] == 180
    assert settings['grace'] > 0
    assert read_settings('evacuate', dict(host='compute1', partition_threshold='0.5'))['partition_threshold'] == 0.5
    with pytest.raises(SettingsError) as error:
        read_settings('evacuate', dict(host='compute1', target='compute1', allow_rebuild='y',
                                       partition_threshold='1.5'))
    for words in ('target must differ', 'allow_rebuild must be true or false', 'partition_threshold must be a '
                  'fraction between 0 and 1'):
        assert words in str(error.value)


def test_maintenance_settings():
    settings = read_settings('maintenance', dict(hosts='compute1, compute2'))
    assert settings['hosts'] == ['compute1', 'compute2']
    assert settings['state_file'] == '' and settings['maintenance_tasks'] == '' and settings['fallback'] == 'none'
    assert read_settings('maintenance', dict(hosts=['compute2']))['hosts'] == ['compute2']
    assert settings['move_back'] is False
    assert read_settings('maintenance', dict(hosts='compute1', move_back='true'))['move_back'] is True
    with pytest.raises(SettingsError, match='move_back'):
        read_settings('maintenance', dict(hosts='compute1', move_back='sometimes'))
    assert settings['wave_by'] == 'host'
    assert read_settings('maintenance', dict(hosts='compute1', wave_by='aggregate'))['wave_by'] == 'aggregate'
    with pytest.raises(SettingsError, match='wave_by'):
        read_settings('maintenance', dict(hosts='compute1', wave_by='rack'))
    with pytest.raises(SettingsError) as error:
        read_settings('maintenance', dict(hosts='compute1,compute1,', state_file='state.json'))
    assert 'empty host name' in str(error.value) and 'state_file must be an absolute path' in str(error.value)
    with pytest.raises(SettingsError) as error:
        read_settings('maintenance', dict(hosts='compute1,compute1'))
    assert 'names compute1 more than once' in str(error.value)
    with pytest.raises(SettingsError, match='hosts is required'):
        read_settings('maintenance', {})


def test_unknown_playbook():
    with pytest.raises(SettingsError):
        read_settings('nope', {})


def test_run_id_names_the_controller_and_the_process(tmp_path):
    stat = tmp_path / '4242' / 'stat'
    stat.parent.mkdir()
    # comm may contain spaces and parentheses; the start time is field 22.
    stat.write_text('4242 (ansible (play)) S 1 4242 4242 0 -1 4194560 ' + ' '.join(['0'] * 12) + ' 777 0\n')
    assert run_id_of(4242, hostname='ctl1', proc_root=str(tmp_path)) == 'ctl1:4242:777'
    assert run_id_of(999, hostname='ctl1', proc_root=str(tmp_path)) == 'ctl1:999:0'


@pytest.mark.parametrize('value', ['y', 'Y', 'n', 'maybe', 'on', 'off', 'truee', ' yes', 2, -1, 1.0, [], {}])
def test_keep_source_that_is_not_plainly_true_or_false_is_refused(value):
    """keep_source=false deletes the instance directory on the source: a value read wrongly as false loses data."""
    with pytest.raises(SettingsError) as error:
        read_settings('migrate', dict(instance='a', target='b', cold_method='manual', keep_source=value))
    assert 'keep_source must be true or false' in str(error.value)
    assert 'nothing was changed' in str(error.value)


@pytest.mark.parametrize('value, expected', [('true', True), ('True', True), ('YES', True), ('yes', True), (1, True),
                                             ('1', True), (True, True), ('false', False), ('No', False), (0, False),
                                             (False, False)])
def test_keep_source_spellings_are_read_the_same_everywhere(value, expected):
    settings = read_settings('migrate', dict(instance='a', target='b', cold_method='manual', keep_source=value))
    assert settings['keep_source'] is expected
