# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Checks run on the source compute of a migration, along the paths Nova will use.

Used by migration_host_check. A live migration opens the target's libvirt from
the source's (``virsh -c URI`` makes the same connection); a cold migration
(resize) copies the disks with ssh as nova to the target's my_ip. Each check
runs under coreutils' ``timeout``, with a backstop here in case that does not
stop it, and a failed check is a result, not an error: every problem is
reported at once. Nothing is changed on either host.

Runs on the computes: standard library only, Python 3.8+.
"""

import collections
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess

from ansible_collections.novaops.migration.plugins.module_utils.nova_conf import libvirt_uri as build_libvirt_uri

MODES = ('live', 'cold')
DEFAULT_TIMEOUT = 20
# ssh's own limit for the TCP connection, within the check's timeout.
SSH_CONNECT_TIMEOUT = 10
# coreutils' timeout exits with this when it had to stop the command.
TIMEOUT_EXIT_CODE = 124
# How much longer than its timeout a check may take before it is killed here.
BACKSTOP_GRACE_SECONDS = 5
# Output quoted in a message is cut to this many characters.
QUOTE_LIMIT = 1000

# Host names, IPv4 and IPv6 addresses (with a zone, or in brackets); never an ssh option (no leading '-').
_ADDRESS = re.compile(r'^[A-Za-z0-9_\[][A-Za-z0-9_.:%\[\]-]*$')
_URI = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*://\S*$')
# useradd's NAME_REGEX, with upper case (some directories have it).
_USER = re.compile(r'^[A-Za-z_][A-Za-z0-9_.-]*\$?$')

CommandResult = collections.namedtuple('CommandResult', 'rc stdout stderr timed_out')
Check = collections.namedtuple('Check', 'name ok detail problem')


class HostCheckError(Exception):
    """Options the checks cannot run with; worded for the operator."""


def effective_user():
    """(effective uid, its user name or None) of this process."""
    euid = os.geteuid()
    try:
        return euid, pwd.getpwuid(euid).pw_name
    except KeyError:
        return euid, None


def user_exists(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def one_line(text, limit=QUOTE_LIMIT):
    """Output squeezed to one line, cut at ``limit`` characters."""
    line = ' '.join((text or '').split())
    if len(line) > limit:
        line = line[:limit - 3].rstrip() + '...'
    return line


def _seconds(count):
    return '%s second%s' % (count, '' if count == 1 else 's')


def _kill_group(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        # Already gone.
        pass


def run_command(argv, timeout):
    """Run ``argv`` with no input; a CommandResult. ``timed_out`` when ``timeout`` stopped it or the backstop did.

    The command runs in its own session, so that the backstop can kill it with everything it started (ssh under
    runuser under timeout).
    """
    environment = dict(os.environ, LC_ALL='C')
    try:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=environment, start_new_session=True)
    except OSError as error:
        return CommandResult(rc=127, stdout='', stderr='cannot run %s: %s' % (argv[0], error.strerror or error),
                             timed_out=False)
    try:
        stdout, stderr = process.communicate(timeout=timeout + BACKSTOP_GRACE_SECONDS)
        timed_out = os.path.basename(argv[0]) == 'timeout' and process.returncode == TIMEOUT_EXIT_CODE
    except subprocess.TimeoutExpired:
        _kill_group(process)
        try:
            stdout, stderr = process.communicate(timeout=BACKSTOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            # Something left the session and holds the pipes open: give up on its output.
            process.kill()
            stdout, stderr = b'', b''
        timed_out = True
    return CommandResult(rc=process.returncode, stdout=stdout.decode('utf-8', 'replace'),
                         stderr=stderr.decode('utf-8', 'replace'), timed_out=timed_out)


def virsh_argv(libvirt_uri, timeout):
    return ['timeout', str(timeout), 'virsh', '-c', libvirt_uri, 'hostname']


def ssh_argv(address, ssh_user, timeout, euid, current_user):
    """ssh to ``address`` as ``ssh_user``, the way Nova's cold migration does (BatchMode, the user's own keys).

    StrictHostKeyChecking=yes is given on the command line because ssh keeps the first value it reads for an
    option: a ``StrictHostKeyChecking no`` in the user's ~/.ssh/config cannot make the check pass where the
    real known_hosts would not.
    """
    ssh = ['ssh', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=%d' % min(SSH_CONNECT_TIMEOUT, timeout),
           '-o', 'StrictHostKeyChecking=yes', address, 'true']
    if current_user == ssh_user:
        as_user = []
    elif euid == 0:
        as_user = ['runuser', '-u', ssh_user, '--']
    else:
        as_user = ['sudo', '-n', '-u', ssh_user]
    return ['timeout', str(timeout)] + as_user + ssh


def target_addresses(target_host, target_conf=None):
    """(libvirt URI, ssh address) of the target: from nova_conf_info's result, else from Nova's name of it."""
    if not isinstance(target_host, str) or not _ADDRESS.match(target_host) or target_host.startswith('['):
        raise HostCheckError("target_host is %r: expected the target's name as Nova knows it (a host name)"
                             % (target_host,))
    if not target_conf:
        return build_libvirt_uri('tcp', target_host), target_host
    if target_conf.get('failed'):
        raise HostCheckError("target_conf is the result of a failed novaops.migration.nova_conf_info: %s"
                             % target_conf.get('msg', 'no message'))
    if target_conf.get('skipped'):
        raise HostCheckError('target_conf is the result of a skipped task: run novaops.migration.nova_conf_info '
                             'on the target, or leave target_conf unset')
    for key in ('libvirt_uri', 'ssh_address'):
        if not target_conf.get(key):
            raise HostCheckError('target_conf has no %s: pass the registered result of novaops.migration.'
                                 'nova_conf_info run on the target, or leave target_conf unset' % key)
    uri, address = target_conf['libvirt_uri'], target_conf['ssh_address']
    if not isinstance(uri, str) or not _URI.match(uri):
        raise HostCheckError("target_conf's libvirt_uri is %r: expected a libvirt URI such as "
                             "qemu+tcp://compute2/system" % (uri,))
    if not isinstance(address, str) or not _ADDRESS.match(address):
        raise HostCheckError("target_conf's ssh_address is %r: expected a host name or an IP address" % (address,))
    return uri, address


def _validate(mode, timeout, ssh_user, required_tools):
    if mode not in MODES:
        raise HostCheckError('mode is %r: expected one of %s' % (mode, ', '.join(MODES)))
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0:
        raise HostCheckError('timeout is %r: expected a number of seconds greater than 0' % (timeout,))
    if not isinstance(ssh_user, str) or not _USER.match(ssh_user):
        raise HostCheckError('ssh_user is %r: expected a user name (nova-compute runs as nova)' % (ssh_user,))
    for tool in required_tools:
        if not isinstance(tool, str) or not tool.strip():
            raise HostCheckError('required_tools holds %r: expected names of programs' % (tool,))


def _failure(result, timeout):
    """What went wrong, for a sentence that goes on with '. '."""
    if result.timed_out:
        return 'timed out after %s' % _seconds(timeout)
    output = one_line(result.stderr).rstrip('.') or one_line(result.stdout).rstrip('.')
    return output or 'rc %s and no output' % result.rc


def check_libvirt(source, target, uri, timeout, runner=run_command):
    name = 'libvirt on %s reachable from %s' % (target, source)
    result = runner(virsh_argv(uri, timeout), timeout)
    if result.rc == 0 and not result.timed_out:
        answer = one_line(result.stdout) or 'nothing'
        return Check(name, True, 'virsh -c %s on %s answered %s' % (uri, source, answer), None)
    listener = 'libvirtd-tls.socket' if uri.startswith('qemu+tls:') else 'libvirtd-tcp.socket'
    detail = 'virsh -c %s failed: %s. Is libvirt listening on %s (%s, the novaops_libvirt role)?' % (
        uri, _failure(result, timeout), target, listener)
    return Check(name, False, detail, 'libvirt on %s is not reachable from %s: %s' % (target, source, detail))


def check_ssh(source, target, address, ssh_user, timeout, runner=run_command):
    name = '%s ssh from %s to %s' % (ssh_user, source, target)
    if not user_exists(ssh_user):
        missing = 'there is no user %s on %s. Set ssh_user to the user nova-compute runs as there.' % (
            ssh_user, source)
        return Check(name, False, missing[0].upper() + missing[1:],
                     '%s on %s cannot ssh to %s: %s' % (ssh_user, source, address, missing))
    euid, current_user = effective_user()
    result = runner(ssh_argv(address, ssh_user, timeout, euid, current_user), timeout)
    what = 'ssh %s true as %s on %s' % (address, ssh_user, source)
    if result.rc == 0 and not result.timed_out:
        return Check(name, True, what + ' works', None)
    trust = 'Set up the trust with the novaops_ssh_trust role.'
    if result.timed_out:
        advice = 'Check that sshd on %s is reachable from %s at %s (routing, firewall), then the trust (the ' \
                 'novaops_ssh_trust role).' % (target, source, address)
        waited = _seconds(timeout)
        return Check(name, False, '%s timed out after %s. %s' % (what, waited, advice),
                     '%s on %s cannot ssh to %s: timed out after %s. %s' % (
                         ssh_user, source, address, waited, advice))
    failure = _failure(result, timeout)
    return Check(name, False, '%s failed (rc %s): %s. %s' % (what, result.rc, failure, trust),
                 '%s on %s cannot ssh to %s (rc %s): %s. %s' % (ssh_user, source, address, result.rc, failure,
                                                                trust))


def check_tools(tools, source):
    search_path = os.environ.get('PATH', '')
    checks = []
    for tool in dict.fromkeys(tools):
        name = '%s installed on %s' % (tool, source)
        found = shutil.which(tool)
        if found:
            checks.append(Check(name, True, found, None))
        else:
            checks.append(Check(name, False, '%s is not on the PATH of %s (%s)' % (tool, source, search_path),
                                '%s is not installed on %s (not on its PATH %s): install it there.'
                                % (tool, source, search_path)))
    return checks


def run_checks(mode, target_host, target_conf=None, ssh_user='nova', timeout=DEFAULT_TIMEOUT, required_tools=(),
               source_host=None, runner=run_command):
    """Every check of a ``mode`` migration from this host to ``target_host``; never raises for a failed check.

    Returns ``checks`` ({name, ok, detail} each), ``problems`` (a sentence per failed check), and the
    ``libvirt_uri`` and ``ssh_address`` used.
    """
    required_tools = list(required_tools or [])
    _validate(mode, timeout, ssh_user, required_tools)
    uri, address = target_addresses(target_host, target_conf)
    source = source_host or socket.gethostname()
    if mode == 'live':
        checks = [check_libvirt(source, target_host, uri, timeout, runner)]
    else:
        checks = [check_ssh(source, target_host, address, ssh_user, timeout, runner)]
    checks.extend(check_tools(required_tools, source))
    return dict(checks=[dict(name=check.name, ok=check.ok, detail=check.detail) for check in checks],
                problems=[check.problem for check in checks if not check.ok],
                libvirt_uri=uri, ssh_address=address)
