# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the playbooks and roles must not carry: logic that no unit test reaches, and stacks that grow.

A task file that includes itself adds a level of recursion each round: ansible-core died with
'maximum recursion depth exceeded' after about 247 rounds of the old progress loop, i.e. any move
longer than ~16 minutes. Inline shell or Python scripts are logic without tests.
"""

import pathlib
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
