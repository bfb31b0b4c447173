# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a live or cold migration needs to know from a compute's nova.conf.

Used by nova_conf_info, on the compute itself. The files are read the way
oslo.config reads ``--config-file PATH --config-dir DIR``: the main file, then
the ``*.conf`` files of the directory in sorted order, a later value winning
over an earlier one, as does a later duplicate key in the same file.

nova.conf holds the passwords of the database, the message queue and the
service users; this module hands out only the options it names in
MIGRATION_OPTIONS, and its error messages never quote a line of a file.

Runs on the computes: standard library only, Python 3.8+.
"""

import configparser
import ipaddress
import os
import re
import socket

DEFAULT_PATH = '/etc/nova/nova.conf'
DEFAULT_CONF_DIR = '/etc/nova/nova.conf.d'
# Nova's state_path as the distributions package it; instances_path is $state_path/instances.
DEFAULT_STATE_PATH = '/var/lib/nova'

# oslo.config's BoolOpt spellings (oslo_config.types.Boolean).
TRUE_VALUES = ('true', '1', 'on', 'yes')
FALSE_VALUES = ('false', '0', 'off', 'no')

# configparser hands the values of its default section to every other section; oslo.config does not
# (an option of [DEFAULT] is not an option of [libvirt]). A name no nova.conf uses keeps [DEFAULT]
# an ordinary section.
_NO_DEFAULT_SECTION = '\x00novaops: no default section'


class NovaConfError(Exception):
    """A nova.conf that cannot be read or holds a value Nova would refuse; never quotes the file."""


def conf_files(path, conf_dir=DEFAULT_CONF_DIR):
    """The files nova-compute reads, in order: ``path``, then ``conf_dir/*.conf`` sorted (when the directory exists)."""
    if not os.path.exists(path):
        raise NovaConfError('%s does not exist: is nova-compute installed on this host? Set path to its nova.conf'
                            % path)
    files = [path]
    if conf_dir and os.path.isdir(conf_dir):
        for name in sorted(os.listdir(conf_dir)):
            candidate = os.path.join(conf_dir, name)
            if name.endswith('.conf') and os.path.isfile(candidate):
                files.append(candidate)
    return files


def _parse(paths):
    parser = configparser.ConfigParser(interpolation=None, strict=False, default_section=_NO_DEFAULT_SECTION)
    for path in paths:
        try:
            with open(path, encoding='utf-8') as stream:
                parser.read_file(stream, source=path)
        except (IOError, OSError) as error:
            hint = '; run the task with become' if isinstance(error, PermissionError) else ''
            raise NovaConfError('cannot read %s: %s%s' % (path, error.strerror or error, hint))
        except UnicodeDecodeError:
            raise NovaConfError('cannot parse %s: it is not text (UTF-8)' % path)
        except configparser.MissingSectionHeaderError as error:
            raise NovaConfError('cannot parse %s: line %d comes before any [section] header' % (path, error.lineno))
        except configparser.ParsingError as error:
            # error.errors holds (line number, line): the line may hold a password, so only the numbers are told.
            lines = ', '.join(str(number) for number, _line in error.errors)
            raise NovaConfError('cannot parse %s: line %s is not "option = value"' % (path, lines))
        except configparser.Error as error:
            raise NovaConfError('cannot parse %s: %s' % (path, type(error).__name__))
    return parser


def _text(parser, section, option):
    """The option's value, None when it is unset or empty."""
    value = parser.get(section, option, fallback=None)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _bool(parser, section, option, default=False):
    value = _text(parser, section, option)
    if value is None:
        return default
    if value.lower() in TRUE_VALUES:
        return True
    if value.lower() in FALSE_VALUES:
        return False
    raise NovaConfError("[%s] %s is '%s', expected one of %s (Nova would refuse to start)"
                        % (section, option, value, ', '.join(TRUE_VALUES + FALSE_VALUES)))


def _int(parser, section, option):
    value = _text(parser, section, option)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise NovaConfError("[%s] %s is '%s', expected a whole number (Nova would refuse to start)"
                            % (section, option, value))


def _list(parser, section, *options):
    """An oslo.config ListOpt: comma separated, optionally in [brackets]; the first option set wins."""
    for option in options:
        value = parser.get(section, option, fallback=None)
        if value is None:
            continue
        value = value.strip()
        if value.startswith('[') and value.endswith(']'):
            value = value[1:-1]
        return [item.strip() for item in value.split(',') if item.strip()]
    return []


def _instances_path(parser):
    state_path = _text(parser, 'DEFAULT', 'state_path') or DEFAULT_STATE_PATH
    instances_path = _text(parser, 'DEFAULT', 'instances_path') or '$state_path/instances'
    # oslo.config substitutes $option and ${option}; state_path is the only one instances_path uses.
    return re.sub(r'\$(state_path\b|\{state_path\})', lambda match: state_path, instances_path)


def uri_host(address):
    """The address as the host part of a URI: an IPv6 literal in brackets."""
    bare = address.strip('[]')
    try:
        if ipaddress.ip_address(bare).version == 6:
            return '[%s]' % bare
    except ValueError:
        pass
    return address


def libvirt_uri(scheme, address, live_migration_uri=None):
    """The URI Nova's libvirt driver (kvm, qemu) opens for a live migration to ``address``.

    The deprecated ``[libvirt] live_migration_uri`` replaces the scheme when it is set, its ``%s`` standing for
    the address, as in the driver's ``_live_migration_uri()``.
    """
    host = uri_host(address)
    if live_migration_uri:
        return live_migration_uri.replace('%s', host, 1)
    return 'qemu+%s://%s/system' % (scheme or 'tcp', host)


def read_migration_settings(paths, host_name=None):
    """The migration options of the files ``paths`` (read in order), and the addresses Nova derives from them.

    ``host_name`` is the name Nova's API gives the compute service; it wins over ``[DEFAULT] host``.
    """
    parser = _parse(paths)
    settings = dict(
        my_ip=_text(parser, 'DEFAULT', 'my_ip'),
        host=_text(parser, 'DEFAULT', 'host'),
        instances_path=_instances_path(parser),
        max_concurrent_live_migrations=_int(parser, 'DEFAULT', 'max_concurrent_live_migrations'),
        live_migration_scheme=_text(parser, 'libvirt', 'live_migration_scheme') or 'tcp',
        live_migration_inbound_addr=_text(parser, 'libvirt', 'live_migration_inbound_addr'),
        live_migration_uri=_text(parser, 'libvirt', 'live_migration_uri'),
        live_migration_with_native_tls=_bool(parser, 'libvirt', 'live_migration_with_native_tls'),
        virt_type=_text(parser, 'libvirt', 'virt_type') or 'kvm',
        cpu_mode=_text(parser, 'libvirt', 'cpu_mode'),
        # cpu_model is the name cpu_models had before Stein; Nova still reads it.
        cpu_models=_list(parser, 'libvirt', 'cpu_models', 'cpu_model'),
    )
    # The compute's name as Nova knows it: the service host, else [DEFAULT] host, whose default is the hostname.
    name = host_name or settings['host'] or socket.gethostname()
    # The destination publishes live_migration_inbound_addr and the source connects there, else to the name.
    settings['libvirt_uri'] = libvirt_uri(settings['live_migration_scheme'],
                                          settings['live_migration_inbound_addr'] or name,
                                          settings['live_migration_uri'])
    # A resize/cold migration copies the disks over ssh to the destination's my_ip.
    settings['ssh_address'] = settings['my_ip'] or name
    return settings


def nova_conf_info(path=DEFAULT_PATH, conf_dir=DEFAULT_CONF_DIR, host_name=None):
    """read_migration_settings() of nova-compute's files, with ``files``: those read, in order."""
    files = conf_files(path, conf_dir)
    settings = read_migration_settings(files, host_name)
    settings['files'] = files
    return settings
