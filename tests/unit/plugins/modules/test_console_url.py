# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import requests
from openstack import exceptions as sdk_exceptions

from ansible_collections.novaops.migration.plugins.modules.console_url import ConsoleUrlModule


def http_error(status, message):
    response = requests.Response()
    response.status_code = status
    return sdk_exceptions.HttpException(message=message, response=response)


def test_returns_the_url_and_changes_nothing_even_in_check_mode(run_module, cloud):
    server = cloud.compute.add_server(name='myinstance')
    result = run_module(ConsoleUrlModule, dict(server='myinstance'), check_mode=True)
    assert result['changed'] is False
    assert result['console'] == dict(type='novnc', protocol='vnc', url='http://controller.lab:6080/vnc_auto.html?t=1')
    assert result['server'] == dict(id=server.id, name='myinstance')
    assert cloud.call('compute.create_console')[0] == (server.id, 'novnc')


def test_console_type_is_passed_on(run_module, cloud):
    server = cloud.compute.add_server(name='myinstance')
    run_module(ConsoleUrlModule, dict(server=server.id, console_type='serial'))
    assert cloud.call('compute.create_console')[0] == (server.id, 'serial')


def test_disabled_console_explains_what_to_check(run_module, cloud):
    server = cloud.compute.add_server(name='myinstance')
    cloud.compute.console_error = http_error(400, 'Unavailable console type novnc.')
    result = run_module(ConsoleUrlModule, dict(server='myinstance'))
    assert result['failed']
    assert result['msg'].startswith("no novnc console for server 'myinstance' (%s, status ACTIVE): "
                                    "Unavailable console type novnc. (HTTP 400)" % server.id)
    assert 'Check that the console is enabled in nova.conf' in result['msg']


def test_other_errors_are_reported_as_such(run_module, cloud):
    cloud.compute.add_server(name='myinstance')
    cloud.compute.console_error = http_error(500, 'Unexpected API Error.')
    result = run_module(ConsoleUrlModule, dict(server='myinstance'))
    assert result['msg'] == 'Unexpected API Error. (HTTP 500)'


def test_unknown_server(run_module, cloud):
    result = run_module(ConsoleUrlModule, dict(server='nope'))
    assert result['msg'] == "server 'nope' not found in cloud 'lab'"
