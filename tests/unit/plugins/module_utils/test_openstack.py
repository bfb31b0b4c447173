# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import logging
import types

import pytest
import requests
from keystoneauth1 import exceptions as ksa_exceptions
from openstack import exceptions as sdk_exceptions

from ansible_collections.novaops.migration.plugins.module_utils import openstack as novaops_openstack
from ansible_collections.novaops.migration.plugins.module_utils.openstack import (
    DEFAULT_TIMEOUT, MIGRATION_TIMEOUT, ModuleFailure, NovaopsModule, first_url,
)


class ProbeModule(NovaopsModule):
    """A module whose run() is whatever the test sets in `action`."""
    argument_spec = dict(name=dict(type='str'))
    module_kwargs = dict(supports_check_mode=True)
    action = None

    def run(self):
        type(self).action(self)


class WaitingProbeModule(ProbeModule):
    wait_timeout = MIGRATION_TIMEOUT


@pytest.fixture
def probe(run_module):
    def run(action, module_class=ProbeModule, **args):
        module_class.action = staticmethod(action)
        return run_module(module_class, args)
    return run


def http_error(error_class, status, message, request_id=None):
    """An SDK HTTP error as raised from a real response."""
    response = requests.Response()
    response.status_code = status
    if request_id:
        response.headers['x-openstack-request-id'] = request_id
    return error_class(message=message, response=response)


def resource(resource_id, name, status=None):
    return types.SimpleNamespace(id=resource_id, name=name, status=status)


# -- connection ---------------------------------------------------------------

def test_connection_passes_only_the_options_that_are_set(probe, cloud):
    result = probe(lambda module: module.exit_json(False, project=module.conn.current_project_id),
                   validate_certs=False, region_name='RegionOne')
    assert result['project'] == 'project-0001'
    assert cloud.connect_kwargs == dict(cloud='lab', app_name='novaops.migration', verify=False,
                                        region_name='RegionOne')


def test_cloud_given_as_dict_is_used_alone_and_overridden_by_options(probe, cloud):
    definition = {'auth': {'auth_url': 'http://k:5000/v3', 'username': 'admin'}, 'region_name': 'One'}
    probe(lambda module: module.exit_json(False, ok=bool(module.conn)), cloud=definition, region_name='Two')
    assert cloud.connect_kwargs['load_yaml_config'] is False
    assert cloud.connect_kwargs['load_envvars'] is False
    assert cloud.connect_kwargs['region_name'] == 'Two'
    assert cloud.connect_kwargs['auth'] == definition['auth']


def test_cloud_of_another_type_is_refused(probe):
    result = probe(lambda module: module.conn, cloud=['lab'])
    assert result['failed']
    assert 'cloud must be the name of a cloud in clouds.yaml or a dict' in result['msg']


def test_unknown_cloud_lists_the_known_ones(probe, monkeypatch):
    fake_config = types.SimpleNamespace(config_filename='/etc/openstack/clouds.yaml',
                                        get_cloud_names=lambda: ['lab', 'devstack'])
    monkeypatch.setattr(novaops_openstack.sdk_config_loader, 'OpenStackConfig', lambda: fake_config)
    result = probe(lambda module: module.conn, cloud='nope')
    assert result['failed']
    assert result['msg'].startswith("cloud 'nope' is not defined in /etc/openstack/clouds.yaml; "
                                    "known clouds: devstack, lab.")


def test_unknown_cloud_without_any_clouds_yaml_says_where_it_looked(probe, monkeypatch):
    fake_config = types.SimpleNamespace(config_filename=None, get_cloud_names=lambda: ['defaults'])
    monkeypatch.setattr(novaops_openstack.sdk_config_loader, 'OpenStackConfig', lambda: fake_config)
    result = probe(lambda module: module.conn, cloud='nope')
    assert 'not defined in any clouds.yaml (searched ' in result['msg']
    assert 'known clouds: none' in result['msg']


# -- no cloud option: openstacksdk's choice (OS_CLOUD, else the OS_* variables) ----------------

def failing_connect(error):
    def connect(cloud=None, **kwargs):
        raise error
    return connect


def test_without_the_cloud_option_openstacksdk_chooses(probe, cloud, monkeypatch):
    """The playbooks pass no cloud unless asked: openstacksdk gets cloud=None and reads OS_CLOUD itself."""
    monkeypatch.setenv('OS_CLOUD', 'lab')
    result = probe(lambda module: module.exit_json(False, cloud_used=module.cloud_label(),
                                                   project=module.conn.current_project_id), cloud=None)
    assert cloud.connect_kwargs['cloud'] is None
    assert result['project'] == 'project-0001'


def test_a_cloud_named_by_os_cloud_that_is_not_defined_lists_the_known_ones(probe, monkeypatch):
    fake_config = types.SimpleNamespace(config_filename='/home/op/clouds.yaml',
                                        get_cloud_names=lambda: ['prod', 'staging'])
    monkeypatch.setattr(novaops_openstack.sdk_config_loader, 'OpenStackConfig', lambda: fake_config)
    monkeypatch.setattr(novaops_openstack.openstack, 'connect',
                        failing_connect(sdk_exceptions.ConfigException('Cloud prd was not found.')))
    monkeypatch.setenv('OS_CLOUD', 'prd')
    result = probe(lambda module: module.conn, cloud=None)
    assert result['msg'].startswith("cloud 'prd' (named by OS_CLOUD) is not defined in /home/op/clouds.yaml; "
                                    "known clouds: prod, staging.")


def test_no_cloud_named_at_all_says_how_to_name_one(probe, monkeypatch):
    monkeypatch.delenv('OS_CLOUD', raising=False)
    missing = ksa_exceptions.MissingRequiredOptions([types.SimpleNamespace(dest='auth_url')])
    monkeypatch.setattr(novaops_openstack.openstack, 'connect', failing_connect(missing))
    result = probe(lambda module: module.conn, cloud=None)
    assert result['msg'] == (
        'cannot build the OpenStack connection: no cloud was named (no cloud option, OS_CLOUD is not set) and the '
        'OS_* variables do not describe one: Auth plugin requires parameters which were not given: auth_url. '
        "Set OS_CLOUD to a cloud of clouds.yaml, source the cloud's openrc file, or pass the cloud option "
        "(-e cloud=NAME to the collection's playbooks).")


def test_missing_settings_of_a_named_cloud_name_it(probe, monkeypatch):
    missing = ksa_exceptions.MissingRequiredOptions([types.SimpleNamespace(dest='auth_url')])
    monkeypatch.setattr(novaops_openstack.openstack, 'connect', failing_connect(missing))
    monkeypatch.setenv('OS_CLOUD', 'prod')
    from_environment = probe(lambda module: module.conn, cloud=None)
    assert from_environment['msg'].startswith(
        "cannot build the OpenStack connection: cloud 'prod' (named by OS_CLOUD) is missing authentication settings")
    given = probe(lambda module: module.conn, cloud='lab')
    assert given['msg'].startswith("cannot build the OpenStack connection: cloud 'lab' is missing authentication")


def test_connection_is_opened_lazily(probe, cloud):
    probe(lambda module: module.exit_json(False))
    assert cloud.connect_kwargs is None


def test_missing_openstacksdk_is_reported(probe, monkeypatch):
    monkeypatch.setattr(novaops_openstack, 'OPENSTACKSDK_IMPORT_ERROR', 'Traceback: No module named openstack')
    result = probe(lambda module: module.exit_json(True))
    assert result['failed']
    assert 'openstacksdk' in result['msg']


def test_too_old_openstacksdk_is_reported(probe, monkeypatch):
    monkeypatch.setattr(novaops_openstack, 'installed_openstacksdk_version', lambda: '3.3.0')
    result = probe(lambda module: module.exit_json(True))
    assert result['msg'] == 'openstacksdk 3.3.0 is installed; this module needs openstacksdk >= 4.21.0'


# -- errors -------------------------------------------------------------------

def raising(error):
    def action(module):
        module.conn  # pylint: disable=pointless-statement
        raise error
    return action


def test_wrong_credentials_name_the_cloud_and_auth_url(probe):
    result = probe(raising(ksa_exceptions.Unauthorized('The request you have made requires authentication.')))
    assert result['failed']
    assert result['msg'].startswith("authentication failed for cloud 'lab' (auth_url http://controller.lab:5000/v3)")


def test_http_401_from_the_sdk_counts_as_wrong_credentials(probe):
    result = probe(raising(http_error(sdk_exceptions.HttpException, 401, 'Unauthorized')))
    assert result['msg'].startswith("authentication failed for cloud 'lab'")


def test_unreachable_endpoint_names_the_url(probe):
    error = ksa_exceptions.ConnectFailure('Unable to establish connection to http://10.99.0.10:8774/v2.1/servers: '
                                          'Connection refused')
    result = probe(raising(error))
    assert result['msg'].startswith("cannot reach http://10.99.0.10:8774/v2.1/servers for cloud 'lab'")


def test_missing_endpoint_names_region_and_interface(probe):
    result = probe(raising(ksa_exceptions.EndpointNotFound('no compute endpoint')), region_name='RegionTwo')
    assert "no matching endpoint (region RegionTwo, interface default)" in result['msg']


def test_forbidden_says_it_is_policy(probe):
    result = probe(raising(http_error(sdk_exceptions.ForbiddenException, 403, 'Policy does not allow')))
    assert 'refused the request (HTTP 403, policy)' in result['msg']


def test_other_http_errors_keep_status_and_request_id(probe):
    error = http_error(sdk_exceptions.ConflictException, 409, 'Cannot delete network in use', request_id='req-1234')
    result = probe(raising(error))
    assert result['msg'] == 'Cannot delete network in use (HTTP 409, request id req-1234)'


def test_errors_other_than_the_sdk_ones_are_not_swallowed(probe):
    with pytest.raises(ZeroDivisionError):
        probe(raising(ZeroDivisionError()))


def test_first_url_drops_trailing_punctuation():
    assert first_url('Unable to establish connection to http://h:5000/v3/auth/tokens: refused') == \
        'http://h:5000/v3/auth/tokens'
    assert first_url('no url here') is None


# -- options, check mode, diff -----------------------------------------------

def test_wait_options_exist_only_for_waiting_modules(probe):
    assert 'timeout' not in probe(lambda module: module.exit_json(False, params=module.params))['params']
    params = probe(lambda module: module.exit_json(False, params=module.params), module_class=WaitingProbeModule)['params']
    assert params['wait'] is True
    assert params['timeout'] == MIGRATION_TIMEOUT


def test_a_helper_returns_its_outcome_and_only_run_exits(run_module):
    def decide(module):
        if module.check_mode:
            return module.outcome(True, predicted='yes')
        return module.outcome(True, diff=module.diff({'size': 1}, {'size': 2}), acted='yes')
    ProbeModule.action = staticmethod(lambda module: module.exit_json(**decide(module)))
    assert run_module(ProbeModule, {}, check_mode=True) == dict(changed=True, predicted='yes')
    assert run_module(ProbeModule, {}) == dict(changed=True, acted='yes')
    assert run_module(ProbeModule, {}, diff=True)['diff'] == dict(before={'size': 1}, after={'size': 2})


def test_a_helper_s_failure_ends_the_task_with_its_message_and_fields(probe):
    def helper(module):
        raise ModuleFailure("no room on compute2", server=dict(id='s1', host='compute1'))
    result = probe(helper)
    assert result['failed'] is True
    assert result['msg'] == 'no room on compute2'
    assert result['server'] == dict(id='s1', host='compute1')


def test_no_module_helper_exits_by_itself():
    """Helpers raise ModuleFailure or return an outcome: only run() (and the base's entry point) exit."""
    import ast
    import pathlib
    plugins = pathlib.Path(novaops_openstack.__file__).resolve().parents[1]
    offenders = []
    scanned = sorted(plugins.glob('module*/*.py'))
    # Not vacuous: the walk reads the base and the modules that build on it.
    assert {'openstack.py', 'live_migrate.py', 'cold_migrate.py', 'evacuate.py'} <= {path.name for path in scanned}
    for path in scanned:
        for function in ast.walk(ast.parse(path.read_text())):
            exits_allowed = ('run', '__call__', 'main', 'fail_json', 'exit_json')
            if not isinstance(function, ast.FunctionDef) or function.name in exits_allowed:
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                        node.func.attr in ('fail_json', 'exit_json'):
                    offenders.append('%s:%d %s' % (path.name, node.lineno, function.name))
    assert offenders == []


def test_diff_is_returned_only_when_asked(run_module):
    def action(module):
        module.exit_json(True, diff=module.diff({'size': 1}, None))
    ProbeModule.action = staticmethod(action)
    assert 'diff' not in run_module(ProbeModule, {})
    assert run_module(ProbeModule, {}, diff=True)['diff'] == dict(before={'size': 1}, after={})


# -- lookups -------------------------------------------------------------------

def lookup(module, candidates, get_by_id=None, required=True, hint=None):
    found = module.find_one('server', 'web', lambda: candidates, get_by_id=get_by_id, required=required, hint=hint)
    module.exit_json(False, found=found.id if found else None)


def test_find_one_prefers_the_id(probe):
    result = probe(lambda module: lookup(module, [resource('2', 'web')], get_by_id=lambda _id: resource('1', 'x')))
    assert result['found'] == '1'


def test_find_one_falls_back_to_the_name_when_the_id_is_unknown(probe):
    def get_by_id(resource_id):
        raise sdk_exceptions.NotFoundException(message='404')
    result = probe(lambda module: lookup(module, [resource('2', 'web'), resource('3', 'webserver')],
                                         get_by_id=get_by_id))
    assert result['found'] == '2'


def test_find_one_refuses_ambiguous_names_and_lists_ids(probe):
    result = probe(lambda module: lookup(module, [resource('b', 'web'), resource('a', 'web')]))
    assert result['failed']
    assert result['msg'] == ("2 servers are named 'web' (ids: a, b); names are not unique, "
                             "use the id of the one you mean.")


def test_find_one_missing_required_resource_gives_the_hint(probe):
    result = probe(lambda module: lookup(module, [], hint='create it first'))
    assert result['msg'] == "server 'web' not found in cloud 'lab'; create it first"


def test_find_one_missing_optional_resource_is_none(probe):
    assert probe(lambda module: lookup(module, [], required=False))['found'] is None


def test_require_microversion_says_what_the_cloud_supports(probe):
    proxy = types.SimpleNamespace(service_type='compute', default_microversion=None,
                                  get_endpoint_data=lambda: types.SimpleNamespace(min_microversion=(2, 1),
                                                                                  max_microversion=(2, 60)))
    result = probe(lambda module: module.require_microversion(proxy, '2.74', 'booting on a chosen host'))
    assert result['msg'] == ("booting on a chosen host needs microversion 2.74 of the compute API; "
                             "cloud 'lab' supports up to 2.60.")


# -- waiting -------------------------------------------------------------------

def states(*sequence):
    """A getter returning resources in the given states, then repeating the last."""
    remaining = list(sequence)

    def getter():
        state = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        return None if state is None else resource('1', 'web', status=state)
    return getter


def test_wait_for_returns_once_accepted(probe, cloud):
    result = probe(lambda module: module.exit_json(False, status=module.wait_for(
        states('build', 'build', 'active'), ['ACTIVE'], ['ERROR']).status))
    assert result['status'] == 'active'
    assert cloud.now == 4  # two polls of 2 s


def test_wait_for_reports_the_failure_explanation(probe):
    result = probe(lambda module: module.wait_for(states('build', 'error'), ['ACTIVE'], ['ERROR'], what='server web',
                                                  describe_failure=lambda server: 'No valid host was found'))
    assert result['msg'] == 'server web went to ERROR: No valid host was found'


def test_wait_for_times_out_with_the_last_state(probe, cloud):
    result = probe(lambda module: module.wait_for(states('migrating'), ['ACTIVE'], timeout=30, what='server web'))
    assert result['msg'].startswith('timed out after 30 s waiting for server web to become ACTIVE '
                                    '(last state: MIGRATING)')
    assert cloud.now == 30


def test_wait_for_default_timeout_without_wait_options(probe, cloud):
    probe(lambda module: module.wait_for(states('build'), ['ACTIVE']))
    assert cloud.now == DEFAULT_TIMEOUT


def test_wait_for_uses_the_timeout_option(probe, cloud):
    probe(lambda module: module.wait_for(states('build'), ['ACTIVE']), module_class=WaitingProbeModule, timeout=10)
    assert cloud.now == 10


def test_wait_for_gone(probe):
    result = probe(lambda module: module.exit_json(False, last=module.wait_for(states('deleting', None), ['GONE'])))
    assert result['last'] is None


# -- secrets of a cloud given as a dict ---------------------------------------------------------------------

CLOUD_SECRETS = dict(password='pw-cloud-4711', token='tok-gAAAAABk', application_credential_secret='acs-9f8e7d',
                     passcode='pc-123456', client_secret='oidc-cs-5150')


def cloud_definition():
    auth = dict(auth_url='http://k:5000/v3', username='admin', project_name='demo', user_domain_name='Default',
                **CLOUD_SECRETS)
    return dict(auth=auth, region_name='RegionOne', auth_type='password', key='/etc/pki/client-key-path.pem',
                profiles=[dict(api_key=31337)])


def test_secret_values_of_a_cloud_dict():
    assert novaops_openstack.cloud_secret_values(cloud_definition()) == set(CLOUD_SECRETS.values()) | {
        '/etc/pki/client-key-path.pem', '31337'}
    assert novaops_openstack.cloud_secret_values('lab') == set()
    assert novaops_openstack.cloud_secret_values(dict(auth=dict(password='', token=None, username='x'))) == set()


def test_secrets_of_a_cloud_dict_appear_nowhere_in_the_output(run_module_output, cloud):
    def action(module):
        # A result quoting a secret (an error text from the cloud, say) is masked too.
        module.exit_json(False, seen='connected with %s' % module.conn.connect_kwargs['auth']['password'])
    ProbeModule.action = staticmethod(action)
    output = run_module_output(ProbeModule, dict(cloud=cloud_definition(), name='x'))
    assert cloud.connect_kwargs['auth']['password'] == 'pw-cloud-4711', 'the module itself uses the real values'
    for secret in list(CLOUD_SECRETS.values()) + ['31337']:
        assert secret not in output.stdout and secret not in output.logged
    module_args = output.result['invocation']['module_args']
    assert module_args['cloud']['auth']['username'] == 'admin', 'what is not a secret stays readable'
    assert module_args['cloud']['region_name'] == 'RegionOne'
    assert output.result['seen'] == 'connected with ********'


def test_secrets_of_a_cloud_dict_are_masked_when_the_options_are_refused(run_module_output):
    output = run_module_output(ProbeModule, dict(cloud=cloud_definition(), nmae='typo'))
    assert output.result['failed'] and 'nmae' in output.result['msg']
    for secret in CLOUD_SECRETS.values():
        assert secret not in output.stdout


def test_a_cloud_name_is_not_masked(run_module_output):
    ProbeModule.action = staticmethod(lambda module: module.exit_json(False, cloud_used=module.cloud_label()))
    output = run_module_output(ProbeModule, dict(cloud='lab'))
    assert output.result['invocation']['module_args']['cloud'] == 'lab'
    assert output.result['cloud_used'] == "'lab'"


# -- openstack.cloud's other connection options: client certificate, openstacksdk's log --------------------------

def connected(module):
    module.exit_json(False, ok=bool(module.conn))


def test_client_certificate_and_key_reach_openstacksdk_under_its_names(probe, cloud):
    probe(connected, client_cert='/etc/pki/novaops/client.pem', client_key='/etc/pki/novaops/client.key')
    assert cloud.connect_kwargs['cert'] == '/etc/pki/novaops/client.pem'
    assert cloud.connect_kwargs['key'] == '/etc/pki/novaops/client.key'


def test_client_certificate_options_take_openstack_cloud_aliases(probe, cloud):
    probe(connected, cert='/etc/pki/novaops/client.pem', key='/etc/pki/novaops/client.key')
    assert (cloud.connect_kwargs['cert'], cloud.connect_kwargs['key']) == ('/etc/pki/novaops/client.pem',
                                                                           '/etc/pki/novaops/client.key')


def test_client_certificate_options_override_a_cloud_given_as_dict(probe, cloud):
    definition = dict(auth=dict(auth_url='http://k:5000/v3', username='admin'), cert='/old/client.pem')
    probe(connected, cloud=definition, client_cert='/etc/pki/novaops/client.pem')
    assert cloud.connect_kwargs['cert'] == '/etc/pki/novaops/client.pem'
    assert 'key' not in cloud.connect_kwargs


def test_client_key_is_a_path_shown_as_such_and_never_read(run_module_output, tmp_path):
    key_file = tmp_path / 'client.key'
    key_file.write_text('-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n')
    ProbeModule.action = staticmethod(connected)
    output = run_module_output(ProbeModule, dict(client_key=str(key_file), client_cert=str(tmp_path / 'client.pem')))
    assert output.result['invocation']['module_args']['client_key'] == str(key_file), 'a path, not masked'
    assert 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC' not in output.stdout + output.logged


def test_sdk_log_is_off_unless_a_path_is_given(probe, monkeypatch):
    calls = []
    monkeypatch.setattr(novaops_openstack.openstack, 'enable_logging', lambda **kwargs: calls.append(kwargs))
    probe(connected)
    assert calls == []


@pytest.mark.parametrize('level, debug', [('INFO', False), ('DEBUG', True)])
def test_sdk_log_path_and_level_enable_openstacksdk_logging(probe, monkeypatch, tmp_path, level, debug):
    calls = []
    monkeypatch.setattr(novaops_openstack.openstack, 'enable_logging', lambda **kwargs: calls.append(kwargs))
    path = str(tmp_path / 'sdk.log')
    probe(connected, sdk_log_path=path, sdk_log_level=level)
    assert calls == [dict(debug=debug, http_debug=debug, path=path)]


def test_sdk_log_level_defaults_to_info(probe, monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(novaops_openstack.openstack, 'enable_logging', lambda **kwargs: calls.append(kwargs))
    probe(connected, sdk_log_path=str(tmp_path / 'sdk.log'))
    assert calls[0]['debug'] is False


@pytest.fixture
def restore_sdk_loggers():
    """openstack.enable_logging attaches handlers to process-wide loggers; put them back as they were."""
    loggers = [logging.getLogger(name) for name in ('openstack', 'keystoneauth', 'urllib3', 'stevedore')]
    saved = [(logger, list(logger.handlers), logger.level) for logger in loggers]
    yield
    for logger, handlers, level in saved:
        for handler in logger.handlers:
            if handler not in handlers:
                handler.close()
        logger.handlers[:] = handlers
        logger.setLevel(level)


def test_sdk_log_is_written_to_the_file_and_not_to_the_output(run_module_output, tmp_path, restore_sdk_loggers):
    path = tmp_path / 'sdk.log'

    def action(module):
        module.conn  # pylint: disable=pointless-statement
        logging.getLogger('openstack.unit_test').debug('GET http://controller:8774/v2.1/servers')
        module.exit_json(False)
    ProbeModule.action = staticmethod(action)
    output = run_module_output(ProbeModule, dict(sdk_log_path=str(path), sdk_log_level='DEBUG'))
    assert 'GET http://controller:8774/v2.1/servers' in path.read_text()
    assert 'GET http://controller' not in output.stdout


def test_an_unwritable_sdk_log_path_fails_with_what_to_do(probe, tmp_path, restore_sdk_loggers):
    path = tmp_path / 'no-such-directory' / 'sdk.log'
    result = probe(connected, sdk_log_path=str(path))
    assert result['failed']
    assert result['msg'].startswith('cannot write the openstacksdk log to %s: ' % path)
    assert 'Point sdk_log_path at a file in a directory that exists' in result['msg']
