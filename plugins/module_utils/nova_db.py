# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Moving one instance's row in Nova's database to another compute node.

Used by the manual cold migration (nova_db_instance) on a host that can reach
the database, usually the controller: Nova's API has no call that changes
the host of a server, so the manual procedure writes it, guarded so that it
can never overwrite a row someone else changed in the meantime.

Only MySQL/MariaDB (the ``mysql+pymysql`` dialect nova uses by default) is
supported; the connection URL is never put in a message.
"""

import configparser
import re

from urllib.parse import parse_qsl, unquote

# The instance columns a migration changes (nova.instances); compute_id
# exists since 2023.2 (Bobcat) and references compute_nodes.id.
MOVED_COLUMNS = ('host', 'node', 'launched_on', 'compute_id')
MYSQL_SCHEMES = ('mysql', 'mysql+pymysql', 'mariadb', 'mariadb+pymysql')

# SQLAlchemy's own URL pattern (sqlalchemy.engine.url), which oslo.db, and so nova, parse [database] connection
# with: the password runs from the first ':' after the user to the first '@', so '/', '#', '?' and ':' may stand in
# it as they are; '@' and '%' must be percent-encoded (%40, %25). User and password are percent-decoded.
_URL = re.compile(r'''
    (?P<scheme>[\w+]+)://
    (?:(?P<username>[^:/]*)(?::(?P<password>[^@]*))?@)?
    (?:(?:\[(?P<ipv6host>[^/?]+)\]|(?P<ipv4host>[^/:?]+))?(?::(?P<port>[^/?]*))?)?
    (?:/(?P<database>[^?]*))?
    (?:\?(?P<query>.*))?
    $''', re.VERBOSE | re.DOTALL)

# Query options of the URL, as SQLAlchemy's PyMySQL dialect hands them to pymysql.connect(): the TLS ones go into
# its ``ssl`` argument (option -> key of that dict, type).
_SSL_OPTIONS = dict(
    ssl_ca=('ca', str), ssl_cert=('cert', str), ssl_key=('key', str), ssl_capath=('capath', str),
    ssl_cipher=('cipher', str), ssl_check_hostname=('check_hostname', bool), ssl_verify_identity=('check_hostname', bool),
    ssl_verify_cert=('verify_mode', bool),
)
_PLAIN_OPTIONS = dict(charset=str, unix_socket=str, connect_timeout=int, read_timeout=int, write_timeout=int)
# SQLAlchemy engine plugins (devstack writes plugin=dbcounter): nothing PyMySQL takes.
_IGNORED_OPTIONS = ('plugin',)
_TRUE = ('true', 'yes', '1', 'on')
_FALSE = ('false', 'no', '0', 'off')

# MySQL error numbers.
ER_ACCESS_DENIED = 1045
ER_NO_SUCH_TABLE = 1146

CELL0_UUID = '00000000-0000-0000-0000-000000000000'


class NovaDatabaseError(Exception):
    """A problem with Nova's database, worded for the operator (never containing the password)."""


def connection_from_nova_conf(path, section='database'):
    """``[SECTION] connection`` of a nova.conf, or None when the file or the option is missing."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        with open(path) as conf:
            parser.read_file(conf)
    except (IOError, OSError, configparser.Error):
        return None
    value = parser.get(section, 'connection', fallback='').strip()
    return value or None


def _option_value(name, kind, text):
    if kind is bool:
        if text.strip().lower() in _TRUE:
            return True
        if text.strip().lower() in _FALSE:
            return False
        raise NovaDatabaseError("query option %s of nova's database connection URL must be true or false, got '%s'"
                                % (name, text))
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise NovaDatabaseError("query option %s of nova's database connection URL must be a whole number of "
                                    "seconds, got '%s'" % (name, text))
    return text


def parse_connection(url):
    """Keyword arguments for pymysql.connect() from a SQLAlchemy URL, as nova (oslo.db, SQLAlchemy) reads it."""
    match = _URL.match(url.strip())
    if match is None:
        raise NovaDatabaseError("nova's database connection is not a URL of the form "
                                "mysql+pymysql://USER:PASSWORD@HOST[:PORT]/DATABASE[?OPTIONS]")
    parts = match.groupdict()
    if parts['scheme'] not in MYSQL_SCHEMES:
        raise NovaDatabaseError("nova's database connection uses '%s'; only MySQL/MariaDB (%s) is supported"
                                % (parts['scheme'] or 'no scheme', ', '.join(MYSQL_SCHEMES)))
    database = parts['database'] or ''
    if not database or not parts['username']:
        raise NovaDatabaseError("nova's database connection URL names no %s" % ('database' if not database else 'user'))

    given = {}
    for name, value in parse_qsl(parts['query'] or '', keep_blank_values=True):
        given.setdefault(name, []).append(value)
    known = sorted(set(_PLAIN_OPTIONS) | set(_SSL_OPTIONS) | set(_IGNORED_OPTIONS))
    unknown = sorted(name for name in given if name not in known)
    if unknown:
        raise NovaDatabaseError(
            "nova's database connection URL has query option(s) %s that this module does not know (it knows %s); "
            "refused rather than connecting without what they ask for (TLS, say). Use SQLAlchemy's PyMySQL names "
            "(ssl_ca=PATH, ssl_verify_cert=true) in the URL" % (', '.join(unknown), ', '.join(known)))
    repeated = sorted(name for name, values in given.items() if len(values) > 1)
    if repeated:
        raise NovaDatabaseError("nova's database connection URL gives query option(s) %s more than once"
                                % ', '.join(repeated))
    options = dict((name, values[0]) for name, values in given.items())

    kwargs = dict(user=unquote(parts['username']), password=unquote(parts['password'] or ''), database=database,
                  charset=options.get('charset', 'utf8'))
    for name, kind in _PLAIN_OPTIONS.items():
        if name in options and name != 'charset':
            kwargs[name] = _option_value(name, kind, options[name])
    ssl = {}
    for name, (key, kind) in _SSL_OPTIONS.items():
        if name in options:
            ssl[key] = _option_value(name, kind, options[name])
    if ssl.get('verify_mode') is False:
        # PyMySQL checks the host name by default, which an unverified certificate cannot have checked.
        ssl.setdefault('check_hostname', False)
    if ssl:
        kwargs['ssl'] = ssl
    if 'unix_socket' not in kwargs:
        kwargs['host'] = parts['ipv6host'] or parts['ipv4host'] or 'localhost'
        try:
            kwargs['port'] = int(parts['port']) if parts['port'] else 3306
        except ValueError:
            raise NovaDatabaseError("the port of nova's database connection URL is not a number: '%s'" % parts['port'])
    return kwargs


def describe_endpoint(kwargs):
    return kwargs.get('unix_socket') or '%s:%s' % (kwargs.get('host'), kwargs.get('port'))


def describe_error(error):
    """A driver error as '(CODE) text', without the statement (which may hold values)."""
    if len(getattr(error, 'args', ())) > 1:
        return '%s (MySQL error %s)' % (error.args[1], error.args[0])
    return str(error) or type(error).__name__


class NovaDatabase(object):
    """One connection to one of Nova's databases; every change is one transaction."""

    def __init__(self, driver, connect_kwargs, connect_timeout=10, timeout=60):
        self.driver = driver
        self.kwargs = connect_kwargs
        self.name = connect_kwargs['database']
        self.endpoint = describe_endpoint(connect_kwargs)
        # Without a read and a write timeout, a connection that went half-open (a failover, a firewall dropping
        # it) hangs the task for as long as TCP takes to notice: hours. Options of the URL win, as in nova.
        self.options = dict(connect_timeout=connect_timeout, read_timeout=timeout, write_timeout=timeout)
        self.options.update(connect_kwargs)
        self.options['autocommit'] = False
        # What the operator should know although the move worked (a commit confirmed by reading it back).
        self.notes = []
        self.connection = self._connect()

    def _connect(self):
        try:
            return self.driver.connect(**self.options)
        except self.driver.err.OperationalError as error:
            code = error.args[0] if error.args else None
            if code == ER_ACCESS_DENIED:
                raise NovaDatabaseError("nova's database at %s refused user '%s' (access denied): check the "
                                        "credentials in [database] connection or the variable given"
                                        % (self.endpoint, self.kwargs['user']))
            raise NovaDatabaseError("cannot connect to nova's database at %s: %s. Is it running and reachable "
                                    "from this host?" % (self.endpoint,
                                                         error.args[1] if len(error.args) > 1 else error))
        except (self.driver.err.MySQLError, OSError, ValueError) as error:
            # OSError, ValueError: PyMySQL setting up TLS (a CA file that is missing, a bad certificate).
            raise NovaDatabaseError("cannot connect to nova's database at %s: %s"
                                    % (self.endpoint, describe_error(error)))

    def close(self):
        try:
            self.connection.close()
        except (self.driver.err.MySQLError, OSError):
            pass  # closing a connection that is already gone

    def _rollback(self):
        try:
            self.connection.rollback()
        except (self.driver.err.MySQLError, OSError):
            pass  # a lost connection: the server rolls the transaction back itself

    def _execute(self, what, table, statement, args=()):
        """(affected row count, rows) of one statement; a driver error becomes a NovaDatabaseError saying what failed."""
        try:
            with self.connection.cursor() as cursor:
                count = cursor.execute(statement, args)
                rows = list(cursor.fetchall()) if statement.startswith(('SELECT', 'SHOW')) else []
        except self.driver.err.MySQLError as error:
            raise NovaDatabaseError(self._explain(error, what, table))
        return count, rows

    def _explain(self, error, what, table):
        code = error.args[0] if getattr(error, 'args', None) else None
        if code == ER_NO_SUCH_TABLE:
            if table in ('instance_mappings', 'cell_mappings'):
                return ('table %s.%s not found: is the API connection the API database (nova_api, the [api_database] '
                        'connection of nova.conf)?' % (self.name, table))
            return ('table %s.%s not found: is the connection the cell database? The [database] connection of '
                    "nova.conf names a cell database (nova, nova_cell1, ...), which holds the instances; the "
                    '[api_database] connection names nova_api, which has no %s. Pass database_connection with the URL '
                    "of the instance's cell database" % (self.name, table, table))
        return "nova's database failed while %s: %s" % (what, describe_error(error))

    # -- reading -------------------------------------------------------------
    def has_compute_id(self):
        dummy_count, rows = self._execute('reading the columns of instances', 'instances',
                                          "SHOW COLUMNS FROM instances LIKE 'compute_id'")
        return bool(rows)

    def instance(self, instance_uuid, columns, lock=False):
        """The instance's ``columns`` and task_state, or None when the row is missing or deleted."""
        dummy_count, rows = self._execute(
            'reading instance %s' % instance_uuid, 'instances',
            'SELECT %s FROM instances WHERE uuid = %%s AND deleted = 0%s'
            % (', '.join(columns + ('task_state',)), ' FOR UPDATE' if lock else ''), (instance_uuid,))
        return dict(zip(columns + ('task_state',), rows[0])) if rows else None

    def has_instance(self, instance_uuid):
        return self.instance(instance_uuid, ('host',)) is not None

    def compute_node_id(self, host, node):
        dummy_count, rows = self._execute(
            "looking up the compute node of host '%s' node '%s'" % (host, node), 'compute_nodes',
            'SELECT id FROM compute_nodes WHERE host = %s AND hypervisor_hostname = %s AND deleted = 0', (host, node))
        if len(rows) != 1:
            raise NovaDatabaseError("nova's database '%s' has %d live compute node(s) for host '%s' node '%s', expected "
                                    "exactly one; check `openstack hypervisor list` and nova-compute on %s (a compute "
                                    "of another cell is not in this cell's database)"
                                    % (self.name, len(rows), host, node, host))
        return rows[0][0]

    def cell_of(self, instance_uuid):
        """(name, uuid, database_connection) of the cell nova_api maps the instance to, or None."""
        dummy_count, rows = self._execute(
            'looking up the cell of instance %s' % instance_uuid, 'instance_mappings',
            'SELECT cell_mappings.name, cell_mappings.uuid, cell_mappings.database_connection FROM instance_mappings '
            'JOIN cell_mappings ON cell_mappings.id = instance_mappings.cell_id '
            'WHERE instance_mappings.instance_uuid = %s', (instance_uuid,))
        return tuple(rows[0]) if rows else None

    # -- the move ------------------------------------------------------------
    def move_instance(self, instance_uuid, expected, wanted, check_only=False):
        """Set ``wanted`` on the instance when its row still holds ``expected``.

        Both are dicts of MOVED_COLUMNS (a column missing from ``expected`` is
        not guarded). Returns (before, after, changed). Runs in one
        transaction with the row locked; anything but exactly one changed row
        rolls back and raises. A commit whose answer is lost is settled by
        reading the row again on a new connection.
        """
        columns = tuple(column for column in MOVED_COLUMNS if column in wanted)
        try:
            before = self.instance(instance_uuid, columns, lock=not check_only)
            if before is None:
                raise NovaDatabaseError("instance %s is not in nova's database '%s' (or is deleted)"
                                        % (instance_uuid, self.name))
            current = dict((column, before[column]) for column in columns)
            if current == wanted:
                self._rollback()
                return current, current, False
            mismatched = ['%s is %r, expected %r' % (column, before[column], value)
                          for column, value in sorted(expected.items()) if before[column] != value]
            if mismatched:
                raise NovaDatabaseError('instance %s was not changed: its row no longer holds what this move expects '
                                        '(%s); someone else moved or changed it - look at `openstack server show` '
                                        'before running again' % (instance_uuid, '; '.join(mismatched)))
            if before['task_state']:
                raise NovaDatabaseError("instance %s was not changed: Nova is busy with it (task_state '%s'); wait "
                                        "until the task ends" % (instance_uuid, before['task_state']))
            if check_only:
                self._rollback()
                return current, dict(wanted), True
            assignments = ', '.join('%s = %%s' % column for column in columns)
            guards = ' AND '.join('%s <=> %%s' % column for column in sorted(expected))
            changed_rows, dummy_rows = self._execute(
                'moving instance %s (rolled back, nothing changed)' % instance_uuid, 'instances',
                'UPDATE instances SET %s WHERE uuid = %%s AND deleted = 0 AND task_state IS NULL AND %s'
                % (assignments, guards),
                tuple(wanted[column] for column in columns) + (instance_uuid,)
                + tuple(expected[column] for column in sorted(expected)))
            if changed_rows != 1:
                raise NovaDatabaseError('the update of instance %s changed %d rows, expected exactly 1; rolled back, '
                                        'nothing changed' % (instance_uuid, changed_rows))
        except NovaDatabaseError:
            self._rollback()
            raise
        try:
            self.connection.commit()
        except (self.driver.err.MySQLError, OSError) as error:
            # The server may have committed and only its answer be lost: "rolled back" could be a lie.
            return self._settle_lost_commit(instance_uuid, columns, current, dict(wanted), describe_error(error))
        return current, dict(wanted), True

    def _settle_lost_commit(self, instance_uuid, columns, current, wanted, reason):
        unknown = ('the commit of instance %s failed (%s) and whether it took effect is unknown, re-run to check: '
                   % (instance_uuid, reason))
        try:
            connection = self.driver.connect(**self.options)
        except (self.driver.err.MySQLError, OSError, ValueError) as error:
            raise NovaDatabaseError(unknown + 'its row could not be read again (%s). A new run reads the row: it '
                                    'finds the move done and changes nothing, or finds the old values and moves '
                                    'it' % describe_error(error))
        try:
            with connection.cursor() as cursor:
                cursor.execute('SELECT %s FROM instances WHERE uuid = %%s AND deleted = 0' % ', '.join(columns),
                               (instance_uuid,))
                row = cursor.fetchone()
        except (self.driver.err.MySQLError, OSError) as error:
            raise NovaDatabaseError(unknown + 'reading its row again failed (%s)' % describe_error(error))
        finally:
            try:
                connection.close()
            except (self.driver.err.MySQLError, OSError):
                pass
        now = dict(zip(columns, row)) if row is not None else None
        if now == wanted:
            self.notes.append('the answer to the commit of instance %s was lost (%s); its row, read again on a new '
                              'connection, holds the new values: the move is committed' % (instance_uuid, reason))
            return current, wanted, True
        if now == current:
            raise NovaDatabaseError('the commit of instance %s failed (%s); its row, read again on a new connection, '
                                    'still holds %s: rolled back, nothing changed'
                                    % (instance_uuid, reason, ', '.join('%s %s' % (column, current[column])
                                                                        for column in columns)))
        raise NovaDatabaseError(unknown + 'its row, read again on a new connection, holds %s - neither what it held '
                                'nor what this move wrote; look at it before running again'
                                % ('nothing (deleted?)' if now is None else now))
