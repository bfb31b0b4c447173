# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The playbooks' variables, read once and strictly.

``ansible-playbook novaops.migration.migrate -e migration_timeout=30m`` used
to become a timeout of 0 through Jinja's ``int`` filter, and ``-e
keep_source=y`` silently became false. Every variable a playbook accepts is
declared here with its type and default; ``read_settings`` checks them all and
raises one SettingsError listing every problem, before the play touches
anything. Each setting is read from its prefixed name
(``novaops_migrate_migration_timeout``), which cannot collide with inventory
variables, or else from the short name documented for the command line.
"""

import math
import os
import re
import socket

# Extra time a migration module may need after its timeout to abort or force a live move.
MIGRATION_GRACE = 300
DEFAULT_MIGRATION_TIMEOUT = 1800

# The checkpoints of the manual cold migration a run may be stopped before, as an interruption would.
MANUAL_CHECKPOINTS = ('stop', 'copy', 'db', 'records', 'source_cleanup', 'start', 'verify', 'remove_source')

# rsync options an operator may add to the manual copy. Anything else could change what is copied or
# deleted (--remove-source-files), or what runs on the target (--rsync-path, -e).
RSYNC_ALLOWED = (
    (re.compile(r'^--bwlimit=\d+(\.\d+)?[KMGkmg]?$'), '--bwlimit=RATE'),
    (re.compile(r'^(--compress|-z)$'), '--compress (-z)'),
    (re.compile(r'^--compress-level=\d$'), '--compress-level=0..9'),
)

_TRUE = ('true', 'yes', '1')
_FALSE = ('false', 'no', '0')


class SettingsError(Exception):
    """A variable has a value the playbook cannot use; the message says which, and what it accepts."""


def positive_number(name, value, integer=False):
    """``value`` as a number greater than zero (an int when ``integer``), else SettingsError."""
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        raise SettingsError('%s must be a number of seconds greater than 0, got %r' % (name, value))
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        raise SettingsError("%s must be a %s greater than 0 (seconds, without a unit), got '%s'"
                            % (name, 'whole number' if integer else 'number', text))
    if math.isnan(number) or math.isinf(number) or number <= 0:
        raise SettingsError("%s must be greater than 0, got '%s'" % (name, text))
    if integer:
        if number != int(number):
            raise SettingsError("%s must be a whole number greater than 0, got '%s'" % (name, text))
        return int(number)
    return int(number) if number == int(number) and '.' not in text else number


def strict_bool(name, value):
    """True or false spelled unambiguously; 'y', 'on ' or 2 are refused where a wrong guess deletes data."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        text = str(value).strip().lower() if isinstance(value, str) else str(value)
        if isinstance(value, str) and text != value.lower():
            text = None  # surrounding spaces: not a plain spelling
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise SettingsError("%s must be true or false (also yes/no, 1/0), got %r" % (name, value))


def fraction(name, value):
    """A number strictly between 0 and 1, e.g. the share of computes that may be down at once."""
    number = positive_number(name, value)
    if number >= 1:
        raise SettingsError("%s must be a fraction between 0 and 1 (for example 0.34), got '%s'" % (name, value))
    return float(number)


def choice(name, value, choices):
    text = str(value).strip()
    if text not in choices:
        raise SettingsError("%s must be one of %s, got '%s'" % (name, ', '.join(choices), text))
    return text


def required_text(name, value):
    text = '' if value is None else str(value).strip()
    if not text:
        raise SettingsError('%s is required' % name)
    return text


def optional_text(name, value):
    return '' if value is None else str(value).strip()


def absolute_path(name, value):
    text = optional_text(name, value)
    if not text.startswith('/'):
        raise SettingsError("%s must be an absolute path, got '%s'" % (name, text))
    return text.rstrip('/') or '/'


def rsync_options(name, value):
    """The allowed rsync options, from a space-separated string or a list."""
    if value is None or value == '':
        return []
    items = value.split() if isinstance(value, str) else list(value)
    refused = []
    for item in items:
        if not any(pattern.match(str(item)) for pattern, _label in RSYNC_ALLOWED):
            refused.append(str(item))
    if refused:
        raise SettingsError('%s accepts only %s; refused: %s' % (
            name, ', '.join(label for _pattern, label in RSYNC_ALLOWED), ' '.join(refused)))
    return [str(item) for item in items]


def checkpoint(name, value):
    text = optional_text(name, value)
    if text and text not in MANUAL_CHECKPOINTS:
        raise SettingsError("%s must be one of %s, got '%s'" % (name, ', '.join(MANUAL_CHECKPOINTS), text))
    return text


# name -> (reader, default). A default of None means required.
_MIGRATE = (
    ('instance', required_text, None),
    ('target', required_text, None),
    ('mode', lambda name, value: choice(name, value, ('live', 'cold', 'auto')), 'auto'),
    ('cold_method', lambda name, value: choice(name, value, ('api', 'manual')), 'api'),
    ('migration_timeout', lambda name, value: positive_number(name, value, integer=True), DEFAULT_MIGRATION_TIMEOUT),
    ('on_timeout', lambda name, value: choice(name, value, ('abort', 'force_complete', 'fail')), 'abort'),
    ('confirm', strict_bool, True),
    ('progress_interval', positive_number, 3),
    ('skip_host_checks', strict_bool, False),
    ('nova_conf', absolute_path, '/etc/nova/nova.conf'),
    ('allow_stop', strict_bool, False),
    ('keep_source', strict_bool, False),
    ('instances_path', absolute_path, '/var/lib/nova/instances'),
    ('rsync_extra_options', rsync_options, ''),
    ('manual_stop_before', checkpoint, ''),
    ('takeover', strict_bool, False),
)

_DRAIN = (
    ('host', required_text, None),
    ('target', optional_text, ''),
    ('concurrency', lambda name, value: positive_number(name, value, integer=True), 2),
    ('reason', optional_text, 'drained by novaops.migration'),
    ('enable', strict_bool, False),
    ('move_timeout', lambda name, value: positive_number(name, value, integer=True), DEFAULT_MIGRATION_TIMEOUT),
    ('on_timeout', lambda name, value: choice(name, value, ('abort', 'force_complete', 'fail')), 'abort'),
    ('progress_interval', positive_number, 5),
    ('fallback', lambda name, value: choice(name, value, ('none', 'cold')), 'none'),
)

_EVACUATE = (
    ('host', required_text, None),
    ('target', optional_text, ''),
    ('concurrency', lambda name, value: positive_number(name, value, integer=True), 2),
    ('allow_rebuild', strict_bool, False),
    ('shared_storage', strict_bool, False),
    ('fence', optional_text, ''),
    ('probe_from', optional_text, ''),
    ('down_timeout', lambda name, value: positive_number(name, value, integer=True), 180),
    ('partition_threshold', fraction, 0.34),
    ('reason', optional_text, 'evacuated by novaops.migration: host failed'),
    ('recover', strict_bool, False),
    ('cleanup_timeout', lambda name, value: positive_number(name, value, integer=True), 600),
    ('move_timeout', lambda name, value: positive_number(name, value, integer=True), DEFAULT_MIGRATION_TIMEOUT),
    ('progress_interval', positive_number, 5),
)


def host_list(name, value):
    """A list of host names from a list or a comma-separated string, each once, in the order given."""
    if value is None or value == '':
        raise SettingsError('%s is required: the compute hosts, comma-separated (compute1,compute2)' % name)
    items = value.split(',') if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else None
    if items is None:
        raise SettingsError('%s must be a list of compute hosts or a comma-separated string, got %r' % (name, value))
    hosts = [str(item).strip() for item in items]
    if not all(hosts):
        raise SettingsError("%s has an empty host name: '%s'" % (name, value))
    repeated = sorted(set(host for host in hosts if hosts.count(host) > 1))
    if repeated:
        raise SettingsError('%s names %s more than once' % (name, ', '.join(repeated)))
    return hosts


def optional_path(name, value):
    text = optional_text(name, value)
    return absolute_path(name, text) if text else ''


_MAINTENANCE = (
    ('hosts', host_list, None),
    ('maintenance_tasks', optional_text, ''),
    ('state_file', optional_path, ''),
    ('concurrency', lambda name, value: positive_number(name, value, integer=True), 2),
    ('fallback', lambda name, value: choice(name, value, ('none', 'cold')), 'none'),
    ('reason', optional_text, 'maintenance by novaops.migration'),
    ('health_timeout', lambda name, value: positive_number(name, value, integer=True), 600),
    ('libvirt_port', lambda name, value: positive_number(name, value, integer=True), 16509),
    ('move_timeout', lambda name, value: positive_number(name, value, integer=True), DEFAULT_MIGRATION_TIMEOUT),
    ('on_timeout', lambda name, value: choice(name, value, ('abort', 'force_complete', 'fail')), 'abort'),
    ('progress_interval', positive_number, 5),
    ('move_back', strict_bool, False),
    ('wave_by', lambda name, value: choice(name, value, ('host', 'zone', 'aggregate')), 'host'),
)

PLAYBOOK_SETTINGS = dict(migrate=_MIGRATE, drain=_DRAIN, evacuate=_EVACUATE, maintenance=_MAINTENANCE)
# Settings stored under another name than the one given on the command line.
_RENAMED = dict(rsync_extra_options='rsync_options')


def setting_names(playbook):
    """The short names a playbook reads; each may also be given as novaops_<playbook>_<name>."""
    if playbook not in PLAYBOOK_SETTINGS:
        raise SettingsError("no settings are declared for the playbook '%s' (known: %s)"
                            % (playbook, ', '.join(sorted(PLAYBOOK_SETTINGS))))
    return [name for name, _reader, _default in PLAYBOOK_SETTINGS[playbook]]


def read_settings(playbook, given):
    """The playbook's settings from ``given`` (name -> raw value; absent or None = default), all checked."""
    setting_names(playbook)
    settings, problems = {}, []
    for name, reader, default in PLAYBOOK_SETTINGS[playbook]:
        raw = given.get(name)
        try:
            settings[_RENAMED.get(name, name)] = reader(name, default if raw is None else raw)
        except SettingsError as error:
            problems.append(str(error))
    problems.extend(_cross_checks(playbook, settings))
    if problems:
        raise SettingsError('%s: %d problem(s) with the variables, nothing was changed: %s'
                            % (playbook, len(problems), '; '.join(problems)))
    if playbook == 'migrate':
        if settings['cold_method'] == 'manual':
            # Asking for the manual method asks for a cold move.
            settings['mode'] = 'cold'
        settings['grace'] = MIGRATION_GRACE
    if playbook in ('drain', 'evacuate', 'maintenance'):
        settings['grace'] = MIGRATION_GRACE
    return settings


def _cross_checks(playbook, settings):
    # Only between values that were read; a value with a problem of its own is reported once.
    if playbook == 'migrate' and settings.get('cold_method') == 'manual' and settings.get('mode') == 'live':
        return ['mode=live cannot be combined with cold_method=manual (the manual method is a cold move)']
    if playbook in ('drain', 'evacuate') and settings.get('target') and settings.get('target') == settings.get('host'):
        return ["target must differ from host (both are '%s')" % settings['host']]
    return []


def run_id_of(pid, hostname=None, proc_root='/proc'):
    """'HOST:PID:START' naming one process for its lifetime (the start time tells a reused pid apart)."""
    hostname = hostname or socket.gethostname()
    try:
        with open(os.path.join(proc_root, str(pid), 'stat')) as stream:
            stat = stream.read()
        # The command name (field 2) is in parentheses and may contain both; count fields after the last ')'.
        fields = stat[stat.rindex(')') + 2:].split()
        start = fields[19]
    except (IOError, OSError, ValueError, IndexError):
        start = '0'
    return '%s:%s:%s' % (hostname, pid, start)
