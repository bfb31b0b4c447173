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

from urllib.parse import unquote, urlsplit, parse_qs

# The instance columns a migration changes (nova.instances); compute_id
# exists since 2023.2 (Bobcat) and references compute_nodes.id.
MOVED_COLUMNS = ('host', 'node', 'launched_on', 'compute_id')
MYSQL_SCHEMES = ('mysql', 'mysql+pymysql', 'mariadb', 'mariadb+pymysql')


class NovaDatabaseError(Exception):
    """A problem with Nova's database, worded for the operator (never containing the password)."""


def connection_from_nova_conf(path):
    """``[database] connection`` of a nova.conf, or None when the file or the option is missing."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        with open(path) as conf:
            parser.read_file(conf)
    except (IOError, OSError):
        return None
    value = parser.get('database', 'connection', fallback='').strip()
    return value or None


def parse_connection(url):
    """Keyword arguments for pymysql.connect() from a SQLAlchemy URL."""
    parts = urlsplit(url)
    if parts.scheme not in MYSQL_SCHEMES:
        raise NovaDatabaseError("nova's database connection uses '%s'; only MySQL/MariaDB (%s) is supported"
                                % (parts.scheme or 'no scheme', ', '.join(MYSQL_SCHEMES)))
    database = parts.path.lstrip('/')
    if not database or not parts.username:
        raise NovaDatabaseError("nova's database connection URL names no %s"
                                % ('database' if not database else 'user'))
    query = parse_qs(parts.query)
    kwargs = dict(user=unquote(parts.username), password=unquote(parts.password or ''), database=database,
                  charset=query.get('charset', ['utf8'])[0])
    if query.get('unix_socket'):
        kwargs['unix_socket'] = query['unix_socket'][0]
    else:
        kwargs['host'] = parts.hostname or 'localhost'
        kwargs['port'] = parts.port or 3306
    return kwargs


def describe_endpoint(kwargs):
    return kwargs.get('unix_socket') or '%s:%s' % (kwargs.get('host'), kwargs.get('port'))


class NovaDatabase(object):
    """One connection to Nova's database; every change is one transaction."""

    def __init__(self, driver, connect_kwargs, connect_timeout=10):
        self.driver = driver
        self.kwargs = connect_kwargs
        try:
            self.connection = driver.connect(connect_timeout=connect_timeout, autocommit=False, **connect_kwargs)
        except driver.err.OperationalError as error:
            code = error.args[0] if error.args else None
            if code == 1045:
                raise NovaDatabaseError("nova's database at %s refused user '%s' (access denied): check the "
                                        "credentials in [database] connection or the variable given"
                                        % (describe_endpoint(connect_kwargs), connect_kwargs['user']))
            raise NovaDatabaseError("cannot connect to nova's database at %s: %s. Is it running and reachable "
                                    "from this host?" % (describe_endpoint(connect_kwargs),
                                                         error.args[1] if len(error.args) > 1 else error))

    def close(self):
        self.connection.close()

    def has_compute_id(self):
        with self.connection.cursor() as cursor:
            cursor.execute("SHOW COLUMNS FROM instances LIKE 'compute_id'")
            return cursor.fetchone() is not None

    def instance(self, instance_uuid, columns, lock=False):
        with self.connection.cursor() as cursor:
            cursor.execute('SELECT %s FROM instances WHERE uuid = %%s AND deleted = 0%s'
                           % (', '.join(columns + ('task_state',)), ' FOR UPDATE' if lock else ''),
                           (instance_uuid,))
            row = cursor.fetchone()
        if row is None:
            raise NovaDatabaseError('instance %s is not in nova\'s database (or is deleted)' % instance_uuid)
        return dict(zip(columns + ('task_state',), row))

    def compute_node_id(self, host, node):
        with self.connection.cursor() as cursor:
            cursor.execute('SELECT id FROM compute_nodes WHERE host = %s AND hypervisor_hostname = %s AND deleted = 0',
                           (host, node))
            rows = cursor.fetchall()
        if len(rows) != 1:
            raise NovaDatabaseError("nova's database has %d live compute node(s) for host '%s' node '%s', expected "
                                    "exactly one; check `openstack hypervisor list` and nova-compute on %s"
                                    % (len(rows), host, node, host))
        return rows[0][0]

    def move_instance(self, instance_uuid, expected, wanted, check_only=False):
        """Set ``wanted`` on the instance when its row still holds ``expected``.

        Both are dicts of MOVED_COLUMNS (a column missing from ``expected`` is
        not guarded). Returns (before, after, changed). Runs in one
        transaction with the row locked; anything but exactly one changed row
        rolls back and raises.
        """
        columns = tuple(column for column in MOVED_COLUMNS if column in wanted)
        try:
            before = self.instance(instance_uuid, columns, lock=not check_only)
            current = dict((column, before[column]) for column in columns)
            if current == wanted:
                self.connection.rollback()
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
                self.connection.rollback()
                return current, dict(wanted), True
            assignments = ', '.join('%s = %%s' % column for column in columns)
            guards = ' AND '.join('%s <=> %%s' % column for column in sorted(expected))
            with self.connection.cursor() as cursor:
                changed_rows = cursor.execute(
                    'UPDATE instances SET %s WHERE uuid = %%s AND deleted = 0 AND task_state IS NULL AND %s'
                    % (assignments, guards),
                    tuple(wanted[column] for column in columns) + (instance_uuid,)
                    + tuple(expected[column] for column in sorted(expected)))
            if changed_rows != 1:
                raise NovaDatabaseError('the update of instance %s changed %d rows, expected exactly 1; rolled back, '
                                        'nothing changed' % (instance_uuid, changed_rows))
            self.connection.commit()
            return current, dict(wanted), True
        except NovaDatabaseError:
            self.connection.rollback()
            raise
        except self.driver.err.MySQLError as error:
            self.connection.rollback()
            raise NovaDatabaseError('nova\'s database failed while moving instance %s, rolled back, nothing '
                                    'changed: %s' % (instance_uuid, error))
