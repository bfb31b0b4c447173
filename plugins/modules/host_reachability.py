#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: host_reachability
short_description: Tell whether a host answers on TCP ports and to one ping, from where the module runs
version_added: 0.2.0
description:
  - Tries a TCP connection to each of O(ports) on O(address) and, with O(icmp=true), sends one ping, then reports
    what answered. Run it on the controller (C(delegate_to)) to learn whether a compute host whose C(nova-compute)
    is down is still alive before its servers are evacuated.
  - A port that refuses the connection counts as answering - the host is up, only nothing listens there.
  - When the C(ping) binary is missing, or ping cannot run (an unknown name, no permission), ICMP is reported
    unknown (V(null)) with the reason, never as down.
  - Changes nothing.
options:
  address:
    description:
      - Name or IP address of the host to test, as the controller reaches it (for example the compute's management
        address).
    type: str
    required: true
  ports:
    description:
      - TCP ports to try. The default is ssh's, which the manual cold migration needs.
    type: list
    elements: int
    default: [22]
  icmp:
    description:
      - Whether to send one ping (C(ping -c 1 -W TIMEOUT ADDRESS)).
    type: bool
    default: true
  timeout:
    description:
      - Seconds each connection and the ping may take before the host counts as not answering.
    type: int
    default: 3
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; it tests the host in check mode too.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - The answer is from where the module runs - a host unreachable from the controller may still run its guests
    behind a network partition; M(novaops.migration.evacuate) relies on a fenced host, not on this test alone.
seealso:
  - module: novaops.migration.compute_service
  - module: novaops.migration.evacuate
author:
  - novaops maintainers (@novaops)
'''

EXAMPLES = r'''
- name: Does compute2 still answer the controller?
  novaops.migration.host_reachability:
    address: 10.99.0.12
    ports: [22, 16509]
  delegate_to: controller
  register: compute2_reachability

- name: Stop when it does
  ansible.builtin.assert:
    that: not compute2_reachability.reachable
    fail_msg: compute2 still answers; fence it or use the manual cold migration
'''

RETURN = r'''
reachable:
  description: Whether the host answered anything - a TCP port (open or refusing) or the ping.
  returned: always
  type: bool
  sample: false
tcp:
  description: For each port tried, whether the host answered on it.
  returned: always
  type: dict
  sample: {'22': false}
tcp_errors:
  description: For each port that did not answer, why (timeout, unreachable network, unknown name).
  returned: always
  type: dict
  sample: {'22': timed out}
icmp:
  description: Whether the host answered the ping; V(null) when no ping was sent (O(icmp=false)) or it could not
    run (see RV(icmp_detail)).
  returned: always
  type: bool
  sample: false
icmp_detail:
  description: Why ICMP is unknown or down, in words; null when the host answered.
  returned: always
  type: str
  sample: the ping binary is not installed on this host; ICMP is unknown
'''

import errno
import socket

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_text

# A refused connection is an answer: the host's kernel sent it.
ANSWERED_ERRNOS = (errno.ECONNREFUSED,)


def probe_port(address, port, timeout):
    """(answered, error) of one TCP connection to address:port."""
    try:
        connection = socket.create_connection((address, port), timeout=timeout)
    except socket.timeout:
        return False, 'timed out after %s s' % timeout
    except socket.gaierror as error:
        return False, 'cannot resolve %s: %s' % (address, to_text(error))
    except (IOError, OSError) as error:
        if error.errno in ANSWERED_ERRNOS:
            return True, None
        return False, to_text(error)
    connection.close()
    return True, None


def probe_icmp(module, address, timeout):
    """(answered, detail): True, False when no reply came, None when ping could not tell."""
    ping = module.get_bin_path('ping')
    if not ping:
        return None, 'the ping binary is not installed on this host; ICMP is unknown'
    rc, stdout, stderr = module.run_command([ping, '-c', '1', '-W', str(timeout), address])
    if rc == 0:
        return True, None
    if rc == 1:
        return False, 'no reply to one ping within %s s' % timeout
    # iputils and busybox exit 2 (or more) when ping itself failed: unknown name, no permission to open the socket.
    reason = ' '.join((stderr or stdout or '').split()) or 'no output'
    return None, 'ping could not run (rc %s: %s); ICMP is unknown' % (rc, reason)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            address=dict(type='str', required=True),
            ports=dict(type='list', elements='int', default=[22]),
            icmp=dict(type='bool', default=True),
            timeout=dict(type='int', default=3),
        ),
        supports_check_mode=True,
    )
    address, ports, timeout = module.params['address'], module.params['ports'], module.params['timeout']
    if timeout < 1:
        module.fail_json(msg='timeout must be at least 1 second (ping waits whole seconds), got %s' % timeout)
    bad_ports = [port for port in ports if not 0 < port < 65536]
    if bad_ports:
        module.fail_json(msg='ports must be TCP ports between 1 and 65535, got %s'
                             % ', '.join(str(port) for port in bad_ports))

    tcp, tcp_errors = {}, {}
    for port in ports:
        tcp[port], error = probe_port(address, port, timeout)
        if error:
            tcp_errors[port] = error
    if module.params['icmp']:
        icmp, icmp_detail = probe_icmp(module, address, timeout)
    else:
        icmp, icmp_detail = None, 'not tried (icmp=false)'
    module.exit_json(changed=False, reachable=any(tcp.values()) or icmp is True, tcp=tcp, tcp_errors=tcp_errors,
                     icmp=icmp, icmp_detail=icmp_detail)


if __name__ == '__main__':
    main()
