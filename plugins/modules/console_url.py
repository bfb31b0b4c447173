#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: console_url
short_description: Get the URL of a server's remote console
version_added: 0.1.0
description:
  - Asks Nova for a remote console of a server and returns its URL, like C(openstack console url show).
  - Nothing on the server changes, so the task never reports a change and also runs in check mode.
  - A cloud without that console type enabled (for example C([vnc] enabled = false) in nova.conf) fails with a
    message saying so; use C(ignore_errors) or C(failed_when) where a missing console is acceptable.
  - The URL carries the console's access token - whoever holds it has the server's console (keyboard, screen)
    until the token expires. Treat RV(console.url) as a secret - do not print it or keep it in logs; print
    RV(console.url_redacted) instead, and set C(no_log) on the task when C(-v) output is kept.
options:
  server:
    description:
      - Name or id of the server.
    type: str
    required: true
  console_type:
    description:
      - Kind of console.
    type: str
    choices: [novnc, spice-html5, rdp-html5, serial, webmks]
    default: novnc
extends_documentation_fragment:
  - novaops.migration.openstack
  - novaops.migration.openstack.ACTION_GROUP
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The console is requested in check mode too; that changes nothing on the server.
  diff_mode:
    support: N/A
  platform:
    platforms: posix
seealso:
  - module: novaops.migration.server
author:
  - novaops maintainers (@novaops)
'''

EXAMPLES = r'''
- name: Get the noVNC console of myinstance
  novaops.migration.console_url:
    cloud: lab
    server: myinstance
  register: myinstance_console

- name: Show it
  ansible.builtin.debug:
    msg: "Console of myinstance at {{ myinstance_console.console.url_redacted }}"
'''

RETURN = r'''
console:
  description: The console Nova created.
  returned: success
  type: dict
  contains:
    type:
      description: Console type.
      type: str
      sample: novnc
    protocol:
      description: Console protocol (Nova microversion 2.6 and later).
      type: str
      sample: vnc
    url:
      description:
        - URL to open the console with.
        - A secret - it carries the console's access token.
      type: str
      sample: http://controller:6080/vnc_auto.html?path=%3Ftoken%3D5b2f1f0e-8a1c-4d3e-9f7a-1b2c3d4e5f60
    url_redacted:
      description:
        - RV(console.url) with the token replaced by C(<hidden>) (an unknown layout - the whole query and fragment),
          safe to print - it shows where the console proxy is.
      type: str
      sample: http://controller:6080/vnc_auto.html?path=%3Ftoken%3D<hidden>
    url_has_token:
      description: Whether RV(console.url) carries something RV(console.url_redacted) hides.
      type: bool
      sample: true
server:
  description: Id and name of the server.
  returned: success
  type: dict
  sample: {id: 2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e, name: myinstance}
'''

import re

from ansible_collections.novaops.migration.plugins.module_utils.openstack import NovaopsModule, sdk_exceptions

CONSOLE_TYPES = ['novnc', 'spice-html5', 'rdp-html5', 'serial', 'webmks']

# The token parameter of the console proxies' URLs, plain (?token=...) or, as noVNC's path parameter carries it,
# percent-encoded (?path=%3Ftoken%3D...).
_TOKEN_PARAMETER = re.compile(r'((?:[?&;]|%3F|%26)token(?:=|%3D))([^&;#%]+)', re.IGNORECASE)


def redact_console_url(url):
    """The console URL without its access token (safe to print); the whole query and fragment when no token is found."""
    if not url:
        return url
    redacted, found = _TOKEN_PARAMETER.subn(r'\1<hidden>', url)
    if found:
        return redacted
    rest, has_fragment, dummy_fragment = url.partition('#')
    base, has_query, dummy_query = rest.partition('?')
    return base + ('?<hidden>' if has_query else '') + ('#<hidden>' if has_fragment else '')


class ConsoleUrlModule(NovaopsModule):
    argument_spec = dict(
        server=dict(type='str', required=True),
        console_type=dict(type='str', default='novnc', choices=CONSOLE_TYPES),
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        name_or_id = self.params['server']
        server = self.find_one('server', name_or_id, lambda: self.conn.compute.servers(name=name_or_id),
                               get_by_id=self.conn.compute.get_server)
        console_type = self.params['console_type']
        try:
            console = self.conn.compute.create_console(server, console_type)
        except sdk_exceptions.HttpException as error:
            status = getattr(error, 'status_code', None)
            if status in (400, 409, 501):
                # Nova answers these when the console type is disabled or
                # unsupported by the compute driver, or the server is not running.
                self.fail_json(msg="no %s console for server '%s' (%s, status %s): %s. Check that the console is "
                                   "enabled in nova.conf on the server's compute host and that the server is ACTIVE."
                                   % (console_type, server.name, server.id, server.status, self.explain_error(error)))
            raise
        console = dict(console or {})
        url = console.get('url')
        redacted = redact_console_url(url)
        self.exit_json(False, console=dict(type=console.get('type', console_type), protocol=console.get('protocol'),
                                           url=url, url_redacted=redacted, url_has_token=redacted != url),
                       server=dict(id=server.id, name=server.name))


def main():
    module = ConsoleUrlModule()
    module()


if __name__ == '__main__':
    main()
