# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Nova's compute host names and the inventory's names of the same hosts, mapped in one place.

Nova names a compute by its nova-compute service's ``host`` (often the FQDN);
the inventory may use the short name, or any alias with ``ansible_host``.
Every playbook asks these filters, never compares the two spellings itself.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

NOVA_HOST_VARIABLE = 'novaops_nova_host'


def _short(name):
    return name.split('.', 1)[0]


def _declared(hostvars, inventory_name):
    try:
        return (hostvars[inventory_name] or {}).get(NOVA_HOST_VARIABLE)
    except (KeyError, TypeError, AttributeError):
        return None


def nova_host(inventory_name, hostvars):
    """The name Nova uses for an inventory host: its novaops_nova_host, else the inventory name."""
    return _declared(hostvars, inventory_name) or inventory_name


def inventory_host(nova_name, computes, hostvars):
    """The inventory host among ``computes`` that Nova calls ``nova_name``, or ''."""
    if not nova_name:
        return ''
    nova_name = str(nova_name)
    computes = [str(name) for name in computes or []]
    for candidate in computes:
        if _declared(hostvars, candidate) == nova_name:
            return candidate
    if nova_name in computes and not _declared(hostvars, nova_name):
        return nova_name
    matches = [candidate for candidate in computes
               if not _declared(hostvars, candidate) and _short(candidate) == _short(nova_name)]
    if len(matches) > 1:
        raise AnsibleFilterError("Nova's host '%s' matches several inventory hosts (%s) by its short name; set %s "
                                 "on each to the name Nova uses" % (nova_name, ', '.join(matches), NOVA_HOST_VARIABLE))
    return matches[0] if matches else ''


class FilterModule(object):
    def filters(self):
        return dict(inventory_host=inventory_host, nova_host=nova_host)
