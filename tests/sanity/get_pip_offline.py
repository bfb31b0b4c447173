# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Stand-in for ansible-test's pip bootstrap script (get-pip.py).

ansible-test creates each sanity virtualenv without pip, then runs a get-pip
script it downloads from ci-files.testing.ansible.com, a host that is not
reachable from our machines. `make sanity` caches this file under the name
ansible-test looks for, so the bootstrap works with what is at hand: the pip
bundled with Python (ensurepip, offline), which then installs the exact
versions ansible-test asks for (e.g. pip==24.2) from the package index.
"""

import ensurepip
import os
import ssl
import subprocess
import sys

# Options of get-pip.py itself, which `pip install` does not know.
GET_PIP_OPTIONS = ('--no-setuptools', '--no-wheel')


def pip_environment():
    """The bundled pip trusts only its own CA list (certifi); newer pip, like
    everything else here, trusts the system's, which may hold a proxy's CA."""
    environment = dict(os.environ)
    system_bundle = ssl.get_default_verify_paths().cafile
    if system_bundle and 'PIP_CERT' not in environment:
        environment['PIP_CERT'] = system_bundle
    return environment


def main():
    arguments = sys.argv[1:]
    ensurepip.bootstrap()
    subprocess.check_call([sys.executable, '-m', 'pip', 'install']
                          + [argument for argument in arguments if argument not in GET_PIP_OPTIONS],
                          env=pip_environment())
    # get-pip.py would not have installed these; keep the venv as ansible-test expects it.
    unwanted = [package for option, package in (('--no-setuptools', 'setuptools'), ('--no-wheel', 'wheel'))
                if option in arguments]
    if unwanted:
        subprocess.check_call([sys.executable, '-m', 'pip', 'uninstall', '--yes', '--quiet'] + unwanted)


if __name__ == '__main__':
    main()
