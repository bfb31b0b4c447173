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


class MySQLError(Exception):
    """PyMySQL's hierarchy as far as the module relies on it: every error is a MySQLError."""


class OperationalError(MySQLError):
    pass


class ProgrammingError(MySQLError):
    pass


class FakeDatabase(object):
    """nova.instances and nova.compute_nodes as far as the module reads and writes them.

    Stands in for the pymysql module too: connect() hands out this database, or one of ``others`` (by the
    ``database`` asked for). An UPDATE is undone by rollback() and kept by commit(), as in a transaction.
    """

    def __init__(self, name='nova'):
        self.name = name
        self.row = dict(host='compute1', node='compute1', launched_on='compute1', compute_id=1, task_state=None)
        self.nodes = {('compute1', 'compute1'): 1, ('compute2', 'compute2'): 2}
        self.tables = {'instances', 'compute_nodes'}
        # nova_api: instance uuid -> (cell name, cell uuid, cell database_connection).
        self.mappings = {}
        self.others = {}
        self.refuse = None
        self.statements = []
        self.committed = 0
        self.rolled_back = 0
        self.err = types.SimpleNamespace(OperationalError=OperationalError, MySQLError=MySQLError,
                                         ProgrammingError=ProgrammingError)
        self.connect_kwargs = None
        self.connections = []
        # Set by a test: commit() raises it, after keeping the change when commit_applies.
        self.commit_error = None
        self.commit_applies = False
        # Set by a test: connections after the first one are refused with it.
        self.refuse_again = None
        self._snapshot = None

    # pymysql.connect
    def connect(self, **kwargs):
        self.connect_kwargs = kwargs
        self.connections.append(kwargs)
        if self.refuse:
            raise OperationalError(*self.refuse)
        if self.refuse_again and len(self.connections) > 1:
            raise OperationalError(*self.refuse_again)
        if kwargs.get('database', self.name) == self.name:
            return self
        if kwargs['database'] not in self.others:
            raise OperationalError(1049, "Unknown database '%s'" % kwargs['database'])
        other = self.others[kwargs['database']]
        other.connections.append(kwargs)
        return other

    def cursor(self):
        return FakeCursor(self)

    def begin_change(self):
        if self._snapshot is None:
            self._snapshot = dict(self.row)

    def commit(self):
        self.committed += 1
        if self.commit_error is not None:
            if not self.commit_applies and self._snapshot is not None:
                self.row = self._snapshot
            self._snapshot = None
            raise self.commit_error
        self._snapshot = None

    def rollback(self):
        self.rolled_back += 1
        if self._snapshot is not None:
            self.row = self._snapshot
            self._snapshot = None

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

    def _require(self, table):
        if table not in self.database.tables:
            raise ProgrammingError(1146, "Table '%s.%s' doesn't exist" % (self.database.name, table))

    def execute(self, statement, args=()):
        database = self.database
        database.statements.append(statement)
        if 'instance_mappings' in statement:
            self._require('instance_mappings')
            self.result = [database.mappings[args[0]]] if args[0] in database.mappings else []
        elif statement.startswith('SHOW COLUMNS'):
            self._require('instances')
            self.result = [('compute_id',)]
        elif statement.startswith('SELECT id FROM compute_nodes'):
            self._require('compute_nodes')
            self.result = [(database.nodes[args],)] if args in database.nodes else []
        elif statement.startswith('SELECT'):
            self._require('instances')
            columns = [column.strip() for column in statement[len('SELECT '):statement.index(' FROM')].split(',')]
            self.result = [] if database.row is None else [tuple(database.row[column] for column in columns)]
        elif statement.startswith('UPDATE'):
            assignments = statement[len('UPDATE instances SET '):statement.index(' WHERE')]
            names = [part.split(' = ')[0] for part in assignments.split(', ')]
            values = args[:len(names)]
            guards = [part.split(' <=> ')[0] for part in statement.split(' AND ') if ' <=> ' in part]
            expected = args[len(names) + 1:]
            if all(database.row[name] == value for name, value in zip(guards, expected)):
                database.begin_change()
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


# -- the connection URL -----------------------------------------------------------------------------------------

def test_tls_options_of_the_url_are_passed_to_pymysql(database):
    result = run(database_connection='mysql+pymysql://nova:%s@db.example/nova?charset=utf8&ssl_ca=/etc/ssl/ca.pem'
                                     '&ssl_cert=/etc/ssl/nova.pem&ssl_key=/etc/ssl/nova.key&ssl_verify_cert=true'
                                     % SECRET)
    assert result['changed'] is True, result
    assert database.connect_kwargs['ssl'] == dict(ca='/etc/ssl/ca.pem', cert='/etc/ssl/nova.pem',
                                                  key='/etc/ssl/nova.key', verify_mode=True)
    assert database.connect_kwargs['charset'] == 'utf8'


def test_tls_without_verifying_the_certificate(database):
    run(database_connection='mysql+pymysql://nova:%s@db/nova?ssl_ca=/ca.pem&ssl_verify_cert=false' % SECRET)
    # PyMySQL refuses verify_mode CERT_NONE with check_hostname on.
    assert database.connect_kwargs['ssl'] == dict(ca='/ca.pem', verify_mode=False, check_hostname=False)


@pytest.mark.parametrize('query, refused', [('sslmode=require', 'sslmode'), ('ssl_ca=/a&ssl_ca=/b', 'ssl_ca'),
                                            ('ssl_verify_cert=maybe', 'ssl_verify_cert')])
def test_unknown_or_wrong_query_options_are_refused(database, query, refused):
    result = run(database_connection='mysql+pymysql://nova:%s@db/nova?%s' % (SECRET, query))
    assert result['failed']
    assert refused in result['msg'] and SECRET not in str(result)
    assert database.connect_kwargs is None, 'never connect without what the URL asks for (TLS)'


def test_the_options_oslo_db_adds_are_accepted(database):
    # devstack writes ?charset=utf8&plugin=dbcounter (an SQLAlchemy engine plugin, nothing PyMySQL takes).
    result = run(database_connection='mysql+pymysql://nova:%s@db/nova?charset=utf8&plugin=dbcounter' % SECRET)
    assert result['changed'] is True, result
    assert 'plugin' not in database.connect_kwargs


def test_reads_and_writes_time_out(database, nova_conf):
    run(nova_conf=nova_conf)
    assert (database.connect_kwargs['connect_timeout'], database.connect_kwargs['read_timeout'],
            database.connect_kwargs['write_timeout']) == (10, 60, 60)
    run(nova_conf=nova_conf, timeout=5)
    assert database.connect_kwargs['read_timeout'] == 5 and database.connect_kwargs['write_timeout'] == 5


@pytest.mark.parametrize('password_in_url, password', [
    ('pa/ss', 'pa/ss'), ('pa#ss', 'pa#ss'), ('pa?ss', 'pa?ss'), ('a:b', 'a:b'), ('p%40ss', 'p@ss'),
    ('x%2Fy%3F', 'x/y?'), ('', ''),
])
def test_passwords_with_url_characters(database, tmp_path, password_in_url, password):
    url = 'mysql+pymysql://nova:%s@db.example:3307/nova?charset=utf8' % password_in_url
    conf = tmp_path / 'nova.conf'
    conf.write_text('[database]\nconnection = %s\n' % url)
    for result in (run(database_connection=url), run(nova_conf=str(conf))):
        assert result['changed'] in (True, False) and not result.get('failed'), result
        assert database.connect_kwargs['password'] == password
        assert (database.connect_kwargs['host'], database.connect_kwargs['port'],
                database.connect_kwargs['database'], database.connect_kwargs['user']) == ('db.example', 3307, 'nova',
                                                                                          'nova')


def test_an_ipv6_host(database):
    run(database_connection='mysql+pymysql://nova:%s@[fd00::10]:3306/nova' % SECRET)
    assert database.connect_kwargs['host'] == 'fd00::10'


# -- errors of the queries ----------------------------------------------------------------------------------------

def test_the_api_database_instead_of_the_cell_database(database, tmp_path):
    database.name, database.tables = 'nova_api', {'cell_mappings', 'instance_mappings'}
    result = run(database_connection='mysql+pymysql://nova:%s@db/nova_api' % SECRET)
    assert result['failed']
    assert 'table nova_api.instances not found: is the connection the cell database?' in result['msg']
    assert '[database] connection' in result['msg'] and SECRET not in str(result)


def test_a_failing_compute_node_lookup_is_explained(database, nova_conf, monkeypatch):
    database.tables = {'instances'}
    result = run(nova_conf=nova_conf)
    assert result['failed'] and 'table nova.compute_nodes not found' in result['msg']

    database.tables = {'instances', 'compute_nodes'}
    real_execute = FakeCursor.execute

    def timing_out(self, statement, args=()):
        if 'compute_nodes' in statement:
            raise OperationalError(2013, 'Lost connection to MySQL server during query (timed out)')
        return real_execute(self, statement, args)
    monkeypatch.setattr(FakeCursor, 'execute', timing_out)
    result = run(nova_conf=nova_conf)
    assert result['failed']
    assert "nova's database failed while looking up the compute node of host 'compute2'" in result['msg']
    assert 'timed out' in result['msg'] and database.row['host'] == 'compute1'


# -- a commit whose answer is lost ---------------------------------------------------------------------------------

LOST = OperationalError(2013, 'Lost connection to MySQL server during query')


def test_a_lost_commit_acknowledgement_of_a_committed_move(database, nova_conf):
    database.commit_error, database.commit_applies = LOST, True
    result = run(nova_conf=nova_conf)
    assert not result.get('failed'), result
    assert result['changed'] is True and result['instance']['host'] == 'compute2'
    assert database.row['host'] == 'compute2'
    assert len(database.connections) == 2, 'the row is read again on a new connection'


def test_a_lost_commit_that_rolled_back(database, nova_conf):
    database.commit_error = LOST
    result = run(nova_conf=nova_conf)
    assert result['failed']
    assert 'read again on a new connection' in result['msg'] and 'still holds host compute1' in result['msg']
    assert 'nothing changed' in result['msg']
    assert database.row['host'] == 'compute1'


def test_a_lost_commit_that_cannot_be_checked(database, nova_conf):
    database.commit_error = LOST
    database.commit_applies = True
    database.refuse_again = (2003, "Can't connect to MySQL server on '127.0.0.1'")
    result = run(nova_conf=nova_conf)
    assert result['failed']
    assert 'unknown, re-run to check' in result['msg'] and 'nothing changed' not in result['msg']
    assert SECRET not in str(result)


# -- several cells ---------------------------------------------------------------------------------------------------

CELL1_SECRET = 'cell1-pw-42'


def cells(database, cell_url=None):
    """The controller's [database] connection names cell0; the instance lives in cell1."""
    database.name, database.row = 'nova_cell0', None
    api = FakeDatabase('nova_api')
    api.tables = {'cell_mappings', 'instance_mappings'}
    api.mappings[UUID] = ('cell1', 'c1-uuid', cell_url or 'mysql+pymysql://nova:%s@db/nova_cell1' % CELL1_SECRET)
    database.others = dict(nova_api=api, nova_cell1=FakeDatabase('nova_cell1'))
    return database.others['nova_cell1']


def test_an_instance_of_another_cell_is_found_through_nova_api(database, tmp_path):
    cell1 = cells(database)
    conf = tmp_path / 'nova.conf'
    conf.write_text('[api_database]\nconnection = mysql+pymysql://nova:%s@db/nova_api\n[database]\nconnection = '
                    'mysql+pymysql://nova:%s@db/nova_cell0\n' % (SECRET, SECRET))
    result = run(nova_conf=str(conf))
    assert not result.get('failed'), result
    assert result['changed'] is True and result['database'] == 'nova_cell1' and result['cell'] == 'cell1'
    assert cell1.row['host'] == 'compute2' and cell1.committed == 1
    assert CELL1_SECRET not in str(result) and SECRET not in str(result)


def test_an_instance_of_another_cell_without_nova_api(database):
    cells(database)
    result = run(database_connection='mysql+pymysql://nova:%s@db/nova_cell0' % SECRET)
    assert result['failed']
    assert "instance %s is not in the cell database 'nova_cell0'" % UUID in result['msg']
    assert 'database_connection' in result['msg'] and 'api_database_connection' in result['msg']
    assert SECRET not in str(result)


def test_a_templated_cell_url_is_not_guessed(database):
    cells(database, cell_url='{scheme}://{username}:{password}@{hostname}/nova_cell1?{query}')
    result = run(database_connection='mysql+pymysql://nova:%s@db/nova_cell0' % SECRET,
                 api_database_connection='mysql+pymysql://nova:%s@db/nova_api' % SECRET)
    assert result['failed']
    assert "cell 'cell1' (c1-uuid)" in result['msg'] and 'database_connection' in result['msg']


def test_an_unmapped_instance(database):
    cells(database)
    database.others['nova_api'].mappings.clear()
    result = run(database_connection='mysql+pymysql://nova:%s@db/nova_cell0' % SECRET,
                 api_database_connection='mysql+pymysql://nova:%s@db/nova_api' % SECRET)
    assert result['failed'] and 'no instance mapping' in result['msg']
