# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""libvirt_domain against fake virsh, ovs-vsctl and ip binaries.

The fakes are one small Python script, installed under the three names in a
temporary directory put first on PATH. They keep the domains, the Open vSwitch
ports and the kernel links in a JSON file and append every call to a log, so
the tests assert exactly which commands ran. The module only ever finds the
fakes (binary lookup is confined to that directory): no real virsh, ovs-vsctl
or ip can run on the machine that runs the tests.
"""

import json
import shutil
import sys
import textwrap

import pytest

from ansible.module_utils import basic

from ansible_collections.novaops.migration.plugins.modules import libvirt_domain

DOMAIN = 'instance-0000000a'
PORT = '3f1c9a52-7b0e-4d2a-9c4e-5a6b7c8d9e0f'
OTHER_PORT = 'a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d'
TAP = 'tap3f1c9a52-7b'
OTHER_TAP = 'tapa0b1c2d3-e4'
SYSTEM = 'qemu:///system'
# The virsh subcommands that change something; check mode and refusals must run none of them.
VIRSH_MUTATIONS = ('shutdown', 'destroy', 'undefine')

FAKE = textwrap.dedent(r'''
    import json, os, sys

    STATE, LOG = os.environ['FAKE_STATE'], os.environ['FAKE_LOG']
    ACTIVE = ('running', 'idle', 'paused', 'in shutdown', 'pmsuspended')
    tool, args = os.path.basename(sys.argv[0]), sys.argv[1:]
    with open(LOG, 'a') as log:
        log.write(json.dumps([tool] + args) + '\n')
    with open(STATE) as stream:
        world = json.load(stream)


    def done(rc=0, out='', err=''):
        with open(STATE, 'w') as stream:
            json.dump(world, stream)
        sys.stdout.write(out)
        sys.stderr.write(err)
        sys.exit(rc)


    def virsh(args):
        uri = None
        if args[:1] == ['-c']:
            uri, args = args[1], args[2:]
        if not world['libvirtd']:
            done(1, err="error: failed to connect to the hypervisor\nerror: Failed to connect socket to "
                        "'/var/run/libvirt/libvirt-sock': No such file or directory\n")
        command, name = args[0], args[-1]
        # Without -c (or with another URI) virsh talks to qemu:///session, which sees none of nova's guests.
        domains = world['domains'] if uri == 'qemu:///system' else {}
        domain = domains.get(name)
        if domain is None:
            done(1, err="error: failed to get domain '%s'\n" % name)
        if command == 'domstate':
            if domain['state'] == 'in shutdown':
                domain['polls_to_off'] -= 1
                if domain['polls_to_off'] <= 0:
                    domain['state'] = 'shut off'
            done(out=domain['state'] + '\n\n')
        if command == 'dominfo':
            done(out='Id:             %s\nName:           %s\nState:          %s\nPersistent:     %s\n\n'
                     % ('1' if domain['state'] in ACTIVE else '-', name, domain['state'],
                        'yes' if domain['persistent'] else 'no'))
        if command == 'shutdown':
            if domain['state'] not in ('running', 'idle'):
                done(1, err="error: Failed to shutdown domain '%s'\nerror: Requested operation is not valid: "
                            "domain is not running\n" % name)
            if domain['acpi'] == 'obey':
                domain.update(state='in shutdown', polls_to_off=domain.get('acpi_polls', 1))
            done(out="Domain '%s' is being shutdown\n\n" % name)
        if command == 'destroy':
            if domain['state'] not in ACTIVE:
                done(1, err="error: Failed to destroy domain '%s'\nerror: Requested operation is not valid: "
                            "domain is not running\n" % name)
            if domain['persistent']:
                domain['state'] = 'shut off'
            else:
                del domains[name]
            done(out="Domain '%s' destroyed\n\n" % name)
        if command == 'undefine':
            if domain['state'] in ACTIVE:
                # As libvirt does: the running guest stays, only its definition goes.
                domain['persistent'] = False
            elif domain.get('snapshots'):
                done(1, err="error: Failed to undefine domain '%s'\nerror: Requested operation is not valid: cannot "
                            "delete inactive domain with %d snapshots\n" % (name, domain['snapshots']))
            elif domain.get('nvram') and '--nvram' not in args:
                done(1, err="error: Failed to undefine domain '%s'\nerror: Requested operation is not valid: "
                            "cannot undefine domain with nvram\n" % name)
            else:
                del domains[name]
            done(out="Domain '%s' has been undefined\n\n" % name)
        done(1, err='error: unknown command: %s\n' % command)


    def ovs_vsctl(args):
        if not world['ovsdb']:
            done(1, err='ovs-vsctl: unix:/var/run/openvswitch/db.sock: database connection failed (No such file '
                        'or directory)\n')
        tap = args[-1]
        if 'port-to-br' in args:
            if tap in world['ovs_ports']:
                done(out=world['ovs_ports'][tap] + '\n')
            done(1, err='ovs-vsctl: no port named %s\n' % tap)
        if 'del-port' in args:
            world['ovs_ports'].pop(tap, None)
            done()
        done(1, err='ovs-vsctl: unknown command\n')


    def ip(args):
        tap = args[-1]
        if args[:2] == ['link', 'show']:
            if tap in world['links']:
                done(out='7: %s: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1442 qdisc fq_codel master ovs-system '
                         'state UNKNOWN mode DEFAULT group default qlen 1000\n' % tap)
            done(1, err='Device "%s" does not exist.\n' % tap)
        if args[:2] == ['link', 'delete']:
            if tap not in world['links']:
                done(1, err='Cannot find device "%s"\n' % tap)
            world['links'].remove(tap)
            done()
        done(1, err='Object "%s" is unknown, try "ip help".\n' % args[0])


    {'virsh': virsh, 'ovs-vsctl': ovs_vsctl, 'ip': ip}[tool](args)
''')


class Host(object):
    """The compute the module runs on, as the fakes see it."""

    def __init__(self, tmp_path):
        self.bin = tmp_path / 'bin'
        self.state_file = tmp_path / 'host.json'
        self.log_file = tmp_path / 'calls.log'
        self.log_file.write_text('')
        self.save(dict(libvirtd=True, ovsdb=True, domains={}, ovs_ports={}, links=[]))

    def load(self):
        return json.loads(self.state_file.read_text())

    def save(self, world):
        self.state_file.write_text(json.dumps(world))

    def update(self, **changes):
        world = self.load()
        world.update(changes)
        self.save(world)

    def add_domain(self, state='running', persistent=True, acpi='obey', acpi_polls=1, nvram=False, snapshots=0,
                   name=DOMAIN):
        world = self.load()
        # acpi: 'obey' (in shutdown, then shut off after acpi_polls domstate reads) or 'ignore'.
        world['domains'][name] = dict(state=state, persistent=persistent, acpi=acpi, acpi_polls=acpi_polls,
                                      polls_to_off=acpi_polls, nvram=nvram, snapshots=snapshots)
        self.save(world)

    def add_tap(self, tap, in_ovs=True, in_kernel=True):
        world = self.load()
        if in_ovs:
            world['ovs_ports'][tap] = 'br-int'
        if in_kernel:
            world['links'].append(tap)
        self.save(world)

    def domain(self, name=DOMAIN):
        return self.load()['domains'].get(name)

    def calls(self):
        return [json.loads(line) for line in self.log_file.read_text().splitlines()]

    def mutations(self):
        """The calls that changed something, in order."""
        return [call for call in self.calls()
                if (call[0] == 'virsh' and any(command in call for command in VIRSH_MUTATIONS))
                or (call[0] == 'ovs-vsctl' and 'del-port' in call)
                or call[:3] == ['ip', 'link', 'delete']]

    def virsh_commands(self):
        """The virsh subcommands that ran, after checking each one talked to qemu:///system."""
        virsh_calls = [call for call in self.calls() if call[0] == 'virsh']
        for call in virsh_calls:
            assert call[1:3] == ['-c', SYSTEM], 'virsh ran without -c %s: %s' % (SYSTEM, call)
        return [' '.join(call[3:]) for call in virsh_calls]

    def forget_calls(self):
        self.log_file.write_text('')


@pytest.fixture
def host(tmp_path, monkeypatch):
    fake_host = Host(tmp_path)
    fake_host.bin.mkdir()
    # -S: no site packages, the fakes need only the standard library and start faster.
    script = '#!%s -S\n%s' % (sys.executable, FAKE)
    for tool in ('virsh', 'ovs-vsctl', 'ip'):
        path = fake_host.bin / tool
        path.write_text(script)
        path.chmod(0o755)
    monkeypatch.setenv('FAKE_STATE', str(fake_host.state_file))
    monkeypatch.setenv('FAKE_LOG', str(fake_host.log_file))
    monkeypatch.setenv('PATH', '%s:/usr/bin:/bin' % fake_host.bin)

    # ansible's own lookup also searches /sbin and /usr/sbin, where the real ip lives: only the fakes may run.
    def get_bin_path(module, arg, required=False, opt_dirs=None):
        return shutil.which(arg, path=str(fake_host.bin))

    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', get_bin_path)
    # The module waits a second between polls; the tests do not.
    monkeypatch.setattr(libvirt_domain, 'POLL_INTERVAL', 0.02)
    yield fake_host
    # Whatever the test: no virsh call may fall back to virsh's default URI.
    assert all(call[1] == '-c' for call in fake_host.calls() if call[0] == 'virsh')


@pytest.fixture
def run(host, run_host_module):
    def run_libvirt_domain(check_mode=False, diff=False, **args):
        values = dict(name=DOMAIN)
        values.update(args)
        return run_host_module(libvirt_domain.main, values, check_mode=check_mode, diff=diff)

    return run_libvirt_domain


# -- info -----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('virsh_state, state', [('running', 'running'), ('idle', 'blocked'), ('paused', 'paused'),
                                                ('in shutdown', 'in shutdown'), ('shut off', 'shut off'),
                                                ('crashed', 'crashed'), ('pmsuspended', 'pmsuspended')])
def test_info_reads_the_state_and_changes_nothing(host, run, virsh_state, state):
    host.add_domain(state=virsh_state, acpi_polls=99)
    result = run()
    assert result['changed'] is False
    assert result['name'] == DOMAIN
    assert result['state'] == result['state_before'] == state
    assert result['persistent'] is True
    assert result['actions'] == []
    assert host.mutations() == []
    assert host.virsh_commands() == ['domstate %s' % DOMAIN, 'dominfo %s' % DOMAIN]


def test_info_of_a_transient_domain(host, run):
    host.add_domain(persistent=False)
    assert run(state='query')['persistent'] is False


def test_info_of_an_unknown_domain_is_undefined(host, run):
    result = run(state='query')
    assert result['changed'] is False
    assert result['state'] == result['state_before'] == 'undefined'
    assert result['persistent'] is None
    assert host.virsh_commands() == ['domstate %s' % DOMAIN]


def test_libvirtd_down_is_an_error_not_undefined(host, run):
    host.add_domain()
    host.update(libvirtd=False)
    for state in ('query', 'shutdown', 'undefined', 'destroyed_and_undefined'):
        result = run(state=state, ports=[PORT] if 'undefined' in state else [])
        assert result['failed'], state
        assert 'state' not in result or result['state'] != 'undefined'
        assert result['msg'].startswith('cannot reach libvirt at qemu:///system on this host (')
        assert 'failed to connect to the hypervisor' in result['msg']
        assert 'start libvirtd (systemctl start libvirtd) and run again' in result['msg']
    assert host.mutations() == []
    assert not [call for call in host.calls() if call[0] != 'virsh']


def test_every_virsh_call_talks_to_qemu_system(host, run):
    host.add_domain(acpi='ignore')
    run(state='shutdown', shutdown_timeout=1)
    run(state='undefined')
    commands = host.virsh_commands()  # asserts -c qemu:///system on each
    assert 'shutdown %s' % DOMAIN in commands and 'destroy %s' % DOMAIN in commands
    assert 'undefine %s' % DOMAIN in commands


def test_another_uri_is_passed_to_virsh(host, run):
    host.add_domain()
    result = run(uri='qemu+ssh://root@compute2/system')
    # The fake knows the domain only at qemu:///system.
    assert result['state'] == 'undefined'
    assert host.calls() == [['virsh', '-c', 'qemu+ssh://root@compute2/system', 'domstate', DOMAIN]]


# -- shutdown -----------------------------------------------------------------------------------------------------

def test_shutdown_by_acpi(host, run):
    host.add_domain(acpi='obey', acpi_polls=3)
    result = run(state='shutdown', diff=True)
    assert result['changed'] is True
    assert result['state_before'] == 'running' and result['state'] == 'shut off'
    assert result['actions'] == ['shutdown']
    assert result['diff'] == dict(before=dict(state='running'), after=dict(state='shut off'))
    commands = host.virsh_commands()
    assert commands[:3] == ['domstate %s' % DOMAIN, 'dominfo %s' % DOMAIN, 'shutdown %s' % DOMAIN]
    assert 'destroy %s' % DOMAIN not in commands
    # in shutdown, in shutdown, shut off
    assert commands.count('domstate %s' % DOMAIN) >= 4
    assert host.domain()['state'] == 'shut off'


def test_acpi_ignored_is_destroyed_after_the_timeout(host, run):
    host.add_domain(acpi='ignore')
    result = run(state='shutdown', shutdown_timeout=1)
    assert result['changed'] is True
    assert result['actions'] == ['shutdown', 'destroy']
    assert result['state'] == 'shut off'
    commands = host.virsh_commands()
    shutdown_at, destroy_at = commands.index('shutdown %s' % DOMAIN), commands.index('destroy %s' % DOMAIN)
    # polled in between (a second at 0.02 s a poll)
    assert commands[shutdown_at + 1:destroy_at].count('domstate %s' % DOMAIN) >= 5
    assert host.domain()['state'] == 'shut off'


def test_a_paused_guest_cannot_answer_acpi_and_is_destroyed(host, run):
    host.add_domain(state='paused')
    result = run(state='shutdown', shutdown_timeout=60)
    assert result['actions'] == ['shutdown', 'destroy']
    assert result['state_before'] == 'paused' and result['state'] == 'shut off'
    # no waiting for a guest that cannot hear the request
    commands = host.virsh_commands()
    assert commands.count('domstate %s' % DOMAIN) <= 3


def test_a_guest_already_shutting_down_is_awaited(host, run):
    host.add_domain(state='in shutdown', acpi_polls=4)
    result = run(state='shutdown')
    assert result['actions'] == ['shutdown']
    assert result['state_before'] == 'in shutdown' and result['state'] == 'shut off'
    assert 'destroy %s' % DOMAIN not in host.virsh_commands()


@pytest.mark.parametrize('state', ['shut off', 'crashed', None])
def test_shutdown_leaves_a_stopped_or_missing_domain_alone(host, run, state):
    if state:
        host.add_domain(state=state)
    result = run(state='shutdown')
    assert result['changed'] is False
    assert result['actions'] == []
    assert result['state'] == result['state_before'] == (state or 'undefined')
    assert host.mutations() == []


def test_shutdown_check_mode_predicts_and_runs_nothing(host, run):
    host.add_domain(acpi='obey')
    result = run(state='shutdown', check_mode=True, diff=True)
    assert result['changed'] is True
    assert result['actions'] == ['shutdown']
    assert result['state_before'] == 'running' and result['state'] == 'shut off'
    assert result['diff'] == dict(before=dict(state='running'), after=dict(state='shut off'))
    assert host.mutations() == []
    assert host.domain()['state'] == 'running'


# -- undefined ----------------------------------------------------------------------------------------------------

def test_undefine_a_stopped_domain_and_remove_its_taps_then_nothing(host, run):
    host.add_domain(state='shut off')
    host.add_tap(TAP)
    host.add_tap(OTHER_TAP, in_ovs=True, in_kernel=False)
    result = run(state='undefined', ports=[PORT, OTHER_PORT], diff=True)
    assert result['changed'] is True
    assert result['state_before'] == 'shut off' and result['state'] == 'undefined'
    assert result['actions'] == ['undefine', 'del-port %s' % TAP, 'ip link delete %s' % TAP,
                                 'del-port %s' % OTHER_TAP]
    assert result['removed_taps'] == [TAP, OTHER_TAP]
    assert result['skipped'] == []
    assert result['diff'] == dict(before=dict(state='shut off'), after=dict(state='undefined'))
    assert host.mutations() == [
        ['virsh', '-c', SYSTEM, 'undefine', DOMAIN],
        ['ovs-vsctl', '--timeout=10', '--if-exists', 'del-port', TAP],
        ['ip', 'link', 'delete', TAP],
        ['ovs-vsctl', '--timeout=10', '--if-exists', 'del-port', OTHER_TAP],
    ]
    assert ['ovs-vsctl', '--timeout=10', 'port-to-br', TAP] in host.calls()
    assert ['ip', 'link', 'show', TAP] in host.calls()
    world = host.load()
    assert world['domains'] == {} and world['ovs_ports'] == {} and world['links'] == []

    host.forget_calls()
    again = run(state='undefined', ports=[PORT, OTHER_PORT])
    assert again['changed'] is False
    assert again['actions'] == [] and again['removed_taps'] == []
    assert again['state_before'] == again['state'] == 'undefined'
    assert host.mutations() == []


def test_undefine_a_crashed_domain(host, run):
    host.add_domain(state='crashed')
    result = run(state='undefined')
    assert result['actions'] == ['undefine'] and result['state'] == 'undefined'


def test_undefine_adds_nvram_only_when_libvirt_asks_for_it(host, run):
    host.add_domain(state='shut off', nvram=True)
    result = run(state='undefined')
    assert result['actions'] == ['undefine'] and result['state'] == 'undefined'
    assert [call[3:] for call in host.mutations()] == [['undefine', DOMAIN], ['undefine', '--nvram', DOMAIN]]


@pytest.mark.parametrize('state', ['running', 'paused', 'in shutdown', 'idle', 'pmsuspended'])
def test_refuses_to_undefine_a_running_guest(host, run, state):
    host.add_domain(state=state, acpi_polls=99)
    host.add_tap(TAP)
    result = run(state='undefined', ports=[PORT])
    assert result['failed']
    assert 'refusing to undefine a running guest' in result['msg']
    assert 'nothing was changed' in result['msg'].lower()
    assert host.mutations() == []
    assert not [call for call in host.calls() if call[0] != 'virsh']
    assert host.domain()['persistent'] is True
    assert host.load()['ovs_ports'] == {TAP: 'br-int'}


def test_undefined_check_mode_predicts_and_only_reads(host, run):
    host.add_domain(state='shut off')
    host.add_tap(TAP)
    result = run(state='undefined', ports=[PORT], check_mode=True, diff=True)
    assert result['changed'] is True
    assert result['state'] == 'undefined'
    assert result['actions'] == ['undefine', 'del-port %s' % TAP, 'ip link delete %s' % TAP]
    assert result['removed_taps'] == [TAP]
    assert host.mutations() == []
    reads = {tuple(call[:4]) if call[0] == 'virsh' else tuple(call[:-1]) for call in host.calls()}
    assert reads <= {('virsh', '-c', SYSTEM, 'domstate'), ('virsh', '-c', SYSTEM, 'dominfo'),
                     ('ovs-vsctl', '--timeout=10', 'port-to-br'), ('ip', 'link', 'show')}
    assert host.domain() is not None and TAP in host.load()['links']


def test_taps_of_an_already_undefined_domain_are_removed(host, run):
    host.add_tap(TAP, in_ovs=False, in_kernel=True)
    result = run(state='undefined', ports=[PORT])
    assert result['changed'] is True
    assert result['state_before'] == result['state'] == 'undefined'
    assert result['actions'] == ['ip link delete %s' % TAP]
    assert result['removed_taps'] == [TAP]


def test_without_ovs_vsctl_only_the_kernel_is_cleaned(host, run):
    (host.bin / 'ovs-vsctl').unlink()
    host.add_domain(state='shut off')
    host.add_tap(TAP)
    result = run(state='undefined', ports=[PORT])
    assert result['changed'] is True
    assert result['actions'] == ['undefine', 'ip link delete %s' % TAP]
    assert result['removed_taps'] == [TAP]
    assert len(result['skipped']) == 1 and 'ovs-vsctl' in result['skipped'][0]
    assert not [call for call in host.calls() if call[0] == 'ovs-vsctl']


def test_ovsdb_down_is_an_error(host, run):
    host.add_tap(TAP)
    host.update(ovsdb=False)
    result = run(state='undefined', ports=[PORT])
    assert result['failed']
    assert 'Open vSwitch' in result['msg'] and 'database connection failed' in result['msg']
    assert host.mutations() == []


# -- destroyed_and_undefined (the rollback on a target) ---------------------------------------------------------

@pytest.mark.parametrize('state', ['running', 'paused'])
def test_destroy_and_undefine(host, run, state):
    host.add_domain(state=state)
    host.add_tap(TAP)
    result = run(state='destroyed_and_undefined', ports=[PORT])
    assert result['changed'] is True
    assert result['state_before'] == state and result['state'] == 'undefined'
    assert result['actions'] == ['destroy', 'undefine', 'del-port %s' % TAP, 'ip link delete %s' % TAP]
    assert [call[3] if call[0] == 'virsh' else call[-2] for call in host.mutations()] == [
        'destroy', 'undefine', 'del-port', 'delete']

    host.forget_calls()
    again = run(state='destroyed_and_undefined', ports=[PORT])
    assert again['changed'] is False and again['actions'] == []
    assert host.mutations() == []


def test_a_failed_undefine_reports_what_was_already_done(host, run):
    host.add_domain(state='running', snapshots=2)
    host.add_tap(TAP)
    result = run(state='destroyed_and_undefined', ports=[PORT])
    assert result['failed']
    assert 'cannot delete inactive domain with 2 snapshots' in result['msg'] and 'run again' in result['msg']
    assert result['actions'] == ['destroy', 'undefine'] and result['changed'] is True
    # the taps stay until the domain is gone
    assert not [call for call in host.calls() if call[0] != 'virsh']
    assert host.domain()['state'] == 'shut off'


def test_destroy_and_undefine_a_stopped_domain_only_undefines(host, run):
    host.add_domain(state='shut off')
    result = run(state='destroyed_and_undefined')
    assert result['actions'] == ['undefine']


def test_a_transient_domain_is_gone_once_destroyed(host, run):
    host.add_domain(persistent=False)
    result = run(state='destroyed_and_undefined')
    assert result['actions'] == ['destroy'] and result['state'] == 'undefined'


def test_destroy_and_undefine_check_mode(host, run):
    host.add_domain(state='running')
    result = run(state='destroyed_and_undefined', check_mode=True)
    assert result['changed'] is True
    assert result['actions'] == ['destroy', 'undefine'] and result['state'] == 'undefined'
    assert host.mutations() == []
    assert host.domain()['state'] == 'running'


# -- validation ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('name', ['-c', '--help', 'instance 0a', 'instance;reboot', '', 'x' * 129, 'inst/ance',
                                  'instance-0000000a\n'])
def test_bad_names_are_rejected_before_any_call(host, run, name):
    result = run(name=name)
    assert result['failed'] and 'name' in result['msg']
    assert host.calls() == []


@pytest.mark.parametrize('port', ['3f1c9a52', '--if-exists', '3f1c9a52-7b0e-4d2a-9c4e-5a6b7c8d9e0fff',
                                  '3f1c9a52_7b0e_4d2a_9c4e_5a6b7c8d9e0f', 'tap3f1c9a52-7b', '../../etc/passwd'])
def test_bad_port_ids_are_rejected_before_any_call(host, run, port):
    host.add_domain(state='shut off')
    result = run(state='undefined', ports=[PORT, port])
    assert result['failed'] and 'UUID' in result['msg']
    assert host.calls() == []


def test_ports_need_a_state_that_removes_the_domain(host, run):
    result = run(state='shutdown', ports=[PORT])
    assert result['failed'] and 'ports' in result['msg']
    assert host.calls() == []


def test_shutdown_timeout_must_be_positive(host, run):
    result = run(state='shutdown', shutdown_timeout=0)
    assert result['failed'] and 'shutdown_timeout' in result['msg']
    assert host.calls() == []


def test_missing_virsh_says_what_to_install(host, run):
    (host.bin / 'virsh').unlink()
    result = run()
    assert result['failed'] and 'virsh' in result['msg'] and 'libvirt' in result['msg']
