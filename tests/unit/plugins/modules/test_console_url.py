# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest
import requests
from openstack import exceptions as sdk_exceptions

from ansible_collections.novaops.migration.plugins.modules.console_url import ConsoleUrlModule, redact_console_url


def http_error(status, message):
    response = requests.Response()
    response.status_code = status
    return sdk_exceptions.HttpException(message=message, response=response)


def test_returns_the_url_and_changes_nothing_even_in_check_mode(run_module, cloud):
    server = cloud.compute.add_server(name='myinstance')
    result = run_module(ConsoleUrlModule, dict(server='myinstance'), check_mode=True)
    assert result['changed'] is False
    assert result['console'] == dict(type='novnc', protocol='vnc', url='http://controller.lab:6080/vnc_auto.html?t=1',
                                     url_redacted='http://controller.lab:6080/vnc_auto.html?<hidden>',
                                     url_has_token=True)
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


def test_the_url_is_returned_with_a_redacted_copy_to_print(run_module, cloud):
    """The URL carries the console's access token: whoever has it has the server's console."""
    cloud.compute.add_server(name='myinstance')
    result = run_module(ConsoleUrlModule, dict(server='myinstance'))
    assert result['console']['url'] == 'http://controller.lab:6080/vnc_auto.html?t=1'
    assert result['console']['url_redacted'] == 'http://controller.lab:6080/vnc_auto.html?<hidden>'
    assert result['console']['url_has_token'] is True


@pytest.mark.parametrize('url, redacted', [
    ('http://ctl:6080/vnc_lite.html?path=%3Ftoken%3D5b2f1f0e-8a1c-4d3e-9f7a-1b2c3d4e5f60',
     'http://ctl:6080/vnc_lite.html?path=%3Ftoken%3D<hidden>'),
    ('http://ctl:6080/vnc_auto.html?token=5b2f1f0e-8a1c&title=x', 'http://ctl:6080/vnc_auto.html?token=<hidden>&title=x'),
    ('ws://ctl:6083/?token=0a1b2c3d', 'ws://ctl:6083/?token=<hidden>'),
    ('http://ctl:6082/spice_auto.html?TOKEN=abc', 'http://ctl:6082/spice_auto.html?TOKEN=<hidden>'),
    ('https://ctl:6090/console#secret-fragment', 'https://ctl:6090/console#<hidden>'),
    ('http://ctl:6080/vnc_auto.html', 'http://ctl:6080/vnc_auto.html'),
])
def test_redact_console_url(url, redacted):
    assert redact_console_url(url) == redacted
