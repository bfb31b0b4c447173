#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: image
short_description: Upload a disk image to Glance, idempotently by name and content
version_added: 0.1.0
description:
  - Creates a Glance image from a local file, or deletes it.
  - An image is identified by its O(name); its content by the checksums of the file. Glance keeps the
    md5 C(checksum) and a multihash (C(os_hash_algo), C(os_hash_value), usually sha512); the module hashes
    the local file and compares. The same name with the same content is left alone.
  - The same name with different content (or a different O(disk_format)/O(container_format), which Glance
    cannot change) fails with the two checksums, unless O(replace=true), which deletes and re-uploads.
  - O(visibility) and O(properties) are updated in place when they differ. Properties not listed are kept.
options:
  name:
    description:
      - Name of the image.
    type: str
    required: true
  filename:
    description:
      - Local file to upload. Required with O(state=present); checked before any request to the cloud.
    type: path
  disk_format:
    description:
      - Format of the disk in O(filename). Required with O(state=present).
    type: str
    choices: [ami, ari, aki, vhd, vhdx, vmdk, raw, qcow2, vdi, iso, ploop]
  container_format:
    description:
      - Container format of the image.
    type: str
    choices: [ami, ari, aki, bare, ovf, ova, docker, compressed]
    default: bare
  visibility:
    description:
      - Who can see the image. When unset, a new image gets Glance's default and an existing one is left as it is.
    type: str
    choices: [public, private, shared, community]
  properties:
    description:
      - Image properties to set, for example C(os_shutdown_timeout) or C(hw_disk_bus). Values are compared as strings.
    type: dict
    default: {}
  replace:
    description:
      - When an image of that name exists with different content or formats, delete it and upload O(filename)
        instead of failing. Servers booted from the old image keep working; new ones get the new content.
    type: bool
    default: false
  state:
    description:
      - Whether the image should exist.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - novaops.migration.openstack
  - novaops.migration.openstack.WAIT
  - novaops.migration.openstack.ACTION_GROUP
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The local file is hashed and compared in check mode too, so the prediction is exact.
  diff_mode:
    support: full
  platform:
    platforms: posix
seealso:
  - module: novaops.migration.server
  - module: openstack.cloud.image
    description: The openstack.cloud module for images; it takes the same connection options.
  - name: Glance image formats
    description: Disk and container formats Glance accepts.
    link: https://docs.openstack.org/glance/latest/user/formats.html
author:
  - novaops maintainers (@novaops)
'''

EXAMPLES = r'''
- name: Upload the guest image as a public qcow2 image
  novaops.migration.image:
    cloud: lab
    name: cirros
    filename: /var/tmp/cirros.qcow2
    disk_format: qcow2
    container_format: bare
    visibility: public
    properties:
      os_shutdown_timeout: 5

- name: Replace the image when the file changed
  novaops.migration.image:
    cloud: lab
    name: cirros
    filename: /var/tmp/cirros.qcow2
    disk_format: qcow2
    replace: true

- name: Remove the image
  novaops.migration.image:
    cloud: lab
    name: cirros
    state: absent
'''

RETURN = r'''
image:
  description: The image after the task; in check mode, the predicted image. Empty after O(state=absent).
  returned: always
  type: dict
  sample:
    id: 0c0b2a5e-6a3c-4e61-9f0f-2f3f6f8f9c11
    name: cirros
    status: active
    disk_format: qcow2
    container_format: bare
    visibility: public
    checksum: 443b7623e27ecf03dc9e01ee93f67afe
    hash_algo: sha512
    hash_value: 6513f21e44aa3da349f248188a44bc304a3653a04122d8fb4535423c8e1d14cd6a153f735bb0982e2161b5b5186106570c17a9e58b64dd39390617cd5a350f78
    size: 12716032
    properties:
      os_shutdown_timeout: '5'
actions:
  description: What the module did (or would do in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [create]
'''

import hashlib
import os

from ansible_collections.novaops.migration.plugins.module_utils.openstack import (
    DEFAULT_TIMEOUT, ModuleFailure, NovaopsModule)

# Glance states after which an image will never become active.
FAILED_IMAGE_STATES = ('killed', 'deleted', 'pending_delete', 'deactivated')
HASH_CHUNK_SIZE = 1024 * 1024


def hash_file(path, algorithms):
    """Hex digests of a file for several algorithms, reading it once."""
    hashers = dict((algorithm, hashlib.new(algorithm)) for algorithm in algorithms)
    with open(path, 'rb') as stream:
        for chunk in iter(lambda: stream.read(HASH_CHUNK_SIZE), b''):
            for hasher in hashers.values():
                hasher.update(chunk)
    return dict((algorithm, hasher.hexdigest()) for algorithm, hasher in hashers.items())


def image_property(image, key):
    """A Glance property by its Glance name, whether the SDK maps it to an attribute or not."""
    properties = image.properties or {}
    if key in properties:
        return properties[key]
    return image.to_dict(original_names=True, computed=False).get(key)


def image_summary(image):
    return dict(
        id=image.id,
        name=image.name,
        status=image.status,
        disk_format=image.disk_format,
        container_format=image.container_format,
        visibility=image.visibility,
        checksum=image.checksum,
        hash_algo=image.hash_algo,
        hash_value=image.hash_value,
        size=image.size,
        properties=dict(image.properties or {}),
    )


class ImageModule(NovaopsModule):
    argument_spec = dict(
        name=dict(type='str', required=True),
        filename=dict(type='path'),
        disk_format=dict(type='str', choices=['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi',
                                              'iso', 'ploop']),
        container_format=dict(type='str', default='bare',
                              choices=['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed']),
        visibility=dict(type='str', choices=['public', 'private', 'shared', 'community']),
        properties=dict(type='dict', default={}),
        replace=dict(type='bool', default=False),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )
    module_kwargs = dict(
        supports_check_mode=True,
        required_if=[('state', 'present', ['filename', 'disk_format'])],
    )
    wait_timeout = DEFAULT_TIMEOUT

    def run(self):
        if self.params['state'] == 'present':
            self._check_file()
        existing = self._find()
        if self.params['state'] == 'absent':
            self.exit_json(**self._absent(existing))
        self.exit_json(**self._present(existing))

    def _check_file(self):
        filename = self.params['filename']
        if not os.path.isfile(filename):
            raise ModuleFailure(
                msg="filename '%s' does not exist or is not a regular file; nothing was sent to the cloud."
                    % filename)
        if not os.access(filename, os.R_OK):
            raise ModuleFailure(msg="filename '%s' is not readable by the user running the task." % filename)

    def _find(self):
        name = self.params['name']
        return self.find_one('image', name, lambda: self.conn.image.images(name=name), required=False)

    def _absent(self, existing):
        if existing is None:
            return self.outcome(False, diff=self.diff({}, {}), image={}, actions=[])
        before = image_summary(existing)
        if self.check_mode:
            return self.outcome(True, diff=self.diff(before, {}), image={}, actions=['delete'])
        self.conn.image.delete_image(existing)
        return self.outcome(True, diff=self.diff(before, {}), image={}, actions=['delete'])

    def _present(self, existing):
        local_hashes = hash_file(self.params['filename'], ('md5', 'sha256', 'sha512'))
        before = image_summary(existing) if existing is not None else {}

        actions = []
        if existing is not None:
            content_differences = self._content_differences(existing, local_hashes)
            if content_differences and not self.params['replace']:
                raise ModuleFailure(
                    msg="image '%s' (%s) already exists with different %s. Set replace: true to delete it "
                        "and upload %s, or choose another name."
                        % (existing.name, existing.id, '; '.join(content_differences),
                           self.params['filename']))
            if content_differences:
                actions = ['delete', 'create']
        else:
            actions = ['create']

        updates = {} if actions else self._attribute_updates(existing)
        if updates:
            actions.append('update')

        changed = bool(actions)
        predicted = self._predicted(existing, actions, updates, local_hashes)
        if self.check_mode:
            return self.outcome(changed, diff=self.diff(before, predicted), image=predicted, actions=actions)
        if not changed:
            return self.outcome(False, diff=self.diff(before, before), image=before, actions=[])

        if 'delete' in actions:
            self.conn.image.delete_image(existing)
        if 'create' in actions:
            image = self._create(local_hashes)
        else:
            image = self.conn.image.update_image(existing, **updates)

        if self.params['wait']:
            image = self.wait_for(lambda: self.get_or_none(self.conn.image.get_image, image.id), ['active'],
                                  FAILED_IMAGE_STATES, what="image '%s' (%s)" % (image.name, image.id))
            self._verify(image, local_hashes)
        after = image_summary(image)
        return self.outcome(True, diff=self.diff(before, after), image=after, actions=actions)

    def _content_differences(self, image, local_hashes):
        """What tells the cloud's image apart from the requested file and formats."""
        differences = []
        algorithm = image.hash_algo
        if image.hash_value and algorithm:
            if algorithm not in local_hashes:
                local_hashes.update(hash_file(self.params['filename'], (algorithm,)))
            if image.hash_value != local_hashes[algorithm]:
                differences.append('content (%s in glance %s, local file %s)'
                                   % (algorithm, image.hash_value, local_hashes[algorithm]))
        elif image.checksum:
            if image.checksum != local_hashes['md5']:
                differences.append('content (md5 in glance %s, local file %s)' % (image.checksum, local_hashes['md5']))
        else:
            differences.append('content (the glance image has no data, status %s)' % image.status)
        for option in ('disk_format', 'container_format'):
            if getattr(image, option) != self.params[option]:
                differences.append('%s (glance %s, requested %s)' % (option, getattr(image, option),
                                                                     self.params[option]))
        return differences

    def _attribute_updates(self, image):
        updates = {}
        visibility = self.params['visibility']
        if visibility and image.visibility != visibility:
            updates['visibility'] = visibility
        for key, value in self.params['properties'].items():
            current = image_property(image, key)
            if current is None or str(current) != str(value):
                updates[key] = str(value)
        return updates

    def _predicted(self, existing, actions, updates, local_hashes):
        if not actions:
            return image_summary(existing)
        if 'create' in actions:
            predicted = dict(
                id=None,
                name=self.params['name'],
                status='active',
                disk_format=self.params['disk_format'],
                container_format=self.params['container_format'],
                visibility=self.params['visibility'],
                checksum=local_hashes['md5'],
                hash_algo='sha512',
                hash_value=local_hashes['sha512'],
                size=os.path.getsize(self.params['filename']),
                properties=dict((key, str(value)) for key, value in self.params['properties'].items()),
            )
            return predicted
        predicted = image_summary(existing)
        if 'visibility' in updates:
            predicted['visibility'] = updates['visibility']
        predicted['properties'].update(dict((key, value) for key, value in updates.items() if key != 'visibility'))
        return predicted

    def _create(self, local_hashes):
        extra = {}
        if self.params['visibility']:
            extra['visibility'] = self.params['visibility']
        extra.update((key, str(value)) for key, value in self.params['properties'].items())
        # Our own name/checksum comparison already ran, so allow_duplicates
        # stops the SDK from doing a second, md5-only one; validate_checksum
        # makes it check glance's checksum against ours after the upload.
        # Properties go through meta so a property name can never collide
        # with a keyword of create_image().
        return self.conn.image.create_image(
            self.params['name'],
            filename=self.params['filename'],
            disk_format=self.params['disk_format'],
            container_format=self.params['container_format'],
            md5=local_hashes['md5'],
            sha256=local_hashes['sha256'],
            allow_duplicates=True,
            disable_vendor_agent=False,
            validate_checksum=True,
            wait=False,
            meta=extra,
        )

    def _verify(self, image, local_hashes):
        if image.checksum and image.checksum != local_hashes['md5']:
            raise ModuleFailure(msg="image '%s' (%s) was uploaded but glance reports md5 %s, the file has %s; "
                                    "the upload was corrupted, run the task again with replace: true."
                                    % (image.name, image.id, image.checksum, local_hashes['md5']))


def main():
    module = ImageModule()
    module()


if __name__ == '__main__':
    main()
