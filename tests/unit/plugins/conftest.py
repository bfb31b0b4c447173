# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A fake cloud for the module tests.

The fake replaces only the transport: ``openstack.connect`` returns a
FakeCloud whose proxies keep resources in memory and hand out real
openstacksdk resource objects (Image, Flavor, Server...), so the modules read
the same attributes they read against a real cloud. Every call is recorded;
tests assert on what was (not) changed.
"""

import hashlib
import itertools
import json
import re
import types

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args
from openstack import exceptions as sdk_exceptions
from openstack.compute.v2.flavor import Flavor
from openstack.compute.v2.server import Server
from openstack.compute.v2.service import Service
from openstack.image.v2.image import Image
from openstack.network.v2.network import Network
from openstack.network.v2.port import Port
from openstack.network.v2.subnet import Subnet

from ansible_collections.novaops.migration.plugins.module_utils import openstack as novaops_openstack

PROJECT_ID = 'project-0001'
AUTH_URL = 'http://controller.lab:5000/v3'
POWER_STATE_OF_STATUS = {'ACTIVE': 1, 'SHUTOFF': 4, 'PAUSED': 3, 'SUSPENDED': 7}
# Calls that change something in the cloud; check mode must make none of them.
MUTATING_PREFIXES = ('create_', 'update_', 'delete_', 'start_', 'stop_')


def pytest_configure(config):
    # openstacksdk 4.x warns on every resource object it builds, fakes or not.
    config.addinivalue_line('filterwarnings', 'ignore:The _compute_attributes method is deprecated')


class ModuleExit(Exception):
    def __init__(self, result):
        super().__init__(result)
        self.result = result


class ModuleFail(Exception):
    def __init__(self, result):
        super().__init__(result)
        self.result = result


def not_found(kind, resource_id):
    return sdk_exceptions.NotFoundException(message='No %s found for %s' % (kind, resource_id))


class FakeProxy(object):
    service_type = None

    def __init__(self, cloud):
        self.cloud = cloud
        self.bodies = {}

    def _record(self, method, *args, **kwargs):
        self.cloud.calls.append(('%s.%s' % (self.service_type, method), args, kwargs))

    def _new_id(self, kind):
        return '%s-%04d' % (kind, next(self.cloud.ids))

    def _body(self, kind, resource_or_id):
        resource_id = getattr(resource_or_id, 'id', resource_or_id)
        if resource_id not in self.bodies:
            raise not_found(kind, resource_id)
        return self.bodies[resource_id]

    @staticmethod
    def _matches(body, query):
        return all(body.get(key) == value for key, value in query.items() if value is not None)


class FakeImageProxy(FakeProxy):
    service_type = 'image'

    def add(self, **body):
        body.setdefault('id', self._new_id('image'))
        body.setdefault('status', 'active')
        self.bodies[body['id']] = body
        return Image(**body)

    def images(self, **query):
        self._record('images', **query)
        return [Image(**body) for body in self.bodies.values() if self._matches(body, query)]

    def get_image(self, image):
        self._record('get_image', image)
        return Image(**self._body('image', image))

    def create_image(self, name, filename=None, meta=None, **kwargs):
        self._record('create_image', name, filename=filename, meta=meta, **kwargs)
        with open(filename, 'rb') as stream:
            data = stream.read()
        body = dict(meta or {})
        body.update(name=name, disk_format=kwargs.get('disk_format'), container_format=kwargs.get('container_format'),
                    checksum=hashlib.md5(data).hexdigest(), os_hash_algo='sha512',
                    os_hash_value=hashlib.sha512(data).hexdigest(), size=len(data),
                    status=self.cloud.image_status_after_upload)
        body.setdefault('visibility', 'shared')
        return self.add(**body)

    def update_image(self, image, **attrs):
        self._record('update_image', image.id, **attrs)
        self._body('image', image).update(attrs)
        return Image(**self.bodies[image.id])

    def delete_image(self, image, ignore_missing=True):
        self._record('delete_image', image.id)
        self.bodies.pop(image.id)


class FakeComputeProxy(FakeProxy):
    service_type = 'compute'
    default_microversion = None

    def __init__(self, cloud):
        super().__init__(cloud)
        self.flavors_by_id = {}
        self.service_list = []
        # Statuses a server goes through on the next get_server() calls.
        self.pending_statuses = {}
        self.max_microversion = (2, 100)
        self.console_error = None

    def get_endpoint_data(self):
        return types.SimpleNamespace(min_microversion=(2, 1), max_microversion=self.max_microversion)

    # flavors
    def add_flavor(self, **attrs):
        attrs.setdefault('id', self._new_id('flavor'))
        attrs.setdefault('extra_specs', {})
        for field in ('ephemeral', 'swap'):
            attrs.setdefault(field, 0)
        attrs.setdefault('is_public', True)
        self.flavors_by_id[attrs['id']] = attrs
        return Flavor(**attrs)

    def flavors(self, **query):
        self._record('flavors', **query)
        return [Flavor(**attrs) for attrs in self.flavors_by_id.values()]

    def get_flavor(self, flavor):
        self._record('get_flavor', flavor)
        flavor_id = getattr(flavor, 'id', flavor)
        if flavor_id not in self.flavors_by_id:
            raise not_found('flavor', flavor_id)
        return Flavor(**self.flavors_by_id[flavor_id])

    def fetch_flavor_extra_specs(self, flavor):
        self._record('fetch_flavor_extra_specs', flavor.id)
        return Flavor(**self.flavors_by_id[flavor.id])

    def create_flavor(self, **attrs):
        self._record('create_flavor', **attrs)
        return self.add_flavor(**attrs)

    def create_flavor_extra_specs(self, flavor, extra_specs):
        self._record('create_flavor_extra_specs', flavor.id, extra_specs)
        self.flavors_by_id[flavor.id]['extra_specs'].update(extra_specs)
        return Flavor(**self.flavors_by_id[flavor.id])

    def delete_flavor(self, flavor, ignore_missing=True):
        self._record('delete_flavor', flavor.id)
        self.flavors_by_id.pop(flavor.id)

    # servers
    def add_server(self, **body):
        body.setdefault('id', self._new_id('server'))
        body.setdefault('status', 'ACTIVE')
        body.setdefault('project_id', PROJECT_ID)
        self.bodies[body['id']] = body
        return self._server(body)

    @staticmethod
    def _server(body):
        body = dict(body)
        body.setdefault('OS-EXT-STS:power_state', POWER_STATE_OF_STATUS.get(body['status'], 0))
        return Server(**body)

    def servers(self, name=None, **query):
        self._record('servers', name=name, **query)
        found = []
        for body in self.bodies.values():
            # Nova matches the name as a regular expression.
            if name is not None and not re.search(name, body.get('name', '')):
                continue
            if query.get('compute_host') and body.get('OS-EXT-SRV-ATTR:host') != query['compute_host']:
                continue
            found.append(self._server(body))
        return found

    def get_server(self, server):
        self._record('get_server', server)
        server_id = getattr(server, 'id', server)
        body = self._body('server', server_id)
        pending = self.pending_statuses.get(server_id)
        if pending:
            status = pending.pop(0)
            if status == 'GONE':
                del self.bodies[server_id]
                raise not_found('server', server_id)
            body['status'] = status
            body.pop('OS-EXT-STS:power_state', None)
        return self._server(body)

    def create_server(self, **attrs):
        self._record('create_server', **attrs)
        flavor = self.flavors_by_id[attrs['flavor_id']]
        body = dict(name=attrs['name'], status='BUILD', image={'id': attrs['image_id']},
                    flavor=dict(original_name=flavor['name'], ram=flavor['ram'], vcpus=flavor['vcpus'],
                                disk=flavor['disk']))
        body['OS-EXT-SRV-ATTR:host'] = attrs.get('host', 'compute1')
        if self.cloud.boot_fault:
            body['fault'] = self.cloud.boot_fault
        server = self.add_server(**body)
        self.pending_statuses[server.id] = list(self.cloud.boot_statuses)
        return server

    def start_server(self, server):
        self._record('start_server', server.id)
        self.pending_statuses[server.id] = ['SHUTOFF', 'ACTIVE']

    def stop_server(self, server):
        self._record('stop_server', server.id)
        self.pending_statuses[server.id] = ['ACTIVE', 'SHUTOFF']

    def delete_server(self, server):
        self._record('delete_server', server.id)
        self.pending_statuses[server.id] = ['ACTIVE', 'GONE']

    def create_console(self, server, console_type):
        self._record('create_console', server.id, console_type)
        if self.console_error is not None:
            raise self.console_error
        return {'type': console_type, 'protocol': 'vnc', 'url': 'http://controller.lab:6080/vnc_auto.html?t=1'}

    # services
    def services(self, **query):
        self._record('services', **query)
        return [Service(**body) for body in self.service_list if self._matches(body, query)]


class FakeNetworkProxy(FakeProxy):
    service_type = 'network'

    def __init__(self, cloud):
        super().__init__(cloud)
        self.subnet_bodies = {}
        self.port_bodies = {}
        # Port id -> statuses that successive ports() calls report, as Neutron settles a port after a move.
        self.pending_port_statuses = {}

    # networks
    def add_network(self, **attrs):
        attrs.setdefault('id', self._new_id('network'))
        attrs.setdefault('project_id', PROJECT_ID)
        attrs.setdefault('status', 'ACTIVE')
        self.bodies[attrs['id']] = attrs
        return Network(**attrs)

    def networks(self, **query):
        self._record('networks', **query)
        return [Network(**attrs) for attrs in self.bodies.values() if self._matches(attrs, query)]

    def get_network(self, network):
        self._record('get_network', network)
        return Network(**self._body('network', network))

    def create_network(self, **attrs):
        self._record('create_network', **attrs)
        return self.add_network(**attrs)

    def update_network(self, network, **attrs):
        self._record('update_network', network.id, **attrs)
        self.bodies[network.id].update(attrs)
        return Network(**self.bodies[network.id])

    def delete_network(self, network, ignore_missing=True):
        self._record('delete_network', network.id)
        self.bodies.pop(network.id)

    # subnets
    def add_subnet(self, **attrs):
        attrs.setdefault('id', self._new_id('subnet'))
        attrs.setdefault('project_id', PROJECT_ID)
        attrs.setdefault('ip_version', 4)
        self.subnet_bodies[attrs['id']] = attrs
        return Subnet(**attrs)

    def subnets(self, **query):
        self._record('subnets', **query)
        return [Subnet(**attrs) for attrs in self.subnet_bodies.values() if self._matches(attrs, query)]

    def create_subnet(self, **attrs):
        self._record('create_subnet', **attrs)
        return self.add_subnet(**attrs)

    def update_subnet(self, subnet, **attrs):
        self._record('update_subnet', subnet.id, **attrs)
        self.subnet_bodies[subnet.id].update(attrs)
        return Subnet(**self.subnet_bodies[subnet.id])

    def delete_subnet(self, subnet, ignore_missing=True):
        self._record('delete_subnet', subnet.id)
        self.subnet_bodies.pop(subnet.id)

    # ports
    def add_port(self, **attrs):
        attrs.setdefault('id', self._new_id('port'))
        self.port_bodies[attrs['id']] = attrs
        return Port(**attrs)

    def ports(self, **query):
        self._record('ports', **query)
        for port_id, statuses in self.pending_port_statuses.items():
            if statuses:
                self.port_bodies[port_id]['status'] = statuses.pop(0)
        return [Port(**attrs) for attrs in self.port_bodies.values() if self._matches(attrs, query)]

    def update_port(self, port, **attrs):
        self._record('update_port', port.id, **attrs)
        body = self.port_bodies[port.id]
        body.update(attrs)
        # Like ML2/OVN: a port whose admin state comes back up is read again from the backend, where it is up.
        if attrs.get('is_admin_state_up') is True and not self.pending_port_statuses.get(port.id):
            body['status'] = 'ACTIVE'
        return Port(**body)

    def get_port(self, port):
        self._record('get_port', port)
        if port not in self.port_bodies:
            raise not_found('port', port)
        return Port(**self.port_bodies[port])


class FakeCloud(object):
    """Stands in for an openstack.connection.Connection."""

    def __init__(self):
        self.calls = []
        self.connect_kwargs = None
        self.known_clouds = ('lab',)
        self.ids = itertools.count(1)
        self.now = 0.0
        self.current_project_id = PROJECT_ID
        self.config = None
        # What a boot goes through, read by successive get_server() calls.
        self.boot_statuses = ['BUILD', 'ACTIVE']
        self.boot_fault = None
        self.image_status_after_upload = 'active'
        self.image = FakeImageProxy(self)
        self.compute = FakeComputeProxy(self)
        self.network = FakeNetworkProxy(self)

    def connect(self, cloud=None, **kwargs):
        self.connect_kwargs = dict(kwargs, cloud=cloud)
        if isinstance(cloud, str) and cloud not in self.known_clouds:
            raise sdk_exceptions.ConfigException('Cloud %s was not found.' % cloud)
        self.config = types.SimpleNamespace(name=cloud or 'defaults', config={'auth': {'auth_url': AUTH_URL}})
        return self

    # time, so waits run instantly
    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds

    def call_names(self):
        return [name for name, dummy_args, dummy_kwargs in self.calls]

    def mutations(self):
        return [name for name in self.call_names() if name.split('.', 1)[1].startswith(MUTATING_PREFIXES)]

    def call(self, name):
        """kwargs of the only call named `name`."""
        matching = [(args, kwargs) for call_name, args, kwargs in self.calls if call_name == name]
        assert len(matching) == 1, 'expected one %s call, got %d' % (name, len(matching))
        return matching[0]


@pytest.fixture
def cloud(monkeypatch):
    fake = FakeCloud()
    monkeypatch.setattr(novaops_openstack.openstack, 'connect', fake.connect)
    return fake


def capture_module_outcome(monkeypatch):
    """Make exit_json/fail_json raise ModuleExit/ModuleFail; return the list warn() appends to.

    The exception's ``result`` is what the module returned, with ``warnings`` when it warned and, from
    fail_json, ``msg`` and ``failed=True``.
    """

    warnings = []

    def with_warnings(result):
        if warnings:
            result['warnings'] = list(warnings)
        return result

    def exit_json(module, **result):
        raise ModuleExit(with_warnings(result))

    def fail_json(module, msg, **result):
        result.update(msg=msg, failed=True)
        raise ModuleFail(with_warnings(result))

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda module, warning, **kwargs: warnings.append(warning))
    return warnings


@pytest.fixture
def run_module(monkeypatch, cloud):
    """Run a module class with arguments; return its result dict (``failed`` set on failure)."""

    warnings = capture_module_outcome(monkeypatch)

    def run(module_class, args, check_mode=False, diff=False):
        module_args = dict(args)
        module_args.setdefault('cloud', 'lab')
        module_args.update(_ansible_check_mode=check_mode, _ansible_diff=diff)
        del warnings[:]
        with patch_module_args(module_args):
            try:
                module = module_class()
                module._sleep = cloud.sleep
                module._clock = cloud.clock
                module()
            except (ModuleExit, ModuleFail) as outcome:
                return outcome.result
        raise AssertionError('%s returned without exit_json or fail_json' % module_class.__name__)

    return run


@pytest.fixture
def run_host_module(monkeypatch):
    """Run a host-side module's ``main`` with arguments; return its result dict.

    The same outcome as run_module: ``failed=True`` and ``msg`` on failure, ``warnings`` when the module warned.
    """

    warnings = capture_module_outcome(monkeypatch)

    def run(main, args, check_mode=False, diff=False):
        module_args = dict(args)
        module_args.update(_ansible_check_mode=check_mode, _ansible_diff=diff)
        del warnings[:]
        with patch_module_args(module_args):
            try:
                main()
            except (ModuleExit, ModuleFail) as outcome:
                return outcome.result
        raise AssertionError('%s.main returned without exit_json or fail_json' % main.__module__)

    return run


@pytest.fixture
def run_module_output(monkeypatch, cloud, capsys):
    """Run a module class for real up to its JSON on stdout; return that text and what it logged.

    Unlike run_module, exit_json/fail_json are Ansible's own, so the masking of no_log values (in the result, in
    ``invocation.module_args`` and in the syslog/journal line) is what is tested.
    """

    logged = []
    monkeypatch.setattr(basic.AnsibleModule, 'log', lambda module, msg, log_args=None: logged.append(msg))

    def run(module_class, args, check_mode=False, diff=False):
        module_args = dict(args)
        module_args.setdefault('cloud', 'lab')
        module_args.update(_ansible_check_mode=check_mode, _ansible_diff=diff)
        del logged[:]
        capsys.readouterr()
        with patch_module_args(module_args):
            with pytest.raises(SystemExit):
                module = module_class()
                module._sleep = cloud.sleep
                module._clock = cloud.clock
                module()
        stdout = capsys.readouterr().out
        return types.SimpleNamespace(stdout=stdout, result=json.loads(stdout.strip().splitlines()[-1]),
                                     logged='\n'.join(logged))

    return run
