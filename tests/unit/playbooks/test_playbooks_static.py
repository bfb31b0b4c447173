# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the playbooks and roles must not carry: logic that no unit test reaches, and stacks that grow.

A task file that includes itself adds a level of recursion each round: ansible-core died with
'maximum recursion depth exceeded' after about 247 rounds of the old progress loop, i.e. any move
longer than ~16 minutes. Inline shell or Python scripts are logic without tests.
"""

import pathlib
import re
import pytest
import yaml

COLLECTION = pathlib.Path(__file__).resolve().parents[3]
YAML_FILES = sorted(path for folder in ('playbooks', 'roles') for path in (COLLECTION / folder).rglob('*.yml'))
INLINE_MODULES = ('shell', 'script', 'raw', 'ansible.builtin.shell', 'ansible.builtin.script', 'ansible.builtin.raw',
                  'ansible.legacy.shell', 'ansible.legacy.script', 'ansible.legacy.raw')


def tasks_of(node):
    """Every task dict in a parsed play/task file, blocks included."""
    if isinstance(node, list):
        for item in node:
            yield from tasks_of(item)
    elif isinstance(node, dict):
        yield node
        for key in ('tasks', 'pre_tasks', 'post_tasks', 'handlers', 'block', 'rescue', 'always'):
            if key in node:
                yield from tasks_of(node[key])


def test_there_are_playbooks_to_check():
    assert len(YAML_FILES) > 10


@pytest.mark.parametrize('path', YAML_FILES, ids=lambda path: str(path.relative_to(COLLECTION)))
def test_no_task_file_includes_itself(path):
    for task in tasks_of(yaml.safe_load(path.read_text()) or []):
        for key in ('ansible.builtin.include_tasks', 'include_tasks', 'ansible.builtin.import_tasks', 'import_tasks'):
            target = task.get(key)
            if isinstance(target, dict):
                target = target.get('file')
            if target and '{{' not in str(target):
                assert (path.parent / target).resolve() != path.resolve(), \
                    '%s includes itself (the stack grows each round)' % path.name


@pytest.mark.parametrize('path', YAML_FILES, ids=lambda path: str(path.relative_to(COLLECTION)))
def test_no_inline_scripts(path):
    for task in tasks_of(yaml.safe_load(path.read_text()) or []):
        inline = [key for key in INLINE_MODULES if key in task]
        assert not inline, '%s: task %r runs %s; make it a module' % (path.name, task.get('name'), inline[0])
        argv = str(task.get('ansible.builtin.command', task.get('command', '')))
        assert 'python3' not in argv or "'-c'" not in argv, '%s: task %r carries an inline Python script' % (
            path.name, task.get('name'))


# -- files that hold secrets -------------------------------------------------------------------------------------
# nova.conf holds the passwords of the database, the message queue and keystone; /etc/libvirt and /etc/sasl2 the
# SASL credentials. The modules that edit a file return all of it in diff.before/after, so `--diff` would print
# those passwords: every task that writes there must say diff: false (or no_log: true).
SECRET_DIRS = ('/etc/nova', '/etc/libvirt', '/etc/sasl2')
FILE_EDITING_MODULES = dict(
    (prefix + name, argument)
    for name, argument in (('ini_file', 'path'), ('lineinfile', 'path'), ('blockinfile', 'path'),
                           ('replace', 'path'), ('template', 'dest'), ('copy', 'dest'))
    for prefix in ('', 'ansible.builtin.', 'ansible.legacy.', 'community.general.'))
JINJA_NAME = re.compile(r'\b[A-Za-z_][A-Za-z0-9_]*\b')


def role_variables():
    """Every variable the roles define in defaults/ and vars/, name -> value."""
    variables = {}
    for path in sorted((COLLECTION / 'roles').glob('*/*/*.yml')):
        if path.parent.name in ('defaults', 'vars'):
            variables.update(yaml.safe_load(path.read_text()) or {})
    return variables


def possible_values(expression, variables):
    """The expression and, transitively, the values of every variable it names (enough to find a directory)."""
    seen, pending, texts = set(), [str(expression)], []
    while pending:
        text = pending.pop()
        texts.append(text)
        for name in JINJA_NAME.findall(text):
            if name in variables and name not in seen:
                seen.add(name)
                pending.append(yaml.safe_dump(variables[name]) if not isinstance(variables[name], str)
                               else variables[name])
    return texts


def tasks_with_keywords(node, inherited=None):
    """(task, keywords it inherits from its blocks) for every task of a parsed play/task file."""
    inherited = inherited or {}
    if isinstance(node, list):
        for item in node:
            yield from tasks_with_keywords(item, inherited)
    elif isinstance(node, dict):
        own = dict(inherited, **dict((key, node[key]) for key in ('diff', 'no_log') if key in node))
        yield node, own
        for key in ('tasks', 'pre_tasks', 'post_tasks', 'handlers', 'block', 'rescue', 'always'):
            if key in node:
                yield from tasks_with_keywords(node[key], own)


def secret_file_tasks(path, variables):
    """Tasks of a file that write a file under SECRET_DIRS: (task, inherited keywords, the directory)."""
    for task, keywords in tasks_with_keywords(yaml.safe_load(path.read_text()) or []):
        for module, argument in FILE_EDITING_MODULES.items():
            arguments = task.get(module)
            if not isinstance(arguments, dict):
                continue
            target = arguments.get(argument, arguments.get('dest', arguments.get('path')))
            for text in possible_values(target, variables):
                directory = next((folder for folder in SECRET_DIRS if folder + '/' in text or text == folder), None)
                if directory:
                    yield task, keywords, directory
                    break


def test_the_roles_edit_files_that_hold_secrets():
    """The rule below has something to check (nova.conf, libvirtd.conf, the SASL files)."""
    variables = role_variables()
    found = [directory for path in YAML_FILES for _task, _keywords, directory in secret_file_tasks(path, variables)]
    assert set(found) == set(SECRET_DIRS)


@pytest.mark.parametrize('path', YAML_FILES, ids=lambda path: str(path.relative_to(COLLECTION)))
def test_tasks_editing_files_with_secrets_show_no_diff(path):
    variables = role_variables()
    showing = []
    for task, inherited, directory in secret_file_tasks(path, variables):
        keywords = dict(inherited, **dict((key, task[key]) for key in ('diff', 'no_log') if key in task))
        if not (keywords.get('diff') is False or keywords.get('no_log') is True):
            showing.append('%r (under %s)' % (task.get('name'), directory))
    assert not showing, (
        '%s: %s edit a file that holds passwords and would print all of it with --diff; set diff: false '
        '(or no_log: true)' % (path.relative_to(COLLECTION), ', '.join(showing)))


def test_server_playbook_prints_the_console_url_only_when_asked():
    """A console URL carries its access token: the playbook prints it only with novaops_server_show_console_url."""
    opt_in = 'novaops_server_show_console_url'
    tasks = list(tasks_of(yaml.safe_load((COLLECTION / 'playbooks/server.yml').read_text())))
    console_tasks = [task for task in tasks if 'novaops.migration.console_url' in task]
    assert console_tasks
    for task in console_tasks:
        # Its result (the URL) is printed with -v unless no_log.
        assert task.get('no_log') is True or opt_in in str(task.get('no_log')), task.get('name')
    for task in tasks:
        if 'tasks' in task:
            continue
        shown = dict((key, value) for key, value in task.items() if key not in ('when', 'no_log'))
        if re.search(r'console\.url(?!_)', yaml.safe_dump(shown)):
            assert opt_in in str(task.get('when')), '%r prints the console URL with its token' % task.get('name')


# -- the cloud ---------------------------------------------------------------------------------------------------
# The playbooks run on the operator's cloud: without -e cloud=NAME they give the modules no cloud option at all, and
# openstacksdk picks OS_CLOUD, the OS_* variables or clouds.yaml as the openstack CLI does. A default naming our lab
# would send an operator's run to whatever cloud is called 'lab' there, or fail where none is. The lab's callers
# (tests, make demo, the benchmark) set OS_CLOUD=lab themselves. bench/ is not collection content (the collection
# tree leaves it out), so its playbook is checked when the tests run from a checkout.
CLOUD_PLAYBOOKS = sorted(path for folder in ('playbooks', 'bench') for path in (COLLECTION / folder).rglob('*.yml'))
LAB_DEFAULT = re.compile(r'''default\(\s*(['"])lab\1''')


def cloud_defaults(path):
    """(play name, action group, the cloud's expression) of every play of a playbook that sets a cloud default."""
    for play in yaml.safe_load(path.read_text()) or []:
        if not isinstance(play, dict):
            continue
        for group, options in (play.get('module_defaults') or {}).items():
            if isinstance(options, dict) and 'cloud' in options:
                yield play.get('name'), group, options['cloud']


@pytest.mark.parametrize('path', CLOUD_PLAYBOOKS, ids=lambda path: str(path.relative_to(COLLECTION)))
def test_no_playbook_defaults_to_the_lab(path):
    found = [number for number, line in enumerate(path.read_text().splitlines(), 1) if LAB_DEFAULT.search(line)]
    assert not found, ("%s line(s) %s: default('lab') names our lab; leave the cloud to openstacksdk "
                       "(default(omit)) and let the lab's callers set OS_CLOUD=lab"
                       % (path.relative_to(COLLECTION), ', '.join(map(str, found))))


@pytest.mark.parametrize('path', CLOUD_PLAYBOOKS, ids=lambda path: str(path.relative_to(COLLECTION)))
def test_an_unset_cloud_reaches_no_module(path):
    for play, group, expression in cloud_defaults(path):
        assert re.search(r'\|\s*default\(\s*omit\s*\)\s*}}\s*$', str(expression)), (
            "%s, play %r: module_defaults %s sets cloud to %r; end it with | default(omit) so that without "
            "-e cloud=NAME openstacksdk chooses" % (path.relative_to(COLLECTION), play, group, expression))


def test_the_playbooks_that_talk_to_the_cloud_accept_a_cloud():
    """migrate, drain and server read -e cloud=NAME (and the prefixed name, novaops_cloud for server.yml)."""
    expressions = dict((path.name, [expression for _play, _group, expression in cloud_defaults(path)])
                       for path in CLOUD_PLAYBOOKS if path.parent.name == 'playbooks')
    assert expressions['migrate.yml'] == ['{{ novaops_migrate_cloud | default(cloud) | default(omit) }}']
    assert expressions['drain.yml'] == ['{{ novaops_drain_cloud | default(cloud) | default(omit) }}']
    assert expressions['server.yml'] == ['{{ novaops_cloud | default(cloud) | default(omit) }}']
