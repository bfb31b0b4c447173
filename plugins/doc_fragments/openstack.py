# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment(object):

    # Connection options every module accepts (plugins/module_utils/openstack.py).
    DOCUMENTATION = r'''
options:
  cloud:
    description:
      - Name of a cloud defined in C(clouds.yaml), or a dict holding a complete cloud definition
        (the keys of a C(clouds.yaml) entry, such as O(auth), O(region_name), C(interface)).
      - A name is looked up the way openstacksdk does it - C(OS_CLIENT_CONFIG_FILE), then
        C(./clouds.yaml), C(~/.config/openstack/clouds.yaml), C(/etc/openstack/clouds.yaml).
      - A dict is used alone; C(clouds.yaml) files and C(OS_*) variables are not merged into it.
      - The secrets inside a dict (the values of keys such as C(password), C(token),
        C(application_credential_secret), C(passcode), C(client_secret), C(key), at any depth) are masked in the
        module's invocation, results and log; a cloud's name is not masked. Keep such a dict in a vault.
      - When omitted, openstacksdk uses C(OS_CLOUD) or the C(OS_*) environment variables.
      - The other connection options below override the cloud's own settings when set.
    type: raw
  auth:
    description:
      - Authentication settings (C(auth_url), C(username), C(password), C(project_name),
        C(user_domain_name), C(project_domain_name), ...) overriding those of O(cloud).
    type: dict
  auth_type:
    description:
      - Keystone authentication plugin, for example C(password) or C(v3applicationcredential).
    type: str
  region_name:
    description:
      - Region whose endpoints are used.
    type: str
  validate_certs:
    description:
      - Whether to verify TLS certificates of the APIs. Unset keeps the cloud's own setting.
    type: bool
    aliases: [verify]
  ca_cert:
    description:
      - CA bundle used to verify the APIs' TLS certificates.
    type: path
    aliases: [cacert]
  client_cert:
    description:
      - Client certificate (PEM) presented to APIs that ask for one (mutual TLS). Unset keeps the cloud's own
        setting (C(cert) in C(clouds.yaml)).
      - When the certificate file does not hold the private key, O(client_key) names the key file.
    type: path
    aliases: [cert]
  client_key:
    description:
      - Private key of the client certificate, as a file path. Unset keeps the cloud's own setting (C(key) in
        C(clouds.yaml)).
      - Only used together with a client certificate (O(client_cert) or the cloud's C(cert)); openstacksdk ignores
        a key alone.
      - The path is shown like any other option; the module never reads the file, so the key itself appears in no
        result or log. Keep the file readable only by the user running the module.
    type: path
    aliases: [key]
  interface:
    description:
      - Which catalog endpoints to use. Unset keeps the cloud's own setting (C(public) by default).
    type: str
    choices: [admin, internal, public]
    aliases: [endpoint_type]
  api_timeout:
    description:
      - Seconds one API request may take before it is abandoned.
    type: int
  sdk_log_path:
    description:
      - File to which openstacksdk and keystoneauth write their log while the module runs, appended to (created
        when missing) on the host running the module. Unset, nothing is logged.
      - Same option as in openstack.cloud's modules, so one C(module_defaults) entry can serve both collections.
    type: path
  sdk_log_level:
    description:
      - How much O(sdk_log_path) receives. V(INFO) is openstacksdk's own messages; V(DEBUG) adds every HTTP
        request and response with its body.
      - At V(DEBUG) the file holds what the APIs sent and returned, for example the user data of a new server
        and console URLs with their access tokens; keystoneauth leaves the authentication request out and logs
        tokens in headers as hashes. Keep the file private and remove it when done.
    type: str
    default: INFO
    choices: [INFO, DEBUG]
requirements:
  - python >= 3.10
  - openstacksdk >= 4.21.0
notes:
  - Modules run where the task runs, usually C(localhost); openstacksdk must be installed there.
  - Errors from the cloud are reported with what to check, for example an unknown cloud name lists the
    clouds that are defined, and failed authentication names the cloud and its C(auth_url).
'''

    # Waiting on ordinary resources: uploads, boots, power changes, deletions.
    WAIT = r'''
options:
  wait:
    description:
      - Whether to wait until the cloud reports the requested state before returning.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait when O(wait=true) before failing.
    type: int
    default: 600
'''

    # Waiting on migrations, which copy disks and memory and take longer.
    MIGRATION_WAIT = r'''
options:
  wait:
    description:
      - Whether to wait until the migration has finished before returning.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait when O(wait=true) before failing.
    type: int
    default: 1800
'''

    # Following a move that runs in the background.
    PROGRESS = r'''
options:
  progress_file:
    description:
      - File on the host running the module to which each change of the move is appended as a line of JSON (the
        entries of RV(progress), with C(migration_id)), while the module waits.
      - Lets a playbook that runs the module in the background (C(async)) show the progress by reading the file,
        without another call to the cloud.
    type: path
  slot_dir:
    description:
      - Directory of move slots shared by the moves a playbook started together (a drain). Before it looks at the
        server, the module takes one of O(slots) slots there (an exclusive lock on one of the files C(slot-0) ...),
        waiting up to O(slot_timeout) seconds, and holds it until it ends; so at most O(slots) moves run at once
        and the next one starts as soon as any ends (a sliding window, not batches waiting for their slowest move).
      - A lock ends with its process, however the module ends, so a slot is never lost.
      - Not used in check mode. Unset, the module starts at once.
    type: path
  slots:
    description:
      - How many moves of O(slot_dir) may run at the same time.
    type: int
    default: 1
  slot_timeout:
    description:
      - Seconds to wait for a free slot of O(slot_dir) before failing without asking anything of Nova.
    type: int
    default: 86400
'''

    # A running server's ports once it is where it should be (after a move, or its record put back).
    PORTS = r'''
options:
  ports_timeout:
    description:
      - Seconds to wait, once the server is verified where it should be and its guest runs, for Neutron to report
        its ports C(ACTIVE) (and again after O(repair_port_status) acted).
    type: int
    default: 15
  repair_port_status:
    description:
      - When a port is still not C(ACTIVE) after O(ports_timeout), turn its admin state off and on so Neutron reads
        its status again; the guest's traffic on it pauses for about a second.
      - ML2/OVN sets a port's status only when OVN reports a change; when OVN kept the port up through a move (the
        target claimed it before Neutron activated its binding, or an aborted move left it on the source), no change
        comes and Neutron keeps the port C(DOWN) for good.
      - With V(false), such ports are only reported, with a warning.
      - Ports whose admin state is off are left alone.
    type: bool
    default: true
'''

    # Every module belongs to the action group, so module_defaults can set the cloud once.
    ACTION_GROUP = r'''
attributes:
  action_group:
    description: Use C(group/novaops.migration.openstack) in C(module_defaults) to set options such as O(cloud) once.
    support: full
    membership:
      - novaops.migration.openstack
'''
