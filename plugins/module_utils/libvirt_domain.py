# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A libvirt domain and its Open vSwitch taps on the compute the module runs on.

Used by the libvirt_domain module (the libvirt steps of the manual cold
migration). Everything here talks to the host through one ``run(argv)``
callable returning ``(rc, stdout, stderr)``, so it is tested against fake
binaries; nothing here calls fail_json or exit_json: problems are raised as
LibvirtDomainError, worded for the operator.

virsh is always given the URI (``-c qemu:///system``): without it a non-root
virsh silently talks to qemu:///session, which sees none of nova's guests, and
every domain would look undefined.
"""

import re
import time

DOMAIN_NAME_PATTERN = re.compile(r'^[A-Za-z0-9_.+-]{1,128}\Z')
PORT_ID_PATTERN = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z', re.IGNORECASE)

# What `virsh domstate` prints (in the C locale) -> the state this module reports.
VIRSH_STATES = {
    'running': 'running',
    'idle': 'blocked',
    'paused': 'paused',
    'in shutdown': 'in shutdown',
    'shut off': 'shut off',
    'crashed': 'crashed',
    'pmsuspended': 'pmsuspended',
}
UNDEFINED = 'undefined'
# A QEMU process exists: undefining would leave the guest running, unmanaged.
ACTIVE_STATES = ('running', 'blocked', 'paused', 'in shutdown', 'pmsuspended')
INACTIVE_STATES = ('shut off', 'crashed')
STATES = ('query', 'shutdown', 'undefined', 'destroyed_and_undefined')

# virsh's words for "libvirt could not be asked" (checked before the missing-domain ones: a connection that
# drops during a lookup also says "failed to get domain").
UNREACHABLE_MARKERS = (
    'failed to connect to the hypervisor',
    'failed to connect socket',
    'end of file while reading data',
    'cannot recv data',
    'cannot write data',
    'client socket is closed',
    'no connection driver available',
)
MISSING_MARKERS = ('failed to get domain', 'domain not found')
ACCESS_MARKERS = ('permission denied', 'authentication unavailable', 'authentication failed')

# os-vif names a port's tap after the first 11 characters of the port id (the kernel allows 15).
TAP_PREFIX = 'tap'
TAP_PORT_ID_LENGTH = 11
OVS_TIMEOUT = '--timeout=10'


class LibvirtDomainError(Exception):
    """A problem with the domain or the host, worded for the operator."""


def validate_domain_name(name):
    """The domain name, or LibvirtDomainError when it cannot be one of nova's."""
    if not isinstance(name, str) or not DOMAIN_NAME_PATTERN.match(name) or name.startswith('-'):
        raise LibvirtDomainError(
            "name %r is not a libvirt domain name this module accepts: expected 1 to 128 letters, digits, '_', '.', "
            "'+' or '-', not starting with '-' (nova's instance_name, e.g. instance-0000000a, as "
            "`openstack server show -c OS-EXT-SRV-ATTR:instance_name` shows it)" % (name,))
    return name


def validate_port_ids(ports):
    """The Neutron port ids, lowercased and without repeats, or LibvirtDomainError naming the bad ones."""
    bad = [port for port in ports if not isinstance(port, str) or not PORT_ID_PATTERN.match(port)]
    if bad:
        raise LibvirtDomainError(
            'ports must be Neutron port ids (UUIDs such as 3f1c9a52-7b0e-4d2a-9c4e-5a6b7c8d9e0f); not UUIDs: %s. '
            'Pass the ids (`openstack port list --server SERVER -c ID`), not tap or port names'
            % ', '.join(repr(port) for port in bad))
    unique = []
    for port in ports:
        if port.lower() not in unique:
            unique.append(port.lower())
    return unique


def tap_name(port_id):
    """The tap device os-vif creates for a port."""
    return TAP_PREFIX + port_id[:TAP_PORT_ID_LENGTH]


def parse_domstate(output):
    """The state in `virsh domstate` output (first line; a '(reason)' suffix is ignored)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    printed = lines[0] if lines else ''
    word = re.sub(r'\s*\(.*\)\s*$', '', printed)
    if word not in VIRSH_STATES:
        raise LibvirtDomainError(
            'virsh domstate printed %r, expected one of %s; look at the domain with `virsh dominfo` and run again '
            'once libvirt reports one of those' % (printed, ', '.join(repr(state) for state in VIRSH_STATES)))
    return VIRSH_STATES[word]


def parse_persistent(output):
    """`Persistent:` of `virsh dominfo` output as a bool, None when it is not there."""
    for line in output.splitlines():
        key, sep, value = line.partition(':')
        if sep and key.strip() == 'Persistent':
            return {'yes': True, 'no': False}.get(value.strip())
    return None


def virsh_failure(stderr):
    """'unreachable' (libvirt could not be asked), 'missing' (no such domain) or None (anything else)."""
    lowered = stderr.lower()
    if any(marker in lowered for marker in UNREACHABLE_MARKERS):
        return 'unreachable'
    if any(marker in lowered for marker in MISSING_MARKERS):
        return 'missing'
    return None


def one_line(text):
    return ' '.join(text.split()) or 'no output'


class Virsh(object):
    """virsh on one URI, with its failures translated."""

    def __init__(self, run, virsh_path, uri):
        self.run = run
        self.virsh_path = virsh_path
        self.uri = uri

    def call(self, *args):
        return self.run([self.virsh_path, '-c', self.uri] + list(args))

    def unreachable(self, stderr):
        hint = 'start libvirtd (systemctl start libvirtd) and run again'
        if any(marker in stderr.lower() for marker in ACCESS_MARKERS):
            hint = 'run the task as root (become: true), or ' + hint
        return LibvirtDomainError('cannot reach libvirt at %s on this host (%s); %s'
                                  % (self.uri, one_line(stderr), hint))

    def failed(self, command, name, rc, stderr, advice):
        if virsh_failure(stderr) == 'unreachable':
            return self.unreachable(stderr)
        return LibvirtDomainError('virsh -c %s %s %s failed (rc %s): %s; %s'
                                  % (self.uri, command, name, rc, one_line(stderr), advice))

    def state(self, name):
        """The domain's state; 'undefined' only when libvirt answers that it has no such domain."""
        rc, out, err = self.call('domstate', name)
        if rc == 0:
            return parse_domstate(out)
        kind = virsh_failure(err)
        if kind == 'missing':
            return UNDEFINED
        if kind == 'unreachable':
            raise self.unreachable(err)
        raise self.failed('domstate', name, rc, err, 'expected the state or "failed to get domain"; check libvirt '
                          '(journalctl -u libvirtd) and run again')

    def persistent(self, name):
        """True/False from `virsh dominfo`, None when the domain is gone (or libvirt does not say)."""
        rc, out, err = self.call('dominfo', name)
        if rc == 0:
            return parse_persistent(out)
        kind = virsh_failure(err)
        if kind == 'missing':
            return None
        raise self.failed('dominfo', name, rc, err, 'check libvirt (journalctl -u libvirtd) and run again')

    def shutdown(self, name):
        """Ask the guest to power off by ACPI; the stderr when libvirt refused the request, else None."""
        rc, _out, err = self.call('shutdown', name)
        if rc == 0:
            return None
        if virsh_failure(err) == 'unreachable':
            raise self.unreachable(err)
        return err

    def destroy(self, name):
        rc, _out, err = self.call('destroy', name)
        if rc != 0 and self.state(name) in ACTIVE_STATES:
            raise self.failed('destroy', name, rc, err, 'the guest still runs; stop it by hand (kill its QEMU '
                              'process if libvirt cannot) and run again')

    def undefine(self, name):
        rc, _out, err = self.call('undefine', name)
        if rc != 0 and 'nvram' in err.lower():
            # UEFI guests have an NVRAM file libvirt will not leave behind unless told to remove it.
            rc, _out, err = self.call('undefine', '--nvram', name)
        if rc != 0 and self.state(name) != UNDEFINED:
            raise self.failed('undefine', name, rc, err, 'remove what libvirt names (e.g. `virsh snapshot-list`, '
                              '`virsh managedsave-remove`) and run again')


class Taps(object):
    """A port's tap in Open vSwitch (when ovs-vsctl is installed) and in the kernel."""

    def __init__(self, run, ip_path, ovs_vsctl_path=None):
        self.run = run
        self.ip_path = ip_path
        self.ovs_vsctl_path = ovs_vsctl_path

    def in_ovs(self, tap):
        rc, _out, err = self.run([self.ovs_vsctl_path, OVS_TIMEOUT, 'port-to-br', tap])
        if rc == 0:
            return True
        if 'no port named' in err.lower():
            return False
        raise LibvirtDomainError(
            'cannot ask Open vSwitch whether it has %s (ovs-vsctl port-to-br, rc %s: %s); expected the bridge or '
            '"no port named"; start Open vSwitch (systemctl start openvswitch-switch or openvswitch) and run again'
            % (tap, rc, one_line(err)))

    def delete_from_ovs(self, tap):
        rc, _out, err = self.run([self.ovs_vsctl_path, OVS_TIMEOUT, '--if-exists', 'del-port', tap])
        if rc != 0:
            raise LibvirtDomainError('ovs-vsctl del-port %s failed (rc %s): %s; check Open vSwitch '
                                     '(ovs-vsctl show) and run again' % (tap, rc, one_line(err)))

    def in_kernel(self, tap):
        rc, _out, err = self.run([self.ip_path, 'link', 'show', tap])
        if rc == 0:
            return True
        if 'does not exist' in err.lower() or 'cannot find device' in err.lower():
            return False
        raise LibvirtDomainError('ip link show %s failed (rc %s): %s; expected the link or "does not exist"; '
                                 'check the host (ip link) and run again' % (tap, rc, one_line(err)))

    def delete_from_kernel(self, tap):
        rc, _out, err = self.run([self.ip_path, 'link', 'delete', tap])
        # Gone meanwhile (del-port can take an internal port with it): that is what was wanted.
        if rc != 0 and self.in_kernel(tap):
            raise LibvirtDomainError('ip link delete %s failed (rc %s): %s; delete it by hand and run again'
                                     % (tap, rc, one_line(err)))


class DomainManager(object):
    """Brings one domain (and its taps) to the wanted state; returns what it found, did and left."""

    def __init__(self, virsh, taps, name, check_mode=False, shutdown_timeout=20, poll_interval=1.0,
                 sleep=time.sleep, clock=time.monotonic):
        self.virsh = virsh
        self.taps = taps
        self.name = name
        self.check_mode = check_mode
        self.shutdown_timeout = shutdown_timeout
        self.poll_interval = poll_interval
        self.sleep = sleep
        self.clock = clock
        self.actions = []

    def ensure(self, wanted, ports=()):
        before = self.virsh.state(self.name)
        persistent = self.virsh.persistent(self.name) if before != UNDEFINED else None
        if wanted == 'shutdown':
            after = self.shut_down(before, persistent)
        elif wanted == 'undefined':
            after = self.undefine(before)
        elif wanted == 'destroyed_and_undefined':
            after = self.destroy_and_undefine(before, persistent)
        else:
            after = before
        removed_taps, skipped = [], []
        if wanted in ('undefined', 'destroyed_and_undefined'):
            removed_taps, skipped = self.remove_taps(ports)
        if not self.check_mode and self.actions and after != UNDEFINED:
            persistent = self.virsh.persistent(self.name)
        elif after == UNDEFINED:
            persistent = None
        return dict(name=self.name, state_before=before, state=after, persistent=persistent,
                    actions=list(self.actions), removed_taps=removed_taps, skipped=skipped,
                    changed=bool(self.actions))

    def state_once_stopped(self, persistent):
        # A transient domain is gone once it stops.
        return 'shut off' if persistent is not False else UNDEFINED

    def shut_down(self, state, persistent):
        if state not in ACTIVE_STATES:
            return state
        self.actions.append('shutdown')
        if self.check_mode:
            return self.state_once_stopped(persistent)
        refused = self.virsh.shutdown(self.name)
        state = self.virsh.state(self.name)
        # libvirt sends ACPI to running guests only; a paused or suspended one cannot hear it, so waiting
        # would only delay the destroy. A guest already shutting down is given its time.
        if refused is None or state == 'in shutdown':
            state = self.wait_until_stopped(state)
        if state in ACTIVE_STATES:
            # As Nova's own stop does once the guest has not powered off in time: pull the plug.
            self.actions.append('destroy')
            self.virsh.destroy(self.name)
            state = self.virsh.state(self.name)
        if state in ACTIVE_STATES:
            raise LibvirtDomainError('the domain %s is still %s after virsh destroy; check it with `virsh -c %s '
                                     'dominfo %s` and run again' % (self.name, state, self.virsh.uri, self.name))
        return state

    def wait_until_stopped(self, state):
        deadline = self.clock() + self.shutdown_timeout
        while state in ACTIVE_STATES and self.clock() < deadline:
            self.sleep(self.poll_interval)
            state = self.virsh.state(self.name)
        return state

    def undefine(self, state):
        if state in ACTIVE_STATES:
            raise LibvirtDomainError(
                'the domain %s is %s on this host: refusing to undefine a running guest (libvirt would keep it '
                'running, unmanaged, and its disk in use); expected shut off, crashed or undefined. Shut it down '
                'first (state=shutdown), or use state=destroyed_and_undefined to pull the plug. Nothing was changed.'
                % (self.name, state))
        if state in INACTIVE_STATES:
            return self.undefine_stopped()
        return state

    def undefine_stopped(self):
        self.actions.append('undefine')
        if self.check_mode:
            return UNDEFINED
        self.virsh.undefine(self.name)
        state = self.virsh.state(self.name)
        if state != UNDEFINED:
            raise LibvirtDomainError('the domain %s is still defined (%s) after virsh undefine; check it with '
                                     '`virsh -c %s dominfo %s` and run again'
                                     % (self.name, state, self.virsh.uri, self.name))
        return state

    def destroy_and_undefine(self, state, persistent):
        if state in ACTIVE_STATES:
            self.actions.append('destroy')
            if self.check_mode:
                state = self.state_once_stopped(persistent)
            else:
                self.virsh.destroy(self.name)
                state = self.virsh.state(self.name)
                if state in ACTIVE_STATES:
                    raise LibvirtDomainError('the domain %s is still %s after virsh destroy; stop it by hand and '
                                             'run again' % (self.name, state))
        if state in INACTIVE_STATES:
            return self.undefine_stopped()
        return state

    def remove_taps(self, ports):
        removed, skipped = [], []
        if ports and self.taps.ovs_vsctl_path is None:
            # Not every deployment uses Open vSwitch (linuxbridge, OVN with another switch...).
            skipped.append('Open vSwitch: ovs-vsctl is not installed on this host, so no OVS port was looked for '
                           '(%s)' % ', '.join(tap_name(port) for port in ports))
        for port in ports:
            tap = tap_name(port)
            touched = False
            if self.taps.ovs_vsctl_path is not None and self.taps.in_ovs(tap):
                self.actions.append('del-port %s' % tap)
                touched = True
                if not self.check_mode:
                    self.taps.delete_from_ovs(tap)
            if self.taps.in_kernel(tap):
                self.actions.append('ip link delete %s' % tap)
                touched = True
                if not self.check_mode:
                    self.taps.delete_from_kernel(tap)
            if touched:
                removed.append(tap)
        return removed, skipped
