# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The novaops_ssh_trust role's decisions: keys of computes that left, addresses several computes share."""

from __future__ import annotations

import re

# An authorized_keys entry: [options] key-type base64 comment. The role comments its entries USER@COMPUTE.
_KEY_TYPES = re.compile(r'(^|\s)(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp\d+|sk-\S+)\s+\S+\s+(?P<comment>\S+)\s*$')


def departed_peers(content, user, computes):
    """The computes named in USER@COMPUTE comments of ``content`` (authorized_keys) that are not in ``computes``."""
    departed = []
    prefix = '%s@' % user
    for line in (content or '').splitlines():
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        match = _KEY_TYPES.search(line)
        if not match or not match.group('comment').startswith(prefix):
            continue
        name = match.group('comment')[len(prefix):]
        if name and name not in computes and name not in departed:
            departed.append(name)
    return departed


def shared_values(lists):
    """The values found in more than one of ``lists`` (each list counted once), in the order first seen."""
    seen, shared = set(), []
    for values in lists or []:
        for value in set(values or []):
            if value in seen and value not in shared:
                shared.append(value)
            seen.add(value)
    return sorted(shared)


class FilterModule(object):
    def filters(self):
        return dict(departed_peers=departed_peers, shared_values=shared_values)
