# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The playbooks' cloud in a real ansible-playbook run on localhost, no cloud needed.

Each playbook sets the cloud once for the modules in module_defaults. The expression is read from the playbook and
used by a module of the action group whose cloud refuses the connection (a closed port), so the module's error names
the cloud it was given. Without a variable the module must get no cloud option at all (default(omit) in
module_defaults), and openstacksdk takes OS_CLOUD; -e cloud=NAME names another; the prefixed name wins over it.
"""

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import yaml

from test_follow_jobs_playbook import collections_root

ANSIBLE_PLAYBOOK = Path(sys.executable).with_name('ansible-playbook')
COLLECTION = Path(__file__).resolve().parents[3]
# playbook -> the name that wins over cloud.
PREFIXED = {'migrate.yml': 'novaops_migrate_cloud', 'drain.yml': 'novaops_drain_cloud', 'server.yml': 'novaops_cloud'}
GROUP = 'group/novaops.migration.openstack'


def closed_port():
    """A local TCP port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def clouds_yaml(path, port):
    auth = dict(auth_url='http://127.0.0.1:%d/v3' % port, username='u', password='p', project_name='p',
                user_domain_name='Default', project_domain_name='Default')
    path.write_text(yaml.safe_dump(dict(clouds=dict(fromenv=dict(auth=auth), fromvar=dict(auth=auth)))))


def cloud_expression(playbook):
    plays = yaml.safe_load((COLLECTION / 'playbooks' / playbook).read_text())
    return plays[0]['module_defaults'][GROUP]['cloud']


def probe_play(playbook):
    """A play with the playbook's cloud default: one probe without a variable, with cloud, with both names."""
    cases = [('nothing given', {}, 'fromenv'),
             ('cloud given', {'cloud': 'fromvar'}, 'fromvar'),
             ('both given', {'cloud': 'fromenv', PREFIXED[playbook]: 'fromvar'}, 'fromvar')]
    tasks = []
    for index, (label, variables, expected) in enumerate(cases):
        tasks.append(dict(name='%s: %s' % (playbook, label), vars=variables, register='probe_%d' % index,
                          ignore_errors=True,
                          **{'novaops.migration.compute_service_info': dict(binary='nova-compute')}))
        tasks.append(dict(name='%s: %s, the module was given cloud %s' % (playbook, label, expected), **{
            'ansible.builtin.assert': dict(that=[
                'probe_%d is failed' % index,
                # The omit placeholder would be a cloud name of its own, refused as not defined.
                "'omit' not in probe_%d.msg" % index,
                "\"for cloud '%s'\" in probe_%d.msg" % (expected, index)],
                fail_msg='{{ probe_%d.msg }}' % index)}))
    return dict(name='The cloud of %s' % playbook, hosts='localhost', gather_facts=False,
                module_defaults={GROUP: dict(cloud=cloud_expression(playbook))}, tasks=tasks)


def test_the_cloud_is_openstacksdks_choice_unless_named(tmp_path):
    clouds_yaml(tmp_path / 'clouds.yaml', closed_port())
    playbook_file = tmp_path / 'cloud.yml'
    playbook_file.write_text(json.dumps([probe_play(playbook) for playbook in sorted(PREFIXED)]))
    env = dict(os.environ)
    for name in list(env):
        if name.startswith('OS_'):
            del env[name]
    env.update({
        'OS_CLIENT_CONFIG_FILE': str(tmp_path / 'clouds.yaml'),
        'OS_CLOUD': 'fromenv',
        'ANSIBLE_COLLECTIONS_PATH': str(collections_root(tmp_path)),
        'ANSIBLE_LOCAL_TEMP': str(tmp_path / 'local-tmp'),
        'ANSIBLE_REMOTE_TEMP': str(tmp_path / 'remote-tmp'),
        'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
        'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.default',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_RETRY_FILES_ENABLED': '0',
    })
    env.pop('ANSIBLE_CONFIG', None)
    command = [str(ANSIBLE_PLAYBOOK), '-i', 'localhost,', '-c', 'local', '--check', str(playbook_file)]
    completed = subprocess.run(command, capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=180,
                               check=False)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    recap = re.search(r'^localhost\s+:\s+(.*)$', output, re.MULTILINE)
    # Nine probes, each failing as expected (ignored, also counted as ok), and nine asserts.
    assert recap and re.search(r'\bfailed=0\b.*\bignored=9\b', recap.group(1)), output
    assert len(re.findall(r'^ok: \[localhost\] => \{\n\s+"changed": false,\n\s+"msg": "All assertions passed"',
                          output, re.MULTILINE)) == 9, output
