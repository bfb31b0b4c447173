# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The copy of a manual cold migration: nova's instance directory, source compute to target, as nova, over ssh.

Runs on the source compute as root and runs every copy command as the copy
user (nova), whose ssh trust reaches the target, so the data never passes the
Ansible controller. It only reads on the source: every write is on the target,
into the partial directory, which instance_files state=in_place renames into
place once the play has seen the copy verified.
"""

import ipaddress
import os
import pwd
import re
import shlex
import signal
import subprocess
import tempfile
import time

from ansible_collections.novaops.migration.plugins.module_utils.instance_files import COPY_EXCLUDES

# Keepalives and an I/O timeout make a cut network fail the copy within a minute instead of hanging it.
DEFAULT_SSH_OPTIONS = (
    ('BatchMode', 'yes'),
    ('ServerAliveInterval', '5'),
    ('ServerAliveCountMax', '3'),
    ('StrictHostKeyChecking', 'yes'),
    ('ConnectTimeout', '10'),
)
SSH_OPTION_KEY = re.compile(r'[A-Za-z][A-Za-z0-9]*')
# rsync splits --rsh on whitespace and treats quotes specially: values must be single plain words.
SSH_OPTION_VALUE = re.compile(r'[^\s\'"\\]+')

# What a caller may add to the copy: bandwidth and compression, nothing that changes what is copied, where, or
# what happens to the source.
RSYNC_ALLOWED_OPTIONS = (
    re.compile(r'--bwlimit=[0-9]+[KMGkmg]?'),
    re.compile(r'--compress'),
    re.compile(r'-z'),
    re.compile(r'--compress-level=[0-9]'),
)
RSYNC_ACCEPTED = '--bwlimit=N (N optionally followed by K, M or G), --compress, -z, --compress-level=0..9'

HOST_LABEL = r'[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
HOSTNAME_PATTERN = re.compile(r'(?=.{1,253}$)%s(?:\.%s)*' % (HOST_LABEL, HOST_LABEL))
USER_PATTERN = re.compile(r'[A-Za-z_][A-Za-z0-9_.-]{0,31}')
# Paths that go into a remote command or an rsync HOST:PATH argument: no spaces, quotes, colons or shell syntax.
SAFE_PATH_PATTERN = re.compile(r'/[A-Za-z0-9._/+@=-]*')

# A stale copy that ignores SIGTERM for this long gets SIGKILL.
STALE_COPY_GRACE_SECONDS = 5.0
# Questions to the target (test -e): ssh's own timeouts apply; this only stops a hung remote filesystem.
PROBE_TIMEOUT = 120
STDERR_LIMIT = 2000


class CopyError(Exception):
    """A step of the copy failed; step names it, stderr is what the command said."""

    def __init__(self, message, step, stderr=''):
        super(CopyError, self).__init__(message)
        self.step = step
        self.stderr = trimmed(stderr)


def trimmed(text, limit=STDERR_LIMIT):
    text = (text or '').strip()
    return text if len(text) <= limit else '...' + text[-limit:]


# -- validation ----------------------------------------------------------------------------

def validate_target_address(address):
    valid = False
    if isinstance(address, str) and address and not address.startswith('-'):
        try:
            ipaddress.ip_address(address)
            valid = True
        except ValueError:
            valid = bool(HOSTNAME_PATTERN.fullmatch(address))
    if not valid:
        raise CopyError("target_address must be the target compute's host name or IP address as nova's ssh trust "
                        "knows it (no user, no port, no spaces, not starting with '-'); got %r." % (address,),
                        'validate')
    return address


def validate_rsync_options(options):
    for option in options or []:
        if not isinstance(option, str) or not any(pattern.fullmatch(option) for pattern in RSYNC_ALLOWED_OPTIONS):
            raise CopyError('rsync_options: %r is not accepted; only these are (one per list item): %s.'
                            % (option, RSYNC_ACCEPTED), 'validate')
    return list(options or [])


def ssh_option_value(value):
    # YAML turns an unquoted yes/no into a boolean; ssh wants the word.
    if value is True:
        return 'yes'
    if value is False:
        return 'no'
    return str(value)


def ssh_option_args(options):
    """['-o', 'Key=value', ...]: the defaults with options merged over them; StrictHostKeyChecking stays yes."""
    merged = dict(DEFAULT_SSH_OPTIONS)
    order = [key for key, value in DEFAULT_SSH_OPTIONS]
    for key, value in (options or {}).items():
        value = ssh_option_value(value)
        if not SSH_OPTION_KEY.fullmatch(str(key)) or not SSH_OPTION_VALUE.fullmatch(value):
            raise CopyError('ssh_options: %s=%s is not accepted; keys are ssh_config keywords and values single '
                            'words without spaces or quotes.' % (key, value), 'validate')
        if key.lower() == 'stricthostkeychecking' and value.lower() != 'yes':
            raise CopyError('ssh_options: StrictHostKeyChecking=%s is refused; the copy always checks the '
                            "target's host key (the novaops_ssh_trust role puts it in nova's known_hosts)." % value,
                            'validate')
        existing = [name for name in order if name.lower() == key.lower()]
        if existing:
            key = existing[0]
        else:
            order.append(key)
        merged[key] = value
    merged['StrictHostKeyChecking'] = 'yes'
    args = []
    for key in order:
        args.extend(['-o', '%s=%s' % (key, merged[key])])
    return args


def validate_copy_user(user):
    if not isinstance(user, str) or not USER_PATTERN.fullmatch(user):
        raise CopyError('copy_user must be a user name; got %r.' % (user,), 'validate')
    try:
        return pwd.getpwnam(user)
    except KeyError:
        raise CopyError('copy_user %s does not exist on this host; the copy runs as the user whose ssh trust '
                        'reaches the target (nova on a compute).' % user, 'validate')


def validate_safe_path(path, what):
    if not SAFE_PATH_PATTERN.fullmatch(path or '') or '/../' in path + '/':
        raise CopyError('%s %r cannot be used in a remote command: it must be an absolute path of letters, digits '
                        'and . _ / + @ = - only.' % (what, path), 'validate')
    return path


def remote_path(address, path):
    """HOST:PATH as rsync reads it (an IPv6 address in brackets)."""
    if ':' in address:
        return '[%s]:%s' % (address, path)
    return '%s:%s' % (address, path)


def user_command(user, argv, tools, euid=None, current_user=None):
    """argv run as user: as is when we are that user, with runuser as root, else with sudo -n."""
    euid = os.geteuid() if euid is None else euid
    if current_user is None:
        current_user = pwd.getpwuid(euid).pw_name
    if current_user == user:
        return list(argv)
    if euid == 0:
        if not tools.get('runuser'):
            raise CopyError('runuser is not installed (util-linux); it runs the copy as %s.' % user, 'find')
        return [tools['runuser'], '-u', user, '--'] + list(argv)
    if not tools.get('sudo'):
        raise CopyError('neither root nor sudo is available to run the copy as %s; run the module as root '
                        '(become: true).' % user, 'find')
    return [tools['sudo'], '-n', '-u', user, '--'] + list(argv)


# -- copies an interrupted run left running ---------------------------------------------------

def refers_to(argument, directory):
    return argument == directory or argument.startswith(directory + '/')


def is_copy_of(argv, directories):
    """Whether a command line is an rsync or tar of one of the directories (locally, or as HOST:PATH)."""
    if not argv or os.path.basename(argv[0]) not in ('rsync', 'tar'):
        return False
    for argument in argv[1:]:
        candidates = [argument]
        if ':' in argument:
            candidates.append(argument.rsplit(':', 1)[1])
        for prefix in ('--directory=', '-C'):
            if argument.startswith(prefix):
                candidates.append(argument[len(prefix):])
        if any(refers_to(candidate, directory) for candidate in candidates for directory in directories):
            return True
    return False


def read_process(pid, proc='/proc'):
    """(uid, argv, start time) of a process, or None when it is gone or a zombie."""
    base = os.path.join(proc, str(pid))
    try:
        uid = os.stat(base).st_uid
        with open(os.path.join(base, 'cmdline'), 'rb') as stream:
            cmdline = stream.read()
        with open(os.path.join(base, 'stat'), 'rb') as stream:
            stat_fields = stream.read().rsplit(b')', 1)[1].split()
    except (IOError, OSError, IndexError):
        return None
    if not stat_fields or stat_fields[0] in (b'Z', b'X'):
        return None
    argv = [part.decode('utf-8', 'surrogateescape') for part in cmdline.split(b'\0')]
    while argv and argv[-1] == '':
        argv.pop()
    start_time = stat_fields[19] if len(stat_fields) > 19 else b''
    return uid, argv, start_time


def find_stale_copies(uid, directories, proc='/proc'):
    """{pid: start time} of the processes of uid that copy one of the directories."""
    found = {}
    own = os.getpid()
    try:
        names = os.listdir(proc)
    except OSError as error:
        raise CopyError('cannot list the processes in %s: %s' % (proc, error), 'stale_copies')
    for name in names:
        if not name.isdigit() or int(name) == own:
            continue
        process = read_process(int(name), proc)
        if process and process[0] == uid and is_copy_of(process[1], directories):
            found[int(name)] = process[2]
    return found


def still_running(pid, start_time, proc='/proc'):
    process = read_process(pid, proc)
    # The same pid with another start time is another process: ours is gone.
    return process is not None and process[2] == start_time


def stop_processes(processes, grace, proc='/proc'):
    """SIGTERM, then SIGKILL after grace seconds, to {pid: start time}; the pids stopped, sorted."""
    for signal_number, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        running = [pid for pid, start in processes.items() if still_running(pid, start, proc)]
        if not running:
            break
        for pid in running:
            try:
                os.kill(pid, signal_number)
            except ProcessLookupError:
                continue
            except PermissionError:
                raise CopyError('cannot stop process %d, a copy an earlier run left running: permission denied; run '
                                'the module as root (become: true).' % pid, 'stale_copies')
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(still_running(pid, processes[pid], proc) for pid in running):
            time.sleep(0.1)
    survivors = [pid for pid, start in processes.items() if still_running(pid, start, proc)]
    if survivors:
        raise CopyError('processes %s (copies an earlier run left running) survived SIGKILL.'
                        % ', '.join(str(pid) for pid in survivors), 'stale_copies')
    return sorted(processes)


# -- the copy itself ------------------------------------------------------------------------------

def differing_paths(itemized, limit=10):
    """The paths rsync --itemize-changes lists ('>fcst...... disk', '*deleting   file'), at most limit."""
    paths = []
    for line in itemized.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2:
            paths.append(parts[1])
        if len(paths) >= limit:
            break
    return paths


class Copier(object):
    """The commands of one copy, source instance directory to the target's partial directory, as the copy user."""

    def __init__(self, instance_dir, partial_dir, target_address, copy_user, ssh_args, io_timeout, rsync_options,
                 tools):
        self.instance_dir = instance_dir
        self.partial_dir = partial_dir
        self.target_address = target_address
        self.copy_user = copy_user
        self.ssh_args = list(ssh_args)
        self.io_timeout = io_timeout
        self.rsync_options = list(rsync_options)
        self.tools = tools

    def as_user(self, argv):
        return user_command(self.copy_user, argv, self.tools)

    def ssh_command(self, remote_command):
        return self.as_user([self.tools['ssh']] + self.ssh_args + [self.target_address, remote_command])

    def rsync_command(self, options, source, destination):
        rsh = ' '.join([self.tools['ssh']] + self.ssh_args)
        return self.as_user([self.tools['rsync']] + list(options) + ['--rsh=%s' % rsh,
                                                                     '--timeout=%d' % self.io_timeout]
                            + [source, remote_path(self.target_address, destination)])

    @staticmethod
    def execute(step, argv, timeout=None):
        """(rc, stdout, stderr); raises CopyError when the command cannot be run or runs out of time."""
        try:
            process = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd='/', timeout=timeout, universal_newlines=True,
                                     errors='replace', check=False)
        except subprocess.TimeoutExpired as error:
            raise CopyError('%s did not finish within %d s' % (os.path.basename(argv[0]), timeout), step,
                            error.stderr if isinstance(error.stderr, str) else '')
        except OSError as error:
            raise CopyError('cannot run %s: %s' % (argv[0], error), step)
        return process.returncode, process.stdout, process.stderr

    def target_has(self, path, step='probe'):
        """Whether path exists on the target (test -e over ssh)."""
        rc, out, err = self.execute(step, self.ssh_command('test -e %s' % shlex.quote(path)), PROBE_TIMEOUT)
        if rc in (0, 1):
            return rc == 0
        raise CopyError('cannot ask %s whether %s exists (ssh rc %d)' % (self.target_address, path, rc), step, err)

    def copy_backing_file(self, path):
        argv = self.rsync_command(['--archive', '--sparse', '--ignore-existing', '--mkpath'] + self.rsync_options,
                                  path, path)
        rc, out, err = self.execute('backing_file', argv)
        if rc != 0:
            raise CopyError('rsync of the backing file %s to %s failed (rc %d)' % (path, self.target_address, rc),
                            'backing_file', err)

    def copy_with_tar(self):
        """Stream the directory with tar (holes skipped, not read as zeros) into a new partial directory."""
        excludes = ['--exclude=%s' % pattern for pattern in COPY_EXCLUDES]
        producer_argv = self.as_user([self.tools['tar'], '-C', self.instance_dir] + excludes +
                                     ['--sparse', '-cf', '-', '.'])
        partial = shlex.quote(self.partial_dir)
        consumer_argv = self.ssh_command('mkdir -p %s && tar -C %s --sparse -xpf -' % (partial, partial))
        with tempfile.TemporaryFile() as producer_errors, tempfile.TemporaryFile() as consumer_errors:
            try:
                producer = subprocess.Popen(producer_argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                            stderr=producer_errors, cwd='/')
            except OSError as error:
                raise CopyError('cannot run %s: %s' % (producer_argv[0], error), 'copy')
            try:
                consumer = subprocess.Popen(consumer_argv, stdin=producer.stdout, stdout=subprocess.DEVNULL,
                                            stderr=consumer_errors, cwd='/')
            except OSError as error:
                producer.kill()
                producer.wait()
                raise CopyError('cannot run %s: %s' % (consumer_argv[0], error), 'copy')
            finally:
                # Only the consumer holds the pipe now, so the producer sees it close when the consumer dies.
                producer.stdout.close()
            consumer_rc = consumer.wait()
            producer_rc = producer.wait()
            if consumer_rc != 0 or producer_rc != 0:
                consumer_errors.seek(0)
                producer_errors.seek(0)
                # When the receiving side fails first, tar on this side only sees a broken pipe.
                if consumer_rc != 0:
                    side, rc, errors = 'ssh %s (tar -x into %s)' % (self.target_address, self.partial_dir), \
                        consumer_rc, consumer_errors.read()
                else:
                    side, rc, errors = 'tar -c of %s' % self.instance_dir, producer_rc, producer_errors.read()
                raise CopyError('%s failed (rc %d)' % (side, rc), 'copy', errors.decode('utf-8', 'replace'))

    def copy_with_rsync(self):
        """Bring an existing partial directory up to date (only what differs is sent) or copy with rsync_options."""
        excludes = ['--exclude=%s' % pattern for pattern in COPY_EXCLUDES]
        argv = self.rsync_command(['--archive', '--sparse', '--delete'] + excludes + self.rsync_options,
                                  self.instance_dir + '/', self.partial_dir + '/')
        rc, out, err = self.execute('copy', argv)
        if rc != 0:
            raise CopyError('rsync of %s to %s:%s failed (rc %d)' % (self.instance_dir, self.target_address,
                                                                     self.partial_dir, rc), 'copy', err)

    def differences(self):
        """The paths that differ between source and copy by checksum (a dry run that must find nothing to do)."""
        excludes = ['--exclude=%s' % pattern for pattern in COPY_EXCLUDES]
        argv = self.rsync_command(['--archive', '--checksum', '--delete', '--dry-run', '--itemize-changes'] +
                                  excludes, self.instance_dir + '/', self.partial_dir + '/')
        rc, out, err = self.execute('verify', argv)
        if rc != 0:
            raise CopyError('the checksum comparison of %s with %s:%s failed (rc %d)'
                            % (self.instance_dir, self.target_address, self.partial_dir, rc), 'verify', err)
        return out
