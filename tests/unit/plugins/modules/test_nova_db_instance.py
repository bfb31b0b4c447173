# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import types

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.novaops.migration.plugins.modules import nova_db_instance

UUID = '2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e'
SECRET = 's3cr3t-pw'


class OperationalError(Exception):
    pass


class MySQLError(Exception):
    pass


class FakeDatabase(object):
    """nova.instances and nova.compute_nodes as far as the module reads and writes them."""

    def __init__(self):
        self.row = dict(host='compute1', node='compute1', launched_on='compute1', compute_id=1, task_state=None)
        self.nodes = {('compute1', 'compute1'): 1, ('compute2', 'compute2'): 2}
        self.refuse = None
        self.statements = []
        self.committed = 0
        self.rolled_back = 0
        self.err = types.SimpleNamespace(OperationalError=OperationalError, MySQLError=MySQLError)
        self.connect_kwargs = None

    # pymysql.connect
    def connect(self, **kwargs):
        self.connect_kwargs = kwargs
        if self.refuse:
            raise OperationalError(*self.refuse)
        return self

    def cursor(self):
        return FakeCursor(self)

    def commit(self):
        self.committed += 1

    def rollback(self):
        self.rolled_back += 1

    def close(self):
        pass


class FakeCursor(object):
    def __init__(self, database):
        self.database = database
        self.result = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, statement, args=()):
        database = self.database
        database.statements.append(statement)
        if statement.startswith('SHOW COLUMNS'):
            self.result = [('compute_id',)]
        elif statement.startswith('SELECT id FROM compute_nodes'):
            self.result = [(database.nodes[args],)] if args in database.nodes else []
        elif statement.startswith('SELECT'):
            columns = [column.strip() for column in statement[len('SELECT '):statement.index(' FROM')].split(',')]
            self.result = [tuple(database.row[column] for column in columns)]
        elif statement.startswith('UPDATE'):
            assignments = statement[len('UPDATE instances SET '):statement.index(' WHERE')]
            names = [part.split(' = ')[0] for part in assignments.split(', ')]
            values = args[:len(names)]
            guards = [part.split(' <=> ')[0] for part in statement.split(' AND ') if ' <=> ' in part]
            expected = args[len(names) + 1:]
            if all(database.row[name] == value for name, value in zip(guards, expected)):
                database.row.update(zip(names, values))
                return 1
            return 0
        return len(self.result)

    def fetchone(self):
        return self.result[0] if self.result else None

    def fetchall(self):
        return self.result


class Outcome(Exception):
    def __init__(self, result):
        super().__init__(result)
        self.result = result


@pytest.fixture
def database(monkeypatch):
    fake = FakeDatabase()
    monkeypatch.setattr(nova_db_instance, 'pymysql', fake)
    monkeypatch.setattr(nova_db_instance, 'PYMYSQL_IMPORT_ERROR', None)

    def exit_json(module, **result):
        raise Outcome(result)

    def fail_json(module, msg, **result):
        raise Outcome(dict(result, msg=msg, failed=True))

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
    return fake


@pytest.fixture
def nova_conf(tmp_path):
    path = tmp_path / 'nova.conf'
    path.write_text('[DEFAULT]\nmy_ip = 10.99.0.10\n[database]\nconnection = mysql+pymysql://nova:%s@127.0.0.1/nova'
                    '?charset=utf8\n' % SECRET)
    return str(path)


def run(check_mode=False, diff=False, **args):
    values = dict(instance=UUID, expected_host='compute1', expected_node='compute1', host='compute2',
                  node='compute2', _ansible_check_mode=check_mode, _ansible_diff=diff)
    values.update(args)
    with patch_module_args(values):
        try:
            nova_db_instance.main()
        except Outcome as outcome:
            return outcome.result
    raise AssertionError('the module returned without exit_json or fail_json')


def test_moves_the_row_in_one_guarded_transaction(database, nova_conf):
    result = run(nova_conf=nova_conf, diff=True)
    assert result['changed'] is True
    assert result['instance'] == dict(host='compute2', node='compute2', launched_on='compute2', compute_id=2)
    assert result['diff']['before']['host'] == 'compute1'
    assert database.row['compute_id'] == 2 and database.row['launched_on'] == 'compute2'
    assert database.committed == 1
    assert database.connect_kwargs['password'] == SECRET and database.connect_kwargs['host'] == '127.0.0.1'
    update = [statement for statement in database.statements if statement.startswith('UPDATE')][0]
    assert 'host <=> %s' in update and 'node <=> %s' in update and 'task_state IS NULL' in update
    assert any(statement.endswith('FOR UPDATE') for statement in database.statements)

    again = run(nova_conf=nova_conf)
    assert again['changed'] is False
    assert database.committed == 1


def test_check_mode_reads_only(database, nova_conf):
    result = run(nova_conf=nova_conf, check_mode=True)
    assert result['changed'] is True
    assert result['instance']['host'] == 'compute2'
    assert database.row['host'] == 'compute1'
    assert not [statement for statement in database.statements if statement.startswith('UPDATE')]
    assert not any(statement.endswith('FOR UPDATE') for statement in database.statements)


def test_a_row_moved_by_someone_else_is_not_touched(database, nova_conf):
    database.row.update(host='compute3', node='compute3')
    result = run(nova_conf=nova_conf)
    assert result['failed']
    assert "host is 'compute3', expected 'compute1'" in result['msg']
    assert database.row['host'] == 'compute3' and database.committed == 0 and database.rolled_back == 1


def test_a_busy_instance_is_not_touched(database, nova_conf):
    database.row['task_state'] = 'powering-off'
    result = run(nova_conf=nova_conf)
    assert result['failed'] and "Nova is busy with it (task_state 'powering-off')" in result['msg']
    assert database.row['host'] == 'compute1' and database.committed == 0


def test_anything_but_one_changed_row_rolls_back(database, nova_conf, monkeypatch):
    monkeypatch.setattr(FakeCursor, 'execute', _zero_rows(FakeCursor.execute))
    result = run(nova_conf=nova_conf)
    assert result['failed'] and 'changed 0 rows, expected exactly 1; rolled back' in result['msg']
    assert database.committed == 0 and database.rolled_back == 1


def _zero_rows(execute):
    def patched(self, statement, args=()):
        if statement.startswith('UPDATE'):
            self.database.statements.append(statement)
            return 0
        return execute(self, statement, args)
    return patched


def test_unknown_credentials(database, tmp_path):
    result = run(nova_conf=str(tmp_path / 'missing.conf'))
    assert result['failed']
    assert "unknown credentials for nova's database" in result['msg'] and 'database_connection is not set' in \
        result['msg']
    assert database.connect_kwargs is None


def test_access_denied_names_the_user_not_the_password(database):
    database.refuse = (1045, "Access denied for user 'nova'@'localhost'")
    result = run(database_connection='mysql+pymysql://nova:%s@controller/nova' % SECRET)
    assert result['failed']
    assert "refused user 'nova' (access denied)" in result['msg']
    assert SECRET not in str(result)


def test_unreachable_database(database):
    database.refuse = (2003, "Can't connect to MySQL server on '127.0.0.1' ([Errno 111] Connection refused)")
    result = run(database_connection='mysql+pymysql://nova:%s@127.0.0.1:3399/nova' % SECRET)
    assert result['failed']
    assert "cannot connect to nova's database at 127.0.0.1:3399" in result['msg']
    assert SECRET not in str(result)


def test_only_mysql_is_supported(database):
    result = run(database_connection='postgresql://nova:%s@db/nova' % SECRET)
    assert result['failed'] and "uses 'postgresql'; only MySQL/MariaDB" in result['msg']


def test_unknown_compute_node(database, nova_conf):
    result = run(nova_conf=nova_conf, host='compute9', node='compute9')
    assert result['failed'] and "0 live compute node(s) for host 'compute9'" in result['msg']
    assert database.row['host'] == 'compute1'
