# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Read a playbook's variables once, strictly (see module_utils/settings.py and the module's docs)."""

from __future__ import annotations

import os

from ansible.plugins.action import ActionBase

from ansible_collections.novaops.migration.plugins.module_utils.settings import (
    SettingsError, read_settings, run_id_of, setting_names,
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('playbook',))
    # Runs on the controller only: nothing is executed on the host.
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        playbook = self._task.args.get('playbook')
        try:
            names = setting_names(playbook)
            given = {}
            for name in names:
                # The prefixed name wins: it cannot be an inventory variable by accident.
                for variable in ('novaops_%s_%s' % (playbook, name), name):
                    if variable in task_vars and task_vars[variable] is not None:
                        given[name] = self._templar.template(task_vars[variable])
                        break
            settings = read_settings(playbook, given)
        except SettingsError as error:
            result.update(failed=True, msg=str(error))
            return result
        # The worker running this task is a child of ansible-playbook: its parent names the run.
        settings['run_id'] = run_id_of(os.getppid())
        result.update(changed=False, settings=settings)
        return result
