# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Base class and helpers shared by every novaops.migration module.

A module subclasses NovaopsModule, declares ``argument_spec`` and
``module_kwargs`` and implements ``run()``. The base owns the openstacksdk
connection built from the common options, waiting with a timeout, the
check-mode and diff plumbing, lookups that refuse ambiguous names, and the
translation of openstacksdk/keystoneauth errors into ``fail_json`` messages
that say what went wrong and what to do about it.
"""

import os
import re
import time
import traceback
from importlib import metadata as importlib_metadata

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.compat.version import LooseVersion

OPENSTACKSDK_IMPORT_ERROR = None
try:
    import openstack
    from openstack import exceptions as sdk_exceptions
    from openstack import utils as sdk_utils
    from openstack.config import loader as sdk_config_loader
    from keystoneauth1 import exceptions as ksa_exceptions
except ImportError:
    OPENSTACKSDK_IMPORT_ERROR = traceback.format_exc()
    # Modules may name these in except clauses; __call__ fails before any runs.
    sdk_exceptions = ksa_exceptions = None

# resource_provider_allocations (migration_plan) is in openstacksdk from 4.21; fetch_resource_provider_usages
# (preflight, manual_move) from 4.18.
MIN_OPENSTACKSDK_VERSION = '4.21.0'

# Default for modules that wait on ordinary resources (boot, upload, delete).
DEFAULT_TIMEOUT = 600
# Default for modules that wait on migrations: copying disks and memory of a
# busy guest takes far longer than booting it.
MIGRATION_TIMEOUT = 1800

# Pseudo-state wait_for() reports when the getter no longer finds the resource.
GONE = 'GONE'

# Identifies our requests in the services' logs.
APP_NAME = 'novaops.migration'


def openstack_argument_spec():
    """Connection options every module accepts (documented in the openstack doc fragment)."""
    return dict(
        cloud=dict(type='raw'),
        auth=dict(type='dict', no_log=True),
        auth_type=dict(type='str'),
        region_name=dict(type='str'),
        validate_certs=dict(type='bool', aliases=['verify']),
        ca_cert=dict(type='path', aliases=['cacert']),
        client_cert=dict(type='path', aliases=['cert']),
        # The path of the key file, not the key: masking it would hide the path in every message that names it.
        # The module never reads the file; the TLS library does.
        client_key=dict(type='path', aliases=['key'], no_log=False),
        interface=dict(type='str', choices=['admin', 'internal', 'public'], aliases=['endpoint_type']),
        api_timeout=dict(type='int'),
        sdk_log_path=dict(type='path'),
        sdk_log_level=dict(type='str', default='INFO', choices=['INFO', 'DEBUG']),
    )


# Keys of a cloud definition (clouds.yaml's layout) whose values are secrets: passwords, tokens, application
# credential and OIDC client secrets, TOTP passcodes, API keys, and the client key file's path.
_SECRET_KEY = re.compile(r'pass(word|wd|phrase|code)?$|secret|token|(^|[_-])key$|api[_-]?key', re.IGNORECASE)


def cloud_secret_values(cloud):
    """Every secret value inside a cloud given as a dict (any depth), as the strings Ansible masks.

    ``cloud`` cannot be no_log: a cloud's name ('lab') would then be masked in every result. A dict defining a
    cloud carries its password (or token, or application credential secret) instead, so those values are added to
    the module's no_log values, and Ansible masks them in the invocation, the results and the log.
    """
    found = set()

    def collect(node, secret):
        if isinstance(node, dict):
            for key, value in node.items():
                collect(value, secret or bool(_SECRET_KEY.search(str(key))))
        elif isinstance(node, (list, tuple)):
            for value in node:
                collect(value, secret)
        elif secret and node is not None and not isinstance(node, bool) and str(node) != '':
            found.add(to_text(node))

    if isinstance(cloud, dict):
        collect(cloud, False)
    return found


class _CloudMaskingAnsibleModule(AnsibleModule):
    """AnsibleModule that knows the secrets of a cloud dict as soon as it has read its arguments.

    Before the options are validated: a refused option fails with the invocation (all arguments) in the result,
    and the arguments are logged right after validation.
    """

    def _load_params(self):
        super(_CloudMaskingAnsibleModule, self)._load_params()
        self.no_log_values.update(cloud_secret_values((self.params or {}).get('cloud')))


def wait_argument_spec(default_timeout):
    """The wait options, with the default timeout of the module that declares them."""
    return dict(
        wait=dict(type='bool', default=True),
        timeout=dict(type='int', default=default_timeout),
    )


# Module option name -> openstacksdk connect() keyword.
_CONNECTION_OPTIONS = (
    ('auth', 'auth'),
    ('auth_type', 'auth_type'),
    ('region_name', 'region_name'),
    ('validate_certs', 'verify'),
    ('ca_cert', 'cacert'),
    ('client_cert', 'cert'),
    ('client_key', 'key'),
    ('interface', 'interface'),
    ('api_timeout', 'api_timeout'),
)

_URL_PATTERN = re.compile(r'https?://[^\s\'"]+')


def first_url(text):
    """The first URL mentioned in an error text, without trailing punctuation."""
    match = _URL_PATTERN.search(text or '')
    return match.group(0).rstrip(':,.;)') if match else None


def installed_openstacksdk_version():
    """The installed openstacksdk release, or None when its metadata is missing (e.g. a source checkout)."""
    try:
        return importlib_metadata.version('openstacksdk')
    except importlib_metadata.PackageNotFoundError:
        return None


class ModuleFailure(Exception):
    """Ends the task failed with ``msg`` and the other fields of the result.

    A module's helpers raise it; only the entry point turns it into fail_json, so
    every way out of a module goes through one place (and a helper can be tested
    by the exception it raises).
    """

    def __init__(self, msg, **result):
        super(ModuleFailure, self).__init__(msg)
        self.msg = msg
        self.result = result


class NovaopsModule(object):
    """Base of every module: subclasses set the class attributes and write run()."""

    #: Module-specific options, merged over the connection options.
    argument_spec = {}
    #: Extra AnsibleModule keywords (supports_check_mode, mutually_exclusive, ...).
    module_kwargs = {}
    #: Seconds. A subclass that waits sets DEFAULT_TIMEOUT or MIGRATION_TIMEOUT,
    #: which adds the ``wait`` and ``timeout`` options with that default.
    wait_timeout = None
    #: Seconds between two polls in wait_for().
    poll_interval = 2

    def __init__(self):
        spec = openstack_argument_spec()
        if self.wait_timeout is not None:
            spec.update(wait_argument_spec(self.wait_timeout))
        spec.update(self.argument_spec)
        self.ansible = _CloudMaskingAnsibleModule(argument_spec=spec, **self.module_kwargs)
        self.params = self.ansible.params
        self.check_mode = self.ansible.check_mode
        self.diff_mode = self.ansible._diff
        self._conn = None
        # Indirection so unit tests can run waits without really sleeping.
        self._sleep = time.sleep
        self._clock = time.monotonic

    # ------------------------------------------------------------------
    # Entry point
    # ------------------------------------------------------------------
    def __call__(self):
        try:
            self._require_openstacksdk()
            self.run()
        except ModuleFailure as failure:
            self.fail_json(msg=failure.msg, **failure.result)
        except (sdk_exceptions.SDKException, ksa_exceptions.ClientException) as error:
            self.fail_json(msg=self.explain_error(error), exception=traceback.format_exc())
        # run() normally exits itself; reaching here means nothing to report.
        self.exit_json(changed=False)

    def run(self):
        raise NotImplementedError('%s must implement run()' % type(self).__name__)

    def _require_openstacksdk(self):
        if OPENSTACKSDK_IMPORT_ERROR is not None:
            raise ModuleFailure(msg=missing_required_lib('openstacksdk'), exception=OPENSTACKSDK_IMPORT_ERROR)
        installed = installed_openstacksdk_version()
        if installed is not None and LooseVersion(installed) < LooseVersion(MIN_OPENSTACKSDK_VERSION):
            raise ModuleFailure(msg='openstacksdk %s is installed; this module needs openstacksdk >= %s'
                                    % (installed, MIN_OPENSTACKSDK_VERSION))

    # ------------------------------------------------------------------
    # Connection
    # ------------------------------------------------------------------
    @property
    def conn(self):
        """The openstacksdk Connection, opened on first use.

        Opening lazily lets modules validate their options and local files
        before anything talks to the cloud.
        """
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def _enable_sdk_logging(self):
        """Send openstacksdk's and keystoneauth's log to sdk_log_path, as openstack.cloud's modules do."""
        path = self.params.get('sdk_log_path')
        if path is None:
            return
        debug = self.params.get('sdk_log_level') == 'DEBUG'
        try:
            # With a path and no stream, openstacksdk logs to the file only: nothing reaches the module's output.
            openstack.enable_logging(debug=debug, http_debug=debug, path=path)
        except (IOError, OSError) as error:
            raise ModuleFailure(msg='cannot write the openstacksdk log to %s: %s. Point sdk_log_path at a file in a '
                                    'directory that exists and that the user running the module may write to.'
                                    % (path, to_text(error)))

    def _connect(self):
        self._enable_sdk_logging()
        cloud = self.params['cloud']
        overrides = dict(
            (sdk_name, self.params[option])
            for option, sdk_name in _CONNECTION_OPTIONS
            if self.params.get(option) is not None
        )
        try:
            if isinstance(cloud, dict):
                # A complete cloud definition: clouds.yaml and OS_* variables
                # must not silently mix into it.
                config = dict(cloud)
                config.update(overrides)
                return openstack.connect(app_name=APP_NAME, load_yaml_config=False, load_envvars=False, **config)
            if cloud is not None and not isinstance(cloud, str):
                raise ModuleFailure(
                    msg='cloud must be the name of a cloud in clouds.yaml or a dict defining one, got %s'
                        % type(cloud).__name__)
            return openstack.connect(cloud=cloud, app_name=APP_NAME, **overrides)
        except sdk_exceptions.ConfigException as error:
            # Without the cloud option, openstacksdk took the name from OS_CLOUD.
            named = cloud if isinstance(cloud, str) else (self._cloud_from_environment() if cloud is None else None)
            if named and 'not found' in to_text(error):
                raise ModuleFailure(msg=self._describe_unknown_cloud(named, from_environment=cloud is None))
            raise ModuleFailure(msg='cannot build the OpenStack connection: %s' % to_text(error))
        except ksa_exceptions.ClientException as error:
            raise ModuleFailure(msg='cannot build the OpenStack connection: %s' % self.explain_error(error))

    @staticmethod
    def _cloud_from_environment():
        """The cloud OS_CLOUD names, which openstacksdk uses when the cloud option is not given."""
        return os.environ.get('OS_CLOUD') or None

    def _no_cloud_named(self):
        """Whether neither the cloud option nor OS_CLOUD names a cloud (only OS_* variables could describe one)."""
        return self.params.get('cloud') is None and self._cloud_from_environment() is None

    @staticmethod
    def _describe_unknown_cloud(name, from_environment=False):
        try:
            config = sdk_config_loader.OpenStackConfig()
            source = config.config_filename
            # Without any clouds.yaml openstacksdk still names a placeholder cloud; it is not one you can use.
            known = sorted(config.get_cloud_names()) if source else []
        except Exception:  # pylint: disable=broad-exception-caught
            # Only used to enrich an error message; never hide the real error.
            known, source = [], None
        searched = []
        for path in sdk_config_loader.CONFIG_FILES:
            if path not in searched:
                searched.append(path)
        where = source or 'any clouds.yaml (searched %s)' % ', '.join(searched)
        origin = ' (named by OS_CLOUD)' if from_environment else ''
        return ("cloud '%s'%s is not defined in %s; known clouds: %s. "
                "Fix the name, point OS_CLIENT_CONFIG_FILE at the right clouds.yaml, "
                "or pass cloud as a dict." % (name, origin, where, ', '.join(known) or 'none'))

    def cloud_label(self):
        """How error messages name the cloud we talk to."""
        cloud = self.params.get('cloud')
        if isinstance(cloud, dict):
            # openstacksdk names such a cloud 'defaults', which would mislead.
            return '(given as a dict)'
        if isinstance(cloud, str):
            return "'%s'" % cloud
        if self._conn is not None and getattr(self._conn.config, 'name', None):
            return "'%s'" % self._conn.config.name
        if self._cloud_from_environment():
            return "'%s' (named by OS_CLOUD)" % self._cloud_from_environment()
        return '(from the OS_* environment)'

    def _auth_url(self):
        try:
            return self._conn.config.config['auth']['auth_url']
        except (AttributeError, KeyError, TypeError):
            return None

    # ------------------------------------------------------------------
    # Errors
    # ------------------------------------------------------------------
    def explain_error(self, error):
        """Turn an openstacksdk/keystoneauth exception into an actionable message."""
        text = to_text(error)
        cloud = self.cloud_label()
        status = getattr(error, 'status_code', None) or getattr(error, 'http_status', None)

        if isinstance(error, ksa_exceptions.Unauthorized) or status == 401:
            return ('authentication failed for cloud %s (auth_url %s): %s. Check the user, password, '
                    'project and domain names in clouds.yaml or the auth option.'
                    % (cloud, self._auth_url() or 'unknown', text))
        if isinstance(error, ksa_exceptions.ConnectionError):
            url = first_url(text) or self._auth_url() or 'the endpoint'
            return ('cannot reach %s for cloud %s: %s. Check that the service is running and that the URL '
                    '(auth_url or the service catalog entry) is reachable from this host.' % (url, cloud, text))
        if isinstance(error, (ksa_exceptions.EndpointNotFound, sdk_exceptions.EndpointNotFound)):
            return ('the service catalog of cloud %s has no matching endpoint (region %s, interface %s): %s'
                    % (cloud, self.params.get('region_name') or 'default', self.params.get('interface') or 'default',
                       text))
        if isinstance(error, (ksa_exceptions.MissingRequiredOptions, ksa_exceptions.MissingAuthPlugin)):
            if self._no_cloud_named():
                # The usual first run on another machine: nothing says which cloud to use.
                return ('no cloud was named (no cloud option, OS_CLOUD is not set) and the OS_* variables do not '
                        'describe one: %s. Set OS_CLOUD to a cloud of clouds.yaml, source the cloud\'s openrc file, '
                        'or pass the cloud option (-e cloud=NAME to the collection\'s playbooks).' % text)
            return ('cloud %s is missing authentication settings: %s. Define them in clouds.yaml or pass auth.'
                    % (cloud, text))
        if isinstance(error, sdk_exceptions.ForbiddenException) or status == 403:
            return ('cloud %s refused the request (HTTP 403, policy): %s. This usually needs an admin role.'
                    % (cloud, text))
        if isinstance(error, sdk_exceptions.HttpException):
            request_id = getattr(error, 'request_id', None)
            return '%s (HTTP %s%s)' % (text, status, ', request id %s' % request_id if request_id else '')
        return text

    def fail_json(self, **kwargs):
        self.ansible.fail_json(**kwargs)

    def warn(self, message):
        self.ansible.warn(message)

    # ------------------------------------------------------------------
    # Results, check mode and diff
    # ------------------------------------------------------------------
    def diff(self, before, after):
        """A diff for the result, or None when the play does not ask for one."""
        if not self.diff_mode:
            return None
        return dict(before=before if before is not None else {}, after=after if after is not None else {})

    def exit_json(self, changed, diff=None, **result):
        if diff is not None:
            result['diff'] = diff
        self.ansible.exit_json(changed=changed, **result)

    @staticmethod
    def outcome(changed, diff=None, **result):
        """What run() exits with (``self.exit_json(**outcome)``): a helper returns it, only run() exits."""
        return dict(result, changed=changed, diff=diff)

    # ------------------------------------------------------------------
    # Lookups
    # ------------------------------------------------------------------
    @staticmethod
    def get_or_none(getter, resource_id):
        """getter(resource_id), or None when the cloud answers 404."""
        try:
            return getter(resource_id)
        except sdk_exceptions.NotFoundException:
            return None

    def find_one(self, kind, name_or_id, candidates, get_by_id=None, required=True, hint=None):
        """Find exactly one resource by id or name.

        ``get_by_id`` (optional) is tried first so ids never collide with
        names. ``candidates()`` returns the resources to match by name (or
        id), ideally already filtered by name on the server side. Several
        matches are an error listing their ids: picking one silently would
        act on the wrong resource.
        """
        if get_by_id is not None:
            try:
                found = get_by_id(name_or_id)
            except (sdk_exceptions.NotFoundException, sdk_exceptions.BadRequestException):
                found = None
            if found is not None:
                return found

        matches = {}
        for resource in candidates():
            if name_or_id in (resource.name, resource.id):
                matches[resource.id] = resource
        if len(matches) > 1:
            raise ModuleFailure(
                msg="%d %ss are named '%s' (ids: %s); names are not unique, use the id of the one you mean."
                    % (len(matches), kind, name_or_id, ', '.join(sorted(matches))))
        if not matches:
            if required:
                raise ModuleFailure(msg="%s '%s' not found in cloud %s%s"
                                        % (kind, name_or_id, self.cloud_label(), '; ' + hint if hint else ''))
            return None
        return list(matches.values())[0]

    def require_microversion(self, proxy, microversion, purpose):
        """Fail clearly when the cloud's API cannot do what the task asks."""
        if sdk_utils.supports_microversion(proxy, microversion):
            return
        endpoint = proxy.get_endpoint_data()
        maximum = getattr(endpoint, 'max_microversion', None)
        raise ModuleFailure(msg='%s needs microversion %s of the %s API; cloud %s supports up to %s.'
                                % (purpose, microversion, getattr(proxy, 'service_type', 'service'), self.cloud_label(),
                                   '.'.join(str(part) for part in maximum) if maximum else 'no microversions'))

    # ------------------------------------------------------------------
    # Waiting
    # ------------------------------------------------------------------
    def wait_for(self, getter, accept_states, fail_states=(), what='resource', state_of=None,
                 describe_failure=None, timeout=None, interval=None, on_timeout=None):
        """Poll ``getter()`` until the resource reaches one of ``accept_states``.

        ``getter`` returns the current resource, or None once it no longer
        exists (reported as the state GONE). ``state_of(resource)`` gives
        the compared state (default: its upper-cased ``status``). A state in
        ``fail_states`` ends the task with the resource's own explanation from
        ``describe_failure(resource)``. Returns the last resource fetched.
        When the time is up, ``on_timeout(resource)`` (if given) decides what
        happens instead of failing, and wait_for returns what it returns: a
        migration module aborts or forces the migration there.
        """
        if timeout is None:
            timeout = self.params.get('timeout') or DEFAULT_TIMEOUT
        interval = self.poll_interval if interval is None else interval
        state_of = state_of or (lambda resource: (resource.status or '').upper())
        accept = set(state.upper() for state in accept_states)
        failing = set(state.upper() for state in fail_states)
        deadline = self._clock() + timeout

        while True:
            resource = getter()
            state = GONE if resource is None else state_of(resource)
            if state in accept:
                return resource
            if state in failing:
                detail = describe_failure(resource) if describe_failure and resource is not None else None
                raise ModuleFailure(msg='%s went to %s%s' % (what, state, ': %s' % detail if detail else ''))
            remaining = deadline - self._clock()
            if remaining <= 0:
                if on_timeout is not None:
                    return on_timeout(resource)
                raise ModuleFailure(msg='timed out after %s s waiting for %s to become %s (last state: %s). '
                                        'Raise timeout if the cloud is just slow, otherwise check the service logs.'
                                        % (timeout, what, ' or '.join(sorted(accept)), state))
            self._sleep(min(interval, remaining))
